"""Retention: purge what is older than the retention period, and erase one person's data from
every batch by their e-mail address. Both are recorded (``DataRemoval``) with who asked."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from appointments.models import Batch, BatchRow, DataRemoval, HubSpotCallLog, Upload
from appointments.services import access

ERASED = "[erased]"
# Rows of these batches may be read or written by a worker right now.
BUSY_STATUSES = (Batch.Status.STORING, Batch.Status.QUEUED, Batch.Status.RUNNING)


class RetentionRefused(Exception):
    """The purge or erasure cannot run as asked; the message says why and what to do."""


@dataclass(frozen=True)
class Removed:
    """What a purge or an erasure removed, and its ``DataRemoval`` record."""

    counts: dict[str, int]
    record: DataRemoval


def _require_admin(user: User) -> None:
    if access.role_of(user) != access.ADMIN:
        raise RetentionRefused(
            f"{user.get_username()} is not an administrator: only an administrator may remove data."
        )


@transaction.atomic
def data_purge(*, older_than_days: int, by: User) -> Removed:
    """Delete batches (their rows and calls) last active more than ``older_than_days`` days ago
    (finished, else submitted, else created), uploads created before then and the record of
    HubSpot calls made before then (``HubSpotCallLog``); batches being stored or sent are kept.
    Raises ``RetentionRefused`` for a negative period or a ``by`` who is not an administrator."""
    _require_admin(by)
    if older_than_days < 0:
        raise RetentionRefused(f"The period must be 0 days or more, not {older_than_days}.")
    cutoff = timezone.now() - timedelta(days=older_than_days)
    batches = (
        Batch.objects.annotate(last_active=Coalesce("finished_at", "submitted_at", "created_at"))
        .filter(last_active__lt=cutoff)
        .exclude(status__in=BUSY_STATUSES)
    )
    batch_ids = list(batches.values_list("pk", flat=True))
    rows = BatchRow.objects.filter(batch_id__in=batch_ids).count()
    uploads, _by_model = Upload.objects.filter(
        Q(created_at__lt=cutoff) | Q(batch_id__in=batch_ids)
    ).delete()
    Batch.objects.filter(pk__in=batch_ids).delete()
    calls, _by_model = HubSpotCallLog.objects.filter(at__lt=cutoff).delete()
    counts = {"batches": len(batch_ids), "rows": rows, "uploads": uploads, "hubspot_calls": calls}
    record = DataRemoval.objects.create(
        kind=DataRemoval.Kind.PURGE,
        performed_by=by,
        criteria={"older_than_days": older_than_days, "before": cutoff.isoformat()},
        counts=counts,
    )
    return Removed(counts=counts, record=record)


def _erased_errors(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {**error, **{key: ERASED for key in ("value", "message") if key in error}}
        for error in errors
    ]


def _uploads_holding(address: str) -> list[str]:
    """Uploads whose preview shows ``address``, or whose kept file (text formats; unconfirmed
    uploads only, a confirmed one's file is already cleared) holds it."""
    found = set(Upload.objects.filter(preview__icontains=address).values_list("pk", flat=True))
    needle = address.encode()
    for pk, data in Upload.objects.filter(batch__isnull=True).values_list("pk", "data"):
        if needle in bytes(data).lower():
            found.add(pk)
    return sorted(str(pk) for pk in found)


@transaction.atomic
def person_erase(*, email: str, by: User) -> Removed:
    """Erase every stored row that holds ``email`` (any letter case, in any cell): its cells
    and HubSpot values become ``[erased]``, its errors lose their values, and a row not
    created in HubSpot is excluded so it can never be sent; uploads whose kept preview
    or text file holds it are deleted (a workbook's zipped cells cannot be searched: an
    unconfirmed one goes with ``prune_uploads`` within days). The record keeps the SHA-256 of
    the address, not the address.

    Raises ``RetentionRefused`` for an address that is not one, a ``by`` who is not an
    administrator, or when a batch holding it is being stored or sent (run again when it ends).
    Records created in HubSpot stay there: erase them in HubSpot too.
    """
    _require_admin(by)
    address = email.strip().lower()
    try:
        validate_email(address)
    except ValidationError:
        raise RetentionRefused(f"{email!r} is not an e-mail address.") from None
    holding = BatchRow.objects.filter(
        Q(raw__icontains=address) | Q(properties__icontains=address) | Q(errors__icontains=address)
    )
    busy = sorted(
        str(pk)
        for pk in Batch.objects.filter(
            pk__in=holding.values("batch_id"), status__in=BUSY_STATUSES
        ).values_list("pk", flat=True)
    )
    if busy:
        raise RetentionRefused(
            f"Batch {', '.join(busy)} is being stored or sent: run this again when it has "
            "ended, or cancel it first."
        )
    rows = list(holding.select_for_update())
    for row in rows:
        row.raw = [ERASED for _cell in row.raw]
        row.properties = (
            None
            if row.properties is None
            else [None if value is None else ERASED for value in row.properties]
        )
        row.errors = _erased_errors(row.errors)
        if row.state != BatchRow.State.CREATED:
            row.state = BatchRow.State.EXCLUDED
    BatchRow.objects.bulk_update(rows, ["raw", "properties", "errors", "state"], batch_size=500)
    uploads, _by_model = Upload.objects.filter(pk__in=_uploads_holding(address)).delete()
    counts = {
        "rows": len(rows),
        "batches": len({row.batch_id for row in rows}),
        "uploads": uploads,
    }
    record = DataRemoval.objects.create(
        kind=DataRemoval.Kind.ERASURE,
        performed_by=by,
        criteria={"email_sha256": hashlib.sha256(address.encode()).hexdigest()},
        counts=counts,
    )
    return Removed(counts=counts, record=record)
