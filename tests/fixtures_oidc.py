"""Pytest plugin: a real OpenID provider (npm ``oidc-provider``, OpenID Certified) in a Node
process of its own, and a browser-like walk through its sign-in pages.

Declared in tests/conftest.py. The provider is tests/sso/provider.mjs; nothing of it is faked.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest
import requests
from joserfc.jwk import RSAKey

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "tests" / "sso" / "provider.mjs"
CLIENT_ID = "hubportal"
CLIENT_SECRET = "hubportal-sso-test-secret-0123456789abcdef"
OTHER_CLIENT_ID = "another-app"
# Who the provider knows: login -> claims. Any password signs them in.
ACCOUNTS: dict[str, dict[str, Any]] = {
    "amina": {"email": "amina@example.com", "name": "Amina Diallo", "groups": ["hub-admins"]},
    "bruno": {"email": "bruno@example.com", "name": "Bruno Costa", "groups": ["hub-ops", "all"]},
    "chloe": {"email": "chloe@example.com", "name": "Chloé Martin", "groups": ["hub-readers"]},
    "dan": {"email": "dan@example.com", "name": "Dan Okafor", "groups": ["accounting"]},
}
GROUP_ROLES = ["hub-admins=admin", "hub-ops=operator", "hub-readers=viewer"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def signing_key(kid: str = "signing-key-1") -> dict[str, Any]:
    """A fresh RSA private JWK the provider signs ID tokens with."""
    key = RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig", "alg": "RS256"})
    return dict(key.as_dict(private=True))


@dataclass
class OidcProvider:
    """A running provider: ``issuer`` is ``http://127.0.0.1:<port>``."""

    port: int
    redirect_uris: list[str]
    jwk: dict[str, Any] = field(default_factory=signing_key)
    clock_offset_seconds: int = 0
    process: subprocess.Popen[str] | None = None

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    def start(self) -> OidcProvider:
        node = shutil.which("node")
        if node is None or not (ROOT / "node_modules" / "oidc-provider").exists():
            pytest.fail("Node 20 and `npm ci` are needed for the OpenID provider (README)")
        clients = [
            {
                "client_id": client_id,
                "client_secret": CLIENT_SECRET,
                "redirect_uris": self.redirect_uris,
                "grant_types": ["authorization_code"],
                "response_types": ["code"],
                "token_endpoint_auth_method": "client_secret_basic",
            }
            for client_id in (CLIENT_ID, OTHER_CLIENT_ID)
        ]
        env = {
            **os.environ,
            "OIDC_PORT": str(self.port),
            "OIDC_CLIENTS": json.dumps(clients),
            "OIDC_JWKS": json.dumps([self.jwk]),
            "OIDC_ACCOUNTS": json.dumps(ACCOUNTS),
            "OIDC_CLOCK_OFFSET_SECONDS": str(self.clock_offset_seconds),
        }
        self.process = subprocess.Popen(
            [node, str(SCRIPT)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.startswith("ready "):
                # Keep reading what it prints (warnings of its sign-in pages), so it never
                # blocks on a full pipe.
                threading.Thread(target=self.process.stdout.read, daemon=True).start()
                return self
        raise AssertionError(f"the OpenID provider did not start (exit {self.process.wait()})")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            if self.process.stdout is not None:
                self.process.stdout.close()
            self.process = None

    def restart(self, **changes: Any) -> None:
        """Stop, change fields (e.g. ``jwk``), start again on the same port."""
        self.stop()
        for name, value in changes.items():
            setattr(self, name, value)
        self.start()


_FORM_ACTION = re.compile(r'<form[^>]*action="([^"]+)"')
_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')


def sign_in_at_provider(authorize_url: str, login: str, redirect_uri_prefix: str) -> str:
    """Walk the provider's pages like a browser (sign in as ``login`` with any password, then
    consent); return the URL it finally sends the browser to (our callback, with the code)."""
    browser = requests.Session()
    url = authorize_url
    for _step in range(12):
        if url.startswith(redirect_uri_prefix):
            return url
        answer = browser.get(url, allow_redirects=False, timeout=10)
        while answer.status_code in (302, 303):
            url = urljoin(url, answer.headers["Location"])
            if url.startswith(redirect_uri_prefix):
                return url
            answer = browser.get(url, allow_redirects=False, timeout=10)
        assert answer.status_code == 200, answer.text[:500]
        action = _FORM_ACTION.search(answer.text)
        assert action, answer.text[:500]
        fields = dict(_HIDDEN.findall(answer.text))
        if 'name="login"' in answer.text:
            fields.update({"login": login, "password": "any-password"})
        posted = browser.post(
            urljoin(url, action.group(1)), data=fields, allow_redirects=False, timeout=10
        )
        assert posted.status_code in (302, 303), posted.text[:500]
        url = urljoin(url, posted.headers["Location"])
    raise AssertionError(f"the provider never sent the browser back (last at {url})")


@pytest.fixture(scope="session")
def oidc_provider() -> Iterator[OidcProvider]:
    """One provider for the session, for callbacks on the test client's host."""
    provider = OidcProvider(
        port=free_port(), redirect_uris=["http://testserver/accounts/sso/callback/"]
    ).start()
    yield provider
    provider.stop()


@pytest.fixture
def sso(oidc_provider: OidcProvider, settings: Any) -> OidcProvider:
    """The app pointed at ``oidc_provider`` as client ``hubportal``, with the test groups."""
    use_provider(settings, oidc_provider)
    return oidc_provider


def use_provider(settings: Any, provider: OidcProvider) -> None:
    settings.OIDC_DISCOVERY_URL = provider.discovery_url
    settings.OIDC_CLIENT_ID = CLIENT_ID
    settings.OIDC_CLIENT_SECRET = CLIENT_SECRET
    settings.OIDC_SCOPES = ["openid", "email", "profile", "groups"]
    settings.OIDC_GROUP_ROLES = GROUP_ROLES
