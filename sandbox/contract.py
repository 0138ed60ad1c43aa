"""Contract checking: every request and response against HubSpot's own OpenAPI files.

Uses openapi-core with the spec files in ../shared/hubspot/spec/ (REFERENCE.md "Machine-readable
specs"). A request that breaks the spec gets HubSpot's 400 error shape. A response that breaks it
is sent anyway (that is what a buggy HubSpot would do) but is marked in the journal with a note
starting "contract: response", which the test fixture turns into a failed test. Security is not
checked here: the sandbox checks tokens and scopes itself (sandbox.api).
"""

from __future__ import annotations

import functools
import json
import logging
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from openapi_core import OpenAPI
from openapi_core.contrib.django import DjangoOpenAPIResponse
from openapi_core.datatypes import RequestParameters
from openapi_core.validation.request.validators import V30RequestValidator
from openapi_core.validation.response.validators import V30ResponseValidator
from openapi_core.validation.schemas.exceptions import InvalidSchemaValue
from openapi_schema_validator import OAS30Validator, oas30_format_checker
from werkzeug.datastructures import Headers, ImmutableMultiDict

if TYPE_CHECKING:
    from sandbox.api import ApiContext

logger = logging.getLogger(__name__)

SPEC_DIR = Path(
    os.environ.get("HUBSPOT_SPEC_DIR")
    or getattr(settings, "HUBSPOT_SPEC_DIR", "")
    or Path(settings.BASE_DIR).parent / "shared" / "hubspot" / "spec"
)
HUBSPOT_HOST = "https://api.hubapi.com"

# Path prefix -> spec file. The first match wins, so longer prefixes come first.
SPEC_FILES: list[tuple[str, str]] = [
    ("/oauth/2026-03/", "auth-oauth-2026-03.json"),
    ("/oauth/v3/", "auth-oauth-v3.json"),
    ("/crm/objects/2026-03/", "crm-objects-2026-03.json"),
    ("/crm/v3/objects/", "crm-objects-v3.json"),
    ("/crm/objects/v3/", "crm-appointments-v3.json"),
    ("/crm/properties/2026-03/", "crm-properties-2026-03.json"),
    ("/crm/v3/properties/", "crm-properties-v3.json"),
    ("/crm/associations/2026-03/", "crm-associations-schema-2026-03.json"),
    ("/crm/associations/v4/", "crm-associations-schema-v4.json"),
    ("/crm/object-library/2026-03/", "crm-object-library-2026-03.json"),
    ("/crm/v3/object-library/", "crm-object-library-v3.json"),
    ("/crm/pipelines/2026-03/", "crm-pipelines-2026-03.json"),
    ("/crm/v3/pipelines/", "crm-pipelines-v3.json"),
]


# Raw spec data by id() of the loaded spec's root, for the compiled schema validators.
_RAW: dict[int, dict[str, Any]] = {}


def _deref(node: Any, schemas: dict[str, Any], seen: tuple[str, ...] = ()) -> Any:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            name = ref.rsplit("/", 1)[-1]
            if name in seen:
                raise RecursionError(f"recursive schema {name}")
            return _deref(schemas[name], schemas, (*seen, name))
        return {key: _deref(value, schemas, seen) for key, value in node.items()}
    if isinstance(node, list):
        return [_deref(value, schemas, seen) for value in node]
    return node


_compiled: dict[tuple[int, tuple[str, ...]], OAS30Validator | None] = {}


class _CompiledSchemas:
    """Validate bodies with one cached, dereferenced validator per schema location.

    openapi-core builds a validator and resolves every ``$ref`` on each call (about 35 ms per
    100-input batch create); the same openapi-schema-validator on a dereferenced copy, kept
    per location, takes a few ms. Recursive schemas fall back to openapi-core's own path.
    """

    spec: Any

    def _validate_schema(self, schema: Any, value: Any) -> None:
        key = (id(self.spec), tuple(schema.parts))
        if key not in _compiled:
            raw = _RAW.get(id(self.spec))
            validator = None
            if raw is not None:
                with schema.resolve() as resolved:
                    contents = resolved.contents
                try:
                    schemas = raw.get("components", {}).get("schemas", {})
                    validator = OAS30Validator(
                        _deref(contents, schemas), format_checker=oas30_format_checker
                    )
                except RecursionError:
                    validator = None
            _compiled[key] = validator
        validator = _compiled[key]
        if validator is None:
            super()._validate_schema(schema, value)  # type: ignore[misc]
            return
        errors = tuple(validator.iter_errors(value))
        if errors:
            raise InvalidSchemaValue(value, str(validator.schema.get("type", "any")), errors)


class _RequestValidator(_CompiledSchemas, V30RequestValidator):
    """Parameters and body only: the sandbox authenticates by itself."""

    def _get_security(self, parameters: Any, operation: Any) -> None:
        return None


