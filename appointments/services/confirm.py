"""Confirming a large upload in the background: a task validates and stores its rows.

Confirming 100,000 rows takes 3 to 6 s (bench/intake.py: SQLite, PostgreSQL), too long for one
web request on a small server; above ``CONFIRM_INLINE_MAX_ROWS`` the mapping screen queues
``tasks.confirm_upload`` and shows a page that waits for the batch.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.tasks.base import TaskResultStatus
from django.tasks.exceptions import TaskResultDoesNotExist

from appointments import tasks
from appointments.intake.mapping import ColumnTarget
from appointments.models import Batch, Upload
from appointments.services.batches import _mapping_to_json
from appointments.services.intake import (
    target_from_json,
    upload_confirm,
    upload_read,
    upload_schema,
)

# About 0.4 s of checking and storing: more rows than this are confirmed by a task.
CONFIRM_INLINE_MAX_ROWS = 10_000


def upload_confirm_in_background(*, rows: int) -> bool:
    """Whether an upload of ``rows`` data rows is confirmed by a task rather than at once."""
    return rows > CONFIRM_INLINE_MAX_ROWS


def upload_confirm_later(
    *,
    upload: Upload,
    sheet: str | None,
    encoding: str | None,
    header_row: int | None,
    mapping: list[ColumnTarget | None],
    date_orders: dict[int, str],
) -> str | None:
    """Queue ``upload_confirm`` of ``upload`` read with the same choices (None: detected) as the
    mapping screen that confirmed ``mapping`` and ``date_orders``.

    Enqueued once the current transaction commits (at once outside one). Returns the task
    result's id when it is already enqueued, else None.
    """
    choices = {
        "sheet": sheet,
        "encoding": encoding,
        "header_row": header_row,
        "mapping": _mapping_to_json(mapping),
        "date_orders": {str(index): order for index, order in date_orders.items()},
    }
    enqueued: list[str] = []
    upload_id = str(upload.pk)
    transaction.on_commit(
        lambda: enqueued.append(tasks.confirm_upload.enqueue(upload_id, choices).id)
    )
    return enqueued[0] if enqueued else None


def upload_confirm_queued(*, upload_id: str, choices: dict[str, Any]) -> Batch | None:
    """Run by ``tasks.confirm_upload``: read the kept file with ``choices`` (see
    ``upload_confirm_later``) and store its rows on a new batch; return it.

    Returns None, doing nothing, when the upload is gone or already has its batch (a task run
    twice, or a second confirmation), so an upload never gets two batches. The schema was kept
    on the upload by its mapping screen, so no HubSpot call happens inside the transaction.
    Raises IntakeError if the file can no longer be read with those choices.
    """
    upload = Upload.objects.filter(pk=upload_id).first()
    if upload is None or upload.batch_id:
        return None
    schema = upload_schema(upload=upload)
    with transaction.atomic():
        # Locks the upload on PostgreSQL; SQLite's IMMEDIATE transactions already serialise.
        upload = (
            Upload.objects.select_for_update()
            .select_related("portal", "created_by")
            .filter(pk=upload_id)
            .first()
        )
        if upload is None or upload.batch_id:
            return None
        table = upload_read(
            upload=upload,
            sheet=choices.get("sheet"),
            encoding=choices.get("encoding"),
            header_row=choices.get("header_row"),
        )
        return upload_confirm(
            upload=upload,
            table=table,
            mapping=[target_from_json(target) for target in choices["mapping"]],
            properties=schema.properties,
            date_orders={int(index): order for index, order in choices["date_orders"].items()},
        )


def upload_confirm_failed(*, task_id: str | None) -> bool:
    """Whether the queued confirmation ``task_id`` ended in an error (False while it waits or
    runs, and when the task backend cannot tell: the immediate one, or an unknown id)."""
    if task_id is None:
        return False
    try:
        result = tasks.confirm_upload.get_result(task_id)
    except (TaskResultDoesNotExist, NotImplementedError):
        return False
    return result.status == TaskResultStatus.FAILED
