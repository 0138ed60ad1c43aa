"""The whole job in a real browser: sign in, connect through OAuth, upload, send, read results.

Chromium (Debian's) is driven by Playwright; the app runs on pytest-django's live server, the
HubSpot sandbox on its own port, and a real worker process (``manage.py worker``) sends the batch.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from appointments.services.access import ADMIN, role_set
from sandbox.models import JournalEntry
from sandbox.seed import register_redirect_uri
from tests.e2e.conftest import ARTIFACTS, ROOT, sign_in, upload_file
from tests.helpers import database_url

WORKBOOK = ROOT / "tests" / "data" / "appointments-250.xlsx"

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker(sandbox: Any, settings: Any) -> Iterator[subprocess.Popen[bytes]]:
    """A real task worker process on the test database, talking to the sandbox."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "hubportal.settings",
        "DATABASE_URL": database_url(),
        "HUBSPOT_API_BASE_URL": sandbox.base_url,
        "HUBSPOT_APP_BASE_URL": sandbox.base_url,
    }
    ARTIFACTS.mkdir(exist_ok=True)
    log = (ARTIFACTS / "e2e-worker.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "manage.py", "worker", "--interval", "0.2"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    yield process
    process.terminate()
    process.wait(timeout=20)
    log.close()


def test_it_connects_uploads_and_creates_appointments_in_calls_of_100(
    live_server: Any,
    sandbox: Any,
    settings: Any,
    worker: subprocess.Popen[bytes],
    page: Page,
    django_user_model: type[User],
) -> None:
    settings.HUBSPOT_API_BASE_URL = sandbox.base_url
    settings.HUBSPOT_APP_BASE_URL = sandbox.base_url
    register_redirect_uri(f"{live_server.url}/hubspot/oauth/callback")
    chloe = django_user_model.objects.create_user(username="ops-chloe")
    role_set(chloe, ADMIN)  # she connects the portal
    sign_in(page, f"{live_server.url}/", chloe)

    page.get_by_role("button", name="Connect HubSpot").click()
    # The sandbox's consent screen: approve for the demo portal.
    page.get_by_role("button", name="Connect app").click()
    expect(page.locator(".message.success")).to_contain_text(f"{sandbox.hub_id}")

    upload_file(page, WORKBOOK)
    page.get_by_role("button", name="Check every row").click()

    expect(page.locator("[data-count=total]")).to_have_text("250")
    expect(page.locator("[data-count=invalid]")).to_have_text("1")
    page.get_by_role("link", name="Invalid", exact=True).click()
    invalid = page.locator("tr[data-row='121']")
    expect(invalid).to_contain_text("Row 121")
    expect(invalid).to_contain_text("Tentative")

    page.get_by_role("button", name="Send 249 valid rows to HubSpot").click()
    # The confirmation names the count and the portal before anything is sent.
    page.get_by_role("button", name="Send 249 appointments to Riverside Care Network").click()
    expect(page.locator("#batch-status")).to_have_text("Completed", timeout=90_000)
    expect(page.locator("[data-count=created]")).to_have_text("249")
    expect(page.locator("[data-count=failed]")).to_have_text("0")
    expect(page.locator("[data-count=invalid]")).to_have_text("1")
    expect(page.locator("#calls .hubspot-status")).to_have_text(["COMPLETE"] * 3)

    creates = [
        json.loads(entry.request_body)
        for entry in JournalEntry.objects.filter(path__endswith="/batch/create").order_by("id")
    ]
    assert sorted(len(body["inputs"]) for body in creates) == [49, 100, 100]
    names = [i["properties"]["hs_appointment_name"] for body in creates for i in body["inputs"]]
    assert len(names) == len(set(names)) == 249
    assert not any(name.endswith("#120") for name in names)
