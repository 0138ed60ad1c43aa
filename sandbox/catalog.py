"""The demo portal's schema: appointment properties, association labels and pipelines.

Shapes follow sandbox/openapi.yaml: ``Property``
(https://developers.hubspot.com/docs/api-reference/2026-03/crm/properties/get-properties),
``AssociationLabel`` (https://developers.hubspot.com/docs/api-reference/crm-associations-v4/guide)
and ``Pipeline`` (https://developers.hubspot.com/docs/api-reference/2026-03/crm/pipelines/get-pipelines).
"""

from __future__ import annotations

from typing import Any

APPOINTMENTS = "0-421"
CONTACTS = "0-1"
COMPANIES = "0-2"
DEALS = "0-3"
OBJECT_TYPE_NAMES = {
    "appointments": APPOINTMENTS,
    "appointment": APPOINTMENTS,
    "contacts": CONTACTS,
    "contact": CONTACTS,
    "companies": COMPANIES,
    "company": COMPANIES,
    "deals": DEALS,
    "deal": DEALS,
}
SCOPE_READ = {
    APPOINTMENTS: "crm.objects.appointments.read",
    CONTACTS: "crm.objects.contacts.read",
    COMPANIES: "crm.objects.companies.read",
    DEALS: "crm.objects.deals.read",
}
SCOPE_WRITE = {
    APPOINTMENTS: "crm.objects.appointments.write",
    CONTACTS: "crm.objects.contacts.write",
}
# Properties of the demo portal's contacts, companies and deals by type: what search filters and
# sorts on (HubSpot's default properties of each object; the sandbox stores no definitions for
# them). Email is the contacts' unique identifier, domain the companies' usual key
# (https://knowledge.hubspot.com/records/deduplication-of-records).
_COMMON_TYPES = {
    "hs_object_id": "number",
    "createdate": "datetime",
    "hs_createdate": "datetime",
    "hs_lastmodifieddate": "datetime",
    "hubspot_owner_id": "enumeration",
}
RECORD_PROPERTY_TYPES: dict[str, dict[str, str]] = {
    CONTACTS: {
        **_COMMON_TYPES,
        "email": "string",
        "firstname": "string",
        "lastname": "string",
        "phone": "string",
        "patient_number": "string",
    },
    COMPANIES: {
        **_COMMON_TYPES,
        "name": "string",
        "domain": "string",
        "website": "string",
        "account_number": "string",
    },
    DEALS: {
        **_COMMON_TYPES,
        "dealname": "string",
        "amount": "number",
        "closedate": "datetime",
        "booking_ref": "string",
    },
}
# Reading an object type's schema (properties, pipelines): either scope will do.
SCHEMA_SCOPES = ("crm.schemas.appointments.read", "crm.objects.appointments.read")


def object_type_id(name_or_id: str) -> str | None:
    """Map ``contacts``/``0-1`` (and the other supported types) to the type id, else None."""
    lowered = name_or_id.lower()
    if lowered in OBJECT_TYPE_NAMES.values():
        return lowered
    return OBJECT_TYPE_NAMES.get(lowered)


def _options(pairs: list[tuple[str, str]]) -> list[dict[str, Any]]:
    return [
        {"label": label, "value": value, "displayOrder": i, "hidden": False, "description": ""}
        for i, (value, label) in enumerate(pairs)
    ]


def prop(
    name: str,
    label: str,
    type_: str,
    field_type: str,
    *,
    options: list[tuple[str, str]] | None = None,
    unique: bool = False,
    read_only: bool = False,
    hubspot_defined: bool = True,
    calculated: bool = False,
    description: str = "",
) -> dict[str, Any]:
    """Build one HubSpot ``Property`` JSON object (crm-properties-2026-03.json, ``Property``)."""
    return {
        "name": name,
        "label": label,
        "type": type_,
        "fieldType": field_type,
        "groupName": "appointment_information",
        "description": description,
        "options": _options(options or []),
        "displayOrder": -1,
        "hasUniqueValue": unique,
        "calculated": calculated,
        "externalOptions": False,
        "hidden": False,
        "formField": not read_only,
        "hubspotDefined": hubspot_defined,
        "archived": False,
        "createdAt": "2026-03-30T00:00:00.000Z",
        "updatedAt": "2026-03-30T00:00:00.000Z",
        "modificationMetadata": {
            "archivable": not hubspot_defined,
            "readOnlyDefinition": hubspot_defined,
            "readOnlyValue": read_only,
        },
    }


STATUS_OPTIONS = [
    ("scheduled", "Scheduled"),
    ("completed", "Completed"),
    ("canceled", "Canceled"),
    ("no_show", "No show"),
]
CHANNEL_OPTIONS = [
    ("in_person", "In person"),
    ("phone", "Phone"),
    ("video", "Video call"),
    ("home_visit", "Home visit"),
]
YES_NO = [("true", "Yes"), ("false", "No")]

