"""Batch actions: create (the one way rows become a batch), progress, submit, retry, cancel, the
check that the records a batch associates with exist, and checking HubSpot again for rows whose
outcome is unknown.

Keyword-only, typed functions named ``batch_<action>``. Spreadsheets are read and validated by
``appointments.intake`` (pure); rows are stored by ``services.storage``; the sending itself is
``services.sending``.
"""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from itertools import groupby
from operator import attrgetter
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.models import User
from django.core.paginator import Page, Paginator
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, F, Max, Min, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.fields.json import KT
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from appointments.hubspot.client import MAX_BATCH_INPUTS
from appointments.hubspot.errors import HubSpotError
from appointments.hubspot.schema import PropertyDefinition
from appointments.intake.bulk import gc_paused
from appointments.intake.cells import column_labels
from appointments.intake.encoding import association_object_types
from appointments.intake.mapping import ColumnTarget, mapping_to_json, target_from_json
from appointments.intake.readers import Table
from appointments.intake.records import (
    RECORD_NOT_FOUND,
    association_columns,
    column_holding,
    record_not_found,
)
from appointments.intake.tuning import table_reading
from appointments.intake.validation import RowValidator, snapshot_validator
from appointments.models import (
    MULTI_STATUS,
    REFUSED_ROWS,
    UNSETTLED_OUTCOMES,
    Batch,
    BatchCall,
    BatchCounts,
    BatchRow,
    Portal,
    Upload,
)
from appointments.services import access, updating
from appointments.services.access import Action
from appointments.services.duplicates import (
    DuplicatesUndecided,
    batch_duplicates,
    batch_duplicates_skip_sent,
)
from appointments.services.exports import is_example_name
from appointments.services.portals import (
    PortalNeedsReconnect,
    portal_check_readiness,
    portal_client,
)
from appointments.services.resolving import keys_create_contacts, keys_resolve
from appointments.services.sending import (
    UNKNOWN_OUTCOME,
    batch_queue,
    call_reconcile,
    search_settle,
    sending_stretch_closed,
    this_worker,
)
from appointments.services.states import Action as StateAction
from appointments.services.states import batch_allows, batch_can, batch_transition
from appointments.services.storage import batch_rows_store_encoded

logger = logging.getLogger(__name__)

# Rows validated and stored per step: a 100,000-row file never holds every row in memory twice.
CHUNK_ROWS = 2000
# The latest calls the results page lists, and its rows per page.
RECENT_CALLS = 10
ROWS_PER_PAGE = 100
# The results page's row filters: name -> the row states it shows (None: every row).
ROW_FILTERS: dict[str, list[str] | None] = {
    "all": None,
    "invalid": [BatchRow.State.INVALID],
    "failed": [BatchRow.State.FAILED, BatchRow.State.UNSENT],
    "created": [BatchRow.State.CREATED],
    "excluded": [BatchRow.State.EXCLUDED],
}

# Rows that are or were sendable: excluded rows are never sent, invalid ones are held back.
VALID_STATES = (
    BatchRow.State.READY,
    BatchRow.State.SENDING,
    BatchRow.State.CREATED,
    BatchRow.State.FAILED,
    BatchRow.State.UNSENT,
)


def batch_create(
    *,
    origin: str,
    user: User,
    portal: Portal,
    source: str,
    filename: str,
    timezone_name: str,
    headers: list[str],
    mapping: list[ColumnTarget | None],
    properties: list[PropertyDefinition],
    reading: dict[str, Any],
    rows: list[tuple[int, list[object]]],
    upload: Upload | None = None,
) -> Batch:
    """Validate ``rows`` (``(row number, cells in header order)``) and store every one of them,
    valid or not, on a new draft batch that keeps the snapshot needed to re-validate a fix.

    The one way rows become a batch: the upload confirmation (``services.uploads``), the form
    grid (``services.grid``) and ``import_appointments`` all call it. ``reading`` is
    ``intake.tuning.table_reading``'s (day/month orders, decimal comma, 1904 dates);
    ``timezone_name`` an IANA zone for times without an offset. Nothing is sent, but the
    natural keys of key columns and the owner column (emails, domains, names) are resolved
    first (``services.resolving.keys_resolve``, kept as ``reading["keys"]``), and with
    ``reading["create_contacts"]`` the contacts HubSpot lacks are created
    (``keys_create_contacts``); that raises
    HubSpotError / PortalNeedsReconnect / TimeoutError, before anything is stored, when HubSpot
    cannot be asked.

    Idempotent per ``origin`` (``"upload:<id>"``, ``"grid:<key>"``): the batch is claimed, and
    ``upload`` linked to it, in one short transaction before any row is written; a second call
    with the same origin, at the same time or later, returns the first batch and stores
    nothing. Rows are then stored ``CHUNK_ROWS`` at a time, each chunk in its own short
    transaction (a 100,000-row file never holds the write lock throughout), the batch
    ``STORING`` until the last one; a batch whose storing stopped (a killed process) is taken
    over by ``batch_resume_storing``.

    Raises PermissionDenied unless ``user`` may use ``portal`` (``services.access``).
    """
    access.require(user, Action.PORTAL_USE, portal)
    if "keys" not in reading and not Batch.objects.filter(origin=origin).exists():
        # Natural keys are resolved once, before the claim: a HubSpot that cannot be asked
        # leaves nothing half-stored, and the batch keeps the answers for its fixes.
        keys = keys_resolve(portal=portal, mapping=mapping, rows=rows)
        if reading.get("create_contacts") and keys:
            keys_create_contacts(portal=portal, mapping=mapping, rows=rows, resolution=keys)
        reading = {**reading, "keys": keys}
    # Built first: a mapping that does not fit the headers fails here, before any claim.
    validator = snapshot_validator(
        headers=headers,
        mapping=mapping,
        properties=properties,
        timezone=ZoneInfo(timezone_name),
        reading=reading,
    )
    claimed = _batch_claim(
        origin=origin,
        upload=upload,
        fields={
            "portal": portal,
            "created_by": user,
            "source": source,
            "filename": filename[:255],
            "timezone": timezone_name,
            "headers": headers,
            "mapping": mapping_to_json(mapping),
            "properties_snapshot": [p.to_json() for p in properties],
            "reading": reading,
            **_file_fingerprint(upload),
        },
    )
    if claimed is not None:
        _batch_store_rows(batch=claimed, validator=validator, rows=rows)
        return Batch.objects.get(pk=claimed.pk)
    existing = Batch.objects.filter(origin=origin).first()
    if existing is None and upload is not None:
        # An upload confirmed before batches had an origin.
        existing = Batch.objects.filter(upload__pk=upload.pk).first()
    if existing is None:
        raise RuntimeError(f"batch {origin} was claimed but cannot be found")
    return existing