class _ResponseValidator(_CompiledSchemas, V30ResponseValidator):
    """Response data and headers, with compiled schema validators."""


class _HubSpotRequest:
    """openapi-core's request protocol for a Django request, as if sent to api.hubapi.com."""

    def __init__(self, request: HttpRequest, body: bytes) -> None:
        self.host_url = HUBSPOT_HOST
        self.path = request.path
        self.method = (request.method or "").lower()
        self.body = body
        self.content_type = request.content_type or ""
        self.parameters = RequestParameters(
            query=ImmutableMultiDict([(k, v) for k, vs in request.GET.lists() for v in vs]),
            header=Headers(list(request.headers.items())),
            cookie=ImmutableMultiDict(dict(request.COOKIES)),
            path={},
        )


_lock = threading.Lock()


def _json_errors(node: Any) -> None:
    # HubSpot's files declare the shared Error response as "*/*", which openapi-core cannot
    # deserialise; HubSpot sends it as JSON, so check it as application/json.
    if isinstance(node, dict):
        content = node.get("content")
        if isinstance(content, dict) and list(content) == ["*/*"]:
            content["application/json"] = content.pop("*/*")
        for value in node.values():
            _json_errors(value)
    elif isinstance(node, list):
        for value in node:
            _json_errors(value)


# Known differences between HubSpot's files and HubSpot's answers, patched before checking:
# schema name -> property -> patch. HubSpot sends "label": null for an unlabeled default
# association type (REFERENCE.md 3.2), where the file says a plain string.
SPEC_PATCHES: dict[str, dict[str, dict[str, Any]]] = {
    "AssociationSpecWithLabel": {"label": {"nullable": True}},
}


def _patch(data: dict[str, Any]) -> None:
    schemas = data.get("components", {}).get("schemas", {})
    for schema_name, properties in SPEC_PATCHES.items():
        for prop, patch in properties.items():
            if prop in schemas.get(schema_name, {}).get("properties", {}):
                schemas[schema_name]["properties"][prop].update(patch)


@functools.cache
def _spec(filename: str) -> OpenAPI:
    # Loading a file takes ~0.2 s; serialise the first load, then it is cached.
    with _lock:
        data = json.loads((SPEC_DIR / filename).read_text(encoding="utf-8"))
        _json_errors(data)
        _patch(data)
        api = OpenAPI.from_dict(data)
        _RAW[id(api.spec)] = data
        return api


def spec_for(path: str) -> OpenAPI | None:
    """The HubSpot spec covering ``path``, or None when none does (e.g. /oauth/authorize)."""
    for prefix, filename in SPEC_FILES:
        if path.startswith(prefix):
            return _spec(filename)
    return None


def _enabled(ctx: ApiContext) -> bool:
    return ctx.switches.contract_checking and SPEC_DIR.is_dir()


def _describe(errors: list[Exception]) -> str:
    parts = []
    for error in errors:
        causes = [str(getattr(c, "message", c)) for c in getattr(error, "schema_errors", [])]
        cause = getattr(error, "__cause__", None)
        if not causes and cause is not None:
            causes = [str(getattr(e, "message", e)) for e in getattr(cause, "schema_errors", [])]
            causes = causes or [str(cause)]
        parts.append(str(error) + (": " + "; ".join(causes) if causes else ""))
    return " | ".join(parts)[:2000]


def check_request(request: HttpRequest, ctx: ApiContext) -> HttpResponse | None:
    """Return HubSpot's 400 ``VALIDATION_ERROR`` when ``request`` breaks the spec, else None."""
    if not _enabled(ctx):
        return None
    spec = spec_for(request.path)
    if spec is None:
        return None
    validator = _RequestValidator(spec.spec)
    errors = list(validator.iter_errors(_HubSpotRequest(request, request.body)))
    if not errors:
        return None
    from sandbox.api import error_response

    message = "Invalid input: " + _describe(errors)
    ctx.note = "contract: request " + message[:180]
    return error_response(
        400, correlation_id=ctx.correlation_id, category="VALIDATION_ERROR", message=message
    )


def check_response(request: HttpRequest, response: HttpResponse, ctx: ApiContext) -> None:
    """Mark the journal entry (``ctx.note``) and log when ``response`` breaks the spec."""
    if not _enabled(ctx) or ctx.contract_exempt:
        return
    spec = spec_for(request.path)
    if spec is None:
        return
    validator = _ResponseValidator(spec.spec)
    errors = list(
        validator.iter_errors(_HubSpotRequest(request, b""), DjangoOpenAPIResponse(response))
    )
    if errors:
        detail = _describe(errors)
        ctx.note = "contract: response " + detail[:180]
        logger.error(
            "Sandbox response breaks HubSpot's spec: %s %s: %s",
            request.method,
            request.path,
            detail,
        )
