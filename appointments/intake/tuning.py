"""File-wide reading choices decided from the data: day/month order per column, decimal comma."""

from __future__ import annotations

from collections import Counter
from typing import Any

from appointments.hubspot.schema import PropertyDefinition

from .converters import _DECIMAL_COMMA, _GROUPED_COMMA, _GROUPED_DOT, _PLAIN
from .dates import order_votes
from .mapping import ColumnTarget
from .readers import Table

# The day/month orders a person can choose for a column whose dates read both ways.
DATE_ORDERS = ("DMY", "MDY")
# Enough telling values to decide a column; scanning stops there, so big files cost no more.
_ENOUGH_VOTES = 500
# Text cells without a single day/month date after which a column is taken for not a date one.
_NOT_DATES = 50


def _columns_of_type(
    mapping: list[ColumnTarget | None], properties: list[PropertyDefinition], types: set[str]
) -> list[int]:
    kinds = {prop.name: prop.type for prop in properties}
    return [
        index
        for index, target in enumerate(mapping)
        if target is not None and target.kind == "property" and kinds.get(target.name) in types
    ]


def column_date_orders(
    table: Table, mapping: list[ColumnTarget | None], properties: list[PropertyDefinition]
) -> dict[int, str]:
    """Column index -> ``"DMY"``, ``"MDY"`` or ``"ambiguous"`` for date and datetime columns
    holding day/month text.

    An order is chosen when the column's unambiguous values (``25/03/2026``) point to it, by
    majority if they disagree; ``"ambiguous"`` means every value reads both ways: ask the user.
    Columns with no such text (ISO dates, workbook dates) are left out.
    """
    orders: dict[int, str] = {}
    for index in _columns_of_type(mapping, properties, {"date", "datetime"}):
        if verdict := _date_order(table, index, give_up_after=None):
            orders[index] = verdict
    return orders


def _date_order(table: Table, index: int, *, give_up_after: int | None) -> str | None:
    """The day/month verdict of column ``index`` (see ``column_date_orders``), or None. With
    ``give_up_after``, a column whose first that many text cells hold no day/month date at all
    is taken for another kind of column."""
    votes: Counter[str | None] = Counter()
    for _number, cells in table.rows:
        cell = cells[index]
        # Blanks never vote (they read neither way), nor count toward giving up.
        if type(cell) is not str or not cell.strip():
            continue
        votes[order_votes(cell)] += 1
        if votes["DMY"] + votes["MDY"] >= _ENOUGH_VOTES:
            break
        if give_up_after is not None and votes[None] >= give_up_after and len(votes) == 1:
            break
    if votes["DMY"] or votes["MDY"]:
        return "DMY" if votes["DMY"] >= votes["MDY"] else "MDY"
    return "ambiguous" if votes["ambiguous"] else None


def file_decimal_comma(
    table: Table, mapping: list[ColumnTarget | None], properties: list[PropertyDefinition]
) -> bool | None:
    """Whether the file writes decimals with a comma, from its number columns' text.

    ``1,5`` or ``1.234,5`` say yes; ``1.5`` or ``1,234.5`` say no; the majority wins. Without
    such values a semicolon-separated CSV (Excel's export where the comma is the decimal mark)
    says yes; otherwise None (unknown: ``1,500`` is then refused as ambiguous).
    """
    comma = dot = 0
    for index in _columns_of_type(mapping, properties, {"number"}):
        for _number, cells in table.rows:
            cell = cells[index]
            if type(cell) is not str or cell.isdigit():
                continue
            text = cell.strip().replace(" ", "")
            says_comma = (_DECIMAL_COMMA.match(text) and not _GROUPED_COMMA.match(text)) or (
                _GROUPED_DOT.match(text) and "," in text
            )
            says_dot = (_GROUPED_COMMA.match(text) and "." in text) or (
                _PLAIN.match(text) and "." in text and not _GROUPED_DOT.match(text)
            )
            comma += bool(says_comma)
            dot += bool(says_dot)
            if comma + dot >= _ENOUGH_VOTES:
                return comma > dot
    if comma or dot:
        return comma > dot
    if table.delimiter == ";":
        return True
    return None


def date_order_verdicts(table: Table) -> dict[int, str]:
    """Column index -> ``"DMY"``, ``"MDY"`` or ``"ambiguous"`` for every column holding
    day/month text, whatever it is mapped to: kept with an upload's preview, so the mapping
    screen can ask the order of any column a person maps to a date without reading the file.

    The same votes as ``column_date_orders``; a column whose first ``_NOT_DATES`` text cells
    hold no day/month date at all is taken for another kind of column and left.
    """
    verdicts: dict[int, str] = {}
    for index in range(len(table.headers)):
        if verdict := _date_order(table, index, give_up_after=_NOT_DATES):
            verdicts[index] = verdict
    return verdicts


def ambiguous_date_columns(
    verdicts: dict[int, str],
    mapping: list[ColumnTarget | None],
    properties: list[PropertyDefinition],
) -> list[int]:
    """Indexes of the columns mapped to a date or datetime property where every value reads
    both as D/M and M/D (``verdicts`` as ``date_order_verdicts`` gives them)."""
    dated = _columns_of_type(mapping, properties, {"date", "datetime"})
    return [index for index in dated if verdicts.get(index) == "ambiguous"]


def table_reading(
    table: Table,
    mapping: list[ColumnTarget | None],
    properties: list[PropertyDefinition],
    chosen_orders: dict[int, str],
) -> dict[str, Any]:
    """The reading choices stored on a batch: ``{"column_date_orders": {"<index>": "DMY" or
    "MDY"}, "decimal_comma": bool or None, "date1904": bool, "unescaped_cells": int}``, each
    column's day/month order being the data's, or the person's (``chosen_orders``) where the
    data is ambiguous; ``unescaped_cells`` the cells whose download escape was taken off."""
    orders = {
        str(index): chosen_orders.get(index, order)
        for index, order in column_date_orders(table, mapping, properties).items()
    }
    return {
        "column_date_orders": {k: v for k, v in orders.items() if v in DATE_ORDERS},
        "decimal_comma": file_decimal_comma(table, mapping, properties),
        "date1904": table.date1904,
        "unescaped_cells": table.unescaped,
    }
