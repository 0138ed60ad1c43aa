"""Association labels of the sandbox: ``GET /crm/associations/2026-03/{from}/{to}/labels``.

Also the v4 forms (``/crm/associations/v4/…``, ``/crm/v4/associations/…``). Follows
https://developers.hubspot.com/docs/api-reference/latest/crm/associations/associations-schema/guide
and https://developers.hubspot.com/docs/api-reference/crm-associations-v4/guide
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse

from sandbox import catalog
from sandbox.api import api_view
from sandbox.context import ApiContext, unknown_object_type
from sandbox.models import AssociationLabel


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
    toObjectTypeId (the v4 guide, "Retrieve association labels").
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
