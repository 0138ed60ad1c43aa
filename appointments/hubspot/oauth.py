"""HubSpot's OAuth 2.0 authorization-code flow, through authlib's requests client.

Follows https://developers.hubspot.com/docs/api-reference/latest/authentication/manage-oauth-tokens:
the authorize page lives on the app host (``settings.HUBSPOT_APP_BASE_URL``), the token,
introspect and revoke endpoints on the API host under ``/oauth/2026-03/``, every parameter in a
form body (``client_secret_post``), never in the query string. PKCE (S256) is sent too: the
token endpoint accepts ``code_verifier`` and a server that ignores the challenge loses nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc6749.errors import OAuth2Error
from django.conf import settings

from appointments.hubspot.errors import HubSpotError, HubSpotUnknownOutcome, raise_for_response


@dataclass(frozen=True)
class TokenSet:
    """A token endpoint answer: ``expires_in`` in seconds; ``hub_id`` the portal's id."""

    access_token: str
    refresh_token: str
    expires_in: int
    hub_id: int | None
    user_id: int | None
    scopes: tuple[str, ...]

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> TokenSet:
        scopes = data.get("scopes") or str(data.get("scope") or "").split()
        return cls(
            access_token=str(data["access_token"]),
            refresh_token=str(data.get("refresh_token") or ""),
            expires_in=int(data.get("expires_in") or 0),
            hub_id=int(data["hub_id"]) if data.get("hub_id") is not None else None,
            user_id=int(data["user_id"]) if data.get("user_id") is not None else None,
            scopes=tuple(scopes),
        )


@dataclass(frozen=True)
class AuthorizationRequest:
    """Where to send the browser, and the ``state`` and PKCE ``code_verifier`` to keep."""

    url: str
    state: str
    code_verifier: str


def _session(redirect_uri: str | None = None) -> OAuth2Session:
    return OAuth2Session(
        client_id=settings.HUBSPOT_CLIENT_ID,
        client_secret=settings.HUBSPOT_CLIENT_SECRET,
        scope=" ".join(settings.HUBSPOT_SCOPES),
        redirect_uri=redirect_uri,
        token_endpoint_auth_method="client_secret_post",  # noqa: S106 - a method name
        code_challenge_method="S256",
    )


def _token_url(suffix: str = "") -> str:
    return f"{settings.HUBSPOT_API_BASE_URL}/oauth/2026-03/token{suffix}"


def is_configured() -> bool:
    """True when the HubSpot app credentials are set."""
    return bool(settings.HUBSPOT_CLIENT_ID and settings.HUBSPOT_CLIENT_SECRET)


def authorization_request(redirect_uri: str) -> AuthorizationRequest:
    """Build the authorize URL with a fresh ``state`` and PKCE verifier."""
    state = generate_token(32)
    code_verifier = generate_token(64)
    extra: dict[str, str] = {}
    if settings.HUBSPOT_OPTIONAL_SCOPES:
        extra["optional_scope"] = " ".join(settings.HUBSPOT_OPTIONAL_SCOPES)
    url, _state = _session(redirect_uri).create_authorization_url(
        f"{settings.HUBSPOT_APP_BASE_URL}/oauth/authorize",
        state=state,
        code_verifier=code_verifier,
        **extra,
    )
    return AuthorizationRequest(url=url, state=state, code_verifier=code_verifier)


def _call_token_endpoint(action: str, **kwargs: Any) -> TokenSet:
    session = _session(kwargs.pop("redirect_uri", None))

    def raise_for_error(response: requests.Response) -> requests.Response:
        # HubSpot's legacy OAuth errors carry only status/message, not RFC 6749's "error",
        # which authlib alone would not recognise.
        raise_for_response(response)
        return response

    session.register_compliance_hook("access_token_response", raise_for_error)
    session.register_compliance_hook("refresh_token_response", raise_for_error)
    try:
        if action == "refresh":
            data = session.refresh_token(
                _token_url(), timeout=settings.HUBSPOT_TIMEOUT_SECONDS, **kwargs
            )
        else:
            data = session.fetch_token(
                _token_url(),
                grant_type="authorization_code",
                timeout=settings.HUBSPOT_TIMEOUT_SECONDS,
                **kwargs,
            )
    except OAuth2Error as exc:
        raise HubSpotError(
            exc.description or str(exc.error), category=str(exc.error or ""), status=400
        ) from None
    except (requests.Timeout, requests.ConnectionError) as exc:
        raise HubSpotUnknownOutcome(f"HubSpot did not answer: {type(exc).__name__}") from None
    except requests.HTTPError as exc:
        status = exc.response.status_code if exc.response is not None else None
        raise HubSpotError(f"HubSpot answered HTTP {status}.", status=status) from None
    finally:
        session.close()
    if "access_token" not in data:
        raise HubSpotError("HubSpot's token answer had no access_token.", category="BAD_RESPONSE")
    return TokenSet.from_api(dict(data))


def exchange_code(*, code: str, redirect_uri: str, code_verifier: str) -> TokenSet:
    """Exchange an authorization code (``grant_type=authorization_code``) for tokens.

    Raises HubSpotError (``BAD_AUTH_CODE``, ``EXPIRED_AUTH_CODE``, ...) or HubSpotUnknownOutcome.
    """
    return _call_token_endpoint(
        "code", code=code, redirect_uri=redirect_uri, code_verifier=code_verifier
    )


def refresh(*, refresh_token: str) -> TokenSet:
    """Get a new access token (``grant_type=refresh_token``).

    HubSpot may rotate the refresh token: store the returned one every time.
    Raises HubSpotAuthError for ``BAD_REFRESH_TOKEN`` (revoked connection).
    """
    return _call_token_endpoint("refresh", refresh_token=refresh_token)


@dataclass(frozen=True)
class TokenInfo:
    """Introspection of an access token: whether it is active, its portal and who granted it."""

    active: bool
    hub_id: int | None = None
    hub_domain: str = ""
    user: str = ""


def _post_form(suffix: str, data: dict[str, str]) -> requests.Response:
    try:
        response = requests.post(
            _token_url(suffix),
            data={
                **data,
                "client_id": settings.HUBSPOT_CLIENT_ID,
                "client_secret": settings.HUBSPOT_CLIENT_SECRET,
            },
            timeout=settings.HUBSPOT_TIMEOUT_SECONDS,
        )
    except requests.RequestException as exc:
        raise HubSpotUnknownOutcome(f"HubSpot did not answer: {type(exc).__name__}") from None
    raise_for_response(response, below=300)
    return response


def introspect(*, access_token: str) -> TokenInfo:
    """``POST /oauth/2026-03/token/introspect``: the token's portal and user.

    An unknown token answers ``{"active": false}`` (UNCONFIRMED; see SANDBOX.md).
    """
    try:
        data = _post_form(
            "/introspect", {"token": access_token, "token_type_hint": "access_token"}
        ).json()
    except ValueError:
        raise HubSpotError("HubSpot's introspection answer was not JSON.") from None
    active = data.get("active", True) is not False
    hub_id = data.get("hub_id")
    return TokenInfo(
        active=active,
        hub_id=int(hub_id) if hub_id is not None else None,
        hub_domain=str(data.get("hub_domain") or ""),
        user=str(data.get("user") or ""),
    )


def revoke(*, refresh_token: str) -> None:
    """Revoke a refresh token (``POST /oauth/2026-03/token/revoke``); any 2xx is success."""
    _post_form("/revoke", {"token": refresh_token, "token_type_hint": "refresh_token"})
