"""Undo a batch: archive exactly the appointments it created, through HubSpot's batch archive,
and write back the previous values of those it updated (read before the update,
``services.updating``) through batch update, 100 per call, paced by the portal's budget,
resumable after a crash; records changed in HubSpot since the batch wrote them are kept
unless a person includes them.

Keyword-only, typed functions named ``batch_undo_<action>``; the background task ``undo_batch``
is defined here, beside the code that enqueues it. HubSpot keeps archived records in its
recycling bin for 90 days, where a person can restore them
(https://knowledge.hubspot.com/records/restore-deleted-records).
"""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Case, CharField, Q, QuerySet, Value, When
from django.tasks import task
from django.utils import timezone
from django.utils.translation import gettext as _

from appointments.hubspot.client import MAX_BATCH_INPUTS, HubSpotClient
from appointments.hubspot.errors import HubSpotError
from appointments.models import UNSETTLED_OUTCOMES, Batch, BatchCall, BatchRow, RowUndo, RowWrite
from appointments.services import access
from appointments.services.access import Action as AccessAction
from appointments.services.matching import value_key
from appointments.services.portals import PortalNeedsReconnect, portal_client
from appointments.services.sending import InFlight, batch_in_flight, this_worker, worker_lease
from appointments.services.states import Action, batch_can, batch_transition
from appointments.services.updating import written_values
from appointments.status_messages import stored

logger = logging.getLogger(__name__)

# How long HubSpot keeps an archived record restorable (the recycling bin).
RESTORE_DAYS = 90


def batch_undo_rows(*, user: User, batch: Batch) -> QuerySet[BatchRow]:
    """The rows whose records undoing ``batch`` touches, in row order, each annotated with
    ``undo_action``: ``"archive"`` for a record the batch created (a HubSpot record ID of its
    own), ``"restore"`` for one it updated and whose previous values it read
    (``services.updating``). Never a record the batch did not write. Raises PermissionDenied
    unless ``user`` may see the batch (``services.access``)."""
    access.require(user, AccessAction.BATCH_VIEW, batch)
    return _created(batch).annotate(
        undo_action=Case(
            When(_UPDATED, then=Value(RESTORE)), default=Value(ARCHIVE), output_field=CharField()
        )
    )


ARCHIVE, RESTORE = "archive", "restore"
# Rows that updated a record (``RowWrite``): undo writes its previous values back.
_UPDATED = Q(write__outcome=RowWrite.Outcome.UPDATED)


def _created(batch: Batch) -> QuerySet[BatchRow]:
    """Rows the batch wrote that undo can take back: created records, and updated ones whose
    values before the update were read (an update without them cannot be taken back)."""
    rows = batch.rows.filter(state=BatchRow.State.CREATED).exclude(hubspot_id="")
    return rows.exclude(_UPDATED & Q(write__before__isnull=True))


def batch_undo_possible(*, user: User, batch: Batch) -> bool:
    """Whether ``user`` may undo ``batch`` now: they may act on it, it is finished, canceled
    or waiting at the canary, and no call of it is still out at HubSpot
    (``batch_undo_waits_for``)."""
    return (
        access.can(user, AccessAction.BATCH_ACT, batch)
        and batch_can(status=batch.status, action=Action.UNDO)
        and batch_undo_waits_for(batch=batch) is None
    )


def batch_undo_offered(*, user: User, batch: Batch) -> bool:
    """Whether the batch page offers Undo: ``user`` may act on ``batch`` and its state allows
    one (``batch_undo_possible`` may still say "not yet": the undo page says why)."""
    return access.can(user, AccessAction.BATCH_ACT, batch) and batch_can(
        status=batch.status, action=Action.UNDO
    )


def batch_undo_waits_for(*, batch: Batch) -> InFlight | None:
    """The calls of a canceled batch still out at HubSpot (``sending.batch_in_flight``): an
    undo now would miss the records they create, so it waits until their worker has saved
    their answer or let go (their rows then "may have been created"). None: nothing out."""
    return batch_in_flight(batch=batch)


def batch_undo_unsettled(*, batch: Batch) -> int:
    """How many rows may have been created (``UNSETTLED_OUTCOMES``): an undo cannot archive
    their records until "Check HubSpot again" finds them."""
    return batch.rows.filter(
        state=BatchRow.State.FAILED, error_category__in=UNSETTLED_OUTCOMES
    ).count()


