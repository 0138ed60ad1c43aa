"""Value maps: which of a column's values need mapping, and the option each likely means."""

from __future__ import annotations

import pytest

from appointments.intake.values import propose_option, unmatched_values
from tests.intake_fixtures import PROPERTIES

BY_NAME = {prop.name: prop for prop in PROPERTIES}
STATUS = BY_NAME["hs_appointment_status"]
CHANNELS = BY_NAME["visit_channels"]


@pytest.mark.parametrize(
    ("word", "option"),
    [
        ("Confirmed", "scheduled"),
        ("Booked", "scheduled"),
        ("Réservé", "scheduled"),
        ("No-show", "no_show"),
        ("noshow", "no_show"),
        ("Cancelled", "canceled"),
        ("Annulé", "canceled"),
        ("Done", "completed"),
        ("Complete", "completed"),
        ("Schedulled", "scheduled"),
        ("Waiting list", None),
    ],
)
def test_it_proposes_the_option_a_word_most_likely_means(word: str, option: str | None) -> None:
    assert propose_option(STATUS, word) == option


def test_only_values_that_are_no_option_need_mapping() -> None:
    distinct = [("Confirmed", 12), ("scheduled", 4), ("No show", 2), (" BOOKED ", 1)]
    assert unmatched_values(STATUS, distinct) == [("Confirmed", 12), (" BOOKED ", 1)]


def test_a_multi_select_is_mapped_part_by_part() -> None:
    distinct = [("In person;Zoom", 3), ("Zoom", 2), ("Phone; Walk-in", 1)]
    assert unmatched_values(CHANNELS, distinct) == [("Zoom", 5), ("Walk-in", 1)]
