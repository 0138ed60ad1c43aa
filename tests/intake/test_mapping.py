"""Proposing column mappings from headers, and reporting duplicate headers by column letter."""

from __future__ import annotations

from appointments.intake.headers import propose_mapping
from appointments.intake.mapping import ColumnTarget, duplicate_headers
from tests.intake_fixtures import LABELS, PROPERTIES


def prop(name: str) -> ColumnTarget:
    return ColumnTarget(kind="property", name=name)


def test_it_matches_internal_names_and_labels_ignoring_case_accents_and_spacing() -> None:
    headers = [
        "hs_appointment_name",
        "START TIME",
        "end_time",
        " Party  size ",
        "Intérpreter needed",
    ]
    assert propose_mapping(headers, PROPERTIES, LABELS) == [
        prop("hs_appointment_name"),
        prop("hs_appointment_start"),
        prop("hs_appointment_end"),
        prop("party_size"),
        prop("interpreter_needed"),
    ]


def test_it_matches_french_labels() -> None:
    headers = ["Nom du rendez-vous", "Heure de début", "heure de fin", "Statut"]
    assert propose_mapping(headers, PROPERTIES, LABELS) == [
        prop("hs_appointment_name"),
        prop("hs_appointment_start"),
        prop("hs_appointment_end"),
        prop("hs_appointment_status"),
    ]


def test_it_maps_association_columns_to_the_portal_default_types() -> None:
    headers = ["contact_ids", "Company IDs", "deal_ids", "contact_ids (Attendee)", "deal_ids (VIP)"]
    assert propose_mapping(headers, PROPERTIES, LABELS) == [
        ColumnTarget("association", "0-1", 906, "HUBSPOT_DEFINED"),
        ColumnTarget("association", "0-2", 908, "HUBSPOT_DEFINED"),
        ColumnTarget("association", "0-3", 944, "HUBSPOT_DEFINED"),
        ColumnTarget("association", "0-1", 37, "USER_DEFINED"),
        None,
    ]


def test_it_falls_back_to_hubspot_default_type_ids_when_the_portal_lists_none() -> None:
    assert propose_mapping(["company_ids"], PROPERTIES, []) == [
        ColumnTarget("association", "0-2", 908, "HUBSPOT_DEFINED")
    ]


def test_it_never_proposes_read_only_properties_or_one_property_twice() -> None:
    """Read-only properties are never proposed, but for the record ID: its column names the
    appointment a row updates (issue 15), once, like any property."""
    headers = [
        "Record ID",
        "hs_object_id",
        "Create date",
        "Start time",
        "hs_appointment_start",
        "Comments",
        "",
    ]
    assert propose_mapping(headers, PROPERTIES, LABELS) == [
        prop("hs_object_id"),
        None,
        None,
        prop("hs_appointment_start"),
        None,
        prop("visit_notes"),
        None,
    ]


def test_it_reports_duplicate_headers_by_column_letter() -> None:
    headers = ["Name", "Start time", "Notes", "start time", "Notes", "", ""]
    assert duplicate_headers(headers) == [("Start time", ["B", "D"]), ("Notes", ["C", "E"])]
    wide = [f"h{i}" for i in range(27)] + ["h0"]
    assert duplicate_headers(wide) == [("h0", ["A", "AB"])]
    assert duplicate_headers(["a", "b"]) == []
