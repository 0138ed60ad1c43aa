"""Object library enablement of the sandbox: is the appointments object (0-421) activated.

https://developers.hubspot.com/docs/api-reference/latest/crm/crm-data-model/guide
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse

from sandbox import catalog
from sandbox.api import api_view
from sandbox.context import ApiContext, unknown_object_type


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
