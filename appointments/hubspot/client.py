"""HubSpot CRM calls for appointments: one ``requests.Session``, a timeout on every call.

Reads (properties, labels) are retried by urllib3's ``Retry`` on 429/5xx, honouring
``Retry-After``, for background work. A client made for a page view (``retries=0`` and the
page timeout as ``deadline_seconds``) makes one attempt per call, all of them together bounded
by that timeout, so a hanging HubSpot costs a person seconds, not minutes. Batch create is
never retried here: its outcome after a time-out is unknown and a blind resend could create
records twice (SANDBOX.md, "Unknown outcomes"); the caller decides. Failures without an answer
are told apart: no connection at all (``HubSpotNotSent``: nothing was written) from a request
that may have reached HubSpot (``HubSpotUnknownOutcome``).
"""

from __future__ import annotations

import logging
import ssl
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import requests
from django.conf import settings
from django.db import DatabaseError, transaction
from django.utils.translation import gettext as _
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError, ReadTimeoutError
from urllib3.util.retry import Retry
from urllib3.util.ssl_match_hostname import CertificateError

from appointments.hubspot import pacing
from appointments.hubspot.errors import (
    TIMED_OUT,
    HubSpotError,
    HubSpotNotSent,
    HubSpotUnknownOutcome,
    raise_for_response,
)
from appointments.hubspot.schema import (
    APPOINTMENT_OBJECT_TYPE,
    AssociationLabel,
    PropertyDefinition,
)
from appointments.models import HubSpotCallLog

logger = logging.getLogger(__name__)

# Attempts of an idempotent read after the first, for background work.
READ_RETRIES = 3

# At most 100 inputs per batch call: https://developers.hubspot.com/docs/api-reference/crm-appointments-v3/batch/post-crm-v3-objects-0-421-batch-create
MAX_BATCH_INPUTS = 100
# At most 1,000 ids per batch read of associations: https://developers.hubspot.com/changelog/bug-fix-batch-read-limit-for-hubspot-associations-api
MAX_ASSOCIATION_READ_INPUTS = 1000


def _parse_time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


@dataclass(frozen=True)
class CreatedRecord:
    """One ``SimplePublicObject`` of a batch-create answer."""

    id: str
    properties: dict[str, str]
    object_write_trace_id: str | None


@dataclass(frozen=True)
class SearchPage:
    """One page of a search: its ``records``, the ``after`` cursor of the next page (None on
    the last), and ``total``, every match HubSpot counts (pages stop at 10,000 of them)."""

    records: list[CreatedRecord]
    after: str | None
    total: int


@dataclass(frozen=True)
class Owner:
    """One ``PublicOwner`` of the owners API: ``id`` is what ``hubspot_owner_id`` holds;
    ``archived`` owners are deactivated users."""

    id: str
    email: str
    first_name: str
    last_name: str
    archived: bool

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip() or self.email


@dataclass(frozen=True)
class InputError:
    """One entry of ``errors[]``: which inputs (by ``objectWriteTraceId``) and why."""

    trace_ids: tuple[str, ...]
    category: str
    message: str


@dataclass(frozen=True)
class RateLimit:
    """``X-HubSpot-RateLimit-*`` headers when present (https://developers.hubspot.com/docs/api/usage-details)."""

    max: int | None = None
    remaining: int | None = None
    interval_ms: int | None = None


@dataclass(frozen=True)
class BatchCreateResult:
    """A 201 or 207 answer of batch create (and the 2026-09 form: errors inside a 201).

    ``status`` is the batch status (PENDING, PROCESSING, CANCELED, COMPLETE); times are aware
    datetimes or None.
    """

    http_status: int
    status: str
    results: tuple[CreatedRecord, ...]
    errors: tuple[InputError, ...]
    requested_at: datetime | None
    started_at: datetime | None
    completed_at: datetime | None
    correlation_id: str
    rate_limit: RateLimit = field(default_factory=RateLimit)


@dataclass(frozen=True)
class WrittenRecord:
    """One record of a batch update or upsert answer: ``new`` is upsert's flag (True: created
    by this call, False: updated), None for an update."""

    id: str
    properties: dict[str, str]
    new: bool | None


@dataclass(frozen=True)
class BatchWriteResult:
    """A batch update or upsert answer (200, or 207 for an update naming IDs it did not find).

    ``missing_ids``: the record IDs HubSpot did not find (``errors[].context.ids``);
    ``errors``: every other per-input error, as ``InputError`` (no trace ids on these calls).
    """

    http_status: int
    results: tuple[WrittenRecord, ...]
    missing_ids: tuple[str, ...]
    errors: tuple[InputError, ...]
    correlation_id: str


