"""The mapping screen's per-column choices, applied to every row before it is checked: value
maps for enumerations, date and time from two columns (or a fixed time), start + duration,
and two columns for one property."""

from __future__ import annotations

import datetime

from appointments.intake.mapping import ColumnTarget, mapping_to_json, target_from_json
from appointments.intake.readers import Table
from appointments.intake.validation import RowValidator, validate_table
from tests.intake_fixtures import PARIS, PROPERTIES

NAME = ColumnTarget("property", "hs_appointment_name")
START = ColumnTarget("property", "hs_appointment_start")
STATUS = ColumnTarget("property", "hs_appointment_status")


def validator(headers: list[str], mapping: list[ColumnTarget | None]) -> RowValidator:
    return RowValidator(headers=headers, mapping=mapping, properties=PROPERTIES, timezone=PARIS)


def table(headers: list[str], *rows: list[object]) -> Table:
    numbered = [(n, list(cells)) for n, cells in enumerate(rows, start=2)]
    return Table(headers, numbered, [], None, "utf-8", ",", 1)


def test_a_value_map_sends_the_files_words_as_options_on_every_row() -> None:
    status = ColumnTarget(
        "property",
        "hs_appointment_status",
        values=(("Confirmed", "scheduled"), ("Booked", "scheduled"), ("No-show", "no_show")),
    )
    rows = validate_table(
        table(
            ["Title", "Status"],
            ["a", "Confirmed"],
            ["b", " booked "],
            ["c", "No-show"],
            ["d", "Lost"],
        ),
        mapping=[NAME, status],
        properties=PROPERTIES,
        timezone=PARIS,
    )
    assert [row.properties.get("hs_appointment_status") for row in rows] == [
        "scheduled",
        "scheduled",
        "no_show",
        None,
    ]
    assert [e.code for e in rows[3].errors] == ["invalid_option"]
    # Without the map, the same words are refused.
    plain = validator(["Title", "Status"], [NAME, STATUS]).validate(2, ["a", "Confirmed"])
    assert [e.code for e in plain.errors] == ["invalid_option"]


def test_a_value_map_naming_no_option_of_the_property_is_left_out() -> None:
    status = ColumnTarget("property", "hs_appointment_status", values=(("Confirmed", "gone"),))
    row = validator(["Title", "Status"], [NAME, status]).validate(2, ["a", "Confirmed"])
    assert [e.code for e in row.errors] == ["invalid_option"]


def test_date_and_time_from_two_columns_are_read_in_the_batchs_zone() -> None:
    start = ColumnTarget("property", "hs_appointment_start", time_column=2)
    check = validator(["Title", "Date", "Time"], [NAME, start, None])
    assert check.validate(2, ["a", "2026-12-10", "09:00"]).properties["hs_appointment_start"] == (
        "2026-12-10T08:00:00Z"
    )
    assert (
        check.validate(3, ["a", "13/07/2026", "2:30 PM"]).properties["hs_appointment_start"]
        == "2026-07-13T12:30:00Z"
    )
    # Workbook cells: a date and a time.
    typed = check.validate(4, ["a", datetime.date(2026, 12, 10), datetime.time(9, 15)])
    assert typed.properties["hs_appointment_start"] == "2026-12-10T08:15:00Z"
    # The raw cells stay as the file had them.
    assert typed.raw == ["a", "2026-12-10", "09:15"]


def test_a_bad_or_missing_time_is_the_time_columns_error() -> None:
    start = ColumnTarget("property", "hs_appointment_start", time_column=2)
    check = validator(["Title", "Date", "Time"], [NAME, start, None])
    bad = check.validate(2, ["a", "2026-12-10", "nine"])
    assert [(e.column, e.code) for e in bad.errors] == [("Time", "invalid_time")]
    assert "hs_appointment_start" not in bad.properties
    missing = check.validate(3, ["a", "2026-12-10", ""])
    assert [(e.column, e.code) for e in missing.errors] == [("Time", "missing_time")]
    assert "Row 3" in missing.errors[0].message
    lonely = check.validate(5, ["a", "", "09:00"])
    assert [(e.column, e.code) for e in lonely.errors] == [("Date", "time_without_date")]
    assert lonely.errors[0].message == (
        'Row 5, column "Date": the time “09:00” has no date. Fill in the date.'
    )
    # A date that already has a time of day is not silently given a second one.
    twice = check.validate(4, ["a", "2026-12-10 10:00", "09:00"])
    assert [(e.column, e.code) for e in twice.errors] == [("Date", "date_with_time")]


