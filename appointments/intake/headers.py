"""The one header matcher: which property or association each column of a file feeds, and how
sure the guess is.

A header is compared (rapidfuzz: edit distance over the whole text and over its sorted words)
with every writable property's internal name and label, with English and French synonyms of
the common appointment fields, and with the association column names; a column's values then
confirm or correct the guess (dates, times, e-mail addresses, record IDs, option labels). A
choice the person confirmed for the same header in the same portal (``learned``) comes first.
Pure: the learned choices are read by ``services.mappings``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from rapidfuzz import fuzz

from appointments.hubspot.schema import (
    ASSOCIATION_TARGETS,
    AssociationLabel,
    PropertyDefinition,
    default_label,
)

from .cells import display_text
from .mapping import (
    ColumnTarget,
    association_label_header,
    association_target,
    normalise,
    with_values,
)
from .readers import Table

START, END = "hs_appointment_start", "hs_appointment_end"
OWNER = "hubspot_owner_id"
# Below this score a header is not proposed at all: a wrong guess costs more than none.
THRESHOLD = 80
# The share of a column's values that tells what kind of values it holds.
MOSTLY = 0.8
# What each source of a proposal is worth when it is exact.
LEARNED, EXACT, SYNONYM, FROM_VALUES = 100, 100, 95, 70

# Headers of the columns a contact created from an email takes its other properties from
# (``ColumnTarget(kind="contact")``), in English and French.
CONTACT_COLUMNS: dict[str, tuple[str, ...]] = {
    "firstname": ("first name", "firstname", "given name", "prénom", "prenom"),
    "lastname": ("last name", "lastname", "surname", "family name", "nom de famille"),
    "phone": ("phone", "phone number", "telephone", "téléphone", "mobile", "portable"),
}
# Ways people name the common appointment fields, in English and French. Each concept is a
# HubSpot property name, or a word a portal's own property name or label contains (the notes,
# owner and location fields are often custom properties).
CONCEPTS: dict[str, tuple[str, ...]] = {
    "hs_appointment_name": (
        "title",
        "appointment title",
        "appointment name",
        "appointment",
        "subject",
        "name",
        "event",
        "event name",
        "event title",
        "meeting",
        "meeting title",
        "summary",
        "service",
        "objet",
        "titre",
        "nom",
        "nom du rendez-vous",
        "titre du rendez-vous",
        "rendez-vous",
        "intitule",
        "sujet",
        "libelle",
        "prestation",
    ),
    START: (
        "start",
        "start time",
        "start date",
        "starts",
        "starts at",
        "start at",
        "begin",
        "begins",
        "from",
        "date",
        "appointment date",
        "appointment time",
        "booking date",
        "when",
        "scheduled",
        "scheduled at",
        "scheduled for",
        "date and time",
        "datetime",
        "debut",
        "date de debut",
        "heure de debut",
        "date du rendez-vous",
        "date et heure",
        "commence",
    ),
    END: (
        "end",
        "end time",
        "end date",
        "ends",
        "ends at",
        "end at",
        "finish",
        "finishes",
        "until",
        "to",
        "fin",
        "date de fin",
        "heure de fin",
        "jusqu a",
        "termine",
    ),
    "hs_appointment_status": (
        "status",
        "state",
        "appointment status",
        "booking status",
        "statut",
        "etat",
        "statut du rendez-vous",
    ),
    "notes": (
        "notes",
        "note",
        "comment",
        "comments",
        "description",
        "details",
        "remarks",
        "commentaire",
        "commentaires",
        "remarques",
        "observations",
    ),
    "owner": (
        "owner",
        "owner email",
        "staff email",
        "staff member",
        "practitioner",
        "assigned to",
        "staff",
        "host",
        "provider",
        "employee",
        "responsable",
        "proprietaire",
        "praticien",
        "intervenant",
        "conseiller",
    ),
    "location": (
        "location",
        "place",
        "venue",
        "address",
        "room",
        "where",
        "lieu",
        "adresse",
        "salle",
        "endroit",
    ),
}
# For a concept that is not a HubSpot property name: words of the portal's property that holds it.
CONCEPT_WORDS: dict[str, tuple[str, ...]] = {
    "notes": ("notes", "note", "comment", "description"),
    "owner": ("owner",),
    "location": ("location", "address", "lieu"),
}
# Association columns: HubSpot's object names, and what booking exports call the people.
ASSOCIATION_SYNONYMS: dict[str, tuple[str, ...]] = {
    "contact_ids": (
        "contact_ids",
        "contact_id",
        "contacts",
        "contact",
        "contact email",
        "client",
        "client id",
        "client email",
        "customer",
        "customer email",
        "patient",
        "patient email",
        "attendee",
        "attendee email",
        "guest email",
        "email",
        "e-mail",
        "invitee email",
        "ids des contacts",
        "id contact",
        "email du client",
        "courriel",
    ),
    "company_ids": (
        "company_ids",
        "company_id",
        "companies",
        "company",
        "account",
        "organization",
        "entreprises",
        "entreprise",
        "societe",
        "ids des entreprises",
        "id entreprise",
    ),
    "deal_ids": (
        "deal_ids",
        "deal_id",
        "deals",
        "deal",
        "opportunity",
        "transactions",
        "transaction",
        "ids des transactions",
    ),
}
# Headers of a column that gives the minutes from the start to the end.
DURATION_SYNONYMS = ("duration", "duration minutes", "length", "minutes", "duree", "duree minutes")
# Headers of a column that holds the time of day of a date column beside it.
TIME_SYNONYMS = ("time", "start time", "hour", "heure", "heure de debut", "horaire")

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_TIME_ONLY = re.compile(
    r"^\d{1,2}(?:[:hH]\d{2}(?::\d{2})?\s*(?:[aApP]\.?[mM]\.?)?|\s*[aApP]\.?[mM]\.?|[hH])$"
)
_DATE_ONLY = re.compile(r"^(?:\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4})$")
_DATE_TIME = re.compile(r"^(?:\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{4})[ T]\d")
_RECORD_IDS = re.compile(r"^\d{3,}(?:\s*;\s*\d{3,})*$")
_NUMBER = re.compile(r"^-?\d+(?:[.,]\d+)?$")


def words(text: str) -> str:
    """Fold case and accents and split words: ``"Heure_de-début"`` -> ``"heure de debut"``;
    ``"startTime"`` -> ``"start time"``."""
    text = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", text)
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return " ".join(re.split(r"[^0-9a-z]+", plain)).strip()


def similarity(a: str, b: str) -> float:
    """0-100: how alike two headers are once folded (``words``), by edit distance over the
    whole text and over the sorted words; a word-for-word match is 100."""
    a, b = words(a), words(b)
    if not a or not b:
        return 0.0
    if a.replace(" ", "") == b.replace(" ", ""):
        return 100.0
    if min(len(a), len(b)) < 4:
        # "tel" and "le" share most of their letters: short words match exactly or not at all.
        return 0.0
    return max(fuzz.ratio(a, b), fuzz.token_sort_ratio(a, b))


def value_kind(values: Sequence[str]) -> str | None:
    """What at least ``MOSTLY`` of a column's non-blank values are: ``"email"``,
    ``"datetime"``, ``"date"``, ``"time"``, ``"ids"`` (record IDs), ``"number"``, ``"text"``
    (anything else), or None (no value)."""
    texts = [v.strip() for v in values if v and v.strip()]
    if not texts:
        return None
    for kind, pattern in (
        ("email", _EMAIL),
        ("datetime", _DATE_TIME),
        ("date", _DATE_ONLY),
        ("time", _TIME_ONLY),
        ("ids", _RECORD_IDS),
        ("number", _NUMBER),
    ):
        # Most, not all: a real column has a few typos, which its rows will then report.
        if sum(1 for text in texts if pattern.match(text)) >= MOSTLY * len(texts):
            return kind
    return "text"


@dataclass(frozen=True)
class Proposal:
    """One column's proposed ``target`` (None: ignored), the ``confidence`` (0-100) and why:
    ``reason`` is ``"learned"``, ``"exact"`` (internal name or label), ``"synonym"``,
    ``"similar"``, ``"values"`` or ``""``; ``matched`` the name or synonym it resembles;
    ``clash_with``: the column index whose header already took the same property (a repeated
    header), so this one is left ignored and must be settled by a person."""

    target: ColumnTarget | None
    confidence: int = 0
    reason: str = ""
    matched: str = ""
    clash_with: int | None = None


@dataclass(frozen=True)
class _Key:
    text: str
    target: ColumnTarget
    score_if_equal: int
    reason: str


def _concept_property(concept: str, writable: list[PropertyDefinition]) -> str | None:
    names = {p.name for p in writable}
    if concept in names:
        return concept
    for prop in writable:
        label_words = set(words(prop.label).split()) | set(words(prop.name).split())
        if label_words & set(CONCEPT_WORDS.get(concept, ())):
            return prop.name
    return None


def _keys(
    properties: Sequence[PropertyDefinition],
    labels: list[AssociationLabel],
    key_properties: Mapping[str, Sequence[PropertyDefinition]],
) -> list[_Key]:
    writable = [p for p in properties if p.writable]
    keys: list[_Key] = []
    for prop in writable:
        target = ColumnTarget(kind="property", name=prop.name)
        keys.append(_Key(prop.name, target, EXACT, "exact"))
        keys.append(_Key(prop.label, target, EXACT, "exact"))
    for concept, synonyms in CONCEPTS.items():
        name = _concept_property(concept, writable)
        if name is not None:
            target = ColumnTarget(kind="property", name=name)
            keys.extend(_Key(s, target, SYNONYM, "synonym") for s in synonyms)
    for column, synonyms in ASSOCIATION_SYNONYMS.items():
        object_type, _name = ASSOCIATION_TARGETS[column]
        chosen = default_label(labels, object_type)
        target = ColumnTarget(
            kind="association",
            name=object_type,
            association_type_id=chosen.type_id,
            association_category=chosen.category,
        )
        keys.extend(_Key(s, target, SYNONYM if s != column else EXACT, "synonym") for s in synonyms)
    # A unique-value property of contacts, companies or deals, named by its label or name
    # ("Patient number"): that object's default association, by that property.
    for object_type, props in key_properties.items():
        chosen = default_label(labels, object_type)
        for prop in props:
            target = ColumnTarget(
                kind="association",
                name=object_type,
                association_type_id=chosen.type_id,
                association_category=chosen.category,
                match_property=prop.name,
            )
            keys.append(_Key(prop.label, target, EXACT, "exact"))
            keys.append(_Key(prop.name, target, EXACT, "exact"))
    return keys


def _fits(
    target: ColumnTarget,
    kind: str | None,
    by_name: Mapping[str, PropertyDefinition],
    score: int,
) -> bool:
    """Whether values of ``kind`` can go to ``target`` matched with ``score``: values that
    plainly say otherwise (e-mail addresses or times for a date; names for record IDs) veto a
    header's guess, and any text vetoes a guess by mere similarity. Unknown kinds fit."""
    if kind is None:
        return True
    if target.kind == "association" and target.match_property:
        # A unique-value property holds identifiers of any shape, but no e-mail addresses
        # or dates; named nearly as the header, or not at all.
        return kind in ("ids", "number", "text") and score >= SYNONYM
    if target.kind == "association":
        return kind in ("ids", "email") or (kind == "text" and score >= EXACT)
    if target.name == OWNER:
        # An owner is given by owner ID, e-mail or full name (services.resolving finds it).
        return kind in ("ids", "number", "email", "text")
    prop_type = by_name[target.name].type
    if prop_type in ("datetime", "date"):
        if kind in ("datetime", "date", "ids", "number"):  # numbers: a workbook's serial days
            return True
        return kind == "text" and score >= SYNONYM
    if kind in ("email", "time"):
        return prop_type == "string"
    return True


