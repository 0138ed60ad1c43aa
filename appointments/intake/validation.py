"""Validate rows against the portal's property definitions: what would be sent, or why not.

One definition of a valid appointment row, for uploads and the form grid alike. Values follow
HubSpot's formats (all strings, see ``converters``); each association is ``[record id,
associationCategory, associationTypeId]``, which ``services.sending`` turns into the
batch-create body's ``PublicAssociationsForObject``
(https://developers.hubspot.com/docs/api-reference/2026-03/crm/objects/appointments/guide).
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from appointments.hubspot.schema import PropertyDefinition

from .bulk import gc_paused
from .cells import NUL, column_labels, display_text, without_nul
from .columnar import Memo, association_json, encode_columns, validate_columns
from .converters import (
    CellProblem,
    convert_minutes,
    convert_record_ids,
    property_converter,
    refuse_unknown,
)
from .dates import join_date_time, parse_time_of_day
from .encoding import EncodedRows, RowLayout, association_type, encode_rows
from .keys import OWNER_PROPERTY, key_converter, owner_converter
from .mapping import ColumnTarget
from .messages import cell_message
from .readers import Table
from .rows import CellError, ValidatedRow
from .tuning import column_date_orders, file_decimal_comma, table_reading

START, END = "hs_appointment_start", "hs_appointment_end"
_SHOWN_CACHE_SIZE = 100_000


@dataclass(frozen=True)
class _Column:
    index: int
    header: str
    target: str
    convert: Callable[[object], Any]
    association: tuple[str, int] | None  # (associationCategory, associationTypeId)


class RowValidator:
    """Validates rows of one file (or the form grid) with converters built once per column.

    ``mapping`` has one entry per header (None: ignored). ``timezone`` reads times without an
    offset. ``date_order`` (``"DMY"``/``"MDY"``) forces the day/month order of every column;
    ``column_date_orders`` (column index -> order) sets it per column; otherwise an ambiguous
    value is an error. ``decimal_comma``: the file's number convention (None: unknown).
    ``date1904``: serial numbers count from 1904. ``keys``: the resolution of the natural keys
    (``intake.keys``) for key columns and the owner column; None: such cells are not
    resolved (key columns then find nothing, owners must be owner IDs).
    """

    def __init__(
        self,
        *,
        headers: list[str],
        mapping: list[ColumnTarget | None],
        properties: list[PropertyDefinition],
        timezone: ZoneInfo,
        date_order: str | None = None,
        column_date_orders: dict[int, str] | None = None,
        decimal_comma: bool | None = None,
        date1904: bool = False,
        keys: dict[str, Any] | None = None,
    ) -> None:
        if len(mapping) != len(headers):
            raise ValueError("mapping needs one entry per header")
        self.headers = headers
        # Where encode_rows puts property values and record IDs (one layout per batch).
        self.layout = RowLayout.of(mapping)
        by_name = {prop.name: prop for prop in properties}
        self._columns: list[_Column] = []
        # Date and datetime columns read the same way share one converter, so one memo
        # (start and end times repeat each other's values).
        shared: dict[tuple[str, str | None], Callable[[object], Any]] = {}
        labels = column_labels(headers)
        self._labels = labels
        self._date1904 = date1904
        # (date column, its time-of-day column or None, its fixed "HH:MM" or None).
        self._joins: list[tuple[int, int | None, str | None]] = []
        # Column index -> the datetime property its minutes count from.
        self._minutes: dict[int, str] = {}
        for index, (label, target) in enumerate(zip(labels, mapping, strict=True)):
            if target is None or target.kind == "contact":
                # A contact column is read only to create contacts (services.resolving).
                continue
            if target.kind == "association":
                association = association_type(
                    target.association_category, target.association_type_id
                )
                convert: Callable[[object], Any] = convert_record_ids
                if target.match_property:
                    convert = key_converter(keys or {}, target.name, target.match_property)
                self._columns.append(_Column(index, label, target.name, convert, association))
                continue
            prop = by_name.get(target.name)
            if prop is not None and prop.name == OWNER_PROPERTY and keys is not None:
                self._columns.append(
                    _Column(index, label, target.name, owner_converter(keys), None)
                )
                continue
            if prop is None:
                self._columns.append(_Column(index, label, target.name, refuse_unknown, None))
                continue
            if target.minutes_after is not None and prop.writable:
                # The cell is a duration; the value sent is computed once the row's other
                # properties are known (validate).
                self._minutes[index] = target.minutes_after
                self._columns.append(_Column(index, label, target.name, convert_minutes, None))
                continue
            if target.time_column is not None or target.fixed_time is not None:
                self._joins.append((index, target.time_column, target.fixed_time))
            order = date_order or (column_date_orders or {}).get(index)
            known_order = order if order in ("DMY", "MDY") else None
            key = (prop.type, known_order)
            converter = shared.get(key) if prop.writable else None
            if converter is None:
                converter = property_converter(
                    prop,
                    timezone=timezone,
                    date_order=known_order,
                    date1904=date1904,
                    decimal_comma=decimal_comma,
                    value_map=target.values,
                )
                if prop.writable and prop.type in ("date", "datetime"):
                    shared[key] = converter
            self._columns.append(_Column(index, label, target.name, converter, None))
        # A column used only where the winning column of its property is blank comes after it.
        self._fallback = {
            index for index, target in enumerate(mapping) if target is not None and target.fallback
        }
        self._columns.sort(key=lambda column: column.index in self._fallback)
        self.required = [
            (prop.name, prop.label) for prop in properties if prop.required and prop.writable
        ]
        self._by_target: dict[str, _Column] = {}
        for column in self._columns:
            self._by_target.setdefault(column.target, column)
        self._column_of = {target: column.header for target, column in self._by_target.items()}
        self._width = len(headers)
        self._columns_by_index = {column.index: column for column in self._columns}
        # (index, converter, target, (category, type id) or None), in column order.
        self.plan = [
            (column.index, column.convert, column.target, column.association)
            for column in self._columns
        ]
        self._shared_targets = len(self._by_target) < len(self._columns)
        # Values built from two cells (or a cell and a choice) are checked row by row.
        self._per_row = self._shared_targets or bool(self._joins or self._minutes)
        # For validate_rows: memos of the cacheable converters' plain functions, per column
        # index (one per converter), and of display text per set of cell types (see columnar).
        memo_of: dict[Callable[[object], Any], Memo] = {}
        self.memos = {
            index: memo_of.setdefault(convert, Memo(convert.__wrapped__))
            for index, convert, _target, _kind in self.plan
            if hasattr(convert, "__wrapped__")
        }
        self.display_memos: dict[frozenset[type], Memo] = {}
        # For encode_rows: association JSON per record-ID cell, per column index. Record IDs
        # repeat less than dates do, and their JSON is long: a smaller memo.
        self.association_json = {
            index: Memo(functools.partial(association_json, convert), limit=8192)
            for index, convert, _target, kind in self.plan
            if kind is not None
        }
        # Display text of typed workbook cells, which repeat (times, counts): computed once.
        self._display = functools.lru_cache(maxsize=_SHOWN_CACHE_SIZE, typed=True)(display_text)

    def validate(self, row_number: int, cells: list[object]) -> ValidatedRow:
        """Validate one row; ``cells`` in header order (short rows are padded with blanks)."""
        if len(cells) < self._width:
            cells = list(cells) + [""] * (self._width - len(cells))
        # Per-cell work is kept lean: 100,000-row files are validated in one request.
        display = self._display
        raw = [cell if type(cell) is str else display(cell) for cell in cells[: self._width]]
        nul = NUL in "".join(raw)
        if nul:
            raw = list(map(without_nul, raw))
        properties: dict[str, str] = {}
        associations: list[list[Any]] = []
        errors: list[CellError] = []
        skipped: set[int] = set()
        if self._joins:
            cells = self._joined(row_number, cells, errors, skipped)
        minutes: dict[str, tuple[str, int]] = {}
        for index, convert, target, kind in self.plan:
            cell = cells[index]
            if cell == "" or index in skipped:
                continue
            if index in self._fallback and target in properties:
                continue
            if nul and type(cell) is str and NUL in cell:
                problem = CellProblem("nul_character")
                errors.append(self._error(row_number, self._columns_by_index[index], cell, problem))
                continue
            try:
                value = convert(cell)
            except CellProblem as problem:
                errors.append(self._error(row_number, self._columns_by_index[index], cell, problem))
                continue
            if value is None:
                continue
            if index in self._minutes:
                minutes[target] = (value, index)
                continue
            if kind is not None:
                for id_ in value:
                    associations.append([id_, *kind])
            elif self._shared_targets and target in properties and properties[target] != value:
                other = self._column_of[target]
                conflict = CellProblem("conflicting_columns", other=other)
                errors.append(
                    self._error(row_number, self._columns_by_index[index], cell, conflict)
                )
            else:
                properties[target] = value
        for target, (value, index) in minutes.items():
            begins = properties.get(self._minutes[index])
            if begins is not None and target not in properties:
                # UTC arithmetic: a duration is elapsed time, whatever the clocks do meanwhile.
                moment = datetime.datetime.fromisoformat(begins.removesuffix("Z"))
                ends = moment + datetime.timedelta(minutes=float(value))
                properties[target] = ends.isoformat(timespec="seconds") + "Z"
        for name, label in self.required:
            # A filled but invalid cell already has its error; "required" is for blanks only.
            if name not in properties:
                header = self._column_of.get(name)
                if not any(e.column == header for e in errors):
                    errors.append(self._missing(row_number, name, label))
        end = properties.get(END)
        # Both are UTC "YYYY-MM-DDTHH:MM:SSZ" strings, which sort as the instants they name.
        if end is not None and (start := properties.get(START)) is not None and end < start:
            end_column, start_column = self._by_target[END], self._by_target[START]
            start_text = display_text(cells[start_column.index])
            late = CellProblem("end_before_start", start=start_text)
            errors.append(self._error(row_number, end_column, cells[end_column.index], late))
        return ValidatedRow(row_number, raw, properties, associations, errors)

    def _joined(
        self, row_number: int, cells: list[object], errors: list[CellError], skipped: set[int]
    ) -> list[object]:
        """``cells`` with each date column joined to its time of day (another column's cell,
        or a fixed time), for the datetime converter to read; a bad or missing time is an
        error of the time's column, and its date column is then ``skipped``."""
        cells = list(cells)
        for index, time_index, fixed in self._joins:
            date_cell = cells[index]
            source = cells[time_index] if time_index is not None else fixed
            if date_cell == "" or date_cell is None:
                if time_index is not None and display_text(source).strip():
                    # A time with no date would be dropped without a word.
                    lonely = CellProblem("time_without_date", time=display_text(source))
                    column = self._columns_by_index[index]
                    errors.append(self._error(row_number, column, "", lonely))
                continue
            at = (
                _Column(time_index, self._labels[time_index], "", str, None)
                if time_index is not None
                else self._columns_by_index[index]
            )
            try:
                time = parse_time_of_day(source)
            except CellProblem as problem:
                errors.append(self._error(row_number, at, source or "", problem))
                skipped.add(index)
                continue
            try:
                cells[index] = join_date_time(date_cell, time, self._date1904)
            except CellProblem as problem:
                column = self._columns_by_index[index]
                errors.append(self._error(row_number, column, date_cell, problem))
                skipped.add(index)
        return cells

    def validate_rows(self, rows: Sequence[tuple[int, list[object]]]) -> list[ValidatedRow]:
        """Validate many ``(row number, cells)`` at once; the same result as ``validate`` on each.

        Works column by column (see ``columnar``); a row with any problem goes through
        ``validate``, so errors have one source.
        """
        if self._per_row or not rows:
            return [self.validate(number, cells) for number, cells in rows]
        return validate_columns(self, rows)

    def encode_rows(self, rows: Sequence[tuple[int, list[object]]]) -> EncodedRows:
        """Validate many rows straight to their stored form: the same as
        ``encoding.encode_rows(validate_rows(rows))``, faster (see ``columnar``)."""
        if self._per_row or not rows:
            return encode_rows(
                (self.validate(number, cells) for number, cells in rows), self.layout
            )
        return encode_columns(self, rows)

    def _error(
        self, row_number: int, column: _Column, cell: object, problem: CellProblem
    ) -> CellError:
        value = without_nul(display_text(cell))
        params = {**problem.params, "name": column.target}
        message = cell_message(
            problem.code, row=row_number, column=column.header, value=value, params=params
        )
        return CellError(
            column=column.header, value=value, code=problem.code, message=message, params=params
        )

    def _missing(self, row_number: int, name: str, label: str) -> CellError:
        header = self._column_of.get(name)
        if header is None:
            message = cell_message("required_column", row=row_number, column=label, value="")
            return CellError(
                column=label, value="", code="required", message=message, params={"no_column": 1}
            )
        message = cell_message("required", row=row_number, column=header, value="")
        return CellError(column=header, value="", code="required", message=message, params={})


