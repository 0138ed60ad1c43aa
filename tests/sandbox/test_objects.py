"""CRM objects in the sandbox: batch create (as HubSpot validates it), reads and search."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from sandbox.clock import iso
from sandbox.db import insert_rows
from sandbox.models import CrmRecord
from sandbox.seed import DEMO_COMPANY_IDS, DEMO_CONTACT_IDS, DEMO_DEAL_IDS
from tests.fixtures_sandbox import Sandbox

PATH = "/crm/objects/2026-03/0-421/batch/create"


def post(sandbox: Sandbox, inputs: list[dict[str, Any]], path: str = PATH) -> requests.Response:
    return requests.post(
        sandbox.url(path),
        json={"inputs": inputs},
        headers={"Authorization": f"Bearer {sandbox.token}"},
        timeout=20,
    )


def row(n: int, trace: bool = True, **props: str) -> dict[str, Any]:
    item: dict[str, Any] = {
        "properties": {"hs_appointment_name": f"Visit {n}", **props},
        "associations": [],
    }
    if trace:
        item["objectWriteTraceId"] = f"row-{n}"
    return item


def test_it_creates_all_inputs_with_201_and_hubspot_shapes(sandbox: Sandbox) -> None:
    inputs = [row(n, hs_appointment_start="2026-12-03T14:00:00Z") for n in range(3)]
    response = post(sandbox, inputs)
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "COMPLETE"
    assert {"startedAt", "completedAt", "requestedAt"} <= set(body)
    assert "errors" not in body
    names = sorted(r["properties"]["hs_appointment_name"] for r in body["results"])
    assert names == ["Visit 0", "Visit 1", "Visit 2"]
    first = body["results"][0]
    assert first["archived"] is False
    assert first["properties"]["hs_object_id"] == first["id"]
    assert first["properties"]["hs_createdate"] == first["createdAt"]
    assert first["properties"]["hs_lastmodifieddate"] == first["updatedAt"]
    assert first["properties"]["hs_appointment_start"] == "2026-12-03T14:00:00.000Z"
    assert "objectWriteTraceId" not in first
    assert len(sandbox.appointments()) == 3


def test_it_returns_results_in_shuffled_order(sandbox: Sandbox) -> None:
    given = [f"Visit {n}" for n in range(30)]
    orders = []
    for _ in range(3):
        body = post(sandbox, [row(n, trace=False) for n in range(30)]).json()
        orders.append([r["properties"]["hs_appointment_name"] for r in body["results"]])
    assert all(sorted(order) == sorted(given) for order in orders)
    assert any(order != given for order in orders)


def test_it_echoes_trace_ids_on_success_when_switched_on(sandbox: Sandbox) -> None:
    sandbox.set_switches(echo_trace_id_on_success=True)
    body = post(sandbox, [row(1), row(2)]).json()
    assert sorted(r["objectWriteTraceId"] for r in body["results"]) == ["row-1", "row-2"]


def test_it_answers_207_with_errors_keyed_by_trace_id(sandbox: Sandbox) -> None:
    inputs = [row(1), row(2, bogus="x"), row(3, hs_appointment_status="maybe")]
    response = post(sandbox, inputs)
    assert response.status_code == 207
    body = response.json()
    assert body["numErrors"] == 2
    assert [r["properties"]["hs_appointment_name"] for r in body["results"]] == ["Visit 1"]
    by_trace = {e["context"]["objectWriteTraceId"][0]: e for e in body["errors"]}
    assert set(by_trace) == {"row-2", "row-3"}
    assert by_trace["row-2"]["category"] == "VALIDATION_ERROR"
    assert by_trace["row-2"]["status"] == "error"
    assert '"error":"PROPERTY_DOESNT_EXIST"' in by_trace["row-2"]["message"]
    assert by_trace["row-3"]["errors"][0]["code"] == "INVALID_OPTION"
    assert len(sandbox.appointments()) == 1


def test_it_answers_207_with_no_results_when_every_input_fails(sandbox: Sandbox) -> None:
    response = post(sandbox, [row(1, bogus="x"), row(2, bogus="y")])
    assert response.status_code == 207
    assert response.json()["results"] == []
    assert response.json()["numErrors"] == 2


def test_it_fails_the_whole_call_naming_only_the_first_bad_input_without_trace_ids(
    sandbox: Sandbox,
) -> None:
    inputs = [row(1, trace=False), row(2, trace=False, bogus="x"), row(3, trace=False, nope="y")]
    response = post(sandbox, inputs)
    assert response.status_code == 400
    body = response.json()
    assert body["status"] == "error"
    assert body["category"] == "VALIDATION_ERROR"
    assert "bogus" in body["message"]
    assert "nope" not in body["message"]
    assert body["correlationId"] == response.headers["x-hubspot-correlation-id"]
    assert sandbox.appointments() == []


def test_it_needs_unique_trace_ids_for_partial_success(sandbox: Sandbox) -> None:
    inputs = [row(1), row(2, bogus="x")]
    inputs[1]["objectWriteTraceId"] = "row-1"
    assert post(sandbox, inputs).status_code == 400


def test_it_refuses_more_than_100_inputs(sandbox: Sandbox) -> None:
    response = post(sandbox, [row(n) for n in range(101)])
    assert response.status_code == 400
    assert "at most 100" in response.json()["message"]
    assert post(sandbox, [row(n) for n in range(100)]).status_code == 201


def check_one(sandbox: Sandbox, **props: Any) -> dict[str, Any]:
    body = post(sandbox, [row(1), {**row(2), "properties": props}]).json()
    return body["errors"][0] if body.get("errors") else {}


def test_it_validates_each_property_type(sandbox: Sandbox) -> None:
    name = {"hs_appointment_name": "x"}
    cases = {
        "INVALID_DATE": {"follow_up_date": "1764856800001"},
        "INVALID_INTEGER": {"party_size": "three"},
        "READ_ONLY_VALUE": {"hs_object_id": "12"},
        "INVALID_STRING_LENGTH": {"visit_notes": "x" * 65_537},
        "REQUIRED_PROPERTY": {"visit_notes": "no name"},
    }
    for code, props in cases.items():
        error = check_one(sandbox, **({} if code == "REQUIRED_PROPERTY" else name), **props)
        assert error["errors"][0]["code"] == code, (code, error)
    assert (
        "is at 14:00:00.001 UTC, not midnight!"
        in check_one(sandbox, **name, follow_up_date="1764856800001")["message"]
    )
    assert check_one(sandbox, **name, interpreter_needed="yes")["errors"][0]["code"] == (
        "INVALID_OPTION"
    )
    assert check_one(sandbox, **name, hs_appointment_start="tomorrow")["errors"][0]["code"] == (
        "INVALID_DATE"
    )


def test_it_accepts_every_valid_value_form(sandbox: Sandbox) -> None:
    props = {
        "hs_appointment_name": "Full row",
        "hs_appointment_start": "1764856800000",
        "hs_appointment_end": "2026-12-04T15:00:00+01:00",
        "hs_appointment_status": "scheduled",
        "follow_up_date": "1764806400000",
        "visit_notes": "Bring the file",
        "visit_channels": "phone;video",
        "party_size": "2.5",
        "interpreter_needed": "true",
        "external_booking_ref": "BK-1",
    }
    response = post(sandbox, [{"properties": props, "associations": []}])
    assert response.status_code == 201, response.text
    stored = response.json()["results"][0]["properties"]
    assert stored["hs_appointment_start"] == "2025-12-04T14:00:00.000Z"
    assert stored["hs_appointment_end"] == "2026-12-04T14:00:00.000Z"
    assert stored["follow_up_date"] == "2025-12-04"


def test_it_refuses_the_whole_call_when_a_value_is_not_a_string(sandbox: Sandbox) -> None:
    response = post(sandbox, [row(1), {**row(2), "properties": {"party_size": 3}}])
    assert response.status_code == 400
    assert response.json()["category"] == "VALIDATION_ERROR"
    assert sandbox.appointments() == []


def test_it_reports_a_unique_value_conflict(sandbox: Sandbox) -> None:
    assert post(sandbox, [row(1, external_booking_ref="BK-9")]).status_code == 201
    body = post(sandbox, [row(2, external_booking_ref="BK-9"), row(3)]).json()
    assert body["errors"][0]["category"] == "CONFLICT"
    assert body["errors"][0]["context"]["objectWriteTraceId"] == ["row-2"]
    whole = post(sandbox, [row(4, trace=False, external_booking_ref="BK-9")])
    assert whole.status_code == 409
    assert whole.json()["category"] == "CONFLICT"
    same_batch = post(
        sandbox, [row(5, external_booking_ref="BK-10"), row(6, external_booking_ref="BK-10")]
    ).json()
    assert same_batch["numErrors"] == 1


def association(record_id: str, type_id: int, category: str = "HUBSPOT_DEFINED") -> dict[str, Any]:
    return {
        "to": {"id": record_id},
        "types": [{"associationCategory": category, "associationTypeId": type_id}],
    }


def test_it_stores_associations_to_existing_records(sandbox: Sandbox) -> None:
    item = row(1)
    item["associations"] = [
        association(DEMO_CONTACT_IDS[0], 906),
        association(DEMO_CONTACT_IDS[1], 37, "USER_DEFINED"),
        association(DEMO_COMPANY_IDS[0], 908),
        association(DEMO_DEAL_IDS[0], 944),
    ]
    assert post(sandbox, [item]).status_code == 201
    stored = sandbox.appointments()[0].associations
    assert {(a["toObjectTypeId"], a["toObjectId"]) for a in stored} == {
        ("0-1", DEMO_CONTACT_IDS[0]),
        ("0-1", DEMO_CONTACT_IDS[1]),
        ("0-2", DEMO_COMPANY_IDS[0]),
        ("0-3", DEMO_DEAL_IDS[0]),
    }


def test_it_rejects_associations_to_missing_records_or_unknown_types(sandbox: Sandbox) -> None:
    missing, unknown, wrong_category = row(2), row(3), row(4)
    missing["associations"] = [association("99999999999", 906)]
    unknown["associations"] = [association(DEMO_CONTACT_IDS[0], 999)]
    wrong_category["associations"] = [association(DEMO_CONTACT_IDS[0], 906, "USER_DEFINED")]
    body = post(sandbox, [row(1), missing, unknown, wrong_category]).json()
    by_trace = {e["context"]["objectWriteTraceId"][0]: e for e in body["errors"]}
    assert by_trace["row-2"]["context"]["INVALID_OBJECT_IDS"] == ["99999999999"]
    assert by_trace["row-3"]["errors"][0]["code"] == "INVALID_ASSOCIATION_TYPE"
    assert by_trace["row-4"]["errors"][0]["code"] == "INVALID_ASSOCIATION_TYPE"
    # A company id sent with the contact type id is a missing contact.
    company_as_contact = row(5)
    company_as_contact["associations"] = [association(DEMO_COMPANY_IDS[0], 906)]
    assert post(sandbox, [company_as_contact, row(6)]).json()["numErrors"] == 1


def test_it_serves_the_v3_and_name_paths(sandbox: Sandbox) -> None:
    assert post(sandbox, [row(1)], "/crm/v3/objects/0-421/batch/create").status_code == 201
    assert post(
        sandbox, [row(2)], "/crm/objects/2026-03/appointments/batch/create"
    ).status_code == (201)


def test_it_refuses_batch_create_when_appointments_are_not_activated(sandbox: Sandbox) -> None:
    sandbox.disable_appointments()
    response = post(sandbox, [row(1)])
    assert response.status_code == 400
    assert "not activated" in response.json()["message"]


def test_it_answers_invalid_json_with_hubspot_error_shape(sandbox: Sandbox) -> None:
    response = requests.post(
        sandbox.url(PATH),
        data="{not json",
        headers={"Authorization": f"Bearer {sandbox.token}", "Content-Type": "application/json"},
        timeout=10,
    )
    assert response.status_code == 400
    assert response.json()["category"] == "VALIDATION_ERROR"


def test_it_journals_every_call(sandbox: Sandbox) -> None:
    post(sandbox, [row(1)])
    [entry] = sandbox.journal(PATH, method="POST")
    assert entry.status == 201
    assert '"hs_appointment_name": "Visit 1"' in entry.request_body
    assert entry.portal is not None and entry.portal.hub_id == sandbox.hub_id
    assert entry.duration_ms > 0


def test_it_stores_each_record_as_it_answers_it(sandbox: Sandbox) -> None:
    item = row(1, hs_appointment_start="2026-12-03T14:00:00Z")
    item["associations"] = [association(DEMO_CONTACT_IDS[0], 906)]
    [result] = post(sandbox, [item]).json()["results"]
    [record] = sandbox.appointments()
    assert record.record_id == result["id"]
    assert record.properties == result["properties"]
    assert iso(record.created_at) == result["createdAt"]
    assert record.updated_at == record.created_at
    assert record.archived is False
    assert record.object_write_trace_id == "row-1"
    assert record.associations == [
        {
            "toObjectTypeId": "0-1",
            "toObjectId": DEMO_CONTACT_IDS[0],
            "associationCategory": "HUBSPOT_DEFINED",
            "associationTypeId": 906,
        }
    ]


def test_it_creates_concurrent_batches_with_distinct_ids(sandbox: Sandbox) -> None:
    def send(lane: int) -> list[tuple[int, list[str]]]:
        answers = []
        for call in range(3):
            inputs = [row(1000 * lane + 100 * call + n) for n in range(20)]
            response = post(sandbox, inputs)
            answers.append((response.status_code, [r["id"] for r in response.json()["results"]]))
        return answers

    with ThreadPoolExecutor(max_workers=3) as pool:
        answers = [answer for lane in pool.map(send, range(3)) for answer in lane]
    assert {status for status, _ in answers} == {201}
    ids = [record_id for _, call_ids in answers for record_id in call_ids]
    assert len(set(ids)) == 180
    assert len(sandbox.appointments()) == 180
    assert len(sandbox.journal(PATH, method="POST")) == 9


def test_it_refuses_insert_rows_that_miss_a_field() -> None:
    with pytest.raises(ValueError, match="need exactly the fields"):
        insert_rows(CrmRecord, {"object_type": "0-421"}, [{"record_id": "1"}])
