"""CRM search over sandbox appointments, contacts, companies and deals, as HubSpot describes it.

https://developers.hubspot.com/docs/api-reference/2026-03/crm/search-the-crm: filter groups
ORed together, filters ANDed within a group; every operator of the guide (EQ, NEQ, LT, LTE, GT,
GTE, BETWEEN, IN, NOT_IN, HAS_PROPERTY, NOT_HAS_PROPERTY, CONTAINS_TOKEN, NOT_CONTAINS_TOKEN);
``query`` over the default searchable properties; one sorting rule, as a property name or a
``{propertyName, direction}`` object; ``limit`` (at most 200) and ``after`` paging up to 10,000
results; the index lag (``lag_seconds``). Limits on filter groups and filters follow
https://developers.hubspot.com/changelog/breaking-change-expanded-filtering-capabilities-and-error-messaging-in-hubspots-search-api.
Anything else is refused with a 400, never ignored. Matching happens in Python over the
portal's appointments: the sandbox holds thousands, not millions. SANDBOX.md lists each rule
and the choices made where HubSpot's documentation is silent.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from fnmatch import fnmatchcase
from typing import Any

from django.db.models import Q

from sandbox import catalog
from sandbox.batch import record_json
from sandbox.clock import iso
from sandbox.models import CrmRecord, Portal, PropertyDefinition

MAX_FILTER_GROUPS = 5
MAX_FILTERS_PER_GROUP = 10
MAX_FILTERS = 25
MAX_LIMIT = 200
DEFAULT_LIMIT = 10
# "The search endpoints are limited to 10,000 total results for any given query."
MAX_RESULTS = 10_000
MAX_QUERY_LENGTH = 3000
# Which properties ``query`` searches, per object type: the guide lists them for contacts,
# companies, deals and tickets (appointments: UNCONFIRMED; SANDBOX.md).
SEARCHABLE = {
    catalog.APPOINTMENTS: ("hs_appointment_name",),
    catalog.CONTACTS: ("firstname", "lastname", "email", "phone"),
    catalog.COMPANIES: ("name", "domain", "website", "phone"),
    catalog.DEALS: ("dealname",),
}
OPERATORS = frozenset(
    {
        "EQ",
        "NEQ",
        "LT",
        "LTE",
        "GT",
        "GTE",
        "BETWEEN",
        "IN",
        "NOT_IN",
        "HAS_PROPERTY",
        "NOT_HAS_PROPERTY",
        "CONTAINS_TOKEN",
        "NOT_CONTAINS_TOKEN",
    }
)
DEFAULT_PROPERTIES = ("hs_object_id", "hs_createdate", "hs_lastmodifieddate")


class SearchError(ValueError):
    """A search HubSpot refuses with 400 ``VALIDATION_ERROR``; the message is the answer's."""


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


def _comparable(have: str, value: str) -> tuple[Any, Any]:
    left: Any = _number(have)
    right: Any = _number(value)
    # A stored datetime against epoch milliseconds (or another ISO text): compared as instants.
    since, until = _instant_ms(have), _instant_ms(value)
    if isinstance(left, str) and since is not None and until is not None:
        return since, until
    if type(left) is not type(right):
        return str(left), str(right)
    return left, right


def _tokens(text: str) -> list[str]:
    return [t for t in re.split(r"\s+", text.lower()) if t]


def _contains_token(have: str, pattern: str) -> bool:
    # "Contains a token"; "*" is a wildcard, e.g. "*@hubspot.com" (the guide's example).
    wanted = pattern.lower()
    return any(fnmatchcase(token, wanted) for token in [have.lower(), *_tokens(have)])


