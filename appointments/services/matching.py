"""Matching HubSpot's answers back to our rows, by ``objectWriteTraceId`` or by the values sent.

HubSpot returns batch results in no particular order and may not echo ``objectWriteTraceId`` on
successes (https://developers.hubspot.com/docs/api-reference/error-handling, "Multi-status errors";
hubspot-api-nodejs#190). Failures carry the trace id; successes are matched by elimination and by
the property values we sent, which HubSpot echoes in its own canonical form (datetimes as ISO-8601
with milliseconds, numbers possibly reformatted).
Matching is by dictionary look-up, so a 100-row answer costs about 100 look-ups.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import Decimal, InvalidOperation

from appointments.hubspot.client import BatchCreateResult, CreatedRecord
from appointments.intake.encoding import RowLayout
from appointments.models import BatchRow


def value_key(value: str | None) -> str | None:
    """``value`` in a form where HubSpot's echo and what we sent compare equal."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        pass
    else:
        return "t:" + (moment.isoformat() if moment.tzinfo is None else str(moment.timestamp()))
    try:
        return "n:" + str(Decimal(value).normalize())
    except InvalidOperation:
        return "s:" + value


class ValueIndex:
    """Rows still waiting for a record, findable by the values they were sent with."""

    def __init__(self, rows: list[BatchRow], layout: RowLayout) -> None:
        """``rows`` of one batch, whose ``layout`` this is."""
        # Rows sent with the same set of (non-empty) properties share one table.
        self._tables: dict[tuple[str, ...], dict[tuple[str | None, ...], list[BatchRow]]] = {}
        for row in rows:
            properties = layout.unpack_properties(row.properties)
            names = tuple(sorted(k for k, v in properties.items() if v != ""))
            table = self._tables.setdefault(names, defaultdict(list))
            table[tuple(value_key(properties[k]) for k in names)].append(row)

    def take(self, record: CreatedRecord) -> BatchRow | None:
        """The first waiting row whose values ``record`` holds; removed from the index."""
        for names, table in self._tables.items():
            rows = table.get(tuple(value_key(record.properties.get(k)) for k in names))
            if rows:
                return rows.pop(0)
        return None


def match_results(
    rows: list[BatchRow], result: BatchCreateResult, layout: RowLayout, *, row_key: str = ""
) -> None:
    """Set each row's state from ``result``: failures by trace id, successes by echo, by the
    ``row_key`` property's value (the trace id, echoed with the properties sent) or by values
    (``rows`` of one batch, whose ``layout`` this is).

    A row the answer says nothing about becomes FAILED/UNMATCHED (never silently ready again).
    """
    by_trace = {row.object_write_trace_id: row for row in rows}
    for error in result.errors:
        for trace_id in error.trace_ids:
            row = by_trace.pop(trace_id, None)
            if row is not None:
                row.state = BatchRow.State.FAILED
                row.error_category = error.category
                row.error_message = error.message
    unmatched = []
    for record in result.results:
        trace_id = record.object_write_trace_id or record.properties.get(row_key, "")
        row = by_trace.pop(trace_id, None)
        if row is None:
            unmatched.append(record)
        else:
            row.state, row.hubspot_id = BatchRow.State.CREATED, record.id
    index = ValueIndex(list(by_trace.values()), layout)
    for record in unmatched:
        found = index.take(record)
        if found is not None:
            found.state, found.hubspot_id = BatchRow.State.CREATED, record.id
    for row in rows:
        if row.state == BatchRow.State.SENDING:
            row.state = BatchRow.State.FAILED
            row.error_category = "UNMATCHED"
            row.error_message = str(BatchRow.OUTCOME_MESSAGES["UNMATCHED"])
