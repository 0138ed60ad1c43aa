"""Search in the sandbox, as HubSpot's search behaves: index lag, operators, sorts, limits.

HubSpot's search guide: https://developers.hubspot.com/docs/api-reference/2026-03/crm/search-the-crm
(SANDBOX.md, "Behaviours and their sources").
"""

from __future__ import annotations

from typing import Any

import pytest
import requests
from django.core.management import call_command

from sandbox.models import DEFAULT_SEARCH_LAG_SECONDS, Switches
from tests.fixtures_sandbox import Sandbox
from tests.sandbox.calls import get, post

CREATE = "/crm/objects/2026-03/0-421/batch/create"
SEARCH = "/crm/objects/2026-03/0-421/search"
READ = "/crm/objects/2026-03/0-421/batch/read"


@pytest.fixture(autouse=True)
def many_searches(sandbox: Sandbox) -> None:
    """These tests search more often than HubSpot's 5 a second (tested in test_limits.py)."""
    sandbox.set_limits(search_per_second=1000)


def create(sandbox: Sandbox, *names: str, settle: bool = True, **props: str) -> list[str]:
    """Create appointments named ``names``; with ``settle``, then let the sandbox's default
    search lag pass (on its clock), as a client of HubSpot waits before searching for them."""
    inputs = [{"properties": {"hs_appointment_name": name, **props}} for name in names]
    response = post(sandbox, CREATE, {"inputs": inputs})
    assert response.status_code == 201, response.text
    by_name = {r["properties"]["hs_appointment_name"]: r["id"] for r in response.json()["results"]}
    if settle:
        sandbox.advance_clock(DEFAULT_SEARCH_LAG_SECONDS + 0.1)
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
    [record_id] = create(sandbox, "Lagging visit", settle=False)

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


def test_it_lags_search_by_a_few_seconds_by_default(sandbox: Sandbox) -> None:
    [record_id] = create(sandbox, "Lagging by default", settle=False)
    assert Switches.objects.get().search_lag_seconds == DEFAULT_SEARCH_LAG_SECONDS == 5
    assert found(search(sandbox, **by_name("Lagging by default"))) == []
    sandbox.advance_clock(DEFAULT_SEARCH_LAG_SECONDS + 0.1)
    assert found(search(sandbox, **by_name("Lagging by default"))) == [record_id]


def test_it_sets_the_lag_from_the_command_line(sandbox: Sandbox) -> None:
    call_command("sandbox_set", "--search-lag", "3")
    assert Switches.objects.get().search_lag_seconds == 3
    create(sandbox, "Set by command", settle=False)
    assert found(search(sandbox, **by_name("Set by command"))) == []


def name_filter(operator: str, **rest: Any) -> dict[str, Any]:
    filters = [{"propertyName": "hs_appointment_name", "operator": operator, **rest}]
    return {"filterGroups": [{"filters": filters}]}


def test_it_matches_in_and_not_in_on_strings_only_with_lowercase_values(sandbox: Sandbox) -> None:
    assert Switches.objects.get_or_create(pk=1)[0].search_in_lowercase  # HubSpot's rule, default
    visit, other = create(sandbox, "Visit Alpha", "Visit Beta")

    assert found(search(sandbox, **name_filter("IN", values=["visit alpha"]))) == [visit]
    assert found(search(sandbox, **name_filter("IN", values=["Visit Alpha"]))) == []
    assert found(search(sandbox, **name_filter("NOT_IN", values=["visit alpha"]))) == [other]
    assert found(search(sandbox, **name_filter("NOT_IN", values=["Visit Alpha"]))) == [
        visit,
        other,
    ]


def test_it_matches_in_on_strings_whatever_the_case_with_the_switch_off(
    sandbox: Sandbox,
) -> None:
    call_command("sandbox_set", "--search-in-lowercase", "off")
    visit, _ = create(sandbox, "Visit Alpha", "Visit Beta")
    assert found(search(sandbox, **name_filter("IN", values=["Visit Alpha"]))) == [visit]


def test_it_matches_in_on_other_types_whatever_the_case(sandbox: Sandbox) -> None:
    sandbox.set_switches(search_in_lowercase=True)
    [visit] = create(sandbox, "Status visit", hs_appointment_status="scheduled")
    by_status = [
        {"propertyName": "hs_appointment_status", "operator": "IN", "values": ["SCHEDULED"]}
    ]
    assert found(search(sandbox, filterGroups=[{"filters": by_status}])) == [visit]


