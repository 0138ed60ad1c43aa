"""Properties API of the sandbox: ``GET /crm/properties/2026-03/{objectType}`` (and v3).

https://developers.hubspot.com/docs/api-reference/2026-03/crm/properties/get-properties
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse

from sandbox import catalog
from sandbox.api import api_view
from sandbox.context import ApiContext, unknown_object_type
from sandbox.models import PropertyDefinition


@api_view(scopes_any=catalog.SCHEMA_SCOPES)
def properties(request: HttpRequest, ctx: ApiContext, object_type: str) -> HttpResponse:
    """``GET /crm/properties/2026-03/{objectType}``: ``{"results": [Property, ...]}``.

    Only non-archived, non-sensitive properties exist in the sandbox, so ``archived=true`` or a
    sensitive ``dataSensitivity`` gives an empty list. ``properties=a,b`` filters by name.
    """
    if catalog.object_type_id(object_type) != catalog.APPOINTMENTS:
        return unknown_object_type(ctx, object_type)
    rows = PropertyDefinition.objects.filter(portal=ctx.portal, object_type=catalog.APPOINTMENTS)
    results = [row.definition for row in rows.order_by("id")]
    if request.GET.get("archived", "false").lower() == "true":
        results = []
    if request.GET.get("dataSensitivity", "non_sensitive") != "non_sensitive":
        results = []
    wanted = {n for n in request.GET.get("properties", "").split(",") if n}
    if wanted:
        results = [r for r in results if r["name"] in wanted]
    return JsonResponse({"results": results})
