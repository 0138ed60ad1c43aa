"""Start a task worker that also watches for batches whose worker died, and resumes them."""

import logging
import threading
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.db import DatabaseError, connection

from appointments.hubspot.reachability import reachability_problem
from appointments.services.duplicate_search import batch_search_recover_stalled, search_duplicates
from appointments.services.sending import batch_enqueue_send, batch_recover_stalled
from appointments.services.undo import batch_undo_recover_stalled, undo_batch

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = (
        "Run the task worker of the configured backend (db_worker for django-tasks-db, rqworker "
        "for RQ with HUBPORTAL_TASK_BACKEND=rq), re-queueing batches whose worker died (sending, "
        "undoing, looking in HubSpot): at start, then every quarter of "
        "HUBPORTAL_WORKER_LEASE_SECONDS."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--interval", type=float, default=1.0, help="db_worker poll interval")
        parser.add_argument("--burst", action="store_true", help="run what is queued, then exit")

    def handle(self, *args: Any, **options: Any) -> None:
        # Said once at start, without refusing to start: HubSpot may come back.
        if problem := reachability_problem():
            self.stderr.write(problem)
        self._recover()
        if not options["burst"]:
            # A thread beside the task loop, not a periodic task: every living worker looks,
            # whatever the backend, and a watcher cannot die queued behind a long batch or be
            # lost with a killed worker, as a self-re-enqueuing task could.
            threading.Thread(target=self._watch, name="hubportal-watch", daemon=True).start()
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

    def _recover(self) -> None:
        for batch_id in batch_recover_stalled():
            batch_enqueue_send(batch_id)
            self.stdout.write(f"Queued batch {batch_id} again (its worker may have stopped).")
        for batch_id in batch_undo_recover_stalled():
            undo_batch.enqueue(batch_id)
            self.stdout.write(f"Queued the undo of batch {batch_id} again.")
        for batch_id in batch_search_recover_stalled():
            search_duplicates.enqueue(batch_id)
            self.stdout.write(f"Queued the look in HubSpot of batch {batch_id} again.")

    def _watch(self) -> None:
        stop = threading.Event()
        while not stop.wait(settings.HUBPORTAL_WORKER_LEASE_SECONDS / 4):
            try:
                self._recover()
            except DatabaseError:
                logger.exception("Looking for stalled batches failed; trying again")
            finally:
                connection.close()
