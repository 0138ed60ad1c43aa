"""Rewrite stored rows in the compact shapes of 0005: ``raw`` as a list in header order,
``associations`` as ``[record id, associationCategory, associationTypeId]`` items."""

from collections.abc import Iterator
from typing import Any

from django.db import migrations

CHUNK = 2000


def _letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def _raw_keys(headers: list[str]) -> list[str]:
    """The keys rows were stored under before: the header, or its column letter when empty
    or repeated (as ``"Header (C)"``)."""
    keys: list[str] = []
    seen: set[str] = set()
    for index, header in enumerate(headers):
        key = header or _letter(index)
        if key in seen:
            key = f"{header} ({_letter(index)})"
        seen.add(key)
        keys.append(key)
    return keys


def _rows(apps: Any) -> Iterator[tuple[Any, list[str]]]:
    Batch = apps.get_model("appointments", "Batch")
    BatchRow = apps.get_model("appointments", "BatchRow")
    for batch in Batch.objects.only("id", "headers").iterator():
        keys = _raw_keys(list(batch.headers or []))
        rows = BatchRow.objects.filter(batch_id=batch.pk).only("id", "raw", "associations")
        for row in rows.iterator(chunk_size=CHUNK):
            yield row, keys


def _save(apps: Any, pairs: Iterator[tuple[Any, list[str]]], change: Any) -> None:
    BatchRow = apps.get_model("appointments", "BatchRow")
    pending = []
    for row, keys in pairs:
        if change(row, keys):
            pending.append(row)
        if len(pending) == CHUNK:
            BatchRow.objects.bulk_update(pending, ["raw", "associations"])
            pending = []
    if pending:
        BatchRow.objects.bulk_update(pending, ["raw", "associations"])


def _compact(row: Any, keys: list[str]) -> bool:
    changed = False
    if isinstance(row.raw, dict):
        row.raw = [str(row.raw.get(key, "")) for key in keys]
        changed = True
    if row.associations and isinstance(row.associations[0], dict):
        row.associations = [
            [link["to"]["id"], kind["associationCategory"], kind["associationTypeId"]]
            for link in row.associations
            for kind in link["types"]
        ]
        changed = True
    return changed


def _expand(row: Any, keys: list[str]) -> bool:
    changed = False
    if isinstance(row.raw, list):
        row.raw = dict(zip(keys, row.raw, strict=False))
        changed = True
    if row.associations and isinstance(row.associations[0], list):
        row.associations = [
            {
                "to": {"id": record_id},
                "types": [{"associationCategory": category, "associationTypeId": type_id}],
            }
            for record_id, category, type_id in row.associations
        ]
        changed = True
    return changed


def forwards(apps: Any, schema_editor: Any) -> None:
    _save(apps, _rows(apps), _compact)


def backwards(apps: Any, schema_editor: Any) -> None:
    _save(apps, _rows(apps), _expand)


class Migration(migrations.Migration):
    dependencies = [("appointments", "0005_compact_rows")]

    operations = [migrations.RunPython(forwards, backwards)]
