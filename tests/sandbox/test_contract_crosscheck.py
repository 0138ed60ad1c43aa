"""Cross-check: the sandbox's traffic against HubSpot's own OpenAPI files, where they are present.

The sandbox checks every call against the project's own description (sandbox/openapi.yaml). So
that description cannot drift from HubSpot's, this test runs representative calls through the
sandbox over HTTP and checks the requests and answers its journal kept against HubSpot's
files too, which are not in the repository (not licensed for reuse): ``HUBSPOT_SPEC_DIR``, else
``../shared/hubspot/spec`` beside the clone, as in CI. Without them the test is skipped, saying
so. The only accepted differences are ``DIFFERENCES`` below, each cited in SANDBOX.md
("Contract"); each must still be needed by the traffic, or the test fails.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
import requests

from sandbox import contract
from sandbox.models import DEFAULT_SEARCH_LAG_SECONDS, JournalEntry
from sandbox.seed import DEMO_CONTACT_IDS
from tests.fixtures_sandbox import Sandbox
from tests.sandbox.test_oauth import exchange, get_code, refresh

ROOT = Path(__file__).resolve().parents[2]
SPEC_DIR = Path(os.environ.get("HUBSPOT_SPEC_DIR") or ROOT.parent / "shared" / "hubspot" / "spec")

# Path prefix -> HubSpot's file for it. Paths with none (the account details, the
# /crm/v4/associations labels form) are checked against the project's description only.
SPEC_FILES: list[tuple[str, str]] = [
    ("/oauth/2026-03/", "auth-oauth-2026-03.json"),
    ("/oauth/v3/", "auth-oauth-v3.json"),
    ("/oauth/v1/", "auth-oauth-v1.json"),
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
WITHOUT_FILE = ("/account-info/", "/crm/v4/associations/", "/oauth/authorize")


def _schema(data: dict[str, Any], name: str) -> dict[str, Any] | None:
    found = data.get("components", {}).get("schemas", {}).get(name)
    return found if isinstance(found, dict) else None


def _not_required(name: str, *fields: str) -> Callable[[dict[str, Any]], None]:
    def patch(data: dict[str, Any]) -> None:
        schema = _schema(data, name)
        if schema is not None:
            schema["required"] = [f for f in schema.get("required", []) if f not in fields]

    return patch


def _error_as_json(data: dict[str, Any]) -> None:
    response = data.get("components", {}).get("responses", {}).get("Error", {})
    content = response.get("content", {})
    if "*/*" in content:
        content["application/json"] = content.pop("*/*")


def _label_nullable(data: dict[str, Any]) -> None:
    schema = _schema(data, "AssociationSpecWithLabel")
    if schema is not None:
        schema["properties"]["label"]["nullable"] = True


def _inactive_token(data: dict[str, Any]) -> None:
    schema = _schema(data, "TokenInfoResponseBaseIF")
    if schema is not None:
        inactive = {
            "type": "object",
            "required": ["active"],
            "additionalProperties": False,
            "properties": {"active": {"type": "boolean", "enum": [False]}},
        }
        schema["oneOf"] = [*schema["oneOf"], inactive]


def _revoke_204(data: dict[str, Any]) -> None:
    for path, item in data.get("paths", {}).items():
        if path.endswith("/token/revoke"):
            item["post"]["responses"]["204"] = {"description": "Revoked."}


@dataclass(frozen=True)
class Difference:
    """A deliberate difference from HubSpot's files, applied to them before the check."""

    name: str
    patch: Callable[[dict[str, Any]], None]


# Each one is cited to HubSpot's documented behaviour in SANDBOX.md, "Contract".
DIFFERENCES = [
    Difference(
        "a batch create input needs no associations",
        _not_required("SimplePublicObjectBatchInputForCreate", "associations"),
    ),
    Difference(
        "a search body needs only filterGroups",
        _not_required("PublicObjectSearchRequest", "after", "limit", "properties", "sorts"),
    ),
    Difference("the Error response is application/json, not */*", _error_as_json),
    Difference("the default association type has label null", _label_nullable),
    Difference("introspecting an unknown token answers {active: false}", _inactive_token),
    Difference("revoking a token answers 204", _revoke_204),
]


