"""Duplicate views: settle a group of rows of a batch that are the same appointment; start
looking in HubSpot (in the background) for appointments the rows would duplicate."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from appointments.services import duplicate_search
from appointments.services import duplicates as duplicate_services
from appointments.services.access import batches_for
from appointments.views.base import AuthenticatedRequest

LOOKING = gettext_lazy(
    "Looking in HubSpot for appointments like these rows; this page shows how far it is, then "
    "what it found."
)


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
    """Start looking in HubSpot, in the background, for appointments matching the batch's
    ready rows; back to the batch page, which shows how far the look is, then what it found."""
    batch = get_object_or_404(batches_for(request.user).select_related("portal"), pk=batch_id)
    started = duplicate_search.batch_search_start(user=request.user, batch=batch)
    if started == "started":
        messages.info(request, LOOKING)
    elif started == "running":
        messages.info(request, _("HubSpot is already being looked in for these rows."))
    else:
        messages.info(request, _("HubSpot can be looked in only while the batch may be sent."))
    return redirect("appointments:batch-detail", batch_id=batch.pk)
