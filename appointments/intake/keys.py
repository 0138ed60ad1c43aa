"""Natural keys in cells: contacts by email, companies by domain, deals by name, owners by
email or name. Their shapes, and their conversion to record IDs through a resolution.

Pure: the look-ups themselves ask HubSpot (``services.resolving``), once per distinct key,
and give a *resolution*, the JSON-able dict stored on the batch (``reading["keys"]``)::

    {"tables": {"0-1:email": {"amina@example.org": [["51234500003", "Amina Rivera", true]]},
                "owners": {"email:tom@example.org": [["70110002", "Tom Keller", true]]}},
     "picks": {"0-2:domain": {"twin.example": "18771299001"}}}

Each key maps to its candidates ``[record id, display name, active]``: none (not found), one,
or several (ambiguous until a person picks one, ``picks``). Keys are compared as HubSpot
stores them: emails and names lowercase, domains without scheme, ``www.``, port or path
(https://knowledge.hubspot.com/records/deduplication-of-records;
https://developers.hubspot.com/docs/api-reference/2026-03/crm/search-the-crm, IN takes
lowercase values).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import DomainNameValidator, validate_email

from .cells import display_text
from .converters import convert_record_ids
from .dates import CellProblem
from .mapping import ColumnTarget

# The appointment property holding an owner ID (https://developers.hubspot.com/docs/api-reference/latest/crm/owners/guide).
OWNER_PROPERTY = "hubspot_owner_id"
OWNERS = "owners"
# A grid association input: a record ID, or the object's usual key (an email for contacts).
AUTO = "@auto"
# The key HubSpot's own import matches each object type by.
USUAL_KEYS = {"0-1": "email", "0-2": "domain", "0-3": "dealname"}
# Keys found by search, which compares lowercase. Any other key property but email is a
# unique-value property, read by ``idProperty`` like email.
SEARCHED_KEYS = frozenset({"domain", "dealname"})
# The longest unique value a key cell may hold: a longer cell (or one of several lines) is no
# identifier but a wrong column, refused before any call.
MAX_UNIQUE_VALUE = 255
# Candidates named in an "ambiguous" error.
SHOWN_CANDIDATES = 5
_SPACES = re.compile(r"\s+")
_domain = DomainNameValidator(accept_idna=True)


def table_name(object_type: str, match_property: str) -> str:
    """The resolution table of one object type's key property: ``"0-1:email"``."""
    return f"{object_type}:{match_property}"


def key_property(target: ColumnTarget) -> str | None:
    """The property an association column's values are compared with: None for record IDs."""
    if target.kind != "association" or not target.match_property:
        return None
    return target.match_property


_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def normalise_key(text: str, match_property: str) -> str:
    """One key as HubSpot compares it; raises CellProblem ``bad_key`` (with ``kind`` ``email``,
    ``domain`` or ``value`` and the ``part``) when it cannot be one: "not an email" is said
    before any call. ``match_property`` ``email``: lowercase address; ``domain``: the host of
    a website or domain, lowercase, without ``www.``; ``dealname`` (searched, and search
    compares lowercase): the text, lowercase; any other (a unique-value property, read by
    ``idProperty``, which compares the value as stored): the text as written, spacing
    trimmed, at most ``MAX_UNIQUE_VALUE`` characters on one line."""
    text = text.strip()
    if match_property == "email":
        key = text.lower()
        # Django's validator takes ASCII local parts only; an address may hold letters beyond
        # ASCII before the @ (RFC 6531, "chloé.nguyen@example.org"): each is checked as a letter.
        local, at, domain = key.rpartition("@")
        try:
            validate_email(_NON_ASCII.sub("a", local) + at + domain)
        except ValidationError:
            raise CellProblem("bad_key", kind="email", part=text) from None
        return key
    if match_property == "domain":
        lowered = text.lower()
        host = "" if "@" in lowered else _host(lowered)
        try:
            _domain(host)
        except ValidationError:
            raise CellProblem("bad_key", kind="domain", part=text) from None
        return host
    if match_property in SEARCHED_KEYS:
        return _SPACES.sub(" ", text).lower()
    if len(text) > MAX_UNIQUE_VALUE or any(c in text for c in "\r\n\t"):
        raise CellProblem("bad_key", kind="value", part=text[:40], property=match_property)
    return text


