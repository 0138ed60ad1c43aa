"""What the live results show: progress, speed and time left of a batch, and its latest calls.

Every query here is bounded whatever the batch's size: counts come from one GROUP BY over the
``(batch, state)`` index, and only the latest calls are read, so a poll of a 100,000-row batch
costs about what a poll of a 100-row one does.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Max, Min, QuerySet
from django.utils import timezone

from appointments.models import Batch, BatchCall, BatchRow
from appointments.services.batches import batch_counts

RECENT_CALLS = 10


@dataclass(frozen=True)
class BatchProgress:
    """``counts`` by row state (plus total/valid/done, as ``batch_counts``); ``to_send`` the
    valid rows that are or will be sent (``valid`` minus unsent: never the invalid or excluded
    ones); ``percent`` of them HubSpot has answered for; ``rows_per_second`` since the first
    call; ``seconds_left`` at that pace (None when unknown)."""

    counts: dict[str, int]
    to_send: int
    percent: int
    rows_per_second: float | None
    seconds_left: int | None
    calls_total: int
    calls_by_status: dict[str, int]


def batch_progress(*, batch: Batch) -> BatchProgress:
    """The batch's progress, read in a fixed number of queries."""
    counts = batch_counts(batch=batch)
    answered = counts["done"]
    waiting = counts[BatchRow.State.READY] + counts[BatchRow.State.SENDING]
    # The same rows as ``valid`` (ready, sending, created, failed) less those left unsent.
    to_send = counts["valid"] - counts[BatchRow.State.UNSENT]
    calls = batch.calls.aggregate(first=Min("sent_at"), last=Max("completed_at"), total=Count("id"))
    rate = None
    seconds_left = None
    if calls["first"] and answered:
        end = batch.finished_at or timezone.now()
        elapsed = max((end - calls["first"]).total_seconds(), 0.001)
        rate = answered / elapsed
        if waiting and batch.is_active:
            seconds_left = round(waiting / rate)
    by_status = {
        row["hubspot_status"] or "—": row["n"]
        for row in batch.calls.values("hubspot_status").annotate(n=Count("id"))
    }
    return BatchProgress(
        counts=counts,
        to_send=to_send,
        percent=round(100 * answered / to_send) if to_send else 0,
        rows_per_second=round(rate, 1) if rate is not None else None,
        seconds_left=seconds_left,
        calls_total=calls["total"],
        calls_by_status=by_status,
    )


def recent_calls(*, batch: Batch) -> QuerySet[BatchCall]:
    """The latest calls (newest first) with their row counts."""
    return batch.calls.annotate(row_count=Count("rows")).order_by("-sequence")[:RECENT_CALLS]
