"""E-mails to the person who sent a batch: when it finishes (with or without failed rows),
when it pauses (reconnect needed, HubSpot's daily limit, ...) and when it waits for a decision
(at the canary, duplicates found in HubSpot, rows that may have been created), once each time
it enters such a state.

Sent through Django's e-mail backend (the console in the demo, SMTP in production: README,
"Configuration"). A mail that cannot go out is logged and never stops the sending.
"""

from __future__ import annotations

import logging
import smtplib

from django.conf import settings
from django.core.mail import send_mail
from django.db.models import Q
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
    body = _("Sending stopped before the end: %(reason)s") % {"reason": batch.status_text}
    return subject, body


def _canary(batch: Batch) -> tuple[str, str]:
    created = batch.rows.filter(state=BatchRow.State.CREATED).count()
    subject = _("%(name)s is waiting at the canary") % {"name": batch}
    body = ngettext(
        "The first %(created)s appointment is in HubSpot portal %(hub_id)s: check it, then "
        "send the rest or undo it.",
        "The first %(created)s appointments are in HubSpot portal %(hub_id)s: check them, then "
        "send the rest or undo them.",
        created,
    ) % {"created": created, "hub_id": batch.portal.hub_id}
    return subject, body


def _hubspot_duplicates(batch: Batch) -> tuple[str, str]:
    rows = len(batch.hubspot_duplicates)
    subject = _("%(name)s waits for a decision: duplicates in HubSpot") % {"name": batch}
    body = ngettext(
        "%(rows)s row is already in HubSpot portal %(hub_id)s as an appointment the app did "
        "not create. Nothing is sent until you choose to skip it or create it anyway.",
        "%(rows)s rows are already in HubSpot portal %(hub_id)s as appointments the app did "
        "not create. Nothing is sent until you choose to skip them or create them anyway.",
        rows,
    ) % {"rows": rows, "hub_id": batch.portal.hub_id}
    return subject, body


def _unknown_outcome(batch: Batch) -> tuple[str, str]:
    subject, body = _finished(batch)
    rows = batch.rows.filter(
        state=BatchRow.State.FAILED, error_category=UNKNOWN_OUTCOME_CATEGORY
    ).count()
    subject = _("%(name)s waits for a decision: rows may have been created") % {"name": batch}
    body += "\n" + ngettext(
        "HubSpot never confirmed %(rows)s row: it may have been created. Press Check HubSpot "
        "again before sending it again.",
        "HubSpot never confirmed %(rows)s rows: they may have been created. Press Check "
        "HubSpot again before sending them again.",
        rows,
    ) % {"rows": rows}
    return subject, body


# The category of rows HubSpot may have created (services.sending.UNKNOWN_OUTCOME).
UNKNOWN_OUTCOME_CATEGORY = "UNKNOWN_OUTCOME"

_MAILS = {
    Batch.Status.COMPLETED: _finished,
    Batch.Status.PAUSED: _paused,
    Batch.Status.CANARY: _canary,
}
# States that wait for a person's decision, each mailed once per entry (``waiting_notified``).
CANARY, HUBSPOT_DUPLICATES, UNKNOWN_OUTCOME = "canary", "hubspot_duplicates", "unknown_outcome"
_WAITING_MAILS = {
    CANARY: _canary,
    HUBSPOT_DUPLICATES: _hubspot_duplicates,
    UNKNOWN_OUTCOME: _unknown_outcome,
}


def _waiting(batch: Batch) -> str | None:
    """Which decision the batch waits for, if any (``_WAITING_MAILS``' keys)."""
    if batch.status == Batch.Status.CANARY:
        return CANARY
    if batch.status == Batch.Status.DRAFT and batch.hubspot_duplicates:
        return HUBSPOT_DUPLICATES
    if (
        batch.status == Batch.Status.COMPLETED
        and batch.rows.filter(
            state=BatchRow.State.FAILED, error_category=UNKNOWN_OUTCOME_CATEGORY
        ).exists()
    ):
        return UNKNOWN_OUTCOME
    return None


def batch_notify(*, batch_id: str) -> bool:
    """Mail the batch's sender (who last sent it, else who created it) what became of it, if
    it is COMPLETED or PAUSED, or waits for a decision (at the CANARY, duplicates found in
    HubSpot and not decided, rows that may have been created); returns whether a mail went
    out. A waiting state is mailed once per entry: ``Batch.waiting_notified`` is claimed by a
    conditional UPDATE (two processes never both mail) and cleared when the batch is queued.

    In ``settings.LANGUAGE_CODE``; the link is ``HUBPORTAL_SITE_URL`` plus the results page.
    """
    batch = Batch.objects.select_related("created_by", "sent_by", "portal").get(pk=batch_id)
    recipient = (batch.sent_by or batch.created_by).email
    waiting = _waiting(batch)
    mail = _WAITING_MAILS[waiting] if waiting else _MAILS.get(Batch.Status(batch.status))
    if not recipient or mail is None:
        return False
    if waiting and not Batch.objects.filter(
        ~Q(waiting_notified=waiting), pk=batch.pk, status=batch.status
    ).update(waiting_notified=waiting):
        return False  # already told about this wait
    with translation.override(settings.LANGUAGE_CODE):
        subject, body = mail(batch)
        body += "\n\n" + _("Results: %(link)s") % {"link": _link(batch)}
    try:
        send_mail(subject, body, None, [recipient])
    except (smtplib.SMTPException, OSError) as exc:
        logger.warning("Batch %s: the mail to %s could not be sent: %s", batch.pk, recipient, exc)
        return False
    return True
