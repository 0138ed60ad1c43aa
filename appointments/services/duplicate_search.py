"""The look in HubSpot for appointments like a batch's rows, as background work: started from
the batch page or by Send, run by the task ``search_duplicates`` in ``manage.py worker``,
polled by the page, recovered when its worker dies.

A 20,000-row batch costs about 210 calls and close to a minute at search's own limit of 5
searches a second (https://developers.hubspot.com/docs/api-reference/2026-03/crm/search-the-crm,
"Limitations"; ``bench/duplicates.py``), past a web worker's time-out, so no page waits for
it. The search itself is ``services.duplicates.duplicates_in_hubspot``. While it runs the
batch is neither sent nor remapped (``services.states.GUARDS``). A worker holds a look by a
lease, as undoing does (``services.undo``): stamped with ``host:pid:nonce`` and a heartbeat it
renews every quarter of ``HUBPORTAL_WORKER_LEASE_SECONDS``; a look whose lease expired is
started again by the next worker's scan (``batch_search_recover_stalled``) or by a person. A
look only reads HubSpot, so starting it again is harmless. Keyword-only, typed functions named
``batch_search_<action>``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Literal

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q
from django.tasks import task
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from appointments.hubspot.errors import HubSpotError
from appointments.models import Batch
from appointments.services import access
from appointments.services.access import Action as AccessAction
from appointments.services.batches import batch_send_checked
from appointments.services.duplicates import DuplicatesUndecided, duplicates_in_hubspot
from appointments.services.leases import LeaseKeeper
from appointments.services.notifications import batch_notify
from appointments.services.portals import PortalNeedsReconnect
from appointments.services.sending import this_worker, worker_lease
from appointments.services.states import TRANSITIONS, Action

logger = logging.getLogger(__name__)

Search = Batch.Search


@dataclass(frozen=True)
class SendAfter:
    """The Send that waits for the look: sent as ``batches.batch_send_checked`` would, by the
    person who pressed it, once no row matches (else they choose, then send)."""

    check_records: bool = False
    on_duplicate: str = "ask"
    canary: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "check_records": self.check_records,
            "on_duplicate": self.on_duplicate,
            "canary": self.canary,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SendAfter:
        return cls(
            check_records=bool(data.get("check_records")),
            on_duplicate=str(data.get("on_duplicate", "ask")),
            canary=int(data.get("canary", 0)),
        )


class _Lost(Exception):
    """Another worker or a person took the look over (this one's lease expired): stop."""


def _stale() -> Q:
    return Q(hubspot_search_heartbeat_at__isnull=True) | Q(
        hubspot_search_heartbeat_at__lt=timezone.now() - worker_lease()
    )


def batch_search_running(*, batch: Batch) -> bool:
    """Whether HubSpot is being looked in for the batch's rows (as loaded)."""
    return batch.hubspot_search_state == Search.RUNNING


def batch_search_start(
    *, user: User, batch: Batch, then_send: SendAfter | None = None
) -> Literal["started", "running", ""]:
    """Start looking in HubSpot for appointments like ``batch``'s ready rows, in the background
    (the task ``search_duplicates``); ``then_send``: send the batch when it ends and no row
    matches. The batch records who asked and when.

    Returns ``"started"``; ``"running"`` when a look already runs (two clicks start one look;
    with ``then_send``, that look sends when it ends); ``""``, changing nothing, when the
    batch is in no state a send starts from (``services.states``: being stored, sent,
    undone...). A look whose lease expired (its worker killed) is started again. Raises
    PermissionDenied unless ``user`` may act on the batch (``services.access``).
    """
    access.require(user, AccessAction.BATCH_ACT, batch)
    now = timezone.now()
    sendable = Batch.objects.filter(pk=batch.pk, status__in=TRANSITIONS[Action.QUEUE][0])
    outcome: Literal["started", "running", ""] = ""
    with transaction.atomic():
        if sendable.filter(~Q(hubspot_search_state=Search.RUNNING) | _stale()).update(
            hubspot_search_state=Search.RUNNING,
            hubspot_search_by=user,
            hubspot_search_at=now,
            hubspot_search_ended_at=None,
            hubspot_search_message="",
            hubspot_search_done=0,
            hubspot_search_total=0,
            hubspot_search_worker="",
            hubspot_search_heartbeat_at=now,
            hubspot_search_then_send=then_send.to_json() if then_send else None,
        ):
            outcome = "started"
            batch_id = str(batch.pk)
            transaction.on_commit(lambda: search_duplicates.enqueue(batch_id))
        else:
            running = sendable.filter(hubspot_search_state=Search.RUNNING)
            if then_send is not None:
                # It sends when it ends, as this Send asked.
                found = bool(running.update(hubspot_search_then_send=then_send.to_json()))
            else:
                found = running.exists()
            outcome = "running" if found else ""
    batch.refresh_from_db()
    return outcome


def _claim(batch_id: str) -> bool:
    """Take the running look for this worker: nobody holds it, or its holder's lease expired."""
    return bool(
        Batch.objects.filter(pk=batch_id, hubspot_search_state=Search.RUNNING)
        .filter(Q(hubspot_search_worker="") | _stale())
        .update(hubspot_search_worker=this_worker(), hubspot_search_heartbeat_at=timezone.now())
    )


def _mine(batch_id: str) -> Any:
    return Batch.objects.filter(
        pk=batch_id, hubspot_search_state=Search.RUNNING, hubspot_search_worker=this_worker()
    )


def batch_search_run(*, batch_id: str) -> None:
    """Look in HubSpot for appointments like the batch's ready rows
    (``duplicates.duplicates_in_hubspot``), saving ``(done, planned)`` searches as it goes,
    then keep the matches on the batch and end the look; send the batch if a Send waits and no
    row matches (``batches.batch_send_checked``, as the person who pressed it). Called by the
    task ``search_duplicates``; returns at once when another worker holds the look.

    HubSpot unreachable, a portal to reconnect, search's limit answered 429 past its tries, or
    any other error end the look (FAILED) with the reason in ``hubspot_search_message``,
    nothing kept and nothing sent: it never stays running.
    """
    if not _claim(batch_id):
        return
    batch = Batch.objects.select_related("portal", "hubspot_search_by").get(pk=batch_id)

    def progress(done: int, planned: int) -> None:
        if not _mine(batch_id).update(
            hubspot_search_done=done,
            hubspot_search_total=planned,
            hubspot_search_heartbeat_at=timezone.now(),
        ):
            raise _Lost

    then = batch.hubspot_search_then_send
    try:
        user = batch.hubspot_search_by
        if user is None or not access.can(user, AccessAction.BATCH_ACT, batch):
            raise PermissionDenied
        with LeaseKeeper(
            lambda: bool(_mine(batch_id).update(hubspot_search_heartbeat_at=timezone.now())),
            f"the look of batch {batch_id}",
        ):
            found = duplicates_in_hubspot(batch=batch, user=user, progress=progress)
    except _Lost:
        return
    except (HubSpotError, PortalNeedsReconnect) as exc:
        reason = _("HubSpot could not be asked: %(reason)s") % {"reason": exc}
        _end(batch_id, Search.FAILED, _stopped(reason, then))
        return
    except PermissionDenied:
        _end(batch_id, Search.FAILED, _stopped(_("Who asked may no longer act on it."), then))
        return
    except Exception:
        logger.exception("Looking in HubSpot for batch %s's rows failed", batch_id)
        _end(batch_id, Search.FAILED, _stopped(_("An unexpected error stopped it."), then))
        raise
    if not _end(batch_id, Search.DONE, "", hubspot_duplicates=found):
        return
    ended = Batch.objects.select_related("portal").get(pk=batch_id)
    if then is not None and ended.hubspot_search_by is not None:
        message = _send_after(ended, ended.hubspot_search_by, SendAfter.from_json(then), found)
        if message:
            Batch.objects.filter(pk=batch_id).update(hubspot_search_message=message)
    if found:  # unless the Send that waited went ahead, the batch waits for a decision: mail it
        batch_notify(batch_id=batch_id)


def _stopped(reason: str, then: dict[str, Any] | None) -> str:
    if then is None:
        return reason
    return reason + " " + _("Nothing was sent.")


def _end(batch_id: str, state: str, message: str, **fields: Any) -> bool:
    """End this worker's look as ``state``; False when another holds it now."""
    return bool(
        _mine(batch_id).update(
            hubspot_search_state=state,
            hubspot_search_ended_at=timezone.now(),
            hubspot_search_message=message,
            hubspot_search_worker="",
            **fields,
        )
    )


def _send_after(batch: Batch, user: User, then: SendAfter, found: list[dict[str, Any]]) -> str:
    """Send ``batch`` as the Send that waited for the look asked; what stopped it ("" if
    sent or nothing left to send). "Create them anyway" was chosen before the look ``found``
    its matches: it stands for rows sent before, never for these, which are asked about."""
    if found and then.on_duplicate == "create":
        then = SendAfter(check_records=then.check_records, on_duplicate="ask", canary=then.canary)
    try:
        sent = batch_send_checked(
            user=user,
            batch=batch,
            check_records=then.check_records,
            on_duplicate=then.on_duplicate,
            canary=then.canary,
        )
    except DuplicatesUndecided as exc:
        return ngettext(
            "Nothing was sent: %(count)s row is already in this portal. Choose to skip it or "
            "to create it anyway, then send.",
            "Nothing was sent: %(count)s rows are already in this portal. Choose to skip them "
            "or to create them anyway, then send.",
            exc.count,
        ) % {"count": exc.count}
    except (HubSpotError, PortalNeedsReconnect) as exc:
        return _stopped(_("HubSpot could not be asked: %(reason)s") % {"reason": exc}, {})
    except PermissionDenied:
        return _("Nothing was sent: who asked may no longer send this batch.")
    if sent.problem:
        return _("Nothing was sent: this portal cannot take appointments. %(problem)s") % {
            "problem": sent.problem
        }
    if sent.records is not None and sent.records.held:
        return ngettext(
            "Nothing was sent: %(count)s row names a record that does not exist; it is held back.",
            "Nothing was sent: %(count)s rows name records that do not exist; they are held back.",
            sent.records.held,
        ) % {"count": sent.records.held}
    return ""


def batch_search_recover_stalled() -> list[str]:
    """Batches whose look's lease expired (a killed worker, a task lost), for ``manage.py
    worker`` to queue again; returns their ids. Each is handed back at most once a lease (a
    conditional UPDATE stamps it); a second task is harmless: only one worker claims it."""
    now = timezone.now()
    recovered = []
    stalled = Batch.objects.filter(_stale(), hubspot_search_state=Search.RUNNING)
    for pk, heartbeat_at in stalled.values_list("pk", "hubspot_search_heartbeat_at"):
        if Batch.objects.filter(
            pk=pk, hubspot_search_state=Search.RUNNING, hubspot_search_heartbeat_at=heartbeat_at
        ).update(hubspot_search_worker="", hubspot_search_heartbeat_at=now):
            logger.warning("Batch %s: its look in HubSpot stopped renewing its lease", pk)
            recovered.append(str(pk))
    return sorted(recovered)


@task()
def search_duplicates(batch_id: str) -> None:
    """Look in HubSpot for appointments like a batch's rows (``batch_search_run``)."""
    batch_search_run(batch_id=batch_id)
