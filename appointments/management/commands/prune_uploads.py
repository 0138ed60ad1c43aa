"""Delete uploaded files whose mapping was never confirmed, after a few days."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from appointments.management.acting import acting_user, add_user_argument
from appointments.models import Upload
from appointments.services.access import Action

DEFAULT_DAYS = 2


class Command(BaseCommand):
    help = (
        "Delete uploads (the kept file, up to the upload size limit each) whose column mapping "
        "was never confirmed and that are older than --older-than-days days (default 2). "
        "Confirmed uploads already had their file cleared and are kept. --user must be an admin."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--older-than-days", type=int, default=DEFAULT_DAYS, metavar="N")
        add_user_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        # Everyone's uploads go: only a person who manages the portals may do that.
        acting_user(options["user"], Action.PORTAL_MANAGE)
        days = options["older_than_days"]
        if days < 0:
            raise CommandError(f"--older-than-days must be 0 or more, not {days}.")
        cutoff = timezone.now() - timedelta(days=days)
        # Only Upload rows: no other model points at an unconfirmed upload.
        deleted, _by_model = Upload.objects.filter(
            batch__isnull=True, created_at__lt=cutoff
        ).delete()
        self.stdout.write(
            f"Deleted {deleted} unconfirmed upload{'s' if deleted != 1 else ''} "
            f"older than {days} day{'s' if days != 1 else ''}."
        )
