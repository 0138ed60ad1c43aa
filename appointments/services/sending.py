"""The submission engine: sends a batch's calls to HubSpot's batch create, each row exactly once.

Design:

* ``batch_queue`` (behind ``services.batches.batch_submit``) splits the ready rows into
  ``BatchCall`` rows of at most 100, each row with a unique ``objectWriteTraceId`` that stays
  the same across retries.
* One worker owns a batch at a time: it flips the batch ``QUEUED`` -> ``RUNNING`` with a
  conditional UPDATE and stamps it with its ``host:pid:nonce`` and a heartbeat, its lease,
  renewed from a thread of its own every quarter of ``HUBPORTAL_WORKER_LEASE_SECONDS`` and
  before every attempt. Every worker hands batches whose lease expired back to the queue
  (``batch_recover_stalled``, run periodically by ``manage.py worker``). It claims one call at
  a time (``PENDING`` -> ``SENDING``, again a conditional UPDATE) and marks its rows ``SENDING``
  before the request leaves. Every outcome is saved before the next call starts.
* Calls are paced by a per-portal budget shared by every process (``hubspot.pacing``).
* 429 ``TEN_SECONDLY_ROLLING``/``SECONDLY`` and 423 mean HubSpot did not process the call: wait
  (``Retry-After``, or 10 s / 1 s / 2 s) and send it again. 429 ``DAILY`` pauses the batch.
* An answer (201/207, or the 2026-09 form with errors in a 201) is mapped back to rows by
  ``objectWriteTraceId``; successes without the echo are matched by the values sent.
* No connection at all (refused, DNS failure, connect time-out, TLS handshake) means nothing
  was sent: the call is sent again after the same bounded back-off, and when HubSpot stays out
  of reach the batch pauses with its rows ready and resumes by itself later.
* No answer (read time-out, dropped connection, 502/503/504) or a call found ``SENDING`` when a
  worker takes over (the previous one died between send and save) is an *unknown outcome*: the
  call's ``settles_at`` is stamped (now + ``HUBPORTAL_SEARCH_SETTLE_SECONDS``). Without a row
  key the call is set aside while the lanes send the others, and once they are done the
  engine waits until the settle times (one wait for every lost answer: HubSpot's search shows
  new records only after a lag), then
  searches the portal for appointments created since the call was first sent with the
  (lowercased) names of its rows, marks the rows it finds (same values, not already claimed by
  another row) as created, and sends nothing again: the others are marked ``UNKNOWN_OUTCOME``
  ("may have been created") and never resent automatically.
* With a row key (``Portal.row_key_property``, a unique-value appointment property) every
  input also carries its ``objectWriteTraceId`` as that property's value. An unknown outcome is
  then settled by a batch read by ``idProperty`` (a read by ID, immediate where search lags):
  rows found are created, the others are sent again. A resend that would duplicate is refused
  by HubSpot as a taken unique value (alone in a 207, or the whole call in a 409); those rows
  are read back by the row key and attached to the record that exists. A row still unseen
  (a read that lags) stays unknown and is looked for again: sending it again cannot duplicate.
* A refused refresh token, or stored tokens the keys cannot decrypt, pauses the batch with a
  "reconnect" message; nothing is failed.

The background tasks (Django's Tasks framework) that run it are defined here, beside the code
that enqueues them: ``send_batch`` and ``resume_batch`` take a batch id and call one function.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection, models, transaction
from django.db.models import DateTimeField, DurationField, ExpressionWrapper, F, Q, Value
from django.db.models.functions import Coalesce
from django.tasks import TaskResultStatus, task
from django.tasks.exceptions import TaskResultDoesNotExist
from django.utils import timezone

from appointments.hubspot.client import (
    MAX_BATCH_INPUTS,
    BatchCreateResult,
    CreatedRecord,
    HubSpotClient,
)
from appointments.hubspot.errors import (
    HubSpotAuthError,
    HubSpotError,
    HubSpotNotSent,
    HubSpotRateLimitError,
    HubSpotTransientError,
    HubSpotUnknownOutcome,
)
from appointments.intake.encoding import RowLayout
from appointments.models import Batch, BatchCall, BatchRow
from appointments.services import access, updating
from appointments.services.leases import LeaseKeeper
from appointments.services.matching import ValueIndex, match_results
from appointments.services.notifications import batch_notify
from appointments.services.portals import PortalNeedsReconnect, portal_access_token
from appointments.services.states import Action, batch_allows, batch_transition
from appointments.status_messages import message_text, stored

logger = logging.getLogger(__name__)

MAX_ATTEMPTS_PER_CALL = 8
# Clock skew allowed between us and HubSpot when searching for records created by a call.
RECONCILE_SKEW = timedelta(minutes=2)
NAMES_PER_SEARCH = 50
# How long a batch that hit HubSpot's daily limit waits before trying again by itself.
DAILY_LIMIT_RETRY = timedelta(minutes=30)
# The error category of rows that may have been created: never resent automatically.
UNKNOWN_OUTCOME = "UNKNOWN_OUTCOME"
# How long a batch that could not reach HubSpot at all waits before trying again by itself.
UNREACHABLE_RETRY = timedelta(minutes=5)


class _Pause(Exception):
    """Stop sending this batch for now; ``message`` (a ``status_messages`` code and its
    parameters) tells the user why, in their language.

    ``resume_after``: when the batch may resume by itself (None: a person must act).
    """

    def __init__(self, message: dict[str, Any], resume_after: timedelta | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.resume_after = resume_after


class _Lost(Exception):
    """Another worker took the batch over (this one's lease expired): stop, save nothing more."""


# (pid, name): computed again after a fork, so a child never passes for its parent.
_identity: list[tuple[int, str]] = []


def this_worker() -> str:
    """This process's name on the batch it sends: ``host:pid:nonce``.

    The random nonce makes a restarted container with the same host name and PID a different
    worker, so nothing ever mistakes a dead worker's batch for its own.
    """
    pid = os.getpid()
    if not _identity or _identity[0][0] != pid:
        _identity[:] = [(pid, f"{socket.gethostname()[:60]}:{pid}:{secrets.token_hex(4)}")]
    return _identity[0][1]


def worker_lease() -> timedelta:
    """How long a batch's heartbeat may be silent before its worker is presumed dead."""
    return timedelta(seconds=settings.HUBPORTAL_WORKER_LEASE_SECONDS)


def _renew_lease(batch_id: str) -> bool:
    """Renew this worker's lease on the batch; False when it no longer holds it."""
    mine = Batch.objects.filter(pk=batch_id, status=Batch.Status.RUNNING, worker=this_worker())
    return bool(mine.update(heartbeat_at=timezone.now()))


def _heartbeat(batch: Batch) -> None:
    """Renew the lease between attempts; raises _Lost when another worker holds the batch."""
    if not _renew_lease(str(batch.pk)):
        raise _Lost


def sending_stretch_closed() -> dict[str, Any]:
    """``Batch`` update arguments for a batch leaving RUNNING (paused, completed, canceled):
    the time since ``running_since`` is added to ``sending_time`` (nothing when it was not
    running) and the retry note is cleared."""
    # This process's clock, as running_since was stamped with: never the database server's.
    now = Value(timezone.now(), output_field=DateTimeField())
    stretch = ExpressionWrapper(now - F("running_since"), output_field=DurationField())
    return {
        "sending_time": F("sending_time") + Coalesce(stretch, Value(timedelta(0))),
        "running_since": None,
        "retry_message": "",
        "retry_code": "",
        "retry_params": {},
        "retry_at": None,
    }


def _wait_to_retry(batch: Batch, seconds: float, attempt: int, exc: HubSpotError) -> None:
    """Wait ``seconds`` before the next try of a call HubSpot did not answer (or could not be
    reached for), saying so on the batch so its page shows the attempt and the time left."""
    if attempt < MAX_ATTEMPTS_PER_CALL:
        if isinstance(exc, HubSpotNotSent):
            code = "retry_unreachable"
        elif isinstance(exc, HubSpotTransientError):
            code = "retry_busy"
        else:
            code = "retry_no_answer"
        # A code, said in each reader's language (status_messages), never this worker's.
        Batch.objects.filter(pk=batch.pk, status=Batch.Status.RUNNING).update(
            retry_code=code,
            retry_params={
                "reason": exc.stored(),
                "next": attempt + 1,
                "max": MAX_ATTEMPTS_PER_CALL,
            },
            retry_message="",
            retry_at=timezone.now() + timedelta(seconds=seconds),
        )
    _sleep(batch, seconds)


def _sleep(batch: Batch, seconds: float) -> None:
    """Sleep in short steps, keeping the heartbeat fresh so nobody takes the batch over."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        time.sleep(min(left, 5.0))
        _heartbeat(batch)


def association_objects(associations: list[list[Any]]) -> list[dict[str, Any]]:
    """HubSpot's ``PublicAssociationsForObject`` list for a row's stored
    ``[record id, associationCategory, associationTypeId]`` items."""
    return [
        {
            "to": {"id": record_id},
            "types": [{"associationCategory": category, "associationTypeId": type_id}],
        }
        for record_id, category, type_id in associations
    ]


def _inputs(layout: RowLayout, rows: list[BatchRow], row_key: str = "") -> list[dict[str, Any]]:
    """Batch-create inputs (``SimplePublicObjectBatchInputForCreate``) for
    ``rows`` of a batch whose ``layout`` this is; with a ``row_key`` property, each input's
    ``objectWriteTraceId`` is also that property's value (not a column of the file: added here,
    after validation, so no layout or check ever sees or drops it)."""
    inputs = []
    for row in rows:
        properties = layout.unpack_properties(row.properties)
        if row_key:
            properties[row_key] = row.object_write_trace_id
        inputs.append(
            {
                "objectWriteTraceId": row.object_write_trace_id,
                "properties": properties,
                "associations": association_objects(layout.unpack_associations(row.associations)),
            }
        )
    return inputs


_SAVED_FIELDS = ("state", "hubspot_id", "error_category", "error_message", "updated_at")


def _concrete(name: str) -> models.Field[Any, Any]:
    field = BatchRow._meta.get_field(name)
    assert isinstance(field, models.Field)
    return field


def _save_rows(rows: list[BatchRow]) -> None:
    """Save the outcome fields of ``rows`` in one ``executemany``.

    Django's ``bulk_update`` builds a CASE/WHEN statement in Python that costs about 45 ms per
    100 rows, most of the engine's time; this parameterised UPDATE costs under 1 ms.
    """
    if not rows:
        return
    meta = BatchRow._meta
    quote = connection.ops.quote_name
    columns = [_concrete(name).column for name in _SAVED_FIELDS]
    assignments = ", ".join(f"{quote(str(column))} = %s" for column in columns)
    table, key = quote(meta.db_table), quote(str(meta.pk.column) if meta.pk else "id")
    sql = f"UPDATE {table} SET {assignments} WHERE {key} = %s"  # noqa: S608 - names from _meta
    now = _concrete("updated_at").get_db_prep_value(timezone.now(), connection)
    with connection.cursor() as cursor:
        cursor.executemany(
            sql,
            [(r.state, r.hubspot_id, r.error_category, r.error_message, now, r.pk) for r in rows],
        )


def _held_record_ids(batch: Batch, record_ids: list[str]) -> set[str]:
    """Those of ``record_ids`` some row of the batch's portal already holds."""
    held: set[str] = set()
    rows = BatchRow.objects.filter(batch__portal_id=batch.portal_id)
    for start in range(0, len(record_ids), 500):
        chunk = record_ids[start : start + 500]
        held.update(rows.filter(hubspot_id__in=chunk).values_list("hubspot_id", flat=True))
    return held