def _file_fingerprint(upload: Upload | None) -> dict[str, Any]:
    """``file_sha256`` (hex) and ``file_size`` (bytes) of the upload's file; nothing for the
    grid or an upload whose file is gone."""
    data = bytes(upload.data) if upload is not None and upload.data else b""
    if not data:
        return {}
    return {"file_sha256": hashlib.sha256(data).hexdigest(), "file_size": len(data)}


class _Taken(Exception):
    """The upload already has a batch: roll the claim back."""


def _batch_claim(*, origin: str, upload: Upload | None, fields: dict[str, Any]) -> Batch | None:
    """Create the ``STORING`` batch of ``origin`` and link ``upload`` to it, in one short
    transaction; None when another call got there first (the unique ``origin``, or the
    upload's conditional link, refuses the second)."""
    try:
        with transaction.atomic():
            batch = Batch.objects.create(
                origin=origin,
                status=Batch.Status.STORING,
                worker=this_worker(),
                heartbeat_at=timezone.now(),
                **fields,
            )
            if upload is not None and not Upload.objects.filter(
                pk=upload.pk, batch__isnull=True
            ).update(batch=batch):
                raise _Taken
    except (IntegrityError, _Taken):
        return None
    return batch


def batch_storing_stalled(*, batch: Batch) -> bool:
    """Whether ``batch`` is ``STORING`` with no sign of life for ``HUBPORTAL_STORING_LEASE``
    seconds: whoever stored its rows stopped (a killed process)."""
    stale = timezone.now() - timedelta(seconds=settings.HUBPORTAL_STORING_LEASE)
    return batch.status == Batch.Status.STORING and (
        batch.heartbeat_at is None or batch.heartbeat_at < stale
    )


def batch_resume_storing(*, batch: Batch, rows: list[tuple[int, list[object]]]) -> bool:
    """Take over a batch whose storing stalled (``batch_storing_stalled``) and store ``rows``
    (the same rows the first attempt had: the file read again with the batch's choices)
    afresh, dropping what the first attempt stored. False, doing nothing, when the batch is
    not stalled (done, or another process is storing it). Raises ValueError when the rows'
    layout no longer fits the batch's headers, before taking anything over."""
    stale = timezone.now() - timedelta(seconds=settings.HUBPORTAL_STORING_LEASE)
    taken = Batch.objects.filter(pk=batch.pk, status=Batch.Status.STORING).filter(
        Q(heartbeat_at__isnull=True) | Q(heartbeat_at__lt=stale)
    )
    validator = snapshot_validator(
        headers=batch.headers,
        mapping=[target_from_json(target) for target in batch.mapping],
        properties=[PropertyDefinition.from_json(p) for p in batch.properties_snapshot],
        timezone=ZoneInfo(batch.timezone),
        reading=batch.reading,
    )
    if not taken.update(worker=this_worker(), heartbeat_at=timezone.now()):
        return False
    _batch_store_rows(batch=batch, validator=validator, rows=rows)
    return True


def _batch_store_rows(
    *, batch: Batch, validator: RowValidator, rows: list[tuple[int, list[object]]]
) -> None:
    """Store ``rows`` on the ``STORING`` batch this process holds, chunk by chunk, then make
    it a draft and clear its upload's file. Stops, storing nothing more, if another process
    took the batch over (its lease expired)."""
    mine = Batch.objects.filter(pk=batch.pk, status=Batch.Status.STORING, worker=this_worker())
    # A resumed batch starts again from nothing: rows are validated afresh anyway.
    with transaction.atomic():
        BatchRow.objects.filter(batch=batch).delete()
    for start in range(0, len(rows), CHUNK_ROWS):
        with gc_paused():
            chunk = validator.encode_rows(rows[start : start + CHUNK_ROWS])
        with transaction.atomic():
            if not mine.update(heartbeat_at=timezone.now()):
                return
            batch_rows_store_encoded(batch=batch, rows=chunk)
    with transaction.atomic():
        _hold_back_example_row(batch)
        if batch_transition(
            batch_id=batch.pk,
            action=StateAction.STORED,
            where=Q(worker=this_worker()),
            worker="",
            heartbeat_at=None,
        ):
            # The rows hold every value: a confirmed upload is never read again.
            Upload.objects.filter(batch=batch).update(data=b"")


EXAMPLE_ROW = "example_row"


def example_row_error(*, batch: Batch, row: BatchRow) -> dict[str, str] | None:
    """The error holding back ``row`` when its appointment name is still the template's
    example (``exports.is_example_name``): left in the file, it must not be sent."""
    index = batch.name_column
    if index is None or not is_example_name(row.raw_text(index)):
        return None
    return {
        "column": column_labels(batch.headers)[index],
        "value": row.raw_text(index),
        "code": EXAMPLE_ROW,
        "message": _(
            "Row %(row)s is the template's example row: type a real appointment over it, or "
            "exclude it. It is not sent as it is."
        )
        % {"row": row.row_number},
    }


