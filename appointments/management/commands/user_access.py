"""Set a person's role and the portals they may use (what an admin does with passwords; with
single sign-on the role comes from the groups claim and the grants stay this command's)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from appointments.management.acting import acting_user, add_user_argument
from appointments.models import Portal
from appointments.services import access
from appointments.services.access import Action


class Command(BaseCommand):
    help = (
        "Give PERSON a role (admin, operator, viewer, or none) and grant or revoke portals "
        "(by hub ID), acting as --user, who must be an admin. Prints what PERSON has after."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("person", metavar="PERSON", help="Username to change")
        add_user_argument(parser)
        parser.add_argument("--role", choices=[*access.ROLES, "none"])
        parser.add_argument("--grant", type=int, action="append", default=[], metavar="HUB_ID")
        parser.add_argument("--revoke", type=int, action="append", default=[], metavar="HUB_ID")

    def _portal(self, hub_id: int) -> Portal:
        portal = Portal.objects.filter(hub_id=hub_id).first()
        if portal is None:
            known = ", ".join(str(p) for p in Portal.objects.values_list("hub_id", flat=True))
            raise CommandError(f"No portal has hub ID {hub_id}. Portals: {known or 'none'}.")
        return portal

    def handle(self, *args: Any, **options: Any) -> None:
        admin = acting_user(options["user"], Action.PORTAL_MANAGE)
        person = acting_user(options["person"])
        # Every portal is checked before anything changes: a typo changes nothing.
        grants = [self._portal(hub_id) for hub_id in options["grant"]]
        revokes = [self._portal(hub_id) for hub_id in options["revoke"]]
        if options["role"]:
            access.role_set(person, None if options["role"] == "none" else options["role"])
        for portal in grants:
            access.portal_grant(by=admin, portal=portal, user=person)
        for portal in revokes:
            access.portal_revoke(by=admin, portal=portal, user=person)
        hub_ids = sorted(person.portal_grants.values_list("portal__hub_id", flat=True))
        self.stdout.write(
            f"{person.get_username()}: role {access.role_of(person) or 'none'}; portals "
            + (", ".join(str(hub_id) for hub_id in hub_ids) or "none")
            + "."
        )
