"""Submission speed: pacing at HubSpot's limit, the engine's own speed, and the official client.

Usage: ``.venv/bin/python bench/submit.py [--rows N] [--keep] [--poll-only]`` from the project
root. Starts the standalone sandbox (``manage.py sandbox``, a subprocess on its own SQLite file)
and runs, in one process with the app's own SQLite file, all under a temporary folder (DEBUG off
in both):

(a) pacing: sandbox and app at HubSpot's 110 calls per rolling 10 s, contract checking on. A
    batch of N appointments (name, start, end, status, contacts) is created with
    ``tests.helpers.batch_from_upload`` (the upload path), queued with ``batch_submit`` (task
    backend Django's DummyBackend, so nothing else sends it) and sent by ``sending.batch_send``
    run in this
    process (the worker task's body, in a thread so it can be bounded). Timing starts at
    batch_send, once the sandbox's window holds none of the schema reads of batch creation.
    Pacing efficiency: the share of HubSpot's budget used over the whole 10-second windows since
    batch_send began (calls/s / 11 when the pace is even; unlike calls/s, not inflated by the
    first window's burst that a rolling window allows). 429s are read from the sandbox journal.
(a') diagnostic: the app's ``HubSpotClient`` (same shared pacing) in a tight loop of 120 creates
    at the same limit, contract checking off: what the pacing layer alone achieves when neither
    the engine nor the sandbox is the brake.
(b) no limit: sandbox limit 10^9 and contract checking off (``manage.py sandbox_set``), the app's
    budget 10^9; a second batch of N rows, timed from queued (after batch_submit) to every
    row's outcome saved.
(c) the rows of (b) sent again by the official ``hubspot-api-client`` in a plain loop of
    batch creates of 100 against the same unlimited sandbox.
(d) the live results partial a batch's page polls every 2 s, for a 100-row and a 100,000-row
    batch (made through the upload path), checked but not sent (draft) and while the engine
    sends it (in a thread, the sandbox answering each call after 5 s so that it stays
    "Sending"; polled once a few calls are answered, then canceled): the median of 15 requests
    through Django's test client. ``--poll-only`` runs this phase alone.

(e) a fault storm at the sandbox's default search lag (``--storm-rows``, 2,000): a random
    fault every half second (423, 502/503/504, a dropped connection, records created whose
    answer is lost; 429s from a 40-call limit), written as ``sandbox_set`` writes it, while
    the engine sends a batch without a row key; rows left "may have been created" are then
    settled as a person would (check HubSpot again, send the failed rows again). Duplicates
    are counted in the sandbox.

(f) duplicates: a new batch of the same N appointments, checked against the portal holding
    them: seconds of the database check, then calls and seconds of the HubSpot search.

The last line is ``pacing_efficiency=<x> http_429=<n> own_rows_per_s=<n> sdk_rows_per_s=<n>
poll_ms_100=<ms> poll_ms_100000=<ms> poll_sending_ms_100=<ms> poll_sending_ms_100000=<ms>
duplicates_db_s=<s> duplicates_search_calls=<n> duplicates_search_s=<s> duplicates=<n>`` (one
line; only the poll figures with ``--poll-only``).

Measured poll figures (about 28 ms draft and 20-25 ms while sending, for 100 and 100,000 rows
alike, on SQLite): see bench/README.md.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import random
import secrets
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# The app calls /crm/objects/2026-03/0-421/batch/create, the official client /crm/v3/objects/...
CREATE_PATH = "/batch/create"
LIMIT_PER_10S = 110
UNLIMITED = 1_000_000_000
CEILING_CALLS = 120
PHASE_TIMEOUT_S = 120.0
STARTUP_TIMEOUT_S = 60.0
# Both processes run as in production: DEBUG off (Django's debug cursor records and formats
# every query; a few per cent of the engine's time), with a throw-away secret key. The sandbox
# app is installed all the same: this process seeds and reads it, and the sandbox's migrate and
# sandbox_set run under the project's settings.
PRODUCTION_LIKE = {
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
    "HUBPORTAL_SANDBOX": "true",
    # Served over plain HTTP on this machine: no redirect to https.
    "DJANGO_HTTPS": "false",
}
DUMMY_TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
STATUSES = ["Scheduled", "Completed", "Canceled", "No show"]
DOCTORS = ["Martin", "Müller", "Nguyen", "Smith", "Okafor", "Dubois"]

# Requests timed per batch size and state in phase (d), the sizes, and how long the sandbox
# takes to answer each call there (the batch stays "Sending" while it is polled).
POLLS = 15
POLL_SIZES = (100, 100_000)
SENDING_LATENCY_MS = 5000
# Decimal places of each figure of the last line (the poll's are milliseconds).
PLACES = {"pacing_efficiency": 3, "own_rows_per_s": 0, "sdk_rows_per_s": 0}
PLACES.update({"duplicates_db_s": 2, "duplicates_search_s": 1})
PLACES.update({f"poll_{state}ms_{n}": 1 for state in ("", "sending_") for n in POLL_SIZES})


def say(message: str) -> None:
    print(message, flush=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def appointments_csv(count: int, contact_ids: list[str], label: str) -> bytes:
    """``count`` seeded appointments (name, start, end, status, 1-2 contacts) as CSV bytes."""
    rng = random.Random(421)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["Appointment name", "Start time", "End time", "Status", "contact_ids"])
    first = datetime(2027, 1, 4, 8, 0)
    for number in range(count):
        begins = first + timedelta(days=rng.randrange(0, 700), minutes=15 * rng.randrange(0, 40))
        ends = begins + timedelta(minutes=rng.choice([15, 30, 45, 60]))
        writer.writerow(
            [
                f"{label} visit {number + 1:06d} - Dr {rng.choice(DOCTORS)}",
                f"{begins:%Y-%m-%d %H:%M}",
                f"{ends:%Y-%m-%d %H:%M}",
                rng.choice(STATUSES),
                ";".join(rng.sample(contact_ids, rng.randint(1, 2))),
            ]
        )
    return out.getvalue().encode()


def window_efficiency(times: list[float], start: float) -> float | None:
    """Calls arriving in the whole 10-s windows from ``start``, over what HubSpot allows there.

    None when the calls span less than one window.
    """
    windows = int((times[-1] - start) // 10) if times else 0
    if windows < 1:
        return None
    inside = sum(1 for t in times if t < start + 10 * windows)
    return inside / (LIMIT_PER_10S * windows)


def max_in_window(times: list[float]) -> int:
    """Most arrivals inside any rolling 10 s (what HubSpot's limit counts)."""
    best = first = 0
    for last, at in enumerate(times):
        while at - times[first] >= 10:
            first += 1
        best = max(best, last - first + 1)
    return best


class Sandbox:
    """``manage.py sandbox`` in a subprocess on its own SQLite file; always stopped by ``stop``."""

    def __init__(self, folder: Path) -> None:
        self.db_path = folder / "sandbox.sqlite3"
        self.log_path = folder / "sandbox.log"
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            **PRODUCTION_LIKE,
            "DJANGO_SETTINGS_MODULE": "hubportal.settings",
            "DATABASE_URL": f"sqlite:///{self.db_path}",
            "HUBPORTAL_LOG_LEVEL": "WARNING",
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.token = ""
        self.hub_id = 0

    def manage(self, *args: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )

    def run(self, *args: str) -> str:
        """Run ``manage.py *args`` on the sandbox's database; its output, or RuntimeError."""
        process = self.manage(*args)
        try:
            out, _ = process.communicate(timeout=STARTUP_TIMEOUT_S)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)
        if process.returncode:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{out.decode()[-3000:]}")
        return out.decode().strip()

    def start(self, *options: str) -> None:
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "manage.py", "sandbox", "--port", str(self.port), *options],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline and self.process.poll() is None:
            lines = self.log_path.read_text(errors="replace").splitlines()
            values = dict(line.split("=", 1) for line in lines if line.startswith("HUBSPOT_"))
            if values.get("HUBSPOT_SANDBOX_URL") == self.base_url:
                self.token = values["HUBSPOT_SANDBOX_TOKEN"]
                self.hub_id = int(values["HUBSPOT_SANDBOX_HUB_ID"])
                return
            time.sleep(0.1)
        raise RuntimeError(f"the sandbox did not start:\n{self.log_path.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the sandbox process has used so far (Linux /proc)."""
        assert self.process is not None
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Read the sandbox's database (WAL: reading does not block the sandbox's writes)."""
        with closing(sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=20)) as db:
            return db.execute(sql, params).fetchall()

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> None:
        """Write to the sandbox's database (its state lives there, as ``sandbox_set`` knows)."""
        with closing(sqlite3.connect(self.db_path, timeout=20)) as db, db:
            db.execute(sql, params)

    def last_journal_id(self) -> int:
        return int(self.query("SELECT COALESCE(MAX(id), 0) FROM sandbox_journalentry")[0][0])

    def wait_for_empty_window(self) -> None:
        """Sleep until the last call the sandbox saw is out of its 10-second window."""
        last = self.query("SELECT MAX(received_at) FROM sandbox_journalentry")[0][0]
        if last:
            arrived = datetime.fromisoformat(last).replace(tzinfo=UTC).timestamp()
            time.sleep(max(0.0, min(arrived + 10.5 - time.time(), 11.0)))

    def journal(self, after_id: int) -> dict[str, Any]:
        """Batch-create calls journalled after ``after_id``: answered, 429s, arrival times."""
        rows = self.query(
            "SELECT status, received_at, duration_ms FROM sandbox_journalentry "
            "WHERE id > ? AND path LIKE ? ORDER BY id",
            (after_id, f"%{CREATE_PATH}"),
        )
        refused = self.query(
            "SELECT COUNT(*) FROM sandbox_journalentry WHERE id > ? AND status = 429", (after_id,)
        )[0][0]
        ok = [r for r in rows if r[0] in (200, 201, 207)]
        return {
            "ok": len(ok),
            "http_429": int(refused),
            "other": sorted({r[0] for r in rows} - {200, 201, 207}),
            "times": sorted(
                datetime.fromisoformat(r[1]).replace(tzinfo=UTC).timestamp() for r in ok
            ),
            "sandbox_ms": sum(float(r[2]) for r in ok),
        }

    def calls_since(self, after_id: int, path_contains: str) -> int:
        """How many calls journalled after ``after_id`` had a path containing ``path_contains``."""
        sql = "SELECT COUNT(*) FROM sandbox_journalentry WHERE id > ? AND path LIKE ?"
        return int(self.query(sql, (after_id, f"%{path_contains}%"))[0][0])

    def appointments(self) -> int:
        sql = "SELECT COUNT(*) FROM sandbox_crmrecord WHERE object_type = '0-421'"
        return int(self.query(sql)[0][0])


