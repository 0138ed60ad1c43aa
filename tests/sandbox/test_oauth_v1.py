"""The sandbox's OAuth v1 paths, which both official SDKs' OAuth helpers call (SANDBOX.md)."""

from __future__ import annotations

from typing import Any

import requests

from sandbox.seed import DEMO_USER_EMAIL
from tests.fixtures_sandbox import Sandbox
from tests.sandbox.test_oauth import CALLBACK, SCOPES, get_code


def token_v1(sandbox: Sandbox, **fields: str) -> requests.Response:
    data = {"client_id": sandbox.client_id, "client_secret": sandbox.client_secret, **fields}
    return requests.post(sandbox.url("/oauth/v1/token"), data=data, timeout=10)


def tokens(sandbox: Sandbox) -> dict[str, Any]:
    answer = token_v1(
        sandbox, grant_type="authorization_code", code=get_code(sandbox), redirect_uri=CALLBACK
    )
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_it_exchanges_a_code_and_refreshes_on_the_v1_token_path(sandbox: Sandbox) -> None:
    first = tokens(sandbox)
    assert first["token_type"] == "bearer"
    assert first["expires_in"] == 1800
    assert first["hub_id"] == sandbox.hub_id
    assert first["scopes"] == SCOPES.split()
    second = token_v1(sandbox, grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert second.status_code == 200
    assert second.json()["access_token"] != first["access_token"]
    assert second.json()["refresh_token"] == first["refresh_token"]
    assert sandbox.contract_violations() == []


def test_it_answers_v1_token_errors_as_2026_03_does(sandbox: Sandbox) -> None:
    code = get_code(sandbox)
    reused = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK}
    assert token_v1(sandbox, **reused).status_code == 200
    again = token_v1(sandbox, **reused)
    assert again.status_code == 400
    body = again.json()
    assert (body["status"], body["error"]) == ("BAD_AUTH_CODE", "invalid_grant")
    assert body["correlationId"] == again.headers["x-hubspot-correlation-id"]
    bad = token_v1(sandbox, grant_type="refresh_token", refresh_token="na1-nope").json()
    assert bad["status"] == "BAD_REFRESH_TOKEN"


def test_it_describes_an_access_token_in_v1_shape(sandbox: Sandbox) -> None:
    access = tokens(sandbox)["access_token"]
    answer = requests.get(sandbox.url(f"/oauth/v1/access-tokens/{access}"), timeout=10)
    assert answer.status_code == 200
    info = answer.json()
    assert info["token"] == access
    assert info["token_type"] == "access"
    assert info["hub_id"] == sandbox.hub_id
    assert info["user"] == DEMO_USER_EMAIL
    assert info["scopes"] == SCOPES.split()
    assert isinstance(info["app_id"], int) and isinstance(info["user_id"], int)
    assert 1790 <= info["expires_in"] <= 1800
    # v1 has neither the 2026-03 introspect's "active" nor its "token_use".
    assert "active" not in info and "token_use" not in info and "client_id" not in info
    assert sandbox.contract_violations() == []


def test_it_describes_a_refresh_token_in_v1_shape(sandbox: Sandbox) -> None:
    refresh = tokens(sandbox)["refresh_token"]
    answer = requests.get(sandbox.url(f"/oauth/v1/refresh-tokens/{refresh}"), timeout=10)
    assert answer.status_code == 200
    info = answer.json()
    assert info["token"] == refresh
    assert info["token_type"] == "refresh"
    assert info["client_id"] == sandbox.client_id
    assert info["hub_id"] == sandbox.hub_id
    assert info["user"] == DEMO_USER_EMAIL
    assert "app_id" not in info and "expires_in" not in info and "active" not in info


def test_it_answers_404_for_an_unknown_expired_or_wrong_kind_of_token(sandbox: Sandbox) -> None:
    pair = tokens(sandbox)
    for path in (
        "/oauth/v1/access-tokens/CNnothing",
        "/oauth/v1/refresh-tokens/na1-nothing",
        f"/oauth/v1/access-tokens/{pair['refresh_token']}",
        f"/oauth/v1/refresh-tokens/{pair['access_token']}",
    ):
        answer = requests.get(sandbox.url(path), timeout=10)
        assert answer.status_code == 404, path
        body = answer.json()
        assert body["status"] == "error"
        assert body["correlationId"] == answer.headers["x-hubspot-correlation-id"]
    sandbox.advance_clock(1801)
    expired = requests.get(
        sandbox.url(f"/oauth/v1/access-tokens/{pair['access_token']}"), timeout=10
    )
    assert expired.status_code == 404
    assert sandbox.contract_violations() == []


def test_it_deletes_a_refresh_token_and_keeps_its_access_tokens(sandbox: Sandbox) -> None:
    pair = tokens(sandbox)
    url = sandbox.url(f"/oauth/v1/refresh-tokens/{pair['refresh_token']}")
    deleted = requests.delete(url, timeout=10)
    assert (deleted.status_code, deleted.content) == (204, b"")
    assert requests.get(url, timeout=10).status_code == 404
    assert requests.delete(url, timeout=10).status_code == 404
    refused = token_v1(sandbox, grant_type="refresh_token", refresh_token=pair["refresh_token"])
    assert refused.json()["status"] == "BAD_REFRESH_TOKEN"
    # "Access tokens generated with the refresh token will not be affected" (v1 guide).
    still = requests.get(
        sandbox.url("/crm/properties/2026-03/0-421"),
        headers={"Authorization": f"Bearer {pair['access_token']}"},
        timeout=10,
    )
    assert still.status_code == 200
