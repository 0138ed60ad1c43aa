"""Properties API of the sandbox: ``GET``/``POST /crm/properties/2026-03/{objectType}`` (and v3).

Reading: https://developers.hubspot.com/docs/api-reference/2026-03/crm/properties/get-properties;
creating one: https://developers.hubspot.com/docs/api/crm/properties ("Create a property",
"Create unique identifier properties").
"""

from __future__ import annotations

import json

from django.http import HttpRequest, HttpResponse, JsonResponse

from sandbox import catalog
from sandbox.api import api_view
from sandbox.context import ApiContext, error_response, missing_scopes, unknown_object_type
from sandbox.models import PropertyDefinition

# Creating a property needs the object type's schema write scope.
SCHEMA_WRITE_SCOPE = {catalog.APPOINTMENTS: "crm.schemas.appointments.write"}


# Reading the properties of contacts, companies or deals: that object's schema or read scope
# (https://developers.hubspot.com/docs/api-reference/2026-03/crm/properties/get-properties).
RECORD_SCHEMA_SCOPES = {
    catalog.CONTACTS: ("crm.schemas.contacts.read", "crm.objects.contacts.read"),
    catalog.COMPANIES: ("crm.schemas.companies.read", "crm.objects.companies.read"),
    catalog.DEALS: ("crm.schemas.deals.read", "crm.objects.deals.read"),
}


@api_view(
    scopes_any=(
        *catalog.SCHEMA_SCOPES,
        *SCHEMA_WRITE_SCOPE.values(),
        *(scope for scopes in RECORD_SCHEMA_SCOPES.values() for scope in scopes),
    ),
    methods=("GET", "POST"),
)
def properties(request: HttpRequest, ctx: ApiContext, object_type: str) -> HttpResponse:
    """``GET /crm/properties/2026-03/{objectType}``: ``{"results": [Property, ...]}``, for
    appointments, contacts, companies and deals (each with its own scopes: 403
    ``MISSING_SCOPES`` otherwise). ``hasUniqueValue`` says which properties records can be
    read by (``idProperty``).

    Only non-archived, non-sensitive properties exist in the sandbox, so ``archived=true`` or a
    sensitive ``dataSensitivity`` gives an empty list. ``properties=a,b`` filters by name.
    ``POST`` (appointments only): ``property_create``.
    """
    type_id = catalog.object_type_id(object_type)
    if type_id not in (catalog.APPOINTMENTS, *RECORD_SCHEMA_SCOPES):
        return unknown_object_type(ctx, object_type)
    assert ctx.token is not None
    if type_id in RECORD_SCHEMA_SCOPES:
        needed = RECORD_SCHEMA_SCOPES[type_id]
        if request.method != "GET" or not set(needed) & set(ctx.token.scopes):
            return missing_scopes(ctx, needed)
    elif request.method == "POST":
        return property_create(request, ctx)
    elif not {*catalog.SCHEMA_SCOPES, *SCHEMA_WRITE_SCOPE.values()} & set(ctx.token.scopes):
        return missing_scopes(ctx, (*catalog.SCHEMA_SCOPES, *SCHEMA_WRITE_SCOPE.values()))
    rows = PropertyDefinition.objects.filter(portal=ctx.portal, object_type=type_id)
    results = [row.definition for row in rows.order_by("id")]
    if request.GET.get("archived", "false").lower() == "true":
        results = []
    if request.GET.get("dataSensitivity", "non_sensitive") != "non_sensitive":
        results = []
    wanted = {n for n in request.GET.get("properties", "").split(",") if n}
    if wanted:
        results = [r for r in results if r["name"] in wanted]
    return JsonResponse({"results": results})


def property_create(request: HttpRequest, ctx: ApiContext) -> HttpResponse:
    """``POST /crm/properties/2026-03/0-421`` with a ``PropertyCreate`` body: 201 ``Property``.

    403 ``MISSING_SCOPES`` without ``crm.schemas.appointments.write``; 409 for a name already
    taken; with ``hasUniqueValue: true`` while the switch ``unique_properties_allowed`` is off,
    400 ``VALIDATION_ERROR`` (UNCONFIRMED whether 0-421 takes unique-value properties:
    SANDBOX.md, last section). The body's shape is checked by the contract before this runs.
    """
    assert ctx.token is not None and ctx.portal is not None
    scope = SCHEMA_WRITE_SCOPE[catalog.APPOINTMENTS]
    if scope not in ctx.token.scopes:
        return missing_scopes(ctx, (scope,))
    try:
        body = json.loads(request.body)
    except ValueError:
        body = None
    required = ("name", "label", "type", "fieldType", "groupName")
    # Checked here too: benchmarks turn the contract off.
    if not isinstance(body, dict) or not all(isinstance(body.get(k), str) for k in required):
        return error_response(
            400,
            correlation_id=ctx.correlation_id,
            category="VALIDATION_ERROR",
            message="A property needs name, label, type, fieldType and groupName (strings).",
        )
    name = body["name"]
    if PropertyDefinition.objects.filter(
        portal=ctx.portal, object_type=catalog.APPOINTMENTS, name=name
    ).exists():
        return error_response(
            409,
            correlation_id=ctx.correlation_id,
            category="OBJECT_ALREADY_EXISTS",
            message=f"Property named '{name}' already exists.",
        )
    unique = bool(body.get("hasUniqueValue"))
    if unique and not ctx.switches.unique_properties_allowed:
        return error_response(
            400,
            correlation_id=ctx.correlation_id,
            category="VALIDATION_ERROR",
            message=(
                f"Property '{name}' cannot have unique values: object type "
                f"{catalog.APPOINTMENTS} does not support unique value properties."
            ),
        )
    definition = catalog.prop(
        name,
        str(body["label"]),
        str(body["type"]),
        str(body["fieldType"]),
        unique=unique,
        hubspot_defined=False,
        description=str(body.get("description") or ""),
    )
    definition["groupName"] = str(body["groupName"])
    PropertyDefinition.objects.create(
        portal=ctx.portal,
        object_type=catalog.APPOINTMENTS,
        name=name,
        definition=definition,
    )
    return JsonResponse(definition, status=201)
