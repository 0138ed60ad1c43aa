"""Outcomes named truly: a call that never reached HubSpot is "not sent" and is sent again; only
a call that may have reached it is an unknown outcome. Real sockets on 127.0.0.1 throughout."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from appointments.hubspot.client import HubSpotClient
from appointments.hubspot.errors import HubSpotNotSent, HubSpotUnknownOutcome
from appointments.models import Batch, BatchRow, Portal
from appointments.services.batches import batch_submit
from appointments.services.sending import batch_send
from sandbox.server import start_server, stop
from tests.helpers import database_url
from tests.web import csv_upload, rows_csv
from tests.web import upload_and_confirm as upload

ROOT = Path(__file__).resolve().parents[2]
INPUT = {"properties": {"hs_appointment_name": "Probe"}, "associations": []}


def closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on (bound, then closed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def full_backlog() -> Iterator[int]:
    """A port that accepts no more connections: its listen queue is full, so a connect times
    out (the kernel drops the SYNs) although the port is open."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = int(server.getsockname()[1])
    waiting = []
    for _ in range(4):
        client = socket.socket()
        client.setblocking(False)
        # Non-blocking: the connect completes in the listen queue, or stays pending.
        with contextlib.suppress(BlockingIOError):
            client.connect(("127.0.0.1", port))
        waiting.append(client)
    yield port
    for client in waiting:
        client.close()
    server.close()


def create_at(base_url: str, token: str = "unchecked") -> None:  # noqa: S107
    with HubSpotClient(token, base_url=base_url) as client:
        client.batch_create([INPUT])


def test_it_calls_a_refused_connection_not_sent(settings: Any) -> None:
    with pytest.raises(HubSpotNotSent, match="Connection refused"):
        create_at(f"http://127.0.0.1:{closed_port()}")


def test_it_calls_a_name_that_does_not_resolve_not_sent(settings: Any) -> None:
    with pytest.raises(HubSpotNotSent):
        create_at("http://no-such-host.invalid")


def test_it_calls_a_connect_timeout_not_sent(settings: Any, full_backlog: int) -> None:
    settings.HUBSPOT_TIMEOUT_SECONDS = 0.3
    with pytest.raises(HubSpotNotSent):
        create_at(f"http://127.0.0.1:{full_backlog}")


def test_it_calls_a_failed_tls_handshake_not_sent(hubspot: Any) -> None:
    # https:// to a port that speaks plain HTTP: the handshake fails before the request.
    with pytest.raises(HubSpotNotSent, match="WRONG_VERSION_NUMBER"):
        create_at(hubspot.base_url.replace("http://", "https://"), hubspot.token)
    assert hubspot.journal("/batch/create") == []


def test_it_calls_a_lost_answer_an_unknown_outcome(hubspot: Any, settings: Any) -> None:
    settings.HUBSPOT_TIMEOUT_SECONDS = 0.5
    hubspot.set_fault("create_timeout", times=1, hang_seconds=2)
    with pytest.raises(HubSpotUnknownOutcome):
        create_at(hubspot.base_url, hubspot.token)
    assert len(hubspot.appointments()) == 1  # it did reach HubSpot


def test_it_calls_a_connection_dropped_after_sending_an_unknown_outcome(hubspot: Any) -> None:
    hubspot.set_fault("drop", times=1)
    with pytest.raises(HubSpotUnknownOutcome):
        create_at(hubspot.base_url, hubspot.token)
    assert len(hubspot.journal("/batch/create")) == 1


def assert_created_once(batch: Batch, sandbox: Any) -> None:
    names = Counter(r.properties["hs_appointment_name"] for r in sandbox.appointments())
    assert set(names.values()) == {1}
    assert len(names) == batch.rows.count()
    assert Counter(batch.rows.values_list("state", flat=True)) == {
        BatchRow.State.CREATED: batch.rows.count()
    }


def test_it_sends_again_a_call_refused_before_it_reached_hubspot(
    logged_client: Client,
    portal: Portal,
    hubspot: Any,
    settings: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    upload(logged_client, portal, csv_upload(rows_csv(150)))
    batch = Batch.objects.get()
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    batch_submit(user=batch.created_by, batch=batch)
    # HubSpot is out of reach (nothing listens on the port), then comes back on it.
    port = closed_port()
    settings.HUBSPOT_API_BASE_URL = f"http://127.0.0.1:{port}"
    servers = []

    def come_back() -> None:
        for _ in range(200):
            if any("not sent" in r.getMessage() for r in caplog.records):
                break
            threading.Event().wait(0.05)
        servers.append(start_server(port=port)[0])

    back = threading.Thread(target=come_back)
    with caplog.at_level(logging.WARNING, logger="appointments.services.sending"):
        back.start()
        try:
            batch_send(batch_id=str(batch.pk))
        finally:
            back.join()
            for server in servers:
                stop(server)

    batch.refresh_from_db()
    assert batch.status == Batch.Status.COMPLETED
    assert any("not sent" in r.getMessage() for r in caplog.records)
    # Known never to have been sent: sent again without searching for what it created.
    assert hubspot.journal("/search") == []
    assert not batch.calls.filter(reconciled__gt=0).exists()
    assert_created_once(batch, hubspot)


def test_a_worker_pointed_at_the_wrong_port_leaves_no_row_that_may_have_been_created(
    logged_client: Client, portal: Portal, hubspot: Any, settings: Any, tmp_path: Path
) -> None:
    upload(logged_client, portal, csv_upload(rows_csv(150)))
    batch = Batch.objects.get()
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    batch_submit(user=batch.created_by, batch=batch)

    worker = subprocess.run(
        [sys.executable, "manage.py", "worker", "--burst"],
        cwd=ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "hubportal.settings",
            "DATABASE_URL": database_url(),
            # The README's worker command run outside `make run`: the default sandbox port
            # is not this one, and nothing listens there.
            "HUBSPOT_API_BASE_URL": f"http://127.0.0.1:{closed_port()}",
            "HUBPORTAL_STATE_DIR": str(tmp_path),
            "HUBPORTAL_RETRY_WAIT_MAX_SECONDS": "0",
        },
        capture_output=True,
        text=True,
        timeout=150,
        check=False,
    )

    assert worker.returncode == 0, worker.stderr[-3000:]
    batch.refresh_from_db()
    assert batch.status == Batch.Status.PAUSED
    assert "could not be reached" in batch.status_text
    assert not batch.rows.filter(error_category="UNKNOWN_OUTCOME").exists()
    assert batch.rows.filter(state=BatchRow.State.READY).count() == 150
    assert hubspot.journal("/batch/create") == []

    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    logged_client.post(f"/batches/{batch.pk}/submit/")

    batch.refresh_from_db()
    assert batch.status == Batch.Status.COMPLETED
    assert_created_once(batch, hubspot)