def send_bounded(batch_id: str, sandbox: Sandbox, journal_from: int) -> tuple[float, float]:
    """Run ``batch_send`` in a thread, printing progress; cancel the batch past the time limit.

    Returns the seconds batch_send took and the CPU seconds its thread used.
    """
    from django.db import connection

    from appointments.models import Batch, BatchRow
    from appointments.services.batches import batch_cancel
    from appointments.services.sending import batch_send

    failure: list[BaseException] = []
    cpu = [0.0]

    def body() -> None:
        began = time.thread_time()
        try:
            batch_send(batch_id=batch_id)
        except BaseException as exc:  # re-raised by the main thread
            failure.append(exc)
        finally:
            cpu[0] = time.thread_time() - began
            connection.close()

    worker = threading.Thread(target=body, name="batch-send", daemon=True)
    began = time.perf_counter()
    worker.start()
    next_report = began + 5
    while worker.is_alive():
        worker.join(timeout=0.2)
        now = time.perf_counter()
        if now - began > PHASE_TIMEOUT_S:
            say(f"  time limit of {PHASE_TIMEOUT_S:.0f} s reached: canceling the batch")
            batch = Batch.objects.get(pk=batch_id)
            batch_cancel(user=batch.created_by, batch=batch)
            worker.join(timeout=30)
            break
        if now >= next_report and worker.is_alive():
            next_report = now + 5
            seen = sandbox.journal(journal_from)
            rows = BatchRow.objects.filter(batch_id=batch_id)
            saved = rows.filter(state__in=[BatchRow.State.CREATED, BatchRow.State.FAILED]).count()
            say(
                f"  {now - began:6.1f} s: {seen['ok']} calls answered, {saved:,} rows saved, "
                f"{seen['http_429']} x 429"
            )
    elapsed = time.perf_counter() - began
    if worker.is_alive():
        raise RuntimeError("batch_send did not stop after the batch was canceled")
    if failure:
        raise failure[0]
    return elapsed, cpu[0]


