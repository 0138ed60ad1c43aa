"""The appointments app: connecting portals, intake, batches and results."""

from django.apps import AppConfig


class AppointmentsConfig(AppConfig):
    name = "appointments"
    verbose_name = "Appointments"
