"""The intake screens in a real browser: mapping screen, an inline fix, the form grid.

Chromium (Debian's) is driven by Playwright; the app runs on pytest-django's live server and
reads the portal's properties from the HubSpot sandbox. Nothing is sent to HubSpot here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from appointments.models import Batch, BatchRow, Portal
from sandbox.seed import DEMO_CONTACT_IDS
from tests.e2e.conftest import sign_in, upload_file
from tests.intake_fixtures import sent_properties

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_it_maps_columns_fixes_a_row_inline_and_enters_rows_in_the_grid(
    live_server: Any,
    portal: Portal,
    page: Page,
    tmp_path: Path,
    django_user_model: type[User],
) -> None:
    user = portal.connected_by
    file = tmp_path / "clinic.csv"
    file.write_text(
        "Appointment name,Start time,Appointment status,Office use,contact_ids\n"
        f"Intake visit,2026-12-03 14:00,Scheduled,Bring forms,{DEMO_CONTACT_IDS[0]}\n"
        f"Follow-up,2026-12-04 09:00,Tentative,,{DEMO_CONTACT_IDS[1]}\n",
        encoding="utf-8",
    )
    sign_in(page, f"{live_server.url}/uploads/new/", user)

    upload_file(page, file)

    # The mapping screen: the "Office use" column is ignored until sent to Visit notes.
    column = page.locator("tr[data-column=D]")
    expect(column).to_contain_text("Bring forms")
    expect(column).to_contain_text("Ignored: this column is not sent.")
    column.locator("select").select_option("p:visit_notes")
    page.get_by_role("button", name="Check every row").click()

    expect(page.locator("[data-count=total]")).to_have_text("2")
    expect(page.locator("[data-count=invalid]")).to_have_text("1")
    row = page.locator("tr[data-row='3']")
    row.get_by_role("link", name="Fix").click()
    # An enumeration is a select of its options, the file's text kept first.
    status = page.locator("select[name=c2]")
    expect(status).to_have_value("Tentative")
    status.select_option("Scheduled")
    page.get_by_role("button", name="Save and check").click()
    # The counts above the table reload on their own once the row is fixed.
    expect(page.locator("[data-count=invalid]")).to_have_text("0")
    expect(page.locator("tr[data-row='3'] .state")).to_have_text("Ready")
    batch = Batch.objects.get()
    assert sent_properties(batch.rows.get(row_number=2))["visit_notes"] == "Bring forms"
    assert batch.rows.get(row_number=3).state == BatchRow.State.READY

    page.goto(f"{live_server.url}/grid/?portal={portal.pk}&timezone=Europe/Paris")
    page.fill("input[name='r0-hs_appointment_name']", "Home visit")
    page.fill("input[name='r0-hs_appointment_start']", "2026-07-01T10:30")
    page.get_by_role("button", name="Remove").nth(2).click()
    expect(page.locator("tr[data-grid-row]")).to_have_count(2)
    page.get_by_role("button", name="Add a row").click()
    expect(page.locator("tr[data-grid-row]")).to_have_count(3)
    page.fill("input[name='r2-hs_appointment_name']", "Phone check")
    page.get_by_role("button", name="Check the rows").click()

    expect(page.locator("[data-count=total]")).to_have_text("2")
    expect(page.locator("[data-count=invalid]")).to_have_text("0")

    grid = Batch.objects.get(source=Batch.Source.GRID)
    rows = {r.row_number: sent_properties(r) for r in grid.rows.all()}
    assert rows == {
        1: {"hs_appointment_name": "Home visit", "hs_appointment_start": "2026-07-01T08:30:00Z"},
        3: {"hs_appointment_name": "Phone check"},
    }
