"""Forms: the upload form (file, portal, time zone)."""

import zoneinfo
from functools import cache
from pathlib import PurePath

from django import forms
from django.conf import settings
from django.db.models import QuerySet
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

from appointments.models import Portal

ACCEPTED_EXTENSIONS = (".csv", ".xlsx", ".xlsm", ".xls", ".ods")


@cache
def timezone_choices() -> list[tuple[str, str]]:
    return [(name, name) for name in sorted(zoneinfo.available_timezones())]


class UploadForm(forms.Form):
    portal = forms.ModelChoiceField(queryset=Portal.objects.none(), label=_("HubSpot portal"))
    timezone = forms.ChoiceField(
        label=_("Time zone of the dates in the file"),
        help_text=_("Dates and times without an offset are read in this time zone."),
    )
    file = forms.FileField(
        label=_("Spreadsheet"),
        help_text=_("CSV, XLSX, XLSM, XLS or ODS, with one appointment per row."),
    )

    def __init__(self, *args: object, portals: QuerySet[Portal], **kwargs: object):
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["portal"].queryset = portals  # type: ignore[attr-defined]
        self.fields["timezone"].choices = timezone_choices()  # type: ignore[attr-defined]
        if portals.count() == 1:
            self.fields["portal"].initial = portals.first()

    def clean_file(self) -> object:
        upload = self.cleaned_data["file"]
        name = PurePath(upload.name or "").name
        if not name.lower().endswith(ACCEPTED_EXTENSIONS):
            raise forms.ValidationError(
                _(
                    "“%(name)s” is not a spreadsheet this tool reads. Upload a CSV, XLSX, XLSM, "
                    "XLS or ODS file."
                ),
                params={"name": name},
            )
        if upload.size > settings.HUBPORTAL_MAX_UPLOAD_BYTES:
            raise forms.ValidationError(
                _("“%(name)s” is %(size)s; the limit is %(limit)s. Split it into smaller files."),
                params={
                    "name": name,
                    "size": filesizeformat(upload.size),
                    "limit": filesizeformat(settings.HUBPORTAL_MAX_UPLOAD_BYTES),
                },
            )
        return upload
