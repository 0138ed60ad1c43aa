"""The resolver's own limits: search's per-second limit kept, IN values sent lowercase,
distinct keys asked once per batch."""

from __future__ import annotations

from typing import Any

import pytest

from appointments.intake.mapping import ColumnTarget
from appointments.models import Portal
from appointments.services.resolving import Calls, keys_resolve
from sandbox.seed import DEMO_SHARED_DEAL_NAME, DEMO_TWIN_DEAL_IDS

pytestmark = pytest.mark.django_db(transaction=True)

COMPANY = ColumnTarget(
    kind="association",
    name="0-2",
    association_type_id=908,
    association_category="HUBSPOT_DEFINED",
    match_property="domain",
)
DEAL = ColumnTarget(
    kind="association",
    name="0-3",
    association_type_id=944,
    association_category="HUBSPOT_DEFINED",
    match_property="dealname",
)


def test_it_keeps_under_the_search_limit(portal: Portal, hubspot: Any, settings: Any) -> None:
    hubspot.set_limits(search_per_second=2)
    settings.HUBSPOT_SEARCH_PER_SECOND = 2
    rows = [(n, [f"site{n}.example"]) for n in range(2, 552)]
    calls = Calls()

    keys = keys_resolve(portal=portal, mapping=[COMPANY], rows=rows, calls=calls)

    assert calls.searches == 6
    assert [e.status for e in hubspot.journal("/0-2/search")] == [200] * 6
    assert len(keys["tables"]["0-2:domain"]) == 550


def test_it_sends_lowercase_values_as_search_requires(portal: Portal, hubspot: Any) -> None:
    hubspot.set_switches(search_in_lowercase=True)

    keys = keys_resolve(portal=portal, mapping=[DEAL], rows=[(2, [DEMO_SHARED_DEAL_NAME.upper()])])

    found = keys["tables"]["0-3:dealname"][DEMO_SHARED_DEAL_NAME.lower()]
    assert sorted(c[0] for c in found) == DEMO_TWIN_DEAL_IDS


def test_it_asks_only_for_keys_it_does_not_know(portal: Portal, hubspot: Any) -> None:
    known = keys_resolve(portal=portal, mapping=[DEAL], rows=[(2, [DEMO_SHARED_DEAL_NAME])])
    calls = Calls()

    again = keys_resolve(
        portal=portal,
        mapping=[DEAL],
        rows=[(2, [DEMO_SHARED_DEAL_NAME]), (3, ["Care plan 2026-00"])],
        known=known,
        calls=calls,
    )

    assert calls.searches == 1
    assert set(again["tables"]["0-3:dealname"]) == {
        DEMO_SHARED_DEAL_NAME.lower(),
        "care plan 2026-00",
    }
