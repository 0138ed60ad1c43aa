"""The sandbox's own pages: settings, journal, and the record page the app links to."""

from __future__ import annotations

import re

import requests

from sandbox.models import Switches
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


def csrf(page: str) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert match
    return match.group(1)


def test_it_switches_a_fault_from_the_settings_page(sandbox: Sandbox) -> None:
    browser = requests.Session()
    page = browser.get(sandbox.url("/sandbox/"), timeout=10)
    assert page.status_code == 200
    assert "Sandbox-wide switches" in page.text
    prefix = str(sandbox.hub_id)
    form = {
        "csrfmiddlewaretoken": csrf(page.text),
        "form": prefix,
        f"{prefix}-appointments_enabled": "on",
        f"{prefix}-rate_limit_per_10s": "110",
        f"{prefix}-daily_limit": "1000",
        f"{prefix}-search_per_second": "5",
        f"{prefix}-latency_ms": "0",
        f"{prefix}-fault": "503",
        f"{prefix}-fault_remaining": "1",
        f"{prefix}-fault_path_contains": "",
        f"{prefix}-hang_seconds": "60",
    }
    saved = browser.post(sandbox.url("/sandbox/"), data=form, allow_redirects=False, timeout=10)
    assert saved.status_code == 302
    call = requests.get(
        sandbox.url("/crm/properties/2026-03/0-421"),
        headers={"Authorization": f"Bearer {sandbox.token}"},
        timeout=10,
    )
    assert call.status_code == 503
    journal = requests.get(sandbox.url("/sandbox/journal/"), timeout=10)
    assert "/crm/properties/2026-03/0-421" in journal.text
    assert "fault: 503" in journal.text


def test_it_sets_the_search_lag_from_the_settings_page(sandbox: Sandbox) -> None:
    browser = requests.Session()
    page = browser.get(sandbox.url("/sandbox/"), timeout=10)
    assert 'name="search_lag_seconds"' in page.text
    form = {
        "csrfmiddlewaretoken": csrf(page.text),
        "form": "switches",
        "clock_offset_seconds": "0",
        "token_lifetime_seconds": "1800",
        "auth_code_lifetime_seconds": "600",
        "contract_checking": "on",
        "journal_mode": "full",
        "search_lag_seconds": "7.5",
    }
    saved = browser.post(sandbox.url("/sandbox/"), data=form, allow_redirects=False, timeout=10)
    assert saved.status_code == 302
    assert Switches.objects.get().search_lag_seconds == 7.5
