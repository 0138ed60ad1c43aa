"""Batch views: the preview and live results, submit, retry, check records, check HubSpot again,
cancel, download."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, JsonResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, npgettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from appointments.hubspot.errors import HubSpotError, clause
from appointments.models import Batch, BatchRow, RowUndo
from appointments.services import access, duplicate_search, exports
from appointments.services import audit as audit_services
from appointments.services import batches as batch_services
from appointments.services import duplicates as duplicate_services
from appointments.services import rows as row_services
from appointments.services import undo as undo_services
from appointments.services import updating as updating_services
from appointments.services import uploads as upload_services
from appointments.services.access import Action, batches_for
from appointments.services.portals import PortalNeedsReconnect
from appointments.services.resolving import keys_row_links
from appointments.services.states import Action as StateAction
from appointments.services.states import batch_allows
from appointments.views.base import SHOWN_KEY, AuthenticatedRequest, shown_columns

logger = logging.getLogger(__name__)

# The step that names what Send or Cancel will do before it is done (no script needed).
CONFIRM_PAGE = "appointments/batches/confirm.html"
# What follows each undo count ("3 archived"): the words agree with the number in every
# language (RowUndo.Outcome's labels are for one row).
UNDO_OUTCOMES: dict[str, Callable[[int], str]] = {
    RowUndo.Outcome.ARCHIVING: lambda n: npgettext(
        "undo count", "being archived", "being archived", n
    ),
    RowUndo.Outcome.ARCHIVED: lambda n: npgettext("undo count", "archived", "archived", n),
    RowUndo.Outcome.RESTORING: lambda n: npgettext(
        "undo count", "being restored", "being restored", n
    ),
    RowUndo.Outcome.RESTORED: lambda n: npgettext(
        "undo count", "restored to its previous values", "restored to their previous values", n
    ),
    RowUndo.Outcome.CHANGED: lambda n: npgettext(
        "undo count", "kept: changed in HubSpot since", "kept: changed in HubSpot since", n
    ),
    RowUndo.Outcome.MISSING: lambda n: npgettext(
        "undo count", "already gone from HubSpot", "already gone from HubSpot", n
    ),
}

STILL_STORING = gettext_lazy(
    "The rows of this batch are still being checked and stored; this page shows them as they "
    "come. Send it once every row is there."
)


def _acting_on(request: AuthenticatedRequest, batch_id: str) -> Batch:
    """The batch, if the user sees it (else 404) and may act on it (else 403)."""
    batch = get_object_or_404(batches_for(request.user).select_related("portal"), pk=batch_id)
    access.require(request.user, Action.BATCH_ACT, batch)
    return batch


DUPLICATES_SHOWN = (Batch.Status.DRAFT, Batch.Status.PAUSED, Batch.Status.CANARY)
SENDABLE = (Batch.Status.DRAFT, Batch.Status.PAUSED, Batch.Status.CANCELED, Batch.Status.CANARY)
# The poll's marker: the page that polls showed a look in HubSpot running.
SEARCHING = "searching"


def _poll_query(request: AuthenticatedRequest, searching: bool) -> str:
    query = request.GET.copy()
    query.pop(SEARCHING, None)
    if searching:
        query[SEARCHING] = "1"
    return query.urlencode()


def _batch_context(request: AuthenticatedRequest, batch: Batch) -> dict[str, object]:
    row_filter = request.GET.get("filter", "all")
    progress = batch_services.batch_progress(batch=batch)
    sendable = batch.status in SENDABLE
    searching = duplicate_search.batch_search_running(batch=batch)
    columns = shown_columns(request, batch)
    page = batch_services.batch_rows_page(
        batch=batch,
        row_filter=row_filter,
        number=request.GET.get("page"),
        counts=progress.counts,
        cells=[index for index, _label in columns],
    )
    row_services.rows_attach_shown(user=request.user, batch=batch, rows=page, columns=columns)
    return {
        "batch": batch,
        "shown_columns": columns,
        "shown_indexes": [index for index, _label in columns],
        "all_columns": row_services.row_editable_columns(batch=batch),
        "counts": progress.counts,
        "progress": progress,
        "percent_done": progress.percent,
        "page": page,
        # Each row with the records its emails, domains, names and owners stand for.
        "page_rows": [(row, keys_row_links(batch=batch, row=row)) for row in page],
        "row_filter": row_filter,
        "row_filters": list(batch_services.ROW_FILTERS),
        "calls": batch_services.batch_recent_calls(batch=batch),
        "to_send": batch_services.batch_to_send(batch=batch, counts=progress.counts),
        **_failed_context(batch, progress.counts["failed"], full_page=not request.htmx),
        "checking": batch_services.batch_checking(batch=batch),
        "hub_id": batch.portal.hub_id,
        "app_base_url": settings.HUBSPOT_APP_BASE_URL,
        # Offered in every state an undo starts from: its page says why it waits, if it does.
        "undo_possible": undo_services.batch_undo_offered(user=request.user, batch=batch),
        "can_queue": batch_allows(batch=batch, action=StateAction.QUEUE),
        # The send form (and its record check, its "change the columns"): before or between
        # sends, and not while HubSpot is looked in for the rows.
        "can_send": sendable and not searching,
        # The look in HubSpot: how far it is, or what the last one said, while it matters.
        "search_shown": sendable or searching,
        # The poll's query: the rows' filter and page, and whether a look runs (when it ends,
        # the whole page is drawn again: its matches and the send form, see batch_detail).
        "poll_query": _poll_query(request, searching),
        "undo_counts": (
            [
                (outcome, UNDO_OUTCOMES[outcome](n), n)
                for outcome, n in undo_services.batch_undo_counts(batch=batch).items()
            ]
            if batch.undo_requested_at
            else []
        ),
        # Only while rows may still be sent, and on the full page: read from the database (no
        # HubSpot call), but over every row the portal was sent, too much for each htmx poll.
        "duplicates": (
            duplicate_services.batch_duplicates(batch=batch)
            if batch.status in DUPLICATES_SHOWN and not request.htmx
            else None
        ),
        "can_act": access.can(request.user, Action.BATCH_ACT, batch),
        # Back to the mapping screen, until the batch is sent.
        "remap_upload": upload_services.upload_to_remap(batch=batch),
    }


def _failed_context(batch: Batch, failed: int, *, full_page: bool) -> dict[str, object]:
    """Failed rows by what can be done: ``unknown_outcomes`` (check HubSpot again),
    ``unfound`` (``batch_services.Unfound``: rows search did not show, resent only on an
    explicit, warned request; on the full page only, where a check leads, as it counts
    them), ``refused`` (fix first), ``retryable`` (send again as they
    are; counted only when no row has an unknown outcome, else ``retry_uncounted``: some may
    be)."""
    # Offered only once the batch stopped, and never a count over the batch's failed rows
    # (main's poll cost): whether some outcome is unknown, and the refused rows of the calls
    # HubSpot answered row by row (none: no row query at all).
    if not failed or batch.is_active:
        return {
            "unknown_outcomes": False,
            "unfound": None,
            "refused": 0,
            "retryable": 0,
            "retry_uncounted": False,
        }
    unknown = batch_services.batch_has_unknown(batch=batch)
    refused = batch_services.batch_refused_count(batch=batch)
    return {
        "unknown_outcomes": unknown,
        "unfound": batch_services.batch_unfound(batch=batch) if unknown and full_page else None,
        "refused": refused,
        "retryable": 0 if unknown else max(failed - refused, 0),
        "retry_uncounted": unknown,
    }


@require_GET
@login_required
@vary_on_headers("HX-Request")
def batch_detail(request: AuthenticatedRequest, batch_id: str) -> HttpResponse:
    batch = get_object_or_404(
        batches_for(request.user).select_related("portal", "created_by"), pk=batch_id
    )
    if "show" in request.GET or "show-none" in request.GET:
        # The "columns to show" form: kept for this person and batch (see views.rows).
        chosen = [int(v) for v in request.GET.getlist("show") if v.isdigit()]
        request.session[f"{SHOWN_KEY}{batch.pk}"] = chosen
    # Rows whose storing stopped (a killed process) are stored again in the background.
    upload_services.upload_resume(batch=batch)
    if request.htmx and SEARCHING in request.GET and not batch.is_changing:
        # The look in HubSpot ended: the whole page again, with its matches and send form
        # (htmx reloads on HX-Refresh; 204: nothing swapped meanwhile).
        response = HttpResponse(status=204)
        response["HX-Refresh"] = "true"
        return response
    template = "appointments/batches/detail.html"
    if request.htmx:
        template += "#live-results"
    return render(request, template, _batch_context(request, batch))


@require_http_methods(["GET", "POST"])
@login_required
def batch_submit(request: AuthenticatedRequest, batch_id: str) -> HttpResponse:
    """GET: the confirmation naming what Send will do and whether HubSpot was looked in for
    the rows, and when; POST: with ``look_first=1``, look in HubSpot in the background first
    (the look sends when no row matches); else check the portal (and, with
    ``check_records=1``, the record IDs), then send. Nothing is sent while a look runs."""
    batch = _acting_on(request, batch_id)
    if batch.is_active:
        messages.info(request, _("This batch is already being sent."))
    elif batch.status == Batch.Status.STORING:
        messages.info(request, STILL_STORING)
    elif batch.status in (Batch.Status.UNDOING, Batch.Status.UNDONE, Batch.Status.CHECKING):
        messages.info(request, _("This batch was undone; it cannot be sent again."))
    elif duplicate_search.batch_search_running(batch=batch):
        messages.info(
            request,
            _("HubSpot is being looked in for appointments like these rows; send once it ends."),
        )
    elif request.method == "GET":
        on_duplicate = request.GET.get("on_duplicate", "")
        on_duplicate = (
            on_duplicate if on_duplicate in duplicate_services.ON_DUPLICATE_CHOICES else ""
        )
        canary = _canary(request.GET) if batch.status == Batch.Status.DRAFT else 0
        plan = batch_services.batch_send_plan(
            user=request.user, batch=batch, on_duplicate=on_duplicate, canary=canary
        )
        if not plan.first:
            messages.info(request, _("There are no valid rows left to send."))
            return redirect("appointments:batch-detail", batch_id=batch.pk)
        return render(
            request,
            CONFIRM_PAGE,
            {
                "batch": batch,
                "action": "send",
                "plan": plan,
                "checks_records": batch_services.batch_names_records(batch=batch),
                "on_duplicate": on_duplicate,
                # Update or create (services.updating): the choices this batch allows.
                "names_records": updating_services.names_records(batch=batch),
                "upsert_properties": updating_services.upsert_properties(batch=batch)
                if batch.status == Batch.Status.DRAFT
                else [],
                "write_mode": batch.write_mode,
                "canary": canary,
                # Send looks in HubSpot first unless it was looked in already.
                "look_first": batch.hubspot_search_state != Batch.Search.DONE,
                "restore_days": undo_services.RESTORE_DAYS,
            },
        )
    elif request.POST.get("look_first") != "1" or not _look_first(request, batch):
        _send_checked(request, batch)
    return redirect("appointments:batch-detail", batch_id=batch.pk)


def _look_first(request: AuthenticatedRequest, batch: Batch) -> bool:
    """Start looking in HubSpot, sending when no row matches; False when it cannot start."""
    then = duplicate_search.SendAfter(
        check_records=request.POST.get("check_records") == "1",
        on_duplicate=request.POST.get("on_duplicate", "ask"),
        canary=_canary(request.POST),
    )
    if not duplicate_search.batch_search_start(user=request.user, batch=batch, then_send=then):
        return False
    messages.info(
        request,
        _(
            "Looking in HubSpot first for appointments like these rows: the batch is sent as "
            "soon as none matches; if some do, this page asks you what to do with them."
        ),
    )
    return True


DEFAULT_CANARY = 10


def _canary(data: QueryDict) -> int:
    """The canary's size the send form asked for (0: none): ``canary`` ticked, ``canary_size``
    rows (``DEFAULT_CANARY`` when not a whole number from 1 to 1,000)."""
    if data.get("canary") != "on":
        return 0
    size = data.get("canary_size", "")
    return int(size) if size.isdigit() and 1 <= int(size) <= 1000 else DEFAULT_CANARY


def _send_checked(request: AuthenticatedRequest, batch: Batch) -> None:
    try:
        sent = batch_services.batch_send_checked(
            user=request.user,
            batch=batch,
            check_records=request.POST.get("check_records") == "1",
            on_duplicate=request.POST.get("on_duplicate", "ask"),
            canary=_canary(request.POST),
            write_mode=request.POST.get("write_mode", ""),
            upsert_property=request.POST.get("upsert_property", ""),
        )
    except ValueError:
        messages.error(
            request,
            _(
                "Nothing was sent: choose how rows update appointments again (a unique-value "
                "property mapped to a column)."
            ),
        )
        return
    except duplicate_services.DuplicatesUndecided as exc:
        messages.warning(
            request,
            ngettext(
                "%(count)s row was already sent to this portal: choose to skip it or to "
                "create it anyway, then send.",
                "%(count)s rows were already sent to this portal: choose to skip them or to "
                "create them anyway, then send.",
                exc.count,
            )
            % {"count": exc.count},
        )
        return
    except (HubSpotError, PortalNeedsReconnect) as exc:
        messages.error(
            request,
            _("HubSpot could not be asked: %(reason)s. Nothing was sent; try again.")
            % {"reason": clause(exc)},
        )
        return
    if sent.problem:
        messages.error(
            request,
            _("Nothing was sent: this portal cannot take appointments. %(problem)s")
            % {"problem": sent.problem},
        )
    elif sent.records is not None and sent.records.held:
        messages.warning(request, _records_message(sent.records) + " " + _("Nothing was sent."))
    elif sent.queued:
        messages.success(request, _sending(sent.queued))
    else:
        messages.info(request, _("There are no valid rows left to send."))


def _records_message(check: batch_services.RecordCheck) -> str:
    if check.all_exist:
        return ngettext(
            "Every record ID of the %(count)s row not yet sent exists in HubSpot.",
            "Every record ID of the %(count)s rows not yet sent exists in HubSpot.",
            check.checked,
        ) % {"count": check.checked}
    parts = []
    if check.held:
        parts.append(
            ngettext(
                "%(count)s row names a record that does not exist; it is held back.",
                "%(count)s rows name records that do not exist; they are held back.",
                check.held,
            )
            % {"count": check.held}
        )
    if check.flagged:
        parts.append(
            ngettext(
                "%(count)s invalid row also names a record that does not exist.",
                "%(count)s invalid rows also name records that do not exist.",
                check.flagged,
            )
            % {"count": check.flagged}
        )
    return " ".join(parts)


def _sending(count: int) -> str:
    return ngettext(
        "Sending %(count)s row to HubSpot.", "Sending %(count)s rows to HubSpot.", count
    ) % {"count": count}


@require_POST
@login_required
def batch_check_records(request: AuthenticatedRequest, batch_id: str) -> HttpResponse:
    batch = _acting_on(request, batch_id)
    if batch.status == Batch.Status.STORING:
        messages.info(request, STILL_STORING)
        return redirect("appointments:batch-detail", batch_id=batch.pk)
    if batch.is_active:
        messages.info(request, _("This batch is already being sent."))
        return redirect("appointments:batch-detail", batch_id=batch.pk)
    try:
        check = batch_services.batch_check_records(user=request.user, batch=batch)
    except (HubSpotError, PortalNeedsReconnect) as exc:
        messages.error(
            request, _("HubSpot could not be asked: %(reason)s.") % {"reason": clause(exc)}
        )
    else:
        if check.all_exist:
            messages.success(request, _records_message(check))
        else:
            messages.warning(request, _records_message(check))
    return redirect("appointments:batch-detail", batch_id=batch.pk)


@require_POST
@login_required
def batch_check_hubspot(request: AuthenticatedRequest, batch_id: str) -> HttpResponse:
    batch = _acting_on(request, batch_id)
    if batch.is_active:
        messages.info(request, _("This batch is already being sent."))
        return redirect("appointments:batch-detail", batch_id=batch.pk)
    try:
        checked = batch_services.batch_check_hubspot(user=request.user, batch=batch)
    except (HubSpotError, PortalNeedsReconnect) as exc:
        messages.error(
            request, _("HubSpot could not be asked: %(reason)s.") % {"reason": clause(exc)}
        )
        return redirect("appointments:batch-detail", batch_id=batch.pk)
    if checked.created:
        messages.success(
            request,
            ngettext(
                "%(count)s row was found in HubSpot: it is marked created.",
                "%(count)s rows were found in HubSpot: they are marked created.",
                checked.created,
            )
            % {"count": checked.created},
        )
    if checked.not_sent:
        messages.warning(
            request,
            ngettext(
                "%(count)s row is not in HubSpot: it was not created and can be sent again.",
                "%(count)s rows are not in HubSpot: they were not created and can be sent again.",
                checked.not_sent,
            )
            % {"count": checked.not_sent},
        )
    if checked.too_soon:
        messages.info(
            request,
            ngettext(
                "%(count)s row's answer was lost too recently for HubSpot's search to show it: "
                "check HubSpot again in %(seconds)s s.",
                "%(count)s rows' answers were lost too recently for HubSpot's search to show "
                "them: check HubSpot again in %(seconds)s s.",
                checked.too_soon,
            )
            % {"count": checked.too_soon, "seconds": checked.seconds_left},
        )
    if checked.not_found:
        messages.warning(
            request,
            ngettext(
                "%(count)s row is not in HubSpot's search yet. Its search lags and documents no "
                "bound: the appointment may still appear. Check HubSpot again later.",
                "%(count)s rows are not in HubSpot's search yet. Its search lags and documents "
                "no bound: the appointments may still appear. Check HubSpot again later.",
                checked.not_found,
            )
            % {"count": checked.not_found},
        )
    if not (checked.created or checked.not_sent or checked.not_found or checked.too_soon):
        messages.info(request, _("No row is waiting for HubSpot to be checked again."))
    return redirect("appointments:batch-detail", batch_id=batch.pk)


def _say_sent_again(request: AuthenticatedRequest, queued: int) -> None:
    if queued:
        messages.success(
            request,
            ngettext(
                "Sending %(count)s row to HubSpot again.",
                "Sending %(count)s rows to HubSpot again.",
                queued,
            )
            % {"count": queued},
        )
    else:
        messages.info(request, _("There are no failed rows to send again."))


@require_POST
@login_required
def batch_retry(request: AuthenticatedRequest, batch_id: str) -> HttpResponse:
    batch = _acting_on(request, batch_id)
    queued = batch_services.batch_retry_failed(user=request.user, batch=batch)
    _say_sent_again(request, queued)
    return redirect("appointments:batch-detail", batch_id=batch.pk)


@require_POST
@login_required
def batch_resend_unfound(request: AuthenticatedRequest, batch_id: str) -> HttpResponse:
    """Resend the rows search did not show, only with the warning's box ticked."""
    batch = _acting_on(request, batch_id)
    if request.POST.get("accept_duplicates") != "yes":
        messages.warning(
            request,
            _(
                "Nothing was sent: tick the box saying you accept that these appointments may "
                "be created twice, or check HubSpot again later."
            ),
        )
        return redirect("appointments:batch-detail", batch_id=batch.pk)
    queued = batch_services.batch_resend_unfound(user=request.user, batch=batch)
    _say_sent_again(request, queued)
    return redirect("appointments:batch-detail", batch_id=batch.pk)


