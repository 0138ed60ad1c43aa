"""Reading the corpus: encodings, delimiters, title rows, sheets, formulas, limits, bombs."""

from __future__ import annotations

import datetime
import io
import struct
import zipfile

import pytest

from appointments.intake import workbook
from appointments.intake.cells import FORMULA_WITHOUT_VALUE
from appointments.intake.readers import IntakeError, read_table
from appointments.intake.workbook import scan_zip
from tests.intake_fixtures import CORPUS, intake

UNREADABLE = (
    "This file cannot be read as a spreadsheet. Accepted formats: CSV, XLSX, XLSM, XLS, ODS."
)


def read(name: str, **options: object) -> object:
    return read_table((CORPUS / name).read_bytes(), name, max_rows=1000, **options)  # type: ignore[arg-type]


def test_it_reads_utf8_with_bom() -> None:
    table = read_table((CORPUS / "bom.csv").read_bytes(), "bom.csv", max_rows=10)
    assert table.encoding == "utf-8-sig"
    assert table.delimiter == ","
    assert table.headers == ["Appointment name", "Start time", "End time", "Status", "contact_ids"]
    assert table.rows == [
        (2, ["Consultation Zoë", "2026-03-14 10:00", "2026-03-14 10:30", "Scheduled", "51234"])
    ]


def test_it_detects_windows_1252_and_semicolons() -> None:
    table = read_table((CORPUS / "windows1252.csv").read_bytes(), "windows1252.csv", max_rows=10)
    assert table.encoding == "cp1252"
    assert table.delimiter == ";"
    assert table.headers[1] == "Heure de début"
    assert table.rows[0][1][5] == "Prévoir 5 € \u2013 café"


def test_it_reads_a_forced_encoding_and_refuses_one_that_does_not_fit() -> None:
    data = (CORPUS / "windows1252.csv").read_bytes()
    table = read_table(data, "windows1252.csv", encoding="latin_1", max_rows=10)
    assert table.encoding == "latin_1"
    assert table.rows[0][1][0] == "Visite Hélène Müller"
    with pytest.raises(IntakeError) as error:
        read_table(data, "windows1252.csv", encoding="utf-8", max_rows=10)
    assert error.value.message == "The file cannot be read as utf-8. Choose another encoding."
    with pytest.raises(IntakeError) as error:
        read_table(data, "windows1252.csv", encoding="klingon", max_rows=10)
    assert error.value.message == "“klingon” is not a known encoding."


def test_it_keeps_quoted_line_breaks_in_one_row() -> None:
    table = read_table(
        (CORPUS / "quoted_newlines.csv").read_bytes(), "quoted_newlines.csv", max_rows=10
    )
    assert [number for number, _cells in table.rows] == [2, 3]
    assert table.rows[0][1] == [
        "Dental, annual",
        'Bring X-rays\nAsk about "whitening"',
        "2026-05-04 14:00",
    ]


def test_it_honours_excel_sep_hint_and_tab_files() -> None:
    table = read_table(b"sep=;\nName;Notes\nA;1,5\n", "x.csv", max_rows=10)
    assert (table.delimiter, table.headers, table.rows) == (
        ";",
        ["Name", "Notes"],
        [(2, ["A", "1,5"])],
    )
    table = read_table(b"Name\tNotes\nA\tb, c\n", "x.tsv", max_rows=10)
    assert table.rows == [(2, ["A", "b, c"])]


def test_it_finds_the_header_below_a_title_block() -> None:
    table = read_table((CORPUS / "title_row.xlsx").read_bytes(), "title_row.xlsx", max_rows=10)
    assert table.header_row == 4
    assert table.headers == ["Appointment name", "Start time", "End time", "Status", "contact_ids"]
    assert table.rows == [
        (5, ["Massage", datetime.datetime(2026, 3, 20, 15, 0), "", "Scheduled", 901.0]),
        (7, ["Sauna", datetime.datetime(2026, 3, 21, 16, 0), "", "completed", 902.0]),
    ]


