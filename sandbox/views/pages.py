"""The sandbox's own HTML pages: settings (limits, faults, clock), the journal, record pages."""

from __future__ import annotations

from django import forms
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.views.decorators.csrf import csrf_exempt

from sandbox import clock, masking
from sandbox.csp import sandbox_page
from sandbox.csrf import sandbox_csrf_protect
from sandbox.models import CrmRecord, JournalEntry, Portal, Switches
from sandbox.seed import seed_demo


class PortalForm(forms.ModelForm):
    """A portal's limits and fault switches."""

    class Meta:
        model = Portal
        fields = [
            "appointments_enabled",
            "rate_limit_per_10s",
            "daily_limit",
            "search_per_second",
            "latency_ms",
            "fault",
            "fault_remaining",
            "fault_path_contains",
            "hang_seconds",
        ]


class SwitchesForm(forms.ModelForm):
    """Sandbox-wide switches."""

    class Meta:
        model = Switches
        fields = [
            "clock_offset_seconds",
            "token_lifetime_seconds",
            "auth_code_lifetime_seconds",
            "echo_trace_id_on_success",
            "rotate_refresh_tokens",
            "contract_checking",
            "journal_mode",
            "search_lag_seconds",
            "search_in_lowercase",
        ]


@csrf_exempt
@sandbox_csrf_protect
@sandbox_page
def settings_page(request: HttpRequest) -> HttpResponse:
    """``/sandbox/``: switch each portal's limits and faults, and the sandbox-wide switches."""
    seed_demo()
    portals = list(Portal.objects.order_by("hub_id"))
    row = clock.switches()
    if request.method == "POST":
        target = request.POST.get("form", "")
        if target == "switches":
            form: forms.ModelForm = SwitchesForm(request.POST, instance=row)
        else:
            portal = next((p for p in portals if str(p.hub_id) == target), None)
            if portal is None:
                return HttpResponse("Unknown portal.", status=400)
            form = PortalForm(request.POST, instance=portal, prefix=target)
        if form.is_valid():
            form.save()
            return HttpResponseRedirect(request.path)
        return HttpResponse(f"Invalid settings: {form.errors.as_text()}", status=400)
    context = {
        "portal_forms": [(p, PortalForm(instance=p, prefix=str(p.hub_id))) for p in portals],
        "switches_form": SwitchesForm(instance=row),
        "now": clock.iso(clock.now_dt(row)),
    }
    return render(request, "sandbox/settings.html", context)


@sandbox_page
def journal_page(request: HttpRequest) -> HttpResponse:
    """``/sandbox/journal/``: the last 200 calls the sandbox received, newest first, with OAuth
    secrets masked (``sandbox.masking``)."""
    entries = list(JournalEntry.objects.select_related("portal").order_by("-id")[:200])
    # Shown masked: the page has no login, and a secret on it would be a working credential.
    for entry in entries:
        entry.path = masking.mask_path(entry.path)
        entry.query = masking.mask_query(entry.query)
        entry.request_body = masking.mask_body(entry.request_body)
    return render(request, "sandbox/journal.html", {"entries": entries})


@sandbox_page
def record_page(
    request: HttpRequest, hub_id: int, object_type: str, record_id: str
) -> HttpResponse:
    """``/contacts/<hub_id>/record/<objectType>/<id>``: where HubSpot's app shows a record.

    A plain page with the record's properties and associations, so the app's "open in
    HubSpot" links lead somewhere in the demo; 404 for an unknown record.
    """
    record = get_object_or_404(
        CrmRecord.objects.select_related("portal"),
        portal__hub_id=hub_id,
        object_type=object_type,
        record_id=record_id,
    )
    return render(request, "sandbox/record.html", {"record": record})
