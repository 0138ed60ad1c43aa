"""A cap on cells, checked before a sheet is loaded: a small, dense file never takes gigabytes."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from appointments.intake.readers import IntakeError, read_table

ROOT = Path(__file__).resolve().parents[2]
WORKBOOK_XML = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
    'Target="worksheets/sheet1.xml"/></Relationships>'
)
ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    'Target="xl/workbook.xml"/></Relationships>'
)
CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" '
    'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    "</Types>"
)


def dense_workbook(path: Path, rows: int, columns: int, dimension: str | None = None) -> Path:
    """An XLSX of ``rows`` rows of ``columns`` numbers, written straight as XML: a header row,
    then the same row again and again, so it compresses to almost nothing."""
    last = "" if columns < 1 else _letters(columns)
    ref = dimension or f"A1:{last}{rows}"
    cells = "<c><v>1</v></c>" * columns
    header = "".join(f'<c t="inlineStr"><is><t>h{n}</t></is></c>' for n in range(columns))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("_rels/.rels", ROOT_RELS)
        archive.writestr("xl/workbook.xml", WORKBOOK_XML)
        archive.writestr("xl/_rels/workbook.xml.rels", RELS)
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(
                b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                + f'<dimension ref="{ref}"/><sheetData>'.encode()
            )
            sheet.write(f'<row r="1">{header}</row>'.encode())
            body = cells.encode()
            for number in range(2, rows + 1):
                sheet.write(b'<row r="%d">' % number + body + b"</row>")
            sheet.write(b"</sheetData></worksheet>")
    return path


def _letters(number: int) -> str:
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def test_it_refuses_a_dense_workbook_before_loading_it_naming_rows_and_columns(
    tmp_path: Path,
) -> None:
    # The workbook an attacker sent: 0.8 MB, 100,001 rows x 250 numbers, 376 MB of XML.
    path = dense_workbook(tmp_path / "dense.xlsx", 100_001, 250)
    assert path.stat().st_size < 2_000_000
    # In a process of its own, so its peak memory is this read's alone.
    script = (
        "import resource, sys\n"
        "from appointments.intake.readers import IntakeError, read_table\n"
        "data = open(sys.argv[1], 'rb').read()\n"
        "try:\n"
        "    read_table(data, 'dense.xlsx', max_rows=200_000, max_cells=2_000_000)\n"
        "except IntakeError as exc:\n"
        "    print(exc.message)\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024, 'MB')\n"
    )
    env = {"DJANGO_SETTINGS_MODULE": "hubportal.settings", "PYTHONPATH": str(ROOT)}
    run = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()\n" + script, str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**env, "PATH": "/usr/bin:/bin"},
        timeout=120,
        check=True,
    )
    message, peak = run.stdout.strip().splitlines()
    assert message == (
        "This sheet has 100,001 rows and 250 columns (25,000,250 cells); one upload can take at "
        "most 2,000,000 cells. Delete the columns you do not need, or split the file into "
        "smaller ones."
    )
    print(f"peak RSS refusing the dense workbook: {peak}")  # the figure is the bench's to judge


def test_it_refuses_a_sheet_whose_declared_size_is_too_large(tmp_path: Path) -> None:
    # Three written rows, but a dimension that makes calamine build a huge rectangle.
    path = dense_workbook(tmp_path / "tall.xlsx", 3, 2, dimension="A1:Z1048576")
    with pytest.raises(IntakeError) as refused:
        read_table(path.read_bytes(), "tall.xlsx", max_rows=100_000, max_cells=2_000_000)
    assert "1,048,576 rows and 26 columns" in refused.value.message


def test_it_reads_a_workbook_within_the_cap(tmp_path: Path) -> None:
    path = dense_workbook(tmp_path / "ok.xlsx", 101, 20)
    table = read_table(path.read_bytes(), "ok.xlsx", max_rows=100_000, max_cells=2_020)
    assert len(table.rows) == 100 and len(table.headers) == 20


def test_it_refuses_a_wide_csv_as_it_reads_it() -> None:
    line = ",".join(["1"] * 10_000)
    data = ("\n".join([line] * 300) + "\n").encode()
    with pytest.raises(IntakeError) as refused:
        read_table(data, "wide.csv", max_rows=100_000, max_cells=2_000_000)
    # The header row and the first 200 data rows fit (2,010,000 > 2,000,000 stops at the
    # 201st row read): the counts are those of the rows read, the row where it stopped named.
    assert refused.value.message.startswith(
        "This file has more cells than one upload can take (2,000,000): reading stopped at row "
        "201, where its first 201 rows, each as wide as the widest (10,000 columns), already "
        "made 2,010,000 cells."
    )


def test_it_says_at_least_when_the_declared_size_lies(tmp_path: Path) -> None:
    # Counting stops at the cap: the counts reached are a floor, said as one.
    path = dense_workbook(tmp_path / "liar.xlsx", 20_001, 250, dimension="A1:B2")
    with pytest.raises(IntakeError) as refused:
        read_table(path.read_bytes(), "liar.xlsx", max_rows=100_000, max_cells=2_000_000)
    # Counted as the XML inflates (a megabyte at a time): where it stopped, and the true count
    # of cells written up to there (250 a row), over the cap.
    found = re.match(
        r"This sheet has more cells than one upload can take \(2,000,000\): counting stopped at "
        r"row ([\d,]+), after ([\d,]+) cells\.",
        refused.value.message,
    )
    assert found, refused.value.message
    rows, cells = (int(group.replace(",", "")) for group in found.groups())
    assert cells > 2_000_000 and rows * 250 <= cells < (rows + 1) * 250


def test_it_names_the_row_column_and_length_of_a_cell_too_long_for_a_csv() -> None:
    # An unquoted 2 MB cell: nothing to do with quotes, so the message says what is wrong.
    data = ("name,start,notes\nA,2026-12-01 09:00," + "x" * 2_000_000 + "\n").encode()
    with pytest.raises(IntakeError) as refused:
        read_table(data, "big.csv", max_rows=100_000, max_cells=2_000_000)
    assert refused.value.message == (
        "Row 2, column C holds a cell of 2,000,000 characters: one cell can hold at most "
        "131,072 (and a HubSpot text property 65,536). Shorten that cell or empty it, then "
        "upload the file again."
    )


def test_a_quote_never_closed_is_still_told_as_one() -> None:
    data = ('name,start,notes\nA,2026-12-01 09:00,"' + "x\n" * 100_000).encode()
    with pytest.raises(IntakeError) as refused:
        read_table(data, "quote.csv", max_rows=1_000_000, max_cells=20_000_000)
    assert "a quoted cell is not closed" in refused.value.message
