"""Storing validated rows on a batch: the one definition of "store rows", for every intake.

Uploads, the form grid and scripts all store through ``batch_rows_store``. Django's
``bulk_create`` builds a model instance and prepares every field of every row in Python (about
90% of confirming a 100,000-row upload: 28 s); here the statement is built once from
``BatchRow._meta``, each row is a tuple of ready values with its JSON encoded by orjson, and the
rows go in with ``executemany`` (SQLite) or ``COPY`` (PostgreSQL).
"""

from __future__ import annotations

import dataclasses
import json
import secrets
from collections.abc import Iterable, Sequence
from typing import Any

import orjson
from django.db import connection, transaction
from django.db.models import Field
from django.utils import timezone

from appointments.intake.bulk import gc_paused
from appointments.intake.validation import ValidatedRow
from appointments.models import Batch, BatchRow

# Fields each row gives; every other column gets its model default (or "now" for auto_now).
_ROW_FIELDS = (
    "batch",
    "row_number",
    "raw",
    "properties",
    "associations",
    "errors",
    "state",
    "object_write_trace_id",
)
_EMPTY_LIST = "[]"


def _json(value: object) -> str:
    """JSON text for a JSON column: dicts, lists, CellError dataclasses (as objects)."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        # orjson refuses what the stdlib accepts with escapes (a lone surrogate in a cell).
        return json.dumps(value, default=dataclasses.asdict)


def _fixed_value(field: Field[Any, Any], now: object) -> object:
    """The database value of a column no row sets: auto_now time, else the model default."""
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return field.get_db_prep_save(now, connection)
    return field.get_db_prep_save(field.get_default(), connection)


def _target_and_fixed(now: object) -> tuple[str, int, tuple[object, ...]]:
    """``<batch rows table> (<columns>)`` for an INSERT or a COPY, the number of columns, and
    the values of the columns no row sets.

    The columns are ``_ROW_FIELDS`` then every other one but the id; names come from the model
    and are quoted by the database backend (values are always parameters).
    """
    meta = BatchRow._meta
    by_name = {field.name: field for field in meta.concrete_fields}
    fixed = [
        field
        for field in meta.concrete_fields
        if not field.primary_key and field.name not in _ROW_FIELDS
    ]
    fields = [*(by_name[name] for name in _ROW_FIELDS), *fixed]
    quote = connection.ops.quote_name
    # A concrete field always has a column (the stubs allow None for the others).
    columns = ", ".join(quote(field.column) for field in fields)  # type: ignore[arg-type]
    target = f"{quote(meta.db_table)} ({columns})"
    return target, len(fields), tuple(_fixed_value(field, now) for field in fixed)


def trace_ids(batch: Batch, row_numbers: Sequence[int]) -> list[str]:
    """One ``objectWriteTraceId`` per row: ``hp-<batch>-<row number>-<8 random hex>``.

    Unique per row and stored with it, so stable across retries: HubSpot labels a failed input
    with it (../shared/hubspot/REFERENCE.md, section 1.5). Fits BatchRow's 64 characters.
    """
    prefix = f"hp-{batch.pk.hex[:12]}-"
    noise = secrets.token_hex(4 * len(row_numbers))
    return [
        f"{prefix}{number}-{noise[8 * index : 8 * index + 8]}"
        for index, number in enumerate(row_numbers)
    ]


def batch_rows_store(*, batch: Batch, rows: Sequence[ValidatedRow]) -> int:
    """Insert every one of ``rows`` (valid or not) as a BatchRow of ``batch``; return how many.

    A valid row becomes ``READY``, an invalid one ``INVALID`` with its errors as
    ``[{"column", "value", "code", "message"}]``; each gets a fresh ``object_write_trace_id``
    (see ``trace_ids``). Row numbers must be new to the batch (IntegrityError otherwise). Call
    it inside the caller's transaction, one chunk of rows at a time, so memory stays bounded.
    """
    if not rows:
        return 0
    target, width, fixed = _target_and_fixed(timezone.now())
    batch_id = BatchRow._meta.get_field("batch").get_db_prep_save(batch.pk, connection)
    ready, invalid = BatchRow.State.READY.value, BatchRow.State.INVALID.value
    traces = trace_ids(batch, [row.row_number for row in rows])
    with gc_paused():
        # In _ROW_FIELDS order; an empty list is common enough to skip its encoding.
        params = [
            (
                batch_id,
                row.row_number,
                _json(row.raw),
                _json(row.properties),
                _json(row.associations) if row.associations else _EMPTY_LIST,
                _json(row.errors) if row.errors else _EMPTY_LIST,
                invalid if row.errors else ready,
                trace,
                *fixed,
            )
            for row, trace in zip(rows, traces, strict=True)
        ]
        with transaction.atomic(), connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                # COPY takes the rows as one stream: half the time of executemany, whose
                # statements psycopg binds one by one (100,000 rows: 4.4 s against 9.3 s).
                with cursor.cursor.copy(f"COPY {target} FROM STDIN") as copy:
                    for values in params:
                        copy.write_row(values)
            else:
                placeholders = ", ".join(["%s"] * width)
                # Only the model's table and column names, quoted by the backend, are in the text.
                sql = f"INSERT INTO {target} VALUES ({placeholders})"  # noqa: S608
                cursor.executemany(sql, params)
    return len(params)


def batch_rows_store_chunks(*, batch: Batch, chunks: Iterable[Sequence[ValidatedRow]]) -> int:
    """Store rows chunk by chunk as ``chunks`` yields them (see ``batch_rows_store``), so a
    100,000-row file never holds all its validated rows at once. Returns how many were stored."""
    return sum(batch_rows_store(batch=batch, rows=chunk) for chunk in chunks)
