"""The official Node SDK (``@hubspot/api-client`` 13.5.0) on a scripted tour of the sandbox.

``tests/sdk/tour.mjs`` runs under ``node`` against the standalone sandbox and prints one JSON
line per step; each test below checks one step against HubSpot's documentation (the same steps
and sources as tests/sdk/test_python_tour.py). The SDK comes from ``node_modules``, installed by
``npm ci`` from the repository's package-lock.json (the Makefile's ``node_modules`` target).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from sandbox.seed import DEMO_CONTACT_IDS, DEMO_USER_EMAIL
from tests.sdk.conftest import CALLBACK, ROOT, SCOPES, StandaloneSandbox

pytestmark = pytest.mark.heavy

TOUR = Path(__file__).with_name("tour.mjs")
SDK = ROOT / "node_modules" / "@hubspot" / "api-client" / "package.json"
TOUR_TIMEOUT_S = 120


@pytest.fixture(scope="module")
def steps(standalone: StandaloneSandbox) -> dict[str, dict[str, Any]]:
    """Run the tour once; its steps by name."""
    node = shutil.which("node")
    assert node, "Node 20 is needed for the Node SDK tour (README, requirements)"
    assert SDK.is_file(), "the Node SDK is not installed: run `npm ci` (make test does)"
    assert json.loads(SDK.read_text())["version"] == "13.5.0"
    env = {
        **standalone.env(),
        "TOUR_BASE_URL": standalone.base_url,
        "TOUR_CLIENT_ID": standalone.client_id,
        "TOUR_CLIENT_SECRET": standalone.client_secret,
        "TOUR_REDIRECT_URI": CALLBACK,
        "TOUR_CODES": ",".join(standalone.authorization_code() for _ in range(2)),
        "TOUR_CONTACT_IDS": ",".join(DEMO_CONTACT_IDS[:3]),
        "TOUR_SANDBOX_SET": json.dumps([sys.executable, str(ROOT / "manage.py"), "sandbox_set"]),
    }
    done = subprocess.run(
        [node, str(TOUR)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=TOUR_TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    return {line["step"]: line for line in lines}


def facts(steps: dict[str, dict[str, Any]], name: str) -> dict[str, Any]:
    """A step that must have succeeded: what it reported."""
    step = steps[name]
    assert step["ok"], step["error"]
    result: dict[str, Any] = step["facts"]
    return result


def error(steps: dict[str, dict[str, Any]], name: str) -> tuple[int, dict[str, Any]]:
    """A step that must have failed with an HTTP error: its status and HubSpot's body."""
    step = steps[name]
    assert not step["ok"], step["facts"]
    assert isinstance(step["error"]["body"], dict), step["error"]
    return int(step["error"]["code"]), step["error"]["body"]


def test_it_exchanges_an_authorization_code_through_the_oauth_helper(steps: Any) -> None:
    assert facts(steps, "oauth_code") == {
        "tokenType": "bearer",
        "expiresIn": 1800,
        "hasTokens": True,
    }


def test_it_reads_the_token_metadata_through_the_oauth_helpers(
    steps: Any, standalone: StandaloneSandbox
) -> None:
    found = facts(steps, "oauth_metadata")
    access = found["access"]
    assert (access["hubId"], access["tokenType"], access["user"]) == (
        standalone.hub_id,
        "access",
        DEMO_USER_EMAIL,
    )
    assert access["scopes"] == SCOPES.split()
    assert 1790 <= access["expiresIn"] <= 1800
    assert found["refresh"] == {"clientId": standalone.client_id, "tokenType": "refresh"}
    status, body = error(steps, "oauth_unknown_token_metadata")
    assert status == 404
    assert body["correlationId"]


def test_it_refuses_a_used_code(steps: Any) -> None:
    status, body = error(steps, "oauth_used_code")
    assert status == 400
    assert (body["status"], body["error"]) == ("BAD_AUTH_CODE", "invalid_grant")
    assert body["message"] == "missing or unknown auth code"


def test_it_lists_the_appointment_properties(steps: Any) -> None:
    found = facts(steps, "properties")
    assert (found["nameType"], found["statusType"]) == ("string", "enumeration")
    assert set(found["statusOptions"]) >= {"scheduled", "completed", "canceled"}
    assert found["objectIdReadOnly"] is True


def test_it_lists_the_association_labels_to_contacts(steps: Any) -> None:
    labels = {(c, t): label for c, t, label in facts(steps, "association_labels")["labels"]}
    assert labels[("HUBSPOT_DEFINED", 906)] is None
    assert labels[("USER_DEFINED", 37)] == "Attendee"


