"""A worker's lease on a piece of background work (a send, a look in HubSpot), kept alive from
a thread of its own while the work runs, so a living worker never looks dead however long a
HubSpot call or a database write takes (``HUBPORTAL_WORKER_LEASE_SECONDS``)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from django.conf import settings
from django.db import DatabaseError, connection

logger = logging.getLogger(__name__)


class LeaseKeeper:
    """Calls ``renew()`` every quarter of ``HUBPORTAL_WORKER_LEASE_SECONDS`` until the ``with``
    block ends or ``renew()`` returns False (the work was taken over or finished: the work
    itself notices at its next step). A database error is logged and tried again at the next
    quarter: the lease allows four misses. ``what`` names the work in logs and the thread."""

    def __init__(self, renew: Callable[[], bool], what: str) -> None:
        self._renew = renew
        self._what = what
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lease {what}", daemon=True)

    def __enter__(self) -> LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        try:
            while not self._stop.wait(settings.HUBPORTAL_WORKER_LEASE_SECONDS / 4):
                try:
                    if not self._renew():
                        return
                except DatabaseError:
                    logger.warning("Could not renew the lease on %s", self._what)
        finally:
            # The thread's own database connection, opened by renew().
            connection.close()