def _write_result(response: requests.Response, data: dict[str, Any]) -> BatchWriteResult:
    missing: list[str] = []
    errors = []
    for error in data.get("errors") or ():
        ids = (error.get("context") or {}).get("ids")
        if error.get("category") == "OBJECT_NOT_FOUND" and isinstance(ids, list):
            missing.extend(str(i) for i in ids)
        else:
            errors.append(_input_error(error))
    return BatchWriteResult(
        http_status=response.status_code,
        results=tuple(
            WrittenRecord(
                id=str(item["id"]),
                properties={
                    k: str(v) for k, v in (item.get("properties") or {}).items() if v is not None
                },
                new=item.get("new") if isinstance(item.get("new"), bool) else None,
            )
            for item in data.get("results", [])
        ),
        missing_ids=tuple(missing),
        errors=tuple(errors),
        correlation_id=response.headers.get("x-hubspot-correlation-id", ""),
    )


# OpenSSL reasons that only a TLS handshake gives, before any byte of the request is written
# (e.g. WRONG_VERSION_NUMBER: https:// to a port that speaks plain HTTP). Any other TLS error
# may come after the request went out, so it stays an unknown outcome.
_HANDSHAKE_REASONS = frozenset(
    {
        "WRONG_VERSION_NUMBER",
        "UNSUPPORTED_PROTOCOL",
        "NO_PROTOCOLS_AVAILABLE",
        "TLSV1_ALERT_PROTOCOL_VERSION",
        "SSLV3_ALERT_HANDSHAKE_FAILURE",
    }
)


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and what it wraps: requests puts urllib3's error (often a ``MaxRetryError``) in
    ``args[0]``, which names its cause in ``reason``; the rest is ``__cause__``/``__context__``."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        reason = getattr(current, "reason", None)
        if isinstance(reason, BaseException):
            current = reason
        elif current.args and isinstance(current.args[0], BaseException):
            current = current.args[0]
        else:
            current = current.__cause__ or current.__context__


def never_sent(exc: requests.RequestException) -> bool:
    """Whether ``exc`` says no connection was made, so the request was never written.

    True for a connect time-out (``requests.ConnectTimeout``, urllib3's ``ConnectTimeoutError``),
    a refused connection or a DNS failure (urllib3's ``NewConnectionError``, of which
    ``NameResolutionError`` is one; both subclass ``ConnectTimeoutError``), a certificate or
    host name that failed verification, and the handshake-only TLS errors above. False for a
    read time-out or a connection dropped once established, whose request may have arrived.
    """
    if isinstance(exc, requests.ConnectTimeout):
        return True
    for cause in _causes(exc):
        if isinstance(cause, ConnectTimeoutError | ssl.SSLCertVerificationError | CertificateError):
            return True
        if isinstance(cause, ssl.SSLError) and cause.reason in _HANDSHAKE_REASONS:
            return True
    return False


def timed_out(exc: requests.RequestException) -> bool:
    """Whether ``exc`` is a read time-out, however requests wraps it (a ``ReadTimeout``, or a
    ``ConnectionError`` around urllib3's ``ReadTimeoutError`` once its retries are spent)."""
    if isinstance(exc, requests.Timeout):
        return True
    return any(isinstance(cause, ReadTimeoutError | TimeoutError) for cause in _causes(exc))


def _root_cause(exc: BaseException) -> str:
    """The innermost error's message, e.g. ``[Errno 111] Connection refused``."""
    *_, root = _causes(exc)
    return str(root)


def _int_header(headers: Any, name: str) -> int | None:
    value = headers.get(name)
    return int(value) if value is not None and str(value).isdigit() else None


def _input_error(error: dict[str, Any]) -> InputError:
    """One ``StandardError``; context other than the trace id (e.g. ``INVALID_OBJECT_IDS``) is
    appended to the message, since HubSpot's message alone may not name the bad value."""
    context = dict(error.get("context") or {})
    trace_ids = tuple(context.pop("objectWriteTraceId", None) or ())
    message = str(error.get("message") or "")
    details = "; ".join(
        f"{key}: {', '.join(map(str, values))}"
        for key, values in context.items()
        if isinstance(values, list) and values
    )
    return InputError(
        trace_ids=trace_ids,
        category=str(error.get("category") or ""),
        message=f"{message} ({details})" if details else message,
    )