def _matches(props: dict[str, str], flt: dict[str, Any], kind: str, lowercase_in: bool) -> bool:
    name, op = flt["propertyName"], flt["operator"]
    have = props.get(name)
    if op == "HAS_PROPERTY":
        return have is not None
    if op == "NOT_HAS_PROPERTY":
        return have is None
    if op in ("IN", "NOT_IN"):
        values = [str(v) for v in flt.get("values") or []]
        if kind in ("date", "datetime"):
            # Dates and datetimes compare as instants, as for EQ: the values in epoch
            # milliseconds or ISO-8601 (UNCONFIRMED for IN; SANDBOX.md). ``_prepared`` parsed
            # them once for the whole search.
            instants = flt.get(_INSTANTS)
            if instants is None:
                instants = {_instant_ms(v) for v in values} - {None}
            inside = have is not None and _instant_ms(have) in instants
        elif kind == "string" and lowercase_in:
            # "When searching a string property with this operator, values must be lowercase":
            # the index holds lowercase text, so a value with capitals matches nothing.
            inside = have is not None and have.lower() in values
        else:
            inside = have is not None and have.lower() in {v.lower() for v in values}
        return inside if op == "IN" else not inside
    value = str(flt.get("value", ""))
    if op in ("EQ", "NEQ"):
        # Case-insensitive (UNCONFIRMED; SANDBOX.md).
        same = have is not None and _equal(have, value)
        return same if op == "EQ" else not same
    if op in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
        contains = have is not None and _contains_token(have, value)
        return contains if op == "CONTAINS_TOKEN" else not contains
    if have is None:
        return False
    if op == "BETWEEN":
        # Inclusive at both ends (UNCONFIRMED; SANDBOX.md).
        stored, low = _comparable(have, value)
        stored_again, high = _comparable(have, str(flt["highValue"]))
        return bool(low <= stored and stored_again <= high)
    left, right = _comparable(have, value)
    return bool(
        {
            "GT": lambda: left > right,
            "GTE": lambda: left >= right,
            "LT": lambda: left < right,
            "LTE": lambda: left <= right,
        }[op]()
    )


# Where ``_prepared`` keeps an IN/NOT_IN filter's values parsed as instants.
_INSTANTS = "_instants"


def _prepared(flt: dict[str, Any], kinds: dict[str, str]) -> dict[str, Any]:
    """``flt`` with, for IN/NOT_IN on a date or datetime property, its values parsed once:
    parsing 100 values for each of thousands of records cost seconds a search."""
    if flt["operator"] in ("IN", "NOT_IN") and kinds.get(flt["propertyName"]) in (
        "date",
        "datetime",
    ):
        values = [str(v) for v in flt.get("values") or []]
        return {**flt, _INSTANTS: {_instant_ms(v) for v in values} - {None}}
    return flt


def _narrowing(groups: list[list[dict[str, Any]]], kinds: dict[str, str]) -> Q | None:
    """A condition in SQL that every record passing ``groups`` meets, when each group has an
    IN on a datetime property (else None): the sandbox stores every datetime in one form
    (``values.check_value``: ISO-8601 UTC with milliseconds), so the instants asked for are
    exact strings. Matching in Python over 20,000 appointments cost a second a search."""
    narrowed: Q | None = None
    for group in groups:
        found = next(
            (
                flt
                for flt in group
                if flt["operator"] == "IN"
                and kinds.get(flt["propertyName"]) == "datetime"
                and flt["propertyName"] not in ASSOCIATION_FILTERS
                and re.fullmatch(r"[a-z0-9]+(_[a-z0-9]+)*", flt["propertyName"])
            ),
            None,
        )
        if found is None:
            return None
        instants = found.get(_INSTANTS) or set()
        stamps = [iso(datetime.fromtimestamp(ms / 1000, tz=UTC)) for ms in sorted(instants)]
        condition = Q(**{f"properties__{found['propertyName']}__in": stamps})
        narrowed = condition if narrowed is None else narrowed | condition
    return narrowed


def _equal(have: str, value: str) -> bool:
    left, right = _comparable(have, value)
    if isinstance(left, str):
        return left.lower() == str(right).lower()
    return bool(left == right)


def _check_filters(
    groups: Any, kinds: dict[str, str], object_type: str
) -> list[list[dict[str, Any]]]:
    if not isinstance(groups, list):
        raise SearchError("Invalid input JSON: filterGroups must be a list.")
    if len(groups) > MAX_FILTER_GROUPS:
        raise SearchError(
            f"Too many filter groups ({len(groups)}). The maximum number of filter groups "
            f"is {MAX_FILTER_GROUPS}."
        )
    checked = []
    total = 0
    for group in groups:
        filters = group.get("filters") if isinstance(group, dict) else None
        if not isinstance(filters, list):
            raise SearchError("Invalid input JSON: each filter group needs a list of filters.")
        if len(filters) > MAX_FILTERS_PER_GROUP:
            raise SearchError(
                f"Too many filters in a filter group ({len(filters)}). The maximum number of "
                f"filters per filter group is {MAX_FILTERS_PER_GROUP}."
            )
        total += len(filters)
        for flt in filters:
            _check_filter(flt, kinds, object_type)
        checked.append(filters)
    if total > MAX_FILTERS:
        raise SearchError(
            f"Too many filters ({total}). The maximum number of filters across all filter "
            f"groups is {MAX_FILTERS}."
        )
    return checked


