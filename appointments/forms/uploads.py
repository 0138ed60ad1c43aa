"""Forms of the upload screens: the upload itself, how the file is read, the column mapping."""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

from django import forms
from django.conf import settings
from django.db.models import QuerySet
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from appointments.forms.fields import PortalTimezoneForm, TimezoneInput
from appointments.hubspot.schema import ASSOCIATION_TARGETS, AssociationLabel, PropertyDefinition
from appointments.intake.cells import column_letter
from appointments.intake.mapping import ColumnTarget
from appointments.models import SavedMapping
from appointments.services.uploads import ReadingChoices

# Codecs offered for CSV files (Python names); the detected one is preselected.
ENCODING_CHOICES = [
    ("utf-8", "UTF-8"),
    ("utf-8-sig", "UTF-8 (BOM)"),
    ("cp1252", "Windows-1252"),
    ("latin_1", "Latin-1 (ISO-8859-1)"),
    ("iso8859_15", "Latin-9 (ISO-8859-15)"),
    ("utf-16", "UTF-16"),
    ("utf_16_le", "UTF-16 LE"),
    ("utf_16_be", "UTF-16 BE"),
]
OBJECT_NAMES = {
    "0-1": gettext_lazy("Contacts"),
    "0-2": gettext_lazy("Companies"),
    "0-3": gettext_lazy("Deals"),
}
DATE_ORDER_CHOICES = [
    ("", gettext_lazy("Choose…")),
    ("DMY", gettext_lazy("Day first (31/12/2026)")),
    ("MDY", gettext_lazy("Month first (12/31/2026)")),
]


ACCEPTED_EXTENSIONS = (".csv", ".xlsx", ".xlsm", ".xls", ".ods")


class UploadForm(PortalTimezoneForm):
    """The file, its portal, the time zone of its dates and, for workbooks, the sheet."""

    timezone = forms.ChoiceField(
        label=gettext_lazy("Time zone of the dates in the file"),
        help_text=gettext_lazy(
            "Dates and times without an offset are read in this time zone. Type a city to find "
            "it (Europe/Paris, America/New_York)."
        ),
        widget=TimezoneInput,
    )
    file = forms.FileField(
        label=gettext_lazy("Spreadsheet"),
        help_text=gettext_lazy(
            "CSV, XLSX, XLSM, XLS or ODS, with one appointment per row: choose it, or drop it "
            "on the box."
        ),
    )
    sheet = forms.CharField(
        label=gettext_lazy("Sheet (optional)"),
        required=False,
        max_length=100,
        help_text=gettext_lazy("For workbooks: the sheet to read. The first visible one if empty."),
    )

    def clean_file(self) -> object:
        upload = self.cleaned_data["file"]
        name = PurePath(upload.name or "").name
        if not name.lower().endswith(ACCEPTED_EXTENSIONS):
            raise forms.ValidationError(
                gettext_lazy(
                    "“%(name)s” is not a spreadsheet this tool reads. Upload a CSV, XLSX, XLSM, "
                    "XLS or ODS file."
                ),
                params={"name": name},
            )
        if upload.size > settings.HUBPORTAL_MAX_UPLOAD_BYTES:
            raise forms.ValidationError(
                gettext_lazy(
                    "“%(name)s” is %(size)s; the limit is %(limit)s. Split it into smaller files."
                ),
                params={
                    "name": name,
                    "size": filesizeformat(upload.size),
                    "limit": filesizeformat(settings.HUBPORTAL_MAX_UPLOAD_BYTES),
                },
            )
        return upload


def reading_choices(params: dict[str, str]) -> ReadingChoices:
    """Sheet, encoding, header row and saved mapping asked for in ``params`` (the mapping
    screen's query or POST); unknown or malformed values are dropped (the file is then read
    with what it detects)."""
    encoding = params.get("encoding", "")
    header = params.get("header_row", "")
    return ReadingChoices(
        sheet=params.get("sheet", "").strip()[:100] or None,
        encoding=encoding if encoding in dict(ENCODING_CHOICES) else None,
        # 0 means "the file has no header row".
        header_row=int(header) if header.isdigit() and 0 <= int(header) <= 10_000 else None,
        mapping=params.get("mapping"),
    )


def choice_value(target: ColumnTarget | None) -> str:
    """The mapping select's value for ``target``: ``""``, ``p:<name>`` or ``a:<type>:<id>``."""
    if target is None:
        return ""
    if target.kind == "property":
        return f"p:{target.name}"
    return f"a:{target.name}:{target.association_type_id}"


def target_choices(
    properties: list[PropertyDefinition], labels: list[AssociationLabel]
) -> list[tuple[str, Any]]:
    """Grouped choices: writable properties (required ones marked) and association types."""
    props = [
        (f"p:{p.name}", f"{p.label} *" if p.required else p.label)
        for p in sorted(properties, key=lambda p: (not p.required, p.label.casefold()))
        if p.writable
    ]
    associations = []
    for object_type, _name in ASSOCIATION_TARGETS.values():
        for label in labels:
            if label.to_object_type != object_type:
                continue
            text = (
                _("%(object)s (default association)") % {"object": OBJECT_NAMES[object_type]}
                if label.is_default
                else f"{OBJECT_NAMES[object_type]}: {label.label or label.type_id}"
            )
            associations.append((f"a:{object_type}:{label.type_id}", text))
    return [
        ("", _("Ignored")),
        (_("Appointment properties"), props),
        (_("Associations (record IDs)"), associations),
    ]