def test_it_matches_eq_and_neq_whatever_the_case(sandbox: Sandbox) -> None:
    visit, other = create(sandbox, "Visit Alpha", "Visit Beta")

    assert found(search(sandbox, **name_filter("EQ", value="VISIT alpha"))) == [visit]
    assert found(search(sandbox, **name_filter("NEQ", value="visit ALPHA"))) == [other]


def test_it_accepts_a_body_with_only_filter_groups_or_nothing(sandbox: Sandbox) -> None:
    visit, other = create(sandbox, "Visit Alpha", "Visit Beta")

    assert found(search(sandbox, **name_filter("EQ", value="Visit Beta"))) == [other]
    assert found(search(sandbox)) == [visit, other]


def test_it_searches_the_default_searchable_properties_with_query(sandbox: Sandbox) -> None:
    visit, _ = create(sandbox, "Dental check-up", "Eye exam")
    _, later = create(sandbox, "Blood test", "Second dental visit")

    assert found(search(sandbox, query="DENTAL")) == [visit, later]
    assert found(
        search(sandbox, query="dental", **name_filter("CONTAINS_TOKEN", value="vis*"))
    ) == [later]
    too_long = search(sandbox, query="x" * 3001)
    assert too_long.status_code == 400
    assert too_long.json()["category"] == "VALIDATION_ERROR"
    assert found(search(sandbox, query="x" * 3000)) == []


def test_it_sorts_by_one_rule_in_either_form(sandbox: Sandbox) -> None:
    b, a, c = create(sandbox, "b visit", "a visit", "c visit")

    assert found(search(sandbox, sorts=["hs_appointment_name"])) == [a, b, c]
    assert found(search(sandbox, sorts=["-hs_appointment_name"])) == [c, b, a]
    descending = [{"propertyName": "hs_appointment_name", "direction": "DESCENDING"}]
    assert found(search(sandbox, sorts=descending)) == [c, b, a]
    assert found(search(sandbox, sorts=[{"propertyName": "hs_appointment_name"}])) == [a, b, c]
    two = search(sandbox, sorts=["hs_appointment_name", "hs_createdate"])
    assert two.status_code == 400
    assert two.json()["category"] == "VALIDATION_ERROR"


def test_it_filters_with_tokens(sandbox: Sandbox) -> None:
    mail, phone = create(sandbox, "Call back sam@example.com", "Phone Sam")

    assert found(search(sandbox, **name_filter("CONTAINS_TOKEN", value="*@example.com"))) == [mail]
    assert found(search(sandbox, **name_filter("CONTAINS_TOKEN", value="SAM"))) == [phone]
    assert found(search(sandbox, **name_filter("NOT_CONTAINS_TOKEN", value="phone"))) == [mail]


def test_it_filters_between_two_values_and_refuses_a_missing_high_value(sandbox: Sandbox) -> None:
    inputs = [
        {"properties": {"hs_appointment_name": f"Party of {n}", "party_size": str(n)}}
        for n in (1, 3, 5)
    ]
    created = post(sandbox, CREATE, {"inputs": inputs}).json()["results"]
    ids = {r["properties"]["hs_appointment_name"]: r["id"] for r in created}
    sandbox.advance_clock(DEFAULT_SEARCH_LAG_SECONDS + 0.1)  # past search's lag
    between = [
        {"propertyName": "party_size", "operator": "BETWEEN", "value": "2", "highValue": "5"}
    ]

    answer = search(sandbox, filterGroups=[{"filters": between}], sorts=["party_size"])
    missing = search(sandbox, filterGroups=[{"filters": [{**between[0], "highValue": None}]}])
    del between[0]["highValue"]
    without = search(sandbox, filterGroups=[{"filters": between}])

    assert found(answer) == [ids["Party of 3"], ids["Party of 5"]]
    assert missing.status_code == 400
    assert without.status_code == 400
    assert "operator BETWEEN requires a highValue" in without.json()["message"]