def test_split_date_and_time_keep_the_daylight_saving_rules() -> None:
    start = ColumnTarget("property", "hs_appointment_start", time_column=2)
    check = validator(["Title", "Date", "Time"], [NAME, start, None])
    skipped = check.validate(2, ["a", "2026-03-29", "02:30"])
    assert [e.code for e in skipped.errors] == ["nonexistent_time"]
    twice = check.validate(3, ["a", "2026-10-25", "02:30"])
    assert [e.code for e in twice.errors] == ["ambiguous_time"]


def test_a_date_only_column_with_a_fixed_time() -> None:
    start = ColumnTarget("property", "hs_appointment_start", fixed_time="08:30")
    row = validator(["Title", "Date"], [NAME, start]).validate(2, ["a", "2026-12-10"])
    assert row.errors == []
    assert row.properties["hs_appointment_start"] == "2026-12-10T07:30:00Z"


def test_start_and_a_duration_in_minutes_give_the_end() -> None:
    end = ColumnTarget("property", "hs_appointment_end", minutes_after="hs_appointment_start")
    check = validator(["Title", "Start", "Minutes"], [NAME, START, end])
    row = check.validate(2, ["a", "2026-12-10 09:00", "45"])
    assert row.errors == []
    assert row.properties["hs_appointment_end"] == "2026-12-10T08:45:00Z"
    # Across the night the clocks go back: 3 hours of elapsed time, not of wall clock.
    night = check.validate(3, ["a", "2026-10-25 01:00", "180"])
    assert night.properties["hs_appointment_end"] == "2026-10-25T02:00:00Z"
    bad = check.validate(4, ["a", "2026-12-10 09:00", "-5"])
    assert [(e.column, e.code) for e in bad.errors] == [("Minutes", "invalid_minutes")]


def test_two_columns_for_one_property_never_lose_a_cell() -> None:
    second = ColumnTarget("property", "hs_appointment_start", fallback=True)
    headers = ["Title", "hs_appointment_start", "hs_appointment_start"]
    check = validator(headers, [NAME, START, second])
    # The winner is blank: the other column's cell is used.
    row = check.validate(2, ["a", "", "2026-12-10 09:00"])
    assert row.properties["hs_appointment_start"] == "2026-12-10T08:00:00Z"
    # Both filled: the chosen column wins, as the person said.
    row = check.validate(3, ["a", "2026-12-11 09:00", "2026-12-10 09:00"])
    assert row.properties["hs_appointment_start"] == "2026-12-11T08:00:00Z"
    # Without a winner chosen, disagreeing cells are an error, never one silently dropped.
    both = validator(headers, [NAME, START, START]).validate(
        4, ["a", "2026-12-11 09:00", "2026-12-10 09:00"]
    )
    assert [e.code for e in both.errors] == ["conflicting_columns"]


def test_the_choices_survive_storing_and_old_mappings_load() -> None:
    target = ColumnTarget(
        "property",
        "hs_appointment_start",
        values=(("x", "y"),),
        time_column=3,
        fixed_time=None,
        minutes_after=None,
        fallback=True,
    )
    assert target_from_json(mapping_to_json([target])[0]) == target
    old = {"kind": "property", "name": "hs_appointment_start", "association_type_id": None}
    assert target_from_json(old) == START
    assert mapping_to_json([START])[0] == {
        "kind": "property",
        "name": "hs_appointment_start",
        "association_type_id": None,
        "association_category": None,
    }


def test_the_column_pass_and_the_row_pass_agree_with_choices() -> None:
    start = ColumnTarget("property", "hs_appointment_start", time_column=2)
    rows = [(n, ["a", "2026-12-10", f"{n:02d}:00"]) for n in range(2, 12)]
    check = validator(["Title", "Date", "Time"], [NAME, start, None])
    assert check.validate_rows(rows) == [check.validate(n, cells) for n, cells in rows]
