"""The documented deployment, started as README's "Deploying" says and used in Chromium.

gunicorn serves the app with production settings (DJANGO_DEBUG=false, static files collected
and served by WhiteNoise, the CSP in force) on PostgreSQL, two `manage.py worker` processes
take tasks from RQ on Redis and share the call budget there, people sign in through a real
OpenID provider (password sign-in off), and the HubSpot sandbox stands in for HubSpot in a
process of its own. Plain HTTP on the loopback: DJANGO_HTTPS=false is the one difference from a
deployment behind TLS (`check --deploy` with HTTPS is tests/production/test_settings.py).
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any

import psycopg
import pytest
import redis
import requests
from cryptography.fernet import Fernet
from playwright.sync_api import ConsoleMessage, Page, expect

from sandbox.seed import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_HUB_ID
from tests.e2e.conftest import ARTIFACTS, ROOT, upload_file
from tests.fixtures_oidc import CLIENT_ID, CLIENT_SECRET, GROUP_ROLES, OidcProvider, free_port

WORKBOOK = ROOT / "tests" / "data" / "appointments-250.xlsx"
POSTGRES = os.environ.get("POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/hubportal")
DATABASE = "hubportal_sso_deploy"
# A Redis database of its own, emptied first: the queue and the call budget of this test only.
REDIS_URL = "redis://127.0.0.1:6379/13"

pytestmark = [pytest.mark.e2e, pytest.mark.heavy]


def fresh_database() -> str:
    server = POSTGRES.rsplit("/", 1)[0]
    with psycopg.connect(f"{server}/postgres", autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        connection.execute(f"CREATE DATABASE {DATABASE}")
    return f"{server}/{DATABASE}"


def wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"{url} exited: {log.read_text()[-2000:]}")
        try:
            requests.get(url, timeout=10, allow_redirects=False)
            return
        except requests.RequestException:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer: {log.read_text()[-2000:]}")


class Stack:
    """Processes started for the test, each logging to test-results/deploy-<name>.log."""

    def __init__(self, stack: ExitStack) -> None:
        self.stack = stack
        ARTIFACTS.mkdir(exist_ok=True)

    def start(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        path = ARTIFACTS / f"deploy-{name}.log"
        log: IO[bytes] = self.stack.enter_context(path.open("wb"))
        process = subprocess.Popen(args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        self.stack.callback(stop, process)
        return process

    def run(self, name: str, args: list[str], env: dict[str, str]) -> None:
        done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, f"{name}: {done.stdout}\n{done.stderr}"


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """Start the production shape; yield its URLs."""
    redis.Redis.from_url(REDIS_URL).flushdb()
    app_port, sandbox_port = free_port(), free_port()
    app_url, sandbox_url = f"http://127.0.0.1:{app_port}", f"http://127.0.0.1:{sandbox_port}"
    base = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "HUBPORTAL_", "HUBSPOT_", "DATABASE_URL", "OIDC_"))
    }
    with ExitStack() as stack:
        processes = Stack(stack)
        provider = OidcProvider(
            port=free_port(), redirect_uris=[f"{app_url}/accounts/sso/callback/"]
        ).start()
        stack.callback(provider.stop)

        sandbox_env = {
            **base,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'sandbox.sqlite3'}",
            "DJANGO_SETTINGS_MODULE": "sandbox.settings",
        }
        sandbox = processes.start(
            "sandbox",
            [sys.executable, "manage.py", "sandbox", "--port", str(sandbox_port)],
            sandbox_env,
        )
        wait_until_up(f"{sandbox_url}/sandbox/", sandbox, ARTIFACTS / "deploy-sandbox.log")
        register = (
            "import django; django.setup(); from sandbox.seed import register_redirect_uri; "
            f"register_redirect_uri('{app_url}/hubspot/oauth/callback')"
        )
        processes.run("register", [sys.executable, "-c", register], sandbox_env)

        app_env = {
            **base,
            "DJANGO_SETTINGS_MODULE": "hubportal.settings",
            "DJANGO_DEBUG": "false",
            "DJANGO_HTTPS": "false",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            "DJANGO_STATIC_ROOT": str(tmp_path / "static"),
            "DATABASE_URL": fresh_database(),
            "HUBPORTAL_TASK_BACKEND": "rq",
            "HUBPORTAL_RQ_REDIS_URL": REDIS_URL,
            "HUBPORTAL_REDIS_URL": REDIS_URL,
            "HUBPORTAL_TOKEN_KEYS": Fernet.generate_key().decode(),
            "HUBPORTAL_STATE_DIR": str(tmp_path / "state"),
            "HUBSPOT_API_BASE_URL": sandbox_url,
            "HUBSPOT_APP_BASE_URL": sandbox_url,
            "HUBSPOT_CLIENT_ID": DEMO_CLIENT_ID,
            "HUBSPOT_CLIENT_SECRET": DEMO_CLIENT_SECRET,
            "OIDC_DISCOVERY_URL": provider.discovery_url,
            "OIDC_CLIENT_ID": CLIENT_ID,
            "OIDC_CLIENT_SECRET": CLIENT_SECRET,
            "OIDC_SCOPES": "openid,email,profile,groups",
            "OIDC_GROUP_ROLES": ",".join(GROUP_ROLES),
            "HUBPORTAL_PASSWORD_LOGIN": "false",
        }
        manage = [sys.executable, "manage.py"]
        processes.run("migrate", [*manage, "migrate", "--no-input"], app_env)
        processes.run("collectstatic", [*manage, "collectstatic", "--no-input"], app_env)
        gunicorn = [sys.executable, "-m", "gunicorn", "hubportal.wsgi", "--workers", "2"]
        web = processes.start("web", [*gunicorn, "--bind", f"127.0.0.1:{app_port}"], app_env)
        for number in (1, 2):
            processes.start(f"worker-{number}", [*manage, "worker"], app_env)
        wait_until_up(f"{app_url}/healthz", web, ARTIFACTS / "deploy-web.log")
        yield {"app": app_url, "sandbox": sandbox_url, "provider": provider}


def test_the_production_shape_signs_in_with_sso_uploads_sends_and_shows_results(
    deployment: dict[str, Any], page: Page
) -> None:
    app = deployment["app"]
    health = requests.get(f"{app}/healthz", timeout=10)
    assert health.json() == {
        "status": "ok",
        "checks": {"database": "ok", "tasks": "ok", "hubspot": "ok"},
    }
    # collectstatic's hashed names, served by WhiteNoise with far-future caching.
    login_page = requests.get(f"{app}/accounts/login/", timeout=10).text
    stylesheet = re.search(r'href="(/static/appointments/app\.[0-9a-f]{12}\.css)"', login_page)
    assert stylesheet, login_page
    css = requests.get(app + stylesheet.group(1), timeout=10)
    assert css.status_code == 200 and "immutable" in css.headers["Cache-Control"]

    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" and message.location.get("url", "").startswith(app):
            problems.append(f"{message.location.get('url')}: {message.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    first = page.goto(f"{app}/")
    assert first is not None
    csp = first.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert page.locator("input[name=password]").count() == 0  # password sign-in is off
    page.locator("#sso-sign-in").click()
    # The OpenID provider's own sign-in and consent pages.
    # An admin (the hub-admins group): connecting a portal is an admin's act.
    page.fill("input[name=login]", "amina")
    page.fill("input[name=password]", "any-password")
    page.get_by_role("button", name="Sign-in").click()
    page.get_by_role("button", name="Continue").click()
    expect(page.locator(".who")).to_have_text("amina")

    page.get_by_role("button", name="Connect HubSpot").click()
    page.get_by_role("button", name="Connect app").click()
    expect(page.locator(".message.success")).to_contain_text(f"{DEMO_HUB_ID}")

    upload_file(page, WORKBOOK)
    page.get_by_role("button", name="Check every row").click()
    expect(page.locator("[data-count=total]")).to_have_text("250")
    expect(page.locator("[data-count=invalid]")).to_have_text("1")

    page.get_by_role("button", name="Send 249 valid rows to HubSpot").click()
    # The confirmation page names what is sent, and to which portal.
    page.click("#confirm-send")
    expect(page.locator("#batch-status")).to_have_text("Completed", timeout=120_000)
    expect(page.locator("[data-count=created]")).to_have_text("249")
    expect(page.locator("[data-count=failed]")).to_have_text("0")
    expect(page.locator("#calls .hubspot-status")).to_have_text(["COMPLETE"] * 3)
    # The language menu works through app.js, the CSP allowing no inline handler.
    page.select_option("#language-select", "fr")
    expect(page.locator("#batch-status")).to_have_text("Terminé")
    assert problems == []
