"""Row actions on a stored batch: fix cells (re-validated at once), exclude, include; fix a
row HubSpot refused so that it, and only it, is sent again.

A fix is judged exactly as its file was: the batch's stored mapping, property snapshot, time
zone and reading choices build the same ``RowValidator``. Rows given to a HubSpot call are never
changed (conditional UPDATEs, so a worker that took the row wins).
"""

from __future__ import annotations

import datetime
import difflib
import re
import zoneinfo
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

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
from appointments.models import FIXABLE_FAILED_ROWS, Batch, BatchRow, RowEdit
from appointments.services import access
from appointments.services.access import Action
from appointments.services.batches import ROWS_PER_PAGE, example_row_error
from appointments.services.resolving import (
    AmbiguousKey,
    keys_ambiguous,
    keys_create_contacts,
    keys_pick,
    keys_resolve,
)

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


def row_page(*, row: BatchRow) -> int:
    """The page (1-based) of the batch's unfiltered rows table that shows ``row``
    (``ROWS_PER_PAGE`` rows a page, in row order): where a fix made on the separate Fix page
    returns, so the person sees the row as it now is. One count over the (batch, row_number)
    index."""
    before = BatchRow.objects.filter(batch_id=row.batch_id, row_number__lt=row.row_number).count()
    return before // ROWS_PER_PAGE + 1


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
    """``(column index, column as errors name it)`` of the batch's mapped columns and of the
    time-of-day columns they read (see ``cells.column_labels``, as ``CellError.column``
    gives it)."""
    labels = column_labels(batch.headers)
    # A time-of-day column feeds the date column that names it (ColumnTarget.time_column).
    times = {target.get("time_column") for target in batch.mapping if target}
    return [
        (index, labels[index])
        for index, target in enumerate(batch.mapping)
        if target or index in times
    ]


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
        if target.get("minutes_after") or target.get("fallback"):
            # The value sent was built from another cell too (a duration after a start, a
            # column filling this one's blanks): this cell alone never held it.
            continue
        if kinds.get(target["name"]) == "datetime":
            read = datetime.datetime.fromisoformat(value).astimezone(zone)
            # A date whose time of day comes from another column or a fixed time: the cell
            # held the date alone (the time goes back in from its own column).
            joined = target.get("time_column") is not None or target.get("fixed_time")
            checked[index] = read.date() if joined else read
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


def _records_still_missing(batch: Batch, row: BatchRow, raw: list[str]) -> list[dict[str, Any]]:
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


def row_revalidate(
    *,
    user: User,
    row: BatchRow,
    values: dict[int, str],
    picks: dict[tuple[int, int], str] | None = None,
) -> bool:
    """Apply the user's fixes (column index -> text) and re-validate the row at once.

    Uses the batch's stored mapping, property snapshot, time zone and reading choices, so a
    fixed row is judged exactly as its file was. New natural keys typed in are looked up first
    (``services.resolving``; the batch keeps the answers). ``picks``: ``(column index, n)`` ->
    the record ID chosen for the n-th ambiguous key of that cell (``row_ambiguous_keys``); a
    pick applies to every row of the batch with that key, which are re-validated too. The row
    becomes READY when valid, INVALID otherwise (an excluded row is included again). A row
    that failed at HubSpot (``row_is_fixable``) leaves its call and HubSpot's error behind
    when fixed, so Send sends it, and only it, again; saved with no value changed it raises
    RowUnchanged (HubSpot would refuse it again). Returns False, changing nothing, when the
    row was given to a HubSpot call meanwhile. Raises HubSpotError / PortalNeedsReconnect /
    TimeoutError when new keys cannot be looked up, PermissionDenied unless ``user`` may act
    on the row's batch.
    """
    batch = row.batch
    access.require(user, Action.BATCH_ACT, batch)
    picked = _apply_picks(batch, row, picks or {})
    updated = _revalidate(batch, row, values, FIXABLE_ROWS)
    if picked:
        for other in batch.rows.filter(state=BatchRow.State.INVALID, call__isnull=True).exclude(
            pk=row.pk
        ):
            if any(error["code"] == "ambiguous" for error in other.errors):
                other.batch = batch
                _revalidate(batch, other, {}, FIXABLE_ROWS)
    return updated


