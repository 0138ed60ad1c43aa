"""Row actions on a stored batch: fix cells (re-validated at once), exclude, include; fix a
row HubSpot refused so that it, and only it, is sent again.

A fix is judged exactly as its file was: the batch's stored mapping, property snapshot, time
zone and reading choices build the same ``RowValidator``. Rows given to a HubSpot call are never
changed (conditional UPDATEs, so a worker that took the row wins).
"""

from __future__ import annotations

import datetime
import re
import zoneinfo

from django.db.models import Q
from django.utils import timezone

from appointments.hubspot.schema import PropertyDefinition
from appointments.intake.cells import (
    FORMULA_WITHOUT_VALUE,
    NUL,
    column_labels,
    display_text,
    without_nul,
)
from appointments.intake.mapping import ColumnTarget, target_from_json
from appointments.intake.records import (
    RECORD_NOT_FOUND,
    association_columns,
    column_holding,
    record_not_found,
)
from appointments.intake.validation import RowValidator, snapshot_validator
from appointments.models import FIXABLE_FAILED_ROWS, Batch, BatchRow

# A workbook's serial date number as displayed (``46113.5``).
_SERIAL = re.compile(r"[0-9]+(?:\.[0-9]+)?")
# Rows a person may still change: never given to a HubSpot call.
EDITABLE_STATES = (BatchRow.State.INVALID, BatchRow.State.READY, BatchRow.State.EXCLUDED)


# Rows a fix may change: never given to a call, or failed with "not created" known.
FIXABLE_ROWS = Q(call__isnull=True, state__in=EDITABLE_STATES) | FIXABLE_FAILED_ROWS


class RowUnchanged(Exception):
    """A failed row was saved with no value changed: sending it as it is would fail again."""


def row_is_editable(row: BatchRow) -> bool:
    """True while the row has not been given to a HubSpot call."""
    return row.is_editable


def row_is_fixable(row: BatchRow) -> bool:
    """True while the row may be fixed: not given to a call yet, or failed with its outcome
    known to be "not created" (HubSpot refused it, or it was never sent): see
    ``BatchRow.is_fixable``."""
    return row.is_fixable


def _batch_snapshot(batch: Batch) -> tuple[list[ColumnTarget | None], RowValidator]:
    mapping = [target_from_json(item) for item in batch.mapping]
    properties = [PropertyDefinition.from_json(p) for p in batch.properties_snapshot]
    validator = snapshot_validator(
        headers=batch.headers,
        mapping=mapping,
        properties=properties,
        timezone=zoneinfo.ZoneInfo(batch.timezone),
        reading=batch.reading or {},
    )
    return mapping, validator


def row_editable_columns(*, batch: Batch) -> list[tuple[int, str]]:
    """``(column index, column as errors name it)`` of the batch's mapped columns (see
    ``cells.column_labels``, as ``CellError.column`` gives it)."""
    labels = column_labels(batch.headers)
    return [(index, labels[index]) for index, target in enumerate(batch.mapping) if target]


def is_multiline(text: str) -> bool:
    """True for text the Fix form edits in a textarea (it holds line breaks)."""
    return "\n" in text or "\r" in text


def as_form_shows(text: str) -> str:
    """``text`` as a browser posts it back unchanged, line breaks as ``\\n``: a textarea for
    multi-line text (line breaks kept, as CRLF), a one-line input otherwise; NUL as U+FFFD
    (the HTML parser)."""
    return without_nul(_unix_lines(text))


def _unix_lines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _left_alone(posted: str, stored: str) -> bool:
    """True when ``posted`` is ``stored`` as the Fix form showed it."""
    return _unix_lines(posted) == as_form_shows(stored)


def _checked_dates(batch: Batch, row: BatchRow) -> dict[int, datetime.date]:
    """Column index -> the date, or aware datetime in the batch's zone, each valid date cell
    of the row was found to hold (from the values stored for HubSpot)."""
    kinds = {prop["name"]: prop.get("type") for prop in batch.properties_snapshot}
    sent = batch.layout.unpack_properties(row.properties)
    zone = zoneinfo.ZoneInfo(batch.timezone)
    checked: dict[int, datetime.date] = {}
    for index, target in enumerate(batch.mapping):
        if not target or target["kind"] != "property" or target["name"] not in sent:
            continue
        value = sent[target["name"]]
        if kinds.get(target["name"]) == "datetime":
            checked[index] = datetime.datetime.fromisoformat(value).astimezone(zone)
        elif kinds.get(target["name"]) == "date":
            checked[index] = datetime.date.fromisoformat(value)
    return checked


def row_dates_read(*, row: BatchRow) -> dict[int, str]:
    """Column index -> how a valid date cell was read, where its text shows it otherwise: a
    workbook's serial number ``46113.5`` -> ``2026-04-01 12:00 (Europe/Paris)``, ``03/12/2026``
    -> ``2026-12-03``."""
    read: dict[int, str] = {}
    for index, value in _checked_dates(row.batch, row).items():
        if isinstance(value, datetime.datetime):
            # Already in the batch's zone: its wall-clock time and the zone's name, with the
            # offset where the clocks show that time twice (the night they go back).
            wall = value.replace(tzinfo=None)
            text = display_text(wall)
            twice = {wall.replace(tzinfo=value.tzinfo, fold=f).utcoffset() for f in (0, 1)}
            if len(twice) > 1:
                text += value.strftime(" UTC%:z")
            if text != row.raw_text(index):
                read[index] = f"{text} ({row.batch.timezone})"
        elif (text := display_text(value)) != row.raw_text(index):
            read[index] = text
    return read


