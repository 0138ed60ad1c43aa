"""A portal's appointment schema: property definitions and association labels, as typed values.

Parsed at the boundary from HubSpot's JSON: a ``Property`` of the properties API
(https://developers.hubspot.com/docs/api/crm/properties) and an association label
(https://developers.hubspot.com/docs/api-reference/latest/crm/associations/associations-schema/guide).
Pure: no HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

APPOINTMENT_OBJECT_TYPE = "0-421"

# Association targets offered in uploads: the column name, HubSpot's object type id and name.
ASSOCIATION_TARGETS: dict[str, tuple[str, str]] = {
    "contact_ids": ("0-1", "contacts"),
    "company_ids": ("0-2", "companies"),
    "deal_ids": ("0-3", "deals"),
}

# Appointment -> X default (HUBSPOT_DEFINED, unlabeled) type ids, used only when a portal's
# labels endpoint lists none (https://developers.hubspot.com/docs/api-reference/latest/crm/associations/associations-schema/guide).
DEFAULT_ASSOCIATION_TYPE_IDS: dict[str, int] = {"0-1": 906, "0-2": 908, "0-3": 944}

# Only hs_appointment_name is required on create (https://developers.hubspot.com/docs/api-reference/2026-03/crm/objects/appointments/guide).
REQUIRED_PROPERTIES = frozenset({"hs_appointment_name"})


@dataclass(frozen=True)
class PropertyOption:
    """One enumeration option: ``value`` is what HubSpot accepts, ``label`` what people read."""

    label: str
    value: str
    hidden: bool = False


@dataclass(frozen=True)
class PropertyDefinition:
    """One appointment property as HubSpot describes it.

    ``type`` is HubSpot's data type (``string``, ``number``, ``bool``, ``enumeration``, ``date``,
    ``datetime``, ``phone_number``, ...); ``field_type`` its input kind (``select``, ``checkbox``
    for multi-select enumerations, ``text``, ...).
    """

    name: str
    label: str
    type: str
    field_type: str
    group_name: str = ""
    description: str = ""
    options: tuple[PropertyOption, ...] = ()
    read_only_value: bool = False
    calculated: bool = False
    has_unique_value: bool = False
    hidden: bool = False

    @property
    def required(self) -> bool:
        return self.name in REQUIRED_PROPERTIES

    @property
    def writable(self) -> bool:
        """False for read-only and calculated properties, which HubSpot refuses on create."""
        return not (
            self.read_only_value or self.calculated or self.field_type == "calculation_equation"
        )

    @property
    def multiple(self) -> bool:
        """True for multi-select enumerations, whose values are ``;``-separated."""
        return self.type == "enumeration" and self.field_type == "checkbox"

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> PropertyDefinition:
        """Build from one ``Property`` object of ``GET /crm/properties/2026-03/0-421``."""
        metadata = data.get("modificationMetadata") or {}
        return cls(
            name=str(data["name"]),
            label=str(data.get("label") or data["name"]),
            type=str(data.get("type") or "string"),
            field_type=str(data.get("fieldType") or "text"),
            group_name=str(data.get("groupName") or ""),
            description=str(data.get("description") or ""),
            options=tuple(
                PropertyOption(
                    label=str(option.get("label") or option.get("value") or ""),
                    value=str(option.get("value") or ""),
                    hidden=bool(option.get("hidden", False)),
                )
                for option in data.get("options") or ()
            ),
            read_only_value=bool(metadata.get("readOnlyValue", False)),
            calculated=bool(data.get("calculated", False)),
            has_unique_value=bool(data.get("hasUniqueValue", False)),
            hidden=bool(data.get("hidden", False)),
        )

    def to_json(self) -> dict[str, Any]:
        """A compact JSON form for storing a snapshot on a batch (the inverse of from_json)."""
        return {
            "name": self.name,
            "label": self.label,
            "type": self.type,
            "field_type": self.field_type,
            "group_name": self.group_name,
            "description": self.description,
            "options": [[o.label, o.value, o.hidden] for o in self.options],
            "read_only_value": self.read_only_value,
            "calculated": self.calculated,
            "has_unique_value": self.has_unique_value,
            "hidden": self.hidden,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PropertyDefinition:
        values = dict(data)
        values["options"] = tuple(PropertyOption(*option) for option in data.get("options", ()))
        return cls(**values)


@dataclass(frozen=True)
class AssociationLabel:
    """One association type from appointments to ``to_object_type`` (e.g. ``0-1``).

    ``label`` is None for HubSpot's unlabeled default type. ``category`` is HubSpot's
    ``HUBSPOT_DEFINED``/``USER_DEFINED``/``INTEGRATOR_DEFINED``/``WORK``.
    """

    to_object_type: str
    category: str
    type_id: int
    label: str | None = None

    @property
    def is_default(self) -> bool:
        return self.category == "HUBSPOT_DEFINED" and not self.label

    @classmethod
    def from_api(cls, to_object_type: str, data: dict[str, Any]) -> AssociationLabel:
        """Build from one ``AssociationSpecWithLabel`` of the labels endpoint."""
        return cls(
            to_object_type=to_object_type,
            category=str(data["category"]),
            type_id=int(data["typeId"]),
            label=data.get("label") or None,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "to_object_type": self.to_object_type,
            "category": self.category,
            "type_id": self.type_id,
            "label": self.label,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AssociationLabel:
        return cls(**data)


def default_label(labels: list[AssociationLabel], to_object_type: str) -> AssociationLabel:
    """The unlabeled HUBSPOT_DEFINED type to ``to_object_type`` from ``labels``.

    Falls back to HubSpot's documented default id when the portal lists none.
    """
    for label in labels:
        if label.to_object_type == to_object_type and label.is_default:
            return label
    return AssociationLabel(
        to_object_type=to_object_type,
        category="HUBSPOT_DEFINED",
        type_id=DEFAULT_ASSOCIATION_TYPE_IDS[to_object_type],
    )


@dataclass(frozen=True)
class Schema:
    """A portal's appointment properties and association types, as read from HubSpot, and
    ``key_properties``: object type (``0-1``...) -> its unique-value properties, which
    association cells may name records by (``idProperty`` reads)."""

    properties: list[PropertyDefinition]
    labels: list[AssociationLabel]
    key_properties: dict[str, list[PropertyDefinition]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """``{"properties": [...], "labels": [...], "key_properties": {type: [...]}}``, as
        kept on an upload or a session."""
        return {
            "properties": [p.to_json() for p in self.properties],
            "labels": [label.to_json() for label in self.labels],
            "key_properties": {
                object_type: [p.to_json() for p in props]
                for object_type, props in self.key_properties.items()
            },
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Schema:
        """The inverse of ``to_json`` (a schema kept before ``key_properties``: none)."""
        return cls(
            properties=[PropertyDefinition.from_json(p) for p in data["properties"]],
            labels=[AssociationLabel.from_json(label) for label in data["labels"]],
            key_properties={
                object_type: [PropertyDefinition.from_json(p) for p in props]
                for object_type, props in (data.get("key_properties") or {}).items()
            },
        )
