"""Search in the sandbox, as HubSpot's search behaves: index lag, operators, sorts, limits.

HubSpot's search guide: https://developers.hubspot.com/docs/api-reference/2026-03/crm/search-the-crm
(SANDBOX.md, "Behaviours and their sources").
"""

from __future__ import annotations

from typing import Any

import requests
from django.core.management import call_command

from sandbox.models import Switches
from tests.fixtures_sandbox import Sandbox
from tests.sandbox.calls import get, post

CREATE = "/crm/objects/2026-03/0-421/batch/create"
SEARCH = "/crm/objects/2026-03/0-421/search"
READ = "/crm/objects/2026-03/0-421/batch/read"


def create(sandbox: Sandbox, *names: str, **props: str) -> list[str]:
    inputs = [{"properties": {"hs_appointment_name": name, **props}} for name in names]
    response = post(sandbox, CREATE, {"inputs": inputs})
    assert response.status_code == 201, response.text
    by_name = {r["properties"]["hs_appointment_name"]: r["id"] for r in response.json()["results"]}
    return [by_name[name] for name in names]


def search(sandbox: Sandbox, **body: Any) -> requests.Response:
    return post(sandbox, SEARCH, body)


def by_name(name: str) -> dict[str, Any]:
    filters = [{"propertyName": "hs_appointment_name", "operator": "EQ", "value": name}]
    return {"filterGroups": [{"filters": filters}]}


def found(response: requests.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [r["id"] for r in response.json()["results"]]


def test_it_shows_a_new_record_to_search_only_after_the_lag(sandbox: Sandbox) -> None:
    sandbox.set_search_lag(5)
    [record_id] = create(sandbox, "Lagging visit")

    assert found(search(sandbox, **by_name("Lagging visit"))) == []
    assert search(sandbox, **by_name("Lagging visit")).json()["total"] == 0
    sandbox.advance_clock(4)
    assert found(search(sandbox, **by_name("Lagging visit"))) == []
    sandbox.advance_clock(1.5)
    assert found(search(sandbox, **by_name("Lagging visit"))) == [record_id]


def test_it_reads_a_new_record_by_id_at_once_whatever_the_lag(sandbox: Sandbox) -> None:
    sandbox.set_search_lag(60)
    [record_id] = create(sandbox, "Read at once")

    batch = post(sandbox, READ, {"inputs": [{"id": record_id}], "properties": []})
    one = get(sandbox, f"/crm/objects/2026-03/0-421/{record_id}")

    assert batch.status_code == 200
    assert [r["id"] for r in batch.json()["results"]] == [record_id]
    assert one.status_code == 200
    assert found(search(sandbox, **by_name("Read at once"))) == []


def test_it_searches_at_once_by_default(sandbox: Sandbox) -> None:
    [record_id] = create(sandbox, "Immediate")
    assert Switches.objects.get().search_lag_seconds == 0
    assert found(search(sandbox, **by_name("Immediate"))) == [record_id]


def test_it_sets_the_lag_from_the_command_line(sandbox: Sandbox) -> None:
    call_command("sandbox_set", "--search-lag", "3")
    assert Switches.objects.get().search_lag_seconds == 3
    create(sandbox, "Set by command")
    assert found(search(sandbox, **by_name("Set by command"))) == []
