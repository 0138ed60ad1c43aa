"""The one state diagram of a batch: every state, every allowed move, and the one function that
moves a batch (``batch_transition``).

Every change of ``Batch.status`` goes through ``batch_transition``: a conditional ``UPDATE``
that moves the batch only from a state the action allows, so two processes racing (a worker
finishing while a person cancels, two workers recovering the same batch) never both win and a
batch never takes a move the diagram does not draw (an undone batch is never resumed). The
README draws the same diagram ("Batch states").
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from django.db.models import Q

from appointments.models import Batch

Status = Batch.Status


class Action(StrEnum):
    """What moves a batch; ``TRANSITIONS`` says from which states and to which one."""

    STORED = "stored"  # every row is checked and stored
    REMAP = "remap"  # "change the columns" of a draft: its rows are checked and stored again
    ABANDON = "abandon"  # storing stopped and cannot start again
    QUEUE = "queue"  # send, resume, retry failed rows, send the rest after the canary
    CLAIM = "claim"  # a worker takes the queued batch
    PAUSE = "pause"  # HubSpot's daily limit, HubSpot out of reach, a portal to reconnect
    REACH_CANARY = "reach_canary"  # the first N rows are answered: wait for a person
    FINISH = "finish"  # every call answered
    RECOVER = "recover"  # the worker's lease expired: back to the queue
    CANCEL = "cancel"
    CHECK = "check"  # "check HubSpot again" on a finished batch
    CHECKED = "checked"
    UNDO = "undo"  # archive the records the batch created
    UNDONE = "undone"


# action -> (states it moves a batch from, state it moves it to)
TRANSITIONS: dict[Action, tuple[frozenset[str], str]] = {
    Action.STORED: (frozenset({Status.STORING}), Status.DRAFT),
    Action.ABANDON: (frozenset({Status.STORING}), Status.CANCELED),
    Action.REMAP: (frozenset({Status.DRAFT}), Status.STORING),
    Action.QUEUE: (
        frozenset({Status.DRAFT, Status.PAUSED, Status.CANARY, Status.COMPLETED, Status.CANCELED}),
        Status.QUEUED,
    ),
    Action.CLAIM: (frozenset({Status.QUEUED}), Status.RUNNING),
    Action.PAUSE: (frozenset({Status.RUNNING}), Status.PAUSED),
    Action.REACH_CANARY: (frozenset({Status.RUNNING}), Status.CANARY),
    Action.FINISH: (frozenset({Status.RUNNING}), Status.COMPLETED),
    Action.RECOVER: (frozenset({Status.QUEUED, Status.RUNNING}), Status.QUEUED),
    Action.CANCEL: (
        frozenset({Status.QUEUED, Status.RUNNING, Status.PAUSED, Status.CANARY}),
        Status.CANCELED,
    ),
    # A check that died (its process killed) may be started again.
    Action.CHECK: (frozenset({Status.COMPLETED, Status.CHECKING}), Status.CHECKING),
    Action.CHECKED: (frozenset({Status.CHECKING}), Status.COMPLETED),
    Action.UNDO: (frozenset({Status.COMPLETED, Status.CANCELED, Status.CANARY}), Status.UNDOING),
    Action.UNDONE: (frozenset({Status.UNDOING}), Status.UNDONE),
}


# What an action needs beside the batch's state: action -> (field, value) the batch must not
# hold. While HubSpot is looked in for appointments like the rows (services.duplicate_search),
# the batch is neither sent (its matches are not known yet) nor remapped (its rows are what is
# looked for); the look ends, or its lease expires and it is started again, so this never
# leaves a batch stuck.
GUARDS: dict[Action, tuple[str, str]] = {
    Action.QUEUE: ("hubspot_search_state", Batch.Search.RUNNING),
    Action.REMAP: ("hubspot_search_state", Batch.Search.RUNNING),
}


def batch_can(*, status: str, action: Action) -> bool:
    """Whether a batch in ``status`` (a ``Batch.Status`` value) may take ``action``, as far as
    its state goes (``batch_allows`` also asks ``GUARDS``)."""
    return status in TRANSITIONS[action][0]


def batch_allows(*, batch: Batch, action: Action) -> bool:
    """Whether ``batch``, as loaded, may take ``action`` now: its state and ``GUARDS``."""
    if not batch_can(status=batch.status, action=action):
        return False
    guard = GUARDS.get(action)
    return guard is None or getattr(batch, guard[0]) != guard[1]


def batch_transition(
    *, batch_id: Any, action: Action, where: Q | None = None, **fields: Any
) -> bool:
    """Move the batch ``batch_id`` by ``action`` if its current state allows it, setting
    ``fields`` (model field names) in the same conditional ``UPDATE``; ``where`` narrows the
    condition (e.g. ``Q(worker=...)``: only the worker holding the batch may pause it), and
    the action's ``GUARDS`` always do.

    Returns True when the batch moved, False (changing nothing) when it was in a state the
    action does not start from, or its guard or ``where`` did not hold.
    """
    sources, target = TRANSITIONS[action]
    batches = Batch.objects.filter(pk=batch_id, status__in=sources)
    if action in GUARDS:
        field, value = GUARDS[action]
        batches = batches.exclude(**{field: value})
    if where is not None:
        batches = batches.filter(where)
    return bool(batches.update(status=target, **fields))


def diagram() -> str:
    """The diagram as mermaid ``stateDiagram-v2`` text (the README shows the same)."""
    lines = ["stateDiagram-v2", "    [*] --> storing"]
    for action, (sources, target) in TRANSITIONS.items():
        for source in sorted(sources):
            lines.append(f"    {source} --> {target}: {action.value}")
    lines.append("    undone --> [*]")
    return "\n".join(lines)
