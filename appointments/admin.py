"""Admin: portals with who may use them; batches and their calls read-only (they change only
through the app, which keeps their rows, calls and counts consistent)."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from appointments.models import Batch, BatchCall, DataRemoval, Portal, PortalAccess


class ReadOnlyAdmin(admin.ModelAdmin):
    """Shows and lists, never adds, changes or deletes."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class PortalAccessInline(admin.TabularInline):
    model = PortalAccess
    fk_name = "portal"
    fields = ("user", "granted_by", "granted_at")
    readonly_fields = ("granted_by", "granted_at")
    extra = 0


@admin.register(Portal)
class PortalAdmin(admin.ModelAdmin):
    list_display = ("hub_id", "hub_domain", "connected_by", "status", "auth_kind", "updated_at")
    exclude = ("access_token_encrypted", "refresh_token_encrypted")
    # A portal changes through the app (connect, disconnect, row key); here only its grants.
    readonly_fields = tuple(
        field.name
        for field in Portal._meta.fields
        if field.name not in ("id", "access_token_encrypted", "refresh_token_encrypted")
    )
    inlines = [PortalAccessInline]

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        # A grant added here records the admin who gave it, as services.access does.
        for grant in formset.save(commit=False):
            grant.granted_by = grant.granted_by or request.user
            grant.save()
        for grant in formset.deleted_objects:
            grant.delete()


@admin.register(Batch)
class BatchAdmin(ReadOnlyAdmin):
    list_display = ("pk", "filename", "portal", "created_by", "status", "created_at")
    list_filter = ("status", "portal")


@admin.register(BatchCall)
class BatchCallAdmin(ReadOnlyAdmin):
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
