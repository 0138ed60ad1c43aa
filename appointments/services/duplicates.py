"""Duplicates of a batch's rows: inside its file, against what the app already sent to the
portal, and the same file sent before (its SHA-256); the choices a person makes about them.

Keyword-only, typed functions named ``batch_duplicates_<action>``. What makes two rows the same
appointment is ``intake.duplicates`` (pure).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from appointments.hubspot import pacing
from appointments.hubspot.client import (
    MAX_ASSOCIATION_READ_INPUTS,
    MAX_BATCH_INPUTS,
    HubSpotClient,
    SearchPage,
)
from appointments.hubspot.errors import HubSpotRateLimitError
from appointments.hubspot.schema import APPOINTMENT_OBJECT_TYPE, PropertyDefinition
from appointments.intake.duplicates import START, appointment_keys, contact_pairs, group_rows
from appointments.intake.encoding import association_object_types
from appointments.intake.mapping import ColumnTarget, target_from_json
from appointments.models import Batch, BatchRow, RowUndo
from appointments.services import access
from appointments.services.access import Action
from appointments.services.portals import portal_client

# Rows of this batch that are or will be sent: the ones a duplicate matters for.
LIVE_STATES = (BatchRow.State.READY, BatchRow.State.SENDING, BatchRow.State.CREATED)


ON_DUPLICATE_CHOICES = ("skip", "create")


class DuplicatesUndecided(Exception):
    """Rows of the batch were already sent to the portal and nobody said what to do with them
    (``count`` rows)."""

    def __init__(self, count: int) -> None:
        super().__init__(count)
        self.count = count


@dataclass(frozen=True)
class SentMatch:
    """Row ``row_number`` of this batch is the appointment row ``earlier_row`` of batch
    ``batch_id`` (named ``batch_name``) created as HubSpot record ``record_id``."""

    row_number: int
    batch_id: uuid.UUID
    batch_name: str
    earlier_row: int
    record_id: str


@dataclass(frozen=True)
class HubSpotMatch:
    """Row ``row_number`` is appointment ``record_id``, found in HubSpot (not made by the app)."""

    row_number: int
    record_id: str


@dataclass(frozen=True)
class DuplicateReport:
    """``in_file``: groups of row numbers that are the same appointment (first row first),
    less those a person chose to keep; ``sent``: rows the app already created in the portal;
    ``same_file``: earlier batches of the portal made from a file with the same SHA-256."""

    in_file: list[list[int]] = field(default_factory=list)
    sent: list[SentMatch] = field(default_factory=list)
    same_file: list[Batch] = field(default_factory=list)
    hubspot: list[HubSpotMatch] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.in_file or self.sent or self.same_file or self.hubspot)

    def by_row(self) -> dict[int, list[dict[str, Any]]]:
        """``{row number: [{"kind": "file", "row": n} | {"kind": "sent", "batch": id,
        "row": n, "record_id": id}]}``, the shape ``import_appointments --dry-run`` prints."""
        found: dict[int, list[dict[str, Any]]] = {}
        for group in self.in_file:
            for row in group:
                for other in group:
                    if other != row:
                        found.setdefault(row, []).append({"kind": "file", "row": other})
        for match in self.sent:
            found.setdefault(match.row_number, []).append(
                {
                    "kind": "sent",
                    "batch": str(match.batch_id),
                    "row": match.earlier_row,
                    "record_id": match.record_id,
                }
            )
        for hit in self.hubspot:
            found.setdefault(hit.row_number, []).append(
                {"kind": "hubspot", "record_id": hit.record_id}
            )
        return found


def _keyer(batch: Batch) -> Any:
    """A function ``(stored properties, stored associations) -> keys`` for rows of ``batch``."""
    layout = batch.layout
    keys = row_keyer(
        mapping=[target_from_json(t) for t in batch.mapping],
        properties=[PropertyDefinition.from_json(p) for p in batch.properties_snapshot],
    )

    def stored_keys(properties: list[Any], associations: list[Any]) -> list[tuple[str, ...]]:
        return keys(layout.unpack_properties(properties), layout.unpack_associations(associations))

    return stored_keys


def row_keyer(
    *, mapping: list[ColumnTarget | None], properties: list[PropertyDefinition]
) -> Callable[[dict[str, str], list[Any]], list[tuple[str, ...]]]:
    """A function ``({name: value}, [[record id, category, type id], ...]) -> keys``
    (``intake.duplicates.appointment_keys``) for rows mapped by ``mapping`` against the
    portal's ``properties``."""
    contacts = contact_pairs(association_object_types(mapping))
    mapped = {t.name for t in mapping if t is not None and t.kind == "property"}
    unique = [p.name for p in properties if p.has_unique_value and p.name in mapped]

    def keys(values: dict[str, str], associations: list[Any]) -> list[tuple[str, ...]]:
        return appointment_keys(
            properties=values,
            associations=associations,
            contacts=contacts,
            unique_properties=unique,
        )

    return keys


