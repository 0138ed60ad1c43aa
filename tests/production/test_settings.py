"""Production settings: `check --deploy` is clean, the CSP and Permissions-Policy are sent, and
no template carries inline script or style that the CSP would refuse."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.test import Client

ROOT = Path(__file__).resolve().parents[2]


def production_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """A production start's environment: DEBUG off, its secrets, HTTPS declared by default."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "HUBPORTAL_", "HUBSPOT_", "DATABASE_URL", "OIDC_"))
    }
    return {
        **env,
        "DJANGO_SETTINGS_MODULE": "hubportal.settings",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": "k3y-" + "Zq9x" * 14,
        "DJANGO_ALLOWED_HOSTS": "ops.example.com",
        "HUBPORTAL_TOKEN_KEYS": Fernet.generate_key().decode(),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'production.sqlite3'}",
        **extra,
    }


def manage(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_has_no_warning_in_production_with_https(tmp_path: Path) -> None:
    done = manage(["check", "--deploy", "--fail-level", "WARNING"], production_env(tmp_path))
    assert done.returncode == 0, done.stderr
    assert "System check identified no issues" in done.stdout


def test_check_deploy_warns_when_https_is_not_declared(tmp_path: Path) -> None:
    # The other side of the test above: the same check does see what HTTPS turns on.
    env = production_env(tmp_path, DJANGO_HTTPS="false")
    done = manage(["check", "--deploy", "--fail-level", "WARNING"], env)
    assert done.returncode != 0
    assert "security.W004" in done.stderr and "security.W008" in done.stderr


SHOW = (
    "import django, json; django.setup(); from django.conf import settings as s; "
    "print(json.dumps([s.SECURE_PROXY_SSL_HEADER, s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, "
    "s.SECURE_HSTS_SECONDS, s.STORAGES['staticfiles']['BACKEND']]))"
)


def test_it_reads_the_proxy_header_and_turns_https_on_in_production(tmp_path: Path) -> None:
    env = production_env(tmp_path, DJANGO_SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto: https")
    done = subprocess.run(
        [sys.executable, "-c", SHOW], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        '[["HTTP_X_FORWARDED_PROTO", "https"], true, true, 31536000, '
        '"whitenoise.storage.CompressedManifestStaticFilesStorage"]'
    )


def test_it_refuses_a_proxy_header_without_a_value(tmp_path: Path) -> None:
    env = production_env(tmp_path, DJANGO_SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto")
    done = subprocess.run(
        [sys.executable, "-c", SHOW], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0
    assert "is not 'Header-Name: value'" in done.stderr


@pytest.mark.django_db
def test_pages_carry_a_strict_csp_and_a_permissions_policy(client: Client) -> None:
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    csp = response["Content-Security-Policy"]
    assert "script-src 'self';" in csp and "style-src 'self';" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp
    assert "camera=()" in response["Permissions-Policy"]
    assert "geolocation=()" in response["Permissions-Policy"]


# What a strict CSP refuses in a page: an inline <script> or <style> block, a style attribute,
# an event-handler attribute (onchange=...).
INLINE = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|<style\b|\sstyle=|\son[a-z]+=", re.IGNORECASE)


def test_no_app_template_has_inline_script_or_style() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in sorted((ROOT / "templates").rglob("*.html"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if INLINE.search(line)
    ]
    assert not found, "inline script or style (move it to static/appointments/):\n" + "\n".join(
        found
    )


def test_a_group_mapped_to_an_unknown_role_stops_the_start(tmp_path: Path) -> None:
    env = production_env(tmp_path, OIDC_GROUP_ROLES="hub-ops=operator,hub-leads=boss")
    done = manage(["check"], env)
    assert done.returncode != 0
    assert "OIDC_GROUP_ROLES: 'hub-leads=boss' is not group=role" in done.stderr
