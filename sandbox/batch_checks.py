"""Per-input checks of a batch create: properties, associations, unique values.

Rules and error shapes: SANDBOX.md (the batch create row and the UNCONFIRMED choices), after
https://developers.hubspot.com/docs/api-reference/2026-03/crm/objects/appointments/guide. One
query per object type and per unique property for the whole batch, never one per input.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from sandbox import catalog
from sandbox.models import AssociationLabel, CrmRecord, Portal, UniqueValue
from sandbox.values import PropertyError, check_value, problem


@dataclass
class InputError:
    """Why one input failed: HubSpot category, message, details and context."""

    category: str
    message: str
    errors: list[dict[str, Any]]
    context: dict[str, list[str]] = field(default_factory=dict)
    http_status: int = 400


def simple_error(message: str) -> InputError:
    """A whole-input ``VALIDATION_ERROR`` with one detail."""
    return InputError("VALIDATION_ERROR", message, [{"message": message}])


def validate_inputs(
    portal: Portal,
    inputs: list[dict[str, Any]],
    definitions: dict[str, tuple[dict[str, Any], bool]],
    labels: dict[int, AssociationLabel],
) -> tuple[dict[int, InputError], dict[int, dict[str, Any]]]:
    """Check every input; returns ``(errors by input index, cleaned inputs by index)``.

    A cleaned input is ``{"properties": {name: stored value}, "associations": [...],
    "trace": objectWriteTraceId or ""}``. Call inside the transaction that creates the records,
    so a unique value cannot be taken between the check and the insert.
    """
    errors: dict[int, InputError] = {}
    cleaned: dict[int, dict[str, Any]] = {}
    wanted: dict[str, set[str]] = {}
    for index, item in enumerate(inputs):
        props, problems = check_properties(item.get("properties"), definitions)
        if problems:
            errors[index] = _property_error(problems)
            continue
        links, link_error = _check_associations(item.get("associations", []), labels)
        if link_error is not None:
            errors[index] = link_error
            continue
        for link in links:
            wanted.setdefault(link["toObjectTypeId"], set()).add(link["toObjectId"])
        trace = item.get("objectWriteTraceId")
        cleaned[index] = {
            "properties": props,
            "associations": links,
            "trace": trace if isinstance(trace, str) else "",
        }
    existing = {
        (object_type, record_id)
        for object_type, ids in wanted.items()
        for record_id in CrmRecord.objects.filter(
            portal=portal, object_type=object_type, record_id__in=ids, archived=False
        ).values_list("record_id", flat=True)
    }
    for index, data in list(cleaned.items()):
        missing = [
            link["toObjectId"]
            for link in data["associations"]
            if (link["toObjectTypeId"], link["toObjectId"]) not in existing
        ]
        if missing:
            message = "One or more associations are invalid"
            detail = {
                "message": f"No record with id {', '.join(missing)} to associate with.",
                "code": "INVALID_OBJECT_IDS",
                "context": {"INVALID_OBJECT_IDS": missing},
            }
            errors[index] = InputError(
                "VALIDATION_ERROR", message, [detail], {"INVALID_OBJECT_IDS": missing}
            )
            del cleaned[index]
    _check_unique(portal, definitions, cleaned, errors)
    return errors, cleaned


def check_properties(
    raw: object, definitions: dict[str, tuple[dict[str, Any], bool]]
) -> tuple[dict[str, str], list[PropertyError]]:
    """``(stored values, problems)`` of an input's ``properties`` against ``definitions``
    (``{name: (definition, required)}``), as a create or an update checks them."""
    if not isinstance(raw, dict):
        return {}, [problem("properties", "INVALID_TYPE", "properties must be an object.")]
    props: dict[str, str] = {}
    problems: list[PropertyError] = []
    for name, value in raw.items():
        if name not in definitions:
            problems.append(
                problem(name, "PROPERTY_DOESNT_EXIST", f'Property "{name}" does not exist')
            )
            continue
        stored, error = check_value(definitions[name][0], value)
        if error is not None:
            problems.append(error)
        elif stored != "":
            props[name] = stored
    for name, (_, required) in definitions.items():
        if required and name not in props and not any(p["name"] == name for p in problems):
            problems.append(problem(name, "REQUIRED_PROPERTY", f'Property "{name}" is required'))
    return props, problems


def _property_error(problems: list[PropertyError]) -> InputError:
    message = "Property values were not valid: " + json.dumps(problems, separators=(",", ":"))
    details = [
        {"message": p["message"], "code": p["error"], "context": {"propertyName": [p["name"]]}}
        for p in problems
    ]
    return InputError("VALIDATION_ERROR", message, details)


def _check_associations(
    raw: object, labels: dict[int, AssociationLabel]
) -> tuple[list[dict[str, Any]], InputError | None]:
    if not isinstance(raw, list):
        return [], simple_error("associations must be a list.")
    links: list[dict[str, Any]] = []
    for assoc in raw:
        target = assoc.get("to") if isinstance(assoc, dict) else None
        types = assoc.get("types") if isinstance(assoc, dict) else None
        if not isinstance(target, dict) or not isinstance(target.get("id"), str) or not types:
            return [], simple_error("Each association needs to.id (a string) and types[].")
        for spec in types:
            type_id = spec.get("associationTypeId") if isinstance(spec, dict) else None
            category = spec.get("associationCategory") if isinstance(spec, dict) else None
            label = labels.get(type_id) if isinstance(type_id, int) else None
            if label is None or label.category != category:
                message = (
                    f"Association type {category} {type_id} is not defined from 0-421 in this "
                    "account; read the valid types from the association labels endpoint."
                )
                detail = {"message": message, "code": "INVALID_ASSOCIATION_TYPE"}
                return [], InputError("VALIDATION_ERROR", message, [detail])
            links.append(
                {
                    "toObjectTypeId": label.to_object_type,
                    "toObjectId": target["id"],
                    "associationCategory": category,
                    "associationTypeId": type_id,
                }
            )
    return links, None


def value_hash(value: str) -> str:
    """The key a unique-value property's value is stored under (``UniqueValue.value_hash``)."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def _check_unique(
    portal: Portal,
    definitions: dict[str, tuple[dict[str, Any], bool]],
    cleaned: dict[int, dict[str, Any]],
    errors: dict[int, InputError],
) -> None:
    for name, (definition, _) in definitions.items():
        if not definition.get("hasUniqueValue"):
            continue
        hashes = {
            value_hash(d["properties"][name]) for d in cleaned.values() if name in d["properties"]
        }
        if not hashes:
            continue
        taken: dict[str, str] = dict(
            UniqueValue.objects.filter(
                portal=portal,
                object_type=catalog.APPOINTMENTS,
                property=name,
                value_hash__in=hashes,
            ).values_list("value_hash", "record_id")
        )
        for index in sorted(cleaned):
            value = cleaned[index]["properties"].get(name)
            if value is None:
                continue
            key = value_hash(value)
            if key in taken:
                existing = taken[key]
                message = (
                    f'A record with the value "{value}" for unique property "{name}" already '
                    f"exists. Existing ID: {existing}"
                )
                errors[index] = InputError(
                    "CONFLICT",
                    message,
                    [{"message": message, "code": "DUPLICATE_VALUE"}],
                    {"propertyName": [name], "existingId": [existing]},
                    http_status=409,
                )
                del cleaned[index]
            else:
                taken[key] = "(same batch)"