def _hold_back_example_row(batch: Batch) -> None:
    """Hold back the first data row if it is still the template's example row."""
    first = batch.rows.order_by("row_number").select_related("batch").first()
    if first is None:
        return
    error = example_row_error(batch=batch, row=first)
    if error is not None:
        BatchRow.objects.filter(pk=first.pk).update(
            state=BatchRow.State.INVALID, errors=[*first.errors, error]
        )


# Rows a draft may hold for its mapping to change: none was given to HubSpot.
_UNSENT_STATES = (BatchRow.State.INVALID, BatchRow.State.READY, BatchRow.State.EXCLUDED)


def batch_can_recheck(*, batch: Batch) -> bool:
    """Whether ``batch`` may be checked again with another mapping (``batch_recheck``): a
    draft with no call and no row given to HubSpot."""
    return (
        batch.status == Batch.Status.DRAFT
        and not batch.calls.exists()
        and not batch.rows.exclude(state__in=_UNSENT_STATES).exists()
    )


def batch_recheck(
    *,
    batch: Batch,
    mapping: list[ColumnTarget | None],
    properties: list[PropertyDefinition],
    date_orders: dict[int, str],
    create_contacts: bool = False,
) -> Batch:
    """Check every row of a draft batch again, in place, with a new column ``mapping`` (the
    mapping screen reached back from the batch): each row's cells are its stored texts (the
    file's, with the fixes made since), its number and exclusion are kept; the batch keeps
    its id and origin, so an upload never gets a second batch (``batch_create``).

    ``date_orders``: column index -> ``"DMY"``/``"MDY"`` for columns whose dates read both
    ways. Raises ValueError when the mapping does not fit the batch's headers,
    ``BatchNotEditable`` when the batch was sent, queued or is being stored meanwhile
    (nothing changed then), and HubSpotError / PortalNeedsReconnect / TimeoutError when new
    natural keys cannot be looked up. No appointment is sent.
    """
    rows = [
        (number, list(raw))
        for number, raw in batch.rows.order_by("row_number").values_list("row_number", "raw")
    ]
    excluded = list(
        batch.rows.filter(state=BatchRow.State.EXCLUDED).values_list("row_number", flat=True)
    )
    table = Table(batch.headers, rows, [], None, None, None, 1)
    reading = table_reading(table, mapping, properties, date_orders)
    if reading["decimal_comma"] is None:
        reading["decimal_comma"] = batch.reading.get("decimal_comma")
    reading["date1904"] = bool(batch.reading.get("date1904"))
    if "file" in batch.reading:
        reading["file"] = batch.reading["file"]
    # Key columns the new mapping adds are asked of HubSpot; keys already known (and the
    # person's picks among several matches) are kept, and cost no call.
    keys = keys_resolve(
        portal=batch.portal, mapping=mapping, rows=rows, known=batch.reading.get("keys")
    )
    # Asked now (the mapping screen's box) or when the batch was first checked.
    if (create_contacts or batch.reading.get("create_contacts")) and keys:
        reading["create_contacts"] = True
        keys_create_contacts(portal=batch.portal, mapping=mapping, rows=rows, resolution=keys)
    reading["keys"] = keys
    validator = snapshot_validator(
        headers=batch.headers,
        mapping=mapping,
        properties=properties,
        timezone=ZoneInfo(batch.timezone),
        reading=reading,
    )
    sent = BatchRow.objects.filter(batch=OuterRef("pk")).exclude(state__in=_UNSENT_STATES)
    claimed = batch_transition(
        batch_id=batch.pk,
        action=StateAction.REMAP,
        where=~Q(Exists(sent)) & ~Q(Exists(BatchCall.objects.filter(batch=OuterRef("pk")))),
        worker=this_worker(),
        heartbeat_at=timezone.now(),
        mapping=mapping_to_json(mapping),
        properties_snapshot=[p.to_json() for p in properties],
        reading=reading,
        # Other rows now: what a look in HubSpot found for the old ones no longer holds.
        hubspot_search_state=Batch.Search.NONE,
        hubspot_search_message="",
        hubspot_duplicates=[],
    )
    if not claimed:
        raise BatchNotEditable
    fresh = Batch.objects.get(pk=batch.pk)
    _batch_store_rows(batch=fresh, validator=validator, rows=rows)
    BatchRow.objects.filter(batch=fresh, row_number__in=excluded).update(
        state=BatchRow.State.EXCLUDED
    )
    return Batch.objects.get(pk=batch.pk)


class BatchNotEditable(Exception):
    """The batch was given to HubSpot (or is being stored) meanwhile: its rows cannot change."""


def batch_default_timezone(*, user: User) -> str:
    """The IANA time zone to propose for a new batch: the one this person used last, else
    ``HUBPORTAL_DEFAULT_TIMEZONE``. Proposing UTC to an office in Paris would shift every time
    by an hour or two."""
    last = Batch.objects.filter(created_by=user).order_by("-created_at").first()
    return last.timezone if last else settings.HUBPORTAL_DEFAULT_TIMEZONE


def batch_counts(*, batch: Batch) -> dict[str, int]:
    """Row counts by state (``invalid``, ``ready``, ..., ``excluded``) plus ``total`` (every
    row), ``valid`` (rows that are or were sendable: ``VALID_STATES``, so neither invalid nor
    excluded) and ``done`` (answered by HubSpot: created or failed).

    One row read (``BatchCounts``, kept by the database as rows change), whatever the batch's
    size: the live results poll costs the same for 100 rows as for 100,000.
    """
    kept = BatchCounts.objects.filter(batch_id=batch.pk).first()
    counts = kept.by_state() if kept else dict.fromkeys(BatchRow.State.values, 0)
    counts["total"] = sum(counts[state] for state in BatchRow.State.values)
    counts["valid"] = sum(counts[state] for state in VALID_STATES)
    counts["done"] = counts[BatchRow.State.CREATED] + counts[BatchRow.State.FAILED]
    return counts


