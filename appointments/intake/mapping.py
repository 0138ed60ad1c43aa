"""Where each column of a file goes (``ColumnTarget``), stored as JSON; association headers.

The matcher that proposes targets from headers and values is ``intake.headers``.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Literal

from appointments.hubspot.schema import (
    ASSOCIATION_TARGETS,
    AssociationLabel,
    default_label,
)

from .cells import column_letter

# Other ways people name the association columns (HubSpot object names, French names).
ASSOCIATION_ALIASES: dict[str, tuple[str, ...]] = {
    "contact_ids": ("contact_id", "contacts", "contact", "ids des contacts", "id contact"),
    "company_ids": (
        "company_id",
        "companies",
        "company",
        "entreprises",
        "entreprise",
        "ids des entreprises",
        "id entreprise",
    ),
    "deal_ids": ("deal_id", "deals", "deal", "transactions", "ids des transactions"),
}
# Headers naming an association column by its natural key (issue 13): the key property each
# object type is matched by, and the headers people give such columns.
KEY_ALIASES: dict[str, tuple[str, tuple[str, ...]]] = {
    "contact_ids": (
        "email",
        (
            "email",
            "e-mail",
            "e mail",
            "mail",
            "client email",
            "customer email",
            "contact email",
            "patient email",
            "email address",
            "courriel",
            "adresse e-mail",
            "adresse email",
            "email du client",
            "courriel du client",
        ),
    ),
    "company_ids": (
        "domain",
        (
            "domain",
            "company domain",
            "website",
            "company website",
            "web site",
            "site",
            "site web",
            "site internet",
            "url",
            "société",
            "societe",
            "domaine",
        ),
    ),
    "deal_ids": (
        "dealname",
        ("deal name", "dealname", "deal title", "nom de la transaction", "transaction name"),
    ),
}
_EMAILISH = re.compile(r"^[^@\s;]+@[^@\s;]+\.[^@\s;]+$")
_DOMAINISH = re.compile(r"^(https?://)?(www\.)?[a-z0-9-]+(\.[a-z0-9-]+)+(/\S*)?$", re.IGNORECASE)
_LABELLED = re.compile(r"^(?P<column>.+?)\s*\((?P<label>[^()]+)\)\s*$")


@dataclass(frozen=True)
class ColumnTarget:
    """Where one column's values go, and how they are read on the way.

    ``kind="property"``: ``name`` is the property's internal name. ``kind="association"``:
    ``name`` is the target object type (``0-1`` contacts, ``0-2`` companies, ``0-3`` deals) and
    ``association_type_id``/``association_category`` the type to create and
    ``match_property`` what the cells hold: None for record IDs, ``email`` (contacts),
    ``domain`` (companies), ``dealname`` (deals), any unique-value property, or
    ``intake.keys.AUTO`` (the form grid: an ID or the usual key). ``kind="contact"``:
    ``name`` is a contact property (``firstname``...) a contact created from the row's
    email takes; nothing of the column is sent with the appointment.

    Per-column choices of the mapping screen (each has a default, so a mapping stored before
    they existed loads unchanged):

    - ``values``: ``(cell text, option value)`` pairs for an enumeration: the file's own words
      for the property's options (``("Confirmed", "scheduled")``), matched as options are
      (case and spacing ignored), applied to every row before it is checked.
    - ``time_column``: index of the column holding the time of day of this date column
      (``"2026-12-10"`` + ``"09:00"``); ``fixed_time``: ``"HH:MM"`` for every row instead.
    - ``minutes_after``: this column holds a number of minutes after that datetime
      property's value (a duration: start + 45 -> end).
    - ``fallback``: another column goes to the same property and wins; this one's cell is
      used only where that one is blank.
    """

    kind: Literal["property", "association", "contact"]
    name: str
    association_type_id: int | None = None
    association_category: str | None = None
    values: tuple[tuple[str, str], ...] = ()
    time_column: int | None = None
    fixed_time: str | None = None
    minutes_after: str | None = None
    fallback: bool = False
    match_property: str | None = None

    @property
    def reads_joined(self) -> bool:
        """True when a row's value is built from more than this column's cell alone."""
        return (
            self.time_column is not None
            or self.fixed_time is not None
            or self.minutes_after is not None
            or self.fallback
        )


# The per-column choices above, as stored (only where set: older readers ignore them).
_CHOICES = ("values", "time_column", "fixed_time", "minutes_after", "fallback", "match_property")


def mapping_to_json(mapping: list[ColumnTarget | None]) -> list[dict[str, Any] | None]:
    """The mapping as stored on a batch, an upload's task and a saved mapping: one
    ``{"kind", "name", "association_type_id", "association_category"}`` or None per column,
    plus the ``ColumnTarget`` choices that differ from their default (``values`` as
    ``[[text, option value], ...]``)."""
    result: list[dict[str, Any] | None] = []
    for target in mapping:
        if target is None:
            result.append(None)
            continue
        data: dict[str, Any] = {
            "kind": target.kind,
            "name": target.name,
            "association_type_id": target.association_type_id,
            "association_category": target.association_category,
        }
        for choice in _CHOICES:
            value = getattr(target, choice)
            if value not in (None, (), False):
                data[choice] = [list(pair) for pair in value] if choice == "values" else value
        result.append(data)
    return result


def target_from_json(data: dict[str, Any] | None) -> ColumnTarget | None:
    """The inverse of ``mapping_to_json`` for one column (choices missing: their defaults)."""
    if not data:
        return None
    return ColumnTarget(
        kind=data["kind"],
        name=data["name"],
        association_type_id=data.get("association_type_id"),
        association_category=data.get("association_category"),
        values=tuple((str(text), str(value)) for text, value in data.get("values") or ()),
        time_column=data.get("time_column"),
        fixed_time=data.get("fixed_time"),
        minutes_after=data.get("minutes_after"),
        fallback=bool(data.get("fallback", False)),
        match_property=data.get("match_property") or None,
    )


def normalise(text: str) -> str:
    """Fold case, accents, spacing and punctuation: ``"Heure de début"`` -> ``"heurededebut"``."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if c.isalnum()).casefold()


