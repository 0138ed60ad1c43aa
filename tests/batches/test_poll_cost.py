"""The live results poll costs the same for a 1,000-row batch as for a 10,000-row one: the same
queries, none of them scanning or sorting the batch's rows, and (on SQLite, where the engine
can count its own steps) the same work, in every state and with every row filter.

Not a timed test: SQLite's virtual-machine steps are counted (``set_progress_handler``), which
do not move with the machine's load."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from appointments.models import Batch, BatchCall, BatchRow, Portal
from appointments.services.sending import UNKNOWN_OUTCOME

pytestmark = pytest.mark.django_db

SMALL, LARGE = 1_000, 10_000
# What a poll may ask for: the default page, each row filter, a second page.
POLLS = ["", "?filter=invalid", "?filter=failed", "?filter=created", "?filter=excluded", "?page=2"]


@pytest.fixture
def portal(user: User) -> Portal:
    # The results page never calls HubSpot: a portal row is enough.
    return Portal.objects.create(hub_id=4210001, connected_by=user, auth_kind="private_app")


def make_batch(user: User, portal: Portal, size: int, status: str) -> Batch:
    """A batch of ``size`` rows in ``status``. Sent or being sent: calls of 100, the first half
    of the rows created, the next fifth failed (unknown outcome when paused), the rest waiting.
    The three invalid and two excluded rows come last, where a scan in row order finds them
    only after every other row."""
    batch = Batch.objects.create(
        portal=portal, created_by=user, filename=f"{size}.csv", status=status, headers=["Name"]
    )
    sent = status != Batch.Status.DRAFT
    calls = (
        BatchCall.objects.bulk_create(
            BatchCall(batch=batch, sequence=n, state=BatchCall.State.PENDING)
            for n in range((size + 99) // 100)
        )
        if sent
        else []
    )
    rows = []
    for n in range(size):
        state, category = BatchRow.State.READY, ""
        if n >= size - 5:
            state = BatchRow.State.INVALID if n < size - 2 else BatchRow.State.EXCLUDED
        elif sent and n < size // 2:
            state = BatchRow.State.CREATED
        elif sent and n < size * 7 // 10:
            state = BatchRow.State.FAILED
            category = UNKNOWN_OUTCOME if status == Batch.Status.PAUSED else "VALIDATION_ERROR"
        rows.append(
            BatchRow(
                batch=batch,
                row_number=n + 2,
                raw=[f"Visit {n}"],
                state=state,
                error_category=category,
                object_write_trace_id=f"{batch.pk}-{n}",
                call=calls[n // 100] if sent and state != BatchRow.State.READY else None,
            )
        )
    BatchRow.objects.bulk_create(rows, batch_size=2000)
    if sent:
        now = timezone.now()
        done = [call.pk for call in calls[: len(calls) * 7 // 10]]
        BatchCall.objects.filter(pk__in=done).update(
            state=BatchCall.State.DONE, sent_at=now, completed_at=now, hubspot_status="COMPLETE"
        )
    return batch


def poll(client: Client, batch: Batch, query: str) -> list[str]:
    """The SQL of the partial the page polls."""
    url = reverse("appointments:batch-detail", args=[batch.pk]) + query
    client.get(url, headers={"HX-Request": "true"})  # warm: session, templates
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert b"<html" not in response.content
    return [q["sql"] for q in queries.captured_queries]


def steps(sql: str) -> int:
    """SQLite's virtual-machine steps (in hundreds) to run ``sql`` to its end: a scan of
    10,000 rows takes hundreds of thousands, a look-up through an index a few hundred."""
    count = [0]

    def tick() -> int:
        count[0] += 1
        return 0

    connection.ensure_connection()
    raw: Any = connection.connection
    raw.set_progress_handler(tick, 100)
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql)
            cursor.fetchall()
    finally:
        raw.set_progress_handler(None, 0)
    return count[0]


def plan(sql: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN QUERY PLAN " + sql)
        return [str(row[-1]) for row in cursor.fetchall()]


@pytest.mark.parametrize("status", [Batch.Status.DRAFT, Batch.Status.RUNNING, Batch.Status.PAUSED])
def test_the_poll_does_the_same_work_for_any_batch_size(
    logged_client: Client, user: User, portal: Portal, status: str
) -> None:
    small = make_batch(user, portal, SMALL, status)
    large = make_batch(user, portal, LARGE, status)

    for query in POLLS:
        small_sql = poll(logged_client, small, query)
        large_sql = poll(logged_client, large, query)

        assert len(large_sql) == len(small_sql), (query, large_sql)
        assert len(large_sql) <= 12, (query, large_sql)
        for before, sql in zip(small_sql, large_sql, strict=True):
            if "appointments_batchrow" not in sql:
                continue  # the batch, its counts, its calls (one per 100 rows)
            assert "COUNT(" not in sql.upper() or '"call_id" =' in sql, (query, sql)
            if connection.vendor == "sqlite":
                plan_steps = plan(sql)
                assert not any(s.startswith("SCAN") for s in plan_steps), (query, plan_steps)
                assert not any("TEMP B-TREE" in s for s in plan_steps), (query, plan_steps)
                # The same work for 1,000 rows as for 10,000 (a tenth more at most).
                assert steps(sql) <= steps(before) * 1.1 + 2, (status, query, sql)


def test_the_page_names_each_row_without_reading_every_cell(
    logged_client: Client, user: User, portal: Portal
) -> None:
    name = {"kind": "property", "name": "hs_appointment_name"}
    batch = Batch.objects.create(
        portal=portal,
        created_by=user,
        headers=["Notes", *(f"Extra {n}" for n in range(998)), "Name"],
        mapping=[None] * 999 + [name],
    )
    BatchRow.objects.bulk_create(
        [
            # A valid row: its name as sent. An invalid one: the text of the name's column.
            BatchRow(
                batch=batch,
                row_number=2,
                raw=["a", *["x"] * 998, "Intake"],
                properties=["Intake"],
                state=BatchRow.State.READY,
                object_write_trace_id="t2",
            ),
            BatchRow(
                batch=batch,
                row_number=3,
                raw=["b", *["y"] * 998, "Follow-up (too long)"],
                properties=[None],
                state=BatchRow.State.INVALID,
                object_write_trace_id="t3",
            ),
        ]
    )

    sql = poll(logged_client, batch, "")
    text = logged_client.get(
        reverse("appointments:batch-detail", args=[batch.pk]), headers={"HX-Request": "true"}
    ).text

    assert "<td>Intake</td>" in text
    assert "<td>Follow-up (too long)</td>" in text
    # The name's cell is read by the database; the row's cells are not selected.
    page_rows = [q for q in sql if '"name_cell"' in q]
    assert len(page_rows) == 1
    assert '"appointments_batchrow"."raw", "appointments_batchrow"."properties"' not in page_rows[0]
