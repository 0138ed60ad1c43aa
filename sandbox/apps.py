"""The HubSpot sandbox: a local emulator of the HubSpot endpoints hubportal uses."""

from django.apps import AppConfig


class SandboxConfig(AppConfig):
    name = "sandbox"
    verbose_name = "HubSpot sandbox"
