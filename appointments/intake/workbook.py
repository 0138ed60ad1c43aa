"""Workbook reading with python-calamine, guarded against zip bombs and unsaved formulas."""

from __future__ import annotations

import io
import posixpath
import re
import threading
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO
from xml.etree.ElementTree import ParseError

import python_calamine
import xlrd
from defusedxml import DefusedXmlException, ElementTree
from django.utils.translation import gettext as _

from .cells import column_index
from .errors import IntakeError

ZIP_FORMATS = frozenset({"xlsx", "xlsm", "ods"})
WORKBOOK_FORMATS = frozenset({"xlsx", "xlsm", "xls", "ods"})
# Real workbooks inflate 5 to 20 times; an upload capped at tens of MB stays far below this.
DEFAULT_MAX_INFLATED_BYTES = 400 * 1024 * 1024
_CHUNK = 1024 * 1024
# A formula cell repeated over a whole sheet (ODS can say "1,048,576 times") is marked where
# rows can be: the first this many repeats.
_MAX_REPEAT = 1024

_CELL = re.compile(rb"<(?:\w+:)?c\b([^>]*?)(?:/>|>(.*?)</(?:\w+:)?c>)", re.DOTALL)
_REF = re.compile(rb'\br="\$?([A-Z]{1,3})\$?(\d+)"')
_FORMULA = re.compile(rb"<(?:\w+:)?f[\s>/]")
_SAVED_VALUE = re.compile(rb"<(?:\w+:)?v>[^<]")
_STRING_RESULT = re.compile(rb'\bt="str"')
_PREFIXED_ROOT = re.compile(rb"<\w+:worksheet\b")
_DIMENSION = re.compile(
    rb'<(?:\w+:)?dimension\s+ref="\$?([A-Z]{1,3})\$?(\d+)(?::\$?([A-Z]{1,3})\$?(\d+))?"'
)
_DATE1904 = re.compile(rb'date1904="(?:1|true)"')
_OFFICE_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
# OpenDocument (ODF 1.2, part 1, sections 9.1 and 19.x): where a sheet's cells and formulas are.
_ODS_CONTENT = "content.xml"
_ODS_FORMULA_MARK = b"table:formula"
_TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
_OFFICE = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"


@dataclass
class ZipScan:
    """What the guard learnt while inflating every member once."""

    inflated_bytes: int = 0
    # XML member path (XLSX) or "content.xml:<sheet name>" (ODS) -> set of (0-based row,
    # 0-based column) of formulas with no saved value.
    unsaved_formulas: dict[str, set[tuple[int, int]]] = field(default_factory=dict)


def accepted_formats_sentence() -> str:
    return _("Accepted formats: CSV, XLSX, XLSM, XLS, ODS.")


def _unreadable() -> IntakeError:
    return IntakeError(
        _("This file cannot be read as a spreadsheet. %(formats)s")
        % {"formats": accepted_formats_sentence()}
    )


def _scan_formulas(stream: IO[bytes], found: set[tuple[int, int]], limit: int) -> int:
    """Inflate one worksheet member chunk by chunk; record formulas without a saved value."""
    size = 0
    pending = b""
    # Most sheets are written unprefixed; some tools write <x:c>/<x:f> and need a second search.
    formula_marks = [b"<f"]
    while chunk := stream.read(_CHUNK):
        if not size and _PREFIXED_ROOT.search(chunk[:4096]):
            formula_marks.append(b":f")
        size += len(chunk)
        if size > limit:
            return size
        buffer = pending + chunk
        # Cut after the last complete row ("</row>" or "</x:row>"); the rest waits for more.
        cut = buffer.rfind(b"row>")
        if cut < 0:
            pending = buffer
            continue
        head, pending = buffer[:cut], buffer[cut:]
        # Fast path: most chunks of most sheets hold no formula at all.
        if any(mark in head for mark in formula_marks):
            _record_unsaved(head, found)
    if any(mark in pending for mark in formula_marks):
        _record_unsaved(pending, found)
    return size