def association_label_header(header: str) -> bool:
    """True for a header naming an association column with a label: ``"deal_ids (VIP)"``."""
    match = _LABELLED.match(header)
    if not match:
        return False
    wanted = normalise(match["column"])
    return any(
        wanted in {normalise(column), *(normalise(alias) for alias in aliases)}
        for column, aliases in ASSOCIATION_ALIASES.items()
    )


def association_target(header: str, labels: list[AssociationLabel]) -> ColumnTarget | None:
    """The association a header names, or None.

    ``contact_ids``/``company_ids``/``deal_ids`` (and aliases) give the portal's default type;
    ``"contact_ids (Attendee)"`` gives the type labelled ``Attendee`` to that object type.
    """
    wanted = normalise(header)
    label_text: str | None = None
    match = _LABELLED.match(header)
    if match:
        wanted, label_text = normalise(match["column"]), normalise(match["label"])
    for column, (object_type, _name) in ASSOCIATION_TARGETS.items():
        names = {normalise(column), *(normalise(alias) for alias in ASSOCIATION_ALIASES[column])}
        key, key_names = KEY_ALIASES[column]
        match_property: str | None = None
        if wanted not in names:
            if wanted not in {normalise(alias) for alias in key_names}:
                continue
            match_property = key
        if label_text is None:
            chosen = default_label(labels, object_type)
        else:
            found = [
                label
                for label in labels
                if label.to_object_type == object_type
                and label.label
                and normalise(label.label) == label_text
            ]
            if not found:
                return None
            chosen = found[0]
        return ColumnTarget(
            kind="association",
            name=object_type,
            association_type_id=chosen.type_id,
            association_category=chosen.category,
            match_property=match_property,
        )
    return None


def values_key(samples: list[str]) -> str | None:
    """The key property a column's non-blank ``samples`` look like: ``email`` when every one
    is an email address (``;``-separated lists included), ``domain`` when every one is a
    website or domain, else None (record IDs, names, anything else)."""
    parts = [part.strip() for sample in samples for part in sample.split(";") if part.strip()]
    if not parts or all(part.isdigit() for part in parts):
        return None
    if all(_EMAILISH.match(part) for part in parts):
        return "email"
    if all(_DOMAINISH.match(part) and not part.replace(".", "").isdigit() for part in parts):
        return "domain"
    return None


def with_values(
    target: ColumnTarget | None, samples: list[str], labels: list[AssociationLabel]
) -> ColumnTarget | None:
    """``target`` corrected by what the column holds: an association column of emails matches
    contacts by email (a column of emails is not a column of IDs), of domains companies by
    domain, of record IDs by ID whatever its header says; an unmapped column of emails or
    domains is proposed as such."""
    key = values_key(samples)
    parts = [part.strip() for sample in samples for part in sample.split(";") if part.strip()]
    # A "Client email" column of record IDs holds record IDs (a unique-value property's
    # column may hold numbers: it keeps them).
    digits = bool(parts) and all(part.isdigit() for part in parts)
    usual = {key for key, _aliases in KEY_ALIASES.values()}
    if key is None and target is not None and target.match_property in usual and digits:
        return dataclasses.replace(target, match_property=None)
    if key is None:
        return target
    object_type = "0-1" if key == "email" else "0-2"
    if target is None:
        chosen = default_label(labels, object_type)
        return ColumnTarget(
            kind="association",
            name=object_type,
            association_type_id=chosen.type_id,
            association_category=chosen.category,
            match_property=key,
        )
    if target.kind == "association" and target.name == object_type and not target.match_property:
        return dataclasses.replace(target, match_property=key)
    return target


def duplicate_headers(headers: list[str]) -> list[tuple[str, list[str]]]:
    """``(header, column letters)`` for each non-empty header found in more than one column.

    Compared as mapping compares them (case, accents and spacing ignored), reported as first
    written: ``[("Start time", ["B", "F"])]``. Letters count from column A of the file.
    """
    columns: dict[str, list[str]] = defaultdict(list)
    written: dict[str, str] = {}
    for index, header in enumerate(headers):
        key = normalise(header)
        if key:
            written.setdefault(key, header.strip())
            columns[key].append(column_letter(index))
    return [(written[key], letters) for key, letters in columns.items() if len(letters) > 1]
