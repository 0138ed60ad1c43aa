"""Shared fixtures: users, logged-in clients, and portals connected to the sandbox over HTTP."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from appointments.models import Portal
from appointments.services.access import ADMIN, OPERATOR, role_set
from sandbox.models import DEFAULT_SEARCH_LAG_SECONDS

pytest_plugins = ["tests.fixtures_sandbox", "tests.fixtures_oidc"]

# The SQLite test databases live here (hubportal/settings.py); SQLite does not create folders.
(Path(__file__).resolve().parents[1] / ".pytest-db").mkdir(exist_ok=True)


@pytest.fixture
def user(django_user_model: type[User]) -> User:
    """An admin: connects portals and may do everything (tests of roles make their own)."""
    amina = django_user_model.objects.create_user(username="ops-amina", password="pw-amina-123")
    role_set(amina, ADMIN)
    return amina


@pytest.fixture
def other_user(django_user_model: type[User]) -> User:
    """An operator granted no portal: sees nothing of the others' work until granted."""
    bruno = django_user_model.objects.create_user(username="ops-bruno", password="pw-bruno-123")
    role_set(bruno, OPERATOR)
    return bruno


@pytest.fixture
def logged_client(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


@pytest.fixture
def hubspot(sandbox: Any, settings: Any, tmp_path: Path) -> Any:
    """Point the app at the in-process sandbox (API and authorize page) and run tasks inline."""
    settings.HUBSPOT_API_BASE_URL = sandbox.base_url
    settings.HUBSPOT_APP_BASE_URL = sandbox.base_url
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    # One call at a time keeps the journal's order fixed; tests of concurrency raise it.
    settings.HUBPORTAL_CALLS_IN_FLIGHT = 1
    settings.HUBPORTAL_STATE_DIR = str(tmp_path)
    # After a lost answer the app waits HUBPORTAL_SEARCH_SETTLE_SECONDS (60 s) before trusting
    # search, because HubSpot states no bound on its lag. The sandbox's lag is known, so tests
    # wait just past it: the same rule, proved in seconds instead of minutes.
    settings.HUBPORTAL_SEARCH_SETTLE_SECONDS = int(DEFAULT_SEARCH_LAG_SECONDS) + 1
    return sandbox


@pytest.fixture
def portal(hubspot: Any, user: User) -> Portal:
    """The sandbox's demo portal, connected with its static (private-app style) token."""
    portal = Portal(
        hub_id=hubspot.hub_id,
        connected_by=user,
        auth_kind=Portal.AuthKind.PRIVATE_APP,
        scopes=["crm.objects.appointments.read", "crm.objects.appointments.write"],
    )
    portal.set_tokens(access_token=hubspot.token, refresh_token=None, expires_in=None)
    portal.save()
    return portal