def _found_by_row_key(client: HubSpotClient, row_key: str, rows: list[BatchRow]) -> dict[str, str]:
    """``{objectWriteTraceId: record id}`` of the ``rows`` (at most 100) HubSpot holds, read by
    ``idProperty`` = the row key. Raises HubSpotError."""
    if not rows:
        return {}
    return client.appointments_by_unique_value(row_key, [r.object_write_trace_id for r in rows])


def _mark_created(call: BatchCall, found: list[BatchRow]) -> None:
    if found:
        with transaction.atomic():
            _save_rows(found)
            BatchCall.objects.filter(pk=call.pk).update(reconciled=F("reconciled") + len(found))


def call_reconcile(
    client: HubSpotClient, batch: Batch, call: BatchCall, rows: list[BatchRow]
) -> int:
    """Find rows of ``call`` that HubSpot created although we never saw the answer.

    With a row key (``call.row_key_property``, the one its rows carried): one batch read by
    ``idProperty`` of the rows' ``objectWriteTraceId``s (https://developers.hubspot.com/docs/api-reference/2026-03/crm/objects/appointments/guide),
    no search. Otherwise: searches appointments created since the call was first sent (less
    RECONCILE_SKEW) whose
    ``hs_appointment_name`` is one of the rows', leaves out those another row of the portal
    already holds, and matches the rest by the values sent (HubSpot's CRM search,
    https://developers.hubspot.com/docs/api-reference/2026-03/crm/search-the-crm). Marks and
    saves found rows CREATED with their record id; returns how many. Raises HubSpotError when
    the search (or the read) fails.
    """
    # The key the rows carried when sent (``BatchCall.row_key_property``), not the portal's now.
    row_key = call.row_key_property
    if row_key:
        ids = _found_by_row_key(client, row_key, rows)
        found = [row for row in rows if row.object_write_trace_id in ids]
        for row in found:
            row.state, row.hubspot_id = BatchRow.State.CREATED, ids[row.object_write_trace_id]
            row.error_category = row.error_message = ""
        _mark_created(call, found)
        logger.info("Call %s: %d of %d rows found by row key", call.pk, len(found), len(rows))
        return len(found)
    since = (call.sent_at or timezone.now()) - RECONCILE_SKEW
    sent = [batch.layout.unpack_properties(row.properties) for row in rows]
    # IN on a string property matches lowercase values only ("values must be lowercase",
    # HubSpot's search guide); the records found are then matched by the exact values sent.
    names = sorted({props.get("hs_appointment_name", "").lower() for props in sent} - {""})
    wanted = sorted({key for properties in sent for key in properties})
    candidates: list[CreatedRecord] = []
    for start in range(0, len(names), NAMES_PER_SEARCH):
        filters = [
            {
                "propertyName": "hs_createdate",
                "operator": "GTE",
                "value": str(int(since.timestamp() * 1000)),
            },
            {
                "propertyName": "hs_appointment_name",
                "operator": "IN",
                "values": names[start : start + NAMES_PER_SEARCH],
            },
        ]
        after: str | None = None
        while True:
            try:
                page, after = client.search_appointments(
                    filter_groups=[{"filters": filters}], properties=wanted, after=after
                )
            except HubSpotRateLimitError as exc:  # search's own per-second limit
                # A second or so: the caller's lease (if any) is kept by its own thread.
                time.sleep(exc.retry_after or 1.0)
                continue
            candidates.extend(page)
            if after is None:
                break
    # A record another row of the portal holds (this batch's, or an earlier batch's with the
    # same names and values, e.g. the same file sent twice) is never this row's.
    held = _held_record_ids(batch, [record.id for record in candidates])
    candidates = [record for record in candidates if record.id not in held]
    found = []
    index = ValueIndex(rows, batch.layout)
    for record in candidates:
        taken = index.take(record)
        if taken is not None:
            taken.state, taken.hubspot_id = BatchRow.State.CREATED, record.id
            taken.error_category = taken.error_message = ""
            found.append(taken)
    _mark_created(call, found)
    logger.info("Call %s: %d of %d rows found already created", call.pk, len(found), len(rows))
    return len(found)


