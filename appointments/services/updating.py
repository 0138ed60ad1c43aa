"""Update or create: rows that change existing appointments instead of creating new ones.

A batch's ``write_mode`` (``Batch.WriteMode``) says how its rows reach HubSpot:

* ``update`` / ``update_only``: a row naming a record (a column mapped to ``hs_object_id``, or
  a duplicate a person chose to update: ``RowWrite.target_id``) goes through batch update
  (``POST /crm/objects/2026-03/0-421/batch/update``,
  https://developers.hubspot.com/docs/api-reference/2026-03/crm/objects/appointments/guide);
  the others are created (``update``) or were left out before sending (``update_only``).
* ``upsert``: a row with a value of ``upsert_property`` (a unique-value property) goes through
  batch upsert with that ``idProperty``
  (https://developers.hubspot.com/docs/api-reference/2026-03/crm/objects/custom-objects/batch/upsert-custom-objects);
  HubSpot updates the appointment holding the value or creates one.

Neither call takes associations: they are added afterwards through the associations API
(``POST /crm/associations/2026-03/0-421/{toObjectType}/batch/create``,
https://developers.hubspot.com/docs/api-reference/2026-03/crm/associations/associate-records/batch/create-associations-labeled).

Exactly once: both calls are idempotent. An update sent twice writes the same values; an
upsert sent again finds the record its lost attempt created (the value is unique) and answers
``new: false``. So a lost answer is simply sent again, never searched for. What a row did
("created" or "updated", ``RowWrite.outcome``) is saved from the first answer received, before
anything else (associations), and never changed by a resend; a row no record held when it
was read before the first attempt, answered ``new: false`` after an attempt without answer,
was created by that attempt.

Before the first attempt, the current values of the properties a row changes are read (batch
read by ID, or by ``idProperty``) and kept on ``RowWrite.before``, so undo
(``services.undo``) writes them back.

This module holds the steps; ``services.sending`` runs them inside its retry loop.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from appointments.hubspot.client import MAX_BATCH_INPUTS, BatchWriteResult, HubSpotClient
from appointments.hubspot.schema import APPOINTMENT_OBJECT_TYPE
from appointments.intake.converters import RECORD_ID_PROPERTY
from appointments.intake.encoding import association_object_types
from appointments.intake.mapping import target_from_json
from appointments.models import Batch, BatchRow, RowWrite
from appointments.services import access
from appointments.services.access import Action

UPDATE, UPSERT = "update", "upsert"


def batch_writes(batch: Batch) -> bool:
    """Whether ``batch`` may update appointments (its write mode is not "create")."""
    return batch.write_mode != Batch.WriteMode.CREATE


def written_values(batch: Batch, row: BatchRow) -> dict[str, str]:
    """``{property: HubSpot string}`` the row writes: its values, less the record ID column
    (which names the record, never a value)."""
    values = batch.layout.unpack_properties(row.properties)
    values.pop(RECORD_ID_PROPERTY, None)
    return values


def _writes(rows: list[BatchRow]) -> dict[int, RowWrite]:
    found = RowWrite.objects.in_bulk([row.pk for row in rows])
    return {pk: write for pk, write in found.items()}


def split_rows(
    batch: Batch, rows: list[BatchRow]
) -> tuple[list[BatchRow], list[BatchRow], list[BatchRow]]:
    """``(updates, upserts, creates)`` of ``rows``: each update row gets a ``RowWrite`` naming
    its record (made here from its record ID column when it has none yet)."""
    if not batch_writes(batch):
        return [], [], rows
    writes = _writes(rows)
    updates, upserts, creates = [], [], []
    missing: list[RowWrite] = []
    for row in rows:
        write = writes.get(row.pk)
        values = batch.layout.unpack_properties(row.properties)
        # The row's own record ID column first: a fixed row may name another record now.
        target = values.get(RECORD_ID_PROPERTY, "") or (write.target_id if write else "")
        # A record named by ID first: the most precise; then a unique value to upsert by.
        if target:
            updates.append(row)
        elif batch.write_mode == Batch.WriteMode.UPSERT and values.get(batch.upsert_property):
            upserts.append(row)
        else:
            creates.append(row)
            continue
        if write is None:
            missing.append(RowWrite(row=row, batch=batch, target_id=target))
        elif target != write.target_id and not write.outcome:
            # Another record than the one read before (a fixed row): read it afresh.
            RowWrite.objects.filter(pk=row.pk).update(
                target_id=target, before=None, read_at=None, attempts=0
            )
    RowWrite.objects.bulk_create(missing, ignore_conflicts=True)
    return updates, upserts, creates


def read_before(client: HubSpotClient, batch: Batch, kind: str, rows: list[BatchRow]) -> None:
    """Read and keep (``RowWrite.before``) the current values of what ``rows`` change, for
    the rows not read yet; never again after the first attempt, which may have written them.
    Raises HubSpotError (nothing kept: read again next time)."""
    writes = _writes(rows)
    unread = [row for row in rows if writes[row.pk].read_at is None]
    for start in range(0, len(unread), MAX_BATCH_INPUTS):
        chunk = unread[start : start + MAX_BATCH_INPUTS]
        names = sorted({name for row in chunk for name in written_values(batch, row)})
        if kind == UPDATE:
            ids = [writes[row.pk].target_id for row in chunk]
            current = client.read_appointments(sorted(set(ids)), names)
            found = {row.pk: current.get(writes[row.pk].target_id) for row in chunk}
        else:
            prop = batch.upsert_property
            keys = {row.pk: batch.layout.unpack_properties(row.properties)[prop] for row in chunk}
            records = client.read_by_property(
                APPOINTMENT_OBJECT_TYPE, prop, sorted(set(keys.values())), names
            )
            by_key = {record.properties.get(prop): record.properties for record in records}
            found = {pk: by_key.get(key) for pk, key in keys.items()}
        now = timezone.now()
        with transaction.atomic():
            for row in chunk:
                values = found[row.pk]
                before = (
                    None
                    if values is None
                    else {name: values.get(name, "") for name in written_values(batch, row)}
                )
                RowWrite.objects.filter(pk=row.pk, read_at__isnull=True).update(
                    before=before, read_at=now
                )


def count_attempt(rows: list[BatchRow]) -> None:
    """Count an attempt of ``rows`` before it leaves: an answer ``new: false`` after a
    counted attempt without answer is the record that attempt created."""
    RowWrite.objects.filter(pk__in=[row.pk for row in rows]).update(attempts=F("attempts") + 1)


def uncount_attempt(rows: list[BatchRow]) -> None:
    """Take back an attempt HubSpot did not process (429, no connection made): only attempts
    that may have written count for ``_outcome``."""
    RowWrite.objects.filter(pk__in=[row.pk for row in rows], attempts__gt=0).update(
        attempts=F("attempts") - 1
    )


def update_inputs(batch: Batch, rows: list[BatchRow]) -> list[dict[str, Any]]:
    """Batch-update inputs ``{"id", "properties"}`` of ``rows`` (update rows of ``batch``)."""
    writes = _writes(rows)
    return [
        {"id": writes[row.pk].target_id, "properties": written_values(batch, row)} for row in rows
    ]


def upsert_inputs(batch: Batch, rows: list[BatchRow]) -> list[dict[str, Any]]:
    """Batch-upsert inputs ``{"idProperty", "id", "properties"}`` of ``rows``: the unique value
    is the ``id``, never one of the properties (HubSpot does not change it)."""
    prop = batch.upsert_property
    inputs = []
    for row in rows:
        values = written_values(batch, row)
        key = values.pop(prop)
        inputs.append({"idProperty": prop, "id": key, "properties": values})
    return inputs


def _outcome(write: RowWrite, new: bool | None) -> str:
    """What the row did, decided once: an answer's ``new``, except that a row no record held
    before the first attempt, answered ``new: false`` after an attempt whose answer was lost,
    was created by that attempt."""
    if write.outcome:
        return write.outcome
    if new or (new is False and write.before is None and write.attempts > 1):
        return RowWrite.Outcome.CREATED
    return RowWrite.Outcome.UPDATED


def apply_update(rows: list[BatchRow], result: BatchWriteResult) -> None:
    """Set ``rows`` (sent in one batch update) from ``result`` and save what each did: the
    records found are updated (the row holds the record ID); the IDs HubSpot did not find fail
    the row saying so. Row states are saved by the caller."""
    writes = _writes(rows)
    missing = set(result.missing_ids)
    answered = {record.id for record in result.results}
    done: list[int] = []
    for row in rows:
        target = writes[row.pk].target_id
        if target in answered:
            row.state, row.hubspot_id = BatchRow.State.CREATED, target
            row.error_category = row.error_message = ""
            done.append(row.pk)
        else:
            row.state, row.error_category = BatchRow.State.FAILED, "OBJECT_NOT_FOUND"
            row.error_message = (
                _(
                    "HubSpot has no appointment %(id)s to update (deleted, or not an appointment "
                    "of this portal). Fix the record ID or clear it to create the appointment."
                )
                % {"id": target}
                if target in missing or not result.errors
                else "; ".join(error.message for error in result.errors)
            )
    RowWrite.objects.filter(pk__in=done, outcome="").update(outcome=RowWrite.Outcome.UPDATED)


def apply_upsert(batch: Batch, rows: list[BatchRow], result: BatchWriteResult) -> None:
    """Set ``rows`` (sent in one batch upsert) from ``result``, matched by the unique value
    HubSpot echoes, and save at once what each did (``_outcome``), before anything else."""
    prop = batch.upsert_property
    by_key = {record.properties.get(prop): record for record in result.results}
    writes = _writes(rows)
    with transaction.atomic():
        for row in rows:
            record = by_key.get(batch.layout.unpack_properties(row.properties)[prop])
            if record is None:
                row.state, row.error_category = BatchRow.State.FAILED, "UNMATCHED"
                row.error_message = str(BatchRow.OUTCOME_MESSAGES["UNMATCHED"])
                continue
            row.state, row.hubspot_id = BatchRow.State.CREATED, record.id
            row.error_category = row.error_message = ""
            write = writes[row.pk]
            if not write.outcome:
                RowWrite.objects.filter(pk=row.pk, outcome="").update(
                    outcome=_outcome(write, record.new)
                )


def settle_unmatched(client: HubSpotClient, batch: Batch, rows: list[BatchRow]) -> None:
    """Find by their unique value the upserted ``rows`` an answer did not name (HubSpot's
    upsert results need not echo ``idProperty``): one batch read by ``idProperty``. A row
    found holds that record, "created" when no record held its value before the first
    attempt, else "updated". Raises HubSpotError."""
    unmatched = [row for row in rows if row.error_category == "UNMATCHED"]
    if not unmatched:
        return
    prop = batch.upsert_property
    key = {row.pk: batch.layout.unpack_properties(row.properties)[prop] for row in unmatched}
    ids = client.appointments_by_unique_value(prop, sorted(set(key.values())))
    writes = _writes(unmatched)
    with transaction.atomic():
        for row in unmatched:
            record_id = ids.get(key[row.pk])
            if record_id is None:
                continue
            row.state, row.hubspot_id = BatchRow.State.CREATED, record_id
            row.error_category = row.error_message = ""
            write = writes[row.pk]
            RowWrite.objects.filter(pk=row.pk, outcome="").update(
                outcome=write.outcome or _outcome(write, write.before is None)
            )


def associate(client: HubSpotClient, batch: Batch, rows: list[BatchRow]) -> None:
    """Add the associations of ``rows`` (written, with their record ID) through the
    associations API, 100 pairs per call per object type. An association that exists already
    stays as it is, so sending them again is harmless. Raises HubSpotError."""
    object_types = association_object_types([target_from_json(t) for t in batch.mapping])
    pairs: dict[str, list[tuple[str, str, str, int]]] = defaultdict(list)
    for row in rows:
        if not row.hubspot_id:
            continue
        for record_id, category, type_id in batch.layout.unpack_associations(row.associations):
            object_type = object_types.get((category, type_id))
            if object_type is not None:
                pairs[object_type].append((row.hubspot_id, record_id, category, type_id))
    for object_type, items in pairs.items():
        for start in range(0, len(items), MAX_BATCH_INPUTS):
            client.associate(object_type, items[start : start + MAX_BATCH_INPUTS])


def row_outcomes(batch: Batch, row_pks: list[int]) -> dict[int, str]:
    """``{row pk: "created" | "updated"}`` of those rows of ``batch`` an update-or-create wrote
    (rows missing from it were created by batch create)."""
    return dict(
        RowWrite.objects.filter(batch=batch, pk__in=row_pks)
        .exclude(outcome="")
        .values_list("pk", "outcome")
    )


def upsert_properties(*, batch: Batch) -> list[str]:
    """The unique-value appointment properties a column of ``batch`` is mapped to: those an
    "update existing appointments, create the rest" can match on (``idProperty``)."""
    unique = {prop["name"] for prop in batch.properties_snapshot if prop.get("has_unique_value")}
    return [name for name in batch.layout.properties if name in unique]


def names_records(*, batch: Batch) -> bool:
    """Whether a column of ``batch`` is mapped to the record ID (``hs_object_id``)."""
    return RECORD_ID_PROPERTY in batch.layout.properties


def batch_write_mode_set(
    *, user: User, batch: Batch, write_mode: str, upsert_property: str = ""
) -> None:
    """Choose how the unsent batch writes (``Batch.WriteMode``): ``upsert`` needs
    ``upsert_property``, one of ``upsert_properties``. A batch with a record ID column never
    creates its rows that name a record: "create" becomes "update". Changes nothing once a
    row was given to a call. Raises ValueError (unknown mode, a property that is no mapped
    unique-value property), PermissionDenied unless ``user`` may act on the batch."""
    access.require(user, Action.BATCH_ACT, batch)
    if write_mode not in Batch.WriteMode.values:
        raise ValueError(write_mode)
    if write_mode == Batch.WriteMode.UPSERT:
        if upsert_property not in upsert_properties(batch=batch):
            raise ValueError(upsert_property)
    else:
        upsert_property = ""
    if write_mode == Batch.WriteMode.CREATE and names_records(batch=batch):
        write_mode = Batch.WriteMode.UPDATE
    if batch.rows.filter(call__isnull=False).exists():
        return
    Batch.objects.filter(pk=batch.pk).update(write_mode=write_mode, upsert_property=upsert_property)
    batch.write_mode, batch.upsert_property = write_mode, upsert_property


def batch_update_matches(*, user: User, batch: Batch, matches: list[tuple[int, str]]) -> int:
    """Update, instead of creating, the rows ``matches`` names (``(row number, record id)``:
    duplicates of an appointment HubSpot holds, sent before or found there): each such unsent
    row updates that record, and the batch becomes an update batch. Returns how many rows
    will update. Raises PermissionDenied unless ``user`` may act on the batch."""
    access.require(user, Action.BATCH_ACT, batch)
    record_of = dict(matches)
    rows = list(
        batch.rows.filter(
            row_number__in=record_of, call__isnull=True, state=BatchRow.State.READY
        ).only("pk", "row_number")
    )
    with transaction.atomic():
        for row in rows:
            RowWrite.objects.update_or_create(
                row=row, defaults={"batch": batch, "target_id": record_of[row.row_number]}
            )
        if rows and batch.write_mode == Batch.WriteMode.CREATE:
            Batch.objects.filter(pk=batch.pk).update(write_mode=Batch.WriteMode.UPDATE)
            batch.write_mode = Batch.WriteMode.UPDATE
    return len(rows)


def batch_refuse_unnamed(*, user: User, batch: Batch) -> int:
    """For an "update only" batch, leave out (EXCLUDED, saying why) the ready unsent rows
    that name no record to update. Returns how many. Raises PermissionDenied unless ``user``
    may act on the batch."""
    access.require(user, Action.BATCH_ACT, batch)
    if batch.write_mode != Batch.WriteMode.UPDATE_ONLY:
        return 0
    named = set(
        RowWrite.objects.filter(batch=batch).exclude(target_id="").values_list("pk", flat=True)
    )
    column = next(
        (
            header
            for header, target in zip(batch.headers, batch.mapping, strict=False)
            if target and target.get("name") == RECORD_ID_PROPERTY
        ),
        RECORD_ID_PROPERTY,
    )
    refused = []
    for row in batch.rows.filter(call__isnull=True, state=BatchRow.State.READY):
        values = batch.layout.unpack_properties(row.properties)
        if row.pk not in named and not values.get(RECORD_ID_PROPERTY):
            refused.append(row.pk)
    message = _(
        "Not sent: column “%(column)s” is empty and this batch only updates appointments. "
        "Fill in the record ID of the appointment to update, or choose “update the "
        "appointments named, create the rest”."
    ) % {"column": column}
    return batch.rows.filter(pk__in=refused).update(
        state=BatchRow.State.EXCLUDED, error_message=message, updated_at=timezone.now()
    )
