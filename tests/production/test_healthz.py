"""``/healthz``: the database, the task queue and the HubSpot base URL, as a probe reads them."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from django.test import Client

from tests.fixtures_sandbox import Sandbox


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.django_db(transaction=True)
def test_it_answers_ok_when_everything_answers(client: Client, sandbox: Sandbox, settings) -> None:
    settings.HUBSPOT_API_BASE_URL = sandbox.base_url
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "tasks": "ok", "hubspot": "ok"},
    }
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_it_fails_when_hubspot_cannot_be_reached_and_says_which(
    client: Client, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings.HUBSPOT_API_BASE_URL = f"http://127.0.0.1:{closed_port()}"
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "ok", "tasks": "ok", "hubspot": "failing"}
    # The reason goes to the log, never to the anonymous answer.
    assert "127.0.0.1" not in response.content.decode()
    assert "healthz: hubspot failing" in caplog.text


@pytest.mark.django_db
def test_it_fails_when_the_rq_queue_cannot_be_reached(
    client: Client, settings: Any, sandbox: Sandbox
) -> None:
    settings.HUBSPOT_API_BASE_URL = sandbox.base_url
    settings.HUBPORTAL_TASK_BACKEND = "rq"
    settings.RQ_QUEUES = {"default": {"URL": f"redis://127.0.0.1:{closed_port()}/0"}}
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["tasks"] == "failing"


@pytest.mark.django_db
def test_it_is_not_redirected_to_https_so_probes_inside_the_network_reach_it(
    client: Client, settings: Any, sandbox: Sandbox
) -> None:
    settings.SECURE_SSL_REDIRECT = True
    settings.HUBSPOT_API_BASE_URL = sandbox.base_url
    assert client.get("/healthz").status_code == 200
    assert client.get("/accounts/login/").status_code == 301
