"""The corpus end to end: file -> proposed mapping -> the exact strings sent or errors reported."""

from __future__ import annotations

import datetime
import json

from appointments.intake.encoding import RowLayout, encode_rows
from appointments.intake.headers import propose_mapping
from appointments.intake.mapping import duplicate_headers
from appointments.intake.readers import Table, read_table
from appointments.intake.validation import iter_encoded_chunks, table_validator, validate_table
from tests.intake_fixtures import CORPUS, LABELS, PARIS, PROPERTIES, intake

CONTACT = ["HUBSPOT_DEFINED", 906]


def test_it_reads_a_french_excel_csv() -> None:
    first, second = intake("windows1252.csv")
    assert first.properties == {
        "hs_appointment_name": "Visite Hélène Müller",
        "hs_appointment_start": "2026-03-14T09:00:00Z",
        "hs_appointment_end": "2026-03-14T10:30:00Z",
        "party_size": "2.5",
        "visit_notes": "Prévoir 5 € \u2013 café",
    }
    assert [e.message for e in first.errors] == [
        'Row 2, column "Statut": "Planifié" is not an option of this property. Use one of: '
        "Scheduled, Completed, Canceled, No show."
    ]
    assert second.valid
    assert second.properties["hs_appointment_status"] == "completed"


def test_it_reads_semicolons_with_decimal_commas_and_offsets() -> None:
    rows = intake("semicolons.csv")
    assert [row.properties for row in rows] == [
        {
            "hs_appointment_name": "Check-up",
            "hs_appointment_start": "2026-04-02T06:15:00Z",
            "party_size": "1.5",
            "interpreter_needed": "true",
        },
        {
            "hs_appointment_name": "Follow-up",
            "hs_appointment_start": "2026-04-03T15:00:00Z",
            "party_size": "12",
            "interpreter_needed": "false",
        },
    ]


def test_it_reads_a_bom_csv_with_associations() -> None:
    (row,) = intake("bom.csv")
    assert row.properties == {
        "hs_appointment_name": "Consultation Zoë",
        "hs_appointment_start": "2026-03-14T09:00:00Z",
        "hs_appointment_end": "2026-03-14T09:30:00Z",
        "hs_appointment_status": "scheduled",
    }
    assert row.associations == [["51234", *CONTACT]]


def test_it_reads_quoted_line_breaks() -> None:
    rows = intake("quoted_newlines.csv")
    assert [(row.row_number, row.properties.get("visit_notes")) for row in rows] == [
        (2, 'Bring X-rays\nAsk about "whitening"'),
        (3, None),
    ]


def test_it_flags_daylight_saving_gaps_and_overlaps() -> None:
    rows = intake("dst.csv")
    assert [(row.row_number, [e.code for e in row.errors]) for row in rows] == [
        (2, ["nonexistent_time"]),
        (3, ["ambiguous_time"]),
        (4, []),
        (5, []),
    ]
    assert rows[2].properties["hs_appointment_start"] == "2026-10-25T01:30:00Z"
    assert rows[3].properties["hs_appointment_start"] == "2026-03-29T01:00:00Z"


def test_it_decides_day_month_order_per_column() -> None:
    rows = intake("ambiguous_day_month.csv")
    # Column B has 25/03, so 03/04 there is 3 April; column C reads both ways on every row.
    assert [row.properties.get("hs_appointment_start") for row in rows] == [
        "2026-04-03T07:00:00Z",
        "2026-03-25T08:00:00Z",
    ]
    assert [e.message for e in rows[0].errors] == [
        'Row 2, column "Follow-up date": "03/04/2026" could be day 3 of month 4 or day 4 of '
        "month 3. Choose the day/month order for this column, or use YYYY-MM-DD."
    ]
    chosen = intake("ambiguous_day_month.csv", date_order="MDY")
    assert [row.properties.get("follow_up_date") for row in chosen] == ["2026-03-04", "2026-05-06"]
    assert [e.code for e in chosen[1].errors] == ["invalid_datetime"]


