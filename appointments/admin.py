"""Admin: read-mostly views of portals and batches for support staff."""

from django.contrib import admin
from django.http import HttpRequest

from appointments.models import Batch, BatchCall, DataRemoval, Portal


@admin.register(Portal)
class PortalAdmin(admin.ModelAdmin):
    list_display = ("hub_id", "hub_domain", "connected_by", "status", "auth_kind", "updated_at")
    exclude = ("access_token_encrypted", "refresh_token_encrypted")
    readonly_fields = ("hub_id", "scopes", "access_token_expires_at")


@admin.register(Batch)
class BatchAdmin(admin.ModelAdmin):
    list_display = ("pk", "filename", "portal", "created_by", "status", "created_at")
    list_filter = ("status", "portal")


@admin.register(BatchCall)
class BatchCallAdmin(admin.ModelAdmin):
    list_display = ("batch", "sequence", "state", "http_status", "hubspot_status", "completed_at")


@admin.register(DataRemoval)
class DataRemovalAdmin(admin.ModelAdmin):
    """The record of purges and erasures: read only, as a record must be."""

    list_display = ("performed_at", "kind", "performed_by", "counts")
    list_filter = ("kind",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
