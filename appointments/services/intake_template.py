"""The XLSX template of a portal: its writable properties as headers, drop-downs, an example."""

from __future__ import annotations

import datetime
import io

import xlsxwriter
from django.utils.translation import gettext as _

from appointments.hubspot.schema import ASSOCIATION_TARGETS, PropertyDefinition
from appointments.intake.cells import column_letter
from appointments.services.intake import Schema

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
