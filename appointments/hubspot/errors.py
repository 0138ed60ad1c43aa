"""One small error hierarchy for everything HubSpot answers with other than success.

Shapes follow HubSpot's error handling guide (``Error``: status, message, correlationId,
category, errors[], context; every field optional), its OAuth token errors (status/message
plus error/error_description) and its usage guidelines (429 with policyName):
https://developers.hubspot.com/docs/api-reference/error-handling,
https://developers.hubspot.com/docs/api-reference/latest/authentication/manage-oauth-tokens,
https://developers.hubspot.com/docs/api/usage-details.
"""

from __future__ import annotations

from typing import Any, Self

import requests

from appointments.status_messages import message_text


class HubSpotError(Exception):
    """HubSpot refused or failed a call.

    ``status`` is the HTTP status (None when no response arrived); ``category`` HubSpot's
    ``category`` or OAuth ``status`` (e.g. ``VALIDATION_ERROR``, ``BAD_REFRESH_TOKEN``);
    ``message`` HubSpot's own message, fit to show; ``retryable`` whether sending the same
    request again later may succeed. When the app wrote the message (no answer, no message in
    it), ``code`` and ``params`` say it again in any language (``status_messages``).
    """

    retryable = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        category: str = "",
        correlation_id: str = "",
        body: dict[str, Any] | None = None,
        code: str = "",
        params: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.params = params or {}
        self.status = status
        self.category = category
        self.correlation_id = correlation_id
        self.body = body or {}

    def __str__(self) -> str:
        """HubSpot's message as a clause to put in a sentence: no HTTP status or category (they
        are in ``details``) and no closing full stop, so "…: %(reason)s." never ends in "..".
        """
        return self.message.strip().rstrip(". ") or self.details

    @property
    def details(self) -> str:
        """The codes behind the message, for logs and a "details" line: ``HTTP 500 ·
        INTERNAL_ERROR · correlation id …`` (the parts HubSpot gave)."""
        parts = [
            f"HTTP {self.status}" if self.status else "",
            self.category,
            f"correlation id {self.correlation_id}" if self.correlation_id else "",
        ]
        return " · ".join(part for part in parts if part)

    @classmethod
    def coded(cls, code: str, params: dict[str, Any], **kw: Any) -> Self:
        """An error whose message the app writes: ``code`` of ``status_messages.MESSAGES``
        with ``params``, said now in the active language and stored as the code."""
        message = message_text({"code": code, "params": params})
        return cls(message, code=code, params=params, **kw)

    def said(self) -> dict[str, Any]:
        """``message`` as a message to store (``status_messages``): the app's words as their
        code, HubSpot's as text."""
        return {"code": self.code, "params": self.params} if self.code else {"text": self.message}

    def stored(self) -> dict[str, Any]:
        """This error as ``str`` says it, as a message to store: a clause to put in a sentence
        (HubSpot's words without their closing full stop; the codes stay in ``details``)."""
        said = self.said()
        if "text" in said:
            return {"text": str(self)}
        return said


def clause(exc: BaseException) -> str:
    """Any error's text as a clause to put in a sentence ("…: %(reason)s."): without its
    closing full stop, and for a HubSpotError without its codes (``HubSpotError.details``)."""
    return str(exc).strip().rstrip(". ")


class HubSpotAuthError(HubSpotError):
    """The connection is not (or no longer) authorised: 401, revoked refresh token, BAD_HUB."""


class HubSpotScopeError(HubSpotError):
    """403 MISSING_SCOPES: the app was installed without a scope this call needs."""


class HubSpotRateLimitError(HubSpotError):
    """429: ``policy_name`` is TEN_SECONDLY_ROLLING, SECONDLY or DAILY; ``retry_after`` seconds."""

    retryable = True

    def __init__(
        self, message: str, *, policy_name: str = "", retry_after: float | None = None, **kw: Any
    ) -> None:
        super().__init__(message, **kw)
        self.policy_name = policy_name
        self.retry_after = retry_after


class HubSpotTransientError(HubSpotError):
    """423 Locked, 502/503/504 and the like: HubSpot asks to wait and try again."""

    retryable = True


class HubSpotNotSent(HubSpotError):
    """No connection to HubSpot was made (refused, DNS failure, connect time-out, a TLS
    handshake that failed): the request was never written, so nothing was created and sending
    it again is safe."""

    retryable = True


# The category of a HubSpotUnknownOutcome whose call ran out of time (no answer within the
# timeout), as opposed to a connection dropped mid-answer.
TIMED_OUT = "TIMED_OUT"


class HubSpotUnknownOutcome(HubSpotError):
    """The request may have reached HubSpot but no answer came (time-out, dropped connection).

    For a create, records may exist: reconcile before sending again.
    """

    retryable = True


def error_from_response(status: int, body: Any, headers: dict[str, str]) -> HubSpotError:
    """Build the fitting HubSpotError from an error response's status, JSON body and headers."""
    data: dict[str, Any] = body if isinstance(body, dict) else {}
    message = str(data.get("message") or data.get("error_description") or "")
    coded: dict[str, Any] = {}
    if not message:  # a gateway's HTML page, an empty body: the app says it
        coded = {"code": "hubspot_http_status", "params": {"status": status}}
        message = message_text(coded)
    if "error" in data and data.get("status") not in (None, "error"):
        # An OAuth error: HubSpot's own code is in "status" (BAD_REFRESH_TOKEN, BAD_AUTH_CODE).
        category = str(data["status"])
    else:
        category = str(data.get("category") or data.get("status") or "")
    if category == "error":
        category = str(data.get("errorType") or "")
    correlation_id = str(data.get("correlationId") or headers.get("x-hubspot-correlation-id") or "")
    common: dict[str, Any] = {
        "status": status,
        "category": category,
        "correlation_id": correlation_id,
        "body": data,
        **coded,
    }
    if status == 429:
        retry_after = headers.get("Retry-After")
        return HubSpotRateLimitError(
            message,
            policy_name=str(data.get("policyName") or ""),
            retry_after=float(retry_after) if retry_after and retry_after.isdigit() else None,
            **common,
        )
    if status == 401 or category in {"BAD_REFRESH_TOKEN", "BAD_HUB", "EXPIRED_AUTHENTICATION"}:
        return HubSpotAuthError(message, **common)
    if status == 403 and category == "MISSING_SCOPES":
        return HubSpotScopeError(message, **common)
    if status in {423, 477, 502, 503, 504, 521, 523, 524}:
        return HubSpotTransientError(message, **common)
    return HubSpotError(message, **common)


def raise_for_response(response: requests.Response, *, below: int = 400) -> None:
    """Raise the fitting HubSpotError when ``response``'s status is ``below`` or above.

    The body is read as JSON when it is; HubSpot's gateway pages (HTML) give an empty body.
    """
    if response.status_code < below:
        return
    try:
        body = response.json()
    except ValueError:
        body = {}
    raise error_from_response(response.status_code, body, dict(response.headers))
