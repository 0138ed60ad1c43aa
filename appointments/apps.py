"""The appointments app: connecting portals, intake, batches and results."""

from django.apps import AppConfig


class AppointmentsConfig(AppConfig):
    name = "appointments"
    verbose_name = "Appointments"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from appointments.services.access import roles_sync

        # After Django's own handler has created this app's permissions (auth is ready first).
        post_migrate.connect(roles_sync, sender=self, dispatch_uid="appointments-roles")
