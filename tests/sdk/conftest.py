"""The standalone sandbox the SDK tours run against: ``manage.py sandbox`` in a subprocess.

Each tour gets its own sandbox process on a free port with its own SQLite file (migrated here),
so the tours test what an integrator runs, not the in-process test server, and share no state
with the rest of the suite. Switches go through ``manage.py sandbox_set`` on the same file; the
journal is read straight from it (WAL: reading does not block the sandbox).
"""

from __future__ import annotations

import os
import re
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests

from sandbox.seed import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_HUB_ID

ROOT = Path(__file__).resolve().parents[2]
# Registered with the demo app by seed_demo(); nothing needs to listen there: the tour reads
# the code from the consent page's redirect.
CALLBACK = "http://127.0.0.1:8000/hubspot/oauth/callback"
SCOPES = (
    "oauth crm.objects.appointments.read crm.objects.appointments.write "
    "crm.schemas.appointments.read"
)
STARTUP_TIMEOUT_S = 60


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class StandaloneSandbox:
    """``manage.py sandbox`` on its own SQLite file; ``start`` then ``stop``."""

    folder: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    hub_id: int = DEMO_HUB_ID
    client_id: str = DEMO_CLIENT_ID
    client_secret: str = DEMO_CLIENT_SECRET

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def db_path(self) -> Path:
        return self.folder / "sandbox.sqlite3"

    @property
    def log_path(self) -> Path:
        return self.folder / "sandbox.log"

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "sandbox.settings",
            "DATABASE_URL": f"sqlite:///{self.db_path}",
        }

    def manage(self, *args: str) -> str:
        """Run ``manage.py *args`` on the sandbox's database; its output."""
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=STARTUP_TIMEOUT_S,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def start(self, *options: str) -> None:
        self.manage("migrate", "--no-input", "-v", "0")
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "manage.py", "sandbox", "--port", str(self.port), *options],
                cwd=ROOT,
                env=self.env(),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline and self.process.poll() is None:
            if f"HUBSPOT_SANDBOX_URL={self.base_url}" in self.log_path.read_text(errors="replace"):
                return
            time.sleep(0.1)
        raise AssertionError(f"the sandbox did not start:\n{self.log()}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]

    def set(self, *switches: str) -> None:
        """``manage.py sandbox_set *switches`` (e.g. ``"--rate-limit", "3"``)."""
        self.manage("sandbox_set", *switches)

    def journal(self) -> list[tuple[str, str, str, int, str]]:
        """Every call received, oldest first: (method, path, query, status, note)."""
        uri = f"file:{self.db_path}?mode=ro"
        with closing(sqlite3.connect(uri, uri=True, timeout=20)) as db:
            rows = db.execute(
                "SELECT method, path, query, status, note FROM sandbox_journalentry ORDER BY id"
            ).fetchall()
        return [tuple(row) for row in rows]

    def contract_violations(self) -> list[tuple[str, str, str, int, str]]:
        return [row for row in self.journal() if row[4].startswith("contract")]

    def authorization_code(self) -> str:
        """Approve the demo app on the consent page, as a user would; the code it redirects with."""
        query = urlencode(
            {"client_id": self.client_id, "redirect_uri": CALLBACK, "scope": SCOPES, "state": "t"}
        )
        url = f"{self.base_url}/oauth/authorize?{query}"
        browser = requests.Session()
        page = browser.get(url, timeout=10)
        assert page.status_code == 200, page.text
        fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
        fields.update({"decision": "approve", "hub_id": str(self.hub_id)})
        answer = browser.post(url.split("?")[0], data=fields, allow_redirects=False, timeout=10)
        assert answer.status_code == 302, answer.text
        return parse_qs(urlsplit(answer.headers["Location"]).query)["code"][0]


@pytest.fixture(scope="module")
def standalone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StandaloneSandbox]:
    """A standalone sandbox for one tour (a test module)."""
    sandbox = StandaloneSandbox(folder=tmp_path_factory.mktemp("sdk-sandbox"))
    try:
        sandbox.start()
        yield sandbox
    finally:
        sandbox.stop()
