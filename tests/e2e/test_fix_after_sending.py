"""Fixing after sending, in a real browser: a row HubSpot refused is fixed and sent again
alone; a canceled batch is resumed. Send and Cancel confirm first, without inline script.

Chromium (Debian's) is driven by Playwright; the app runs on pytest-django's live server, the
HubSpot sandbox on its own port; tasks run inline (the ``hubspot`` fixture).
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from appointments.models import Batch, BatchRow, Portal
from appointments.services.batches import batch_submit
from sandbox.seed import DEMO_CONTACT_IDS
from tests.e2e.conftest import sign_in
from tests.helpers import batch_from_upload
from tests.web import rows_csv

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_row_hubspot_refused_is_fixed_and_sent_again(
    live_server: Any, portal: Portal, hubspot: Any, page: Page
) -> None:
    lines = rows_csv(3)
    lines[2] = lines[2].replace(lines[2].split(",")[4], "99999999999")
    batch = batch_from_upload(
        user=portal.connected_by,
        portal=portal,
        data=("\n".join(lines) + "\n").encode(),
        filename="refused.csv",
    )
    batch_submit(user=batch.created_by, batch=batch)
    assert batch.rows.get(row_number=3).state == BatchRow.State.FAILED
    sign_in(page, f"{live_server.url}/batches/{batch.pk}/", portal.connected_by)
    row = page.locator("tr[data-row='3']")
    expect(row).to_contain_text("Failed")
    expect(page.locator("#refused-help")).to_contain_text("HubSpot refused 1 row")
    row.get_by_role("link", name="Fix").click()
    # The form takes the focus once swapped in (its first cell): typing waits for that.
    expect(page.locator("#row-3-c0")).to_be_focused()
    page.fill("#row-3-c4", DEMO_CONTACT_IDS[0])
    page.get_by_role("button", name="Save and check").click()
    expect(page.locator("tr[data-row='3'] td.state")).to_have_text("Ready")

    page.get_by_role("button", name="Send 1 fixed row to HubSpot").click()
    page.get_by_role("button", name="Send 1 appointment to HubSpot").click()
    expect(page.locator("tr[data-row='3'] td.state")).to_have_text("Created")
    expect(page.locator("[data-count=created]")).to_have_text("3")
    inputs = [len(e.request_body) for e in hubspot.journal("/batch/create", method="POST")]
    assert len(inputs) == 2  # the first call, then the fixed row alone
    assert batch.rows.filter(state=BatchRow.State.CREATED).count() == 3


def test_a_canceled_batch_is_resumed(
    live_server: Any, portal: Portal, hubspot: Any, page: Page
) -> None:
    batch = batch_from_upload(
        user=portal.connected_by,
        portal=portal,
        data=("\n".join(rows_csv(250)) + "\n").encode(),
        filename="long.csv",
    )
    hubspot.set_limits(daily=9)  # 7 schema reads, two calls of 100, then paused
    batch_submit(user=batch.created_by, batch=batch)
    batch.refresh_from_db()
    assert batch.status == Batch.Status.PAUSED
    sign_in(page, f"{live_server.url}/batches/{batch.pk}/", portal.connected_by)
    page.get_by_role("button", name="Cancel the batch").click()
    page.get_by_role("button", name="Cancel the batch, leaving 50 rows unsent").click()
    expect(page.locator("#batch-status")).to_have_text("Canceled")
    expect(page.locator("[data-count=unsent]")).to_have_text("50")
    hubspot.set_limits(daily=1000)

    page.get_by_role("button", name="Resume: send 50 rows to HubSpot").click()
    page.get_by_role("button", name="Send 50 appointments to HubSpot").click()
    expect(page.locator("#batch-status")).to_have_text("Completed")
    expect(page.locator("[data-count=created]")).to_have_text("250")
    names = [record.properties["hs_appointment_name"] for record in hubspot.appointments()]
    assert len(names) == len(set(names)) == 250
