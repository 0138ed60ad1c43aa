"""Scale-out: the RQ task backend on Redis, and the call budget shared between processes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import redis

from appointments.models import Batch, BatchRow, Portal
from appointments.services.batches import batch_submit
from sandbox.seed import DEMO_CONTACT_IDS
from tests.helpers import batch_from_upload, database_url

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = "redis://127.0.0.1:6379/15"  # a database of its own, emptied by these tests


@pytest.fixture
def empty_redis() -> redis.Redis:
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    yield client
    client.flushdb()


def run(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *command],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "hubportal.settings", **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_it_sends_a_batch_through_rq_workers_on_redis(
    user: Any, portal: Portal, hubspot: Any, settings: Any, empty_redis: redis.Redis
) -> None:
    lines = ["Appointment name,Start time,contact_ids"]
    lines += [f"RQ visit {i},2027-03-01 09:{i % 60:02d},{DEMO_CONTACT_IDS[0]}" for i in range(250)]
    batch = batch_from_upload(
        user=user,
        portal=portal,
        data="\n".join(lines).encode(),
        filename="rq.csv",
        timezone_name="UTC",
    )
    settings.HUBPORTAL_TASK_BACKEND = "rq"
    settings.RQ_QUEUES = {"default": {"URL": REDIS_URL}}
    settings.TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend"}}

    batch_submit(user=batch.created_by, batch=batch)
    assert empty_redis.llen("rq:queue:default") == 1

    env = {
        "DATABASE_URL": database_url(),
        "HUBPORTAL_TASK_BACKEND": "rq",
        "HUBPORTAL_RQ_REDIS_URL": REDIS_URL,
        "HUBPORTAL_REDIS_URL": REDIS_URL,  # the call budget in Redis too
        "HUBSPOT_API_BASE_URL": hubspot.base_url,
    }
    worker = run(["manage.py", "worker", "--burst"], env)

    assert worker.returncode == 0, worker.stderr[-2000:]
    batch.refresh_from_db()
    assert batch.status == Batch.Status.COMPLETED
    assert batch.rows.filter(state=BatchRow.State.CREATED).count() == 250
    assert len(hubspot.appointments()) == 250
    assert empty_redis.keys(f"hubportal:rate:{portal.hub_id}*")


BUDGET_SCRIPT = """
import django, sys
django.setup()
from appointments.hubspot import pacing
# Blocking with a short timeout, as the engine uses it: a non-blocking try can lose the file
# lock to the limiter's own background leak thread and wrongly report "no budget".
granted = sum(
    pacing._limiter(4242).try_acquire("hub-4242", blocking=True, timeout=0.3) for _ in range(6)
)
print(granted)
"""


@pytest.mark.parametrize("backend", ["sqlite", "redis"])
def test_it_shares_one_call_budget_between_processes(
    backend: str, tmp_path: Path, empty_redis: redis.Redis
) -> None:
    env = {
        "HUBSPOT_RATE_LIMIT_PER_10S": "5",
        "HUBSPOT_RATE_LIMIT_MARGIN": "0",
        "HUBPORTAL_STATE_DIR": str(tmp_path),
        "HUBPORTAL_REDIS_URL": REDIS_URL if backend == "redis" else "",
    }
    first = run(["-c", BUDGET_SCRIPT], env)
    second = run(["-c", BUDGET_SCRIPT], env)

    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    # Six tries each, five calls per 10 s in all: the second process gets none left.
    assert (int(first.stdout), int(second.stdout)) == (5, 0)
