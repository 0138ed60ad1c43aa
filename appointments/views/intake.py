"""Intake views: the mapping screen between an upload and its batch, the XLSX template."""

from __future__ import annotations

import logging
import time

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRedirect

from appointments.forms_intake import (
    ENCODING_CHOICES,
    MappingForm,
    ReadingForm,
    posted_targets,
)
from appointments.hubspot.errors import HubSpotError
from appointments.intake.cells import column_letter
from appointments.intake.errors import IntakeError
from appointments.intake.mapping import duplicate_headers
from appointments.intake.readers import Table
from appointments.models import Portal, SavedMapping, Upload, portals_for, uploads_for
from appointments.services import confirm as confirm_services
from appointments.services import intake as intake_services
from appointments.services.intake_template import template_workbook
from appointments.services.portals import PortalNeedsReconnect
from appointments.views.base import AuthenticatedRequest

logger = logging.getLogger(__name__)

MAPPING_TEMPLATE = "appointments/intake/mapping.html"
CONFIRMING_TEMPLATE = "appointments/intake/confirming.html"
# After this long, the waiting page says the task worker may be stopped.
CONFIRM_SLOW_SECONDS = 120
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def schema_problem(exc: Exception) -> str:
    """The sentence shown when the portal's properties cannot be read from HubSpot."""
    return _(
        "Could not read the portal's appointment properties from HubSpot: %(message)s "
        "Try again in a minute, or reconnect the portal from the dashboard."
    ) % {"message": exc}


def _reading_choices(
    params: dict[str, str], saved: list[SavedMapping]
) -> tuple[str | None, str | None, int | None, SavedMapping | None]:
    """Sheet, encoding, header row and saved mapping asked for in ``params``; unknown or
    malformed values are ignored (the file is then read with what it detects)."""
    sheet = params.get("sheet", "").strip()[:100] or None
    encoding = params.get("encoding", "")
    header = params.get("header_row", "")
    # 0 means "the file has no header row".
    header_row = int(header) if header.isdigit() and 0 <= int(header) <= 10_000 else None
    chosen = params.get("mapping", "")
    applied = next((m for m in saved if str(m.pk) == chosen), None)
    return (
        sheet,
        encoding if encoding in dict(ENCODING_CHOICES) else None,
        header_row,
        applied,
    )


@require_http_methods(["GET", "POST"])
@login_required
@vary_on_headers("HX-Request")
def upload_mapping(request: AuthenticatedRequest, upload_id: str) -> HttpResponse:
    """Show each column with samples and a target select; on POST store the validated rows.

    Above ``services.confirm.CONFIRM_INLINE_MAX_ROWS`` rows a task checks and stores them, and
    this page shows "Checking N rows…" (polling itself) until their batch exists.
    """
    upload = get_object_or_404(
        uploads_for(request.user).select_related("portal", "created_by"), pk=upload_id
    )
    confirming_key = f"confirming-{upload.pk}"
    if upload.batch_id:
        request.session.pop(confirming_key, None)
        url = reverse("appointments:batch-detail", args=[upload.batch_id])
        # The waiting page polls with htmx: it is sent on to the batch as a whole page.
        return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    if request.method == "GET" and confirming_key in request.session:
        return _confirming(request, upload, confirming_key)
    template = MAPPING_TEMPLATE + ("#mapping-screen" if request.htmx else "")
    params = (request.POST if request.method == "POST" else request.GET).dict()
    saved = list(upload.portal.saved_mappings.all())
    sheet, encoding, header_row, applied = _reading_choices(params, saved)
    if applied is None and "mapping" not in params:
        applied = intake_services.mapping_last_used(portal=upload.portal)
    context: dict[str, object] = {"upload": upload}
    try:
        schema = intake_services.upload_schema(upload=upload)
    except (HubSpotError, PortalNeedsReconnect) as exc:
        context["problem"] = schema_problem(exc)
        return render(request, template, context)
    try:
        table = intake_services.upload_read(
            upload=upload, sheet=sheet, encoding=encoding, header_row=header_row
        )
    except IntakeError as exc:
        context["problem"] = exc.message
        context["retry_url"] = request.path
        return render(request, template, context)
    if request.method == "POST":
        targets = posted_targets(request.POST, table.headers, schema.labels)
    else:
        targets = intake_services.mapping_propose(
            headers=table.headers, schema=schema, saved=applied
        )
    ambiguous = intake_services.ambiguous_date_columns(table, targets, schema.properties)
    form = MappingForm(
        request.POST if request.method == "POST" else None,
        headers=table.headers,
        properties=schema.properties,
        labels=schema.labels,
        initial_targets=targets,
        ambiguous=ambiguous,
    )
    if request.method == "POST" and form.is_valid():
        mapping = form.targets()
        name = form.cleaned_data["save_as"].strip()
        if name:
            intake_services.mapping_save(
                portal=upload.portal,
                user=request.user,
                name=name,
                headers=table.headers,
                mapping=mapping,
            )
        elif applied is not None:
            intake_services.mapping_mark_used(saved=applied)
        if confirm_services.upload_confirm_in_background(rows=len(table.rows)):
            task_id = confirm_services.upload_confirm_later(
                upload=upload,
                sheet=sheet,
                encoding=encoding,
                header_row=header_row,
                mapping=mapping,
                date_orders=form.date_orders(),
            )
            request.session[confirming_key] = {
                "rows": len(table.rows),
                "since": time.time(),
                "task": task_id,
            }
            return redirect("appointments:upload-mapping", upload_id=upload.pk)
        batch = intake_services.upload_confirm(
            upload=upload,
            table=table,
            mapping=mapping,
            properties=schema.properties,
            date_orders=form.date_orders(),
        )
        return redirect("appointments:batch-detail", batch_id=batch.pk)
    context.update(_screen_context(upload, table, form, saved, applied, header_row))
    return render(request, template, context)