def snapshot_validator(
    *,
    headers: list[str],
    mapping: list[ColumnTarget | None],
    properties: list[PropertyDefinition],
    timezone: ZoneInfo,
    reading: dict[str, Any],
) -> RowValidator:
    """The RowValidator of a batch's snapshot, ``reading`` as ``tuning.table_reading`` gives
    it (with the natural keys' resolution under ``"keys"``): a fixed row is judged exactly as
    its file was."""
    return RowValidator(
        headers=headers,
        mapping=mapping,
        properties=properties,
        timezone=timezone,
        column_date_orders={
            int(index): order for index, order in (reading.get("column_date_orders") or {}).items()
        },
        decimal_comma=reading.get("decimal_comma"),
        date1904=bool(reading.get("date1904")),
        keys=reading.get("keys"),
    )


def table_validator(
    table: Table,
    *,
    mapping: list[ColumnTarget | None],
    properties: list[PropertyDefinition],
    timezone: ZoneInfo,
    date_order: str | None = None,
    date_orders: dict[int, str] | None = None,
    keys: dict[str, Any] | None = None,
) -> RowValidator:
    """A RowValidator with the choices this file's data decides: day/month order per column
    (``date_orders``, column index -> ``"DMY"``/``"MDY"``, for the columns a person decided;
    ``date_order`` forces every column), decimal comma, 1904 dates; ``keys`` the natural
    keys' resolution."""
    if date_order is None:
        reading = table_reading(table, mapping, properties, date_orders or {})
        if keys is not None:
            reading["keys"] = keys
        return snapshot_validator(
            headers=table.headers,
            mapping=mapping,
            properties=properties,
            timezone=timezone,
            reading=reading,
        )
    return RowValidator(
        headers=table.headers,
        mapping=mapping,
        properties=properties,
        timezone=timezone,
        date_order=date_order,
        column_date_orders=column_date_orders(table, mapping, properties),
        decimal_comma=file_decimal_comma(table, mapping, properties),
        date1904=table.date1904,
        keys=keys,
    )


