"""Association record IDs a portal does not have: where they sit in a row and how it is said.

Pure: the existence check itself asks HubSpot (``services.batches.batch_check_records``); a fix
of a row keeps the error while the ID is still in it (``services.rows``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from .converters import convert_record_ids
from .dates import CellProblem
from .encoding import association_type
from .messages import RECORD_NOT_FOUND, cell_message


def association_columns(
    mapping: Sequence[dict[str, Any] | None],
) -> dict[tuple[str, int], list[int]]:
    """Association type ``(associationCategory, associationTypeId)`` -> indexes of the columns
    of a stored ``mapping`` (``mapping.mapping_to_json``) mapped to it (several when a header
    repeats), in file order."""
    columns: dict[tuple[str, int], list[int]] = defaultdict(list)
    for index, target in enumerate(mapping):
        if target and target["kind"] == "association":
            kind = association_type(
                target.get("association_category"), target.get("association_type_id")
            )
            columns[kind].append(index)
    return columns


def column_holding(texts: Sequence[str], record_id: str, indexes: list[int]) -> int | None:
    """The first of ``indexes`` whose text in ``texts`` reads as record IDs including
    ``record_id`` (None if none does)."""
    for index in indexes:
        try:
            ids = convert_record_ids(texts[index] if index < len(texts) else "") or []
        except CellProblem:
            continue
        if record_id in ids:
            return index
    return None


def record_not_found(
    *, hub_id: int, row_number: int, column: str, record_id: str
) -> dict[str, Any]:
    """The stored error of an association to ``record_id``, which portal ``hub_id`` lacks
    (its sentence: ``messages.error_text``)."""
    params: dict[str, object] = {"hub": hub_id}
    return {
        "column": column,
        "value": record_id,
        "code": RECORD_NOT_FOUND,
        "message": cell_message(
            RECORD_NOT_FOUND, row=row_number, column=column, value=record_id, params=params
        ),
        "params": params,
    }
