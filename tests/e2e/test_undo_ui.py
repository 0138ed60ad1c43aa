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
