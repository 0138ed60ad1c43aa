"""The submission engine against the sandbox's limits and faults: every row created exactly once."""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta
from itertools import pairwise
from typing import Any

import pytest
import requests
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from appointments.models import Batch, BatchCall, BatchRow, Portal
from appointments.services.sending import batch_send
from tests.helpers import settle_and_resend
from tests.web import CALLBACK, consent, csv_upload, follow, rows_csv, start
from tests.web import upload_and_confirm as upload


def make_batch(client: Client, portal: Portal, count: int) -> Batch:
    upload(client, portal, csv_upload(rows_csv(count)))
    return Batch.objects.get()


def submit(client: Client, batch: Batch, **data: str) -> Batch:
    client.post(reverse("appointments:batch-submit", args=[batch.pk]), data)
    batch.refresh_from_db()
    return batch


def created_names(sandbox: Any) -> Counter[str]:
    return Counter(r.properties["hs_appointment_name"] for r in sandbox.appointments())


def create_calls(sandbox: Any) -> list[tuple[int | None, int]]:
    """(status, number of inputs) of every batch-create call the sandbox received."""
    return [
        (e.status, len(json.loads(e.request_body)["inputs"]))
        for e in sandbox.journal("/batch/create", method="POST")
    ]


def assert_exactly_once(batch: Batch, sandbox: Any) -> None:
    names = created_names(sandbox)
    assert set(names.values()) == {1}, "an appointment was created twice"
    rows = list(batch.rows.all())
    assert len(names) == len(rows)
    records = {r.record_id: r.properties["hs_appointment_name"] for r in sandbox.appointments()}
    for row in rows:
        assert row.state == BatchRow.State.CREATED
        assert records[row.hubspot_id] == row.appointment_name


def test_it_slows_down_when_hubspot_says_the_window_is_nearly_used(
    logged_client: Client, portal: Portal, hubspot: Any
) -> None:
    batch = make_batch(logged_client, portal, 250)
    hubspot.advance_clock(11)  # the upload's schema reads leave the 10-second window
    hubspot.set_limits(per_10s=2)

    batch = submit(logged_client, batch)

    # X-HubSpot-RateLimit-Remaining paced the calls: no 429 at all.
    assert create_calls(hubspot) == [(201, 100), (201, 100), (201, 50)]
    assert_exactly_once(batch, hubspot)


def test_it_waits_out_a_429_and_resends_the_refused_call(
    logged_client: Client, portal: Portal, hubspot: Any
) -> None:
    batch = make_batch(logged_client, portal, 150)
    hubspot.advance_clock(11)
    hubspot.set_limits(per_10s=2)
    # Another client of the same app (not sharing our budget) uses the whole window.
    for _ in range(2):
        requests.get(
            hubspot.url("/crm/properties/2026-03/0-421"),
            headers={"Authorization": f"Bearer {hubspot.token}"},
            timeout=10,
        )

    batch = submit(logged_client, batch)

    assert batch.status == Batch.Status.COMPLETED
    assert create_calls(hubspot) == [(429, 100), (201, 100), (201, 50)]
    assert_exactly_once(batch, hubspot)


@pytest.mark.parametrize("status", ["502", "503", "504"])
def test_after_a_5xx_it_searches_once_settled_and_never_resends_by_itself(
    logged_client: Client, portal: Portal, hubspot: Any, status: str
) -> None:
    batch = make_batch(logged_client, portal, 150)
    hubspot.set_fault(status, times=1, path_contains="batch/create")

    batch = submit(logged_client, batch)

    assert batch.status == Batch.Status.COMPLETED
    # The first call's answer was lost: it is searched for (100 names, 50 per search) once
    # HubSpot's search has settled, and never sent again by the engine.
    assert create_calls(hubspot) == [(int(status), 100), (201, 50)]
    searches = hubspot.journal("/search", method="POST")
    assert len(searches) == 2
    first = batch.calls.get(sequence=1)
    assert first.settles_at is not None
    assert all(s.received_at >= first.settles_at for s in searches)
    # Names go lowercase into IN, as HubSpot's search requires.
    values = json.loads(searches[0].request_body)["filterGroups"][0]["filters"][1]["values"]
    assert values and all(v == v.lower() for v in values)
    unknown = batch.rows.filter(error_category="UNKNOWN_OUTCOME")
    assert set(unknown.values_list("call__sequence", flat=True)) == {1}
    assert unknown.count() == 100
    assert len(hubspot.appointments()) == 50

    settle_and_resend(logged_client, batch)

    assert create_calls(hubspot)[2:] == [(201, 100)]
    assert_exactly_once(batch, hubspot)


