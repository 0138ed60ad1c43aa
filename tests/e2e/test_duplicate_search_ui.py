"""The look in HubSpot in a real browser: the page follows it while a worker runs it, then
draws itself again with what it found (htmx: the poll, then ``HX-Refresh``)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from appointments.models import Batch, Portal
from appointments.services.duplicate_search import batch_search_run
from sandbox.models import DEFAULT_SEARCH_LAG_SECONDS
from sandbox.seed import DEMO_CONTACT_IDS
from tests.batches.test_duplicates import hubspot_create
from tests.batches.test_duplicates_bulk import BASE, batch_of
from tests.e2e.conftest import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_page_follows_a_look_then_shows_its_match(
    live_server: Any, portal: Portal, hubspot: Any, page: Page, settings: Any
) -> None:
    # Queued, not run: the test plays the worker once the page shows the look waiting.
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    record = hubspot_create(hubspot, "2026-12-07T08:00:00Z", DEMO_CONTACT_IDS[0])
    hubspot.advance_clock(DEFAULT_SEARCH_LAG_SECONDS + 1)
    user = portal.connected_by
    batch = batch_of(user, portal, [(BASE, DEMO_CONTACT_IDS[0]), (BASE, DEMO_CONTACT_IDS[1])])

    sign_in(page, f"{live_server.url}/batches/{batch.pk}/", user)
    page.click("#search-duplicates")
    expect(page.locator("#hubspot-search")).to_contain_text("(waiting for a worker)")
    expect(page.locator("#submit-batch")).to_have_count(0)

    batch_search_run(batch_id=str(batch.pk))
    assert Batch.objects.get(pk=batch.pk).hubspot_search_state == Batch.Search.DONE
    # The next poll sees the look ended: the whole page again, its match and its send form.
    expect(page.locator("#hubspot-duplicates")).to_contain_text(record, timeout=15_000)
    expect(page.locator("#hubspot-search")).to_contain_text("1 row matched an appointment there.")
    expect(page.locator("#on-duplicate")).to_be_visible()
    page.click("#submit-batch")
    expect(page.locator("#hubspot-search-confirm")).to_contain_text(
        "HubSpot was looked in for appointments like these rows on"
    )
