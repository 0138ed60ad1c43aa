"""CRM endpoints of the sandbox: properties, association labels, object library, pipelines.

Paths and shapes from spec/crm-properties-2026-03.json, crm-associations-schema-2026-03.json,
crm-object-library-2026-03.json and crm-pipelines-2026-03.json (REFERENCE.md 2-5).
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse

from sandbox import catalog
from sandbox.api import ApiContext, api_view, error_response
from sandbox.clock import iso
from sandbox.models import AssociationLabel, Pipeline, PropertyDefinition

SCHEMA_SCOPES = ("crm.schemas.appointments.read", "crm.objects.appointments.read")


def unknown_object_type(ctx: ApiContext, name: str) -> JsonResponse:
    """400 for an object type the sandbox does not know (HubSpot's wording)."""
    return error_response(
        400,
        correlation_id=ctx.correlation_id,
        category="VALIDATION_ERROR",
        message=f"Unable to infer object type from: {name}",
    )


@api_view(scopes_any=SCHEMA_SCOPES)
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


@api_view(
    scopes_any=(
        "crm.objects.appointments.read",
        "crm.schemas.appointments.read",
        "crm.objects.contacts.read",
    )
)
def association_labels(
    request: HttpRequest, ctx: ApiContext, from_type: str, to_type: str
) -> HttpResponse:
    """``GET /crm/associations/2026-03/{from}/{to}/labels``: ``{"results": [...]}``, no paging.

    Each item: category, typeId, label (null for the default), fromObjectTypeId,
    toObjectTypeId (REFERENCE.md 3.2).
    """
    source, target = catalog.object_type_id(from_type), catalog.object_type_id(to_type)
    if source is None:
        return unknown_object_type(ctx, from_type)
    if target is None:
        return unknown_object_type(ctx, to_type)
    rows = AssociationLabel.objects.filter(
        portal=ctx.portal, from_object_type=source, to_object_type=target
    ).order_by("id")
    results = [
        {
            "category": row.category,
            "typeId": row.type_id,
            "label": row.label,
            "fromObjectTypeId": source,
            "toObjectTypeId": target,
        }
        for row in rows
    ]
    return JsonResponse({"results": results})


@api_view(scopes_any=())
def enablement(request: HttpRequest, ctx: ApiContext, object_type: str) -> HttpResponse:
    """``GET /crm/object-library/2026-03/enablement/{objectTypeId}``: ``{"enablement": bool}``."""
    assert ctx.portal is not None
    type_id = catalog.object_type_id(object_type)
    if type_id is None:
        return unknown_object_type(ctx, object_type)
    enabled = ctx.portal.appointments_enabled if type_id == catalog.APPOINTMENTS else True
    return JsonResponse({"enablement": enabled})


@api_view(scopes_any=())
def enablement_all(request: HttpRequest, ctx: ApiContext) -> HttpResponse:
    """``GET /crm/object-library/2026-03/enablement``: ``{"enablementByObjectTypeId": {...}}``."""
    assert ctx.portal is not None
    return JsonResponse(
        {"enablementByObjectTypeId": {catalog.APPOINTMENTS: ctx.portal.appointments_enabled}}
    )


@api_view(scopes_any=SCHEMA_SCOPES)
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