def create_batch(user: Any, portal: Any, rows: int, label: str) -> Any:
    from appointments.models import BatchRow
    from sandbox.seed import DEMO_CONTACT_IDS
    from tests.helpers import batch_from_upload

    data = appointments_csv(rows, DEMO_CONTACT_IDS, label)
    began = time.perf_counter()
    batch = batch_from_upload(
        user=user, portal=portal, data=data, filename=f"{label}.csv", timezone_name="Europe/Paris"
    )
    ready = batch.rows.filter(state=BatchRow.State.READY).count()
    say(
        f"{label} batch created from a {len(data) / 1e6:.1f} MB CSV in "
        f"{time.perf_counter() - began:.1f} s: {ready:,} of {rows:,} rows ready"
    )
    if ready != rows:
        sample = batch.rows.exclude(state=BatchRow.State.READY).first()
        raise RuntimeError(f"rows not ready, e.g. {sample and sample.errors}")
    return batch


def submit_and_send(batch: Any, sandbox: Sandbox) -> dict[str, Any]:
    """Queue ``batch`` (DummyBackend: nobody else runs it) and send it; figures of the run."""
    from django.db.models import Count
    from django.test import override_settings

    from appointments.models import Batch, BatchRow
    from appointments.services.batches import batch_submit

    journal_from = sandbox.last_journal_id()
    began = time.perf_counter()
    with override_settings(TASKS=DUMMY_TASKS):
        # The bench's batches share their starts and contacts (one seed): send them anyway.
        waiting = batch_submit(user=batch.created_by, batch=batch, on_duplicate="create")
    say(f"  batch_submit: {waiting:,} rows queued in {time.perf_counter() - began:.2f} s")
    sandbox_cpu, started = sandbox.cpu_seconds(), time.time()
    send_s, app_cpu = send_bounded(str(batch.pk), sandbox, journal_from)
    sandbox_cpu = sandbox.cpu_seconds() - sandbox_cpu
    batch.refresh_from_db()
    states = dict(batch.rows.values_list("state").annotate(n=Count("id")))
    seen = sandbox.journal(journal_from)
    calls = max(seen["ok"], 1)
    say(
        f"  batch_send: {send_s:.2f} s, batch {batch.status}, rows {states}; {seen['ok']} creates "
        f"answered ({seen['http_429']} x 429, other statuses: {seen['other'] or 'none'})\n"
        f"  per call: {send_s / calls * 1000:.1f} ms wall, of which "
        f"{seen['sandbox_ms'] / calls:.1f} ms inside the sandbox's view; CPU "
        f"{app_cpu / calls * 1000:.1f} ms in the engine's thread, "
        f"{sandbox_cpu / calls * 1000:.1f} ms in the sandbox process; one call at a time on an "
        f"idle machine: at most {calls / (app_cpu + sandbox_cpu):.1f} calls/s "
        f"(load average now {os.getloadavg()[0]:.1f})"
    )
    created = states.get(BatchRow.State.CREATED, 0)
    if batch.status != Batch.Status.COMPLETED or created != waiting:
        raise RuntimeError(f"batch ended {batch.status} with {created} of {waiting} created")
    return {"send_s": send_s, "started": started, "rows": created, **seen}