def iter_encoded_chunks(
    table: Table,
    *,
    mapping: list[ColumnTarget | None],
    properties: list[PropertyDefinition],
    timezone: ZoneInfo,
    date_order: str | None = None,
    size: int = 2000,
) -> Iterator[EncodedRows]:
    """Validate ``table`` in file order, ``size`` rows at a time, as rows ready to store
    (``RowValidator.encode_rows``; see ``validate_table`` for the choices).

    For storing rows as they come: a 100,000-row file then never holds all its validated
    rows in memory at once.
    """
    with gc_paused():
        encode = table_validator(
            table, mapping=mapping, properties=properties, timezone=timezone, date_order=date_order
        ).encode_rows
    rows = table.rows
    for start in range(0, len(rows), size):
        with gc_paused():
            chunk = encode(rows[start : start + size])
        yield chunk


def validate_table(
    table: Table,
    *,
    mapping: list[ColumnTarget | None],
    properties: list[PropertyDefinition],
    timezone: ZoneInfo,
    date_order: str | None = None,
    date_orders: dict[int, str] | None = None,
    keys: dict[str, Any] | None = None,
) -> list[ValidatedRow]:
    """Validate every data row of ``table``, in file order.

    Unless ``date_order`` forces it, each date column's day/month order is decided from its
    unambiguous values (a column where every value reads both ways gets
    ``ambiguous_date_order`` errors: ask the user, then pass ``date_order``; ``column_date_orders``
    tells which columns those are). The number convention comes from the file (semicolon CSVs
    and ``1,5``-style values use a decimal comma). ``date_orders`` gives the person's order
    for such columns, as the mapping screen asks for it. The same as storing the file would
    give, without storing anything. ``keys``: the natural keys' resolution
    (``services.resolving.keys_resolve``).
    """
    with gc_paused():
        validator = table_validator(
            table,
            mapping=mapping,
            properties=properties,
            timezone=timezone,
            date_order=date_order,
            date_orders=date_orders,
            keys=keys,
        )
        return validator.validate_rows(table.rows)
