"""Natural keys' shapes and proposals, pure (no HubSpot)."""

from __future__ import annotations

import pytest

from appointments.hubspot.schema import AssociationLabel
from appointments.intake.dates import CellProblem
from appointments.intake.headers import propose_mapping
from appointments.intake.keys import key_converter, normalise_key, owner_key, wanted_keys
from appointments.intake.mapping import (
    ColumnTarget,
    mapping_to_json,
    target_from_json,
    values_key,
)


@pytest.mark.parametrize(
    ("text", "domain"),
    [
        ("acme.com", "acme.com"),
        ("https://www.Acme.com/contact?x=1", "acme.com"),
        ("http://acme.com:8080", "acme.com"),
        ("www.acme.co.uk/", "acme.co.uk"),
    ],
)
def test_a_website_is_compared_as_its_domain(text: str, domain: str) -> None:
    assert normalise_key(text, "domain") == domain


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("acme", "domain"),
        ("a@acme.com", "domain"),
        ("not an email", "email"),
        ("51234500003", "email"),
        ("chloé nguyen@example.org", "email"),
        ("chloé@@example.org", "email"),
    ],
)
def test_a_key_of_the_wrong_shape_is_refused(text: str, kind: str) -> None:
    with pytest.raises(CellProblem) as problem:
        normalise_key(text, kind)
    assert problem.value.code == "bad_key"


def test_emails_and_names_are_compared_lowercase() -> None:
    assert normalise_key(" Amina.Rivera0@Example.org ", "email") == "amina.rivera0@example.org"
    assert normalise_key("Annual  Check-up", "dealname") == "annual check-up"
    # Letters beyond ASCII before the @ (RFC 6531), as the demo portal's own contacts have.
    assert normalise_key("Chloé.Nguyen2@example.org", "email") == "chloé.nguyen2@example.org"
    assert owner_key("Tom  Keller") == "name:tom keller"
    assert owner_key("70110002") == "id:70110002"


def test_values_tell_emails_and_domains_from_ids() -> None:
    assert values_key(["a@example.org", "b@example.org; c@example.org"]) == "email"
    assert values_key(["https://acme.com", "www.beta.fr"]) == "domain"
    assert values_key(["51234500003", "51234500004"]) is None
    assert values_key(["Jane Doe"]) is None


def test_stored_mappings_without_a_match_property_read_as_record_ids() -> None:
    old = {
        "kind": "association",
        "name": "0-1",
        "association_type_id": 906,
        "association_category": "HUBSPOT_DEFINED",
    }
    keyed = ColumnTarget("association", "0-1", 906, "HUBSPOT_DEFINED", match_property="email")

    assert target_from_json(old) == ColumnTarget("association", "0-1", 906, "HUBSPOT_DEFINED")
    assert mapping_to_json([target_from_json(old)]) == [old]
    assert target_from_json(mapping_to_json([keyed])[0]) == keyed


def test_distinct_keys_only_and_a_pick_settles_an_ambiguous_key() -> None:
    target = ColumnTarget("association", "0-2", 908, "HUBSPOT_DEFINED", match_property="domain")
    rows = [(2, ["twin.example"]), (3, ["https://www.twin.example/"]), (4, ["bad"])]
    resolution = {
        "tables": {"0-2:domain": {"twin.example": [["1", "North", True], ["2", "South", True]]}}
    }
    convert = key_converter(resolution, "0-2", "domain")

    assert wanted_keys([target], rows) == {"0-2:domain": {"twin.example"}}
    with pytest.raises(CellProblem) as problem:
        convert("twin.example")
    assert problem.value.code == "ambiguous"
    assert problem.value.params["candidates"] == "North (#1), South (#2)"
    resolution["picks"] = {"0-2:domain": {"twin.example": "2"}}
    assert convert("www.twin.example") == ["2"]


def test_values_correct_what_the_header_proposes() -> None:
    labels = [
        AssociationLabel("0-1", "HUBSPOT_DEFINED", 906, None),
        AssociationLabel("0-2", "HUBSPOT_DEFINED", 908, None),
    ]
    proposal = propose_mapping(
        ["Client email", "contact_ids", "Website"],
        [],
        labels,
        values=[["51234500003"], ["a@example.org"], ["Jane"]],
    )

    assert [t.match_property if t else "-" for t in proposal] == [None, "email", "domain"]
    assert proposal[0] is not None and proposal[0].name == "0-1"