def report_pace(calls: int, elapsed: float, times: list[float], started: float) -> float:
    """Print the pace of ``calls`` creates; return the pacing efficiency (see the docstring)."""
    allowed = LIMIT_PER_10S / 10
    even = calls / elapsed / allowed
    whole = window_efficiency(times, started)
    say(
        f"  {calls} creates in {elapsed:.2f} s = {calls / elapsed:.2f} calls/s, "
        f"{even:.3f} of the allowed {allowed:.0f}/s; most in any rolling 10 s: "
        f"{max_in_window(times)} (limit {LIMIT_PER_10S}); share of the budget used in whole "
        f"windows: {'n/a' if whole is None else f'{whole:.3f}'}"
    )
    return even if whole is None else whole


def phase_pacing(batch: Any, sandbox: Sandbox) -> tuple[float, int]:
    say(f"\n(a) pacing: sandbox and app at {LIMIT_PER_10S} calls per rolling 10 s, engine")
    sandbox.wait_for_empty_window()
    run = submit_and_send(batch, sandbox)
    efficiency = report_pace(run["ok"], run["send_s"], run["times"], run["started"])
    say(f"  pacing efficiency {efficiency:.3f}, 429s {run['http_429']}")
    return efficiency, int(run["http_429"])


def sent_values(batch: Any) -> list[tuple[dict[str, str], list[list[Any]]]]:
    """Each row's (properties, ``[record id, associationCategory, associationTypeId]`` items)
    as sent, in row order."""
    layout = batch.layout
    return [
        (layout.unpack_properties(p), layout.unpack_associations(a))
        for p, a in batch.rows.order_by("row_number").values_list("properties", "associations")
    ]


def phase_ceiling(batch: Any, sandbox: Sandbox) -> int:
    from appointments.hubspot.client import HubSpotClient
    from appointments.hubspot.errors import HubSpotError
    from appointments.services.sending import association_objects

    say(
        f"\n(a') diagnostic: the app's HubSpotClient and pacing alone, {CEILING_CALLS} creates, "
        "contract checking off so that the sandbox answers faster than the limit"
    )
    rows = sent_values(batch)
    say("  " + sandbox.run("sandbox_set", "--contract", "off"))
    sandbox.wait_for_empty_window()
    journal_from, started = sandbox.last_journal_id(), time.time()
    created = 0
    began = time.perf_counter()
    with HubSpotClient(sandbox.token, hub_id=sandbox.hub_id) as client:
        for call in range(CEILING_CALLS):
            if time.perf_counter() - began > PHASE_TIMEOUT_S:
                break
            chunk = rows[(call * 100) % len(rows) :][:100]
            try:
                result = client.batch_create(
                    [
                        {
                            "objectWriteTraceId": f"ceil-{call}-{n}",
                            "properties": p,
                            "associations": association_objects(a),
                        }
                        for n, (p, a) in enumerate(chunk)
                    ]
                )
            except HubSpotError as exc:  # counted from the journal below
                say(f"  call {call}: HTTP {exc.status}")
                continue
            created += len(result.results)
    elapsed = time.perf_counter() - began
    seen = sandbox.journal(journal_from)
    efficiency = report_pace(seen["ok"], elapsed, seen["times"], started)
    say(f"  pacing layer alone: efficiency {efficiency:.3f}, 429s {seen['http_429']}")
    return created


