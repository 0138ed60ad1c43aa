"""Read an uploaded CSV or workbook into a Table: header row found, rows numbered as shown."""

from __future__ import annotations

import math
import posixpath
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from .bulk import gc_paused
from .cells import (
    FORMULA_WITHOUT_VALUE,
    column_letter,
    display_text,
    unescape_own_export,
    without_nul,
)
from .errors import IntakeError
from .textfile import decode, split_rows
from .workbook import (
    DEFAULT_MAX_INFLATED_BYTES,
    WORKBOOK_FORMATS,
    accepted_formats_sentence,
    cells_over_limit,
    read_workbook,
)

__all__ = ["IntakeError", "Table", "read_table"]

CSV_FORMATS = frozenset({"csv", "tsv", "txt"})
# Cells (rows x columns) one upload may hold: 100,000 rows of 20 columns. The setting
# HUBPORTAL_MAX_CELLS overrides it (services pass it in).
DEFAULT_MAX_CELLS = 2_000_000
# Columns one file may have: XLSX's own limit (16,384, column XFD; Excel's specifications and
# limits). The mapping screen shows the first HUBPORTAL_MAPPING_COLUMNS in full and lists the
# rest by name, so its page and its POST stay small however wide the file is.
MAX_COLUMNS = 16_384
# How far down a title block above the header may reach when the header is looked for.
HEADER_SEARCH_ROWS = 20


@dataclass(frozen=True)
class Table:
    """A sheet as rows of cells under one header row.

    ``rows`` holds ``(row number as the spreadsheet shows it, 1-based, cells)``; cells are
    ``str`` for CSV and python-calamine's typed values for workbooks (str, float, int, bool,
    date, datetime, time, timedelta; ``""`` for empty), or ``cells.FORMULA_WITHOUT_VALUE``. Every
    row has ``len(headers)`` cells. Fully empty rows are left out; trailing empty columns too.
    """

    headers: list[str]
    rows: list[tuple[int, list[object]]]
    sheet_names: list[str]
    sheet: str | None
    encoding: str | None
    delimiter: str | None
    header_row: int
    format: str = "csv"
    date1904: bool = False
    header_candidates: list[int] = field(default_factory=list)
    # Cells whose leading single quote, put there by the product's own downloads against
    # formulas, was taken off (``cells.unescape_own_export``).
    unescaped: int = 0


_BLANKS = ("", None)


def _is_empty(cell: object) -> bool:
    return cell is None or (type(cell) is str and not cell.strip())


def _trimmed(cells: list[object]) -> list[object]:
    end = len(cells)
    while end and _is_empty(cells[end - 1]):
        end -= 1
    return cells if end == len(cells) else cells[:end]


def _find_header(sample: list[tuple[int, list[object]]]) -> int:
    """Index in ``sample`` of the header: the first row of text cells about as wide as the data.

    A title ("Appointments, March 2026") or notes above the header fill fewer cells than the
    widest row, so they are passed over.
    """
    counts = [sum(not _is_empty(cell) for cell in cells) for _, cells in sample]
    widest = max(counts)
    threshold = 1 if widest == 1 else max(2, math.ceil(widest / 2))
    for index, (_number, cells) in enumerate(sample):
        texts = [cell for cell in cells if not _is_empty(cell)]
        if len(texts) >= threshold and all(isinstance(cell, str) for cell in texts):
            return index
    return 0


