"""Pipelines API of the sandbox: the appointment pipeline and its stages."""

from __future__ import annotations

from tests.fixtures_sandbox import Sandbox
from tests.sandbox.calls import get


def test_it_lists_appointment_pipelines(sandbox: Sandbox) -> None:
    [pipeline] = get(sandbox, "/crm/pipelines/2026-03/0-421").json()["results"]
    assert pipeline["id"] == "0"
    assert [s["id"] for s in pipeline["stages"]] == ["appt_booked", "appt_done"]
    assert pipeline["stages"][0]["writePermissions"] == "CRM_PERMISSIONS_ENFORCEMENT"
