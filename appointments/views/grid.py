"""The form grid: type appointments row by row, then check them like an upload."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRedirect

from appointments.forms.grid import GridSetupForm
from appointments.hubspot.errors import HubSpotError
from appointments.models import Portal
from appointments.services import access
from appointments.services.access import Action, portals_for
from appointments.services.batches import batch_default_timezone
from appointments.services.grid import (
    MAX_GRID_ROWS,
    GridColumn,
    grid_columns,
    grid_create_batch,
    grid_form_key,
    grid_schema,
)
from appointments.services.portals import PortalNeedsReconnect
from appointments.services.resolving import keys_problem
from appointments.services.uploads import schema_problem
from appointments.views.base import AuthenticatedRequest

GRID_TEMPLATE = "appointments/grid/entry.html"
START_ROWS = 3


def _posted_rows(data: QueryDict, columns: list[GridColumn]) -> list[list[str]]:
    """The grid's values as posted: ``r<row>-<key>``; multi-selects joined with ``;``."""
    count = data.get("rows", "")
    total = min(int(count), MAX_GRID_ROWS) if count.isdigit() else 0
    rows = []
    for index in range(total):
        values = []
        for column in columns:
            name = f"r{index}-{column.key}"
            if column.multiple:
                values.append(";".join(v for v in data.getlist(name) if v))
            else:
                values.append(data.get(name, "").strip())
        rows.append(values)
    return rows


def _apply_action(action: str, rows: list[list[str]], width: int) -> list[list[str]]:
    if action == "add" and len(rows) < MAX_GRID_ROWS:
        return [*rows, [""] * width]
    if action.startswith("remove:") and action[7:].isdigit():
        index = int(action[7:])
        return [row for position, row in enumerate(rows) if position != index]
    return rows


@require_http_methods(["GET", "POST"])
@login_required
@vary_on_headers("HX-Request")
def grid_entry(request: AuthenticatedRequest) -> HttpResponse:
    """GET: choose portal and time zone, then an empty grid. POST ``action``: ``add``,
    ``remove:<index>`` (re-rendered grid) or ``create`` (batch, then its preview)."""
    access.require(request.user, Action.PORTAL_USE)
    portals = portals_for(request.user).filter(status=Portal.Status.ACTIVE)
    data = request.POST if request.method == "POST" else request.GET
    setup = GridSetupForm(
        data if "portal" in data else None,
        portals=portals,
        unusable=portals_for(request.user).filter(status=Portal.Status.NEEDS_RECONNECT),
        initial={"timezone": batch_default_timezone(user=request.user)},
    )
    template = GRID_TEMPLATE + ("#grid-form" if request.htmx else "")
    context: dict[str, object] = {"setup": setup}
    if not setup.is_valid():
        if request.htmx and setup.is_bound:
            # The grid's own form asked (a row added, the batch created): its answer replaces
            # that form, so the reason (e.g. the portal needs reconnecting) is said there.
            context["problem"] = " ".join(
                str(message) for messages in setup.errors.values() for message in messages
            )
            return render(request, template, context)
        return render(request, GRID_TEMPLATE, context)
    portal, timezone_name = setup.cleaned_data["portal"], setup.cleaned_data["timezone"]
    access.require(request.user, Action.PORTAL_USE, portal)
    try:
        # Read afresh when the grid is shown; adding, removing and checking rows reuse it.
        schema = grid_schema(portal=portal, store=request.session, refresh=request.method != "POST")
    except (HubSpotError, PortalNeedsReconnect) as exc:
        context["problem"] = schema_problem(exc)
        return render(request, template, context)
    columns = grid_columns(schema=schema)
    form_key = grid_form_key(data.get("form_key"))
    if request.method != "POST":
        rows = [[""] * len(columns) for _ in range(START_ROWS)]
    else:
        action = request.POST.get("action", "")
        rows = _apply_action(action, _posted_rows(request.POST, columns), len(columns))
        if action == "create":
            filled = [(n + 1, row) for n, row in enumerate(rows) if any(row)]
            batch = None
            if filled:
                try:
                    batch = grid_create_batch(
                        user=request.user,
                        portal=portal,
                        timezone_name=timezone_name,
                        schema=schema,
                        columns=columns,
                        rows=filled,
                        form_key=form_key,
                    )
                except (HubSpotError, PortalNeedsReconnect, TimeoutError) as exc:
                    context["problem"] = keys_problem(exc)
            else:
                context["problem"] = _("Every row is empty. Fill in at least one appointment.")
            if batch is not None:
                url = reverse("appointments:batch-detail", args=[batch.pk])
                if request.htmx:
                    return HttpResponseClientRedirect(url)
                return redirect(url)
    context.update(
        {
            "portal": portal,
            "timezone_name": timezone_name,
            "columns": columns,
            "grid": [
                (
                    index,
                    [
                        (column, value, value.split(";"))
                        for column, value in zip(columns, row, strict=True)
                    ],
                )
                for index, row in enumerate(rows)
            ],
            "row_count": len(rows),
            "form_key": form_key,
            "max_rows": MAX_GRID_ROWS,
        }
    )
    return render(request, template, context)