def test_a_lost_answer_never_takes_the_records_of_the_same_file_sent_before(
    logged_client: Client, portal: Portal, hubspot: Any
) -> None:
    # The same rows twice: the first batch's records match the second's names and values, and
    # were created within the reconciliation window.
    first = submit(logged_client, make_batch(logged_client, portal, 150))
    upload(logged_client, portal, csv_upload(rows_csv(150)))
    second = Batch.objects.latest("created_at")
    hubspot.set_fault("503", times=1, path_contains="batch/create")

    # Sent on purpose (services.duplicates would otherwise hold the second send back).
    second = submit(logged_client, second, on_duplicate="create")

    assert (first.status, second.status) == (Batch.Status.COMPLETED, Batch.Status.COMPLETED)
    # None of the first batch's records is taken: the refused call's rows stay unknown...
    assert second.rows.filter(error_category="UNKNOWN_OUTCOME").count() == 100
    assert second.calls.get(sequence=1).reconciled == 0
    # ...until a person checks again (still nothing: they were not created) and resends them.
    settle_and_resend(logged_client, second)
    first_ids = set(first.rows.values_list("hubspot_id", flat=True))
    second_ids = set(second.rows.values_list("hubspot_id", flat=True))
    assert len(first_ids) == len(second_ids) == 150 and "" not in second_ids
    assert not first_ids & second_ids
    assert second.calls.get(sequence=1).reconciled == 0
    # The refused call was sent again: 150 records for each batch, none twice.
    assert len(hubspot.appointments()) == 300
    assert set(created_names(hubspot).values()) == {2}


def test_it_does_not_resend_records_created_before_a_timeout(
    logged_client: Client, portal: Portal, hubspot: Any, settings: Any
) -> None:
    settings.HUBSPOT_TIMEOUT_SECONDS = 1
    batch = make_batch(logged_client, portal, 150)
    hubspot.set_fault("create_timeout", times=1, path_contains="batch/create", hang_seconds=3)

    batch = submit(logged_client, batch)

    assert batch.status == Batch.Status.COMPLETED
    # The first call created 100 records but its answer never came: they are found, not resent.
    assert create_calls(hubspot)[0][1] == 100
    assert [n for _s, n in create_calls(hubspot)[1:]] == [50]
    assert batch.calls.get(sequence=1).reconciled == 100
    assert_exactly_once(batch, hubspot)


def test_it_reconciles_a_call_left_in_flight_by_a_dead_worker(
    logged_client: Client, portal: Portal, hubspot: Any, settings: Any
) -> None:
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    batch = submit(logged_client, make_batch(logged_client, portal, 120))
    first = batch.calls.get(sequence=1)
    # What a worker killed between send and save leaves behind: HubSpot created the records,
    # the call and its rows still say SENDING, and the batch names a process that is gone.
    from appointments.hubspot.client import HubSpotClient
    from appointments.services.sending import _inputs

    rows = list(first.rows.all())
    with HubSpotClient(hubspot.token) as client:
        client.batch_create(_inputs(batch.layout, rows))
    BatchCall.objects.filter(pk=first.pk).update(
        state=BatchCall.State.SENDING, sent_at=timezone.now(), attempts=1
    )
    first.rows.update(state=BatchRow.State.SENDING)
    Batch.objects.filter(pk=batch.pk).update(
        status=Batch.Status.RUNNING, worker="ghost-host:1", heartbeat_at=timezone.now()
    )
    from appointments.services.sending import batch_recover_stalled

    assert batch_recover_stalled() == []  # a live lease is respected
    assert Batch.objects.get(pk=batch.pk).status == Batch.Status.RUNNING
    Batch.objects.filter(pk=batch.pk).update(
        heartbeat_at=timezone.now() - timezone.timedelta(hours=1)
    )
    assert batch_recover_stalled() == [str(batch.pk)]

    batch_send(batch_id=str(batch.pk))

    batch.refresh_from_db()
    assert batch.status == Batch.Status.COMPLETED
    assert [n for _s, n in create_calls(hubspot)] == [100, 20]
    assert_exactly_once(batch, hubspot)


