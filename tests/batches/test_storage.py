"""Stored rows are exactly what validation produced: every row, valid or not, chunk by chunk."""

from __future__ import annotations

import dataclasses
import io
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import IntegrityError
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from appointments.intake.encoding import RowLayout
from appointments.intake.headers import propose_mapping
from appointments.intake.mapping import ColumnTarget, mapping_to_json
from appointments.intake.readers import read_table
from appointments.intake.rows import CellError, ValidatedRow
from appointments.intake.validation import snapshot_validator, validate_table
from appointments.models import Batch, BatchRow, Portal, Upload
from appointments.services import batches as batch_services
from appointments.services import uploads as upload_services
from appointments.services.storage import batch_rows_store
from tests import web as ui
from tests.intake_fixtures import LABELS, PROPERTIES

pytestmark = pytest.mark.django_db

CSV = (
    "Appointment name,Start time,End time,Status,Party size,contact_ids\n"
    "Check-up Zoë,2026-04-02 08:15,2026-04-02 08:45,Scheduled,2,51234;51235\n"
    "Bad start,2026-13-45 08:00,,Completed,1,\n"
    "Ends before it starts,2026-04-03 10:00,2026-04-03 09:00,,,\n"
    "Unknown status 🙂,2026-04-04 11:00,,Postponed,3,51236.0\n"
    ",,,,,\n"
    "Bad ids,2026-04-05 12:00,,No show,many,12a\n"
    "Visite à domicile,2026-04-06 14:00,2026-04-06 15:00,canceled,4,51237\n"
).encode()


@pytest.fixture
def upload(user: User) -> Upload:
    portal = Portal.objects.create(hub_id=421_001, connected_by=user)
    return Upload.objects.create(
        portal=portal, created_by=user, filename="mixed.csv", data=CSV, timezone="Europe/Paris"
    )


def stored(batch: Batch) -> list[dict[str, Any]]:
    """The batch's rows, property values and record IDs read back through its layout."""
    rows = batch.rows.order_by("row_number").values(
        "row_number", "raw", "properties", "associations", "errors", "state"
    )
    layout = Batch.objects.get(pk=batch.pk).layout
    return [
        {
            **row,
            "properties": layout.unpack_properties(row["properties"]),
            "associations": layout.unpack_associations(row["associations"]),
        }
        for row in rows
    ]


def expected(upload: Upload) -> list[dict[str, Any]]:
    table = read_table(CSV, upload.filename, max_rows=1000)
    rows = validate_table(
        table,
        mapping=propose_mapping(table.headers, PROPERTIES, LABELS),
        properties=PROPERTIES,
        timezone=ZoneInfo(upload.timezone),
        date_orders={},
    )
    return [
        {
            "row_number": row.row_number,
            "raw": row.raw,
            "properties": row.properties,
            "associations": row.associations,
            "errors": [dataclasses.asdict(error) for error in row.errors],
            "state": BatchRow.State.READY if row.valid else BatchRow.State.INVALID,
        }
        for row in rows
    ]


def confirm(upload: Upload) -> Batch:
    table = read_table(CSV, upload.filename, max_rows=1000)
    return upload_services.upload_table_confirm(
        upload=upload,
        table=table,
        mapping=propose_mapping(table.headers, PROPERTIES, LABELS),
        properties=PROPERTIES,
        date_orders={},
    )


