"""The sandbox's OAuth 2.0: consent page, token grants, introspect, revoke, bearer auth."""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import requests

from tests.fixtures_sandbox import Sandbox

CALLBACK = "http://127.0.0.1:8000/hubspot/oauth/callback"
SCOPES = "oauth crm.objects.appointments.read crm.objects.appointments.write"


def authorize_url(sandbox: Sandbox, **extra: str) -> str:
    params = {
        "client_id": sandbox.client_id,
        "redirect_uri": CALLBACK,
        "scope": SCOPES,
        "state": "st-123",
        **extra,
    }
    return sandbox.url("/oauth/authorize?" + urlencode(params))


def consent(url: str, *, decision: str, hub_id: int) -> requests.Response:
    browser = requests.Session()
    page = browser.get(url, timeout=10)
    assert page.status_code == 200, page.text
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
    fields.update({"decision": decision, "hub_id": str(hub_id)})
    return browser.post(url.split("?")[0], data=fields, allow_redirects=False, timeout=10)


def get_code(sandbox: Sandbox, **extra: str) -> str:
    answer = consent(authorize_url(sandbox, **extra), decision="approve", hub_id=sandbox.hub_id)
    assert answer.status_code == 302
    return parse_qs(urlsplit(answer.headers["Location"]).query)["code"][0]


def exchange(
    sandbox: Sandbox, path: str = "/oauth/2026-03/token", **fields: str
) -> requests.Response:
    data = {
        "grant_type": "authorization_code",
        "client_id": sandbox.client_id,
        "client_secret": sandbox.client_secret,
        "redirect_uri": CALLBACK,
        **fields,
    }
    return requests.post(sandbox.url(path), data=data, timeout=10)


def test_it_redirects_back_with_code_and_state_on_approval(sandbox: Sandbox) -> None:
    answer = consent(authorize_url(sandbox), decision="approve", hub_id=sandbox.hub_id)
    assert answer.status_code == 302
    location = answer.headers["Location"]
    assert location.startswith(CALLBACK + "?")
    query = parse_qs(urlsplit(location).query)
    assert query["state"] == ["st-123"]
    assert len(query["code"][0]) >= 20


def test_it_redirects_with_access_denied_on_deny(sandbox: Sandbox) -> None:
    answer = consent(authorize_url(sandbox), decision="deny", hub_id=sandbox.hub_id)
    query = parse_qs(urlsplit(answer.headers["Location"]).query)
    assert query["error"] == ["access_denied"]
    assert query["state"] == ["st-123"]
    assert query["error_description"][0]
    assert "code" not in query


def test_it_shows_an_error_page_and_does_not_redirect_for_an_unregistered_redirect_uri(
    sandbox: Sandbox,
) -> None:
    url = authorize_url(sandbox, redirect_uri="http://127.0.0.1:9999/elsewhere")
    page = requests.get(url, allow_redirects=False, timeout=10)
    assert page.status_code == 400
    assert "doesn&#x27;t match the app&#x27;s registered redirect URL" in page.text
    assert "Location" not in page.headers


def test_it_shows_an_error_page_for_an_unknown_client_id(sandbox: Sandbox) -> None:
    page = requests.get(authorize_url(sandbox, client_id="nope"), timeout=10)
    assert page.status_code == 400
    assert "not registered" in page.text


def test_it_accepts_a_registered_extra_redirect_uri(sandbox: Sandbox) -> None:
    sandbox.register_redirect_uri("http://127.0.0.1:54321/cb")
    answer = consent(
        authorize_url(sandbox, redirect_uri="http://127.0.0.1:54321/cb"),
        decision="approve",
        hub_id=sandbox.hub_id,
    )
    assert answer.headers["Location"].startswith("http://127.0.0.1:54321/cb?code=")


