"""Pipelines API of the sandbox: ``GET /crm/pipelines/2026-03/{objectType}`` (and v3).

https://developers.hubspot.com/docs/api-reference/2026-03/crm/pipelines/get-pipelines
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse

from sandbox import catalog
from sandbox.api import api_view
from sandbox.clock import iso
from sandbox.context import ApiContext, unknown_object_type
from sandbox.models import Pipeline


@api_view(scopes_any=catalog.SCHEMA_SCOPES)
def pipelines(request: HttpRequest, ctx: ApiContext, object_type: str) -> HttpResponse:
    """``GET /crm/pipelines/2026-03/{objectType}``: ``{"results": [Pipeline, ...]}``."""
    if catalog.object_type_id(object_type) != catalog.APPOINTMENTS:
        return unknown_object_type(ctx, object_type)
    rows = Pipeline.objects.filter(portal=ctx.portal, object_type=catalog.APPOINTMENTS)
    results = [
        {
            "id": row.pipeline_id,
            "label": row.label,
            "displayOrder": row.display_order,
            "archived": False,
            "createdAt": iso(row.created_at),
            "updatedAt": iso(row.created_at),
            "stages": row.stages,
        }
        for row in rows.order_by("display_order", "id")
    ]
    return JsonResponse({"results": results})
