"""Batch actions: create from an upload, count, submit, cancel.

Keyword-only, typed functions named ``batch_<action>``; spreadsheets only through
``appointments.intake``; the sending itself is ``appointments.submission``.
"""

from __future__ import annotations

import logging
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from appointments import tasks
from appointments.hubspot.client import MAX_BATCH_INPUTS
from appointments.intake.mapping import ColumnTarget, propose_mapping
from appointments.intake.readers import read_table
from appointments.intake.validation import iter_encoded_chunks
from appointments.models import Batch, BatchCall, BatchRow, Portal
from appointments.services.portals import portal_schema
from appointments.services.storage import batch_rows_store_chunks

logger = logging.getLogger(__name__)


def _mapping_to_json(mapping: list[ColumnTarget | None]) -> list[dict[str, Any] | None]:
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


def batch_create_from_upload(
    *,
    user: User,
    portal: Portal,
    data: bytes,
    filename: str,
    timezone_name: str,
    sheet: str | None = None,
) -> Batch:
    """Read, map and validate a spreadsheet; store every row (valid or not) on a new batch.

    Raises ``appointments.intake.readers.IntakeError`` for a file that cannot be read, and
    HubSpotError / PortalNeedsReconnect when the portal's schema cannot be fetched.
    """
    properties, labels = portal_schema(portal=portal)
    table = read_table(data, filename, sheet=sheet, max_rows=settings.HUBPORTAL_MAX_ROWS)
    mapping = propose_mapping(table.headers, properties, labels)
    with transaction.atomic():
        batch = Batch.objects.create(
            portal=portal,
            created_by=user,
            source=Batch.Source.UPLOAD,
            filename=filename[:255],
            timezone=timezone_name,
            headers=table.headers,
            mapping=_mapping_to_json(mapping),
            properties_snapshot=[p.to_json() for p in properties],
        )
        # Validated and stored a chunk at a time: memory stays bounded on 100,000 rows.
        chunks = iter_encoded_chunks(
            table, mapping=mapping, properties=properties, timezone=ZoneInfo(timezone_name)
        )
        batch_rows_store_chunks(batch=batch, chunks=chunks)
    return batch


# Rows that are or were sendable: excluded rows are never sent, invalid ones are held back.
VALID_STATES = (
    BatchRow.State.READY,
    BatchRow.State.SENDING,
    BatchRow.State.CREATED,
    BatchRow.State.FAILED,
    BatchRow.State.UNSENT,
)


def batch_counts(*, batch: Batch) -> dict[str, int]:
    """Row counts by state (``invalid``, ``ready``, ..., ``excluded``) plus ``total`` (every
    row), ``valid`` (rows that are or were sendable: ``VALID_STATES``, so neither invalid nor
    excluded) and ``done`` (answered by HubSpot: created or failed)."""
    counts = {state: 0 for state in BatchRow.State.values}
    for row in batch.rows.values("state").annotate(n=Count("id")):
        counts[row["state"]] = row["n"]
    counts["total"] = sum(counts[state] for state in BatchRow.State.values)
    counts["valid"] = sum(counts[state] for state in VALID_STATES)
    counts["done"] = counts[BatchRow.State.CREATED] + counts[BatchRow.State.FAILED]
    return counts


def batch_submit(*, batch: Batch) -> int:
    """Queue the batch's ready rows in calls of at most 100 and start the worker task.

    Also resumes a paused batch (its unsent calls go out again). Returns the number of rows
    waiting to be sent. Invalid rows stay held back. Safe to call twice: a row given to a call
    is never given to another, and only one worker sends a batch at a time.
    """
    with transaction.atomic():
        locked = Batch.objects.select_for_update().get(pk=batch.pk)
        if locked.status in Batch.ACTIVE_STATUSES:
            return 0
        ready = list(
            locked.rows.filter(state=BatchRow.State.READY, call__isnull=True)
            .order_by("row_number")
            .values_list("pk", flat=True)
        )
        next_sequence = (
            locked.calls.order_by("-sequence").values_list("sequence", flat=True).first() or 0
        ) + 1
        for offset in range(0, len(ready), MAX_BATCH_INPUTS):
            call = BatchCall.objects.create(batch=locked, sequence=next_sequence)
            next_sequence += 1
            BatchRow.objects.filter(pk__in=ready[offset : offset + MAX_BATCH_INPUTS]).update(
                call=call
            )
        waiting = BatchRow.objects.filter(
            call__batch=locked,
            call__state=BatchCall.State.PENDING,
            state__in=[BatchRow.State.READY, BatchRow.State.SENDING],
        ).count()
        if not waiting:
            return 0
        locked.status = Batch.Status.QUEUED
        locked.submitted_at = timezone.now()
        locked.finished_at = None
        locked.status_message = ""
        locked.save()
        batch_id = str(locked.pk)
        transaction.on_commit(lambda: tasks.send_batch.enqueue(batch_id))
    batch.refresh_from_db()
    return waiting


def batch_retry_failed(*, batch: Batch) -> int:
    """Give rows HubSpot refused another chance: they become ready and are queued again.

    Rows whose outcome is unknown (``UNKNOWN_OUTCOME``: HubSpot may have created them) are left
    alone, so retrying never creates a record twice. Returns the number of rows queued.
    """
    if batch.status in Batch.ACTIVE_STATUSES:
        return 0
    batch.rows.filter(state=BatchRow.State.FAILED).exclude(error_category="UNKNOWN_OUTCOME").update(
        state=BatchRow.State.READY, call=None, error_category="", error_message=""
    )
    return batch_submit(batch=batch)


def batch_cancel(*, batch: Batch) -> None:
    """Stop a batch: calls not yet sent stay unsent and their rows say so."""
    with transaction.atomic():
        Batch.objects.filter(
            pk=batch.pk, status__in=(*Batch.ACTIVE_STATUSES, Batch.Status.PAUSED)
        ).update(status=Batch.Status.CANCELED, finished_at=timezone.now())
        pending = BatchCall.objects.filter(batch=batch, state=BatchCall.State.PENDING)
        BatchRow.objects.filter(call__in=pending, state=BatchRow.State.READY).update(
            state=BatchRow.State.UNSENT,
            error_message=_("Not sent: the batch was canceled."),
            call=None,
        )
        pending.delete()
    batch.refresh_from_db()
