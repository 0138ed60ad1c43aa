"""The official Python SDK (``hubspot-api-client``) on a scripted tour of the standalone sandbox.

A contract test from the client's side (issue 12, item 3): each step calls the SDK as an
integrator would and checks what HubSpot's public documentation says that call gets (status,
shape, error category and message, as the SDK exposes them). The steps run in file order and
share the tour's state (tokens, created records). A step where the sandbox still answers
otherwise than HubSpot, in an area being changed elsewhere, is ``xfail(strict=True)`` with the
difference as its reason, so it fails once the sandbox is fixed and the mark must go.
Sources: SANDBOX.md ("Behaviours and their sources") and the URLs on each step.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from hubspot import HubSpot
from hubspot.crm.objects import (
    ApiException,
    AssociationSpec,
    BatchInputSimplePublicObjectBatchInputForCreate,
    BatchReadInputSimplePublicObjectId,
    Filter,
    FilterGroup,
    PublicAssociationsForObject,
    PublicObjectId,
    PublicObjectSearchRequest,
    SimplePublicObjectBatchInputForCreate,
    SimplePublicObjectId,
)
from hubspot.crm.properties import ApiException as PropertiesApiException
from hubspot.oauth import ApiException as OAuthApiException
from urllib3.util.retry import Retry

from sandbox.seed import DEMO_CONTACT_IDS, DEMO_USER_EMAIL
from tests.sdk.conftest import CALLBACK, SCOPES, StandaloneSandbox

pytestmark = pytest.mark.heavy

APPOINTMENTS = "0-421"


@dataclass
class Tour:
    """What the steps share: the sandbox, the SDK client, the OAuth tokens, records made."""

    sandbox: StandaloneSandbox
    client: HubSpot
    tokens: dict[str, Any] = field(default_factory=dict)
    created: dict[str, str] = field(default_factory=dict)  # appointment name -> record id


@pytest.fixture(scope="module")
def tour(standalone: StandaloneSandbox) -> Tour:
    return Tour(sandbox=standalone, client=HubSpot(host=standalone.base_url))


def body_of(error: Any) -> dict[str, Any]:
    """HubSpot's JSON error body, as the SDK's ApiException carries it."""
    parsed: dict[str, Any] = json.loads(error.body)
    return parsed


def contact(record_id: str, type_id: int = 906, category: str = "HUBSPOT_DEFINED") -> Any:
    return PublicAssociationsForObject(
        to=PublicObjectId(id=record_id),
        types=[AssociationSpec(association_category=category, association_type_id=type_id)],
    )


def create_input(
    name: str, *, trace: str | None = None, associations: list[Any] | None = None, **props: str
) -> SimplePublicObjectBatchInputForCreate:
    return SimplePublicObjectBatchInputForCreate(
        properties={"hs_appointment_name": name, **props} if name else props,
        associations=associations or [],
        object_write_trace_id=trace,
    )


def batch(*inputs: SimplePublicObjectBatchInputForCreate) -> Any:
    return BatchInputSimplePublicObjectBatchInputForCreate(inputs=list(inputs))


def refused(call: Callable[[], Any]) -> tuple[int, dict[str, Any]]:
    """Run an SDK call that must fail; HTTP status and HubSpot's error body."""
    with pytest.raises((ApiException, PropertiesApiException, OAuthApiException)) as caught:
        call()
    error = caught.value
    return int(error.status), body_of(error)


def eventually[T](search: Callable[[], T], done: Callable[[T], bool], seconds: float = 20) -> T:
    """Repeat a search until ``done``: HubSpot's search lags writes ("may take a few moments",
    https://developers.hubspot.com/docs/api-reference/2026-03/crm/search-the-crm), so an
    integrator polls for a fresh record instead of trusting one search."""
    deadline = time.monotonic() + seconds
    while True:
        result = search()
        if done(result) or time.monotonic() > deadline:
            return result
        time.sleep(0.5)


# OAuth through the SDK's own helpers (v1 paths):
# https://developers.hubspot.com/docs/api-reference/legacy/authentication/oauth-tokens/v1/guide


def test_it_exchanges_an_authorization_code_through_the_oauth_helper(tour: Tour) -> None:
    answer = tour.client.oauth.tokens_api.create(
        grant_type="authorization_code",
        code=tour.sandbox.authorization_code(),
        redirect_uri=CALLBACK,
        client_id=tour.sandbox.client_id,
        client_secret=tour.sandbox.client_secret,
    )
    assert answer.token_type == "bearer"
    assert answer.expires_in == 1800
    assert answer.access_token and answer.refresh_token
    tour.tokens = {"access": answer.access_token, "refresh": answer.refresh_token}
    tour.client.access_token = answer.access_token


