"""Database helpers of the sandbox: write transactions taken in turn, and lean inserts."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

from django.db import connection, models, transaction

_WRITES = threading.RLock()


@contextlib.contextmanager
def write_lock() -> Iterator[None]:
    """Hold this process's SQLite write turn (a no-op on other databases).

    SQLite lets one writer in at a time. A thread that finds the database locked sleeps in
    SQLite's busy handler with a growing back-off (1, 2, 5, 10, 15, 20, 25 ms...): with three
    batch creates in flight, threads slept about 20 ms a call while the lock stood free. Threads
    of one process queue here instead and go on as soon as the writer before them is done;
    other processes still wait in SQLite (the busy timeout in hubportal/settings.py). Take it
    before any write of the transaction, never while holding SQLite's write lock without it.
    """
    if connection.vendor != "sqlite":
        yield
        return
    with _WRITES:
        yield


@contextlib.contextmanager
def write_transaction() -> Iterator[None]:
    """``transaction.atomic()`` inside ``write_lock()``."""
    with write_lock(), transaction.atomic():
        yield


def insert_rows(
    model: type[models.Model], constants: dict[str, Any], rows: list[dict[str, Any]]
) -> None:
    """INSERT ``rows`` of ``model`` with one ``executemany``: no model instances, no signals.

    ``constants`` (the same for every row) and each row map field attnames (``portal_id``) to
    values; together they must name every concrete field but the primary key. Each value is
    adapted by its own field, as ``bulk_create`` does, so JSON and datetimes are stored alike on
    SQLite and PostgreSQL. ``bulk_create`` spent about 4 ms building and compiling 100 model
    instances, a fifth of a batch create's cost. Raises ValueError on a missing or unknown field.
    """
    fields = {f.attname: f for f in model._meta.concrete_fields if not f.primary_key}
    varying = [name for name in fields if name not in constants]
    if set(constants) - set(fields) or (rows and set(rows[0]) != set(varying)):
        raise ValueError(f"{model.__name__} rows need exactly the fields {sorted(fields)}")
    fields_order = [*constants, *varying]
    fixed = [fields[name].get_db_prep_save(value, connection) for name, value in constants.items()]
    params = [
        [*fixed, *(fields[name].get_db_prep_save(row[name], connection) for name in varying)]
        for row in rows
    ]
    quote = connection.ops.quote_name
    # A concrete field always has a column; str() only narrows the type for mypy.
    columns = ", ".join(quote(str(fields[name].column)) for name in fields_order)
    marks = ", ".join(["%s"] * len(fields))
    # Only quoted table and column names from the model go into the text; values are parameters.
    sql = f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES ({marks})"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)