def _best(header: str, keys: list[_Key]) -> tuple[_Key, int] | None:
    best: tuple[_Key, int] | None = None
    for key in keys:
        score = similarity(header, key.text)
        # A near miss of a synonym is worth less than a near miss of the portal's label.
        score = key.score_if_equal if score >= 100 else min(score, key.score_if_equal - 1)
        if best is None or score > best[1]:
            best = (key, int(score))
    return best


def _option_property(values: Sequence[str], properties: Sequence[PropertyDefinition]) -> str | None:
    """The one enumeration whose options (labels or values) hold every non-blank value."""
    texts = {v.strip().casefold() for v in values if v and v.strip()}
    if not texts:
        return None
    found = [
        prop.name
        for prop in properties
        if prop.writable
        and prop.type == "enumeration"
        and texts
        <= {o.label.casefold() for o in prop.options} | {o.value.casefold() for o in prop.options}
    ]
    return found[0] if len(found) == 1 else None


def match_headers(
    headers: list[str],
    properties: Sequence[PropertyDefinition],
    labels: list[AssociationLabel],
    *,
    values: Sequence[Sequence[str]] | None = None,
    learned: Mapping[str, ColumnTarget | None] | None = None,
    key_properties: Mapping[str, Sequence[PropertyDefinition]] | None = None,
) -> list[Proposal]:
    """One Proposal per column, in column order.

    ``key_properties``: object type -> its unique-value properties (``Schema.key_properties``):
    a header naming one (``Patient number``) is proposed as that object's default association
    by that property. Once a column gives contacts by email, the columns headed first name,
    last name or phone are proposed as what a created contact takes (``kind="contact"``).

    ``values``: some of each column's cell texts (the mapping screen's samples and distinct
    values), used to tell dates, times, e-mail addresses and record IDs apart and to find the
    enumeration whose option labels a column holds. ``learned``: ``normalise(header)`` -> the
    target a person confirmed for that header in this portal (None: ignored on purpose).

    Read-only and calculated properties are never proposed (HubSpot refuses them on create,
    https://developers.hubspot.com/docs/api/crm/properties). No property goes to two columns:
    the best-scored column wins, and a repeated header's other columns say ``clash_with``. A
    date-only column going to a datetime property takes its time of day from a time-only
    column beside it (``ColumnTarget.time_column``); a duration column gives the end as
    minutes after the start (``ColumnTarget.minutes_after``).
    """
    by_name = {p.name: p for p in properties}
    writable = {p.name for p in properties if p.writable}
    type_ids = {(label.to_object_type, label.type_id) for label in labels}
    keys = _keys(properties, labels, key_properties or {})
    columns = values or [[] for _h in headers]
    kinds = [value_kind(column) for column in columns]
    candidates: list[Proposal] = []
    for index, header in enumerate(headers):
        key = normalise(header)
        if learned and key in learned:
            target = learned[key]
            still_there = (
                target is None
                or target.kind == "contact"
                or (
                    target.name in writable
                    if target.kind == "property"
                    else (target.name, target.association_type_id) in type_ids
                )
            )
            if still_there:
                candidates.append(Proposal(target, LEARNED, "learned", header))
                continue
        if not key:
            candidates.append(Proposal(None))
            continue
        labelled = association_target(header, labels)
        if labelled is not None:
            candidates.append(Proposal(labelled, EXACT, "exact", header))
            continue
        if association_label_header(header):
            # "deal_ids (VIP)" names a label the portal lacks: never its default type instead.
            candidates.append(Proposal(None))
            continue
        best = _best(header, keys)
        if (
            best is not None
            and best[1] >= THRESHOLD
            and _fits(best[0].target, kinds[index], by_name, best[1])
        ):
            found, score = best
            reason = "similar" if score < found.score_if_equal else found.reason
            candidates.append(Proposal(found.target, score, reason, found.text))
            continue
        option_prop = _option_property(columns[index], properties)
        if option_prop is not None:
            target = ColumnTarget(kind="property", name=option_prop)
            candidates.append(Proposal(target, FROM_VALUES, "values"))
            continue
        candidates.append(Proposal(None))
    proposals = _one_column_per_property(candidates)
    proposals = [_keyed_by_values(p, columns[i], labels) for i, p in enumerate(proposals)]
    proposals = _contact_columns(headers, proposals)
    return _time_and_duration(headers, proposals, kinds, by_name)


