"""Batch update and upsert of the sandbox: new values for existing appointments, by record ID
or by a unique-value property (created when none holds it).

Follows https://developers.hubspot.com/docs/api-reference/2026-03/crm/objects/appointments/guide
("Update appointments": ``POST /crm/objects/2026-03/0-421/batch/update``,
``{"inputs": [{"id", "properties"}]}``, at most 100; the answer is a batch response of the
records with their new values) and
https://developers.hubspot.com/docs/api-reference/2026-03/crm/objects/custom-objects/batch/upsert-custom-objects
("Create or update a batch of objects by unique property values": ``idProperty`` and ``id``
per input, each result with ``new``).
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse

from sandbox import catalog
from sandbox.api import api_view
from sandbox.batch import appointment_definitions, batch_create, record_json
from sandbox.batch_checks import check_properties, value_hash
from sandbox.clock import iso
from sandbox.context import ApiContext, error_response, unknown_object_type
from sandbox.db import write_transaction
from sandbox.models import CrmRecord, UniqueValue


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
    # An update names only what it changes: no property is required.
    definitions = {
        name: (definition, False)
        for name, (definition, _required) in appointment_definitions(ctx.portal).items()
    }
    changes: dict[str, dict[str, str]] = {}
    cleared: dict[str, set[str]] = {}
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
        # "Properties values can be cleared by passing an empty string" (the batch update
        # reference, https://developers.hubspot.com/docs/api-reference/2026-03/crm/objects/contacts/batch/update-contacts).
        cleared.setdefault(record_id, set()).update(
            name for name, value in (item.get("properties") or {}).items() if value == ""
        )
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
            kept = {k: v for k, v in record.properties.items() if k not in cleared[record_id]}
            record.properties = {**kept, **values, "hs_lastmodifieddate": stamp}
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


@api_view(scopes_any=("crm.objects.appointments.write",), methods=("POST",))
def upsert_batch(request: HttpRequest, ctx: ApiContext, object_type: str) -> HttpResponse:
    """``POST /crm/objects/2026-03/{objectType}/batch/upsert`` for appointments: create or update
    by a unique-value property.

    Each input names ``idProperty`` (a unique-value property; otherwise 400) and ``id`` (its
    value). An appointment holding that value is updated (its values checked as an update's)
    and answered with ``new: false``; the others are created with ``idProperty`` = ``id`` as a
    batch create makes them, ``new: true``. A value given twice in one call: 400. Answers 200
    with every result (``BatchResponseSimplePublicUpsertObject``); a create refused as a create
    would be answers as the create does (400/409), nothing written.
    """
    assert ctx.portal is not None
    if catalog.object_type_id(object_type) != catalog.APPOINTMENTS:
        return unknown_object_type(ctx, object_type)
    try:
        payload = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError) as exc:
        return _bad(ctx, f"Invalid input JSON: {exc}")
    inputs = payload.get("inputs") if isinstance(payload, dict) else None
    if not isinstance(inputs, list) or not all(isinstance(i, dict) for i in inputs):
        return _bad(ctx, "Invalid input JSON: inputs must be a list of objects.")
    if len(inputs) > 100:
        return _bad(ctx, f"Too many inputs: {len(inputs)}. A batch takes at most 100 inputs.")
    definitions = {
        name: definition
        for name, (definition, _required) in appointment_definitions(ctx.portal).items()
    }
    keys = [(str(i.get("idProperty", "")), str(i.get("id", ""))) for i in inputs]
    for name, value in keys:
        if not definitions.get(name, {}).get("hasUniqueValue") or not value:
            return _bad(ctx, f"idProperty {name!r} is not a unique-value appointment property.")
    if len(set(keys)) != len(keys):
        return _bad(ctx, "Duplicate IDs found in batch input: each id may appear once.")
    with write_transaction():
        existing = {
            (row.property, row.value_hash): row.record_id
            for row in UniqueValue.objects.filter(
                portal=ctx.portal,
                object_type=catalog.APPOINTMENTS,
                value_hash__in=[value_hash(v) for _, v in keys],
            )
        }
        found = {
            index: existing[(name, value_hash(value))]
            for index, (name, value) in enumerate(keys)
            if (name, value_hash(value)) in existing
        }
        records = {
            r.record_id: r
            for r in CrmRecord.objects.filter(
                portal=ctx.portal, record_id__in=found.values(), archived=False
            )
        }
        updates: dict[int, dict[str, str]] = {}
        for index, record_id in found.items():
            if record_id not in records:
                return _bad(ctx, f"Input {index}: the record holding that value is archived.")
            values, problems = check_properties(
                inputs[index].get("properties"), {n: (d, False) for n, d in definitions.items()}
            )
            if problems or any(definitions[n].get("hasUniqueValue") for n in values):
                return _bad(ctx, f"Input {index} is not valid: {json.dumps(problems)}")
            updates[index] = values
        new = [i for i in range(len(inputs)) if i not in found]
        created: list[dict[str, Any]] = []
        if new:
            outcome = batch_create(
                ctx.portal,
                {
                    "inputs": [
                        {
                            "properties": {
                                **(inputs[i].get("properties") or {}),
                                keys[i][0]: keys[i][1],
                            },
                            **(
                                {"associations": inputs[i]["associations"]}
                                if "associations" in inputs[i]
                                else {}
                            ),
                        }
                        for i in new
                    ]
                },
                now_ts=ctx.now,
                echo_trace_ids=False,
            )
            if outcome.error is not None or outcome.status != 201 or outcome.body is None:
                err = outcome.error
                return error_response(
                    outcome.status if outcome.status >= 400 else 400,
                    correlation_id=ctx.correlation_id,
                    category=err.category if err else "VALIDATION_ERROR",
                    message=err.message if err else "Some inputs could not be created.",
                )
            created = [{**body, "new": True} for body in outcome.body["results"]]
        stamp = iso(ctx.now_dt)
        updated = []
        for index, values in updates.items():
            record = records[found[index]]
            record.properties = {**record.properties, **values, "hs_lastmodifieddate": stamp}
            record.updated_at = ctx.now_dt
            record.save(update_fields=["properties", "updated_at"])
            updated.append({**record_json(record), "new": False})
    return JsonResponse(
        {
            "status": "COMPLETE",
            "results": updated + created,
            "startedAt": iso(ctx.now_dt),
            "completedAt": iso(ctx.now_dt),
        }
    )
