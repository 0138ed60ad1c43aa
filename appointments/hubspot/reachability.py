"""Whether the configured HubSpot API base URL answers at all, checked when a process starts.

The worker and the web process start anyway (HubSpot, or the sandbox, may come back), but an
operator who pointed them at the wrong port reads why at once, instead of finding rows
"not sent" later.
"""

from __future__ import annotations

import logging
import re
import threading

import requests
from django.conf import settings

logger = logging.getLogger(__name__)

# Connection refused answers at once; this bounds a host that swallows packets.
REACHABILITY_TIMEOUT_SECONDS = 3.0
_ERRNO = re.compile(r"\[Errno -?\d+\] [^'\")]+")


def _reason(exc: requests.RequestException) -> str:
    """The useful part of requests' nested error text, e.g. ``[Errno 111] Connection refused``."""
    text = str(exc)
    found = _ERRNO.search(text)
    return found.group(0).strip() if found else f"{type(exc).__name__}: {text[:200]}"


def reachability_problem(
    *, base_url: str | None = None, timeout: float = REACHABILITY_TIMEOUT_SECONDS
) -> str:
    """ "" when ``base_url`` (default ``settings.HUBSPOT_API_BASE_URL``) gives any HTTP answer,
    whatever its status; otherwise one line naming the URL, the error and what to do.

    One ``HEAD`` request without redirects, at most ``timeout`` seconds; never raises.
    """
    url = (base_url or settings.HUBSPOT_API_BASE_URL).rstrip("/")
    try:
        requests.head(url + "/", timeout=timeout, allow_redirects=False)
    except requests.RequestException as exc:
        return (
            f"HubSpot cannot be reached at HUBSPOT_API_BASE_URL={url} ({_reason(exc)}). Start "
            "the sandbox (make run starts it; alone: python manage.py sandbox --port <port>), "
            "or set HUBSPOT_API_BASE_URL (https://api.hubapi.com for HubSpot). Starting anyway: "
            "calls to HubSpot fail until it answers."
        )
    return ""


def warn_if_unreachable_in_background() -> threading.Thread:
    """Log ``reachability_problem`` as a warning from a daemon thread, so a process starts
    without waiting for the check; returns the thread."""

    def check() -> None:
        problem = reachability_problem()
        if problem:
            logger.warning(problem)

    thread = threading.Thread(target=check, name="hubspot-reachability", daemon=True)
    thread.start()
    return thread
