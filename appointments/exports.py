"""Results downloads: every row the user gave, its original values, state, HubSpot ID and error.

Cells a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``, tab or
carriage return) are prefixed with a single quote (OWASP's CSV-injection advice). An Excel cell
holds at most 32,767 characters: a longer text is cut in the XLSX with a note saying so (the
CSV keeps it whole).
"""

import csv
import io
from collections.abc import Iterator
from typing import Any

import xlsxwriter
from django.conf import settings
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from appointments.models import Batch, BatchRow

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# Excel's limit on the characters of one cell (xlsxwriter cuts longer strings silently).
EXCEL_CELL_CHARACTERS = 32_767


def neutralise(value: Any) -> str:
    """``value`` as text, made inert for spreadsheet programs."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def _excel_length(text: str) -> int:
    # Excel counts UTF-16 code units: an emoji is two.
    return len(text.encode("utf-16-le")) // 2


def fit_excel_cell(text: str) -> str:
    """``text``, or its start and a note of the cut when Excel could not hold it all (its limit
    counts UTF-16 code units; the note counts characters)."""
    if len(text) * 2 <= EXCEL_CELL_CHARACTERS or _excel_length(text) <= EXCEL_CELL_CHARACTERS:
        return text
    note = _(
        " […cut: %(length)s characters in all, more than an Excel cell holds. The CSV download "
        "has the whole text.]"
    ) % {"length": number_format(str(len(text)), force_grouping=True)}
    room = EXCEL_CELL_CHARACTERS - _excel_length(note)
    # Cut on a code-unit boundary; a half emoji at the end is dropped.
    head = text.encode("utf-16-le")[: room * 2].decode("utf-16-le", errors="ignore")
    return head + note


def record_url(hub_id: int, record_id: str) -> str:
    """The appointment's page in HubSpot (``HUBSPOT_APP_BASE_URL``/contacts/<hub>/record/0-421/)."""
    if not record_id:
        return ""
    return f"{settings.HUBSPOT_APP_BASE_URL}/contacts/{hub_id}/record/0-421/{record_id}"


class _Echo:
    def write(self, value: str) -> str:
        return value


def results_rows(batch: Batch) -> Iterator[list[str]]:
    """Header then one list of cells per row, in file order (not neutralised)."""
    headers = list(batch.headers)
    yield ["row", *headers, "state", "hubspot_id", "hubspot_url", "error"]
    for row in batch.rows.order_by("row_number").iterator(chunk_size=2000):
        error = " | ".join(e["message"] for e in row.errors) if row.errors else row.error_message
        yield [
            str(row.row_number),
            *[row.raw_text(index) for index in range(len(headers))],
            str(BatchRow.State(row.state).label),
            row.hubspot_id,
            record_url(batch.portal.hub_id, row.hubspot_id),
            error,
        ]


def results_csv(batch: Batch) -> Iterator[str]:
    """The results as CSV lines (UTF-8 text with a BOM first so Excel reads accents right)."""
    writer = csv.writer(_Echo())
    yield "\ufeff"
    for cells in results_rows(batch):
        yield writer.writerow([neutralise(cell) for cell in cells])


def results_xlsx(batch: Batch) -> bytes:
    """The results as an XLSX workbook; every cell is written as text, never as a formula."""
    buffer = io.BytesIO()
    # constant_memory streams rows to disk, so 100,000 rows do not sit in memory.
    workbook = xlsxwriter.Workbook(buffer, {"constant_memory": True, "in_memory": False})
    sheet = workbook.add_worksheet("Results")
    bold = workbook.add_format({"bold": True})
    for row_index, cells in enumerate(results_rows(batch)):
        for column, cell in enumerate(cells):
            text = fit_excel_cell(neutralise(cell))
            sheet.write_string(row_index, column, text, bold if row_index == 0 else None)
    sheet.freeze_panes(1, 0)
    workbook.close()
    return buffer.getvalue()