def phase_own(batch: Any, sandbox: Sandbox) -> float:
    from django.test import override_settings

    say("\n(b) no limit: the app's own speed (sandbox limit 10^9, contract checking off)")
    say("  " + sandbox.run("sandbox_set", "--rate-limit", str(UNLIMITED), "--contract", "off"))
    with override_settings(HUBSPOT_RATE_LIMIT_PER_10S=UNLIMITED):
        run = submit_and_send(batch, sandbox)
    own = float(run["rows"] / run["send_s"])
    say(f"  {run['rows']:,} rows from queued to saved in {run['send_s']:.2f} s = {own:,.0f} rows/s")
    return own


def sdk_batch(chunk: list[tuple[dict[str, str], list[list[Any]]]], first: int) -> Any:
    """The official client's batch-create input for ``chunk`` of ``sent_values`` items."""
    from hubspot.crm.objects import (
        AssociationSpec,
        BatchInputSimplePublicObjectBatchInputForCreate,
        PublicAssociationsForObject,
        PublicObjectId,
        SimplePublicObjectBatchInputForCreate,
    )

    return BatchInputSimplePublicObjectBatchInputForCreate(
        inputs=[
            SimplePublicObjectBatchInputForCreate(
                properties=properties,
                associations=[
                    PublicAssociationsForObject(
                        to=PublicObjectId(id=record_id),
                        types=[
                            AssociationSpec(
                                association_category=category, association_type_id=type_id
                            )
                        ],
                    )
                    for record_id, category, type_id in associations
                ],
                object_write_trace_id=f"sdk-{first + n}",
            )
            for n, (properties, associations) in enumerate(chunk)
        ]
    )


def phase_sdk(batch: Any, sandbox: Sandbox) -> float:
    from hubspot import HubSpot
    from hubspot.crm.objects import ApiException

    say("\n(c) the official hubspot-api-client, plain loop of batch creates of 100, no limit")
    rows = sent_values(batch)
    client = HubSpot(access_token=sandbox.token, host=sandbox.base_url)
    journal_from = sandbox.last_journal_id()
    created = 0
    sandbox_cpu, own_cpu = sandbox.cpu_seconds(), time.thread_time()
    began = time.perf_counter()
    for start in range(0, len(rows), 100):
        if time.perf_counter() - began > PHASE_TIMEOUT_S:
            say(f"  time limit of {PHASE_TIMEOUT_S:.0f} s reached after {start:,} rows")
            break
        try:
            result = client.crm.objects.batch_api.create(
                object_type="0-421",
                batch_input_simple_public_object_batch_input_for_create=sdk_batch(
                    rows[start : start + 100], start
                ),
            )
        except ApiException as exc:
            say(f"  call at row {start}: HTTP {exc.status}")
            continue
        created += len(result.results)
    elapsed = time.perf_counter() - began
    sandbox_cpu, own_cpu = sandbox.cpu_seconds() - sandbox_cpu, time.thread_time() - own_cpu
    seen = sandbox.journal(journal_from)
    calls = max(seen["ok"], 1)
    rate = created / elapsed
    say(
        f"  {created:,} rows created in {elapsed:.2f} s = {rate:,.0f} rows/s ({seen['ok']} calls, "
        f"{seen['http_429']} x 429)\n  per call: {elapsed / calls * 1000:.1f} ms wall, of which "
        f"{seen['sandbox_ms'] / calls:.1f} ms inside the sandbox's view; CPU "
        f"{own_cpu / calls * 1000:.1f} ms in the client, {sandbox_cpu / calls * 1000:.1f} ms in "
        "the sandbox process"
    )
    return rate


