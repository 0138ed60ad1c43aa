"""Undo in a real browser: send a file, undo it in two clicks, and the sandbox keeps none of
the batch's records (tasks run inline: the ``hubspot`` fixture's immediate backend)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from appointments.models import Batch, Portal
from tests.e2e.conftest import sign_in, upload_file
from tests.web import rows_csv

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_it_sends_then_undoes_a_batch(
    live_server: Any, portal: Portal, hubspot: Any, page: Page, tmp_path: Path
) -> None:
    user = portal.connected_by
    file = tmp_path / "week.csv"
    file.write_text("\n".join(rows_csv(12)) + "\n", encoding="utf-8")
    sign_in(page, f"{live_server.url}/uploads/new/", user)
    upload_file(page, file)
    page.get_by_role("button", name="Check every row").click()
    page.get_by_role("button", name="Send 12 valid rows to HubSpot").click()
    # The confirmation page names what is sent, and to which portal.
    page.click("#confirm-send")
    expect(page.locator("#batch-status")).to_have_text("Completed", timeout=60_000)
    expect(page.locator("[data-count=created]")).to_have_text("12")
    assert len([r for r in hubspot.appointments() if not r.archived]) == 12

    page.get_by_role("link", name="Undo: archive the 12 appointments this batch created").click()
    expect(page.locator("#undo-rows tbody tr")).to_have_count(12)
    page.get_by_role("button", name="Archive 12 appointments").click()
    expect(page.locator("#batch-status")).to_have_text("Undone", timeout=60_000)
    expect(page.locator("#undo-summary")).to_contain_text("12 archived")
    batch = Batch.objects.get()
    records = set(batch.rows.values_list("hubspot_id", flat=True))
    assert len(records) == 12
    assert [r for r in hubspot.appointments() if r.record_id in records and not r.archived] == []


def test_it_sends_an_update_batch_then_undo_restores_the_values(
    live_server: Any, portal: Portal, hubspot: Any, page: Page, tmp_path: Path
) -> None:
    """Issue 15: a file with a Record ID column updates those appointments; undo writes their
    values back instead of archiving them."""
    first = tmp_path / "week.csv"
    first.write_text("\n".join(rows_csv(3)) + "\n", encoding="utf-8")

    def send(path: Path, update: bool) -> None:
        page.goto(f"{live_server.url}/uploads/new/")
        upload_file(page, path)
        page.get_by_role("button", name="Check every row").click()
        page.get_by_role("button", name="Send 3 valid rows to HubSpot").click()
        if update:
            expect(page.locator("#write-mode input[value=update]")).to_be_checked()
        page.click("#confirm-send")
        expect(page.locator("#batch-status")).to_have_text("Completed", timeout=60_000)

    sign_in(page, f"{live_server.url}/uploads/new/", portal.connected_by)
    send(first, update=False)
    ids = list(Batch.objects.get().rows.order_by("row_number").values_list("hubspot_id", flat=True))
    renames = tmp_path / "renames.csv"
    renames.write_text(
        "Record ID,Appointment name\n" + "".join(f"{i},Moved {n}\n" for n, i in enumerate(ids)),
        encoding="utf-8",
    )
    send(renames, update=True)
    expect(page.locator("td.state", has_text="Updated")).to_have_count(3)
    names = {r.record_id: r.properties["hs_appointment_name"] for r in hubspot.appointments()}
    assert [names[i] for i in ids] == ["Moved 0", "Moved 1", "Moved 2"]

    page.get_by_role(
        "link", name="Undo: archive or restore the 3 appointments this batch created or updated"
    ).click()
    expect(page.locator("[data-undo-action=restore]")).to_have_count(3)
    page.get_by_role("button", name="Undo 3 appointments").click()
    expect(page.locator("#batch-status")).to_have_text("Undone", timeout=60_000)
    expect(page.locator("#undo-summary")).to_contain_text("3 restored")
    records = {r.record_id: r for r in hubspot.appointments()}
    assert [records[i].properties["hs_appointment_name"] for i in ids] == [
        "Visit 1",
        "Visit 2",
        "Visit 3",
    ]
    assert not any(r.archived for r in records.values())