def row_ambiguous_keys(*, user: User, row: BatchRow, index: int) -> list[AmbiguousKey]:
    """The keys of the row's cell at column ``index`` that match several records and have no
    pick yet, each with its candidates (what the Fix form offers to choose from). Raises
    PermissionDenied unless ``user`` may see the row's batch."""
    access.require(user, Action.BATCH_VIEW, row.batch)
    return _ambiguous_keys(row, index)


def _ambiguous_keys(row: BatchRow, index: int) -> list[AmbiguousKey]:
    target = target_from_json(row.batch.mapping[index]) if index < len(row.batch.mapping) else None
    return keys_ambiguous(batch=row.batch, target=target, text=row.raw_text(index))


def _apply_picks(batch: Batch, row: BatchRow, picks: dict[tuple[int, int], str]) -> bool:
    """Record ``picks`` in the batch's resolution (saved); True when any was recorded."""
    reading = dict(batch.reading or {})
    resolution = reading.get("keys") or {}
    recorded = False
    for (index, n), record_id in picks.items():
        ambiguous = _ambiguous_keys(row, index)
        if 0 <= n < len(ambiguous):
            found = ambiguous[n]
            recorded |= keys_pick(
                resolution=resolution, table=found.table, key=found.key, record_id=record_id
            )
    if recorded:
        reading["keys"] = resolution
        batch.reading = reading
        Batch.objects.filter(pk=batch.pk).update(reading=reading)
    return recorded


