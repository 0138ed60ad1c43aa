"""The sandbox's account information endpoint, GET /account-info/v3/details, over HTTP."""

from __future__ import annotations

import requests

from tests.fixtures_sandbox import Sandbox
from tests.sandbox.test_oauth import exchange, get_code

PATH = "/account-info/v3/details"
EXPECTED_SETTINGS = {
    "accountType": "STANDARD",
    "timeZone": "Europe/Paris",
    "companyCurrency": "EUR",
    "additionalCurrencies": [],
    "utcOffset": "+01:00",
    "utcOffsetMilliseconds": 3600000,
    "uiDomain": "app.hubspot.com",
    "dataHostingLocation": "eu1",
}


def details(sandbox: Sandbox, token: str) -> requests.Response:
    return requests.get(sandbox.url(PATH), headers={"Authorization": f"Bearer {token}"}, timeout=10)


def test_it_describes_the_account_of_the_static_token(sandbox: Sandbox) -> None:
    response = details(sandbox, sandbox.token)

    assert response.status_code == 200
    assert response.json() == {"portalId": sandbox.hub_id, **EXPECTED_SETTINGS}
    assert response.headers["x-hubspot-correlation-id"]
    assert response.headers["X-HubSpot-RateLimit-Max"] == "110"
    (entry,) = sandbox.journal(PATH)
    assert (entry.method, entry.status, entry.note) == ("GET", 200, "")


def test_it_describes_the_account_of_an_oauth_access_token(sandbox: Sandbox) -> None:
    tokens = exchange(sandbox, code=get_code(sandbox)).json()

    response = details(sandbox, tokens["access_token"])

    assert response.status_code == 200
    assert response.json()["portalId"] == sandbox.hub_id


def test_it_refuses_an_unknown_token(sandbox: Sandbox) -> None:
    response = details(sandbox, "CNnot-a-token")

    assert response.status_code == 401
    body = response.json()
    assert body["status"] == "error"
    assert body["category"] == "INVALID_AUTHENTICATION"
    assert body["correlationId"] == response.headers["x-hubspot-correlation-id"]
    assert requests.get(sandbox.url(PATH), timeout=10).status_code == 401


def test_it_refuses_an_expired_token(sandbox: Sandbox) -> None:
    tokens = exchange(sandbox, code=get_code(sandbox)).json()
    sandbox.advance_clock(1805)

    response = details(sandbox, tokens["access_token"])

    assert response.status_code == 401
    assert response.json()["category"] == "EXPIRED_AUTHENTICATION"


def test_it_applies_faults_and_rate_limits(sandbox: Sandbox) -> None:
    sandbox.set_fault("503", times=1, path_contains="/account-info/")
    assert details(sandbox, sandbox.token).status_code == 503
    assert details(sandbox, sandbox.token).status_code == 200

    sandbox.set_limits(per_10s=2)
    limited = details(sandbox, sandbox.token)

    assert limited.status_code == 429
    assert limited.json()["policyName"] == "TEN_SECONDLY_ROLLING"


def test_it_allows_only_get(sandbox: Sandbox) -> None:
    response = requests.post(
        sandbox.url(PATH), headers={"Authorization": f"Bearer {sandbox.token}"}, timeout=10
    )
    assert response.status_code == 405
