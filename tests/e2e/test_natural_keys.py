"""A booking-system export in a real browser: map an email column, pick the company an
ambiguous domain means in the Fix form, send; HubSpot gets the right records."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from appointments.models import Portal
from sandbox.seed import DEMO_CONTACT_IDS, DEMO_SHARED_DOMAIN, DEMO_TWIN_COMPANY_IDS
from tests.e2e.conftest import sign_in, upload_file

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_it_maps_emails_picks_an_ambiguous_company_and_sends(
    live_server: Any, portal: Portal, page: Page, tmp_path: Path, hubspot: Any
) -> None:
    user = portal.connected_by
    file = tmp_path / "bookings.csv"
    file.write_text(
        "Appointment name,Start time,Client,Website\n"
        "Intake visit,2026-12-03 14:00,Amina.Rivera0@example.org,https://acme-health.example\n"
        f"Follow-up,2026-12-04 09:00,bruno.martin1@example.org,www.{DEMO_SHARED_DOMAIN}\n",
        encoding="utf-8",
    )
    sign_in(page, f"{live_server.url}/uploads/new/", user)
    upload_file(page, file)

    page.locator("tr[data-column=C] select").select_option("k:0-1:906:email")
    page.get_by_role("button", name="Check every row").click()

    expect(page.locator("[data-count=invalid]")).to_have_text("1")
    expect(page.locator("tr[data-row='2']")).to_contain_text(
        f"Amina Rivera, #{DEMO_CONTACT_IDS[0]}"
    )
    expect(page.locator("tr[data-row='3']")).to_contain_text("matches several companies")
    page.locator("tr[data-row='3']").get_by_role("link", name="Fix").click()
    page.locator("select[name='pick-3-0']").select_option(DEMO_TWIN_COMPANY_IDS[1])
    page.get_by_role("button", name="Save and check").click()
    expect(page.locator("[data-count=invalid]")).to_have_text("0")
    expect(page.locator("tr[data-row='3']")).to_contain_text("Twin Clinics South")

    page.get_by_role("button", name="Send 2 valid rows to HubSpot").click()
    # The confirmation page names what is sent, and to which portal.
    page.click("#confirm-send")
    expect(page.locator("[data-count=created]")).to_have_text("2")
    links = {
        tuple(sorted((a["toObjectTypeId"], a["toObjectId"]) for a in record.associations))
        for record in hubspot.appointments()
    }
    assert links == {
        (("0-1", DEMO_CONTACT_IDS[0]), ("0-2", "18771200011")),
        (("0-1", DEMO_CONTACT_IDS[1]), ("0-2", DEMO_TWIN_COMPANY_IDS[1])),
    }


def test_ticking_create_contacts_offers_the_contact_columns(
    live_server: Any, portal: Portal, page: Page, tmp_path: Path
) -> None:
    file = tmp_path / "bookings.csv"
    file.write_text(
        "Appointment name,Client email,Given\nIntake,new.person@example.org,Zoé\n",
        encoding="utf-8",
    )
    sign_in(page, f"{live_server.url}/uploads/new/", portal.connected_by)
    upload_file(page, file)
    target = page.locator("tr[data-column=C] select")
    expect(target.locator("option[value='c:firstname']")).to_have_count(0)

    page.locator("input[name=create_contacts]").check()

    # The screen is redrawn (htmx) with the contact targets offered, the box still ticked.
    expect(target.locator("option[value='c:firstname']")).to_have_count(1)
    expect(page.locator("input[name=create_contacts]")).to_be_checked()
    target.select_option("c:firstname")
    page.get_by_role("button", name="Check every row").click()
    expect(page.locator("[data-count=invalid]")).to_have_text("0")
