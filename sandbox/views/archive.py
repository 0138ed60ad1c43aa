"""Batch archive of the sandbox: records move to the recycling bin (hidden, restorable).

Follows https://developers.hubspot.com/docs/api-reference/2026-03/crm/objects/custom-objects/batch/delete-custom-objects
("Archive a batch of objects by ID": ``POST /crm/objects/2026-03/{objectType}/batch/archive``,
``{"inputs": [{"id": ...}]}``, 204 with no body) and HubSpot's recycling bin, from which a
deleted record can be restored for 90 days
(https://knowledge.hubspot.com/records/restore-deleted-records).
"""

from __future__ import annotations

import json

from django.http import HttpRequest, HttpResponse

from sandbox import catalog
from sandbox.api import api_view
from sandbox.context import ApiContext, error_response, unknown_object_type
from sandbox.models import CrmRecord


@api_view(scopes_any=("crm.objects.appointments.write",), methods=("POST",))
def archive_batch(request: HttpRequest, ctx: ApiContext, object_type: str) -> HttpResponse:
    """``POST /crm/objects/2026-03/{objectType}/batch/archive`` for appointments: 204.

    Idempotent: an ID already archived, or no record at all, changes nothing and still
    answers 204. Archived records are kept (``archived`` true, ``updated_at`` the archive
    time) and hidden from reads and search; ``restore`` brings one back. More than 100 inputs:
    400 ``VALIDATION_ERROR``.
    """
    assert ctx.portal is not None
    if catalog.object_type_id(object_type) != catalog.APPOINTMENTS:
        return unknown_object_type(ctx, object_type)
    try:
        payload = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError) as exc:
        return error_response(
            400,
            correlation_id=ctx.correlation_id,
            category="VALIDATION_ERROR",
            message=f"Invalid input JSON: {exc}",
        )
    inputs = payload.get("inputs") if isinstance(payload, dict) else None
    inputs = inputs if isinstance(inputs, list) else []
    ids = [str(item.get("id")) for item in inputs if isinstance(item, dict)]
    if len(ids) > 100:
        return error_response(
            400,
            correlation_id=ctx.correlation_id,
            category="VALIDATION_ERROR",
            message=f"Too many inputs: {len(ids)}. A batch takes at most 100 inputs.",
        )
    CrmRecord.objects.filter(
        portal=ctx.portal, object_type=catalog.APPOINTMENTS, record_id__in=ids, archived=False
    ).update(archived=True, updated_at=ctx.now_dt)
    return HttpResponse(status=204)


def restore(*, hub_id: int, record_ids: list[str]) -> int:
    """Bring archived appointments of portal ``hub_id`` back from the recycling bin, as a
    person does in HubSpot within 90 days; returns how many came back."""
    return CrmRecord.objects.filter(
        portal__hub_id=hub_id,
        object_type=catalog.APPOINTMENTS,
        record_id__in=record_ids,
        archived=True,
    ).update(archived=False)
