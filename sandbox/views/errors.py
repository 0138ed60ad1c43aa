"""HubSpot's JSON error answers for what no sandbox endpoint serves: unknown routes, crashes.

HubSpot answers every API error as JSON ``{status, message, correlationId, category}``
(https://developers.hubspot.com/docs/api-reference/error-handling), never as a web page; the
sandbox's own pages (``/sandbox/…``) and the consent page are the only HTML it serves.
"""

from __future__ import annotations

import uuid

from django.http import HttpRequest, HttpResponse

from sandbox.api import api_view
from sandbox.context import ApiContext, error_response

ANY_METHOD = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


@api_view(auth=False, policy=None, methods=ANY_METHOD, described=False)
def unknown_route(request: HttpRequest, ctx: ApiContext, path: str = "") -> HttpResponse:
    """Any path no sandbox URL matches: 404 in HubSpot's error shape, journalled."""
    ctx.note = "no such endpoint"
    return error_response(
        404,
        correlation_id=ctx.correlation_id,
        category="OBJECT_NOT_FOUND",
        message=f"resource not found: no endpoint for {request.method} {request.path}",
    )


def server_error(request: HttpRequest) -> HttpResponse:
    """``handler500``: a crash outside the API wrapper still answers HubSpot's JSON shape."""
    correlation_id = str(uuid.uuid4())
    response = error_response(
        500,
        correlation_id=correlation_id,
        category="INTERNAL_ERROR",
        message="An internal error occurred in the HubSpot sandbox.",
    )
    response["x-hubspot-correlation-id"] = correlation_id
    return response
