"""CRM search over sandbox appointments (crm-objects-2026-03.json, ``PublicObjectSearchRequest``).

Supports the filter operators a client needs to check its results afterwards (EQ, NEQ, IN,
NOT_IN, HAS_PROPERTY, NOT_HAS_PROPERTY, GT/GTE/LT/LTE on strings, numbers or dates and
datetimes given as epoch milliseconds or ISO-8601), filter groups
ORed together (at most 6), ``limit`` (at most 200) and ``after`` paging. Matching happens in
Python over the portal's appointments: the sandbox holds thousands, not millions.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sandbox import catalog
from sandbox.batch import record_json
from sandbox.models import CrmRecord, Portal


def _number(value: str) -> float | str:
    try:
        return float(value)
    except ValueError:
        return value


def _instant_ms(value: str) -> int | None:
    """A date or datetime as Unix milliseconds: HubSpot's search takes epoch milliseconds for
    them, and stores ISO-8601 text (a date alone is midnight UTC); None for anything else."""
    if value.isdigit():
        return int(value)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def _matches(props: dict[str, str], flt: dict[str, Any]) -> bool:
    name, op = flt.get("propertyName", ""), flt.get("operator", "EQ")
    have = props.get(name)
    value = flt.get("value")
    values = [str(v) for v in flt.get("values") or []]
    if op == "HAS_PROPERTY":
        return have is not None
    if op == "NOT_HAS_PROPERTY":
        return have is None
    if op == "EQ":
        return have is not None and have.lower() == str(value).lower()
    if op == "NEQ":
        return have is None or have.lower() != str(value).lower()
    if op == "IN":
        return have is not None and have.lower() in {v.lower() for v in values}
    if op == "NOT_IN":
        return have is None or have.lower() not in {v.lower() for v in values}
    if have is None or value is None:
        return False
    left: float | str = _number(have)
    right: float | str = _number(str(value))
    # A stored datetime against epoch milliseconds (or another ISO text): compared as instants.
    since, until = _instant_ms(have), _instant_ms(str(value))
    if isinstance(left, str) and since is not None and until is not None:
        left, right = since, until
    elif type(left) is not type(right):
        left, right = str(left), str(right)
    comparisons = {
        "GT": lambda: left > right,  # type: ignore[operator]
        "GTE": lambda: left >= right,  # type: ignore[operator]
        "LT": lambda: left < right,  # type: ignore[operator]
        "LTE": lambda: left <= right,  # type: ignore[operator]
    }
    return bool(comparisons.get(op, lambda: False)())


def run_search(
    portal: Portal, payload: dict[str, Any], *, now: datetime, lag_seconds: float = 0.0
) -> tuple[int, dict[str, Any]]:
    """Run a search; returns ``(200, CollectionResponseWithTotalSimplePublicObject)`` or
    ``(400, {"message": ...})``.

    ``now`` is the sandbox time; a record created or updated less than ``lag_seconds`` before
    it is not in the index yet, so search does not see it (reads by ID do).
    """
    groups = payload.get("filterGroups") or []
    if len(groups) > 6:
        return 400, {"message": "Too many filter groups: at most 6."}
    limit = payload.get("limit") or 10
    if not isinstance(limit, int) or not 0 < limit <= 200:
        return 400, {"message": "limit must be between 1 and 200."}
    try:
        offset = int(payload.get("after") or 0)
    except ValueError:
        return 400, {"message": "after must be a paging cursor returned by a previous search."}
    names = [n for n in payload.get("properties") or [] if isinstance(n, str)]
    rows = CrmRecord.objects.filter(
        portal=portal,
        object_type=catalog.APPOINTMENTS,
        archived=False,
        updated_at__lte=now - timedelta(seconds=lag_seconds),
    ).order_by("id")
    found = [
        r
        for r in rows
        if not groups
        or any(all(_matches(r.properties, f) for f in g.get("filters") or []) for g in groups)
    ]
    page = found[offset : offset + limit]
    results = []
    for record in page:
        body = record_json(record)
        wanted = dict.fromkeys(["hs_object_id", "hs_createdate", "hs_lastmodifieddate", *names])
        body["properties"] = {n: record.properties[n] for n in wanted if n in record.properties}
        results.append(body)
    response: dict[str, Any] = {"total": len(found), "results": results}
    if offset + limit < len(found):
        response["paging"] = {"next": {"after": str(offset + limit)}}
    return 200, response
