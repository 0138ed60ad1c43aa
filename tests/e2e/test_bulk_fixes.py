"""A bulk replace in a real browser: counted first, applied, then undone.

Chromium (Debian's) is driven by Playwright; the app runs on pytest-django's live server and
the HubSpot sandbox on its own port. Nothing is sent to HubSpot here.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from appointments.models import BatchRow, Portal
from tests.e2e.conftest import sign_in
from tests.helpers import batch_from_upload
from tests.web import rows_csv

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_bulk_replace_fixes_every_row_with_that_status_word(
    live_server: Any, portal: Portal, hubspot: Any, page: Page
) -> None:
    lines = [line.replace("Scheduled", "Tentative") for line in rows_csv(20)]
    batch = batch_from_upload(
        user=portal.connected_by,
        portal=portal,
        data=("\n".join(lines) + "\n").encode(),
        filename="booked.csv",
    )
    assert batch.rows.filter(state=BatchRow.State.INVALID).count() == 20
    sign_in(page, f"{live_server.url}/batches/{batch.pk}/", portal.connected_by)
    expect(page.locator("[data-count=invalid]")).to_have_text("20")
    page.get_by_role("link", name="Fix many rows at once").click()
    page.get_by_label("Fix", exact=True).select_option("replace")
    page.get_by_label("Column").select_option(label="Appointment status")
    page.get_by_label("Find").fill("Tentative")
    page.get_by_label("Put instead (or in the empty cells)").fill("Scheduled")
    page.get_by_role("button", name="Count the rows it changes").click()
    expect(page.locator("#bulk-count")).to_have_text("This fix changes 20 rows.")

    page.get_by_role("button", name="Change 20 rows").click()
    expect(page.locator(".message.success")).to_contain_text("20 rows changed")
    page.get_by_role("link", name=f"Back to {batch}").click()
    expect(page.locator("[data-count=invalid]")).to_have_text("0")
    expect(page.locator("[data-count=valid]")).to_have_text("20")

    page.get_by_role("link", name="Fix many rows at once").click()
    page.get_by_role("button", name="Undo").click()
    expect(page.locator(".message.success")).to_contain_text("20 rows have their values back")
    assert batch.rows.filter(state=BatchRow.State.INVALID).count() == 20
