"""Issuing and describing sandbox OAuth tokens.

Follows https://developers.hubspot.com/docs/api-reference/auth-oauth-v3/guide (token and token
metadata answers; sandbox/openapi.yaml ``AccessTokenResponse``, ``AccessTokenInfo``).
"""

from __future__ import annotations

import secrets
from typing import Any

from sandbox.context import ApiContext
from sandbox.models import OAuthApp, Portal, Token
from sandbox.seed import DEMO_USER_ID


def issue_tokens(
    ctx: ApiContext,
    app: OAuthApp,
    portal: Portal,
    scopes: list[str],
    *,
    refresh: Token | None,
) -> dict[str, Any]:
    """Create an access token (and a refresh token unless ``refresh`` is reused).

    Returns HubSpot's ``AccessTokenResponse``: access_token, refresh_token, expires_in (the
    settable lifetime, 1800 s by default), token_type "bearer", token_use "access_token",
    hub_id, user_id, scopes. With the ``rotate_refresh_tokens`` switch, a refresh revokes the
    old refresh token and returns a new one (an UNCONFIRMED point: SANDBOX.md).
    """
    ctx.portal = portal
    lifetime = ctx.switches.token_lifetime_seconds
    user_id = refresh.user_id if refresh is not None else DEMO_USER_ID
    if refresh is None or ctx.switches.rotate_refresh_tokens:
        if refresh is not None:
            refresh.revoked = True
            refresh.save(update_fields=["revoked"])
        refresh = Token.objects.create(
            token=f"na1-{secrets.token_hex(2)}-{secrets.token_hex(2)}-{secrets.token_hex(16)}",
            kind=Token.Kind.REFRESH,
            app=app,
            portal=portal,
            user_id=user_id,
            scopes=scopes,
        )
    access = Token.objects.create(
        token="CN" + secrets.token_urlsafe(96),
        kind=Token.Kind.ACCESS,
        app=app,
        portal=portal,
        user_id=user_id,
        scopes=scopes,
        expires_at=ctx.now + lifetime,
        refresh_token=refresh.token,
    )
    return {
        "token_type": "bearer",
        "access_token": access.token,
        "refresh_token": refresh.token,
        "expires_in": lifetime,
        "token_use": "access_token",
        "hub_id": portal.hub_id,
        "user_id": user_id,
        "scopes": scopes,
    }


def token_info(ctx: ApiContext, token: Token, *, user: str) -> dict[str, Any]:
    """HubSpot's ``PublicAccessTokenInfoResponse`` or ``PublicRefreshTokenInfoResponse``.

    The 2026-03 introspect answer: the v1 metadata (``token_info_v1``) plus ``active``, both
    ``app_id`` and ``client_id``, and ``token_use``.
    """
    body = token_info_v1(ctx, token, user=user)
    body.update(
        active=not token.revoked and (token.expires_at is None or token.expires_at > ctx.now),
        app_id=token.app.app_id,
        client_id=token.app.client_id,
        token_use="refresh_token" if token.kind == Token.Kind.REFRESH else "access_token",
    )
    return body


def token_info_v1(ctx: ApiContext, token: Token, *, user: str) -> dict[str, Any]:
    """The v1 token metadata: ``GET /oauth/v1/access-tokens/{token}`` or ``refresh-tokens``.

    Access token: token, user, hub_domain, scopes, hub_id, app_id, expires_in (seconds left),
    user_id, token_type "access", is_private_distribution, signed_access_token. Refresh token:
    token, user, hub_domain, scopes, hub_id, client_id, user_id, token_type "refresh".
    Follows https://developers.hubspot.com/docs/api-reference/legacy/authentication/oauth-tokens/v1/get-oauth-token-metadata
    and https://developers.hubspot.com/docs/api-reference/legacy/authentication/oauth-tokens/v1/get-refresh-token-metadata
    (no ``active``, no ``token_use``).
    """
    body: dict[str, Any] = {
        "hub_domain": token.portal.domain,
        "hub_id": token.portal.hub_id,
        "scopes": token.scopes,
        "token": token.token,
        "user": user,
        "user_id": token.user_id,
    }
    if token.kind == Token.Kind.REFRESH:
        body.update(client_id=token.app.client_id, token_type="refresh")  # noqa: S106
        return body
    expires_at = token.expires_at if token.expires_at is not None else ctx.now + 10 * 365 * 86400
    body.update(
        app_id=token.app.app_id,
        token_type="access",  # noqa: S106
        expires_in=max(int(expires_at - ctx.now), 0),
        is_private_distribution=False,
        signed_access_token={
            "appId": token.app.app_id,
            "appInstallId": f"{token.app.app_id}-{token.portal.hub_id}",
            "audience": "api.hubapi.com",
            "expiresAt": int(expires_at * 1000),
            "hubId": token.portal.hub_id,
            "hublet": "na1",
            "installingUserId": token.user_id,
            "isPrivateDistribution": False,
            "isServiceAccount": False,
            "isUserLevel": False,
            "newSignature": secrets.token_urlsafe(24),
            "scopeToScopeGroupPks": "",
            "scopes": " ".join(token.scopes),
            "signature": secrets.token_urlsafe(24),
            "trialScopeToScopeGroupPks": "",
            "trialScopes": "",
            "userId": token.user_id,
        },
    )
    return body
