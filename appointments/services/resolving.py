"""Resolving natural keys (contact emails, company domains, deal names, owner emails and
names) to HubSpot IDs, in bulk, before anything is sent.

Keyword-only, typed functions named ``keys_<action>``. The shapes and the conversion of cells
are ``intake.keys`` (pure); this module asks HubSpot once per distinct key:

- contacts by email: batch read with ``idProperty=email``, 100 per call, paced by the portal's
  10-second budget like sending
  (https://developers.hubspot.com/docs/api-reference/2026-03/crm/objects/contacts/guide);
- companies by domain and deals by name: search with an ``IN`` filter of 100 lowercase
  values, paged by 200, kept under search's own per-second limit (``pacing.acquire_search``;
  https://developers.hubspot.com/docs/api-reference/2026-03/crm/search-the-crm);
- any unique-value property of contacts, companies or deals (``Schema.key_properties``):
  batch read with ``idProperty=<that property>``, 100 per call, paced like contacts by email
  (https://developers.hubspot.com/docs/api-reference/2026-03/crm/objects/contacts/guide);
- owners: one paged listing of the active owners and one of the deactivated ones
  (https://developers.hubspot.com/docs/api-reference/latest/crm/owners/guide).

A resolution is kept on its batch (``reading["keys"]``), never shared across batches: records
change, and a new batch asks again.
"""

from __future__ import annotations

import copy
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from appointments.hubspot import pacing
from appointments.hubspot.client import MAX_BATCH_INPUTS, CreatedRecord, HubSpotClient
from appointments.hubspot.errors import HubSpotError, HubSpotRateLimitError, clause
from appointments.intake.dates import CellProblem
from appointments.intake.keys import (
    OWNERS,
    SEARCHED_KEYS,
    cell_keys,
    choose,
    normalise_key,
    owner_key,
    split_text_keys,
    table_name,
    wanted_keys,
)
from appointments.intake.mapping import ColumnTarget, target_from_json
from appointments.models import Batch, BatchRow, Portal
from appointments.services.portals import portal_client

# Tries of one search page answered 429.
SEARCH_TRIES = 3
# What each object's display name is made of.
_NAME_PROPERTIES = {
    "0-1": ("firstname", "lastname", "email"),
    "0-2": ("name", "domain"),
    "0-3": ("dealname",),
}


@dataclass
class Calls:
    """How many calls a resolution made, by kind (for the bench and the journal-free tests)."""

    reads: int = 0
    searches: int = 0
    owners: int = 0
    creates: int = 0

    @property
    def total(self) -> int:
        return self.reads + self.searches + self.owners + self.creates


def keys_problem(exc: Exception) -> str:
    """The sentence shown when the keys of a file could not be looked up in HubSpot."""
    return _(
        "Could not look up the file's emails, domains, names or owners in HubSpot: "
        "%(message)s. Nothing was stored. Try again in a minute."
    ) % {"message": clause(exc)}


def keys_resolve(
    *,
    portal: Portal,
    mapping: Sequence[ColumnTarget | None],
    rows: Iterable[tuple[int, Sequence[object]]],
    known: dict[str, Any] | None = None,
    for_page: bool = False,
    calls: Calls | None = None,
) -> dict[str, Any]:
    """The resolution (``intake.keys``) of every distinct key of ``rows`` under ``mapping``:
    ``known`` (a batch's earlier resolution, its picks kept) plus the keys it lacks, asked of
    ``portal``'s HubSpot. ``{}`` when there are no keys (no call made). ``for_page``: a person
    waits (as ``portal_client``). ``calls`` counts the calls made.

    Raises HubSpotError / PortalNeedsReconnect when HubSpot cannot be asked, or TimeoutError
    when the portal's call budget stays taken.
    """
    wanted = wanted_keys(mapping, rows)
    resolution = copy.deepcopy(known) if known else {}
    tables: dict[str, dict[str, list[list[Any]]]] = resolution.setdefault("tables", {})
    resolution.setdefault("picks", {})
    missing = {
        table: sorted(keys - set(tables.get(table, {})))
        for table, keys in wanted.items()
        if keys - set(tables.get(table, {}))
    }
    if not missing:
        return resolution if known or any(wanted.values()) else {}
    calls = calls if calls is not None else Calls()
    with portal_client(portal=portal, for_page=for_page) as client:
        for table, keys in missing.items():
            found = tables.setdefault(table, {})
            if table == OWNERS:
                found.update(_owners(client, keys, calls))
                continue
            object_type, _sep, prop = table.partition(":")
            if object_type == "0-1" and prop == "email":
                found.update(_by_email(client, keys, calls))
            elif prop in SEARCHED_KEYS:
                found.update(_by_search(client, portal.hub_id, object_type, prop, keys, calls))
            else:
                found.update(_by_unique_value(client, object_type, prop, keys, calls))
    return resolution


