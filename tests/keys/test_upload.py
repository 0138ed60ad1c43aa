"""A booking-system export (client emails, company websites, staff emails) from upload to
created appointments, over HTTP against the sandbox."""

from __future__ import annotations

from typing import Any

from django.test import Client
from django.urls import reverse

from appointments.models import Batch, BatchRow, Portal
from appointments.services import uploads as upload_services
from sandbox.seed import DEMO_COMPANY_IDS, DEMO_CONTACT_IDS, DEMO_SHARED_DOMAIN
from tests.web import confirm, csv_file, form_values, mapping_url, upload

HEADER = "Appointment name,Start time,Client email,Website,Staff email"
ROWS = [
    "Intake,2026-12-03 14:00,Amina.Rivera0@example.org,https://www.acme-health.example/,"
    "nadia.haddad@riverside-care.example",
    "Check,2026-12-03 15:00,nobody@example.org,,",
    f"Twin 1,2026-12-03 16:00,,{DEMO_SHARED_DOMAIN},",
    f"Twin 2,2026-12-03 17:00,,www.{DEMO_SHARED_DOMAIN},",
    "Old,2026-12-03 18:00,,,sam.ortiz@riverside-care.example",
]


def uploaded_batch(client: Client, portal: Portal) -> Batch:
    upload(client, portal, csv_file([HEADER, *ROWS]))
    response = confirm(client)
    assert response.status_code == 302, response.text
    return Batch.objects.get()


def test_it_proposes_key_columns_from_headers_and_values(
    logged_client: Client, portal: Portal
) -> None:
    upload(logged_client, portal, csv_file([HEADER, *ROWS]))

    values = form_values(logged_client.get(mapping_url()).text, "mapping-form")

    assert values["col_2"] == "k:0-1:906:email"
    assert values["col_3"] == "k:0-2:908:domain"
    assert values["col_4"] == "p:hubspot_owner_id"


def test_a_column_of_emails_under_a_contact_header_is_matched_by_email(
    logged_client: Client, portal: Portal
) -> None:
    upload(
        logged_client, portal, csv_file(["Appointment name,contact", "A,amina.rivera0@example.org"])
    )

    values = form_values(logged_client.get(mapping_url()).text, "mapping-form")

    assert values["col_1"] == "k:0-1:906:email"


def test_each_key_cell_says_what_it_found(logged_client: Client, portal: Portal) -> None:
    batch = uploaded_batch(logged_client, portal)
    rows = {row.row_number: row for row in batch.rows.all()}
    page = logged_client.get(reverse("appointments:batch-detail", args=[batch.pk])).text

    assert rows[2].state == BatchRow.State.READY
    assert "amina.rivera0@example.org →" in page
    assert f"Amina Rivera, #{DEMO_CONTACT_IDS[0]}</a>" in page
    assert f"/record/0-2/{DEMO_COMPANY_IDS[0]}" in page
    assert "Nadia Haddad, #70110001" in page
    assert [e["code"] for e in rows[3].errors] == ["not_found"]
    assert (
        'column "Client email": "nobody@example.org" matches no contact'
        in rows[3].errors[0]["message"]
    )
    assert [e["code"] for e in rows[4].errors] == ["ambiguous"]
    assert "Twin Clinics South (#18771299002)" in rows[4].errors[0]["message"]
    assert [e["code"] for e in rows[6].errors] == ["owner_inactive"]


def test_a_pick_in_the_fix_form_settles_every_row_with_that_domain(
    logged_client: Client, portal: Portal, hubspot: Any
) -> None:
    batch = uploaded_batch(logged_client, portal)
    url = reverse("appointments:row-edit", args=[batch.pk, 4])
    htmx = {"HX-Request": "true"}

    form = logged_client.get(url, headers=htmx).text
    assert 'name="pick-3-0"' in form and "Twin Clinics North (#18771299001)" in form
    fixed = logged_client.post(
        url, {"c3": DEMO_SHARED_DOMAIN, "pick-3-0": "18771299002"}, headers=htmx
    )

    assert fixed.status_code == 200 and "Ready" in fixed.text
    twins = batch.rows.filter(row_number__in=[4, 5])
    assert {row.state for row in twins} == {BatchRow.State.READY}
    assert {
        tuple(map(tuple, row.batch.layout.unpack_associations(row.associations))) for row in twins
    } == {(("18771299002", "HUBSPOT_DEFINED", 908),)}


def test_the_resolved_ids_and_owner_reach_hubspot(
    logged_client: Client, portal: Portal, hubspot: Any
) -> None:
    batch = uploaded_batch(logged_client, portal)

    logged_client.post(reverse("appointments:batch-submit", args=[batch.pk]))

    row = batch.rows.get(row_number=2)
    assert row.state == BatchRow.State.CREATED, (row.error_category, row.error_message)
    [created] = hubspot.appointments()
    assert created.properties["hubspot_owner_id"] == "70110001"
    assert {(a["toObjectTypeId"], a["toObjectId"]) for a in created.associations} == {
        ("0-1", DEMO_CONTACT_IDS[0]),
        ("0-2", DEMO_COMPANY_IDS[0]),
    }


def test_a_large_file_whose_keys_cannot_be_looked_up_says_why_and_stores_nothing(
    logged_client: Client, portal: Portal, hubspot: Any, monkeypatch: Any
) -> None:
    monkeypatch.setattr(upload_services, "CONFIRM_INLINE_MAX_ROWS", 2)
    upload(logged_client, portal, csv_file([HEADER, *ROWS]))
    hubspot.set_fault("503", path_contains="/0-1/batch/read")

    response = confirm(logged_client)
    page = logged_client.get(response["Location"]).text

    assert "Could not look up the file" in page and "Nothing was stored" in page
    assert Batch.objects.count() == 0
    hubspot.set_fault("")
    confirm(logged_client)
    assert Batch.objects.get().rows.count() == len(ROWS)


def test_an_owner_column_is_not_offered_as_values_to_map(
    logged_client: Client, portal: Portal
) -> None:
    upload(logged_client, portal, csv_file([HEADER, *ROWS]))

    page = logged_client.get(mapping_url())
    values = form_values(page.text, "mapping-form")

    # Owner emails resolve through the owners API: they are no enumeration words to map.
    assert values["col_4"] == "p:hubspot_owner_id"
    assert 'data-values="E"' not in page.text
    assert not [name for name in values if name.startswith("value_4_")]
    assert confirm(logged_client).status_code == 302
