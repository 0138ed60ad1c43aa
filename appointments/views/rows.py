"""Row views on the batch preview: show one row, fix its cells inline, exclude or include it;
fix many rows at once and undo that."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from appointments.forms.rows import BulkFixForm
from appointments.hubspot.errors import HubSpotError
from appointments.models import Batch, BatchRow
from appointments.services import access
from appointments.services import rows as row_services
from appointments.services.access import Action, batches_for
from appointments.services.portals import PortalNeedsReconnect
from appointments.services.resolving import keys_problem, keys_row_links
from appointments.views.base import AuthenticatedRequest, shown_columns

ROWS_TEMPLATE = "appointments/rows/_rows.html"
EDIT_PAGE = "appointments/rows/edit.html"
BULK_PAGE = "appointments/rows/bulk.html"
# Tells the rows table's listener (in _rows.html) to reload the counts and buttons.
ROWS_CHANGED = "rows-changed"


def _load(
    request: AuthenticatedRequest, batch_id: str, row_number: int, *, acting: bool = False
) -> BatchRow:
    """The row, if the user sees its batch (else 404) and, ``acting``, may change it (403)."""
    batch = get_object_or_404(batches_for(request.user).select_related("portal"), pk=batch_id)
    if acting:
        access.require(request.user, Action.BATCH_ACT, batch)
    row = get_object_or_404(
        batch.rows.select_related("batch__portal", "call"), row_number=row_number
    )
    return row


def _row_context(
    request: AuthenticatedRequest,
    row: BatchRow,
    values: dict[int, str] | None = None,
    extra_errors: tuple[str, ...] = (),
) -> dict[str, object]:
    batch: Batch = row.batch
    columns = shown_columns(request, batch)
    row_services.rows_attach_shown(user=request.user, batch=batch, rows=[row], columns=columns)
    known = set()
    cells = []
    dates_read = row_services.row_dates_read(row=row)
    enumerations = row_services.row_option_choices(user=request.user, batch=batch)
    for index, header in row_services.row_editable_columns(batch=batch):
        known.add(header)
        value = (values or {}).get(index, row.raw_text(index))
        enumeration = enumerations.get(index)
        cells.append(
            {
                "index": index,
                "header": header,
                "value": value,
                "multiline": row_services.is_multiline(value),
                "errors": row.error_texts_for(header),
                "read_as": dates_read.get(index, ""),
                "choice": row_services.option_choice(enumeration[0], value, enumeration[1])
                if enumeration
                else None,
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
        ]
        + ([row.outcome_text] if row.state == BatchRow.State.FAILED and row.error_message else [])
        + list(extra_errors),
        "editable": row_services.row_is_editable(row),
        "shown_columns": columns,
        "can_act": access.can(request.user, Action.BATCH_ACT, batch),
        "links": keys_row_links(batch=batch, row=row),
        "hub_id": batch.portal.hub_id,
        "app_base_url": settings.HUBSPOT_APP_BASE_URL,
        # The separate Fix page (no htmx) goes back to the row where the table shows it.
        "back_url": "" if request.htmx else _back(row),
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
    """The batch page's rows table where it shows ``row`` (its page, unfiltered: a fixed row
    leaves the "invalid" filter), scrolled to the row."""
    page = row_services.row_page(row=row)
    url = reverse("appointments:batch-detail", args=[row.batch_id])
    return f"{url}?page={page}#row-{row.row_number}"


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
    if not row_services.row_is_fixable(row):
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
    except row_services.RowUnchanged:
        message = _("HubSpot refused this row as it is: change a value before sending it again.")
        context = _row_context(request, row, values, (message,))
        return render(request, template, context)
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


def _bulk_page(
    request: AuthenticatedRequest, batch: Batch, form: BulkFixForm, count: int | None = None
) -> HttpResponse:
    return render(
        request,
        BULK_PAGE,
        {
            "batch": batch,
            "form": form,
            "count": count,
            "edits": row_services.rows_bulk_history(user=request.user, batch=batch),
            "undoable": row_services.rows_bulk_undoable(user=request.user, batch=batch),
        },
    )


@require_http_methods(["GET", "POST"])
@login_required
def rows_bulk(request: AuthenticatedRequest, batch_id: str) -> HttpResponse:
    """Fix many rows at once: fill empty cells, find and replace, or fix every row with the
    same error and value. A POST without ``apply`` shows how many rows the fix changes; with
    ``apply=1`` it changes them and says how many."""
    batch = get_object_or_404(batches_for(request.user).select_related("portal"), pk=batch_id)
    access.require(request.user, Action.BATCH_ACT, batch)
    columns = row_services.row_editable_columns(batch=batch)
    if request.method == "GET":
        return _bulk_page(request, batch, BulkFixForm(columns=columns, initial=request.GET))
    form = BulkFixForm(request.POST, columns=columns)
    if not form.is_valid():
        return _bulk_page(request, batch, form)
    fix = row_services.BulkFix(
        kind=form.cleaned_data["kind"],
        column=form.cleaned_data["column"],
        find=form.cleaned_data["find"],
        replace=form.cleaned_data["replace"],
    )
    if request.POST.get("apply") != "1":
        count = row_services.rows_bulk_count(user=request.user, batch=batch, fix=fix)
        return _bulk_page(request, batch, form, count)
    try:
        edit = row_services.rows_bulk_apply(user=request.user, batch=batch, fix=fix)
    except row_services.BulkEditBusy as busy:
        messages.warning(request, _busy_message(busy))
        return _bulk_page(request, batch, form)
    messages.success(
        request,
        ngettext(
            "%(count)s row changed and checked again; “Undo” puts it back.",
            "%(count)s rows changed and checked again; “Undo” puts them back.",
            edit.changed,
        )
        % {"count": edit.changed},
    )
    return redirect("appointments:rows-bulk", batch_id=batch.pk)


def _busy_message(busy: row_services.BulkEditBusy) -> str:
    """What to tell the person whose bulk edit waits for another one of the same batch."""
    who = busy.edit.created_by.get_username() if busy.edit.created_by else _("someone")
    return _(
        "Nothing was changed: %(who)s is applying another fix to this batch's rows right now "
        "(started at %(time)s). Fixes of one batch are applied one at a time so that they do "
        "not mix: look at the rows once it is done, then apply yours again if it is still needed."
    ) % {
        "who": who,
        "time": date_format(timezone.localtime(busy.edit.applying_since), "TIME_FORMAT"),
    }


@require_POST
@login_required
def rows_bulk_undo(request: AuthenticatedRequest, batch_id: str, edit_id: int) -> HttpResponse:
    """Undo the batch's latest bulk fix on the rows not yet sent."""
    batch = get_object_or_404(batches_for(request.user), pk=batch_id)
    access.require(request.user, Action.BATCH_ACT, batch)
    edit = get_object_or_404(batch.edits.select_related("batch__portal"), pk=edit_id)
    try:
        restored = row_services.rows_bulk_undo(user=request.user, edit=edit)
    except ValueError:
        messages.warning(
            request, _("Only the latest fix can be undone; undo the later ones first.")
        )
    except row_services.BulkEditBusy as busy:
        messages.warning(request, _busy_message(busy))
    else:
        messages.success(
            request,
            ngettext(
                "%(count)s row has its value back.",
                "%(count)s rows have their values back.",
                restored,
            )
            % {"count": restored},
        )
    return redirect("appointments:rows-bulk", batch_id=batch.pk)