def test_it_reads_the_token_metadata_through_the_oauth_helpers(tour: Tour) -> None:
    access = tour.client.oauth.access_tokens_api.get(token=tour.tokens["access"])
    assert (access.hub_id, access.token_type, access.user) == (
        tour.sandbox.hub_id,
        "access",
        DEMO_USER_EMAIL,
    )
    assert access.scopes == SCOPES.split()
    assert 1790 <= access.expires_in <= 1800
    refresh = tour.client.oauth.refresh_tokens_api.get(token=tour.tokens["refresh"])
    assert (refresh.client_id, refresh.token_type) == (tour.sandbox.client_id, "refresh")
    status, body = refused(lambda: tour.client.oauth.access_tokens_api.get(token="CNnothing"))
    assert status == 404
    assert body["correlationId"]


def test_it_refuses_a_used_code_with_bad_auth_code(tour: Tour) -> None:
    code = tour.sandbox.authorization_code()
    oauth = tour.client.oauth.tokens_api
    fields = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": CALLBACK,
        "client_id": tour.sandbox.client_id,
        "client_secret": tour.sandbox.client_secret,
    }
    oauth.create(**fields)
    status, body = refused(lambda: oauth.create(**fields))
    assert status == 400
    assert (body["status"], body["error"]) == ("BAD_AUTH_CODE", "invalid_grant")


# https://developers.hubspot.com/docs/api-reference/2026-03/crm/properties/get-properties


def test_it_lists_the_appointment_properties(tour: Tour) -> None:
    answer = tour.client.crm.properties.core_api.get_all(object_type=APPOINTMENTS)
    by_name = {p.name: p for p in answer.results}
    assert by_name["hs_appointment_name"].type == "string"
    status = by_name["hs_appointment_status"]
    assert status.type == "enumeration"
    assert {o.value for o in status.options} >= {"scheduled", "completed", "canceled"}
    assert by_name["hs_object_id"].modification_metadata.read_only_value is True


# https://developers.hubspot.com/docs/api-reference/crm-associations-v4/guide


def test_it_lists_the_association_labels_to_contacts(tour: Tour) -> None:
    definitions = tour.client.crm.associations.v4.schema.definitions_api
    answer = definitions.get_all(from_object_type=APPOINTMENTS, to_object_type="contacts")
    labels = {(r.category, r.type_id): r.label for r in answer.results}
    assert labels[("HUBSPOT_DEFINED", 906)] is None
    assert labels[("USER_DEFINED", 37)] == "Attendee"


# Batch create: https://developers.hubspot.com/docs/api-reference/2026-03/crm/objects/appointments/guide
# and "Multi-status errors", https://developers.hubspot.com/docs/api-reference/error-handling


def test_it_creates_a_batch_with_associations_201(tour: Tour) -> None:
    inputs = [
        create_input(
            f"Tour visit {n}",
            trace=f"py-{n}",
            associations=[
                contact(DEMO_CONTACT_IDS[n]),
                contact(DEMO_CONTACT_IDS[n], 37, "USER_DEFINED"),
            ],
            hs_appointment_status="scheduled" if n % 2 else "completed",
            hs_appointment_start=f"2027-01-0{n + 1}T09:00:00.000Z",
        )
        for n in range(3)
    ]
    answer, status, _ = tour.client.crm.objects.batch_api.create_with_http_info(
        object_type=APPOINTMENTS,
        batch_input_simple_public_object_batch_input_for_create=batch(*inputs),
    )
    assert status == 201
    assert answer.status == "COMPLETE"
    assert answer.started_at and answer.completed_at
    tour.created = {r.properties["hs_appointment_name"]: r.id for r in answer.results}
    assert sorted(tour.created) == ["Tour visit 0", "Tour visit 1", "Tour visit 2"]


def test_it_creates_the_valid_inputs_and_reports_the_others_207(tour: Tour) -> None:
    inputs = [
        create_input("Tour partial ok", trace="py-ok"),
        create_input("Tour partial bad", trace="py-bad", hs_appointment_status="bogus"),
    ]
    answer, status, _ = tour.client.crm.objects.batch_api.create_with_http_info(
        object_type=APPOINTMENTS,
        batch_input_simple_public_object_batch_input_for_create=batch(*inputs),
    )
    assert status == 207
    assert answer.num_errors == 1
    [error] = answer.errors
    assert error.category == "VALIDATION_ERROR"
    assert error.context["objectWriteTraceId"] == ["py-bad"]
    assert [r.properties["hs_appointment_name"] for r in answer.results] == ["Tour partial ok"]
    tour.created["Tour partial ok"] = answer.results[0].id


