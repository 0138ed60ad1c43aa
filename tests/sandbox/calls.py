"""Calls to the sandbox shared by its tests: authenticated with the demo portal's token."""

from __future__ import annotations

from typing import Any

import requests

from tests.fixtures_sandbox import Sandbox


def get(sandbox: Sandbox, path: str, **params: str) -> requests.Response:
    return requests.get(
        sandbox.url(path),
        params=params,
        headers={"Authorization": f"Bearer {sandbox.token}"},
        timeout=10,
    )


def post(sandbox: Sandbox, path: str, body: dict[str, Any]) -> requests.Response:
    return requests.post(
        sandbox.url(path),
        json=body,
        headers={"Authorization": f"Bearer {sandbox.token}"},
        timeout=10,
    )