@dataclass(frozen=True)
class BatchProgress:
    """``counts`` by row state (plus total/valid/done, as ``batch_counts``); ``to_send`` the
    valid rows that are or will be sent (``valid`` minus unsent: never the invalid or excluded
    ones); ``percent`` of them HubSpot has answered for; ``rows_per_second`` over the time
    spent sending (``batch_sending_seconds``: pauses left out); ``seconds_left`` at that pace
    (None when unknown); ``retry_message`` (in the reader's language) and ``retry_in``
    (seconds) while the engine waits to try a call again that HubSpot did not answer ("" and
    None otherwise)."""

    counts: dict[str, int]
    to_send: int
    percent: int
    rows_per_second: float | None
    seconds_left: int | None
    calls_total: int
    calls_by_status: dict[str, int]
    retry_message: str
    retry_in: int | None


def batch_progress(*, batch: Batch) -> BatchProgress:
    """The batch's progress, read in a fixed number of queries: counts from ``BatchCounts``
    (one row), the calls by HubSpot status from one GROUP BY over the batch's calls."""
    counts = batch_counts(batch=batch)
    answered = counts["done"]
    waiting = counts[BatchRow.State.READY] + counts[BatchRow.State.SENDING]
    # The same rows as ``valid`` (ready, sending, created, failed) less those left unsent.
    to_send = counts["valid"] - counts[BatchRow.State.UNSENT]
    rate = None
    seconds_left = None
    sending = batch_sending_seconds(batch=batch)
    if sending and answered:
        rate = answered / max(sending, 0.001)
        if waiting and batch.is_active:
            seconds_left = round(waiting / rate)
    by_status = {
        row["hubspot_status"] or "—": row["n"]
        for row in batch.calls.order_by().values("hubspot_status").annotate(n=Count("id"))
    }
    return BatchProgress(
        counts=counts,
        to_send=to_send,
        percent=round(100 * answered / to_send) if to_send else 0,
        rows_per_second=round(rate, 1) if rate is not None else None,
        seconds_left=seconds_left,
        calls_total=sum(by_status.values()),
        calls_by_status=by_status,
        retry_message=batch.retry_text if batch.is_active else "",
        retry_in=(
            max(round((batch.retry_at - timezone.now()).total_seconds()), 0)
            if batch.retry_at and batch.is_active
            else None
        ),
    )


def batch_sending_seconds(*, batch: Batch) -> float:
    """Seconds ``batch`` has spent being sent (RUNNING): its ended stretches plus the current
    one. Queues, pauses and waits for a person are left out."""
    seconds = batch.sending_time.total_seconds()
    if batch.running_since is not None:
        seconds += max((timezone.now() - batch.running_since).total_seconds(), 0.0)
    return seconds


@dataclass(frozen=True)
class HubSpotChecking:
    """Rows of calls whose answer was lost, waiting for HubSpot's search to settle (no row key)
    or being looked for: ``rows`` how many, ``seconds_left`` until the search (0: under way)."""

    rows: int
    seconds_left: int


def batch_checking(*, batch: Batch) -> HubSpotChecking | None:
    """What the results page shows as "checking HubSpot" while the batch runs: the calls in
    flight whose answer was lost (``BatchCall.settles_at`` set) and their rows still unknown.
    None when there is none (two small queries on the call and row-call indexes)."""
    if not batch.is_active:
        return None
    calls = list(
        batch.calls.filter(state=BatchCall.State.SENDING, settles_at__isnull=False).values_list(
            "pk", "settles_at"
        )
    )
    if not calls:
        return None
    rows = BatchRow.objects.filter(
        call_id__in=[pk for pk, _at in calls], state=BatchRow.State.SENDING
    ).count()
    if not rows:
        return None
    last = max(at for _pk, at in calls if at is not None)
    return HubSpotChecking(
        rows=rows, seconds_left=max(round((last - timezone.now()).total_seconds()), 0)
    )


def batch_recent_calls(*, batch: Batch) -> QuerySet[BatchCall]:
    """The latest ``RECENT_CALLS`` calls (newest first) with their row counts (``row_count``),
    each counted on its own through the row-call index: never a join over every row."""
    rows = (
        BatchRow.objects.filter(call=OuterRef("pk"))
        .order_by()
        .values("call")
        .annotate(n=Count("pk"))
        .values("n")
    )
    calls = batch.calls.annotate(row_count=Coalesce(Subquery(rows), Value(0)))
    return calls.order_by("-sequence")[:RECENT_CALLS]


class _CountedPaginator(Paginator):
    """A Paginator told its count (from ``BatchCounts``), so a page never counts rows."""

    def __init__(self, object_list: QuerySet[Any], per_page: int, count: int) -> None:
        super().__init__(object_list, per_page)
        self._known = count

    @property
    def count(self) -> int:
        return self._known


