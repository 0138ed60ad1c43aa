"""The header matcher: real-world English and French headers, values that inform the guess,
learned choices, and a repeated header never silently dropped."""

from __future__ import annotations

import pytest

from appointments.hubspot.schema import PropertyDefinition
from appointments.intake.headers import match_headers, propose_mapping, similarity
from appointments.intake.mapping import ColumnTarget, normalise
from tests.intake_fixtures import LABELS, PROPERTIES

CONTACTS = ColumnTarget("association", "0-1", 906, "HUBSPOT_DEFINED")
COMPANIES = ColumnTarget("association", "0-2", 908, "HUBSPOT_DEFINED")
# A column of client e-mails links contacts found by email (issue 13), not by record ID.
CONTACTS_BY_EMAIL = ColumnTarget(
    "association", "0-1", 906, "HUBSPOT_DEFINED", match_property="email"
)


def prop(name: str, **choices: object) -> ColumnTarget:
    return ColumnTarget(kind="property", name=name, **choices)  # type: ignore[arg-type]


# (header, expected target) as booking tools, calendars and ops spreadsheets write them.
REAL_HEADERS: list[tuple[str, ColumnTarget | None]] = [
    ("Appointment title", prop("hs_appointment_name")),
    ("Start", prop("hs_appointment_start")),
    ("End", prop("hs_appointment_end")),
    ("Client email", CONTACTS_BY_EMAIL),
    ("Notes", prop("visit_notes")),
    ("Status", prop("hs_appointment_status")),
    ("Subject", prop("hs_appointment_name")),
    ("Event Name", prop("hs_appointment_name")),
    ("Start Date", prop("hs_appointment_start")),
    ("startTime", prop("hs_appointment_start")),
    ("End time", prop("hs_appointment_end")),
    ("Ends at", prop("hs_appointment_end")),
    ("Appointment Status", prop("hs_appointment_status")),
    ("Comments", prop("visit_notes")),
    ("Company", COMPANIES),
    ("Objet", prop("hs_appointment_name")),
    ("Titre", prop("hs_appointment_name")),
    ("Début", prop("hs_appointment_start")),
    ("Date de début", prop("hs_appointment_start")),
    ("Heure de fin", prop("hs_appointment_end")),
    ("Fin", prop("hs_appointment_end")),
    ("Commentaire", prop("visit_notes")),
    ("Statut", prop("hs_appointment_status")),
    ("État", prop("hs_appointment_status")),
    ("Entreprise", COMPANIES),
    ("Nombre de personnes", None),
    ("Party sise", prop("party_size")),  # a typo, by edit distance
    ("Interpreter needed?", prop("interpreter_needed")),
    ("Tel", None),
    ("Record ID", None),
]


@pytest.mark.parametrize(("header", "expected"), REAL_HEADERS)
def test_it_matches_real_world_english_and_french_headers(
    header: str, expected: ColumnTarget | None
) -> None:
    assert propose_mapping([header], PROPERTIES, LABELS) == [expected]


def test_a_booking_export_matches_in_one_go_with_a_confidence_each() -> None:
    headers = ["Appointment title", "Start", "End", "Client email", "Notes", "Status"]
    proposals = match_headers(headers, PROPERTIES, LABELS)
    assert [p.target for p in proposals] == [
        prop("hs_appointment_name"),
        prop("hs_appointment_start"),
        prop("hs_appointment_end"),
        CONTACTS_BY_EMAIL,
        prop("visit_notes"),
        prop("hs_appointment_status"),
    ]
    assert all(80 <= p.confidence <= 100 for p in proposals)
    assert [p.reason for p in proposals] == [
        "synonym",
        "synonym",
        "synonym",
        "exact",  # a natural-key header: contacts by email
        "synonym",
        "exact",
    ]


def test_a_near_miss_has_a_lower_confidence_than_an_exact_label() -> None:
    exact, near = match_headers(["Start time", "Party sise"], PROPERTIES, LABELS)
    assert (exact.confidence, exact.reason) == (100, "exact")
    assert near.reason == "similar" and 80 <= near.confidence < 95


def test_values_tell_a_date_column_and_a_time_column_apart() -> None:
    headers = ["Appointment title", "Date", "Time", "Client email", "Notes", "Status"]
    values = [
        ["Check-up"],
        ["2026-12-10", "2026-12-11"],
        ["09:00", "14:30"],
        ["ada@example.com"],
        ["first visit"],
        ["Confirmed", "Booked"],
    ]
    targets = propose_mapping(headers, PROPERTIES, LABELS, values=values)
    assert targets[1] == prop("hs_appointment_start", time_column=2)
    assert targets[2] is None
    assert targets[3] == CONTACTS_BY_EMAIL
    assert targets[5] == prop("hs_appointment_status")