def test_it_refreshes_an_access_token_that_expired_mid_batch(
    logged_client: Client, hubspot: Any, user: Any
) -> None:
    hubspot.register_redirect_uri(CALLBACK)
    follow(logged_client, consent(start(logged_client), decision="approve", hub_id=hubspot.hub_id))
    portal = Portal.objects.get()
    batch = make_batch(logged_client, portal, 150)
    # HubSpot's clock runs past the token's life while ours still thinks it is fresh.
    hubspot.advance_clock(1900)

    batch = submit(logged_client, batch)

    assert batch.status == Batch.Status.COMPLETED
    assert [s for s, _n in create_calls(hubspot)] == [401, 201, 201]
    assert_exactly_once(batch, hubspot)


def test_it_pauses_for_a_revoked_connection_and_resumes_after_reconnecting(
    logged_client: Client, hubspot: Any, user: Any
) -> None:
    hubspot.register_redirect_uri(CALLBACK)
    follow(logged_client, consent(start(logged_client), decision="approve", hub_id=hubspot.hub_id))
    portal = Portal.objects.get()
    batch = make_batch(logged_client, portal, 150)
    requests.post(
        hubspot.url("/oauth/2026-03/token/revoke"),
        data={
            "token": portal.refresh_token,
            "token_type_hint": "refresh_token",
            "client_id": hubspot.client_id,
            "client_secret": hubspot.client_secret,
        },
        timeout=10,
    )
    Portal.objects.filter(pk=portal.pk).update(access_token_expires_at=timezone.now())

    batch = submit(logged_client, batch)

    assert batch.status == Batch.Status.PAUSED
    assert "Reconnect the portal" in batch.status_message
    assert batch.rows.filter(state=BatchRow.State.READY).count() == 150
    assert not batch.rows.filter(state=BatchRow.State.FAILED).exists()
    assert create_calls(hubspot) == []
    page = logged_client.get(reverse("appointments:batch-detail", args=[batch.pk]))
    assert "Reconnect the portal" in page.text

    follow(logged_client, consent(start(logged_client), decision="approve", hub_id=hubspot.hub_id))
    batch = submit(logged_client, batch)

    assert batch.status == Batch.Status.COMPLETED
    assert_exactly_once(batch, hubspot)


def test_it_pauses_when_the_daily_limit_is_reached(
    logged_client: Client, portal: Portal, hubspot: Any
) -> None:
    batch = make_batch(logged_client, portal, 250)
    # 7 schema reads at upload, the object library check before Send, then two creates
    hubspot.set_limits(daily=10)

    batch = submit(logged_client, batch)

    assert batch.status == Batch.Status.PAUSED
    assert "daily API limit" in batch.status_message
    assert batch.rows.filter(state=BatchRow.State.CREATED).count() == 200
    assert batch.rows.filter(state=BatchRow.State.READY).count() == 50
    hubspot.set_limits(daily=100)

    batch = submit(logged_client, batch)

    assert batch.status == Batch.Status.COMPLETED
    assert_exactly_once(batch, hubspot)


