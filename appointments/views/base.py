"""What every view shares: the type of an authenticated, htmx-aware request, form defaults."""

from django.conf import settings
from django.contrib.auth.models import User
from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails


class AuthenticatedRequest(HttpRequest):
    """What ``@login_required`` views receive (for type checking)."""

    user: User
    htmx: HtmxDetails


def default_timezone(user: User) -> str:
    """The time zone to propose for a new file: the one this person used last, else the site's.

    Proposing UTC to an office in Paris would shift every time by an hour or two.
    """
    from appointments.models import Batch

    last = Batch.objects.filter(created_by=user).order_by("-created_at").first()
    return last.timezone if last else settings.HUBPORTAL_DEFAULT_TIMEZONE