def parse_choice(value: str, labels: list[AssociationLabel]) -> ColumnTarget | None:
    """The ColumnTarget a select value names; None for ``""`` (ignored) or an unknown value."""
    if value.startswith("p:") and len(value) > 2:
        return ColumnTarget(kind="property", name=value[2:])
    if value.startswith("a:"):
        object_type, _sep, type_id = value[2:].rpartition(":")
        for label in labels:
            if label.to_object_type == object_type and str(label.type_id) == type_id:
                return ColumnTarget(
                    kind="association",
                    name=object_type,
                    association_type_id=label.type_id,
                    association_category=label.category,
                )
    return None


class ReadingForm(forms.Form):
    """How to read the kept file: sheet, header row, CSV encoding, saved mapping to apply."""

    sheet = forms.ChoiceField(label=gettext_lazy("Sheet"), required=False)
    header_row = forms.TypedChoiceField(
        label=gettext_lazy("Header row"), required=False, coerce=int, empty_value=None
    )
    encoding = forms.ChoiceField(
        label=gettext_lazy("Encoding"), required=False, choices=[("", "—"), *ENCODING_CHOICES]
    )
    mapping = forms.ModelChoiceField(
        label=gettext_lazy("Saved mapping"),
        required=False,
        queryset=SavedMapping.objects.none(),
        empty_label=gettext_lazy("Proposed from the headers"),
    )

    def __init__(
        self,
        *args: Any,
        sheets: list[tuple[str, str]],
        header_rows: list[int],
        saved: QuerySet[SavedMapping],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["sheet"].choices = [("", "—"), *sheets]  # type: ignore[attr-defined]
        self.fields["header_row"].choices = [  # type: ignore[attr-defined]
            ("", _("Found automatically")),
            ("0", _("None: every row is an appointment")),
            *((str(n), _("Row %(row)s") % {"row": n}) for n in header_rows if n > 0),
        ]
        self.fields["mapping"].queryset = saved  # type: ignore[attr-defined]


class MappingForm(forms.Form):
    """One select per column (property, association type, or ignored); a day/month order for
    each date column whose values all read both ways; an optional name to save the mapping."""

    save_as = forms.CharField(
        label=gettext_lazy("Save this mapping as"),
        required=False,
        max_length=100,
        help_text=gettext_lazy("Optional. Saved mappings are proposed for this portal's files."),
    )

    def __init__(
        self,
        *args: Any,
        headers: list[str],
        properties: list[PropertyDefinition],
        labels: list[AssociationLabel],
        initial_targets: list[ColumnTarget | None],
        ambiguous: list[int],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.headers = headers
        self.properties = properties
        self.labels = labels
        self.ambiguous = ambiguous
        choices = target_choices(properties, labels)
        for index, target in enumerate(initial_targets):
            self.fields[f"col_{index}"] = forms.ChoiceField(
                label=headers[index] or column_letter(index),
                choices=choices,
                required=False,
                initial=choice_value(target),
            )
        for index in ambiguous:
            self.fields[f"order_{index}"] = forms.ChoiceField(
                label=_("Day/month order of column %(letter)s") % {"letter": column_letter(index)},
                choices=DATE_ORDER_CHOICES,
                required=False,
            )

    def column_field(self, index: int) -> forms.BoundField:
        return self[f"col_{index}"]

    def order_field(self, index: int) -> forms.BoundField | None:
        return self[f"order_{index}"] if index in self.ambiguous else None

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        targets = self.targets()
        seen: dict[str, list[str]] = {}
        for index, target in enumerate(targets):
            if target is not None and target.kind == "property":
                seen.setdefault(target.name, []).append(column_letter(index))
        labels = {p.name: p.label for p in self.properties}
        for name, letters in seen.items():
            if len(letters) > 1:
                self.add_error(
                    None,
                    _(
                        "Columns %(letters)s all go to “%(property)s”. Keep one of them and set "
                        "the others to “Ignored”."
                    )
                    % {"letters": ", ".join(letters), "property": labels.get(name, name)},
                )
        for prop in self.properties:
            if prop.required and prop.writable and prop.name not in seen:
                self.add_error(
                    None,
                    _(
                        "No column goes to the required property “%(property)s”: every row "
                        "would be refused. Choose the column that holds it."
                    )
                    % {"property": prop.label},
                )
        for index in self.ambiguous:
            if data.get(f"order_{index}") not in ("DMY", "MDY"):
                header = self.headers[index] or column_letter(index)
                self.add_error(
                    f"order_{index}",
                    _(
                        "Column %(letter)s “%(header)s”: every date reads both as day/month and "
                        "month/day (like 03/04/2026). Choose the order the file uses."
                    )
                    % {"letter": column_letter(index), "header": header},
                )
        return data

    def targets(self) -> list[ColumnTarget | None]:
        """The chosen target of every column (None: ignored), from the cleaned data."""
        source = self.cleaned_data if hasattr(self, "cleaned_data") else {}
        return [
            parse_choice(source.get(f"col_{index}") or "", self.labels)
            for index in range(len(self.headers))
        ]

    def date_orders(self) -> dict[int, str]:
        return {index: self.cleaned_data[f"order_{index}"] for index in self.ambiguous}


def posted_targets(
    data: Any, headers: list[str], labels: list[AssociationLabel]
) -> list[ColumnTarget | None]:
    """The targets a mapping POST asks for, read before the form is built (to know which date
    columns need a day/month order)."""
    return [parse_choice(str(data.get(f"col_{i}", "")), labels) for i in range(len(headers))]
