"""The sandbox's own pages, and ``manage.py sandbox`` serving the official HubSpot client."""

from __future__ import annotations

import os
import re
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

from sandbox.models import CrmRecord, JournalEntry
from sandbox.seed import DEMO_CONTACT_IDS, DEMO_HUB_ID, DEMO_STATIC_TOKEN
from tests.fixtures_sandbox import Sandbox
from tests.helpers import database_url

ROOT = Path(__file__).resolve().parent.parent


def csrf(page: str) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert match
    return match.group(1)


def test_it_switches_a_fault_from_the_settings_page(sandbox: Sandbox) -> None:
    browser = requests.Session()
    page = browser.get(sandbox.url("/sandbox/"), timeout=10)
    assert page.status_code == 200
    assert "Sandbox-wide switches" in page.text
    prefix = str(sandbox.hub_id)
    form = {
        "csrfmiddlewaretoken": csrf(page.text),
        "form": prefix,
        f"{prefix}-appointments_enabled": "on",
        f"{prefix}-rate_limit_per_10s": "110",
        f"{prefix}-daily_limit": "1000",
        f"{prefix}-search_per_second": "5",
        f"{prefix}-latency_ms": "0",
        f"{prefix}-fault": "503",
        f"{prefix}-fault_remaining": "1",
        f"{prefix}-fault_path_contains": "",
        f"{prefix}-hang_seconds": "60",
    }
    saved = browser.post(sandbox.url("/sandbox/"), data=form, allow_redirects=False, timeout=10)
    assert saved.status_code == 302
    call = requests.get(
        sandbox.url("/crm/properties/2026-03/0-421"),
        headers={"Authorization": f"Bearer {sandbox.token}"},
        timeout=10,
    )
    assert call.status_code == 503
    journal = requests.get(sandbox.url("/sandbox/journal/"), timeout=10)
    assert "/crm/properties/2026-03/0-421" in journal.text
    assert "fault: 503" in journal.text


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
