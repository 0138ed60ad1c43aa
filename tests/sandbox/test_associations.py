"""Association labels of the sandbox: the default type first, then the user-defined ones."""

from __future__ import annotations

from tests.fixtures_sandbox import Sandbox
from tests.sandbox.calls import get


def test_it_lists_association_labels_default_and_user_defined(sandbox: Sandbox) -> None:
    expected = {"0-1": 906, "contacts": 906, "0-2": 908, "companies": 908, "0-3": 944, "deals": 944}
    for to_type, default_id in expected.items():
        response = get(sandbox, f"/crm/associations/2026-03/0-421/{to_type}/labels")
        assert response.status_code == 200
        results = response.json()["results"]
        assert {"category": "HUBSPOT_DEFINED", "typeId": default_id, "label": None}.items() <= (
            results[0].items()
        )
        assert any(r["category"] == "USER_DEFINED" and r["label"] for r in results)
    bad = get(sandbox, "/crm/associations/2026-03/0-421/widgets/labels")
    assert bad.status_code == 400
    assert bad.json()["message"] == "Unable to infer object type from: widgets"