def test_it_stores_every_row_exactly_as_validated(upload: Upload) -> None:
    batch = confirm(upload)

    rows = stored(batch)
    assert rows == expected(upload)
    # Row 6 is blank: the reader leaves it out, the numbers stay the file's.
    assert [row["row_number"] for row in rows] == [2, 3, 4, 5, 7, 8]
    assert [row["state"] for row in rows] == [
        "ready",
        "invalid",
        "invalid",
        "invalid",
        "invalid",
        "ready",
    ]
    first = rows[0]
    assert first["raw"] == [
        "Check-up Zoë",
        "2026-04-02 08:15",
        "2026-04-02 08:45",
        "Scheduled",
        "2",
        "51234;51235",
    ]
    assert first["properties"] == {
        "hs_appointment_name": "Check-up Zoë",
        "hs_appointment_start": "2026-04-02T06:15:00Z",
        "hs_appointment_end": "2026-04-02T06:45:00Z",
        "hs_appointment_status": "scheduled",
        "party_size": "2",
    }
    assert first["associations"] == [
        ["51234", "HUBSPOT_DEFINED", 906],
        ["51235", "HUBSPOT_DEFINED", 906],
    ]
    assert first["errors"] == []
    # As stored: one value per mapped property, one array of IDs per association type.
    assert batch.layout.properties == (
        "hs_appointment_name",
        "hs_appointment_start",
        "hs_appointment_end",
        "hs_appointment_status",
        "party_size",
    )
    assert batch.layout.associations == (("HUBSPOT_DEFINED", 906),)
    assert batch.rows.values_list("properties", "associations").get(row_number=2) == (
        ["Check-up Zoë", "2026-04-02T06:15:00Z", "2026-04-02T06:45:00Z", "scheduled", "2"],
        [["51234", "51235"]],
    )
    assert batch.rows.values_list("properties", "associations").get(row_number=8) == (
        ["Visite à domicile", "2026-04-06T12:00:00Z", "2026-04-06T13:00:00Z", "canceled", "4"],
        [["51237"]],
    )
    assert rows[3]["raw"][0] == "Unknown status 🙂"
    assert [error["code"] for error in rows[4]["errors"]] == ["invalid_number", "invalid_record_id"]
    assert rows[4]["errors"][0]["column"] == "Party size"
    assert rows[4]["errors"][0]["value"] == "many"


def test_it_gives_each_row_its_own_trace_id_and_the_model_defaults(upload: Upload) -> None:
    batch = confirm(upload)
    other = Batch.objects.create(
        portal=upload.portal, created_by=upload.created_by, mapping=batch.mapping
    )
    table = read_table(CSV, upload.filename, max_rows=1000)
    mapping = propose_mapping(table.headers, PROPERTIES, LABELS)
    validator = snapshot_validator(
        headers=table.headers,
        mapping=mapping,
        properties=PROPERTIES,
        timezone=ZoneInfo("Europe/Paris"),
        reading={},
    )
    assert batch_rows_store(batch=other, rows=validator.validate_rows(table.rows)) == 6

    rows = list(BatchRow.objects.filter(batch__in=[batch, other]))
    traces = [row.object_write_trace_id for row in rows]
    assert len(rows) == 12
    assert len(set(traces)) == 12
    for row in rows:
        assert row.object_write_trace_id.startswith(f"hp-{row.batch_id.hex[:12]}-{row.row_number}-")
        assert len(row.object_write_trace_id.rsplit("-", 1)[1]) == 8
        assert row.call_id is None
        assert row.hubspot_id == ""
        assert row.error_category == ""
        assert row.error_message == ""
        assert row.updated_at is not None


def test_it_puts_every_value_in_its_own_row_across_many_insert_statements(
    upload: Upload,
) -> None:
    # More rows than one INSERT statement takes, and not a multiple of it: a value bound to
    # the wrong row or a lost remainder would show.
    mapping = [
        {"kind": "property", "name": "hs_appointment_name"},
        {"kind": "association", "name": "0-1", "association_type_id": 906},
    ]
    batch = Batch.objects.create(
        portal=upload.portal, created_by=upload.created_by, mapping=mapping
    )
    problem = CellError("Party size", "many", "invalid_number", "Row {n}: not a number")
    rows = [
        ValidatedRow(
            number,
            [f"Visit {number}", "many" if number % 7 == 0 else str(number)],
            {"hs_appointment_name": f"Visit {number}"},
            [[str(50_000 + number), "HUBSPOT_DEFINED", 906]],
            [problem] if number % 7 == 0 else [],
        )
        for number in range(2, 615)
    ]
    before = timezone.now()

    assert batch_rows_store(batch=batch, rows=rows) == 613

    stored_rows = list(batch.rows.order_by("row_number"))
    assert [row.row_number for row in stored_rows] == list(range(2, 615))
    for row in stored_rows:
        number = row.row_number
        assert row.raw == [f"Visit {number}", "many" if number % 7 == 0 else str(number)]
        assert row.properties == [f"Visit {number}"]
        assert row.associations == [[str(50_000 + number)]]
        assert row.state == ("invalid" if number % 7 == 0 else "ready")
        assert row.errors == ([dataclasses.asdict(problem)] if number % 7 == 0 else [])
        assert row.object_write_trace_id.startswith(f"hp-{batch.pk.hex[:12]}-{number}-")
        assert before <= row.updated_at <= timezone.now()