def _no_empty_content(data: dict[str, Any]) -> None:
    """Drop ``content: {}`` from responses: openapi-core then wants a body, where the file means
    none (v1's 204 "No content"). A reading of the file, not a difference from it."""
    for item in data.get("paths", {}).values():
        for operation in item.values():
            if not isinstance(operation, dict):
                continue
            for response in (operation.get("responses") or {}).values():
                if isinstance(response, dict) and response.get("content") == {}:
                    del response["content"]


def _load(filename: str, differences: list[Difference]) -> Any:
    data = json.loads((SPEC_DIR / filename).read_text(encoding="utf-8"))
    _no_empty_content(data)
    for difference in differences:
        difference.patch(data)
    return contract.load(data)


def _problems(entries: list[JournalEntry], differences: list[Difference]) -> list[str]:
    specs: dict[str, Any] = {}
    found = []
    for entry in entries:
        filename = next((f for prefix, f in SPEC_FILES if entry.path.startswith(prefix)), None)
        if filename is None:
            assert entry.path.startswith(WITHOUT_FILE), entry.path
            continue
        if filename not in specs:
            specs[filename] = _load(filename, differences)
        form = entry.path.startswith("/oauth/")
        request_problems, response_problems = contract.exchange_errors(
            specs[filename],
            method=entry.method,
            path=entry.path,
            query=parse_qsl(entry.query, keep_blank_values=True),
            request_body=entry.request_body.encode(),
            request_content_type=(
                ""
                if entry.method == "GET"
                else "application/x-www-form-urlencoded"
                if form
                else "application/json"
            ),
            status=entry.status,
            response_body=entry.response_body.encode(),
            response_content_type="" if entry.status == 204 else "application/json",
        )
        for half, problem in [("request", request_problems), ("response", response_problems)]:
            if problem:
                found.append(f"{entry.method} {entry.path} -> {entry.status} {half}: {problem}")
    return found


