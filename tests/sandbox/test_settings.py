"""The sandbox app is installed only where it is used: the demo, the tests, the benchmarks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

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
        if not key.startswith(("DJANGO_", "HUBPORTAL_", "DATABASE_URL"))
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
