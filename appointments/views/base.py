"""What every view shares: the type of an authenticated, htmx-aware request; the columns a
person chose to see beside a batch's rows."""

from django.contrib.auth.models import User
from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails

from appointments.models import Batch
from appointments.services import rows as row_services


class AuthenticatedRequest(HttpRequest):
    """What ``@login_required`` views receive (for type checking)."""

    user: User
    htmx: HtmxDetails


# Session key (plus the batch's id) of the columns a person chose to see beside the rows.
SHOWN_KEY = "shown-columns:"


def shown_columns(request: AuthenticatedRequest, batch: Batch) -> list[tuple[int, str]]:
    """The columns this person chose to see beside the batch's rows (kept in the session, so
    a row redrawn alone after a fix has the table's columns), else the default ones."""
    chosen = request.session.get(f"{SHOWN_KEY}{batch.pk}")
    return row_services.rows_shown_columns(user=request.user, batch=batch, chosen=chosen)
