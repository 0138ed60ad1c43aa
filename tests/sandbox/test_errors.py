"""Every sandbox answer outside its own pages is HubSpot's JSON error shape, never HTML."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from sandbox.models import JournalEntry
from tests.fixtures_sandbox import Sandbox


def assert_hubspot_error(response: requests.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["status"] == "error"
    assert body["message"] and body["category"]
    assert body["correlationId"] == response.headers["x-hubspot-correlation-id"]
    return body


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/"),
        ("GET", "/crm/v9/objects/0-421"),
        ("POST", "/crm/objects/2026-03/0-421/batch/create/"),
        ("DELETE", "/crm/objects/2026-03/0-421/batch/create/extra"),
        ("PUT", "/oauth/v1/nowhere"),
    ],
)
def test_it_answers_an_unknown_route_with_a_json_404(
    sandbox: Sandbox, method: str, path: str
) -> None:
    headers = {"Authorization": f"Bearer {sandbox.token}"}
    response = requests.request(method, sandbox.url(path), headers=headers, timeout=10)
    body = assert_hubspot_error(response, 404)
    assert body["category"] == "OBJECT_NOT_FOUND"
    [entry] = sandbox.journal(path)
    assert (entry.method, entry.status, entry.note) == (method, 404, "no such endpoint")


def test_it_answers_a_malformed_search_body_with_a_json_400(sandbox: Sandbox) -> None:
    response = requests.post(
        sandbox.url("/crm/objects/2026-03/0-421/search"),
        data=b'{"filterGroups": [',
        headers={"Authorization": f"Bearer {sandbox.token}", "Content-Type": "application/json"},
        timeout=10,
    )
    assert_hubspot_error(response, 400)


def test_it_answers_a_crash_outside_the_api_wrapper_with_a_json_500(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sandbox.views import pages

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(pages, "render", broken)
    response = requests.get(sandbox.url("/sandbox/journal/"), timeout=10)
    assert_hubspot_error(response, 500)
    assert JournalEntry.objects.filter(status=500).count() == 0
