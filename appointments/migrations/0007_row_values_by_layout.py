"""Store rows' property values and record IDs in the order of their batch's layout.

``properties`` goes from ``{name: value}`` to one value per property of the batch's mapping
(null where not sent); ``associations`` from ``[record id, associationCategory,
associationTypeId]`` items to one array of record IDs per association type of the mapping.
The layout logic is copied here on purpose (``RowLayout.of_json`` may change; this must not).
A row holding a property or association type its batch's mapping lacks stops the migration
rather than losing the value.
"""

from collections.abc import Iterator
from typing import Any

from django.db import migrations

import appointments.models

CHUNK = 2000


def _layout(mapping: list[Any]) -> tuple[list[str], list[tuple[str, int]]]:
    properties: dict[str, None] = {}
    associations: dict[tuple[str, int], None] = {}
    for target in mapping or []:
        if not target:
            continue
        if target["kind"] == "association":
            pair = (
                target.get("association_category") or "HUBSPOT_DEFINED",
                target.get("association_type_id") or 0,
            )
            associations[pair] = None
        else:
            properties[target["name"]] = None
    return list(properties), list(associations)


def _rows(apps: Any) -> Iterator[tuple[Any, tuple[list[str], list[tuple[str, int]]]]]:
    Batch = apps.get_model("appointments", "Batch")
    BatchRow = apps.get_model("appointments", "BatchRow")
    for batch in Batch.objects.only("id", "mapping").iterator():
        layout = _layout(batch.mapping)
        rows = BatchRow.objects.filter(batch_id=batch.pk).only(
            "id", "batch_id", "row_number", "properties", "associations"
        )
        for row in rows.iterator(chunk_size=CHUNK):
            yield row, layout


def _save(apps: Any, change: Any) -> None:
    BatchRow = apps.get_model("appointments", "BatchRow")
    pending = []
    for row, layout in _rows(apps):
        if change(row, *layout):
            pending.append(row)
        if len(pending) == CHUNK:
            BatchRow.objects.bulk_update(pending, ["properties", "associations"])
            pending = []
    if pending:
        BatchRow.objects.bulk_update(pending, ["properties", "associations"])


def _lost(row: Any, what: object) -> RuntimeError:
    return RuntimeError(
        f"Row {row.row_number} of batch {row.batch_id} holds {what}, which its batch's column "
        "mapping does not have; nothing was changed. Fix the batch's mapping, then migrate again."
    )


def _by_layout(row: Any, names: list[str], pairs: list[tuple[str, int]]) -> bool:
    if not isinstance(row.properties, dict):
        return False
    unknown = set(row.properties) - set(names)
    if unknown:
        raise _lost(row, f"properties {sorted(unknown)}")
    position = {pair: index for index, pair in enumerate(pairs)}
    ids: list[list[str]] = [[] for _pair in pairs]
    for record_id, category, type_id in row.associations or []:
        index = position.get((category, type_id))
        if index is None:
            raise _lost(row, f"association type {category} {type_id}")
        ids[index].append(record_id)
    row.properties = [row.properties.get(name) for name in names]
    row.associations = ids
    return True


def _by_name(row: Any, names: list[str], pairs: list[tuple[str, int]]) -> bool:
    if not isinstance(row.properties, list):
        return False
    values = zip(names, row.properties, strict=False)
    row.properties = {name: value for name, value in values if value is not None}
    row.associations = [
        [record_id, category, type_id]
        for (category, type_id), ids in zip(pairs, row.associations or [], strict=False)
        for record_id in ids
    ]
    return True


def forwards(apps: Any, schema_editor: Any) -> None:
    _save(apps, _by_layout)


def backwards(apps: Any, schema_editor: Any) -> None:
    _save(apps, _by_name)


class Migration(migrations.Migration):
    dependencies = [("appointments", "0006_compact_row_values")]

    operations = [
        migrations.AlterField(
            model_name="batchrow",
            name="properties",
            field=appointments.models.StoredJSONField(default=list),
        ),
        migrations.RunPython(forwards, backwards),
    ]
