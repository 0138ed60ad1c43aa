"""Rows stored before 0005 are rewritten in the compact shapes, and back when migrating down."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("appointments", "0004_drop_redundant_row_indexes")]
AFTER = [("appointments", "0006_compact_row_values")]


def migrate(targets: list[tuple[str, str]]) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return MigrationExecutor(connection)


@pytest.mark.django_db(transaction=True)
def test_it_rewrites_stored_rows_in_the_compact_shapes_and_back() -> None:
    old = migrate(BEFORE).loader.project_state(BEFORE).apps
    user = old.get_model("auth", "User").objects.create(username="before")
    portal = old.get_model("appointments", "Portal").objects.create(hub_id=1, connected_by=user)
    batch = old.get_model("appointments", "Batch").objects.create(
        portal=portal,
        created_by=user,
        headers=["Appointment name", "Notes", "", "Notes", "contact_ids"],
    )
    link = {
        "to": {"id": "51234"},
        "types": [{"associationCategory": "USER_DEFINED", "associationTypeId": 37}],
    }
    old_raw = {
        "Appointment name": "Visit",
        "Notes": "a",
        "C": "untitled",
        "Notes (D)": "b",
        "contact_ids": "51234",
    }
    old.get_model("appointments", "BatchRow").objects.create(
        batch=batch,
        row_number=2,
        raw=old_raw,
        properties={"hs_appointment_name": "Visit"},
        associations=[link],
        state="ready",
        object_write_trace_id=f"hp-{uuid.uuid4().hex[:12]}-2-0",
    )

    new = migrate(AFTER).loader.project_state(AFTER).apps
    row = new.get_model("appointments", "BatchRow").objects.get()
    assert row.raw == ["Visit", "a", "untitled", "b", "51234"]
    assert row.associations == [["51234", "USER_DEFINED", 37]]
    assert row.properties == {"hs_appointment_name": "Visit"}

    back = migrate(BEFORE).loader.project_state(BEFORE).apps
    row = back.get_model("appointments", "BatchRow").objects.get()
    assert row.raw == old_raw
    assert row.associations == [link]
    migrate(AFTER)