def batch_rows_page(
    *,
    batch: Batch,
    row_filter: str,
    number: str | None,
    counts: dict[str, int],
    cells: Sequence[int] = (),
) -> Page:
    """Page ``number`` (1-based text; out of range or bad: the nearest) of the batch's rows in
    ``row_filter`` (a ``ROW_FILTERS`` key; unknown: all), ``ROWS_PER_PAGE`` rows in row order
    (without their associations, trace ids, calls and raw cells but the name's, which the
    results table does not show). ``counts`` is ``batch_counts``'s: the page knows its total
    without a COUNT over the rows. Reads the page's ids from an index, then those rows by
    primary key: never a scan or a sort of the batch's rows. ``cells``: the column indexes
    whose raw cells are read too (the columns shown beside the name, ``ShownCell``), each as
    the row's ``cell_<index>``."""
    states = ROW_FILTERS.get(row_filter)
    ids: QuerySet[Any] = batch.rows.values_list("pk", "row_number").order_by()
    if states:
        # One ordered read per state, merged: each walks the (batch, state, row_number) index
        # in order, where "state IN (...)" would walk the whole batch or sort its rows.
        first, *others = (ids.filter(state=state) for state in states)
        ids = first.union(*others, all=True) if others else first
    total = sum(counts[state] for state in states) if states else counts["total"]
    page = _CountedPaginator(ids.order_by("row_number"), ROWS_PER_PAGE, total).get_page(number)
    # The page's ids are read from an index alone ((batch, row_number) or (batch, state,
    # row_number)), then only those rows are fetched by primary key, in that order: a far
    # page skips index entries, never whole rows with their JSON and their call. (Filtered by
    # batch as well, the database would walk the batch's rows to find them.)
    chosen = [pk for pk, _number in page.object_list]
    # What the results table shows: not the associations, trace id or call (a row's call
    # id says whether it may still be changed), and of the raw cells only the name's (a
    # 5,000-column file's rows would otherwise decode every cell at every poll).
    shown = BatchRow.objects.defer("associations", "object_write_trace_id", "updated_at", "raw")
    # A row of a call whose answer was lost shows "Checking HubSpot" until it is settled: the
    # call's settle time, joined for the page's rows only.
    shown = shown.annotate(call_settles_at=F("call__settles_at"))
    # Why the row's call failed, said in the reader's language (``BatchRow.outcome_text``).
    shown = shown.annotate(call_error_said=F("call__error_said"))
    # What an undo did to the row's record (``RowUndo``, one per row at most).
    shown = shown.select_related("undo", "write")
    if batch.name_column is not None:
        shown = shown.annotate(name_cell=KT(f"raw__{batch.name_column}"))
    if cells:
        shown = shown.annotate(**{f"cell_{index}": KT(f"raw__{index}") for index in cells})
    found = shown.order_by().in_bulk(chosen)
    page.object_list = [found[pk] for pk in chosen if pk in found]
    for row in page.object_list:
        row.batch = batch  # one batch, and its layout, shared by the page's rows
    return page


def batch_submit(
    *,
    user: User,
    batch: Batch,
    on_duplicate: str = "ask",
    canary: int = 0,
    write_mode: str = "",
    upsert_property: str = "",
) -> int:
    """Send the batch: its ready rows are queued in calls of at most 100 for the worker
    (``services.sending.batch_queue``); a paused batch resumes, and so does a canceled one
    (the rows its cancel left unsent are ready again). Returns the number of rows waiting to
    be sent (0 when there is nothing to send or the batch is already being sent).

    Rows the app already created in this portal (``services.duplicates``) are never sent by
    accident: ``on_duplicate`` ``"skip"`` excludes them first, ``"create"`` sends them anyway,
    and ``"ask"`` (the default) raises ``DuplicatesUndecided`` when there are any, sending
    nothing.

    ``canary`` (rows, 0: none): on a draft, send only the first ``canary`` rows, then wait at
    the canary (``Batch.Status.CANARY``) until this is called again ("send the rest") or the
    batch is undone (``services.undo``). Raises PermissionDenied unless ``user`` may act on
    the batch (``services.access``).

    ``write_mode`` (``Batch.WriteMode``, "" keeps the batch's) and ``upsert_property``: how
    rows reach HubSpot (``services.updating.batch_write_mode_set``, which raises ValueError).
    ``on_duplicate`` ``"update"`` makes each row that duplicates a known record update it
    (``services.updating``). An "update only" batch leaves out the rows naming no record.
    """
    access.require(user, Action.BATCH_ACT, batch)
    if batch.status == Batch.Status.DRAFT and (write_mode or updating.names_records(batch=batch)):
        updating.batch_write_mode_set(
            user=user,
            batch=batch,
            write_mode=write_mode or batch.write_mode,
            upsert_property=upsert_property or batch.upsert_property,
        )
    if canary and batch.status == Batch.Status.DRAFT:
        Batch.objects.filter(pk=batch.pk, status=Batch.Status.DRAFT).update(canary_size=canary)
        batch.canary_size = canary
    if on_duplicate != "create" and batch_allows(batch=batch, action=StateAction.QUEUE):
        report = batch_duplicates(batch=batch)
        if (report.sent or report.hubspot) and on_duplicate == "update":
            matches = [(m.row_number, m.record_id) for m in report.sent]
            matches += [(m.row_number, m.record_id) for m in report.hubspot]
            updating.batch_update_matches(user=user, batch=batch, matches=matches)
        elif report.sent or report.hubspot:
            if on_duplicate != "skip":
                rows = {m.row_number for m in report.sent} | {m.row_number for m in report.hubspot}
                raise DuplicatesUndecided(len(rows))
            batch_duplicates_skip_sent(batch=batch, report=report)
    updating.batch_refuse_unnamed(user=user, batch=batch)
    if batch.status == Batch.Status.CANCELED:
        batch.rows.filter(state=BatchRow.State.UNSENT, call__isnull=True).update(
            state=BatchRow.State.READY, error_message="", updated_at=timezone.now()
        )
    return batch_queue(batch=batch, user=user)


def batch_to_send(*, batch: Batch, counts: dict[str, int]) -> int:
    """How many rows Send would send now (``counts`` from ``batch_counts``): the ready ones,
    plus, for a canceled batch, the ones its cancel left unsent."""
    extra = counts[BatchRow.State.UNSENT] if batch.status == Batch.Status.CANCELED else 0
    return counts[BatchRow.State.READY] + extra


@dataclass(frozen=True)
class SendPlan:
    """What Send will do now, as its confirmation names it: ``sendable`` rows Send would
    send (``batch_to_send``), ``skipped`` of them excluded first as already sent to the
    portal (``on_duplicate="skip"``), ``remaining`` the others, and ``first`` how many of
    those go now (the canary's size, else ``remaining``)."""

    sendable: int
    skipped: int
    remaining: int
    first: int