def _count_ods_content(stream: IO[bytes], limit: int) -> tuple[int, bool]:
    """Inflate an ODS ``content.xml`` chunk by chunk: its size (stopping past ``limit``), and
    whether it holds any formula."""
    size, formulas, tail = 0, False, b""
    while chunk := stream.read(_CHUNK):
        size += len(chunk)
        if size > limit:
            break
        # The mark may straddle chunks: ``tail`` keeps the bytes before this chunk that could
        # start it, without copying the chunk itself.
        keep = len(_ODS_FORMULA_MARK) - 1
        seam = tail + chunk[:keep]
        formulas = formulas or _ODS_FORMULA_MARK in chunk or _ODS_FORMULA_MARK in seam
        tail = chunk[-keep:] if len(chunk) >= keep else (tail + chunk)[-keep:]
    return size, formulas


def _ods_unsaved_formulas(stream: IO[bytes]) -> dict[str, set[tuple[int, int]]]:
    """Sheet name -> (0-based row, 0-based column) of each formula cell saved without a value
    (``table:formula`` and no ``office:value-type``), counting repeated rows and columns."""
    found: dict[str, set[tuple[int, int]]] = {}
    sheet, row, column, row_repeat = "", 0, 0, 1
    cells = (f"{_TABLE}table-cell", f"{_TABLE}covered-table-cell")
    for event, element in ElementTree.iterparse(stream, events=("start", "end")):
        tag = element.tag
        if event == "start":
            if tag == f"{_TABLE}table":
                sheet, row = element.get(f"{_TABLE}name", ""), 0
            elif tag == f"{_TABLE}table-row":
                column = 0
                row_repeat = int(element.get(f"{_TABLE}number-rows-repeated", "1"))
            elif tag in cells:
                repeat = int(element.get(f"{_TABLE}number-columns-repeated", "1"))
                if element.get(f"{_TABLE}formula") and not element.get(f"{_OFFICE}value-type"):
                    found.setdefault(sheet, set()).update(
                        (row + down, column + across)
                        for down in range(min(row_repeat, _MAX_REPEAT))
                        for across in range(min(repeat, _MAX_REPEAT))
                    )
                column += repeat
        elif tag == f"{_TABLE}table-row":
            row += row_repeat
            element.clear()
    return found


def _record_unsaved(xml: bytes, found: set[tuple[int, int]]) -> None:
    for match in _CELL.finditer(xml):
        body = match.group(2)
        if not body or not _FORMULA.search(body) or _SAVED_VALUE.search(body):
            continue
        attributes = match.group(1)
        ref = _REF.search(attributes)
        if ref and not _STRING_RESULT.search(attributes):
            found.add((int(ref.group(2)) - 1, column_index(ref.group(1).decode())))