def test_it_refuses_a_consent_post_without_csrf_token(sandbox: Sandbox) -> None:
    answer = requests.post(
        sandbox.url("/oauth/authorize"),
        data={"client_id": sandbox.client_id, "redirect_uri": CALLBACK, "decision": "approve"},
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 403


def test_it_uses_its_own_csrf_cookie_name(sandbox: Sandbox) -> None:
    page = requests.get(authorize_url(sandbox), timeout=10)
    assert "hubsandbox_csrftoken" in page.cookies
    assert "csrftoken" not in page.cookies


def test_it_exchanges_a_code_for_tokens(sandbox: Sandbox) -> None:
    response = exchange(sandbox, code=get_code(sandbox))
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["token_use"] == "access_token"
    assert body["expires_in"] == 1800
    assert body["hub_id"] == sandbox.hub_id
    assert isinstance(body["user_id"], int)
    assert body["scopes"] == SCOPES.split()
    assert body["access_token"] and body["refresh_token"]
    assert response.headers["x-hubspot-correlation-id"]


def test_it_refuses_a_code_used_twice(sandbox: Sandbox) -> None:
    code = get_code(sandbox)
    assert exchange(sandbox, code=code).status_code == 200
    again = exchange(sandbox, code=code)
    assert again.status_code == 400
    body = again.json()
    assert body["status"] == "BAD_AUTH_CODE"
    assert body["error"] == "invalid_grant"
    assert body["error_description"]
    assert body["correlationId"] == again.headers["x-hubspot-correlation-id"]


def test_it_refuses_an_expired_code(sandbox: Sandbox) -> None:
    code = get_code(sandbox)
    sandbox.advance_clock(601)
    response = exchange(sandbox, code=code)
    assert response.status_code == 400
    assert response.json()["status"] == "EXPIRED_AUTH_CODE"


def test_it_refuses_a_redirect_uri_that_differs_from_the_authorization(sandbox: Sandbox) -> None:
    sandbox.register_redirect_uri("http://localhost:8000/other")
    response = exchange(sandbox, code=get_code(sandbox), redirect_uri="http://localhost:8000/other")
    assert response.status_code == 400
    assert response.json()["status"] == "BAD_REDIRECT_URI"


def test_it_refuses_bad_client_credentials(sandbox: Sandbox) -> None:
    code = get_code(sandbox)
    assert exchange(sandbox, code=code, client_id="who").json()["status"] == "BAD_CLIENT_ID"
    wrong = exchange(sandbox, code=code, client_secret="wrong").json()
    assert wrong["status"] == "BAD_CLIENT_SECRET"
    assert wrong["error"] == "invalid_client"


def test_it_checks_the_pkce_verifier(sandbox: Sandbox) -> None:
    verifier = "v" * 50
    digest = hashlib.sha256(verifier.encode()).digest()
    challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    extra = {"code_challenge": challenge, "code_challenge_method": "S256"}
    bad = exchange(sandbox, code=get_code(sandbox, **extra), code_verifier="w" * 50)
    assert bad.json()["status"] == "BAD_AUTH_CODE"
    good = exchange(sandbox, code=get_code(sandbox, **extra), code_verifier=verifier)
    assert good.status_code == 200


def refresh(
    sandbox: Sandbox, token: str, path: str = "/oauth/2026-03/token", **fields: str
) -> requests.Response:
    data = {
        "grant_type": "refresh_token",
        "client_id": sandbox.client_id,
        "client_secret": sandbox.client_secret,
        "refresh_token": token,
        **fields,
    }
    return requests.post(sandbox.url(path), data=data, timeout=10)


def test_it_refreshes_an_access_token(sandbox: Sandbox) -> None:
    first = exchange(sandbox, code=get_code(sandbox)).json()
    second = refresh(sandbox, first["refresh_token"])
    assert second.status_code == 200
    body = second.json()
    assert body["access_token"] != first["access_token"]
    assert body["refresh_token"] == first["refresh_token"]
    assert body["hub_id"] == sandbox.hub_id


def test_it_rotates_refresh_tokens_when_switched_on(sandbox: Sandbox) -> None:
    sandbox.set_switches(rotate_refresh_tokens=True)
    first = exchange(sandbox, code=get_code(sandbox)).json()
    second = refresh(sandbox, first["refresh_token"]).json()
    assert second["refresh_token"] != first["refresh_token"]
    assert refresh(sandbox, first["refresh_token"]).json()["status"] == "BAD_REFRESH_TOKEN"


def test_it_refuses_an_unknown_or_revoked_refresh_token(sandbox: Sandbox) -> None:
    unknown = refresh(sandbox, "na1-nope")
    assert unknown.status_code == 400
    assert unknown.json()["status"] == "BAD_REFRESH_TOKEN"
    assert unknown.json()["error"] == "invalid_grant"
    tokens = exchange(sandbox, code=get_code(sandbox)).json()
    revoked = requests.post(
        sandbox.url("/oauth/2026-03/token/revoke"),
        data={
            "token": tokens["refresh_token"],
            "token_type_hint": "refresh_token",
            "client_id": sandbox.client_id,
            "client_secret": sandbox.client_secret,
        },
        timeout=10,
    )
    assert revoked.status_code == 204
    assert refresh(sandbox, tokens["refresh_token"]).json()["status"] == "BAD_REFRESH_TOKEN"


def test_it_introspects_access_and_unknown_tokens(sandbox: Sandbox) -> None:
    tokens = exchange(sandbox, code=get_code(sandbox)).json()

    def introspect(token: str) -> Any:
        data = {
            "token": token,
            "client_id": sandbox.client_id,
            "client_secret": sandbox.client_secret,
        }
        url = sandbox.url("/oauth/2026-03/token/introspect")
        answer = requests.post(url, data=data, timeout=10)
        assert answer.status_code == 200
        return answer.json()

    info = introspect(tokens["access_token"])
    assert info["active"] is True
    assert info["hub_id"] == sandbox.hub_id
    assert info["token_use"] == "access_token"
    assert 1790 <= info["expires_in"] <= 1800
    assert introspect(tokens["refresh_token"])["token_use"] == "refresh_token"
    assert introspect("CNnothing") == {"active": False}


def test_it_rejects_an_expired_access_token_with_expired_authentication(sandbox: Sandbox) -> None:
    tokens = exchange(sandbox, code=get_code(sandbox)).json()
    url = sandbox.url("/crm/properties/2026-03/0-421")
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert requests.get(url, headers=headers, timeout=10).status_code == 200
    sandbox.advance_clock(1805)
    response = requests.get(url, headers=headers, timeout=10)
    assert response.status_code == 401
    body = response.json()
    assert body["category"] == "EXPIRED_AUTHENTICATION"
    assert body["status"] == "error"
    assert "expired 5 second(s) ago" in body["message"]


def test_it_uses_the_settable_token_lifetime(sandbox: Sandbox) -> None:
    sandbox.set_switches(token_lifetime_seconds=60)
    assert exchange(sandbox, code=get_code(sandbox)).json()["expires_in"] == 60


def test_it_rejects_unknown_and_missing_tokens_with_401(sandbox: Sandbox) -> None:
    url = sandbox.url("/crm/properties/2026-03/0-421")
    for headers in ({"Authorization": "Bearer nope"}, {}):
        response = requests.get(url, headers=headers, timeout=10)
        assert response.status_code == 401
        body = response.json()
        assert body["category"] == "INVALID_AUTHENTICATION"
        assert body["correlationId"] == response.headers["x-hubspot-correlation-id"]


def test_it_names_the_missing_scope_with_403(sandbox: Sandbox) -> None:
    code = get_code(sandbox, scope="oauth crm.objects.appointments.read")
    token = exchange(sandbox, code=code).json()["access_token"]
    response = requests.post(
        sandbox.url("/crm/objects/2026-03/0-421/batch/create"),
        json={"inputs": []},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert response.status_code == 403
    body = response.json()
    assert body["category"] == "MISSING_SCOPES"
    scopes = body["errors"][0]["context"]["requiredGranularScopes"]
    assert scopes == ["crm.objects.appointments.write"]