def _read_back(client: HubSpotClient, row_key: str, rows: list[BatchRow]) -> list[BatchRow]:
    """After an answer, settle by the row key the rows it refused as a taken unique value
    (``CONFLICT``) or said nothing about (``UNMATCHED``, e.g. a refusal without its trace id):
    a row whose key HubSpot holds was created (by an earlier attempt) and gets that record.

    Returns the rows still unknown, put back to SENDING: unseen although refused on the row
    key itself (a read that lags the write), unseen after an answer that did not name them, or
    all of them when the read fails. Sending them again is safe: HubSpot refuses a duplicate.
    """
    doubtful = [
        r
        for r in rows
        if r.state == BatchRow.State.FAILED and r.error_category in ("CONFLICT", "UNMATCHED")
    ]
    try:
        ids = _found_by_row_key(client, row_key, doubtful)
    except HubSpotError as exc:
        logger.warning("Reading back %d rows by row key failed: %s", len(doubtful), exc)
        ids, unseen_unknown = {}, True
    else:
        unseen_unknown = False
    waiting = []
    for row in doubtful:
        record_id = ids.get(row.object_write_trace_id)
        if record_id is not None:
            row.state, row.hubspot_id = BatchRow.State.CREATED, record_id
            row.error_category = row.error_message = ""
        elif unseen_unknown or row.error_category == "UNMATCHED" or row_key in row.error_message:
            row.state = BatchRow.State.SENDING
            waiting.append(row)
    return waiting


def _may_be_row_key_conflict(exc: HubSpotError, row_key: str) -> bool:
    """Whether a whole-call refusal may be a taken value of the row key: any 409 of a call
    that carries one. HubSpot documents neither the wording nor whether it names the property
    (SANDBOX.md, UNCONFIRMED), so the message is not read; the rows are read back by the row
    key, which tells."""
    return bool(row_key) and exc.status == 409


def _finish_call(call: BatchCall, rows: list[BatchRow], result: BatchCreateResult) -> None:
    """Save the outcome of ``rows`` (already matched to ``result``) and mark the call done."""
    with transaction.atomic():
        _save_rows(rows)
        call.state = BatchCall.State.DONE
        call.http_status = result.http_status
        call.hubspot_status = result.status
        call.requested_at = result.requested_at
        call.started_at = result.started_at
        call.completed_at = result.completed_at
        call.correlation_id = result.correlation_id
        call.error_message = ""
        call.error_said = {}
        call.save()
        # HubSpot answers again: the page stops saying it is retrying.
        Batch.objects.filter(pk=call.batch_id, retry_at__isnull=False).update(
            retry_message="", retry_code="", retry_params={}, retry_at=None
        )


