"""Validated rows as the JSON text their stored columns hold.

Storing a row means writing its ``raw``, ``properties``, ``associations`` and ``errors`` as JSON
(``services.storage``). A row validated alone is encoded here with orjson; the column-at-a-time
path (``columnar.encode_columns``) gives the same text, byte for byte (orjson writes no spaces,
and the association items it joins itself hold only ASCII digits and fixed names).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from .validation import ValidatedRow

EMPTY_LIST = "[]"


@dataclass(slots=True)
class EncodedRows:
    """Validated rows ready to store, one list per stored column, in row order.

    ``raw``, ``properties``, ``associations`` and ``errors`` hold JSON text of ValidatedRow's
    shapes (an array, an object, arrays); ``valid`` is True for a row without errors. Kept by
    column so a chunk of 2,000 rows goes into the database without a Python object per row.
    """

    row_numbers: list[int] = field(default_factory=list)
    raw: list[str] = field(default_factory=list)
    properties: list[str] = field(default_factory=list)
    associations: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    valid: list[bool] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.row_numbers)

    def append(self, row: ValidatedRow) -> None:
        """Add one ValidatedRow at the end."""
        for column, value in zip(self._columns(), _encoded(row), strict=True):
            column.append(value)

    def _columns(self) -> tuple[list[Any], ...]:
        return (
            self.row_numbers,
            self.raw,
            self.properties,
            self.associations,
            self.errors,
            self.valid,
        )

    def put(self, position: int, row: ValidatedRow) -> None:
        """Set the row at ``position`` to ``row`` (its row number included)."""
        for column, value in zip(self._columns(), _encoded(row), strict=True):
            column[position] = value


def _encoded(row: ValidatedRow) -> tuple[object, ...]:
    """One row's values in ``EncodedRows`` field order."""
    return (
        row.row_number,
        json_text(row.raw),
        json_text(row.properties),
        json_text(row.associations),
        json_text(row.errors),
        not row.errors,
    )


def json_text(value: object) -> str:
    """Compact JSON for dicts, lists, strings and CellError dataclasses (as objects)."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        # orjson refuses what the stdlib accepts with escapes (a lone surrogate in a cell).
        return json.dumps(value, default=dataclasses.asdict, separators=(",", ":"))


def encode_rows(rows: Iterable[ValidatedRow]) -> EncodedRows:
    """The stored form of ValidatedRows validated one at a time."""
    encoded = EncodedRows()
    for row in rows:
        encoded.append(row)
    return encoded
