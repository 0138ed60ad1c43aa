"""A portal's HubSpot activity for its admins: the last day's calls (``HubSpotCallLog``), per
hour, the error rate against HubSpot's 5 % guideline, the 429s and the latest errors."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.contrib.auth.models import User
from django.db.models import Count, Q
from django.db.models.functions import TruncHour
from django.utils import timezone

from appointments.models import HubSpotCallLog, Portal
from appointments.services import access
from appointments.services.access import Action

# HubSpot asks integrations to keep error responses under 5 % of their requests:
# https://developers.hubspot.com/docs/developer-tooling/platform/usage-guidelines
ERROR_RATE_LIMIT = 5.0
WINDOW = timedelta(hours=24)
RECENT_ERRORS = 20
# An error: an error answer (4xx, 5xx) or no answer at all.
ERRORS = Q(status__isnull=True) | Q(status__gte=400)


@dataclass(frozen=True)
class HourOfCalls:
    """Calls started in the hour from ``start`` (aware, UTC) and how many of them failed."""

    start: datetime
    calls: int
    errors: int


@dataclass(frozen=True)
class PortalActivity:
    """The portal's calls since ``since`` (aware): ``calls``, ``errors`` and their share
    ``error_rate`` (percent, None without calls), ``above_limit`` when that share passes
    ``ERROR_RATE_LIMIT``, ``rate_limited`` (429 answers), ``hours`` (``HourOfCalls`` from the
    hour of ``since`` to the present one, oldest first, empty hours included) and
    ``recent_errors`` (the ``RECENT_ERRORS`` latest, newest first, with their correlation IDs)."""

    portal: Portal
    since: datetime
    calls: int
    errors: int
    error_rate: float | None
    above_limit: bool
    rate_limited: int
    hours: list[HourOfCalls]
    recent_errors: list[HubSpotCallLog]


def portal_activity(*, user: User, portal: Portal, now: datetime | None = None) -> PortalActivity:
    """The last 24 hours (before ``now``, default the present) of the HubSpot calls the app
    made for ``portal``: every call of its client (batch creates, reads, searches, undo
    archives, lookups), as ``hubspot.client`` records them. A fixed number of queries.

    Raises PermissionDenied unless ``user`` may manage portals (admins).
    """
    access.require(user, Action.PORTAL_MANAGE, portal)
    now = now or timezone.now()
    since = now - WINDOW
    logs = HubSpotCallLog.objects.filter(hub_id=portal.hub_id, at__gt=since, at__lte=now)
    totals = logs.aggregate(
        calls=Count("id"),
        errors=Count("id", filter=ERRORS),
        rate_limited=Count("id", filter=Q(status=429)),
    )
    by_hour = {
        row["hour"]: (row["calls"], row["errors"])
        for row in logs.annotate(hour=TruncHour("at", tzinfo=UTC))
        .values("hour")
        .annotate(calls=Count("id"), errors=Count("id", filter=ERRORS))
        .order_by()
    }
    # From the hour ``since`` falls in to the present one: 25 hours, the ends partly.
    start = since.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    hours = []
    while start <= now:
        calls, errors = by_hour.get(start, (0, 0))
        hours.append(HourOfCalls(start=start, calls=calls, errors=errors))
        start += timedelta(hours=1)
    calls, errors = totals["calls"], totals["errors"]
    rate = 100.0 * errors / calls if calls else None
    return PortalActivity(
        portal=portal,
        since=since,
        calls=calls,
        errors=errors,
        error_rate=rate,
        above_limit=rate is not None and rate > ERROR_RATE_LIMIT,
        rate_limited=totals["rate_limited"],
        hours=hours,
        recent_errors=list(logs.filter(ERRORS).select_related("user")[:RECENT_ERRORS]),
    )
