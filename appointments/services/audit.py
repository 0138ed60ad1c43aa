"""A batch's audit record: who sent what, from which file and mapping, to which portal, each
call's HubSpot correlation ID, and every record it created or archived, in one JSON document."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth.models import User

from appointments.models import Batch, BatchRow
from appointments.services import access
from appointments.services.access import Action


def _when(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def batch_audit(*, user: User, batch: Batch) -> dict[str, Any]:
    """The batch's audit as a JSON-ready dict: ``batch`` (id, status, times as ISO-8601 UTC,
    ``created_by`` username, canary size), ``portal`` (hub_id, domain), ``file`` (name, size in
    bytes, SHA-256 hex; null size and empty digest for the form grid), ``mapping`` (the column
    mapping as stored, one target or null per header) with ``headers`` and ``timezone``,
    ``calls`` (sequence, HTTP status, HubSpot batch status, correlation ID, HubSpot's times),
    ``created`` (row number and record ID of every row HubSpot created) and ``undo`` (who asked,
    when, when it ended, whether changed records were included, and per record its outcome),
    null when the batch was never undone; ``hubspot_search`` (the last look in HubSpot for
    appointments like its rows: state, who asked, when, when it ended, why it stopped, its
    matches ``[{"row", "record_id"}]``), null when HubSpot was never looked in. Raises
    PermissionDenied unless ``user`` may see the batch (``services.access``)."""
    access.require(user, Action.BATCH_VIEW, batch)
    created = batch.rows.filter(state=BatchRow.State.CREATED).order_by("row_number")
    undo = None
    if batch.undo_requested_at:
        undo = {
            "requested_by": batch.undo_requested_by.get_username()
            if batch.undo_requested_by
            else None,
            "requested_at": _when(batch.undo_requested_at),
            "undone_at": _when(batch.undone_at),
            "include_changed": batch.undo_include_changed,
            "records": [
                {"row": row, "record_id": record_id, "outcome": outcome, "at": _when(at)}
                for row, record_id, outcome, at in batch.undos.order_by(
                    "row__row_number"
                ).values_list("row__row_number", "record_id", "outcome", "at")
            ],
        }
    search = None
    if batch.hubspot_search_state:
        search = {
            "state": batch.hubspot_search_state,
            "requested_by": batch.hubspot_search_by.get_username()
            if batch.hubspot_search_by
            else None,
            "requested_at": _when(batch.hubspot_search_at),
            "ended_at": _when(batch.hubspot_search_ended_at),
            "message": batch.hubspot_search_message,
            "matches": batch.hubspot_duplicates,
        }
    return {
        "batch": {
            "id": str(batch.pk),
            "status": batch.status,
            "source": batch.source,
            "created_by": batch.created_by.get_username(),
            "created_at": _when(batch.created_at),
            "submitted_at": _when(batch.submitted_at),
            "finished_at": _when(batch.finished_at),
            "canary_size": batch.canary_size,
        },
        "portal": {"hub_id": batch.portal.hub_id, "domain": batch.portal.hub_domain},
        "file": {"name": batch.filename, "size": batch.file_size, "sha256": batch.file_sha256},
        "headers": batch.headers,
        "mapping": batch.mapping,
        "timezone": batch.timezone,
        "calls": [
            {
                "sequence": call.sequence,
                "state": call.state,
                "http_status": call.http_status,
                "hubspot_status": call.hubspot_status,
                "correlation_id": call.correlation_id,
                "requested_at": _when(call.requested_at),
                "completed_at": _when(call.completed_at),
            }
            for call in batch.calls.order_by("sequence")
        ],
        "created": [
            {"row": row, "record_id": record_id}
            for row, record_id in created.values_list("row_number", "hubspot_id")
        ],
        "undo": undo,
        "hubspot_search": search,
    }