def _untouched_cells(
    batch: Batch, row: BatchRow, dates: dict[int, datetime.date]
) -> dict[int, object]:
    """Column index -> what a cell the user leaves alone is judged as, where its stored text
    alone would judge it otherwise.

    A workbook's serial number (``46113.5``) read as text is no date: a valid date cell goes
    back in as the value it was found to hold (``dates``, from ``_checked_dates``; aware, so
    the batch's time zone does not apply twice: a time in the hour that repeats when clocks go
    back stays the one first chosen; a message quoting it shows its offset). A cell stored with
    U+FFFD for a NUL goes back in with its NUL, and a formula saved without its value (stored
    as "") as such: both stay errors.
    """
    cells: dict[int, object] = {
        index: row.raw_text(index).replace("\ufffd", NUL)
        for index in _columns_with(batch, row, "nul_character")
    }
    cells.update(
        dict.fromkeys(_columns_with(batch, row, "formula_without_value"), FORMULA_WITHOUT_VALUE)
    )
    cells.update(dates)
    return cells


def _columns_with(batch: Batch, row: BatchRow, code: str) -> set[int]:
    """Indexes of the columns the row's stored errors of ``code`` name."""
    named = {error["column"] for error in row.errors if error["code"] == code}
    return {index for index, label in enumerate(column_labels(batch.headers)) if label in named}


def _records_still_missing(batch: Batch, row: BatchRow, raw: list[str]) -> list[dict[str, str]]:
    """The row's record_not_found errors (intake.records) whose ID is still in a column of
    the same association type in ``raw``, the row's new texts, named by that column: HubSpot
    said the record does not exist, wherever the ID now sits."""
    labels = column_labels(batch.headers)
    by_type = association_columns(batch.mapping)
    type_of = {index: kind for kind, indexes in by_type.items() for index in indexes}
    kept = []
    for error in row.errors:
        if error["code"] != RECORD_NOT_FOUND or error["column"] not in labels:
            continue
        kind = type_of.get(labels.index(error["column"]))
        index = None if kind is None else column_holding(raw, error["value"], by_type[kind])
        if index is not None:
            kept.append(
                record_not_found(
                    hub_id=batch.portal.hub_id,
                    row_number=row.row_number,
                    column=labels[index],
                    record_id=error["value"],
                )
            )
    return kept


def row_revalidate(*, row: BatchRow, values: dict[int, str]) -> bool:
    """Apply the user's fixes (column index -> text) and re-validate the row at once.

    Uses the batch's stored mapping, property snapshot, time zone and reading choices, so a
    fixed row is judged exactly as its file was. The row becomes READY when valid, INVALID
    otherwise (an excluded row is included again). A row that failed at HubSpot
    (``row_is_fixable``) leaves its call and HubSpot's error behind when fixed, so Send sends
    it, and only it, again; saved with no value changed it raises RowUnchanged (HubSpot would
    refuse it again). Returns False, changing nothing, when the row was given to a HubSpot
    call meanwhile.
    """
    batch = row.batch
    _mapping, validator = _batch_snapshot(batch)
    # The form posts every cell; one the user left alone keeps its stored text, which a form
    # cannot hold exactly (CRLF, NUL), and is judged as _untouched_cells says.
    changed: dict[int, object] = {
        index: _unix_lines(text).strip()
        for index, text in values.items()
        if 0 <= index < len(row.raw) and not _left_alone(text, row.raw_text(index))
    }
    if row.state == BatchRow.State.FAILED and not changed:
        raise RowUnchanged
    # A U+FFFD still in a cell that held a NUL stands for that NUL: it stays an error.
    for index in _columns_with(batch, row, "nul_character") & set(changed):
        changed[index] = str(changed[index]).replace("\ufffd", NUL)
    # A date cell the workbook gave as a serial number takes a typed number the same way.
    dates = _checked_dates(batch, row)
    for index in set(dates) & set(changed):
        typed = str(changed[index])
        if _SERIAL.fullmatch(row.raw_text(index)) and _SERIAL.fullmatch(typed):
            changed[index] = float(typed)
    kept = _untouched_cells(batch, row, dates)
    cells: list[object] = [
        changed[index] if index in changed else kept.get(index, text)
        for index, text in enumerate(row.raw)
    ]
    checked = validator.validate(row.row_number, cells)
    raw = [checked.raw[index] if index in changed else text for index, text in enumerate(row.raw)]
    errors = [
        {"column": e.column, "value": e.value, "code": e.code, "message": e.message}
        for e in checked.errors
    ]
    errors += _records_still_missing(batch, row, raw)
    state = BatchRow.State.INVALID if errors else BatchRow.State.READY
    # Conditional: a worker that took the row meanwhile wins, and the fix is not applied.
    updated = (
        BatchRow.objects.filter(pk=row.pk)
        .filter(FIXABLE_ROWS)
        .update(
            raw=raw,
            properties=batch.layout.pack_properties(checked.properties),
            associations=batch.layout.pack_associations(checked.associations),
            errors=errors,
            state=state,
            # A failed row fixed is a row not yet sent: HubSpot's answer no longer applies.
            call=None,
            hubspot_id="",
            error_category="",
            error_message="",
            updated_at=timezone.now(),
        )
    )
    row.refresh_from_db()
    return bool(updated)


def row_set_excluded(*, row: BatchRow, excluded: bool) -> bool:
    """Exclude a row (never sent) or include it again (READY if it has no errors, else
    INVALID). Returns False, changing nothing, when the row was given to a HubSpot call."""
    if excluded:
        state = BatchRow.State.EXCLUDED
    else:
        state = BatchRow.State.INVALID if row.errors else BatchRow.State.READY
    updated = BatchRow.objects.filter(
        pk=row.pk, call__isnull=True, state__in=EDITABLE_STATES
    ).update(state=state, updated_at=timezone.now())
    row.refresh_from_db()
    return bool(updated)