def batch_undo_start(*, batch: Batch, user: User, include_changed: bool = False) -> int:
    """Start undoing ``batch``: it becomes UNDOING (who asked and when are kept) and the task
    ``undo_batch`` archives its records. ``include_changed``: archive records changed in
    HubSpot since the batch wrote them too. Returns how many records will be looked at; 0,
    changing nothing, when the batch cannot be undone now (``batch_undo_waits_for``: a
    call still out). Raises PermissionDenied unless
    ``user`` may act on the batch (``services.access``)."""
    access.require(user, AccessAction.BATCH_ACT, batch)
    if batch_undo_waits_for(batch=batch) is not None:
        return 0
    count = _created(batch).count()
    now = timezone.now()
    with transaction.atomic():
        if not batch_transition(
            batch_id=batch.pk,
            action=Action.UNDO,
            undo_requested_by=user,
            undo_requested_at=now,
            undo_include_changed=include_changed,
            worker="",
            heartbeat_at=now,
            status_message="",
            status_code="",
            status_params={},
        ):
            return 0
        # An undone batch sends nothing more: the rows a canary (or a pause) left waiting say
        # so, and no longer count as waiting.
        pending = BatchCall.objects.filter(batch=batch, state=BatchCall.State.PENDING)
        batch.rows.filter(
            Q(call__isnull=True) | Q(call__in=pending), state=BatchRow.State.READY
        ).update(
            state=BatchRow.State.UNSENT,
            error_message=_("Not sent: the batch was undone."),
            call=None,
            updated_at=now,
        )
        pending.delete()
        batch_id = str(batch.pk)
        transaction.on_commit(lambda: undo_batch.enqueue(batch_id))
    batch.refresh_from_db()
    return count


def _claim(batch_id: str) -> bool:
    """Take the UNDOING batch for this worker: nobody holds it, or its holder's lease expired."""
    stale = timezone.now() - worker_lease()
    # The batch stays UNDOING: taking it is not a move of the diagram, only of its holder.
    return bool(
        Batch.objects.filter(pk=batch_id, status=Batch.Status.UNDOING)
        .filter(Q(worker="") | Q(heartbeat_at__lt=stale) | Q(heartbeat_at__isnull=True))
        .update(worker=this_worker(), heartbeat_at=timezone.now())
    )


def _still_mine(batch_id: str) -> bool:
    return bool(
        Batch.objects.filter(pk=batch_id, status=Batch.Status.UNDOING, worker=this_worker()).update(
            heartbeat_at=timezone.now()
        )
    )


def _written(batch: Batch, row: BatchRow) -> dict[str, str]:
    """The property values the batch wrote for ``row`` (its record ID column left out: it
    names the record, it is not a value written)."""
    return written_values(batch, row)


def _changed(written: dict[str, str], current: dict[str, str]) -> bool:
    """Whether the record's ``current`` values differ from what the batch ``written``,
    compared as HubSpot echoes them (``matching.value_key``: instants, numbers)."""
    return any(value_key(value) != value_key(current.get(name)) for name, value in written.items())


def _save(batch: Batch, rows: list[BatchRow], outcome: str) -> None:
    if not rows:
        return
    with transaction.atomic():
        for row in rows:
            RowUndo.objects.update_or_create(
                row=row,
                defaults={"batch": batch, "record_id": row.hubspot_id, "outcome": outcome},
            )


def _restore(client: HubSpotClient, batch: Batch, rows: list[BatchRow]) -> None:
    """Write back the values the records of ``rows`` (already marked RESTORING) had before
    the batch updated them ("" clears a value that was blank), then mark them RESTORED.
    Writing them twice is harmless, so a resume simply sends it again."""
    if rows:
        befores = dict(
            RowWrite.objects.filter(pk__in=[r.pk for r in rows]).values_list("pk", "before")
        )
        client.batch_update(
            [{"id": row.hubspot_id, "properties": befores[row.pk] or {}} for row in rows]
        )
        _save(batch, rows, RowUndo.Outcome.RESTORED)


def _archive(client: HubSpotClient, batch: Batch, rows: list[BatchRow]) -> None:
    """Archive the records of ``rows`` (already marked ARCHIVING), then mark them ARCHIVED.
    Archiving twice is harmless (HubSpot answers 204), so a resume simply sends it again."""
    if rows:
        client.archive_appointments([row.hubspot_id for row in rows])
        _save(batch, rows, RowUndo.Outcome.ARCHIVED)


