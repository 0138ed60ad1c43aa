"""The wrapper every sandbox API view runs in: auth, scopes, limits, faults, journal, contract.

HubSpot sources: the error body and ``x-hubspot-correlation-id``
(https://developers.hubspot.com/docs/api-reference/error-handling), 401/403
(https://developers.hubspot.com/docs/api/usage-details, "Authentication and security"), rate
limits and faults (SANDBOX.md, "Behaviours and their sources").
"""

from __future__ import annotations

import functools
import logging
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, cast

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from sandbox import clock, contract, faults, journal, ratelimit
from sandbox.context import ApiContext, error_response, missing_scopes
from sandbox.csrf import sandbox_csrf_protect
from sandbox.models import Token

logger = logging.getLogger(__name__)

AUTH_MESSAGE = (
    "Authentication credentials not found. This API supports OAuth 2.0 authentication and you "
    "can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
)
ViewFunc = Callable[..., HttpResponse]


def api_view(
    *,
    scopes_any: tuple[str, ...] = (),
    auth: bool = True,
    policy: str | None = ratelimit.TEN_SECONDLY,
    csrf: bool = False,
    methods: tuple[str, ...] = ("GET",),
    described: bool = True,
) -> Callable[[ViewFunc], ViewFunc]:
    """Wrap a view ``view(request, ctx, **kwargs)`` with HubSpot's request handling.

    ``scopes_any``: the call needs at least one of these scopes (403 ``MISSING_SCOPES`` naming
    them). ``auth=False`` for the OAuth endpoints, which authenticate by form fields.
    ``policy``: the rate-limit policy counted (None: not counted). ``csrf=True`` for the HTML
    forms (consent page): Django's CSRF check under the sandbox's own cookie name.
    ``methods``: the HTTP methods allowed (405 otherwise). ``described=False`` for the one
    view sandbox/openapi.yaml does not describe, HubSpot's consent page (a web page, not an API
    operation); every other request and answer is checked against it (``sandbox.contract``).
    """

    def decorate(view: ViewFunc) -> ViewFunc:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, **kwargs: Any) -> HttpResponse:
            started = time.monotonic()
            body = request.body
            row = clock.switches()
            ctx = ApiContext(correlation_id=str(uuid.uuid4()), switches=row, now=clock.now_ts(row))
            if request.method not in methods:
                response: HttpResponse = error_response(
                    405,
                    correlation_id=ctx.correlation_id,
                    category="METHOD_NOT_ALLOWED",
                    message=f"{request.method} is not allowed here; use {', '.join(methods)}.",
                )
            else:
                try:
                    response = _handle(
                        view, request, ctx, scopes_any, auth, policy, described, kwargs
                    )
                    if described and not ctx.drop:
                        contract.check_response(request, response, ctx)
                except Exception as exc:
                    # A sandbox bug still answers in HubSpot's shape and lands in the journal;
                    # the test fixture fails the test on it.
                    logger.exception("Sandbox error on %s %s", request.method, request.path)
                    ctx.note = f"exception: {type(exc).__name__}: {exc}"[:200]
                    response = error_response(
                        500,
                        correlation_id=ctx.correlation_id,
                        category="INTERNAL_ERROR",
                        message="An internal error occurred in the HubSpot sandbox.",
                    )
            response["x-hubspot-correlation-id"] = ctx.correlation_id
            for name, value in ctx.headers.items():
                response[name] = value
            journal.record(request, ctx, body, response, started)
            faults.after_response(request, ctx, response)
            return response

        # Bearer-token APIs are exempt; forms get the sandbox's own CSRF cookie (sandbox.csrf).
        protected = cast(ViewFunc, sandbox_csrf_protect(wrapper)) if csrf else wrapper
        return cast(ViewFunc, csrf_exempt(protected))

    return decorate


def _handle(
    view: ViewFunc,
    request: HttpRequest,
    ctx: ApiContext,
    scopes_any: tuple[str, ...],
    auth: bool,
    policy: str | None,
    described: bool,
    kwargs: dict[str, Any],
) -> HttpResponse:
    if auth:
        denied = _authenticate(request, ctx, scopes_any)
        if denied is not None:
            return denied
    if ctx.portal is not None and policy is not None:
        limited = ratelimit.check(ctx, policy)
        if limited is not None:
            return limited
    if ctx.portal is not None:
        failed = faults.before_view(request, ctx)
        if failed is not None:
            return failed
    if described:
        invalid = contract.check_request(request, ctx)
        if invalid is not None:
            return invalid
    return view(request, ctx, **kwargs)


def _authenticate(
    request: HttpRequest, ctx: ApiContext, scopes_any: tuple[str, ...]
) -> HttpResponse | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    token = None
    if scheme.lower() == "bearer" and value.strip():
        token = (
            Token.objects.select_related("portal", "app")
            .filter(token=value.strip(), kind=Token.Kind.ACCESS, revoked=False)
            .first()
        )
    if token is None:
        return error_response(
            401,
            correlation_id=ctx.correlation_id,
            category="INVALID_AUTHENTICATION",
            message=AUTH_MESSAGE,
        )
    ctx.portal, ctx.token, ctx.client_id = token.portal, token, token.app.client_id
    if token.expires_at is not None and token.expires_at <= ctx.now:
        ago = int(ctx.now - token.expires_at)
        expired = datetime.fromtimestamp(token.expires_at, tz=UTC)
        return error_response(
            401,
            correlation_id=ctx.correlation_id,
            category="EXPIRED_AUTHENTICATION",
            message=f"The OAuth token used to make this call expired {ago} second(s) ago.",
            context={"expire time": [clock.iso(expired)]},
        )
    if scopes_any and not set(scopes_any) & set(token.scopes):
        return missing_scopes(ctx, scopes_any)
    return None
