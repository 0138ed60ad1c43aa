"""What every sandbox API view shares: the call's context and HubSpot's error answers.

A leaf module (it imports only the models), so the request pipeline (``sandbox.api``), its
parts (contract, faults, journal, rate limits) and the views all import it without a cycle.
Error shape: https://developers.hubspot.com/docs/api-reference/error-handling
"""

from __future__ import annotations

import contextlib
import socket
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.http import HttpRequest, JsonResponse

from sandbox.models import Portal, Switches, Token

SCOPES_MESSAGE = (
    "This app hasn't been granted all required scopes to make this call. Read more about "
    "required scopes here: https://developers.hubspot.com/scopes."
)


@dataclass
class ApiContext:
    """What a view gets besides the request: who calls, the switches, the sandbox time."""

    correlation_id: str
    switches: Switches
    now: float
    portal: Portal | None = None
    token: Token | None = None
    client_id: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    # Set by the fault switches: hold the response back after the view ran; journal note.
    hang: bool = False
    drop: bool = False
    note: str = ""

    @property
    def now_dt(self) -> datetime:
        """Sandbox time as an aware UTC datetime."""
        return datetime.fromtimestamp(self.now, tz=UTC)


def error_response(
    status: int,
    *,
    correlation_id: str,
    category: str,
    message: str,
    context: dict[str, list[str]] | None = None,
    errors: list[dict[str, Any]] | None = None,
    links: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> JsonResponse:
    """HubSpot's whole-request error body: ``{status:"error", message, correlationId, category}``.

    ``extra`` adds or overrides keys (the OAuth errors put e.g. ``BAD_AUTH_CODE`` in ``status``
    and RFC 6749 ``error``/``error_description`` beside it; SANDBOX.md, OAuth rows).
    """
    body: dict[str, Any] = {
        "status": "error",
        "message": message,
        "correlationId": correlation_id,
        "category": category,
    }
    if context is not None:
        body["context"] = context
    if errors is not None:
        body["errors"] = errors
    if links is not None:
        body["links"] = links
    body.update(extra or {})
    return JsonResponse(body, status=status)


def missing_scopes(ctx: ApiContext, scopes: tuple[str, ...]) -> JsonResponse:
    """403 ``MISSING_SCOPES`` naming the scopes (any one of them) the call needs."""
    return error_response(
        403,
        correlation_id=ctx.correlation_id,
        category="MISSING_SCOPES",
        message=SCOPES_MESSAGE,
        errors=[
            {
                "message": "One or more of the following scopes are required.",
                "context": {"requiredGranularScopes": list(scopes)},
            }
        ],
        links={"scopes": "https://developers.hubspot.com/scopes"},
    )


def unknown_object_type(ctx: ApiContext, name: str) -> JsonResponse:
    """400 for an object type the sandbox does not know (HubSpot's wording)."""
    return error_response(
        400,
        correlation_id=ctx.correlation_id,
        category="VALIDATION_ERROR",
        message=f"Unable to infer object type from: {name}",
    )


def drop_connection(request: HttpRequest) -> bool:
    """Close the client's TCP connection without a response; False when the server can't."""
    # sandbox.server puts the socket in the environ; gunicorn's workers do the same.
    sock = request.META.get("sandbox.socket") or request.META.get("gunicorn.socket")
    if not isinstance(sock, socket.socket):
        return False
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    return True
