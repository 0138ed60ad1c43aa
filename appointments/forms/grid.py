"""The form grid's setup: portal and time zone."""

from __future__ import annotations

from appointments.forms.fields import PortalTimezoneForm


class GridSetupForm(PortalTimezoneForm):
    """The portal and time zone of a form-grid entry."""
