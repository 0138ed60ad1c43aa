"""Create (or reset) the demo staff login that `make run` prints. Refused outside DEBUG."""

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from appointments.services import access

DEMO_USERNAME = "ops"
DEMO_PASSWORD = "hubportal-demo"  # noqa: S105 - a documented demo login, DEBUG only


class Command(BaseCommand):
    help = "Create the demo staff user, an admin (DEBUG only), and print its login."

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError("demo_user only runs with DJANGO_DEBUG=true.")
        user, _created = get_user_model().objects.get_or_create(username=DEMO_USERNAME)
        user.is_staff = True
        # Setting the same password again would still change its hash and sign the demo user
        # out of every browser at each `make run`.
        if not user.check_password(DEMO_PASSWORD):
            user.set_password(DEMO_PASSWORD)
        user.save()
        # The demo login connects portals and sends: an admin.
        access.role_set(user, access.ADMIN)
        self.stdout.write(f"Demo login: username {DEMO_USERNAME!r}, password {DEMO_PASSWORD!r}")