def batch_duplicates(*, batch: Batch) -> DuplicateReport:
    """The batch's duplicates (``DuplicateReport``), from the database alone: immediate and
    exact, no HubSpot call.

    Sent before: rows of the portal's other batches that HubSpot created (and that no undo
    archived) with a key in common with a live row of this batch (same start and contact, or
    same unique-property value).
    """
    keys_of = _keyer(batch)
    rows = batch.rows.filter(state__in=LIVE_STATES).order_by("row_number")
    keyed = [
        (number, keys_of(properties, associations))
        for number, properties, associations in rows.values_list(
            "row_number", "properties", "associations"
        )
    ]
    report = duplicates_report(
        portal_id=batch.portal_id,
        keyed=keyed,
        file_sha256=batch.file_sha256,
        batch_id=batch.pk,
        kept=batch.duplicates_kept,
    )
    live = {number for number, _ in keyed}
    hubspot = [
        HubSpotMatch(row_number=hit["row"], record_id=hit["record_id"])
        for hit in batch.hubspot_duplicates
        if hit["row"] in live
    ]
    return replace(report, hubspot=hubspot)


def duplicates_report(
    *,
    portal_id: int,
    keyed: list[tuple[int, list[tuple[str, ...]]]],
    file_sha256: str,
    batch_id: Any = None,
    kept: list[list[int]] | None = None,
) -> DuplicateReport:
    """The ``DuplicateReport`` of rows given as ``(row number, keys)`` for the portal
    ``portal_id``, leaving out the batch ``batch_id`` (theirs, if stored) and the in-file
    groups in ``kept``; ``file_sha256`` (hex, may be "") finds earlier batches of the same
    file. Reads the database only (``import_appointments --dry-run`` calls it before any
    batch exists)."""
    kept_groups = {tuple(group) for group in kept or []}
    in_file = [group for group in group_rows(keyed) if tuple(group) not in kept_groups]
    wanted: dict[tuple[str, ...], list[int]] = {}
    for number, keys in keyed:
        for key in keys:
            wanted.setdefault(key, []).append(number)
    sent: dict[int, SentMatch] = {}
    archived = RowUndo.objects.filter(outcome=RowUndo.Outcome.ARCHIVED).values("row_id")
    earlier = (
        Batch.objects.filter(portal_id=portal_id)
        .exclude(pk=batch_id)
        .filter(rows__state=BatchRow.State.CREATED)
        .distinct()
        .order_by("created_at")
    )
    for other in earlier:
        other_keys = _keyer(other)
        created = other.rows.filter(state=BatchRow.State.CREATED).exclude(pk__in=archived)
        for number, properties, associations, record_id in created.values_list(
            "row_number", "properties", "associations", "hubspot_id"
        ):
            for key in other_keys(properties, associations):
                for mine in wanted.get(key, ()):
                    sent.setdefault(
                        mine,
                        SentMatch(
                            row_number=mine,
                            batch_id=other.pk,
                            batch_name=str(other),
                            earlier_row=number,
                            record_id=record_id,
                        ),
                    )
    same_file = (
        list(
            Batch.objects.filter(portal_id=portal_id, file_sha256=file_sha256)
            .exclude(pk=batch_id)
            .order_by("created_at")
        )
        if file_sha256
        else []
    )
    return DuplicateReport(
        in_file=in_file,
        sent=[sent[number] for number in sorted(sent)],
        same_file=same_file,
    )


def batch_duplicates_resolve(*, user: User, batch: Batch, rows: list[int], choice: str) -> int:
    """Settle one group of in-file duplicates (``rows``: its row numbers, first first):
    ``"keep_first"`` excludes all but the first, ``"exclude"`` excludes them all, ``"keep_all"``
    keeps them all and stops showing the group. Only rows no HubSpot call holds change.
    Returns how many rows were excluded. Raises ValueError for another ``choice``, and
    PermissionDenied unless ``user`` may act on the batch (``services.access``).
    """
    access.require(user, Action.BATCH_ACT, batch)
    if choice not in ("keep_first", "exclude", "keep_all"):
        raise ValueError(choice)
    group = sorted(set(rows))
    if choice == "keep_all":
        with transaction.atomic():
            locked = Batch.objects.select_for_update().get(pk=batch.pk)
            if group not in locked.duplicates_kept:
                locked.duplicates_kept = [*locked.duplicates_kept, group]
                locked.save(update_fields=["duplicates_kept"])
        return 0
    targets = group[1:] if choice == "keep_first" else group
    return _exclude(batch, targets, _("Excluded: the same appointment as another row."))


