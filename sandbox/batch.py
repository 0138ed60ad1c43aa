"""Batch create of appointments, validated input by input the way HubSpot does.

Follows https://developers.hubspot.com/docs/api-reference/2026-03/crm/objects/appointments/guide
and https://developers.hubspot.com/docs/api-reference/error-handling (multi-status):
at most 100 inputs; all values strings; per-input validation;
with a unique ``objectWriteTraceId`` on every input, 201 or 207 with ``errors[]`` keyed by
``context.objectWriteTraceId``; without, one bad input fails the whole call naming only the
first; results in no particular order. Queries are per batch, not per input (benchmarks push
50 calls/s of 100 inputs through it).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db.models import F

from sandbox import catalog
from sandbox.batch_checks import InputError, simple_error, validate_inputs, value_hash
from sandbox.clock import iso
from sandbox.db import insert_rows, write_transaction
from sandbox.models import (
    AssociationLabel,
    CrmRecord,
    Owner,
    Portal,
    PropertyDefinition,
    Switches,
    UniqueValue,
)

MAX_INPUTS = 100
OWNER_PROPERTY = "hubspot_owner_id"


@dataclass
class Outcome:
    """The result of a batch create: HTTP status and HubSpot's JSON body (or a whole-call error)."""

    status: int
    body: dict[str, Any] | None = None
    error: InputError | None = None


def appointment_definitions(portal: Portal) -> dict[str, tuple[dict[str, Any], bool]]:
    """``{name: (definition, required)}`` of the portal's appointment properties, as every
    write (create, update, upsert) checks values against them: the owner property's options
    are the portal's active owners, by owner ID
    (https://developers.hubspot.com/docs/api-reference/latest/crm/owners/guide)."""
    definitions = {
        row.name: (row.definition, row.required)
        for row in PropertyDefinition.objects.filter(
            portal=portal, object_type=catalog.APPOINTMENTS
        )
    }
    if OWNER_PROPERTY in definitions:
        definition, required = definitions[OWNER_PROPERTY]
        owners = Owner.objects.filter(portal=portal, archived=False)
        options = [{"value": o.owner_id, "label": o.email} for o in owners]
        definitions[OWNER_PROPERTY] = ({**definition, "options": options}, required)
    return definitions


def batch_create(
    portal: Portal,
    payload: dict[str, Any],
    *,
    now_ts: float,
    echo_trace_ids: bool,
    duplicate_value: str = Switches.DuplicateValue.PER_INPUT,
) -> Outcome:
    """Validate and create ``payload["inputs"]`` as appointments of ``portal``.

    ``payload`` is the parsed JSON body (BatchInputSimplePublicObjectBatchInputForCreate).
    ``duplicate_value`` (``Switches.DuplicateValue``, UNCONFIRMED in SANDBOX.md): how an input
    whose unique value is taken fails when every input is traced: alone in a 207, with or
    without its ``objectWriteTraceId``, or the whole call (409, nothing created).
    Returns an ``Outcome``: 201/207 with a BatchResponseSimplePublicObject(WithErrors) body, or
    a whole-call ``InputError`` (400, or 409 for a unique-value conflict).
    """
    started = datetime.fromtimestamp(now_ts, tz=UTC)
    inputs = payload.get("inputs")
    if not isinstance(inputs, list) or not all(isinstance(item, dict) for item in inputs):
        return Outcome(400, error=simple_error("inputs must be a list of objects."))
    if len(inputs) > MAX_INPUTS:
        message = f"Too many inputs: {len(inputs)}. A batch takes at most {MAX_INPUTS} inputs."
        return Outcome(400, error=simple_error(message))
    if not portal.appointments_enabled:
        message = (
            "The appointments object (0-421) is not activated in this account. Activate it in "
            "the object library before creating records."
        )
        return Outcome(400, error=simple_error(message))
    trace_ids = [item.get("objectWriteTraceId") for item in inputs]
    traced = all(isinstance(t, str) and t for t in trace_ids) and len(set(trace_ids)) == len(
        trace_ids
    )
    definitions = appointment_definitions(portal)
    labels = {
        row.type_id: row
        for row in AssociationLabel.objects.filter(
            portal=portal, from_object_type=catalog.APPOINTMENTS
        )
    }
    with write_transaction():
        errors, cleaned = validate_inputs(portal, inputs, definitions, labels)
        if not traced and errors:
            first = min(errors)
            return Outcome(errors[first].http_status, error=errors[first])
        conflicts = [i for i, err in errors.items() if err.category == "CONFLICT"]
        if conflicts and duplicate_value == Switches.DuplicateValue.WHOLE_CALL:
            return Outcome(409, error=errors[min(conflicts)])
        if conflicts and duplicate_value == Switches.DuplicateValue.WHOLE_CALL_UNNAMED:
            # HubSpot's wording for this refusal is undocumented: a bare conflict, no names.
            message = "Conflict: a unique value is already taken."
            return Outcome(
                409, error=InputError("CONFLICT", message, [{"message": message}], http_status=409)
            )
        valid = [i for i in range(len(inputs)) if i not in errors]
        unique_names = [n for n, (d, _) in definitions.items() if d.get("hasUniqueValue")]
        results = _create(
            portal, [cleaned[i] for i in valid], started, unique_names, echo_trace_ids
        )
    completed = datetime.fromtimestamp(max(now_ts, started.timestamp()), tz=UTC)
    random.shuffle(results)
    body: dict[str, Any] = {
        "status": "COMPLETE",
        "results": results,
        "requestedAt": iso(started),
        "startedAt": iso(started),
        "completedAt": iso(completed),
    }
    if not errors:
        return Outcome(201, body)
    body["numErrors"] = len(errors)
    body["errors"] = [
        {
            "status": "error",
            "category": err.category,
            "message": err.message,
            "context": _error_context(err, str(trace_ids[i]), duplicate_value),
            "errors": err.errors,
            "links": {},
        }
        for i, err in sorted(errors.items())
    ]
    return Outcome(207, body)


