"""Properties API of the sandbox: the appointment properties, filtered as HubSpot does."""

from __future__ import annotations

from tests.fixtures_sandbox import Sandbox
from tests.sandbox.calls import get


def test_it_lists_appointment_properties(sandbox: Sandbox) -> None:
    response = get(sandbox, "/crm/properties/2026-03/0-421")
    assert response.status_code == 200
    props = {p["name"]: p for p in response.json()["results"]}
    assert props["hs_appointment_name"]["label"] == "Appointment name"
    assert props["hs_appointment_start"]["type"] == "datetime"
    status = props["hs_appointment_status"]
    assert status["type"] == "enumeration"
    assert {"label": "No show", "value": "no_show"}.items() <= status["options"][3].items()
    assert props["follow_up_date"]["type"] == "date"
    assert props["visit_channels"]["fieldType"] == "checkbox"
    assert props["party_size"]["type"] == "number"
    assert props["interpreter_needed"]["type"] == "bool"
    assert props["external_booking_ref"]["hasUniqueValue"] is True
    assert props["hs_object_id"]["modificationMetadata"]["readOnlyValue"] is True
    assert props["hs_createdate"]["modificationMetadata"]["readOnlyValue"] is True
    assert get(sandbox, "/crm/v3/properties/appointments").json() == response.json()


def test_it_filters_properties_and_hides_sensitive_ones(sandbox: Sandbox) -> None:
    some = get(sandbox, "/crm/properties/2026-03/0-421", properties="party_size,visit_notes")
    assert [p["name"] for p in some.json()["results"]] == ["visit_notes", "party_size"]
    sensitive = get(sandbox, "/crm/properties/2026-03/0-421", dataSensitivity="sensitive")
    assert sensitive.json() == {"results": []}
