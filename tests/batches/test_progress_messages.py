"""What the results page says about a batch's progress: still storing, the pace over sending
time only, the engine's retries while HubSpot does not answer, and a canceled batch's rows."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from appointments.models import Batch, BatchCall, Portal
from appointments.services.batches import batch_progress
from appointments.services.sending import batch_send
from sandbox.seed import DEMO_CONTACT_IDS
from tests.web import (
    csv_file,
    csv_upload,
    form_values,
    mapping_url,
    rows_csv,
    upload,
    upload_and_confirm,
)

DUMMY_TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}


def new_batch(client: Client, portal: Portal, rows: int) -> Batch:
    upload_and_confirm(client, portal, csv_upload(rows_csv(rows)))
    return Batch.objects.order_by("-created_at").first()  # type: ignore[return-value]


def live(client: Client, batch: Batch) -> str:
    url = reverse("appointments:batch-detail", args=[batch.pk])
    response = client.get(url, headers={"HX-Request": "true"})
    assert response.status_code == 200
    return response.text


def test_it_says_a_storing_batch_is_still_storing_its_rows(
    logged_client: Client, portal: Portal, hubspot: Any
) -> None:
    batch = new_batch(logged_client, portal, 3)
    # As the page finds a batch while its rows are being stored (in short transactions).
    Batch.objects.filter(pk=batch.pk).update(
        status=Batch.Status.STORING, heartbeat_at=timezone.now()
    )

    text = live(logged_client, batch)

    assert "Still checking and storing the rows: 3 rows stored so far." in text
    assert "answered by HubSpot" not in text


def test_the_pace_leaves_out_the_time_a_batch_was_paused(
    logged_client: Client, portal: Portal, hubspot: Any
) -> None:
    batch = new_batch(logged_client, portal, 3)
    logged_client.post(reverse("appointments:batch-submit", args=[batch.pk]))
    batch.refresh_from_db()
    assert batch.status == Batch.Status.COMPLETED
    # The engine kept the time it spent sending, and closed the stretch when it finished.
    assert batch.running_since is None
    assert timedelta(0) < batch.sending_time < timedelta(seconds=30)

    # The same batch as if it had been paused for an hour between its calls: its first call
    # went out an hour ago, but it was sending for 2 s in all.
    BatchCall.objects.filter(batch=batch).update(sent_at=timezone.now() - timedelta(hours=1))
    Batch.objects.filter(pk=batch.pk).update(sending_time=timedelta(seconds=2))
    batch.refresh_from_db()

    assert batch_progress(batch=batch).rows_per_second == 1.5
    assert "1.5 rows per second" in live(logged_client, batch)


def test_it_shows_the_engines_retry_while_hubspot_does_not_answer(
    logged_client: Client, portal: Portal, hubspot: Any, settings: Any
) -> None:
    settings.TASKS = DUMMY_TASKS
    batch = new_batch(logged_client, portal, 3)
    logged_client.post(reverse("appointments:batch-submit", args=[batch.pk]))
    # The first batch create answers 423 Locked (not processed: safe to send again); the
    # engine waits 2 s, then tries again. (A 503 may have created the records: without a row
    # key it is settled by search, never resent.)
    hubspot.set_fault("423", times=1, path_contains="/batch/create")

    def send() -> None:
        try:
            batch_send(batch_id=str(batch.pk))
        finally:
            connection.close()

    engine = threading.Thread(target=send)
    engine.start()
    try:
        deadline = time.monotonic() + 10
        while not Batch.objects.filter(pk=batch.pk, retry_at__isnull=False).exists():
            assert time.monotonic() < deadline, "the engine never said it was retrying"
            time.sleep(0.05)
        text = live(logged_client, batch)
    finally:
        engine.join(timeout=60)

    assert "HubSpot could not take the call" in text
    assert "trying again: attempt 2 of 8." in text
    assert "Next try in" in text
    batch.refresh_from_db()
    assert batch.status == Batch.Status.COMPLETED
    assert (batch.retry_text, batch.retry_code, batch.retry_at) == ("", "", None)
    assert "trying again" not in live(logged_client, batch)


def test_a_canceled_batch_says_created_failed_and_not_sent(
    logged_client: Client, portal: Portal, hubspot: Any, settings: Any
) -> None:
    lines = ["Appointment name,Start time,contact_ids"] + [
        f"Visit {n},2026-12-03 14:{n:02d},{DEMO_CONTACT_IDS[0]}" for n in range(30)
    ]
    upload(logged_client, portal, csv_file(lines))
    logged_client.post(
        mapping_url(), form_values(logged_client.get(mapping_url()).text, "mapping-form")
    )
    batch = Batch.objects.get()
    # Queued, never sent (no worker runs), then canceled: every row is "not sent".
    settings.TASKS = DUMMY_TASKS
    logged_client.post(reverse("appointments:batch-submit", args=[batch.pk]))
    logged_client.post(reverse("appointments:batch-cancel", args=[batch.pk]))

    text = live(logged_client, batch)

    assert "Canceled: 0 created, 0 failed, 30 not sent" in text
    assert "answered by HubSpot" not in text
