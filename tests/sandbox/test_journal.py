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


def test_the_journal_page_masks_the_client_secret_codes_and_tokens(sandbox: Sandbox) -> None:
    secret_form = {
        "grant_type": "authorization_code",
        "client_id": sandbox.client_id,
        "client_secret": sandbox.client_secret,
        "code": "code-4f1d2a",
        "code_verifier": "verifier-" + "v" * 40,
        "redirect_uri": "http://127.0.0.1:8000/hubspot/oauth/callback",
    }
    requests.post(sandbox.url("/oauth/v1/token"), data=secret_form, timeout=10)
    requests.post(
        sandbox.url("/oauth/2026-03/token"),
        data={**secret_form, "grant_type": "refresh_token", "refresh_token": "refresh-9a8b"},
        timeout=10,
    )
    requests.get(sandbox.url(f"/oauth/v1/access-tokens/{sandbox.token}"), timeout=10)
    requests.delete(sandbox.url("/oauth/v1/refresh-tokens/refresh-9a8b"), timeout=10)

    page = requests.get(sandbox.url("/sandbox/journal/"), timeout=10).text

    for secret in (sandbox.client_secret, "code-4f1d2a", "v" * 40, "refresh-9a8b", sandbox.token):
        assert secret not in page
    assert "client_secret=********" in page and "/oauth/v1/access-tokens/********" in page
    assert f"client_id={sandbox.client_id}" in page  # what is not a secret stays readable
    # The journal itself keeps what went over the wire, for the tests that read it.
    assert sandbox.journal("/oauth/v1/token")[0].request_body.count(sandbox.client_secret) == 1
