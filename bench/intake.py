"""Intake speed: file -> stored, validated rows for 100,000 appointments, beside a bare read.

Usage: ``.venv/bin/python bench/intake.py [--rows N] [--repeat N] [--database-url URL]``.
Generates a realistic XLSX and CSV in a temporary folder, then measures each, one round per
fresh process (so a peak is one intake's alone), on a temporary SQLite database (WAL, as the
app runs it; ``--database-url`` for another, e.g. PostgreSQL) that the child migrates before
measuring:

- the bare read: python-calamine reading the XLSX into Python values (python-calamine cannot
  read CSV, so the CSV's ratio is also against the XLSX's bare read; the stdlib csv module's
  read of the CSV is printed beside it);
- file -> validated rows: read_table + propose_mapping + iter_encoded_chunks (validated and
  encoded for storage), nothing stored;
- file -> stored rows: read_table + propose_mapping + ``upload_table_confirm`` (what confirming the
  mapping screen runs: validates chunk by chunk and stores every row on a new batch).

Each of ``--repeat`` rounds times a bare read right before each measured path, and a ratio is
taken within that pair: this machine's speed shifts by up to 40% from one second to the next
(a plain Python loop runs in 0.29 s or 0.48 s), so two best-of times caught in different
phases would compare a fast bare read with a slow intake, or the reverse. Ratios are the
median of the rounds' pairs (their range is printed too); times are the best of the rounds.
Peak memory is a round's process's maximum resident set size (``getrusage`` ``ru_maxrss``, so
Python, Django, calamine's buffers and the database driver included), the highest of the
rounds. (A process that repeats intakes reads more: glibc's per-thread malloc arenas fragment,
+10 MB a round here while Python's own allocations stay flat under tracemalloc, levelling off
near 245 MB with ``MALLOC_ARENA_MAX=1``.) The last line is
``xlsx_ratio=<x> csv_ratio=<x> peak_mb=<n> rows=<n> dense_peak_mb=<n> dense10_peak_mb=<n>
keys_calls=<n> keys_s=<x>``:
stored-rows time over the bare read, then the peak RSS of a process reading the dense
workbook of an attack (100,001 rows x 250 numbers in 0.8 MB) once and ten times at once, each
refused by the cells cap before the sheet is loaded (it took 1.9 GB before the cap), then
the natural-keys case (``--keys-only`` runs it alone): 20,000 rows naming 1,000 distinct
client emails and 200 distinct company websites, resolved against the sandbox served
in-process (contacts by batch read, 100 per call; companies by IN search), from upload to
validated preview: the calls made and the time.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import io
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEADERS = [
    "Appointment name",
    "Start time",
    "End time",
    "Status",
    "Follow-up date",
    "Visit notes",
    "Party size",
    "Interpreter needed",
    "contact_ids",
    "company_ids",
]
STATUSES = ["Scheduled", "Completed", "Canceled", "No show"]
NOTES = ["", "Bring previous results", "Wheelchair access", "Call on arrival", "Rappeler la veille"]


def appointments(count: int) -> list[list[object]]:
    """Rows of plausible appointments, seeded so every run measures the same data."""
    rng = random.Random(421)
    start = datetime.datetime(2026, 1, 5, 8, 0)
    rows: list[list[object]] = []
    for number in range(count):
        # Office hours, 15-minute slots over about two years: clear of daylight-saving hours.
        day = start + datetime.timedelta(days=rng.randrange(0, 700))
        begins = day + datetime.timedelta(minutes=15 * rng.randrange(0, 40))
        rows.append(
            [
                f"Visit {number:06d} - Dr {rng.choice(['Martin', 'Müller', 'Nguyen', 'Smith'])}",
                begins,
                begins + datetime.timedelta(minutes=rng.choice([15, 30, 45, 60])),
                rng.choice(STATUSES),
                (begins + datetime.timedelta(days=14)).date(),
                rng.choice(NOTES),
                rng.randint(1, 4),
                rng.choice([True, False]),
                ";".join(str(rng.randint(1000, 99_999)) for _ in range(rng.randint(1, 2))),
                rng.randint(100, 9999),
            ]
        )
    return rows


def write_files(folder: Path, count: int) -> tuple[Path, Path]:
    import xlsxwriter

    rows = appointments(count)
    xlsx = folder / "appointments.xlsx"
    with xlsxwriter.Workbook(xlsx, {"constant_memory": True}) as book:
        sheet = book.add_worksheet("Appointments")
        stamp = book.add_format({"num_format": "yyyy-mm-dd hh:mm"})
        day = book.add_format({"num_format": "yyyy-mm-dd"})
        sheet.write_row(0, 0, HEADERS)
        for index, row in enumerate(rows, start=1):
            sheet.write_row(index, 0, row[:1])
            sheet.write_datetime(index, 1, row[1], stamp)
            sheet.write_datetime(index, 2, row[2], stamp)
            sheet.write_row(index, 3, row[3:4])
            sheet.write_datetime(index, 4, row[4], day)
            sheet.write_row(index, 5, row[5:])
    path = folder / "appointments.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADERS)
        for row in rows:
            writer.writerow(
                [
                    row[0],
                    row[1].strftime("%d/%m/%Y %H:%M"),  # type: ignore[attr-defined]
                    row[2].strftime("%d/%m/%Y %H:%M"),  # type: ignore[attr-defined]
                    row[3],
                    row[4].isoformat(),  # type: ignore[attr-defined]
                    row[5],
                    row[6],
                    "yes" if row[7] else "no",
                    row[8],
                    row[9],
                ]
            )
    return xlsx, path


def measure(kind: str, path: Path, database_url: str) -> dict[str, float]:
    """One round, in a fresh process (see the module docstring): times in seconds, each
    measured path beside the bare read taken just before it, and the peak RSS in MB."""
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hubportal.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from zoneinfo import ZoneInfo

    import python_calamine
    from django.contrib.auth.models import User
    from django.core.management import call_command

    from appointments.intake.headers import propose_mapping
    from appointments.intake.readers import read_table
    from appointments.intake.validation import iter_encoded_chunks
    from appointments.models import BatchRow, Portal, Upload
    from appointments.services.access import ADMIN, role_set
    from appointments.services.uploads import upload_table_confirm
    from tests.intake_fixtures import LABELS, PROPERTIES

    call_command("migrate", verbosity=0)
    user, _created = User.objects.get_or_create(username="bench-intake")
    role_set(user, ADMIN)
    portal, _created = Portal.objects.get_or_create(hub_id=421_000_001, connected_by=user)
    data = path.read_bytes()
    xlsx = path.with_suffix(".xlsx").read_bytes()
    zone = ZoneInfo("Europe/Paris")
    result: dict[str, float] = {}

    def bare() -> float:
        began = time.perf_counter()
        book = python_calamine.CalamineWorkbook.from_object(io.BytesIO(xlsx))
        book.get_sheet_by_index(0).to_python()
        return time.perf_counter() - began

    if kind == "csv":
        began = time.perf_counter()
        for _row in csv.reader(io.StringIO(data.decode("utf-8"))):
            pass
        result["csv_bare"] = time.perf_counter() - began

    result["validated_bare"] = bare()
    began = time.perf_counter()
    table = read_table(data, path.name, max_rows=200_000)
    mapping = propose_mapping(table.headers, PROPERTIES, LABELS)
    rows = invalid = 0
    for chunk in iter_encoded_chunks(table, mapping=mapping, properties=PROPERTIES, timezone=zone):
        rows += len(chunk)
        invalid += chunk.valid.count(False)
    result["validated"] = time.perf_counter() - began
    del table, chunk

    upload = Upload.objects.create(
        portal=portal, created_by=user, filename=path.name, data=b"", timezone=zone.key
    )
    result["stored_bare"] = bare()
    began = time.perf_counter()
    table = read_table(data, path.name, max_rows=200_000)
    mapping = propose_mapping(table.headers, PROPERTIES, LABELS)
    batch = upload_table_confirm(
        upload=upload, table=table, mapping=mapping, properties=PROPERTIES, date_orders={}
    )
    result["stored"] = time.perf_counter() - began
    del table
    stored = BatchRow.objects.filter(batch=batch).count()
    # The next round stores into a table of the same size; not timed.
    BatchRow.objects.filter(batch=batch).delete()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {**result, "peak_mb": peak, "rows": rows, "invalid": invalid, "stored_rows": stored}


def run_rounds(kind: str, path: Path, database_url: str, repeat: int) -> dict[str, float]:
    """``repeat`` rounds, each in its own process, summed up: best times, median ratio of the
    pairs (and their range), highest peak."""
    rounds = []
    for _ in range(repeat):
        output = subprocess.run(
            [sys.executable, __file__, "--measure", kind, str(path), database_url],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        rounds.append(json.loads(output.strip().splitlines()[-1]))
    result: dict[str, float] = {
        "bare": min(min(r["validated_bare"], r["stored_bare"]) for r in rounds),
        "csv_bare": min(r.get("csv_bare", 0.0) for r in rounds),
        "peak_mb": max(r["peak_mb"] for r in rounds),
    }
    for name in ("validated", "stored"):
        result[name] = min(r[name] for r in rounds)
        pairs = [r[name] / r[f"{name}_bare"] for r in rounds]
        result[f"{name}_ratio"] = statistics.median(pairs)
        result[f"{name}_ratio_low"], result[f"{name}_ratio_high"] = min(pairs), max(pairs)
    for name in ("rows", "invalid", "stored_rows"):
        result[name] = rounds[-1][name]
    return result


def dense_workbook(path: Path, rows: int = 100_001, columns: int = 250) -> Path:
    """The workbook of an attack: ``rows`` x ``columns`` numbers (0.8 MB, 376 MB of XML)."""
    sys.path.insert(0, str(ROOT))
    from tests.intake.test_cells_cap import dense_workbook as write

    return write(path, rows, columns)


def measure_dense(path: Path, uploads: int) -> dict[str, float]:
    """In this (fresh) process: ``uploads`` threads each reading ``path`` as an upload is read
    (``read_table`` with the settings' caps), at once; the refusals seen and the peak RSS."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hubportal.settings")
    sys.path.insert(0, str(ROOT))
    import threading

    import django

    django.setup()
    from django.conf import settings

    from appointments.intake.readers import IntakeError, read_table

    data = path.read_bytes()
    refused: list[str] = []
    go = threading.Barrier(uploads)

    def one() -> None:
        go.wait()
        try:
            read_table(
                data,
                path.name,
                max_rows=settings.HUBPORTAL_MAX_ROWS,
                max_cells=settings.HUBPORTAL_MAX_CELLS,
            )
        except IntakeError as exc:
            refused.append(exc.message)

    began = time.perf_counter()
    threads = [threading.Thread(target=one) for _ in range(uploads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {
        "refused": len(refused),
        "seconds": time.perf_counter() - began,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def run_dense(folder: Path) -> tuple[float, float]:
    """Peak RSS of one process reading the dense workbook once, and ten times at once."""
    path = dense_workbook(folder / "dense.xlsx")
    print(f"dense workbook: {path.stat().st_size / 1e6:.2f} MB, 100,001 rows x 250 numbers")
    peaks = []
    for uploads in (1, 10):
        output = subprocess.run(
            [sys.executable, __file__, "--measure-dense", str(path), str(uploads)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        result = json.loads(output.strip().splitlines()[-1])
        print(
            f"  {uploads} upload(s) at once: {result['refused']} refused (cells cap) in "
            f"{result['seconds']:.2f} s, peak RSS {result['peak_mb']:.0f} MB"
        )
        peaks.append(result["peak_mb"])
    return peaks[0], peaks[1]


def measure_keys(folder: Path, rows: int, emails: int, domains: int) -> dict[str, float]:
    """The natural-keys case, in a fresh process: a ``rows``-row CSV whose contact column holds
    ``emails`` distinct client emails and company column ``domains`` distinct websites, from
    upload to validated, stored preview, against the sandbox served in-process (HubSpot's 110
    calls per 10 s, contract checking on). Returns the seconds, the calls by kind (from the
    sandbox journal) and the rows found."""
    os.environ["DATABASE_URL"] = f"sqlite:///{folder}/keys.sqlite3"
    os.environ["HUBPORTAL_SANDBOX"] = "true"
    os.environ["HUBPORTAL_STATE_DIR"] = str(folder / "state")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hubportal.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.utils import timezone

    from appointments.hubspot.schema import Schema
    from appointments.intake.headers import sample_values
    from appointments.intake.readers import read_table
    from appointments.models import BatchRow, Portal, Upload
    from appointments.services.mappings import mapping_propose
    from appointments.services.portals import portal_schema
    from appointments.services.uploads import upload_table_confirm
    from sandbox.models import CrmRecord, JournalEntry
    from sandbox.seed import DEMO_HUB_ID, DEMO_STATIC_TOKEN, seed_demo
    from sandbox.server import start_server, stop

    call_command("migrate", verbosity=0)
    demo = seed_demo()
    now = timezone.now()
    CrmRecord.objects.bulk_create(
        [
            CrmRecord(
                portal=demo,
                object_type="0-1",
                record_id=str(71_000_000_000 + i),
                properties={"email": f"bench{i}@clinic{i % 50}.example", "firstname": f"C{i}"},
                created_at=now,
                updated_at=now,
            )
            for i in range(emails)
        ]
        + [
            CrmRecord(
                portal=demo,
                object_type="0-2",
                record_id=str(72_000_000_000 + i),
                properties={"domain": f"bench-company{i}.example", "name": f"Company {i}"},
                created_at=now,
                updated_at=now,
            )
            for i in range(domains)
        ]
    )
    server, base_url = start_server()
    settings.HUBSPOT_API_BASE_URL = base_url
    user, _created = User.objects.get_or_create(username="bench-keys")
    portal = Portal(hub_id=DEMO_HUB_ID, connected_by=user, auth_kind=Portal.AuthKind.PRIVATE_APP)
    portal.set_tokens(access_token=DEMO_STATIC_TOKEN, refresh_token=None, expires_in=None)
    portal.save()
    lines = ["Appointment name,Start time,Client email,Website"]
    for n in range(rows):
        lines.append(
            f"Visit {n},2026-12-{1 + n % 28:02d} {8 + n % 10}:00,"
            f"bench{n % emails}@clinic{n % emails % 50}.example,"
            f"https://www.bench-company{n % domains}.example/"
        )
    data = ("\n".join(lines) + "\n").encode()
    schema: Schema = portal_schema(portal=portal)
    first = JournalEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0
    began = time.perf_counter()
    upload = Upload.objects.create(
        portal=portal, created_by=user, filename="bookings.csv", data=data, timezone="UTC"
    )
    table = read_table(data, "bookings.csv", max_rows=200_000)
    proposals = mapping_propose(
        headers=table.headers, schema=schema, saved=None, values=sample_values(table)
    )
    mapping = [proposal.target for proposal in proposals]
    batch = upload_table_confirm(
        upload=upload, table=table, mapping=mapping, properties=schema.properties, date_orders={}
    )
    elapsed = time.perf_counter() - began
    calls = list(JournalEntry.objects.filter(id__gt=first).values_list("path", "status"))
    stop(server)
    ready = BatchRow.objects.filter(batch=batch, state=BatchRow.State.READY).count()
    return {
        "seconds": elapsed,
        "reads": sum("/0-1/batch/read" in path for path, _status in calls),
        "searches": sum("/0-2/search" in path for path, _status in calls),
        "calls": len(calls),
        "throttled": sum(status == 429 for _path, status in calls),
        "ready": ready,
        "rows": rows,
    }


def run_keys(folder: Path, rows: int, emails: int, domains: int) -> dict[str, float]:
    done = subprocess.run(
        [
            sys.executable,
            __file__,
            "--measure-keys",
            str(folder),
            str(rows),
            str(emails),
            str(domains),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--database-url", help="default: a temporary SQLite file per measured file")
    parser.add_argument("--measure", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--measure-dense", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--measure-keys", nargs=4, help=argparse.SUPPRESS)
    parser.add_argument(
        "--keys-only", action="store_true", help="Only the natural-keys case (20,000 rows)"
    )
    args = parser.parse_args()
    if args.measure_keys:
        folder, rows, emails, domains = args.measure_keys
        print(json.dumps(measure_keys(Path(folder), int(rows), int(emails), int(domains))))
        return
    if args.keys_only:
        print_keys()
        return
    if args.measure_dense:
        path, uploads = args.measure_dense
        print(json.dumps(measure_dense(Path(path), int(uploads))))
        return
    if args.measure:
        kind, path, database_url = args.measure
        print(json.dumps(measure(kind, Path(path), database_url)))
        return
    with tempfile.TemporaryDirectory() as folder:
        xlsx, csv_path = write_files(Path(folder), args.rows)
        print(f"{args.rows:,} appointments x {len(HEADERS)} columns, Europe/Paris")
        print(
            f"XLSX {xlsx.stat().st_size / 1e6:.1f} MB, CSV {csv_path.stat().st_size / 1e6:.1f} MB"
        )
        results = {
            kind: run_rounds(
                kind, path, args.database_url or f"sqlite:///{folder}/{kind}.sqlite3", args.repeat
            )
            for kind, path in (("xlsx", xlsx), ("csv", csv_path))
        }
        dense_one, dense_ten = run_dense(Path(folder))
    print(f"database: {args.database_url or 'temporary SQLite file (WAL)'}")
    for kind, r in results.items():
        print(
            f"{kind.upper():4}: calamine bare read of the XLSX {r['bare']:.2f} s"
            + (f" (stdlib csv read of the CSV {r['csv_bare']:.2f} s)" if kind == "csv" else "")
            + f"; file -> validated rows {r['validated']:.2f} s "
            f"({r['validated_ratio']:.2f}x); file -> stored rows {r['stored']:.2f} s "
            f"({r['stored_ratio']:.2f}x, rounds {r['stored_ratio_low']:.2f}x to "
            f"{r['stored_ratio_high']:.2f}x); peak RSS {r['peak_mb']:.0f} MB; "
            f"{int(r['stored_rows']):,} rows stored, {int(r['invalid'])} invalid"
        )
    keys = print_keys()
    x, c = results["xlsx"], results["csv"]
    print(
        f"xlsx_ratio={x['stored_ratio']:.2f} csv_ratio={c['stored_ratio']:.2f} "
        f"peak_mb={max(x['peak_mb'], c['peak_mb']):.0f} rows={int(x['stored_rows'])} "
        f"dense_peak_mb={dense_one:.0f} dense10_peak_mb={dense_ten:.0f} "
        f"keys_calls={int(keys['calls'])} keys_s={keys['seconds']:.2f}"
    )


def print_keys(rows: int = 20_000, emails: int = 1_000, domains: int = 200) -> dict[str, float]:
    """Run and print the natural-keys case; its figures."""
    with tempfile.TemporaryDirectory() as folder:
        keys = run_keys(Path(folder), rows, emails, domains)
    target = -(-emails // 100)
    print(
        f"keys: {rows:,} rows, {emails:,} distinct client emails, {domains} distinct websites: "
        f"upload to validated preview {keys['seconds']:.2f} s at 110 calls per 10 s; "
        f"{int(keys['calls'])} calls ({int(keys['reads'])} contact batch reads, target "
        f"{target}; {int(keys['searches'])} company searches), "
        f"{int(keys['throttled'])} answered 429; {int(keys['ready']):,} rows ready"
    )
    return keys


if __name__ == "__main__":
    main()
