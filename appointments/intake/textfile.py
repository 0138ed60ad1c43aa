"""CSV decoding and splitting: encoding and delimiter detected, quoted line breaks kept."""

from __future__ import annotations

import codecs
import csv
import io
import itertools
from collections.abc import Iterator

from charset_normalizer import from_bytes
from django.utils.translation import gettext as _

from .cells import column_letter
from .converters import MAX_STRING_LENGTH
from .errors import IntakeError

# Offices export in UTF-8 or in their Windows code page; restricting the detector to Western
# encodings stops it guessing cp1250 or cp775 on short French or German files.
_LEGACY_ENCODINGS = ["cp1252", "latin_1", "iso8859_15"]
_DELIMITERS = ",;\t|"
_SNIFF_CHARS = 64 * 1024


def decode(data: bytes, encoding: str | None) -> tuple[str, str]:
    """Decode CSV bytes; returns ``(text, encoding)`` with a Python codec name.

    ``encoding`` forces one; otherwise a BOM decides, then strict UTF-8, then charset-normalizer
    among Windows-1252/Latin-1/Latin-9. Raises IntakeError when the bytes are not text.
    """
    if encoding:
        try:
            return data.decode(encoding), encoding
        except LookupError:
            raise IntakeError(
                _("“%(encoding)s” is not a known encoding.") % {"encoding": encoding}
            ) from None
        except UnicodeDecodeError:
            raise IntakeError(
                _("The file cannot be read as %(encoding)s. Choose another encoding.")
                % {"encoding": encoding}
            ) from None
    # A BOM names the encoding; bytes that then fail to decode are left to detection below.
    for bom, codec in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16")):
        if data.startswith(bom) or (codec == "utf-16" and data.startswith(codecs.BOM_UTF16_BE)):
            try:
                return data.decode(codec), codec
            except UnicodeDecodeError:
                # Saved with a BOM, then edited in another encoding: the BOM is not data.
                data = data[len(bom) :] if codec == "utf-8-sig" else data
                break
    try:
        # Some exporters pad a file with NULs: padding, not data (unless that is all there is).
        text = data.decode("utf-8")
        text = text.rstrip("\x00") or text
    except UnicodeDecodeError:
        pass
    else:
        if not _binary(text):
            return text, "utf-8"
    if data.count(0) * 10 > len(data):
        # UTF-16 without a BOM (a zero byte beside each ASCII letter), else no text at all.
        best = from_bytes(data).best()
        if best is None or _binary(str(best)):
            raise _not_csv()
        return str(best), best.encoding
    best = from_bytes(data, cp_isolation=_LEGACY_ENCODINGS).best()
    if best is None or "\x00" in str(best):
        raise _not_csv()
    guessed = best.encoding
    # Latin-1 maps 0x80-0x9F to control characters; Windows-1252 puts the euro sign there.
    if guessed == "latin_1":
        try:
            return data.decode("cp1252"), "cp1252"
        except UnicodeDecodeError:
            pass
    return str(best), guessed


def _binary(text: str) -> bool:
    # More than a tenth NUL is no text file (a stray NUL in a cell is that cell's error).
    return text.count("\x00") * 10 > len(text)


def _not_csv() -> IntakeError:
    return IntakeError(
        _("This file is not a readable CSV file. Accepted formats: CSV, XLSX, XLSM, XLS, ODS.")
    )


def detect_delimiter(text: str) -> str:
    """Comma, semicolon, tab or pipe, by csv.Sniffer on the first lines; comma for one column.

    The sniffer's answer is kept when it appears on most of the first lines; otherwise (a title
    line above the header, decimal commas in the data) the candidate found most often on a single
    line wins, since the header line is the widest.
    """
    sample = text[:_SNIFF_CHARS]
    if len(text) > _SNIFF_CHARS and "\n" in sample:
        sample = sample[: sample.rindex("\n")]
    lines = [line for line in sample.splitlines() if line.strip()][:20]
    if not lines:
        return ","
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=_DELIMITERS).delimiter
    except csv.Error:
        delimiter = ""
    if delimiter and sum(delimiter in line for line in lines) * 2 > len(lines):
        return delimiter
    counts = {c: max(line.count(c) for line in lines) for c in _DELIMITERS}
    best = max(counts, key=lambda candidate: counts[candidate])
    return best if counts[best] else ","


