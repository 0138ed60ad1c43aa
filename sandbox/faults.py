"""Faults on demand, per portal: latency, 423, 502/503/504, dropped connection, lost response.

HubSpot source for the codes: https://developers.hubspot.com/docs/api-reference/error-handling
(423 Locked: retry after at least 2 seconds; 502/504 processing limits; 503). A time-out can
hide created records: the lost-response fault makes that case testable (SANDBOX.md, Faults).
"""

from __future__ import annotations

import time

from django.db.models import F
from django.http import HttpRequest, HttpResponse

from sandbox.context import ApiContext, drop_connection, error_response
from sandbox.models import Portal

_STATUS_FAULTS = {
    Portal.Fault.LOCKED_423: (
        423,
        "LOCKED",
        "Too many writes in a short time: the object is locked. Retry in at least 2 seconds.",
    ),
    Portal.Fault.BAD_GATEWAY_502: (502, "BAD_GATEWAY", "Processing limits reached: bad gateway."),
    Portal.Fault.UNAVAILABLE_503: (
        503,
        "SERVICE_UNAVAILABLE",
        "The service is temporarily unavailable.",
    ),
    Portal.Fault.GATEWAY_TIMEOUT_504: (
        504,
        "GATEWAY_TIMEOUT",
        "Processing limits reached: gateway time-out.",
    ),
}


def set_fault(
    hub_id: int,
    fault: str = "",
    *,
    times: int | None = None,
    latency_ms: int | None = None,
    path_contains: str = "",
    hang_seconds: int | None = None,
) -> None:
    """Switch a portal's fault (a ``Portal.Fault`` value, "" for none).

    ``times``: how many API calls it applies to (None: until switched off). ``path_contains``:
    only calls whose path contains it. ``latency_ms``: delay added to every API call.
    """
    changes: dict[str, object] = {
        "fault": Portal.Fault(fault),
        "fault_remaining": times,
        "fault_path_contains": path_contains,
    }
    if latency_ms is not None:
        changes["latency_ms"] = latency_ms
    if hang_seconds is not None:
        changes["hang_seconds"] = hang_seconds
    Portal.objects.filter(hub_id=hub_id).update(**changes)


def before_view(request: HttpRequest, ctx: ApiContext) -> HttpResponse | None:
    """Apply the calling portal's latency and fault before the view runs.

    Returns the fault response (423/5xx, or a dropped connection), or None to run the view;
    the lost-response fault sets ``ctx.hang`` so ``after_response`` withholds the answer.
    """
    portal = ctx.portal
    assert portal is not None
    if portal.latency_ms:
        time.sleep(portal.latency_ms / 1000)
    if not portal.fault or portal.fault_path_contains not in request.path:
        return None
    if portal.fault_remaining is not None:
        claimed = Portal.objects.filter(pk=portal.pk, fault_remaining__gt=0).update(
            fault_remaining=F("fault_remaining") - 1
        )
        if not claimed:
            return None
    fault = Portal.Fault(portal.fault)
    if fault in _STATUS_FAULTS:
        status, category, message = _STATUS_FAULTS[fault]
        ctx.note = f"fault: {status}"
        return error_response(
            status, correlation_id=ctx.correlation_id, category=category, message=message
        )
    if fault == Portal.Fault.DROP:
        # Dropped in after_response, once the journal has the call.
        ctx.note = "fault: connection dropped before the response"
        ctx.drop = True
        return HttpResponse(status=502)
    ctx.note = "fault: records created, response withheld"
    ctx.hang = True
    return None


def after_response(request: HttpRequest, ctx: ApiContext, response: HttpResponse) -> None:
    """Drop the connection (drop fault), or hold it ``hang_seconds`` first (lost response)."""
    if ctx.drop:
        drop_connection(request)
        return
    if not ctx.hang or ctx.portal is None:
        return
    deadline = time.monotonic() + ctx.portal.hang_seconds
    while time.monotonic() < deadline:
        time.sleep(0.1)
    drop_connection(request)