def _confirming(request: AuthenticatedRequest, upload: Upload, key: str) -> HttpResponse:
    """The page shown while a task checks and stores a large upload's rows: it polls itself
    (htmx) until the batch exists, or says the task failed and offers the mapping screen."""
    pending = request.session[key]
    context: dict[str, object] = {"upload": upload, "rows": pending["rows"]}
    if confirm_services.upload_confirm_failed(task_id=pending.get("task")):
        del request.session[key]
        context["problem"] = _(
            "Checking the rows stopped on an unexpected error; nothing was stored. Confirm the "
            "columns again, and if it happens again, tell an administrator."
        )
    else:
        context["slow"] = time.time() - pending["since"] > CONFIRM_SLOW_SECONDS
    template = CONFIRMING_TEMPLATE + ("#confirming-status" if request.htmx else "")
    return render(request, template, context)


def _screen_context(
    upload: Upload,
    table: Table,
    form: MappingForm,
    saved: list[SavedMapping],
    applied: SavedMapping | None,
    forced_header_row: int | None,
) -> dict[str, object]:
    hidden = intake_services.upload_hidden_sheets(upload=upload, table=table)
    sheets = [
        (name, _("%(sheet)s (hidden)") % {"sheet": name} if name in hidden else name)
        for name in table.sheet_names
    ]
    reading = ReadingForm(
        initial={
            "sheet": table.sheet or "",
            # Found again for another sheet unless the user chose it.
            "header_row": "" if forced_header_row is None else forced_header_row,
            "encoding": table.encoding or "",
            "mapping": applied.pk if applied else None,
        },
        sheets=sheets,
        header_rows=sorted({*table.header_candidates, table.header_row}),
        saved=upload.portal.saved_mappings.all(),
    )
    samples = intake_services.column_samples(table)
    duplicates = duplicate_headers(table.headers)
    repeated = {letter for _header, letters in duplicates for letter in letters}
    columns = [
        {
            "letter": column_letter(index),
            "header": header,
            "samples": samples[index],
            "field": form.column_field(index),
            "order_field": form.order_field(index),
            "repeated": column_letter(index) in repeated,
        }
        for index, header in enumerate(table.headers)
    ]
    return {
        "table": table,
        "form": form,
        "reading_form": reading,
        "columns": columns,
        "duplicates": duplicates,
        "row_count": len(table.rows),
        "saved_mappings": saved,
        "applied": applied,
        "encoding_label": dict(ENCODING_CHOICES).get(table.encoding or "", table.encoding),
    }


@require_GET
@login_required
def portal_template(request: AuthenticatedRequest, hub_id: int) -> HttpResponse:
    """An XLSX whose headers are the portal's writable properties, with drop-downs."""
    portal = get_object_or_404(
        portals_for(request.user).filter(status=Portal.Status.ACTIVE), hub_id=hub_id
    )
    try:
        schema = intake_services.schema_read(portal=portal)
    except (HubSpotError, PortalNeedsReconnect) as exc:
        return render(request, MAPPING_TEMPLATE, {"problem": schema_problem(exc)})
    response = HttpResponse(template_workbook(schema=schema), content_type=XLSX_TYPE)
    response["Content-Disposition"] = f'attachment; filename="appointments-{hub_id}.xlsx"'
    return response