def keys_pick(*, resolution: dict[str, Any], table: str, key: str, record_id: str) -> bool:
    """Record a person's choice of ``record_id`` among ``key``'s candidates in ``table``
    (changes ``resolution``); False, changing nothing, when it is not one of them."""
    candidates = resolution.get("tables", {}).get(table, {}).get(key) or []
    if record_id not in {str(c[0]) for c in candidates}:
        return False
    resolution.setdefault("picks", {}).setdefault(table, {})[key] = record_id
    return True


def _name(object_type: str, record: CreatedRecord) -> str:
    parts = [record.properties.get(p, "") for p in _NAME_PROPERTIES.get(object_type, ())]
    if object_type == "0-1":
        full = " ".join(p for p in parts[:2] if p)
        return full or parts[2] or record.id
    return next((p for p in parts if p), record.id)


def _chunks(keys: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(keys), MAX_BATCH_INPUTS):
        yield keys[start : start + MAX_BATCH_INPUTS]


def _by_email(client: HubSpotClient, keys: list[str], calls: Calls) -> dict[str, list[list[Any]]]:
    found: dict[str, list[list[Any]]] = {key: [] for key in keys}
    for chunk in _chunks(keys):
        calls.reads += 1
        for record in client.read_by_property("0-1", "email", chunk, list(_NAME_PROPERTIES["0-1"])):
            email = record.properties.get("email", "").lower()
            if email in found and record.id not in {c[0] for c in found[email]}:
                found[email].append([record.id, _name("0-1", record), True])
    return found


def _by_unique_value(
    client: HubSpotClient, object_type: str, prop: str, keys: list[str], calls: Calls
) -> dict[str, list[list[Any]]]:
    """``keys`` of the unique-value property ``prop``, read by ``idProperty`` 100 at a time:
    one record each at most (the property's values are unique), none when missing (207)."""
    found: dict[str, list[list[Any]]] = {key: [] for key in keys}
    for chunk in _chunks(keys):
        calls.reads += 1
        for record in client.read_by_property(object_type, prop, chunk, names_of(object_type)):
            value = record.properties.get(prop, "").strip()
            if value in found and not found[value]:
                found[value].append([record.id, _name(object_type, record), True])
    return found


def _by_search(
    client: HubSpotClient,
    hub_id: int,
    object_type: str,
    prop: str,
    keys: list[str],
    calls: Calls,
) -> dict[str, list[list[Any]]]:
    found: dict[str, list[list[Any]]] = {key: [] for key in keys}
    for chunk in _chunks(keys):
        after: str | None = None
        while True:
            records, after = _search_page(client, hub_id, object_type, prop, chunk, after, calls)
            for record in records:
                try:
                    key = normalise_key(record.properties.get(prop, ""), prop)
                except CellProblem:
                    continue
                if key in found and record.id not in {c[0] for c in found[key]}:
                    found[key].append([record.id, _name(object_type, record), True])
            if after is None:
                break
    return found


def _search_page(
    client: HubSpotClient,
    hub_id: int,
    object_type: str,
    prop: str,
    values: list[str],
    after: str | None,
    calls: Calls,
) -> tuple[list[CreatedRecord], str | None]:
    """One search page within the per-second limit; a 429 (another client of the portal
    searched meanwhile) is tried again a second later, twice at most: a search writes
    nothing, so trying again is safe."""
    for attempt in range(SEARCH_TRIES):
        pacing.acquire_search(hub_id)
        calls.searches += 1
        try:
            return client.search_in(object_type, prop, values, names_of(object_type), after)
        except HubSpotRateLimitError:
            if attempt == SEARCH_TRIES - 1:
                raise
            time.sleep(1)
    raise AssertionError("unreachable")


def names_of(object_type: str) -> list[str]:
    """The properties a record's display name is made of."""
    return list(_NAME_PROPERTIES.get(object_type, ()))


def _owners(client: HubSpotClient, keys: list[str], calls: Calls) -> dict[str, list[list[Any]]]:
    found: dict[str, list[list[Any]]] = {key: [] for key in keys}
    for archived in (False, True):
        after: str | None = None
        while True:
            calls.owners += 1
            owners, after = client.owners_page(archived=archived, after=after)
            for owner in owners:
                entry = [owner.id, owner.name, not owner.archived]
                for key in {
                    owner_key(owner.id),
                    owner_key(owner.email),
                    owner_key(owner.name),
                }:
                    if key in found and owner.id not in {c[0] for c in found[key]}:
                        found[key].append(entry)
            if after is None:
                break
    # An active owner wins over a deactivated one with the same name or email.
    for key, candidates in found.items():
        active = [c for c in candidates if c[2]]
        if active and len(active) < len(candidates):
            found[key] = active
    return found


@dataclass(frozen=True)
class ResolvedLink:
    """What a key cell of a row stands for: ``key`` -> ``name``, ``#record_id`` of
    ``object_type`` (``owners`` for an owner, which has no record page)."""

    key: str
    name: str
    record_id: str
    object_type: str
    created: bool = False


