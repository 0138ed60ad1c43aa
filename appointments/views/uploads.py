"""Upload views: send a file, then map its columns on the mapping screen until it is a batch."""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRedirect

from appointments.forms.uploads import (
    ENCODING_CHOICES,
    MappingForm,
    ReadingForm,
    UploadForm,
    posted_targets,
    proposal_text,
    reading_choices,
    shown_columns,
)
from appointments.hubspot.errors import HubSpotError
from appointments.intake.cells import column_letter
from appointments.intake.headers import Proposal
from appointments.intake.mapping import duplicate_headers
from appointments.models import Portal, Upload
from appointments.services import access
from appointments.services import uploads as upload_services
from appointments.services.access import Action, portals_for, uploads_for
from appointments.services.batches import BatchNotEditable, batch_default_timezone
from appointments.services.portals import PortalNeedsReconnect
from appointments.services.resolving import keys_problem
from appointments.views.base import AuthenticatedRequest

logger = logging.getLogger(__name__)

NEW_TEMPLATE = "appointments/uploads/new.html"
MAPPING_TEMPLATE = "appointments/uploads/mapping.html"
CONFIRMING_TEMPLATE = "appointments/uploads/confirming.html"
# After this long, the waiting page says the task worker may be stopped.
CONFIRM_SLOW_SECONDS = 120


@require_http_methods(["GET", "POST"])
@login_required
def upload_create(request: AuthenticatedRequest) -> HttpResponse:
    """Keep the uploaded file, then show its columns on the mapping screen."""
    access.require(request.user, Action.PORTAL_USE)
    portals = portals_for(request.user).filter(status=Portal.Status.ACTIVE)
    initial = {"timezone": batch_default_timezone(user=request.user)}
    if request.method != "POST":
        form = UploadForm(portals=portals, initial=initial)
        return render(request, NEW_TEMPLATE, {"form": form})
    if _too_large(request):
        # Refused before the body is read: a huge upload never reaches the disk.
        messages.error(
            request,
            _("This upload is %(size)s; the limit is %(limit)s. Split the file into smaller ones.")
            % {
                "size": filesizeformat(int(request.META["CONTENT_LENGTH"])),
                "limit": filesizeformat(settings.HUBPORTAL_MAX_UPLOAD_BYTES),
            },
        )
        return render(request, NEW_TEMPLATE, {"form": UploadForm(portals=portals, initial=initial)})
    form = UploadForm(
        request.POST,
        request.FILES,
        portals=portals,
        unusable=portals_for(request.user).filter(status=Portal.Status.NEEDS_RECONNECT),
    )
    if form.is_valid():
        file = form.cleaned_data["file"]
        data = file.read()
        sheet = form.cleaned_data["sheet"] or None
        upload, problem = upload_services.upload_create(
            user=request.user,
            portal=form.cleaned_data["portal"],
            data=data,
            filename=file.name,
            timezone_name=form.cleaned_data["timezone"],
            sheet=sheet,
        )
        if upload is not None:
            url = reverse("appointments:upload-mapping", args=[upload.pk])
            return redirect(url + ("?" + urlencode({"sheet": sheet}) if sheet else ""))
        # Refused here, with the form, rather than on a mapping screen for a bad file.
        form.add_error("file", problem)
    # 200 with the form and its errors: htmx swaps it, a plain POST shows it.
    return render(request, NEW_TEMPLATE, {"form": form})


def _too_large(request: AuthenticatedRequest) -> bool:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return False
    # The form fields and multipart framing add a little to the file itself.
    return length > settings.HUBPORTAL_MAX_UPLOAD_BYTES + 64 * 1024


