"""Canary: send the first N rows, stop and wait, then send the rest or undo them."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from django.test import Client
from django.urls import reverse

from appointments.models import Batch, BatchRow, Portal
from tests.web import csv_upload, rows_csv, upload_and_confirm


def test_it_stops_after_the_canary_and_sends_the_rest_on_demand(
    logged_client: Client, portal: Portal, hubspot: Any
) -> None:
    upload_and_confirm(logged_client, portal, csv_upload(rows_csv(40)))
    batch = Batch.objects.get()
    submit = reverse("appointments:batch-submit", args=[batch.pk])
    logged_client.post(submit, {"canary": "on", "canary_size": "10"})
    batch.refresh_from_db()
    assert batch.status == Batch.Status.CANARY
    assert len(hubspot.appointments()) == 10
    created = list(batch.rows.filter(state=BatchRow.State.CREATED).order_by("row_number"))
    assert [row.row_number for row in created] == list(range(2, 12))

    page = logged_client.get(reverse("appointments:batch-detail", args=[batch.pk]))
    assert "The first 10 rows are in HubSpot" in page.text
    assert "Send the rest: 30 rows" in page.text
    assert f"/record/0-421/{created[0].hubspot_id}" in page.text
    assert reverse("appointments:batch-undo", args=[batch.pk]) in page.text

    logged_client.post(submit)
    batch.refresh_from_db()
    assert batch.status == Batch.Status.COMPLETED
    assert len(hubspot.appointments()) == 40


def test_undo_these_archives_the_canary_and_the_rest_is_never_sent(
    logged_client: Client, portal: Portal, hubspot: Any
) -> None:
    upload_and_confirm(logged_client, portal, csv_upload(rows_csv(25)))
    batch = Batch.objects.get()
    logged_client.post(
        reverse("appointments:batch-submit", args=[batch.pk]),
        {"canary": "on", "canary_size": "5"},
    )
    logged_client.post(reverse("appointments:batch-undo", args=[batch.pk]))
    batch.refresh_from_db()
    assert batch.status == Batch.Status.UNDONE
    assert [r.archived for r in hubspot.appointments()] == [True] * 5
    logged_client.post(reverse("appointments:batch-submit", args=[batch.pk]))
    assert len(hubspot.appointments()) == 5


def test_an_undone_canary_says_its_other_rows_were_not_sent_and_none_wait(
    logged_client: Client, portal: Portal, hubspot: Any
) -> None:
    upload_and_confirm(logged_client, portal, csv_upload(rows_csv(25)))
    batch = Batch.objects.get()
    logged_client.post(
        reverse("appointments:batch-submit", args=[batch.pk]),
        {"canary": "on", "canary_size": "5"},
    )
    logged_client.post(reverse("appointments:batch-undo", args=[batch.pk]))

    page = logged_client.get(reverse("appointments:batch-detail", args=[batch.pk])).text

    assert '<strong data-count="waiting">0</strong>' in page
    assert '<strong data-count="unsent">20</strong>' in page
    assert '<span data-undo="archived">5</span> archived' in page
    rest = batch.rows.get(row_number=10)
    assert (rest.state, rest.error_message) == (
        BatchRow.State.UNSENT,
        "Not sent: the batch was undone.",
    )
    # The undo's times are in the batch's zone, with its label.
    batch.refresh_from_db()
    assert batch.undo_requested_at is not None
    when = batch.undo_requested_at.astimezone(ZoneInfo(batch.timezone))
    assert f"on {when:%Y-%m-%d %H:%M} {when.tzname()}." in page
