"""Fix after sending: a refused row is fixed and sent alone, a canceled batch resumes, and
Send, Cancel and Disconnect name what they will do before doing it."""

from __future__ import annotations

import json
from typing import Any

from django.test import Client
from django.urls import reverse

from appointments.models import Batch, BatchRow, Portal
from tests.web import DEMO_CONTACT_IDS, csv_upload, rows_csv
from tests.web import upload_and_confirm as upload


def create_names(hubspot: Any) -> list[list[str]]:
    """The appointment names of every batch-create call the sandbox received, call by call."""
    return [
        [i["properties"]["hs_appointment_name"] for i in json.loads(e.request_body)["inputs"]]
        for e in hubspot.journal("/batch/create", method="POST")
    ]


def refused_batch(client: Client, portal: Portal) -> Batch:
    """Three rows sent; HubSpot refused row 3 (Visit 2): its contact does not exist."""
    lines = rows_csv(3)
    lines[2] = lines[2].replace(lines[2].split(",")[4], "99999999999")
    upload(client, portal, csv_upload(lines))
    batch = Batch.objects.get()
    client.post(reverse("appointments:batch-submit", args=[batch.pk]))
    batch.refresh_from_db()
    return batch


def test_a_row_hubspot_refused_is_fixed_and_sent_alone(
    logged_client: Client, portal: Portal, hubspot: Any
) -> None:
    batch = refused_batch(logged_client, portal)
    row = batch.rows.get(row_number=3)
    assert row.state == BatchRow.State.FAILED
    page = logged_client.get(reverse("appointments:batch-detail", args=[batch.pk]))
    assert "HubSpot refused 1 row as it is" in page.text
    assert "Send the failed row" not in page.text
    edit = reverse("appointments:row-edit", args=[batch.pk, 3])
    form = logged_client.get(edit, headers={"HX-Request": "true"})
    assert row.error_message in form.text  # HubSpot's own reason, in the Fix form

    unchanged = logged_client.post(edit, {"c4": "99999999999"}, headers={"HX-Request": "true"})
    assert "change a value before sending it again" in unchanged.text
    assert batch.rows.get(row_number=3).state == BatchRow.State.FAILED

    fixed = logged_client.post(edit, {"c4": DEMO_CONTACT_IDS[0]}, headers={"HX-Request": "true"})
    assert fixed["HX-Trigger"] == "rows-changed"
    row.refresh_from_db()
    assert (row.state, row.call_id, row.error_message) == (BatchRow.State.READY, None, "")
    page = logged_client.get(reverse("appointments:batch-detail", args=[batch.pk]))
    assert "Send 1 fixed row to HubSpot" in page.text
    logged_client.post(
        reverse("appointments:batch-submit", args=[batch.pk]), {"check_records": "1"}
    )

    assert create_names(hubspot) == [["Visit 1", "Visit 2", "Visit 3"], ["Visit 2"]]
    row.refresh_from_db()
    assert row.state == BatchRow.State.CREATED and row.hubspot_id


def test_a_created_row_cannot_be_fixed(logged_client: Client, portal: Portal) -> None:
    batch = refused_batch(logged_client, portal)
    edit = reverse("appointments:row-edit", args=[batch.pk, 2])

    logged_client.post(edit, {"c0": "Changed"})

    row = batch.rows.get(row_number=2)
    assert row.state == BatchRow.State.CREATED and row.appointment_name == "Visit 1"


def test_a_canceled_batch_resumes_and_sends_each_row_once(
    logged_client: Client, portal: Portal, hubspot: Any
) -> None:
    upload(logged_client, portal, csv_upload(rows_csv(250)))
    batch = Batch.objects.get()
    hubspot.set_limits(daily=10)  # 7 schema reads, the readiness check, two creates: paused
    logged_client.post(reverse("appointments:batch-submit", args=[batch.pk]))
    batch.refresh_from_db()
    assert batch.status == Batch.Status.PAUSED
    confirm = logged_client.get(reverse("appointments:batch-cancel", args=[batch.pk]))
    assert "Cancel the batch, leaving 50 rows unsent" in confirm.text
    logged_client.post(reverse("appointments:batch-cancel", args=[batch.pk]))
    batch.refresh_from_db()
    assert batch.status == Batch.Status.CANCELED
    assert batch.rows.filter(state=BatchRow.State.UNSENT).count() == 50
    hubspot.set_limits(daily=100)

    page = logged_client.get(reverse("appointments:batch-detail", args=[batch.pk]))
    assert "Resume: send 50 rows to HubSpot" in page.text
    confirm = logged_client.get(reverse("appointments:batch-submit", args=[batch.pk]))
    assert f"Send 50 appointments to {portal}" in confirm.text
    logged_client.post(reverse("appointments:batch-submit", args=[batch.pk]))

    batch.refresh_from_db()
    assert batch.status == Batch.Status.COMPLETED
    assert batch.rows.filter(state=BatchRow.State.CREATED).count() == 250
    names = [record.properties["hs_appointment_name"] for record in hubspot.appointments()]
    assert len(names) == len(set(names)) == 250


def test_send_asks_for_confirmation_naming_the_count_and_the_portal(
    logged_client: Client, portal: Portal, hubspot: Any
) -> None:
    upload(logged_client, portal, csv_upload(rows_csv(3)))
    batch = Batch.objects.get()

    confirm = logged_client.get(reverse("appointments:batch-submit", args=[batch.pk]))

    assert f"Send 3 appointments to {portal}" in confirm.text
    assert 'name="check_records" value="1" checked' in confirm.text
    assert create_names(hubspot) == []  # a GET sends nothing
    batch.refresh_from_db()
    assert batch.status == Batch.Status.DRAFT


def test_disconnect_asks_for_confirmation_first(logged_client: Client, portal: Portal) -> None:
    url = reverse("appointments:portal-disconnect", args=[portal.hub_id])

    confirm = logged_client.get(url)

    assert f"Disconnect {portal}" in confirm.text
    portal.refresh_from_db()
    assert portal.status == Portal.Status.ACTIVE
    logged_client.post(url)
    portal.refresh_from_db()
    assert portal.status == Portal.Status.DISCONNECTED


def test_send_with_nothing_to_send_says_so_instead_of_confirming(
    logged_client: Client, portal: Portal, hubspot: Any
) -> None:
    batch = refused_batch(logged_client, portal)

    page = logged_client.get(reverse("appointments:batch-submit", args=[batch.pk]), follow=True)

    assert "There are no valid rows left to send." in page.text
    assert "confirm-send" not in page.text


def test_a_hubspot_fault_reads_as_one_clean_sentence_without_its_code(
    logged_client: Client, portal: Portal, hubspot: Any
) -> None:
    upload(logged_client, portal, csv_upload(rows_csv(3)))
    batch = Batch.objects.get()
    hubspot.set_fault("503", path_contains="/batch/read")

    page = logged_client.post(
        reverse("appointments:batch-check-records", args=[batch.pk]), follow=True
    ).text

    assert "HubSpot could not be asked: The service is temporarily unavailable." in page
    assert "unavailable.." not in page
    assert "SERVICE_UNAVAILABLE" not in page and "HTTP 503" not in page
