"""The sandbox's own HTML pages: settings (limits, faults, clock), the journal, record pages."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django import forms
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.views.decorators.csrf import csrf_exempt

from sandbox import clock
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


# Credentials a call may carry in a form body, a JSON body or a query string. The page has no
# sign-in, so it shows them as [hidden]; the journal rows keep them for the tests' assertions.
_SECRET = re.compile(
    r"""(?P<key>\b(?:client_secret|refresh_token|access_token|code_verifier|code|hapikey)\b"""
    r"""(?:=|"\s*:\s*"))(?P<value>[^&"\s]+)"""
)


def hide_secrets(text: str) -> str:
    """``text`` with the value of every credential field replaced by ``[hidden]``."""
    return _SECRET.sub(r"\g<key>[hidden]", text)


@dataclass(frozen=True)
class JournalLine:
    """One journal row as the page shows it: credentials hidden."""

    entry: JournalEntry
    query: str
    request_body: str


@sandbox_page
def journal_page(request: HttpRequest) -> HttpResponse:
    """``/sandbox/journal/``: the last 200 calls the sandbox received, newest first, with every
    client secret, token and authorization code hidden."""
    entries = JournalEntry.objects.select_related("portal").order_by("-id")[:200]
    lines = [
        JournalLine(entry, hide_secrets(entry.query), hide_secrets(entry.request_body))
        for entry in entries
    ]
    return render(request, "sandbox/journal.html", {"lines": lines})


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