def test_it_reads_a_batch_by_id(tour: Tour) -> None:
    ids = sorted(tour.created.values())
    answer = tour.client.crm.objects.batch_api.read(
        object_type=APPOINTMENTS,
        batch_read_input_simple_public_object_id=BatchReadInputSimplePublicObjectId(
            inputs=[SimplePublicObjectId(id=i) for i in ids],
            properties=["hs_appointment_name"],
            properties_with_history=[],
        ),
    )
    assert answer.status == "COMPLETE"
    assert sorted(r.id for r in answer.results) == ids
    names = {r.id: r.properties["hs_appointment_name"] for r in answer.results}
    assert names == {v: k for k, v in tour.created.items()}


# Search: https://developers.hubspot.com/docs/api-reference/2026-03/crm/search-the-crm


def search(tour: Tour, request: PublicObjectSearchRequest) -> Any:
    return tour.client.crm.objects.search_api.do_search(
        object_type=APPOINTMENTS, public_object_search_request=request
    )


def test_it_searches_with_filters(tour: Tour) -> None:
    names = ["Tour visit 0", "Tour visit 2"]
    request = PublicObjectSearchRequest(
        filter_groups=[
            FilterGroup(
                filters=[
                    # IN on a string property: values must be lowercase (HubSpot's guide).
                    Filter(
                        property_name="hs_appointment_name",
                        operator="IN",
                        values=[name.lower() for name in names],
                    ),
                    Filter(property_name="hs_appointment_status", operator="EQ", value="completed"),
                ]
            )
        ],
        properties=["hs_appointment_name", "hs_appointment_status"],
        limit=10,
    )
    answer = eventually(lambda: search(tour, request), lambda a: a.total == 2)
    assert answer.total == 2
    assert sorted(r.properties["hs_appointment_name"] for r in answer.results) == names
    assert {r.properties["hs_appointment_status"] for r in answer.results} == {"completed"}


def test_it_searches_with_sorts(tour: Tour) -> None:
    request = PublicObjectSearchRequest(
        filter_groups=[
            FilterGroup(
                filters=[Filter(property_name="hs_appointment_start", operator="HAS_PROPERTY")]
            )
        ],
        # The documented object form; the SDK types sorts as strings but sends what it is given.
        sorts=[{"propertyName": "hs_appointment_start", "direction": "DESCENDING"}],
        properties=["hs_appointment_name"],
    )
    answer = eventually(lambda: search(tour, request), lambda a: a.total == 3)
    order = [r.properties["hs_appointment_name"] for r in answer.results]
    assert order == ["Tour visit 2", "Tour visit 1", "Tour visit 0"]


def test_it_searches_with_a_minimal_body(tour: Tour) -> None:
    answer = eventually(lambda: search(tour, PublicObjectSearchRequest()), lambda a: a.total == 4)
    assert answer.total == 4
    assert set(answer.results[0].properties) >= {"hs_object_id", "hs_createdate"}


# Read one: https://developers.hubspot.com/docs/api-reference/2026-03/crm/objects/appointments/guide


def test_it_reads_one_record_with_several_properties(tour: Tour) -> None:
    record = tour.client.crm.objects.basic_api.get_by_id(
        object_type=APPOINTMENTS,
        object_id=tour.created["Tour visit 1"],
        properties=["hs_appointment_name", "hs_appointment_status", "hs_appointment_start"],
    )
    assert record.properties["hs_appointment_name"] == "Tour visit 1"
    assert record.properties["hs_appointment_status"] == "scheduled"
    assert record.properties["hs_appointment_start"] == "2027-01-02T09:00:00.000Z"


def test_it_reads_one_record_with_its_associations(tour: Tour) -> None:
    record = tour.client.crm.objects.basic_api.get_by_id(
        object_type=APPOINTMENTS, object_id=tour.created["Tour visit 1"], associations=["contacts"]
    )
    assert record.associations is not None
    # One entry per association type between the two records (default and labelled), as
    # HubSpot's v3 reads list them: the same contact, each with its own type.
    results = record.associations["contacts"].results
    assert {a.id for a in results} == {DEMO_CONTACT_IDS[1]}
    assert len({a.type for a in results}) == len(results)


