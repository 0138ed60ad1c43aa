"""The duplicate check against HubSpot at scale: calls and seconds, N rows against N records.

Usage: ``.venv/bin/python bench/duplicates.py [--rows 20000] [--database-url URL]`` from the
project root (about two minutes for 20,000 rows, most of it making the batch). On a temporary
SQLite file (or ``--database-url``), the sandbox is served in-process over HTTP at HubSpot's
limits (110 calls per rolling 10 s, 5 searches a second, contract checking on) and seeded by
``bulk_create`` (not N HTTP creates) with N contacts and N appointments made long ago (past
search's lag):

- a quarter at the start of a row and with its contact: duplicates;
- a quarter at the start of a row with another row's contact: not duplicates;
- a quarter with a row's contact a minute after its start: not duplicates;
- a quarter at other times: not candidates.

A batch of N rows (N distinct starts, one contact each, N distinct contacts) is made through
the upload path (``tests.helpers.batch_from_upload``, untimed). Then timed: the database
check (``batch_duplicates``) and the HubSpot check (``batch_duplicates_search_hubspot``),
with its calls read from the sandbox journal: searches, association batch reads, 429s. The
app paces searches at ``HUBSPOT_SEARCH_PER_SECOND`` (4 by default, under HubSpot's 5).

The last line is ``rows=<n> searches=<n> association_reads=<n> calls=<n> http_429=<n>
search_s=<s> database_s=<s> found=<n> expected=<n>``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASE = datetime(2027, 1, 4, 8, 0, tzinfo=UTC)
CONTACT_IDS = 84_000_000_000
RECORD_IDS = 64_000_000_000


def stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def start_of(row: int) -> datetime:
    # Office hours, one row every 15 minutes: 40 a day.
    return BASE + timedelta(days=row // 40, minutes=15 * (row % 40))


def seed(rows: int) -> int:
    """Contacts and appointments written straight into the sandbox's table, as if made in
    HubSpot a month ago; returns how many rows they duplicate."""
    from django.utils import timezone

    from sandbox.models import CrmRecord
    from sandbox.models import Portal as SandboxPortal
    from sandbox.seed import DEMO_HUB_ID

    portal = SandboxPortal.objects.get(hub_id=DEMO_HUB_ID)
    long_ago = timezone.now() - timedelta(days=30)
    contacts = [
        CrmRecord(
            portal=portal,
            object_type="0-1",
            record_id=str(CONTACT_IDS + n),
            properties={"email": f"client{n}@bench.example", "hs_object_id": str(CONTACT_IDS + n)},
            created_at=long_ago,
            updated_at=long_ago,
        )
        for n in range(rows)
    ]
    CrmRecord.objects.bulk_create(contacts, batch_size=2000)
    appointments = []
    duplicates = 0
    for n in range(rows):
        kind = n % 4
        start, contact = start_of(n), CONTACT_IDS + n
        if kind == 0:
            duplicates += 1
        elif kind == 1:
            contact = CONTACT_IDS + (n + 1) % rows
        elif kind == 2:
            start += timedelta(minutes=1)
        else:
            start += timedelta(days=3650)
        record_id = str(RECORD_IDS + n)
        appointments.append(
            CrmRecord(
                portal=portal,
                object_type="0-421",
                record_id=record_id,
                properties={
                    "hs_object_id": record_id,
                    "hs_appointment_name": f"Booked by phone {n}",
                    "hs_appointment_start": stamp(start),
                    "hs_appointment_end": stamp(start + timedelta(minutes=30)),
                    "hs_createdate": stamp(long_ago),
                    "hs_lastmodifieddate": stamp(long_ago),
                },
                associations=[
                    {
                        "toObjectTypeId": "0-1",
                        "toObjectId": str(contact),
                        "associationCategory": "HUBSPOT_DEFINED",
                        "associationTypeId": 906,
                    }
                ],
                created_at=long_ago,
                updated_at=long_ago,
            )
        )
    CrmRecord.objects.bulk_create(appointments, batch_size=2000)
    return duplicates


def batch_csv(rows: int) -> bytes:
    lines = ["Appointment name,Start time,hs_appointment_end,contact_ids"]
    for n in range(rows):
        start = start_of(n)
        end = start + timedelta(minutes=30)
        lines.append(f"Visit {n},{start:%Y-%m-%d %H:%M},{end:%Y-%m-%d %H:%M},{CONTACT_IDS + n}")
    return ("\n".join(lines) + "\n").encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--database-url", help="default: a temporary SQLite file")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="hubportal-dupbench-"))
    os.environ["DATABASE_URL"] = args.database_url or f"sqlite:///{folder}/bench.sqlite3"
    os.environ["HUBPORTAL_SANDBOX"] = "true"
    os.environ["HUBPORTAL_STATE_DIR"] = str(folder / "state")
    os.environ["HUBPORTAL_LOG_LEVEL"] = "WARNING"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hubportal.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.core.management import call_command

    from appointments.models import BatchRow, Portal
    from appointments.services.access import ADMIN, role_set
    from appointments.services.duplicates import (
        batch_duplicates,
        batch_duplicates_search_hubspot,
    )
    from sandbox.models import JournalEntry, Switches
    from sandbox.seed import DEMO_HUB_ID, DEMO_STATIC_TOKEN, seed_demo
    from sandbox.server import start_server, stop
    from tests.helpers import batch_from_upload

    began = time.perf_counter()
    call_command("migrate", verbosity=0)
    seed_demo()
    Switches.objects.update_or_create(pk=1, defaults={"journal_mode": "summary"})
    expected = seed(args.rows)
    print(
        f"{args.rows:,} contacts and {args.rows:,} appointments seeded in "
        f"{time.perf_counter() - began:.1f} s ({expected:,} duplicate a row)"
    )
    server, base_url = start_server()
    settings.HUBSPOT_API_BASE_URL = base_url
    try:
        user = User.objects.create_user(username="bench-duplicates", password=None)
        role_set(user, ADMIN)
        portal = Portal(
            hub_id=DEMO_HUB_ID, connected_by=user, auth_kind=Portal.AuthKind.PRIVATE_APP
        )
        portal.set_tokens(access_token=DEMO_STATIC_TOKEN, refresh_token=None, expires_in=None)
        portal.save()
        made = time.perf_counter()
        batch = batch_from_upload(
            user=user, portal=portal, data=batch_csv(args.rows), filename="again.csv"
        )
        ready = batch.rows.filter(state=BatchRow.State.READY).count()
        print(f"batch of {ready:,} ready rows made in {time.perf_counter() - made:.1f} s")
        timed = time.perf_counter()
        batch_duplicates(batch=batch)
        database_s = time.perf_counter() - timed
        first = JournalEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0
        timed = time.perf_counter()
        found = batch_duplicates_search_hubspot(user=user, batch=batch)
        search_s = time.perf_counter() - timed
        calls = list(JournalEntry.objects.filter(id__gt=first).values_list("path", "status"))
        inside_ms = sum(
            JournalEntry.objects.filter(id__gt=first).values_list("duration_ms", flat=True)
        )
    finally:
        stop(server)
    searches = sum(path.endswith("/search") for path, _status in calls)
    reads = sum("/crm/associations/" in path for path, _status in calls)
    throttled = sum(status == 429 for _path, status in calls)
    print(
        f"database check {database_s:.2f} s; HubSpot check {search_s:.1f} s: {searches} searches "
        f"(target ceil({args.rows:,}/100) = {-(-args.rows // 100)}), {reads} association reads "
        f"(target ceil({args.rows // 2:,} candidates/1000) = {-(-(args.rows // 2) // 1000)}), "
        f"{len(calls)} calls, {throttled} answered 429, {inside_ms / 1000:.1f} s inside the "
        f"sandbox; {found:,} rows found in HubSpot ({expected:,} expected); searches paced at "
        f"{settings.HUBSPOT_SEARCH_PER_SECOND}/s"
    )
    print(
        f"rows={args.rows} searches={searches} association_reads={reads} calls={len(calls)} "
        f"http_429={throttled} search_s={search_s:.1f} database_s={database_s:.2f} "
        f"found={found} expected={expected}"
    )


if __name__ == "__main__":
    main()
