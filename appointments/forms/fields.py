"""Form fields and choices shared by the upload and grid forms."""

import zoneinfo
from functools import cache
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy

from appointments.models import Portal


@cache
def timezone_choices() -> list[tuple[str, str]]:
    """Every IANA time zone, by name."""
    return [(name, name) for name in sorted(zoneinfo.available_timezones())]


class PortalTimezoneForm(forms.Form):
    """A HubSpot portal among the person's, and the time zone dates are read in."""

    portal = forms.ModelChoiceField(
        queryset=Portal.objects.none(), label=gettext_lazy("HubSpot portal")
    )
    timezone = forms.ChoiceField(label=gettext_lazy("Time zone of the dates and times"))

    def __init__(self, *args: Any, portals: QuerySet[Portal], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["portal"].queryset = portals  # type: ignore[attr-defined]
        self.fields["timezone"].choices = timezone_choices()  # type: ignore[attr-defined]
        if portals.count() == 1:
            self.fields["portal"].initial = portals.first()
