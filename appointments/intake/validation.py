"""Validate rows against the portal's property definitions: what would be sent, or why not.

One definition of a valid appointment row, for uploads and the form grid alike. Values follow
REFERENCE.md 4.3 (all strings), associations the ``PublicAssociationsForObject`` shape of the
batch-create body (REFERENCE.md 1.2, 3.1).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from appointments.hubspot.schema import PropertyDefinition

from .cells import FormulaWithoutValue, column_letter, display_text
from .converters import CellProblem, convert_record_ids, is_empty, property_converter
from .mapping import ColumnTarget
from .messages import cell_message
from .readers import Table
from .tuning import column_date_orders, file_decimal_comma

START, END = "hs_appointment_start", "hs_appointment_end"


@dataclass(frozen=True)
class CellError:
    """One bad cell. ``column`` is the header as in the file (the property label for a missing
    required property or the form grid); ``value`` the cell as displayed; ``code`` a machine
    code; ``message`` a sentence naming row, column, value and what to do."""

    column: str
    value: str
    code: str
    message: str


@dataclass(frozen=True)
class ValidatedRow:
    """One row: what the user gave, what would be sent, and what is wrong.

    ``raw``: header -> displayed text for every column (an empty header is keyed by its column
    letter, a repeated one as ``"Header (C)"``). ``properties``: internal name -> HubSpot string;
    empty cells are left out. ``associations``: ``[{"to": {"id": "123"}, "types":
    [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 906}]}]``.
    """

    row_number: int
    raw: dict[str, str]
    properties: dict[str, str]
    associations: list[dict[str, Any]]
    errors: list[CellError]

    @property
    def valid(self) -> bool:
        return not self.errors


def raw_keys(headers: list[str]) -> list[str]:
    """Unique keys for ``ValidatedRow.raw``: the header, or its column letter when empty or
    repeated."""
    keys: list[str] = []
    seen: set[str] = set()
    for index, header in enumerate(headers):
        key = header or column_letter(index)
        if key in seen:
            key = f"{header} ({column_letter(index)})"
        seen.add(key)
        keys.append(key)
    return keys


@dataclass(frozen=True)
class _Column:
    index: int
    header: str
    target: str
    convert: Callable[[object], Any]
    association: dict[str, Any] | None


class RowValidator:
    """Validates rows of one file (or the form grid) with converters built once per column.

    ``mapping`` has one entry per header (None: ignored). ``timezone`` reads times without an
    offset. ``date_order`` (``"DMY"``/``"MDY"``) forces the day/month order of every column;
    ``column_date_orders`` (column index -> order) sets it per column; otherwise an ambiguous
    value is an error. ``decimal_comma``: the file's number convention (None: unknown).
    ``date1904``: serial numbers count from 1904.
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
    ) -> None:
        if len(mapping) != len(headers):
            raise ValueError("mapping needs one entry per header")
        self.headers = headers
        self._keys = raw_keys(headers)
        by_name = {prop.name: prop for prop in properties}
        self._columns: list[_Column] = []
        mapped: set[str] = set()
        for index, (header, target) in enumerate(zip(headers, mapping, strict=True)):
            if target is None:
                continue
            label = header or column_letter(index)
            if target.kind == "association":
                association = {
                    "associationCategory": target.association_category or "HUBSPOT_DEFINED",
                    "associationTypeId": target.association_type_id,
                }
                self._columns.append(
                    _Column(index, label, target.name, convert_record_ids, association)
                )
                continue
            prop = by_name.get(target.name)
            if prop is None:
                self._columns.append(_Column(index, label, target.name, _unknown, None))
                continue
            order = date_order or (column_date_orders or {}).get(index)
            converter = property_converter(
                prop,
                timezone=timezone,
                date_order=order if order in ("DMY", "MDY") else None,
                date1904=date1904,
                decimal_comma=decimal_comma,
            )
            self._columns.append(_Column(index, label, target.name, converter, None))
            mapped.add(target.name)
        self._required = [
            (prop.name, prop.label) for prop in properties if prop.required and prop.writable
        ]
        self._unmapped_required = [
            (name, label) for name, label in self._required if name not in mapped
        ]
        self._by_target: dict[str, _Column] = {}
        for column in self._columns:
            self._by_target.setdefault(column.target, column)
        self._column_of = {target: column.header for target, column in self._by_target.items()}

    def validate(self, row_number: int, cells: list[object]) -> ValidatedRow:
        """Validate one row; ``cells`` in header order (short rows are padded with blanks)."""
        if len(cells) < len(self._keys):
            cells = list(cells) + [""] * (len(self._keys) - len(cells))
        raw = dict(zip(self._keys, map(display_text, cells), strict=False))
        properties: dict[str, str] = {}
        associations: list[dict[str, Any]] = []
        errors: list[CellError] = []
        for column in self._columns:
            cell = cells[column.index]
            if is_empty(cell):
                continue
            try:
                if isinstance(cell, FormulaWithoutValue):
                    raise CellProblem("formula_without_value")
                value = column.convert(cell)
            except CellProblem as problem:
                errors.append(self._error(row_number, column, cell, problem))
                continue
            if column.association is not None:
                types = [column.association]
                associations.extend({"to": {"id": id_}, "types": types} for id_ in value)
            elif column.target in properties and properties[column.target] != value:
                other = self._column_of[column.target]
                errors.append(
                    self._error(
                        row_number, column, cell, CellProblem("conflicting_columns", other=other)
                    )
                )
            else:
                properties[column.target] = value
        for name, label in self._required:
            # A filled but invalid cell already has its error; "required" is for blanks only.
            header = self._column_of.get(name)
            if name not in properties and not any(e.column == header for e in errors):
                errors.append(self._missing(row_number, name, label))
        start, end = properties.get(START), properties.get(END)
        # Both are UTC "YYYY-MM-DDTHH:MM:SSZ" strings, which sort as the instants they name.
        if start and end and end < start:
            end_column, start_column = self._by_target[END], self._by_target[START]
            shown = display_text(cells[start_column.index])
            late = CellProblem("end_before_start", start=shown)
            errors.append(self._error(row_number, end_column, cells[end_column.index], late))
        return ValidatedRow(row_number, raw, properties, associations, errors)

    def _error(
        self, row_number: int, column: _Column, cell: object, problem: CellProblem
    ) -> CellError:
        value = display_text(cell)
        params = {**problem.params, "name": column.target}
        message = cell_message(
            problem.code, row=row_number, column=column.header, value=value, params=params
        )
        return CellError(column=column.header, value=value, code=problem.code, message=message)

    def _missing(self, row_number: int, name: str, label: str) -> CellError:
        header = self._column_of.get(name)
        if header is None:
            message = cell_message("required_column", row=row_number, column=label, value="")
            return CellError(column=label, value="", code="required", message=message)
        message = cell_message("required", row=row_number, column=header, value="")
        return CellError(column=header, value="", code="required", message=message)


def _unknown(cell: object) -> str:
    raise CellProblem("unknown_property")


def validate_table(
    table: Table,
    *,
    mapping: list[ColumnTarget | None],
    properties: list[PropertyDefinition],
    timezone: ZoneInfo,
    date_order: str | None = None,
) -> list[ValidatedRow]:
    """Validate every data row of ``table``, in file order.

    Unless ``date_order`` forces it, each date column's day/month order is decided from its
    unambiguous values (a column where every value reads both ways gets
    ``ambiguous_date_order`` errors: ask the user, then pass ``date_order``). The number
    convention comes from the file (semicolon CSVs and ``1,5``-style values use a decimal comma).
    """
    validator = RowValidator(
        headers=table.headers,
        mapping=mapping,
        properties=properties,
        timezone=timezone,
        date_order=date_order,
        column_date_orders=column_date_orders(table, mapping, properties),
        decimal_comma=file_decimal_comma(table, mapping, properties),
        date1904=table.date1904,
    )
    validate = validator.validate
    return [validate(number, cells) for number, cells in table.rows]
