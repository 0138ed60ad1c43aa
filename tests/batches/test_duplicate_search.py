"""The look in HubSpot for appointments like a batch's rows, in the background: started once,
polled, its result shown, its failures said, a stalled one recovered, Send waiting for it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from appointments.models import Batch, BatchRow, Portal
from appointments.services.duplicate_search import (
    batch_search_recover_stalled,
    batch_search_run,
    batch_search_start,
    search_duplicates,
)
from appointments.services.sending import batch_queue
from appointments.services.states import Action, batch_transition
from sandbox.models import DEFAULT_SEARCH_LAG_SECONDS
from sandbox.seed import DEMO_CONTACT_IDS
from tests.batches.test_duplicates import hubspot_create
from tests.batches.test_duplicates_bulk import BASE, batch_of

LOOKING = "Looking in HubSpot for appointments like these rows…"


@pytest.fixture
def queued_only(settings: Any) -> Any:
    """Tasks are queued, not run: the look stays running until the test runs it, as while a
    worker has not taken it yet."""
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    backend = search_duplicates.get_backend()
    backend.clear()
    return backend


def page(client: Client, batch: Batch, **headers: str) -> Any:
    return client.get(reverse("appointments:batch-detail", args=[batch.pk]), **headers)


def look(client: Client, batch: Batch) -> Any:
    return client.post(
        reverse("appointments:batch-duplicates-search", args=[batch.pk]), follow=True
    )


def in_hubspot(hubspot: Any, batch: Batch) -> str:
    """One appointment made in HubSpot (past search's lag) like row 2 of ``batch``."""
    record = hubspot_create(hubspot, "2026-12-07T08:00:00Z", DEMO_CONTACT_IDS[0])
    hubspot.advance_clock(DEFAULT_SEARCH_LAG_SECONDS + 1)
    return record


def test_two_clicks_start_one_look_that_the_page_polls_then_shows(
    hubspot: Any, portal: Portal, user: User, logged_client: Client, queued_only: Any
) -> None:
    # 150 distinct starts (read in UTC): two searches.
    rows = [(BASE + timedelta(minutes=15 * n), DEMO_CONTACT_IDS[n % 3]) for n in range(150)]
    batch = batch_of(user, portal, rows)
    record = in_hubspot(hubspot, batch)

    first = look(logged_client, batch)
    assert "Looking in HubSpot for appointments like these rows; this page shows" in first.text
    second = look(logged_client, batch)
    assert "HubSpot is already being looked in for these rows." in second.text
    assert len(queued_only.results) == 1
    batch.refresh_from_db()
    assert batch.hubspot_search_state == Batch.Search.RUNNING
    assert batch.hubspot_search_by == user and batch.hubspot_search_at is not None

    # Before a worker takes it: said, polled, and nothing can be sent.
    shown = page(logged_client, batch)
    assert f"{LOOKING} (waiting for a worker)" in shown.text
    assert 'hx-trigger="every 2s"' in shown.text and "searching=1" in shown.text
    assert 'id="submit-batch"' not in shown.text and 'id="search-duplicates"' not in shown.text
    assert f"Asked by {user.username}" in shown.text

    # A worker midway: the poll says how far it is.
    Batch.objects.filter(pk=batch.pk).update(
        hubspot_search_worker="w:1:a", hubspot_search_done=1, hubspot_search_total=2
    )
    poll = page(logged_client, batch, HTTP_HX_REQUEST="true")
    assert f"{LOOKING} (1 of 2 searches)" in poll.text
    Batch.objects.filter(pk=batch.pk).update(hubspot_search_worker="")

    batch_search_run(batch_id=str(batch.pk))
    batch.refresh_from_db()
    assert batch.hubspot_search_state == Batch.Search.DONE
    assert (batch.hubspot_search_done, batch.hubspot_search_total) == (2, 2)
    assert batch.hubspot_duplicates == [{"row": 2, "record_id": record}]
    assert len(hubspot.journal("/0-421/search")) == 2

    # The poll that sees it end asks htmx for the whole page, which shows the match.
    ended = logged_client.get(
        reverse("appointments:batch-detail", args=[batch.pk]) + "?searching=1",
        HTTP_HX_REQUEST="true",
    )
    assert ended.status_code == 204 and ended["HX-Refresh"] == "true"
    shown = page(logged_client, batch)
    assert "1 row matches an appointment already in HubSpot" in shown.text
    assert f"/record/0-421/{record}" in shown.text
    assert "1 row matched an appointment there." in shown.text
    assert 'hx-trigger="every 2s"' not in shown.text
    assert 'id="submit-batch"' in shown.text and "Look in HubSpot again" in shown.text
    audit = logged_client.get(reverse("appointments:batch-export-audit", args=[batch.pk])).json()
    assert audit["hubspot_search"]["state"] == "done"
    assert audit["hubspot_search"]["requested_by"] == user.username
    assert audit["hubspot_search"]["matches"] == [{"row": 2, "record_id": record}]


def test_a_batch_is_not_sent_while_its_look_runs(
    hubspot: Any, portal: Portal, user: User, logged_client: Client, queued_only: Any
) -> None:
    batch = batch_of(user, portal, [(BASE, DEMO_CONTACT_IDS[0])])
    assert batch_search_start(user=user, batch=batch) == "started"

    response = logged_client.post(
        reverse("appointments:batch-submit", args=[batch.pk]),
        {"on_duplicate": "create"},
        follow=True,
    )
    assert "HubSpot is being looked in for appointments like these rows; send once it ends" in (
        response.text
    )
    confirm = logged_client.get(reverse("appointments:batch-submit", args=[batch.pk]), follow=True)
    assert 'id="confirm-send"' not in confirm.text
    # The state diagram's guard, whoever asks.
    assert batch_queue(batch=batch) == 0
    assert not batch_transition(batch_id=batch.pk, action=Action.QUEUE)
    assert not batch_transition(batch_id=batch.pk, action=Action.REMAP)
    batch.refresh_from_db()
    assert batch.status == Batch.Status.DRAFT and not batch.calls.exists()
    assert hubspot.appointments() == []


def test_hubspot_failing_ends_the_look_with_the_reason_and_it_can_start_again(
    hubspot: Any, portal: Portal, user: User, logged_client: Client
) -> None:
    batch = batch_of(user, portal, [(BASE, DEMO_CONTACT_IDS[0])])
    hubspot.set_fault("503", times=1, path_contains="/search")

    response = look(logged_client, batch)
    batch.refresh_from_db()
    assert batch.hubspot_search_state == Batch.Search.FAILED
    assert batch.hubspot_search_ended_at is not None and batch.hubspot_search_worker == ""
    assert "stopped: HubSpot could not be asked:" in response.text
    assert 'hx-trigger="every 2s"' not in response.text  # never stuck polling
    assert 'id="submit-batch"' in response.text

    # The Send page says HubSpot was not looked in, and why.
    confirm = logged_client.get(reverse("appointments:batch-submit", args=[batch.pk]))
    assert "HubSpot was not looked in for appointments like these rows:" in confirm.text
    assert 'name="look_first" value="1" checked' in confirm.text

    look(logged_client, batch)
    batch.refresh_from_db()
    assert batch.hubspot_search_state == Batch.Search.DONE


def test_a_look_whose_worker_died_is_recovered_or_started_again(
    hubspot: Any, portal: Portal, user: User, queued_only: Any
) -> None:
    record = hubspot_create(hubspot, "2026-12-07T08:00:00Z", DEMO_CONTACT_IDS[0])
    hubspot.advance_clock(DEFAULT_SEARCH_LAG_SECONDS + 1)
    batch = batch_of(user, portal, [(BASE, DEMO_CONTACT_IDS[0])])
    assert batch_search_start(user=user, batch=batch) == "started"
    # A worker took it, then was killed: its heartbeat stopped.
    Batch.objects.filter(pk=batch.pk).update(
        hubspot_search_worker="dead:1:x", hubspot_search_heartbeat_at=timezone.now()
    )
    assert batch_search_recover_stalled() == []
    batch_search_run(batch_id=str(batch.pk))  # another worker: the lease is alive
    batch.refresh_from_db()
    assert batch.hubspot_search_state == Batch.Search.RUNNING
    assert batch_search_start(user=user, batch=batch) == "running"

    long_ago = timezone.now() - timedelta(minutes=5)
    Batch.objects.filter(pk=batch.pk).update(hubspot_search_heartbeat_at=long_ago)
    assert batch_search_recover_stalled() == [str(batch.pk)]
    assert batch_search_recover_stalled() == []  # handed back once a lease
    batch_search_run(batch_id=str(batch.pk))
    batch.refresh_from_db()
    assert batch.hubspot_search_state == Batch.Search.DONE
    assert batch.hubspot_duplicates == [{"row": 2, "record_id": record}]

    # Or a person starts it again once the lease expired.
    Batch.objects.filter(pk=batch.pk).update(
        hubspot_search_state=Batch.Search.RUNNING,
        hubspot_search_worker="dead:2:y",
        hubspot_search_heartbeat_at=long_ago,
    )
    queued_only.clear()
    assert batch_search_start(user=user, batch=batch) == "started"
    assert len(queued_only.results) == 1


def test_send_looks_in_hubspot_first_then_sends_when_nothing_matches(
    hubspot: Any, portal: Portal, user: User, logged_client: Client
) -> None:
    batch = batch_of(user, portal, [(BASE, DEMO_CONTACT_IDS[0]), (BASE, DEMO_CONTACT_IDS[1])])
    confirm = logged_client.get(reverse("appointments:batch-submit", args=[batch.pk]))
    assert "HubSpot was not looked in for appointments like these rows:" in confirm.text
    assert 'name="look_first" value="1" checked' in confirm.text

    logged_client.post(reverse("appointments:batch-submit", args=[batch.pk]), {"look_first": "1"})
    batch.refresh_from_db()
    assert batch.hubspot_search_state == Batch.Search.DONE
    assert batch.status == Batch.Status.COMPLETED
    assert len(hubspot.appointments()) == 2
    searched = hubspot.journal("/0-421/search")[0].received_at
    created = hubspot.journal("/batch/create")[0].received_at
    assert searched < created


def test_send_after_a_look_that_finds_matches_asks_first(
    hubspot: Any, portal: Portal, user: User, logged_client: Client
) -> None:
    record = hubspot_create(hubspot, "2026-12-07T08:00:00Z", DEMO_CONTACT_IDS[0])
    hubspot.advance_clock(DEFAULT_SEARCH_LAG_SECONDS + 1)
    batch = batch_of(user, portal, [(BASE, DEMO_CONTACT_IDS[0]), (BASE, DEMO_CONTACT_IDS[1])])

    response = logged_client.post(
        reverse("appointments:batch-submit", args=[batch.pk]),
        {"look_first": "1", "on_duplicate": "create"},
        follow=True,
    )
    batch.refresh_from_db()
    assert batch.status == Batch.Status.DRAFT and len(hubspot.appointments()) == 1
    assert "Nothing was sent: 1 row is already in this portal." in response.text
    assert f"/record/0-421/{record}" in response.text
    assert 'name="on_duplicate" value="skip" checked' in response.text

    confirm = logged_client.get(reverse("appointments:batch-submit", args=[batch.pk]))
    assert "HubSpot was looked in for appointments like these rows on" in confirm.text
    assert 'name="look_first" value="1" checked' not in confirm.text
    logged_client.post(
        reverse("appointments:batch-submit", args=[batch.pk]), {"on_duplicate": "skip"}
    )
    batch.refresh_from_db()
    assert batch.status == Batch.Status.COMPLETED
    assert batch.rows.get(row_number=2).state == BatchRow.State.EXCLUDED
    assert len(hubspot.appointments()) == 2


def test_a_429_storm_ends_the_look_with_the_reason(
    hubspot: Any, portal: Portal, user: User, logged_client: Client
) -> None:
    # Other clients of the portal take every search of each second: each 429 is tried again
    # a second later, twice, then the look stops and says so.
    batch = batch_of(user, portal, [(BASE, DEMO_CONTACT_IDS[0])])
    hubspot.set_limits(search_per_second=0)
    response = look(logged_client, batch)
    batch.refresh_from_db()
    assert batch.hubspot_search_state == Batch.Search.FAILED
    assert [e.status for e in hubspot.journal("/0-421/search")] == [429, 429, 429]
    assert "stopped: HubSpot could not be asked:" in response.text
    assert "secondly limit" in batch.hubspot_search_message
    assert 'hx-trigger="every 2s"' not in response.text


def test_a_portal_to_reconnect_ends_the_look_and_the_send_waiting_for_it(
    hubspot: Any, portal: Portal, user: User, logged_client: Client
) -> None:
    batch = batch_of(user, portal, [(BASE, DEMO_CONTACT_IDS[0])])
    # The token keys changed: the stored tokens cannot be decrypted; a person must act.
    Portal.objects.filter(pk=portal.pk).update(access_token_encrypted="not-a-token")
    response = logged_client.post(
        reverse("appointments:batch-submit", args=[batch.pk]), {"look_first": "1"}, follow=True
    )
    batch.refresh_from_db()
    assert batch.hubspot_search_state == Batch.Search.FAILED
    assert batch.status == Batch.Status.DRAFT and hubspot.appointments() == []
    assert "cannot be decrypted" in batch.hubspot_search_message
    assert batch.hubspot_search_message.endswith("Nothing was sent.")
    assert "stopped: HubSpot could not be asked:" in response.text
