"""Storing validated rows on a batch: the one definition of "store rows", for every intake.

Uploads, the form grid and scripts all store through ``batch_rows_store`` (rows validated one
by one) or ``batch_rows_store_encoded`` (rows an upload validated and encoded column by column,
``RowValidator.encode_rows``). Django's ``bulk_create`` builds a model instance and prepares
every field of every row in Python (about 90% of confirming a 100,000-row upload: 28 s); here
the statement is built once from ``BatchRow._meta``, each row is a tuple of its nine values
(JSON already text), and the rows go in with multi-row INSERTs (SQLite) or ``COPY``
(PostgreSQL); the other columns take their database defaults.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from itertools import chain, repeat
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction
from django.utils import timezone

from appointments.intake.bulk import gc_paused
from appointments.intake.encoding import EncodedRows, encode_rows
from appointments.intake.rows import ValidatedRow
from appointments.models import Batch, BatchRow

# The columns storing a row sets; every other column is the id or has a database default
# (``db_default``, or NULL), so rows go in with 9 values rather than 13. ``updated_at`` is
# bound (one value per chunk) rather than left to its default: SQLite would evaluate the
# default's STRFTIME once per row (a tenth of inserting 100,000 rows).
_ROW_FIELDS = (
    "batch",
    "row_number",
    "raw",
    "properties",
    "associations",
    "errors",
    "state",
    "object_write_trace_id",
    "updated_at",
)
# Rows per SQLite INSERT statement (within its bound-parameter limit, below): one statement
# runs SQLite's insert program once for all its rows, where executemany runs it per row; 100
# or 500 rows gain the same (a third off inserting 100,000 rows), so a middle value.
_ROWS_PER_INSERT = 250


def _target() -> str:
    """``<batch rows table> (<columns>)`` for an INSERT or a COPY of ``_ROW_FIELDS``; names
    come from the model and are quoted by the database backend (values are always parameters).

    Raises ImproperlyConfigured if another column has no database default, so a new field
    cannot silently break storing.
    """
    meta = BatchRow._meta
    for field in meta.concrete_fields:
        defaulted = field.primary_key or field.null or field.has_db_default()
        if field.name not in _ROW_FIELDS and not defaulted:
            raise ImproperlyConfigured(
                f"BatchRow.{field.name} needs a db_default (or null=True): storage does not set it"
            )
    quote = connection.ops.quote_name
    by_name = {field.name: field for field in meta.concrete_fields}
    # A concrete field always has a column (the stubs allow None for the others).
    columns = ", ".join(quote(by_name[name].column) for name in _ROW_FIELDS)  # type: ignore[arg-type]
    return f"{quote(meta.db_table)} ({columns})"


def trace_ids(batch: Batch, row_numbers: Sequence[int]) -> list[str]:
    """One ``objectWriteTraceId`` per row: ``hp-<batch>-<row number>-<8 random hex>``.

    Unique per row and stored with it, so stable across retries: HubSpot labels a failed input
    with it (https://developers.hubspot.com/docs/api-reference/error-handling, "Multi-status
    errors"). Fits BatchRow's 64 characters.
    """
    prefix = f"hp-{batch.pk.hex[:12]}-"
    noise = secrets.token_hex(4 * len(row_numbers))
    pieces = [noise[start : start + 8] for start in range(0, len(noise), 8)]
    return list(map(f"{prefix}{{}}-{{}}".format, row_numbers, pieces))


def batch_rows_store(*, batch: Batch, rows: Sequence[ValidatedRow]) -> int:
    """Insert every one of ``rows`` (valid or not) as a BatchRow of ``batch``; return how many.

    A valid row becomes ``READY``, an invalid one ``INVALID`` with its errors as
    ``[{"column", "value", "code", "message"}]``; each gets a fresh ``object_write_trace_id``
    (see ``trace_ids``). Row numbers must be new to the batch (``django.db.IntegrityError``
    otherwise, nothing stored). Call it inside the caller's transaction, one chunk of rows at a
    time, so memory stays bounded.
    """
    return batch_rows_store_encoded(batch=batch, rows=encode_rows(rows, batch.layout))


def batch_rows_store_encoded(*, batch: Batch, rows: EncodedRows) -> int:
    """``batch_rows_store`` for rows already encoded (``RowValidator.encode_rows``, the fast
    path of uploads)."""
    if not rows:
        return 0
    target = _target()
    meta = BatchRow._meta
    batch_id = meta.get_field("batch").get_db_prep_save(batch.pk, connection)
    now = meta.get_field("updated_at").get_db_prep_save(timezone.now(), connection)
    ready, invalid = BatchRow.State.READY.value, BatchRow.State.INVALID.value
    traces = trace_ids(batch, rows.row_numbers)
    state = {True: ready, False: invalid}
    with gc_paused():
        # One tuple per row in _ROW_FIELDS order, zipped in C (the repeats are cut by the rest).
        params = list(
            zip(
                repeat(batch_id),
                rows.row_numbers,
                rows.raw,
                rows.properties,
                rows.associations,
                rows.errors,
                map(state.__getitem__, rows.valid),
                traces,
                repeat(now),
            )
        )
        # wrap_database_errors: the driver's own calls below raise Django's exception classes
        # (IntegrityError...), as Django's cursor would.
        with transaction.atomic(), connection.cursor() as cursor, connection.wrap_database_errors:
            if connection.vendor == "postgresql":
                # COPY takes the rows as one stream: half the time of executemany, whose
                # statements psycopg binds one by one (100,000 rows: 4.4 s against 9.3 s).
                with cursor.cursor.copy(f"COPY {target} FROM STDIN") as copy:
                    for values in params:
                        copy.write_row(values)
            else:
                _insert_many(target, params)
    return len(params)


def _insert_many(target: str, params: list[tuple[Any, ...]]) -> None:
    """INSERT ``params`` (one tuple per row) into ``target`` on SQLite, many rows per statement.

    Straight through the sqlite3 connection, in the current transaction, with its own ``?``
    placeholders: Django's cursor would rewrite ``%s`` with a regular expression (a fifth of
    the time for 100,000 rows) and, with DEBUG on, quote every parameter for its query log.
    """
    fields = [BatchRow._meta.get_field(name) for name in _ROW_FIELDS]
    per_statement = min(_ROWS_PER_INSERT, connection.ops.bulk_batch_size(fields, params))
    row = "(" + ", ".join(["?"] * len(_ROW_FIELDS)) + ")"
    statements: dict[int, str] = {}
    for start in range(0, len(params), per_statement):
        part = params[start : start + per_statement]
        sql = statements.get(len(part))
        if sql is None:
            # Only the model's table and column names, quoted by the backend, are in the text.
            sql = statements[len(part)] = f"INSERT INTO {target} VALUES " + ", ".join(  # noqa: S608
                [row] * len(part)
            )
        connection.connection.execute(sql, list(chain.from_iterable(part)))


def batch_rows_store_chunks(*, batch: Batch, chunks: Iterable[EncodedRows]) -> int:
    """Store rows chunk by chunk as ``chunks`` yields them (see ``batch_rows_store_encoded``),
    so a 100,000-row file never holds all its rows at once. Returns how many were stored."""
    return sum(batch_rows_store_encoded(batch=batch, rows=chunk) for chunk in chunks)
