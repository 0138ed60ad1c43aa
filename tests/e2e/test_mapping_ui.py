"""Mapping a booking export in a real browser: natural headers, its own status words and a
split date and time mapped once, then back from the batch to its columns and again.

Chromium (Debian's) is driven by Playwright; the app runs on pytest-django's live server and
reads the portal's properties from the HubSpot sandbox. Nothing is sent to HubSpot here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from appointments.models import Batch, BatchRow, Portal
from tests.e2e.conftest import sign_in, upload_file
from tests.intake_fixtures import sent_properties

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

BOOKING = (
    "Appointment title,Date,Time,Client email,Notes,Status\n"
    "Check-up,2026-12-10,09:00,ada@example.com,First visit,Confirmed\n"
    "Follow-up,2026-12-11,14:30,bob@example.com,,Booked\n"
    "Review,2026-12-12,10:00,cy@example.com,Bring the report,Booked\n"
)


def test_a_booking_export_is_mapped_once_then_its_columns_changed_from_the_batch(
    live_server: Any, portal: Portal, page: Page, tmp_path: Path
) -> None:
    user = portal.connected_by
    file = tmp_path / "bookings.csv"
    file.write_text(BOOKING, encoding="utf-8")
    sign_in(page, f"{live_server.url}/uploads/new/", user)
    upload_file(page, file)

    # Every header is matched, each with how sure the guess is.
    expect(page.locator("select[name=col_0]")).to_have_value("p:hs_appointment_name")
    expect(page.locator("select[name=col_1]")).to_have_value("p:hs_appointment_start")
    expect(page.locator("select[name=col_4]")).to_have_value("p:visit_notes")
    expect(page.locator("select[name=col_5]")).to_have_value("p:hs_appointment_status")
    expect(page.locator("tr[data-column=A] .proposal")).to_contain_text("% sure")
    # The date takes its time of day from the "Time" column.
    expect(page.locator("select[name=how_1]")).to_have_value("time:2")
    # The fixed time of day shows only once its choice is picked (no round trip).
    fixed = page.locator("input[name=fixed_1]")
    expect(fixed).to_be_hidden()
    page.locator("select[name=how_1]").select_option("fixed")
    expect(fixed).to_be_visible()
    page.locator("select[name=how_1]").select_option("time:2")
    expect(fixed).to_be_hidden()
    # The status words, with their counts, proposed as "Scheduled".
    values = page.locator("table[data-values=F]")
    expect(values).to_contain_text("Confirmed")
    expect(values.locator("tr", has_text="Booked")).to_contain_text("2")
    expect(page.locator("select[name=value_5_0]")).to_have_value("scheduled")
    expect(page.locator("select[name=value_5_1]")).to_have_value("scheduled")
    # E-mail addresses are no record IDs on this branch (issue 13 links contacts by them).
    page.locator("select[name=col_3]").select_option("")
    # The screen redraws itself for the new choice (htmx): the column now says it is ignored.
    expect(page.locator("tr[data-column=D] .ignored")).to_be_visible()
    expect(page.locator("tr[data-column=D] .proposal")).to_have_count(0)
    page.get_by_role("button", name="Check every row").click()

    expect(page.locator("[data-count=total]")).to_have_text("3")
    expect(page.locator("[data-count=invalid]")).to_have_text("0")
    batch_url = page.url
    batch = Batch.objects.get()
    first = batch.rows.get(row_number=2)
    assert sent_properties(first)["hs_appointment_start"] == "2026-12-10T08:00:00Z"
    assert sent_properties(first)["hs_appointment_status"] == "scheduled"

    # Back to the columns, without uploading again: the notes are left out this time.
    page.locator("#change-columns").click()
    expect(page.locator("#remap-note")).to_be_visible()
    expect(page.locator("select[name=col_5]")).to_have_value("p:hs_appointment_status")
    expect(page.locator("select[name=value_5_1]")).to_have_value("scheduled")
    page.locator("select[name=col_4]").select_option("")
    page.get_by_role("button", name="Check every row").click()

    expect(page.locator("[data-count=total]")).to_have_text("3")
    assert page.url == batch_url

    assert Batch.objects.count() == 1
    rows = Batch.objects.get().rows.order_by("row_number")
    assert [row.state for row in rows] == [BatchRow.State.READY] * 3
    assert all("visit_notes" not in sent_properties(row) for row in rows)
    assert sent_properties(rows[2])["hs_appointment_start"] == "2026-12-12T09:00:00Z"
