"""Intake speed: file -> validated rows for 100,000 appointments, beside a bare calamine read.

Usage: ``.venv/bin/python bench/intake.py [--rows N]``. Generates a realistic XLSX and CSV in a
temporary folder, then measures each in a fresh process (so peak memory is that file's alone):
the bare read (python-calamine for the XLSX; for the CSV, python-calamine cannot read CSV, so the
bare read shown is python-calamine reading the same rows as XLSX, and the stdlib csv module's
read is printed beside it), then read_table + propose_mapping + validate_table. Storing the rows
in the database is the upload service's part and is not measured here. The last line is
``xlsx_ratio=<x> csv_ratio=<x> peak_mb=<n> rows=<n>``; ratios are against the XLSX bare read.
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


def measure(kind: str, path: Path, mode: str, repeat: int) -> dict[str, float]:
    """Run in a fresh process: best of ``repeat`` bare reads and intakes, interleaved so load
    from other processes hits both alike; times in seconds, peak RSS in MB.

    ``mode`` "chunks" consumes iter_validated_chunks 1,000 rows at a time, as a store does with
    bulk_create; "list" keeps validate_table's full list of 100,000 rows.
    """
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hubportal.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from zoneinfo import ZoneInfo

    import python_calamine

    from appointments.intake.mapping import propose_mapping
    from appointments.intake.readers import read_table
    from appointments.intake.validation import iter_validated_chunks, validate_table
    from tests.intake_fixtures import LABELS, PROPERTIES

    data = path.read_bytes()
    xlsx = path.with_suffix(".xlsx").read_bytes()
    zone = ZoneInfo("Europe/Paris")
    bare_times, intake_times, csv_times = [], [], []
    rows = invalid = 0
    for _ in range(repeat):
        began = time.perf_counter()
        book = python_calamine.CalamineWorkbook.from_object(io.BytesIO(xlsx))
        book.get_sheet_by_index(0).to_python()
        bare_times.append(time.perf_counter() - began)
        del book
        if kind == "csv":
            began = time.perf_counter()
            for _row in csv.reader(io.StringIO(data.decode("utf-8"))):
                pass
            csv_times.append(time.perf_counter() - began)
        began = time.perf_counter()
        table = read_table(data, path.name, max_rows=200_000)
        mapping = propose_mapping(table.headers, PROPERTIES, LABELS)
        options = {"mapping": mapping, "properties": PROPERTIES, "timezone": zone}
        if mode == "list":
            validated = validate_table(table, **options)  # type: ignore[arg-type]
            rows, invalid = len(validated), sum(not row.valid for row in validated)
        else:
            rows = invalid = 0
            for chunk in iter_validated_chunks(table, **options):  # type: ignore[arg-type]
                rows += len(chunk)
                invalid += sum(not row.valid for row in chunk)
        intake_times.append(time.perf_counter() - began)
        del table
        validated = []
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "bare": min(bare_times),
        "csv_bare": min(csv_times) if csv_times else 0.0,
        "intake": min(intake_times),
        "peak_mb": peak,
        "rows": rows,
        "invalid": invalid,
    }


def run_child(kind: str, path: Path, mode: str, repeat: int) -> dict[str, float]:
    output = subprocess.run(
        [sys.executable, __file__, "--measure", kind, str(path), mode, str(repeat)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    result: dict[str, float] = json.loads(output.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--measure", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        kind, path, mode, repeat = args.measure
        print(json.dumps(measure(kind, Path(path), mode, int(repeat))))
        return
    with tempfile.TemporaryDirectory() as folder:
        xlsx, csv_path = write_files(Path(folder), args.rows)
        print(f"{args.rows:,} appointments x {len(HEADERS)} columns, Europe/Paris")
        print(
            f"XLSX {xlsx.stat().st_size / 1e6:.1f} MB, CSV {csv_path.stat().st_size / 1e6:.1f} MB"
        )
        results = {
            (kind, mode): run_child(kind, path, mode, args.repeat)
            for kind, path in (("xlsx", xlsx), ("csv", csv_path))
            for mode in ("chunks", "list")
        }
    for (kind, mode), r in results.items():
        print(
            f"{kind.upper():4} {mode:6}: calamine bare read of the XLSX {r['bare']:.2f} s; "
            f"file -> validated rows {r['intake']:.2f} s ({r['intake'] / r['bare']:.2f}x); "
            f"peak {r['peak_mb']:.0f} MB; {int(r['rows']):,} rows, {int(r['invalid'])} invalid"
            + (f"; stdlib csv bare read {r['csv_bare']:.2f} s" if kind == "csv" else "")
        )
    print(
        "Measured: file bytes -> Table -> mapping -> validated rows (chunks: consumed 1,000 at a "
        "time as a store does; list: all kept). Storing rows is the upload service's part."
    )
    x, c = results["xlsx", "chunks"], results["csv", "chunks"]
    print(
        f"xlsx_ratio={x['intake'] / x['bare']:.2f} csv_ratio={c['intake'] / c['bare']:.2f} "
        f"peak_mb={max(x['peak_mb'], c['peak_mb']):.0f} rows={int(x['rows'])}"
    )


if __name__ == "__main__":
    main()
