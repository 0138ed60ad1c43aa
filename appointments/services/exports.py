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
from zoneinfo import ZoneInfo

import xlsxwriter
from django.conf import settings
from django.contrib.auth.models import User
from django.db.models import F
from django.utils import translation
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from appointments.hubspot.schema import ASSOCIATION_TARGETS, PropertyDefinition, Schema
from appointments.intake.cells import FORMULA_PREFIXES, column_letter
from appointments.models import NEVER_FIXED, Batch, BatchRow
from appointments.services import access
from appointments.services.access import Action

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
    created = _contacts_created(batch)
    yield [pgettext("results column", "row"), *headers, *_results_tail_header(created)]
    for row in _result_rows(batch):
        yield [
            str(row.row_number),
            *[row.raw_text(index) for index in range(len(headers))],
            *_results_tail(batch, row, created),
        ]


def _result_rows(batch: Batch) -> Iterator[BatchRow]:
    """The batch's rows in order, each with its failed call's stored message
    (``call_error_said``), so ``outcome_text`` says it in the reader's language, and what an
    update wrote (``write``: "created" or "updated")."""
    rows = batch.rows.select_related("write").annotate(call_error_said=F("call__error_said"))
    return rows.order_by("row_number").iterator(chunk_size=2000)


def _contacts_created(batch: Batch) -> set[str]:
    keys = (batch.reading or {}).get("keys") or {}
    return set((keys.get("created") or {}).get("0-1", []))


def _results_tail_header(created: set[str]) -> list[str]:
    """The results' columns after the file's: state, hubspot_id, hubspot_url, error and, when
    the batch created contacts, contacts_created."""
    return [
        pgettext("results column", "state"),
        pgettext("results column", "hubspot_id"),
        pgettext("results column", "hubspot_url"),
        pgettext("results column", "error"),
        *([pgettext("results column", "contacts_created")] if created else []),
    ]


def _results_tail(batch: Batch, row: BatchRow, created: set[str]) -> list[str]:
    """One row's cells under ``_results_tail_header``."""
    error = " | ".join(row.error_texts) if row.errors else row.outcome_text
    cells = [
        # "Updated" for a row that updated an existing appointment (services.updating).
        row.state_label,
        row.hubspot_id,
        record_url(batch.portal.hub_id, row.hubspot_id),
        error,
    ]
    if created:
        ids = [item[0] for item in batch.layout.unpack_associations(row.associations)]
        cells.append(";".join(dict.fromkeys(i for i in ids if i in created)))
    return cells


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


# Excel keeps at most 65,530 links on a worksheet; later record IDs are written as plain text.
EXCEL_LINKS = 65_530
_DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
_DATE_FORMAT = "yyyy-mm-dd"


def _column_kinds(batch: Batch) -> list[tuple[str, str]]:
    """Per file column: ``(kind, property name)``; kind ``datetime``, ``date`` or ``number``
    (written typed from the value sent), ``id`` (record IDs: text) or ``text``."""
    types = {prop["name"]: prop.get("type") for prop in batch.properties_snapshot}
    kinds = []
    for target in batch.mapping:
        if not target or target["kind"] == "contact":
            kinds.append(("text", ""))
        elif target["kind"] == "association":
            kinds.append(("id", ""))
        else:
            kind = types.get(target["name"])
            typed = kind if kind in ("datetime", "date", "number") else "text"
            kinds.append((typed, target["name"]))
    return kinds


def _typed(kind: str, sent: str | None, zone: ZoneInfo) -> object:
    """The value sent to HubSpot as the spreadsheet type of ``kind`` (a datetime naive in the
    batch's zone, a date, a float), or None when there is none to show that way."""
    if sent is None or sent == "":
        return None
    try:
        if kind == "datetime":
            moment = (
                datetime.datetime.fromtimestamp(int(sent) / 1000, datetime.UTC)
                if sent.isdigit()
                else datetime.datetime.fromisoformat(sent)
            )
            return moment.astimezone(zone).replace(tzinfo=None)
        if kind == "date":
            return datetime.date.fromisoformat(sent)
        if kind == "number":
            return float(sent)
    except ValueError:
        return None
    return None