def _error_context(err: InputError, trace_id: str, duplicate_value: str) -> dict[str, list[str]]:
    if err.category == "CONFLICT" and duplicate_value == Switches.DuplicateValue.PER_INPUT_UNTRACED:
        return dict(err.context)
    return {**err.context, "objectWriteTraceId": [trace_id]}


def record_json(record: CrmRecord, *, echo_trace_id: bool = False) -> dict[str, Any]:
    """A ``SimplePublicObject`` (crm-objects-2026-03.json) for ``record``."""
    body: dict[str, Any] = {
        "id": record.record_id,
        "properties": dict(record.properties),
        "createdAt": iso(record.created_at),
        "updatedAt": iso(record.updated_at),
        "archived": record.archived,
    }
    if echo_trace_id and record.object_write_trace_id:
        body["objectWriteTraceId"] = record.object_write_trace_id
    return body


def _create(
    portal: Portal,
    cleaned: list[dict[str, Any]],
    when: datetime,
    unique_names: list[str],
    echo_trace_ids: bool,
) -> list[dict[str, Any]]:
    """Store ``cleaned`` inputs as appointments; returns their SimplePublicObjects."""
    if not cleaned:
        return []
    count = len(cleaned)
    Portal.objects.filter(pk=portal.pk).update(next_record_id=F("next_record_id") + count)
    last = Portal.objects.values_list("next_record_id", flat=True).get(pk=portal.pk)
    stamp = iso(when)
    rows = []
    results = []
    for offset, data in enumerate(cleaned):
        record_id = str(last - count + offset)
        props = {
            **data["properties"],
            "hs_object_id": record_id,
            "hs_createdate": stamp,
            "hs_lastmodifieddate": stamp,
        }
        rows.append(
            {
                "record_id": record_id,
                "properties": props,
                "associations": data["associations"],
                "object_write_trace_id": data["trace"],
            }
        )
        # Like record_json; props is serialised by the insert below before anyone changes it.
        result = {
            "id": record_id,
            "properties": props,
            "createdAt": stamp,
            "updatedAt": stamp,
            "archived": False,
        }
        if echo_trace_ids and data["trace"]:
            result["objectWriteTraceId"] = data["trace"]
        results.append(result)
    constants = {
        "portal_id": portal.pk,
        "object_type": catalog.APPOINTMENTS,
        "created_at": when,
        "updated_at": when,
        "archived": False,
    }
    insert_rows(CrmRecord, constants, rows)
    UniqueValue.objects.bulk_create(
        UniqueValue(
            portal=portal,
            object_type=catalog.APPOINTMENTS,
            property=name,
            value_hash=value_hash(row["properties"][name]),
            record_id=row["record_id"],
        )
        for row in rows
        for name in unique_names
        if name in row["properties"]
    )
    return results
