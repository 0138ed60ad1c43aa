"""Rows stored in an older shape are rewritten in the current one, and back when migrating
down; a row whose values its batch's mapping cannot place stops the migration unchanged."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from appointments.intake.encoding import RowLayout

BEFORE = [("appointments", "0004_drop_redundant_row_indexes")]
AFTER = [("appointments", "0006_compact_row_values")]


BY_NAME = [("appointments", "0006_compact_row_values")]
BY_LAYOUT = [("appointments", "0007_row_values_by_layout")]


def migrate(targets: list[tuple[str, str]]) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return MigrationExecutor(connection)


@pytest.fixture(autouse=True)
def back_to_latest() -> Iterator[None]:
    # The database outlives this module's tests: leave it migrated as the others expect.
    yield
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_it_rewrites_stored_rows_in_the_compact_shapes_and_back() -> None:
    old = migrate(BEFORE).loader.project_state(BEFORE).apps
    user = old.get_model("auth", "User").objects.create(username="before")
    portal = old.get_model("appointments", "Portal").objects.create(hub_id=1, connected_by=user)
    batch = old.get_model("appointments", "Batch").objects.create(
        portal=portal,
        created_by=user,
        headers=["Appointment name", "Notes", "", "Notes", "contact_ids"],
        mapping=[
            {"kind": "property", "name": "hs_appointment_name"},
            None,
            None,
            None,
            {
                "kind": "association",
                "name": "0-1",
                "association_type_id": 37,
                "association_category": "USER_DEFINED",
            },
        ],
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


MAPPING = [
    {"kind": "property", "name": "hs_appointment_name"},
    {"kind": "association", "name": "0-1", "association_type_id": 906},
    {"kind": "property", "name": "hs_appointment_start"},
    None,
    {
        "kind": "association",
        "name": "0-1",
        "association_type_id": 37,
        "association_category": "USER_DEFINED",
    },
    {"kind": "property", "name": "visit_notes"},
]


def by_name_row(apps: Any, properties: dict[str, str], associations: list[list[Any]]) -> Any:
    user = apps.get_model("auth", "User").objects.create(username=f"u{uuid.uuid4().hex[:8]}")
    portal = apps.get_model("appointments", "Portal").objects.create(
        hub_id=uuid.uuid4().int % 10**9, connected_by=user
    )
    batch = apps.get_model("appointments", "Batch").objects.create(
        portal=portal, created_by=user, headers=["a", "b", "c", "d", "e", "f"], mapping=MAPPING
    )
    return apps.get_model("appointments", "BatchRow").objects.create(
        batch=batch,
        row_number=2,
        raw=["Visit", "51234;51235", "2026-04-02 08:15", "", "77", ""],
        properties=properties,
        associations=associations,
        state="ready",
        object_write_trace_id=f"hp-{uuid.uuid4().hex[:12]}-2-0",
    )


@pytest.mark.django_db(transaction=True)
def test_it_stores_values_in_the_batch_layout_order_and_back() -> None:
    old = migrate(BY_NAME).loader.project_state(BY_NAME).apps
    properties = {"hs_appointment_start": "2026-04-02T06:15:00Z", "hs_appointment_name": "Visit"}
    associations = [
        ["51234", "HUBSPOT_DEFINED", 906],
        ["77", "USER_DEFINED", 37],
        ["51235", "HUBSPOT_DEFINED", 906],
    ]
    by_name_row(old, properties, associations)

    new = migrate(BY_LAYOUT).loader.project_state(BY_LAYOUT).apps
    row = new.get_model("appointments", "BatchRow").objects.get()
    assert row.properties == ["Visit", "2026-04-02T06:15:00Z", None]
    assert row.associations == [["51234", "51235"], ["77"]]
    # The model's own reading of the stored row agrees with the migration's.
    layout = RowLayout.of_json(MAPPING)
    assert layout.unpack_properties(row.properties) == properties
    assert layout.unpack_associations(row.associations) == [
        ["51234", "HUBSPOT_DEFINED", 906],
        ["51235", "HUBSPOT_DEFINED", 906],
        ["77", "USER_DEFINED", 37],
    ]

    back = migrate(BY_NAME).loader.project_state(BY_NAME).apps
    row = back.get_model("appointments", "BatchRow").objects.get()
    assert row.properties == properties
    assert sorted(row.associations) == sorted(associations)


@pytest.mark.django_db(transaction=True)
def test_it_stops_rather_than_lose_a_value_the_layout_has_no_place_for() -> None:
    old = migrate(BY_NAME).loader.project_state(BY_NAME).apps
    row = by_name_row(old, {"hs_appointment_name": "Visit", "party_size": "3"}, [])

    with pytest.raises(RuntimeError, match=r"Row 2 of batch .* properties \['party_size'\]"):
        migrate(BY_LAYOUT)

    migrate(BY_NAME)
    kept = old.get_model("appointments", "BatchRow").objects.get(pk=row.pk)
    assert kept.properties == {"hs_appointment_name": "Visit", "party_size": "3"}
    kept.delete()  # so the database can go back to the latest migration


BEFORE_COUNTS = [("appointments", "0009_portal_tokens_unreadable")]
WITH_COUNTS = [("appointments", "0010_batch_counts")]


@pytest.mark.django_db(transaction=True)
def test_it_counts_the_rows_batches_already_had_and_keeps_counting() -> None:
    old = migrate(BEFORE_COUNTS).loader.project_state(BEFORE_COUNTS).apps
    user = old.get_model("auth", "User").objects.create(username="counted")
    portal = old.get_model("appointments", "Portal").objects.create(hub_id=7, connected_by=user)
    batch = old.get_model("appointments", "Batch").objects.create(portal=portal, created_by=user)
    for number, state in enumerate(["ready", "ready", "invalid", "created"], start=2):
        old.get_model("appointments", "BatchRow").objects.create(
            batch=batch,
            row_number=number,
            raw=[],
            state=state,
            object_write_trace_id=f"hp-{uuid.uuid4().hex[:12]}-{number}-0",
        )

    new = migrate(WITH_COUNTS).loader.project_state(WITH_COUNTS).apps
    counts = new.get_model("appointments", "BatchCounts").objects.get(batch_id=batch.pk)
    assert (counts.n_ready, counts.n_invalid, counts.n_created) == (2, 1, 1)
    rows = new.get_model("appointments", "BatchRow").objects.filter(batch_id=batch.pk)
    rows.filter(state="ready").update(state="sending")
    counts.refresh_from_db()
    assert (counts.n_ready, counts.n_sending) == (0, 2)

    migrate(BEFORE_COUNTS)
    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
    assert "appointments_batchcounts" not in tables
    # Rows change freely without the counts table: no trigger is left behind.
    back = migrate(BEFORE_COUNTS).loader.project_state(BEFORE_COUNTS).apps
    back.get_model("appointments", "BatchRow").objects.filter(batch_id=batch.pk).update(
        state="failed"
    )


BEFORE_ROLES = [("appointments", "0014_data_removal")]
ROLES = [("appointments", "0015_portal_access_roles")]


@pytest.mark.django_db(transaction=True)
def test_existing_portals_are_granted_to_who_connected_or_used_them() -> None:
    old = migrate(BEFORE_ROLES).loader.project_state(BEFORE_ROLES).apps
    users = old.get_model("auth", "User").objects
    amina, bruno = users.create(username="amina"), users.create(username="bruno")
    users.create(username="chloe")
    boss = users.create(username="boss", is_superuser=True)
    portal_model = old.get_model("appointments", "Portal")
    first = portal_model.objects.create(hub_id=1, connected_by=amina)
    second = portal_model.objects.create(hub_id=2, connected_by=boss)
    # Bruno made a batch on the second portal, which someone else connected last.
    old.get_model("appointments", "Batch").objects.create(portal=second, created_by=bruno)

    new = migrate(ROLES).loader.project_state(ROLES).apps

    grants = new.get_model("appointments", "PortalAccess").objects
    assert set(grants.values_list("portal__hub_id", "user__username")) == {
        (first.hub_id, "amina"),
        (second.hub_id, "boss"),
        (second.hub_id, "bruno"),
    }
    roles = {
        user.username: sorted(user.groups.values_list("name", flat=True))
        for user in new.get_model("auth", "User").objects.all()
    }
    # They could send before: operators now; a superuser is an admin without a group; a
    # person who had done nothing gets no role until an admin gives one.
    assert roles == {"amina": ["operator"], "bruno": ["operator"], "boss": [], "chloe": []}
    admin = new.get_model("auth", "Group").objects.get(name="admin")
    assert "manage_portal" in set(admin.permissions.values_list("codename", flat=True))