def _build(
    numbered: Iterable[tuple[int, list[object]]],
    *,
    header_row: int | None,
    max_rows: int,
    max_cells: int,
) -> tuple[list[str], list[tuple[int, list[object]]], int, list[int]]:
    """Find the header, then collect non-empty data rows padded to the header's width.

    Stops with IntakeError past ``max_rows`` data rows, or once the rows so far times the
    widest row so far pass ``max_cells`` (a CSV of a few MB can hold millions of cells)."""
    # The first cell decides for almost every row; only rows starting blank are looked at whole.
    rows_iter: Iterator[tuple[int, list[object]]] = (
        (number, cells)
        for number, cells in numbered
        if cells and (cells[0] not in _BLANKS or any(not _is_empty(c) for c in cells))
    )
    sample: list[tuple[int, list[object]]] = []
    no_header = header_row == 0  # "no header row": every row is data, columns named by letter
    if no_header:
        header_index = -1
    elif header_row is not None:
        for number, cells in rows_iter:
            if number > header_row:
                raise IntakeError(
                    _("Row %(row)s is empty: it cannot be the header row. Choose another row.")
                    % {"row": header_row}
                )
            if number == header_row:
                sample = [(number, cells)]
                break
        if not sample:
            raise IntakeError(
                _("The file has no row %(row)s. Choose another header row.") % {"row": header_row}
            )
        header_index = 0
    else:
        for item in rows_iter:
            sample.append(item)
            if len(sample) == HEADER_SEARCH_ROWS:
                break
        if not sample:
            raise IntakeError(_("The file is empty: it has no header row and no data."))
        header_index = _find_header(sample)
    if no_header:
        number, candidates, headers = 0, [], []
    else:
        number, header_cells = sample[header_index]
        candidates = [n for n, _cells in sample]
        headers = [without_nul(display_text(cell).strip()) for cell in _trimmed(header_cells)]
    data: list[tuple[int, list[object]]] = []
    widest = max((len(cells) for _n, cells in sample), default=0)
    # The header row is kept too: it counts with the data rows, as wide as the widest.
    above = 0 if no_header else 1
    for item in _chain(sample[header_index + 1 :], rows_iter):
        if len(item[1]) > widest:
            widest = len(item[1])
        if (above + len(data) + 1) * widest > max_cells:
            rows = above + len(data) + 1
            raise cells_over_limit(
                cells=rows * widest, row=item[0], limit=max_cells, rows=rows, columns=widest
            )
        if len(data) == max_rows:
            raise IntakeError(
                _(
                    "This file has more than %(limit)s data rows, the most one upload can take. "
                    "Split it into smaller files."
                )
                % {"limit": f"{max_rows:,}"}
            )
        data.append(item)
    width = len(headers)
    for _number, cells in data:
        if (len(cells) > width and not _is_empty(cells[-1])) or len(cells) > width + 1:
            width = max(width, len(_trimmed(cells)))
    if no_header:
        if not data:
            raise IntakeError(_("The file is empty: it has no rows."))
        headers = [column_letter(index) for index in range(width)]
    if width > MAX_COLUMNS:
        raise IntakeError(
            _(
                "This file has %(count)s columns; one upload can take at most %(limit)s. Delete "
                "the columns you do not need and upload it again."
            )
            % {"count": f"{width:,}", "limit": f"{MAX_COLUMNS:,}"}
        )
    headers += [""] * (width - len(headers))
    # Workbook rows all have the sheet's width already; CSV rows may be short or long.
    for position, (row_number, cells) in enumerate(data):
        if len(cells) != width:
            fitted = cells + [""] * (width - len(cells)) if len(cells) < width else cells[:width]
            data[position] = (row_number, fitted)
    return headers, data, number, candidates


def _unescape_rows(rows: list[tuple[int, list[object]]]) -> int:
    """Take the product's own formula escape off every cell of ``rows`` (in place); returns
    how many cells had it."""
    count = 0
    for _number, cells in rows:
        for index, cell in enumerate(cells):
            plain = unescape_own_export(cell)
            if plain is not cell:
                cells[index] = plain
                count += 1
    return count


def _refuse_swallowed_rows(
    rows: list[tuple[int, list[object]]], headers: list[str], delimiter: str
) -> None:
    """Raise IntakeError for a quoted cell that swallowed whole rows: a quote opened in one row
    and closed rows later makes one multi-line cell of them. Legit multi-line cells (notes)
    rarely hold a line with as many delimiters as a row has; two such lines are taken for
    rows read into a cell."""
    width = len(headers)
    if width < 2:
        return
    for number, cells in rows:
        for cell in cells:
            if type(cell) is not str or "\n" not in cell:
                continue
            lines = cell.splitlines()[1:]
            if sum(line.count(delimiter) >= width - 1 for line in lines) >= 2:
                raise IntakeError(
                    _(
                        "Row %(row)s holds a quoted cell of %(lines)s lines that looks like "
                        "several rows read as one: a quote opened in that row is closed only "
                        "rows later. Check the quotes from that row on and upload the file again."
                    )
                    % {"row": number, "lines": len(lines) + 1}
                )