def _contact_columns(headers: list[str], proposals: list[Proposal]) -> list[Proposal]:
    """With a column of contacts by email, the unmapped columns headed first name, last name
    or phone (``CONTACT_COLUMNS``) go to the contact a missing email creates: the first such
    column of each property."""
    if not any(
        p.target is not None and p.target.name == "0-1" and p.target.match_property == "email"
        for p in proposals
    ):
        return proposals
    result = list(proposals)
    taken = {p.target.name for p in result if p.target is not None and p.target.kind == "contact"}
    for index, header in enumerate(headers):
        if result[index].target is not None or result[index].clash_with is not None:
            continue
        for name, synonyms in CONTACT_COLUMNS.items():
            found = next((s for s in synonyms if similarity(header, s) >= 100), None)
            if found is not None and name not in taken:
                target = ColumnTarget(kind="contact", name=name)
                result[index] = Proposal(target, SYNONYM, "synonym", found)
                taken.add(name)
                break
    return result


def _keyed_by_values(
    proposal: Proposal, values: Sequence[str], labels: list[AssociationLabel]
) -> Proposal:
    """``proposal`` corrected by what its column holds (``mapping.with_values``): a column of
    e-mail addresses is matched to contacts by email, of websites to companies by domain, of
    record IDs by ID, whatever its header says. A learned choice stands as the person made it."""
    if proposal.reason == "learned" or (
        proposal.target is not None and proposal.target.kind != "association"
    ):
        return proposal
    texts = [v for v in values if v and v.strip()]
    if not texts:
        return proposal
    target = with_values(proposal.target, texts, labels)
    if target == proposal.target:
        return proposal
    if proposal.target is None:
        return Proposal(target, FROM_VALUES, "values")
    return replace(proposal, target=target)


