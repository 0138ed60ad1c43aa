"""Association columns keyed by any unique-value property of contacts, companies or deals
(a patient number, an account number, a booking reference): offered and proposed on the
mapping screen, read by ``idProperty`` in bulk, and the same in the grid and the CLI. Over
HTTP against the sandbox."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
import requests
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from appointments.models import Batch, BatchRow, Portal
from appointments.services.portals import portal_schema
from sandbox.models import Token
from sandbox.seed import (
    DEMO_ACCOUNT_NUMBERS,
    DEMO_BOOKING_REFS,
    DEMO_COMPANY_IDS,
    DEMO_CONTACT_IDS,
    DEMO_DEAL_IDS,
    DEMO_MORE_CONTACT_IDS,
    DEMO_PATIENT_NUMBERS,
)
from tests.grid.test_grid import grid_post
from tests.intake_fixtures import sent_associations
from tests.web import confirm, csv_file, form_values, mapping_url, upload

pytestmark = pytest.mark.django_db(transaction=True)

HEADER = "Appointment name,Start time,Patient number,Account number"
ROWS = [
    f"Intake,2026-12-03 14:00,{DEMO_PATIENT_NUMBERS[0]},{DEMO_ACCOUNT_NUMBERS[1]}",
    "Check,2026-12-03 15:00,PN-999999,",
    f"Long,2026-12-03 16:00,{'X' * 300},",
    f"Two,2026-12-03 17:00,{DEMO_PATIENT_NUMBERS[1]}; {DEMO_PATIENT_NUMBERS[60]},",
]


def test_the_sandbox_lists_unique_value_properties_and_reads_records_by_them(
    hubspot: Any,
) -> None:
    auth = {"Authorization": f"Bearer {hubspot.token}"}
    listed = requests.get(hubspot.url("/crm/properties/2026-03/contacts"), headers=auth, timeout=10)
    read = requests.post(
        hubspot.url("/crm/objects/2026-03/0-1/batch/read"),
        headers=auth,
        json={
            "idProperty": "patient_number",
            "inputs": [{"id": DEMO_PATIENT_NUMBERS[0]}, {"id": "PN-999999"}],
            "properties": ["firstname"],
            "propertiesWithHistory": [],
        },
        timeout=10,
    )
    by_name = requests.post(
        hubspot.url("/crm/objects/2026-03/0-1/batch/read"),
        headers=auth,
        json={"idProperty": "firstname", "inputs": [{"id": "Amina"}], "properties": []},
        timeout=10,
    )

    unique = {p["name"] for p in listed.json()["results"] if p["hasUniqueValue"]}
    assert listed.status_code == 200 and unique == {"patient_number"}
    assert read.status_code == 207
    assert [r["id"] for r in read.json()["results"]] == [DEMO_CONTACT_IDS[0]]
    assert read.json()["errors"][0]["context"]["ids"] == ["PN-999999"]
    # Only a unique-value property can be read by.
    assert by_name.status_code == 400


def test_the_mapping_screen_offers_and_proposes_each_unique_value_property(
    logged_client: Client, portal: Portal
) -> None:
    upload(logged_client, portal, csv_file([HEADER, *ROWS]))

    page = logged_client.get(mapping_url()).text
    values = form_values(page, "mapping-form")

    # "Patient number" names the contacts' unique property; its values are no emails or IDs.
    assert values["col_2"] == "k:0-1:906:patient_number"
    assert values["col_3"] == "k:0-2:908:account_number"
    # Every association type, labelled ones too, can be matched by it.
    assert 'value="k:0-1:37:patient_number"' in page
    assert "Contacts: Attendee, by Patient number" in page
    assert 'value="k:0-3:43:booking_ref"' in page


def test_each_unique_value_cell_says_what_it_found_read_in_one_call_per_object(
    logged_client: Client, portal: Portal, hubspot: Any
) -> None:
    upload(logged_client, portal, csv_file([HEADER, *ROWS]))

    response = confirm(logged_client)

    assert response.status_code == 302, response.text
    batch = Batch.objects.get()
    rows = {row.row_number: row for row in batch.rows.all()}
    assert rows[2].state == BatchRow.State.READY, rows[2].errors
    assert sorted(sent_associations(rows[2])) == [
        [DEMO_COMPANY_IDS[1], "HUBSPOT_DEFINED", 908],
        [DEMO_CONTACT_IDS[0], "HUBSPOT_DEFINED", 906],
    ]
    assert [e["code"] for e in rows[3].errors] == ["not_found"]
    assert (
        '"PN-999999" matches no contact in HubSpot by patient_number'
        in (rows[3].errors[0]["message"])
    )
    assert [e["code"] for e in rows[4].errors] == ["bad_key"]
    assert "is not a value of patient_number" in rows[4].errors[0]["message"]
    assert sorted(a[0] for a in sent_associations(rows[5])) == sorted(
        [DEMO_CONTACT_IDS[1], DEMO_MORE_CONTACT_IDS[0]]
    )
    page = logged_client.get(reverse("appointments:batch-detail", args=[batch.pk])).text
    assert f"{DEMO_PATIENT_NUMBERS[0]} →" in page
    assert f"Amina Rivera, #{DEMO_CONTACT_IDS[0]}</a>" in page
    # Read by idProperty (the budgeted batch read), the distinct values once: no search.
    reads = hubspot.journal("/0-1/batch/read")
    assert len(reads) == 1 and len(hubspot.journal("/0-2/batch/read")) == 1
    assert hubspot.journal("/search") == []


def test_the_grid_takes_unique_values_in_their_own_labelled_inputs(
    logged_client: Client, portal: Portal
) -> None:
    rows = [
        {
            "hs_appointment_name": "Found",
            "contact_ids-by-patient_number": DEMO_PATIENT_NUMBERS[2],
            "deal_ids-by-booking_ref": DEMO_BOOKING_REFS[0],
        },
        {"hs_appointment_name": "Unknown", "company_ids-by-account_number": "AC-0000"},
    ]

    page = logged_client.get(
        reverse("appointments:grid-entry") + f"?portal={portal.pk}&timezone=UTC"
    )
    response = logged_client.post(
        reverse("appointments:grid-entry"), grid_post(portal, "create", rows)
    )

    assert "Contacts by Patient number" in page.text
    assert "The value of Patient number, several separated by “;”." in page.text
    assert response.status_code == 302
    found, unknown = Batch.objects.get().rows.order_by("row_number")
    assert found.state == BatchRow.State.READY, found.errors
    assert sorted(sent_associations(found)) == [
        [DEMO_DEAL_IDS[0], "HUBSPOT_DEFINED", 944],
        [DEMO_CONTACT_IDS[2], "HUBSPOT_DEFINED", 906],
    ]
    assert [(e["column"], e["code"]) for e in unknown.errors] == [
        ("Companies by Account number", "not_found")
    ]


def test_the_cli_reports_the_key_property_each_association_came_from(
    portal: Portal, tmp_path: Path
) -> None:
    path = tmp_path / "bookings.csv"
    lines = [
        "Appointment name,Start time,Client email,Booking reference",
        f"Visit,2026-12-03 14:00,amina.rivera0@example.org,{DEMO_BOOKING_REFS[3]}",
        "Visit,2026-12-03 15:00,,BR-0000",
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = io.StringIO()

    call_command(
        "import_appointments",
        str(path),
        "--portal",
        str(portal.hub_id),
        "--timezone",
        "Europe/Paris",
        "--user",
        "ops-amina",
        "--dry-run",
        "--format",
        "json",
        stdout=out,
    )

    first, second = json.loads(out.getvalue())["rows"]
    assert {
        (a["to_object_type"], a["id"], a["key"], a["key_property"]) for a in first["associations"]
    } == {
        ("0-1", DEMO_CONTACT_IDS[0], "amina.rivera0@example.org", "email"),
        ("0-3", DEMO_DEAL_IDS[3], DEMO_BOOKING_REFS[3], "booking_ref"),
    }
    assert [(e["column"], e["code"]) for e in second["errors"]] == [
        ("Booking reference", "not_found")
    ]


def test_a_connection_without_an_objects_read_scope_offers_no_key_of_it(
    portal: Portal, hubspot: Any
) -> None:
    static = Token.objects.get(token=hubspot.token)
    Token.objects.create(
        token="no-deals",
        kind=Token.Kind.ACCESS,
        app=static.app,
        portal=static.portal,
        user_id=static.user_id,
        scopes=[s for s in static.scopes if "deals" not in s],
    )
    portal.set_tokens(access_token="no-deals", refresh_token=None, expires_in=None)
    portal.save()

    schema = portal_schema(portal=portal)

    assert [p.name for p in schema.key_properties["0-1"]] == ["patient_number"]
    assert schema.key_properties["0-3"] == []
