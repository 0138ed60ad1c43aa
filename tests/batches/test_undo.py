"""Undo a batch over the sandbox: exactly its records archived, edited ones kept, resumable."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from django.test import Client
from django.urls import reverse
from django.utils import timezone

from appointments.models import Batch, BatchCall, BatchRow, Portal, RowUndo
from appointments.services.access import VIEWER, portal_grant, role_set
from appointments.services.undo import batch_undo_run
from sandbox.models import DEFAULT_SEARCH_LAG_SECONDS, CrmRecord
from tests.web import csv_upload, hubspot_update, rows_csv, upload_and_confirm


def sent_batch(client: Client, portal: Portal, lines: list[str], name: str) -> Batch:
    upload_and_confirm(client, portal, csv_upload(lines, name=name))
    batch = Batch.objects.get(filename=name)
    client.post(reverse("appointments:batch-submit", args=[batch.pk]), {"on_duplicate": "create"})
    batch.refresh_from_db()
    assert batch.status == Batch.Status.COMPLETED
    return batch


def archived_ids(sandbox: Any) -> list[str]:
    return [
        item["id"]
        for entry in sandbox.journal("/batch/archive", method="POST")
        for item in json.loads(entry.request_body)["inputs"]
    ]


def live(sandbox: Any) -> set[str]:
    return {r.record_id for r in sandbox.appointments() if not r.archived}


def test_it_lists_then_archives_exactly_the_batch_records(
    logged_client: Client, portal: Portal, hubspot: Any
) -> None:
    mine = sent_batch(logged_client, portal, rows_csv(120), "mine.csv")
    # Another batch's record with the same name and start as the first row of mine.
    other = sent_batch(logged_client, portal, rows_csv(1), "other.csv")
    [other_record] = other.rows.values_list("hubspot_id", flat=True)
    created = set(mine.rows.values_list("hubspot_id", flat=True))
    assert len(created) == 120

    page = logged_client.get(reverse("appointments:batch-undo", args=[mine.pk]))
    assert "Archive the 120 appointments this batch created" in page.text
    assert all(record_id in page.text for record_id in created)
    assert other_record not in page.text

    logged_client.post(reverse("appointments:batch-undo", args=[mine.pk]))
    mine.refresh_from_db()
    assert mine.status == Batch.Status.UNDONE
    assert mine.undo_requested_by is not None and mine.undone_at is not None
    assert sorted(archived_ids(hubspot)) == sorted(created)
    assert [
        len(json.loads(e.request_body)["inputs"]) for e in hubspot.journal("/batch/archive")
    ] == [
        100,
        20,
    ]
    assert live(hubspot) == {other_record}
    assert set(mine.undos.values_list("outcome", flat=True)) == {RowUndo.Outcome.ARCHIVED}
    # Archived records are hidden from reads.
    read = logged_client.get(reverse("appointments:batch-detail", args=[mine.pk]))
    assert "120" in read.text and "archived" in read.text.lower()
    # An undone batch is never sent again.
    logged_client.post(reverse("appointments:batch-submit", args=[mine.pk]))
    mine.refresh_from_db()
    assert mine.status == Batch.Status.UNDONE


def test_it_keeps_a_record_edited_since_unless_included(
    logged_client: Client, portal: Portal, hubspot: Any
) -> None:
    batch = sent_batch(logged_client, portal, rows_csv(3), "edited.csv")
    first, second, third = batch.rows.order_by("row_number")
    edited = hubspot_update(hubspot, second.hubspot_id, {"hs_appointment_name": "Renamed"})
    assert edited.status_code == 200, edited.text

    logged_client.post(reverse("appointments:batch-undo", args=[batch.pk]))
    outcomes = dict(batch.undos.values_list("record_id", "outcome"))
    assert outcomes == {
        first.hubspot_id: RowUndo.Outcome.ARCHIVED,
        second.hubspot_id: RowUndo.Outcome.CHANGED,
        third.hubspot_id: RowUndo.Outcome.ARCHIVED,
    }
    assert live(hubspot) == {second.hubspot_id}
    page = logged_client.get(reverse("appointments:batch-detail", args=[batch.pk]))
    assert "Kept: changed in HubSpot since" in page.text


def test_it_archives_edited_records_when_asked(
    logged_client: Client, portal: Portal, hubspot: Any
) -> None:
    batch = sent_batch(logged_client, portal, rows_csv(2), "both.csv")
    edited = hubspot_update(
        hubspot, batch.rows.first().hubspot_id, {"hs_appointment_status": "canceled"}
    )
    assert edited.status_code == 200, edited.text
    logged_client.post(
        reverse("appointments:batch-undo", args=[batch.pk]), {"include_changed": "on"}
    )
    assert live(hubspot) == set()


def test_it_resumes_an_undo_stopped_between_archive_and_save(
    logged_client: Client, portal: Portal, hubspot: Any
) -> None:
    """A worker killed after marking rows ARCHIVING (or after the archive call) loses
    nothing: the next run archives those rows again (harmless: 204) and marks them."""
    batch = sent_batch(logged_client, portal, rows_csv(5), "crash.csv")
    rows = list(batch.rows.order_by("row_number"))
    for row in rows[:2]:
        RowUndo.objects.create(
            row=row, batch=batch, record_id=row.hubspot_id, outcome=RowUndo.Outcome.ARCHIVING
        )
    CrmRecord.objects.filter(record_id=rows[0].hubspot_id).update(archived=True)
    Batch.objects.filter(pk=batch.pk).update(status=Batch.Status.UNDOING, worker="")
    batch_undo_run(batch_id=str(batch.pk))
    batch.refresh_from_db()
    assert batch.status == Batch.Status.UNDONE
    assert set(batch.undos.values_list("outcome", flat=True)) == {RowUndo.Outcome.ARCHIVED}
    assert live(hubspot) == set()
    assert BatchRow.objects.filter(batch=batch).count() == 5


def test_the_audit_names_file_mapping_calls_and_every_record(
    logged_client: Client, portal: Portal, hubspot: Any
) -> None:
    batch = sent_batch(logged_client, portal, rows_csv(3), "audited.csv")
    logged_client.post(reverse("appointments:batch-undo", args=[batch.pk]))
    response = logged_client.get(reverse("appointments:batch-export-audit", args=[batch.pk]))
    assert response["Content-Disposition"] == f'attachment; filename="audit-{batch.pk}.json"'
    audit = response.json()
    batch.refresh_from_db()
    assert audit["file"] == {
        "name": "audited.csv",
        "size": len(("\n".join(rows_csv(3)) + "\n").encode()),
        "sha256": batch.file_sha256,
    }
    assert audit["batch"]["created_by"] == "ops-amina"
    assert audit["portal"]["hub_id"] == hubspot.hub_id
    assert audit["mapping"] == batch.mapping
    [call] = audit["calls"]
    assert call["correlation_id"] == hubspot.journal("/batch/create")[0].correlation_id
    records = sorted(batch.rows.values_list("hubspot_id", flat=True))
    assert sorted(c["record_id"] for c in audit["created"]) == records
    assert audit["undo"]["requested_by"] == "ops-amina"
    assert sorted(r["record_id"] for r in audit["undo"]["records"]) == records
    assert {r["outcome"] for r in audit["undo"]["records"]} == {"archived"}


def test_a_viewer_sees_the_list_but_cannot_undo(
    logged_client: Client, portal: Portal, hubspot: Any, user: Any, other_user: Any, client: Any
) -> None:
    batch = sent_batch(logged_client, portal, rows_csv(2), "viewed.csv")
    role_set(other_user, VIEWER)
    portal_grant(by=user, portal=portal, user=other_user)
    client.force_login(other_user)
    url = reverse("appointments:batch-undo", args=[batch.pk])
    page = client.get(url)
    assert page.status_code == 200 and "undo-form" not in page.text
    assert client.post(url).status_code == 403
    batch.refresh_from_db()
    assert batch.status == Batch.Status.COMPLETED
    assert hubspot.journal("/batch/archive") == []


def test_a_canceled_batch_with_a_call_out_is_undone_once_that_call_settles(
    logged_client: Client, portal: Portal, hubspot: Any
) -> None:
    batch = sent_batch(logged_client, portal, rows_csv(150), "out.csv")
    second = batch.calls.get(sequence=2)
    # As the batch stands when canceled while its second call was out: HubSpot created its
    # 50 records, but no answer was saved yet.
    second.rows.update(state=BatchRow.State.SENDING, hubspot_id="")
    BatchCall.objects.filter(pk=second.pk).update(state=BatchCall.State.SENDING)
    Batch.objects.filter(pk=batch.pk).update(
        status=Batch.Status.CANCELED, worker="gone:1:abcd", heartbeat_at=timezone.now()
    )
    url = reverse("appointments:batch-undo", args=[batch.pk])

    page = logged_client.get(url).text
    assert "cannot be undone yet: 50 rows were still out at HubSpot when it was canceled" in page
    assert 'id="undo-confirm"' not in page
    refused = logged_client.post(url, follow=True).text
    assert "reload this page to undo" in refused
    assert Batch.objects.get(pk=batch.pk).status == Batch.Status.CANCELED
    assert not hubspot.journal("/batch/archive")

    # The worker let go without an answer: the rows may have been created, and say so.
    Batch.objects.filter(pk=batch.pk).update(heartbeat_at=timezone.now() - timedelta(minutes=5))
    page = logged_client.get(url).text
    assert "50 rows may have been created" in page
    assert 'id="undo-confirm"' in page
    # Checked first, as the page says: found, so the undo archives them too.
    BatchCall.objects.filter(pk=second.pk).update(settles_at=timezone.now())
    hubspot.advance_clock(DEFAULT_SEARCH_LAG_SECONDS)
    logged_client.post(reverse("appointments:batch-check-hubspot", args=[batch.pk]))
    assert batch.rows.filter(state=BatchRow.State.CREATED).count() == 150
    logged_client.post(url)

    assert Batch.objects.get(pk=batch.pk).status == Batch.Status.UNDONE
    assert len(archived_ids(hubspot)) == 150
