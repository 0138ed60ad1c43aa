"""The stalled-batch scan queues a batch again only when its send task is lost, never while
that task still waits for a worker: a busy queue does not grow by a task per batch per lease."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.test import Client
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from appointments.models import Batch, BatchCall, BatchRow, Portal
from appointments.services.batches import batch_submit
from appointments.services.sending import batch_recover_stalled
from tests.web import csv_upload, rows_csv
from tests.web import upload_and_confirm as upload


def test_a_batch_queued_behind_others_is_not_queued_again_until_its_task_is_lost(
    logged_client: Client, portal: Portal, hubspot: Any, settings: Any
) -> None:
    # The real task table, with no worker running: the batch's task waits its turn.
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    upload(logged_client, portal, csv_upload(rows_csv(3)))
    batch = Batch.objects.get()
    batch_submit(user=batch.created_by, batch=batch)
    batch.refresh_from_db()
    assert batch.status == Batch.Status.QUEUED
    assert DBTaskResult.objects.count() == 1
    old = timezone.now() - timedelta(seconds=settings.HUBPORTAL_WORKER_LEASE_SECONDS * 3)
    Batch.objects.filter(pk=batch.pk).update(heartbeat_at=old)

    # Scan after scan (every 5 s in a worker), the waiting task is enough.
    assert batch_recover_stalled() == []
    assert batch_recover_stalled() == []
    assert DBTaskResult.objects.count() == 1

    # A worker took the task and died before claiming the batch: the task stays RUNNING.
    DBTaskResult.objects.update(status="RUNNING", started_at=old)
    assert batch_recover_stalled() == [str(batch.pk)]

    # Lost outright (a queue emptied): queued again too.
    Batch.objects.filter(pk=batch.pk).update(heartbeat_at=old)
    DBTaskResult.objects.all().delete()
    assert batch_recover_stalled() == [str(batch.pk)]


def test_a_call_a_canceled_batch_left_out_is_marked_may_have_been_created_once_let_go(
    logged_client: Client, portal: Portal, hubspot: Any, settings: Any
) -> None:
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    upload(logged_client, portal, csv_upload(rows_csv(3)))
    batch = Batch.objects.get()
    batch_submit(user=batch.created_by, batch=batch)
    # Canceled while its one call was out; the worker then stopped renewing its lease.
    batch.calls.update(state=BatchCall.State.SENDING, sent_at=timezone.now())
    batch.rows.update(state=BatchRow.State.SENDING)
    Batch.objects.filter(pk=batch.pk).update(
        status=Batch.Status.CANCELED, worker="gone:1:abcd", heartbeat_at=timezone.now()
    )
    batch_recover_stalled()
    assert set(batch.rows.values_list("state", flat=True)) == {BatchRow.State.SENDING}

    Batch.objects.filter(pk=batch.pk).update(heartbeat_at=timezone.now() - timedelta(minutes=5))
    batch_recover_stalled()

    assert set(batch.rows.values_list("error_category", flat=True)) == {"UNKNOWN_OUTCOME"}
    assert batch.calls.get().state == BatchCall.State.FAILED
