"""Stored rows are exactly what validation produced: every row, valid or not, chunk by chunk."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from django.contrib.auth.models import User

from appointments.intake.mapping import propose_mapping
from appointments.intake.readers import read_table
from appointments.models import Batch, BatchRow, Portal, Upload
from appointments.services import intake as intake_services
from appointments.services.storage import batch_rows_store
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
    return list(
        batch.rows.order_by("row_number").values(
            "row_number", "raw", "properties", "associations", "errors", "state"
        )
    )


def expected(upload: Upload) -> list[dict[str, Any]]:
    table = read_table(CSV, upload.filename, max_rows=1000)
    rows = intake_services.table_validate(
        table=table,
        mapping=propose_mapping(table.headers, PROPERTIES, LABELS),
        properties=PROPERTIES,
        timezone_name=upload.timezone,
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
    return intake_services.upload_confirm(
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
    assert first["raw"]["Appointment name"] == "Check-up Zoë"
    assert first["properties"] == {
        "hs_appointment_name": "Check-up Zoë",
        "hs_appointment_start": "2026-04-02T06:15:00Z",
        "hs_appointment_end": "2026-04-02T06:45:00Z",
        "hs_appointment_status": "scheduled",
        "party_size": "2",
    }
    assert first["associations"] == [
        {
            "to": {"id": id_},
            "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 906}],
        }
        for id_ in ("51234", "51235")
    ]
    assert first["errors"] == []
    assert rows[3]["raw"]["Appointment name"] == "Unknown status 🙂"
    assert [error["code"] for error in rows[4]["errors"]] == ["invalid_number", "invalid_record_id"]
    assert rows[4]["errors"][0]["column"] == "Party size"
    assert rows[4]["errors"][0]["value"] == "many"


def test_it_gives_each_row_its_own_trace_id_and_the_model_defaults(upload: Upload) -> None:
    batch = confirm(upload)
    other = Batch.objects.create(portal=upload.portal, created_by=upload.created_by)
    table = read_table(CSV, upload.filename, max_rows=1000)
    mapping = propose_mapping(table.headers, PROPERTIES, LABELS)
    validator = intake_services.batch_validator(
        headers=table.headers,
        mapping=mapping,
        properties=PROPERTIES,
        timezone_name="Europe/Paris",
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


def test_it_stores_the_same_rows_whatever_the_chunk_size(
    upload: Upload, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(intake_services, "CHUNK_ROWS", 2)

    batch = confirm(upload)

    assert stored(batch) == expected(upload)


def test_it_stores_nothing_for_no_rows(upload: Upload) -> None:
    batch = Batch.objects.create(portal=upload.portal, created_by=upload.created_by)

    assert batch_rows_store(batch=batch, rows=[]) == 0
    assert not batch.rows.exists()
