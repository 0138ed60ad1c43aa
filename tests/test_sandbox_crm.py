"""The sandbox's read endpoints: properties, labels, enablement, pipelines, reads and search."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import requests

from sandbox.seed import DEMO_COMPANY_IDS, DEMO_CONTACT_IDS, DEMO_DEAL_IDS
from tests.fixtures_sandbox import Sandbox


def get(sandbox: Sandbox, path: str, **params: str) -> requests.Response:
    return requests.get(
        sandbox.url(path),
        params=params,
        headers={"Authorization": f"Bearer {sandbox.token}"},
        timeout=10,
    )


def post(sandbox: Sandbox, path: str, body: dict[str, Any]) -> requests.Response:
    return requests.post(
        sandbox.url(path),
        json=body,
        headers={"Authorization": f"Bearer {sandbox.token}"},
        timeout=10,
    )


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


def test_it_lists_association_labels_default_and_user_defined(sandbox: Sandbox) -> None:
    expected = {"0-1": 906, "contacts": 906, "0-2": 908, "companies": 908, "0-3": 944, "deals": 944}
    for to_type, default_id in expected.items():
        response = get(sandbox, f"/crm/associations/2026-03/0-421/{to_type}/labels")
        assert response.status_code == 200
        results = response.json()["results"]
        assert {"category": "HUBSPOT_DEFINED", "typeId": default_id, "label": None}.items() <= (
            results[0].items()
        )
        assert any(r["category"] == "USER_DEFINED" and r["label"] for r in results)
    bad = get(sandbox, "/crm/associations/2026-03/0-421/widgets/labels")
    assert bad.status_code == 400
    assert bad.json()["message"] == "Unable to infer object type from: widgets"


def test_it_reports_object_library_enablement(sandbox: Sandbox) -> None:
    path = "/crm/object-library/2026-03/enablement"
    assert get(sandbox, f"{path}/0-421").json() == {"enablement": True}
    assert get(sandbox, path).json() == {"enablementByObjectTypeId": {"0-421": True}}
    sandbox.disable_appointments()
    assert get(sandbox, f"{path}/0-421").json() == {"enablement": False}
    assert get(sandbox, "/crm/v3/object-library/enablement/0-421").json() == {"enablement": False}


def test_it_lists_appointment_pipelines(sandbox: Sandbox) -> None:
    [pipeline] = get(sandbox, "/crm/pipelines/2026-03/0-421").json()["results"]
    assert pipeline["id"] == "0"
    assert [s["id"] for s in pipeline["stages"]] == ["appt_booked", "appt_done"]
    assert pipeline["stages"][0]["writePermissions"] == "CRM_PERMISSIONS_ENFORCEMENT"


def test_it_reads_contacts_companies_and_deals(sandbox: Sandbox) -> None:
    contact = get(sandbox, f"/crm/objects/2026-03/0-1/{DEMO_CONTACT_IDS[0]}", properties="email")
    assert contact.status_code == 200
    assert contact.json()["id"] == DEMO_CONTACT_IDS[0]
    assert contact.json()["properties"]["email"].endswith("@example.org")
    assert get(sandbox, f"/crm/objects/2026-03/companies/{DEMO_COMPANY_IDS[1]}").status_code == 200
    deal = get(sandbox, f"/crm/v3/objects/deals/{DEMO_DEAL_IDS[2]}", properties="dealname")
    assert deal.json()["properties"]["dealname"].startswith("Care plan")
    missing = get(sandbox, "/crm/objects/2026-03/0-1/123")
    assert missing.status_code == 404
    assert missing.json()["category"] == "OBJECT_NOT_FOUND"


def create(sandbox: Sandbox, n: int) -> list[str]:
    inputs = [
        {
            "properties": {"hs_appointment_name": f"Visit {i}", "external_booking_ref": f"BK-{i}"},
            "associations": [],
        }
        for i in range(n)
    ]
    body = post(sandbox, "/crm/objects/2026-03/0-421/batch/create", {"inputs": inputs}).json()
    return [r["id"] for r in body["results"]]


def test_it_batch_reads_appointments(sandbox: Sandbox) -> None:
    ids = create(sandbox, 3)
    body = {
        "inputs": [{"id": i} for i in [*ids, "404"]],
        "properties": ["hs_appointment_name"],
        "propertiesWithHistory": [],
    }
    response = post(sandbox, "/crm/objects/2026-03/0-421/batch/read", body)
    assert response.status_code == 207
    data = response.json()
    assert sorted(r["id"] for r in data["results"]) == sorted(ids)
    assert data["results"][0]["properties"]["hs_appointment_name"].startswith("Visit")
    assert data["errors"][0]["context"]["ids"] == ["404"]


def test_it_searches_appointments_with_filters_and_paging(sandbox: Sandbox) -> None:
    create(sandbox, 5)
    path = "/crm/objects/2026-03/0-421/search"
    request = {
        "filterGroups": [
            {
                "filters": [
                    {
                        "propertyName": "external_booking_ref",
                        "operator": "IN",
                        "values": ["BK-1", "BK-3", "BK-4"],
                    }
                ]
            }
        ],
        "properties": ["external_booking_ref"],
        "limit": 2,
        "after": "0",
        "sorts": [],
    }
    first = post(sandbox, path, request).json()
    assert first["total"] == 3
    assert len(first["results"]) == 2
    second = post(sandbox, path, {**request, "after": first["paging"]["next"]["after"]}).json()
    refs = [r["properties"]["external_booking_ref"] for r in first["results"] + second["results"]]
    assert sorted(refs) == ["BK-1", "BK-3", "BK-4"]
    assert "paging" not in second


def test_it_compares_datetimes_with_epoch_milliseconds_in_a_search(sandbox: Sandbox) -> None:
    # The app asks "hs_createdate GTE <milliseconds>"; the records hold ISO-8601 text.
    sandbox.advance_clock(-3600)  # back, so the access token stays valid
    create(sandbox, 2)
    sandbox.advance_clock(3600)
    late = {"properties": {"hs_appointment_name": "Late visit"}, "associations": []}
    post(sandbox, "/crm/objects/2026-03/0-421/batch/create", {"inputs": [late]})
    path = "/crm/objects/2026-03/0-421/search"
    everything = {"filterGroups": [], "properties": [], "sorts": [], "limit": 10, "after": "0"}
    response = post(sandbox, path, everything)
    assert response.status_code == 200, response.text
    records = response.json()["results"]
    stamps = sorted(r["createdAt"] for r in records)
    later = datetime.fromisoformat(stamps[-1])
    since = str(int((later - timedelta(minutes=30)).timestamp() * 1000))

    def found(operator: str, value: str) -> int:
        flt = {"propertyName": "hs_createdate", "operator": operator, "value": value}
        request = {**everything, "filterGroups": [{"filters": [flt]}]}
        return int(post(sandbox, path, request).json()["total"])

    assert (found("GTE", since), found("LT", since)) == (1, 2)
    # ISO-8601 text works too; one batch's records share their creation instant.
    assert (found("GT", stamps[0]), found("GTE", stamps[0])) == (1, 3)
