"""Pytest plugin: the HubSpot sandbox served in-process over real HTTP, seeded for each test.

Declared in tests/conftest.py with ``pytest_plugins = ["tests.fixtures_sandbox"]``. The server
runs for the whole session on a free port; each test that asks for ``sandbox`` gets a freshly
seeded demo portal. Tests that reach the sandbox must use the transactional database (the
server thread has its own connection and cannot see uncommitted test data).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from sandbox import clock, faults
from sandbox.models import CrmRecord, JournalEntry, Portal, Switches
from sandbox.seed import (
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    DEMO_HUB_ID,
    DEMO_STATIC_TOKEN,
    DISABLED_HUB_ID,
    register_redirect_uri,
    seed_demo,
)
from sandbox.server import start_server, stop


@dataclass
class Sandbox:
    """Handle on the running sandbox: its URL, the demo portal, and switches for tests."""

    base_url: str
    hub_id: int = DEMO_HUB_ID
    token: str = DEMO_STATIC_TOKEN
    client_id: str = DEMO_CLIENT_ID
    client_secret: str = DEMO_CLIENT_SECRET
    disabled_hub_id: int = DISABLED_HUB_ID

    def url(self, path: str) -> str:
        """Absolute URL of ``path`` (e.g. ``/crm/properties/2026-03/0-421``) on the sandbox."""
        return self.base_url + path

    def journal(self, path_contains: str = "", method: str | None = None) -> list[JournalEntry]:
        """Calls the sandbox received, oldest first, optionally filtered by path and method."""
        entries = JournalEntry.objects.filter(path__contains=path_contains).order_by("id")
        if method is not None:
            entries = entries.filter(method=method.upper())
        return list(entries)

    def appointments(self, hub_id: int | None = None) -> list[CrmRecord]:
        """Appointments stored in a portal (the demo portal by default), oldest first."""
        return list(
            CrmRecord.objects.filter(
                portal__hub_id=hub_id or self.hub_id, object_type="0-421"
            ).order_by("id")
        )

    def set_fault(
        self,
        fault: str,
        *,
        times: int | None = None,
        path_contains: str = "",
        hang_seconds: int | None = None,
        hub_id: int | None = None,
    ) -> None:
        """Switch a fault on: "423", "502", "503", "504", "drop", "create_timeout" ("" = off).

        ``times``: only the next N matching API calls; ``path_contains``: only matching paths;
        ``hang_seconds``: how long "create_timeout" holds the connection before dropping it.
        """
        faults.set_fault(
            hub_id or self.hub_id,
            fault,
            times=times,
            path_contains=path_contains,
            hang_seconds=hang_seconds,
        )

    def set_latency(self, milliseconds: int, *, hub_id: int | None = None) -> None:
        """Delay every API call of the portal by ``milliseconds``."""
        Portal.objects.filter(hub_id=hub_id or self.hub_id).update(latency_ms=milliseconds)

    def set_limits(
        self,
        *,
        per_10s: int | None = None,
        daily: int | None = None,
        search_per_second: int | None = None,
        hub_id: int | None = None,
    ) -> None:
        """Set the portal's rate limits (calls per rolling 10 s, per day, searches per second)."""
        changes = {
            "rate_limit_per_10s": per_10s,
            "daily_limit": daily,
            "search_per_second": search_per_second,
        }
        Portal.objects.filter(hub_id=hub_id or self.hub_id).update(
            **{k: v for k, v in changes.items() if v is not None}
        )

    def advance_clock(self, seconds: float) -> None:
        """Move the sandbox clock forward (expires tokens and codes, empties rate windows)."""
        clock.advance(seconds)

    def set_search_lag(self, seconds: float) -> None:
        """Make search see a created or updated record only ``seconds`` (sandbox clock) later;
        reads by ID stay immediate. The default is ``DEFAULT_SEARCH_LAG_SECONDS`` (HubSpot-like);
        0 makes search immediate (say why in the test)."""
        self.set_switches(search_lag_seconds=seconds)

    def set_switches(self, **values: Any) -> None:
        """Set sandbox-wide switches, e.g. ``token_lifetime_seconds=60``,
        ``echo_trace_id_on_success=True``, ``rotate_refresh_tokens=True``."""
        clock.switches()
        Switches.objects.filter(pk=1).update(**values)

    def set_row_key_variant(
        self,
        *,
        unique_properties_allowed: bool = True,
        id_property_lag_seconds: float = 0.0,
        duplicate_value: str = Switches.DuplicateValue.PER_INPUT,
    ) -> None:
        """Choose the answers to the UNCONFIRMED unique-value points (SANDBOX.md): whether 0-421
        takes unique-value properties, how long reads by ``idProperty`` lag a create, and how a
        taken unique value fails a batch create (``Switches.DuplicateValue``)."""
        self.set_switches(
            unique_properties_allowed=unique_properties_allowed,
            id_property_lag_seconds=id_property_lag_seconds,
            duplicate_value=duplicate_value,
        )

    def disable_appointments(self, hub_id: int | None = None) -> None:
        """Deactivate the appointments object in a portal (object library enablement false)."""
        Portal.objects.filter(hub_id=hub_id or self.hub_id).update(appointments_enabled=False)

    def register_redirect_uri(self, uri: str) -> None:
        """Register ``uri`` as a redirect URI of the demo app."""
        register_redirect_uri(uri)

    def contract_violations(self) -> list[JournalEntry]:
        """Journal entries where a request or response broke the sandbox's contract
        (sandbox/openapi.yaml)."""
        return list(JournalEntry.objects.filter(note__startswith="contract").order_by("id"))

    def sandbox_errors(self) -> list[JournalEntry]:
        """Journal entries where the sandbox itself raised (answered 500 INTERNAL_ERROR)."""
        return list(JournalEntry.objects.filter(note__startswith="exception").order_by("id"))


@pytest.fixture(scope="session")
def sandbox_server(django_db_setup: Any) -> Iterator[str]:
    """The sandbox served over HTTP for the whole session; yields its base URL."""
    server, base_url = start_server()
    yield base_url
    stop(server)


@pytest.fixture
def sandbox(transactional_db: Any, sandbox_server: str) -> Iterator[Sandbox]:
    """The sandbox, seeded for this test.

    Fails the test if a sandbox response broke its contract (sandbox/openapi.yaml) or the
    sandbox raised.
    """
    seed_demo()
    handle = Sandbox(base_url=sandbox_server)
    yield handle
    violations = [
        f"{e.method} {e.path} -> {e.status}: {e.note}"
        for e in [*handle.contract_violations(), *handle.sandbox_errors()]
        if not e.note.startswith("contract: request")
    ]
    assert not violations, "The sandbox broke its contract or raised:\n" + "\n".join(violations)