def test_it_reads_serial_dates_in_the_1900_system() -> None:
    (row,) = intake("serial_dates.xlsx")
    assert row.raw == ["Serial", "46095.4375", "46100"]
    assert row.properties == {
        "hs_appointment_name": "Serial",
        "hs_appointment_start": "2026-03-14T09:30:00Z",
        "follow_up_date": "2026-03-19",
    }


def test_it_reads_a_1904_workbook() -> None:
    (row,) = intake("dates_1904.xlsx")
    assert row.properties == {
        "hs_appointment_name": "Mac Excel",
        "hs_appointment_start": "2026-03-14T09:30:00Z",
        "hs_appointment_end": "2026-03-14T11:00:00Z",
    }


def test_it_reads_bare_serial_numbers_of_a_1904_excel_97_workbook() -> None:
    # The date-formatted start comes from calamine; the bare number needs the DATEMODE record.
    (row,) = intake("dates_1904.xls")
    assert row.properties == {
        "hs_appointment_name": "Mac Excel 97",
        "hs_appointment_start": "2026-03-14T09:30:00Z",
        "hs_appointment_end": "2026-03-14T11:00:00Z",
    }


def test_it_reads_record_ids_stored_as_floats() -> None:
    exact, inexact = intake("ids_as_floats.xlsx")
    assert exact.associations == [
        ["51234", *CONTACT],
        ["51234", "HUBSPOT_DEFINED", 908],
        ["51235", "HUBSPOT_DEFINED", 908],
    ]
    # 9007199254740993 cannot be held by a float: the cell is refused, not rounded.
    assert [(e.column, e.code) for e in exact.errors] == [("deal_ids", "invalid_record_id")]
    assert [(e.column, e.value) for e in inexact.errors] == [
        ("contact_ids", "51234.5"),
        ("deal_ids", "7e3"),
    ]


def test_it_reports_formulas_saved_without_values() -> None:
    rows = intake("formulas_unsaved.xlsx")
    assert [(row.row_number, row.properties) for row in rows] == [
        (2, {"hs_appointment_name": "Group visit", "visit_notes": "plain"}),
        (3, {"party_size": "4", "visit_notes": "plain"}),
    ]
    assert [[(e.column, e.code) for e in row.errors] for row in rows] == [
        [("Party size", "formula_without_value")],
        [("Appointment name", "formula_without_value")],
    ]


def test_it_refuses_an_ods_formula_saved_without_its_value() -> None:
    # calamine reads such a cell as empty; it must not pass as a blank.
    rows = intake("formulas_unsaved.ods")
    assert [(row.row_number, row.properties) for row in rows] == [
        (4, {"hs_appointment_name": "Group visit", "visit_notes": "plain"}),
        (5, {"party_size": "4", "visit_notes": "plain"}),
    ]
    assert [[(e.column, e.code) for e in row.errors] for row in rows] == [
        [("Party size", "formula_without_value")],
        [("Appointment name", "formula_without_value")],
    ]


def test_it_reads_below_a_title_and_skips_blank_rows() -> None:
    rows = intake("title_row.xlsx")
    assert [(row.row_number, row.properties, row.associations) for row in rows] == [
        (
            5,
            {
                "hs_appointment_name": "Massage",
                "hs_appointment_start": "2026-03-20T14:00:00Z",
                "hs_appointment_status": "scheduled",
            },
            [["901", *CONTACT]],
        ),
        (
            7,
            {
                "hs_appointment_name": "Sauna",
                "hs_appointment_start": "2026-03-21T15:00:00Z",
                "hs_appointment_status": "completed",
            },
            [["902", *CONTACT]],
        ),
    ]


def test_it_reads_the_first_visible_sheet() -> None:
    (row,) = intake("hidden_first_sheet.xlsx")
    assert row.properties == {
        "hs_appointment_name": "Vaccination",
        "hs_appointment_start": "2026-07-01T06:30:00Z",
        "hs_appointment_end": "2026-07-01T06:45:00Z",
        "hs_appointment_status": "scheduled",
    }


