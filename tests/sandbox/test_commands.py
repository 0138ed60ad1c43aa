"""``manage.py sandbox`` serving the official HubSpot client, and ``manage.py sandbox_set``."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from hubspot import HubSpot
from hubspot.crm.objects import (
    AssociationSpec,
    BatchInputSimplePublicObjectBatchInputForCreate,
    PublicAssociationsForObject,
    PublicObjectId,
    SimplePublicObjectBatchInputForCreate,
)

from sandbox.models import CrmRecord, JournalEntry, Switches
from sandbox.seed import DEMO_CONTACT_IDS, DEMO_HUB_ID, DEMO_STATIC_TOKEN
from tests.fixtures_sandbox import Sandbox
from tests.helpers import database_url

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def standalone(sandbox: Sandbox) -> Iterator[tuple[str, list[str]]]:
    """``manage.py sandbox`` in a subprocess on the test database; yields (URL, its lines)."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "DJANGO_SETTINGS_MODULE": "hubportal.settings",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "sandbox",
            "--port",
            str(port),
            "--rate-limit",
            "50",
            "--journal",
            "summary",
            "--search-lag",
            "2.5",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 30
        assert process.stdout is not None
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line.strip())
            if line.startswith("HUBSPOT_SANDBOX_URL="):
                break
        assert any(x.startswith("HUBSPOT_SANDBOX_URL=") for x in lines), lines
        yield f"http://127.0.0.1:{port}", lines
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


def test_it_serves_the_official_hubspot_client_from_manage_py_sandbox(
    standalone: tuple[str, list[str]],
) -> None:
    base_url, lines = standalone
    assert f"HUBSPOT_SANDBOX_HUB_ID={DEMO_HUB_ID}" in lines
    assert f"HUBSPOT_SANDBOX_TOKEN={DEMO_STATIC_TOKEN}" in lines
    client = HubSpot(access_token=DEMO_STATIC_TOKEN, host=base_url)
    contact = PublicAssociationsForObject(
        to=PublicObjectId(id=DEMO_CONTACT_IDS[0]),
        types=[AssociationSpec(association_category="HUBSPOT_DEFINED", association_type_id=906)],
    )
    batch = BatchInputSimplePublicObjectBatchInputForCreate(
        inputs=[
            SimplePublicObjectBatchInputForCreate(
                properties={"hs_appointment_name": f"SDK visit {n}"},
                associations=[contact],
                object_write_trace_id=f"sdk-{n}",
            )
            for n in range(3)
        ]
    )
    result = client.crm.objects.batch_api.create(
        object_type="0-421", batch_input_simple_public_object_batch_input_for_create=batch
    )
    assert result.status == "COMPLETE"
    assert sorted(r.properties["hs_appointment_name"] for r in result.results) == [
        "SDK visit 0",
        "SDK visit 1",
        "SDK visit 2",
    ]
    stored = CrmRecord.objects.filter(object_type="0-421", portal__hub_id=DEMO_HUB_ID)
    assert stored.count() == 3
    # Started with --journal summary: sizes, no bodies.
    [entry] = JournalEntry.objects.filter(path__endswith="/batch/create")
    assert (entry.status, entry.request_body, entry.response_body) == (201, "", "")
    assert entry.request_bytes > 0 and entry.response_bytes > 0
    headers = requests.get(
        f"{base_url}/crm/properties/2026-03/0-421",
        headers={"Authorization": f"Bearer {DEMO_STATIC_TOKEN}"},
        timeout=10,
    ).headers
    assert headers["X-HubSpot-RateLimit-Max"] == "50"
    assert Switches.objects.get().search_lag_seconds == 2.5


def test_it_switches_faults_and_limits_from_the_command_line(sandbox: Sandbox) -> None:
    from django.core.management import call_command

    call_command("sandbox_set", "--fault", "423", "--times", "1", "--rate-limit", "7")
    headers = {"Authorization": f"Bearer {sandbox.token}"}
    url = sandbox.url("/crm/properties/2026-03/0-421")
    assert requests.get(url, headers=headers, timeout=10).status_code == 423
    again = requests.get(url, headers=headers, timeout=10)
    assert again.status_code == 200
    assert again.headers["X-HubSpot-RateLimit-Max"] == "7"
    call_command("sandbox_set", "--appointments", "off")
    enablement = requests.get(
        sandbox.url("/crm/object-library/2026-03/enablement/0-421"), headers=headers, timeout=10
    )
    assert enablement.json() == {"enablement": False}