def _exclude(batch: Batch, row_numbers: list[int], message: str) -> int:
    return batch.rows.filter(
        row_number__in=row_numbers, call__isnull=True, state=BatchRow.State.READY
    ).update(state=BatchRow.State.EXCLUDED, error_message=message, updated_at=timezone.now())


def batch_duplicates_skip_sent(*, batch: Batch, report: DuplicateReport) -> int:
    """Exclude the rows ``report`` found already sent by the app or found in HubSpot (never
    sent again), each saying which batch or record it duplicates. Returns how many rows were
    excluded."""
    excluded = 0
    for hit in report.hubspot:
        excluded += _exclude(
            batch,
            [hit.row_number],
            _("Not sent: HubSpot already holds this appointment (record %(record)s).")
            % {"record": hit.record_id},
        )
    for match in report.sent:
        excluded += _exclude(
            batch,
            [match.row_number],
            _("Not sent: batch %(batch)s already created it (row %(row)s, record %(record)s).")
            % {"batch": match.batch_name, "row": match.earlier_row, "record": match.record_id},
        )
    return excluded


def _instant_ms(value: str) -> int | None:
    """``value`` (HubSpot's datetime string) in epoch milliseconds, None if not a datetime."""
    try:
        return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        return None


# IN takes up to 100 values; a page holds up to 200 records; a query reaches 10,000 results
# (https://developers.hubspot.com/docs/api-reference/2026-03/crm/search-the-crm, "Filter search
# results", "Limitations").
STARTS_PER_SEARCH = 100
SEARCH_RESULTS_LIMIT = 10_000
# Tries of one search page answered 429 (another client of the portal searched meanwhile).
SEARCH_TRIES = 3
# Appointment IDs per batch read of their contacts (associations API: at most 1,000).
ASSOCIATION_READS = MAX_ASSOCIATION_READ_INPUTS


def batch_duplicates_search_hubspot(*, user: User, batch: Batch) -> int:
    """Look in HubSpot for appointments that match the batch's ready rows (same start and an
    associated contact in common, or the same value of a unique-value property) and that the
    app did not create; keep them on the batch (``hubspot_duplicates``, shown and skipped like
    rows sent before). Returns how many rows matched.

    In bulk, whatever the number of contacts: the rows' distinct start instants go 100 at a
    time into one search (``hs_appointment_start`` IN their epoch milliseconds, paged by 200,
    only the start asked for; a chunk matching more than the 10,000 results a query reaches is
    halved, and a single start past it is searched per 100 of its rows' contacts); then the
    contacts of the appointments found are read 1,000 at a time through the associations
    API's batch read, and rows are matched by (start, contact). Unique-value properties are
    read by batch read with ``idProperty``, 100 values a call. For N rows with S distinct
    starts, C candidates and U unique values: ceil(S/100) searches of one page each while 100
    starts hold at most 200 appointments (a page more per 200 beyond), ceil(C/1,000)
    association reads and ceil(U/100) reads.
    Searches keep search's own per-second limit (``HUBSPOT_SEARCH_PER_SECOND``, a 429 tried
    again); reads are paced by the portal's 10-second budget
    (https://developers.hubspot.com/docs/api/usage-details). Search lags writes by a few
    moments: an appointment created in the last seconds may be missed (those the app created
    are caught at once by ``batch_duplicates``). Raises HubSpotError / PortalNeedsReconnect
    when HubSpot cannot be asked, PermissionDenied unless ``user`` may act on the batch;
    nothing is changed then.
    """
    access.require(user, Action.BATCH_ACT, batch)
    keys_of = _keyer(batch)
    # {start instant (ms): {contact id: [row numbers]}}; {property: {value: [row numbers]}}
    by_start: dict[int, dict[str, list[int]]] = {}
    by_unique: dict[str, dict[str, list[int]]] = {}
    rows = batch.rows.filter(state=BatchRow.State.READY).order_by("row_number")
    for number, properties, associations in rows.values_list(
        "row_number", "properties", "associations"
    ):
        for key in keys_of(properties, associations):
            if key[0] == "start":
                instant = _instant_ms(key[1])
                if instant is not None:
                    by_start.setdefault(instant, {}).setdefault(key[2], []).append(number)
            else:
                by_unique.setdefault(key[1], {}).setdefault(key[2], []).append(number)
    hits: dict[int, str] = {}
    hub_id = batch.portal.hub_id
    with portal_client(portal=batch.portal) as client:
        found = _appointments_starting(client, hub_id, by_start)
        mine = _app_created(batch.portal_id, list(found))
        candidates = sorted(set(found) - mine)
        for at in range(0, len(candidates), ASSOCIATION_READS):
            chunk = candidates[at : at + ASSOCIATION_READS]
            for record_id, contacts in client.read_associations(
                APPOINTMENT_OBJECT_TYPE, "0-1", chunk
            ).items():
                rows_of = by_start.get(found.get(record_id, -1), {})
                for contact in sorted(contacts):
                    for number in rows_of.get(contact, []):
                        hits.setdefault(number, record_id)
        for name, values in by_unique.items():
            listed = sorted(values)
            for at in range(0, len(listed), MAX_BATCH_INPUTS):
                chunk = listed[at : at + MAX_BATCH_INPUTS]
                for value, record_id in client.appointments_by_unique_value(name, chunk).items():
                    for number in values.get(value, []):
                        hits.setdefault(number, record_id)
    held = _app_created(batch.portal_id, list(set(hits.values())))
    found_rows = [{"row": n, "record_id": r} for n, r in sorted(hits.items()) if r not in held]
    Batch.objects.filter(pk=batch.pk).update(hubspot_duplicates=found_rows)
    batch.hubspot_duplicates = found_rows
    return len(found_rows)


