"""Spreadsheets the app writes: a batch's results, and the XLSX template of a portal.

Results: every row the user gave, its original values, state, HubSpot ID and error. Template:
the portal's writable properties as headers, drop-downs, an example row.

Cells a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``, tab or
carriage return) are prefixed with a single quote (OWASP's CSV-injection advice). An Excel cell
holds at most 32,767 characters: a longer text is cut in the XLSX with a note saying so (the
CSV keeps it whole).
"""

import csv
import datetime
import io
from collections.abc import Iterator
from typing import Any

import xlsxwriter
from django.conf import settings
from django.contrib.auth.models import User
from django.utils import translation
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from appointments.hubspot.schema import ASSOCIATION_TARGETS, PropertyDefinition, Schema
from appointments.intake.cells import column_letter
from appointments.models import Batch, BatchRow
from appointments.services import access
from appointments.services.access import Action

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
    """Header then one list of cells per row, in file order (not neutralised), in the active
    language (the reader's: row errors too, ``BatchRow.error_texts``). A batch that created
    contacts (``services.resolving.keys_create_contacts``) has a last column
    ``contacts_created``: the IDs of the row's contacts it created."""
    headers = list(batch.headers)
    keys = (batch.reading or {}).get("keys") or {}
    created = set((keys.get("created") or {}).get("0-1", []))
    yield [
        pgettext("results column", "row"),
        *headers,
        pgettext("results column", "state"),
        pgettext("results column", "hubspot_id"),
        pgettext("results column", "hubspot_url"),
        pgettext("results column", "error"),
        *([pgettext("results column", "contacts_created")] if created else []),
    ]
    for row in batch.rows.order_by("row_number").iterator(chunk_size=2000):
        error = " | ".join(row.error_texts) if row.errors else row.outcome_text
        cells = [
            str(row.row_number),
            *[row.raw_text(index) for index in range(len(headers))],
            str(BatchRow.State(row.state).label),
            row.hubspot_id,
            record_url(batch.portal.hub_id, row.hubspot_id),
            error,
        ]
        if created:
            ids = [item[0] for item in batch.layout.unpack_associations(row.associations)]
            cells.append(";".join(dict.fromkeys(i for i in ids if i in created)))
        yield cells


def results_csv(*, user: User, batch: Batch) -> Iterator[str]:
    """The results as CSV lines (UTF-8 text with a BOM first so Excel reads accents right).

    Raises PermissionDenied (at once, not at the first line) unless ``user`` may see the batch.
    """
    access.require(user, Action.BATCH_VIEW, batch)
    # The lines are made while the response streams, after the request's language is gone.
    return _csv_lines(batch, translation.get_language())


def _csv_lines(batch: Batch, language: str | None) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield "\ufeff"
    with translation.override(language):
        for cells in results_rows(batch):
            yield writer.writerow([neutralise(cell) for cell in cells])


def results_xlsx(*, user: User, batch: Batch) -> bytes:
    """The results as an XLSX workbook; every cell is written as text, never as a formula.
    Raises PermissionDenied unless ``user`` may see the batch."""
    access.require(user, Action.BATCH_VIEW, batch)
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


# Excel refuses an inline list longer than 255 characters; longer lists live on a hidden sheet.
_INLINE_LIST_LIMIT = 255
_EXAMPLE_START = datetime.datetime(2026, 12, 3, 14, 0)


def template_properties(schema: Schema) -> list[PropertyDefinition]:
    """Writable, visible properties: required ones first, then by label."""
    return sorted(
        (p for p in schema.properties if p.writable and not p.hidden),
        key=lambda p: (not p.required, p.label.casefold()),
    )


def template_header(prop: PropertyDefinition) -> str:
    """The property's label, with `` *`` when required (mapping ignores the mark)."""
    return f"{prop.label} *" if prop.required else prop.label


def _example(prop: PropertyDefinition) -> object:
    options = [o.label for o in prop.options if not o.hidden]
    if prop.type == "enumeration" and options:
        return ";".join(options[:2]) if prop.multiple else options[0]
    if prop.type == "bool":
        return _("Yes")
    if prop.type == "datetime":
        hours = 1 if "end" in prop.name else 0
        return _EXAMPLE_START + datetime.timedelta(hours=hours)
    if prop.type == "date":
        return _EXAMPLE_START.date()
    if prop.type == "number":
        return 2
    if prop.name == "hs_appointment_name":
        return _("First visit")
    return ""


def template_workbook(*, schema: Schema) -> bytes:
    """XLSX bytes: sheet "Appointments" (headers, required ones marked and bold, drop-down
    lists for enumerations and booleans, one example row in grey, date formats), the columns
    ``contact_ids``/``company_ids``/``deal_ids``, and a hidden "Lists" sheet for long lists.

    The example row is meant to be overwritten: it is a real row if left in the file.
    """
    output = io.BytesIO()
    book = xlsxwriter.Workbook(output, {"in_memory": True})
    sheet = book.add_worksheet(_("Appointments"))
    lists = book.add_worksheet("Lists")
    lists.hide()
    bold = book.add_format({"bold": True, "bg_color": "#FFF2CC"})
    plain = book.add_format({"bold": True})
    example = book.add_format({"font_color": "#7F7F7F", "italic": True})
    datetime_format = book.add_format(
        {"num_format": "yyyy-mm-dd hh:mm", "font_color": "#7F7F7F", "italic": True}
    )
    date_format = book.add_format(
        {"num_format": "yyyy-mm-dd", "font_color": "#7F7F7F", "italic": True}
    )
    properties = template_properties(schema)
    list_column = 0
    for column, prop in enumerate(properties):
        sheet.write(0, column, template_header(prop), bold if prop.required else plain)
        sheet.set_column(column, column, max(14, len(prop.label) + 4))
        value = _example(prop)
        if isinstance(value, datetime.datetime):
            sheet.write_datetime(1, column, value, datetime_format)
        elif isinstance(value, datetime.date):
            sheet.write_datetime(
                1, column, datetime.datetime.combine(value, datetime.time()), date_format
            )
        elif value != "":
            sheet.write(1, column, value, example)
        if prop.description:
            sheet.write_comment(0, column, prop.description)
        choices = [o.label for o in prop.options if not o.hidden]
        if prop.type == "bool":
            choices = [_("Yes"), _("No")]
        if not choices:
            continue
        where = (1, column, 10_000, column)
        if prop.multiple:
            # A drop-down holds one value; several are typed, separated by ";".
            sheet.data_validation(
                *where,
                {
                    "validate": "any",
                    "input_title": prop.label[:32],
                    "input_message": (
                        _("One or more of: %(options)s, separated by “;”.")
                        % {"options": ", ".join(choices)}
                    )[:255],
                },
            )
            continue
        source: object = choices
        if len(",".join(choices)) > _INLINE_LIST_LIMIT:
            lists.write_column(0, list_column, choices)
            letter = column_letter(list_column)
            source = f"=Lists!${letter}$1:${letter}${len(choices)}"
            list_column += 1
        sheet.data_validation(*where, {"validate": "list", "source": source})
    start = len(properties)
    for offset, column_name in enumerate(ASSOCIATION_TARGETS):
        sheet.write(0, start + offset, column_name, plain)
        sheet.set_column(start + offset, start + offset, 16)
        sheet.write_comment(
            0,
            start + offset,
            _("HubSpot record IDs (digits), several separated by “;”."),
        )
    sheet.freeze_panes(1, 0)
    book.close()
    return output.getvalue()