def _one_column_per_property(candidates: list[Proposal]) -> list[Proposal]:
    """Keep each property on its best-scored column (the first on a tie); the others are
    ignored, a repeated header's saying which column took it."""
    owner: dict[str, int] = {}
    for index, proposal in enumerate(candidates):
        target = proposal.target
        if target is None or target.kind != "property":
            continue
        held = owner.get(target.name)
        if held is None or proposal.confidence > candidates[held].confidence:
            owner[target.name] = index
    result: list[Proposal] = []
    for index, proposal in enumerate(candidates):
        target = proposal.target
        if target is not None and target.kind == "property" and owner[target.name] != index:
            exact = proposal.confidence >= SYNONYM and proposal.reason != "learned"
            clash = owner[target.name] if exact else None
            result.append(Proposal(None, clash_with=clash))
        else:
            result.append(proposal)
    return result


def _time_and_duration(
    headers: list[str],
    proposals: list[Proposal],
    kinds: list[str | None],
    by_name: Mapping[str, PropertyDefinition],
) -> list[Proposal]:
    """Join a date-only column of a datetime property with a time-only column (ignored so
    far, or proposed as the same property), and read a duration column as the end."""
    result = list(proposals)
    taken = {p.target.name for p in result if p.target is not None and p.target.kind == "property"}
    for index, proposal in enumerate(result):
        target = proposal.target
        if target is None or target.kind != "property" or kinds[index] != "date":
            continue
        if by_name[target.name].type != "datetime":
            continue
        for other, header in enumerate(headers):
            if other == index or kinds[other] != "time":
                continue
            other_target = result[other].target
            named_time = max(similarity(header, s) for s in TIME_SYNONYMS) >= THRESHOLD
            if other_target is None and named_time:
                result[index] = replace(proposal, target=replace(target, time_column=other))
                result[other] = Proposal(None, clash_with=None)
                break
    if START in taken and END not in taken and END in by_name:
        for index, header in enumerate(headers):
            if result[index].target is None and kinds[index] in (None, "ids", "number", "text"):
                score = max(similarity(header, s) for s in DURATION_SYNONYMS)
                if score >= THRESHOLD:
                    target = ColumnTarget(kind="property", name=END, minutes_after=START)
                    result[index] = Proposal(target, int(min(score, SYNONYM)), "synonym", header)
                    break
    return result


