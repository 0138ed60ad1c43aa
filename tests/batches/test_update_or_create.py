"""Update or create over the sandbox: update by record ID, upsert by a unique value (with its
``new`` flag, a lost answer, associations), undo restoring what was updated."""

from __future__ import annotations

import json
from typing import Any

from django.test import Client
from django.urls import reverse

from appointments.models import Batch, BatchRow, Portal, RowUndo, RowWrite
from appointments.services.undo import batch_undo_run
from sandbox.models import CrmRecord
from sandbox.models import Owner as SandboxOwner
from sandbox.seed import DEMO_CONTACT_IDS, DEMO_OWNERS
from tests.web import (
    BATCH_HEADER,
    confirm_proposed,
    csv_upload,
    form_values,
    hubspot_update,
    rows_csv,
)


def _upload(client: Client, portal: Portal, lines: list[str], name: str, **columns: str) -> Batch:
    """Upload ``lines`` and confirm the mapping as proposed, with ``columns``
    (``col_<index>``: a target) changed."""
    response = client.post(
        reverse("appointments:upload-create"),
        {"portal": portal.pk, "timezone": "Europe/Paris", "file": csv_upload(lines, name=name)},
    )
    assert response.status_code == 302, response.text
    url = response["Location"]
    if columns:
        page = client.get(url)
        client.post(url, {**form_values(page.text, "mapping-form"), **columns})
    else:
        confirm_proposed(client, url)
    return Batch.objects.get(filename=name)


def _send(client: Client, batch: Batch, **choices: str) -> Batch:
    client.post(
        reverse("appointments:batch-submit", args=[batch.pk]),
        {"on_duplicate": "create", **choices},
    )
    batch.refresh_from_db()
    return batch


def _record(record_id: str) -> CrmRecord:
    return CrmRecord.objects.get(object_type="0-421", record_id=record_id)


def _outcomes(batch: Batch) -> dict[int, str]:
    return {
        row.row_number: row.write.outcome
        for row in batch.rows.select_related("write").order_by("row_number")
        if hasattr(row, "write")
    }


def test_rows_with_a_record_id_update_it_and_the_others_are_created_then_undo_restores(
    logged_client: Client, portal: Portal, hubspot: Any
) -> None:
    first = _send(logged_client, _upload(logged_client, portal, rows_csv(2), "first.csv"))
    one, two = first.rows.order_by("row_number").values_list("hubspot_id", flat=True)
    lines = [
        "Record ID," + BATCH_HEADER,
        f"{one},Visit 1 moved,2026-12-01 11:00,2026-12-01 12:00,Canceled,{DEMO_CONTACT_IDS[0]},",
        f"{two},,,,Canceled,,",
        f",Brand new,2026-12-05 09:00,2026-12-05 10:00,Scheduled,{DEMO_CONTACT_IDS[1]},",
    ]
    batch = _upload(logged_client, portal, lines, "update.csv", col_0="p:hs_object_id")
    assert batch.rows.filter(state=BatchRow.State.READY).count() == 3
    page = logged_client.get(reverse("appointments:batch-submit", args=[batch.pk]))
    assert 'name="write_mode" value="update_only"' in page.text
    # The confirmation says what an update batch does, and what its Undo does.
    assert "HubSpot creates or updates them at once" in page.text
    assert "writes back the values of those it updated" in page.text

    batch = _send(logged_client, batch, write_mode="update")
    assert batch.status == Batch.Status.COMPLETED
    assert batch.write_mode == Batch.WriteMode.UPDATE
    [update] = [json.loads(e.request_body) for e in hubspot.journal("/batch/update")]
    assert {i["id"] for i in update["inputs"]} == {one, two}
    # The record ID names the record; it is never a value written.
    assert all("hs_object_id" not in i["properties"] for i in update["inputs"])
    assert _record(two).properties["hs_appointment_status"] != "SCHEDULED"
    assert _record(one).properties["hs_appointment_name"] == "Visit 1 moved"
    assert _record(two).properties["hs_appointment_name"] == "Visit 2"
    assert _outcomes(batch) == {2: "updated", 3: "updated"}
    rows = {r.row_number: r for r in batch.rows.all()}
    assert rows[2].hubspot_id == one and rows[3].hubspot_id == two
    assert rows[4].state == BatchRow.State.CREATED and rows[4].hubspot_id not in (one, two)
    # What the records held before, read before the update.
    before = RowWrite.objects.get(pk=rows[2].pk).before
    assert before is not None and before["hs_appointment_name"] == "Visit 1"
    # The update's associations went through the associations API.
    [links] = [
        json.loads(e.request_body)
        for e in hubspot.journal("/batch/create")
        if "/associations/" in e.path
    ]
    assert [(i["from"]["id"], i["to"]["id"]) for i in links["inputs"]] == [
        (one, DEMO_CONTACT_IDS[0])
    ]

    undo = logged_client.get(reverse("appointments:batch-undo", args=[batch.pk]))
    assert 'data-undo-action="restore"' in undo.text and 'data-undo-action="archive"' in undo.text
    logged_client.post(reverse("appointments:batch-undo", args=[batch.pk]))
    batch.refresh_from_db()
    assert batch.status == Batch.Status.UNDONE
    assert _record(one).properties["hs_appointment_name"] == "Visit 1"
    assert _record(one).archived is False and _record(two).archived is False
    assert _record(rows[4].hubspot_id).archived is True
    assert dict(batch.undos.values_list("record_id", "outcome")) == {
        one: RowUndo.Outcome.RESTORED,
        two: RowUndo.Outcome.RESTORED,
        rows[4].hubspot_id: RowUndo.Outcome.ARCHIVED,
    }
    # The batch page counts each outcome of the undo.
    page = logged_client.get(reverse("appointments:batch-detail", args=[batch.pk])).text
    assert "restored to their previous values" in page and "archived" in page