class HubSpotClient:
    """CRM calls on one portal with one access token.

    ``base_url`` defaults to ``settings.HUBSPOT_API_BASE_URL``. ``retries``: attempts of an
    idempotent read after the first. ``deadline_seconds``: when set, every call of this
    client must end within that many seconds of its creation (each call's timeout is what is
    left, at most ``HUBSPOT_TIMEOUT_SECONDS``). Every method raises a ``HubSpotError``
    subclass on failure (see ``errors.py``); a call past the deadline raises
    ``HubSpotUnknownOutcome``.

    With a ``hub_id``, every call is paced by the portal's shared budget and recorded in
    ``HubSpotCallLog`` (for the admins' activity page), as made for ``user_id`` (the person
    the page or the task acts for), without bodies or tokens.
    """

    def __init__(
        self,
        access_token: str,
        *,
        hub_id: int | None = None,
        base_url: str | None = None,
        retries: int = READ_RETRIES,
        deadline_seconds: float | None = None,
        user_id: int | None = None,
    ) -> None:
        self.hub_id = hub_id  # when set, calls are paced by the shared per-portal budget
        self.user_id = user_id
        self.base_url = (base_url or settings.HUBSPOT_API_BASE_URL).rstrip("/")
        self.timeout = settings.HUBSPOT_TIMEOUT_SECONDS
        self.deadline = None if deadline_seconds is None else time.monotonic() + deadline_seconds
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {access_token}"
        self.session.headers["Accept"] = "application/json"
        # Retry only idempotent reads; urllib3's default allowed_methods excludes POST.
        retry = Retry(
            total=retries,
            backoff_factor=0.5,
            status_forcelist=(429, 502, 503, 504),
            respect_retry_after_header=True,
            raise_on_status=False,
        )
        self.session.mount("http://", HTTPAdapter(max_retries=retry))
        self.session.mount("https://", HTTPAdapter(max_retries=retry))

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> HubSpotClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _log(
        self,
        method: str,
        path: str,
        started: float | None,
        status: int | None,
        correlation_id: str = "",
        category: str = "",
    ) -> None:
        """Record one call of a portal's client (the one place calls are recorded); a
        database that cannot take it loses the record, never the call."""
        if self.hub_id is None:
            return
        duration = None if started is None else round((time.monotonic() - started) * 1000)
        try:
            # A savepoint: a failed insert must not break a transaction the caller holds.
            with transaction.atomic():
                HubSpotCallLog.objects.create(
                    hub_id=self.hub_id,
                    method=method,
                    path=path[:255],
                    status=status,
                    duration_ms=duration,
                    correlation_id=correlation_id[:64],
                    error_category=category[:64],
                    user_id=self.user_id,
                )
        except DatabaseError as exc:
            logger.warning("Could not record the HubSpot call %s %s: %s", method, path, exc)

    def _request(
        self, method: str, path: str, *, paced: bool = True, **kwargs: Any
    ) -> requests.Response:
        if paced and self.hub_id is not None:
            pacing.acquire(self.hub_id)
        timeout = self.timeout
        if self.deadline is not None:
            timeout = min(timeout, self.deadline - time.monotonic())
            if timeout <= 0:
                raise HubSpotUnknownOutcome.coded(
                    "hubspot_no_answer_in_time", {}, category=TIMED_OUT
                )
        started = time.monotonic()
        try:
            response = self._send(method, path, timeout, **kwargs)
        except HubSpotError as exc:
            self._log(method, path, started, exc.status, exc.correlation_id, exc.category)
            raise
        self._log(
            method,
            path,
            started,
            response.status_code,
            response.headers.get("x-hubspot-correlation-id", ""),
        )
        if paced:
            headers = response.headers
            pacing.slow_down(
                _int_header(headers, "X-HubSpot-RateLimit-Remaining"),
                _int_header(headers, "X-HubSpot-RateLimit-Interval-Milliseconds"),
                _int_header(headers, "X-HubSpot-RateLimit-Max"),
            )
        return response

    def _send(self, method: str, path: str, timeout: float, **kwargs: Any) -> requests.Response:
        """One request (with urllib3's retries of reads); the answers urllib3 retried (429s,
        5xx) are recorded first, each a call of its own. Raises HubSpotError."""
        try:
            response = self.session.request(
                method, f"{self.base_url}{path}", timeout=timeout, **kwargs
            )
        except requests.RequestException as exc:
            if never_sent(exc):
                raise HubSpotNotSent.coded(
                    "hubspot_not_connected",
                    {
                        "url": self.base_url,
                        "error": type(exc).__name__,
                        "cause": _root_cause(exc),
                    },
                    category="NOT_CONNECTED",
                ) from None
            if not isinstance(exc, requests.Timeout | requests.ConnectionError):
                raise HubSpotError.coded("hubspot_call_failed", {"error": str(exc)}) from None
            if timed_out(exc):
                raise HubSpotUnknownOutcome.coded(
                    "hubspot_timed_out", {"seconds": f"{timeout:.0f}"}, category=TIMED_OUT
                ) from None
            raise HubSpotUnknownOutcome.coded(
                "hubspot_no_answer", {"error": type(exc).__name__}, category="NO_RESPONSE"
            ) from None
        retried = getattr(getattr(response.raw, "retries", None), "history", ())
        for attempt in retried:
            if attempt.status:
                self._log(method, path, None, attempt.status)
        raise_for_response(response)
        return response

    def _json(self, response: requests.Response) -> dict[str, Any]:
        try:
            data = response.json()
        except ValueError:
            raise HubSpotError(
                _("HubSpot's answer was not JSON."), status=response.status_code
            ) from None
        if not isinstance(data, dict):
            raise HubSpotError(_("HubSpot's answer was not a JSON object."))
        return data

    # GET /crm/properties/2026-03/{objectType}: https://developers.hubspot.com/docs/api/crm/properties
    def get_appointment_properties(self) -> list[PropertyDefinition]:
        """All non-archived appointment properties of the portal."""
        data = self._json(
            self._request("GET", f"/crm/properties/2026-03/{APPOINTMENT_OBJECT_TYPE}")
        )
        return [PropertyDefinition.from_api(item) for item in data.get("results", [])]

    # GET /crm/properties/2026-03/{objectType}: https://developers.hubspot.com/docs/api-reference/2026-03/crm/properties/get-properties
    # ("hasUniqueValue": records can be read by it, idProperty)
    def get_unique_properties(self, object_type: str) -> list[PropertyDefinition]:
        """The unique-value properties (``hasUniqueValue``) of ``object_type`` (``0-1``
        contacts, ``0-2`` companies, ``0-3`` deals): the properties its records can be read
        by. Raises HubSpotScopeError without that object's read scope, HubSpotError."""
        data = self._json(self._request("GET", f"/crm/properties/2026-03/{object_type}"))
        found = [PropertyDefinition.from_api(item) for item in data.get("results", [])]
        return [prop for prop in found if prop.has_unique_value and not prop.hidden]

    # POST /crm/properties/2026-03/{objectType}: https://developers.hubspot.com/docs/api/crm/properties
    # ("Create a property", "Create unique identifier properties")
    def create_appointment_property(self, definition: dict[str, Any]) -> PropertyDefinition:
        """Create an appointment property from a ``PropertyCreate`` dict (``name``, ``label``,
        ``type``, ``fieldType``, ``groupName``, optionally ``hasUniqueValue``).

        Needs ``crm.schemas.appointments.write`` (else HubSpotScopeError); a name already taken
        answers 409 (HubSpotError with that status).
        """
        data = self._json(
            self._request(
                "POST", f"/crm/properties/2026-03/{APPOINTMENT_OBJECT_TYPE}", json=definition
            )
        )
        return PropertyDefinition.from_api(data)

    # GET /crm/associations/2026-03/{fromObjectType}/{toObjectType}/labels: https://developers.hubspot.com/docs/api-reference/latest/crm/associations/associations-schema/guide
    def get_association_labels(self, to_object_type: str) -> list[AssociationLabel]:
        """Association types from appointments to ``to_object_type``."""
        data = self._json(
            self._request(
                "GET",
                f"/crm/associations/2026-03/{APPOINTMENT_OBJECT_TYPE}/{to_object_type}/labels",
            )
        )
        return [AssociationLabel.from_api(to_object_type, item) for item in data["results"]]

    # POST /crm/objects/2026-03/{objectType}/batch/create: https://developers.hubspot.com/docs/api-reference/2026-03/crm/objects/appointments/guide
    # and, for 207 multi-status answers, https://developers.hubspot.com/docs/api-reference/error-handling
    def batch_create(self, inputs: list[dict[str, Any]]) -> BatchCreateResult:
        """Create up to 100 appointments in one call.

        ``inputs`` are ``SimplePublicObjectBatchInputForCreate`` dicts, each with a unique
        ``objectWriteTraceId`` so failures come back per input (207). Whole-call failures raise
        HubSpotError; no answer raises HubSpotUnknownOutcome (records may exist).
        """
        if not 0 < len(inputs) <= MAX_BATCH_INPUTS:
            raise ValueError(f"batch_create takes 1 to {MAX_BATCH_INPUTS} inputs")
        response = self._request(
            "POST",
            f"/crm/objects/2026-03/{APPOINTMENT_OBJECT_TYPE}/batch/create",
            json={"inputs": inputs},
        )
        data = self._json(response)
        results = tuple(
            CreatedRecord(
                id=str(item["id"]),
                properties={k: str(v) for k, v in (item.get("properties") or {}).items()},
                object_write_trace_id=item.get("objectWriteTraceId"),
            )
            for item in data.get("results", [])
        )
        errors = tuple(_input_error(error) for error in data.get("errors") or ())
        return BatchCreateResult(
            http_status=response.status_code,
            status=str(data.get("status") or ""),
            results=results,
            errors=errors,
            requested_at=_parse_time(data.get("requestedAt")),
            started_at=_parse_time(data.get("startedAt")),
            completed_at=_parse_time(data.get("completedAt")),
            correlation_id=response.headers.get("x-hubspot-correlation-id", ""),
            rate_limit=RateLimit(
                max=_int_header(response.headers, "X-HubSpot-RateLimit-Max"),
                remaining=_int_header(response.headers, "X-HubSpot-RateLimit-Remaining"),
                interval_ms=_int_header(
                    response.headers, "X-HubSpot-RateLimit-Interval-Milliseconds"
                ),
            ),
        )

    # POST /crm/objects/2026-03/{objectType}/search: https://developers.hubspot.com/docs/api-reference/2026-03/crm/search-the-crm
    def search_appointments(
        self,
        *,
        filter_groups: list[dict[str, Any]],
        properties: list[str],
        after: str | None = None,
        limit: int = 200,
    ) -> tuple[list[CreatedRecord], str | None]:
        """One page of appointments matching ``filter_groups`` (HubSpot's search syntax).

        Returns the records (with the requested ``properties``) and the ``after`` cursor of the
        next page, or None. Search has its own per-second limit (429 ``SECONDLY``) and is
        exempt from the 10-second budget, so it is not paced here
        (https://developers.hubspot.com/docs/api/usage-details).
        """
        # PublicObjectSearchRequest requires after, limit and sorts (a list of property names).
        body: dict[str, Any] = {
            "filterGroups": filter_groups,
            "properties": properties,
            "limit": limit,
            "sorts": ["hs_createdate"],
            "after": after or "0",
        }
        data = self._json(
            self._request(
                "POST",
                f"/crm/objects/2026-03/{APPOINTMENT_OBJECT_TYPE}/search",
                paced=False,
                json=body,
            )
        )
        records = [
            CreatedRecord(
                id=str(item["id"]),
                properties={
                    k: str(v) for k, v in (item.get("properties") or {}).items() if v is not None
                },
                object_write_trace_id=None,
            )
            for item in data.get("results", [])
        ]
        next_after = ((data.get("paging") or {}).get("next") or {}).get("after")
        return records, str(next_after) if next_after else None

    # HubSpot's "Account information API", Retrieve account details (legacy v3):
    # GET /account-info/v3/details, answering ``portalId``,
    # ``uiDomain``, ``timeZone``... Works with OAuth and private-app (static) tokens.
    def get_account_details(self) -> tuple[int, str]:
        """``(hub_id, ui_domain)`` of the portal the access token belongs to.

        Raises HubSpotError (HubSpotAuthError for a refused token) or, when the answer has no
        integer ``portalId``, HubSpotError saying so.
        """
        data = self._json(self._request("GET", "/account-info/v3/details"))
        portal_id = data.get("portalId")
        if isinstance(portal_id, bool) or not isinstance(portal_id, int):
            raise HubSpotError(_("HubSpot's account details did not include the portal ID."))
        return portal_id, str(data.get("uiDomain") or "")

    # HubSpot's "Account information API", Get account details (2027-03-beta), whose answer
    # adds ``portalName`` to the settings above:
    # https://developers.hubspot.com/docs/api-reference/2027-03-beta/account/account-information/guide
    def get_account_name(self) -> str:
        """The account's name (``portalName``), "" when the answer has none.

        Raises HubSpotError (HubSpotAuthError for a refused token)."""
        data = self._json(self._request("GET", "/account-info/2027-03-beta/details"))
        name = data.get("portalName")
        return name.strip()[:255] if isinstance(name, str) else ""

    # GET /crm/object-library/2026-03/enablement/{objectTypeId}: https://developers.hubspot.com/docs/api-reference/latest/crm/crm-data-model/guide
    def appointments_enabled(self) -> bool:
        """Whether the appointments object (0-421) is activated in the portal: HubSpot's
        object library enablement, ``{"enablement": bool}``. Only a person in HubSpot can
        activate it. Raises HubSpotError."""
        data = self._json(
            self._request(
                "GET", f"/crm/object-library/2026-03/enablement/{APPOINTMENT_OBJECT_TYPE}"
            )
        )
        return data.get("enablement") is True

    # POST /crm/objects/2026-03/{objectType}/batch/read: https://developers.hubspot.com/docs/api-reference/2026-03/crm/objects/appointments/guide
    def existing_ids(self, object_type: str, ids: list[str]) -> set[str]:
        """Which of ``ids`` (at most 100) are records of ``object_type`` in the portal.

        HubSpot answers 200, or 207 with the missing ids in ``errors[].context.ids``; the
        records found are in ``results`` either way.
        """
        if not 0 < len(ids) <= MAX_BATCH_INPUTS:
            raise ValueError(f"existing_ids takes 1 to {MAX_BATCH_INPUTS} ids")
        data = self._json(
            self._request(
                "POST",
                f"/crm/objects/2026-03/{object_type}/batch/read",
                json={
                    "inputs": [{"id": record_id} for record_id in ids],
                    "properties": [],
                    "propertiesWithHistory": [],
                },
            )
        )
        return {str(item["id"]) for item in data.get("results", [])}

    # POST /crm/objects/2026-03/{objectType}/batch/read: https://developers.hubspot.com/docs/api-reference/2026-03/crm/objects/appointments/guide
    def read_appointments(self, ids: list[str], properties: list[str]) -> dict[str, dict[str, str]]:
        """``{record id: {property: value}}`` of those of ``ids`` (at most 100) that are
        appointments of the portal (not archived), with the ``properties`` asked for (a
        property without a value is left out). Raises HubSpotError."""
        if not 0 < len(ids) <= MAX_BATCH_INPUTS:
            raise ValueError(f"read_appointments takes 1 to {MAX_BATCH_INPUTS} ids")
        data = self._json(
            self._request(
                "POST",
                f"/crm/objects/2026-03/{APPOINTMENT_OBJECT_TYPE}/batch/read",
                json={
                    "inputs": [{"id": record_id} for record_id in ids],
                    "properties": properties,
                    "propertiesWithHistory": [],
                },
            )
        )
        return {
            str(item["id"]): {
                k: str(v) for k, v in (item.get("properties") or {}).items() if v is not None
            }
            for item in data.get("results", [])
        }

    # POST /crm/objects/2026-03/{objectType}/batch/archive: https://developers.hubspot.com/docs/api-reference/2026-03/crm/objects/custom-objects/batch/delete-custom-objects
    def archive_appointments(self, ids: list[str]) -> str:
        """Archive (move to the recycling bin) the appointments ``ids`` (at most 100). HubSpot
        answers 204, also for IDs already archived: sending it again is harmless. Returns the
        call's correlation ID (may be ""). Raises HubSpotError."""
        if not 0 < len(ids) <= MAX_BATCH_INPUTS:
            raise ValueError(f"archive_appointments takes 1 to {MAX_BATCH_INPUTS} ids")
        response = self._request(
            "POST",
            f"/crm/objects/2026-03/{APPOINTMENT_OBJECT_TYPE}/batch/archive",
            json={"inputs": [{"id": record_id} for record_id in ids]},
        )
        return response.headers.get("x-hubspot-correlation-id", "")

    # POST /crm/objects/2026-03/{objectType}/batch/update: https://developers.hubspot.com/docs/api-reference/2026-03/crm/objects/appointments/guide
    # ("Update appointments": inputs of ``id`` and ``properties``; "" clears a value)
    def batch_update(self, inputs: list[dict[str, Any]]) -> BatchWriteResult:
        """Update up to 100 appointments: ``inputs`` are ``{"id": record id, "properties":
        {name: value}}``. Sending the same inputs again writes the same values (idempotent), so
        an update whose answer was lost is simply sent again. IDs HubSpot did not find come
        back in ``missing_ids`` (207). Whole-call failures raise HubSpotError; no answer raises
        HubSpotUnknownOutcome."""
        if not 0 < len(inputs) <= MAX_BATCH_INPUTS:
            raise ValueError(f"batch_update takes 1 to {MAX_BATCH_INPUTS} inputs")
        response = self._request(
            "POST",
            f"/crm/objects/2026-03/{APPOINTMENT_OBJECT_TYPE}/batch/update",
            json={"inputs": inputs},
        )
        return _write_result(response, self._json(response))

    # POST /crm/objects/2026-03/{objectType}/batch/upsert: https://developers.hubspot.com/docs/api-reference/2026-03/crm/objects/custom-objects/batch/upsert-custom-objects
    # ("Create or update a batch of objects by unique property values": ``idProperty``, ``id``)
    def batch_upsert(self, inputs: list[dict[str, Any]]) -> BatchWriteResult:
        """Create or update up to 100 appointments by a unique-value property: ``inputs`` are
        ``{"idProperty": name, "id": value, "properties": {...}}``. Each result says ``new``
        (True: created by this call). A resend cannot create twice (the value is unique) but
        answers ``new: False`` for what the lost attempt created. Raises like
        ``batch_update``."""
        if not 0 < len(inputs) <= MAX_BATCH_INPUTS:
            raise ValueError(f"batch_upsert takes 1 to {MAX_BATCH_INPUTS} inputs")
        response = self._request(
            "POST",
            f"/crm/objects/2026-03/{APPOINTMENT_OBJECT_TYPE}/batch/upsert",
            json={"inputs": inputs},
        )
        return _write_result(response, self._json(response))

    # POST /crm/associations/2026-03/{fromObjectType}/{toObjectType}/batch/create: https://developers.hubspot.com/docs/api-reference/2026-03/crm/associations/associate-records/batch/create-associations-labeled
    def associate(self, to_object_type: str, pairs: list[tuple[str, str, str, int]]) -> None:
        """Associate appointments with records of ``to_object_type``: ``pairs`` are
        ``(appointment id, record id, associationCategory, associationTypeId)``, at most 100.
        Associating twice is harmless (the association exists, once). Raises HubSpotError;
        a 207 naming refused pairs raises HubSpotError with HubSpot's message."""
        if not 0 < len(pairs) <= MAX_BATCH_INPUTS:
            raise ValueError(f"associate takes 1 to {MAX_BATCH_INPUTS} pairs")
        response = self._request(
            "POST",
            f"/crm/associations/2026-03/{APPOINTMENT_OBJECT_TYPE}/{to_object_type}/batch/create",
            json={
                "inputs": [
                    {
                        "from": {"id": source},
                        "to": {"id": target},
                        "types": [{"associationCategory": category, "associationTypeId": type_id}],
                    }
                    for source, target, category, type_id in pairs
                ]
            },
        )
        data = self._json(response)
        if data.get("errors"):
            error = _input_error(data["errors"][0])
            raise HubSpotError(error.message, status=response.status_code, category=error.category)

    # POST /crm/objects/2026-03/{objectType}/batch/read with idProperty: https://developers.hubspot.com/docs/api-reference/2026-03/crm/objects/appointments/guide
    # ("idProperty": a custom unique value property; the ids are its values)
    def appointments_by_unique_value(self, id_property: str, values: list[str]) -> dict[str, str]:
        """``{value: record id}`` for those of ``values`` (at most 100) that appointments hold
        in the unique-value property ``id_property``.

        A read by ID, not a search: HubSpot answers 200, or 207 with the missing values in
        ``errors[].context.ids``. Raises HubSpotError.
        """
        records = self.read_by_property(APPOINTMENT_OBJECT_TYPE, id_property, values, [])
        return {
            str(record.properties[id_property]): record.id
            for record in records
            if record.properties.get(id_property) in values
        }

    # POST /crm/objects/2026-03/{objectType}/batch/read with idProperty: https://developers.hubspot.com/docs/api-reference/2026-03/crm/objects/contacts/guide
    # (email is the contacts' unique identifier; missing ones come back in a 207's errors)
    def read_by_property(
        self, object_type: str, id_property: str, values: list[str], properties: list[str]
    ) -> list[CreatedRecord]:
        """The records of ``object_type`` whose unique property ``id_property`` (``email`` for
        contacts, or a unique-value property) holds one of ``values`` (at most 100), with
        ``properties``. Paced by the portal's 10-second budget, like every batch call. Raises
        HubSpotError."""
        if not 0 < len(values) <= MAX_BATCH_INPUTS:
            raise ValueError(f"read_by_property takes 1 to {MAX_BATCH_INPUTS} values")
        data = self._json(
            self._request(
                "POST",
                f"/crm/objects/2026-03/{object_type}/batch/read",
                json={
                    "idProperty": id_property,
                    "inputs": [{"id": value} for value in values],
                    "properties": list(dict.fromkeys([id_property, *properties])),
                    "propertiesWithHistory": [],
                },
            )
        )
        return [_record(item) for item in data.get("results", [])]

    # POST /crm/objects/2026-03/{objectType}/search: https://developers.hubspot.com/docs/api-reference/2026-03/crm/search-the-crm
    # (IN takes up to 100 values, lowercase for string properties)
    def search_in(
        self,
        object_type: str,
        property_name: str,
        values: list[str],
        properties: list[str],
        after: str | None = None,
    ) -> tuple[list[CreatedRecord], str | None]:
        """One page (200) of ``object_type`` records whose ``property_name`` is one of
        ``values`` (1 to 100, lowercase), with ``properties``; and the next page's ``after``
        cursor or None. Not paced here: search has its own per-second limit, which the caller
        keeps (``services.resolving``). Raises HubSpotError."""
        if not 0 < len(values) <= MAX_BATCH_INPUTS:
            raise ValueError(f"search_in takes 1 to {MAX_BATCH_INPUTS} values")
        page = self.search_page(
            object_type,
            [{"filters": [{"propertyName": property_name, "operator": "IN", "values": values}]}],
            list(dict.fromkeys([property_name, *properties])),
            after,
        )
        return page.records, page.after

    # POST /crm/objects/2026-03/{objectType}/search: https://developers.hubspot.com/docs/api-reference/2026-03/crm/search-the-crm
    # ("Limitations": 200 records a page, 10,000 results a query, its own per-second limit)
    def search_page(
        self,
        object_type: str,
        filter_groups: list[dict[str, Any]],
        properties: list[str],
        after: str | None = None,
    ) -> SearchPage:
        """One page (200) of ``object_type`` records matching ``filter_groups`` (HubSpot's
        search syntax), with ``properties``, in record ID order, and HubSpot's ``total``. Not
        paced here: search has its own per-second limit, which the caller keeps. Raises
        HubSpotError (HubSpotRateLimitError on 429)."""
        body: dict[str, Any] = {
            "filterGroups": filter_groups,
            "properties": properties,
            "limit": 200,
            "sorts": ["hs_object_id"],
            "after": after or "0",
        }
        data = self._json(
            self._request(
                "POST", f"/crm/objects/2026-03/{object_type}/search", paced=False, json=body
            )
        )
        next_after = ((data.get("paging") or {}).get("next") or {}).get("after")
        total = data.get("total")
        return SearchPage(
            records=[_record(item) for item in data.get("results", [])],
            after=str(next_after) if next_after else None,
            total=total if isinstance(total, int) and not isinstance(total, bool) else 0,
        )

    # POST /crm/associations/2026-03/{fromObjectType}/{toObjectType}/batch/read:
    # https://developers.hubspot.com/docs/api-reference/2026-03/crm/associations/associate-records/batch/get-associations
    def read_associations(
        self, from_type: str, to_type: str, ids: list[str]
    ) -> dict[str, set[str]]:
        """``{record id: {associated record id}}`` of ``ids`` (1 to 1,000 records of
        ``from_type``) to records of ``to_type``, every association type together. A record
        with more associations than one answer lists is asked again with its ``after`` cursor.
        Records with none (HubSpot lists them in a 207's errors) are left out. Paced by the
        portal's 10-second budget. Raises HubSpotError."""
        if not 0 < len(ids) <= MAX_ASSOCIATION_READ_INPUTS:
            raise ValueError(f"read_associations takes 1 to {MAX_ASSOCIATION_READ_INPUTS} ids")
        found: dict[str, set[str]] = {}
        inputs: list[dict[str, str]] = [{"id": record_id} for record_id in ids]
        while inputs:
            data = self._json(
                self._request(
                    "POST",
                    f"/crm/associations/2026-03/{from_type}/{to_type}/batch/read",
                    json={"inputs": inputs},
                )
            )
            inputs = []
            for item in data.get("results", []):
                record_id = str((item.get("from") or {}).get("id"))
                linked = found.setdefault(record_id, set())
                linked.update(str(to["toObjectId"]) for to in item.get("to") or [])
                after = ((item.get("paging") or {}).get("next") or {}).get("after")
                if after:
                    inputs.append({"id": record_id, "after": str(after)})
        return found

    # GET /crm/owners/2026-03: https://developers.hubspot.com/docs/api-reference/latest/crm/owners/guide
    def owners_page(
        self, *, archived: bool, after: str | None = None
    ) -> tuple[list[Owner], str | None]:
        """One page (500) of the portal's owners, active ones or (``archived``) deactivated
        ones, and the next page's ``after`` cursor or None. Needs ``crm.objects.owners.read``.
        Raises HubSpotError."""
        params = {"limit": "500", "archived": "true" if archived else "false"}
        if after:
            params["after"] = after
        data = self._json(self._request("GET", "/crm/owners/2026-03", params=params))
        owners = [
            Owner(
                id=str(item["id"]),
                email=str(item.get("email") or ""),
                first_name=str(item.get("firstName") or ""),
                last_name=str(item.get("lastName") or ""),
                archived=bool(item.get("archived")) or archived,
            )
            for item in data.get("results", [])
        ]
        next_after = ((data.get("paging") or {}).get("next") or {}).get("after")
        return owners, str(next_after) if next_after else None

    # POST /crm/objects/2026-03/contacts/batch/create: https://developers.hubspot.com/docs/api-reference/2026-03/crm/objects/contacts/guide
    # (a taken email: 409 CONFLICT "Contact already exists. Existing ID: N",
    # https://github.com/HubSpot/hubspot-api-python/issues/51)
    def create_contacts(self, properties: list[dict[str, str]]) -> list[CreatedRecord]:
        """Create up to 100 contacts, one per ``properties`` dict (``email``, ``firstname``,
        ``lastname``, ``phone``), in one call paced like every batch call. Not retried: a
        resend is safe anyway, HubSpot refusing a second contact with the same email. Raises
        HubSpotError (status 409 when an email is taken: nothing was created)."""
        if not 0 < len(properties) <= MAX_BATCH_INPUTS:
            raise ValueError(f"create_contacts takes 1 to {MAX_BATCH_INPUTS} inputs")
        data = self._json(
            self._request(
                "POST",
                "/crm/objects/2026-03/0-1/batch/create",
                json={"inputs": [{"properties": props} for props in properties]},
            )
        )
        return [_record(item) for item in data.get("results", [])]


def _record(item: dict[str, Any]) -> CreatedRecord:
    """A ``SimplePublicObject`` of a read or search answer."""
    return CreatedRecord(
        id=str(item["id"]),
        properties={k: str(v) for k, v in (item.get("properties") or {}).items() if v is not None},
        object_write_trace_id=None,
    )