def test_a_row_number_stored_twice_is_refused_and_nothing_of_the_chunk_is_kept(
    upload: Upload,
) -> None:
    batch = Batch.objects.create(portal=upload.portal, created_by=upload.created_by)
    rows = [ValidatedRow(number, ["x"], {}, [], []) for number in (2, 3, 4, 3)]

    with pytest.raises(IntegrityError):
        batch_rows_store(batch=batch, rows=rows)

    assert not batch.rows.exists()


def test_a_layout_places_every_value_of_its_mapping_and_refuses_others() -> None:
    contact = ColumnTarget("association", "0-1", 906, "HUBSPOT_DEFINED")
    attendee = ColumnTarget("association", "0-1", 37, "USER_DEFINED")
    mapping = [
        ColumnTarget("property", "hs_appointment_name"),
        None,
        contact,
        ColumnTarget("property", "party_size"),
        attendee,
        ColumnTarget("property", "hs_appointment_name"),  # a second column, same property
        ColumnTarget("association", "0-1", 906),  # the default category, named or not
    ]
    layout = RowLayout.of(mapping)
    assert layout == RowLayout(
        ("hs_appointment_name", "party_size"), (("HUBSPOT_DEFINED", 906), ("USER_DEFINED", 37))
    )
    # Batch.mapping's stored JSON gives the same layout.
    assert RowLayout.of_json(mapping_to_json(mapping)) == layout

    items = [
        ["7", "USER_DEFINED", 37],
        ["5", "HUBSPOT_DEFINED", 906],
        ["6", "HUBSPOT_DEFINED", 906],
    ]
    assert layout.pack_properties({"party_size": "3"}) == [None, "3"]
    assert layout.pack_associations(items) == [["5", "6"], ["7"]]
    assert layout.unpack_properties([None, "3"]) == {"party_size": "3"}
    assert layout.unpack_associations([["5", "6"], ["7"]]) == [items[1], items[2], items[0]]

    with pytest.raises(ValueError, match="visit_notes"):
        layout.pack_properties({"party_size": "3", "visit_notes": "lost otherwise"})
    with pytest.raises(ValueError, match="USER_DEFINED 41"):
        layout.pack_associations([["8", "USER_DEFINED", 41]])
    with pytest.raises(ValueError):
        layout.unpack_properties(["only one value"])


def test_a_nul_in_the_file_is_an_error_on_its_cell_and_every_row_is_stored(user: User) -> None:
    # PostgreSQL's jsonb cannot hold NUL: storing it failed the whole upload there.
    data = (
        b"Appointment name,Start time,Party size,Office use\x00\n"
        b"Visit one,2026-04-02 08:15,2,fine\n"
        b"Visit\x00two,2026-04-02 09:15,3,fine\n"
        b"Visit three,2026-04-02 10:15,4,ignored\x00column\n"
    )
    portal = Portal.objects.create(hub_id=421_002, connected_by=user)
    nul_upload = Upload.objects.create(
        portal=portal, created_by=user, filename="nul.csv", data=data, timezone="Europe/Paris"
    )
    table = read_table(data, "nul.csv", max_rows=10)
    mapping = propose_mapping(table.headers, PROPERTIES, LABELS)
    assert mapping[3] is None  # "Office use" maps to nothing

    batch = upload_services.upload_table_confirm(
        upload=nul_upload, table=table, mapping=mapping, properties=PROPERTIES, date_orders={}
    )

    rows = stored(batch)
    assert batch.headers[3] == "Office use\ufffd"
    assert [row["state"] for row in rows] == ["ready", "invalid", "ready"]
    assert rows[1]["raw"][0] == "Visit\ufffdtwo"
    assert rows[1]["properties"] == {
        "hs_appointment_start": "2026-04-02T07:15:00Z",
        "party_size": "3",
    }
    [error] = rows[1]["errors"]
    assert error == {
        "column": "Appointment name",
        "value": "Visit\ufffdtwo",
        "code": "nul_character",
        "message": 'Row 3, column "Appointment name": "Visit\ufffdtwo" contains an invisible NUL '
        "character (shown as \ufffd), which HubSpot cannot store. Delete it, or type the value "
        "again.",
        # What the sentence is made again from, in each reader's language.
        "params": {"name": "hs_appointment_name"},
    }
    assert rows[2]["raw"][3] == "ignored\ufffdcolumn"
    assert rows[2]["properties"]["hs_appointment_name"] == "Visit three"


