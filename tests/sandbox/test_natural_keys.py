"""Contacts by email, search over contacts/companies/deals, and the owners API."""

from __future__ import annotations

from sandbox.seed import (
    DEMO_CONTACT_IDS,
    DEMO_SHARED_DEAL_NAME,
    DEMO_SHARED_DOMAIN,
    DEMO_TWIN_COMPANY_IDS,
    DEMO_TWIN_DEAL_IDS,
)
from tests.fixtures_sandbox import Sandbox
from tests.sandbox.calls import get, post


def test_it_reads_contacts_by_email_listing_the_missing_ones(sandbox: Sandbox) -> None:
    response = post(
        sandbox,
        "/crm/objects/2026-03/contacts/batch/read",
        {
            "idProperty": "email",
            "inputs": [{"id": "Amina.Rivera0@example.org"}, {"id": "nobody@example.org"}],
            "properties": ["email", "firstname", "lastname"],
        },
    )

    assert response.status_code == 207, response.text
    body = response.json()
    assert [r["id"] for r in body["results"]] == [DEMO_CONTACT_IDS[0]]
    assert body["results"][0]["properties"]["firstname"] == "Amina"
    [error] = body["errors"]
    assert error["category"] == "OBJECT_NOT_FOUND"
    assert error["context"]["ids"] == ["nobody@example.org"]


def test_it_searches_companies_by_domain_with_in_and_finds_both_twins(sandbox: Sandbox) -> None:
    response = post(
        sandbox,
        "/crm/objects/2026-03/companies/search",
        {
            "filterGroups": [
                {
                    "filters": [
                        {
                            "propertyName": "domain",
                            "operator": "IN",
                            "values": [DEMO_SHARED_DOMAIN, "acme-health.example"],
                        }
                    ]
                }
            ],
            "properties": ["name", "domain"],
            "limit": 200,
        },
    )

    assert response.status_code == 200, response.text
    ids = {r["id"] for r in response.json()["results"]}
    assert set(DEMO_TWIN_COMPANY_IDS) <= ids
    assert response.json()["total"] == 3


def test_it_applies_the_lowercase_rule_to_in_on_deal_names(sandbox: Sandbox) -> None:
    sandbox.set_switches(search_in_lowercase=True)

    def found(value: str) -> list[str]:
        body = {
            "filterGroups": [
                {"filters": [{"propertyName": "dealname", "operator": "IN", "values": [value]}]}
            ],
        }
        response = post(sandbox, "/crm/objects/2026-03/deals/search", body)
        assert response.status_code == 200, response.text
        return [r["id"] for r in response.json()["results"]]

    assert found(DEMO_SHARED_DEAL_NAME) == []
    assert found(DEMO_SHARED_DEAL_NAME.lower()) == DEMO_TWIN_DEAL_IDS


def test_it_pages_contact_search_and_matches_eq_whatever_the_case(sandbox: Sandbox) -> None:
    body = {
        "filterGroups": [
            {
                "filters": [
                    {
                        "propertyName": "email",
                        "operator": "EQ",
                        "value": "AMINA.RIVERA0@EXAMPLE.ORG",
                    }
                ]
            }
        ],
    }
    response = post(sandbox, "/crm/objects/2026-03/contacts/search", body)
    assert [r["id"] for r in response.json()["results"]] == [DEMO_CONTACT_IDS[0]]

    first = post(sandbox, "/crm/objects/2026-03/contacts/search", {"limit": 200}).json()
    assert first["total"] >= 400
    after = first["paging"]["next"]["after"]
    second = post(
        sandbox, "/crm/objects/2026-03/contacts/search", {"limit": 200, "after": after}
    ).json()
    assert not {r["id"] for r in first["results"]} & {r["id"] for r in second["results"]}


def test_it_refuses_a_property_contacts_do_not_have(sandbox: Sandbox) -> None:
    body = {
        "filterGroups": [{"filters": [{"propertyName": "nope", "operator": "EQ", "value": "x"}]}]
    }
    response = post(sandbox, "/crm/objects/2026-03/contacts/search", body)

    assert response.status_code == 400
    assert "0-1" in response.json()["message"]


def test_it_lists_active_owners_and_archived_ones_apart(sandbox: Sandbox) -> None:
    active = get(sandbox, "/crm/owners/2026-03")
    archived = get(sandbox, "/crm/owners/2026-03", archived="true")

    assert active.status_code == 200, active.text
    assert {o["email"] for o in active.json()["results"]} >= {"nadia.haddad@riverside-care.example"}
    assert all(not o["archived"] for o in active.json()["results"])
    assert [o["email"] for o in archived.json()["results"]] == ["sam.ortiz@riverside-care.example"]
    assert archived.json()["results"][0]["archived"] is True


def test_it_pages_owners_and_filters_by_email(sandbox: Sandbox) -> None:
    first = get(sandbox, "/crm/owners/2026-03", limit="2").json()
    rest = get(sandbox, "/crm/owners/2026-03", limit="2", after=first["paging"]["next"]["after"])
    by_email = get(sandbox, "/crm/owners/2026-03", email="TOM.KELLER@riverside-care.example")

    assert len(first["results"]) == 2
    assert len(rest.json()["results"]) == 1 and "paging" not in rest.json()
    assert [o["id"] for o in by_email.json()["results"]] == ["70110002"]
    assert get(sandbox, "/crm/owners/2026-03", limit="501").status_code == 400


def test_it_creates_contacts_once_per_email_and_names_the_existing_one(sandbox: Sandbox) -> None:
    path = "/crm/objects/2026-03/contacts/batch/create"
    new = {"properties": {"email": "New.Client@example.org", "firstname": "New"}}

    created = post(sandbox, path, {"inputs": [new]})
    again = post(sandbox, path, {"inputs": [new, {"properties": {"email": "other@example.org"}}]})
    twice = post(sandbox, path, {"inputs": [{"properties": {"email": "x@example.org"}}] * 2})

    assert created.status_code == 201, created.text
    [record] = created.json()["results"]
    assert record["properties"]["email"] == "new.client@example.org"
    assert again.status_code == 409
    assert again.json()["category"] == "CONFLICT"
    assert again.json()["message"] == f"Contact already exists. Existing ID: {record['id']}"
    assert twice.status_code == 400
    found = post(
        sandbox,
        "/crm/objects/2026-03/contacts/batch/read",
        {"idProperty": "email", "inputs": [{"id": "other@example.org"}, {"id": "x@example.org"}]},
    )
    assert found.json()["results"] == []
