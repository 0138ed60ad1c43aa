"""Form fields and choices shared by the upload and grid forms."""

import zoneinfo
from functools import cache
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy

from appointments.models import Portal


@cache
def timezone_choices() -> list[tuple[str, str]]:
    """Every IANA time zone, by name."""
    return [(name, name) for name in sorted(zoneinfo.available_timezones())]


class PortalChoiceField(forms.ModelChoiceField):
    """A portal among ``queryset``; one of ``unusable`` (the person's portals that need
    reconnecting) is refused with the portal's own reason, not "Select a valid choice"."""

    unusable: QuerySet[Portal] = Portal.objects.none()

    def to_python(self, value: Any) -> Any:
        try:
            return super().to_python(value)
        except ValidationError:
            portal = self.unusable.filter(pk=value).first() if str(value).isdigit() else None
            if portal is None:
                raise
            raise ValidationError(
                gettext_lazy(
                    "HubSpot %(hub_id)s needs reconnecting: %(reason)s Reconnect it from the "
                    "dashboard, then try again."
                ),
                code="needs_reconnect",
                params={
                    "hub_id": portal.hub_id,
                    "reason": portal.status_message or portal.get_status_display(),
                },
            ) from None


class PortalTimezoneForm(forms.Form):
    """A HubSpot portal among the person's, and the time zone dates are read in.

    ``portals``: the usable ones; ``unusable``: the person's portals that need reconnecting,
    named with their reason when chosen (a portal whose token keys changed since the page
    was shown)."""

    portal = PortalChoiceField(queryset=Portal.objects.none(), label=gettext_lazy("HubSpot portal"))
    timezone = forms.ChoiceField(label=gettext_lazy("Time zone of the dates and times"))

    def __init__(
        self,
        *args: Any,
        portals: QuerySet[Portal],
        unusable: QuerySet[Portal] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["portal"].queryset = portals  # type: ignore[attr-defined]
        if unusable is not None:
            self.fields["portal"].unusable = unusable  # type: ignore[attr-defined]
        self.fields["timezone"].choices = timezone_choices()  # type: ignore[attr-defined]
        if portals.count() == 1:
            self.fields["portal"].initial = portals.first()
