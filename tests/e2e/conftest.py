"""Browser tests: Playwright driving Debian's Chromium (never a downloaded browser)."""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-results"
CHROMIUM = "/usr/bin/chromium"

# The password every browser test signs in with.
PASSWORD = "correct-horse-42"

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
# between browser steps are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keep each phase's report on the test item, so the ``page`` fixture knows at teardown
    whether the test failed (pytest's documented pattern for fixtures that act on failure)."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def page(request: pytest.FixtureRequest) -> Iterator[Page]:
    """A headless Chromium page; when the test fails, its screen is saved to
    test-results/<test name>.png.

    Every browser test also fails when the page broke the Content-Security-Policy (an inline
    script or style, a handler attribute): Chromium reports each refusal on the console.
    """
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (see .ci/run)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            # Without the networking flags Chromium keeps trying to reach the internet.
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        context = browser.new_context(locale="en-GB")
        page = context.new_page()
        page.set_default_timeout(30_000)
        refused: list[str] = []
        page.on(
            "console",
            lambda message: (
                refused.append(f"{message.location.get('url')}: {message.text}")
                if "Content Security Policy" in message.text
                else None
            ),
        )
        yield page
        failed = getattr(request.node, "report_call", None)
        if failed is not None and failed.failed:
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
        assert not refused, "the page broke its Content-Security-Policy:\n" + "\n".join(refused)
        context.close()
        browser.close()


def sign_in(page: Page, url: str, user: User) -> None:
    """Give ``user`` the tests' password, open ``url`` (a page behind the login) and sign in
    on the login form it redirects to; the browser ends on ``url``."""
    user.set_password(PASSWORD)
    user.save()
    page.goto(url)
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")


def upload_file(page: Page, file: Path, timezone: str = "Europe/Paris") -> None:
    """On the upload form, choose the batch's time zone and ``file``, and submit it: the
    browser ends on the mapping screen."""
    page.fill("input[name=timezone]", timezone)
    page.set_input_files("input[name=file]", str(file))
    page.get_by_role("button", name="Check the file").click()
