"""Reading one record: list query parameters in both forms, and its associations."""

from __future__ import annotations

from typing import Any

import requests

from sandbox.seed import DEMO_COMPANY_IDS, DEMO_CONTACT_IDS
from tests.fixtures_sandbox import Sandbox
from tests.sandbox.calls import post

CREATE = "/crm/objects/2026-03/0-421/batch/create"


def association(record_id: str, type_id: int, category: str = "HUBSPOT_DEFINED") -> dict[str, Any]:
    return {
        "to": {"id": record_id},
        "types": [{"associationCategory": category, "associationTypeId": type_id}],
    }


def created(sandbox: Sandbox) -> str:
    item = {
        "properties": {
            "hs_appointment_name": "Read me",
            "visit_notes": "Bring the file",
            "party_size": "2",
        },
        "associations": [
            association(DEMO_CONTACT_IDS[0], 906),
            association(DEMO_CONTACT_IDS[0], 37, "USER_DEFINED"),
            association(DEMO_COMPANY_IDS[0], 908),
        ],
    }
    response = post(sandbox, CREATE, {"inputs": [item]})
    assert response.status_code == 201, response.text
    return str(response.json()["results"][0]["id"])


def read(sandbox: Sandbox, record_id: str, query: str) -> dict[str, Any]:
    response = requests.get(
        sandbox.url(f"/crm/objects/2026-03/0-421/{record_id}?{query}"),
        headers={"Authorization": f"Bearer {sandbox.token}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_it_reads_repeated_and_comma_separated_properties_alike(sandbox: Sandbox) -> None:
    record_id = created(sandbox)
    wanted = {"visit_notes", "party_size"}

    for query in (
        "properties=visit_notes&properties=party_size",
        "properties=visit_notes,party_size",
        "properties=visit_notes&properties=party_size,visit_notes",
    ):
        assert wanted <= set(read(sandbox, record_id, query)["properties"]), query


def test_it_returns_the_associations_asked_for(sandbox: Sandbox) -> None:
    record_id = created(sandbox)

    body = read(sandbox, record_id, "associations=contacts,companies,deals,widgets")
    repeated = read(sandbox, record_id, "associations=contacts&associations=0-2")

    assert body["associations"] == {
        "contacts": {
            "results": [
                {"id": DEMO_CONTACT_IDS[0], "type": "appointment_to_contact"},
                {"id": DEMO_CONTACT_IDS[0], "type": "appointment_to_contact_attendee"},
            ]
        },
        "companies": {"results": [{"id": DEMO_COMPANY_IDS[0], "type": "appointment_to_company"}]},
    }
    assert repeated["associations"] == body["associations"]
    assert "associations" not in read(sandbox, record_id, "properties=visit_notes")