def results_xlsx(*, user: User, batch: Batch) -> bytes:
    """The results as an XLSX workbook people can work with: the file's columns typed from the
    values sent (dates and times as Excel dates in the batch's time zone, numbers as numbers;
    a cell not sent keeps its text), record IDs and every other text as text, never a
    formula (``neutralise``); column widths, a filter on the header row, the header frozen,
    and each created appointment's HubSpot page as a link (the first ``EXCEL_LINKS``).
    Raises PermissionDenied unless ``user`` may see the batch.
    """
    access.require(user, Action.BATCH_VIEW, batch)
    buffer = io.BytesIO()
    # constant_memory streams rows to disk, so 100,000 rows do not sit in memory.
    workbook = xlsxwriter.Workbook(buffer, {"constant_memory": True, "in_memory": False})
    sheet = workbook.add_worksheet("Results")
    bold = workbook.add_format({"bold": True})
    formats = {
        "datetime": workbook.add_format({"num_format": _DATETIME_FORMAT}),
        "date": workbook.add_format({"num_format": _DATE_FORMAT}),
        "number": None,
    }
    text = workbook.add_format({"num_format": "@"})
    zone = ZoneInfo(batch.timezone)
    kinds = _column_kinds(batch)
    created = _contacts_created(batch)
    # A date and time column says its zone in its header: Excel dates carry none.
    labelled = [
        _("%(header)s (%(zone)s)") % {"header": header, "zone": batch.timezone}
        if kind == "datetime"
        else header
        for header, (kind, _name) in zip(batch.headers, kinds, strict=True)
    ]
    headers = [
        pgettext("results column", "row"),
        *labelled,
        *_results_tail_header(created),
    ]
    widths = [6]
    widths += [_width(header, kind) for header, (kind, _n) in zip(labelled, kinds, strict=True)]
    for column, width in enumerate(widths):
        sheet.set_column(column, column, width)
    for column, header in enumerate(headers):
        sheet.write_string(0, column, fit_excel_cell(neutralise(header)), bold)
    links = 0
    last = 0
    for last, row in enumerate(_result_rows(batch), start=1):
        sheet.write_number(last, 0, row.row_number)
        try:
            sent = batch.layout.unpack_properties(row.properties)
        except ValueError:
            sent = {}
        for index, (kind, name) in enumerate(kinds):
            value = _typed(kind, sent.get(name), zone) if name else None
            if isinstance(value, datetime.datetime | datetime.date):
                sheet.write_datetime(last, index + 1, value, formats[kind])
            elif isinstance(value, float):
                sheet.write_number(last, index + 1, value)
            else:
                cell = fit_excel_cell(neutralise(row.raw_text(index)))
                sheet.write_string(last, index + 1, cell, text if kind == "id" else None)
        end = len(kinds) + 1
        state, hubspot_id, url, error, *rest = _results_tail(batch, row, created)
        sheet.write_string(last, end, state)
        sheet.write_string(last, end + 1, hubspot_id, text)
        if url and links < EXCEL_LINKS:
            sheet.write_url(last, end + 2, url, string=url)
            links += 1
        else:
            sheet.write_string(last, end + 2, url)
        sheet.write_string(last, end + 3, fit_excel_cell(neutralise(error)))
        for offset, cell in enumerate(rest, start=end + 4):
            sheet.write_string(last, offset, fit_excel_cell(neutralise(cell)), text)
    sheet.autofilter(0, 0, last, len(headers) - 1)
    sheet.freeze_panes(1, 0)
    workbook.close()
    return buffer.getvalue()


def _width(header: str, kind: str) -> int:
    """A column's width in characters: room for the header, and for a date and time."""
    least = {"datetime": 17, "date": 11, "number": 10, "id": 14}.get(kind, 14)
    return min(max(least, len(header) + 2), 40)


# Rows "download the rows to fix" gives: held back, or failed with "not created" known.
ROWS_TO_FIX = (BatchRow.State.INVALID, BatchRow.State.FAILED)


def rows_to_fix_csv(*, user: User, batch: Batch) -> Iterator[str]:
    """The batch's invalid and failed rows in the file's own layout (its headers, then each
    row's cells as given), to fix and upload again as a new batch. Rows whose outcome is
    unknown (HubSpot may have created them) are left out. Cells are escaped against formula
    injection like every export (``neutralise``); an upload takes the escape off again.
    Raises PermissionDenied (at once, not at the first line) unless ``user`` may see the batch.
    """
    access.require(user, Action.BATCH_VIEW, batch)
    return _rows_to_fix_lines(batch)


def _rows_to_fix_lines(batch: Batch) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield "\ufeff"
    yield writer.writerow([neutralise(header) for header in batch.headers])
    rows = (
        batch.rows.filter(state__in=ROWS_TO_FIX)
        .exclude(error_category__in=NEVER_FIXED)
        .order_by("row_number")
    )
    for row in rows.iterator(chunk_size=2000):
        yield writer.writerow(
            [neutralise(row.raw_text(index)) for index in range(len(batch.headers))]
        )


# Excel refuses an inline list longer than 255 characters; longer lists live on a hidden sheet.
_INLINE_LIST_LIMIT = 255
_EXAMPLE_START = datetime.datetime(2026, 12, 3, 14, 0)


def example_name() -> str:
    """The appointment name of the template's example row, in the active language: an upload
    holds back a row still named so (``is_example_name``), so it is never sent by mistake."""
    return _("Example: type your appointment here, or delete this row")


def is_example_name(text: str) -> bool:
    """Whether ``text`` is the template's example name, in any language of the interface."""
    names = set()
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            names.add(example_name().casefold())
    return text.strip().casefold() in names


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
        return example_name()
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
