"""Start a task worker: first hand stalled batches (whose worker died) back to the queue."""

from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from appointments import tasks
from appointments.submission import batch_recover_stalled


class Command(BaseCommand):
    help = (
        "Recover batches whose worker died, then run the task worker of the configured backend "
        "(db_worker for django-tasks-db, rqworker for RQ). Extra options go to that worker."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--interval", type=float, default=1.0, help="db_worker poll interval")

    def handle(self, *args: Any, **options: Any) -> None:
        for batch_id in batch_recover_stalled():
            tasks.send_batch.enqueue(batch_id)
            self.stdout.write(f"Queued batch {batch_id} again (its worker may have stopped).")
        backend = settings.TASKS["default"]["BACKEND"]
        if backend.startswith("django_tasks_rq"):
            call_command("rqworker", "default", with_scheduler=True)
        else:
            call_command("db_worker", reload=False, interval=options["interval"])