def _chain(
    first: list[tuple[int, list[object]]], rest: Iterator[tuple[int, list[object]]]
) -> Iterator[tuple[int, list[object]]]:
    yield from first
    yield from rest


def read_table(
    data: bytes,
    filename: str,
    *,
    sheet: str | None = None,
    encoding: str | None = None,
    header_row: int | None = None,
    max_rows: int,
    max_cells: int = DEFAULT_MAX_CELLS,
    max_inflated_bytes: int = DEFAULT_MAX_INFLATED_BYTES,
) -> Table:
    """Read ``data`` (the uploaded file's bytes) as a Table; the format comes from ``filename``.

    CSV: ``encoding`` (a Python codec name) forced or detected, delimiter detected. Workbooks
    (XLSX, XLSM, XLS, ODS, via python-calamine): ``sheet`` by name, else the first visible one;
    formula cells give their saved value, or FORMULA_WITHOUT_VALUE when none was saved (XLSX, XLSM,
    ODS; an .xls formula always carries its result).
    ``header_row`` (1-based, as shown) forces the header, 0 means the file has none (columns
    are then named A, B, C...); otherwise the header is found below any title.
    Raises IntakeError for an unknown format, an unreadable file, more than ``max_rows`` data
    rows, more than ``max_cells`` cells (rows x columns, checked before a workbook sheet is
    loaded), or a zip-based workbook inflating beyond ``max_inflated_bytes``.
    """
    with gc_paused():
        return _read_table(
            data,
            filename,
            sheet=sheet,
            encoding=encoding,
            header_row=header_row,
            max_rows=max_rows,
            max_cells=max_cells,
            max_inflated_bytes=max_inflated_bytes,
        )


def _read_table(
    data: bytes,
    filename: str,
    *,
    sheet: str | None,
    encoding: str | None,
    header_row: int | None,
    max_rows: int,
    max_cells: int,
    max_inflated_bytes: int,
) -> Table:
    kind = posixpath.splitext(filename.lower())[1].lstrip(".")
    if kind in CSV_FORMATS:
        text, used_encoding = decode(data, encoding)
        numbered, delimiter = split_rows(text, "\t" if kind == "tsv" else None)
        headers, rows, header_number, candidates = _build(
            numbered,  # type: ignore[arg-type]
            header_row=header_row,
            max_rows=max_rows,
            max_cells=max_cells,
        )
        _refuse_swallowed_rows(rows, headers, delimiter)
        return Table(
            headers=headers,
            rows=rows,
            sheet_names=[],
            sheet=None,
            encoding=used_encoding,
            delimiter=delimiter,
            header_row=header_number,
            format="csv",
            header_candidates=candidates,
            unescaped=_unescape_rows(rows),
        )
    if kind not in WORKBOOK_FORMATS:
        raise IntakeError(
            _("“%(name)s” is not a spreadsheet this page can read. %(formats)s")
            % {"name": filename, "formats": accepted_formats_sentence()}
        )
    # Enough rows for a title block, the header and one row past the limit, never the whole
    # sheet of a file that is far too long.
    nrows = max_rows + HEADER_SEARCH_ROWS + 2 + (header_row or 0)
    book = read_workbook(
        data,
        kind,
        sheet=sheet,
        nrows=nrows,
        max_inflated_bytes=max_inflated_bytes,
        max_cells=max_cells,
    )
    grid = book.grid
    for row_index, column in book.unsaved_formulas:
        if row_index < len(grid) and column < len(grid[row_index]):
            grid[row_index][column] = FORMULA_WITHOUT_VALUE
    headers, rows, header_number, candidates = _build(
        ((index + 1, cells) for index, cells in enumerate(grid)),
        header_row=header_row,
        max_rows=max_rows,
        max_cells=max_cells,
    )
    return Table(
        headers=headers,
        rows=rows,
        sheet_names=book.sheet_names,
        sheet=book.sheet,
        encoding=None,
        delimiter=None,
        header_row=header_number,
        format=kind,
        date1904=book.date1904,
        header_candidates=candidates,
        unescaped=_unescape_rows(rows),
    )