@require_http_methods(["GET", "POST"])
@login_required
@vary_on_headers("HX-Request")
def upload_mapping(request: AuthenticatedRequest, upload_id: str) -> HttpResponse:
    """Show each column with samples and a target select; on POST store the validated rows.

    Above ``services.uploads.CONFIRM_INLINE_MAX_ROWS`` rows a task checks and stores them, and
    this page shows "Checking N rows…" (polling itself) until their batch exists.
    """
    upload = get_object_or_404(
        uploads_for(request.user).select_related("portal", "created_by", "batch"), pk=upload_id
    )
    access.require(request.user, Action.PORTAL_USE, upload.portal)
    confirming_key = f"confirming-{upload.pk}"
    params = request.POST if request.method == "POST" else request.GET
    remap = None
    if upload.batch is not None and params.get("change") == "1":
        # Back from the batch's preview: its rows are checked again with the new mapping.
        remap = upload.batch if upload_services.upload_can_remap(upload=upload) else None
        if remap is None:
            messages.info(
                request,
                _("This batch was sent, or is being checked: its columns cannot change now."),
            )
    if upload.batch is not None and remap is None:
        request.session.pop(confirming_key, None)
        # A confirm stopped midway (a killed process) is stored again in the background.
        upload_services.upload_resume(batch=upload.batch)
        url = reverse("appointments:batch-detail", args=[upload.batch_id])
        # The waiting page polls with htmx: it is sent on to the batch as a whole page.
        return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    if request.method == "GET" and confirming_key in request.session:
        return _confirming(request, upload, confirming_key)
    template = MAPPING_TEMPLATE + ("#mapping-screen" if request.htmx else "")
    posted = request.POST if request.method == "POST" else None
    screen = upload_services.upload_mapping_screen(
        upload=upload,
        choices=reading_choices((posted or request.GET).dict()),
        posted_targets=(lambda h, labels: posted_targets(posted, h, labels)) if posted else None,
        batch=remap,
    )
    if screen.problem:
        context = {"upload": upload, "problem": screen.problem}
        return render(request, template, {**context, "retry_url": screen.retry and request.path})
    assert screen.preview is not None and screen.schema is not None
    asked = (posted or request.GET).get("show", "")[:2000]
    shown = shown_columns(
        targets=screen.targets, limit=settings.HUBPORTAL_MAPPING_COLUMNS, asked=asked
    )
    form = MappingForm(
        posted,
        headers=screen.preview.headers,
        properties=screen.schema.properties,
        labels=screen.schema.labels,
        initial_targets=screen.targets,
        ambiguous=screen.ambiguous,
        distinct=screen.preview.distinct,
        shown=shown,
        key_properties=screen.schema.key_properties,
    )
    # "Update": show the choices the new targets need (times, values, a winner), confirm nothing.
    if posted is not None and form.is_valid() and "refresh" not in posted:
        try:
            done = upload_services.upload_confirm(
                upload=upload,
                user=request.user,
                screen=screen,
                mapping=form.targets(),
                date_orders=form.date_orders(),
                save_as=form.cleaned_data["save_as"],
                create_contacts=form.cleaned_data["create_contacts"],
            )
        except BatchNotEditable:
            messages.error(request, _("This batch was sent meanwhile: its columns did not change."))
            return redirect("appointments:batch-detail", batch_id=upload.batch_id)
        except (HubSpotError, PortalNeedsReconnect, TimeoutError) as exc:
            form.add_error(None, keys_problem(exc))
            return render(request, template, _screen_context(request, upload, screen, form, shown))
        if done.batch is not None:
            return redirect("appointments:batch-detail", batch_id=done.batch.pk)
        request.session[confirming_key] = {
            "rows": done.rows,
            "since": time.time(),
            "task": done.task_id,
        }
        return redirect("appointments:upload-mapping", upload_id=upload.pk)
    context = _screen_context(request, upload, screen, form, shown)
    return render(request, template, {**context, "asked": asked})


