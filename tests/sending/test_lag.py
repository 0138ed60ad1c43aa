"""Without a row key, search is the only way to find what a lost answer created, and it lags:
the engine waits for it to settle, shows "checking HubSpot" meanwhile, and never resends a row
it cannot place."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from django.db import connection
from django.test import Client
from django.urls import reverse

from appointments.models import Batch, BatchRow, Portal
from appointments.services.batches import batch_submit
from appointments.services.sending import batch_send
from tests.helpers import settle_and_resend
from tests.web import csv_upload, rows_csv
from tests.web import upload_and_confirm as upload


def create_sizes(sandbox: Any) -> list[int]:
    return [
        len(json.loads(e.request_body)["inputs"])
        for e in sandbox.journal("/batch/create", method="POST")
    ]


def test_rows_search_cannot_see_yet_stay_may_have_been_created_and_are_never_resent(
    logged_client: Client, portal: Portal, hubspot: Any, settings: Any
) -> None:
    # HubSpot's search lagging longer than the app waits (the lag has no documented bound).
    hubspot.set_search_lag(settings.HUBPORTAL_SEARCH_SETTLE_SECONDS * 10)
    upload(logged_client, portal, csv_upload(rows_csv(150)))
    batch = Batch.objects.get()
    settings.HUBSPOT_TIMEOUT_SECONDS = 1  # after the upload, whose schema reads it also bounds
    # The first call creates its 100 records but its answer never comes.
    hubspot.set_fault("create_timeout", times=1, path_contains="batch/create", hang_seconds=3)

    logged_client.post(reverse("appointments:batch-submit", args=[batch.pk]))

    batch.refresh_from_db()
    assert batch.status == Batch.Status.COMPLETED
    # Searched for after the wait, not found (search still lags), and not sent again.
    assert len(hubspot.journal("/search", method="POST")) == 2
    assert create_sizes(hubspot) == [100, 50]
    assert len(hubspot.appointments()) == 150
    unknown = batch.rows.filter(state=BatchRow.State.FAILED, error_category="UNKNOWN_OUTCOME")
    assert unknown.count() == 100
    page = logged_client.get(reverse("appointments:batch-detail", args=[batch.pk])).text
    assert "It may have been created" in page
    assert 'id="check-hubspot"' in page
    # "Send the failed rows again" leaves them alone.
    logged_client.post(reverse("appointments:batch-retry", args=[batch.pk]))
    assert create_sizes(hubspot) == [100, 50]

    # Once search shows them, "Check HubSpot again" finds every one: nothing was duplicated.
    hubspot.advance_clock(settings.HUBPORTAL_SEARCH_SETTLE_SECONDS * 10)
    settle_and_resend(logged_client, batch)

    assert create_sizes(hubspot) == [100, 50]
    assert len(hubspot.appointments()) == 150
    assert batch.rows.filter(state=BatchRow.State.CREATED).count() == 150


def test_the_results_page_says_checking_hubspot_with_the_time_left(
    logged_client: Client, portal: Portal, hubspot: Any, settings: Any
) -> None:
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    upload(logged_client, portal, csv_upload(rows_csv(20)))
    batch = Batch.objects.get()
    hubspot.set_fault("drop", times=1, path_contains="batch/create")
    batch_submit(user=batch.created_by, batch=batch)

    def send() -> None:
        try:
            batch_send(batch_id=str(batch.pk))
        finally:
            connection.close()

    sender = threading.Thread(target=send)
    sender.start()
    try:
        seen = ""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and "checking-hubspot" not in seen:
            time.sleep(0.2)
            seen = logged_client.get(
                reverse("appointments:batch-detail", args=[batch.pk]), HTTP_HX_REQUEST="true"
            ).text
    finally:
        sender.join()

    assert 'id="checking-hubspot"' in seen, seen[:2000]
    assert "the answer for 20 rows was lost" in seen
    assert "they are searched for in" in seen
    # The notice, the call's state, and each row's.
    assert '<td class="state">Checking HubSpot</td>' in seen
    assert seen.count("Checking HubSpot") >= 2 + 20
    assert 'hx-trigger="every 2s"' in seen  # the poll goes on while it waits
    batch.refresh_from_db()
    # The drop created nothing: after the wait the rows may have been created, none resent.
    assert batch.rows.filter(error_category="UNKNOWN_OUTCOME").count() == 20
    assert create_sizes(hubspot) == [20]
    page = logged_client.get(reverse("appointments:batch-detail", args=[batch.pk])).text
    assert 'id="checking-hubspot"' not in page


def test_lost_answers_are_settled_in_one_wait_not_one_wait_each(
    logged_client: Client, portal: Portal, hubspot: Any, settings: Any
) -> None:
    settings.HUBPORTAL_SEARCH_SETTLE_SECONDS = 5
    upload(logged_client, portal, csv_upload(rows_csv(300)))
    batch = Batch.objects.get()
    # Every one of the three calls loses its connection after the request went out.
    hubspot.set_fault("drop", times=3, path_contains="batch/create")
    began = time.monotonic()

    logged_client.post(reverse("appointments:batch-submit", args=[batch.pk]))

    elapsed = time.monotonic() - began
    batch.refresh_from_db()
    assert batch.status == Batch.Status.COMPLETED
    assert create_sizes(hubspot) == [100] * 3  # none sent again
    assert batch.rows.filter(error_category="UNKNOWN_OUTCOME").count() == 300
    # One settle wait (5 s) for the three, where waiting for each in turn took 15 s.
    assert elapsed < 11, elapsed