def test_it_stores_the_same_rows_whatever_the_chunk_size(
    upload: Upload, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(batch_services, "CHUNK_ROWS", 2)

    batch = confirm(upload)

    assert stored(batch) == expected(upload)


def test_it_stores_nothing_for_no_rows(upload: Upload) -> None:
    batch = Batch.objects.create(portal=upload.portal, created_by=upload.created_by)

    assert batch_rows_store(batch=batch, rows=[]) == 0
    assert not batch.rows.exists()


# --- large uploads: checked and stored by a task ----------------------------------------------


def test_it_confirms_a_large_upload_in_a_task_and_opens_its_batch(
    logged_client: Client, portal: Portal, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The portal fixture runs tasks inline (ImmediateBackend): the batch exists on redirect.
    monkeypatch.setattr(upload_services, "CONFIRM_INLINE_MAX_ROWS", 1)
    ui.upload(logged_client, portal, ui.csv_file(ui.two_rows()))

    response = ui.confirm(logged_client)

    assert response.status_code == 302
    assert response["Location"] == ui.mapping_url()
    batch = Batch.objects.get()
    assert logged_client.get(ui.mapping_url())["Location"] == reverse(
        "appointments:batch-detail", args=[batch.pk]
    )
    assert [row.state for row in batch.rows.order_by("row_number")] == ["ready", "invalid"]
    assert Upload.objects.get().batch == batch


def test_it_shows_the_rows_being_checked_until_the_worker_stored_them(
    logged_client: Client, portal: Portal, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    monkeypatch.setattr(upload_services, "CONFIRM_INLINE_MAX_ROWS", 1)
    ui.upload(logged_client, portal, ui.csv_file(ui.two_rows()))
    ui.confirm(logged_client)
    assert not Batch.objects.exists()

    page = logged_client.get(ui.mapping_url())
    fragment = logged_client.get(ui.mapping_url(), headers={"HX-Request": "true"})

    assert page.status_code == 200 and "<html" in page.text
    assert "Checking 2 rows…" in page.text
    assert "<html" not in fragment.text
    assert 'hx-trigger="every 2s"' in fragment.text
    call_command("worker", burst=True, stdout=io.StringIO())
    batch = Batch.objects.get()
    assert batch.rows.count() == 2
    done = logged_client.get(ui.mapping_url(), headers={"HX-Request": "true"})
    assert done["HX-Redirect"] == reverse("appointments:batch-detail", args=[batch.pk])


def test_it_never_gives_an_upload_two_batches(
    logged_client: Client, portal: Portal, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    monkeypatch.setattr(upload_services, "CONFIRM_INLINE_MAX_ROWS", 1)
    ui.upload(logged_client, portal, ui.csv_file(ui.two_rows()))
    values = ui.form_values(logged_client.get(ui.mapping_url()).text, "mapping-form")
    # Confirmed twice (a double click, a second tab) before the worker ran: two tasks queued.
    logged_client.post(ui.mapping_url(), values)
    logged_client.post(ui.mapping_url(), values)
    assert DBTaskResult.objects.count() == 2

    call_command("worker", burst=True, stdout=io.StringIO())

    assert Batch.objects.count() == 1
    assert Batch.objects.get().rows.count() == 2
    assert Upload.objects.get().batch == Batch.objects.get()


def test_it_says_so_when_checking_in_the_background_failed(
    logged_client: Client, portal: Portal, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    monkeypatch.setattr(upload_services, "CONFIRM_INLINE_MAX_ROWS", 1)
    ui.upload(logged_client, portal, ui.csv_file(ui.two_rows()))
    ui.confirm(logged_client)
    # The kept file is damaged before the worker reads it again.
    Upload.objects.update(data=b"\x00\x01 not a spreadsheet")

    call_command("worker", burst=True, stdout=io.StringIO())
    page = logged_client.get(ui.mapping_url())

    assert not Batch.objects.exists()
    assert "Checking the rows stopped on an unexpected error; nothing was stored." in page.text
    assert 'hx-trigger="every 2s"' not in page.text
    # The next visit shows the mapping screen again, to confirm once more.
    assert 'id="mapping-form"' in logged_client.get(ui.mapping_url()).text
