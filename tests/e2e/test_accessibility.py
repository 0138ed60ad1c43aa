"""Accessibility of each main page in a real browser: axe-core (npm, pinned in package.json,
injected by Playwright) finds no serious or critical violation of WCAG 2.2 A/AA, and at 375 px
wide nothing but a data table scrolls sideways.

Chromium (Debian's) is driven by Playwright; the app runs on pytest-django's live server and
reads the portal's properties from the HubSpot sandbox.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page

from appointments.models import Portal
from appointments.services.batches import batch_submit
from tests.e2e.conftest import ROOT, sign_in
from tests.helpers import batch_from_upload
from tests.web import rows_csv

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
RUN_AXE = """async () => {
  const result = await axe.run(document, {
    runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]},
  });
  return result.violations
    .filter(v => v.impact === "serious" || v.impact === "critical")
    .map(v => `${v.id} (${v.impact}): ${v.nodes.map(n => n.target.join(" ")).join(", ")}`);
}"""
# Wider than the window: the page scrolls sideways. Elements inside a scrolling data table
# are allowed to be wide; the document is not.
PAGE_OVERFLOW = "() => document.documentElement.scrollWidth - window.innerWidth"


def test_the_main_pages_have_no_serious_accessibility_violation(
    live_server: Any, portal: Portal, hubspot: Any, page: Page
) -> None:
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run npm ci (package.json pins axe-core)")
    lines = rows_csv(3)
    lines[2] = lines[2].replace("Scheduled", "Tentative")
    batch = batch_from_upload(
        user=portal.connected_by,
        portal=portal,
        data=("\n".join(lines) + "\n").encode(),
        filename="a11y.csv",
    )
    sent = batch_from_upload(
        user=portal.connected_by,
        portal=portal,
        data=("\n".join(rows_csv(2)) + "\n").encode(),
        filename="sent.csv",
    )
    batch_submit(user=sent.created_by, batch=sent)
    pages = [
        "/",
        "/uploads/new/",
        "/grid/",
        "/history/",
        f"/batches/{batch.pk}/",
        f"/batches/{batch.pk}/submit/",
        f"/batches/{batch.pk}/rows/bulk/",
        f"/batches/{batch.pk}/rows/3/edit/",
        f"/batches/{sent.pk}/",
        f"/hubspot/portals/{portal.hub_id}/disconnect/",
    ]
    found: dict[str, list[str]] = {}
    overflowing: dict[str, int] = {}
    # Injected before each page's own scripts by the browser itself, not as an inline script
    # tag: the pages' Content-Security-Policy allows none.
    page.add_init_script(path=str(AXE))
    sign_in(page, f"{live_server.url}/", portal.connected_by)
    for path in pages:
        page.set_viewport_size({"width": 1280, "height": 900})
        page.goto(f"{live_server.url}{path}")
        violations = page.evaluate(RUN_AXE)
        if violations:
            found[path] = violations
        page.set_viewport_size({"width": 375, "height": 800})
        extra = page.evaluate(PAGE_OVERFLOW)
        if extra > 0:
            overflowing[path] = extra
    assert found == {}
    assert overflowing == {}
