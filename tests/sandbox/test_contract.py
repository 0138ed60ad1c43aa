"""The sandbox's own contract (sandbox/openapi.yaml): every request and answer checked."""

from __future__ import annotations

from typing import Any

import requests
from django.urls import URLPattern, get_resolver

from sandbox import contract
from sandbox.models import JournalEntry, PropertyDefinition
from tests.fixtures_sandbox import Sandbox

CREATE = "/crm/objects/2026-03/0-421/batch/create"
SEARCH = "/crm/objects/2026-03/0-421/search"


def headers(sandbox: Sandbox) -> dict[str, str]:
    return {"Authorization": f"Bearer {sandbox.token}"}


def test_it_answers_a_request_that_breaks_the_contract_with_hubspot_error_shape(
    sandbox: Sandbox,
) -> None:
    bad = {"inputs": [{"associations": []}]}  # no properties
    response = requests.post(sandbox.url(CREATE), json=bad, headers=headers(sandbox), timeout=10)
    assert response.status_code == 400
    body = response.json()
    assert body["category"] == "VALIDATION_ERROR"
    assert "properties" in body["message"]
    assert sandbox.contract_violations()[0].note.startswith("contract: request")
    assert sandbox.appointments() == []


def test_it_creates_an_input_without_associations(sandbox: Sandbox) -> None:
    # Associations are optional in a create input (the appointments guide: "You can also add
    # an associations object"), though HubSpot's own OpenAPI file marks them required.
    body = {"inputs": [{"properties": {"hs_appointment_name": "Alone"}}]}
    response = requests.post(sandbox.url(CREATE), json=body, headers=headers(sandbox), timeout=10)
    assert response.status_code == 201, response.text
    assert [r.properties["hs_appointment_name"] for r in sandbox.appointments()] == ["Alone"]


def test_it_searches_with_only_filter_groups(sandbox: Sandbox) -> None:
    body = {
        "filterGroups": [
            {"filters": [{"propertyName": "hs_object_id", "operator": "HAS_PROPERTY"}]}
        ]
    }
    response = requests.post(sandbox.url(SEARCH), json=body, headers=headers(sandbox), timeout=10)
    assert response.status_code == 200, response.text
    assert response.json() == {"total": 0, "results": []}


def test_it_marks_an_answer_that_breaks_the_contract_in_the_journal(sandbox: Sandbox) -> None:
    # A stored property definition without the fields a Property must have.
    PropertyDefinition.objects.filter(name="visit_notes").update(definition={"name": "visit_notes"})
    response = requests.get(
        sandbox.url("/crm/properties/2026-03/0-421"), headers=headers(sandbox), timeout=10
    )
    assert response.status_code == 200
    [entry] = sandbox.contract_violations()
    assert entry.note.startswith("contract: response")
    # This test broke the contract on purpose: keep the fixture from failing it.
    JournalEntry.objects.update(note="")


def _api_routes() -> list[str]:
    """Every API path the sandbox routes, as an OpenAPI path template."""
    routes = []
    for pattern in get_resolver("sandbox.urls").url_patterns:
        assert isinstance(pattern, URLPattern)
        route = "/" + str(pattern.pattern)
        for name in ("object_type", "object_id", "from_type", "to_type", "token"):
            route = route.replace(f"<str:{name}>", "{" + name + "}")
        routes.append(route)
    return routes


# The sandbox's own pages and HubSpot's consent page: web pages, not API operations; and the
# catch-all answering 404 for every path no operation has.
NOT_API = {"/oauth/authorize", "/sandbox/", "/sandbox/journal/", "/^(?P<path>.*)$"}


def test_it_describes_every_api_path_it_serves() -> None:
    described = contract.own_spec().spec / "paths"
    templates = {key for key in described.keys()}  # noqa: SIM118 (a SchemaPath, not a dict)

    def normalise(path: str) -> str:
        for source, target in [
            ("{object_type}", "{objectType}"),
            ("{object_id}", "{objectId}"),
            ("{from_type}", "{fromObjectType}"),
            ("{to_type}", "{toObjectType}"),
        ]:
            path = path.replace(source, target)
        return path.replace("enablement/{objectType}", "enablement/{objectTypeId}")

    served = {normalise(r) for r in _api_routes() if r not in NOT_API}
    served = {r for r in served if not r.startswith("/contacts/")}
    assert served - templates == set()
    assert templates - served == set()


def test_it_reads_its_contract_from_the_repository() -> None:
    assert contract.SPEC_PATH.parent.name == "sandbox"
    assert contract.SPEC_PATH.is_file()
    problems: Any = contract.exchange_errors(
        contract.own_spec(),
        method="GET",
        path="/crm/object-library/2026-03/enablement/0-421",
        query=[],
        request_body=b"",
        request_content_type="",
        status=200,
        response_body=b'{"enablement": "yes"}',
        response_content_type="application/json",
    )
    request_problems, response_problems = problems
    assert request_problems == ""
    assert "enablement" in response_problems