def _check_filter(flt: Any, kinds: dict[str, str], object_type: str) -> None:
    if not isinstance(flt, dict) or "propertyName" not in flt or "operator" not in flt:
        raise SearchError(
            "Invalid input JSON: Cannot build Filter, some of required attributes are not set "
            "[propertyName, operator]"
        )
    op, name = flt["operator"], flt["propertyName"]
    if op not in OPERATORS:
        raise SearchError(
            f"Invalid input JSON: Cannot deserialize value of type `FilterOperator` from String "
            f'"{op}": not one of the values accepted: {", ".join(sorted(OPERATORS))}'
        )
    if op == "BETWEEN" and flt.get("highValue") is None:
        raise SearchError(
            "Invalid input JSON: Cannot construct instance of `Filter`, problem: operator "
            "BETWEEN requires a highValue"
        )
    if op in ("IN", "NOT_IN") and not flt.get("values"):
        raise SearchError(
            f"Invalid input JSON: Cannot construct instance of `Filter`, problem: operator "
            f"{op} requires values"
        )
    if op not in ("IN", "NOT_IN", "HAS_PROPERTY", "NOT_HAS_PROPERTY") and "value" not in flt:
        raise SearchError(
            f"Invalid input JSON: Cannot construct instance of `Filter`, problem: operator "
            f"{op} requires a value"
        )
    if name not in kinds:
        raise SearchError(f'Invalid input: there is no property "{name}" on {object_type}.')


def _sort_key(sorts: Any, kinds: dict[str, str], object_type: str) -> tuple[str, bool] | None:
    """``(property, descending)`` of the one sorting rule, or None for creation order."""
    if sorts in (None, []):
        return None
    if not isinstance(sorts, list):
        raise SearchError("Invalid input JSON: sorts must be a list.")
    if len(sorts) > 1:
        raise SearchError("Only one sorting rule can be applied to a search.")
    [rule] = sorts
    if isinstance(rule, str):
        name, descending = rule.removeprefix("-"), rule.startswith("-")
    elif isinstance(rule, dict) and isinstance(rule.get("propertyName"), str):
        direction = rule.get("direction", "ASCENDING")
        if direction not in ("ASCENDING", "DESCENDING"):
            raise SearchError(f'Invalid input JSON: unknown sort direction "{direction}".')
        name, descending = rule["propertyName"], direction == "DESCENDING"
    else:
        raise SearchError("Invalid input JSON: a sort is a property name or {propertyName}.")
    if name not in kinds:
        raise SearchError(f'Invalid input: there is no property "{name}" on {object_type}.')
    return name, descending


def _sorted(records: list[CrmRecord], rule: tuple[str, bool] | None) -> list[CrmRecord]:
    if rule is None:
        return records
    name, descending = rule
    present = [r for r in records if r.properties.get(name) is not None]
    absent = [r for r in records if r.properties.get(name) is None]

    def key(record: CrmRecord) -> tuple[Any, ...]:
        value = record.properties[name]
        number, instant = _number(value), _instant_ms(value)
        if isinstance(number, float):
            return (0, number, "")
        if instant is not None:
            return (0, float(instant), "")
        return (1, 0.0, value.lower())

    # Records without the property come last either way (UNCONFIRMED; SANDBOX.md).
    return sorted(present, key=key, reverse=descending) + absent


# Pseudo-properties filtering by associated record ("Search through associations"):
# ``associations.contact`` EQ a contact's ID finds the records associated with it.
ASSOCIATION_FILTERS = {
    "associations.contact": catalog.CONTACTS,
    "associations.company": catalog.COMPANIES,
    "associations.deal": catalog.DEALS,
}


def _associated(record: CrmRecord, flt: dict[str, Any]) -> bool:
    """Whether ``record`` passes a filter on ``associations.<type>``: EQ/NEQ ``value``, IN/NOT_IN
    ``values`` (record IDs), HAS_PROPERTY/NOT_HAS_PROPERTY (any association of that type)."""
    to_type = ASSOCIATION_FILTERS[flt["propertyName"]]
    ids = {str(a["toObjectId"]) for a in record.associations if a["toObjectTypeId"] == to_type}
    op = flt["operator"]
    if op in ("HAS_PROPERTY", "NOT_HAS_PROPERTY"):
        return bool(ids) == (op == "HAS_PROPERTY")
    wanted = {str(v) for v in flt.get("values") or []} or {str(flt.get("value", ""))}
    inside = bool(ids & wanted)
    return inside if op in ("EQ", "IN") else not inside


def _passes(record: CrmRecord, flt: dict[str, Any], kinds: dict[str, str], lowercase: bool) -> bool:
    if flt["propertyName"] in ASSOCIATION_FILTERS:
        return _associated(record, flt)
    return _matches(record.properties, flt, kinds[flt["propertyName"]], lowercase)


