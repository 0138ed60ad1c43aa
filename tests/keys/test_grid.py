"""The form grid takes contact emails, company domains and owner emails like a file's keys."""

from __future__ import annotations

from typing import Any

from django.test import Client
from django.urls import reverse

from appointments.models import Batch, BatchRow, Portal
from sandbox.seed import DEMO_COMPANY_IDS, DEMO_CONTACT_IDS
from tests.grid.test_grid import grid_post
from tests.intake_fixtures import sent_associations, sent_properties


def test_the_grid_resolves_emails_domains_and_owners(
    logged_client: Client, portal: Portal, hubspot: Any
) -> None:
    rows = [
        {
            "hs_appointment_name": "Found",
            "hs_appointment_start": "2026-12-03T14:00",
            "contact_ids": f"amina.rivera0@example.org;{DEMO_CONTACT_IDS[1]}",
            "company_ids": "www.acme-health.example",
            "hubspot_owner_id": "Tom.Keller@riverside-care.example",
        },
        {"hs_appointment_name": "Unknown", "contact_ids": "nobody@example.org"},
        {"hs_appointment_name": "Old owner", "hubspot_owner_id": "Sam Ortiz"},
        {"hs_appointment_name": "Bad", "company_ids": "not a domain"},
    ]

    page = logged_client.get(
        reverse("appointments:grid-entry") + f"?portal={portal.pk}&timezone=UTC"
    )
    response = logged_client.post(
        reverse("appointments:grid-entry"), grid_post(portal, "create", rows)
    )

    assert '<input type="text" name="r0-hubspot_owner_id"' in page.text
    assert response.status_code == 302
    batch = Batch.objects.get()
    found, unknown, old, bad = batch.rows.order_by("row_number")
    assert found.state == BatchRow.State.READY, found.errors
    assert sorted(sent_associations(found)) == sorted(
        [
            [DEMO_CONTACT_IDS[1], "HUBSPOT_DEFINED", 906],
            [DEMO_CONTACT_IDS[0], "HUBSPOT_DEFINED", 906],
            [DEMO_COMPANY_IDS[0], "HUBSPOT_DEFINED", 908],
        ]
    )
    assert sent_properties(found)["hubspot_owner_id"] == "70110002"
    assert [e["code"] for e in unknown.errors] == ["not_found"]
    assert [e["code"] for e in old.errors] == ["owner_inactive"]
    assert [e["code"] for e in bad.errors] == ["bad_key"]
