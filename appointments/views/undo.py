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
        else:
            messages.info(request, _("This batch cannot be undone now."))
        return redirect("appointments:batch-detail", batch_id=batch.pk)
    rows = list(
        undo_services.batch_undo_rows(user=request.user, batch=batch).select_related("batch")
    )
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
            "restore_days": undo_services.RESTORE_DAYS,
            "hub_id": batch.portal.hub_id,
            "app_base_url": settings.HUBSPOT_APP_BASE_URL,
        },
    )
