"""Views: thin; each parses input, checks permission, calls one service, picks a template."""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.middleware import HtmxDetails

from appointments import exports, services
from appointments.forms import UploadForm
from appointments.hubspot import oauth
from appointments.hubspot.errors import HubSpotError
from appointments.intake.readers import IntakeError
from appointments.models import Batch, BatchRow, Portal, batches_for, portals_for

logger = logging.getLogger(__name__)


class AuthenticatedRequest(HttpRequest):
    """What ``@login_required`` views receive (for type checking)."""

    user: User
    htmx: HtmxDetails


OAUTH_SESSION_KEY = "hubspot_oauth"
ROW_FILTERS = {
    "all": None,
    "invalid": [BatchRow.State.INVALID],
    "failed": [BatchRow.State.FAILED, BatchRow.State.UNSENT],
    "created": [BatchRow.State.CREATED],
}


def _redirect_uri(request: AuthenticatedRequest) -> str:
    return settings.HUBSPOT_REDIRECT_URI or request.build_absolute_uri(
        reverse("appointments:oauth-callback")
    )


@require_GET
@login_required
def home(request: AuthenticatedRequest) -> HttpResponse:
    portals = portals_for(request.user)
    context = {
        "configured": oauth.is_configured(),
        "portals": portals,
        "batches": batches_for(request.user).select_related("portal")[:20],
        "form": UploadForm(portals=portals, initial={"timezone": settings.TIME_ZONE}),
    }
    return render(request, "appointments/home.html", context)


@require_POST
@login_required
def portal_connect(request: AuthenticatedRequest) -> HttpResponse:
    if not oauth.is_configured():
        messages.error(
            request,
            _("HubSpot is not configured: set HUBSPOT_CLIENT_ID and HUBSPOT_CLIENT_SECRET."),
        )
        return redirect("appointments:home")
    redirect_uri = _redirect_uri(request)
    auth = oauth.authorization_request(redirect_uri)
    request.session[OAUTH_SESSION_KEY] = {
        "state": auth.state,
        "code_verifier": auth.code_verifier,
        "redirect_uri": redirect_uri,
    }
    return redirect(auth.url)


@require_GET
@login_required
def oauth_callback(request: AuthenticatedRequest) -> HttpResponse:
    # Popped, not read: a state works once, so a replayed callback is refused.
    pending = request.session.pop(OAUTH_SESSION_KEY, None)
    state = request.GET.get("state", "")
    if not pending or not state or state != pending["state"]:
        messages.error(
            request,
            _(
                "This HubSpot sign-in link is not valid or was already used. "
                "Start again with “Connect HubSpot”."
            ),
        )
        return redirect("appointments:home")
    if request.GET.get("error"):
        messages.warning(
            request,
            _("HubSpot access was not granted (%(reason)s). Nothing was connected.")
            % {"reason": request.GET.get("error_description") or request.GET["error"]},
        )
        return redirect("appointments:home")
    code = request.GET.get("code", "")
    if not code:
        messages.error(request, _("HubSpot did not send an authorization code. Try again."))
        return redirect("appointments:home")
    try:
        portal = services.portal_connect(
            user=request.user,
            code=code,
            redirect_uri=pending["redirect_uri"],
            code_verifier=pending["code_verifier"],
        )
    except HubSpotError as exc:
        messages.error(
            request,
            _("HubSpot refused the connection: %(message)s Try again.") % {"message": exc.message},
        )
        return redirect("appointments:home")
    messages.success(request, _("Connected HubSpot portal %(hub_id)s.") % {"hub_id": portal.hub_id})
    return redirect("appointments:home")


@require_POST
@login_required
def portal_disconnect(request: AuthenticatedRequest, hub_id: int) -> HttpResponse:
    portal = get_object_or_404(portals_for(request.user), hub_id=hub_id)
    services.portal_disconnect(portal=portal)
    messages.success(request, _("Disconnected HubSpot portal %(hub_id)s.") % {"hub_id": hub_id})
    return redirect("appointments:home")


