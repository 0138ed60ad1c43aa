"""Single sign-on against a real OpenID provider (tests/fixtures_oidc.py): sign-in, roles from
the groups claim, and every check of the answer: state, signature, expiry, audience."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.models import User
from django.contrib.messages import get_messages
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client, RequestFactory

from appointments import oidc
from appointments.models import SsoIdentity
from tests.fixtures_oidc import (
    CLIENT_ID,
    OTHER_CLIENT_ID,
    OidcProvider,
    free_port,
    sign_in_at_provider,
    signing_key,
    use_provider,
)

CALLBACK = "http://testserver/accounts/sso/callback/"

pytestmark = pytest.mark.django_db


def start(client: Client, after: str = "") -> str:
    """Press "Sign in with your company account"; return the provider URL it redirects to."""
    response = client.get("/accounts/sso/" + (f"?next={after}" if after else ""))
    assert response.status_code == 302, response.content
    return response["Location"]


def come_back(client: Client, callback_url: str) -> Any:
    parts = urlsplit(callback_url)
    return client.get(parts.path + "?" + parts.query)


def sign_in(client: Client, login: str, after: str = "") -> Any:
    return come_back(client, sign_in_at_provider(start(client, after), login, CALLBACK))


def messages_of(response: Any) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def roles(user: User) -> list[str]:
    return sorted(user.groups.values_list("name", flat=True))


def test_the_authorization_request_carries_state_nonce_and_pkce(
    client: Client, sso: OidcProvider
) -> None:
    query = parse_qs(urlsplit(start(client)).query)
    assert query["response_type"] == ["code"] and query["client_id"] == [CLIENT_ID]
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) >= 43
    assert query["state"][0] and query["nonce"][0]
    assert query["redirect_uri"] == [CALLBACK]
    assert set(query["scope"][0].split()) == {"openid", "email", "profile", "groups"}


def test_first_sign_in_creates_the_user_with_the_role_of_their_group(
    client: Client, sso: OidcProvider
) -> None:
    response = sign_in(client, "bruno", after="/history/")
    assert response.status_code == 302 and response["Location"] == "/history/"
    user = User.objects.get(username="bruno")
    assert (user.email, user.first_name, user.last_name) == ("bruno@example.com", "Bruno", "Costa")
    assert roles(user) == ["operator"]
    assert SsoIdentity.objects.get(user=user).issuer == sso.issuer
    assert client.get("/").status_code == 200  # signed in


@pytest.mark.parametrize(("login", "role"), [("amina", "admin"), ("chloe", "viewer")])
def test_each_group_maps_to_its_role(
    client: Client, sso: OidcProvider, login: str, role: str
) -> None:
    assert sign_in(client, login).status_code == 302
    assert roles(User.objects.get(username=login)) == [role]


def test_the_role_follows_the_groups_claim_at_every_sign_in(
    client: Client, sso: OidcProvider, settings: Any
) -> None:
    sign_in(client, "bruno")
    client.logout()
    settings.OIDC_GROUP_ROLES = ["all=viewer"]  # bruno's groups: hub-ops, all
    sign_in(client, "bruno")
    assert roles(User.objects.get(username="bruno")) == ["viewer"]
    assert User.objects.filter(username__startswith="bruno").count() == 1


def test_a_person_in_no_mapped_group_is_not_signed_in_nor_created(
    client: Client, sso: OidcProvider
) -> None:
    response = sign_in(client, "dan")
    assert response["Location"] == "/accounts/login/"
    assert any("no group that gives access" in text for text in messages_of(response))
    assert not User.objects.filter(username="dan").exists()
    assert client.get("/")["Location"].startswith("/accounts/login/")


def test_a_deactivated_account_is_not_signed_in(client: Client, sso: OidcProvider) -> None:
    sign_in(client, "bruno")
    client.logout()
    User.objects.filter(username="bruno").update(is_active=False)
    response = sign_in(client, "bruno")
    assert response["Location"] == "/accounts/login/"
    assert any("deactivated" in text for text in messages_of(response))
    assert client.get("/")["Location"].startswith("/accounts/login/")


def test_a_forged_state_is_refused(client: Client, sso: OidcProvider) -> None:
    callback = sign_in_at_provider(start(client), "bruno", CALLBACK)
    forged = callback.replace("state=", "state=forged")
    response = come_back(client, forged)
    assert response["Location"] == "/accounts/login/"
    assert any("not started here" in text for text in messages_of(response))
    assert not User.objects.filter(username="bruno").exists()


def test_a_callback_works_once(client: Client, sso: OidcProvider) -> None:
    callback = sign_in_at_provider(start(client), "bruno", CALLBACK)
    assert come_back(client, callback)["Location"] == "/"
    client.logout()
    replayed = come_back(client, callback)
    assert replayed["Location"] == "/accounts/login/"


def test_an_id_token_signed_with_another_key_is_refused(
    client: Client, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    provider = OidcProvider(port=free_port(), redirect_uris=[CALLBACK]).start()
    try:
        use_provider(settings, provider)
        assert sign_in(client, "bruno")["Location"] == "/"  # we now hold its published key
        client.logout()
        # Same key id, another key: the provider's tokens no longer match what it published.
        provider.restart(jwk=signing_key(kid=provider.jwk["kid"]))
        response = sign_in(client, "bruno")
    finally:
        provider.stop()
    assert response["Location"] == "/accounts/login/"
    assert any("signature does not match" in text for text in messages_of(response))
    assert "single sign-on refused: signature" in caplog.text


def test_an_expired_id_token_is_refused(client: Client, settings: Any) -> None:
    # A provider whose clock is two hours behind issues ID tokens that expired an hour ago.
    provider = OidcProvider(
        port=free_port(), redirect_uris=[CALLBACK], clock_offset_seconds=-7200
    ).start()
    try:
        use_provider(settings, provider)
        response = sign_in(client, "bruno")
    finally:
        provider.stop()
    assert response["Location"] == "/accounts/login/"
    assert any("it has expired" in text for text in messages_of(response))
    assert not User.objects.filter(username="bruno").exists()


def test_an_id_token_issued_to_another_application_is_refused(
    sso: OidcProvider, settings: Any
) -> None:
    # A real ID token, issued by the provider to another application...
    settings.OIDC_CLIENT_ID = OTHER_CLIENT_ID
    request = RequestFactory().get("/accounts/sso/")
    request.session = SessionStore()
    redirect = oidc.authorization_redirect(request, CALLBACK)
    callback = sign_in_at_provider(redirect["Location"], "bruno", CALLBACK)
    back = RequestFactory().get(callback.removeprefix("http://testserver"))
    back.session = request.session
    answer = oidc.exchange_code(back)
    assert oidc.verify_id_token(answer)["aud"] == OTHER_CLIENT_ID
    # ...is refused by hubportal, whose client id it does not name.
    settings.OIDC_CLIENT_ID = CLIENT_ID
    with pytest.raises(oidc.SignInRefused) as refused:
        oidc.verify_id_token(answer)
    assert refused.value.reason == "audience"


def test_the_provider_saying_no_is_shown(client: Client, sso: OidcProvider) -> None:
    state = parse_qs(urlsplit(start(client)).query)["state"][0]
    response = client.get(f"/accounts/sso/callback/?error=access_denied&state={state}")
    assert response["Location"] == "/accounts/login/"
    assert any("refused the sign-in" in text for text in messages_of(response))
