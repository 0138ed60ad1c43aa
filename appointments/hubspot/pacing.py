"""Client-side pacing of HubSpot calls, shared by every worker process, through pyrate-limiter.

HubSpot's limit is per portal and app, not per process (https://developers.hubspot.com/docs/api/usage-details;
hubspot-api-nodejs#416): one rolling 10-second budget (``HUBSPOT_RATE_LIMIT_PER_10S``, 110 by
default) is kept in a bucket every process sees, and so is search's own per-second limit
(``HUBSPOT_SEARCH_PER_SECOND``). The backend is Redis when
``HUBPORTAL_REDIS_URL`` is set (workers on several machines), otherwise a SQLite file with a file
lock under ``HUBPORTAL_STATE_DIR`` (every process on one machine).
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from django.conf import settings
from pyrate_limiter import Duration, Limiter, Rate, SQLiteBucket
from pyrate_limiter.buckets.redis_bucket import RedisBucket

logger = logging.getLogger(__name__)

_limiters: dict[tuple[int, int, str, bool], Limiter] = {}
_lock = threading.Lock()
MAX_WAIT_SECONDS = 120


def _budget() -> int:
    # A small margin keeps our rolling window inside HubSpot's even when request latency
    # shifts arrival times (our clock starts at send, HubSpot's at arrival).
    return max(1, settings.HUBSPOT_RATE_LIMIT_PER_10S - settings.HUBSPOT_RATE_LIMIT_MARGIN)


def _limiter(hub_id: int, *, search: bool = False) -> Limiter:
    # Searches have their own bucket: HubSpot counts them apart from the 10-second budget.
    budget = settings.HUBSPOT_SEARCH_PER_SECOND if search else _budget()
    key = (hub_id, budget, settings.HUBPORTAL_REDIS_URL, search)
    with _lock:
        limiter = _limiters.get(key)
        if limiter is None:
            # A tenth of a second more for searches: a one-second window is short beside the
            # jitter between our send times and HubSpot's arrival times.
            interval = Duration.SECOND + 100 if search else Duration.SECOND * 10
            rates = [Rate(budget, interval)]
            name = "search" if search else "rate"
            if settings.HUBPORTAL_REDIS_URL:
                import redis

                client = redis.Redis.from_url(settings.HUBPORTAL_REDIS_URL)
                bucket = RedisBucket.init(rates, client, f"hubportal:{name}:{hub_id}")
            else:
                state_dir = Path(settings.HUBPORTAL_STATE_DIR)
                state_dir.mkdir(parents=True, exist_ok=True)
                bucket = SQLiteBucket.init_from_file(
                    rates,
                    table=f"hub_{hub_id}_{budget}" if not search else f"search_{hub_id}_{budget}",
                    db_path=str(state_dir / "hubspot-rate.sqlite3"),
                    use_file_lock=True,
                )
            limiter = Limiter(bucket, buffer_ms=20)
            _limiters[key] = limiter
        return limiter


def acquire(hub_id: int) -> None:
    """Block until one more call to ``hub_id``'s portal fits in the shared 10-second budget.

    Raises TimeoutError after MAX_WAIT_SECONDS (the budget is held by something else).
    """
    if not _limiter(hub_id).try_acquire(f"hub-{hub_id}", blocking=True, timeout=MAX_WAIT_SECONDS):
        raise TimeoutError(f"No HubSpot call budget for portal {hub_id} within 120 s")


def acquire_search(hub_id: int) -> None:
    """Block until one more search of ``hub_id``'s portal fits in ``HUBSPOT_SEARCH_PER_SECOND``
    (search's own per-second limit, exempt from the 10-second budget:
    https://developers.hubspot.com/docs/api-reference/2026-03/crm/search-the-crm, "Limitations").
    Raises TimeoutError after MAX_WAIT_SECONDS."""
    limiter = _limiter(hub_id, search=True)
    if not limiter.try_acquire(f"search-{hub_id}", blocking=True, timeout=MAX_WAIT_SECONDS):
        raise TimeoutError(f"No HubSpot search budget for portal {hub_id} within 120 s")


def slow_down(remaining: int | None, interval_ms: int | None, maximum: int | None) -> None:
    """Honour HubSpot's ``X-HubSpot-RateLimit-Remaining``: when another client of the same app
    (not sharing our bucket) has used the budget, wait for one call's share of the interval."""
    if remaining is None or maximum is None or remaining > 1:
        return
    pause = (interval_ms or 10_000) / 1000 / max(maximum, 1)
    logger.info("HubSpot reports %s calls left in this window; pausing %.2fs", remaining, pause)
    time.sleep(pause)
