"""The sandbox's record page, where the app's "open in HubSpot" links lead in the demo."""

from __future__ import annotations

import requests

from tests.fixtures_sandbox import Sandbox


def test_it_shows_a_created_appointment_where_the_app_links_to_it(sandbox: Sandbox) -> None:
    created = requests.post(
        sandbox.url("/crm/objects/2026-03/0-421/batch/create"),
        headers={"Authorization": f"Bearer {sandbox.token}"},
        json={
            "inputs": [
                {
                    "objectWriteTraceId": "t-1",
                    "properties": {"hs_appointment_name": "Intake <b>visit</b>"},
                    "associations": [],
                }
            ]
        },
        timeout=10,
    ).json()
    record_id = created["results"][0]["id"]

    page = requests.get(
        sandbox.url(f"/contacts/{sandbox.hub_id}/record/0-421/{record_id}"), timeout=10
    )
    missing = requests.get(sandbox.url(f"/contacts/{sandbox.hub_id}/record/0-421/1"), timeout=10)

    assert page.status_code == 200
    assert "Intake &lt;b&gt;visit&lt;/b&gt;" in page.text
    assert missing.status_code == 404