def batch_send_plan(*, user: User, batch: Batch, on_duplicate: str, canary: int) -> SendPlan:
    """What ``batch_submit`` with these ``on_duplicate`` and ``canary`` choices would send,
    from the database alone (no HubSpot call): rows it skips as duplicates sent before
    (``services.duplicates``, ``"skip"`` only) are not counted, nor rows past the canary.
    Raises PermissionDenied unless ``user`` may see the batch (``services.access``)."""
    access.require(user, Action.BATCH_VIEW, batch)
    sendable = batch_to_send(batch=batch, counts=batch_counts(batch=batch))
    skipped = 0
    if on_duplicate == "skip" and batch_can(status=batch.status, action=StateAction.QUEUE):
        report = batch_duplicates(batch=batch)
        numbers = {m.row_number for m in report.sent} | {m.row_number for m in report.hubspot}
        # batch_duplicates_skip_sent excludes only ready rows not yet in a call.
        skipped = batch.rows.filter(
            row_number__in=numbers, state=BatchRow.State.READY, call__isnull=True
        ).count()
    remaining = max(sendable - skipped, 0)
    first = min(canary, remaining) if canary and batch.status == Batch.Status.DRAFT else remaining
    return SendPlan(sendable=sendable, skipped=skipped, remaining=remaining, first=first)


@dataclass(frozen=True)
class SendCheck:
    """What ``batch_send_checked`` did: ``queued`` rows (0 when it stopped); ``problem`` why
    the portal cannot take appointments (nothing sent); ``records``: the record check's
    outcome when it ran (rows it held back: nothing sent)."""

    queued: int
    problem: str = ""
    records: RecordCheck | None = None


def batch_send_checked(
    *,
    user: User,
    batch: Batch,
    check_records: bool,
    on_duplicate: str = "ask",
    canary: int = 0,
    write_mode: str = "",
    upsert_property: str = "",
) -> SendCheck:
    """Check the portal, then (``check_records``) the record IDs, then send (``batch_submit``).

    The portal's readiness (``portals.portal_check_readiness``: the appointments object
    activated, the scopes, the properties) is checked first: a portal that cannot take
    appointments is refused with the reason and what an admin must do, nothing sent (HubSpot
    not answering that check does not stop the send: the engine waits or pauses). Then the
    record IDs every unsent row names (``batch_check_records``): any row naming a record that
    does not exist is held back and nothing is sent, so the person sees the new count before
    sending. ``on_duplicate``, ``canary``, ``write_mode`` and ``upsert_property``: as
    ``batch_submit`` (which raises
    ``DuplicatesUndecided``). Raises HubSpotError / PortalNeedsReconnect when the record check
    cannot ask HubSpot (nothing sent then), PermissionDenied unless ``user`` may act on the
    batch (``services.access``).
    """
    access.require(user, Action.BATCH_ACT, batch)
    try:
        problem = portal_check_readiness(user=user, portal=batch.portal, with_properties=False)
    except (HubSpotError, PortalNeedsReconnect) as exc:
        # HubSpot out of reach or the token refused: the engine waits, pauses and says so
        # itself (services.sending); only a known problem stops the send here.
        logger.warning("Portal %s: readiness not checked before Send (%s)", batch.portal, exc)
        problem = ""
    if problem:
        return SendCheck(queued=0, problem=problem)
    records = None
    if check_records and batch_names_records(batch=batch):
        records = batch_check_records(user=user, batch=batch)
        if records.held:
            return SendCheck(queued=0, records=records)
    queued = batch_submit(
        user=user,
        batch=batch,
        on_duplicate=on_duplicate,
        canary=canary,
        write_mode=write_mode,
        upsert_property=upsert_property,
    )
    return SendCheck(queued=queued, records=records)


def batch_names_records(*, batch: Batch) -> bool:
    """Whether the batch maps a column to record IDs (contacts, companies, deals)."""
    return bool(association_columns(batch.mapping))


def batch_retry_failed(*, user: User, batch: Batch) -> int:
    """Send the failed rows again that sending unchanged can cure: they become ready and are
    queued again.

    Rows whose creation is unconfirmed (``UNSETTLED``: an answer lost, or a search that did
    not show them yet; HubSpot may have created them) are left alone, so retrying never
    creates a record twice; rows HubSpot refused one
    by one (``models.REFUSED_ROWS``: an invalid option, an unknown contact) are left for a
    fix (``services.rows.row_revalidate`` makes a fixed one ready). Returns the number of rows
    queued. Raises PermissionDenied unless ``user`` may act on the batch (``services.access``).
    """
    access.require(user, Action.BATCH_ACT, batch)
    failed = batch.rows.filter(state=BatchRow.State.FAILED)
    return _send_again(
        user=user,
        batch=batch,
        rows=failed.exclude(error_category__in=UNSETTLED).exclude(REFUSED_ROWS),
    )


def _send_again(*, user: User, batch: Batch, rows: QuerySet[BatchRow]) -> int:
    """Make ``rows`` (failed ones) ready and queue the batch; 0, sending nothing, when none
    was made ready (a second click, a stale tab) or the batch is a draft or cannot be queued
    now (being sent, stored, checked, undone). A draft is sent only through Send, with its
    confirmation, its look in HubSpot and its duplicate choice: never by a retry."""
    if batch.status == Batch.Status.DRAFT or not batch_can(
        status=batch.status, action=StateAction.QUEUE
    ):
        return 0
    if not rows.update(state=BatchRow.State.READY, call=None, error_category="", error_message=""):
        return 0
    return batch_queue(batch=batch, user=user)


def batch_refused_count(*, batch: Batch) -> int:
    """How many failed rows HubSpot refused one by one: fixed before they are sent again.
    Counts only the rows of the calls HubSpot answered row by row (at most 100 each), and
    asks nothing of the rows when there is none: never a count over the whole batch."""
    calls = list(batch.calls.filter(http_status=MULTI_STATUS).values_list("pk", flat=True))
    if not calls:
        return 0
    return BatchRow.objects.filter(REFUSED_ROWS, call_id__in=calls).count()