def test_it_reports_duplicate_headers_and_uses_the_first_column() -> None:
    table = read_table((CORPUS / "duplicate_headers.csv").read_bytes(), "d.csv", max_rows=10)
    assert duplicate_headers(table.headers) == [
        ("Start time", ["B", "D"]),
        ("Visit notes", ["C", "E"]),
    ]
    (row,) = intake("duplicate_headers.csv")
    assert row.properties == {
        "hs_appointment_name": "Physio",
        "hs_appointment_start": "2026-06-01T08:00:00Z",
        "visit_notes": "first note",
    }
    assert row.raw[4] == "second note"


def test_it_reads_a_libreoffice_sheet() -> None:
    (row,) = intake("libreoffice.ods")
    assert row.properties == {
        "hs_appointment_name": "Bilan LibreOffice",
        "hs_appointment_start": "2026-09-10T12:00:00Z",
        "party_size": "2",
    }


def test_it_validates_whole_tables_exactly_as_row_by_row() -> None:
    names = [path.name for path in sorted(CORPUS.iterdir())]
    checked = 0
    for name in names:
        if name.endswith(".py") or name.startswith("bomb"):
            continue
        table = read_table((CORPUS / name).read_bytes(), name, max_rows=100)
        validator = table_validator(
            table,
            mapping=propose_mapping(table.headers, PROPERTIES, LABELS),
            properties=PROPERTIES,
            timezone=PARIS,
        )
        one_by_one = [validator.validate(number, cells) for number, cells in table.rows]
        assert validator.validate_rows(table.rows) == one_by_one, name
        # The stored form, byte for byte.
        assert validator.encode_rows(table.rows) == encode_rows(one_by_one, validator.layout), name
        checked += 1
    assert checked == 18


def test_it_encodes_in_chunks_as_in_one_list() -> None:
    data = "Appointment name,Start time,End time,contact_ids\n" + "".join(
        f"Visit {i},2026-05-{1 + i % 28:02d} 10:00,2026-05-{1 + i % 28:02d} "
        f"{'09' if i % 7 == 0 else '11'}:00,{1000 + i}\n"
        for i in range(2500)
    )
    table = read_table(data.encode(), "many.csv", max_rows=5000)
    options = {
        "mapping": propose_mapping(table.headers, PROPERTIES, LABELS),
        "properties": PROPERTIES,
        "timezone": PARIS,
    }
    whole = validate_table(table, **options)  # type: ignore[arg-type]
    chunks = list(iter_encoded_chunks(table, size=1000, **options))  # type: ignore[arg-type]
    assert [len(chunk) for chunk in chunks] == [1000, 1000, 500]
    encoded = encode_rows(whole, RowLayout.of(options["mapping"]))  # type: ignore[arg-type]
    assert [text for chunk in chunks for text in chunk.raw] == encoded.raw
    assert [text for chunk in chunks for text in chunk.properties] == encoded.properties
    assert [text for chunk in chunks for text in chunk.associations] == encoded.associations
    assert [text for chunk in chunks for text in chunk.errors] == encoded.errors
    assert sum(chunk.valid.count(False) for chunk in chunks) == 358
    assert sum(not row.valid for row in whole) == 358
    assert whole[7].errors[0].code == "end_before_start"
    assert whole[8].properties == {
        "hs_appointment_name": "Visit 8",
        "hs_appointment_start": "2026-05-09T08:00:00Z",
        "hs_appointment_end": "2026-05-09T09:00:00Z",
    }
    assert whole[8].associations == [["1008", *CONTACT]]
    # Stored in the layout's order: property values, then one array of IDs per association type.
    assert encoded.properties[8] == '["Visit 8","2026-05-09T08:00:00Z","2026-05-09T09:00:00Z"]'
    assert encoded.associations[8] == '[["1008"]]'


