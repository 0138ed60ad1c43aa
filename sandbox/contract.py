"""Contract checking: every request and response against the project's own OpenAPI description.

The description is ``sandbox/openapi.yaml``, written from HubSpot's public documentation
(SANDBOX.md, "Contract"); openapi-core checks the traffic against it, always, unless the
``contract_checking`` switch is off (benchmarks). A request that breaks it gets HubSpot's 400
error shape. A response that breaks it is sent anyway (that is what a buggy HubSpot would do)
but is marked in the journal with a note starting "contract: response", which the test fixture
turns into a failed test. Security is not checked here: the sandbox checks tokens and scopes
itself (sandbox.api).

``load`` and ``exchange_errors`` also serve the optional cross-check against HubSpot's own
files (tests/sandbox/test_contract_crosscheck.py), which reads them; this module reads nothing
outside the repository.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from django.http import HttpRequest, HttpResponse
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_core.validation.request.validators import V30RequestValidator
from openapi_core.validation.response.validators import V30ResponseValidator
from openapi_core.validation.schemas.exceptions import InvalidSchemaValue
from openapi_schema_validator import OAS30Validator, oas30_format_checker
from werkzeug.datastructures import Headers, ImmutableMultiDict

from sandbox.context import ApiContext, error_response

logger = logging.getLogger(__name__)

SPEC_PATH = Path(__file__).resolve().with_name("openapi.yaml")
HUBSPOT_HOST = "https://api.hubapi.com"

# Raw spec data by id() of the loaded spec's root, for the compiled schema validators.
_RAW: dict[int, dict[str, Any]] = {}
_compiled: dict[tuple[int, tuple[str, ...]], OAS30Validator | None] = {}
_lock = threading.Lock()


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


class _Request:
    """openapi-core's request protocol for a call, as if sent to api.hubapi.com."""

    def __init__(
        self,
        *,
        method: str,
        path: str,
        query: Iterable[tuple[str, str]],
        body: bytes,
        content_type: str,
        headers: Iterable[tuple[str, str]] = (),
    ) -> None:
        self.host_url = HUBSPOT_HOST
        self.path = path
        self.method = method.lower()
        self.body = body
        self.content_type = content_type
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(list(query)),
            header=Headers(list(headers)),
            cookie=ImmutableMultiDict(),
            path={},
        )


@dataclass
class _Response:
    """openapi-core's response protocol for an answer (status, body bytes, content type)."""

    data: bytes
    status_code: int
    content_type: str
    headers: Headers


def load(data: dict[str, Any]) -> OpenAPI:
    """An openapi-core ``OpenAPI`` for a parsed OpenAPI 3.0 document, with compiled validators."""
    api = OpenAPI.from_dict(data)
    _RAW[id(api.spec)] = data
    return api


@functools.cache
def own_spec() -> OpenAPI:
    """The project's own description (sandbox/openapi.yaml), loaded once per process."""
    # Loading takes a fraction of a second; serialise the first load, then it is cached.
    with _lock:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        data = yaml.load(SPEC_PATH.read_text(encoding="utf-8"), Loader=loader)  # noqa: S506
        return load(data)


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


def exchange_errors(
    api: OpenAPI,
    *,
    method: str,
    path: str,
    query: Iterable[tuple[str, str]],
    request_body: bytes,
    request_content_type: str,
    status: int,
    response_body: bytes,
    response_content_type: str,
) -> tuple[str, str]:
    """Check one call against ``api``; returns ``(request problems, response problems)``.

    Each is "" when that half conforms. ``query`` is the query string's (name, value) pairs.
    """
    query = list(query)
    request = _Request(
        method=method,
        path=path,
        query=query,
        body=request_body,
        content_type=request_content_type,
    )
    response = _Response(response_body, status, response_content_type, Headers())
    request_errors = list(_RequestValidator(api.spec).iter_errors(request))
    response_errors = list(_ResponseValidator(api.spec).iter_errors(request, response))
    return (
        _describe(request_errors) if request_errors else "",
        _describe(response_errors) if response_errors else "",
    )


def _live_request(request: HttpRequest, body: bytes) -> _Request:
    return _Request(
        method=request.method or "",
        path=request.path,
        query=[(k, v) for k, vs in request.GET.lists() for v in vs],
        body=body,
        content_type=request.content_type or "",
        headers=request.headers.items(),
    )


def check_request(request: HttpRequest, ctx: ApiContext) -> HttpResponse | None:
    """Return HubSpot's 400 ``VALIDATION_ERROR`` when ``request`` breaks the contract, else None."""
    if not ctx.switches.contract_checking:
        return None
    validator = _RequestValidator(own_spec().spec)
    errors = list(validator.iter_errors(_live_request(request, request.body)))
    if not errors:
        return None
    message = "Invalid input: " + _describe(errors)
    ctx.note = "contract: request " + message[:180]
    return error_response(
        400, correlation_id=ctx.correlation_id, category="VALIDATION_ERROR", message=message
    )


def check_response(request: HttpRequest, response: HttpResponse, ctx: ApiContext) -> None:
    """Mark the journal entry (``ctx.note``) and log when ``response`` breaks the contract."""
    if not ctx.switches.contract_checking:
        return
    validator = _ResponseValidator(own_spec().spec)
    answer = _Response(
        b"" if response.streaming else response.content,
        response.status_code,
        response.get("Content-Type", ""),
        Headers(list(response.items())),
    )
    errors = list(validator.iter_errors(_live_request(request, b""), answer))
    if errors:
        detail = _describe(errors)
        ctx.note = "contract: response " + detail[:180]
        logger.error(
            "Sandbox response breaks its contract (sandbox/openapi.yaml): %s %s: %s",
            request.method,
            request.path,
            detail,
        )
