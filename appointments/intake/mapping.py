"""Propose which portal property or association type each column of a file feeds."""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Literal

from appointments.hubspot.schema import (
    ASSOCIATION_TARGETS,
    AssociationLabel,
    PropertyDefinition,
    default_label,
)

from .cells import column_letter

# French labels people use for HubSpot's own appointment properties; a portal's labels come
# from its properties API in one language only.
FRENCH_LABELS: dict[str, tuple[str, ...]] = {
    "hs_appointment_name": ("Nom du rendez-vous", "Nom", "Titre", "Rendez-vous"),
    "hs_appointment_start": ("Heure de début", "Début", "Date de début", "Début du rendez-vous"),
    "hs_appointment_end": ("Heure de fin", "Fin", "Date de fin", "Fin du rendez-vous"),
    "hs_appointment_status": ("Statut", "Statut du rendez-vous"),
}
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
_LABELLED = re.compile(r"^(?P<column>.+?)\s*\((?P<label>[^()]+)\)\s*$")


@dataclass(frozen=True)
class ColumnTarget:
    """Where one column's values go.

    ``kind="property"``: ``name`` is the property's internal name. ``kind="association"``:
    ``name`` is the target object type (``0-1`` contacts, ``0-2`` companies, ``0-3`` deals) and
    ``association_type_id``/``association_category`` the type to create.
    """

    kind: Literal["property", "association"]
    name: str
    association_type_id: int | None = None
    association_category: str | None = None


def mapping_to_json(mapping: list[ColumnTarget | None]) -> list[dict[str, Any] | None]:
    """The mapping as stored on a batch, an upload's task and a saved mapping: one
    ``{"kind", "name", "association_type_id", "association_category"}`` or None per column."""
    return [
        None
        if target is None
        else {
            "kind": target.kind,
            "name": target.name,
            "association_type_id": target.association_type_id,
            "association_category": target.association_category,
        }
        for target in mapping
    ]


def target_from_json(data: dict[str, Any] | None) -> ColumnTarget | None:
    """The inverse of ``mapping_to_json`` for one column."""
    if not data:
        return None
    return ColumnTarget(
        kind=data["kind"],
        name=data["name"],
        association_type_id=data.get("association_type_id"),
        association_category=data.get("association_category"),
    )


def normalise(text: str) -> str:
    """Fold case, accents, spacing and punctuation: ``"Heure de début"`` -> ``"heurededebut"``."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if c.isalnum()).casefold()


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
        if wanted not in names:
            continue
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
        )
    return None


def propose_mapping(
    headers: list[str], properties: list[PropertyDefinition], labels: list[AssociationLabel]
) -> list[ColumnTarget | None]:
    """One proposal per column, in column order; None leaves the column ignored.

    Headers are compared with each writable property's internal name, label and known French
    labels, and with the association column names; case, accents and spacing are ignored. Read-
    only and calculated properties are never proposed (HubSpot refuses them on create), and no
    property is proposed for two columns: the first column wins.
    """
    by_key: dict[str, str] = {}
    for prop in properties:
        if not prop.writable:
            continue
        keys = [prop.name, prop.label, *FRENCH_LABELS.get(prop.name, ())]
        for key in keys:
            by_key.setdefault(normalise(key), prop.name)
    used: set[str] = set()
    proposal: list[ColumnTarget | None] = []
    for header in headers:
        target: ColumnTarget | None = None
        name = by_key.get(normalise(header)) if header.strip() else None
        if name is not None and name not in used:
            used.add(name)
            target = ColumnTarget(kind="property", name=name)
        elif name is None and header.strip():
            target = association_target(header, labels)
        proposal.append(target)
    return proposal


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
