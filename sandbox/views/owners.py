"""Owners endpoint of the sandbox: ``GET /crm/owners/2026-03`` (and ``/crm/owners/v3``).

Follows https://developers.hubspot.com/docs/api-reference/latest/crm/owners/guide: a paged list
(``limit``, default 100, at most 500; ``after``), filtered by ``email``; ``archived=true`` lists
the deactivated owners instead of the active ones. Scope ``crm.objects.owners.read``.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse

from sandbox.api import api_view
from sandbox.clock import iso
from sandbox.context import ApiContext, error_response
from sandbox.models import Owner

DEFAULT_LIMIT = 100
MAX_LIMIT = 500


def owner_json(owner: Owner) -> dict[str, Any]:
    """One ``PublicOwner``: ``id`` (what ``hubspot_owner_id`` holds), ``userId``, names,
    ``email``, ``archived``, ``teams``."""
    return {
        "id": owner.owner_id,
        "email": owner.email,
        "type": "PERSON",
        "firstName": owner.first_name,
        "lastName": owner.last_name,
        "userId": owner.user_id,
        "userIdIncludingInactive": owner.user_id,
        "createdAt": iso(owner.created_at),
        "updatedAt": iso(owner.updated_at),
        "archived": owner.archived,
        "teams": [],
    }


@api_view(scopes_any=("crm.objects.owners.read",))
def owners(request: HttpRequest, ctx: ApiContext) -> HttpResponse:
    """``GET /crm/owners/2026-03``: ``{"results": [PublicOwner], "paging"?: {"next": {"after"}}}``,
    active owners (or, with ``archived=true``, deactivated ones) in a stable order; 400
    ``VALIDATION_ERROR`` for a ``limit`` outside 1-500 or a bad ``after``."""
    try:
        limit = int(request.GET.get("limit") or DEFAULT_LIMIT)
        offset = int(request.GET.get("after") or 0)
    except ValueError:
        limit, offset = 0, -1
    if not 0 < limit <= MAX_LIMIT or offset < 0:
        return error_response(
            400,
            correlation_id=ctx.correlation_id,
            category="VALIDATION_ERROR",
            message=f"limit must be between 1 and {MAX_LIMIT}, and after a cursor from paging.",
        )
    archived = request.GET.get("archived", "false").lower() == "true"
    found = Owner.objects.filter(portal=ctx.portal, archived=archived)
    email = request.GET.get("email", "").strip()
    if email:
        found = found.filter(email__iexact=email)
    page = list(found[offset : offset + limit + 1])
    body: dict[str, Any] = {"results": [owner_json(owner) for owner in page[:limit]]}
    if len(page) > limit:
        body["paging"] = {"next": {"after": str(offset + limit)}}
    return JsonResponse(body)
