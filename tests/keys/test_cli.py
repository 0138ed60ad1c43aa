"""import_appointments --dry-run resolves natural keys: contacts by email, companies by domain,
deals by name, owners by email or name, each outcome reported per cell."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from appointments.models import Portal
from sandbox.seed import (
    DEMO_COMPANY_IDS,
    DEMO_CONTACT_IDS,
    DEMO_SHARED_DEAL_NAME,
    DEMO_SHARED_DOMAIN,
)

pytestmark = pytest.mark.django_db(transaction=True)

HEADER = "Appointment name,Start time,Client email,Website,Deal name,Owner"


def run(tmp_path: Path, rows: list[str], portal: Portal) -> dict[str, Any]:
    path = tmp_path / "bookings.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    out = io.StringIO()
    call_command(
        "import_appointments",
        str(path),
        "--portal",
        str(portal.hub_id),
        "--timezone",
        "Europe/Paris",
        "--user",
        "ops-amina",
        "--dry-run",
        stdout=out,
    )
    return dict(json.loads(out.getvalue()))


def codes(row: dict[str, Any]) -> dict[str, str]:
    return {error["column"]: error["code"] for error in row["errors"]}


def test_it_reports_found_keys_with_the_ids_they_resolved_to(
    portal: Portal, tmp_path: Path, hubspot: Any
) -> None:
    output = run(
        tmp_path,
        [
            "Visit,2026-12-03 14:00,Amina.Rivera0@example.org,"
            "https://www.acme-health.example/contact,,nadia.haddad@riverside-care.example",
            "Visit,2026-12-03 15:00,amina.rivera0@example.org,acme-health.example,,Tom Keller",
        ],
        portal,
    )

    first, second = output["rows"]
    assert first["errors"] == [] and second["errors"] == []
    assert {(a["to_object_type"], a["id"], a["key"]) for a in first["associations"]} == {
        ("0-1", DEMO_CONTACT_IDS[0], "amina.rivera0@example.org"),
        ("0-2", DEMO_COMPANY_IDS[0], "acme-health.example"),
    }
    assert first["properties"]["hubspot_owner_id"] == "70110001"
    assert second["properties"]["hubspot_owner_id"] == "70110002"
    # Distinct keys only: one batch read for the one email, one search for the one domain.
    assert len(hubspot.journal("/0-1/batch/read")) == 1
    assert len(hubspot.journal("/0-2/search")) == 1


def test_it_reports_not_found_ambiguous_bad_key_and_inactive_owner(
    portal: Portal, tmp_path: Path
) -> None:
    output = run(
        tmp_path,
        [
            "Visit,2026-12-03 14:00,nobody@example.org,,,",
            f"Visit,2026-12-03 14:00,,{DEMO_SHARED_DOMAIN},{DEMO_SHARED_DEAL_NAME},",
            "Visit,2026-12-03 14:00,not an email,,,sam.ortiz@riverside-care.example",
        ],
        portal,
    )

    missing, several, wrong = output["rows"]
    assert codes(missing) == {"Client email": "not_found"}
    assert "nobody@example.org" in missing["errors"][0]["message"]
    assert codes(several) == {"Website": "ambiguous", "Deal name": "ambiguous"}
    assert "Twin Clinics North (#18771299001)" in several["errors"][0]["message"]
    assert codes(wrong) == {"Client email": "bad_key", "Owner": "owner_inactive"}


def test_it_refuses_a_bad_key_before_any_call(portal: Portal, tmp_path: Path, hubspot: Any) -> None:
    output = run(tmp_path, ["Visit,2026-12-03 14:00,51234500003@,,,"], portal)

    assert codes(output["rows"][0]) == {"Client email": "bad_key"}
    assert hubspot.journal("/0-1/batch/read") == []
