"""Kill the worker in the middle of a look in HubSpot: a worker started again takes the look
over once its lease expires and ends it, so the batch is never left unsendable."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import pytest

from appointments.models import Batch, Portal
from appointments.services.duplicate_search import batch_search_start
from sandbox.models import DEFAULT_SEARCH_LAG_SECONDS
from sandbox.seed import DEMO_CONTACT_IDS
from tests.batches.test_duplicates import hubspot_create
from tests.helpers import batch_from_upload
from tests.sending.test_crash import big_csv, start_worker
from tests.sending.test_undo_crash import wait_for

ROWS = 1000  # 1,000 distinct starts: 10 searches

pytestmark = pytest.mark.heavy


def test_a_look_killed_midway_is_taken_over_and_ends(
    user: Any, portal: Portal, hubspot: Any, settings: Any, tmp_path: Path
) -> None:
    # Like row 2 of big_csv (its first row), made in HubSpot a while ago.
    record = hubspot_create(hubspot, "2027-01-04T08:00:00Z", DEMO_CONTACT_IDS[0])
    hubspot.advance_clock(DEFAULT_SEARCH_LAG_SECONDS + 1)
    batch = batch_from_upload(
        user=user, portal=portal, data=big_csv(ROWS), filename="big.csv", timezone_name="UTC"
    )
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    hubspot.set_latency(300)  # so that the kill lands between searches
    assert batch_search_start(user=user, batch=batch) == "started"

    def state() -> Batch:
        return Batch.objects.get(pk=batch.pk)

    log_path = tmp_path / "worker.log"
    with log_path.open("ab") as log:
        worker = start_worker(hubspot, tmp_path, log, HUBPORTAL_WORKER_LEASE_SECONDS="4")
        try:
            wait_for(lambda: state().hubspot_search_done >= 2, 90, "two searches done")
        finally:
            worker.send_signal(signal.SIGKILL)
            worker.wait(timeout=10)
        killed = state()
        assert killed.hubspot_search_state == Batch.Search.RUNNING
        assert killed.hubspot_search_done < 10
        worker = start_worker(hubspot, tmp_path, log, HUBPORTAL_WORKER_LEASE_SECONDS="4")
        try:
            wait_for(
                lambda: state().hubspot_search_state != Batch.Search.RUNNING,
                120,
                "the look to end",
            )
        finally:
            worker.terminate()
            worker.wait(timeout=20)

    ended = state()
    assert ended.hubspot_search_state == Batch.Search.DONE, log_path.read_text()[-3000:]
    assert (ended.hubspot_search_done, ended.hubspot_search_total) == (10, 10)
    assert ended.hubspot_duplicates == [{"row": 2, "record_id": record}]
    assert "Queued the look in HubSpot of batch" in log_path.read_text()
    # Taken over from the start: the killed worker's searches, then all ten again.
    assert len(hubspot.journal("/0-421/search")) >= 10 + killed.hubspot_search_done
