"""Forms of the upload screens: the upload itself, how the file is read, the column mapping."""

from __future__ import annotations

import dataclasses
import re
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
from appointments.intake.cells import column_index, column_letter
from appointments.intake.converters import RECORD_ID_PROPERTY
from appointments.intake.headers import THRESHOLD, TIME_SYNONYMS, Proposal, similarity, value_kind
from appointments.intake.keys import OWNER_PROPERTY
from appointments.intake.mapping import ColumnTarget
from appointments.intake.values import propose_option, unmatched_values
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
# Columns a person may ask the mapping screen to show in full at once, beyond the first ones.
MAX_ASKED = 200


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


# How each object's association cells can name records, besides record IDs (issue 13).
KEY_CHOICES = {
    "0-1": ("email", gettext_lazy("by email")),
    "0-2": ("domain", gettext_lazy("by domain or website")),
    "0-3": ("dealname", gettext_lazy("by deal name")),
}


# The contact properties a column can give a contact created from an email (issue 13):
# ``ColumnTarget(kind="contact", name=...)``, used only when contacts are created.
CONTACT_TARGETS = {
    "firstname": gettext_lazy("Contact: first name"),
    "lastname": gettext_lazy("Contact: last name"),
    "phone": gettext_lazy("Contact: phone"),
}


def choice_value(target: ColumnTarget | None) -> str:
    """The mapping select's value for ``target``: ``""``, ``p:<name>``, ``a:<type>:<id>``,
    ``k:<type>:<id>:<key property>`` or ``c:<contact property>``."""
    if target is None:
        return ""
    if target.kind == "property":
        return f"p:{target.name}"
    if target.kind == "contact":
        return f"c:{target.name}"
    if target.match_property:
        return f"k:{target.name}:{target.association_type_id}:{target.match_property}"
    return f"a:{target.name}:{target.association_type_id}"


def target_choices(
    properties: list[PropertyDefinition],
    labels: list[AssociationLabel],
    key_properties: dict[str, list[PropertyDefinition]] | None = None,
    contact_targets: bool = False,
) -> list[tuple[str, Any]]:
    """Grouped choices: writable properties (required ones marked), association types by
    record ID, by their object's usual key and by each of its unique-value properties
    (``key_properties``: object type -> properties), and with ``contact_targets`` the
    properties a created contact takes (``CONTACT_TARGETS``)."""
    props = [
        (f"p:{p.name}", f"{p.label} *" if p.required else p.label)
        for p in sorted(properties, key=lambda p: (not p.required, p.label.casefold()))
        if p.writable
    ]
    # Rows naming a record ID update that appointment (batch update) instead of creating one.
    props.insert(0, (f"p:{RECORD_ID_PROPERTY}", _("Record ID (update this appointment)")))
    associations = []
    keyed = []
    for object_type, _name in ASSOCIATION_TARGETS.values():
        for label in labels:
            if label.to_object_type != object_type:
                continue
            text = (
                _("%(object)s (default association)") % {"object": OBJECT_NAMES[object_type]}
                if label.is_default
                else _("%(object)s: %(label)s")
                % {"object": OBJECT_NAMES[object_type], "label": label.label or label.type_id}
            )
            associations.append((f"a:{object_type}:{label.type_id}", text))
            key, how = KEY_CHOICES[object_type]
            keyed.append((f"k:{object_type}:{label.type_id}:{key}", f"{text}, {how}"))
            for prop in (key_properties or {}).get(object_type, []):
                if prop.name == key:
                    continue
                keyed.append(
                    (
                        f"k:{object_type}:{label.type_id}:{prop.name}",
                        _("%(association)s, by %(property)s")
                        % {"association": text, "property": prop.label},
                    )
                )
    groups: list[tuple[str, Any]] = [
        ("", _("Ignored")),
        (_("Appointment properties"), props),
        (_("Associations (record IDs)"), associations),
        (_("Associations (emails, domains, names, unique values)"), keyed),
    ]
    if contact_targets:
        contact = [(f"c:{name}", label) for name, label in CONTACT_TARGETS.items()]
        groups.append((_("Contacts created from emails"), contact))
    return groups


