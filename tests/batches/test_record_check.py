"""The record-ID check covers every row not yet sent and runs before Send by default: it never
says every record exists while a row it did not check remains."""

from __future__ import annotations

from typing import Any

from django.test import Client
from django.urls import reverse

from appointments.models import Batch, BatchRow, Portal
from tests.web import csv_upload, rows_csv
from tests.web import upload_and_confirm as upload


def batch_naming_missing_contacts(client: Client, portal: Portal) -> Batch:
    """Row 2 is fine; row 3 names contact 999 (ready until checked); row 4 names contact 999
    and has a status that is no option (invalid for that already)."""
    lines = rows_csv(3)
    lines[2] = lines[2].replace(lines[2].split(",")[4], "999")
    lines[3] = lines[3].replace(lines[3].split(",")[4], "999").replace("Scheduled", "Bogus")
    upload(client, portal, csv_upload(lines))
    batch = Batch.objects.get()
    assert batch.rows.get(row_number=4).state == BatchRow.State.INVALID
    return batch


def test_the_check_names_a_missing_record_of_an_invalid_row_too(
    logged_client: Client, portal: Portal, hubspot: Any
) -> None:
    batch = batch_naming_missing_contacts(logged_client, portal)

    page = logged_client.post(
        reverse("appointments:batch-check-records", args=[batch.pk]), follow=True
    )

    assert "Every record ID" not in page.text
    assert "1 row names a record that does not exist; it is held back." in page.text
    assert "1 invalid row also names a record that does not exist." in page.text
    invalid = batch.rows.get(row_number=4)
    assert {e["code"] for e in invalid.errors} >= {"record_not_found"}
    assert len(invalid.errors) == 2
    # Asked again, nothing new is said twice.
    logged_client.post(reverse("appointments:batch-check-records", args=[batch.pk]))
    assert len(batch.rows.get(row_number=4).errors) == 2


def test_every_record_exists_is_said_only_when_every_unsent_row_was_checked(
    logged_client: Client, portal: Portal, hubspot: Any
) -> None:
    upload(logged_client, portal, csv_upload(rows_csv(2)))
    batch = Batch.objects.get()

    page = logged_client.post(
        reverse("appointments:batch-check-records", args=[batch.pk]), follow=True
    )

    assert "Every record ID of the 2 rows not yet sent exists in HubSpot." in page.text


def test_send_checks_the_records_first_and_sends_nothing_when_one_is_missing(
    logged_client: Client, portal: Portal, hubspot: Any
) -> None:
    batch = batch_naming_missing_contacts(logged_client, portal)

    page = logged_client.post(
        reverse("appointments:batch-submit", args=[batch.pk]), {"check_records": "1"}, follow=True
    )

    assert "1 row names a record that does not exist; it is held back." in page.text
    assert "Nothing was sent." in page.text
    assert hubspot.journal("/batch/create") == []
    assert batch.rows.get(row_number=3).state == BatchRow.State.INVALID
    logged_client.post(
        reverse("appointments:batch-submit", args=[batch.pk]), {"check_records": "1"}
    )
    assert len(hubspot.journal("/batch/create")) == 1
    assert batch.rows.get(row_number=2).state == BatchRow.State.CREATED
