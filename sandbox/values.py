"""Check one property value the way HubSpot does, and normalise what it stores.

Rules from https://developers.hubspot.com/docs/api/faq (timestamps; checkbox values) and SANDBOX.md:
every value is a string; datetime is ISO-8601 or epoch ms; date is
YYYY-MM-DD or epoch ms at midnight UTC (else ``INVALID_DATE``); enumerations take option values,
multi-select ``;``-separated; bool "true"/"false"; number digits with at most one decimal point
(else ``INVALID_INTEGER``); strings up to 65,536 characters; "" clears the value.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

from sandbox.clock import iso

MAX_STRING_LENGTH = 65_536
_NUMBER = re.compile(r"-?(\d+\.?\d*|\.\d+)")
_EPOCH_MS = re.compile(r"-?\d+")

PropertyError = dict[str, Any]


def problem(name: str, code: str, message: str) -> PropertyError:
    """One entry of HubSpot's "Property values were not valid" list (SANDBOX.md, batch create)."""
    return {"isValid": False, "message": message, "error": code, "name": name}


def check_value(definition: dict[str, Any], value: object) -> tuple[str, PropertyError | None]:
    """Validate ``value`` against a HubSpot ``Property`` definition.

    Returns ``(stored_value, None)`` or ``("", error)``. Datetimes are stored as ISO-8601 UTC
    with milliseconds, dates as YYYY-MM-DD (HubSpot answers in ISO-8601: https://developers.hubspot.com/docs/api/faq).
    """
    name = definition["name"]
    if not isinstance(value, str):
        return "", problem(name, "INVALID_TYPE", f"{value!r} for {name} is not a string.")
    meta = definition.get("modificationMetadata") or {}
    if meta.get("readOnlyValue") or definition.get("calculated"):
        message = f'"{name}" is a read only property; its value cannot be set.'
        return "", problem(name, "READ_ONLY_VALUE", message)
    if value == "":
        return "", None
    kind = definition["type"]
    if kind == "datetime":
        return _check_datetime(name, value)
    if kind == "date":
        return _check_date(name, value)
    if kind == "number":
        if not _NUMBER.fullmatch(value):
            return "", problem(name, "INVALID_INTEGER", f"{value} was not a valid number.")
        return value, None
    if kind in {"enumeration", "bool"}:
        return _check_option(definition, value)
    if len(value) > MAX_STRING_LENGTH:
        message = (
            f"Value for {name} is {len(value)} characters long; the maximum is {MAX_STRING_LENGTH}."
        )
        return "", problem(name, "INVALID_STRING_LENGTH", message)
    return value, None


def _check_datetime(name: str, value: str) -> tuple[str, PropertyError | None]:
    if _EPOCH_MS.fullmatch(value):
        try:
            moment = datetime.fromtimestamp(int(value) / 1000, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return "", problem(name, "INVALID_DATE", f"{value} is not a valid datetime.")
        return iso(moment), None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        message = (
            f"{value} is not a valid datetime: use ISO-8601 (2026-12-03T14:00:00Z) or Unix "
            "epoch milliseconds."
        )
        return "", problem(name, "INVALID_DATE", message)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return iso(moment), None


def _check_date(name: str, value: str) -> tuple[str, PropertyError | None]:
    if _EPOCH_MS.fullmatch(value):
        try:
            moment = datetime.fromtimestamp(int(value) / 1000, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return "", problem(name, "INVALID_DATE", f"{value} is not a valid date.")
        if moment.time() != datetime.min.time():
            clock = moment.strftime("%H:%M:%S.") + f"{moment.microsecond // 1000:03d}"
            return "", problem(name, "INVALID_DATE", f"{value} is at {clock} UTC, not midnight!")
        return moment.date().isoformat(), None
    try:
        return date.fromisoformat(value).isoformat(), None
    except ValueError:
        message = (
            f"{value} is not a valid date: use YYYY-MM-DD or epoch milliseconds at midnight UTC."
        )
        return "", problem(name, "INVALID_DATE", message)


def _check_option(definition: dict[str, Any], value: str) -> tuple[str, PropertyError | None]:
    name = definition["name"]
    allowed = [option["value"] for option in definition.get("options", [])]
    if definition["type"] == "bool" and not allowed:
        allowed = ["true", "false"]
    multi = definition.get("fieldType") == "checkbox" and definition["type"] == "enumeration"
    # A leading ";" on a multi-select means "append to the existing values" (SANDBOX.md, batch
    # create).
    chosen = value.removeprefix(";").split(";") if multi else [value]
    for item in chosen:
        if item not in allowed:
            message = f"{item} was not one of the allowed options: [{', '.join(allowed)}]"
            return "", problem(name, "INVALID_OPTION", message)
    return value, None
