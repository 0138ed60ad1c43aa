"""Erase one person's data from every batch, found by their e-mail address."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser

from appointments.services.retention import RetentionRefused, person_erase


class Command(BaseCommand):
    help = (
        "Erase every stored row holding --email (any cell, any letter case): its values become "
        "[erased] and it is never sent; uploads holding it are deleted. Run as the "
        "administrator --user; recorded without the address. Records already created in "
        "HubSpot stay there: erase them in HubSpot too."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--email", required=True)
        parser.add_argument("--user", required=True, help="an administrator's username")

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(username=options["user"]).first()
        if user is None:
            raise CommandError(f"No user {options['user']!r}: give an administrator's username.")
        try:
            removed = person_erase(email=options["email"], by=user)
        except RetentionRefused as refused:
            raise CommandError(str(refused)) from None
        counts = removed.counts
        self.stdout.write(
            f"Erased {counts['rows']} rows in {counts['batches']} batches and deleted "
            f"{counts['uploads']} uploads (record {removed.record.pk})."
        )