def open_checked(data: bytes, max_inflated_bytes: int) -> zipfile.ZipFile:
    """Open a zip-based workbook and refuse it if its members declare more than the limit."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError) as error:
        raise _unreadable() from error
    declared = sum(member.file_size for member in archive.infolist())
    if declared > max_inflated_bytes:
        raise _too_big(declared, max_inflated_bytes)
    return archive


def inflate_all(archive: zipfile.ZipFile, max_inflated_bytes: int) -> ZipScan:
    """Inflate every member once, streaming, counting what they actually inflate to (a lying
    header cannot exhaust memory: chunks are counted and dropped), and note worksheet formulas
    saved without a value. Raises IntakeError for a bomb or a corrupt member."""
    scan = ZipScan()
    ods_formulas = False
    try:
        for member in archive.infolist():
            remaining = max_inflated_bytes - scan.inflated_bytes
            with archive.open(member) as stream:
                name = member.filename
                if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                    found: set[tuple[int, int]] = set()
                    scan.inflated_bytes += _scan_formulas(stream, found, remaining)
                    if found:
                        scan.unsaved_formulas[name] = found
                elif name == _ODS_CONTENT:
                    size, formulas = _count_ods_content(stream, remaining)
                    scan.inflated_bytes += size
                    ods_formulas = formulas
                else:
                    while chunk := stream.read(_CHUNK):
                        scan.inflated_bytes += len(chunk)
                        if scan.inflated_bytes > max_inflated_bytes:
                            break
            if scan.inflated_bytes > max_inflated_bytes:
                raise _too_big(scan.inflated_bytes, max_inflated_bytes)
        if ods_formulas:
            # Read again, now known to inflate within the limit: parsed only when it has formulas.
            with archive.open(_ODS_CONTENT) as stream:
                for sheet, cells in _ods_unsaved_formulas(stream).items():
                    scan.unsaved_formulas[f"{_ODS_CONTENT}:{sheet}"] = cells
    except IntakeError:
        raise
    except Exception as error:  # zipfile raises zlib.error, BadZipFile, EOFError... when damaged
        raise _unreadable() from error
    return scan


def scan_zip(data: bytes, max_inflated_bytes: int) -> ZipScan:
    """Declared sizes, then actual inflation (see ``open_checked`` and ``inflate_all``)."""
    return inflate_all(open_checked(data, max_inflated_bytes), max_inflated_bytes)


def too_many_cells(rows: int, columns: int, limit: int) -> IntakeError:
    """The sentence for a sheet that declares ``rows`` x ``columns`` cells, over the ``limit``."""
    return IntakeError(
        _(
            "This sheet has %(rows)s rows and %(columns)s columns (%(cells)s cells); one upload "
            "can take at most %(limit)s cells. Delete the columns you do not need, or split the "
            "file into smaller ones."
        )
        % {
            "rows": f"{rows:,}",
            "columns": f"{columns:,}",
            "cells": f"{rows * columns:,}",
            "limit": f"{limit:,}",
        }
    )


def cells_over_limit(
    *, cells: int, row: int, limit: int, rows: int = 0, columns: int = 0
) -> IntakeError:
    """The sentence for a file whose reading stopped at row ``row`` (as the spreadsheet numbers
    it) once ``cells`` cells were counted, over the ``limit``: the file has at least that many
    and how many more is not known. ``rows`` and ``columns`` (a CSV): the rows read and the
    widest of them, whose product ``cells`` is (every row is padded to the widest); 0: the
    cells written in the sheet were counted (a workbook)."""
    counts = {"cells": f"{cells:,}", "row": f"{row:,}", "limit": f"{limit:,}"}
    if rows and columns:
        return IntakeError(
            _(
                "This file has more cells than one upload can take (%(limit)s): reading stopped "
                "at row %(row)s, where its first %(rows)s rows, each as wide as the widest "
                "(%(columns)s columns), already made %(cells)s cells. Delete the columns you do "
                "not need, or split the file into smaller ones."
            )
            % {**counts, "rows": f"{rows:,}", "columns": f"{columns:,}"}
        )
    return IntakeError(
        _(
            "This sheet has more cells than one upload can take (%(limit)s): counting stopped "
            "at row %(row)s, after %(cells)s cells. Delete the columns you do not need, or "
            "split the file into smaller ones."
        )
        % counts
    )


def check_sheet_size(archive: zipfile.ZipFile, path: str, max_cells: int) -> None:
    """Refuse a worksheet (XML member ``path``) with more than ``max_cells`` cells before any
    of it is loaded: calamine builds the whole rectangle of a sheet in memory (an 0.8 MB file of
    100,001 rows x 250 numbers took 1.9 GB), so the count is made on the inflating XML.

    Cells are the larger of the sheet's declared ``<dimension>`` rectangle and the ``<c>``
    elements actually written; rows the larger of the declared rows and the rows written. Raises
    IntakeError naming both counts. A member that is missing is left to calamine.
    """
    try:
        stream = archive.open(path)
    except KeyError:
        return
    declared_rows = declared_columns = written_cells = written_rows = 0
    with stream:
        head = True
        while chunk := stream.read(_CHUNK):
            if head:
                head = False
                if match := _DIMENSION.search(chunk[:65536]):
                    first_col, first_row, last_col, last_row = match.groups()
                    if last_col and last_row:
                        declared_rows = int(last_row) - int(first_row) + 1
                        declared_columns = (
                            column_index(last_col.decode()) - column_index(first_col.decode()) + 1
                        )
            # Counted in C; "<c " and "<c>" never straddle more than a few bytes, so a cell cut
            # by a chunk boundary is at most one uncounted cell per MB.
            written_cells += chunk.count(b"<c ") + chunk.count(b"<c>") + chunk.count(b":c ")
            written_rows += chunk.count(b"row>")
            if written_cells > max_cells:
                break
    if declared_rows * declared_columns > max_cells:
        raise too_many_cells(declared_rows, declared_columns, max_cells)
    if written_cells > max_cells:
        # Counting stopped past the cap: what was counted is a floor, and said as one.
        raise cells_over_limit(cells=written_cells, row=max(written_rows, 1), limit=max_cells)


def _too_big(size: int, limit: int) -> IntakeError:
    return IntakeError(
        _(
            "This workbook unpacks to more than %(limit)s MB (a compressed file this small should "
            "not). It was refused; save it again from your spreadsheet program or export it as CSV."
        )
        % {"limit": limit // (1024 * 1024)}
    )


def sheet_paths(data: bytes) -> dict[str, str]:
    """XLSX sheet name -> worksheet XML member path, from workbook.xml and its relationships."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        # Both parts are small and the whole archive passed the inflation guard already; expat
        # 2.4+ (bundled with Python 3.13) refuses entity-expansion attacks.
        workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
        rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    except (KeyError, zipfile.BadZipFile, ParseError, DefusedXmlException):
        return {}
    targets = {rel.get("Id"): rel.get("Target", "") for rel in rels}
    paths = {}
    for sheet in workbook.iter(f"{{{_MAIN}}}sheet"):
        target = targets.get(sheet.get(f"{{{_OFFICE_REL}}}id"), "")
        path = target.lstrip("/") if target.startswith("/") else posixpath.join("xl", target)
        paths[sheet.get("name", "")] = posixpath.normpath(path)
    return paths