def _revalidate(
    batch: Batch,
    row: BatchRow,
    values: dict[int, str],
    allowed: Q,
    validator: RowValidator | None = None,
) -> bool:
    """``row_revalidate`` of one row: ``allowed`` the rows the conditional UPDATE may change;
    ``validator`` the batch's, built once for many rows (bulk fixes), or None to build it."""
    mapping = [target_from_json(item) for item in batch.mapping]
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
    known = (batch.reading or {}).get("keys")
    if changed and known is not None:
        # Keys typed in the fix are asked of HubSpot (those already known cost nothing).
        resolution = keys_resolve(
            portal=batch.portal, mapping=mapping, rows=[(row.row_number, cells)], known=known
        )
        if batch.reading.get("create_contacts"):
            # The batch creates the contacts it lacks: so does a fix that names a new email.
            keys_create_contacts(
                portal=batch.portal,
                mapping=mapping,
                rows=[(row.row_number, cells)],
                resolution=resolution,
            )
        if resolution != known:
            batch.reading = {**batch.reading, "keys": resolution}
            Batch.objects.filter(pk=batch.pk).update(reading=batch.reading)
            validator = None  # it judges keys by the batch's resolution, which changed
    if validator is None:
        _mapping, validator = _batch_snapshot(batch)
    checked = validator.validate(row.row_number, cells)
    raw = [checked.raw[index] if index in changed else text for index, text in enumerate(row.raw)]
    errors: list[dict[str, Any]] = [
        {
            "column": e.column,
            "value": e.value,
            "code": e.code,
            "message": e.message,
            "params": e.params,
        }
        for e in checked.errors
    ]
    errors += _records_still_missing(batch, row, raw)
    row.raw = raw
    if (example := example_row_error(batch=batch, row=row)) is not None:
        errors.append(example)
    state = BatchRow.State.INVALID if errors else BatchRow.State.READY
    # Conditional: a worker that took the row meanwhile wins, and the fix is not applied.
    updated = (
        BatchRow.objects.filter(pk=row.pk)
        .filter(allowed)
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


def row_set_excluded(*, user: User, row: BatchRow, excluded: bool) -> bool:
    """Exclude a row (never sent) or include it again (READY if it has no errors, else
    INVALID). Returns False, changing nothing, when the row was given to a HubSpot call.
    Raises PermissionDenied unless ``user`` may act on the row's batch."""
    access.require(user, Action.BATCH_ACT, row.batch)
    if excluded:
        state = BatchRow.State.EXCLUDED
    else:
        state = BatchRow.State.INVALID if row.errors else BatchRow.State.READY
    updated = BatchRow.objects.filter(
        pk=row.pk, call__isnull=True, state__in=EDITABLE_STATES
    ).update(state=state, updated_at=timezone.now())
    row.refresh_from_db()
    return bool(updated)


# Rows a bulk fix changes: not yet given to a call, and not excluded (a fix would include
# an excluded row again without being asked).
BULK_ROWS = Q(call__isnull=True, state__in=(BatchRow.State.INVALID, BatchRow.State.READY))


@dataclass(frozen=True)
class BulkFix:
    """A bulk fix of column ``column`` (index in ``batch.headers``): ``kind`` a
    ``RowEdit.Kind``; ``find`` the text looked for (replace: a part of the cell; same error:
    the whole cell of a row with an error in that column); ``replace`` the new text (fill:
    the value put in empty cells)."""

    kind: str
    column: int
    find: str
    replace: str


def _new_text(fix: BulkFix, row: BatchRow, label: str) -> str | None:
    """The cell's text after ``fix``, or None when the fix leaves this row alone."""
    text = row.raw_text(fix.column)
    if fix.kind == RowEdit.Kind.FILL:
        return fix.replace if not text.strip() else None
    if fix.kind == RowEdit.Kind.REPLACE:
        return text.replace(fix.find, fix.replace) if fix.find and fix.find in text else None
    has_error = any(error["column"] == label for error in row.errors)
    return fix.replace if has_error and text == fix.find else None


def _bulk_targets(batch: Batch, fix: BulkFix) -> Iterator[tuple[BatchRow, str]]:
    """Each unsent row ``fix`` changes (in row order), with its new text."""
    label = column_labels(batch.headers)[fix.column]
    rows = batch.rows.filter(BULK_ROWS).order_by("row_number")
    for row in rows.iterator(chunk_size=2000):
        row.batch = batch  # one batch (and its layout) for every row
        new = _new_text(fix, row, label)
        if new is not None and new != row.raw_text(fix.column):
            yield row, new


def rows_bulk_count(*, user: User, batch: Batch, fix: BulkFix) -> int:
    """How many rows ``fix`` would change (rows not yet sent, excluded ones left alone).
    Raises PermissionDenied unless ``user`` may act on the batch (``services.access``)."""
    access.require(user, Action.BATCH_ACT, batch)
    return sum(1 for _target in _bulk_targets(batch, fix))


class BulkEditBusy(Exception):
    """Another bulk fix of the batch (or an undo) is being applied: ``edit`` is that one."""

    def __init__(self, edit: RowEdit) -> None:
        super().__init__(f"bulk edit {edit.pk} is being applied")
        self.edit = edit


def _edit_lease() -> datetime.timedelta:
    """How long a bulk edit being applied may stay silent before it counts as cut short (its
    process killed): ``HUBPORTAL_STORING_LEASE``, the same bound as storing rows."""
    return datetime.timedelta(seconds=settings.HUBPORTAL_STORING_LEASE)


def _claim_edits(batch: Batch, edit: RowEdit) -> None:
    """Mark ``edit`` (saved or not) as being applied, once no other edit of the batch is:
    bulk edits of one batch run one at a time, so two never interleave their rows or record
    each other's texts as "before". The check and the mark are one transaction on the locked
    batch row (``SELECT ... FOR UPDATE``; SQLite's ``BEGIN IMMEDIATE``). Raises BulkEditBusy."""
    now = timezone.now()
    with transaction.atomic():
        Batch.objects.select_for_update().filter(pk=batch.pk).first()
        busy = (
            batch.edits.filter(applying_since__isnull=False, heartbeat_at__gte=now - _edit_lease())
            .exclude(pk=edit.pk)
            .first()
        )
        if busy is not None:
            raise BulkEditBusy(busy)
        edit.applying_since = edit.heartbeat_at = now
        edit.save()


def _release_edit(edit: RowEdit, **fields: Any) -> None:
    RowEdit.objects.filter(pk=edit.pk).update(applying_since=None, heartbeat_at=None, **fields)


def rows_bulk_apply(*, user: User, batch: Batch, fix: BulkFix) -> RowEdit:
    """Apply ``fix`` to every unsent row it concerns, each re-validated at once exactly as a
    one-row fix (``row_revalidate``; the batch's validator built once), and keep the edit in
    the batch's history with each row's old text so it can be undone (``rows_bulk_undo``).
    A row given to a HubSpot call meanwhile is left alone (conditional UPDATE). One bulk edit
    of a batch at a time: raises BulkEditBusy, changing nothing, while another is applied
    (``_claim_edits``). Raises PermissionDenied unless ``user`` may act on the batch
    (``services.access``)."""
    access.require(user, Action.BATCH_ACT, batch)
    edit = RowEdit(
        batch=batch,
        created_by=user,
        kind=fix.kind,
        column=fix.column,
        find=fix.find,
        replace=fix.replace,
    )
    _claim_edits(batch, edit)
    before: dict[str, str] = {}
    try:
        _mapping, validator = _batch_snapshot(batch)
        for row, new in list(_bulk_targets(batch, fix)):
            old = row.raw_text(fix.column)
            if _revalidate(batch, row, {fix.column: new}, BULK_ROWS, validator):
                before[str(row.row_number)] = old
                if len(before) % EDIT_PROGRESS_ROWS == 0:
                    # What is done so far can be undone even if this process is killed.
                    RowEdit.objects.filter(pk=edit.pk).update(
                        before=before, changed=len(before), heartbeat_at=timezone.now()
                    )
    finally:
        _release_edit(edit, before=before, changed=len(before))
    edit.refresh_from_db()
    return edit


# Rows a bulk edit does between two notes of its progress (and renewals of its claim).
EDIT_PROGRESS_ROWS = 200


def rows_bulk_history(*, user: User, batch: Batch) -> list[tuple[RowEdit, str]]:
    """The batch's bulk fixes, latest first, each with its column as errors name it.
    Raises PermissionDenied unless ``user`` may see the batch (``services.access``)."""
    access.require(user, Action.BATCH_VIEW, batch)
    labels = column_labels(batch.headers)
    return [(edit, labels[edit.column]) for edit in batch.edits.all()]


def rows_bulk_undoable(*, user: User, batch: Batch) -> RowEdit | None:
    """The edit "Undo" undoes: the latest not undone, while the batch has rows not sent.
    Raises PermissionDenied unless ``user`` may see the batch (``services.access``)."""
    access.require(user, Action.BATCH_VIEW, batch)
    return _latest_edit(batch)


def _latest_edit(batch: Batch) -> RowEdit | None:
    return batch.edits.filter(undone_at__isnull=True).first()


def rows_bulk_undo(*, user: User, edit: RowEdit) -> int:
    """Undo ``edit`` (the latest not undone: ``rows_bulk_undoable``): each of its rows not yet
    sent gets its old text back and is re-validated. Returns how many rows were restored;
    rows sent meanwhile keep the fix. Raises ValueError for an edit that is not the latest,
    PermissionDenied unless ``user`` may act on the batch (``services.access``), BulkEditBusy
    while another bulk edit of the batch is applied."""
    batch = edit.batch
    access.require(user, Action.BATCH_ACT, batch)
    if _latest_edit(batch) != edit:
        raise ValueError("only the latest edit can be undone")
    _claim_edits(batch, edit)
    restored = 0
    try:
        _mapping, validator = _batch_snapshot(batch)
        numbers = [int(number) for number in edit.before]
        for row in batch.rows.filter(BULK_ROWS, row_number__in=numbers).order_by("row_number"):
            row.batch = batch
            old = edit.before[str(row.row_number)]
            if _revalidate(batch, row, {edit.column: old}, BULK_ROWS, validator):
                restored += 1
                if restored % EDIT_PROGRESS_ROWS == 0:
                    RowEdit.objects.filter(pk=edit.pk).update(heartbeat_at=timezone.now())
    except BaseException:
        _release_edit(edit)
        raise
    _release_edit(edit, undone_at=timezone.now())
    return restored


# Columns the preview shows beside each row when the person has not chosen: the first few
# mapped columns other than the name (shown already).
DEFAULT_SHOWN_COLUMNS = 4


@dataclass(frozen=True)
class ShownCell:
    """One cell of the preview: ``text`` the value HubSpot will hold, as a person sees it
    there (a date and time in the batch's zone, an option's label); ``raw`` the file's text;
    ``sent`` False when nothing is sent for it (blank or invalid: ``text`` is then ``raw``)."""

    text: str
    raw: str
    sent: bool


def rows_shown_columns(
    *, user: User, batch: Batch, chosen: list[int] | None
) -> list[tuple[int, str]]:
    """``(column index, label)`` of the mapped columns the preview shows: ``chosen`` (indexes;
    unknown ones ignored) or, when None, the first ``DEFAULT_SHOWN_COLUMNS`` mapped columns
    other than the appointment's name. Raises PermissionDenied unless ``user`` may see the
    batch (``services.access``)."""
    access.require(user, Action.BATCH_VIEW, batch)
    editable = row_editable_columns(batch=batch)
    if chosen is not None:
        wanted = set(chosen)
        return [(index, label) for index, label in editable if index in wanted]
    others = [(index, label) for index, label in editable if index != batch.name_column]
    return others[:DEFAULT_SHOWN_COLUMNS]


def _as_hubspot_shows(prop: PropertyDefinition | None, value: str, zone: zoneinfo.ZoneInfo) -> str:
    """``value`` as sent (HubSpot's string) as HubSpot shows it: datetimes in ``zone``
    (``YYYY-MM-DD HH:MM``), options by label (several joined by ``;``), booleans Yes/No."""
    kind = prop.type if prop else None
    if kind == "datetime" and value:
        try:
            moment = (
                datetime.datetime.fromtimestamp(int(value) / 1000, datetime.UTC)
                if value.isdigit()
                else datetime.datetime.fromisoformat(value)
            )
        except ValueError:
            return value
        return display_text(moment.astimezone(zone).replace(tzinfo=None))
    if kind == "enumeration" and prop:
        labels = {option.value: option.label for option in prop.options}
        return ";".join(labels.get(part, part) for part in value.split(";"))
    if kind == "bool":
        return {"true": _("Yes"), "false": _("No")}.get(value, value)
    return value


def rows_attach_shown(
    *, user: User, batch: Batch, rows: Iterable[BatchRow], columns: list[tuple[int, str]]
) -> None:
    """Give each row a ``shown`` list of ``ShownCell``, one per ``(column index, label)`` of
    ``columns`` (``rows_shown_columns``): what HubSpot will hold for that column (record ID
    columns: their IDs as given, sent when the column has no error). Raises PermissionDenied
    unless ``user`` may see the batch (``services.access``)."""
    access.require(user, Action.BATCH_VIEW, batch)
    zone = zoneinfo.ZoneInfo(batch.timezone)
    properties = {
        prop.name: prop
        for prop in (PropertyDefinition.from_json(p) for p in batch.properties_snapshot)
    }
    for row in rows:
        try:
            sent = batch.layout.unpack_properties(row.properties)
        except ValueError:
            sent = {}
        cells = []
        for index, label in columns:
            raw = _cell_text(row, index)
            target = batch.mapping[index] if index < len(batch.mapping) else None
            if target and target["kind"] == "property" and target["name"] in sent:
                prop = properties.get(target["name"])
                text = _as_hubspot_shows(prop, sent[target["name"]], zone)
                cells.append(ShownCell(text=text, raw=raw, sent=True))
            else:
                # Record IDs go as given; a blank or invalid cell sends nothing.
                ids = bool(raw) and target is not None and target["kind"] == "association"
                fine = not any(error["column"] == label for error in row.errors)
                cells.append(ShownCell(text=raw, raw=raw, sent=ids and fine))
        setattr(row, "shown", cells)  # noqa: B010 - read by the rows template


def _cell_text(row: BatchRow, index: int) -> str:
    """The row's cell ``index``: as the results page read it alone (``cell_<index>``, see
    ``batches.batch_rows_page``, whose rows come without their other cells), else from its
    raw cells."""
    if f"cell_{index}" in row.__dict__:
        return str(row.__dict__[f"cell_{index}"] or "")
    return row.raw_text(index)


@dataclass(frozen=True)
class OptionChoice:
    """The Fix form's select for a one-option enumeration column: ``options`` the visible
    options' labels; ``selected`` the label the cell's text is, or "" when it is none;
    ``mapped`` the label the batch's value map sends for the cell's text (``Confirmed`` ->
    ``Scheduled``), or "" (it is then ``selected`` too); ``suggestion`` the label closest to
    a text that is none of them and is not mapped ("did you mean"), or ""."""

    options: list[str]
    suggestion: str
    selected: str = ""
    mapped: str = ""


def row_option_choices(
    *, user: User, batch: Batch
) -> dict[int, tuple[PropertyDefinition, tuple[tuple[str, str], ...]]]:
    """Column index -> its property and its value map (``(file text, option value)`` pairs
    chosen on the mapping screen), for the columns mapped to a one-option enumeration (the
    Fix form offers a select for them). Raises PermissionDenied unless ``user`` may see the
    batch (``services.access``)."""
    access.require(user, Action.BATCH_VIEW, batch)
    properties = {p["name"]: p for p in batch.properties_snapshot}
    found = {}
    for index, target in enumerate(batch.mapping):
        if not target or target["kind"] != "property" or target["name"] not in properties:
            continue
        prop = PropertyDefinition.from_json(properties[target["name"]])
        if prop.type == "enumeration" and not prop.multiple and prop.options:
            pairs = tuple((str(text), str(value)) for text, value in target.get("values") or ())
            found[index] = (prop, pairs)
    return found


def option_choice(
    prop: PropertyDefinition, text: str, value_map: tuple[tuple[str, str], ...] = ()
) -> OptionChoice:
    """The select for ``prop`` and the cell's ``text``: the option labels; the label the
    ``value_map`` sends for ``text`` (spacing and case ignored, as the converter reads it);
    else the closest one when ``text`` is no option's label or value (``difflib``'s ratio, at
    least 0.5, case ignored)."""
    labels = [option.label for option in prop.options if not option.hidden]
    by_value = {option.value: option.label for option in prop.options}
    wanted = " ".join(text.split()).casefold()
    mapped = next(
        (
            by_value[value]
            for source, value in value_map
            if value in by_value and " ".join(source.split()).casefold() == wanted
        ),
        "",
    )
    if mapped:
        return OptionChoice(options=labels, suggestion="", selected=mapped, mapped=mapped)
    known = {label.casefold() for label in labels}
    known |= {option.value.casefold() for option in prop.options}
    suggestion = ""
    if text.strip() and text.strip().casefold() not in known:
        by_folded = {label.casefold(): label for label in labels}
        close = difflib.get_close_matches(text.strip().casefold(), by_folded, n=1, cutoff=0.5)
        suggestion = by_folded[close[0]] if close else ""
    selected = text if text in labels else ""
    return OptionChoice(options=labels, suggestion=suggestion, selected=selected)