def test_it_takes_a_chosen_header_row() -> None:
    data = b"Clinic report\nName,Start\nA,2026-01-01\n"
    assert read_table(data, "x.csv", max_rows=10).header_row == 2
    table = read_table(data, "x.csv", header_row=1, max_rows=10)
    assert table.headers == ["Clinic report", ""]
    assert table.rows == [(2, ["Name", "Start"]), (3, ["A", "2026-01-01"])]
    with pytest.raises(IntakeError) as error:
        read_table(data, "x.csv", header_row=9, max_rows=10)
    assert error.value.message == "The file has no row 9. Choose another header row."


def test_it_skips_a_hidden_first_sheet_and_reads_another_on_request() -> None:
    data = (CORPUS / "hidden_first_sheet.xlsx").read_bytes()
    table = read_table(data, "hidden_first_sheet.xlsx", max_rows=10)
    assert table.sheet_names == ["Lookups", "Appointments", "Archive"]
    assert table.sheet == "Appointments"
    assert table.rows[0][1][0] == "Vaccination"
    archive = read_table(data, "hidden_first_sheet.xlsx", sheet="Archive", max_rows=10)
    assert archive.rows == [(2, ["Old visit", "2025-01-01 08:30", "", "Completed", ""])]
    with pytest.raises(IntakeError) as error:
        read_table(data, "hidden_first_sheet.xlsx", sheet="Nope", max_rows=10)
    assert error.value.message == (
        "There is no sheet named “Nope”. Sheets in this workbook: Lookups, Appointments, Archive."
    )


def test_it_reads_ods() -> None:
    table = read_table((CORPUS / "libreoffice.ods").read_bytes(), "libreoffice.ods", max_rows=10)
    assert (table.format, table.sheet) == ("ods", "Rendez-vous")
    assert table.rows == [(2, ["Bilan LibreOffice", datetime.datetime(2026, 9, 10, 14, 0), 2.0])]


def test_it_gives_saved_formula_values() -> None:
    rows = intake("formulas_saved.xlsx")
    assert rows[0].properties == {
        "hs_appointment_name": "Group visit",
        "party_size": "5",
        "visit_notes": "Room 12",
    }


def test_it_marks_formulas_saved_without_a_value() -> None:
    table = read_table(
        (CORPUS / "formulas_unsaved.xlsx").read_bytes(), "formulas_unsaved.xlsx", max_rows=10
    )
    assert table.rows == [
        (2, ["Group visit", FORMULA_WITHOUT_VALUE, "plain"]),
        (3, [FORMULA_WITHOUT_VALUE, 4.0, "plain"]),
    ]


def test_it_reads_the_1904_flag() -> None:
    assert read("dates_1904.xlsx").date1904 is True  # type: ignore[attr-defined]
    assert read("serial_dates.xlsx").date1904 is False  # type: ignore[attr-defined]


def test_it_drops_empty_rows_and_trailing_empty_columns() -> None:
    table = read_table(b"Name,Start,,\r\n,,,\r\nA,x,,\r\n\r\nB,,,\r\n,,,\r\n", "x.csv", max_rows=10)
    assert table.headers == ["Name", "Start"]
    assert table.rows == [(3, ["A", "x"]), (5, ["B", ""])]


def test_it_refuses_more_rows_than_the_limit() -> None:
    data = b"Name\n" + b"A\n" * 4
    assert len(read_table(data, "x.csv", max_rows=4).rows) == 4
    with pytest.raises(IntakeError) as error:
        read_table(data, "x.csv", max_rows=3)
    assert error.value.message == (
        "This file has more than 3 data rows, the most one upload can take. "
        "Split it into smaller files."
    )
    with pytest.raises(IntakeError):
        read_table((CORPUS / "title_row.xlsx").read_bytes(), "title_row.xlsx", max_rows=1)


