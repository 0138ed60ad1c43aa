"""Background tasks (Django's Tasks framework): each takes ids and calls one service."""

from django.tasks import task


@task()
def send_batch(batch_id: str) -> None:
    """Send a queued batch to HubSpot (see ``appointments.submission``)."""
    from appointments.submission import batch_send

    batch_send(batch_id=batch_id)
