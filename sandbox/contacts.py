"""Batch create of contacts, with HubSpot's one rule that matters here: one contact per email.

Follows https://developers.hubspot.com/docs/api-reference/2026-03/crm/objects/contacts/guide
(create contacts in batch, at most 100 inputs; email is the contacts' unique identifier): an
input whose email another contact has, or another input of the same call has, fails the whole
call with 409 ``CONFLICT`` "Contact already exists. Existing ID: N" and nothing is created (the
message of a duplicate contact in a batch create:
https://github.com/HubSpot/hubspot-api-python/issues/51); integrators read the existing ID back
from it. Two inputs with one email: 400, nothing created.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.db.models import F

from sandbox import catalog
from sandbox.batch import MAX_INPUTS, Outcome, record_json
from sandbox.batch_checks import InputError, simple_error
from sandbox.clock import iso
from sandbox.db import write_transaction
from sandbox.models import CrmRecord, Portal


def create_contacts(portal: Portal, payload: dict[str, Any], *, now_ts: float) -> Outcome:
    """Create ``payload["inputs"]`` as contacts of ``portal``: 201 with every record, or a
    whole-call 400 (a bad input, an unknown property) or 409 (an email taken)."""
    inputs = payload.get("inputs")
    if not isinstance(inputs, list) or not all(isinstance(item, dict) for item in inputs):
        return Outcome(400, error=simple_error("inputs must be a list of objects."))
    if len(inputs) > MAX_INPUTS:
        message = f"Too many inputs: {len(inputs)}. A batch takes at most {MAX_INPUTS} inputs."
        return Outcome(400, error=simple_error(message))
    # The custom unique-value property is not written by this sandbox's contact creates (its
    # uniqueness would go unchecked): refused like an unknown property.
    unique = {d["name"] for d in catalog.RECORD_PROPERTIES[catalog.CONTACTS] if d["hasUniqueValue"]}
    known = set(catalog.RECORD_PROPERTY_TYPES[catalog.CONTACTS]) - unique
    cleaned: list[dict[str, str]] = []
    for item in inputs:
        props = item.get("properties")
        if not isinstance(props, dict) or not all(isinstance(v, str) for v in props.values()):
            return Outcome(400, error=simple_error("properties must map names to strings."))
        unknown = [name for name in props if name not in known]
        if unknown:
            return Outcome(400, error=simple_error(f'Property "{unknown[0]}" does not exist'))
        email = props.get("email", "").strip().lower()
        cleaned.append({**props, **({"email": email} if email else {})})
    when = datetime.fromtimestamp(now_ts, tz=UTC)
    with write_transaction():
        taken = {
            str(record.properties.get("email", "")).lower(): record.record_id
            for record in CrmRecord.objects.filter(
                portal=portal, object_type=catalog.CONTACTS, archived=False
            )
        }
        seen: set[str] = set()
        for props in cleaned:
            email = props.get("email", "")
            if email and email in taken:
                message = f"Contact already exists. Existing ID: {taken[email]}"
                return Outcome(409, error=InputError("CONFLICT", message, [], {}, 409))
            if email in seen:
                return Outcome(400, error=simple_error(f"Duplicate email in batch input: {email}"))
            if email:
                seen.add(email)
        count = len(cleaned)
        Portal.objects.filter(pk=portal.pk).update(next_record_id=F("next_record_id") + count)
        last = Portal.objects.values_list("next_record_id", flat=True).get(pk=portal.pk)
        stamp = iso(when)
        records = [
            CrmRecord(
                portal=portal,
                object_type=catalog.CONTACTS,
                record_id=str(last - count + offset),
                properties={
                    **props,
                    "hs_object_id": str(last - count + offset),
                    "createdate": stamp,
                    "hs_createdate": stamp,
                    "hs_lastmodifieddate": stamp,
                },
                created_at=when,
                updated_at=when,
            )
            for offset, props in enumerate(cleaned)
        ]
        CrmRecord.objects.bulk_create(records)
    body = {
        "status": "COMPLETE",
        "results": [record_json(record) for record in records],
        "startedAt": iso(when),
        "completedAt": iso(when),
    }
    return Outcome(201, body=body)