# (definition, required) for every appointment property of the demo portal.
APPOINTMENT_PROPERTIES: list[tuple[dict[str, Any], bool]] = [
    (prop("hs_appointment_name", "Appointment name", "string", "text"), True),
    (prop("hs_appointment_start", "Start time", "datetime", "date"), False),
    (prop("hs_appointment_end", "End time", "datetime", "date"), False),
    (
        prop(
            "hs_appointment_status",
            "Appointment status",
            "enumeration",
            "select",
            options=STATUS_OPTIONS,
        ),
        False,
    ),
    (
        prop("hs_pipeline", "Pipeline", "enumeration", "select", options=[("0", "Appointments")]),
        False,
    ),
    (
        prop(
            "hs_pipeline_stage",
            "Pipeline stage",
            "enumeration",
            "select",
            options=[("appt_booked", "Booked"), ("appt_done", "Done")],
        ),
        False,
    ),
    (
        prop(
            "hubspot_owner_id",
            "Appointment owner",
            "enumeration",
            "select",
            description="The HubSpot owner (an owner ID of the owners API) of the appointment.",
        ),
        False,
    ),
    (prop("follow_up_date", "Follow-up date", "date", "date", hubspot_defined=False), False),
    (prop("visit_notes", "Visit notes", "string", "textarea", hubspot_defined=False), False),
    (
        prop(
            "visit_channels",
            "Visit channels",
            "enumeration",
            "checkbox",
            options=CHANNEL_OPTIONS,
            hubspot_defined=False,
        ),
        False,
    ),
    (prop("party_size", "Party size", "number", "number", hubspot_defined=False), False),
    (
        prop(
            "interpreter_needed",
            "Interpreter needed",
            "bool",
            "booleancheckbox",
            options=YES_NO,
            hubspot_defined=False,
        ),
        False,
    ),
    (
        prop(
            "external_booking_ref",
            "External booking reference",
            "string",
            "text",
            unique=True,
            hubspot_defined=False,
        ),
        False,
    ),
    (prop("hs_object_id", "Record ID", "number", "number", read_only=True), False),
    (prop("hs_createdate", "Create date", "datetime", "date", read_only=True), False),
    (
        prop("hs_lastmodifieddate", "Last modified date", "datetime", "date", read_only=True),
        False,
    ),
    (
        prop(
            "hs_duration_minutes",
            "Duration (minutes)",
            "number",
            "calculation_equation",
            read_only=True,
            calculated=True,
        ),
        False,
    ),
]

# (to object type, category, typeId, label): HubSpot-defined defaults (906, 908, 944 as HubSpot
# numbers them from appointments), then the portal's user-defined labels.
APPOINTMENT_LABELS: list[tuple[str, str, int, str | None]] = [
    (CONTACTS, "HUBSPOT_DEFINED", 906, None),
    (CONTACTS, "USER_DEFINED", 37, "Attendee"),
    (CONTACTS, "USER_DEFINED", 39, "Interpreter"),
    (COMPANIES, "HUBSPOT_DEFINED", 908, None),
    (COMPANIES, "USER_DEFINED", 41, "Venue"),
    (DEALS, "HUBSPOT_DEFINED", 944, None),
    (DEALS, "USER_DEFINED", 43, "Related deal"),
]

# (stage id, label, display order) of the demo portal's one appointment pipeline, id "0".
APPOINTMENT_STAGES: list[tuple[str, str, int]] = [
    ("appt_booked", "Booked", 0),
    ("appt_done", "Done", 1),
]


def _record_prop(
    name: str, label: str, type_: str, field_type: str, group: str, *, unique: bool = False
) -> dict[str, Any]:
    """A contact, company or deal ``Property``: HubSpot's own (``unique`` False) or the
    portal's custom unique-value identifier (``hasUniqueValue``, not HubSpot-defined)."""
    definition = prop(name, label, type_, field_type, unique=unique, hubspot_defined=not unique)
    definition["groupName"] = group
    return definition


# The properties API's definitions of the demo portal's contacts, companies and deals: a few of
# HubSpot's defaults and one custom unique-value property each, as a portal that keeps an
# identifier from another system has ("Create unique identifier properties",
# https://developers.hubspot.com/docs/api/crm/properties). HubSpot lists ``email`` and
# ``domain`` without ``hasUniqueValue``: their uniqueness is the object's own rule, not a
# property setting (https://knowledge.hubspot.com/records/deduplication-of-records).
RECORD_PROPERTIES: dict[str, list[dict[str, Any]]] = {
    CONTACTS: [
        _record_prop("email", "Email", "string", "text", "contactinformation"),
        _record_prop("firstname", "First Name", "string", "text", "contactinformation"),
        _record_prop("lastname", "Last Name", "string", "text", "contactinformation"),
        _record_prop("phone", "Phone Number", "string", "phonenumber", "contactinformation"),
        _record_prop(
            "patient_number", "Patient number", "string", "text", "contactinformation", unique=True
        ),
    ],
    COMPANIES: [
        _record_prop("name", "Company name", "string", "text", "companyinformation"),
        _record_prop("domain", "Company Domain Name", "string", "text", "companyinformation"),
        _record_prop("website", "Website URL", "string", "text", "companyinformation"),
        _record_prop(
            "account_number", "Account number", "string", "text", "companyinformation", unique=True
        ),
    ],
    DEALS: [
        _record_prop("dealname", "Deal Name", "string", "text", "dealinformation"),
        _record_prop("amount", "Amount", "number", "number", "dealinformation"),
        _record_prop("closedate", "Close Date", "datetime", "date", "dealinformation"),
        _record_prop(
            "booking_ref", "Booking reference", "string", "text", "dealinformation", unique=True
        ),
    ],
}
