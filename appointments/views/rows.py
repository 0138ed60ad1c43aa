"""Row views on the batch preview: show one row, fix its cells inline, exclude or include it."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from appointments.hubspot.errors import HubSpotError
from appointments.models import Batch, BatchRow
from appointments.services import access
from appointments.services import rows as row_services
from appointments.services.access import Action, batches_for
from appointments.services.portals import PortalNeedsReconnect
from appointments.services.resolving import keys_problem, keys_row_links
from appointments.views.base import AuthenticatedRequest

ROWS_TEMPLATE = "appointments/rows/_rows.html"
EDIT_PAGE = "appointments/rows/edit.html"
# Tells the rows table's listener (in _rows.html) to reload the counts and buttons.
ROWS_CHANGED = "rows-changed"


def _load(
    request: AuthenticatedRequest, batch_id: str, row_number: int, *, acting: bool = False
) -> BatchRow:
    """The row, if the user sees its batch (else 404) and, ``acting``, may change it (403)."""
    batch = get_object_or_404(batches_for(request.user).select_related("portal"), pk=batch_id)
    if acting:
        access.require(request.user, Action.BATCH_ACT, batch)
    row = get_object_or_404(batch.rows.select_related("batch__portal"), row_number=row_number)
    return row


def _row_context(
    request: AuthenticatedRequest, row: BatchRow, values: dict[int, str] | None = None
) -> dict[str, object]:
    batch: Batch = row.batch
    known = set()
    cells = []
    dates_read = row_services.row_dates_read(row=row)
    for index, header in row_services.row_editable_columns(batch=batch):
        known.add(header)
        value = (values or {}).get(index, row.raw_text(index))
        cells.append(
            {
                "index": index,
                "header": header,
                "value": value,
                "multiline": row_services.is_multiline(value),
                "errors": row.error_texts_for(header),
                "read_as": dates_read.get(index, ""),
                "ambiguous": row_services.row_ambiguous_keys(
                    user=request.user, row=row, index=index
                ),
            }
        )
    # Focus goes to the first cell to fix once htmx swaps the form in (its autofocus).
    to_fix = [cell for cell in cells if cell["errors"]] or cells
    for cell in cells:
        cell["autofocus"] = bool(to_fix) and cell is to_fix[0]
    return {
        "row": row,
        "batch": batch,
        "cells": cells,
        "other_errors": [
            text
            for error, text in zip(row.errors, row.error_texts, strict=True)
            if error["column"] not in known
        ],
        "editable": row_services.row_is_editable(row),
        "can_act": access.can(request.user, Action.BATCH_ACT, batch),
        "links": keys_row_links(batch=batch, row=row),
        "hub_id": batch.portal.hub_id,
        "app_base_url": settings.HUBSPOT_APP_BASE_URL,
    }


def _picks(request: AuthenticatedRequest) -> dict[tuple[int, int], str]:
    """The records chosen for ambiguous keys: fields ``pick-<column index>-<n>``."""
    picks: dict[tuple[int, int], str] = {}
    for name in request.POST:
        parts = name.split("-")
        value = request.POST.get(name, "")
        if (
            len(parts) == 3
            and parts[0] == "pick"
            and parts[1].isdigit()
            and parts[2].isdigit()
            and value.isdigit()
        ):
            picks[int(parts[1]), int(parts[2])] = value
    return picks


def _back(row: BatchRow) -> str:
    return reverse("appointments:batch-detail", args=[row.batch_id]) + f"#row-{row.row_number}"


@require_GET
@login_required
@vary_on_headers("HX-Request")
def row_detail(request: AuthenticatedRequest, batch_id: str, row_number: int) -> HttpResponse:
    """The row as the preview shows it (htmx: the ``<tr>``; otherwise back to the batch)."""
    row = _load(request, batch_id, row_number)
    if not request.htmx:
        return redirect(_back(row))
    return render(request, ROWS_TEMPLATE + "#row-view", _row_context(request, row))


@require_http_methods(["GET", "POST"])
@login_required
@vary_on_headers("HX-Request")
def row_edit(request: AuthenticatedRequest, batch_id: str, row_number: int) -> HttpResponse:
    """Fix a row's cells; the row is re-validated at once and becomes ready when valid.

    htmx: the edit ``<tr>`` (with errors, 200) or, once valid, the row's ``<tr>`` and an
    ``HX-Trigger: rows-changed`` header. Without JavaScript: a page with the form, then back
    to the batch.
    """
    row = _load(request, batch_id, row_number, acting=True)
    template = ROWS_TEMPLATE + "#row-edit" if request.htmx else EDIT_PAGE
    if not row_services.row_is_editable(row):
        messages.warning(
            request,
            _("Row %(row)s was already given to HubSpot and can no longer be changed.")
            % {"row": row.row_number},
        )
        if request.htmx:
            return render(request, ROWS_TEMPLATE + "#row-view", _row_context(request, row))
        return redirect(_back(row))
    if request.method != "POST":
        return render(request, template, _row_context(request, row))
    values = {
        index: request.POST[f"c{index}"]
        for index, _header in row_services.row_editable_columns(batch=row.batch)
        if f"c{index}" in request.POST
    }
    try:
        applied = row_services.row_revalidate(
            user=request.user, row=row, values=values, picks=_picks(request)
        )
    except (HubSpotError, PortalNeedsReconnect, TimeoutError) as exc:
        messages.error(request, keys_problem(exc))
        return render(request, template, _row_context(request, row, values))
    if not applied:
        messages.warning(
            request,
            _("Row %(row)s was given to HubSpot meanwhile; your change was not applied.")
            % {"row": row.row_number},
        )
    if row.state == BatchRow.State.INVALID and applied:
        # Still wrong: the form again, with the user's text and the new messages (200).
        return render(request, template, _row_context(request, row, values))
    if not request.htmx:
        if applied:
            messages.success(request, _("Row %(row)s is ready.") % {"row": row.row_number})
        return redirect(_back(row))
    response = render(request, ROWS_TEMPLATE + "#row-view", _row_context(request, row))
    response["HX-Trigger"] = ROWS_CHANGED
    return response


@require_POST
@login_required
@vary_on_headers("HX-Request")
def row_exclude(request: AuthenticatedRequest, batch_id: str, row_number: int) -> HttpResponse:
    """Exclude the row (``excluded=1``: never sent) or include it again (``excluded=0``)."""
    row = _load(request, batch_id, row_number, acting=True)
    excluded = request.POST.get("excluded") == "1"
    if not row_services.row_set_excluded(user=request.user, row=row, excluded=excluded):
        messages.warning(
            request,
            _("Row %(row)s was already given to HubSpot; it cannot be excluded now.")
            % {"row": row.row_number},
        )
    if not request.htmx:
        return redirect(_back(row))
    response = render(request, ROWS_TEMPLATE + "#row-view", _row_context(request, row))
    response["HX-Trigger"] = ROWS_CHANGED
    return response
