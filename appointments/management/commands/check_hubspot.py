"""``manage.py check_hubspot BATCH_ID --user U``: the results page's "Check HubSpot again" and
"Resend anyway" for scripts."""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from appointments.hubspot.errors import HubSpotError
from appointments.management.acting import acting_user, add_user_argument, deny_as_error
from appointments.models import Batch
from appointments.services import batches as batch_services
from appointments.services.access import Action
from appointments.services.portals import PortalNeedsReconnect


class Command(BaseCommand):
    help = (
        "Look in HubSpot for the rows of a batch whose creation is unconfirmed (answers lost, or "
        "not shown by HubSpot's search yet) and print what was settled as JSON. Without a row "
        "key, rows search does not show stay unconfirmed (search lags, with no documented "
        "bound); --resend-unfound --accept-duplicates sends them again anyway."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("batch", help="The batch's id (as in its page's address)")
        add_user_argument(parser)
        parser.add_argument(
            "--resend-unfound",
            action="store_true",
            help="After the check, send again the rows HubSpot's search did not show",
        )
        parser.add_argument(
            "--accept-duplicates",
            action="store_true",
            help="Required with --resend-unfound: those rows may exist and be created twice",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        user = acting_user(options["user"])
        try:
            batch = Batch.objects.select_related("portal").filter(pk=options["batch"]).first()
        except ValidationError:
            batch = None
        if batch is None:
            raise CommandError(
                f"There is no batch “{options['batch']}”. Copy its id from its page's address."
            )
        deny_as_error(user, Action.BATCH_ACT, batch)
        if options["resend_unfound"] and not options["accept_duplicates"]:
            raise CommandError(
                "Nothing was done: rows HubSpot's search did not show may still appear (its "
                "search lags). Add --accept-duplicates to send them again anyway."
            )
        if batch.is_active:
            raise CommandError("This batch is being sent: check HubSpot once it has stopped.")
        try:
            checked = batch_services.batch_check_hubspot(user=user, batch=batch)
        except (HubSpotError, PortalNeedsReconnect) as exc:
            raise CommandError(f"HubSpot could not be asked: {exc}") from None
        report: dict[str, Any] = {
            "created": checked.created,
            "not_sent": checked.not_sent,
            "not_found_by_search": checked.not_found,
            "too_soon": checked.too_soon,
            "check_again_in_seconds": checked.seconds_left,
        }
        if options["resend_unfound"]:
            batch.refresh_from_db()
            report["resent"] = batch_services.batch_resend_unfound(user=user, batch=batch)
        self.stdout.write(json.dumps(report))
