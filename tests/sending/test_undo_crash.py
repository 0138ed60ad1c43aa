"""Kill the worker in the middle of an undo: a worker started again finishes it, every record
of the batch archived exactly, nothing else touched."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from appointments.models import Batch, BatchRow, Portal, RowUndo
from appointments.services.batches import batch_submit
from appointments.services.undo import batch_undo_start
from tests.helpers import batch_from_upload
from tests.sending.test_crash import big_csv, start_worker

ROWS = 800

pytestmark = pytest.mark.heavy


def wait_for(predicate: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_an_undo_killed_midway_resumes_and_archives_exactly_the_batch(
    user: Any, portal: Portal, hubspot: Any, settings: Any, tmp_path: Path
) -> None:
    other = batch_from_upload(
        user=user, portal=portal, data=big_csv(3), filename="other.csv", timezone_name="UTC"
    )
    batch_submit(user=user, batch=other, on_duplicate="create")
    batch = batch_from_upload(
        user=user, portal=portal, data=big_csv(ROWS), filename="big.csv", timezone_name="UTC"
    )
    batch_submit(user=user, batch=batch, on_duplicate="create")
    batch.refresh_from_db()
    assert batch.status == Batch.Status.COMPLETED
    created = set(batch.rows.values_list("hubspot_id", flat=True))
    assert len(created) == ROWS
    kept = set(other.rows.values_list("hubspot_id", flat=True))

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    hubspot.set_latency(300)  # so that the kill lands between calls of the undo
    batch_undo_start(batch=batch, user=user)
    log_path = tmp_path / "worker.log"
    with log_path.open("ab") as log:
        worker = start_worker(hubspot, tmp_path, log, HUBPORTAL_WORKER_LEASE_SECONDS="4")
        try:
            wait_for(
                lambda: batch.undos.filter(outcome=RowUndo.Outcome.ARCHIVED).exists(),
                90,
                "a first archive call",
            )
        finally:
            worker.send_signal(signal.SIGKILL)
            worker.wait(timeout=10)
        batch.refresh_from_db()
        assert batch.status == Batch.Status.UNDOING  # the kill hit an undo still at work
        worker = start_worker(hubspot, tmp_path, log, HUBPORTAL_WORKER_LEASE_SECONDS="4")
        try:
            wait_for(
                lambda: Batch.objects.get(pk=batch.pk).status == Batch.Status.UNDONE,
                180,
                "the undo to finish",
            )
        finally:
            worker.terminate()
            worker.wait(timeout=20)

    live = {r.record_id for r in hubspot.appointments() if not r.archived}
    assert live == kept, log_path.read_text()[-3000:]
    outcomes = dict(batch.undos.values_list("record_id", "outcome"))
    assert set(outcomes) == created
    assert set(outcomes.values()) == {RowUndo.Outcome.ARCHIVED}
    archived = [
        json.loads(entry.request_body)["inputs"] for entry in hubspot.journal("/batch/archive")
    ]
    assert all(len(inputs) <= 100 for inputs in archived)
    assert {item["id"] for inputs in archived for item in inputs} == created
    assert batch.rows.filter(state=BatchRow.State.CREATED).count() == ROWS
