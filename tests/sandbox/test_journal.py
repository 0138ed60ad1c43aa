"""The sandbox's request journal: bodies kept by default, a summary mode for benchmarks."""

from __future__ import annotations

import json

import requests
from django.core.management import call_command

from sandbox.models import Switches
from tests.fixtures_sandbox import Sandbox

PATH = "/crm/objects/2026-03/0-421/batch/create"


def create(sandbox: Sandbox, name: str) -> requests.Response:
    body = {"inputs": [{"properties": {"hs_appointment_name": name}, "associations": []}]}
    return requests.post(
        sandbox.url(PATH),
        data=json.dumps(body, indent=1),
        headers={"Authorization": f"Bearer {sandbox.token}", "Content-Type": "application/json"},
        timeout=10,
    )


def test_it_keeps_both_bodies_as_sent_in_the_full_journal_by_default(sandbox: Sandbox) -> None:
    response = create(sandbox, "Visit 1")
    [entry] = sandbox.journal(PATH, method="POST")
    assert Switches.objects.get().journal_mode == "full"
    # The request body as it came over the wire (indented), not re-serialised.
    assert entry.request_body == response.request.body
    assert entry.response_body == response.text
    assert entry.request_bytes == len(response.request.body)
    assert entry.response_bytes == len(response.content)


def test_it_keeps_no_bodies_in_the_summary_journal(sandbox: Sandbox) -> None:
    sandbox.set_switches(journal_mode="summary")
    response = create(sandbox, "Visit 1")
    assert response.status_code == 201
    [entry] = sandbox.journal(PATH, method="POST")
    assert (entry.method, entry.status, entry.portal.hub_id) == ("POST", 201, sandbox.hub_id)
    assert (entry.request_body, entry.response_body) == ("", "")
    assert entry.request_bytes == len(response.request.body)
    assert entry.response_bytes == len(response.content)
    assert entry.duration_ms > 0
    page = requests.get(sandbox.url("/sandbox/journal/"), timeout=10).text
    assert f"{entry.request_bytes} bytes, not kept (summary journal)" in page


def test_it_switches_the_journal_mode_from_the_command_line(sandbox: Sandbox) -> None:
    call_command("sandbox_set", "--journal", "summary")
    create(sandbox, "Summary visit")
    call_command("sandbox_set", "--journal", "full")
    create(sandbox, "Full visit")
    first, second = sandbox.journal(PATH, method="POST")
    assert first.request_body == ""
    assert "Full visit" in second.request_body


def test_the_journal_page_hides_client_secrets_tokens_and_codes(sandbox: Sandbox) -> None:
    form = {
        "grant_type": "refresh_token",
        "client_id": sandbox.client_id,
        "client_secret": sandbox.client_secret,
        "refresh_token": "na1-refresh-value-0001",
    }
    requests.post(sandbox.url("/oauth/2026-03/token"), data=form, timeout=10)
    [entry] = sandbox.journal("/oauth/2026-03/token")
    assert sandbox.client_secret in entry.request_body  # kept for the tests' assertions
    page = requests.get(sandbox.url("/sandbox/journal/"), timeout=10).text
    assert sandbox.client_secret not in page
    assert "na1-refresh-value-0001" not in page
    assert "client_secret=[hidden]" in page and "refresh_token=[hidden]" in page
    assert f"client_id={sandbox.client_id}" in page
