"""Association labels of the sandbox: the default type first, then the user-defined ones."""

from __future__ import annotations

from sandbox.seed import DEMO_CONTACT_IDS
from tests.fixtures_sandbox import Sandbox
from tests.sandbox.calls import get, post


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


def create_with_contacts(sandbox: Sandbox, contacts: list[tuple[str, int]]) -> str:
    inputs = [
        {
            "properties": {"hs_appointment_name": "Linked"},
            "associations": [
                {
                    "to": {"id": contact},
                    "types": [
                        {
                            "associationCategory": "HUBSPOT_DEFINED"
                            if type_id == 906
                            else "USER_DEFINED",
                            "associationTypeId": type_id,
                        }
                    ],
                }
                for contact, type_id in contacts
            ],
        }
    ]
    response = post(sandbox, "/crm/objects/2026-03/0-421/batch/create", {"inputs": inputs})
    assert response.status_code == 201, response.text
    return str(response.json()["results"][0]["id"])


def test_it_reads_the_contacts_of_a_batch_of_appointments(sandbox: Sandbox) -> None:
    first, second = DEMO_CONTACT_IDS[0], DEMO_CONTACT_IDS[1]
    linked = create_with_contacts(sandbox, [(first, 906), (first, 37), (second, 906)])
    alone = create_with_contacts(sandbox, [])
    read = "/crm/associations/2026-03/0-421/0-1/batch/read"

    answer = post(sandbox, read, {"inputs": [{"id": linked}, {"id": alone}, {"id": "404"}]})
    v4 = post(sandbox, "/crm/v4/associations/appointments/contacts/batch/read", {"inputs": []})
    too_many = post(sandbox, read, {"inputs": [{"id": str(n)} for n in range(1001)]})

    assert answer.status_code == 207
    body = answer.json()
    [result] = body["results"]
    assert result["from"] == {"id": linked}
    by_contact = {to["toObjectId"]: to["associationTypes"] for to in result["to"]}
    assert set(by_contact) == {first, second}
    assert {t["typeId"] for t in by_contact[first]} == {906, 37}
    assert {"category": "USER_DEFINED", "typeId": 37, "label": "Attendee"} in by_contact[first]
    assert sorted(e["context"]["fromObjectId"][0] for e in body["errors"]) == ["404", alone]
    assert v4.status_code == 200 and v4.json()["results"] == []
    assert too_many.status_code == 400
    assert "at most 1000" in too_many.json()["message"]
    assert sandbox.contract_violations() == []