def test_it_refuses_unknown_formats_and_corrupt_files() -> None:
    with pytest.raises(IntakeError) as error:
        read_table(b"%PDF-1.7", "appointments.pdf", max_rows=10)
    assert error.value.message == (
        "“appointments.pdf” is not a spreadsheet this page can read. "
        "Accepted formats: CSV, XLSX, XLSM, XLS, ODS."
    )
    for name in ("broken.xlsx", "broken.xls", "broken.ods"):
        with pytest.raises(IntakeError) as error:
            read_table(b"PK\x03\x04 not really a zip", name, max_rows=10)
        assert error.value.message == UNREADABLE
    with pytest.raises(IntakeError) as error:
        read_table(b"", "empty.csv", max_rows=10)
    assert error.value.message == "The file is empty: it has no header row and no data."


def test_it_refuses_a_binary_file_named_csv() -> None:
    # Bytes of every value, and nothing but NULs (which UTF-8 would decode without a word).
    for data in (bytes(range(256)) * 8, b"\x00" * 500):
        with pytest.raises(IntakeError) as error:
            read_table(data, "x.csv", max_rows=10)
        assert error.value.message == (
            "This file is not a readable CSV file. Accepted formats: CSV, XLSX, XLSM, XLS, ODS."
        )


def test_it_reads_a_csv_padded_with_nul_bytes() -> None:
    data = b"Appointment name,Party size\r\nP1,2\r\n" + b"\x00" * 40
    table = read_table(data, "padded.csv", max_rows=10)
    assert (table.headers, table.rows) == (["Appointment name", "Party size"], [(2, ["P1", "2"])])


def test_it_reads_utf16_without_a_byte_order_mark() -> None:
    text = "Appointment name,Start time\nVisite à domicile,2026-01-02 10:00\n"
    for codec in ("utf-16-le", "utf-16-be"):
        table = read_table(text.encode(codec), "utf16.csv", max_rows=10)
        assert (table.encoding, table.headers) == (
            codec.replace("-", "_"),
            ["Appointment name", "Start time"],
        )
        assert table.rows == [(2, ["Visite à domicile", "2026-01-02 10:00"])]


BOMB_MESSAGE = (
    "This workbook unpacks to more than 400 MB (a compressed file this small should not). It was "
    "refused; save it again from your spreadsheet program or export it as CSV."
)


def test_it_refuses_a_decompression_bomb() -> None:
    data = (CORPUS / "bomb.xlsx").read_bytes()
    assert len(data) < 600_000
    with pytest.raises(IntakeError) as error:
        read_table(data, "bomb.xlsx", max_rows=10)
    assert error.value.message == BOMB_MESSAGE


def _understate_sizes(data: bytes) -> bytes:
    """The bomb with its sheet's uncompressed size set to 1 kB in local and central headers."""
    patched = bytearray(data)
    name = b"xl/worksheets/sheet1.xml"
    local = zipfile.ZipFile(io.BytesIO(data)).getinfo(name.decode()).header_offset
    name_len = struct.unpack_from("<H", patched, local + 26)[0]
    # The zip64 extra field (id, size, then uncompressed and compressed sizes) follows the name.
    struct.pack_into("<Q", patched, local + 30 + name_len + 4, 1000)
    central = data.index(b"PK\x01\x02")
    while data[central + 46 : central + 46 + len(name)] != name:
        central = data.index(b"PK\x01\x02", central + 1)
    if struct.unpack_from("<I", patched, central + 24)[0] == 0xFFFFFFFF:
        struct.pack_into("<Q", patched, central + 46 + len(name) + 4, 1000)
    else:
        struct.pack_into("<I", patched, central + 24, 1000)
    return bytes(patched)


def test_it_refuses_a_bomb_whose_headers_lie_about_its_size() -> None:
    data = _understate_sizes((CORPUS / "bomb.xlsx").read_bytes())
    declared = sum(info.file_size for info in zipfile.ZipFile(io.BytesIO(data)).infolist())
    assert declared < 100_000
    with pytest.raises(IntakeError) as error:
        read_table(data, "bomb.xlsx", max_rows=10)
    assert error.value.message == UNREADABLE