def _refuse_unclosed_quote(text: str, delimiter: str, last_row: int) -> None:
    """Raise IntakeError naming ``last_row`` when ``text`` ends inside a quoted cell."""
    try:
        for _cells in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True):
            pass
    except csv.Error as error:
        if "unexpected end of data" not in str(error):
            return  # another strict-only complaint: the lenient reading stands
        raise IntakeError(
            _(
                "Row %(row)s opens a quoted cell that is never closed, so it runs to the end of "
                "the file and would swallow every row below it. Close the quote (or remove it) in "
                "that row and upload the file again."
            )
            % {"row": last_row}
        ) from None


def _cell_too_long(record: str, delimiter: str, row: int) -> IntakeError | None:
    """The message for a record (its physical lines, as in the file) that holds a cell longer
    than the CSV reader takes (``csv.field_size_limit()``, 131,072 characters), naming row
    ``row``, the column, the cell's length and the limit. None when the long cell is a quoted
    one never closed: that message (a quote to close) is the right one then."""
    limit = csv.field_size_limit()
    column = length = 0
    quoted = opened = False
    for char in record.rstrip("\r\n"):
        if char == '"':
            quoted = not quoted
            opened = opened or length == 0
        elif char == delimiter and not quoted:
            if length > limit:
                break
            column, length, opened = column + 1, 0, False
            continue
        length += 1
    if length <= limit or (opened and quoted):
        return None
    return IntakeError(
        _(
            "Row %(row)s, column %(column)s holds a cell of %(length)s characters: one cell can "
            "hold at most %(limit)s (and a HubSpot text property %(hubspot)s). Shorten that "
            "cell or empty it, then upload the file again."
        )
        % {
            "row": row,
            "column": column_letter(column),
            "length": f"{length:,}",
            "limit": f"{limit:,}",
            "hubspot": f"{MAX_STRING_LENGTH:,}",
        }
    )


def split_rows(text: str, delimiter: str | None) -> tuple[Iterator[tuple[int, list[str]]], str]:
    """Split decoded CSV text into ``(row number, cells)``; returns the rows and the delimiter.

    Row numbers count records as a spreadsheet shows them (a quoted cell with line breaks is one
    row). Excel's ``sep=;`` hint line is honoured and not counted. Raises IntakeError for a
    malformed file (for example a quote never closed).
    """
    if text.startswith(("sep=", "SEP=")) and "\n" in text:
        hint, text = text.split("\n", 1)
        delimiter = delimiter or hint[4:].strip("\r") or None
    delimiter = delimiter or detect_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)

    def rows() -> Iterator[tuple[int, list[str]]]:
        number = ended = 0  # records read; the physical line the last one ended on
        last: list[str] = []
        try:
            for cells in reader:
                number += 1
                ended = reader.line_num
                last = cells
                yield number, cells
            # A quote never closed makes the last record swallow every line below it, which
            # the lenient reader accepts: a strict read tells, only when it may have happened.
            if any("\n" in cell or "\r" in cell for cell in last):
                _refuse_unclosed_quote(text, delimiter, number)
        except csv.Error as error:
            if "field larger than field limit" in str(error):
                record = "".join(
                    itertools.islice(io.StringIO(text, newline=""), ended, reader.line_num)
                )
                if (too_long := _cell_too_long(record, delimiter, number + 1)) is not None:
                    raise too_long from None
            raise IntakeError(
                _(
                    "Row %(row)s cannot be read: a quoted cell is not closed or is too long. "
                    "Check the quotes in that row."
                )
                % {"row": number + 1}
            ) from None

    return rows(), delimiter