def test_values_overrule_a_header_that_names_the_wrong_kind_of_field() -> None:
    # "Client" would be the contacts association, but names are no record IDs or e-mails.
    assert propose_mapping(["Client"], PROPERTIES, LABELS, values=[["Ada Lovelace"]]) == [None]
    assert propose_mapping(["Client"], PROPERTIES, LABELS, values=[["51234500003"]]) == [CONTACTS]


def test_option_labels_in_the_values_find_the_enumeration() -> None:
    values = [["In person", "Phone", "Video"]]
    assert propose_mapping(["Kanal"], PROPERTIES, LABELS, values=values) == [prop("visit_channels")]
    (proposal,) = match_headers(["Kanal"], PROPERTIES, LABELS, values=values)
    assert proposal.reason == "values" and proposal.confidence < 80


def test_a_duration_column_gives_the_end_as_minutes_after_the_start() -> None:
    headers = ["Title", "Start", "Duration (minutes)"]
    assert propose_mapping(
        headers, PROPERTIES, LABELS, values=[["a"], ["2026-12-10 09:00"], ["45"]]
    ) == [
        prop("hs_appointment_name"),
        prop("hs_appointment_start"),
        prop("hs_appointment_end", minutes_after="hs_appointment_start"),
    ]


def test_a_confirmed_choice_is_proposed_first_next_time() -> None:
    learned = {normalise("Client email"): None, normalise("Kanal"): prop("visit_channels")}
    proposals = match_headers(
        ["CLIENT EMAIL", "Kanal", "Start"], PROPERTIES, LABELS, learned=learned
    )
    assert [p.target for p in proposals] == [
        None,
        prop("visit_channels"),
        prop("hs_appointment_start"),
    ]
    assert [p.reason for p in proposals[:2]] == ["learned", "learned"]


def test_a_learned_target_the_portal_no_longer_has_falls_back_to_matching() -> None:
    learned = {normalise("Status"): prop("deleted_property")}
    assert propose_mapping(["Status"], PROPERTIES, LABELS, learned=learned) == [
        prop("hs_appointment_status")
    ]


def test_a_repeated_header_is_proposed_once_and_says_which_column_took_it() -> None:
    proposals = match_headers(["Start time", "Title", "start time"], PROPERTIES, LABELS)
    assert proposals[0].target == prop("hs_appointment_start")
    assert proposals[2].target is None and proposals[2].clash_with == 0


def test_short_words_match_exactly_or_not_at_all() -> None:
    assert similarity("Tel", "le") == 0
    assert similarity("Fin", "fin") == 100


def test_a_header_naming_a_unique_value_property_links_by_that_property() -> None:
    patient = PropertyDefinition("patient_number", "Patient number", "string", "text")
    account = PropertyDefinition("account_number", "Account number", "number", "number")
    keyed = {"0-1": [patient], "0-2": [account]}
    headers = ["Patient number", "account_number", "Patient number 2", "Client email"]
    values = [["PN-000123", "PN-000124"], ["100234", "100235"], ["a@x.org"], ["a@x.org"]]

    targets = propose_mapping(headers, PROPERTIES, LABELS, values=values, key_properties=keyed)
    without = propose_mapping(headers, PROPERTIES, LABELS, values=values)

    assert targets[0] == ColumnTarget(
        "association", "0-1", 906, "HUBSPOT_DEFINED", match_property="patient_number"
    )
    # A unique property of numbers keeps its numbers: they are no record IDs.
    assert targets[1] == ColumnTarget(
        "association", "0-2", 908, "HUBSPOT_DEFINED", match_property="account_number"
    )
    # A column of emails is no patient number, whatever its header says.
    assert targets[2] != targets[0]
    assert without[0] is None and without[1] is None


def test_with_a_contact_email_column_name_and_phone_columns_feed_created_contacts() -> None:
    headers = ["Client email", "First name", "Nom de famille", "Téléphone", "Prénom"]

    with_email = propose_mapping(headers, PROPERTIES, LABELS)
    without_email = propose_mapping(headers[1:], PROPERTIES, LABELS)

    assert with_email[1:] == [
        ColumnTarget("contact", "firstname"),
        ColumnTarget("contact", "lastname"),
        ColumnTarget("contact", "phone"),
        None,  # the first name already comes from column B
    ]
    assert without_email == [None, None, None, None]
