"""Saved mappings: a portal's named column choices, proposed again for the next file.

Keyword-only, typed functions named ``mapping_<action>``; the proposal for headers no saved
mapping knows is ``intake.mapping.propose_mapping``'s.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.utils import timezone

from appointments.hubspot.schema import Schema
from appointments.intake.mapping import (
    ColumnTarget,
    mapping_to_json,
    normalise,
    propose_mapping,
    target_from_json,
)
from appointments.models import Portal, SavedMapping
from appointments.services import access
from appointments.services.access import Action


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
    """Save (or replace) the mapping ``name`` of ``portal`` and mark it the last used. Saved
    mappings are shared by everyone on the portal: raises PermissionDenied unless ``user`` may
    manage portals."""
    access.require(user, Action.PORTAL_MANAGE, portal)
    columns = [
        {"header": header, "target": target}
        for header, target in zip(headers, mapping_to_json(mapping), strict=True)
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