def is_date1904(data: bytes, kind: str = "xlsx") -> bool:
    """True when a workbook counts serial dates from 1904 (old Mac Excel): XLSX/XLSM's
    ``workbookPr date1904``, or XLS's DATEMODE record (xlrd reads the workbook globals only).
    False for other kinds and for anything unreadable (calamine has read the file already)."""
    if kind == "xls":
        try:
            quiet = io.StringIO()  # xlrd writes warnings to stdout otherwise
            with xlrd.open_workbook(file_contents=data, on_demand=True, logfile=quiet) as book:
                return bool(book.datemode == 1)
        except Exception:  # xlrd raises several error types for files calamine accepts
            return False
    if kind not in {"xlsx", "xlsm"}:
        return False
    try:
        return bool(_DATE1904.search(zipfile.ZipFile(io.BytesIO(data)).read("xl/workbook.xml")))
    except (KeyError, zipfile.BadZipFile):
        return False


@dataclass
class SheetData:
    sheet_names: list[str]
    sheet: str
    grid: list[list[object]]
    date1904: bool
    unsaved_formulas: set[tuple[int, int]]


def read_workbook(
    data: bytes,
    kind: str,
    *,
    sheet: str | None,
    nrows: int,
    max_inflated_bytes: int,
    max_cells: int,
) -> SheetData:
    """Read one sheet as a grid anchored at A1 (row 0 is spreadsheet row 1).

    The first visible worksheet unless ``sheet`` names another. Raises IntakeError for a bomb,
    a corrupt or password-protected file, an unknown sheet, a workbook without sheets, or an
    XLSX/XLSM sheet of more than ``max_cells`` cells (``check_sheet_size``, before it loads).

    Zip-based workbooks are refused on their declared sizes before calamine opens them; their
    actual inflation is counted by a thread while calamine reads (zlib works outside the GIL),
    and its verdict wins over calamine's result. That is safe because calamine's zip reader
    stops a member that inflates past its declared size (``test_intake_readers`` pins it).
    """
    scanned: dict[str, ZipScan | IntakeError] = {}
    scanner: threading.Thread | None = None
    if kind in ZIP_FORMATS:
        archive = open_checked(data, max_inflated_bytes)

        def scan() -> None:
            try:
                scanned["scan"] = inflate_all(archive, max_inflated_bytes)
            except IntakeError as error:
                scanned["error"] = error

        scanner = threading.Thread(target=scan, name="intake-zip-scan", daemon=True)
        scanner.start()

    def check_size(name: str) -> None:
        if kind in {"xlsx", "xlsm"}:
            path = sheet_paths(data).get(name)
            if path:
                check_sheet_size(zipfile.ZipFile(io.BytesIO(data)), path, max_cells)

    outcome: tuple[list[str], str, list[list[object]]] | IntakeError
    try:
        outcome = _read_sheet(data, sheet, nrows, check_size)
    except IntakeError as error:
        outcome = error
    finally:
        if scanner is not None:
            scanner.join()
    bomb = scanned.get("error")
    if isinstance(bomb, IntakeError):
        raise bomb
    if isinstance(outcome, IntakeError):
        raise outcome
    names, chosen, grid = outcome
    unsaved: set[tuple[int, int]] = set()
    result = scanned.get("scan")
    if isinstance(result, ZipScan) and kind in {"xlsx", "xlsm"}:
        path = sheet_paths(data).get(chosen)
        if path:
            unsaved = result.unsaved_formulas.get(path, set())
    elif isinstance(result, ZipScan) and kind == "ods":
        unsaved = result.unsaved_formulas.get(f"{_ODS_CONTENT}:{chosen}", set())
    return SheetData(
        sheet_names=names,
        sheet=chosen,
        grid=grid,
        date1904=is_date1904(data, kind),
        unsaved_formulas=unsaved,
    )


