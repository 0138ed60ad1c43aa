"""The batch state diagram: one transition function, drawn in the README, enforced."""

from __future__ import annotations

import ast
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from appointments.models import Batch, BatchRow, Portal
from appointments.services.batches import batch_retry_failed
from appointments.services.sending import batch_queue
from appointments.services.states import TRANSITIONS, Action, batch_transition, diagram
from appointments.services.undo import batch_undo_recover_stalled

ROOT = Path(__file__).resolve().parents[2]


def test_it_draws_in_the_readme_the_diagram_the_code_enforces() -> None:
    assert diagram() in (ROOT / "README.md").read_text()


def test_it_reaches_every_state() -> None:
    reached = {"storing"} | {target for _, target in TRANSITIONS.values()}
    assert reached == set(Batch.Status.values)


def test_it_changes_a_batch_status_only_through_the_transition_function() -> None:
    """No ``status=`` keyword in an ``update()`` or a ``Batch.objects.create`` outside
    states.py, and no ``.status =`` assignment on a batch in app code."""
    offenders = []
    for path in (ROOT / "appointments").rglob("*.py"):
        if "migrations" in path.parts or path.name == "states.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                statuses = [ast.unparse(k.value) for k in node.keywords if k.arg == "status"]
                if node.func.attr == "update" and any("Portal." not in v for v in statuses):
                    offenders.append(f"{path.name}:{node.lineno}")
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if (
                        isinstance(target, ast.Attribute)
                        and target.attr == "status"
                        and "batch" in ast.unparse(target.value).lower()
                    ):
                        offenders.append(f"{path.name}:{node.lineno}")
    assert offenders == []


@pytest.fixture
def draft(db: None, user: User) -> Batch:
    portal = Portal.objects.create(hub_id=1, connected_by=user)
    return Batch.objects.create(portal=portal, created_by=user)


def test_it_moves_a_batch_only_from_a_state_the_action_starts_from(draft: Batch) -> None:
    assert not batch_transition(batch_id=draft.pk, action=Action.FINISH)
    assert batch_transition(batch_id=draft.pk, action=Action.QUEUE)
    assert not batch_transition(batch_id=draft.pk, action=Action.QUEUE)
    draft.refresh_from_db()
    assert draft.status == Batch.Status.QUEUED


def test_it_never_resumes_an_undone_batch(draft: Batch) -> None:
    Batch.objects.filter(pk=draft.pk).update(status=Batch.Status.UNDONE)
    draft.refresh_from_db()
    assert batch_queue(batch=draft, user=draft.created_by) == 0
    draft.refresh_from_db()
    assert draft.status == Batch.Status.UNDONE


def test_it_never_retries_the_failed_rows_of_an_undone_batch(draft: Batch) -> None:
    BatchRow.objects.create(
        batch=draft, row_number=2, state=BatchRow.State.FAILED, object_write_trace_id="t"
    )
    Batch.objects.filter(pk=draft.pk).update(status=Batch.Status.UNDONE)
    draft.refresh_from_db()
    assert batch_retry_failed(user=draft.created_by, batch=draft) == 0
    assert draft.rows.get().state == BatchRow.State.FAILED


def test_a_stalled_undo_is_handed_back_once_a_lease(draft: Batch) -> None:
    old = timezone.now() - timedelta(minutes=5)
    Batch.objects.filter(pk=draft.pk).update(
        status=Batch.Status.UNDOING, worker="dead:1:x", heartbeat_at=old
    )
    assert batch_undo_recover_stalled() == [str(draft.pk)]
    assert batch_undo_recover_stalled() == []
    draft.refresh_from_db()
    assert draft.worker == "" and draft.heartbeat_at > old
