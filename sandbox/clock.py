"""The sandbox clock (settable, so tests expire tokens without sleeping) and HubSpot timestamps."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from sandbox.models import Switches


def switches() -> Switches:
    """Return the sandbox-wide switches row, creating it with defaults when missing."""
    row, _ = Switches.objects.get_or_create(pk=1)
    return row


def now_ts(row: Switches | None = None) -> float:
    """Sandbox time as a Unix timestamp in seconds: the real time plus the clock offset."""
    offset = (row or switches()).clock_offset_seconds
    return time.time() + offset


def now_dt(row: Switches | None = None) -> datetime:
    """Sandbox time as an aware UTC datetime."""
    return datetime.fromtimestamp(now_ts(row), tz=UTC)


def iso(dt: datetime) -> str:
    """HubSpot's timestamp format: ISO-8601 UTC with milliseconds, e.g. 2026-11-29T10:01:02.345Z."""
    return dt.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def advance(seconds: float) -> None:
    """Move the sandbox clock forward by ``seconds`` (negative moves it back)."""
    row = switches()
    row.clock_offset_seconds += seconds
    row.save(update_fields=["clock_offset_seconds"])
