"""Column-at-a-time validation of many rows: the fast paths behind uploads and validate_table.

A converter runs over a whole column (repeated values memoised in a dict whose lookups run in
C), then rows are assembled: as ValidatedRows (``validate_columns``) or straight as the JSON
text they are stored as (``encode_columns``). Any row with a problem (a bad cell, a missing
required value, an end before its start) is handed back to ``RowValidator.validate``, so every
error message has one source, and a row comes out exactly as validating it alone would give.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import chain, repeat
from typing import Any, Protocol

import orjson

from .cells import NUL, display_text
from .dates import CellProblem
from .encoding import EMPTY_LIST, EncodedRows, RowLayout, json_text
from .rows import ValidatedRow

START, END = "hs_appointment_start", "hs_appointment_end"
# A memo is emptied past this many entries, bounding memory on columns of distinct values.
_MEMO_LIMIT = 65_536


class RowValidator(Protocol):
    """What the column pass needs of ``validation.RowValidator`` (declared here so that this
    module, which validation imports, never imports validation)."""

    headers: list[str]
    layout: RowLayout
    required: list[tuple[str, str]]
    # (column index, converter, target property, (category, type id) or None), column order.
    plan: list[tuple[int, Callable[[object], Any], str, tuple[str, int] | None]]
    memos: dict[int, Memo]
    display_memos: dict[frozenset[type], Memo]
    association_json: dict[int, Memo]

    def validate(self, row_number: int, cells: list[object]) -> ValidatedRow: ...


class Memo(dict[object, Any]):
    """``memo[cell]`` is ``function(cell)``, computed on first use; failures are not kept.

    ``_convert`` empties it past ``limit`` entries, bounding memory on columns of distinct
    values.
    """

    __slots__ = ("function", "limit")

    def __init__(self, function: Callable[[object], Any], limit: int = _MEMO_LIMIT) -> None:
        super().__init__()
        self.function = function
        self.limit = limit

    def __missing__(self, key: object) -> Any:
        value = self[key] = self.function(key)
        return value


def _memo_safe(kinds: set[type]) -> bool:
    # True == 1 == 1.0 as dict keys, and a memo outlives the chunk whose cell types were
    # looked at: booleans never go through one, so a later TRUE cannot find an earlier 1.
    return bool not in kinds


def _convert(
    function: Callable[[object], Any],
    memo: Memo | None,
    column: Sequence[object],
    kinds: set[type],
    problems: set[int],
    failed: object = None,
) -> list[Any]:
    """Convert a whole column whose cells are of ``kinds``; positions of cells that fail are
    added to ``problems`` and hold ``failed``."""
    convert = function
    if memo is not None and _memo_safe(kinds):
        if len(memo) > memo.limit:
            memo.clear()
        convert = memo.__getitem__
    try:
        return list(map(convert, column))
    except CellProblem:
        pass
    values: list[Any] = []
    for position, cell in enumerate(column):
        try:
            values.append(convert(cell))
        except CellProblem:
            problems.add(position)
            values.append(failed)
    return values


@dataclass(slots=True)
class _Pass:
    """What both assemblers share: rows padded to the header's width, the columns, each
    column's cell types and display texts, converted property values by target (None where
    blank or failed), and the positions of rows that have a problem so far."""

    grid: list[list[object]]
    columns: list[tuple[object, ...]]
    kinds: list[set[type]]
    texts: list[Sequence[str]]
    by_target: dict[str, list[Any]]
    problems: set[int]


def _column_pass(validator: RowValidator, rows: Sequence[tuple[int, list[object]]]) -> _Pass:
    """Convert every property column; mark rows with a bad cell, a missing required value or
    an end before its start. Association columns are left to the assemblers."""
    width = len(validator.headers)
    grid = [
        cells if len(cells) >= width else [*cells, *[""] * (width - len(cells))]
        for _number, cells in rows
    ]
    columns = list(zip(*grid, strict=False))[:width]
    problems: set[int] = set()
    kinds = [set(map(type, column)) for column in columns]
    # Columns of the same cell types share a memo: a date column's text is the same
    # wherever its value appears.
    memos = validator.display_memos
    texts = [
        column
        if kinds[index] == {str}
        else _convert(
            display_text,
            memos.setdefault(frozenset(kinds[index]), Memo(display_text)),
            column,
            kinds[index],
            problems,
        )
        for index, column in enumerate(columns)
    ]
    # A NUL anywhere (rare: one join per column tells) sends its row to validate().
    for column_texts in texts:
        if NUL in "".join(filter(None, column_texts)):
            problems.update(i for i, text in enumerate(column_texts) if text and NUL in text)
    by_target: dict[str, list[Any]] = {}
    for index, convert, target, kind in validator.plan:
        if kind is None:
            memo = validator.memos.get(index)
            by_target[target] = _convert(convert, memo, columns[index], kinds[index], problems)
    for name, _label in validator.required:
        required = by_target.get(name)
        if required is None:
            problems.update(range(len(rows)))
        else:
            problems.update(i for i, value in enumerate(required) if value is None)
    if START in by_target and END in by_target:
        pairs = enumerate(zip(by_target[START], by_target[END], strict=True))
        problems.update(i for i, (start, end) in pairs if start and end and end < start)
    return _Pass(grid, columns, kinds, texts, by_target, problems)  # type: ignore[arg-type]


def validate_columns(
    validator: RowValidator, rows: Sequence[tuple[int, list[object]]]
) -> list[ValidatedRow]:
    """Validate ``rows`` with ``validator``'s plan, column by column (see the module)."""

    step = _column_pass(validator, rows)
    columns, kinds, problems, by_target = step.columns, step.kinds, step.problems, step.by_target
    associations_by_column: list[list[Any]] = []
    for index, convert, _target, kind in validator.plan:
        if kind is not None:
            values = _convert(convert, None, columns[index], kinds[index], problems)
            associations_by_column.append(
                [[[id_, *kind] for id_ in ids] if ids else None for ids in values]
            )
    # Columns with a value on every row become a dict in one C call; the others are added.
    full = [target for target, values in by_target.items() if None not in values]
    partial = [target for target in by_target if target not in full]
    none: Iterable[tuple[Any, ...]] = repeat(())
    full_rows = zip(*(by_target[t] for t in full), strict=True) if full else none
    partial_rows = zip(*(by_target[t] for t in partial), strict=True) if partial else none
    assoc_rows = zip(*associations_by_column, strict=True) if associations_by_column else none
    result: list[ValidatedRow] = []
    append = result.append
    # Every iterable below has one item per row (the repeat()s are cut by the others).
    for position, (number, row_texts, full_values, partial_values, assoc_values) in enumerate(
        zip((n for n, _c in rows), zip(*step.texts), full_rows, partial_rows, assoc_rows)  # noqa: B905
    ):
        if position in problems:
            append(validator.validate(number, step.grid[position]))
            continue
        properties = dict(zip(full, full_values))  # noqa: B905
        for target, value in zip(partial, partial_values):  # noqa: B905
            if value is not None:
                properties[target] = value
        if len(assoc_values) == 1:
            associations = assoc_values[0] or []
        else:
            associations = list(chain.from_iterable(filter(None, assoc_values)))
        append(
            ValidatedRow(
                number,
                list(row_texts),
                properties,
                associations,
                [],
            )
        )
    return result