def test_it_counts_what_members_actually_inflate_to() -> None:
    data = (CORPUS / "title_row.xlsx").read_bytes()
    inflated = scan_zip(data, 10_000_000).inflated_bytes
    assert inflated > len(data)
    with pytest.raises(IntakeError) as error:
        read_table(data, "title_row.xlsx", max_rows=10, max_inflated_bytes=inflated - 1)
    assert error.value.message.startswith("This workbook unpacks to more than 0 MB")


def test_it_finds_unsaved_formulas_in_prefixed_sheet_xml() -> None:
    sheet = (
        b'<?xml version="1.0"?><x:worksheet xmlns:x="http://schemas.openxmlformats.org/'
        b'spreadsheetml/2006/main"><x:sheetData>'
        b'<x:row r="1"><x:c r="A1" t="inlineStr"><x:is><x:t>Appointment name</x:t></x:is></x:c>'
        b'<x:c r="B1" t="inlineStr"><x:is><x:t>Party size</x:t></x:is></x:c></x:row>'
        b'<x:row r="2"><x:c r="A2" t="inlineStr"><x:is><x:t>Visit</x:t></x:is></x:c>'
        b'<x:c r="B2"><x:f>1+1</x:f></x:c></x:row>'
        b'<x:row r="3"><x:c r="A3" t="inlineStr"><x:is><x:t>Saved</x:t></x:is></x:c>'
        b'<x:c r="B3"><x:f>1+2</x:f><x:v>3</x:v></x:c></x:row>'
        b"</x:sheetData></x:worksheet>"
    )
    found = scan_zip(_replace_sheet(sheet), 10_000_000).unsaved_formulas
    assert found == {"xl/worksheets/sheet1.xml": {(1, 1)}}


def _replace_sheet(sheet: bytes) -> bytes:
    source = zipfile.ZipFile(CORPUS / "formulas_saved.xlsx")
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            content = sheet if item.filename == "xl/worksheets/sheet1.xml" else source.read(item)
            target.writestr(item.filename, content)
    return output.getvalue()


def test_it_relies_on_calamine_refusing_members_larger_than_declared() -> None:
    # read_workbook lets calamine read while the inflation is counted; this pins why it is safe.
    import python_calamine

    data = _understate_sizes((CORPUS / "bomb.xlsx").read_bytes())
    book = python_calamine.CalamineWorkbook.from_object(io.BytesIO(data))
    with pytest.raises(python_calamine.CalamineError) as error:
        book.get_sheet_by_index(0)
    assert "larger than its declared uncompressed size" in str(error.value)


def test_it_turns_a_calamine_panic_on_a_truncated_xls_into_a_message() -> None:
    # Cut here, this file makes calamine's Rust code panic (a BaseException in Python).
    data = (CORPUS / "excel97.xls").read_bytes()[:4171]
    with pytest.raises(IntakeError) as error:
        read_table(data, "excel97.xls", max_rows=10)
    assert error.value.message == UNREADABLE


def test_it_falls_back_to_detection_when_a_bom_lies() -> None:
    data = b"\xef\xbb\xbfName;Notes\nCaf\xe9;\x80 5\n"
    table = read_table(data, "x.csv", max_rows=10)
    assert table.encoding == "cp1252"
    assert table.headers == ["Name", "Notes"]
    assert table.rows == [(2, ["Café", "€ 5"])]


def test_it_reads_every_row_as_data_when_told_there_is_no_header_row() -> None:
    table = read_table(
        b"Intake 1,2026-12-01\nIntake 2,2026-12-02,extra\n", "a.csv", header_row=0, max_rows=10
    )
    assert table.headers == ["A", "B", "C"]
    assert [number for number, _cells in table.rows] == [1, 2]
    assert table.rows[0][1] == ["Intake 1", "2026-12-01", ""]
    assert table.header_row == 0


