"""E-mails to the person who sent a batch: when it finishes (with or without failed rows) and
when it pauses (reconnect needed, HubSpot's daily limit, ...).

Sent through Django's e-mail backend (the console in the demo, SMTP in production: README,
"Configuration"). A mail that cannot go out is logged and never stops the sending.
"""

from __future__ import annotations

import logging
import smtplib

from django.conf import settings
from django.core.mail import send_mail
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from appointments.models import Batch, BatchRow

logger = logging.getLogger(__name__)


def _link(batch: Batch) -> str:
    return settings.HUBPORTAL_SITE_URL.rstrip("/") + reverse(
        "appointments:batch-detail", args=[batch.pk]
    )


def _finished(batch: Batch) -> tuple[str, str]:
    created = batch.rows.filter(state=BatchRow.State.CREATED).count()
    failed = batch.rows.filter(state__in=[BatchRow.State.FAILED, BatchRow.State.UNSENT]).count()
    if failed:
        subject = ngettext(
            "%(name)s finished: %(failed)s row failed",
            "%(name)s finished: %(failed)s rows failed",
            failed,
        ) % {"name": batch, "failed": failed}
    else:
        subject = _("%(name)s finished: every row was created") % {"name": batch}
    body = ngettext(
        "%(created)s appointment was created in HubSpot portal %(hub_id)s.",
        "%(created)s appointments were created in HubSpot portal %(hub_id)s.",
        created,
    ) % {"created": created, "hub_id": batch.portal.hub_id}
    if failed:
        body += "\n" + ngettext(
            "%(failed)s row was not created: the results page says why and can retry it.",
            "%(failed)s rows were not created: the results page says why and can retry them.",
            failed,
        ) % {"failed": failed}
    return subject, body


def _paused(batch: Batch) -> tuple[str, str]:
    subject = _("%(name)s is paused") % {"name": batch}
    body = _("Sending stopped before the end: %(reason)s") % {"reason": batch.status_message}
    return subject, body


def batch_notify(*, batch_id: str) -> bool:
    """Mail the batch's sender what became of it, if it is COMPLETED or PAUSED and the sender
    has an e-mail address; returns whether a mail went out.

    In ``settings.LANGUAGE_CODE``; the link is ``HUBPORTAL_SITE_URL`` plus the results page.
    """
    batch = Batch.objects.select_related("created_by", "portal").get(pk=batch_id)
    recipient = batch.created_by.email
    if not recipient or batch.status not in (Batch.Status.COMPLETED, Batch.Status.PAUSED):
        return False
    with translation.override(settings.LANGUAGE_CODE):
        subject, body = (_finished if batch.status == Batch.Status.COMPLETED else _paused)(batch)
        body += "\n\n" + _("Results: %(link)s") % {"link": _link(batch)}
    try:
        send_mail(subject, body, None, [recipient])
    except (smtplib.SMTPException, OSError) as exc:
        logger.warning("Batch %s: the mail to %s could not be sent: %s", batch.pk, recipient, exc)
        return False
    return True