def test_update_only_leaves_out_rows_without_a_record_id(
    logged_client: Client, portal: Portal, hubspot: Any
) -> None:
    first = _send(logged_client, _upload(logged_client, portal, rows_csv(1), "first.csv"))
    [one] = first.rows.values_list("hubspot_id", flat=True)
    lines = [
        "Record ID," + BATCH_HEADER,
        f"{one},,,,Canceled,,",
        f",Brand new,2026-12-05 09:00,2026-12-05 10:00,Scheduled,{DEMO_CONTACT_IDS[1]},",
    ]
    batch = _upload(logged_client, portal, lines, "only.csv", col_0="p:hs_object_id")
    batch = _send(logged_client, batch, write_mode="update_only")
    left_out = batch.rows.get(row_number=3)
    assert left_out.state == BatchRow.State.EXCLUDED
    assert "Record ID" in left_out.error_message and "only updates" in left_out.error_message
    assert not hubspot.journal("/batch/create", method="POST")[1:]
    assert _outcomes(batch) == {2: "updated"}


def _booking_lines(refs: list[tuple[str, str]], shift: int = 0) -> list[str]:
    lines = ["external_booking_ref," + BATCH_HEADER]
    for n, (ref, status) in enumerate(refs, start=1):
        lines.append(
            f"{ref},Booking {ref},2026-12-0{n} 09:00,2026-12-0{n} 10:00,{status},"
            f"{DEMO_CONTACT_IDS[(n + shift) % 2]},"
        )
    return lines


def test_upsert_updates_existing_appointments_and_creates_the_rest(
    logged_client: Client, portal: Portal, hubspot: Any
) -> None:
    first = _send(
        logged_client,
        _upload(logged_client, portal, _booking_lines([("B-1", "Scheduled")]), "first.csv"),
    )
    [existing] = first.rows.values_list("hubspot_id", flat=True)
    # B-1 now with another contact: the existing record gains that association.
    lines = _booking_lines([("B-1", "Canceled"), ("B-2", "Scheduled")], shift=1)
    batch = _upload(logged_client, portal, lines, "upsert.csv")
    page = logged_client.get(reverse("appointments:batch-submit", args=[batch.pk]))
    assert 'value="external_booking_ref"' in page.text

    batch = _send(logged_client, batch, write_mode="upsert", upsert_property="external_booking_ref")
    assert batch.status == Batch.Status.COMPLETED
    [upsert] = [json.loads(e.request_body) for e in hubspot.journal("/batch/upsert")]
    assert [(i["idProperty"], i["id"]) for i in upsert["inputs"]] == [
        ("external_booking_ref", "B-1"),
        ("external_booking_ref", "B-2"),
    ]
    assert _outcomes(batch) == {2: "updated", 3: "created"}
    rows = {r.row_number: r for r in batch.rows.all()}
    assert rows[2].hubspot_id == existing
    assert _record(existing).properties["hs_appointment_status"] != "SCHEDULED"
    # Associations added for the new and the existing record alike.
    created = _record(rows[3].hubspot_id)
    assert [a["toObjectId"] for a in created.associations] == [DEMO_CONTACT_IDS[1]]
    assert sorted(a["toObjectId"] for a in _record(existing).associations) == sorted(
        DEMO_CONTACT_IDS[:2]
    )
    assert len([r for r in hubspot.appointments() if not r.archived]) == 2