def test_it_creates_a_batch_with_associations_201(steps: Any) -> None:
    assert facts(steps, "batch_create_201") == {
        "httpStatus": 201,
        "status": "COMPLETE",
        "names": ["Tour visit 0", "Tour visit 1", "Tour visit 2"],
        "timestamps": True,
    }


def test_it_creates_the_valid_inputs_and_reports_the_others_207(steps: Any) -> None:
    found = facts(steps, "batch_create_207")
    assert (found["httpStatus"], found["numErrors"]) == (207, 1)
    [failed] = found["errors"]
    assert failed["category"] == "VALIDATION_ERROR"
    assert failed["context"]["objectWriteTraceId"] == ["node-bad"]
    assert found["names"] == ["Tour partial ok"]


def test_it_reads_a_batch_by_id(steps: Any) -> None:
    found = facts(steps, "batch_read")
    assert found["status"] == "COMPLETE"
    assert found["records"] == {v: k for k, v in found["created"].items()}
    assert len(found["records"]) == 4


def test_it_searches_with_filters(steps: Any) -> None:
    assert facts(steps, "search_filters") == {
        "total": 2,
        "names": ["Tour visit 0", "Tour visit 2"],
        "statuses": ["completed", "completed"],
    }


def test_it_searches_with_sorts(steps: Any) -> None:
    names = facts(steps, "search_sorts")["names"]
    assert names == ["Tour visit 2", "Tour visit 1", "Tour visit 0"]


def test_it_searches_with_a_minimal_body(steps: Any) -> None:
    found = facts(steps, "search_minimal")
    assert found["total"] == 4
    assert set(found["properties"]) >= {"hs_object_id", "hs_createdate"}


def test_it_reads_one_record_with_several_properties(steps: Any) -> None:
    properties = facts(steps, "read_one_properties")["properties"]
    assert properties["hs_appointment_name"] == "Tour visit 1"
    assert properties["hs_appointment_status"] == "scheduled"
    assert properties["hs_appointment_start"] == "2027-01-02T09:00:00.000Z"


def test_it_reads_one_record_with_its_associations(steps: Any) -> None:
    # One entry per association type between the two records, the same contact in each.
    assert set(facts(steps, "read_one_associations")["contacts"]) == {DEMO_CONTACT_IDS[1]}


def test_it_refuses_an_invalid_option(steps: Any) -> None:
    status, body = error(steps, "invalid_option")
    assert status == 400
    assert body["category"] == "VALIDATION_ERROR"
    assert [e["code"] for e in body["errors"]] == ["INVALID_OPTION"]
    assert "bogus" in body["message"]


def test_it_refuses_a_missing_required_property(steps: Any) -> None:
    status, body = error(steps, "missing_required")
    assert status == 400
    assert body["category"] == "VALIDATION_ERROR"
    assert "hs_appointment_name" in body["message"]
    assert [e["code"] for e in body["errors"]] == ["REQUIRED_PROPERTY"]


def test_it_refuses_an_association_to_an_unknown_record(steps: Any) -> None:
    status, body = error(steps, "unknown_association")
    assert status == 400
    assert body["category"] == "VALIDATION_ERROR"
    assert body["context"]["INVALID_OBJECT_IDS"] == ["99999999999"]


def test_it_refuses_more_than_100_inputs(steps: Any) -> None:
    status, body = error(steps, "too_many_inputs")
    assert status == 400
    assert body["category"] == "VALIDATION_ERROR"
    assert "100" in body["message"]


def test_it_refuses_a_bad_token(steps: Any) -> None:
    status, body = error(steps, "bad_token")
    assert (status, body["category"]) == (401, "INVALID_AUTHENTICATION")


def test_it_refuses_an_expired_token_then_refreshes_it(steps: Any) -> None:
    status, body = error(steps, "expired_token")
    assert (status, body["category"]) == (401, "EXPIRED_AUTHENTICATION")
    assert "expired" in body["message"]
    found = facts(steps, "refresh")
    assert found["newToken"] is True
    assert found["properties"] > 0


def test_it_survives_a_429_through_the_sdk_retry(steps: Any, standalone: StandaloneSandbox) -> None:
    assert facts(steps, "rate_limit_retry") == {"answered": 5}
    limited = [row for row in standalone.journal() if row[3] == 429]
    assert limited, "no call was limited: the step proves nothing"
    assert all(row[1] == "/crm/v3/properties/0-421" for row in limited)


def test_it_kept_the_contract_on_every_call(steps: Any, standalone: StandaloneSandbox) -> None:
    assert len(steps) == 22, sorted(steps)
    assert standalone.contract_violations() == []
    assert [row for row in standalone.journal() if row[3] >= 500] == []
