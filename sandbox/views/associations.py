"""Associations of the sandbox: ``GET /crm/associations/2026-03/{from}/{to}/labels`` and
``POST /crm/associations/2026-03/{from}/{to}/batch/read``.

Also the v4 forms (``/crm/associations/v4/…``, ``/crm/v4/associations/…``). Follows
https://developers.hubspot.com/docs/api-reference/latest/crm/associations/associations-schema/guide
and https://developers.hubspot.com/docs/api-reference/crm-associations-v4/guide
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse

from sandbox import catalog
from sandbox.api import api_view
from sandbox.clock import iso
from sandbox.context import ApiContext, error_response, unknown_object_type
from sandbox.models import AssociationLabel, CrmRecord


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


# "Any batch read requests submitted to the Associations API may not exceed 1000 IDs per request
# body" (https://developers.hubspot.com/changelog/bug-fix-batch-read-limit-for-hubspot-associations-api).
MAX_READ_INPUTS = 1000
# Associations listed per record before its ``paging.next.after`` (UNCONFIRMED; SANDBOX.md).
ASSOCIATIONS_PAGE = 500


@api_view(
    scopes_any=tuple(catalog.SCOPE_READ.values()),
    methods=("POST",),
)
def read_associations_batch(
    request: HttpRequest, ctx: ApiContext, from_type: str, to_type: str
) -> HttpResponse:
    """``POST /crm/associations/2026-03/{from}/{to}/batch/read``: each input ``{"id", "after"?}``
    gets ``{"from": {"id"}, "to": [{"toObjectId", "associationTypes": [{category, typeId,
    label}]}], "paging"?}``, one entry per associated record with all its types
    (https://developers.hubspot.com/docs/api-reference/2026-03/crm/associations/associate-records/batch/get-associations).
    At most 1,000 inputs (400 beyond); an input with no association (or no such record) is
    left out of ``results`` and listed in a 207's ``errors`` (UNCONFIRMED wording; SANDBOX.md).
    Only the appointment side is stored, so only ``from`` appointments have associations.
    """
    source, target = catalog.object_type_id(from_type), catalog.object_type_id(to_type)
    if source is None:
        return unknown_object_type(ctx, from_type)
    if target is None:
        return unknown_object_type(ctx, to_type)
    try:
        payload = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError) as exc:
        return error_response(
            400,
            correlation_id=ctx.correlation_id,
            category="VALIDATION_ERROR",
            message=f"Invalid input JSON: {exc}",
        )
    inputs = [i for i in (payload or {}).get("inputs") or [] if isinstance(i, dict)]
    if len(inputs) > MAX_READ_INPUTS:
        return error_response(
            400,
            correlation_id=ctx.correlation_id,
            category="VALIDATION_ERROR",
            message=f"Too many inputs: {len(inputs)}. A batch read of associations takes at most "
            f"{MAX_READ_INPUTS} ids.",
        )
    labels = {
        row.type_id: (row.category, row.label)
        for row in AssociationLabel.objects.filter(
            portal=ctx.portal, from_object_type=source, to_object_type=target
        )
    }
    ids = [str(i.get("id")) for i in inputs]
    records = {
        r.record_id: r
        for r in CrmRecord.objects.filter(
            portal=ctx.portal, object_type=source, record_id__in=ids, archived=False
        )
    }
    results: list[dict[str, Any]] = []
    missing: list[str] = []
    for item in inputs:
        record_id = str(item.get("id"))
        record = records.get(record_id)
        linked: dict[str, list[dict[str, Any]]] = {}
        for link in record.associations if record is not None else []:
            if link["toObjectTypeId"] != target:
                continue
            category, label = labels.get(
                link["associationTypeId"], (link["associationCategory"], None)
            )
            kind = {"category": category, "typeId": link["associationTypeId"], "label": label}
            kinds = linked.setdefault(str(link["toObjectId"]), [])
            if kind not in kinds:
                kinds.append(kind)
        if not linked:
            missing.append(record_id)
            continue
        try:
            offset = int(item.get("after") or 0)
        except (TypeError, ValueError):
            offset = 0
        page = list(linked.items())[offset : offset + ASSOCIATIONS_PAGE]
        entry: dict[str, Any] = {
            "from": {"id": record_id},
            "to": [{"toObjectId": to_id, "associationTypes": kinds} for to_id, kinds in page],
        }
        if offset + ASSOCIATIONS_PAGE < len(linked):
            entry["paging"] = {"next": {"after": str(offset + ASSOCIATIONS_PAGE)}}
        results.append(entry)
    body: dict[str, Any] = {
        "status": "COMPLETE",
        "results": results,
        "startedAt": iso(ctx.now_dt),
        "completedAt": iso(ctx.now_dt),
    }
    if not missing:
        return JsonResponse(body)
    body["numErrors"] = len(missing)
    body["errors"] = [
        {
            "status": "error",
            "category": "OBJECT_NOT_FOUND",
            "message": f"No {to_type} is associated with {from_type} {record_id}.",
            "context": {"fromObjectId": [record_id]},
            "errors": [],
            "links": {},
        }
        for record_id in missing
    ]
    return JsonResponse(body, status=207)
