"""Connect a portal with a private-app access token (HubSpot's static-token authentication)."""

from __future__ import annotations

import sys
from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser

from appointments.hubspot.client import HubSpotClient
from appointments.hubspot.errors import HubSpotError
from appointments.management.acting import acting_user, add_user_argument
from appointments.models import Portal
from appointments.services import access
from appointments.services.access import Action


def _account_name(client: HubSpotClient) -> str:
    """The account's name, "" when HubSpot does not give it (a beta endpoint)."""
    try:
        return client.get_account_name()
    except HubSpotError:
        return ""


def portal_connect_private_app(*, user: User, access_token: str) -> Portal:
    """Ask HubSpot which portal ``access_token`` belongs to and store it (no expiry, no
    refresh token). Reconnecting keeps who may use the portal. Raises PermissionDenied unless
    ``user`` may manage portals, HubSpotError (HubSpotAuthError when the token is refused)."""
    access.require(user, Action.PORTAL_MANAGE)
    with HubSpotClient(access_token) as client:
        hub_id, domain = client.get_account_details()
        name = _account_name(client)
    portal, _created = Portal.objects.get_or_create(hub_id=hub_id, defaults={"connected_by": user})
    portal.hub_domain = domain
    portal.name = name or portal.name
    portal.auth_kind = Portal.AuthKind.PRIVATE_APP
    portal.status = Portal.Status.ACTIVE
    portal.status_message = ""
    portal.scopes = []
    portal.refresh_token_encrypted = ""
    portal.set_tokens(access_token=access_token, refresh_token=None, expires_in=None)
    portal.save()
    return portal


class Command(BaseCommand):
    help = (
        "Connect a HubSpot portal with a private-app access token, for scripts and teams that "
        "don't use OAuth. Pass --access-token - to read the token from standard input."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--access-token", required=True)
        add_user_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        token = options["access_token"]
        if token == "-":  # noqa: S105 - "-" means standard input, not a password
            token = sys.stdin.readline()
        token = token.strip()
        if not token:
            raise CommandError("The access token is empty.")
        user = acting_user(options["user"], Action.PORTAL_MANAGE)
        try:
            portal = portal_connect_private_app(user=user, access_token=token)
        except HubSpotError as exc:
            raise CommandError(f"HubSpot refused the token: {exc.message}") from None
        self.stdout.write(
            f"Connected HubSpot portal {portal.hub_id}"
            + (f" ({portal.hub_domain})" if portal.hub_domain else "")
            + f" with a private-app token, for user {user.get_username()}."
        )