@login_required
def batch_upload(request: AuthenticatedRequest) -> HttpResponse:
    portals = portals_for(request.user).filter(status=Portal.Status.ACTIVE)
    if request.method != "POST":
        form = UploadForm(portals=portals, initial={"timezone": settings.TIME_ZONE})
        return render(request, "appointments/upload.html", {"form": form})
    form = UploadForm(request.POST, request.FILES, portals=portals)
    if form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            batch = services.batch_create_from_upload(
                user=request.user,
                portal=form.cleaned_data["portal"],
                data=upload.read(),
                filename=upload.name,
                timezone_name=form.cleaned_data["timezone"],
            )
        except IntakeError as exc:
            form.add_error("file", exc.message)
        except (HubSpotError, services.PortalNeedsReconnect) as exc:
            form.add_error(
                None,
                _("Could not read the portal's appointment properties from HubSpot: %(message)s")
                % {"message": exc},
            )
        else:
            return redirect("appointments:batch-detail", batch_id=batch.pk)
    # 200 with the form and its errors: htmx swaps it, a plain POST shows it.
    return render(request, "appointments/upload.html", {"form": form})


def _batch_context(request: AuthenticatedRequest, batch: Batch) -> dict[str, object]:
    row_filter = request.GET.get("filter", "all")
    states = ROW_FILTERS.get(row_filter)
    rows = batch.rows.select_related("call").order_by("row_number")
    if states:
        rows = rows.filter(state__in=states)
    page = Paginator(rows, 100).get_page(request.GET.get("page"))
    counts = services.batch_counts(batch=batch)
    return {
        "batch": batch,
        "counts": counts,
        "percent_done": round(100 * counts["done"] / counts["valid"]) if counts["valid"] else 0,
        "page": page,
        "row_filter": row_filter,
        "row_filters": list(ROW_FILTERS),
        "calls": batch.calls.order_by("sequence"),
        "hub_id": batch.portal.hub_id,
        "app_base_url": settings.HUBSPOT_APP_BASE_URL,
    }


@require_GET
@login_required
@vary_on_headers("HX-Request")
def batch_detail(request: AuthenticatedRequest, batch_id: str) -> HttpResponse:
    batch = get_object_or_404(batches_for(request.user).select_related("portal"), pk=batch_id)
    template = "appointments/batch_detail.html"
    if request.htmx:
        template += "#live-results"
    return render(request, template, _batch_context(request, batch))


@require_POST
@login_required
def batch_submit(request: AuthenticatedRequest, batch_id: str) -> HttpResponse:
    batch = get_object_or_404(batches_for(request.user), pk=batch_id)
    if batch.status in (Batch.Status.DRAFT, Batch.Status.PAUSED, Batch.Status.COMPLETED):
        queued = services.batch_submit(batch=batch)
        if queued:
            messages.success(request, _("Sending %(count)s rows to HubSpot.") % {"count": queued})
        else:
            messages.info(request, _("There are no valid rows left to send."))
    return redirect("appointments:batch-detail", batch_id=batch.pk)


@require_POST
@login_required
def batch_cancel(request: AuthenticatedRequest, batch_id: str) -> HttpResponse:
    batch = get_object_or_404(batches_for(request.user), pk=batch_id)
    services.batch_cancel(batch=batch)
    messages.info(request, _("Batch canceled. Rows not yet sent stay unsent."))
    return redirect("appointments:batch-detail", batch_id=batch.pk)


@require_GET
@login_required
def batch_export_csv(request: AuthenticatedRequest, batch_id: str) -> StreamingHttpResponse:
    batch = get_object_or_404(batches_for(request.user).select_related("portal"), pk=batch_id)
    response = StreamingHttpResponse(exports.results_csv(batch), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="results-{batch.pk}.csv"'
    return response
