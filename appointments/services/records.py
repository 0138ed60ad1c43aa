"""Checking, before anything is sent, that the records a batch associates with exist.

One batch read of up to 100 ids per call and object type (contacts, companies, deals), paced
like every other call, so a 10,000-row file with 300 distinct contacts costs 3 calls.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from django.db import transaction
from django.utils.translation import gettext as _

from appointments.hubspot.client import MAX_BATCH_INPUTS
from appointments.intake.cells import column_labels
from appointments.intake.converters import convert_record_ids
from appointments.intake.dates import CellProblem
from appointments.intake.encoding import association_type
from appointments.models import Batch, BatchRow
from appointments.services.intake import association_object_types, target_from_json
from appointments.services.portals import portal_client

# The error code of an association to a record the portal does not have.
RECORD_NOT_FOUND = "record_not_found"


def association_columns(batch: Batch) -> dict[tuple[str, int], list[int]]:
    """Association type ``(associationCategory, associationTypeId)`` -> indexes of the columns
    mapped to it (several when a header repeats), in file order."""
    columns: dict[tuple[str, int], list[int]] = defaultdict(list)
    for index, target in enumerate(batch.mapping):
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
    *, batch: Batch, row_number: int, column: str, record_id: str
) -> dict[str, str]:
    """The stored error of an association to ``record_id``, which the portal does not have."""
    return {
        "column": column,
        "value": record_id,
        "code": RECORD_NOT_FOUND,
        "message": _(
            'Row %(row)s, column "%(column)s": there is no record %(id)s in '
            "HubSpot portal %(hub)s. Correct the ID or remove it."
        )
        % {"row": row_number, "column": column, "id": record_id, "hub": batch.portal.hub_id},
    }


def batch_check_records(*, batch: Batch) -> int:
    """Hold back ready rows whose association ids are not records of the portal.

    Each such row becomes INVALID with an error naming its row, column and id. Returns the
    number of rows held back. Raises HubSpotError / PortalNeedsReconnect when HubSpot cannot be
    asked (nothing is changed then).
    """
    mapping = [target_from_json(column) for column in batch.mapping]
    object_types = association_object_types(mapping)
    columns = association_columns(batch)
    labels = column_labels(batch.headers)
    rows = list(batch.rows.filter(state=BatchRow.State.READY, call__isnull=True))
    links = {row.pk: batch.layout.unpack_associations(row.associations) for row in rows}
    wanted: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        for record_id, category, type_id in links[row.pk]:
            if (category, type_id) in object_types:
                wanted[object_types[category, type_id]].add(record_id)
    existing: dict[str, set[str]] = {}
    with portal_client(portal=batch.portal) as client:
        for object_type, ids in wanted.items():
            ordered = sorted(ids)
            existing[object_type] = set()
            for start in range(0, len(ordered), MAX_BATCH_INPUTS):
                chunk = ordered[start : start + MAX_BATCH_INPUTS]
                existing[object_type] |= client.existing_ids(object_type, chunk)
    held: list[BatchRow] = []
    for row in rows:
        errors = []
        for record_id, category, type_id in links[row.pk]:
            key = (category, type_id)
            target_type = object_types.get(key)
            if target_type and record_id not in existing.get(target_type, set()):
                index = column_holding(row.raw, record_id, columns[key])
                column = target_type if index is None else labels[index]
                errors.append(
                    record_not_found(
                        batch=batch, row_number=row.row_number, column=column, record_id=record_id
                    )
                )
        if errors:
            row.state, row.errors = BatchRow.State.INVALID, [*row.errors, *errors]
            held.append(row)
    with transaction.atomic():
        BatchRow.objects.bulk_update(held, ["state", "errors"], batch_size=500)
    return len(held)
