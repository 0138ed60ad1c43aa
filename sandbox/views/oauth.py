"""OAuth 2.0 of the sandbox: consent page, token, introspect and revoke, and the v1 forms.

Follows https://developers.hubspot.com/docs/api-reference/auth-oauth-v3/guide: form bodies; the
``AccessTokenResponse`` shape; errors with HubSpot's ``status`` (``BAD_AUTH_CODE``...) plus
RFC 6749 ``error``/``error_description``; redirect-URI mismatch shows an error page and does not
redirect (HubSpot/oauth-quickstart-python#3). The v1 paths, which both official SDKs' OAuth
helpers call, follow https://developers.hubspot.com/docs/api-reference/legacy/authentication/oauth-tokens/v1/guide.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from typing import Any
from urllib.parse import urlencode

from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render

from sandbox.api import api_view
from sandbox.context import ApiContext, error_response
from sandbox.csp import sandbox_page
from sandbox.models import AuthorizationCode, OAuthApp, Portal, Token
from sandbox.seed import DEMO_USER_EMAIL
from sandbox.tokens import issue_tokens, token_info, token_info_v1

_RFC_ERROR = {
    "BAD_AUTH_CODE": "invalid_grant",
    "EXPIRED_AUTH_CODE": "invalid_grant",
    "BAD_REFRESH_TOKEN": "invalid_grant",
    "BAD_REDIRECT_URI": "invalid_grant",
    "BAD_CLIENT_ID": "invalid_client",
    "BAD_CLIENT_SECRET": "invalid_client",
    "BAD_GRANT_TYPE": "unsupported_grant_type",
}


def oauth_error(ctx: ApiContext, status: str, message: str) -> JsonResponse:
    """400 with HubSpot's OAuth error body (SANDBOX.md, the token endpoint's row)."""
    return error_response(
        400,
        correlation_id=ctx.correlation_id,
        category="BAD_REQUEST",
        message=message,
        extra={"status": status, "error": _RFC_ERROR[status], "error_description": message},
    )


@api_view(auth=False, policy=None, csrf=True, methods=("GET", "POST"), described=False)
@sandbox_page
def authorize(request: HttpRequest, ctx: ApiContext) -> HttpResponse:
    """The consent screen (GET) and its answer (POST): pick a portal, Approve or Deny.

    Approve redirects to ``redirect_uri?code=...&state=...``; Deny to
    ``redirect_uri?error=access_denied&error_description=...&state=...``. A bad ``client_id``
    or an unregistered ``redirect_uri`` renders an error page (400) and never redirects.
    """
    data = request.POST if request.method == "POST" else request.GET
    client_id = data.get("client_id", "")
    redirect_uri = data.get("redirect_uri", "")
    state = data.get("state")
    app = OAuthApp.objects.filter(client_id=client_id).first()
    if app is None:
        return _error_page(request, f"Unknown app: client_id {client_id!r} is not registered.")
    if redirect_uri not in app.redirect_uris:
        return _error_page(
            request,
            f"Authorization failed as the redirect URL {redirect_uri!r} doesn't match the app's "
            "registered redirect URL.",
        )
    scopes = data.get("scope", "").split()
    optional = data.get("optional_scope", "").split()
    unknown = [s for s in scopes if s not in app.scopes]
    if unknown:
        return _error_page(
            request,
            "This app requested scopes it is not configured for (insufficient scopes): "
            + ", ".join(unknown),
        )
    granted = scopes + [s for s in optional if s in app.scopes and s not in scopes]
    portals = list(Portal.objects.order_by("hub_id"))
    if request.method != "POST":
        context = {
            "app": app,
            "portals": portals,
            "scopes": granted,
            "fields": {
                "client_id": client_id,
                "redirect_uri": redirect_uri,
                "scope": data.get("scope", ""),
                "optional_scope": data.get("optional_scope", ""),
                "state": state or "",
                "code_challenge": data.get("code_challenge", ""),
                "code_challenge_method": data.get("code_challenge_method", ""),
            },
        }
        return render(request, "sandbox/authorize.html", context)
    params: dict[str, str] = {}
    if data.get("decision") != "approve":
        params = {
            "error": "access_denied",
            "error_description": "The user denied access to the app.",
        }
    else:
        hub_id = _int(data.get("hub_id"))
        portal = Portal.objects.filter(hub_id=hub_id).first() if hub_id is not None else None
        if portal is None:
            return _error_page(request, "Choose a portal to connect.")
        code = AuthorizationCode.objects.create(
            code=secrets.token_hex(18),
            app=app,
            portal=portal,
            redirect_uri=redirect_uri,
            scopes=granted,
            expires_at=ctx.now + ctx.switches.auth_code_lifetime_seconds,
            code_challenge=data.get("code_challenge", ""),
            code_challenge_method=data.get("code_challenge_method", "") or "plain",
        )
        ctx.portal = portal
        params = {"code": code.code}
    if state:
        params["state"] = state
    separator = "&" if "?" in redirect_uri else "?"
    return HttpResponseRedirect(redirect_uri + separator + urlencode(params))


@api_view(auth=False, policy=None, methods=("POST",))
def token(request: HttpRequest, ctx: ApiContext) -> HttpResponse:
    """``POST /oauth/2026-03/token`` (v3, v1): authorization_code and refresh_token grants.

    Form body. v1 answers as 2026-03 does: the v1 guide documents the same fields and the same
    errors (https://developers.hubspot.com/docs/api-reference/legacy/authentication/oauth-tokens/v1/guide;
    the RFC 6749 pair beside ``status``/``message``:
    https://developers.hubspot.com/changelog/new-oauth-v3-api-endpoints-and-standardized-error-responses).
    """
    data = request.POST
    grant = data.get("grant_type", "")
    if grant not in {"authorization_code", "refresh_token"}:
        return oauth_error(ctx, "BAD_GRANT_TYPE", f"unsupported grant_type {grant!r}")
    app, failure = _client(ctx, data)
    if failure is not None or app is None:
        return failure or oauth_error(ctx, "BAD_CLIENT_ID", "missing client_id")
    with transaction.atomic():
        if grant == "authorization_code":
            code = (
                AuthorizationCode.objects.select_for_update()
                .select_related("portal")
                .filter(code=data.get("code", ""), app=app)
                .first()
            )
            if code is None or code.used:
                return oauth_error(ctx, "BAD_AUTH_CODE", "missing or unknown auth code")
            if code.expires_at <= ctx.now:
                return oauth_error(ctx, "EXPIRED_AUTH_CODE", "auth code is expired")
            if data.get("redirect_uri", "") != code.redirect_uri:
                return oauth_error(
                    ctx, "BAD_REDIRECT_URI", "redirect_uri does not match the authorization"
                )
            if code.code_challenge and not _pkce_ok(code, data.get("code_verifier", "")):
                return oauth_error(
                    ctx, "BAD_AUTH_CODE", "code_verifier does not match the code_challenge"
                )
            code.used = True
            code.save(update_fields=["used"])
            body = issue_tokens(ctx, app, code.portal, code.scopes, refresh=None)
        else:
            refresh = (
                Token.objects.select_for_update()
                .select_related("portal", "app")
                .filter(token=data.get("refresh_token", ""), kind=Token.Kind.REFRESH)
                .first()
            )
            if refresh is None or refresh.revoked:
                return oauth_error(
                    ctx, "BAD_REFRESH_TOKEN", "refresh token is invalid, expired or revoked"
                )
            if refresh.app_id != app.pk:
                return oauth_error(
                    ctx, "BAD_REFRESH_TOKEN", "refresh token was not issued to this client"
                )
            body = issue_tokens(ctx, app, refresh.portal, refresh.scopes, refresh=refresh)
    return JsonResponse(body)


@api_view(auth=False, policy=None, methods=("POST",))
def introspect(request: HttpRequest, ctx: ApiContext) -> HttpResponse:
    """``POST /oauth/2026-03/token/introspect``: token info, ``{"active": false}`` if unknown."""
    app, failure = _client(ctx, request.POST)
    if failure is not None or app is None:
        return failure or oauth_error(ctx, "BAD_CLIENT_ID", "missing client_id")
    found = (
        Token.objects.select_related("portal", "app")
        .filter(token=request.POST.get("token", ""), app=app)
        .first()
    )
    if found is None:
        # RFC 7662 section 2.2; HubSpot's own answer is UNCONFIRMED (SANDBOX.md).
        return JsonResponse({"active": False})
    ctx.portal = found.portal
    return JsonResponse(token_info(ctx, found, user=DEMO_USER_EMAIL))


@api_view(auth=False, policy=None, methods=("POST",))
def revoke(request: HttpRequest, ctx: ApiContext) -> HttpResponse:
    """``POST /oauth/2026-03/token/revoke``: revoke a refresh (or access) token; 204."""
    app, failure = _client(ctx, request.POST)
    if failure is not None or app is None:
        return failure or oauth_error(ctx, "BAD_CLIENT_ID", "missing client_id")
    Token.objects.filter(token=request.POST.get("token", ""), app=app).update(revoked=True)
    return HttpResponse(status=204)


@api_view(auth=False, policy=None, methods=("GET",))
def access_token_v1(request: HttpRequest, ctx: ApiContext, token: str) -> HttpResponse:
    """``GET /oauth/v1/access-tokens/{token}``: the access token's v1 metadata; else 404."""
    found = _live_token(ctx, token, Token.Kind.ACCESS)
    if found is None:
        return _token_not_found(ctx)
    return JsonResponse(token_info_v1(ctx, found, user=DEMO_USER_EMAIL))


@api_view(auth=False, policy=None, methods=("GET", "DELETE"))
def refresh_token_v1(request: HttpRequest, ctx: ApiContext, token: str) -> HttpResponse:
    """``GET /oauth/v1/refresh-tokens/{token}``: v1 metadata; ``DELETE``: revoke it, 204.

    Deleting revokes only the refresh token: access tokens issued from it stay valid until
    they expire (https://developers.hubspot.com/docs/api-reference/legacy/authentication/oauth-tokens/v1/delete-refresh-token).
    Unknown or already revoked: 404 (UNCONFIRMED, SANDBOX.md).
    """
    found = _live_token(ctx, token, Token.Kind.REFRESH)
    if found is None:
        return _token_not_found(ctx)
    if request.method == "DELETE":
        Token.objects.filter(pk=found.pk).update(revoked=True)
        return HttpResponse(status=204)
    return JsonResponse(token_info_v1(ctx, found, user=DEMO_USER_EMAIL))


def _live_token(ctx: ApiContext, value: str, kind: str) -> Token | None:
    """The token if it exists, is of ``kind``, is not revoked and (access) has not expired."""
    found = (
        Token.objects.select_related("portal", "app")
        .filter(token=value, kind=kind, revoked=False)
        .first()
    )
    if found is None or (found.expires_at is not None and found.expires_at <= ctx.now):
        return None
    ctx.portal = found.portal
    return found


def _token_not_found(ctx: ApiContext) -> JsonResponse:
    # HubSpot's answer for an unknown, expired or revoked token on the v1 paths is UNCONFIRMED.
    return error_response(
        404,
        correlation_id=ctx.correlation_id,
        category="OBJECT_NOT_FOUND",
        message="The token is unknown, expired or revoked.",
    )


def _client(ctx: ApiContext, data: Any) -> tuple[OAuthApp | None, JsonResponse | None]:
    app = OAuthApp.objects.filter(client_id=data.get("client_id", "")).first()
    if app is None:
        return None, oauth_error(ctx, "BAD_CLIENT_ID", "missing or unknown client_id")
    if not secrets.compare_digest(app.client_secret, data.get("client_secret", "")):
        return None, oauth_error(ctx, "BAD_CLIENT_SECRET", "client_secret does not match")
    return app, None


def _pkce_ok(code: AuthorizationCode, verifier: str) -> bool:
    # RFC 7636 section 4.6: S256 compares BASE64URL(SHA256(verifier)) without padding.
    if code.code_challenge_method == "S256":
        digest = hashlib.sha256(verifier.encode("ascii", errors="replace")).digest()
        expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
    else:
        expected = verifier
    return secrets.compare_digest(expected, code.code_challenge)


def _error_page(request: HttpRequest, message: str) -> HttpResponse:
    return render(request, "sandbox/authorize_error.html", {"message": message}, status=400)


def _int(value: str | None) -> int | None:
    try:
        return int(value or "")
    except ValueError:
        return None
