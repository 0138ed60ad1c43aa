"""The sandbox's rate limits and faults on demand, over HTTP (SANDBOX.md, Rate limits, Faults)."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from sandbox.models import JournalEntry, RateCall
from tests.fixtures_sandbox import Sandbox

CREATE = "/crm/objects/2026-03/0-421/batch/create"
PROPERTIES = "/crm/properties/2026-03/0-421"
SEARCH = "/crm/objects/2026-03/0-421/search"


def headers(sandbox: Sandbox) -> dict[str, str]:
    return {"Authorization": f"Bearer {sandbox.token}"}


def create(sandbox: Sandbox, name: str = "Visit", timeout: float = 10) -> requests.Response:
    body = {"inputs": [{"properties": {"hs_appointment_name": name}, "associations": []}]}
    return requests.post(sandbox.url(CREATE), json=body, headers=headers(sandbox), timeout=timeout)


def properties(sandbox: Sandbox) -> requests.Response:
    return requests.get(sandbox.url(PROPERTIES), headers=headers(sandbox), timeout=10)


def search(sandbox: Sandbox) -> requests.Response:
    body: dict[str, Any] = {
        "filterGroups": [],
        "properties": [],
        "sorts": [],
        "limit": 10,
        "after": "0",
    }
    return requests.post(sandbox.url(SEARCH), json=body, headers=headers(sandbox), timeout=10)


def test_it_limits_calls_in_a_rolling_ten_second_window(sandbox: Sandbox) -> None:
    sandbox.set_limits(per_10s=3)
    remaining = []
    for _ in range(3):
        response = properties(sandbox)
        assert response.status_code == 200
        assert response.headers["X-HubSpot-RateLimit-Max"] == "3"
        assert response.headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "10000"
        remaining.append(response.headers["X-HubSpot-RateLimit-Remaining"])
    assert remaining == ["2", "1", "0"]
    limited = properties(sandbox)
    assert limited.status_code == 429
    body = limited.json()
    assert body["status"] == "error"
    assert body["policyName"] == "TEN_SECONDLY_ROLLING"
    assert body["message"] == "You have reached your ten_secondly_rolling limit."
    assert body["correlationId"] == limited.headers["x-hubspot-correlation-id"]
    assert limited.headers["X-HubSpot-RateLimit-Remaining"] == "0"
    sandbox.advance_clock(10.5)
    assert properties(sandbox).status_code == 200


def test_it_has_the_default_limit_of_110(sandbox: Sandbox) -> None:
    assert properties(sandbox).headers["X-HubSpot-RateLimit-Max"] == "110"


def test_it_enforces_a_daily_limit(sandbox: Sandbox) -> None:
    sandbox.set_limits(daily=2)
    assert properties(sandbox).status_code == 200
    assert properties(sandbox).status_code == 200
    limited = properties(sandbox)
    assert limited.status_code == 429
    assert limited.json()["policyName"] == "DAILY"


def test_it_counts_no_refused_call_for_the_day(sandbox: Sandbox) -> None:
    sandbox.set_limits(per_10s=1, daily=2)
    assert properties(sandbox).status_code == 200
    assert properties(sandbox).json()["policyName"] == "TEN_SECONDLY_ROLLING"
    sandbox.advance_clock(10.5)
    assert properties(sandbox).status_code == 200
    sandbox.advance_clock(10.5)
    assert properties(sandbox).json()["policyName"] == "DAILY"


def test_it_deletes_the_calls_that_left_the_window(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sandbox import ratelimit

    monkeypatch.setattr(ratelimit, "PRUNE_EVERY", 1)
    sandbox.set_limits(per_10s=2)
    assert [properties(sandbox).status_code for _ in range(3)] == [200, 200, 429]
    assert RateCall.objects.count() == 2
    sandbox.advance_clock(10.5)
    assert properties(sandbox).headers["X-HubSpot-RateLimit-Remaining"] == "1"
    assert RateCall.objects.count() == 1


def test_it_limits_search_per_second_apart_from_the_ten_second_window(sandbox: Sandbox) -> None:
    sandbox.set_limits(per_10s=1, search_per_second=2)
    assert properties(sandbox).status_code == 200
    first, second, third = search(sandbox), search(sandbox), search(sandbox)
    assert (first.status_code, second.status_code) == (200, 200)
    assert "X-HubSpot-RateLimit-Max" not in first.headers
    assert third.status_code == 429
    assert third.json()["policyName"] == "SECONDLY"
    assert third.json()["message"] == "You have reached your secondly limit."
    sandbox.advance_clock(1.1)
    assert search(sandbox).status_code == 200


@pytest.mark.parametrize("status", ["423", "502", "503", "504"])
def test_it_answers_a_switched_on_error_status_then_recovers(sandbox: Sandbox, status: str) -> None:
    sandbox.set_fault(status, times=1)
    failed = create(sandbox)
    assert failed.status_code == int(status)
    assert failed.json()["status"] == "error"
    assert failed.json()["correlationId"] == failed.headers["x-hubspot-correlation-id"]
    assert sandbox.appointments() == []
    assert create(sandbox).status_code == 201


def test_it_applies_a_fault_only_to_matching_paths(sandbox: Sandbox) -> None:
    sandbox.set_fault("503", path_contains="/batch/create")
    assert properties(sandbox).status_code == 200
    assert create(sandbox).status_code == 503
    sandbox.set_fault("")
    assert create(sandbox).status_code == 201


def test_it_adds_latency(sandbox: Sandbox) -> None:
    sandbox.set_latency(300)
    started = time.monotonic()
    assert properties(sandbox).status_code == 200
    assert time.monotonic() - started >= 0.3


def test_it_drops_the_connection_before_the_response(sandbox: Sandbox) -> None:
    sandbox.set_fault("drop", times=1)
    with pytest.raises(requests.ConnectionError):
        create(sandbox)
    assert sandbox.appointments() == []
    assert sandbox.journal(CREATE)[0].note == "fault: connection dropped before the response"


def test_it_creates_records_but_never_answers_on_the_lost_response_fault(
    sandbox: Sandbox,
) -> None:
    sandbox.set_fault("create_timeout", times=1, hang_seconds=2)
    with pytest.raises(requests.Timeout):
        create(sandbox, name="Lost answer", timeout=0.5)
    [record] = sandbox.appointments()
    assert record.properties["hs_appointment_name"] == "Lost answer"
    assert sandbox.journal(CREATE)[0].status == 201


def test_it_answers_405_for_a_wrong_method(sandbox: Sandbox) -> None:
    response = requests.get(sandbox.url(CREATE), headers=headers(sandbox), timeout=10)
    assert response.status_code == 405
    assert response.json()["category"] == "METHOD_NOT_ALLOWED"


def test_it_answers_its_own_errors_in_hubspot_shape_and_journals_them(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sandbox import search as search_module

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(search_module, "run_search", broken)
    response = search(sandbox)
    assert response.status_code == 500
    assert response.json()["category"] == "INTERNAL_ERROR"
    [entry] = sandbox.sandbox_errors()
    assert entry.note == "exception: RuntimeError: boom"
    # This test caused the error on purpose: keep the fixture from failing it.
    JournalEntry.objects.update(note="")


def test_it_gives_oauth_apps_no_daily_limit(sandbox: Sandbox) -> None:
    from tests.sandbox.test_oauth import exchange, get_code

    access = exchange(sandbox, code=get_code(sandbox)).json()["access_token"]
    sandbox.set_limits(daily=1)
    oauth = {"Authorization": f"Bearer {access}"}
    answers = [
        requests.get(sandbox.url(PROPERTIES), headers=oauth, timeout=10).status_code
        for _ in range(3)
    ]
    assert answers == [200, 200, 200]
    assert properties(sandbox).status_code == 200
    assert properties(sandbox).json()["policyName"] == "DAILY"
