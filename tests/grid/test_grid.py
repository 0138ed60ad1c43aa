"""The form grid over HTTP against the sandbox: built from the portal's properties, checked
like an upload."""

from __future__ import annotations

import re
from typing import Any

from django.test import Client
from django.urls import reverse

from appointments.models import Batch, BatchRow, Portal
from sandbox.seed import DEMO_COMPANY_IDS, DEMO_CONTACT_IDS
from tests.intake_fixtures import sent_associations, sent_properties


def grid_url(portal: Portal) -> str:
    return reverse("appointments:grid-entry") + f"?portal={portal.pk}&timezone=Europe/Paris"


def test_it_builds_the_grid_from_the_portals_properties(
    logged_client: Client, portal: Portal
) -> None:
    page = logged_client.get(grid_url(portal))

    assert page.status_code == 200
    assert '<input type="datetime-local" name="r0-hs_appointment_start"' in page.text
    assert '<input type="date" name="r0-follow_up_date"' in page.text
    assert '<input type="number" name="r0-party_size"' in page.text
    assert '<input type="checkbox" name="r0-interpreter_needed" value="true"' in page.text
    assert '<option value="no_show">No show</option>' in page.text
    assert 'name="r0-visit_channels" ' in page.text and " multiple>" in page.text
    assert 'name="r2-contact_ids"' in page.text and 'name="r3-contact_ids"' not in page.text
    assert "hs_object_id" not in page.text  # read-only
    assert "(Europe/Paris)" in page.text


def grid_post(portal: Portal, action: str, rows: list[dict[str, str]]) -> dict[str, Any]:
    data: dict[str, Any] = {
        "portal": portal.pk,
        "timezone": "Europe/Paris",
        "rows": len(rows),
        "action": action,
    }
    for index, row in enumerate(rows):
        data.update({f"r{index}-{key}": value for key, value in row.items()})
    return data


def test_it_adds_and_removes_grid_rows_with_htmx(logged_client: Client, portal: Portal) -> None:
    url = reverse("appointments:grid-entry")
    rows = [{"hs_appointment_name": "First"}, {"hs_appointment_name": "Second"}]
    htmx = {"HX-Request": "true"}

    added = logged_client.post(url, grid_post(portal, "add", rows), headers=htmx)
    removed = logged_client.post(url, grid_post(portal, "remove:0", rows), headers=htmx)
    full = logged_client.post(url, grid_post(portal, "add", rows))

    assert added.text.strip().startswith('<form id="grid-form"')
    assert "<html" not in added.text
    assert 'name="r2-hs_appointment_name" value=""' in added.text
    assert 'name="r0-hs_appointment_name" value="First"' in added.text
    assert 'name="r0-hs_appointment_name" value="Second"' in removed.text
    assert 'name="r1-hs_appointment_name"' not in removed.text
    assert "<html" in full.text and 'name="r2-hs_appointment_name"' in full.text


def test_it_creates_a_batch_from_the_grid_checked_like_an_upload(
    logged_client: Client, portal: Portal
) -> None:
    rows = [
        {
            "hs_appointment_name": "Home visit",
            "hs_appointment_start": "2026-07-01T10:30",
            "hs_appointment_status": "scheduled",
            "interpreter_needed": "true",
            "party_size": "2",
            "contact_ids": f"{DEMO_CONTACT_IDS[0]};{DEMO_CONTACT_IDS[1]}",
            "company_ids": DEMO_COMPANY_IDS[0],
        },
        {},
        {"hs_appointment_start": "2026-07-02T09:00", "contact_ids": "12ab"},
    ]
    data = grid_post(portal, "create", rows)
    data["r0-visit_channels"] = ["phone", "video"]

    response = logged_client.post(
        reverse("appointments:grid-entry"), data, headers={"HX-Request": "true"}
    )

    batch = Batch.objects.get()
    assert response.status_code == 200
    assert response["HX-Redirect"] == reverse("appointments:batch-detail", args=[batch.pk])
    assert batch.source == Batch.Source.GRID
    first, third = batch.rows.order_by("row_number")
    assert (first.row_number, first.state, third.row_number) == (1, "ready", 3)
    assert sent_properties(first) == {
        "hs_appointment_name": "Home visit",
        "hs_appointment_start": "2026-07-01T08:30:00Z",  # Paris is UTC+2 in July
        "hs_appointment_status": "scheduled",
        "interpreter_needed": "true",
        "party_size": "2",
        "visit_channels": "phone;video",
    }
    assert [record_id for record_id, _category, _type_id in sent_associations(first)] == [
        DEMO_CONTACT_IDS[0],
        DEMO_CONTACT_IDS[1],
        DEMO_COMPANY_IDS[0],
    ]
    assert third.state == BatchRow.State.INVALID
    assert sorted(e["column"] for e in third.errors) == [
        "Appointment name",
        "Contacts (email or record ID)",
    ]
    assert all("Row 3" in e["message"] for e in third.errors)