def association_json(convert: Callable[[object], list[str] | None], cell: object) -> str:
    """A cell's record IDs as a JSON array of strings (``[]`` for a blank cell): the cell's
    part of a stored row's ``associations``. Record IDs are ASCII digits, so need no escaping."""
    ids = convert(cell)
    if not ids:
        return EMPTY_LIST
    return '["' + '","'.join(ids) + '"]'


def _dumps_all(values: Iterable[object]) -> list[str]:
    """JSON text of each value, in C; a value orjson refuses (a lone surrogate) goes through
    ``json_text``'s fallback."""
    values = list(values)
    try:
        return list(map(bytes.decode, map(orjson.dumps, values)))
    except TypeError:
        return [json_text(value) for value in values]


def encode_columns(
    validator: RowValidator, rows: Sequence[tuple[int, list[object]]]
) -> EncodedRows:
    """Validate and encode ``rows`` column by column, straight to stored JSON text.

    The same as ``encoding.encode_rows`` of ``validate_columns``, with every per-row step (a
    dict, a filter, orjson) run by ``map`` in C rather than by a Python loop; a row with a
    problem is validated alone and encoded as such.
    """
    step = _column_pass(validator, rows)
    columns, kinds, problems, layout = step.columns, step.kinds, step.problems, validator.layout
    # Without columns sharing a target (validate_rows' condition), the plan's association
    # columns are the layout's pairs, in its order.
    association_columns = [
        _convert(
            validator.association_json[index].function,
            validator.association_json[index],
            columns[index],
            kinds[index],
            problems,
            failed=EMPTY_LIST,
        )
        for index, _convert_ids, _target, kind in validator.plan
        if kind is not None
    ]
    texts = zip(*step.texts, strict=True) if step.texts else repeat((), len(rows))
    raws = _dumps_all(texts)
    if layout.properties:
        # A blank or failed cell is None (null); failed cells' rows are validated again below.
        values = zip(*(step.by_target[name] for name in layout.properties), strict=True)
        properties = _dumps_all(values)
    else:
        properties = [EMPTY_LIST] * len(rows)
    if association_columns:
        # Each row's array of record-ID arrays, one per association column.
        row_format = "[" + ",".join(["{}"] * len(association_columns)) + "]"
        associations = list(map(row_format.format, *association_columns))
    else:
        associations = [EMPTY_LIST] * len(rows)
    result = EncodedRows(
        layout,
        [number for number, _cells in rows],
        raws,
        properties,
        associations,
        [EMPTY_LIST] * len(rows),
        [True] * len(rows),
    )
    for position in sorted(problems):
        number, _cells = rows[position]
        result.put(position, validator.validate(number, step.grid[position]))
    return result