def test_a_lost_upsert_answer_creates_once_and_the_row_stays_created(
    logged_client: Client, portal: Portal, hubspot: Any
) -> None:
    batch = _upload(logged_client, portal, _booking_lines([("B-9", "Scheduled")]), "lost.csv")
    # The sandbox creates the record, then withholds the answer: the resend answers new: false.
    hubspot.set_fault("create_timeout", times=1, path_contains="/batch/upsert", hang_seconds=1)
    batch = _send(logged_client, batch, write_mode="upsert", upsert_property="external_booking_ref")
    assert batch.status == Batch.Status.COMPLETED
    assert len(hubspot.journal("/batch/upsert")) == 2
    holders = [r for r in hubspot.appointments() if r.properties.get("external_booking_ref")]
    assert len(holders) == 1
    [row] = batch.rows.all()
    assert row.state == BatchRow.State.CREATED and row.hubspot_id == holders[0].record_id
    assert _outcomes(batch) == {2: "created"}
    # So undo archives it (the batch made it), never "restores" it.
    logged_client.post(reverse("appointments:batch-undo", args=[batch.pk]))
    assert _record(row.hubspot_id).archived is True


def test_undo_keeps_an_updated_record_changed_since_unless_included(
    logged_client: Client, portal: Portal, hubspot: Any
) -> None:
    first = _send(logged_client, _upload(logged_client, portal, rows_csv(2), "first.csv"))
    one, two = first.rows.order_by("row_number").values_list("hubspot_id", flat=True)
    lines = ["Record ID,Appointment name", f"{one},Renamed 1", f"{two},Renamed 2"]
    batch = _send(
        logged_client,
        # "Record ID" is proposed as the record ID column: no choice to make.
        _upload(logged_client, portal, lines, "rename.csv"),
    )
    assert _outcomes(batch) == {2: "updated", 3: "updated"}
    # The results page, the download and the audit say "updated" per row.
    page = logged_client.get(reverse("appointments:batch-detail", args=[batch.pk]))
    assert page.text.count(">Updated<") == 2
    csv = b"".join(
        logged_client.get(reverse("appointments:batch-export-csv", args=[batch.pk]))
    ).decode()
    assert csv.count(",Updated,") == 2
    audit = logged_client.get(reverse("appointments:batch-export-audit", args=[batch.pk])).json()
    assert [(r["outcome"], r["before"]) for r in audit["created"]] == [
        ("updated", {"hs_appointment_name": "Visit 1"}),
        ("updated", {"hs_appointment_name": "Visit 2"}),
    ]
    assert audit["batch"]["write_mode"] == "update"
    edited = hubspot_update(hubspot, two, {"hs_appointment_name": "Someone else"})
    assert edited.status_code == 200, edited.text

    logged_client.post(reverse("appointments:batch-undo", args=[batch.pk]))
    assert _record(one).properties["hs_appointment_name"] == "Visit 1"
    assert _record(two).properties["hs_appointment_name"] == "Someone else"
    assert dict(batch.undos.values_list("record_id", "outcome")) == {
        one: RowUndo.Outcome.RESTORED,
        two: RowUndo.Outcome.CHANGED,
    }