def _in_groups(
    record: CrmRecord,
    groups: list[list[dict[str, Any]]],
    kinds: dict[str, str],
    lowercase_in: bool,
) -> bool:
    if not groups:
        return True
    return any(all(_passes(record, f, kinds, lowercase_in) for f in g) for g in groups)


def _has_text(record: CrmRecord, needle: str) -> bool:
    # "records that have a value containing the specified string", case-insensitively.
    searchable = SEARCHABLE.get(record.object_type, ())
    return not needle or any(needle in record.properties.get(p, "").lower() for p in searchable)


def _page_bounds(payload: dict[str, Any]) -> tuple[int, int]:
    limit = payload.get("limit")
    limit = DEFAULT_LIMIT if limit is None else limit
    if isinstance(limit, bool) or not isinstance(limit, int) or not 0 < limit <= MAX_LIMIT:
        raise SearchError(f"limit must be between 1 and {MAX_LIMIT}.")
    try:
        offset = int(payload.get("after") or 0)
    except (TypeError, ValueError):
        raise SearchError("after must be a paging cursor returned by a previous search.") from None
    if offset < 0:
        raise SearchError("after must be a paging cursor returned by a previous search.")
    if offset >= MAX_RESULTS:
        raise SearchError(
            f"The search endpoints are limited to {MAX_RESULTS} total results for any given "
            f"query; after={offset} pages beyond them."
        )
    return limit, offset


def run_search(
    portal: Portal,
    payload: dict[str, Any],
    *,
    now: datetime,
    lag_seconds: float = 0.0,
    lowercase_in: bool = True,
    object_type: str = catalog.APPOINTMENTS,
) -> tuple[int, dict[str, Any]]:
    """Run a search of ``object_type``'s records (appointments, contacts, companies, deals);
    returns ``(200, CollectionResponseWithTotalSimplePublicObject)`` or
    ``(400, {"message": ...})``.

    ``now`` is the sandbox time; a record created or updated less than ``lag_seconds`` before
    it is not in the index yet, so search does not see it (reads by ID do). ``lowercase_in``:
    IN/NOT_IN values on string properties match only when lowercase, as HubSpot documents
    (False: any case; the ``search_in_lowercase`` switch).
    """
    if object_type == catalog.APPOINTMENTS:
        kinds = {
            d.name: str(d.definition.get("type", "string"))
            for d in PropertyDefinition.objects.filter(portal=portal, object_type=object_type)
        } | dict.fromkeys(ASSOCIATION_FILTERS, "enumeration")
    else:
        kinds = dict(catalog.RECORD_PROPERTY_TYPES[object_type])
    try:
        groups = _check_filters(payload.get("filterGroups") or [], kinds, object_type)
        rule = _sort_key(payload.get("sorts"), kinds, object_type)
        limit, offset = _page_bounds(payload)
        query = payload.get("query")
        if query is not None and not isinstance(query, str):
            raise SearchError("Invalid input JSON: query must be a string.")
        if query is not None and len(query) > MAX_QUERY_LENGTH:
            raise SearchError(
                f"The query is {len(query)} characters long; the search query string takes up "
                f"to {MAX_QUERY_LENGTH} characters."
            )
    except SearchError as exc:
        return 400, {"message": str(exc)}
    names = [n for n in payload.get("properties") or [] if isinstance(n, str)]
    rows = CrmRecord.objects.filter(
        portal=portal,
        object_type=object_type,
        archived=False,
        updated_at__lte=now - timedelta(seconds=lag_seconds),
    ).order_by("id")
    needle = (query or "").strip().lower()
    groups = [[_prepared(flt, kinds) for flt in group] for group in groups]
    narrowed = _narrowing(groups, kinds)
    if narrowed is not None:
        rows = rows.filter(narrowed)
    found = [r for r in rows if _in_groups(r, groups, kinds, lowercase_in) and _has_text(r, needle)]
    found = _sorted(found, rule)
    reachable = min(len(found), MAX_RESULTS)
    page = found[offset : min(offset + limit, reachable)]
    results = []
    for record in page:
        body = record_json(record)
        wanted = dict.fromkeys([*DEFAULT_PROPERTIES, *names])
        body["properties"] = {n: record.properties[n] for n in wanted if n in record.properties}
        results.append(body)
    response: dict[str, Any] = {"total": len(found), "results": results}
    if offset + limit < reachable:
        response["paging"] = {"next": {"after": str(offset + limit)}}
    return 200, response
