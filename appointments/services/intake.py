"""Intake actions: keep an upload, read it, propose and save mappings, store validated rows.

Keyword-only, typed functions named ``<entity>_<action>``. Reading and validating are
``appointments.intake`` (pure); this module stores what it gives and re-validates a fixed row
with the batch's own snapshot (mapping, properties, time zone, reading choices).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import python_calamine
from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from appointments.hubspot.schema import AssociationLabel, PropertyDefinition
from appointments.intake.bulk import gc_paused
from appointments.intake.cells import display_text, without_nul
from appointments.intake.encoding import association_type
from appointments.intake.mapping import ColumnTarget, normalise, propose_mapping
from appointments.intake.readers import IntakeError, Table, read_table
from appointments.intake.tuning import column_date_orders, file_decimal_comma
from appointments.intake.validation import RowValidator, ValidatedRow
from appointments.models import Batch, Portal, SavedMapping, Upload
from appointments.services.batches import _mapping_to_json
from appointments.services.portals import portal_schema
from appointments.services.storage import batch_rows_store_encoded

DATE_ORDERS = ("DMY", "MDY")
# Rows validated and stored per step: a 100,000-row file never holds every row in memory twice.
CHUNK_ROWS = 2000


@dataclass(frozen=True)
class Schema:
    """A portal's appointment properties and association types, as read from HubSpot."""

    properties: list[PropertyDefinition]
    labels: list[AssociationLabel]


def schema_read(*, portal: Portal) -> Schema:
    """The portal's appointment schema from HubSpot.

    Raises HubSpotError, or PortalNeedsReconnect when the portal's token was revoked.
    """
    properties, labels = portal_schema(portal=portal)
    return Schema(properties=properties, labels=labels)


def upload_schema(*, upload: Upload) -> Schema:
    """The portal's schema for this upload: read from HubSpot the first time, then kept on the
    upload. Raises HubSpotError or PortalNeedsReconnect on the first read."""
    if upload.schema:
        return Schema(
            properties=[PropertyDefinition.from_json(p) for p in upload.schema["properties"]],
            labels=[AssociationLabel.from_json(label) for label in upload.schema["labels"]],
        )
    schema = schema_read(portal=upload.portal)
    upload.schema = {
        "properties": [p.to_json() for p in schema.properties],
        "labels": [label.to_json() for label in schema.labels],
    }
    if upload.pk and not upload._state.adding:
        Upload.objects.filter(pk=upload.pk).update(schema=upload.schema)
    return schema


def target_from_json(data: dict[str, Any] | None) -> ColumnTarget | None:
    """The inverse of ``services.batches._mapping_to_json`` for one column."""
    if not data:
        return None
    return ColumnTarget(
        kind=data["kind"],
        name=data["name"],
        association_type_id=data.get("association_type_id"),
        association_category=data.get("association_category"),
    )


def upload_problem(*, data: bytes, filename: str, sheet: str | None) -> str:
    """Why ``data`` cannot become a batch ("" when it can): unreadable, or no data rows.

    Reads the file once as the mapping screen will (header found automatically).
    """
    try:
        table = read_table(data, filename, sheet=sheet, max_rows=settings.HUBPORTAL_MAX_ROWS)
    except IntakeError as exc:
        return exc.message
    if not table.rows:
        return _(
            "“%(name)s” has a header row but no appointments under it. Check that you chose "
            "the right file (or sheet)."
        ) % {"name": filename}
    return ""


def upload_store(
    *, user: User, portal: Portal, data: bytes, filename: str, timezone_name: str
) -> Upload:
    """Keep an uploaded file (its bytes) until its mapping is confirmed."""
    return Upload.objects.create(
        portal=portal,
        created_by=user,
        filename=filename[:255],
        data=data,
        timezone=timezone_name,
    )


def upload_read(
    *,
    upload: Upload,
    sheet: str | None = None,
    encoding: str | None = None,
    header_row: int | None = None,
) -> Table:
    """Read the kept file with the user's reading choices (None: detected).

    Raises ``appointments.intake.errors.IntakeError`` with a sentence the user can act on.
    """
    return read_table(
        bytes(upload.data),
        upload.filename,
        sheet=sheet or None,
        encoding=encoding or None,
        header_row=header_row,
        max_rows=settings.HUBPORTAL_MAX_ROWS,
    )


