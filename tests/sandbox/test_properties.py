"""Properties API of the sandbox: the appointment properties, filtered as HubSpot does."""

from __future__ import annotations

import requests

from sandbox.models import Token
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


def test_contacts_companies_and_deals_list_their_unique_value_properties(
    sandbox: Sandbox,
) -> None:
    unique = {
        path: [p["name"] for p in get(sandbox, path).json()["results"] if p["hasUniqueValue"]]
        for path in (
            "/crm/properties/2026-03/0-1",
            "/crm/properties/2026-03/companies",
            "/crm/v3/properties/deals",
        )
    }
    assert list(unique.values()) == [["patient_number"], ["account_number"], ["booking_ref"]]


def test_an_objects_properties_need_that_objects_scope(sandbox: Sandbox) -> None:
    static = Token.objects.get(token=sandbox.token)
    Token.objects.create(
        token="appointments-only",
        kind=Token.Kind.ACCESS,
        app=static.app,
        portal=static.portal,
        user_id=static.user_id,
        scopes=["crm.schemas.appointments.read"],
    )
    auth = {"Authorization": "Bearer appointments-only"}

    contacts = requests.get(sandbox.url("/crm/properties/2026-03/0-1"), headers=auth, timeout=10)
    appointments = requests.get(
        sandbox.url("/crm/properties/2026-03/0-421"), headers=auth, timeout=10
    )

    assert contacts.status_code == 403
    assert contacts.json()["errors"][0]["context"]["requiredGranularScopes"] == [
        "crm.schemas.contacts.read",
        "crm.objects.contacts.read",
    ]
    assert appointments.status_code == 200
