"""Batch update of the sandbox: new values for existing appointments, by record ID.

Follows https://developers.hubspot.com/docs/api-reference/2026-03/crm/objects/appointments/guide
("Update appointments": ``POST /crm/objects/2026-03/0-421/batch/update``,
``{"inputs": [{"id", "properties"}]}``, at most 100; the answer is a batch response of the
records with their new values).
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse

from sandbox import catalog
from sandbox.api import api_view
from sandbox.batch import record_json
from sandbox.batch_checks import check_properties
from sandbox.clock import iso
from sandbox.context import ApiContext, error_response, unknown_object_type
from sandbox.db import write_transaction
from sandbox.models import CrmRecord, PropertyDefinition


def _bad(ctx: ApiContext, message: str) -> JsonResponse:
    return error_response(
        400, correlation_id=ctx.correlation_id, category="VALIDATION_ERROR", message=message
    )


@api_view(scopes_any=("crm.objects.appointments.write",), methods=("POST",))
def update_batch(request: HttpRequest, ctx: ApiContext, object_type: str) -> HttpResponse:
    """``POST /crm/objects/2026-03/{objectType}/batch/update`` for appointments.

    Every value is checked as a create checks it (unknown property, bad option or date,
    read-only); one bad input fails the whole call (400 ``VALIDATION_ERROR`` naming it) and
    nothing is written. Unique-value properties cannot be changed here (400). IDs that are no
    appointment of the portal (or archived) are listed in a 207's ``errors[0].context.ids``; the
    others are updated (``hs_lastmodifieddate`` and ``updatedAt`` the sandbox time; search sees
    the new values after ``search_lag_seconds``). 200 when every ID was found.
    """
    assert ctx.portal is not None
    if catalog.object_type_id(object_type) != catalog.APPOINTMENTS:
        return unknown_object_type(ctx, object_type)
    try:
        payload = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError) as exc:
        return _bad(ctx, f"Invalid input JSON: {exc}")
    inputs = payload.get("inputs") if isinstance(payload, dict) else None
    if not isinstance(inputs, list):
        return _bad(ctx, "Invalid input JSON: inputs must be a list.")
    if len(inputs) > 100:
        return _bad(ctx, f"Too many inputs: {len(inputs)}. A batch takes at most 100 inputs.")
    definitions = {
        row.name: (row.definition, False)
        for row in PropertyDefinition.objects.filter(
            portal=ctx.portal, object_type=catalog.APPOINTMENTS
        )
    }
    changes: dict[str, dict[str, str]] = {}
    for index, item in enumerate(inputs):
        record_id = str(item.get("id", "")) if isinstance(item, dict) else ""
        values, problems = check_properties(
            item.get("properties") if isinstance(item, dict) else None, definitions
        )
        unique = [n for n in values if definitions[n][0].get("hasUniqueValue")]
        if problems or unique or not record_id:
            reason = json.dumps(problems) if problems else f"unique-value properties {unique}"
            return _bad(ctx, f"Input {index} (id {record_id or 'missing'}) is not valid: {reason}")
        changes.setdefault(record_id, {}).update(values)
    with write_transaction():
        records = {
            r.record_id: r
            for r in CrmRecord.objects.filter(
                portal=ctx.portal,
                object_type=catalog.APPOINTMENTS,
                record_id__in=changes,
                archived=False,
            )
        }
        stamp = iso(ctx.now_dt)
        for record_id, values in changes.items():
            record = records.get(record_id)
            if record is None:
                continue
            record.properties = {**record.properties, **values, "hs_lastmodifieddate": stamp}
            record.updated_at = ctx.now_dt
            record.save(update_fields=["properties", "updated_at"])
    body: dict[str, Any] = {
        "status": "COMPLETE",
        "results": [record_json(records[i]) for i in changes if i in records],
        "startedAt": iso(ctx.now_dt),
        "completedAt": iso(ctx.now_dt),
    }
    missing = [i for i in changes if i not in records]
    if not missing:
        return JsonResponse(body)
    body["numErrors"] = 1
    body["errors"] = [
        {
            "status": "error",
            "category": "OBJECT_NOT_FOUND",
            "message": "Could not get some APPOINTMENT objects, they may be deleted or not exist. "
            "Check that ids are valid.",
            "context": {"ids": missing},
            "errors": [],
            "links": {},
        }
    ]
    return JsonResponse(body, status=207)