def batch_cancel(*, user: User, batch: Batch) -> bool:
    """Stop a batch: calls not yet sent stay unsent and their rows say so. False, changing
    nothing, when the batch was not being sent or paused (already ended, or a draft).
    Raises PermissionDenied unless ``user`` may act on the batch (``services.access``).
    """
    access.require(user, Action.BATCH_ACT, batch)
    with transaction.atomic():
        canceled = batch_transition(
            batch_id=batch.pk,
            action=StateAction.CANCEL,
            finished_at=timezone.now(),
            **sending_stretch_closed(),
        )
        if canceled:
            pending = BatchCall.objects.filter(batch=batch, state=BatchCall.State.PENDING)
            BatchRow.objects.filter(call__in=pending, state=BatchRow.State.READY).update(
                state=BatchRow.State.UNSENT,
                error_message=_("Not sent: the batch was canceled."),
                call=None,
            )
            pending.delete()
    batch.refresh_from_db()
    return bool(canceled)


@dataclass(frozen=True)
class RecordCheck:
    """What ``batch_check_records`` found: ``held`` ready rows held back (now invalid);
    ``flagged`` rows already invalid for another reason that also name a missing record
    (told now, not after their other error is fixed); ``checked`` rows whose IDs were asked
    about (every unsent row, ready or invalid)."""

    held: int
    flagged: int
    checked: int

    @property
    def all_exist(self) -> bool:
        return not self.held and not self.flagged


def batch_check_records(*, user: User, batch: Batch) -> RecordCheck:
    """Check the record IDs of every row not yet sent, ready or invalid alike.

    One batch read of up to 100 ids per call and object type (contacts, companies, deals),
    paced like every other call, so a 10,000-row file with 300 distinct contacts costs 3 calls
    (https://developers.hubspot.com/docs/api-reference/crm-objects-v3/batch/post-crm-v3-objects-objectType-batch-read).
    A row naming an id that is no record of the portal gets an error naming its row, column
    and id: a ready row becomes INVALID (held back), an invalid one keeps its other errors
    and gains this one, so "every record ID exists" is never said while an unchecked row
    remains. Raises HubSpotError / PortalNeedsReconnect when HubSpot cannot be asked (nothing
    is changed then).
    Raises PermissionDenied unless ``user`` may act on the batch (``services.access``).
    """
    access.require(user, Action.BATCH_ACT, batch)
    object_types = association_object_types([target_from_json(c) for c in batch.mapping])
    columns = association_columns(batch.mapping)
    labels = column_labels(batch.headers)
    rows = list(
        batch.rows.filter(
            state__in=(BatchRow.State.READY, BatchRow.State.INVALID), call__isnull=True
        )
    )
    links = {row.pk: batch.layout.unpack_associations(row.associations) for row in rows}
    wanted: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        for record_id, category, type_id in links[row.pk]:
            if (category, type_id) in object_types:
                wanted[object_types[category, type_id]].add(record_id)
    existing: dict[str, set[str]] = {}
    # A person waits for this answer: one attempt, within the page timeout.
    with portal_client(portal=batch.portal, for_page=True, user=user) as client:
        for object_type, ids in wanted.items():
            ordered = sorted(ids)
            existing[object_type] = set()
            for start in range(0, len(ordered), MAX_BATCH_INPUTS):
                chunk = ordered[start : start + MAX_BATCH_INPUTS]
                existing[object_type] |= client.existing_ids(object_type, chunk)
    changed: list[BatchRow] = []
    held = flagged = 0
    for row in rows:
        errors = []
        known = {(e["code"], e["value"]) for e in row.errors}
        for record_id, category, type_id in links[row.pk]:
            key = (category, type_id)
            target_type = object_types.get(key)
            if not target_type or record_id in existing.get(target_type, set()):
                continue
            if (RECORD_NOT_FOUND, record_id) in known:
                continue  # said by an earlier check
            index = column_holding(row.raw, record_id, columns[key])
            column = target_type if index is None else labels[index]
            errors.append(
                record_not_found(
                    hub_id=batch.portal.hub_id,
                    row_number=row.row_number,
                    column=column,
                    record_id=record_id,
                )
            )
        if errors:
            if row.state == BatchRow.State.READY:
                held += 1
            else:
                flagged += 1
            row.state, row.errors = BatchRow.State.INVALID, [*row.errors, *errors]
            changed.append(row)
    with transaction.atomic():
        BatchRow.objects.bulk_update(changed, ["state", "errors"], batch_size=500)
    return RecordCheck(held=held, flagged=flagged, checked=len(rows))


# A row "check HubSpot again" did not find by the row key (a read by ID, immediate): it was not
# created, and "Send the failed rows again" sends it.
NOT_SENT = "NOT_SENT"
# A row "check HubSpot again" did not find by search (no row key). HubSpot's search lags its
# writes and documents no bound, so the record may still appear: "Send the failed rows again"
# leaves it alone; only the explicit, warned "Resend anyway" (``batch_resend_unfound``) sends it.
NOT_FOUND_BY_SEARCH = "NOT_FOUND_BY_SEARCH"
# Rows whose creation HubSpot has not confirmed either way: "Check HubSpot again" looks for them.
UNSETTLED = UNSETTLED_OUTCOMES


def batch_unknown_count(*, batch: Batch) -> int:
    """How many rows may have been created (``UNKNOWN_OUTCOME``): HubSpot never answered for
    them and the engine could not find them afterwards (``batch_has_unknown`` when whether
    is enough)."""
    return batch.rows.filter(state=BatchRow.State.FAILED, error_category=UNKNOWN_OUTCOME).count()


def batch_has_unknown(*, batch: Batch) -> bool:
    """Whether some row's creation is unconfirmed (``UNSETTLED``: never answered, or not found
    by a search that may lag), so "Check HubSpot again" is offered. Stops at the first such
    row: never a count over every failed row of the batch."""
    return batch.rows.filter(state=BatchRow.State.FAILED, error_category__in=UNSETTLED).exists()


@dataclass(frozen=True)
class Unfound:
    """Rows HubSpot's search did not show (``NOT_FOUND_BY_SEARCH``): ``rows`` how many,
    ``minutes`` the least time between a call of theirs being sent and the search that missed
    it (whole minutes, rounded down)."""

    rows: int
    minutes: int


