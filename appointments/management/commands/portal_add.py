"""Connect a portal with a private-app access token (HubSpot's static-token authentication)."""

from __future__ import annotations

import sys
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser

from appointments.hubspot.client import HubSpotClient
from appointments.hubspot.errors import HubSpotError
from appointments.models import Portal


def portal_connect_private_app(*, user: User, access_token: str) -> Portal:
    """Ask HubSpot which portal ``access_token`` belongs to and store it (no expiry, no
    refresh token). Raises HubSpotError (HubSpotAuthError when the token is refused)."""
    with HubSpotClient(access_token) as client:
        hub_id, domain = client.get_account_details()
    portal, _created = Portal.objects.get_or_create(hub_id=hub_id, defaults={"connected_by": user})
    portal.connected_by = user
    portal.hub_domain = domain
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
        parser.add_argument(
            "--user", help="Username the portal belongs to (default: the only superuser)"
        )

    def _user(self, username: str | None) -> User:
        users = get_user_model().objects
        if username:
            user = users.filter(username=username).first()
            if user is None:
                raise CommandError(f"There is no user “{username}”. Create it first.")
            return user
        superusers = list(users.filter(is_superuser=True)[:2])
        if len(superusers) != 1:
            raise CommandError("Pass --user USERNAME: the portal must belong to someone.")
        return superusers[0]

    def handle(self, *args: Any, **options: Any) -> None:
        token = options["access_token"]
        if token == "-":  # noqa: S105 - "-" means standard input, not a password
            token = sys.stdin.readline()
        token = token.strip()
        if not token:
            raise CommandError("The access token is empty.")
        user = self._user(options["user"])
        try:
            portal = portal_connect_private_app(user=user, access_token=token)
        except HubSpotError as exc:
            raise CommandError(f"HubSpot refused the token: {exc.message}") from None
        self.stdout.write(
            f"Connected HubSpot portal {portal.hub_id}"
            + (f" ({portal.hub_domain})" if portal.hub_domain else "")
            + f" with a private-app token, for user {user.get_username()}."
        )
