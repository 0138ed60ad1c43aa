"""Unique-value properties in the sandbox: creating one, reading by ``idProperty``, and the
switchable answers to what HubSpot does not document (SANDBOX.md, UNCONFIRMED)."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from sandbox.models import Switches, Token
from tests.fixtures_sandbox import Sandbox
from tests.sandbox.calls import get, post

PROPERTIES = "/crm/properties/2026-03/0-421"
ROW_KEY = {
    "name": "hubportal_row_key",
    "label": "hubportal row key",
    "type": "string",
    "fieldType": "text",
    "groupName": "appointment_information",
    "hasUniqueValue": True,
}


def create(sandbox: Sandbox, keys: list[str]) -> requests.Response:
    inputs: list[dict[str, Any]] = [
        {
            "objectWriteTraceId": key,
            "properties": {"hs_appointment_name": f"Visit {key}", "hubportal_row_key": key},
        }
        for key in keys
    ]
    return post(sandbox, "/crm/objects/2026-03/0-421/batch/create", {"inputs": inputs})


def read(sandbox: Sandbox, keys: list[str]) -> requests.Response:
    body = {
        "idProperty": "hubportal_row_key",
        "inputs": [{"id": key} for key in keys],
        "properties": ["hubportal_row_key"],
        "propertiesWithHistory": [],
    }
    return post(sandbox, "/crm/objects/2026-03/0-421/batch/read", body)


def test_it_creates_a_unique_value_property_once(sandbox: Sandbox) -> None:
    created = post(sandbox, PROPERTIES, ROW_KEY)
    assert created.status_code == 201
    assert created.json()["hasUniqueValue"] is True
    listed = get(sandbox, PROPERTIES, properties="hubportal_row_key").json()["results"]
    assert [p["name"] for p in listed] == ["hubportal_row_key"]
    again = post(sandbox, PROPERTIES, ROW_KEY)
    assert again.status_code == 409
    assert again.json()["category"] == "OBJECT_ALREADY_EXISTS"


def test_it_needs_the_schema_write_scope_to_create_a_property(sandbox: Sandbox) -> None:
    static = Token.objects.get(token=sandbox.token)
    Token.objects.create(
        token="read-only-schemas",
        kind=Token.Kind.ACCESS,
        app=static.app,
        portal=static.portal,
        user_id=static.user_id,
        scopes=["crm.schemas.appointments.read"],
    )
    refused = requests.post(
        sandbox.url(PROPERTIES),
        json=ROW_KEY,
        headers={"Authorization": "Bearer read-only-schemas"},
        timeout=10,
    )
    assert refused.status_code == 403
    assert refused.json()["category"] == "MISSING_SCOPES"
    scopes = refused.json()["errors"][0]["context"]["requiredGranularScopes"]
    assert scopes == ["crm.schemas.appointments.write"]


def test_it_can_refuse_unique_value_properties_on_appointments(sandbox: Sandbox) -> None:
    sandbox.set_row_key_variant(unique_properties_allowed=False)
    refused = post(sandbox, PROPERTIES, ROW_KEY)
    assert refused.status_code == 400
    assert refused.json()["category"] == "VALIDATION_ERROR"
    assert post(sandbox, PROPERTIES, {**ROW_KEY, "hasUniqueValue": False}).status_code == 201


def test_it_reads_by_id_property_with_the_missing_values_listed(sandbox: Sandbox) -> None:
    post(sandbox, PROPERTIES, ROW_KEY)
    assert create(sandbox, ["k1", "k2"]).status_code == 201
    found = read(sandbox, ["k1", "k2"])
    assert found.status_code == 200
    assert sorted(r["properties"]["hubportal_row_key"] for r in found.json()["results"]) == [
        "k1",
        "k2",
    ]
    some = read(sandbox, ["k2", "nope"])
    assert some.status_code == 207
    assert some.json()["errors"][0]["context"]["ids"] == ["nope"]
    one = get(sandbox, "/crm/objects/2026-03/0-421/k1", idProperty="hubportal_row_key")
    assert one.status_code == 200
    missing = get(sandbox, "/crm/objects/2026-03/0-421/x", idProperty="hubportal_row_key")
    assert missing.status_code == 404
    refused = post(
        sandbox,
        "/crm/objects/2026-03/0-421/batch/read",
        {"idProperty": "visit_notes", "inputs": [{"id": "k1"}], "properties": []},
    )
    assert refused.status_code == 400


def test_reads_by_id_property_can_lag(sandbox: Sandbox) -> None:
    post(sandbox, PROPERTIES, ROW_KEY)
    sandbox.set_row_key_variant(id_property_lag_seconds=30)
    create(sandbox, ["k1"])
    assert read(sandbox, ["k1"]).status_code == 207
    sandbox.advance_clock(31)
    assert read(sandbox, ["k1"]).status_code == 200


@pytest.mark.parametrize("variant", Switches.DuplicateValue.values)
def test_a_taken_unique_value_fails_as_the_switch_says(sandbox: Sandbox, variant: str) -> None:
    post(sandbox, PROPERTIES, ROW_KEY)
    sandbox.set_row_key_variant(duplicate_value=variant)
    create(sandbox, ["k1"])
    answer = create(sandbox, ["k1", "k2"])
    body = answer.json()
    if variant in (Switches.DuplicateValue.WHOLE_CALL, Switches.DuplicateValue.WHOLE_CALL_UNNAMED):
        assert answer.status_code == 409
        assert body["category"] == "CONFLICT"
        named = variant == Switches.DuplicateValue.WHOLE_CALL
        assert ("hubportal_row_key" in body["message"]) is named, body["message"]
        assert len(sandbox.appointments()) == 1
        return
    assert answer.status_code == 207
    [error] = body["errors"]
    assert error["category"] == "CONFLICT"
    traced = variant == Switches.DuplicateValue.PER_INPUT
    assert ("objectWriteTraceId" in error["context"]) is traced
    assert len(sandbox.appointments()) == 2