def upload_hidden_sheets(*, upload: Upload, table: Table) -> set[str]:
    """Names of the workbook's hidden sheets (empty for CSV).

    Only called after ``upload_read`` succeeded, so the file is known to be a sound workbook.
    """
    if not table.sheet_names:
        return set()
    with python_calamine.CalamineWorkbook.from_object(io.BytesIO(bytes(upload.data))) as book:
        return {
            m.name
            for m in book.sheets_metadata
            if m.visible != python_calamine.SheetVisibleEnum.Visible
        }


def column_samples(table: Table, *, count: int = 3) -> list[list[str]]:
    """The displayed values of the first ``count`` data rows, per column.

    Blank cells stay (as ""), so a column's samples line up with the other columns' by row.
    """
    samples: list[list[str]] = [[] for _ in table.headers]
    for _number, cells in table.rows[:count]:
        for index, cell in enumerate(cells):
            samples[index].append(without_nul(display_text(cell).strip()[:60]))
    return samples


def mapping_last_used(*, portal: Portal) -> SavedMapping | None:
    """The portal's saved mapping used most recently, or None."""
    return (
        portal.saved_mappings.filter(last_used_at__isnull=False).order_by("-last_used_at").first()
    )


def mapping_propose(
    *, headers: list[str], schema: Schema, saved: SavedMapping | None
) -> list[ColumnTarget | None]:
    """One target per column: the saved mapping's choice for a header it knows (matched as
    ``propose_mapping`` matches, case and accents ignored), else ``propose_mapping``'s.

    A saved target the portal no longer has (deleted property, label) falls back to the proposal.
    """
    proposal = propose_mapping(headers, schema.properties, schema.labels)
    if saved is None:
        return proposal
    known: dict[str, ColumnTarget | None] = {}
    for column in saved.columns:
        known.setdefault(normalise(column["header"]), target_from_json(column["target"]))
    writable = {p.name for p in schema.properties if p.writable}
    type_ids = {(label.to_object_type, label.type_id) for label in schema.labels}
    result: list[ColumnTarget | None] = []
    for header, proposed in zip(headers, proposal, strict=True):
        key = normalise(header)
        if key not in known:
            result.append(proposed)
            continue
        target = known[key]
        still_there = target is None or (
            target.name in writable
            if target.kind == "property"
            else (target.name, target.association_type_id) in type_ids
        )
        result.append(target if still_there else proposed)
    # The same property twice (two headers the saved mapping sent to one target) is refused by
    # the mapping form; the proposal never does it, so keep only the first.
    seen: set[str] = set()
    for index, target in enumerate(result):
        if target is not None and target.kind == "property":
            if target.name in seen:
                result[index] = None
            seen.add(target.name)
    return result


def mapping_save(
    *,
    portal: Portal,
    user: User,
    name: str,
    headers: list[str],
    mapping: list[ColumnTarget | None],
) -> SavedMapping:
    """Save (or replace) the mapping ``name`` of ``portal`` and mark it the last used."""
    columns = [
        {"header": header, "target": target}
        for header, target in zip(headers, _mapping_to_json(mapping), strict=True)
        if header.strip()
    ]
    saved, _created = SavedMapping.objects.update_or_create(
        portal=portal,
        name=name.strip()[:100],
        defaults={"columns": columns, "created_by": user, "last_used_at": timezone.now()},
    )
    return saved


def mapping_mark_used(*, saved: SavedMapping) -> None:
    """Remember ``saved`` as the portal's last used mapping (proposed on the next upload)."""
    SavedMapping.objects.filter(pk=saved.pk).update(last_used_at=timezone.now())


def ambiguous_date_columns(
    table: Table, mapping: list[ColumnTarget | None], properties: list[PropertyDefinition]
) -> list[int]:
    """Indexes of the mapped date columns where every value reads both as D/M and M/D."""
    orders = column_date_orders(table, mapping, properties)
    return sorted(index for index, order in orders.items() if order == "ambiguous")