def test_it_retries_failed_rows_but_never_unknown_or_refused_ones(
    logged_client: Client, portal: Portal, hubspot: Any
) -> None:
    lines = rows_csv(4)
    lines[2] = lines[2].replace(lines[2].split(",")[4], "99999999999")
    upload(logged_client, portal, csv_upload(lines))
    batch = submit(logged_client, Batch.objects.get())
    assert batch.rows.get(row_number=3).state == BatchRow.State.FAILED
    BatchRow.objects.filter(batch=batch, row_number=4).update(
        state=BatchRow.State.FAILED, error_category="UNKNOWN_OUTCOME", hubspot_id=""
    )
    # A row failed for a passing reason (HubSpot out of reach) is sent again as it is.
    gave_up = BatchCall.objects.create(
        batch=batch, sequence=99, state=BatchCall.State.FAILED, http_status=503
    )
    BatchRow.objects.filter(batch=batch, row_number=5).update(
        state=BatchRow.State.FAILED, error_category="RETRIES_EXHAUSTED", hubspot_id="", call=gave_up
    )
    before = len(hubspot.journal("/batch/create", method="POST"))

    logged_client.post(reverse("appointments:batch-retry", args=[batch.pk]))

    calls = hubspot.journal("/batch/create", method="POST")[before:]
    retried = [json.loads(call.request_body)["inputs"] for call in calls]
    # Row 3 (HubSpot refused its contact) is not resent unchanged; row 4 may exist.
    assert [[i["properties"]["hs_appointment_name"] for i in c] for c in retried] == [["Visit 4"]]
    assert batch.rows.get(row_number=3).state == BatchRow.State.FAILED
    assert batch.rows.get(row_number=4).error_category == "UNKNOWN_OUTCOME"


def test_it_reconciles_a_call_that_went_out_before_a_pause(
    logged_client: Client, portal: Portal, hubspot: Any, settings: Any
) -> None:
    from appointments.hubspot.client import HubSpotClient
    from appointments.services.sending import _inputs

    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    batch = submit(logged_client, make_batch(logged_client, portal, 120))
    first = batch.calls.get(sequence=1)
    # The call went out once (HubSpot created its records, the answer was lost), then the batch
    # paused, putting the call back as PENDING; now it is resumed.
    with HubSpotClient(hubspot.token) as client:
        client.batch_create(_inputs(batch.layout, list(first.rows.all())))
    # The engine stamped when search would show what the lost answer created.
    settles_at = timezone.now() + timedelta(seconds=settings.HUBPORTAL_SEARCH_SETTLE_SECONDS)
    BatchCall.objects.filter(pk=first.pk).update(
        attempts=1, sent_at=timezone.now(), settles_at=settles_at
    )

    batch_send(batch_id=str(batch.pk))

    batch.refresh_from_db()
    assert batch.status == Batch.Status.COMPLETED
    assert [n for _s, n in create_calls(hubspot)] == [100, 20]
    assert batch.calls.get(sequence=1).reconciled == 100
    assert_exactly_once(batch, hubspot)


def test_it_keeps_several_calls_in_flight_and_sends_each_row_once(
    logged_client: Client, portal: Portal, hubspot: Any, settings: Any
) -> None:
    settings.HUBPORTAL_CALLS_IN_FLIGHT = 3
    batch = make_batch(logged_client, portal, 300)
    hubspot.set_latency(300)

    batch = submit(logged_client, batch)

    assert batch.status == Batch.Status.COMPLETED
    assert sorted(n for _s, n in create_calls(hubspot)) == [100] * 3
    assert set(batch.calls.values_list("state", flat=True)) == {BatchCall.State.DONE}
    assert_exactly_once(batch, hubspot)
    # The calls overlapped: some call arrived before the previous one was answered.
    spans = sorted(
        (e.received_at.timestamp(), e.received_at.timestamp() + e.duration_ms / 1000)
        for e in hubspot.journal("/batch/create", method="POST")
    )
    assert any(start < previous_end for (_s, previous_end), (start, _e) in pairwise(spans))