@require_http_methods(["GET", "POST"])
@login_required
def batch_cancel(request: AuthenticatedRequest, batch_id: str) -> HttpResponse:
    """GET: the confirmation naming what Cancel will do; POST: cancel."""
    batch = _acting_on(request, batch_id)
    if request.method == "GET":
        if batch.is_active or batch.status == Batch.Status.PAUSED:
            counts = batch_services.batch_counts(batch=batch)
            return render(
                request,
                CONFIRM_PAGE,
                {
                    "batch": batch,
                    "action": "cancel",
                    # Ready rows stay unsent; rows in a call HubSpot already has finish.
                    "count": counts[BatchRow.State.READY],
                    "in_flight": counts[BatchRow.State.SENDING],
                },
            )
        messages.info(request, _("This batch had already ended; there was nothing to cancel."))
    elif batch_services.batch_cancel(user=request.user, batch=batch):
        messages.info(
            request,
            _("Batch canceled. Rows not yet sent stay unsent; “Resume” sends them later."),
        )
    else:
        messages.info(request, _("This batch had already ended; there was nothing to cancel."))
    return redirect("appointments:batch-detail", batch_id=batch.pk)


@require_GET
@login_required
def batch_export_csv(request: AuthenticatedRequest, batch_id: str) -> StreamingHttpResponse:
    batch = get_object_or_404(batches_for(request.user).select_related("portal"), pk=batch_id)
    response = StreamingHttpResponse(
        exports.results_csv(user=request.user, batch=batch), content_type="text/csv"
    )
    response["Content-Disposition"] = f'attachment; filename="results-{batch.pk}.csv"'
    return response


