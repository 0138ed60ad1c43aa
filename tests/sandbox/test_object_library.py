"""Object library enablement of the sandbox: is the appointments object activated."""

from __future__ import annotations

from tests.fixtures_sandbox import Sandbox
from tests.sandbox.calls import get


def test_it_reports_object_library_enablement(sandbox: Sandbox) -> None:
    path = "/crm/object-library/2026-03/enablement"
    assert get(sandbox, f"{path}/0-421").json() == {"enablement": True}
    assert get(sandbox, path).json() == {"enablementByObjectTypeId": {"0-421": True}}
    sandbox.disable_appointments()
    assert get(sandbox, f"{path}/0-421").json() == {"enablement": False}
    assert get(sandbox, "/crm/v3/object-library/enablement/0-421").json() == {"enablement": False}
