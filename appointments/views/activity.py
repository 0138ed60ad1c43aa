"""A portal's HubSpot activity page, for admins: the last day's calls, error rate, 429s and
recent errors."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from appointments.services.access import portals_for
from appointments.services.activity import ERROR_RATE_LIMIT, portal_activity
from appointments.views.base import AuthenticatedRequest


@require_GET
@login_required
def portal_activity_page(request: AuthenticatedRequest, hub_id: int) -> HttpResponse:
    portal = get_object_or_404(portals_for(request.user), hub_id=hub_id)
    activity = portal_activity(user=request.user, portal=portal)
    return render(
        request,
        "appointments/activity/portal.html",
        {"activity": activity, "limit": ERROR_RATE_LIMIT},
    )
