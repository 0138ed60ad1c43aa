"""HubSpot's rate limits, emulated with database tables so every process counts the same calls.

Follows https://developers.hubspot.com/docs/api/usage-details: a rolling 10-second window per
portal and app (``TEN_SECONDLY_ROLLING``), a daily budget (``DAILY``), and search's own
per-second limit (``SECONDLY``, exempt from the 10-second one). No rate-limiting library offers
a rolling window kept in an SQL database shared by processes, so the window is a table of call
timestamps: a call is counted with one conditional UPDATE (the day), one indexed COUNT and one
INSERT (the window), in one transaction.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.db import transaction
from django.db.models import F
from django.http import HttpResponse

from sandbox.context import ApiContext, error_response
from sandbox.db import write_transaction
from sandbox.models import DailyUsage, RateCall

TEN_SECONDLY = "TEN_SECONDLY_ROLLING"
SECONDLY = "SECONDLY"
DAILY = "DAILY"
# Calls between two deletions of the rows that have left the window.
PRUNE_EVERY = 50
_MESSAGES = {
    TEN_SECONDLY: "You have reached your ten_secondly_rolling limit.",
    SECONDLY: "You have reached your secondly limit.",
    DAILY: "You have reached your daily limit.",
}


def check(ctx: ApiContext, policy: str) -> HttpResponse | None:
    """Count this call for ``ctx.portal`` and its app; return a 429 when a limit is reached.

    Calls refused with 429 are not counted. On success, ``ctx.headers`` gets
    ``X-HubSpot-RateLimit-Max``, ``-Remaining`` and ``-Interval-Milliseconds`` (not for search,
    whose responses carry none; SANDBOX.md, "Rate limits").
    """
    portal = ctx.portal
    assert portal is not None
    window, limit = (
        (1.0, portal.search_per_second)
        if policy == SECONDLY
        else (
            10.0,
            portal.rate_limit_per_10s,
        )
    )
    day = datetime.fromtimestamp(ctx.now, tz=UTC).date()
    with write_transaction():
        # One conditional UPDATE counts the call for the day; it also locks the day's row
        # (PostgreSQL; SQLite locks the whole database), so concurrent calls count in turn.
        today = DailyUsage.objects.filter(portal=portal, client_id=ctx.client_id, day=day)
        counted = not _has_daily_limit(ctx) or today.filter(calls__lt=portal.daily_limit).update(
            calls=F("calls") + 1
        )
        if not counted:
            # The day's first call, or the daily budget is spent.
            usage, _ = DailyUsage.objects.get_or_create(
                portal=portal, client_id=ctx.client_id, day=day
            )
            if usage.calls >= portal.daily_limit:
                return _too_many(ctx, DAILY)
            today.update(calls=F("calls") + 1)
        calls = RateCall.objects.filter(portal=portal, client_id=ctx.client_id, policy=policy)
        used = calls.filter(at__gte=ctx.now - window, at__lte=ctx.now).count()
        if used >= limit:
            # A refused call is not counted, not even for the day.
            transaction.set_rollback(True)
            return _too_many(ctx, policy)
        call = RateCall.objects.create(
            portal=portal, client_id=ctx.client_id, policy=policy, at=ctx.now
        )
        # Calls older than the window no longer count (the count above bounds ``at``); they
        # are deleted now and then rather than on every call, which saves a statement a call.
        if call.pk % PRUNE_EVERY == 0:
            calls.filter(at__lt=ctx.now - window).delete()
    if policy == TEN_SECONDLY:
        ctx.headers["X-HubSpot-RateLimit-Max"] = str(limit)
        ctx.headers["X-HubSpot-RateLimit-Remaining"] = str(max(limit - used - 1, 0))
        ctx.headers["X-HubSpot-RateLimit-Interval-Milliseconds"] = "10000"
    return None


def _has_daily_limit(ctx: ApiContext) -> bool:
    """Whether the caller has a daily budget: private apps do, OAuth apps do not.

    HubSpot's usage guidelines give OAuth (public) apps a 10-second limit and no daily one
    (https://developers.hubspot.com/docs/api/usage-details). The sandbox tells them apart by
    the token: an OAuth access token expires, a private-app (static) token does not.
    """
    return ctx.token is None or ctx.token.expires_at is None


def _too_many(ctx: ApiContext, policy: str) -> HttpResponse:
    portal = ctx.portal
    assert portal is not None
    group = {TEN_SECONDLY: "ten-secondly", SECONDLY: "secondly", DAILY: "daily"}[policy]
    if policy == TEN_SECONDLY:
        ctx.headers["X-HubSpot-RateLimit-Max"] = str(portal.rate_limit_per_10s)
        ctx.headers["X-HubSpot-RateLimit-Remaining"] = "0"
        ctx.headers["X-HubSpot-RateLimit-Interval-Milliseconds"] = "10000"
    ctx.note = f"rate limited: {policy}"
    return error_response(
        429,
        correlation_id=ctx.correlation_id,
        category="RATE_LIMITS",
        message=_MESSAGES[policy],
        extra={
            "errorType": "RATE_LIMIT",
            "policyName": policy,
            "groupName": f"publicapi:app-api-{group}:{ctx.client_id}:{portal.hub_id}",
        },
    )
