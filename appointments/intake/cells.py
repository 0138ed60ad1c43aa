"""Cell values as readers give them, and their display text for messages and raw storage."""

from __future__ import annotations

import datetime
from collections import Counter
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any, Final


class FormulaWithoutValue:
    """Marks a workbook cell holding a formula that was saved without its computed value.

    Such a cell is an error wherever it is mapped: sending the formula text would store it as
    data. The reader puts the single instance ``FORMULA_WITHOUT_VALUE`` in that cell's place.
    """

    _instance: FormulaWithoutValue | None = None

    def __new__(cls) -> FormulaWithoutValue:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "FORMULA_WITHOUT_VALUE"

    def __str__(self) -> str:
        return ""


FORMULA_WITHOUT_VALUE: Final = FormulaWithoutValue()

# What a cell may hold: text from CSV, python-calamine's typed values from workbooks, or the marker.
Cell = (
    str
    | int
    | float
    | bool
    | datetime.datetime
    | datetime.date
    | datetime.time
    | datetime.timedelta
    | FormulaWithoutValue
    | None
)


def float_text(value: float) -> str:
    """A float as a person reads it: ``51234.0`` -> ``51234``, ``0.1`` -> ``0.1``, no exponent."""
    if value.is_integer():
        return str(int(value))
    return format(Decimal(repr(value)), "f")


def _datetime_text(value: datetime.datetime) -> str:
    if value.second or value.microsecond:
        return value.isoformat(" ", "seconds")
    return value.isoformat(" ", "minutes")


def _time_text(value: datetime.time) -> str:
    return value.isoformat("seconds" if value.second else "minutes")


_DISPLAY: dict[type, Callable[[Any], str]] = {
    str: str,
    float: float_text,
    int: str,
    bool: lambda value: "TRUE" if value else "FALSE",
    datetime.datetime: _datetime_text,
    datetime.date: datetime.date.isoformat,
    datetime.time: _time_text,
    type(None): lambda value: "",
    FormulaWithoutValue: lambda value: "",
}


def display_text(value: object) -> str:
    """The cell as displayed text: what the user sees in the spreadsheet, for raw storage.

    Strings are returned unchanged; numbers without a needless ``.0``; dates as ``YYYY-MM-DD``;
    datetimes as ``YYYY-MM-DD HH:MM`` (seconds only when not zero); booleans as ``TRUE``/``FALSE``
    as spreadsheets show them; empty cells and formulas without a saved value as ``""``.
    """
    return _DISPLAY.get(type(value), str)(value)


NUL = "\x00"

# What a spreadsheet would run as a formula: the product's downloads put a single quote before
# a cell starting with one of these (OWASP's CSV-injection advice; services.exports), and an
# upload takes that quote off again (``unescape_own_export``).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def unescape_own_export(cell: object) -> object:
    """``cell`` without the single quote the product's downloads put before a text that would
    run as a formula (``'=1+2`` -> ``=1+2``, ``'+33 1 23`` -> ``+33 1 23``); anything else as
    it is. Such a cell is then mapped, checked and sent as it was before download."""
    if isinstance(cell, str) and cell[:1] == "'" and cell[1:2] and cell[1] in FORMULA_PREFIXES:
        return cell[1:]
    return cell


def without_nul(text: str) -> str:
    """``text`` with each NUL character as U+FFFD (``�``), as a browser shows it. A file's NUL
    is never stored (PostgreSQL's jsonb cannot hold it) nor sent: a mapped cell holding one is
    an error (``nul_character``), an ignored one is kept with the replacement."""
    return text.replace(NUL, "\ufffd")


def column_labels(headers: Sequence[str]) -> list[str]:
    """How messages name each column: its header; its letter when the header is empty; the
    header and its letter when the header is repeated (``"contact_ids (J)"``)."""
    counts = Counter(headers)
    return [
        (header if counts[header] == 1 else f"{header} ({column_letter(index)})")
        if header
        else column_letter(index)
        for index, header in enumerate(headers)
    ]


def column_letter(index: int) -> str:
    """Spreadsheet column letters for a 0-based index: 0 -> ``A``, 25 -> ``Z``, 26 -> ``AA``."""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def column_index(letters: str) -> int:
    """The 0-based index of spreadsheet column ``letters`` (inverse of ``column_letter``)."""
    index = 0
    for char in letters:
        index = index * 26 + ord(char) - 64
    return index - 1