def poll_median(client: Any, batch: Any) -> tuple[float, float, float]:
    """Median and max milliseconds of ``POLLS`` requests of ``batch``'s live partial, and the
    median CPU milliseconds of this thread (the view runs in it; unlike wall time, not
    inflated by a loaded machine)."""
    from django.urls import reverse

    url = reverse("appointments:batch-detail", args=[batch.pk])
    client.get(url, headers={"HX-Request": "true"})  # warm: templates, connections
    times, cpu = [], []
    for _ in range(POLLS):
        began, cpu_began = time.perf_counter(), time.thread_time()
        response = client.get(url, headers={"HX-Request": "true"})
        times.append((time.perf_counter() - began) * 1000)
        cpu.append((time.thread_time() - cpu_began) * 1000)
        assert response.status_code == 200, response.status_code
    return statistics.median(times), max(times), statistics.median(cpu)


def poll_while_sending(client: Any, batch: Any, sandbox: Sandbox) -> tuple[float, float, float]:
    """Queue ``batch``, send it with the engine in a thread (the sandbox answers each call
    after ``SENDING_LATENCY_MS``, so the batch stays "Sending"), poll it once it is running
    and, for a batch of more than one call, once a few calls are answered; then cancel it."""
    from django.db import connection
    from django.test import override_settings

    from appointments.models import Batch, BatchCall
    from appointments.services.batches import batch_cancel, batch_submit
    from appointments.services.sending import batch_send

    with override_settings(TASKS=DUMMY_TASKS):
        batch_submit(user=batch.created_by, batch=batch)
    calls = BatchCall.objects.filter(batch=batch)
    answered_before = min(6, calls.count() - 1)

    def body() -> None:
        try:
            batch_send(batch_id=str(batch.pk))
        finally:
            connection.close()

    engine = threading.Thread(target=body, name="batch-send", daemon=True)
    engine.start()
    deadline = time.monotonic() + PHASE_TIMEOUT_S
    while time.monotonic() < deadline and not (
        Batch.objects.filter(pk=batch.pk, status=Batch.Status.RUNNING).exists()
        and calls.filter(state=BatchCall.State.DONE).count() >= answered_before
        and calls.filter(state=BatchCall.State.SENDING).exists()
    ):
        time.sleep(0.05)
    batch.refresh_from_db()
    if batch.status != Batch.Status.RUNNING:
        raise RuntimeError(f"the batch is {batch.status}, not running: no poll while sending")
    figures = poll_median(client, batch)
    batch.refresh_from_db()
    still = batch.status == Batch.Status.RUNNING
    batch_cancel(user=batch.created_by, batch=batch)
    engine.join(timeout=PHASE_TIMEOUT_S)
    if not still:
        raise RuntimeError("the batch ended while it was polled: raise SENDING_LATENCY_MS")
    return figures


def phase_poll(user: Any, portal: Any, sandbox: Sandbox) -> dict[str, float]:
    """(d) The live results partial a running batch polls every 2 s, for a 100-row and a
    100,000-row batch, checked but not sent (draft) and while the engine sends it: median
    milliseconds of ``POLLS`` requests each, through Django's test client (the whole view:
    counts, the visible page of rows, the latest calls)."""
    from django.test import Client

    say(f"\n(d) the live results poll, for a small and a large batch (median of {POLLS} requests)")
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    batches = {rows: create_batch(user, portal, rows, f"Poll{rows}") for rows in POLL_SIZES}
    figures: dict[str, float] = {}
    for rows, batch in batches.items():
        median, high, cpu = poll_median(client, batch)
        figures[f"poll_ms_{rows}"] = median
        say(f"  draft, {rows:,} rows: median {median:.1f} ms (max {high:.1f}; CPU {cpu:.1f} ms)")
    # Each call answered after 5 s: the batches stay "Sending" while they are polled.
    say("  " + sandbox.run("sandbox_set", "--latency-ms", str(SENDING_LATENCY_MS)))
    with override_budget():
        for rows, batch in batches.items():
            median, high, cpu = poll_while_sending(client, batch, sandbox)
            figures[f"poll_sending_ms_{rows}"] = median
            say(
                f"  sending, {rows:,} rows: median {median:.1f} ms (max {high:.1f}; CPU "
                f"{cpu:.1f} ms)"
            )
    say("  " + sandbox.run("sandbox_set", "--latency-ms", "0"))
    return figures


def override_budget() -> Any:
    from django.test import override_settings

    return override_settings(HUBSPOT_RATE_LIMIT_PER_10S=UNLIMITED)