def keys_row_links(*, batch: Batch, row: BatchRow) -> list[ResolvedLink]:
    """The records the row's key cells resolved to (one each, or the one a person picked), in
    column order: what the preview shows beside the keys. Pure reading of the batch's stored
    resolution: no call."""
    resolution = (batch.reading or {}).get("keys") or {}
    if not resolution.get("tables"):
        return []
    created = set((resolution.get("created") or {}).get("0-1", []))
    links: list[ResolvedLink] = []
    for index, data in enumerate(batch.mapping):
        target = target_from_json(data)
        if target is None:
            continue
        for table, key in cell_keys(target, row.raw_text(index)):
            try:
                record_id = choose(resolution, table, key)
            except CellProblem:
                continue
            names = {str(c[0]): c[1] for c in resolution["tables"].get(table, {}).get(key, [])}
            shown = key.partition(":")[2] if table == OWNERS else key
            object_type = table.partition(":")[0]
            links.append(
                ResolvedLink(
                    shown,
                    names.get(record_id, ""),
                    record_id,
                    object_type,
                    created=object_type == "0-1" and record_id in created,
                )
            )
    return links


@dataclass(frozen=True)
class AmbiguousKey:
    """A key of a cell that matches several records and has no pick yet: ``table``, ``key``
    and the ``candidates`` ``(record id, name)`` to choose from."""

    table: str
    key: str
    candidates: list[tuple[str, str]]


def keys_ambiguous(*, batch: Batch, target: ColumnTarget | None, text: str) -> list[AmbiguousKey]:
    """The keys of a cell (``text`` under ``target``) a person must choose a record for."""
    resolution = (batch.reading or {}).get("keys") or {}
    found = []
    for table, key in cell_keys(target, text) if target is not None else []:
        candidates = resolution.get("tables", {}).get(table, {}).get(key) or []
        pick = resolution.get("picks", {}).get(table, {}).get(key)
        if len(candidates) > 1 and pick is None:
            found.append(AmbiguousKey(table, key, [(str(c[0]), str(c[1])) for c in candidates]))
    return found


# "Contact already exists. Existing ID: 123" (sandbox.contacts; hubspot-api-python#51).
_EXISTING_ID = re.compile(r"Existing ID: ?(\d+)")


def keys_create_contacts(
    *,
    portal: Portal,
    mapping: Sequence[ColumnTarget | None],
    rows: Sequence[tuple[int, Sequence[object]]],
    resolution: dict[str, Any],
    calls: Calls | None = None,
) -> list[str]:
    """Create the contacts whose emails the rows name and HubSpot lacks (``resolution``'s
    contact emails with no candidate), once per email, from the email and the columns the
    mapping sends to contact properties (``ColumnTarget(kind="contact")``: first name, last
    name, phone; the first row naming the email with a value gives each); record them in
    ``resolution`` as found and created. Returns the created contacts' IDs. A column merely
    headed "First name" but mapped elsewhere (or ignored) gives nothing.

    Exactly once: HubSpot refuses a second contact with one email (409 "Existing ID: N"), and
    that ID is taken instead, so a create whose answer was lost, or a second confirmation,
    never makes two. Raises HubSpotError / PortalNeedsReconnect / TimeoutError.
    """
    table = resolution.get("tables", {}).get(table_name("0-1", "email"), {})
    missing = {key for key, candidates in table.items() if not candidates}
    if not missing:
        return []
    columns = {
        target.name: index
        for index, target in reversed(list(enumerate(mapping)))
        if target is not None and target.kind == "contact"
    }
    email_columns = [
        index
        for index, target in enumerate(mapping)
        if target is not None and target.name == "0-1" and target.match_property == "email"
    ]
    wanted: dict[str, dict[str, str]] = {}
    for _number, cells in rows:
        for index in email_columns:
            text = cells[index] if index < len(cells) else ""
            for key in split_text_keys(text, "email"):
                if key in missing and key not in wanted:
                    props = {"email": key}
                    for prop, column in columns.items():
                        value = str(cells[column]).strip() if column < len(cells) else ""
                        if value:
                            props[prop] = value
                    wanted[key] = props
    calls = calls if calls is not None else Calls()
    created: list[str] = []
    with portal_client(portal=portal) as client:
        pending = list(wanted.values())
        while pending:
            chunk, pending = pending[:MAX_BATCH_INPUTS], pending[MAX_BATCH_INPUTS:]
            calls.creates += 1
            try:
                records = client.create_contacts(chunk)
            except HubSpotError as exc:
                existing = _EXISTING_ID.search(exc.message or "")
                if exc.status != 409 or existing is None:
                    raise
                # One email of the chunk is taken: read which, keep it, send the others again.
                found = _by_email(client, [props["email"] for props in chunk], calls)
                rest = []
                for props in chunk:
                    if found.get(props["email"]):
                        table[props["email"]] = found[props["email"]]
                    else:
                        rest.append(props)
                if len(rest) == len(chunk):
                    raise
                pending = rest + pending
                continue
            for record in records:
                email = record.properties.get("email", "").lower()
                table[email] = [[record.id, _name("0-1", record), True]]
                created.append(record.id)
    resolution.setdefault("created", {}).setdefault("0-1", []).extend(created)
    return created