def test_it_refuses_an_empty_grid(logged_client: Client, portal: Portal) -> None:
    response = logged_client.post(
        reverse("appointments:grid-entry"), grid_post(portal, "create", [{}, {}])
    )
    assert response.status_code == 200
    assert "Every row is empty. Fill in at least one appointment." in response.text
    assert not Batch.objects.exists()


def test_it_asks_hubspot_for_the_schema_once_per_grid_session(
    logged_client: Client, portal: Portal, hubspot: Any
) -> None:
    url = reverse("appointments:grid-entry")
    rows = [{"hs_appointment_name": "First"}, {"hs_appointment_name": "Second"}]
    htmx = {"HX-Request": "true"}

    logged_client.get(grid_url(portal))
    shown = len(hubspot.journal())
    added = logged_client.post(url, grid_post(portal, "add", rows), headers=htmx)
    removed = logged_client.post(url, grid_post(portal, "remove:1", rows), headers=htmx)
    created = logged_client.post(url, grid_post(portal, "create", rows), headers=htmx)

    # Properties, the three label lists and the three objects' properties (their unique-value
    # keys), read when the grid was shown, and nothing since.
    assert shown == 7
    assert len(hubspot.journal("/crm/properties/2026-03/0-421")) == 1
    assert len(hubspot.journal()) == shown
    assert 'name="r2-hs_appointment_name" value=""' in added.text
    assert 'name="r1-hs_appointment_name"' not in removed.text
    assert created["HX-Redirect"] == reverse(
        "appointments:batch-detail", args=[Batch.objects.get().pk]
    )
    # Showing the grid again reads the portal's schema afresh.
    logged_client.get(grid_url(portal))
    assert len(hubspot.journal("/crm/properties/2026-03/0-421")) == 2


def test_it_offers_user_defined_association_labels_in_the_grid(
    logged_client: Client, portal: Portal
) -> None:
    page = logged_client.get(grid_url(portal)).text
    rows = [
        {
            "hs_appointment_name": "Site visit",
            "contact_ids-37": DEMO_CONTACT_IDS[2],
            "company_ids-41": DEMO_COMPANY_IDS[1],
        }
    ]

    logged_client.post(reverse("appointments:grid-entry"), grid_post(portal, "create", rows))

    # Each association input says what it takes (not "Contact IDs": emails and domains too).
    headers = re.findall(r"<th>((?:Contacts|Companies|Deals) [^<*]*?)\s*(?:<span|</th>)", page)
    assert headers == [
        "Contacts (email or record ID)",
        "Contacts as Attendee (email or record ID)",
        "Contacts as Interpreter (email or record ID)",
        "Contacts by Patient number",
        "Companies (domain or record ID)",
        "Companies as Venue (domain or record ID)",
        "Companies by Account number",
        "Deals (deal name or record ID)",
        "Deals as Related deal (deal name or record ID)",
        "Deals by Booking reference",
    ]
    assert 'name="r0-contact_ids-39"' in page and 'name="r0-deal_ids-43"' in page
    (row,) = Batch.objects.get().rows.all()
    assert row.state == BatchRow.State.READY
    assert sent_associations(row) == [
        [DEMO_CONTACT_IDS[2], "USER_DEFINED", 37],
        [DEMO_COMPANY_IDS[1], "USER_DEFINED", 41],
    ]
