"""CRM object endpoints of the sandbox: batch create, batch read, search, single read.

Follows https://developers.hubspot.com/docs/api-reference/2026-03/crm/objects/appointments/guide
(batch create and read, read one, on the 2026-03, ``/crm/v3/objects`` and ``/crm/objects/v3``
paths) and https://developers.hubspot.com/docs/api-reference/2026-03/crm/search-the-crm.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse

from sandbox import catalog, ratelimit
from sandbox import search as crm_search
from sandbox.api import api_view
from sandbox.batch import batch_create, record_json
from sandbox.batch_checks import value_hash
from sandbox.clock import iso
from sandbox.contacts import create_contacts
from sandbox.context import ApiContext, error_response, missing_scopes, unknown_object_type
from sandbox.models import AssociationLabel, CrmRecord, PropertyDefinition, UniqueValue

_SINGULAR = {
    catalog.APPOINTMENTS: "appointment",
    catalog.CONTACTS: "contact",
    catalog.COMPANIES: "company",
    catalog.DEALS: "deal",
}
_PLURAL = {type_id: f"{name}s" for type_id, name in _SINGULAR.items()} | {
    catalog.COMPANIES: "companies"
}


def _json_body(request: HttpRequest, ctx: ApiContext) -> tuple[Any, JsonResponse | None]:
    try:
        return json.loads(request.body or b"null"), None
    except (ValueError, UnicodeDecodeError) as exc:
        return None, error_response(
            400,
            correlation_id=ctx.correlation_id,
            category="VALIDATION_ERROR",
            message=f"Invalid input JSON: {exc}",
        )


# The scope depends on the object type: checked inside, naming the one needed.
@api_view(scopes_any=(), methods=("POST",))
def create_batch(request: HttpRequest, ctx: ApiContext, object_type: str) -> HttpResponse:
    """``POST /crm/objects/2026-03/{objectType}/batch/create`` (and the v3 path), appointments
    and contacts, each needing its own write scope.

    Appointments: 201 BatchResponseSimplePublicObject; 207 ...WithErrors when every input has a
    unique ``objectWriteTraceId``; otherwise 400/409 naming the first bad input (sandbox.batch).
    Contacts: 201, or 409 for an email another contact has (sandbox.contacts).
    """
    assert ctx.portal is not None and ctx.token is not None
    type_id = catalog.object_type_id(object_type)
    if type_id not in catalog.SCOPE_WRITE:
        return unknown_object_type(ctx, object_type)
    if catalog.SCOPE_WRITE[type_id] not in ctx.token.scopes:
        return missing_scopes(ctx, (catalog.SCOPE_WRITE[type_id],))
    payload, failure = _json_body(request, ctx)
    if failure is not None:
        return failure
    if not isinstance(payload, dict):
        payload = {}
    if type_id == catalog.CONTACTS:
        outcome = create_contacts(ctx.portal, payload, now_ts=ctx.now)
    else:
        outcome = batch_create(
            ctx.portal,
            payload,
            now_ts=ctx.now,
            echo_trace_ids=ctx.switches.echo_trace_id_on_success,
            duplicate_value=ctx.switches.duplicate_value,
        )
    if outcome.error is not None:
        err = outcome.error
        return error_response(
            outcome.status,
            correlation_id=ctx.correlation_id,
            category=err.category,
            message=err.message,
            context=err.context or None,
            errors=err.errors,
        )
    return JsonResponse(outcome.body, status=outcome.status)


def _select(record: CrmRecord, names: list[str]) -> dict[str, Any]:
    # Default properties and the requested ones; unset ones are left out (the properties map
    # has string values only, no nulls: sandbox/openapi.yaml, SimplePublicObject).
    body = record_json(record)
    wanted = dict.fromkeys(["hs_object_id", "hs_createdate", "hs_lastmodifieddate", *names])
    body["properties"] = {n: record.properties[n] for n in wanted if n in record.properties}
    return body


def _by_unique_value(
    ctx: ApiContext, type_id: str, id_property: str, values: list[str]
) -> dict[str, CrmRecord] | JsonResponse:
    """The records whose unique property ``id_property`` holds one of ``values``, by value.

    A 400 ``VALIDATION_ERROR`` when ``id_property`` is not a unique-value property of the type
    (HubSpot reads by ``idProperty`` only through "a custom unique value property":
    https://developers.hubspot.com/docs/api-reference/2026-03/crm/objects/appointments/guide).
    A record created less than ``Switches.id_property_lag_seconds`` ago is not seen yet
    (UNCONFIRMED whether such reads lag: SANDBOX.md, last section).
    """
    definition = PropertyDefinition.objects.filter(
        portal=ctx.portal, object_type=type_id, name=id_property
    ).first()
    if definition is None or not definition.definition.get("hasUniqueValue"):
        return error_response(
            400,
            correlation_id=ctx.correlation_id,
            category="VALIDATION_ERROR",
            message=f"Unable to read by non-unique {type_id} property {id_property}",
        )
    by_hash = {value_hash(value): value for value in values}
    found = dict(
        UniqueValue.objects.filter(
            portal=ctx.portal, object_type=type_id, property=id_property, value_hash__in=by_hash
        ).values_list("record_id", "value_hash")
    )
    visible_before = ctx.now_dt - timedelta(seconds=ctx.switches.id_property_lag_seconds)
    records = CrmRecord.objects.filter(
        portal=ctx.portal,
        object_type=type_id,
        record_id__in=found,
        archived=False,
        created_at__lte=visible_before,
    )
    return {by_hash[found[record.record_id]]: record for record in records}


def _contacts_by_email(ctx: ApiContext, emails: list[str]) -> dict[str, CrmRecord]:
    """The contacts whose ``email`` is one of ``emails``, keyed by the value asked for.

    Email is the contacts' built-in unique identifier, so batch read takes it as
    ``idProperty`` without a custom unique property; HubSpot stores it lowercase and matches
    it whatever its case
    (https://developers.hubspot.com/docs/api-reference/2026-03/crm/objects/contacts/guide).
    """
    wanted: dict[str, list[str]] = {}
    for email in emails:
        wanted.setdefault(email.strip().lower(), []).append(email)
    found: dict[str, CrmRecord] = {}
    contacts = CrmRecord.objects.filter(
        portal=ctx.portal, object_type=catalog.CONTACTS, archived=False
    ).order_by("id")
    for record in contacts.iterator():
        for asked in wanted.get(str(record.properties.get("email", "")).lower(), []):
            found.setdefault(asked, record)
    return found


@api_view(
    scopes_any=(
        "crm.objects.appointments.read",
        "crm.objects.contacts.read",
        "crm.objects.companies.read",
        "crm.objects.deals.read",
    )
)
def read_one(
    request: HttpRequest, ctx: ApiContext, object_type: str, object_id: str
) -> HttpResponse:
    """``GET /crm/objects/2026-03/{objectType}/{objectId}``: a SimplePublicObjectWithAssociations.

    ``properties`` chooses properties (default: hs_object_id, hs_createdate,
    hs_lastmodifieddate, as the appointments guide shows) and ``associations`` adds the
    record's associations to those object types; both repeated or comma-separated.
    ``idProperty=name``: ``objectId`` is that unique-value property's value. 404
    ``OBJECT_NOT_FOUND`` for a missing record.
    """
    type_id = catalog.object_type_id(object_type)
    if type_id is None:
        return unknown_object_type(ctx, object_type)
    assert ctx.token is not None
    if catalog.SCOPE_READ[type_id] not in ctx.token.scopes:
        return missing_scopes(ctx, (catalog.SCOPE_READ[type_id],))
    id_property = request.GET.get("idProperty", "")
    if id_property:
        found = _by_unique_value(ctx, type_id, id_property, [object_id])
        if isinstance(found, JsonResponse):
            return found
        record = found.get(object_id)
    else:
        record = CrmRecord.objects.filter(
            portal=ctx.portal, object_type=type_id, record_id=object_id, archived=False
        ).first()
    if record is None:
        return error_response(
            404,
            correlation_id=ctx.correlation_id,
            category="OBJECT_NOT_FOUND",
            message="resource not found",
        )
    body = _select(record, _query_list(request, "properties"))
    associations = _associations(ctx, record, _query_list(request, "associations"))
    if associations:
        body["associations"] = associations
    return JsonResponse(body)


def _query_list(request: HttpRequest, name: str) -> list[str]:
    """A list query parameter as HubSpot reads it: repeated (``explode``) and comma-separated
    forms alike, e.g. ``properties=a&properties=b,c`` is ``[a, b, c]``."""
    values = [part.strip() for value in request.GET.getlist(name) for part in value.split(",")]
    return list(dict.fromkeys(v for v in values if v))


def _associations(ctx: ApiContext, record: CrmRecord, wanted: list[str]) -> dict[str, Any]:
    """The record's associations to the ``wanted`` object types, in HubSpot's shape:
    ``{"contacts": {"results": [{"id", "type"}]}}`` keyed by the plural name; unknown types
    are ignored and types without associations left out (SANDBOX.md)."""
    labels = {
        label.type_id: label.label
        for label in AssociationLabel.objects.filter(
            portal=ctx.portal, from_object_type=record.object_type
        )
    }
    found: dict[str, Any] = {}
    for name in wanted:
        to_type = catalog.object_type_id(name)
        if to_type is None or to_type not in _SINGULAR:
            continue
        prefix = f"{_SINGULAR[record.object_type]}_to_{_SINGULAR[to_type]}"
        results = []
        for item in record.associations:
            if item["toObjectTypeId"] != to_type:
                continue
            label = labels.get(item["associationTypeId"])
            kind = prefix if label is None else f"{prefix}_{label.lower().replace(' ', '_')}"
            entry = {"id": str(item["toObjectId"]), "type": kind}
            if entry not in results:
                results.append(entry)
        if results:
            found[_PLURAL[to_type]] = {"results": results}
    return found


@api_view(scopes_any=tuple(catalog.SCOPE_READ.values()), methods=("POST",))
def read_batch(request: HttpRequest, ctx: ApiContext, object_type: str) -> HttpResponse:
    """``POST /crm/objects/2026-03/{objectType}/batch/read``: 200, or 207 listing missing ids.

    Appointments, contacts, companies and deals, each needing its own read scope. With
    ``idProperty`` (a unique-value property), the input ``id``s are that property's values and
    the missing ones are listed as given.
    """
    type_id = catalog.object_type_id(object_type)
    if type_id is None:
        return unknown_object_type(ctx, object_type)
    assert ctx.token is not None
    if catalog.SCOPE_READ[type_id] not in ctx.token.scopes:
        return missing_scopes(ctx, (catalog.SCOPE_READ[type_id],))
    payload, failure = _json_body(request, ctx)
    if failure is not None:
        return failure
    payload = payload if isinstance(payload, dict) else {}
    inputs = payload.get("inputs") or []
    ids = [str(item.get("id")) for item in inputs if isinstance(item, dict)]
    if len(ids) > 100:
        return error_response(
            400,
            correlation_id=ctx.correlation_id,
            category="VALIDATION_ERROR",
            message=f"Too many inputs: {len(ids)}. A batch takes at most 100 inputs.",
        )
    names = [n for n in payload.get("properties") or [] if isinstance(n, str)]
    id_property = payload.get("idProperty")
    if type_id == catalog.CONTACTS and id_property == "email":
        records = _contacts_by_email(ctx, ids)
    elif isinstance(id_property, str) and id_property:
        found = _by_unique_value(ctx, type_id, id_property, ids)
        if isinstance(found, JsonResponse):
            return found
        records = found
    else:
        records = {
            r.record_id: r
            for r in CrmRecord.objects.filter(
                portal=ctx.portal, object_type=type_id, record_id__in=ids, archived=False
            )
        }
    body: dict[str, Any] = {
        "status": "COMPLETE",
        "results": [_select(records[i], names) for i in dict.fromkeys(ids) if i in records],
        "startedAt": iso(ctx.now_dt),
        "completedAt": iso(ctx.now_dt),
    }
    missing = [i for i in dict.fromkeys(ids) if i not in records]
    if not missing:
        return JsonResponse(body)
    body["numErrors"] = 1
    body["errors"] = [
        {
            "status": "error",
            "category": "OBJECT_NOT_FOUND",
            "message": f"Could not get some {_SINGULAR[type_id].upper()} objects, they may be "
            "deleted or not exist. Check that ids are valid.",
            "context": {"ids": missing},
            "errors": [],
            "links": {},
        }
    ]
    return JsonResponse(body, status=207)


@api_view(
    scopes_any=tuple(catalog.SCOPE_READ.values()), policy=ratelimit.SECONDLY, methods=("POST",)
)
def search(request: HttpRequest, ctx: ApiContext, object_type: str) -> HttpResponse:
    """``POST /crm/objects/2026-03/{objectType}/search``: filters, query, sorts, paging, over
    appointments, contacts, companies or deals (each needing its own read scope).

    Rules and limits in sandbox.search. Has its own per-second limit (``SECONDLY``), exempt
    from the 10-second one
    (https://developers.hubspot.com/docs/api-reference/2026-03/crm/search-the-crm, "Limitations").
    """
    type_id = catalog.object_type_id(object_type)
    if type_id is None:
        return unknown_object_type(ctx, object_type)
    assert ctx.token is not None
    if catalog.SCOPE_READ[type_id] not in ctx.token.scopes:
        return missing_scopes(ctx, (catalog.SCOPE_READ[type_id],))
    payload, failure = _json_body(request, ctx)
    if failure is not None:
        return failure
    assert ctx.portal is not None
    status, body = crm_search.run_search(
        ctx.portal,
        payload if isinstance(payload, dict) else {},
        now=ctx.now_dt,
        lag_seconds=ctx.switches.search_lag_seconds,
        lowercase_in=ctx.switches.search_in_lowercase,
        object_type=type_id,
    )
    if status != 200:
        return error_response(
            status, correlation_id=ctx.correlation_id, category="VALIDATION_ERROR", **body
        )
    return JsonResponse(body)