def _app_created(portal_id: int, record_ids: list[str]) -> set[str]:
    """Those of ``record_ids`` that rows of the portal's batches created (never duplicates of
    themselves), asked 1,000 at a time to stay under SQLite's bound on query parameters."""
    held: set[str] = set()
    for at in range(0, len(record_ids), 1000):
        held.update(
            BatchRow.objects.filter(
                batch__portal_id=portal_id, hubspot_id__in=record_ids[at : at + 1000]
            ).values_list("hubspot_id", flat=True)
        )
    return held


def _appointments_starting(
    client: HubSpotClient, hub_id: int, by_start: dict[int, dict[str, list[int]]]
) -> dict[str, int]:
    """``{record id: start instant (ms)}`` of the portal's appointments (as search sees them)
    that start at one of ``by_start``'s instants."""
    found: dict[str, int] = {}
    instants = sorted(by_start)
    pending = [
        instants[at : at + STARTS_PER_SEARCH] for at in range(0, len(instants), STARTS_PER_SEARCH)
    ]
    while pending:
        chunk = pending.pop(0)
        groups = [{"filters": [_start_filter(chunk)]}]
        if _search_into(found, client, hub_id, groups, whole=False):
            continue
        if len(chunk) > 1:
            # Over 10,000 matches: the pages would stop short; two halves each reach theirs.
            half = len(chunk) // 2
            pending[:0] = [chunk[:half], chunk[half:]]
            continue
        contacts = sorted(by_start[chunk[0]])
        for at in range(0, len(contacts), STARTS_PER_SEARCH):
            by_contact = {
                "propertyName": "associations.contact",
                "operator": "IN",
                "values": contacts[at : at + STARTS_PER_SEARCH],
            }
            _search_into(
                found, client, hub_id, [{"filters": [_start_filter(chunk), by_contact]}], whole=True
            )
    return found


def _start_filter(instants: list[int]) -> dict[str, Any]:
    # Datetimes are given to search in epoch milliseconds (search guide, "Filter search results").
    return {"propertyName": START, "operator": "IN", "values": [str(ms) for ms in instants]}


def _search_into(
    found: dict[str, int],
    client: HubSpotClient,
    hub_id: int,
    groups: list[dict[str, Any]],
    *,
    whole: bool,
) -> bool:
    """Page through the search ``groups`` into ``found``; False, after its first page, when it
    matches more than search reaches (10,000) unless ``whole`` (then as many as it reaches)."""
    after: str | None = None
    while True:
        page = _search_page(client, hub_id, groups, after)
        if after is None and page.total > SEARCH_RESULTS_LIMIT and not whole:
            return False
        for record in page.records:
            instant = _instant_ms(record.properties.get(START, ""))
            if instant is not None:
                found[record.id] = instant
        if page.after is None:
            return True
        after = page.after


def _search_page(
    client: HubSpotClient, hub_id: int, groups: list[dict[str, Any]], after: str | None
) -> SearchPage:
    """One search page within the per-second limit; a 429 is tried again a second later,
    twice at most (a search writes nothing, so trying again is safe)."""
    for attempt in range(SEARCH_TRIES):
        pacing.acquire_search(hub_id)
        try:
            return client.search_page(APPOINTMENT_OBJECT_TYPE, groups, [START], after)
        except HubSpotRateLimitError:
            if attempt == SEARCH_TRIES - 1:
                raise
            time.sleep(1)
    raise AssertionError("unreachable")