def _traffic(sandbox: Sandbox) -> None:
    """Representative calls of every operation HubSpot's files cover, answers of every kind."""
    auth = {"Authorization": f"Bearer {sandbox.token}"}

    def get(path: str, **params: str) -> requests.Response:
        return requests.get(sandbox.url(path), params=params, headers=auth, timeout=10)

    def post(path: str, body: dict[str, Any]) -> requests.Response:
        return requests.post(sandbox.url(path), json=body, headers=auth, timeout=10)

    tokens = exchange(sandbox, code=get_code(sandbox)).json()
    assert refresh(sandbox, tokens["refresh_token"]).status_code == 200
    assert exchange(sandbox, code="no-such-code").status_code == 400
    client = {"client_id": sandbox.client_id, "client_secret": sandbox.client_secret}
    for version in ("2026-03", "v3"):
        for token in (tokens["access_token"], tokens["refresh_token"], "no-such-token"):
            answer = requests.post(
                sandbox.url(f"/oauth/{version}/token/introspect"),
                data={**client, "token": token},
                timeout=10,
            )
            assert answer.status_code == 200
    revoked = requests.post(
        sandbox.url("/oauth/2026-03/token/revoke"),
        data={**client, "token": tokens["refresh_token"]},
        timeout=10,
    )
    assert revoked.status_code == 204
    # v1, as the official SDKs' OAuth helpers call it.
    v1 = exchange(sandbox, code=get_code(sandbox), path="/oauth/v1/token").json()
    assert refresh(sandbox, v1["refresh_token"], path="/oauth/v1/token").status_code == 200
    for path, status in [
        (f"/oauth/v1/access-tokens/{v1['access_token']}", 200),
        (f"/oauth/v1/refresh-tokens/{v1['refresh_token']}", 200),
        ("/oauth/v1/access-tokens/CNnothing", 404),
    ]:
        assert requests.get(sandbox.url(path), timeout=10).status_code == status
    deleted = requests.delete(
        sandbox.url(f"/oauth/v1/refresh-tokens/{v1['refresh_token']}"), timeout=10
    )
    assert deleted.status_code == 204

    for path in ("/crm/properties/2026-03/0-421", "/crm/v3/properties/appointments"):
        assert get(path).status_code == 200
    assert get("/crm/properties/2026-03/0-999").status_code == 400
    for prefix in ("/crm/associations/2026-03", "/crm/associations/v4", "/crm/v4/associations"):
        assert get(f"{prefix}/0-421/contacts/labels").status_code == 200
    for prefix in ("/crm/object-library/2026-03", "/crm/v3/object-library"):
        assert get(f"{prefix}/enablement").status_code == 200
        assert get(f"{prefix}/enablement/0-421").status_code == 200
    for path in ("/crm/pipelines/2026-03/0-421", "/crm/v3/pipelines/appointments"):
        assert get(path).status_code == 200
    assert get("/account-info/v3/details").status_code == 200
    unknown = requests.get(
        sandbox.url("/crm/properties/2026-03/0-421"),
        headers={"Authorization": "Bearer nope"},
        timeout=10,
    )
    assert unknown.status_code == 401

    contact = {
        "to": {"id": DEMO_CONTACT_IDS[0]},
        "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 906}],
    }
    created = post(
        "/crm/objects/2026-03/0-421/batch/create",
        {
            "inputs": [
                {
                    "properties": {"hs_appointment_name": "Cross-check 1"},
                    "associations": [contact],
                    "objectWriteTraceId": "x-1",
                }
            ]
        },
    )
    assert created.status_code == 201
    no_associations = {"inputs": [{"properties": {"hs_appointment_name": "Cross-check 2"}}]}
    for prefix in ("/crm/v3/objects", "/crm/objects/v3"):
        assert post(f"{prefix}/0-421/batch/create", no_associations).status_code == 201
    partial = [
        {
            "properties": {"hs_appointment_name": "ok"},
            "associations": [],
            "objectWriteTraceId": "a",
        },
        {"properties": {"nope": "x"}, "associations": [], "objectWriteTraceId": "b"},
    ]
    assert post("/crm/objects/2026-03/0-421/batch/create", {"inputs": partial}).status_code == 207
    untraced = [{k: v for k, v in item.items() if k != "objectWriteTraceId"} for item in partial]
    assert post("/crm/objects/2026-03/0-421/batch/create", {"inputs": untraced}).status_code == 400

    record_id = created.json()["results"][0]["id"]
    assert get(f"/crm/objects/2026-03/0-421/{record_id}", properties="hs_appointment_name").ok
    assert get(f"/crm/v3/objects/contacts/{DEMO_CONTACT_IDS[1]}").status_code == 200
    assert get("/crm/objects/2026-03/0-1/123").status_code == 404
    read = {"properties": ["hs_appointment_name"], "propertiesWithHistory": []}
    found = post("/crm/objects/2026-03/0-421/batch/read", {**read, "inputs": [{"id": record_id}]})
    assert found.status_code == 200
    missing = post("/crm/objects/2026-03/0-421/batch/read", {**read, "inputs": [{"id": "1"}]})
    assert missing.status_code == 207

    sandbox.advance_clock(DEFAULT_SEARCH_LAG_SECONDS + 0.1)  # the records reach search's index
    named = {
        "filterGroups": [
            {"filters": [{"propertyName": "hs_appointment_name", "operator": "HAS_PROPERTY"}]}
        ]
    }
    full = {**named, "properties": [], "sorts": ["hs_createdate"], "limit": 1, "after": "0"}
    assert post("/crm/objects/2026-03/0-421/search", full).json()["paging"]
    assert post("/crm/objects/2026-03/0-421/search", named).status_code == 200


def test_it_answers_as_hubspot_files_describe_but_for_the_listed_differences(
    sandbox: Sandbox,
) -> None:
    if not SPEC_DIR.is_dir():
        pytest.skip(
            f"HubSpot's OpenAPI files are not at {SPEC_DIR} (set HUBSPOT_SPEC_DIR): the "
            "sandbox's traffic is checked against its own description only"
        )
    _traffic(sandbox)
    entries = list(JournalEntry.objects.order_by("id"))
    assert sandbox.contract_violations() == []
    assert _problems(entries, DIFFERENCES) == []
    # Every listed difference is still needed: without it, HubSpot's files refuse some call.
    unneeded = [
        d.name for d in DIFFERENCES if not _problems(entries, [o for o in DIFFERENCES if o != d])
    ]
    assert unneeded == []