def parse_choice(value: str, labels: list[AssociationLabel]) -> ColumnTarget | None:
    """The ColumnTarget a select value names; None for ``""`` (ignored) or an unknown value.
    ``k:<type>:<id>:<property>`` is an association whose cells hold that property's values."""
    if value.startswith("p:") and len(value) > 2:
        return ColumnTarget(kind="property", name=value[2:])
    if value.startswith("c:"):
        known = value[2:] in CONTACT_TARGETS
        return ColumnTarget(kind="contact", name=value[2:]) if known else None
    match_property = None
    if value.startswith("k:"):
        value, _sep, match_property = ("a:" + value[2:]).rpartition(":")
        if not match_property:
            return None
    if value.startswith("a:"):
        object_type, _sep, type_id = value[2:].rpartition(":")
        for label in labels:
            if label.to_object_type == object_type and str(label.type_id) == type_id:
                return ColumnTarget(
                    kind="association",
                    name=object_type,
                    association_type_id=label.type_id,
                    association_category=label.category,
                    match_property=match_property,
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


# "HH:MM" (24-hour), as a fixed time of day is typed.
_HH_MM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


class MappingForm(forms.Form):
    """One select per column (property, association type, or ignored); a day/month order for
    each date column whose values all read both ways; an optional name to save the mapping.

    Per-column choices, for the targets shown (``initial_targets``, or the posted ones):
    ``how_<i>`` for a column going to a datetime property (its time of day from another
    column ``time:<j>``, a ``fixed`` time ``fixed_<i>``, or ``minutes:<property>`` after
    another datetime property); ``value_<i>_<k>`` the option each of an enumeration column's
    values that is no option means (``values_<i>`` says they were shown); ``wins_<property>``
    the column that wins where several columns go to one property.
    """

    save_as = forms.CharField(
        label=gettext_lazy("Save this mapping as"),
        required=False,
        max_length=100,
        help_text=gettext_lazy("Optional. Saved mappings are proposed for this portal's files."),
    )
    create_contacts = forms.BooleanField(
        label=gettext_lazy("Create contacts that don't exist yet"),
        required=False,
        help_text=gettext_lazy(
            "For a column of contact emails: an email HubSpot does not know becomes a new "
            "contact when you check the rows, once per email, with the columns you map to "
            "“Contact: first name”, “Contact: last name” and “Contact: phone”."
        ),
    )

    def __init__(
        self,
        *args: Any,
        headers: list[str],
        properties: list[PropertyDefinition],
        labels: list[AssociationLabel],
        initial_targets: list[ColumnTarget | None],
        ambiguous: list[int],
        distinct: list[list[tuple[str, int]]] | None = None,
        shown: list[int] | None = None,
        key_properties: dict[str, list[PropertyDefinition]] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.headers = headers
        self.properties = properties
        self.labels = labels
        self.ambiguous = ambiguous
        self.shown = shown
        self.distinct = distinct or []
        # Properties some column goes to: "minutes after" offers only those.
        self.mapped = {t.name for t in initial_targets if t is not None and t.kind == "property"}
        self.by_name = {p.name: p for p in properties}
        self.value_rows: dict[int, list[tuple[int, str, int]]] = {}
        self.clashing: dict[str, list[int]] = {}
        # The contact targets are offered once contacts are to be created (the box redraws
        # the screen), or when a column already goes to one (a proposal, a saved mapping).
        creating = bool(self["create_contacts"].value()) or any(
            target is not None and target.kind == "contact" for target in initial_targets
        )
        choices = target_choices(properties, labels, key_properties, contact_targets=creating)
        # Only the shown columns are fields; the others of a wide file are ignored (None).
        for index in range(len(headers)) if shown is None else shown:
            target = initial_targets[index]
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
        for index, target in enumerate(initial_targets):
            prop = self.by_name.get(target.name) if target and target.kind == "property" else None
            if prop is None or not prop.writable:
                continue
            if prop.type == "datetime":
                self._add_how(index, target, prop)  # type: ignore[arg-type]
            # An owner column holds emails, names or owner IDs that the owners API resolves
            # (services.resolving): its property lists no options, so there is nothing to map.
            if prop.type == "enumeration" and prop.name != OWNER_PROPERTY:
                column = (distinct or [])[index] if index < len(distinct or []) else []
                self._add_values(index, target, prop, column)  # type: ignore[arg-type]
            self.clashing.setdefault(prop.name, []).append(index)
        self.clashing = {name: cols for name, cols in self.clashing.items() if len(cols) > 1}
        for name, columns in self.clashing.items():
            fallback = [i for i, t in enumerate(initial_targets) if t and t.fallback]
            winner = next((i for i in columns if i not in fallback), None)
            self.fields[f"wins_{name}"] = forms.ChoiceField(
                label=_("Which column wins for “%(property)s”?")
                % {"property": self.by_name[name].label},
                choices=[
                    ("", _("Choose…")),
                    *(
                        (str(i), _("Column %(letter)s “%(header)s”") % self._named(i))
                        for i in columns
                    ),
                ],
                required=False,
                initial=str(winner) if fallback and winner is not None else "",
                help_text=_("The other column's cell is used where the winner's is blank."),
            )

    def _named(self, index: int) -> dict[str, str]:
        return {"letter": column_letter(index), "header": self.headers[index] or "—"}

    def _gives_times(self, index: int) -> bool:
        """Whether column ``index`` plausibly holds times of day: its values read as times,
        or its header names a time ("Time", "Heure")."""
        values = self.distinct[index] if index < len(self.distinct) else []
        if value_kind([text for text, _count in values]) == "time":
            return True
        header = self.headers[index]
        return bool(header) and max(similarity(header, s) for s in TIME_SYNONYMS) >= THRESHOLD

    def _add_how(self, index: int, target: ColumnTarget, prop: PropertyDefinition) -> None:
        # A wide file offers its shown columns only: the others are not on the page.
        columns = [
            j
            for j in (range(len(self.headers)) if self.shown is None else self.shown)
            if j != index
        ]
        times = [j for j in columns if self._gives_times(j) or j == target.time_column]
        column_choices = [
            (
                f"time:{j}",
                _("Date here, time of day from column %(letter)s “%(header)s”") % self._named(j),
            )
            for j in times + [j for j in columns if j not in times]
        ]
        # The columns that hold times are offered first; the others last, under their own label.
        rest: list[tuple[str, Any]] = []
        if len(columns) > len(times):
            rest.append((_("Time of day from another column"), column_choices[len(times) :]))
        minutes = [
            (f"minutes:{p.name}", _("Minutes after “%(property)s”") % {"property": p.label})
            for p in self.properties
            if p.writable
            and p.type == "datetime"
            and p.name != prop.name
            # Only after a property some column gives (or the one already chosen).
            and (p.name in self.mapped or p.name == target.minutes_after)
        ]
        initial = ""
        if target.time_column is not None:
            initial = f"time:{target.time_column}"
        elif target.fixed_time is not None:
            initial = "fixed"
        elif target.minutes_after is not None:
            initial = f"minutes:{target.minutes_after}"
        self.fields[f"how_{index}"] = forms.ChoiceField(
            label=_("How column %(letter)s gives “%(property)s”")
            % {"letter": column_letter(index), "property": prop.label},
            choices=[
                ("", _("Date and time in this column")),
                *column_choices[: len(times)],
                ("fixed", _("Date here, the same time of day on every row")),
                *minutes,
                *rest,
            ],
            required=False,
            initial=initial,
        )
        self.fields[f"fixed_{index}"] = forms.CharField(
            label=_("Same time of day on every row (HH:MM), for column %(letter)s")
            % self._named(index),
            required=False,
            max_length=5,
            initial=target.fixed_time or "09:00",
        )

    def _add_values(
        self,
        index: int,
        target: ColumnTarget,
        prop: PropertyDefinition,
        distinct: list[tuple[str, int]],
    ) -> None:
        rows = unmatched_values(prop, distinct)
        if not rows:
            return
        chosen = dict(target.values)
        options = [("", _("Leave as is: these rows are refused"))] + [
            (option.value, option.label) for option in prop.options if not option.hidden
        ]
        self.value_rows[index] = []
        # Just mapped (a POST that never showed them): the values show with their proposals.
        fresh = self.is_bound and f"values_{index}" not in self.data
        if fresh and not getattr(self.data, "_mutable", True):
            self.data = self.data.copy()  # type: ignore[attr-defined]
        for k, (text, count) in enumerate(rows):
            initial = chosen.get(text, propose_option(prop, text) or "")
            self.fields[f"value_{index}_{k}"] = forms.ChoiceField(
                label=text, choices=options, required=False, initial=initial
            )
            if fresh:
                self.data[f"value_{index}_{k}"] = initial  # type: ignore[index]
            self.value_rows[index].append((k, text, count))
        self.fields[f"values_{index}"] = forms.CharField(
            widget=forms.HiddenInput, required=False, initial="1"
        )

    def column_field(self, index: int) -> forms.BoundField:
        return self[f"col_{index}"]

    def order_field(self, index: int) -> forms.BoundField | None:
        return self[f"order_{index}"] if index in self.ambiguous else None

    def how_fields(self, index: int) -> tuple[forms.BoundField, forms.BoundField] | None:
        """The time-of-day select and fixed time of a datetime column, or None."""
        if f"how_{index}" not in self.fields:
            return None
        return self[f"how_{index}"], self[f"fixed_{index}"]

    def value_fields(self, index: int) -> list[tuple[str, int, forms.BoundField]]:
        """``(value, rows holding it, option select)`` for each value of an enumeration
        column that is no option of its property."""
        return [
            (text, count, self[f"value_{index}_{k}"])
            for k, text, count in self.value_rows.get(index, [])
        ]

    def values_marker(self, index: int) -> forms.BoundField | None:
        return self[f"values_{index}"] if index in self.value_rows else None

    def clash_fields(self) -> list[forms.BoundField]:
        """One "which column wins" select per property several columns go to."""
        return [self[f"wins_{name}"] for name in self.clashing]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        targets = self.targets()
        seen: dict[str, list[str]] = {}
        for index, target in enumerate(targets):
            if target is not None and target.kind == "property":
                seen.setdefault(target.name, []).append(column_letter(index))
        labels = {p.name: p.label for p in self.properties}
        for name, letters in seen.items():
            if len(letters) > 1 and not data.get(f"wins_{name}"):
                self.add_error(
                    None,
                    _(
                        "Columns %(letters)s all go to “%(property)s”. Say which column wins "
                        "(the others fill its blank cells), or set the others to “Ignored”."
                    )
                    % {"letters": ", ".join(letters), "property": labels.get(name, name)},
                )
        for prop in self.properties:
            # With a record ID column, rows that name one change only what they give.
            if RECORD_ID_PROPERTY in seen:
                break
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
        for index in range(len(self.headers)):
            how = data.get(f"how_{index}") or ""
            if how == "fixed" and not _HH_MM.match(data.get(f"fixed_{index}") or ""):
                self.add_error(
                    f"fixed_{index}",
                    _("Column %(letter)s: type the time of day as HH:MM, e.g. 09:00.")
                    % self._named(index),
                )
        for index in self.value_rows:
            if self.is_bound and f"values_{index}" not in self.data:
                # The column was just mapped: show its values before any row is checked.
                self.add_error(
                    None,
                    _(
                        "Column %(letter)s “%(header)s”: some values are no option of the "
                        "property. Choose what each one means below, then check every row."
                    )
                    % self._named(index),
                )
        return data

    def targets(self) -> list[ColumnTarget | None]:
        """The chosen target of every column (None: ignored), with its per-column choices,
        from the cleaned data."""
        source = self.cleaned_data if hasattr(self, "cleaned_data") else {}
        result: list[ColumnTarget | None] = []
        for index in range(len(self.headers)):
            target = parse_choice(source.get(f"col_{index}") or "", self.labels)
            if target is None or target.kind != "property":
                result.append(target)
                continue
            changes: dict[str, Any] = {}
            how = source.get(f"how_{index}") or ""
            if how.startswith("time:") and how[5:].isdigit() and int(how[5:]) < len(self.headers):
                changes["time_column"] = int(how[5:])
            elif how == "fixed" and _HH_MM.match(source.get(f"fixed_{index}") or ""):
                changes["fixed_time"] = source[f"fixed_{index}"].zfill(5)
            elif how.startswith("minutes:"):
                changes["minutes_after"] = how[8:]
            pairs = tuple(
                (text, source[f"value_{index}_{k}"])
                for k, text, _count in self.value_rows.get(index, [])
                if source.get(f"value_{index}_{k}")
            )
            if pairs:
                changes["values"] = pairs
            wins = source.get(f"wins_{target.name}")
            if wins and wins != str(index):
                changes["fallback"] = True
            result.append(dataclasses.replace(target, **changes))
        return result

    def date_orders(self) -> dict[int, str]:
        return {index: self.cleaned_data[f"order_{index}"] for index in self.ambiguous}


def proposal_text(
    proposal: Proposal | None, chosen: ColumnTarget | None
) -> dict[str, object] | None:
    """How the mapping screen shows why a target was proposed: ``{"confidence": 0-100,
    "why": sentence}``, or None when nothing was proposed or another target is ``chosen``.
    An ignore learned in this portal is said too, while the column stays ignored."""
    if proposal is not None and proposal.reason == "learned" and proposal.target is None:
        # An ignore learned from an earlier file is said, never silent: the person may have
        # ignored the column once only to get past a problem.
        if chosen is not None:
            return None
        return {
            "confidence": proposal.confidence,
            "why": _("ignored for this header before, in this portal; choose a target to send it"),
        }
    if proposal is None or proposal.target is None or chosen is None:
        return None
    if choice_value(proposal.target) != choice_value(chosen):
        return None
    why = {
        "learned": _("chosen for this header before, in this portal"),
        "saved": _("from the saved mapping"),
        "exact": _("same name"),
        "synonym": _("a usual name for it"),
        "values": _("the column's values are its options"),
    }.get(proposal.reason)
    if why is None:
        why = _("similar to “%(name)s”") % {"name": proposal.matched}
    return {"confidence": proposal.confidence, "why": why}


def shown_columns(*, targets: list[ColumnTarget | None], limit: int, asked: str = "") -> list[int]:
    """The columns the mapping screen shows in full (samples and a target select), in order:
    the first ``limit``, every column with a target (proposed, saved or posted) and the
    columns ``asked`` names by letter (``"AB, AC"``; unknown letters are skipped; the first
    ``MAX_ASKED``). The others are listed by name only."""
    wanted = set(range(min(limit, len(targets))))
    wanted.update(index for index, target in enumerate(targets) if target is not None)
    # At most MAX_ASKED: with the mapped ones, the POST stays under Django's 1,000 fields.
    for letters in re.split(r"[\s,;]+", asked.upper()[:2000])[:MAX_ASKED]:
        if letters.isascii() and letters.isalpha() and len(letters) <= 3:
            index = column_index(letters)
            if index < len(targets):
                wanted.add(index)
    return sorted(wanted)


def posted_targets(
    data: Any, headers: list[str], labels: list[AssociationLabel]
) -> list[ColumnTarget | None]:
    """The targets a mapping POST asks for, read before the form is built (to know which date
    columns need a day/month order)."""
    return [parse_choice(str(data.get(f"col_{i}", "")), labels) for i in range(len(headers))]
