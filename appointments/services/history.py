"""The batch history: every batch a person may see, filtered."""

from __future__ import annotations

import datetime

from django.contrib.auth.models import User
from django.db.models import QuerySet

from appointments.models import Batch, Portal
from appointments.services.access import batches_for


def history_batches(
    *,
    user: User,
    portal: Portal | None = None,
    created_by: User | None = None,
    status: str = "",
    since: datetime.date | None = None,
    until: datetime.date | None = None,
) -> QuerySet[Batch]:
    """The batches ``user`` may see, newest first, with their portal and creator; each filter
    given narrows them (``since``/``until``: creation dates, inclusive, in the site's zone)."""
    batches = batches_for(user).select_related("portal", "created_by")
    if portal:
        batches = batches.filter(portal=portal)
    if created_by:
        batches = batches.filter(created_by=created_by)
    if status:
        batches = batches.filter(status=status)
    if since:
        batches = batches.filter(created_at__date__gte=since)
    if until:
        batches = batches.filter(created_at__date__lte=until)
    return batches.order_by("-created_at")
