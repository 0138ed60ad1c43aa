"""The submission engine: sends a batch's calls to HubSpot's batch create, exactly once.

Design, in short:

* ``batch_submit`` (services) splits the ready rows into ``BatchCall`` rows of at most 100.
* The worker claims one call at a time with a conditional UPDATE (``PENDING`` -> ``SENDING``),
  so two workers never send the same call, and marks its rows ``SENDING`` before the request
  goes out. Every outcome is saved before the next call starts.
* 429 and 423 mean HubSpot did not process the call: wait (``Retry-After``, or 10 s for
  ``TEN_SECONDLY_ROLLING``, 2 s for 423) and send it again.
* An answer with per-input errors (201/207) is mapped back to rows by ``objectWriteTraceId``;
  successes without the echo are matched by elimination and property values.
* No answer (time-out, dropped connection, 5xx) or a call found ``SENDING`` at start (a worker
  died mid-call) is an unknown outcome: it is never resent blindly. Its rows are marked failed
  with a message saying they may exist in HubSpot.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from appointments.hubspot.client import BatchCreateResult, HubSpotClient
from appointments.hubspot.errors import (
    HubSpotAuthError,
    HubSpotError,
    HubSpotRateLimitError,
    HubSpotTransientError,
    HubSpotUnknownOutcome,
)
from appointments.models import Batch, BatchCall, BatchRow
from appointments.services.portals import PortalNeedsReconnect, portal_access_token

logger = logging.getLogger(__name__)

MAX_ATTEMPTS_PER_CALL = 8


def _claim_next_call(batch: Batch) -> BatchCall | None:
    for call in batch.calls.filter(state=BatchCall.State.PENDING).order_by("sequence")[:5]:
        claimed = BatchCall.objects.filter(pk=call.pk, state=BatchCall.State.PENDING).update(
            state=BatchCall.State.SENDING, attempts=F("attempts") + 1, sent_at=timezone.now()
        )
        if claimed:
            call.refresh_from_db()
            return call
    return None


def _inputs(rows: list[BatchRow]) -> list[dict[str, Any]]:
    return [
        {
            "objectWriteTraceId": row.object_write_trace_id,
            "properties": row.properties,
            "associations": row.associations,
        }
        for row in rows
    ]


def _same_value(sent: str, returned: str | None) -> bool:
    """True when HubSpot's stored ``returned`` is the value we ``sent``.

    HubSpot echoes values in its own canonical form: datetimes as ISO-8601 with milliseconds,
    numbers possibly reformatted; compare those by meaning, everything else as text.
    """
    if sent == "" or sent == returned:
        return True
    if returned is None:
        return False
    try:
        return datetime.fromisoformat(sent) == datetime.fromisoformat(returned)
    except ValueError:
        pass
    try:
        return Decimal(sent) == Decimal(returned)
    except InvalidOperation:
        return False


def _match_results(rows: list[BatchRow], result: BatchCreateResult) -> None:
    """Set each row's state from ``result``: failures by trace id, successes by echo or values."""
    by_trace = {row.object_write_trace_id: row for row in rows}
    for error in result.errors:
        for trace_id in error.trace_ids:
            row = by_trace.pop(trace_id, None)
            if row is not None:
                row.state = BatchRow.State.FAILED
                row.error_category = error.category
                row.error_message = error.message
    unmatched = []
    for record in result.results:
        row = by_trace.pop(record.object_write_trace_id or "", None)
        if row is None:
            unmatched.append(record)
        else:
            row.state, row.hubspot_id = BatchRow.State.CREATED, record.id
    # HubSpot may not echo objectWriteTraceId on successes (REFERENCE.md 1.5): match the rest by
    # the property values we sent, which HubSpot returns.
    remaining = list(by_trace.values())
    for record in unmatched:
        for row in remaining:
            if all(_same_value(v, record.properties.get(k)) for k, v in row.properties.items()):
                row.state, row.hubspot_id = BatchRow.State.CREATED, record.id
                remaining.remove(row)
                break
    if len(unmatched) == 1 and len(remaining) == 1 and remaining[0].state == BatchRow.State.SENDING:
        remaining[0].state, remaining[0].hubspot_id = BatchRow.State.CREATED, unmatched[0].id
    for row in rows:
        if row.state == BatchRow.State.SENDING:
            row.state = BatchRow.State.FAILED
            row.error_category = "UNMATCHED"
            row.error_message = _(
                "HubSpot's answer did not say what happened to this row; check HubSpot before "
                "sending it again."
            )


def _save_rows(rows: list[BatchRow]) -> None:
    BatchRow.objects.bulk_update(
        rows, ["state", "hubspot_id", "error_category", "error_message", "updated_at"]
    )


def _fail_rows(rows: list[BatchRow], category: str, message: str) -> None:
    for row in rows:
        row.state, row.error_category, row.error_message = BatchRow.State.FAILED, category, message
    _save_rows(rows)


def _unknown_outcome(call: BatchCall, rows: list[BatchRow], detail: str) -> None:
    message = _(
        "HubSpot did not confirm this row (%(detail)s). It may have been created: check HubSpot "
        "before sending it again."
    ) % {"detail": detail}
    with transaction.atomic():
        _fail_rows(rows, "UNKNOWN_OUTCOME", message)
        call.state, call.error_message = BatchCall.State.FAILED, detail
        call.save(update_fields=["state", "error_message"])


