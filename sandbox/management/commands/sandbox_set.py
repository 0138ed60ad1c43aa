"""``manage.py sandbox_set``: switch a running sandbox's faults, limits and clock.

The sandbox reads its switches from the database on every call, so this works on a sandbox
served by another process (``manage.py sandbox``, or the in-process test server).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from sandbox import clock, faults
from sandbox.models import Portal, Switches
from sandbox.seed import DEMO_HUB_ID, seed_demo


def _on_off(value: str) -> bool:
    if value not in {"on", "off"}:
        raise CommandError(f"{value!r}: use on or off.")
    return value == "on"


class Command(BaseCommand):
    help = "Set the sandbox's faults, rate limits, clock and switches (see SANDBOX.md)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--hub-id", type=int, default=DEMO_HUB_ID)
        parser.add_argument(
            "--fault",
            choices=[c or "none" for c in Portal.Fault.values],
            help="423, 502, 503, 504, drop, create_timeout, or none",
        )
        parser.add_argument("--times", type=int, help="the fault applies to N calls only")
        parser.add_argument("--path", default="", help="the fault applies to matching paths")
        parser.add_argument("--hang-seconds", type=int, help="create_timeout: hold for N s")
        parser.add_argument("--latency-ms", type=int)
        parser.add_argument("--rate-limit", type=int, metavar="CALLS_PER_10S")
        parser.add_argument("--daily-limit", type=int)
        parser.add_argument("--search-per-second", type=int)
        parser.add_argument("--appointments", metavar="on|off", help="object library enablement")
        parser.add_argument("--advance-clock", type=float, metavar="SECONDS")
        parser.add_argument("--token-lifetime", type=int, metavar="SECONDS")
        parser.add_argument("--echo-trace-ids", metavar="on|off")
        parser.add_argument("--rotate-refresh-tokens", metavar="on|off")
        parser.add_argument("--contract", metavar="on|off")
        parser.add_argument(
            "--search-in-lowercase",
            metavar="on|off",
            help="IN/NOT_IN on string properties match lowercase values only (HubSpot's rule)",
        )
        parser.add_argument(
            "--search-lag",
            type=float,
            metavar="SECONDS",
            help="seconds before a created or updated record appears in search results",
        )
        parser.add_argument(
            "--unique-properties",
            metavar="on|off",
            help="UNCONFIRMED: whether 0-421 accepts new properties with hasUniqueValue",
        )
        parser.add_argument(
            "--id-property-lag",
            type=float,
            metavar="SECONDS",
            help="UNCONFIRMED: how long a new record stays unseen by reads by idProperty",
        )
        parser.add_argument(
            "--duplicate-value",
            choices=Switches.DuplicateValue.values,
            help="UNCONFIRMED: how a batch create refuses a taken unique value",
        )
        parser.add_argument(
            "--journal",
            choices=Switches.JournalMode.values,
            help="full: keep request and response bodies; summary: no bodies (benchmarks)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        seed_demo()
        hub_id = options["hub_id"]
        if not Portal.objects.filter(hub_id=hub_id).exists():
            raise CommandError(f"No sandbox portal with hub id {hub_id}.")
        if options["fault"] is not None or options["latency_ms"] is not None:
            fault = "" if options["fault"] in (None, "none") else options["fault"]
            faults.set_fault(
                hub_id,
                fault,
                times=options["times"],
                latency_ms=options["latency_ms"],
                path_contains=options["path"],
                hang_seconds=options["hang_seconds"],
            )
        limits = {
            "rate_limit_per_10s": options["rate_limit"],
            "daily_limit": options["daily_limit"],
            "search_per_second": options["search_per_second"],
        }
        if options["appointments"] is not None:
            limits["appointments_enabled"] = _on_off(options["appointments"])
        changes = {k: v for k, v in limits.items() if v is not None}
        if changes:
            Portal.objects.filter(hub_id=hub_id).update(**changes)
        if options["advance_clock"] is not None:
            clock.advance(options["advance_clock"])
        row = clock.switches()
        if options["token_lifetime"] is not None:
            row.token_lifetime_seconds = options["token_lifetime"]
        for option, field in [
            ("echo_trace_ids", "echo_trace_id_on_success"),
            ("rotate_refresh_tokens", "rotate_refresh_tokens"),
            ("contract", "contract_checking"),
            ("search_in_lowercase", "search_in_lowercase"),
            ("unique_properties", "unique_properties_allowed"),
        ]:
            if options[option] is not None:
                setattr(row, field, _on_off(options[option]))
        if options["journal"] is not None:
            row.journal_mode = options["journal"]
        if options["search_lag"] is not None:
            if options["search_lag"] < 0:
                raise CommandError("--search-lag: use 0 or more seconds.")
            row.search_lag_seconds = options["search_lag"]
        if options["id_property_lag"] is not None:
            row.id_property_lag_seconds = options["id_property_lag"]
        if options["duplicate_value"] is not None:
            row.duplicate_value = options["duplicate_value"]
        row.save()
        portal = Portal.objects.get(hub_id=hub_id)
        self.stdout.write(
            f"portal {hub_id}: fault={portal.fault or 'none'} remaining={portal.fault_remaining} "
            f"latency_ms={portal.latency_ms} rate_limit_per_10s={portal.rate_limit_per_10s} "
            f"appointments_enabled={portal.appointments_enabled}; clock offset "
            f"{row.clock_offset_seconds}s, token lifetime {row.token_lifetime_seconds}s, "
            f"contract {'on' if row.contract_checking else 'off'}, journal {row.journal_mode}, "
            f"search lag {row.search_lag_seconds}s, "
            f"unique properties {'on' if row.unique_properties_allowed else 'off'}, "
            f"idProperty lag {row.id_property_lag_seconds}s, duplicate value {row.duplicate_value}"
        )
