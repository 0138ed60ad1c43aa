"""Messages the app stores about a batch or a HubSpot call, kept as a code and its parameters
and said in the reader's language when shown (as ``intake.messages`` does for row errors).

A leaf module: the models, the HubSpot client and the services all use it. A stored message
is ``{"code": str, "params": {...}}``; a parameter may itself be a stored message (the reason
inside "HubSpot could not be reached (%(reason)s)"), or ``{"text": str}`` for HubSpot's own
words, which are shown as they came.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

MESSAGES: dict[str, Promise] = {
    # The HubSpot client's own failures (``hubspot.client``, ``hubspot.errors``).
    "hubspot_no_answer_in_time": _("HubSpot did not answer in time."),
    "hubspot_not_connected": _("Could not connect to HubSpot at %(url)s (%(error)s: %(cause)s)."),
    "hubspot_call_failed": _("Could not call HubSpot: %(error)s"),
    "hubspot_timed_out": _("HubSpot did not answer within %(seconds)s s (time-out)."),
    "hubspot_no_answer": _("HubSpot did not answer (%(error)s)."),
    "hubspot_http_status": _("HubSpot answered HTTP %(status)s."),
    # Why a call's rows failed (``BatchCall.error_said``).
    "worker_stopped": _("the worker stopped while the call was out"),
    "answer_lost": _("the answer was lost"),
    "write_call_refused": _(
        "HubSpot refused the whole call of %(count)s rows because of one of them: %(reason)s. "
        "Fix the row it names; the others are sent again as they are."
    ),
    "resend_duplicate_row_key": _("HubSpot refused a resend as a duplicate row key."),
    "hubspot_kept_refusing": _("HubSpot kept refusing this call."),
    "row_unconfirmed": _(
        "HubSpot did not confirm this row (%(detail)s). It may have been created: check "
        "HubSpot before sending it again."
    ),
    "row_unconfirmed_canceled": _(
        "HubSpot did not confirm this row before the batch was canceled. It may have been "
        "created: press Check HubSpot again before sending it again."
    ),
    "row_unconfirmed_after_search": _(
        "HubSpot did not confirm this row (%(detail)s). It may have been created: press "
        "Check HubSpot again before sending it again."
    ),
    # Why the engine waits before trying a call again (``Batch.retry_code``).
    "retry_unreachable": _(
        "HubSpot could not be reached (%(reason)s); trying again: attempt %(next)s of %(max)s."
    ),
    "retry_busy": _(
        "HubSpot could not take the call (%(reason)s); trying again: attempt %(next)s of %(max)s."
    ),
    "retry_no_answer": _(
        "HubSpot did not answer (%(reason)s); trying again: attempt %(next)s of %(max)s."
    ),
    # Why a batch stopped (``Batch.status_code``).
    "paused_unreachable": _(
        "HubSpot could not be reached (%(reason)s). The batch resumes by itself in "
        "%(minutes)s minutes, or press Send to try sooner."
    ),
    "paused_reconnect": _(
        "The portal needs reconnecting (%(reason)s). Reconnect the portal, then resume the batch."
    ),
    "paused_daily_limit": _(
        "HubSpot's daily API limit for this portal is reached; the batch resumes by itself in "
        "%(minutes)s minutes, or press Send to try sooner."
    ),
    "paused_token_refused": _(
        "HubSpot refused the portal's token (%(reason)s). Reconnect the portal, then resume the "
        "batch."
    ),
    "paused_not_allowed": _(
        "%(user)s may no longer send this batch. Someone allowed to send it can press Send."
    ),
    "undo_stopped": _(
        "Undoing stopped (%(reason)s). It starts again by itself within a few minutes."
    ),
    "undo_not_allowed": _(
        "%(user)s may no longer undo this batch. Someone allowed to undo it can press Undo."
    ),
}


def stored(code: str, **params: Any) -> dict[str, Any]:
    """A message to store: ``{"code": code, "params": params}``. Raises KeyError for a code
    that ``MESSAGES`` does not have, so a typo fails where it is written."""
    if code not in MESSAGES:
        raise KeyError(code)
    return {"code": code, "params": params}


def message_text(message: Mapping[str, Any] | str | None) -> str:
    """A stored message (or HubSpot's own text, or None) as a sentence in the active language;
    parameters that are stored messages are said too; an optional ``prefix`` (no words, e.g.
    ``HTTP 503 ``) comes first. "" for None or an unknown code."""
    if message is None:
        return ""
    if isinstance(message, str):
        return message
    # An HTTP status and HubSpot's category ("HTTP 503 UNAVAILABLE: ") come before the words.
    prefix = str(message.get("prefix") or "")
    if "text" in message:
        return prefix + str(message["text"])
    template = MESSAGES.get(str(message.get("code", "")))
    if template is None:
        return ""
    params = {
        name: message_text(value) if isinstance(value, Mapping) else value
        for name, value in (message.get("params") or {}).items()
    }
    return prefix + str(template) % params


def status_text(code: str, params: Mapping[str, Any]) -> str:
    """``message_text`` of a code and its parameters as a batch stores them ("" without one)."""
    return message_text({"code": code, "params": params}) if code else ""
