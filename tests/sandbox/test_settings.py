"""The sandbox app is installed only where it is used: the demo, the tests, the benchmarks."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]
SHOW_APPS = (
    "import django, json; django.setup(); from django.conf import settings; "
    "print(json.dumps(settings.INSTALLED_APPS))"
)


def production(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of a production start: DEBUG off and its required secrets, no sandbox."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "HUBPORTAL_", "HUBSPOT_", "DATABASE_URL"))
    }
    return {
        **env,
        "DJANGO_SETTINGS_MODULE": "hubportal.settings",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": "x" * 50,
        "HUBPORTAL_TOKEN_KEYS": Fernet.generate_key().decode(),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'production.sqlite3'}",
        **extra,
    }


def run(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_it_leaves_the_sandbox_out_of_a_production_settings_load(tmp_path: Path) -> None:
    apps = json.loads(run(["-c", SHOW_APPS], production(tmp_path)))
    assert "appointments" in apps
    assert "sandbox" not in apps
    plan = run(["manage.py", "migrate", "--plan"], production(tmp_path))
    assert "appointments." in plan
    assert "sandbox." not in plan


def test_it_installs_the_sandbox_when_asked_even_without_debug(tmp_path: Path) -> None:
    asked = production(tmp_path, HUBPORTAL_SANDBOX="true")
    assert "sandbox" in json.loads(run(["-c", SHOW_APPS], asked))
    standalone = production(tmp_path, DJANGO_SETTINGS_MODULE="sandbox.settings")
    assert "sandbox" in json.loads(run(["-c", SHOW_APPS], standalone))


def test_it_refuses_a_sandbox_switch_that_is_not_a_boolean(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", SHOW_APPS],
        cwd=ROOT,
        env=production(tmp_path, HUBPORTAL_SANDBOX="maybe"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert "HUBPORTAL_SANDBOX='maybe' is not a boolean" in done.stderr


def test_it_serves_manage_py_sandbox_without_debug(tmp_path: Path) -> None:
    usage = run(["manage.py", "sandbox", "--help"], production(tmp_path))
    assert "--rate-limit" in usage


def test_it_serves_the_standalone_sandbox_on_a_fresh_production_database(tmp_path: Path) -> None:
    # The app's migrate never created the sandbox's tables here: the command does it itself.
    port = free_port()
    log = tmp_path / "sandbox.log"
    with log.open("w") as output:
        server = subprocess.Popen(
            [sys.executable, "manage.py", "sandbox", "--port", str(port)],
            cwd=ROOT,
            env=production(tmp_path),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        answer = None
        for _ in range(300):
            try:
                answer = requests.get(f"http://127.0.0.1:{port}/sandbox/", timeout=5)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        assert answer is not None and answer.status_code == 200, log.read_text()
        assert log.read_text().startswith("HUBSPOT_SANDBOX_HUB_ID=")
        # The app's own settings still install and plan nothing of the sandbox.
        assert "sandbox" not in json.loads(run(["-c", SHOW_APPS], production(tmp_path)))
        assert "sandbox." not in run(["manage.py", "migrate", "--plan"], production(tmp_path))
    finally:
        server.terminate()
        server.wait(timeout=10)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_production_load_talks_to_hubspot_itself_by_default(tmp_path: Path) -> None:
    show = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.HUBSPOT_API_BASE_URL, settings.HUBSPOT_APP_BASE_URL)"
    )
    assert run(["-c", show], production(tmp_path)).split() == [
        "https://api.hubapi.com",
        "https://app.hubspot.com",
    ]