def test_an_undo_stopped_between_marking_and_restoring_restores_on_resume(
    logged_client: Client, portal: Portal, hubspot: Any
) -> None:
    """A worker killed after marking a record RESTORING (before or after the batch update)
    loses nothing: the next run writes the previous values again (harmless) and marks it."""
    first = _send(logged_client, _upload(logged_client, portal, rows_csv(2), "first.csv"))
    one, two = first.rows.order_by("row_number").values_list("hubspot_id", flat=True)
    lines = ["Record ID,Appointment name", f"{one},Renamed 1", f"{two},Renamed 2"]
    batch = _send(logged_client, _upload(logged_client, portal, lines, "rename.csv"))
    row = batch.rows.get(hubspot_id=one)
    RowUndo.objects.create(row=row, batch=batch, record_id=one, outcome=RowUndo.Outcome.RESTORING)
    Batch.objects.filter(pk=batch.pk).update(status=Batch.Status.UNDOING, worker="")
    batch_undo_run(batch_id=str(batch.pk))
    batch.refresh_from_db()
    assert batch.status == Batch.Status.UNDONE
    assert set(batch.undos.values_list("outcome", flat=True)) == {RowUndo.Outcome.RESTORED}
    assert [_record(i).properties["hs_appointment_name"] for i in (one, two)] == [
        "Visit 1",
        "Visit 2",
    ]


def test_a_row_naming_no_appointment_fails_saying_so_and_once_fixed_updates_the_right_one(
    logged_client: Client, portal: Portal, hubspot: Any
) -> None:
    first = _send(logged_client, _upload(logged_client, portal, rows_csv(2), "first.csv"))
    one, two = first.rows.order_by("row_number").values_list("hubspot_id", flat=True)
    lines = ["Record ID,Appointment name", f"{one},Renamed 1", "99999999999,Renamed 2"]
    batch = _send(logged_client, _upload(logged_client, portal, lines, "typo.csv"))
    wrong = batch.rows.get(row_number=3)
    assert (wrong.state, wrong.error_category) == (BatchRow.State.FAILED, "OBJECT_NOT_FOUND")
    assert "no appointment 99999999999 to update" in wrong.error_message

    edit = reverse("appointments:row-edit", args=[batch.pk, 3])
    logged_client.post(edit, {"c0": two}, headers={"HX-Request": "true"})
    assert batch.rows.get(row_number=3).state == BatchRow.State.READY
    _send(logged_client, batch)
    wrong.refresh_from_db()
    assert (wrong.state, wrong.hubspot_id) == (BatchRow.State.CREATED, two)
    assert _record(two).properties["hs_appointment_name"] == "Renamed 2"
    # What undo would restore is the fixed record's own earlier value.
    assert RowWrite.objects.get(pk=wrong.pk).before == {"hs_appointment_name": "Visit 2"}


def test_an_update_call_refused_whole_says_so_on_every_row(
    logged_client: Client, portal: Portal, hubspot: Any
) -> None:
    first = _send(logged_client, _upload(logged_client, portal, rows_csv(2), "first.csv"))
    one, two = first.rows.order_by("row_number").values_list("hubspot_id", flat=True)
    owner = next(o for o in DEMO_OWNERS if not o[5])
    lines = ["Record ID,Appointment name,Owner", f"{one},Moved 1,{owner[2]}", f"{two},Moved 2,"]
    batch = _upload(
        logged_client,
        portal,
        lines,
        "owners.csv",
        col_0="p:hs_object_id",
        col_2="p:hubspot_owner_id",
    )
    assert batch.rows.filter(state=BatchRow.State.READY).count() == 2
    # Deactivated in HubSpot after the file was checked: HubSpot refuses the call whole.
    SandboxOwner.objects.filter(owner_id=owner[0]).update(archived=True)

    batch = _send(logged_client, batch, write_mode="update")

    rows = list(batch.rows.order_by("row_number"))
    assert [row.state for row in rows] == [BatchRow.State.FAILED] * 2
    for row in rows:
        # Not the first row's error copied onto the second: the call was refused whole.
        assert row.error_message.startswith(
            "HubSpot refused the whole call of 2 rows because of one of them: "
        ), row.error_message
        assert "Fix the row it names; the others are sent again as they are." in row.error_message
    assert _record(two).properties["hs_appointment_name"] == "Visit 2"
