"""What every view shares: the type of an authenticated, htmx-aware request."""

from django.contrib.auth.models import User
from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails


class AuthenticatedRequest(HttpRequest):
    """What ``@login_required`` views receive (for type checking)."""

    user: User
    htmx: HtmxDetails
