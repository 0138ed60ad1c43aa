"""Delete batches and uploads older than the retention period (run it daily, from cron)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser

from appointments.services.retention import RetentionRefused, data_purge


class Command(BaseCommand):
    help = (
        "Delete batches (their rows and calls) last active more than --older-than-days days "
        "ago (default HUBPORTAL_RETENTION_DAYS), uploads created and HubSpot calls recorded "
        "before then, as the "
        "administrator --user; batches being stored or sent are kept. Recorded with who ran it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", required=True, help="an administrator's username")
        parser.add_argument("--older-than-days", type=int, metavar="N", default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(username=options["user"]).first()
        if user is None:
            raise CommandError(f"No user {options['user']!r}: give an administrator's username.")
        days = options["older_than_days"]
        if days is None:
            days = settings.HUBPORTAL_RETENTION_DAYS
        try:
            removed = data_purge(older_than_days=days, by=user)
        except RetentionRefused as refused:
            raise CommandError(str(refused)) from None
        counts = removed.counts
        self.stdout.write(
            f"Deleted {counts['batches']} batches ({counts['rows']} rows) and "
            f"{counts['uploads']} uploads and {counts['hubspot_calls']} recorded HubSpot calls "
            f"older than {days} days (record {removed.record.pk})."
        )
