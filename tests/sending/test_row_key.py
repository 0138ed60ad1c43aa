"""Sending with a row key: unknown outcomes settled by a batch read by ``idProperty`` (no search),
resends refused as a taken unique value attached to the record that exists, under every
answer HubSpot leaves UNCONFIRMED (SANDBOX.md)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from django.test import Client
from django.utils import timezone

from appointments.hubspot.client import HubSpotClient
from appointments.models import Batch, BatchCall, BatchRow, Portal
from appointments.services.sending import _inputs, batch_recover_stalled, batch_send
from sandbox.models import DEFAULT_SEARCH_LAG_SECONDS, Switches
from tests.sending.test_submission import assert_exactly_once, make_batch, submit

ROW_KEY = "hubportal_row_key"


def choose_row_key(portal: Portal, hubspot: Any) -> Portal:
    """Create the row-key property in the sandbox and choose it for ``portal``."""
    response = requests.post(
        hubspot.url("/crm/properties/2026-03/0-421"),
        json={
            "name": ROW_KEY,
            "label": "Row key",
            "type": "string",
            "fieldType": "text",
            "groupName": "appointment_information",
            "hasUniqueValue": True,
        },
        headers={"Authorization": f"Bearer {hubspot.token}"},
        timeout=10,
    )
    assert response.status_code == 201
    portal.row_key_property = ROW_KEY
    portal.save()
    return portal


@pytest.fixture
def keyed(portal: Portal, hubspot: Any, settings: Any) -> Portal:
    """The demo portal with its row-key property created in the sandbox and chosen."""
    choose_row_key(portal, hubspot)
    settings.HUBSPOT_TIMEOUT_SECONDS = 1
    settings.HUBPORTAL_RETRY_WAIT_MAX_SECONDS = 0.5
    return portal


def reads_by_row_key(sandbox: Any) -> list[dict[str, Any]]:
    return [
        json.loads(e.request_body)
        for e in sandbox.journal("/batch/read", method="POST")
        if json.loads(e.request_body).get("idProperty") == ROW_KEY
    ]


def assert_keys_held(batch: Batch, sandbox: Any) -> None:
    """Every record holds the trace id of the row it belongs to, as its row key."""
    keys = {r.record_id: r.properties[ROW_KEY] for r in sandbox.appointments()}
    for row in batch.rows.all():
        assert keys[row.hubspot_id] == row.object_write_trace_id


@pytest.mark.parametrize("fault", ["create_timeout", "drop"])
def test_an_unknown_outcome_is_settled_by_reading_the_row_key(
    logged_client: Client, keyed: Portal, hubspot: Any, fault: str
) -> None:
    batch = make_batch(logged_client, keyed, 150)
    hubspot.set_fault(fault, times=1, path_contains="batch/create", hang_seconds=2)

    batch = submit(logged_client, batch)

    assert batch.status == Batch.Status.COMPLETED
    assert_exactly_once(batch, hubspot)
    assert_keys_held(batch, hubspot)
    assert hubspot.journal("/search") == []
    assert reads_by_row_key(hubspot)
    if fault == "create_timeout":  # it created the records: found, not resent
        assert batch.calls.get(sequence=1).reconciled == 100


@pytest.mark.parametrize("duplicate_value", Switches.DuplicateValue.values)
# 1.5 s: a read lagging the write by less than the engine's first waits; the default search
# lag: reads by idProperty lagging as search does (UNCONFIRMED, SANDBOX.md).
@pytest.mark.parametrize("lag", [0.0, 1.5, DEFAULT_SEARCH_LAG_SECONDS])
@pytest.mark.parametrize("fault", ["create_timeout", "drop", "502"])
def test_no_row_is_lost_or_duplicated_whatever_hubspot_answers(
    logged_client: Client,
    keyed: Portal,
    hubspot: Any,
    fault: str,
    lag: float,
    duplicate_value: str,
) -> None:
    """Each variant of the UNCONFIRMED points: reads by idProperty at once or lagging the
    write; a taken row key refused alone (with or without its trace id) or the whole call."""
    hubspot.set_row_key_variant(id_property_lag_seconds=lag, duplicate_value=duplicate_value)
    batch = make_batch(logged_client, keyed, 120)
    # "502": the gateway answered after HubSpot created the records (a late 502).
    times = 2 if fault == "drop" else 1
    hubspot.set_fault(fault, times=times, path_contains="batch/create", hang_seconds=2)

    batch = submit(logged_client, batch)

    assert batch.status == Batch.Status.COMPLETED
    assert_exactly_once(batch, hubspot)
    assert_keys_held(batch, hubspot)
    assert hubspot.journal("/search") == []


def test_a_resend_refused_as_a_duplicate_gets_the_existing_record(
    logged_client: Client, keyed: Portal, hubspot: Any, settings: Any
) -> None:
    # The read after the time-out does not see the records yet, so the call is sent again;
    # HubSpot refuses its inputs as taken row keys and the rows are read back.
    settings.HUBPORTAL_RETRY_WAIT_MAX_SECONDS = 1
    hubspot.set_row_key_variant(id_property_lag_seconds=4)
    batch = make_batch(logged_client, keyed, 50)
    hubspot.set_fault("create_timeout", times=1, path_contains="batch/create", hang_seconds=2)

    batch = submit(logged_client, batch)

    statuses = [e.status for e in hubspot.journal("/batch/create", method="POST")]
    assert 207 in statuses
    refused = next(e for e in hubspot.journal("/batch/create") if e.status == 207)
    assert {err["category"] for err in json.loads(refused.response_body)["errors"]} == {"CONFLICT"}
    assert_exactly_once(batch, hubspot)
    assert_keys_held(batch, hubspot)


def test_a_call_left_in_flight_by_a_dead_worker_is_read_back_by_row_key(
    logged_client: Client, keyed: Portal, hubspot: Any, settings: Any
) -> None:
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    batch = submit(logged_client, make_batch(logged_client, keyed, 120))
    first = batch.calls.get(sequence=1)
    rows = list(first.rows.all())
    with HubSpotClient(hubspot.token) as client:
        client.batch_create(_inputs(batch.layout, rows, ROW_KEY))
    BatchCall.objects.filter(pk=first.pk).update(
        state=BatchCall.State.SENDING, sent_at=timezone.now(), attempts=1
    )
    first.rows.update(state=BatchRow.State.SENDING)
    Batch.objects.filter(pk=batch.pk).update(
        status=Batch.Status.RUNNING,
        worker="ghost-host:1",
        heartbeat_at=timezone.now() - timezone.timedelta(hours=1),
    )
    assert batch_recover_stalled() == [str(batch.pk)]

    batch_send(batch_id=str(batch.pk))

    batch.refresh_from_db()
    assert batch.status == Batch.Status.COMPLETED
    assert_exactly_once(batch, hubspot)
    assert hubspot.journal("/search") == []
    assert batch.calls.get(sequence=1).reconciled == 100