def phase_storm(user: Any, portal: Any, sandbox: Sandbox, rows: int) -> tuple[int, int]:
    """(e) A fault storm at the sandbox's default search lag, without a row key: returns the
    appointments created more than once (extra copies) and the rows never created."""
    from django.test import override_settings

    from appointments.models import BatchRow
    from appointments.services.batches import (
        batch_check_hubspot,
        batch_retry_failed,
        batch_submit,
    )
    from appointments.services.sending import batch_send
    from tests.helpers import FaultStorm, duplicates_and_lost

    lag = float(sandbox.query("SELECT search_lag_seconds FROM sandbox_switches")[0][0])
    say(f"\n(e) fault storm: {rows:,} rows, search lag {lag:g} s (the sandbox's default)")
    # Latency keeps calls in flight long enough for the storm to hit them.
    settings = ("--rate-limit", "40", "--contract", "on", "--latency-ms", "300")
    say("  " + sandbox.run("sandbox_set", *settings))
    batch = create_batch(user, portal, rows, "Storm")
    rng = random.Random(12)

    def strike(fault: str) -> None:
        # What ``sandbox_set --fault F --times 1 --path P --hang-seconds 2`` writes
        # (sandbox.faults.set_fault), without starting Django once a second.
        path = "batch/create" if fault and rng.random() < 0.7 else ""
        sandbox.execute(
            "UPDATE sandbox_portal SET fault = ?, fault_remaining = 1, fault_path_contains = ?, "
            "hang_seconds = 2 WHERE hub_id = ?",
            (fault, path, sandbox.hub_id),
        )

    # The app waits just past the sandbox's known lag before trusting search (production: 60 s,
    # for HubSpot's unknown one), so the storm takes minutes, not tens of minutes.
    quick = {
        "TASKS": DUMMY_TASKS,
        "HUBSPOT_TIMEOUT_SECONDS": 2,
        "HUBPORTAL_RETRY_WAIT_MAX_SECONDS": 4,
        "HUBPORTAL_SEARCH_SETTLE_SECONDS": int(lag) + 1,
    }
    storm = FaultStorm(strike, interval=0.5, seed=12)
    began = time.perf_counter()
    with override_settings(**quick):
        batch_submit(user=batch.created_by, batch=batch)
        storm.start()
        try:
            batch_send(batch_id=str(batch.pk))
        finally:
            storm.stop()
        unknown = batch.rows.filter(error_category="UNKNOWN_OUTCOME").count()
        say(
            f"  sent in {time.perf_counter() - began:.0f} s; faults {dict(storm.seen)}; "
            f"{unknown} rows may have been created"
        )
        for _round in range(4):
            if not batch.rows.filter(error_category="UNKNOWN_OUTCOME").exists():
                break
            time.sleep(int(lag) + 1.5)  # past the last settle time
            batch.refresh_from_db()  # sent (COMPLETED) since batch_submit read it
            checked = batch_check_hubspot(user=batch.created_by, batch=batch)
            say(f"  check HubSpot again: {checked.created} found, {checked.not_sent} not sent")
            if batch_retry_failed(user=batch.created_by, batch=batch):
                batch_send(batch_id=str(batch.pk))
    names = [
        str(name)
        for (name,) in sandbox.query(
            "SELECT json_extract(properties, '$.hs_appointment_name') FROM sandbox_crmrecord "
            "WHERE object_type = '0-421'"
        )
        if str(name).startswith("Storm ")
    ]
    expected = [row.appointment_name for row in batch.rows.all()]
    duplicates, lost = duplicates_and_lost(names, expected)
    created = batch.rows.filter(state=BatchRow.State.CREATED).count()
    say(f"  {created:,} of {rows:,} rows created; duplicates {duplicates}, lost {lost}")
    return duplicates, lost


def phase_duplicates(
    user: Any, portal: Any, rows: int, sandbox: Sandbox
) -> tuple[float, int, float]:
    """(f) The duplicate checks of a new N-row batch (the same appointments as the batches sent
    above) against a portal holding them: seconds of the database check (``batch_duplicates``,
    what the batch page shows), then the calls and seconds of the HubSpot search
    (``batch_duplicates_search_hubspot``: one search per 100 distinct starts, at the app's
    search pace; the appointments found are the app's own, so no association read follows).
    ``bench/duplicates.py`` measures the same check against appointments made outside the
    app."""
    from appointments.services.duplicates import (
        batch_duplicates,
        batch_duplicates_search_hubspot,
    )

    say("\n(f) duplicate checks of a new batch of the same appointments")
    batch = create_batch(user, portal, rows, "Again")
    began = time.perf_counter()
    report = batch_duplicates(batch=batch)
    database_s = time.perf_counter() - began
    say(f"  database: {len(report.sent):,} rows already sent, in {database_s:.2f} s")
    journal_from = sandbox.last_journal_id()
    began = time.perf_counter()
    found = batch_duplicates_search_hubspot(user=user, batch=batch)
    search_s = time.perf_counter() - began
    calls = sandbox.calls_since(journal_from, "/search")
    say(
        f"  HubSpot search: {calls:,} calls in {search_s:.1f} s, {found:,} rows matched records "
        "the app did not create"
    )
    return database_s, calls, search_s