def _host(text: str) -> str:
    try:
        host = urlsplit(text if "://" in text else "//" + text).hostname or ""
    except ValueError:
        return ""
    return host.removeprefix("www.")


def split_keys(cell: object, match_property: str) -> list[str] | None:
    """A cell's keys, ``;``-separated, normalised and each once; None for a blank cell."""
    if cell is None:
        return None
    text = cell if type(cell) is str else display_text(cell)
    keys: list[str] = []
    for part in text.split(";"):
        if part.strip():
            key = normalise_key(part, match_property)
            if key not in keys:
                keys.append(key)
    return keys or None


def owner_key(text: str) -> str:
    """An owner cell's key: ``id:<owner id>``, ``email:<lowercase email>`` or
    ``name:<lowercase full name>``."""
    text = _SPACES.sub(" ", text.strip())
    if text.isdigit():
        return f"id:{text}"
    if "@" in text:
        return f"email:{text.lower()}"
    return f"name:{text.lower()}"


def _auto_split(cell: object, object_type: str) -> tuple[list[str], list[str]]:
    """A grid cell's ``(record IDs, natural keys)``: digits are IDs, anything else a key."""
    text = cell if type(cell) is str else display_text(cell)
    ids: list[str] = []
    keys: list[str] = []
    for part in text.split(";"):
        part = part.strip()
        if not part:
            continue
        if part.isdigit():
            ids.extend(convert_record_ids(part) or [])
        else:
            keys.append(normalise_key(part, USUAL_KEYS[object_type]))
    return ids, keys


def wanted_keys(
    mapping: Sequence[ColumnTarget | None], rows: Iterable[tuple[int, Sequence[object]]]
) -> dict[str, set[str]]:
    """The distinct well-shaped keys of the key columns (and the owner column), by resolution
    table: ``{"0-1:email": {"a@example.org", ...}, "owners": {"email:tom@x.org"}}``. A key
    with a bad shape is left out (its cell gets ``bad_key``)."""
    columns = [
        (index, target)
        for index, target in enumerate(mapping)
        if target is not None
        and (target.match_property or (target.kind == "property" and target.name == OWNER_PROPERTY))
    ]
    wanted: dict[str, set[str]] = defaultdict(set)
    for _number, cells in rows:
        for index, target in columns:
            cell = cells[index] if index < len(cells) else ""
            if cell == "" or cell is None:
                continue
            text = cell if type(cell) is str else display_text(cell)
            for table, key in cell_keys(target, text):
                wanted[table].add(key)
    return wanted


def _keys_of(match_property: str) -> Callable[[object], list[str]]:
    def keys(cell: object) -> list[str]:
        text = cell if type(cell) is str else display_text(cell)
        found = []
        for part in text.split(";"):
            if not part.strip():
                continue
            try:
                found.append(normalise_key(part, match_property))
            except CellProblem:
                continue
        return found

    return keys


def _auto_keys(object_type: str) -> Callable[[object], list[str]]:
    def keys(cell: object) -> list[str]:
        try:
            return _auto_split(cell, object_type)[1]
        except CellProblem:
            return []

    return keys


def candidates_text(candidates: Sequence[Sequence[Any]]) -> str:
    """``Twin Clinics North (#18771299001), Twin Clinics South (#18771299002)``: the first
    ``SHOWN_CANDIDATES``."""
    shown = [f"{name} (#{record_id})" for record_id, name, *_rest in candidates]
    more = len(shown) - SHOWN_CANDIDATES
    text = ", ".join(shown[:SHOWN_CANDIDATES])
    return f"{text}, +{more}" if more > 0 else text


def choose(resolution: dict[str, Any], table: str, key: str) -> str:
    """The record ID ``key`` stands for in ``table``; raises CellProblem ``not_found`` or
    ``ambiguous`` (several candidates and no pick among them) with the ``part``."""
    candidates = resolution.get("tables", {}).get(table, {}).get(key) or []
    object_type, _sep, prop = table.partition(":")
    if not candidates:
        raise CellProblem("not_found", part=key, object=object_type, property=prop)
    if len(candidates) == 1:
        return str(candidates[0][0])
    pick = resolution.get("picks", {}).get(table, {}).get(key)
    if pick in {str(c[0]) for c in candidates}:
        return str(pick)
    raise CellProblem(
        "ambiguous", part=key, object=object_type, candidates=candidates_text(candidates)
    )


