"""Column-at-a-time validation of many rows: the fast path behind validate_table.

A converter runs over a whole column (repeated values memoised in a dict whose lookups run in
C), then rows are assembled. Any row with a problem (a bad cell, a missing required value, an
end before its start) is handed back to ``RowValidator.validate``, so every error message has
one source, and a row comes out exactly as validating it alone would give.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from itertools import chain, repeat
from typing import TYPE_CHECKING, Any

from .cells import display_text
from .dates import CellProblem

if TYPE_CHECKING:
    from .validation import RowValidator, ValidatedRow

START, END = "hs_appointment_start", "hs_appointment_end"
# A memo is emptied past this many entries, bounding memory on columns of distinct values.
_MEMO_LIMIT = 65_536
_NUMBERS = frozenset({bool, int, float})


class Memo(dict[object, Any]):
    """``memo[cell]`` is ``function(cell)``, computed on first use; failures are not kept."""

    __slots__ = ("function",)

    def __init__(self, function: Callable[[object], Any]) -> None:
        super().__init__()
        self.function = function

    def __missing__(self, key: object) -> Any:
        value = self[key] = self.function(key)
        return value


def _memo_safe(kinds: set[type]) -> bool:
    # True == 1 == 1.0 as dict keys: a memo must not mix booleans with numbers.
    return not (bool in kinds and len(kinds & _NUMBERS) > 1)


def _convert(
    function: Callable[[object], Any],
    memo: Memo | None,
    column: Sequence[object],
    kinds: set[type],
    problems: set[int],
) -> list[Any]:
    """Convert a whole column whose cells are of ``kinds``; positions of cells that fail are
    added to ``problems``."""
    if memo is not None:
        if len(memo) > _MEMO_LIMIT:
            memo.clear()
        if _memo_safe(kinds):
            function = memo.__getitem__
    try:
        return list(map(function, column))
    except CellProblem:
        pass
    values: list[Any] = []
    for position, cell in enumerate(column):
        try:
            values.append(function(cell))
        except CellProblem:
            problems.add(position)
            values.append(None)
    return values


def validate_columns(
    validator: RowValidator, rows: Sequence[tuple[int, list[object]]]
) -> list[ValidatedRow]:
    """Validate ``rows`` with ``validator``'s plan, column by column (see the module)."""
    from .validation import ValidatedRow

    width = len(validator.headers)
    grid = [
        cells if len(cells) >= width else [*cells, *[""] * (width - len(cells))]
        for _number, cells in rows
    ]
    columns = list(zip(*grid, strict=False))[:width]
    problems: set[int] = set()
    kinds = [set(map(type, column)) for column in columns]
    texts = [
        column
        if kinds[index] == {str}
        else _convert(display_text, validator.display_memos[index], column, kinds[index], problems)
        for index, column in enumerate(columns)
    ]
    by_target: dict[str, list[Any]] = {}
    associations_by_column: list[list[Any]] = []
    for index, convert, target, types in validator.plan:
        memo = validator.memos.get(index)
        values = _convert(convert, memo, columns[index], kinds[index], problems)
        if types is None:
            by_target[target] = values
        else:
            associations_by_column.append(
                [
                    [{"to": {"id": id_}, "types": types} for id_ in ids] if ids else None
                    for ids in values
                ]
            )
    for name, _label in validator.required:
        required = by_target.get(name)
        if required is None:
            problems.update(range(len(rows)))
        else:
            problems.update(i for i, value in enumerate(required) if value is None)
    if START in by_target and END in by_target:
        pairs = enumerate(zip(by_target[START], by_target[END], strict=True))
        problems.update(i for i, (start, end) in pairs if start and end and end < start)
    # Columns with a value on every row become a dict in one C call; the others are added.
    full = [target for target, values in by_target.items() if None not in values]
    partial = [target for target in by_target if target not in full]
    none: Iterable[tuple[Any, ...]] = repeat(())
    full_rows = zip(*(by_target[t] for t in full), strict=True) if full else none
    partial_rows = zip(*(by_target[t] for t in partial), strict=True) if partial else none
    assoc_rows = zip(*associations_by_column, strict=True) if associations_by_column else none
    keys = validator.raw_keys
    result: list[ValidatedRow] = []
    append = result.append
    # Every iterable below has one item per row (the repeat()s are cut by the others).
    for position, (number, row_texts, full_values, partial_values, assoc_values) in enumerate(
        zip((n for n, _c in rows), zip(*texts), full_rows, partial_rows, assoc_rows)  # noqa: B905
    ):
        if position in problems:
            append(validator.validate(number, grid[position]))
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
                dict(zip(keys, row_texts)),  # noqa: B905
                properties,
                associations,
                [],
            )
        )
    return result
