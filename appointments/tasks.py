"""Background tasks (Django's Tasks framework): each takes ids and calls one service."""

from typing import Any

from django.tasks import task


@task()
def send_batch(batch_id: str) -> None:
    """Send a queued batch to HubSpot (see ``appointments.submission``)."""
    from appointments.submission import batch_send

    batch_send(batch_id=batch_id)


@task()
def resume_batch(batch_id: str) -> None:
    """Resume a batch paused by HubSpot's daily limit (queues it again if still paused)."""
    from appointments.models import Batch
    from appointments.services.batches import batch_submit

    batch = Batch.objects.filter(pk=batch_id, status=Batch.Status.PAUSED).first()
    if batch is not None:
        batch_submit(batch=batch)


@task()
def confirm_upload(upload_id: str, choices: dict[str, Any]) -> None:
    """Check and store every row of a large confirmed upload (see ``services.confirm``)."""
    from appointments.services.confirm import upload_confirm_queued

    upload_confirm_queued(upload_id=upload_id, choices=choices)
