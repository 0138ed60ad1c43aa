"""Start a task worker: first hand stalled batches (whose worker died) back to the queue."""

from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from appointments.hubspot.reachability import reachability_problem
from appointments.services.sending import batch_recover_stalled, send_batch


class Command(BaseCommand):
    help = (
        "Re-queue batches whose worker died, then run the task worker of the configured backend: "
        "db_worker (django-tasks-db) or rqworker (RQ, HUBPORTAL_TASK_BACKEND=rq)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--interval", type=float, default=1.0, help="db_worker poll interval")
        parser.add_argument("--burst", action="store_true", help="run what is queued, then exit")

    def handle(self, *args: Any, **options: Any) -> None:
        # Said once at start, without refusing to start: HubSpot may come back.
        if problem := reachability_problem():
            self.stderr.write(problem)
        for batch_id in batch_recover_stalled():
            send_batch.enqueue(batch_id)
            self.stdout.write(f"Queued batch {batch_id} again (its worker may have stopped).")
        if settings.HUBPORTAL_TASK_BACKEND == "rq":
            call_command(
                "rqworker",
                "default",
                job_class="django_tasks_rq.backend.Job",
                burst=options["burst"],
                with_scheduler=not options["burst"],
            )
        else:
            call_command(
                "db_worker", reload=False, interval=options["interval"], batch=options["burst"]
            )