def batch_undo_run(*, batch_id: str) -> None:
    """Archive the records of an UNDOING batch, ``MAX_BATCH_INPUTS`` at a time, then make it
    UNDONE. Called by the task ``undo_batch``; returns at once when another worker holds it.

    For each chunk of created rows not yet looked at: one batch read of their records
    (https://developers.hubspot.com/docs/api-reference/2026-03/crm/objects/appointments/guide)
    compares the values the batch wrote with the record's current ones; a record gone is
    MISSING, a changed one CHANGED (kept) unless the batch's ``undo_include_changed``; the
    others are marked ARCHIVING, then archived in one batch archive call
    (https://developers.hubspot.com/docs/api-reference/2026-03/crm/objects/custom-objects/batch/delete-custom-objects)
    and marked ARCHIVED; a record the batch updated (``RowWrite``) is marked RESTORING
    instead, its values before the update written back in one batch update
    (https://developers.hubspot.com/docs/api-reference/2026-03/crm/objects/appointments/guide),
    then RESTORED. A worker killed at any line loses nothing: ARCHIVING and RESTORING rows
    are archived or restored again first on resume. Every call is paced by the portal's
    shared budget (``hubspot.pacing``). A HubSpot failure leaves the batch UNDOING with the
    reason in ``status_message``; the next worker's scan (``batch_undo_recover_stalled``)
    resumes it.
    """
    if not _claim(batch_id):
        return
    batch = Batch.objects.select_related("portal", "undo_requested_by").get(pk=batch_id)
    # The worker acts for the person who pressed Undo: if they may no longer act on the batch,
    # nothing is archived for them (the batch says so and stays UNDOING).
    user = batch.undo_requested_by or batch.created_by
    if not access.can(user, AccessAction.BATCH_ACT, batch):
        _stopped(batch_id, stored("undo_not_allowed", user=user.get_username()))
        return
    try:
        with portal_client(portal=batch.portal, user=user) as client:
            for outcome, finish in (
                (RowUndo.Outcome.ARCHIVING, _archive),
                (RowUndo.Outcome.RESTORING, _restore),
            ):
                pending = list(_created(batch).filter(undo__outcome=outcome))
                for start in range(0, len(pending), MAX_BATCH_INPUTS):
                    if not _still_mine(batch_id):
                        return
                    finish(client, batch, pending[start : start + MAX_BATCH_INPUTS])
            while True:
                if not _still_mine(batch_id):
                    return
                rows = list(
                    _created(batch)
                    .filter(undo__isnull=True)
                    .order_by("row_number")[:MAX_BATCH_INPUTS]
                )
                if not rows:
                    break
                _undo_chunk(client, batch, rows)
    except (HubSpotError, PortalNeedsReconnect) as exc:
        # Said on the batch page; a worker's scan resumes the undo once the lease expires.
        logger.warning("Undoing batch %s stopped: %s", batch_id, exc)
        reason = exc.stored() if isinstance(exc, HubSpotError) else {"text": str(exc)}
        _stopped(batch_id, stored("undo_stopped", reason=reason))
        return
    batch_transition(
        batch_id=batch_id,
        action=Action.UNDONE,
        where=Q(worker=this_worker()),
        undone_at=timezone.now(),
        worker="",
        status_message="",
        status_code="",
        status_params={},
    )


def _stopped(batch_id: str, message: dict[str, Any]) -> None:
    """Say on the batch why undoing stopped (a ``status_messages`` code) and let it go."""
    Batch.objects.filter(pk=batch_id, worker=this_worker()).update(
        status_message="", status_code=message["code"], status_params=message["params"], worker=""
    )


def _undo_chunk(client: HubSpotClient, batch: Batch, rows: list[BatchRow]) -> None:
    written = {row.pk: _written(batch, row) for row in rows}
    names = sorted({name for values in written.values() for name in values})
    current = client.read_appointments([row.hubspot_id for row in rows], names)
    missing = [row for row in rows if row.hubspot_id not in current]
    changed = [
        row
        for row in rows
        if row.hubspot_id in current and _changed(written[row.pk], current[row.hubspot_id])
    ]
    if batch.undo_include_changed:
        changed_kept: list[BatchRow] = []
    else:
        changed_kept = changed
    skip = {row.pk for row in (*missing, *changed_kept)}
    updated = set(
        RowWrite.objects.filter(
            pk__in=[row.pk for row in rows], outcome=RowWrite.Outcome.UPDATED
        ).values_list("pk", flat=True)
    )
    to_archive = [row for row in rows if row.pk not in skip and row.pk not in updated]
    to_restore = [row for row in rows if row.pk not in skip and row.pk in updated]
    _save(batch, missing, RowUndo.Outcome.MISSING)
    _save(batch, changed_kept, RowUndo.Outcome.CHANGED)
    _save(batch, to_archive, RowUndo.Outcome.ARCHIVING)
    _save(batch, to_restore, RowUndo.Outcome.RESTORING)
    _archive(client, batch, to_archive)
    _restore(client, batch, to_restore)


def batch_undo_counts(*, batch: Batch) -> dict[str, int]:
    """``{outcome: rows}`` of the batch's undo so far (``RowUndo.Outcome`` values)."""
    counts: dict[str, Any] = dict.fromkeys(RowUndo.Outcome.values, 0)
    for outcome in batch.undos.values_list("outcome", flat=True):
        counts[outcome] += 1
    return counts


def batch_undo_recover_stalled() -> list[str]:
    """UNDOING batches whose holder's lease expired (a killed worker, a failure, a task lost),
    for ``manage.py worker`` to queue again; returns their ids. Each is handed back at most
    once a lease; a second task is harmless anyway: only one worker can claim a batch."""
    now = timezone.now()
    stale = Q(heartbeat_at__lt=now - worker_lease()) | Q(heartbeat_at__isnull=True)
    recovered = []
    for pk, heartbeat_at in Batch.objects.filter(stale, status=Batch.Status.UNDOING).values_list(
        "pk", "heartbeat_at"
    ):
        # Stamped as handed back (a conditional UPDATE), so a batch whose task waits behind
        # others is queued again at most once a lease, and by one worker only.
        if Batch.objects.filter(
            pk=pk, status=Batch.Status.UNDOING, heartbeat_at=heartbeat_at
        ).update(worker="", heartbeat_at=now):
            recovered.append(str(pk))
    return sorted(recovered)


@task()
def undo_batch(batch_id: str) -> None:
    """Archive the records an UNDOING batch created (``batch_undo_run``)."""
    batch_undo_run(batch_id=batch_id)