@require_GET
@login_required
def batch_export_xlsx(request: AuthenticatedRequest, batch_id: str) -> HttpResponse:
    batch = get_object_or_404(batches_for(request.user).select_related("portal"), pk=batch_id)
    response = HttpResponse(
        exports.results_xlsx(user=request.user, batch=batch),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f'attachment; filename="results-{batch.pk}.xlsx"'
    return response


@require_GET
@login_required
def batch_export_audit(request: AuthenticatedRequest, batch_id: str) -> JsonResponse:
    batch = get_object_or_404(
        batches_for(request.user).select_related(
            "portal", "created_by", "undo_requested_by", "hubspot_search_by"
        ),
        pk=batch_id,
    )
    response = JsonResponse(
        audit_services.batch_audit(user=request.user, batch=batch), json_dumps_params={"indent": 2}
    )
    response["Content-Disposition"] = f'attachment; filename="audit-{batch.pk}.json"'
    return response


@require_GET
@login_required
def batch_export_rows_to_fix(request: AuthenticatedRequest, batch_id: str) -> StreamingHttpResponse:
    """The invalid and failed rows in the file's own layout, to fix and upload again."""
    batch = get_object_or_404(batches_for(request.user), pk=batch_id)
    response = StreamingHttpResponse(
        exports.rows_to_fix_csv(user=request.user, batch=batch), content_type="text/csv"
    )
    response["Content-Disposition"] = f'attachment; filename="rows-to-fix-{batch.pk}.csv"'
    return response
