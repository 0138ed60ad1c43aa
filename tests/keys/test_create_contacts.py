"""The per-batch choice to create contacts that don't exist yet: once per email, never twice."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from appointments.models import Batch, BatchRow, Portal
from appointments.services import resolving
from sandbox.models import CrmRecord
from tests.web import confirm, csv_file, form_values, mapping_url, upload

HEADER = "Appointment name,Start time,Client email,First name,Last name,Phone"
ROWS = [
    "Intake,2026-12-03 14:00,new.client@example.org,Zoé,Lambert,+33 6 12 34 56 78",
    "Follow-up,2026-12-04 14:00,New.Client@example.org,Zoé,Lambert,",
    "Known,2026-12-05 14:00,amina.rivera0@example.org,,,",
]


def contacts(email: str) -> list[CrmRecord]:
    return [
        r for r in CrmRecord.objects.filter(object_type="0-1") if r.properties.get("email") == email
    ]


def test_it_creates_a_missing_contact_once_and_links_both_rows(
    logged_client: Client, portal: Portal, hubspot: Any
) -> None:
    upload(logged_client, portal, csv_file([HEADER, *ROWS]))

    response = confirm(logged_client, {"create_contacts": "on"})

    assert response.status_code == 302
    [created] = contacts("new.client@example.org")
    assert created.properties["firstname"] == "Zoé"
    assert created.properties["phone"] == "+33 6 12 34 56 78"
    batch = Batch.objects.get()
    rows = list(batch.rows.order_by("row_number"))
    assert [row.state for row in rows] == [BatchRow.State.READY] * 3
    first, second = (row.batch.layout.unpack_associations(row.associations) for row in rows[:2])
    assert first == second == [[created.record_id, "HUBSPOT_DEFINED", 906]]
    page = logged_client.get(reverse("appointments:batch-detail", args=[batch.pk])).text
    assert "(contact created)" in page
    assert len(hubspot.journal("/0-1/batch/create")) == 1
    download = logged_client.get(reverse("appointments:batch-export-csv", args=[batch.pk]))
    lines = b"".join(download.streaming_content).decode().splitlines()  # type: ignore[attr-defined]
    assert lines[0].endswith(",contacts_created")
    assert lines[1].endswith(f",{created.record_id}") and lines[3].endswith(",")


def test_without_the_choice_a_missing_contact_is_an_error(
    logged_client: Client, portal: Portal
) -> None:
    upload(logged_client, portal, csv_file([HEADER, *ROWS]))

    confirm(logged_client)

    assert contacts("new.client@example.org") == []
    row = Batch.objects.get().rows.get(row_number=2)
    assert [e["code"] for e in row.errors] == ["not_found"]


def test_a_contact_created_meanwhile_is_read_back_not_created_twice(
    portal: Portal, tmp_path: Path, hubspot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "bookings.csv"
    path.write_text("\n".join([HEADER, *ROWS]) + "\n", encoding="utf-8")
    known = CrmRecord.objects.filter(object_type="0-1").first()
    assert known is not None
    real = resolving._by_email

    def then_someone_creates_it(client: Any, keys: list[str], calls: Any) -> Any:
        # Another tool creates the contact between the look-up and the create: a 409 names it.
        found = real(client, keys, calls)
        CrmRecord.objects.get_or_create(
            portal=known.portal,
            object_type="0-1",
            record_id="99",
            defaults={
                "properties": {"email": "new.client@example.org", "firstname": "Zoé"},
                "created_at": known.created_at,
                "updated_at": known.updated_at,
            },
        )
        return found

    monkeypatch.setattr(resolving, "_by_email", then_someone_creates_it)
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
        "--create-contacts",
        stdout=out,
    )
    output = json.loads(out.getvalue())

    assert [r.record_id for r in contacts("new.client@example.org")] == ["99"]
    assert [e.status for e in hubspot.journal("/0-1/batch/create")] == [409]
    assert output["rows"][0]["associations"][0]["id"] == "99"
    assert output["summary"]["invalid"] == 0


def test_a_fix_naming_a_new_email_creates_that_contact_too(
    logged_client: Client, portal: Portal
) -> None:
    upload(logged_client, portal, csv_file([HEADER, *ROWS]))
    confirm(logged_client, {"create_contacts": "on"})
    batch = Batch.objects.get()
    url = reverse("appointments:row-edit", args=[batch.pk, 4])

    logged_client.post(url, {"c2": "late.client@example.org"}, headers={"HX-Request": "true"})

    [created] = contacts("late.client@example.org")
    row = batch.rows.get(row_number=4)
    assert row.state == BatchRow.State.READY
    assert row.batch.layout.unpack_associations(row.associations)[0][0] == created.record_id


def test_the_choice_made_when_changing_the_columns_creates_the_missing_contact(
    logged_client: Client, portal: Portal, hubspot: Any
) -> None:
    # First checked without the choice, then back to the mapping from the batch with it.
    upload(logged_client, portal, csv_file([HEADER, *ROWS]))
    confirm(logged_client)
    batch = Batch.objects.get()
    assert batch.rows.get(row_number=2).state == BatchRow.State.INVALID
    url = mapping_url() + "?change=1"
    page = logged_client.get(url)
    data = {**form_values(page.text, "mapping-form"), "create_contacts": "on", "change": "1"}

    logged_client.post(url, data)

    assert len(contacts("new.client@example.org")) == 1
    assert Batch.objects.get().pk == batch.pk
    assert batch.rows.get(row_number=2).state == BatchRow.State.READY
    assert len(hubspot.journal("/0-1/batch/create")) == 1


def test_a_created_contact_takes_the_columns_mapped_to_contact_properties_not_headers(
    logged_client: Client, portal: Portal
) -> None:
    # "Prénom du patient" is mapped to the contact's first name by hand; the column headed
    # "First name" is ignored, so a created contact must not take it.
    header = "Appointment name,Client email,First name,Prénom du patient,Tel"
    row = "Intake,fresh.client@example.org,Ignored,Zoé,+33 6 00 00 00 01"
    upload(logged_client, portal, csv_file([header, row]))
    page = logged_client.get(mapping_url(), {"create_contacts": "on"}).text
    proposed = form_values(page, "mapping-form")

    response = confirm(
        logged_client,
        {
            "create_contacts": "on",
            "col_2": "",
            "col_3": "c:firstname",
            "col_4": "c:phone",
        },
    )

    # Proposed from the header once a column gives contacts by email.
    assert proposed["col_2"] == "c:firstname"
    assert response.status_code == 302, response.text
    [created] = contacts("fresh.client@example.org")
    assert created.properties["firstname"] == "Zoé"
    assert created.properties["phone"] == "+33 6 00 00 00 01"
    assert "lastname" not in created.properties
    # The contact columns are not sent with the appointment.
    batch = Batch.objects.get()
    assert batch.layout.properties == ("hs_appointment_name",)
    assert batch.rows.get().state == BatchRow.State.READY


def test_the_contact_targets_are_offered_once_contacts_are_to_be_created(
    logged_client: Client, portal: Portal
) -> None:
    upload(logged_client, portal, csv_file(["Appointment name,Client email", "A,a@example.org"]))

    plain = logged_client.get(mapping_url()).text
    redrawn = logged_client.post(
        mapping_url(),
        {**form_values(plain, "mapping-form"), "create_contacts": "on", "refresh": "1"},
        headers={"HX-Request": "true"},
    ).text

    assert 'value="c:firstname"' not in plain
    assert 'value="c:firstname"' in redrawn and "Contact: first name" in redrawn