def key_converter(
    resolution: dict[str, Any], object_type: str, match_property: str
) -> Callable[[object], list[str] | None]:
    """A converter of an association key column: cell -> record IDs (None when blank), or
    CellProblem ``bad_key`` / ``not_found`` / ``ambiguous``. ``match_property`` ``AUTO``
    takes record IDs as they are and keys by the object's usual property."""

    def convert(cell: object) -> list[str] | None:
        if cell is None or cell == "":
            return None
        if match_property == AUTO:
            ids, keys = _auto_split(cell, object_type)
            table = table_name(object_type, USUAL_KEYS[object_type])
        else:
            ids, keys = [], split_keys(cell, match_property) or []
            table = table_name(object_type, match_property)
        for key in keys:
            record_id = choose(resolution, table, key)
            if record_id not in ids:
                ids.append(record_id)
        return ids or None

    return convert


def owner_converter(resolution: dict[str, Any]) -> Callable[[object], str | None]:
    """A converter of the ``hubspot_owner_id`` column: an owner's email, full name or owner ID
    -> the owner ID; CellProblem ``not_found`` (no such active owner), ``ambiguous`` (two
    owners with that name) or ``owner_inactive`` (a deactivated user)."""

    def convert(cell: object) -> str | None:
        text = cell if type(cell) is str else display_text(cell)
        if not text.strip():
            return None
        key = owner_key(text)
        owner_id = choose(resolution, OWNERS, key)
        for candidate_id, name, active in resolution["tables"][OWNERS][key]:
            if str(candidate_id) == owner_id and not active:
                raise CellProblem("owner_inactive", part=key, owner=name, id=owner_id)
        return owner_id

    return convert


def found_names(resolution: dict[str, Any]) -> dict[tuple[str, str], str]:
    """``(object type, record id) -> display name`` of every record a key resolved to."""
    names: dict[tuple[str, str], str] = {}
    for table, keys in (resolution.get("tables") or {}).items():
        object_type = table.partition(":")[0]
        for candidates in keys.values():
            for record_id, name, *_rest in candidates:
                names[object_type, str(record_id)] = name
    return names


def resolved_keys(resolution: dict[str, Any]) -> dict[tuple[str, str], tuple[str, str]]:
    """``(object type, record id) -> (key, key property)`` of every key that resolved to one
    record (or was picked): which email, domain, name or unique value an association came
    from, and by which property (``email``, ``patient_number``...)."""
    keys_of: dict[tuple[str, str], tuple[str, str]] = {}
    picks = resolution.get("picks") or {}
    for table, keys in (resolution.get("tables") or {}).items():
        object_type, _sep, prop = table.partition(":")
        for key, candidates in keys.items():
            record_id = picks.get(table, {}).get(key)
            if record_id is None and len(candidates) == 1:
                record_id = candidates[0][0]
            if record_id is not None:
                keys_of.setdefault((object_type, str(record_id)), (key, prop))
    return keys_of


def cell_keys(target: ColumnTarget, text: str) -> list[tuple[str, str]]:
    """``(resolution table, key)`` of each well-shaped key of a cell ``text`` under
    ``target`` (a key column or the owner column); ``[]`` for any other column."""
    if target.kind == "property":
        return [(OWNERS, owner_key(text))] if target.name == OWNER_PROPERTY and text.strip() else []
    if target.match_property == AUTO:
        table = table_name(target.name, USUAL_KEYS[target.name])
        return [(table, key) for key in _auto_keys(target.name)(text)]
    if target.match_property:
        table = table_name(target.name, target.match_property)
        return [(table, key) for key in _keys_of(target.match_property)(text)]
    return []


def split_text_keys(cell: object, match_property: str) -> list[str]:
    """The well-shaped keys of a cell (bad ones left out); ``[]`` for a blank cell."""
    if cell is None or cell == "":
        return []
    return _keys_of(match_property)(cell)
