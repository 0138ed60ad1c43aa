"""Form fields and choices shared by the upload and grid forms."""

import zoneinfo
from functools import cache
from importlib.resources import files
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy

from appointments.models import Portal


@cache
def timezone_choices() -> list[tuple[str, str]]:
    """Every IANA time zone, by name."""
    return [(name, name) for name in sorted(zoneinfo.available_timezones())]


# The zones offered first: where most of the product's users work.
COMMON_TIMEZONES = (
    "Europe/Paris",
    "Europe/London",
    "Europe/Berlin",
    "Europe/Madrid",
    "Europe/Brussels",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "America/Toronto",
    "America/Sao_Paulo",
    "Asia/Kolkata",
    "Asia/Singapore",
    "Asia/Tokyo",
    "Australia/Sydney",
    "UTC",
)
_REGIONS = tuple(
    f"{region}/"
    for region in (
        "Africa",
        "America",
        "Antarctica",
        "Asia",
        "Atlantic",
        "Australia",
        "Europe",
        "Indian",
        "Pacific",
    )
)


@cache
def timezone_suggestions() -> list[str]:
    """The zones the picker suggests as one types: ``COMMON_TIMEZONES`` first, then every
    zone of its own in the IANA database (tzdata's ``Z`` lines, Region/City names): links
    such as ``US/Eastern``, ``Asia/Calcutta`` or ``Etc/GMT+1`` are not suggested, though a
    file's zone typed that way is still accepted (``timezone_choices``)."""
    compiled = files("tzdata").joinpath("zoneinfo", "tzdata.zi").read_text(encoding="utf-8")
    zones = sorted(
        line.split()[1]
        for line in compiled.splitlines()
        if line.startswith("Z ") and line.split()[1].startswith(_REGIONS)
    )
    return [*COMMON_TIMEZONES, *(zone for zone in zones if zone not in COMMON_TIMEZONES)]


class TimezoneInput(forms.TextInput):
    """A text input that finds a time zone as one types: a ``<datalist>`` of
    ``timezone_suggestions`` (common zones first), no script."""

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        list_id = f"{(attrs or {}).get('id') or name}-zones"
        attrs = {**(attrs or {}), "list": list_id, "autocomplete": "off", "spellcheck": "false"}
        field = super().render(name, value, attrs, renderer)
        options = format_html_join(
            "", '<option value="{}">', ((z,) for z in timezone_suggestions())
        )
        return format_html('{}<datalist id="{}">{}</datalist>', field, list_id, options)


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
    timezone = forms.ChoiceField(
        label=gettext_lazy("Time zone of the dates and times"), widget=TimezoneInput
    )

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
