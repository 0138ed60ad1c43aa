"""Portal views: the dashboard, connecting through OAuth, the callback, disconnecting, the
portal's row key and its XLSX template."""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from appointments.forms.uploads import UploadForm
from appointments.hubspot import oauth
from appointments.hubspot.errors import HubSpotError
from appointments.models import Portal
from appointments.services import access
from appointments.services import portals as portal_services
from appointments.services.access import Action, batches_for, portals_for
from appointments.services.batches import batch_default_timezone
from appointments.services.portals import PortalNeedsReconnect, RowKeyUnavailable
from appointments.services.uploads import schema_problem
from appointments.views.base import AuthenticatedRequest

logger = logging.getLogger(__name__)

OAUTH_SESSION_KEY = "hubspot_oauth"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _redirect_uri(request: AuthenticatedRequest) -> str:
    return settings.HUBSPOT_REDIRECT_URI or request.build_absolute_uri(
        reverse("appointments:oauth-callback")
    )


@require_GET
@login_required
def home(request: AuthenticatedRequest) -> HttpResponse:
    portals = portals_for(request.user)
    portal_services.portal_check_tokens(portals=portals)
    context = {
        "configured": oauth.is_configured(),
        "portals": portals,
        "batches": batches_for(request.user).select_related("portal", "created_by")[:20],
        "role": access.role_of(request.user),
        "can_manage": access.can(request.user, Action.PORTAL_MANAGE),
        "can_send": access.can(request.user, Action.PORTAL_USE),
        "form": UploadForm(
            portals=portals, initial={"timezone": batch_default_timezone(user=request.user)}
        ),
    }
    return render(request, "appointments/portals/home.html", context)


@require_POST
@login_required
def portal_connect(request: AuthenticatedRequest) -> HttpResponse:
    access.require(request.user, Action.PORTAL_MANAGE)
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
    access.require(request.user, Action.PORTAL_MANAGE)
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
        portal = portal_services.portal_connect(
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


@require_http_methods(["GET", "POST"])
@login_required
def portal_disconnect(request: AuthenticatedRequest, hub_id: int) -> HttpResponse:
    """GET: the confirmation naming the portal and what disconnecting does; POST: disconnect."""
    portal = get_object_or_404(portals_for(request.user), hub_id=hub_id)
    access.require(request.user, Action.PORTAL_MANAGE, portal)
    if request.method == "GET":
        return render(request, "appointments/portals/confirm_disconnect.html", {"portal": portal})
    problem = portal_services.portal_disconnect(user=request.user, portal=portal)
    messages.success(request, _("Disconnected HubSpot portal %(hub_id)s.") % {"hub_id": hub_id})
    if problem:
        messages.warning(request, problem)
    return redirect("appointments:home")


@require_POST
@login_required
def portal_readiness(request: AuthenticatedRequest, hub_id: int) -> HttpResponse:
    """Check again whether the portal can take appointments; says so on the dashboard."""
    portal = get_object_or_404(
        portals_for(request.user).filter(status=Portal.Status.ACTIVE), hub_id=hub_id
    )
    access.require(request.user, Action.PORTAL_USE, portal)
    try:
        problem = portal_services.portal_check_readiness(user=request.user, portal=portal)
    except (HubSpotError, PortalNeedsReconnect) as exc:
        messages.error(request, schema_problem(exc))
    else:
        if problem:
            messages.warning(request, problem)
        else:
            messages.success(
                request,
                _("Portal %(hub_id)s can take appointments.") % {"hub_id": hub_id},
            )
    return redirect("appointments:home")


@require_POST
@login_required
def portal_row_key(request: AuthenticatedRequest, hub_id: int) -> HttpResponse:
    """Create the portal's row-key property (button ``create``) or choose an existing
    unique-value text property (field ``property``); says on the dashboard what happened."""
    portal = get_object_or_404(
        portals_for(request.user).filter(status=Portal.Status.ACTIVE), hub_id=hub_id
    )
    access.require(request.user, Action.PORTAL_MANAGE, portal)
    name = "" if request.POST.get("create") else request.POST.get("property", "").strip()
    if not request.POST.get("create") and not name:
        messages.warning(request, _("Type the name of a unique-value text property to choose it."))
        return redirect("appointments:home")
    try:
        chosen = portal_services.portal_set_row_key(
            user=request.user, portal=portal, property_name=name
        )
    except RowKeyUnavailable as exc:
        messages.warning(request, str(exc))
    except (HubSpotError, PortalNeedsReconnect) as exc:
        messages.error(request, schema_problem(exc))
    else:
        messages.success(
            request,
            _("Portal %(hub_id)s now sends with the row key “%(name)s”.")
            % {"hub_id": hub_id, "name": chosen},
        )
    return redirect("appointments:home")


@require_GET
@login_required
def portal_template(request: AuthenticatedRequest, hub_id: int) -> HttpResponse:
    """An XLSX whose headers are the portal's writable properties, with drop-downs."""
    # A portal needing reconnection gets the page saying why, not a 404.
    portal = get_object_or_404(
        portals_for(request.user).exclude(status=Portal.Status.DISCONNECTED), hub_id=hub_id
    )
    access.require(request.user, Action.PORTAL_USE, portal)
    try:
        workbook = portal_services.portal_template(user=request.user, portal=portal)
    except (HubSpotError, PortalNeedsReconnect) as exc:
        # Said on the dashboard, where the download was asked for.
        messages.error(request, schema_problem(exc))
        return redirect("appointments:home")
    response = HttpResponse(workbook, content_type=XLSX_TYPE)
    response["Content-Disposition"] = f'attachment; filename="appointments-{hub_id}.xlsx"'
    return response