def _fail_call(call: BatchCall, rows: list[BatchRow], exc: HubSpotError, category: str) -> None:
    for row in rows:
        row.state, row.error_category, row.error_message = (
            BatchRow.State.FAILED,
            category,
            exc.message,
        )
    with transaction.atomic():
        _save_rows(rows)
        call.state, call.http_status = BatchCall.State.FAILED, exc.status
        call.error_message, call.correlation_id = exc.message, exc.correlation_id
        # Said again in each reader's language, on the call and on its rows.
        call.error_said = exc.said()
        call.save()


class _Lane:
    """One sender of a batch: its own Portal row, DB connection and HTTP session.

    The session (and its kept-alive connection) is reused for every call and renewed only
    when the access token changes.
    """

    def __init__(self, batch_id: str) -> None:
        self.batch = Batch.objects.select_related("portal").get(pk=batch_id)
        self._token = ""
        self._client: HubSpotClient | None = None

    def client(self) -> HubSpotClient:
        """A client with a fresh token, its calls made for the person the batch is sent for;
        raises PortalNeedsReconnect."""
        token = portal_access_token(portal=self.batch.portal)
        if self._client is None or token != self._token:
            self.close()
            self._client = HubSpotClient(
                token, hub_id=self.batch.portal.hub_id, user_id=self.batch.acting_user_id
            )
            self._token = token
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