def table_reading(
    table: Table,
    mapping: list[ColumnTarget | None],
    properties: list[PropertyDefinition],
    chosen_orders: dict[int, str],
) -> dict[str, Any]:
    """The reading choices stored on a batch: per-column day/month order (the data's, or the
    user's where the data is ambiguous), decimal comma, 1904 dates."""
    orders = {
        str(index): chosen_orders.get(index, order)
        for index, order in column_date_orders(table, mapping, properties).items()
    }
    return {
        "column_date_orders": {k: v for k, v in orders.items() if v in DATE_ORDERS},
        "decimal_comma": file_decimal_comma(table, mapping, properties),
        "date1904": table.date1904,
    }


def batch_validator(
    *,
    headers: list[str],
    mapping: list[ColumnTarget | None],
    properties: list[PropertyDefinition],
    timezone_name: str,
    reading: dict[str, Any],
) -> RowValidator:
    """The RowValidator for a batch's snapshot (see ``table_reading`` for ``reading``)."""
    return RowValidator(
        headers=headers,
        mapping=mapping,
        properties=properties,
        timezone=ZoneInfo(timezone_name),
        column_date_orders={
            int(index): order for index, order in (reading.get("column_date_orders") or {}).items()
        },
        decimal_comma=reading.get("decimal_comma"),
        date1904=bool(reading.get("date1904")),
    )


def batch_create_from_rows(
    *,
    user: User,
    portal: Portal,
    source: str,
    filename: str,
    timezone_name: str,
    headers: list[str],
    mapping: list[ColumnTarget | None],
    properties: list[PropertyDefinition],
    reading: dict[str, Any],
    rows: list[tuple[int, list[object]]],
) -> Batch:
    """Validate ``rows`` (``(row number, cells in header order)``) and store every one of them,
    valid or not, on a new draft batch that keeps the snapshot needed to re-validate a fix."""
    validator = batch_validator(
        headers=headers,
        mapping=mapping,
        properties=properties,
        timezone_name=timezone_name,
        reading=reading,
    )
    with transaction.atomic():
        batch = Batch.objects.create(
            portal=portal,
            created_by=user,
            source=source,
            filename=filename[:255],
            timezone=timezone_name,
            headers=headers,
            mapping=_mapping_to_json(mapping),
            properties_snapshot=[p.to_json() for p in properties],
            reading=reading,
        )
        for start in range(0, len(rows), CHUNK_ROWS):
            with gc_paused():
                chunk = validator.encode_rows(rows[start : start + CHUNK_ROWS])
            batch_rows_store_encoded(batch=batch, rows=chunk)
    return batch


def upload_confirm(
    *,
    upload: Upload,
    table: Table,
    mapping: list[ColumnTarget | None],
    properties: list[PropertyDefinition],
    date_orders: dict[int, str],
) -> Batch:
    """Validate every row of the upload's ``table`` with the confirmed ``mapping`` and
    ``date_orders`` (column index -> ``"DMY"``/``"MDY"`` for ambiguous columns); store them on
    a new batch linked to the upload; the file's bytes are then cleared (the rows hold every
    value, and a confirmed upload is never read again), its name and schema kept. Nothing is
    sent."""
    batch = batch_create_from_rows(
        user=upload.created_by,
        portal=upload.portal,
        source=Batch.Source.UPLOAD,
        filename=upload.filename,
        timezone_name=upload.timezone,
        headers=table.headers,
        mapping=mapping,
        properties=properties,
        reading=table_reading(table, mapping, properties, date_orders),
        rows=table.rows,
    )
    Upload.objects.filter(pk=upload.pk).update(batch=batch, data=b"")
    return batch


def table_validate(
    *,
    table: Table,
    mapping: list[ColumnTarget | None],
    properties: list[PropertyDefinition],
    timezone_name: str,
    date_orders: dict[int, str],
) -> list[ValidatedRow]:
    """Validate every row of ``table`` exactly as ``upload_confirm`` would, storing nothing."""
    validator = batch_validator(
        headers=table.headers,
        mapping=mapping,
        properties=properties,
        timezone_name=timezone_name,
        reading=table_reading(table, mapping, properties, date_orders),
    )
    with gc_paused():
        return validator.validate_rows(table.rows)


def association_object_types(mapping: list[ColumnTarget | None]) -> dict[tuple[str, int], str]:
    """``(associationCategory, associationTypeId)`` -> target object type, from the mapping's
    association columns (a batch-create association names its type, not the object type)."""
    return {
        association_type(target.association_category, target.association_type_id): target.name
        for target in mapping
        if target is not None
        and target.kind == "association"
        and target.association_type_id is not None
    }
