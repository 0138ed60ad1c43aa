"""Single sign-on with OpenID Connect, through authlib's Django client: the only code that talks
to the company's identity provider.

Follows OpenID Connect Core 1.0 (https://openid.net/specs/openid-connect-core-1_0.html), the
authorization code flow: the provider's endpoints come from its discovery document
(``settings.OIDC_DISCOVERY_URL``), the browser is sent there with ``state``, ``nonce`` and a PKCE
``code_challenge`` (S256, RFC 7636) kept in the session, and the code is exchanged with the
client secret. The ID token is checked as section 3.1.3.7 asks: its signature against the
provider's published keys (``jwks_uri``), ``iss`` equal to the discovered issuer, ``aud`` holding
our client id, ``exp`` not passed, and the ``nonce`` we sent.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.django_client import DjangoOAuth2App, OAuth
from django.conf import settings
from django.http import HttpRequest, HttpResponseRedirect
from joserfc.errors import (
    BadSignatureError,
    ClaimError,
    ExpiredTokenError,
    InvalidKeyIdError,
    JoseError,
)

logger = logging.getLogger(__name__)

NAME = "oidc"
# Seconds of clock difference tolerated between the provider and us (exp, iat).
LEEWAY_SECONDS = 60
# Every call to the provider (discovery, keys, token) gives up after this.
TIMEOUT_SECONDS = 10

# One authlib client per configuration, so the discovery document and the provider's keys are
# fetched once per process (authlib fetches the keys again for a key id it does not know).
_clients: dict[tuple[str, str, str], DjangoOAuth2App] = {}


class SignInRefused(Exception):
    """The provider's answer cannot sign anyone in. ``reason`` is one of ``state``,
    ``signature``, ``expired``, ``audience``, ``issuer``, ``token`` (any other check of the ID
    token), ``provider`` (it answered with an error or could not be reached)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class TokenAnswer:
    """The token endpoint's answer (``id_token`` among its keys) and the ``nonce`` we sent."""

    token: dict[str, Any]
    nonce: str


def is_configured() -> bool:
    """True when a discovery URL and a client id and secret are set."""
    return bool(
        settings.OIDC_DISCOVERY_URL and settings.OIDC_CLIENT_ID and settings.OIDC_CLIENT_SECRET
    )


def _client() -> DjangoOAuth2App:
    key = (settings.OIDC_DISCOVERY_URL, settings.OIDC_CLIENT_ID, settings.OIDC_CLIENT_SECRET)
    if key not in _clients:
        registry = OAuth()
        registry.register(
            NAME,
            client_id=settings.OIDC_CLIENT_ID,
            client_secret=settings.OIDC_CLIENT_SECRET,
            server_metadata_url=settings.OIDC_DISCOVERY_URL,
            client_kwargs={
                "scope": " ".join(settings.OIDC_SCOPES),
                "code_challenge_method": "S256",
                "default_timeout": TIMEOUT_SECONDS,
            },
        )
        _clients[key] = registry.create_client(NAME)
    return _clients[key]


def authorization_redirect(request: HttpRequest, redirect_uri: str) -> HttpResponseRedirect:
    """The redirect to the provider's authorization endpoint; ``state``, ``nonce`` and the PKCE
    verifier are kept in ``request.session`` for the callback. Raises ``SignInRefused``
    (``provider``) when the discovery document cannot be read."""
    try:
        return _client().authorize_redirect(request, redirect_uri)
    except (requests.RequestException, AuthlibBaseError, ValueError) as exc:
        raise SignInRefused("provider", f"discovery failed: {exc}") from None


def exchange_code(request: HttpRequest) -> TokenAnswer:
    """Exchange the callback's ``code`` for tokens, after checking its ``state`` against the one
    this session started (it works once). Raises ``SignInRefused``: ``state`` for an unknown
    or replayed state, ``provider`` for an error answer (``error=access_denied``, a refused
    code) or an unreachable provider."""
    client = _client()
    state = request.GET.get("state", "")
    state_data = client.framework.get_state_data(request.session, state) if state else None
    if request.GET.get("error"):
        error = request.GET.get("error_description") or request.GET["error"]
        raise SignInRefused("provider", f"the provider answered: {error}")
    if state_data is None:
        raise SignInRefused("state", "no sign-in with this state was started here")
    client.framework.clear_state_data(request.session, state)
    try:
        token = client.fetch_access_token(
            code=request.GET.get("code", ""),
            redirect_uri=state_data["redirect_uri"],
            code_verifier=state_data["code_verifier"],
        )
    except (requests.RequestException, AuthlibBaseError, ValueError) as exc:
        raise SignInRefused("provider", f"token exchange failed: {exc}") from None
    return TokenAnswer(token=dict(token), nonce=str(state_data.get("nonce") or ""))


def verify_id_token(answer: TokenAnswer) -> dict[str, Any]:
    """The ID token's claims once its signature, ``iss``, ``aud``, ``exp`` and ``nonce`` are
    checked (OpenID Connect Core 1.0, 3.1.3.7). Raises ``SignInRefused`` naming the check."""
    client = _client()
    if "id_token" not in answer.token:
        raise SignInRefused("token", "the token answer has no id_token")
    try:
        issuer = client.load_server_metadata()["issuer"]
        claims = client.parse_id_token(
            answer.token,
            nonce=answer.nonce,
            claims_options={
                "iss": {"essential": True, "value": issuer},
                "aud": {"essential": True, "value": settings.OIDC_CLIENT_ID},
                "exp": {"essential": True},
            },
            leeway=LEEWAY_SECONDS,
        )
    except (BadSignatureError, InvalidKeyIdError) as exc:
        raise SignInRefused("signature", str(exc)) from None
    except ExpiredTokenError as exc:
        raise SignInRefused("expired", str(exc)) from None
    except ClaimError as exc:
        reason = {"aud": "audience", "azp": "audience", "iss": "issuer"}.get(exc.claim, "token")
        raise SignInRefused(reason, str(exc)) from None
    except JoseError as exc:
        raise SignInRefused("token", str(exc)) from None
    except (requests.RequestException, KeyError) as exc:
        raise SignInRefused("provider", f"the provider's keys could not be read: {exc}") from None
    return dict(claims)


def with_userinfo(answer: TokenAnswer, claims: dict[str, Any]) -> dict[str, Any]:
    """``claims`` (a verified ID token's) completed by the provider's UserInfo endpoint, which
    is where OpenID Connect Core 1.0 (section 5.4) puts the claims of the requested scopes
    (email, profile, groups) in the code flow. The ID token's own claims win; UserInfo's are
    used only when its ``sub`` is the ID token's (section 5.3.2). Raises ``SignInRefused``
    (``provider``) when the endpoint answers with an error."""
    client = _client()
    if not client.load_server_metadata().get("userinfo_endpoint"):
        return claims
    try:
        userinfo = dict(client.userinfo(token=answer.token))
    except (requests.RequestException, AuthlibBaseError, ValueError) as exc:
        raise SignInRefused("provider", f"the UserInfo endpoint failed: {exc}") from None
    if userinfo.get("sub") != claims.get("sub"):
        raise SignInRefused("token", "the UserInfo answer is about another subject")
    return {**userinfo, **claims}
