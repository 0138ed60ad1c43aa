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

from appointments.hubspot.client import CreatedRecord, HubSpotClient
from appointments.hubspot.errors import HubSpotRateLimitError
from appointments.hubspot.schema import PropertyDefinition
from appointments.intake.duplicates import START, appointment_keys, contact_pairs, group_rows
from appointments.intake.encoding import association_object_types
from appointments.intake.mapping import ColumnTarget, target_from_json
from appointments.models import Batch, BatchRow, RowUndo
from appointments.services import access
from appointments.services.access import Action
from appointments.services.matching import value_key
from appointments.services.portals import portal_client

# Rows of this batch that are or will be sent: the ones a duplicate matters for.
LIVE_STATES = (BatchRow.State.READY, BatchRow.State.SENDING, BatchRow.State.CREATED)


ON_DUPLICATE_CHOICES = ("skip", "create", "update")


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


def batch_duplicates_search_hubspot(*, user: User, batch: Batch) -> int:
    """Look in HubSpot for appointments that match the batch's ready rows (same start and an
    associated contact in common) and that the app did not create; keep them on the batch
    (``hubspot_duplicates``, shown and skipped like rows sent before). Returns how many rows
    matched.

    One search per associated contact (``associations.contact`` EQ its ID, and
    ``hs_appointment_start`` BETWEEN the earliest and latest start of its rows; results are
    then matched to rows by start), paging through every result; search's own per-second
    limit (429) is waited out
    (https://developers.hubspot.com/docs/api-reference/2026-03/crm/search-the-crm, "Search
    through associations", "Limitations"). Search lags writes by a few moments: an appointment
    created in the last seconds may be missed (those the app created are caught at once by
    ``batch_duplicates``). Raises HubSpotError / PortalNeedsReconnect when HubSpot cannot be
    asked, PermissionDenied unless ``user`` may act on the batch; nothing is changed then.
    """
    access.require(user, Action.BATCH_ACT, batch)
    keys_of = _keyer(batch)
    by_contact: dict[str, dict[str | None, list[int]]] = {}
    rows = batch.rows.filter(state=BatchRow.State.READY).order_by("row_number")
    for number, properties, associations in rows.values_list(
        "row_number", "properties", "associations"
    ):
        for key in keys_of(properties, associations):
            if key[0] == "start":
                _, start, contact = key
                by_contact.setdefault(contact, {}).setdefault(value_key(start), []).append(number)
    hits: dict[int, str] = {}
    with portal_client(portal=batch.portal) as client:
        for contact, starts in by_contact.items():
            instants = sorted(ms for ms in map(_instant_ms, _starts(batch, starts)) if ms)
            if not instants:
                continue
            filters = [
                {"propertyName": "associations.contact", "operator": "EQ", "value": contact},
                {
                    "propertyName": START,
                    "operator": "BETWEEN",
                    "value": str(instants[0]),
                    "highValue": str(instants[-1]),
                },
            ]
            for record in _search_all(client, filters):
                for number in starts.get(value_key(record.properties.get(START)), []):
                    hits.setdefault(number, record.id)
    held = set(
        BatchRow.objects.filter(
            batch__portal_id=batch.portal_id, hubspot_id__in=set(hits.values())
        ).values_list("hubspot_id", flat=True)
    )
    found = [{"row": n, "record_id": r} for n, r in sorted(hits.items()) if r not in held]
    Batch.objects.filter(pk=batch.pk).update(hubspot_duplicates=found)
    batch.hubspot_duplicates = found
    return len(found)


def _starts(batch: Batch, starts: dict[str | None, list[int]]) -> list[str]:
    """The start strings of the rows in ``starts`` (one row per distinct start)."""
    numbers = [rows[0] for rows in starts.values()]
    layout = batch.layout
    return [
        layout.unpack_properties(properties).get(START, "")
        for properties in batch.rows.filter(row_number__in=numbers).values_list(
            "properties", flat=True
        )
    ]


def _search_all(client: HubSpotClient, filters: list[dict[str, Any]]) -> list[CreatedRecord]:
    found: list[CreatedRecord] = []
    after: str | None = None
    while True:
        try:
            page, after = client.search_appointments(
                filter_groups=[{"filters": filters}], properties=[START], after=after
            )
        except HubSpotRateLimitError as exc:  # search's own per-second limit
            time.sleep(exc.retry_after or 1.0)
            continue
        found.extend(page)
        if after is None:
            return found