def test_it_filters_on_having_a_property(sandbox: Sandbox) -> None:
    [bare] = create(sandbox, "No notes")
    [noted] = create(sandbox, "With notes", visit_notes="Bring the file")
    has = [{"propertyName": "visit_notes", "operator": "HAS_PROPERTY"}]
    lacks = [{"propertyName": "visit_notes", "operator": "NOT_HAS_PROPERTY"}]

    assert found(search(sandbox, filterGroups=[{"filters": has}])) == [noted]
    assert found(search(sandbox, filterGroups=[{"filters": lacks}])) == [bare]


def test_it_refuses_an_unknown_property_or_operator(sandbox: Sandbox) -> None:
    create(sandbox, "Visit")
    unknown = [{"propertyName": "no_such_property", "operator": "EQ", "value": "x"}]
    bad_operator = [{"propertyName": "hs_appointment_name", "operator": "LIKE", "value": "x"}]

    for body in (
        {"filterGroups": [{"filters": unknown}]},
        {"filterGroups": [{"filters": bad_operator}]},
        {"sorts": ["no_such_property"]},
    ):
        answer = search(sandbox, **body)
        assert answer.status_code == 400, body
        assert answer.json()["category"] == "VALIDATION_ERROR"
        assert answer.json()["correlationId"] == answer.headers["x-hubspot-correlation-id"]


def test_it_refuses_an_unknown_operator_with_contract_checking_off(sandbox: Sandbox) -> None:
    sandbox.set_switches(contract_checking=False)
    bad_operator = [{"propertyName": "hs_appointment_name", "operator": "LIKE", "value": "x"}]
    answer = search(sandbox, filterGroups=[{"filters": bad_operator}])
    assert answer.status_code == 400
    assert "LIKE" in answer.json()["message"]


def test_it_enforces_the_filter_limits(sandbox: Sandbox) -> None:
    one = {"propertyName": "hs_appointment_name", "operator": "HAS_PROPERTY"}

    def groups(*sizes: int) -> requests.Response:
        return search(sandbox, filterGroups=[{"filters": [one] * n} for n in sizes])

    assert groups(1, 1, 1, 1, 1).status_code == 200
    assert "filter groups" in groups(1, 1, 1, 1, 1, 1).json()["message"]
    assert groups(10).status_code == 200
    assert "per filter group" in groups(11).json()["message"]
    assert groups(10, 10, 5).status_code == 200
    assert "across all filter groups" in groups(10, 10, 6).json()["message"]


def test_it_enforces_the_page_size_and_the_10000_results(sandbox: Sandbox) -> None:
    create(sandbox, "Visit")
    assert search(sandbox, limit=200).status_code == 200
    assert search(sandbox, limit=201).status_code == 400
    assert search(sandbox, after="9999").status_code == 200
    beyond = search(sandbox, after="10000")
    assert beyond.status_code == 400
    assert "10000 total results" in beyond.json()["message"]


def test_it_matches_in_on_datetimes_as_instants(sandbox: Sandbox) -> None:
    nine, ten = create(sandbox, "At nine", "At ten", settle=False)
    for record_id, start in ((nine, "2026-12-03T09:00:00Z"), (ten, "2026-12-03T10:00:00.000Z")):
        update = {"inputs": [{"id": record_id, "properties": {"hs_appointment_start": start}}]}
        assert post(sandbox, "/crm/objects/2026-03/0-421/batch/update", update).status_code == 200
    sandbox.advance_clock(DEFAULT_SEARCH_LAG_SECONDS + 0.1)
    nine_ms, ten_ms = "1796288400000", "1796292000000"  # 09:00 and 10:00 UTC that day
    starts = {"propertyName": "hs_appointment_start", "operator": "IN"}

    both = search(sandbox, filterGroups=[{"filters": [{**starts, "values": [nine_ms, ten_ms]}]}])
    iso = search(sandbox, filterGroups=[{"filters": [{**starts, "values": ["2026-12-03T10:00Z"]}]}])
    other = search(sandbox, filterGroups=[{"filters": [{**starts, "values": ["1796288400001"]}]}])
    not_in = {**starts, "operator": "NOT_IN", "values": [nine_ms]}
    outside = search(sandbox, filterGroups=[{"filters": [not_in]}])

    assert sorted(found(both)) == sorted([nine, ten])
    assert found(iso) == [ten]
    assert found(other) == []
    assert nine not in found(outside) and ten in found(outside)
