"""Small helpers shared by tests (and benches): database URLs for subprocesses, batches made
through the product's own upload path."""

import random
import threading
import time
from collections import Counter
from collections.abc import Callable

from django.contrib.auth.models import User
from django.db import connection
from django.db.models import Max
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from appointments.models import Batch, BatchRow, Portal
from appointments.services import uploads as upload_services


def database_url() -> str:
    """A DATABASE_URL for the test database, so a subprocess (worker, sandbox) uses it too."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def batch_from_upload(
    *,
    user: User,
    portal: Portal,
    data: bytes,
    filename: str,
    timezone_name: str = "UTC",
    sheet: str | None = None,
) -> Batch:
    """A batch made from a file the way a person makes it who accepts the mapping screen's
    proposal: the upload is kept, its screen read, and its rows confirmed (as the
    confirmation task and ``import_appointments`` confirm them, at any size)."""
    upload, problem = upload_services.upload_create(
        user=user,
        portal=portal,
        data=data,
        filename=filename,
        timezone_name=timezone_name,
        sheet=sheet,
    )
    assert upload is not None, problem
    screen = upload_services.upload_mapping_screen(
        upload=upload, choices=upload_services.ReadingChoices(sheet=sheet)
    )
    assert screen.preview is not None and screen.schema is not None, screen.problem
    return upload_services.upload_table_confirm(
        upload=upload,
        table=upload_services.upload_read(upload=upload, sheet=sheet),
        mapping=screen.targets,
        properties=screen.schema.properties,
        date_orders={},
    )


def settle_and_resend(client: Client, batch: Batch, *, rounds: int = 3) -> None:
    """Do what a person does with the failed rows a fault storm leaves: for rows that "may have
    been created", wait until HubSpot's search has settled for every call
    (``BatchCall.settles_at``) and press "Check HubSpot again"; then press "Send the failed
    rows again", which sends those it calls not sent and those whose retries the storm
    exhausted; repeat (a resend can lose its answer too) up to ``rounds`` times or until no
    row is left failed."""
    for _round in range(rounds):
        if not batch.rows.filter(state=BatchRow.State.FAILED).exists():
            return
        if batch.rows.filter(error_category="UNKNOWN_OUTCOME").exists():
            last = batch.calls.aggregate(last=Max("settles_at"))["last"]
            if last is not None:
                time.sleep(max((last - timezone.now()).total_seconds(), 0.0) + 0.1)
            client.post(reverse("appointments:batch-check-hubspot", args=[batch.pk]))
        client.post(reverse("appointments:batch-retry", args=[batch.pk]))
        batch.refresh_from_db()


# The faults of a storm: HubSpot's 5xx, a lock, a connection dropped before the answer, and
# records created whose answer never comes (429s come from the sandbox's rate limit).
STORM_FAULTS = ("502", "503", "504", "423", "drop", "create_timeout")


class FaultStorm:
    """Switches a random fault on (for the next call) every ``interval`` seconds from a thread
    of its own, through ``set_fault(fault)`` (the in-process sandbox's, or ``sandbox_set``), until
    ``stop``; ``seen`` counts the faults switched on."""

    def __init__(self, set_fault: Callable[[str], None], *, interval: float, seed: int) -> None:
        self._set_fault = set_fault
        self._interval = interval
        self._rng = random.Random(seed)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fault-storm", daemon=True)
        self.seen: Counter[str] = Counter()

    def _run(self) -> None:
        try:
            # The first strike at once: a fast send must not slip through before it.
            while True:
                fault = self._rng.choice(STORM_FAULTS)
                self._set_fault(fault)
                self.seen[fault] += 1
                if self._stop.wait(self._interval):
                    break
        finally:
            connection.close()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self._set_fault("")


def duplicates_and_lost(names: list[str], expected: list[str]) -> tuple[int, int]:
    """Records created more than once (extra copies) and expected names never created."""
    counts = Counter(names)
    return sum(n - 1 for n in counts.values() if n > 1), len(set(expected) - set(counts))