def test_it_finds_an_ods_formula_across_a_chunk_seam(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(workbook, "_CHUNK", 8)
    for offset in range(12):
        content = b"x" * offset + b'<table:table-cell table:formula="of:=1"/>' + b"y" * 20
        size, formulas = workbook._count_ods_content(io.BytesIO(content), limit=10_000)
        assert (size, formulas) == (len(content), True), offset
    assert workbook._count_ods_content(io.BytesIO(b"table:formul" + b"x" * 30), 10_000)[1] is False


def test_it_places_ods_formulas_after_repeated_rows_and_columns() -> None:
    content = (
        b'<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"'
        b' xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"><office:body>'
        b'<office:spreadsheet><table:table table:name="First">'
        b'<table:table-row table:number-rows-repeated="3"><table:table-cell/></table:table-row>'
        b'<table:table-row><table:table-cell table:number-columns-repeated="2"/>'
        b"<table:covered-table-cell/>"
        b'<table:table-cell table:formula="of:=1" table:number-columns-repeated="2"/>'
        b'<table:table-cell table:formula="of:=2" office:value-type="float" office:value="2"/>'
        b'</table:table-row></table:table><table:table table:name="Second"><table:table-row>'
        b'<table:table-cell table:formula="of:=3"/></table:table-row></table:table>'
        b"</office:spreadsheet></office:body></office:document-content>"
    )

    found = workbook._ods_unsaved_formulas(io.BytesIO(content))

    assert found == {"First": {(3, 3), (3, 4)}, "Second": {(0, 0)}}


def test_it_refuses_a_quote_never_closed_instead_of_swallowing_the_rows_below() -> None:
    lines = ["Appointment name,Start time"]
    lines += [f"Visit {n},2026-12-03 10:00" for n in range(1, 11)]
    lines += ['"Visit 11 (the quote is never closed,2026-12-03 10:00']
    lines += [f"Visit {n},2026-12-03 10:00" for n in range(12, 51)]
    with pytest.raises(IntakeError) as refused:
        read_table(("\n".join(lines) + "\n").encode(), "quotes.csv", max_rows=1000)
    assert refused.value.message.startswith(
        "Row 12 opens a quoted cell that is never closed, so it runs to the end of the file"
    )


def test_it_still_reads_a_closed_multi_line_cell_in_the_last_row() -> None:
    text = 'Appointment name,Notes\nA,x\nB,"line1\nline2"\n'
    table = read_table(text.encode(), "notes.csv", max_rows=10)
    assert table.rows[-1] == (3, ["B", "line1\nline2"])


def test_it_reads_a_wide_file_and_refuses_one_wider_than_a_workbook_can_be() -> None:
    header = ",".join(f"Column {n}" for n in range(5000))
    data = (header + "\n" + ",".join(["x"] * 5000) + "\n").encode()
    assert len(read_table(data, "wide.csv", max_rows=10).headers) == 5000

    header = ",".join(f"C{n}" for n in range(16_385))
    data = (header + "\n" + ",".join(["x"] * 16_385) + "\n").encode()
    with pytest.raises(IntakeError) as refused:
        read_table(data, "wider.csv", max_rows=10)
    assert refused.value.message == (
        "This file has 16,385 columns; one upload can take at most 16,384. Delete the columns "
        "you do not need and upload it again."
    )


def test_it_refuses_a_quote_closed_rows_later_instead_of_swallowing_them() -> None:
    lines = ["Appointment name,Start time"]
    lines += [f"Visit {n},2026-12-03 10:00" for n in range(1, 11)]
    lines += ['"Visit 11,2026-12-03 10:00']
    lines += [f"Visit {n},2026-12-03 10:00" for n in range(12, 30)]
    lines += ['Visit 30",2026-12-03 10:00']
    lines += [f"Visit {n},2026-12-03 10:00" for n in range(31, 51)]
    with pytest.raises(IntakeError) as refused:
        read_table(("\n".join(lines) + "\n").encode(), "quotes.csv", max_rows=1000)
    assert refused.value.message.startswith(
        "Row 12 holds a quoted cell of 20 lines that looks like several rows read as one"
    )


def test_it_keeps_a_multi_line_note_with_commas() -> None:
    text = 'Appointment name,Notes,Start\nA,"Bring: forms, ID\nand the letter, signed",x\n'
    table = read_table(text.encode(), "notes.csv", max_rows=10)
    assert table.rows[0][1][1] == "Bring: forms, ID\nand the letter, signed"
