"""Property definitions and association labels mirroring the sandbox demo portal, and how
stored rows read as sent."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from appointments.hubspot.schema import AssociationLabel, PropertyDefinition, PropertyOption
from appointments.intake.headers import propose_mapping
from appointments.intake.readers import read_table
from appointments.intake.rows import ValidatedRow
from appointments.intake.validation import validate_table
from appointments.models import BatchRow

CORPUS = Path(__file__).parent / "data" / "intake"
PARIS = ZoneInfo("Europe/Paris")


def _prop(
    name: str, label: str, type_: str, field_type: str, **extra: object
) -> PropertyDefinition:
    return PropertyDefinition(name=name, label=label, type=type_, field_type=field_type, **extra)  # type: ignore[arg-type]


PROPERTIES: list[PropertyDefinition] = [
    _prop("hs_appointment_name", "Appointment name", "string", "text"),
    _prop("hs_appointment_start", "Start time", "datetime", "date"),
    _prop("hs_appointment_end", "End time", "datetime", "date"),
    _prop(
        "hs_appointment_status",
        "Status",
        "enumeration",
        "select",
        options=(
            PropertyOption("Scheduled", "scheduled"),
            PropertyOption("Completed", "completed"),
            PropertyOption("Canceled", "canceled"),
            PropertyOption("No show", "no_show"),
        ),
    ),
    _prop("follow_up_date", "Follow-up date", "date", "date"),
    _prop("visit_notes", "Visit notes", "string", "textarea"),
    _prop(
        "visit_channels",
        "Visit channels",
        "enumeration",
        "checkbox",
        options=(
            PropertyOption("In person", "in_person"),
            PropertyOption("Video", "video"),
            PropertyOption("Phone", "phone"),
        ),
    ),
    _prop("party_size", "Party size", "number", "number"),
    _prop("interpreter_needed", "Interpreter needed", "bool", "booleancheckbox"),
    _prop(
        "external_booking_ref",
        "External booking reference",
        "string",
        "text",
        has_unique_value=True,
    ),
    _prop("hs_object_id", "Record ID", "number", "number", read_only_value=True),
    _prop("hs_createdate", "Create date", "datetime", "date", read_only_value=True),
]

LABELS: list[AssociationLabel] = [
    AssociationLabel("0-1", "HUBSPOT_DEFINED", 906),
    AssociationLabel("0-1", "USER_DEFINED", 37, "Attendee"),
    AssociationLabel("0-2", "HUBSPOT_DEFINED", 908),
    AssociationLabel("0-3", "HUBSPOT_DEFINED", 944),
]


def intake(name: str, **options: object) -> list[ValidatedRow]:
    """Read a corpus file, map it as proposed and validate it in Europe/Paris."""
    table = read_table((CORPUS / name).read_bytes(), name, max_rows=1000)
    mapping = propose_mapping(table.headers, PROPERTIES, LABELS)
    return validate_table(
        table,
        mapping=mapping,
        properties=PROPERTIES,
        timezone=PARIS,
        **options,  # type: ignore[arg-type]
    )


def sent_properties(row: BatchRow) -> dict[str, str]:
    """A stored row's properties as sent to HubSpot, ``{name: value}`` (via its batch's layout)."""
    return row.batch.layout.unpack_properties(row.properties)


def sent_associations(row: BatchRow) -> list[list[Any]]:
    """A stored row's ``[record id, associationCategory, associationTypeId]`` items."""
    return row.batch.layout.unpack_associations(row.associations)
