"""Undo views: the exact list of records a batch created, then archiving them."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods

from appointments.models import Batch
from appointments.services import undo as undo_services
from appointments.services.access import batches_for
from appointments.views.base import AuthenticatedRequest


@require_http_methods(["GET", "POST"])
@login_required
def batch_undo(request: AuthenticatedRequest, batch_id: str) -> HttpResponse:
    """GET: the records undoing would archive or restore (row, name, record link, which).
    POST (``include_changed`` optional): start undoing, back to the batch page."""
    batch = get_object_or_404(batches_for(request.user).select_related("portal"), pk=batch_id)
    if request.method == "POST":
        started = undo_services.batch_undo_start(
            batch=batch,
            user=request.user,
            include_changed=request.POST.get("include_changed") == "on",
        )
        if started and batch.write_mode != Batch.WriteMode.CREATE:
            messages.success(
                request,
                ngettext(
                    "Undoing the %(count)s appointment this batch created or updated.",
                    "Undoing the %(count)s appointments this batch created or updated.",
                    started,
                )
                % {"count": started},
            )
        elif started:
            messages.success(
                request,
                ngettext(
                    "Archiving the %(count)s appointment this batch created.",
                    "Archiving the %(count)s appointments this batch created.",
                    started,
                )
                % {"count": started},
            )
        elif waits := undo_services.batch_undo_waits_for(batch=batch):
            messages.warning(request, _waiting_message(waits))
        else:
            messages.info(request, _not_now_message(batch))
        return redirect("appointments:batch-detail", batch_id=batch.pk)
    rows = list(
        undo_services.batch_undo_rows(user=request.user, batch=batch).select_related("batch")
    )
    waits = undo_services.batch_undo_waits_for(batch=batch)
    return render(
        request,
        "appointments/undo/confirm.html",
        {
            "batch": batch,
            "rows": rows,
            # Rows whose record undo writes back instead of archiving (the batch updated it).
            "restored": sum(
                getattr(row, "undo_action", "") == undo_services.RESTORE for row in rows
            ),
            "possible": undo_services.batch_undo_possible(user=request.user, batch=batch),
            "waiting": _waiting_message(waits) if waits else "",
            "not_now": _not_now_message(batch),
            "unsettled": undo_services.batch_undo_unsettled(batch=batch),
            "restore_days": undo_services.RESTORE_DAYS,
            "hub_id": batch.portal.hub_id,
            "app_base_url": settings.HUBSPOT_APP_BASE_URL,
        },
    )


def _waiting_message(waits: undo_services.InFlight) -> str:
    """Why an undo waits for the calls a canceled batch still has out, and until when."""
    return ngettext(
        "This batch cannot be undone yet: %(rows)s row was still out at HubSpot when it was "
        "canceled, and undoing now would leave the appointment HubSpot may still create for "
        "it. Its answer is saved, or the row marked as may have been created, within "
        "%(seconds)s s; then reload this page to undo.",
        "This batch cannot be undone yet: %(rows)s rows were still out at HubSpot when it was "
        "canceled, and undoing now would leave the appointments HubSpot may still create for "
        "them. Their answer is saved, or the rows marked as may have been created, within "
        "%(seconds)s s; then reload this page to undo.",
        waits.rows,
    ) % {"rows": waits.rows, "seconds": waits.seconds_left}


def _not_now_message(batch: Batch) -> str:
    """Why ``batch`` cannot be undone in its state (its status said), and what to do."""
    return _(
        "This batch cannot be undone while it is %(status)s: undo it once it is completed, "
        "canceled or waiting at the canary (an undone batch cannot be undone twice)."
    ) % {"status": batch.get_status_display().lower()}
