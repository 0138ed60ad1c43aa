"""Duplicate views: settle a group of rows of a batch that are the same appointment; look in
HubSpot for appointments the rows would duplicate."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from appointments.hubspot.errors import HubSpotError, clause
from appointments.services import duplicates as duplicate_services
from appointments.services.access import batches_for
from appointments.services.portals import PortalNeedsReconnect
from appointments.views.base import AuthenticatedRequest


@require_POST
@login_required
def batch_duplicates_resolve(request: AuthenticatedRequest, batch_id: str) -> HttpResponse:
    """POST ``rows`` (row numbers, comma-separated) and ``choice`` (keep_first, exclude,
    keep_all); back to the batch page with what was done."""
    batch = get_object_or_404(batches_for(request.user), pk=batch_id)
    try:
        rows = [int(part) for part in request.POST.get("rows", "").split(",") if part.strip()]
        excluded = duplicate_services.batch_duplicates_resolve(
            user=request.user, batch=batch, rows=rows, choice=request.POST.get("choice", "")
        )
    except ValueError:
        messages.error(request, _("That choice about duplicates was not understood; try again."))
    else:
        if excluded:
            messages.success(
                request,
                ngettext(
                    "%(count)s duplicate row excluded: it will not be sent.",
                    "%(count)s duplicate rows excluded: they will not be sent.",
                    excluded,
                )
                % {"count": excluded},
            )
        else:
            messages.info(request, _("Every row of that group will be sent."))
    return redirect("appointments:batch-detail", batch_id=batch.pk)


@require_POST
@login_required
def batch_duplicates_search(request: AuthenticatedRequest, batch_id: str) -> HttpResponse:
    """Look in HubSpot for appointments matching the batch's ready rows; back to the batch page
    saying how many rows matched."""
    batch = get_object_or_404(batches_for(request.user).select_related("portal"), pk=batch_id)
    try:
        found = duplicate_services.batch_duplicates_search_hubspot(user=request.user, batch=batch)
    except (HubSpotError, PortalNeedsReconnect) as exc:
        messages.error(
            request, _("HubSpot could not be asked: %(reason)s.") % {"reason": clause(exc)}
        )
    else:
        if found:
            messages.warning(
                request,
                ngettext(
                    "%(count)s row matches an appointment already in HubSpot.",
                    "%(count)s rows match appointments already in HubSpot.",
                    found,
                )
                % {"count": found},
            )
        else:
            messages.success(request, _("No row matches an appointment already in HubSpot."))
    return redirect("appointments:batch-detail", batch_id=batch.pk)
