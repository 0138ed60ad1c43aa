"""Date and datetime cells to HubSpot's strings: day/month order, Excel serials, DST checks.

HubSpot takes dates as ``YYYY-MM-DD`` (midnight UTC) and datetimes as UTC ISO-8601
(https://developers.hubspot.com/docs/api/faq, "How should I format timestamps"). Local times go
through zoneinfo, whose ``fold`` tells a skipped or repeated hour apart.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from zoneinfo import ZoneInfo

from .cells import FormulaWithoutValue

UTC = datetime.UTC
EPOCH_1900 = datetime.datetime(1899, 12, 30)  # Excel's 1900 system, past its 1900 leap-year bug
EPOCH_1904 = datetime.datetime(1904, 1, 1)
# Serial 61 is 1 March 1900, where the two systems' arithmetic agrees; 2958466 is year 10000.
_SERIAL_RANGE = (61, 2958466)

_TIME = r"(?:[ T]+(\d{1,2})[:hH](\d{2})(?::(\d{2}))?\s*([aApP][mM])?)?"
DAY_MONTH = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})" + _TIME + r"$")
YEAR_FIRST = re.compile(r"^(\d{4})[/.\-](\d{1,2})[/.\-](\d{1,2})" + _TIME + r"$")


class CellProblem(Exception):
    """A cell that cannot be converted: ``code`` is CellError's, ``params`` fill its message."""

    def __init__(self, code: str, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


def order_votes(text: str) -> str | None:
    """``"DMY"``/``"MDY"`` when a day/month text reads one way only, ``"ambiguous"`` when it
    reads both ways (``03/04/2026``), None when it is no day/month text."""
    match = DAY_MONTH.match(text.strip())
    if not match:
        return None
    first, second = int(match[1]), int(match[2])
    if first > 12 >= second:
        return "DMY"
    if second > 12 >= first:
        return "MDY"
    return "ambiguous" if first != second else "DMY"


def _with_time(
    year: int, month: int, day: int, match: re.Match[str], start: int
) -> datetime.datetime:
    hour, minute, second, meridiem = match.group(start, start + 1, start + 2, start + 3)
    h = int(hour or 0)
    if meridiem:
        if not 1 <= h <= 12:
            raise ValueError("hour out of range for AM/PM")
        h = h % 12 + (12 if meridiem.lower() == "pm" else 0)
    return datetime.datetime(year, month, day, h, int(minute or 0), int(second or 0))


def parse_text(text: str, order: str | None) -> datetime.datetime:
    """Parse ISO-8601 (any offset kept), ``D/M/Y`` or ``M/D/Y`` by ``order``, or ``Y/M/D``.

    Raises CellProblem ``ambiguous_date_order`` when ``order`` is None and both readings are
    valid dates, ValueError when the text is no date at all.
    """
    # ISO text has its year first; trying day/month text first spares an exception per cell.
    match = None if text[4:5] == "-" else DAY_MONTH.match(text)
    if match is None:
        try:
            return datetime.datetime.fromisoformat(text)
        except ValueError:
            match = DAY_MONTH.match(text)
    if match:
        first, second, year = int(match[1]), int(match[2]), int(match[3])
        if order is None:
            if first <= 12 and second <= 12 and first != second:
                raise CellProblem("ambiguous_date_order", first=first, second=second)
            order = "MDY" if second > 12 else "DMY"
        day, month = (first, second) if order == "DMY" else (second, first)
        return _with_time(year, month, day, match, 4)
    match = YEAR_FIRST.match(text)
    if match:
        return _with_time(int(match[1]), int(match[2]), int(match[3]), match, 4)
    raise ValueError(text)


def from_serial(value: float, date1904: bool) -> datetime.datetime:
    """An Excel serial day number as a naive datetime, to the nearest second."""
    if value != value or not _SERIAL_RANGE[0] <= value < _SERIAL_RANGE[1]:  # NaN, or out of range
        raise ValueError(value)
    epoch = EPOCH_1904 if date1904 else EPOCH_1900
    return epoch + datetime.timedelta(seconds=round(value * 86400))


def to_utc(naive: datetime.datetime, timezone: ZoneInfo) -> datetime.datetime:
    """Read a wall-clock time in ``timezone``; the naive UTC datetime of that instant.

    Raises CellProblem ``nonexistent_time`` for a time skipped by a daylight-saving change and
    ``ambiguous_time`` for one that happens twice (with both offsets, for the message).
    """
    offset = timezone.utcoffset(naive)
    # zoneinfo gives a skipped or repeated wall time two offsets, one per fold (PEP 495).
    if offset != timezone.utcoffset(naive.replace(fold=1)):
        first = naive.replace(tzinfo=timezone)
        second = naive.replace(tzinfo=timezone, fold=1)
        back = first.astimezone(UTC).astimezone(timezone).replace(tzinfo=None)
        if back != naive:
            raise CellProblem("nonexistent_time", zone=timezone.key)
        raise CellProblem(
            "ambiguous_time",
            zone=timezone.key,
            first_offset=first.strftime("%:z"),
            second_offset=second.strftime("%:z"),
        )
    # The same instant astimezone(UTC) gives, without building an aware value per cell.
    return naive - offset  # type: ignore[operator]


def _cell_value(
    cell: object, order: str | None, date1904: bool, invalid: str
) -> datetime.datetime | datetime.date | None:
    """One cell as what it holds: a datetime (text, workbook datetime, Excel serial), a date
    (a workbook date) or None (blank). Raises CellProblem ``invalid`` when it is none of them,
    ``formula_without_value`` for a formula the workbook never computed."""
    if type(cell) is datetime.datetime:  # first: by far the commonest in workbooks
        return cell
    if type(cell) is str:
        text = cell.strip()
        if not text:
            return None
        try:
            return parse_text(text, order)
        except ValueError:
            raise CellProblem(invalid) from None
    if cell is None:
        return None
    if isinstance(cell, datetime.date):
        return cell
    if isinstance(cell, (int, float)) and not isinstance(cell, bool):
        try:
            return from_serial(cell, date1904)
        except (ValueError, OverflowError):
            raise CellProblem(invalid) from None
    if isinstance(cell, FormulaWithoutValue):
        raise CellProblem("formula_without_value")
    raise CellProblem(invalid)


def datetime_converter(
    timezone: ZoneInfo, order: str | None, date1904: bool
) -> Callable[[object], str | None]:
    """A converter from one cell to ``YYYY-MM-DDTHH:MM:SSZ`` (None if blank); raises CellProblem.

    Accepts datetimes and dates (as midnight) from workbooks, Excel serial numbers (1900 or
    1904 system), and text: ISO-8601 with or without an offset, day/month forms per ``order``.
    A time without an offset is read in ``timezone``.
    """

    def convert(cell: object) -> str | None:
        value = _cell_value(cell, order, date1904, "invalid_datetime")
        if value is None:
            return None
        if not isinstance(value, datetime.datetime):
            value = datetime.datetime(value.year, value.month, value.day)
        try:
            if value.tzinfo is None:
                value = to_utc(value, timezone)
            else:
                value = value.astimezone(UTC).replace(tzinfo=None)
        except OverflowError:  # year 1 or 9999 pushed past the calendar by the offset
            raise CellProblem("invalid_datetime") from None
        return value.isoformat(timespec="seconds") + "Z"

    return convert


def date_converter(order: str | None, date1904: bool) -> Callable[[object], str | None]:
    """A converter from one cell to ``YYYY-MM-DD`` (None if blank); raises CellProblem.

    A value with a time of day other than midnight is refused rather than cut, since HubSpot
    stores dates without a time zone and cutting could shift the day.
    """

    def convert(cell: object) -> str | None:
        value = _cell_value(cell, order, date1904, "invalid_date")
        if value is None:
            return None
        if not isinstance(value, datetime.datetime):
            return value.isoformat()
        if value.tzinfo is not None or value.time() != datetime.time():
            raise CellProblem("date_with_time")
        return value.date().isoformat()

    return convert


_TIME_OF_DAY = re.compile(
    r"^(\d{1,2})(?:[:hH](\d{2})(?::(\d{2}))?)?\s*(?:([aApP])\.?[mM]\.?)?$|^(\d{1,2})[hH]$"
)
# A date-only text whose file wrote midnight too ("2026-12-10 00:00"): the time comes from
# elsewhere, so the midnight is dropped rather than read as a second time.
_MIDNIGHT = re.compile(r"[ T]+0?0[:hH]00(?::00)?$")


def parse_time_of_day(cell: object) -> datetime.time:
    """A time-of-day cell as a time: ``"09:00"``, ``"9:00 AM"``, ``"14h30"``, ``"9h"``, a
    workbook time (or datetime, its time), or a fraction of a day (``0.375``).

    Raises CellProblem ``invalid_time`` for anything else, ``missing_time`` for a blank."""
    if type(cell) is datetime.time:
        return cell
    if type(cell) is datetime.datetime:
        return cell.time()
    if type(cell) is datetime.timedelta and datetime.timedelta(0) <= cell < datetime.timedelta(1):
        return (datetime.datetime.min + cell).time()
    if isinstance(cell, float) and not isinstance(cell, bool) and 0 <= cell < 1:
        return (datetime.datetime.min + datetime.timedelta(seconds=round(cell * 86400))).time()
    if cell is None or (type(cell) is str and not cell.strip()):
        raise CellProblem("missing_time")
    if type(cell) is not str:
        raise CellProblem("invalid_time")
    match = _TIME_OF_DAY.match(cell.strip())
    if match is None:
        raise CellProblem("invalid_time")
    hour = int(match[1] or match[5])
    minute, second = int(match[2] or 0), int(match[3] or 0)
    if match[4]:
        if not 1 <= hour <= 12:
            raise CellProblem("invalid_time")
        hour = hour % 12 + (12 if match[4].lower() == "p" else 0)
    try:
        return datetime.time(hour, minute, second)
    except ValueError:
        raise CellProblem("invalid_time") from None


def join_date_time(date_cell: object, time: datetime.time, date1904: bool) -> object:
    """A date-only cell and a time of day as one cell ``datetime_converter`` reads (so the
    same day/month order, time zone and daylight-saving checks apply): a naive datetime for
    a workbook date, a serial number or ISO text; ``"<text> HH:MM:SS"`` for other text.

    Raises CellProblem ``invalid_date`` when the cell is no date, or already has a time."""
    if type(date_cell) is datetime.datetime:
        if date_cell.time() != datetime.time():
            raise CellProblem("date_with_time")
        return datetime.datetime.combine(date_cell.date(), time)
    if isinstance(date_cell, datetime.date):
        return datetime.datetime.combine(date_cell, time)
    if isinstance(date_cell, (int, float)) and not isinstance(date_cell, bool):
        try:
            day = from_serial(float(date_cell), date1904)
        except (ValueError, OverflowError):
            raise CellProblem("invalid_date") from None
        if day.time() != datetime.time():
            raise CellProblem("date_with_time")
        return datetime.datetime.combine(day.date(), time)
    if type(date_cell) is not str:
        raise CellProblem("invalid_date")
    text = _MIDNIGHT.sub("", date_cell.strip())
    match = DAY_MONTH.match(text) or YEAR_FIRST.match(text)
    if match:
        if match[4] is not None:
            raise CellProblem("date_with_time")
        return f"{text} {time.isoformat()}"
    try:
        iso_day = datetime.date.fromisoformat(text)
    except ValueError:
        raise CellProblem("invalid_date") from None
    return datetime.datetime.combine(iso_day, time)