def _send_call(call: BatchCall, batch: Batch) -> bool:
    """Send one claimed call until HubSpot answers for it. False when the batch must pause."""
    rows = list(call.rows.filter(state__in=[BatchRow.State.READY, BatchRow.State.SENDING]))
    BatchRow.objects.filter(pk__in=[r.pk for r in rows]).update(state=BatchRow.State.SENDING)
    for row in rows:
        row.state = BatchRow.State.SENDING
    if not rows:
        BatchCall.objects.filter(pk=call.pk).update(state=BatchCall.State.DONE)
        return True
    for attempt in range(1, MAX_ATTEMPTS_PER_CALL + 1):
        try:
            token = portal_access_token(portal=batch.portal)
        except PortalNeedsReconnect as exc:
            _pause(
                batch,
                call,
                rows,
                _("HubSpot refused the connection: %(msg)s Reconnect the portal, then resume.")
                % {"msg": exc},
            )
            return False
        try:
            with HubSpotClient(token) as client:
                result = client.batch_create(_inputs(rows))
        except HubSpotRateLimitError as exc:
            # 429: not processed; safe to send again after the wait HubSpot asks for.
            wait = exc.retry_after or (1.0 if exc.policy_name == "SECONDLY" else 10.0)
            logger.info("Rate limited (%s); waiting %.1fs", exc.policy_name, wait)
            time.sleep(min(wait, 60.0))
            continue
        except HubSpotTransientError as exc:
            if exc.status == 423:  # Locked: not processed; wait at least 2 s (REFERENCE 1.4).
                time.sleep(2.0 * attempt)
                continue
            _unknown_outcome(call, rows, str(exc))
            return True
        except HubSpotUnknownOutcome as exc:
            _unknown_outcome(call, rows, str(exc))
            return True
        except HubSpotAuthError as exc:
            if attempt == 1:
                # The token may have been revoked and reissued elsewhere: force a refresh once.
                batch.portal.access_token_expires_at = timezone.now()
                batch.portal.save(update_fields=["access_token_expires_at"])
                continue
            _pause(batch, call, rows, exc.message)
            return False
        except HubSpotError as exc:
            # A whole-call refusal (4xx): nothing was created.
            with transaction.atomic():
                _fail_rows(rows, exc.category or f"HTTP_{exc.status}", exc.message)
                call.state, call.http_status = BatchCall.State.FAILED, exc.status
                call.error_message, call.correlation_id = exc.message, exc.correlation_id
                call.save()
            return True
        _match_results(rows, result)
        with transaction.atomic():
            _save_rows(rows)
            call.state = BatchCall.State.DONE
            call.http_status = result.http_status
            call.hubspot_status = result.status
            call.requested_at = result.requested_at
            call.started_at = result.started_at
            call.completed_at = result.completed_at
            call.correlation_id = result.correlation_id
            call.save()
        return True
    _fail_rows(rows, "RATE_LIMIT", _("HubSpot kept refusing this call; retry the failed rows."))
    BatchCall.objects.filter(pk=call.pk).update(state=BatchCall.State.FAILED)
    return True


def _pause(batch: Batch, call: BatchCall, rows: list[BatchRow], message: str) -> None:
    with transaction.atomic():
        BatchRow.objects.filter(pk__in=[r.pk for r in rows]).update(state=BatchRow.State.READY)
        BatchCall.objects.filter(pk=call.pk).update(state=BatchCall.State.PENDING)
        Batch.objects.filter(pk=batch.pk).update(status=Batch.Status.PAUSED, status_message=message)


def batch_send(*, batch_id: str) -> None:
    """Send every pending call of the batch, one at a time, saving each outcome.

    Called by the worker task. Returns when the batch is done, canceled or paused.
    """
    # Flipping QUEUED -> RUNNING is the claim: a second task for the same batch finds nothing
    # to do, so it never mistakes the first one's in-flight call for a dead one.
    claimed = Batch.objects.filter(pk=batch_id, status=Batch.Status.QUEUED).update(
        status=Batch.Status.RUNNING
    )
    if not claimed:
        return
    batch = Batch.objects.select_related("portal").get(pk=batch_id)
    # A call left SENDING means a worker died between send and save: its outcome is unknown.
    for stale in batch.calls.filter(state=BatchCall.State.SENDING):
        rows = list(stale.rows.filter(state__in=[BatchRow.State.READY, BatchRow.State.SENDING]))
        _unknown_outcome(stale, rows, _("the worker stopped while this call was in flight"))
    while Batch.objects.filter(pk=batch_id, status=Batch.Status.RUNNING).exists():
        call = _claim_next_call(batch)
        if call is None:
            break
        if not _send_call(call, batch):
            return
    else:
        return  # canceled (or paused) meanwhile
    Batch.objects.filter(pk=batch_id, status=Batch.Status.RUNNING).update(
        status=Batch.Status.COMPLETED, finished_at=timezone.now()
    )