def test_it_reads_an_excel_97_workbook_past_its_hidden_sheet() -> None:
    table = read_table((CORPUS / "excel97.xls").read_bytes(), "excel97.xls", max_rows=10)
    assert (table.format, table.sheet_names, table.sheet) == ("xls", ["Codes", "Agenda"], "Agenda")
    (row,) = intake("excel97.xls")
    assert row.raw == ["Legacy export", "2026-02-03 09:15", "3", "88001"]
    assert row.properties == {
        "hs_appointment_name": "Legacy export",
        "hs_appointment_start": "2026-02-03T08:15:00Z",
        "party_size": "3",
    }
    assert row.associations == [["88001", "HUBSPOT_DEFINED", 944]]


def given_table(headers: list[str], rows: list[tuple[int, list[object]]]) -> Table:
    """A Table as a reader would give it, with the header on row 1."""
    return Table(
        headers=headers,
        rows=rows,
        sheet_names=[],
        sheet=None,
        encoding=None,
        delimiter=None,
        header_row=1,
    )


def test_it_encodes_awkward_cells_exactly_as_row_by_row() -> None:
    # Text that JSON must escape, a NUL, a lone surrogate (orjson refuses it), separators that
    # look like JSON, typed workbook cells, and a bad row among good ones.
    awkward = ['say "hi"', "back\\slash", "line\nbreak\ttab", "nul\x00", 'a","b', "lone \ud800"]
    headers = ["Appointment name", "Visit notes", "Party size", "contact_ids", "Start time"]
    rows: list[tuple[int, list[object]]] = [
        (n + 2, [f"Visit {n}", note, float(n), f"{51234 + n};{61234 + n}", "2026-03-14 09:00"])
        for n, note in enumerate(awkward)
    ]
    rows.append((9, ["Bad ids", "x", 1.5, "12a", "2026-03-14 09:00"]))
    rows.append((10, ["Typed", True, 3, 7.0, datetime.datetime(2026, 3, 14, 9, 30)]))
    table = given_table(headers, rows)
    validator = table_validator(
        table,
        mapping=propose_mapping(headers, PROPERTIES, LABELS),
        properties=PROPERTIES,
        timezone=PARIS,
    )

    encoded = validator.encode_rows(rows)

    one_by_one = [validator.validate(number, cells) for number, cells in rows]
    assert [json.loads(text) for text in encoded.raw] == [row.raw for row in one_by_one]
    assert encoded == encode_rows(one_by_one, validator.layout)
    assert json.loads(encoded.raw[5])[1] == "lone \ud800"
    # A NUL is never sent: its mapped cell is an error, and shown as U+FFFD.
    assert encoded.valid == [True] * 3 + [False] + [True] * 2 + [False, True]
    assert json.loads(encoded.raw[3])[1] == "nul\ufffd"
    [error] = json.loads(encoded.errors[3])
    assert (error["column"], error["value"], error["code"]) == (
        "Visit notes",
        "nul\ufffd",
        "nul_character",
    )
    assert json.loads(encoded.associations[1]) == [["51235", "61235"]]
    assert validator.layout.unpack_associations(json.loads(encoded.associations[1])) == [
        ["51235", "HUBSPOT_DEFINED", 906],
        ["61235", "HUBSPOT_DEFINED", 906],
    ]


def test_a_boolean_never_takes_a_number_remembered_from_an_earlier_chunk() -> None:
    # Converters remember results across chunks, and True == 1 as a dict key.
    headers = ["Appointment name", "Party size", "contact_ids"]
    rows: list[tuple[int, list[object]]] = [
        (2, ["A", 1, 1]),
        (3, ["B", 0, 1.0]),
        (4, ["C", True, True]),
        (5, ["D", False, False]),
    ]
    table = given_table(headers, rows)
    options = {
        "mapping": propose_mapping(headers, PROPERTIES, LABELS),
        "properties": PROPERTIES,
        "timezone": PARIS,
    }

    chunks = list(iter_encoded_chunks(table, size=2, **options))  # type: ignore[arg-type]

    assert [chunk.valid for chunk in chunks] == [[True, True], [False, False]]
    codes = [[e["code"] for e in json.loads(text)] for text in chunks[1].errors]
    assert codes == [
        ["invalid_number", "invalid_record_id"],
        ["invalid_number", "invalid_record_id"],
    ]