# Documented errors of a batch create: without objectWriteTraceIds one bad input fails the
# whole call (SANDBOX.md, the batch create row).


def create_refused(tour: Tour, *inputs: SimplePublicObjectBatchInputForCreate) -> Any:
    return refused(
        lambda: tour.client.crm.objects.batch_api.create(
            object_type=APPOINTMENTS,
            batch_input_simple_public_object_batch_input_for_create=batch(*inputs),
        )
    )


def test_it_refuses_an_invalid_option(tour: Tour) -> None:
    status, body = create_refused(tour, create_input("Bad option", hs_appointment_status="bogus"))
    assert status == 400
    assert body["category"] == "VALIDATION_ERROR"
    assert [e["code"] for e in body["errors"]] == ["INVALID_OPTION"]
    assert "bogus" in body["message"]


def test_it_refuses_a_missing_required_property(tour: Tour) -> None:
    status, body = create_refused(tour, create_input("", hs_appointment_status="scheduled"))
    assert status == 400
    assert body["category"] == "VALIDATION_ERROR"
    assert "hs_appointment_name" in body["message"]
    assert [e["code"] for e in body["errors"]] == ["REQUIRED_PROPERTY"]


def test_it_refuses_an_association_to_an_unknown_record(tour: Tour) -> None:
    status, body = create_refused(
        tour, create_input("Ghost link", associations=[contact("99999999999")])
    )
    assert status == 400
    assert body["category"] == "VALIDATION_ERROR"
    assert body["context"]["INVALID_OBJECT_IDS"] == ["99999999999"]


def test_it_refuses_more_than_100_inputs(tour: Tour) -> None:
    inputs = [create_input(f"Too many {n}") for n in range(101)]
    status, body = create_refused(tour, *inputs)
    assert status == 400
    assert body["category"] == "VALIDATION_ERROR"
    assert "100" in body["message"]


# Authentication: https://developers.hubspot.com/docs/api-reference/error-handling (401)


def test_it_refuses_a_bad_token(tour: Tour) -> None:
    stranger = HubSpot(access_token="CNnot-a-token", host=tour.sandbox.base_url)
    status, body = refused(lambda: stranger.crm.properties.core_api.get_all(APPOINTMENTS))
    assert status == 401
    assert body["category"] == "INVALID_AUTHENTICATION"


def test_it_refuses_an_expired_token_then_refreshes_it_through_the_oauth_helper(
    tour: Tour,
) -> None:
    tour.sandbox.set("--advance-clock", "1805")
    status, body = refused(lambda: tour.client.crm.properties.core_api.get_all(APPOINTMENTS))
    assert status == 401
    assert body["category"] == "EXPIRED_AUTHENTICATION"
    assert "expired" in body["message"]
    answer = tour.client.oauth.tokens_api.create(
        grant_type="refresh_token",
        refresh_token=tour.tokens["refresh"],
        client_id=tour.sandbox.client_id,
        client_secret=tour.sandbox.client_secret,
    )
    assert answer.access_token != tour.tokens["access"]
    tour.client.access_token = answer.access_token
    assert tour.client.crm.properties.core_api.get_all(APPOINTMENTS).results


# Rate limits: https://developers.hubspot.com/docs/api/usage-details


def test_it_survives_a_429_through_the_sdk_retry(tour: Tour) -> None:
    # As an integrator enables it: urllib3's Retry on 429, idempotent methods only (its
    # default), so a create is never resent. No Retry-After comes, so it backs off.
    retrying = HubSpot(
        access_token=tour.client.access_token,
        host=tour.sandbox.base_url,
        retry=Retry(total=6, status_forcelist=[429], backoff_factor=1, backoff_max=4),
    )
    tour.sandbox.set("--rate-limit", "3")
    try:
        for _ in range(5):
            assert retrying.crm.properties.core_api.get_all(APPOINTMENTS).results
    finally:
        tour.sandbox.set("--rate-limit", "110")
    limited = [row for row in tour.sandbox.journal() if row[3] == 429]
    assert limited, "no call was limited: the step proves nothing"
    assert all(row[1] == f"/crm/v3/properties/{APPOINTMENTS}" for row in limited)


def test_it_kept_the_contract_on_every_call(tour: Tour) -> None:
    assert tour.sandbox.contract_violations() == []
    errors = [row for row in tour.sandbox.journal() if row[3] >= 500]
    assert errors == []
