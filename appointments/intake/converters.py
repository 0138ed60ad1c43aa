"""Per-type cell converters built once per column: each turns a cell into HubSpot's string.

Rules follow HubSpot's property value formats (all values are strings; numbers with a dot;
bools ``true``/``false``; enumerations by option value, ``;`` between several):
https://developers.hubspot.com/docs/api/crm/properties and https://developers.hubspot.com/docs/api/faq.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable
from decimal import Decimal
from zoneinfo import ZoneInfo

from appointments.hubspot.schema import PropertyDefinition

from .cells import FormulaWithoutValue, display_text, float_text
from .dates import CellProblem, date_converter, datetime_converter

Converter = Callable[[object], str | None]

# HubSpot's limit for a string property value (https://developers.hubspot.com/docs/api/crm/properties).
MAX_STRING_LENGTH = 65_536
# Record IDs above this cannot come exactly from a float cell.
_MAX_EXACT_FLOAT = 2**53

_BOOLS = {
    "true": "true",
    "false": "false",
    "yes": "true",
    "no": "false",
    "oui": "true",
    "non": "false",
    "vrai": "true",
    "faux": "false",
    "1": "true",
    "0": "false",
}
_SPACES = str.maketrans("", "", " \u00a0\u202f'")
_PLAIN = re.compile(r"^[+-]?\d+(?:\.\d+)?$")
_DECIMAL_COMMA = re.compile(r"^[+-]?\d+,\d+$")
_GROUPED_COMMA = re.compile(r"^[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?$")
_GROUPED_DOT = re.compile(r"^[+-]?\d{1,3}(?:\.\d{3})+(?:,\d+)?$")
_RECORD_ID = re.compile(r"^\d+(?:\.0+)?$")
# The common record-ID cells: one ID, or several separated by ";", in ASCII digits.
_PLAIN_IDS = re.compile(r"[1-9][0-9]*(?:;[1-9][0-9]*)*")


def _decimal_text(text: str) -> str:
    return format(Decimal(text), "f")


def parse_number(text: str, decimal_comma: bool | None) -> str:
    """A number typed as text, sent with a dot: ``"1 234,5"`` -> ``"1234.5"``.

    ``decimal_comma`` is the file's convention (True: ``1.234,5``; False: ``1,234.5``; None:
    unknown). ``"1,500"`` with an unknown convention raises CellProblem ``ambiguous_number``;
    anything else that is not a number raises ``invalid_number``.
    """
    compact = text.translate(_SPACES)
    if _PLAIN.match(compact):
        if decimal_comma and _GROUPED_DOT.match(compact):
            return _decimal_text(compact.replace(".", ""))
        return _decimal_text(compact)
    if _GROUPED_DOT.match(compact) and "," in compact:
        return _decimal_text(compact.replace(".", "").replace(",", "."))
    if _GROUPED_COMMA.match(compact):
        if "." in compact or compact.count(",") > 1 or decimal_comma is False:
            return _decimal_text(compact.replace(",", ""))
        if decimal_comma is None:
            raise CellProblem("ambiguous_number")
    if _DECIMAL_COMMA.match(compact):
        return _decimal_text(compact.replace(",", "."))
    raise CellProblem("invalid_number")


def number_converter(decimal_comma: bool | None) -> Converter:
    def convert(cell: object) -> str | None:
        if type(cell) is str:
            text = cell.strip()
            return parse_number(text, decimal_comma) if text else None
        if type(cell) is float:
            if math.isfinite(cell):
                return float_text(cell)
            raise CellProblem("invalid_number")
        if type(cell) is int:
            return str(cell)
        if cell is None:
            return None
        if isinstance(cell, FormulaWithoutValue):
            raise CellProblem("formula_without_value")
        raise CellProblem("invalid_number")

    return convert


def convert_bool(cell: object) -> str | None:
    if isinstance(cell, bool):
        return "true" if cell else "false"
    if isinstance(cell, FormulaWithoutValue):
        raise CellProblem("formula_without_value")
    text = display_text(cell).strip()
    if not text:
        return None
    value = _BOOLS.get(text.casefold())
    if value is None:
        raise CellProblem("invalid_bool")
    return value


def enumeration_converter(
    prop: PropertyDefinition, value_map: tuple[tuple[str, str], ...] = ()
) -> Converter:
    """Option values and labels, case-insensitively, to the option's value.

    ``value_map``: the file's own words for options, ``(text, option value)`` pairs chosen on
    the mapping screen (``ColumnTarget.values``), read the same way; a pair naming no option
    of ``prop`` is left out. Multi-select (``fieldType`` checkbox) cells list several,
    separated by ``;``; they are sent ``;``-joined without spaces, each once, in the order given.
    """
    lookup: dict[str, str] = {}
    for option in prop.options:
        lookup.setdefault(" ".join(option.label.split()).casefold(), option.value)
    for option in prop.options:
        lookup[option.value.strip().casefold()] = option.value
    values = {option.value for option in prop.options}
    for text, value in value_map:
        if value in values:
            lookup[" ".join(text.split()).casefold()] = value
    choices = ", ".join(option.label for option in prop.options if not option.hidden)

    def find(text: str) -> str:
        value = lookup.get(" ".join(text.split()).casefold())
        if value is None:
            raise CellProblem("invalid_option", choices=choices, part=text)
        return value

    def convert(cell: object) -> str | None:
        if isinstance(cell, FormulaWithoutValue):
            raise CellProblem("formula_without_value")
        text = display_text(cell).strip()
        if not text:
            return None
        if not prop.multiple:
            return find(text)
        values: list[str] = []
        for part in text.split(";"):
            if part.strip():
                value = find(part.strip())
                if value not in values:
                    values.append(value)
        return ";".join(values) or None

    return convert


def convert_string(cell: object) -> str | None:
    if type(cell) is str:
        text = cell.strip()
    elif isinstance(cell, FormulaWithoutValue):
        raise CellProblem("formula_without_value")
    else:
        text = display_text(cell)
    if len(text) > MAX_STRING_LENGTH:
        raise CellProblem("too_long", length=len(text))
    return text or None


def convert_record_ids(cell: object) -> list[str] | None:
    """Record IDs, digits only; ``51234.0`` is ``51234``; several separated by ``;``.

    A float cell too large to be exact, a fraction, a sign, a letter or zero raises
    CellProblem ``invalid_record_id``. None for a blank cell.
    """
    if type(cell) is str:
        if _PLAIN_IDS.fullmatch(cell):
            ids = cell.split(";")
            if len(ids) == 1 or len(set(ids)) == len(ids):
                return ids
        return _split_record_ids(cell)
    if type(cell) is float:
        if not cell.is_integer() or not 0 < cell < _MAX_EXACT_FLOAT:
            raise CellProblem("invalid_record_id")
        return [str(int(cell))]
    if type(cell) is int:
        if cell <= 0:
            raise CellProblem("invalid_record_id")
        return [str(cell)]
    if cell is None:
        return None
    if isinstance(cell, FormulaWithoutValue):
        raise CellProblem("formula_without_value")
    raise CellProblem("invalid_record_id")


def _split_record_ids(text: str) -> list[str] | None:
    fast: list[str] = []
    for part in text.split(";"):
        part = part.strip()
        if part.isdigit() and part.isascii() and part[0] != "0":
            if part not in fast:
                fast.append(part)
        elif part:
            break
    else:
        return fast or None
    ids: list[str] = []
    for part in text.split(";"):
        part = part.strip()
        if not part:
            continue
        if not (_RECORD_ID.match(part) and part.isascii()):
            raise CellProblem("invalid_record_id", part=part)
        value = str(int(part.split(".")[0]))
        if value == "0":
            raise CellProblem("invalid_record_id", part=part)
        if value not in ids:
            ids.append(value)
    return ids or None


def convert_minutes(cell: object) -> str | None:
    """A duration in minutes (``45``, ``"90"``, ``"1,5"`` is refused: whole minutes or a dot
    decimal) as text; None for a blank cell. Raises CellProblem ``invalid_minutes`` for a
    negative or non-numeric value."""
    if isinstance(cell, (bool, FormulaWithoutValue)):
        raise CellProblem("invalid_minutes")
    text = display_text(cell).strip()
    if not text:
        return None
    if not _PLAIN.match(text) or text.startswith("-"):
        raise CellProblem("invalid_minutes")
    return _decimal_text(text.lstrip("+"))


# The record ID property: read-only in HubSpot, but a column mapped to it names the record a
# row updates (batch update by ID), so its cells are record IDs, never a value sent.
RECORD_ID_PROPERTY = "hs_object_id"


def convert_record_id(cell: object) -> str | None:
    """One record ID (digits; ``51234.0`` is ``51234``) as text, None for a blank cell.
    Raises CellProblem ``invalid_record_id`` for anything else, several IDs included."""
    ids = convert_record_ids(cell)
    if ids is None:
        return None
    if len(ids) != 1:
        raise CellProblem("invalid_record_id")
    return ids[0]


def refuse_read_only(cell: object) -> str | None:
    if type(cell) is str and not cell.strip():
        return None
    raise CellProblem("read_only")


def refuse_unknown(cell: object) -> str | None:
    if type(cell) is str and not cell.strip():
        return None
    raise CellProblem("unknown_property")


# Enough for the distinct values of a long column; beyond it the least recent are dropped.
_CACHE_SIZE = 131_072


def cached(convert: Converter) -> Converter:
    """Memoise a converter: values repeat in real files (slots, statuses, dates), so each
    distinct value is converted once and shares one result string.

    ``typed=True`` keeps ``1``, ``1.0`` and ``True`` apart. Failures are not cached, so each
    bad cell raises its own CellProblem. The cache lookup runs in C (functools).
    """
    return functools.lru_cache(maxsize=_CACHE_SIZE, typed=True)(convert)


def property_converter(
    prop: PropertyDefinition,
    *,
    timezone: ZoneInfo,
    date_order: str | None,
    date1904: bool,
    decimal_comma: bool | None,
    value_map: tuple[tuple[str, str], ...] = (),
) -> Converter:
    """The converter for one property's column, from its HubSpot ``type`` (``value_map``: an
    enumeration's words for its options, see ``enumeration_converter``).

    It returns the string to send, None for a blank cell, or raises CellProblem.
    """
    if not prop.writable:
        return refuse_read_only
    if prop.type == "datetime":
        return cached(datetime_converter(timezone, date_order, date1904))
    if prop.type == "date":
        return cached(date_converter(date_order, date1904))
    if prop.type == "number":
        return cached(number_converter(decimal_comma))
    if prop.type == "bool":
        return cached(convert_bool)
    if prop.type == "enumeration":
        return cached(enumeration_converter(prop, value_map))
    return convert_string