def _daily_limit_pause() -> _Pause:
    """HubSpot's daily limit is reached: pause, resuming by itself after DAILY_LIMIT_RETRY."""
    return _Pause(
        stored("paused_daily_limit", minutes=int(DAILY_LIMIT_RETRY.total_seconds() // 60)),
        resume_after=DAILY_LIMIT_RETRY,
    )


def _rate_limit_wait(exc: HubSpotRateLimitError) -> float:
    """Seconds to wait after a 429 (not processed): what HubSpot asks, else a second for the
    per-second limit and ten for the 10-second window."""
    return exc.retry_after or (1.0 if exc.policy_name == "SECONDLY" else 10.0)


def _send_call(call: BatchCall, lane: _Lane, *, unknown: bool = False) -> None:
    """Send one claimed call until its outcome is known (or bounded retries run out).

    ``unknown``: an earlier attempt may have created records, so reconcile before sending.
    Raises _Pause when the batch must stop (daily limit, revoked connection).
    """
    batch = lane.batch
    row_key = call.row_key_property
    rows = list(call.rows.filter(state__in=[BatchRow.State.READY, BatchRow.State.SENDING]))
    BatchRow.objects.filter(pk__in=[r.pk for r in rows]).update(state=BatchRow.State.SENDING)
    for row in rows:
        row.state = BatchRow.State.SENDING
    if updating.batch_writes(batch):
        # Rows that update (by ID) or upsert go first; the rest are created below.
        rows = _send_writes(call, lane, rows)
        if not rows:
            BatchCall.objects.filter(pk=call.pk).update(state=BatchCall.State.DONE)
            return
    if unknown and call.settles_at is None:
        # Found in flight: the previous worker died with the call out; HubSpot may still be
        # creating its records, so the settle time runs from now.
        _mark_unknown(call)
    if unknown and not row_key:
        _defer_settle(call, stored("worker_stopped"))
        return
    last_error: HubSpotError | None = None
    for attempt in range(1, MAX_ATTEMPTS_PER_CALL + 1):
        _heartbeat(batch)
        try:
            client = lane.client()
            if unknown:
                try:
                    call_reconcile(client, batch, call, rows)
                except HubSpotError as exc:
                    # Still unknown: never send before knowing. Wait and look again.
                    last_error = exc
                    _wait_to_retry(batch, _backoff(attempt), attempt, exc)
                    continue
                rows = [r for r in rows if r.state == BatchRow.State.SENDING]
                unknown = False
            if not rows:
                BatchCall.objects.filter(pk=call.pk).update(state=BatchCall.State.DONE)
                return
            result = client.batch_create(_inputs(batch.layout, rows, row_key))
        except PortalNeedsReconnect as exc:
            raise _Pause(stored("paused_reconnect", reason={"text": str(exc)})) from None
        except HubSpotRateLimitError as exc:
            if exc.policy_name == "DAILY":
                raise _daily_limit_pause() from None
            # Not processed: safe to send again after the wait HubSpot asks for.
            _sleep(batch, _rate_limit_wait(exc))
        except HubSpotTransientError as exc:
            last_error = exc
            # 423 Locked: not processed; wait at least 2 s (HubSpot's error handling guide).
            if exc.status == 423:
                _wait_to_retry(batch, 2.0 * attempt, attempt, exc)
            else:  # 502/503/504: HubSpot may or may not have created the records.
                _mark_unknown(call)
                if not row_key:
                    _defer_settle(call, exc.stored())
                    return
                unknown = True
                _wait_to_retry(batch, _backoff(attempt), attempt, exc)
        except HubSpotNotSent as exc:
            # No connection was made: nothing was created by this attempt, send it again.
            last_error = exc
            logger.warning("Call %s not sent (%s); trying again", call.pk, exc)
            _wait_to_retry(batch, _backoff(attempt), attempt, exc)
        except HubSpotUnknownOutcome as exc:
            _mark_unknown(call)
            if not row_key:
                _defer_settle(call, exc.stored())
                return
            last_error, unknown = exc, True
            _wait_to_retry(batch, _backoff(attempt), attempt, exc)
        except HubSpotAuthError as exc:
            if attempt > 1:
                raise _Pause(stored("paused_token_refused", reason=exc.stored())) from None
            # The token may have been revoked and reissued elsewhere: force one refresh.
            type(batch.portal).objects.filter(pk=batch.portal.pk).update(
                access_token_expires_at=timezone.now()
            )
        except HubSpotError as exc:
            if _may_be_row_key_conflict(exc, row_key):
                # A resend refused whole for a row key HubSpot holds: nothing of this call was
                # created; read the rows back by the row key, then send the rest.
                last_error, unknown = exc, True
                _sleep(batch, _backoff(attempt))
                continue
            # A whole-call refusal (4xx): nothing was created.
            _fail_call(call, rows, exc, exc.category or f"HTTP_{exc.status}")
            return
        else:
            match_results(rows, result, batch.layout, row_key=row_key)
            waiting = _read_back(client, row_key, rows) if row_key else []
            if waiting:
                # Save what is settled; look for the rest again after the wait.
                _save_rows([r for r in rows if r.state != BatchRow.State.SENDING])
                rows, unknown = waiting, True
                last_error = HubSpotError.coded("resend_duplicate_row_key", {})
                _sleep(batch, _backoff(attempt))
                continue
            _finish_call(call, rows, result)
            return
    if isinstance(last_error, HubSpotNotSent):
        # HubSpot is out of reach (a wrong URL, a network outage): nothing is failed and no row
        # is called "may have been created" for it. The pause puts the rows back to ready; a
        # call that went out before stays marked (its attempts), so it is reconciled first.
        raise _Pause(
            stored(
                "paused_unreachable",
                reason=last_error.stored(),
                minutes=int(UNREACHABLE_RETRY.total_seconds() // 60),
            ),
            resume_after=UNREACHABLE_RETRY,
        )
    error = last_error or HubSpotError.coded("hubspot_kept_refusing", {})
    if unknown:
        try:
            call_reconcile(lane.client(), batch, call, rows)
        except (HubSpotError, PortalNeedsReconnect):
            logger.warning("Final reconciliation of call %s failed", call.pk)
        rows = [r for r in rows if r.state == BatchRow.State.SENDING]
        if not rows:  # the last look found every row
            BatchCall.objects.filter(pk=call.pk).update(state=BatchCall.State.DONE)
            return
        error = HubSpotError.coded("row_unconfirmed", {"detail": error.stored()})
        _fail_call(call, rows, error, UNKNOWN_OUTCOME)
    else:
        _fail_call(call, rows, error, error.category or "RETRIES_EXHAUSTED")


def _send_writes(call: BatchCall, lane: _Lane, rows: list[BatchRow]) -> list[BatchRow]:
    """Send the rows of ``call`` that update an appointment (batch update by ID) or upsert one
    (batch upsert by a unique value), each kind in one request with its retries; returns the
    rows left to create. ``services.updating`` holds the steps.

    Both requests are idempotent, so unlike a create, an attempt without answer (time-out,
    dropped connection, 502/503/504, a worker killed mid-call) is simply sent again: the same
    values are written again, and an upsert finds the record its lost attempt created.
    Raises _Pause (daily limit, reconnect).
    """
    batch = lane.batch
    updates, upserts, creates = updating.split_rows(batch, rows)
    for kind, group in ((updating.UPDATE, updates), (updating.UPSERT, upserts)):
        if group:
            _write_group(call, lane, kind, group)
    return creates


def _write_group(call: BatchCall, lane: _Lane, kind: str, rows: list[BatchRow]) -> None:
    """One batch update or upsert of ``rows`` (at most 100) until answered, then their
    associations; saves every row's outcome. See ``_send_writes``."""
    batch = lane.batch
    last_error: HubSpotError | None = None
    for attempt in range(1, MAX_ATTEMPTS_PER_CALL + 1):
        _heartbeat(batch)
        # True while this attempt's write is out: a 429 or no connection then takes it back.
        in_flight = False
        try:
            client = lane.client()
            updating.read_before(client, batch, kind, rows)
            updating.count_attempt(rows)
            in_flight = True
            if kind == updating.UPDATE:
                result = client.batch_update(updating.update_inputs(batch, rows))
                in_flight = False
                updating.apply_update(rows, result)
            else:
                result = client.batch_upsert(updating.upsert_inputs(batch, rows))
                in_flight = False
                updating.apply_upsert(batch, rows, result)
                updating.settle_unmatched(client, batch, rows)
            # The records exist now: their IDs are saved before the associations are added.
            _save_rows(rows)
            BatchCall.objects.filter(pk=call.pk).update(
                http_status=result.http_status, correlation_id=result.correlation_id
            )
            updating.associate(
                client, batch, [r for r in rows if r.state == BatchRow.State.CREATED]
            )
        except PortalNeedsReconnect as exc:
            raise _Pause(stored("paused_reconnect", reason={"text": str(exc)})) from None
        except HubSpotRateLimitError as exc:
            if exc.policy_name == "DAILY":
                raise _daily_limit_pause() from None
            if in_flight:  # not processed: this attempt wrote nothing
                updating.uncount_attempt(rows)
            _sleep(batch, _rate_limit_wait(exc))
        except HubSpotNotSent as exc:
            if in_flight:
                updating.uncount_attempt(rows)
            last_error = exc
            _wait_to_retry(batch, _backoff(attempt), attempt, exc)
        except (HubSpotTransientError, HubSpotUnknownOutcome) as exc:
            # Idempotent: whatever the lost attempt did, sending it again does it once.
            last_error = exc
            _wait_to_retry(batch, _backoff(attempt), attempt, exc)
        except HubSpotAuthError as exc:
            if in_flight:  # refused before anything was written
                updating.uncount_attempt(rows)
            if attempt > 1:
                raise _Pause(stored("paused_token_refused", reason=exc.stored())) from None
            type(batch.portal).objects.filter(pk=batch.portal.pk).update(
                access_token_expires_at=timezone.now()
            )
        except HubSpotError as exc:
            # A whole-call refusal: nothing was written by this request. HubSpot names the
            # input at fault in its own words only, so every row says the call was refused
            # whole: the row HubSpot names is fixed, the others are sent again as they are.
            message = message_text(
                stored("write_call_refused", count=len(rows), reason={"text": str(exc)})
            )
            for row in rows:
                if row.state != BatchRow.State.CREATED:
                    row.state, row.error_category = (
                        BatchRow.State.FAILED,
                        (exc.category or f"HTTP_{exc.status}"),
                    )
                    row.error_message = message
            _save_rows(rows)
            return
        else:
            return
    error = last_error or HubSpotError.coded("hubspot_kept_refusing", {})
    for row in rows:
        if row.state != BatchRow.State.CREATED:
            row.state, row.error_category = BatchRow.State.FAILED, "RETRIES_EXHAUSTED"
            row.error_message = error.message
    _save_rows(rows)


def search_settle() -> timedelta:
    """How long after a lost answer HubSpot's search is trusted to show what the call created
    (``HUBPORTAL_SEARCH_SETTLE_SECONDS``)."""
    return timedelta(seconds=settings.HUBPORTAL_SEARCH_SETTLE_SECONDS)


def _mark_unknown(call: BatchCall) -> None:
    """Stamp the call's settle time: an attempt just ended (or was found) without an answer."""
    call.settles_at = timezone.now() + search_settle()
    BatchCall.objects.filter(pk=call.pk).update(settles_at=call.settles_at)


def _defer_settle(call: BatchCall, detail: dict[str, Any]) -> None:
    """Leave a call without a row key whose answer was lost ``SENDING`` (its rows too) until
    its ``settles_at``, noting ``detail`` (what was lost, a ``status_messages`` message) on
    it: the lane goes on with the next call instead of sleeping through the wait, and
    ``_settle_deferred`` settles every such call once the lanes are done, in one wait. A pause
    meanwhile puts it back PENDING with its ``settles_at``, so it is settled, never sent, when
    the batch resumes."""
    BatchCall.objects.filter(pk=call.pk).update(error_said=detail)


def _settle_deferred(batch_id: str) -> None:
    """Settle the batch's calls left by ``_defer_settle``, earliest ``settles_at`` first: the
    waits overlap, so five lost answers cost one wait, not five. Raises _Pause, _Lost."""
    lane = _Lane(batch_id)
    try:
        waiting = lane.batch.calls.filter(
            state=BatchCall.State.SENDING, settles_at__isnull=False, row_key_property=""
        )
        for call in waiting.order_by("settles_at", "sequence"):
            rows = list(call.rows.filter(state=BatchRow.State.SENDING))
            detail = call.error_said or stored("answer_lost")
            _settle_by_search(call, lane, rows, detail)
    finally:
        lane.close()


def _settle_by_search(
    call: BatchCall, lane: _Lane, rows: list[BatchRow], detail: dict[str, Any]
) -> None:
    """Settle a call without a row key whose answer was lost, never sending it again.

    Waits until ``call.settles_at`` (the rows show "checking HubSpot" meanwhile), then
    searches once (``call_reconcile``; bounded retries when the search itself fails): rows
    found are CREATED, the others FAILED as ``UNKNOWN_OUTCOME`` ("may have been created"),
    left to "Check HubSpot again". HubSpot's search lags its writes and gives no bound, so a
    row not found may still exist: resending it could duplicate it. ``detail`` says what was
    lost (a ``status_messages`` message). Raises _Pause (reconnect: the call stays unknown and
    is settled on resume).
    """
    batch = lane.batch
    assert call.settles_at is not None
    _sleep(batch, max((call.settles_at - timezone.now()).total_seconds(), 0.0))
    for attempt in range(1, MAX_ATTEMPTS_PER_CALL + 1):
        _heartbeat(batch)
        try:
            call_reconcile(lane.client(), batch, call, rows)
            break
        except PortalNeedsReconnect as exc:
            raise _Pause(stored("paused_reconnect", reason={"text": str(exc)})) from None
        except HubSpotError as exc:
            logger.warning("Search after a lost answer of call %s failed: %s", call.pk, exc)
            if attempt < MAX_ATTEMPTS_PER_CALL:
                _sleep(batch, _backoff(attempt))
    rows = [r for r in rows if r.state == BatchRow.State.SENDING]
    if not rows:
        BatchCall.objects.filter(pk=call.pk).update(
            state=BatchCall.State.DONE, error_message="", error_said={}
        )
        return
    error = HubSpotError.coded("row_unconfirmed_after_search", {"detail": detail})
    _fail_call(call, rows, error, UNKNOWN_OUTCOME)


def _backoff(attempt: int) -> float:
    """Seconds to wait after the ``attempt``-th try (1-based): 2, 4, 8, ... up to
    ``HUBPORTAL_RETRY_WAIT_MAX_SECONDS``."""
    return min(2.0**attempt, float(settings.HUBPORTAL_RETRY_WAIT_MAX_SECONDS))


def _claim_next_call(batch: Batch) -> BatchCall | None:
    """Claim the next pending call (PENDING -> SENDING); None when there is none left.

    ``sent_at`` keeps the time of the first send, so a call that went out before (and was put
    back by a pause) is reconciled before it is sent again.
    """
    for call in batch.calls.filter(state=BatchCall.State.PENDING).order_by("sequence")[:5]:
        claimed = BatchCall.objects.filter(pk=call.pk, state=BatchCall.State.PENDING).update(
            state=BatchCall.State.SENDING,
            attempts=F("attempts") + 1,
            sent_at=Coalesce(F("sent_at"), timezone.now()),
        )
        if claimed:
            call.refresh_from_db()
            return call
    return None


def _pause(batch: Batch, message: dict[str, Any]) -> bool:
    """Pause the batch this worker owns, saying why (``message``: a ``status_messages`` code
    and its parameters); False when another worker took it over."""
    with transaction.atomic():
        if not batch_transition(
            batch_id=batch.pk,
            action=Action.PAUSE,
            where=Q(worker=this_worker()),
            status_message="",
            status_code=message["code"],
            status_params=message["params"],
            worker="",
            **sending_stretch_closed(),
        ):
            return False  # taken over: its calls are the new owner's now
        calls = BatchCall.objects.filter(batch=batch, state=BatchCall.State.SENDING)
        # Rows of a paused call were not sent (or were reconciled): they wait for the resume.
        BatchRow.objects.filter(call__in=calls, state=BatchRow.State.SENDING).update(
            state=BatchRow.State.READY
        )
        calls.update(state=BatchCall.State.PENDING)
    return True


def _schedule_resume(batch_id: str, delay: timedelta) -> None:
    if resume_batch.get_backend().supports_defer:
        resume_batch.using(run_after=timezone.now() + delay).enqueue(batch_id)


def batch_enqueue_send(batch_id: str) -> None:
    """Queue ``send_batch`` for the batch and note the task's id on it (``send_task_id``)."""
    result = send_batch.enqueue(batch_id)
    Batch.objects.filter(pk=batch_id).update(send_task_id=result.id)


def _task_waiting(task_id: str) -> bool:
    """Whether the send task ``task_id`` is still waiting for a worker (READY), or started less
    than a lease ago (RUNNING: about to claim its batch). False when the backend no longer
    knows it (lost with a queue, or a backend that keeps no results): queue another."""
    if not task_id:
        return False
    try:
        result = send_batch.get_result(task_id)
    except (TaskResultDoesNotExist, NotImplementedError):
        return False
    if result.status == TaskResultStatus.READY:
        return True
    # A worker that took the task and died before claiming the batch leaves it RUNNING.
    started = result.started_at or result.last_attempted_at
    return (
        result.status == TaskResultStatus.RUNNING
        and started is not None
        and timezone.now() - started < worker_lease()
    )


def batch_recover_stalled() -> list[str]:
    """Hand batches whose worker's lease expired back to the queue; returns their ids.

    A RUNNING batch whose heartbeat is older than ``HUBPORTAL_WORKER_LEASE_SECONDS`` lost its
    worker (killed, frozen, cut off from the database): it becomes QUEUED again. Its in-flight
    call stays SENDING, so the next worker reconciles it before sending anything. A QUEUED
    batch whose heartbeat (stamped when it was queued) is as old may have lost its task with a
    worker that died after taking it; it is returned too, at most once a lease, but only when
    its latest send task (``Batch.send_task_id``) is no longer waiting for a worker
    (``_task_waiting``): a batch merely queued behind others is left alone, so a busy queue
    does not grow by a task per batch every lease. A second task for a batch is harmless:
    only one can claim it. Never trusts a PID: a zombie, or a
    restarted container with the same host name and PID, stops renewing the lease all the same.
    Each hand-back is a conditional UPDATE, so workers scanning at once never both take one.
    Also settles the calls canceled batches left out (``batch_in_flight``).
    """
    now = timezone.now()
    stale = Q(heartbeat_at__isnull=True) | Q(heartbeat_at__lt=now - worker_lease())
    recovered = []
    candidates = Batch.objects.filter(stale, status__in=Batch.ACTIVE_STATUSES)
    for pk, status, worker, heartbeat_at, task_id in candidates.values_list(
        "pk", "status", "worker", "heartbeat_at", "send_task_id"
    ):
        if status == Batch.Status.QUEUED and _task_waiting(task_id):
            continue
        if batch_transition(
            batch_id=pk,
            action=Action.RECOVER,
            where=Q(status=status, worker=worker, heartbeat_at=heartbeat_at),
            worker="",
            heartbeat_at=now,
            # The dead worker sent until its last heartbeat, at most.
            sending_time=F("sending_time")
            + Coalesce(
                ExpressionWrapper(
                    F("heartbeat_at") - F("running_since"), output_field=DurationField()
                ),
                Value(timedelta(0)),
            ),
            running_since=None,
            retry_message="",
            retry_code="",
            retry_params={},
            retry_at=None,
        ):
            if status == Batch.Status.RUNNING:
                logger.warning("Batch %s: worker %s stopped renewing its lease", pk, worker)
            recovered.append(str(pk))
    # A canceled batch's call its worker left out: once it has let go, its rows say "may have
    # been created" (``batch_in_flight``), so the page and an undo stop waiting for it.
    for canceled in Batch.objects.filter(
        status=Batch.Status.CANCELED, calls__state=BatchCall.State.SENDING
    ).distinct():
        batch_in_flight(batch=canceled)
    return sorted(recovered)


@dataclass(frozen=True)
class InFlight:
    """Calls a stopped (canceled) batch still had out at HubSpot: ``rows`` their rows not yet
    answered, ``seconds_left`` until their worker must have let go (``batch_in_flight``)."""

    rows: int
    seconds_left: int


def _let_go_after() -> timedelta:
    """How long after its last heartbeat a canceled batch's worker may still save an answer:
    the lease (its lanes stop at their next heartbeat) plus one HTTP call's time-out."""
    return worker_lease() + timedelta(seconds=settings.HUBSPOT_TIMEOUT_SECONDS)


def batch_in_flight(*, batch: Batch) -> InFlight | None:
    """What a batch that stopped (canceled while a call was out) still waits for; None when
    nothing is out (or the batch is being sent: not this function's business).

    Its worker saves the answer of a call out when the cancel came (``_finish_call``), but a
    lost answer it no longer settles (it holds no lease). Once ``_let_go_after`` has passed
    since its last heartbeat, nobody will: those rows become ``UNKNOWN_OUTCOME`` ("may have
    been created", settled by "Check HubSpot again") and their calls FAILED, here, in one
    conditional UPDATE per call."""
    if batch.is_active:
        return None
    out = list(batch.calls.filter(state=BatchCall.State.SENDING))
    if not out:
        return None
    fresh = Batch.objects.filter(pk=batch.pk).values_list("heartbeat_at", flat=True).first()
    let_go = (fresh or timezone.now()) + _let_go_after()
    if let_go > timezone.now():
        rows = BatchRow.objects.filter(call__in=out, state=BatchRow.State.SENDING).count()
        seconds = round((let_go - timezone.now()).total_seconds())
        return InFlight(rows=rows, seconds_left=max(seconds, 1))
    said = stored("row_unconfirmed_canceled")
    message = message_text(said)
    for call in out:
        with transaction.atomic():
            if BatchCall.objects.filter(pk=call.pk, state=BatchCall.State.SENDING).update(
                state=BatchCall.State.FAILED,
                error_message=message,
                error_said=said,
                settles_at=Coalesce(
                    F("settles_at"),
                    Value(timezone.now() + search_settle(), output_field=DateTimeField()),
                ),
            ):
                call.rows.filter(state=BatchRow.State.SENDING).update(
                    state=BatchRow.State.FAILED,
                    error_category=UNKNOWN_OUTCOME,
                    error_message=message,
                    updated_at=timezone.now(),
                )
    return None


def _run_lanes(batch_id: str, mine: Q) -> _Pause | None:
    """Send the batch's pending calls with ``HUBPORTAL_CALLS_IN_FLIGHT`` lanes at once.

    Each lane claims one call at a time (the claim is a conditional UPDATE, so lanes never
    share a call) and saves its outcome before claiming the next; all lanes draw on the same
    per-portal call budget. A pause in one lane stops the others after their current call.
    Returns the first pause, if any; re-raises the first unexpected error.
    """
    stop = threading.Event()
    pauses: list[_Pause] = []
    errors: list[BaseException] = []

    def run(own_thread: bool, leftovers: bool = False) -> None:
        lane = _Lane(batch_id)
        try:
            if leftovers:
                # A call left SENDING: the previous worker died between send and save.
                for stale in lane.batch.calls.filter(state=BatchCall.State.SENDING):
                    _send_call(stale, lane, unknown=True)
                return
            while not stop.is_set() and Batch.objects.filter(mine).exists():
                call = _claim_next_call(lane.batch)
                if call is None:
                    return
                # Put back by a pause after an answer was lost: HubSpot may have created rows.
                _send_call(call, lane, unknown=call.settles_at is not None)
        except _Pause as pause:
            pauses.append(pause)
            stop.set()
        except _Lost:
            stop.set()
        except BaseException as exc:
            errors.append(exc)
            stop.set()
        finally:
            lane.close()
            if own_thread:
                connection.close()

    run(own_thread=False, leftovers=True)
    if not stop.is_set():
        threads = [
            threading.Thread(target=run, args=(True,), name=f"hubportal-lane-{n}")
            for n in range(1, max(settings.HUBPORTAL_CALLS_IN_FLIGHT, 1))
        ]
        for thread in threads:
            thread.start()
        run(own_thread=False)
        for thread in threads:
            thread.join()
    if not stop.is_set():
        # Every call sent: now the lost answers, in one wait (never a lane asleep meanwhile).
        try:
            _settle_deferred(batch_id)
        except _Pause as pause:
            pauses.append(pause)
        except _Lost:
            pass
    if errors:
        raise errors[0]
    return pauses[0] if pauses else None


def batch_send(*, batch_id: str) -> None:
    """Send every pending call of the batch, saving each outcome before the next goes out.

    Called by the worker task. Returns when the batch is done, canceled or paused.
    """
    # Flipping QUEUED -> RUNNING is the claim: a second task for the same batch finds nothing
    # to do, so it never mistakes the first one's in-flight call for a dead one.
    claimed = batch_transition(
        batch_id=batch_id,
        action=Action.CLAIM,
        worker=this_worker(),
        heartbeat_at=timezone.now(),
        running_since=timezone.now(),
    )
    if not claimed:
        return
    batch = Batch.objects.select_related("portal").get(pk=batch_id)
    mine = Q(pk=batch_id, status=Batch.Status.RUNNING, worker=this_worker())
    # The worker acts for the person who sent the batch: if they may no longer send it (role
    # or grant taken away since), nothing goes out for them.
    sender = User.objects.get(pk=batch.acting_user_id)
    if not access.can(sender, access.Action.BATCH_ACT, batch):
        pause: _Pause | None = _Pause(stored("paused_not_allowed", user=sender.get_username()))
    else:
        with LeaseKeeper(lambda: _renew_lease(batch_id), f"batch {batch_id}"):
            pause = _run_lanes(batch_id, mine)
    if pause is not None:
        if _pause(batch, pause.message):
            batch_notify(batch_id=str(batch.pk))
        if pause.resume_after is not None:
            _schedule_resume(str(batch.pk), pause.resume_after)
        return
    # A canary's first rows are answered and the rest wait for a person (services.states).
    rest = (
        batch.canary_size
        and batch.rows.filter(state=BatchRow.State.READY, call__isnull=True).exists()
    )
    if batch_transition(
        batch_id=batch_id,
        action=Action.REACH_CANARY if rest else Action.FINISH,
        where=Q(worker=this_worker()),
        finished_at=timezone.now(),
        worker="",
        **sending_stretch_closed(),
    ):
        batch_notify(batch_id=str(batch.pk))


def batch_queue(*, batch: Batch, user: User) -> int:
    """Queue the batch's ready rows in calls of at most 100 and start the worker task, which
    sends them for ``user`` (kept as ``sent_by``: the worker's calls are recorded as theirs,
    and it stops if they may no longer send the batch).

    Also resumes a paused batch (its unsent calls go out again). Returns the number of rows
    waiting to be sent. Invalid rows stay held back. Safe to call twice: a row given to a call
    is never given to another, and only one worker sends a batch at a time. The caller checked
    that ``user`` may act on the batch.
    """
    with transaction.atomic():
        locked = Batch.objects.select_for_update().get(pk=batch.pk)
        # Rows still being stored are not all there yet: nothing goes out before the last.
        if not batch_allows(batch=locked, action=Action.QUEUE):
            return 0
        ready = list(
            locked.rows.filter(state=BatchRow.State.READY, call__isnull=True)
            .order_by("row_number")
            .values_list("pk", flat=True)
        )
        if locked.canary_size and locked.status in (Batch.Status.DRAFT, Batch.Status.PAUSED):
            # The canary (sent, or paused, before it was reached): the rest waits for a person.
            given = locked.rows.filter(call__isnull=False).count()
            ready = ready[: max(locked.canary_size - given, 0)]
        next_sequence = (
            locked.calls.order_by("-sequence").values_list("sequence", flat=True).first() or 0
        ) + 1
        # Calls never sent carry the portal's row key as it is now (one chosen since counts).
        row_key = locked.portal.row_key_property
        locked.calls.filter(state=BatchCall.State.PENDING, sent_at__isnull=True).update(
            row_key_property=row_key
        )
        for offset in range(0, len(ready), MAX_BATCH_INPUTS):
            call = BatchCall.objects.create(
                batch=locked, sequence=next_sequence, row_key_property=row_key
            )
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
        now = timezone.now()
        batch_transition(
            batch_id=locked.pk,
            action=Action.QUEUE,
            submitted_at=now,
            heartbeat_at=now,
            finished_at=None,
            status_message="",
            # Why a Send that waited for the look in HubSpot did not send: sent now.
            hubspot_search_message="",
            status_code="",
            status_params={},
            sent_by=user,
            waiting_notified="",
        )
        batch_id = str(locked.pk)
        transaction.on_commit(lambda: batch_enqueue_send(batch_id))
    batch.refresh_from_db()
    return waiting


@task()
def send_batch(batch_id: str) -> None:
    """Send a queued batch to HubSpot (``batch_send``)."""
    batch_send(batch_id=batch_id)


@task()
def resume_batch(batch_id: str) -> None:
    """Resume a batch paused by HubSpot's daily limit (queues it again if still paused)."""
    batch = Batch.objects.filter(pk=batch_id, status=Batch.Status.PAUSED).first()
    if batch is not None:
        # Resumed for whoever sent it, as they pressed Send.
        batch_queue(batch=batch, user=User.objects.get(pk=batch.acting_user_id))