def _confirming(request: AuthenticatedRequest, upload: Upload, key: str) -> HttpResponse:
    """The page shown while a task checks and stores a large upload's rows: it polls itself
    (htmx) until the batch exists, or says the task failed and offers the mapping screen."""
    pending = request.session[key]
    context: dict[str, object] = {"upload": upload, "rows": pending["rows"]}
    stopped = upload_services.upload_confirm_problem(upload=upload)
    if stopped:
        del request.session[key]
        context["problem"] = stopped
    elif upload_services.upload_confirm_failed(task_id=pending.get("task")):
        del request.session[key]
        context["problem"] = _(
            "Checking the rows stopped on an unexpected error; nothing was stored. Confirm the "
            "columns again, and if it happens again, tell an administrator."
        )
    else:
        context["slow"] = time.time() - pending["since"] > CONFIRM_SLOW_SECONDS
    template = CONFIRMING_TEMPLATE + ("#confirming-status" if request.htmx else "")
    return render(request, template, context)


def _associations_kept_both(screen: upload_services.MappingScreen) -> list[str]:
    """Letters of the columns that feed the same association type, one string per type: an
    association holds several records, so every column's record IDs are kept."""
    columns: dict[tuple[str, int | None], list[str]] = {}
    for index, target in enumerate(screen.targets):
        if target is not None and target.kind == "association":
            key = (target.name, target.association_type_id)
            columns.setdefault(key, []).append(column_letter(index))
    return [", ".join(letters) for letters in columns.values() if len(letters) > 1]


def _screen_context(
    request: AuthenticatedRequest,
    upload: Upload,
    screen: upload_services.MappingScreen,
    form: MappingForm,
    shown: list[int],
) -> dict[str, object]:
    table = screen.preview
    assert table is not None
    sheets = [
        (name, _("%(sheet)s (hidden)") % {"sheet": name} if name in table.hidden_sheets else name)
        for name in table.sheet_names
    ]
    forced_header_row = screen.choices.header_row
    reading = ReadingForm(
        initial={
            "sheet": table.sheet or "",
            # Found again for another sheet unless the user chose it.
            "header_row": "" if forced_header_row is None else forced_header_row,
            "encoding": table.encoding or "",
            "mapping": screen.applied.pk if screen.applied else None,
        },
        sheets=sheets,
        header_rows=sorted({*table.header_candidates, table.header_row}),
        saved=upload.portal.saved_mappings.all(),
    )
    duplicates = duplicate_headers(table.headers)
    repeated = {letter for _header, letters in duplicates for letter in letters}
    # Column index -> letter of the date column whose time of day it gives.
    time_of = {
        target.time_column: column_letter(index)
        for index, target in enumerate(form.targets() if form.is_bound else screen.targets)
        if target is not None and target.time_column is not None
    }
    proposals: list[Proposal | None] = [*screen.proposals] or [None] * len(table.headers)
    columns = [
        {
            "letter": column_letter(index),
            "header": table.headers[index],
            "samples": table.samples[index],
            "field": form.column_field(index),
            "order_field": form.order_field(index),
            "how": form.how_fields(index),
            "values": form.value_fields(index),
            "values_marker": form.values_marker(index),
            "repeated": column_letter(index) in repeated,
            "time_of": time_of.get(index),
            # Only while the column still goes where it was proposed to.
            "proposal": proposal_text(proposals[index], screen.targets[index]),
        }
        for index in shown
    ]
    # A wide file's other columns, by letter and header only: a few bytes each on the page.
    visible = set(shown)
    listed = [
        f"{column_letter(index)} {header}".strip()
        for index, header in enumerate(table.headers)
        if index not in visible
    ]
    return {
        "upload": upload,
        "table": table,
        "form": form,
        "reading_form": reading,
        "columns": columns,
        "listed_columns": listed,
        "duplicates": duplicates,
        "row_count": table.row_count,
        "saved_mappings": screen.saved,
        "applied": screen.applied,
        "remap": screen.batch,
        "clash_fields": form.clash_fields(),
        "kept_both": _associations_kept_both(screen),
        "encoding_label": dict(ENCODING_CHOICES).get(table.encoding or "", table.encoding),
        # Saved mappings are shared by everyone on the portal: an admin's to set.
        "can_manage": access.can(request.user, Action.PORTAL_MANAGE, upload.portal),
    }