def _read_sheet(
    data: bytes, sheet: str | None, nrows: int, check_size: Callable[[str], None]
) -> tuple[list[str], str, list[list[object]]]:
    try:
        return _calamine_sheet(data, sheet, nrows, check_size)
    except IntakeError:
        raise
    except Exception as error:  # calamine raises several error types for a damaged file
        raise _unreadable() from error
    except BaseException as error:
        # A Rust panic inside calamine reaches Python as pyo3's PanicException, which derives
        # from BaseException: a damaged file must still get a sentence, not a traceback.
        if type(error).__name__ != "PanicException":
            raise
        raise _unreadable() from error


def _calamine_sheet(
    data: bytes, sheet: str | None, nrows: int, check_size: Callable[[str], None]
) -> tuple[list[str], str, list[list[object]]]:
    try:
        book = python_calamine.CalamineWorkbook.from_object(io.BytesIO(data))
    except python_calamine.PasswordError as error:
        raise IntakeError(
            _("This workbook is protected by a password. Remove the password and upload it again.")
        ) from error
    except Exception as error:  # calamine raises several error types for a damaged file
        raise _unreadable() from error
    with book:
        metadata = book.sheets_metadata
        names = [m.name for m in metadata]
        if sheet is None:
            visible = [
                m.name
                for m in metadata
                if m.visible == python_calamine.SheetVisibleEnum.Visible
                and m.typ == python_calamine.SheetTypeEnum.WorkSheet
            ]
            if not visible:
                raise IntakeError(_("This workbook has no visible sheet to read."))
            sheet = visible[0]
        elif sheet not in names:
            raise IntakeError(
                _("There is no sheet named “%(sheet)s”. Sheets in this workbook: %(names)s.")
                % {"sheet": sheet, "names": ", ".join(names)}
            )
        check_size(sheet)
        try:
            grid = book.get_sheet_by_name(sheet).to_python(skip_empty_area=False, nrows=nrows)
        except Exception as error:
            raise _unreadable() from error
    return names, sheet, grid  # type: ignore[return-value]