def batch_unfound(*, batch: Batch) -> Unfound | None:
    """The rows "Resend anyway" would send (``NOT_FOUND_BY_SEARCH``), None when there is none.
    One aggregate on the (batch, state) index."""
    found = batch.rows.filter(
        state=BatchRow.State.FAILED, error_category=NOT_FOUND_BY_SEARCH
    ).aggregate(n=Count("pk"), searched=Min("updated_at"), sent=Max("call__sent_at"))
    if not found["n"]:
        return None
    elapsed = (found["searched"] - (found["sent"] or found["searched"])).total_seconds()
    return Unfound(rows=found["n"], minutes=max(int(elapsed // 60), 0))


def batch_resend_unfound(*, user: User, batch: Batch) -> int:
    """Send again the rows HubSpot's search did not show (``NOT_FOUND_BY_SEARCH``), at the
    person's explicit, warned request: each may still appear in search and be created twice.
    Returns the number of rows queued (0 when the batch cannot be queued now: being sent,
    stored, checked). Raises PermissionDenied unless ``user`` may act on the batch."""
    access.require(user, Action.BATCH_ACT, batch)
    resent = batch.rows.filter(state=BatchRow.State.FAILED, error_category=NOT_FOUND_BY_SEARCH)
    queued = _send_again(user=user, batch=batch, rows=resent)
    if queued:
        logger.warning("Batch %s: %s resends rows search did not show", batch.pk, user)
    return queued


@dataclass(frozen=True)
class HubSpotCheck:
    """What ``batch_check_hubspot`` settled: ``created`` rows found in HubSpot, ``not_sent``
    rows HubSpot has no record of (read by the row key), ``not_found`` rows its search did not
    show (no row key: they may still appear, see ``NOT_FOUND_BY_SEARCH``); ``too_soon`` rows
    left unknown because their call's answer was lost less than
    ``HUBPORTAL_SEARCH_SETTLE_SECONDS`` ago (search may not show them yet), to be checked
    again in ``seconds_left``."""

    created: int
    not_sent: int
    too_soon: int = 0
    seconds_left: int = 0
    not_found: int = 0


def batch_check_hubspot(*, user: User, batch: Batch) -> HubSpotCheck:
    """Settle the rows whose creation is unconfirmed (``UNSETTLED``) by asking HubSpot.

    For each call with such rows, looks for them as the engine does after a lost answer
    (``sending.call_reconcile``). With the row key its rows carried
    (``BatchCall.row_key_property``), a batch read by ``idProperty`` (immediate):
    a row not found was not created and becomes ``NOT_SENT`` ("Send the failed rows again"
    sends it; a resend that would duplicate is refused by HubSpot anyway). Without one, a
    search (appointments created since the call was first sent, by name, matched by the
    values sent, never a record another row of the portal holds;
    https://developers.hubspot.com/docs/api-reference/2026-03/crm/search-the-crm): HubSpot
    documents no bound on search's lag, so a row not found becomes ``NOT_FOUND_BY_SEARCH``,
    never resent but by ``batch_resend_unfound``, and is looked for again at the next check.
    A row found becomes CREATED with its record id. This action never sends anything. A row
    whose call's search has not settled yet (``BatchCall.settles_at`` in the future, or a
    lost answer older than that field: its last update plus
    ``HUBPORTAL_SEARCH_SETTLE_SECONDS``) is not searched. Returns the counts.
    Raises HubSpotError / PortalNeedsReconnect when HubSpot cannot be asked; rows of calls
    settled before that stay settled, the others stay unknown.
    Raises PermissionDenied unless ``user`` may act on the batch (``services.access``).
    """
    access.require(user, Action.BATCH_ACT, batch)
    unknown = list(
        batch.rows.filter(
            state=BatchRow.State.FAILED, error_category__in=UNSETTLED, call__isnull=False
        ).order_by("call_id", "row_number")
    )
    calls = BatchCall.objects.in_bulk({row.call_id for row in unknown})
    # A completed batch shows "checking HubSpot" meanwhile; a paused or canceled one keeps its
    # state (nothing is sent either way).
    checking = bool(unknown) and batch_transition(batch_id=batch.pk, action=StateAction.CHECK)
    try:
        return _check_calls(batch=batch, unknown=unknown, calls=calls, user=user)
    finally:
        if checking:
            batch_transition(batch_id=batch.pk, action=StateAction.CHECKED)


def _check_calls(
    *, batch: Batch, unknown: list[BatchRow], calls: dict[Any, BatchCall], user: User
) -> HubSpotCheck:
    created = not_sent = not_found = too_soon = seconds_left = 0
    now = timezone.now()
    with portal_client(portal=batch.portal, user=user) as client:
        for call_id, group in groupby(unknown, key=attrgetter("call_id")):
            rows = list(group)
            # Only a read by the row key the rows carried can tell "not created"; search can
            # only tell "not seen yet".
            outcome = NOT_SENT if calls[call_id].row_key_property else NOT_FOUND_BY_SEARCH
            settles_at = calls[call_id].settles_at or (
                max(row.updated_at for row in rows) + search_settle()
            )
            if settles_at > now:
                too_soon += len(rows)
                seconds_left = max(seconds_left, int((settles_at - now).total_seconds()) + 1)
                continue
            created += call_reconcile(client, batch, calls[call_id], rows)
            missing = [row.pk for row in rows if row.state != BatchRow.State.CREATED]
            # Conditional, so a check running at the same time never undoes a row found.
            counted = BatchRow.objects.filter(
                pk__in=missing, state=BatchRow.State.FAILED, error_category__in=UNSETTLED
            ).update(
                error_category=outcome,
                error_message=str(BatchRow.OUTCOME_MESSAGES[outcome]),
                updated_at=timezone.now(),
            )
            if outcome == NOT_SENT:
                not_sent += counted
            else:
                not_found += counted
    return HubSpotCheck(
        created=created,
        not_sent=not_sent,
        not_found=not_found,
        too_soon=too_soon,
        seconds_left=seconds_left,
    )
