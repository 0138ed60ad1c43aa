"""``manage.py sandbox``: serve the HubSpot sandbox alone, with HubSpot's paths.

Prints ``HUBSPOT_SANDBOX_HUB_ID=<id>``, ``HUBSPOT_SANDBOX_TOKEN=<token>`` and the URL, then serves
until interrupted. Re-executes itself under ``sandbox.settings`` (own cookie names) if needed.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections

from sandbox import clock, faults
from sandbox.models import Portal, Switches
from sandbox.seed import DEMO_HUB_ID, DEMO_STATIC_TOKEN, seed_demo
from sandbox.server import make_server, stop


class Command(BaseCommand):
    help = "Serve the HubSpot sandbox (OAuth, CRM API) on its own port."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8765)
        parser.add_argument(
            "--rate-limit", type=int, metavar="CALLS_PER_10S", help="10-second limit per portal"
        )
        parser.add_argument(
            "--processes",
            type=int,
            default=1,
            help="serve from N processes sharing the port (CPU-bound load, e.g. benchmarks)",
        )
        parser.add_argument("--daily-limit", type=int, metavar="CALLS_PER_DAY")
        parser.add_argument("--search-per-second", type=int, metavar="CALLS_PER_S")
        parser.add_argument(
            "--fault",
            choices=[c for c in Portal.Fault.values if c],
            help="fault for the demo portal: 423, 502, 503, 504, drop, create_timeout",
        )
        parser.add_argument("--fault-times", type=int, help="apply the fault to N calls only")
        parser.add_argument("--fault-path", default="", help="only paths containing this")
        parser.add_argument("--latency-ms", type=int, help="delay added to every API call")
        parser.add_argument("--token-lifetime", type=int, metavar="SECONDS")
        parser.add_argument(
            "--no-contract",
            action="store_true",
            help="skip OpenAPI contract checking (about 15 ms per 100-input call; benchmarks)",
        )
        parser.add_argument(
            "--echo-trace-ids",
            action="store_true",
            help="echo objectWriteTraceId on successful batch-create results",
        )
        parser.add_argument(
            "--search-in-lowercase",
            action=argparse.BooleanOptionalAction,
            default=None,
            help="IN/NOT_IN on string properties match lowercase values only (HubSpot's rule; "
            "the default)",
        )
        parser.add_argument(
            "--search-lag",
            type=float,
            metavar="SECONDS",
            help="seconds before a created or updated record appears in search results (default 5)",
        )
        parser.add_argument(
            "--journal",
            choices=Switches.JournalMode.values,
            default=Switches.JournalMode.FULL,
            help="full: keep request and response bodies (default); summary: no bodies",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if os.environ.get("DJANGO_SETTINGS_MODULE") != "sandbox.settings":
            env = {**os.environ, "DJANGO_SETTINGS_MODULE": "sandbox.settings"}
            os.execve(sys.executable, [sys.executable, *sys.argv], env)  # noqa: S606
        # Its own tables first: on a database the app's migrate never saw the sandbox in
        # (DJANGO_DEBUG=false, or a fresh file) it would otherwise stop on "no such table".
        call_command("migrate", "sandbox", interactive=False, verbosity=0)
        portal = seed_demo()
        limits = {
            "rate_limit_per_10s": options["rate_limit"],
            "daily_limit": options["daily_limit"],
            "search_per_second": options["search_per_second"],
        }
        changes = {k: v for k, v in limits.items() if v is not None}
        if changes:
            Portal.objects.filter(pk=portal.pk).update(**changes)
        if options["fault"] or options["latency_ms"] is not None:
            faults.set_fault(
                DEMO_HUB_ID,
                options["fault"] or "",
                times=options["fault_times"],
                latency_ms=options["latency_ms"],
                path_contains=options["fault_path"],
            )
        row = clock.switches()
        if options["token_lifetime"] is not None:
            row.token_lifetime_seconds = options["token_lifetime"]
        if options["echo_trace_ids"]:
            row.echo_trace_id_on_success = True
        row.contract_checking = not options["no_contract"]
        row.journal_mode = options["journal"]
        if options["search_in_lowercase"] is not None:
            row.search_in_lowercase = options["search_in_lowercase"]
        if options["search_lag"] is not None:
            if options["search_lag"] < 0:
                raise CommandError("--search-lag: use 0 or more seconds.")
            row.search_lag_seconds = options["search_lag"]
        row.save()
        # Stop (and stop the children) on SIGTERM as on Ctrl-C.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        server, base_url = make_server(options["host"], options["port"])
        children = self._fork(server, options["processes"])
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.stdout.write(f"HUBSPOT_SANDBOX_HUB_ID={DEMO_HUB_ID}")
        self.stdout.write(f"HUBSPOT_SANDBOX_TOKEN={DEMO_STATIC_TOKEN}")
        self.stdout.write(f"HUBSPOT_SANDBOX_URL={base_url}")
        self.stdout.write(f"HubSpot sandbox at {base_url} (settings: {base_url}/sandbox/)")
        self.stdout.flush()
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
        finally:
            for pid in children:
                os.kill(pid, signal.SIGTERM)
            stop(server)

    def _fork(self, server: Any, processes: int) -> list[int]:
        """Fork ``processes - 1`` children serving the same listening socket; returns pids."""
        # Each process needs its own database connections.
        connections.close_all()
        if processes > 1:
            # Several processes wait on one socket: a blocking accept() in the one that lost
            # the race would hang it (and its shutdown).
            server.socket.setblocking(False)
        children = []
        for _ in range(processes - 1):
            pid = os.fork()
            if pid == 0:
                try:
                    server.serve_forever()
                finally:
                    os._exit(0)
            children.append(pid)
        return children