def migrate_sandbox(sandbox: Sandbox, failed: list[Exception]) -> None:
    try:
        sandbox.run("migrate", "--no-input")
    except Exception as exc:  # re-raised by main
        failed.append(exc)


def setup_django(folder: Path, sandbox: Sandbox) -> None:
    """Point this process at its own SQLite file and the sandbox, then migrate (env first)."""
    os.environ.update(PRODUCTION_LIKE)
    os.environ["DJANGO_SETTINGS_MODULE"] = "hubportal.settings"
    os.environ["DATABASE_URL"] = f"sqlite:///{folder / 'app.sqlite3'}"
    os.environ["HUBPORTAL_STATE_DIR"] = str(folder / "state")
    os.environ["HUBSPOT_API_BASE_URL"] = sandbox.base_url
    os.environ["HUBSPOT_APP_BASE_URL"] = sandbox.base_url
    os.environ["HUBSPOT_RATE_LIMIT_PER_10S"] = str(LIMIT_PER_10S)
    os.environ["HUBPORTAL_TASK_BACKEND"] = "db"
    os.environ["HUBPORTAL_REDIS_URL"] = ""
    os.environ["HUBPORTAL_LOG_LEVEL"] = "WARNING"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def connect_portal(sandbox: Sandbox) -> tuple[Any, Any]:
    """A user and the sandbox's demo portal connected with its static token."""
    from django.contrib.auth.models import User

    from appointments.models import Portal
    from appointments.services.access import ADMIN, role_set

    user = User.objects.create_user(username="bench", password=None)
    role_set(user, ADMIN)
    portal = Portal(
        hub_id=sandbox.hub_id,
        connected_by=user,
        auth_kind=Portal.AuthKind.PRIVATE_APP,
        scopes=["crm.objects.appointments.read", "crm.objects.appointments.write"],
    )
    portal.set_tokens(access_token=sandbox.token, refresh_token=None, expires_in=None)
    portal.save()
    return user, portal


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--poll-only", action="store_true", help="phase (d) alone")
    parser.add_argument("--storm-rows", type=int, default=2000, help="rows of the storm (e)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="hubportal-bench-"))
    sandbox = Sandbox(folder)
    began = time.perf_counter()
    say(f"folder {folder}, sandbox {sandbox.base_url}, load average {os.getloadavg()[0]:.1f}")
    try:
        # Both databases migrate at once: the sandbox's in a subprocess, the app's here.
        failed: list[Exception] = []
        migrating = threading.Thread(target=migrate_sandbox, args=(sandbox, failed))
        migrating.start()
        setup_django(folder, sandbox)
        migrating.join()
        if failed:
            raise failed[0]
        sandbox.start("--rate-limit", str(LIMIT_PER_10S))
        say(f"databases migrated, sandbox started: {time.perf_counter() - began:.1f} s")
        user, portal = connect_portal(sandbox)
        figures: dict[str, float] = {}
        if not args.poll_only:
            pacing_batch = create_batch(user, portal, args.rows, "Pacing")
            speed_batch = create_batch(user, portal, args.rows, "Speed")
            efficiency, http_429 = phase_pacing(pacing_batch, sandbox)
            ceiling_rows = phase_ceiling(pacing_batch, sandbox)
            figures["own_rows_per_s"] = phase_own(speed_batch, sandbox)
            figures["sdk_rows_per_s"] = phase_sdk(speed_batch, sandbox)
            figures = {"pacing_efficiency": efficiency, "http_429": http_429, **figures}
            stored, expected = sandbox.appointments(), 3 * args.rows + ceiling_rows
            say(f"\nthe sandbox holds {stored:,} appointments ({expected:,} expected)")
        else:
            say("  " + sandbox.run("sandbox_set", "--rate-limit", str(UNLIMITED)))
        figures.update(phase_poll(user, portal, sandbox))
        if not args.poll_only:
            (
                figures["duplicates_db_s"],
                figures["duplicates_search_calls"],
                figures["duplicates_search_s"],
            ) = phase_duplicates(user, portal, args.rows, sandbox)
            figures["duplicates"], _lost = phase_storm(user, portal, sandbox, args.storm_rows)
        say(
            f"whole bench {time.perf_counter() - began:.0f} s, load average "
            f"{os.getloadavg()[0]:.1f}"
        )
    finally:
        sandbox.stop()
        if args.keep:
            say(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    print(
        " ".join(
            f"{name}={value}" if isinstance(value, int) else f"{name}={value:.{PLACES[name]}f}"
            for name, value in figures.items()
        )
    )


if __name__ == "__main__":
    main()
