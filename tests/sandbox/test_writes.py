"""The sandbox's writes besides create: batch archive, batch update, batch upsert."""

from __future__ import annotations

from typing import Any

import requests

from appointments.models import Portal
from sandbox.models import CrmRecord
from sandbox.seed import DEMO_OWNERS
from tests.web import hubspot_update


def test_sandbox_batch_archive_is_idempotent_and_hidden_from_reads(
    portal: Portal, hubspot: Any
) -> None:
    headers = {"Authorization": f"Bearer {hubspot.token}"}
    created = requests.post(
        hubspot.url("/crm/objects/2026-03/0-421/batch/create"),
        json={
            "inputs": [
                {
                    "properties": {
                        "hs_appointment_name": "A",
                        "hs_appointment_start": "2026-12-01T09:00:00Z",
                        "hs_appointment_end": "2026-12-01T10:00:00Z",
                    }
                }
            ]
        },
        headers=headers,
        timeout=10,
    ).json()
    record_id = created["results"][0]["id"]
    for _ in range(2):
        answer = requests.post(
            hubspot.url("/crm/objects/2026-03/0-421/batch/archive"),
            json={"inputs": [{"id": record_id}]},
            headers=headers,
            timeout=10,
        )
        assert answer.status_code == 204 and answer.content == b""
    read = requests.get(
        hubspot.url(f"/crm/objects/2026-03/0-421/{record_id}"), headers=headers, timeout=10
    )
    assert read.status_code == 404
    assert hubspot.contract_violations() == []


def test_sandbox_batch_update_checks_values_and_lists_missing_ids(
    portal: Portal, hubspot: Any
) -> None:
    created = requests.post(
        hubspot.url("/crm/objects/2026-03/0-421/batch/create"),
        json={
            "inputs": [
                {
                    "properties": {
                        "hs_appointment_name": "A",
                        "hs_appointment_start": "2026-12-01T09:00:00Z",
                        "hs_appointment_end": "2026-12-01T10:00:00Z",
                    }
                }
            ]
        },
        headers={"Authorization": f"Bearer {hubspot.token}"},
        timeout=10,
    ).json()
    record_id = created["results"][0]["id"]
    bad = hubspot_update(hubspot, record_id, {"hs_appointment_status": "maybe"})
    assert bad.status_code == 400 and bad.json()["category"] == "VALIDATION_ERROR"
    partly = requests.post(
        hubspot.url("/crm/objects/2026-03/0-421/batch/update"),
        json={
            "inputs": [
                {"id": record_id, "properties": {"hs_appointment_name": "B"}},
                {"id": "999", "properties": {"hs_appointment_name": "C"}},
            ]
        },
        headers={"Authorization": f"Bearer {hubspot.token}"},
        timeout=10,
    )
    assert partly.status_code == 207
    assert partly.json()["errors"][0]["context"]["ids"] == ["999"]
    assert partly.json()["results"][0]["properties"]["hs_appointment_name"] == "B"
    assert CrmRecord.objects.get(record_id=record_id).properties["hs_appointment_name"] == "B"
    assert hubspot.contract_violations() == []


def test_sandbox_batch_upsert_creates_or_updates_by_a_unique_value(
    portal: Portal, hubspot: Any
) -> None:
    headers = {"Authorization": f"Bearer {hubspot.token}"}
    made = requests.post(
        hubspot.url("/crm/properties/2026-03/0-421"),
        json={
            "name": "booking_ref",
            "label": "Booking ref",
            "type": "string",
            "fieldType": "text",
            "groupName": "appointment_information",
            "hasUniqueValue": True,
        },
        headers=headers,
        timeout=10,
    )
    assert made.status_code == 201, made.text
    times = {
        "hs_appointment_start": "2026-12-01T09:00:00Z",
        "hs_appointment_end": "2026-12-01T10:00:00Z",
    }

    def upsert(name: str) -> Any:
        return requests.post(
            hubspot.url("/crm/objects/2026-03/0-421/batch/upsert"),
            json={
                "inputs": [
                    {
                        "idProperty": "booking_ref",
                        "id": "B-1",
                        "properties": {"hs_appointment_name": name, **times},
                    }
                ]
            },
            headers=headers,
            timeout=10,
        )

    first = upsert("First")
    assert first.status_code == 200, first.text
    [created] = first.json()["results"]
    assert created["new"] is True and created["properties"]["booking_ref"] == "B-1"
    second = upsert("Second")
    [updated] = second.json()["results"]
    assert (updated["new"], updated["id"]) == (False, created["id"])
    assert updated["properties"]["hs_appointment_name"] == "Second"
    assert len(hubspot.appointments()) == 1
    assert hubspot.contract_violations() == []


def test_sandbox_batch_update_and_upsert_take_an_active_owner_as_create_does(
    portal: Portal, hubspot: Any
) -> None:
    # The owner property's options are the portal's active owners for every write, not only
    # for creates: rescheduling an appointment with its owner must not be refused.
    active = next(owner for owner in DEMO_OWNERS if not owner[5])[0]
    archived = next(owner for owner in DEMO_OWNERS if owner[5])[0]
    created = requests.post(
        hubspot.url("/crm/objects/2026-03/0-421/batch/create"),
        json={
            "inputs": [
                {
                    "properties": {
                        "hs_appointment_name": "A",
                        "hs_appointment_start": "2026-12-01T09:00:00Z",
                        "hs_appointment_end": "2026-12-01T10:00:00Z",
                        "hubspot_owner_id": active,
                    }
                }
            ]
        },
        headers={"Authorization": f"Bearer {hubspot.token}"},
        timeout=10,
    ).json()
    record_id = created["results"][0]["id"]

    updated = hubspot_update(hubspot, record_id, {"hubspot_owner_id": active})
    refused = hubspot_update(hubspot, record_id, {"hubspot_owner_id": archived})

    assert updated.status_code == 200, updated.text
    assert refused.status_code == 400 and refused.json()["category"] == "VALIDATION_ERROR"
    assert hubspot.contract_violations() == []
