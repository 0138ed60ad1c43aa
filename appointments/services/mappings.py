"""Saved mappings: a portal's named column choices, proposed again for the next file.

Keyword-only, typed functions named ``mapping_<action>``; the proposal for headers no saved
mapping knows is ``intake.headers.match_headers``', with the choices confirmed for each header
in the portal (``HeaderChoice``) first.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from appointments.hubspot.schema import Schema
from appointments.intake.headers import Proposal, match_headers
from appointments.intake.mapping import (
    ColumnTarget,
    mapping_to_json,
    normalise,
    target_from_json,
)
from appointments.models import HeaderChoice, Portal, SavedMapping
from appointments.services import access
from appointments.services.access import Action


def mapping_last_used(*, portal: Portal) -> SavedMapping | None:
    """The portal's saved mapping used most recently, or None."""
    return (
        portal.saved_mappings.filter(last_used_at__isnull=False).order_by("-last_used_at").first()
    )


def mapping_learned(*, portal: Portal) -> dict[str, ColumnTarget | None]:
    """``normalise(header)`` -> the target last confirmed for that header in ``portal``."""
    return {
        choice.header: target_from_json(choice.target)
        for choice in HeaderChoice.objects.filter(portal=portal)
    }


def mapping_propose(
    *,
    headers: list[str],
    schema: Schema,
    saved: SavedMapping | None,
    portal: Portal | None = None,
    values: Sequence[Sequence[str]] | None = None,
) -> list[Proposal]:
    """One Proposal per column: the saved mapping's choice for a header it knows (matched as
    the matcher matches, case and accents ignored), else ``intake.headers.match_headers``'
    (choices confirmed in ``portal`` first, then headers and ``values``).

    A saved target the portal no longer has (deleted property, label) falls back to the
    proposal. No property goes to two columns.
    """
    learned = mapping_learned(portal=portal) if portal is not None else None
    proposal = match_headers(
        headers,
        schema.properties,
        schema.labels,
        values=values,
        learned=learned,
        key_properties=schema.key_properties,
    )
    if saved is None:
        return proposal
    known: dict[str, ColumnTarget | None] = {}
    positions = {normalise(header): index for index, header in reversed(list(enumerate(headers)))}
    for column in saved.columns:
        target = target_from_json(column["target"])
        time_at = positions.get(normalise(column.get("time_header") or ""))
        if target is not None and time_at is not None:
            target = dataclasses.replace(target, time_column=time_at)
        known.setdefault(normalise(column["header"]), target)
    writable = {p.name for p in schema.properties if p.writable}
    type_ids = {(label.to_object_type, label.type_id) for label in schema.labels}
    result: list[Proposal] = []
    for header, proposed in zip(headers, proposal, strict=True):
        key = normalise(header)
        if key not in known:
            result.append(proposed)
            continue
        target = known[key]
        still_there = (
            target is None
            or target.kind == "contact"
            or (
                target.name in writable
                if target.kind == "property"
                else (target.name, target.association_type_id) in type_ids
            )
        )
        result.append(Proposal(target, 100, "saved", header) if still_there else proposed)
    # The same property twice (two headers the saved mapping sent to one target) is settled
    # by the person on the mapping screen; the proposal keeps only the first.
    seen: set[str] = set()
    for index, item in enumerate(result):
        target = item.target
        if target is not None and target.kind == "property" and not target.fallback:
            if target.name in seen:
                result[index] = Proposal(None)
            seen.add(target.name)
    return result


def mapping_learn(
    *, portal: Portal, user: User, headers: list[str], mapping: list[ColumnTarget | None]
) -> None:
    """Remember the target confirmed for each named column of a file (None: ignored), so the
    next file of ``portal`` with that header is proposed the same. What only fits this file
    (the index of a time column, which column wins a clash) is not kept."""
    with transaction.atomic():
        for header, target in zip(headers, mapping, strict=True):
            key = normalise(header)[:255]
            if not key:
                continue
            kept = target
            if target is not None and target.kind == "property":
                kept = dataclasses.replace(target, time_column=None, fallback=False)
            HeaderChoice.objects.update_or_create(
                portal=portal,
                header=key,
                defaults={"target": mapping_to_json([kept])[0], "chosen_by": user},
            )


def mapping_save(
    *,
    portal: Portal,
    user: User,
    name: str,
    headers: list[str],
    mapping: list[ColumnTarget | None],
) -> SavedMapping:
    """Save (or replace) the mapping ``name`` of ``portal`` and mark it the last used. Saved
    mappings are shared by everyone on the portal: raises PermissionDenied unless ``user`` may
    manage portals.

    A date column's time-of-day column is kept by its header (``time_header``), not by its
    position, so a file with the same headers in another order is read the same."""
    access.require(user, Action.PORTAL_MANAGE, portal)
    columns: list[dict[str, object]] = []
    for header, target in zip(headers, mapping, strict=True):
        if not header.strip():
            continue
        column: dict[str, object] = {"header": header}
        if target is not None and target.time_column is not None:
            column["time_header"] = headers[target.time_column]
            target = dataclasses.replace(target, time_column=None)
        column["target"] = mapping_to_json([target])[0]
        columns.append(column)
    saved, _created = SavedMapping.objects.update_or_create(
        portal=portal,
        name=name.strip()[:100],
        defaults={"columns": columns, "created_by": user, "last_used_at": timezone.now()},
    )
    return saved


def mapping_mark_used(*, saved: SavedMapping) -> None:
    """Remember ``saved`` as the portal's last used mapping (proposed on the next upload)."""
    SavedMapping.objects.filter(pk=saved.pk).update(last_used_at=timezone.now())
