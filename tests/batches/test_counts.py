"""A batch's row counts are kept by the database as rows change: always the truth, read in one
row, so the live results poll costs the same for any batch."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.db.models import Count
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from appointments.models import Batch, BatchRow, Portal
from appointments.services.batches import batch_counts
from sandbox.seed import DEMO_CONTACT_IDS
from tests.test_i18n import french_catalog  # noqa: F401
from tests.web import (
    BATCH_HEADER,
    batch_with_invalid_row,
    csv_file,
    csv_upload,
    form_values,
    mapping_url,
    upload,
    upload_and_confirm,
)


def truth(batch: Batch) -> dict[str, int]:
    """The counts by state, counted the slow way."""
    counted = dict.fromkeys(BatchRow.State.values, 0)
    for row in BatchRow.objects.filter(batch=batch).values("state").annotate(n=Count("id")):
        counted[row["state"]] = row["n"]
    return counted


def kept(batch: Batch) -> dict[str, int]:
    counts = batch_counts(batch=batch)
    return {state: counts[state] for state in BatchRow.State.values}


def test_the_counts_follow_every_change_of_a_rows_state(
    logged_client: Client, portal: Portal, hubspot: Any
) -> None:
    batch = batch_with_invalid_row(logged_client, portal)
    assert (
        kept(batch)
        == truth(batch)
        == {**dict.fromkeys(BatchRow.State.values, 0), "ready": 1, "invalid": 1}
    )
    invalid = batch.rows.get(state=BatchRow.State.INVALID)
    edit = reverse("appointments:row-edit", args=[batch.pk, invalid.row_number])
    logged_client.post(edit, {"c3": "scheduled"}, headers={"HX-Request": "true"})
    assert kept(batch) == truth(batch) and truth(batch)["ready"] == 2
    exclude = reverse("appointments:row-exclude", args=[batch.pk, invalid.row_number])
    logged_client.post(exclude, {"excluded": "1"})
    assert kept(batch) == truth(batch) and truth(batch)["excluded"] == 1
    logged_client.post(exclude, {"excluded": "0"})
    logged_client.post(reverse("appointments:batch-submit", args=[batch.pk]))

    batch.refresh_from_db()
    assert batch.status == Batch.Status.COMPLETED
    assert kept(batch) == truth(batch) and truth(batch)["created"] == 2

    batch.delete()
    assert not BatchRow.objects.exists()


def test_the_counts_follow_a_canceled_and_a_deleted_batch(
    logged_client: Client, portal: Portal, hubspot: Any, settings: Any
) -> None:
    lines = ["Appointment name,Start time,contact_ids"] + [
        f"Visit {n},2026-12-03 14:{n:02d},{DEMO_CONTACT_IDS[0]}" for n in range(30)
    ]
    upload(logged_client, portal, csv_file(lines))
    logged_client.post(
        mapping_url(), form_values(logged_client.get(mapping_url()).text, "mapping-form")
    )
    batch = Batch.objects.get()
    # Queued, never sent (no worker runs), then canceled: every row becomes "not sent".
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    logged_client.post(reverse("appointments:batch-submit", args=[batch.pk]))
    logged_client.post(reverse("appointments:batch-cancel", args=[batch.pk]))

    assert kept(batch) == truth(batch)
    assert kept(batch)["unsent"] == 30
    # Resumed storing starts again from nothing: deleting rows takes them off the counts.
    BatchRow.objects.filter(batch=batch, row_number__lte=11).delete()
    assert kept(batch) == truth(batch)
    assert kept(batch)["unsent"] == 20


def test_the_live_poll_never_counts_the_batchs_rows(
    logged_client: Client, portal: Portal, hubspot: Any
) -> None:
    batch = batch_with_invalid_row(logged_client, portal)
    url = reverse("appointments:batch-detail", args=[batch.pk])

    with CaptureQueriesContext(connection) as queries:
        response = logged_client.get(url, headers={"HX-Request": "true"})

    assert response.status_code == 200
    scans = [
        q["sql"]
        for q in queries.captured_queries
        if "appointments_batchrow" in q["sql"]
        and "COUNT(" in q["sql"].upper()
        and '"call_id" =' not in q["sql"]  # one call's rows, through the row-call index
    ]
    assert scans == []


def test_counts_are_written_with_the_languages_thousands_separator(
    logged_client: Client,
    portal: Portal,
    french_catalog: Any,  # noqa: F811
) -> None:
    lines = [BATCH_HEADER] + [
        f"Visit {i},2026-12-{1 + i // 60:02d} 09:{i % 60:02d},2026-12-{1 + i // 60:02d} 10:00,"
        f"Scheduled,{DEMO_CONTACT_IDS[i % len(DEMO_CONTACT_IDS)]},"
        for i in range(1200)
    ]
    upload_and_confirm(logged_client, portal, csv_upload(lines))
    batch = Batch.objects.get()
    url = reverse("appointments:batch-detail", args=[batch.pk])

    english = logged_client.get(url).text
    french = logged_client.get(url, headers={"Accept-Language": "fr"}).text
    confirm = logged_client.get(reverse("appointments:batch-submit", args=[batch.pk])).text

    assert '<strong data-count="total">1,200</strong>' in english
    assert "Send 1,200 valid rows to HubSpot" in english
    assert '<strong data-count="total">1\N{NO-BREAK SPACE}200</strong>' in french
    assert f"Send 1,200 appointments to {portal}" in confirm