def propose_mapping(
    headers: list[str],
    properties: Sequence[PropertyDefinition],
    labels: list[AssociationLabel],
    *,
    values: Sequence[Sequence[str]] | None = None,
    learned: Mapping[str, ColumnTarget | None] | None = None,
    key_properties: Mapping[str, Sequence[PropertyDefinition]] | None = None,
) -> list[ColumnTarget | None]:
    """``match_headers``' targets alone, one per column (None: ignored)."""
    proposals = match_headers(
        headers,
        properties,
        labels,
        values=values,
        learned=learned,
        key_properties=key_properties,
    )
    return [proposal.target for proposal in proposals]


def sample_values(table: Table, rows: int = 50) -> list[list[str]]:
    """The displayed texts of each column's first ``rows`` non-blank cells: ``values`` for
    ``match_headers`` when no preview of the file is kept (scripts)."""
    columns: list[list[str]] = [[] for _h in table.headers]
    for _number, cells in table.rows[: rows * 4]:
        for index, cell in enumerate(cells[: len(columns)]):
            text = display_text(cell).strip()
            if text and len(columns[index]) < rows:
                columns[index].append(text)
    return columns


def repeated_targets(headers: list[str], proposals: list[Proposal]) -> list[tuple[int, int]]:
    """``(column taken, column left out)`` pairs: a header naming a property another column
    already feeds, whose cells would be lost if the file were sent as proposed."""
    return [
        (proposal.clash_with, index)
        for index, proposal in enumerate(proposals)
        if proposal.clash_with is not None
    ]
