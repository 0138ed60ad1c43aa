"""Validating cells against the demo portal's properties: exact strings sent, exact errors."""

from __future__ import annotations

import datetime
from typing import Any
from zoneinfo import ZoneInfo

from appointments.intake.cells import FORMULA_WITHOUT_VALUE
from appointments.intake.headers import propose_mapping
from appointments.intake.mapping import ColumnTarget
from appointments.intake.rows import CellError, ValidatedRow
from appointments.intake.validation import RowValidator
from tests.intake_fixtures import LABELS, PARIS, PROPERTIES


def check(row: dict[str, object], *, timezone: ZoneInfo = PARIS, **options: Any) -> ValidatedRow:
    """Validate one row given as header -> cell, with a name filled in unless given."""
    cells = {"Appointment name": "Visit", **row}
    headers = list(cells)
    validator = RowValidator(
        headers=headers,
        mapping=propose_mapping(headers, PROPERTIES, LABELS),
        properties=PROPERTIES,
        timezone=timezone,
        **options,
    )
    return validator.validate(7, list(cells.values()))


def sent(header: str, value: object, **options: Any) -> str | None:
    result = check({header: value}, **options)
    assert result.errors == [], result.errors
    name = propose_mapping([header], PROPERTIES, LABELS)[0]
    assert name is not None
    return result.properties.get(name.name)


def error(header: str, value: object, **options: Any) -> CellError:
    result = check({header: value}, **options)
    assert len(result.errors) == 1, result.errors
    return result.errors[0]


def test_it_sends_strings_trimmed_and_refuses_overlong_ones() -> None:
    assert sent("Visit notes", "  Bring the form \n") == "Bring the form"
    assert sent("Visit notes", 12.0) == "12"
    assert sent("External booking reference", "00123") == "00123"
    too_long = error("Visit notes", "x" * 65_537)
    assert too_long.code == "too_long"
    assert too_long.message == (
        f'Row 7, column "Visit notes": "{"x" * 79}…" is 65,537 characters long; HubSpot accepts '
        "at most 65,536. Shorten it."
    )
    assert sent("Visit notes", "x" * 65_536) == "x" * 65_536


def test_it_sends_numbers_with_a_dot() -> None:
    assert sent("Party size", "12") == "12"
    assert sent("Party size", 3.0) == "3"
    assert sent("Party size", 2.5) == "2.5"
    assert sent("Party size", "1,5") == "1.5"
    assert sent("Party size", "1 234,5") == "1234.5"
    assert sent("Party size", "1.234,5") == "1234.5"
    assert sent("Party size", "1,234.5") == "1234.5"
    assert sent("Party size", "1,500", decimal_comma=True) == "1.500"
    assert sent("Party size", "1,500", decimal_comma=False) == "1500"
    assert sent("Party size", "1.500", decimal_comma=True) == "1500"
    assert sent("Party size", 1e20) == "100000000000000000000"


def test_it_refuses_what_is_not_a_number() -> None:
    wrong = error("Party size", "two")
    assert (wrong.code, wrong.value) == ("invalid_number", "two")
    assert wrong.message == (
        'Row 7, column "Party size": "two" is not a number. Use digits with a decimal point, '
        "e.g. 12.5."
    )
    assert error("Party size", "1,500").message == (
        'Row 7, column "Party size": "1,500" could be a decimal or a number with a thousands '
        "separator. Write it without the thousands separator (e.g. 1500 or 1.5)."
    )
    assert error("Party size", True).code == "invalid_number"
    assert error("Party size", float("nan")).code == "invalid_number"


def test_it_sends_bools_as_true_or_false() -> None:
    expected = {"true": "true", "No": "false", "OUI": "true", "non": "false", "1": "true"}
    for given, value in expected.items():
        assert sent("Interpreter needed", given) == value
    assert sent("Interpreter needed", True) == "true"
    assert sent("Interpreter needed", 0.0) == "false"
    assert error("Interpreter needed", "maybe").message == (
        'Row 7, column "Interpreter needed": "maybe" is not a yes/no value. Use true/false, '
        "yes/no, oui/non or 1/0."
    )


def test_it_sends_enumeration_option_values() -> None:
    assert sent("Status", "scheduled") == "scheduled"
    assert sent("Status", "NO SHOW") == "no_show"
    assert sent("Status", " no_show ") == "no_show"
    assert sent("Visit channels", "Video; in person;video") == "video;in_person"
    wrong = error("Status", "Planned")
    assert wrong.code == "invalid_option"
    assert wrong.message == (
        'Row 7, column "Status": "Planned" is not an option of this property. Use one of: '
        "Scheduled, Completed, Canceled, No show."
    )
    assert error("Visit channels", "Video;Fax").message == (
        'Row 7, column "Visit channels": "Video;Fax" contains “Fax”, which is not an option of '
        "this property. Use one of: In person, Video, Phone."
    )


def test_it_sends_dates_as_iso() -> None:
    assert sent("Follow-up date", "2026-03-25") == "2026-03-25"
    assert sent("Follow-up date", "25/03/2026") == "2026-03-25"
    assert sent("Follow-up date", "25.03.2026") == "2026-03-25"
    assert sent("Follow-up date", "2026/03/25") == "2026-03-25"
    assert sent("Follow-up date", datetime.date(2026, 3, 25)) == "2026-03-25"
    assert sent("Follow-up date", datetime.datetime(2026, 3, 25)) == "2026-03-25"
    assert sent("Follow-up date", 46106.0) == "2026-03-25"
    assert sent("Follow-up date", 44644.0, date1904=True) == "2026-03-25"
    assert error("Follow-up date", "31/02/2026").message == (
        'Row 7, column "Follow-up date": "31/02/2026" is not a date. Use YYYY-MM-DD.'
    )
    assert error("Follow-up date", "2026-03-25 10:00").code == "date_with_time"


def test_it_sends_datetimes_in_utc() -> None:
    assert sent("Start time", "2026-03-14 10:00") == "2026-03-14T09:00:00Z"
    assert sent("Start time", "2026-07-14T10:00") == "2026-07-14T08:00:00Z"
    assert sent("Start time", "2026-07-14T10:00:00-04:00") == "2026-07-14T14:00:00Z"
    assert sent("Start time", "2026-07-14T10:00:00Z") == "2026-07-14T10:00:00Z"
    assert sent("Start time", "14/07/2026 10h30") == "2026-07-14T08:30:00Z"
    assert sent("Start time", "07/14/2026 2:30 PM") == "2026-07-14T12:30:00Z"
    # A one-digit hour after an ISO date, as spreadsheets often write it.
    assert sent("Start time", "2026-11-01 8:15") == "2026-11-01T07:15:00Z"
    assert sent("Start time", "2026-7-4 9:05") == "2026-07-04T07:05:00Z"
    assert sent("Start time", datetime.datetime(2026, 7, 14, 10, 0)) == "2026-07-14T08:00:00Z"
    assert sent("Start time", datetime.date(2026, 7, 14)) == "2026-07-13T22:00:00Z"
    assert sent("Start time", "2026-07-14 10:00", timezone=ZoneInfo("America/New_York")) == (
        "2026-07-14T14:00:00Z"
    )


def test_it_reads_excel_serial_numbers_in_both_systems() -> None:
    assert sent("Start time", 46095.4375) == "2026-03-14T09:30:00Z"
    assert sent("Start time", 44633.4375, date1904=True) == "2026-03-14T09:30:00Z"
    # Float noise from the file is rounded to the second, not truncated to 10:29:59.
    assert sent("Start time", 46095.43749999999) == "2026-03-14T09:30:00Z"
    assert error("Start time", 12.5).code == "invalid_datetime"


def test_it_refuses_what_is_not_a_datetime() -> None:
    wrong = error("Start time", "31/02/2026 10:00")
    assert wrong == CellError(
        column="Start time",
        value="31/02/2026 10:00",
        code="invalid_datetime",
        message='Row 7, column "Start time": "31/02/2026 10:00" is not a date and time. '
        "Use YYYY-MM-DD HH:MM.",
    )
    assert error("Start time", "tomorrow").code == "invalid_datetime"
    assert error("Start time", datetime.time(10, 0)).code == "invalid_datetime"
    assert error("Start time", "13/14/2026 25:00").code == "invalid_datetime"
    assert error("Start time", "2026-11-01 8:15+01:00").code == "invalid_datetime"
    assert error("Start time", "2026-13-01 8:15").code == "invalid_datetime"


def test_it_refuses_local_times_skipped_or_repeated_by_daylight_saving() -> None:
    gap = error("Start time", "2026-03-29 02:30")
    assert gap.code == "nonexistent_time"
    assert gap.message == (
        'Row 7, column "Start time": "2026-03-29 02:30" does not exist in Europe/Paris: the '
        "clocks skip that hour when daylight saving time starts. Use a time outside the skipped "
        "hour, or add an explicit UTC offset."
    )
    overlap = error("Start time", datetime.datetime(2026, 10, 25, 2, 30))
    assert overlap.code == "ambiguous_time"
    assert overlap.message == (
        'Row 7, column "Start time": "2026-10-25 02:30" happens twice in Europe/Paris, when the '
        "clocks go back. Add the UTC offset to say which one: +02:00 for the first, +01:00 for "
        "the second."
    )
    assert sent("Start time", "2026-10-25T02:30+02:00") == "2026-10-25T00:30:00Z"
    assert sent("Start time", "2026-03-29 02:30", timezone=ZoneInfo("UTC")) == (
        "2026-03-29T02:30:00Z"
    )


def test_it_asks_for_the_day_month_order_only_when_a_value_reads_both_ways() -> None:
    assert sent("Start time", "25/03/2026 09:00") == "2026-03-25T08:00:00Z"
    assert sent("Start time", "03/25/2026 09:00") == "2026-03-25T08:00:00Z"
    assert sent("Start time", "04/04/2026 09:00") == "2026-04-04T07:00:00Z"
    assert error("Start time", "03/04/2026 09:00").message == (
        'Row 7, column "Start time": "03/04/2026 09:00" could be day 3 of month 4 or day 4 of '
        "month 3. Choose the day/month order for this column, or use YYYY-MM-DD."
    )
    assert sent("Start time", "03/04/2026 09:00", date_order="DMY") == "2026-04-03T07:00:00Z"
    assert sent("Start time", "03/04/2026 09:00", date_order="MDY") == "2026-03-04T08:00:00Z"
    assert sent("Start time", "03/04/2026 09:00", column_date_orders={1: "MDY"}) == (
        "2026-03-04T08:00:00Z"
    )


def test_it_builds_associations_from_record_ids() -> None:
    result = check({"contact_ids": "51234.0; 51235;51234", "contact_ids (Attendee)": 77.0})
    assert result.errors == []
    assert result.associations == [
        ["51234", "HUBSPOT_DEFINED", 906],
        ["51235", "HUBSPOT_DEFINED", 906],
        ["77", "USER_DEFINED", 37],
    ]
    assert result.properties == {"hs_appointment_name": "Visit"}


def test_it_refuses_inexact_record_ids() -> None:
    for value in ("12a", "5.1234E+4", "51234.5", "-3", "0", 51234.5, 2.0**60, True):
        assert error("deal_ids", value).code == "invalid_record_id", value
    assert error("deal_ids", "12;x").message == (
        'Row 7, column "deal_ids": "12;x" is not a list of record IDs. Use each record\'s '
        "numeric HubSpot ID, separated by “;”."
    )


def test_it_requires_the_appointment_name() -> None:
    result = check({"Appointment name": " ", "Status": "scheduled"})
    assert result.properties == {"hs_appointment_status": "scheduled"}
    assert result.errors == [
        CellError(
            column="Appointment name",
            value="",
            code="required",
            message='Row 7, column "Appointment name": a value is required. Fill it in.',
        )
    ]
    validator = RowValidator(
        headers=["Status"],
        mapping=[ColumnTarget("property", "hs_appointment_status")],
        properties=PROPERTIES,
        timezone=PARIS,
    )
    assert validator.validate(3, ["scheduled"]).errors == [
        CellError(
            column="Appointment name",
            value="",
            code="required",
            message='Row 3: "Appointment name" is required, and no column gives it. Add or map '
            "a column for it.",
        )
    ]


def test_it_leaves_empty_cells_out() -> None:
    result = check({"Status": "", "Party size": None, "Start time": "  "})
    assert result.valid
    assert result.properties == {"hs_appointment_name": "Visit"}
    # Headers: Appointment name, Status, Party size, Start time.
    assert result.raw == ["Visit", "", "", "  "]


def test_it_refuses_read_only_and_unknown_properties_mapped_by_hand() -> None:
    validator = RowValidator(
        headers=["Appointment name", "Created", "Mood"],
        mapping=[
            ColumnTarget("property", "hs_appointment_name"),
            ColumnTarget("property", "hs_createdate"),
            ColumnTarget("property", "mood"),
        ],
        properties=PROPERTIES,
        timezone=PARIS,
    )
    result = validator.validate(4, ["Visit", 123.0, "happy"])
    assert [(e.code, e.message) for e in result.errors] == [
        (
            "read_only",
            'Row 4, column "Created": "123" cannot be set: HubSpot calculates this property. '
            "Leave the column out of the mapping.",
        ),
        (
            "unknown_property",
            'Row 4, column "Mood": "happy" cannot be sent: the portal has no property “mood”. '
            "Map the column to another property.",
        ),
    ]
    assert validator.validate(5, ["Visit", "", ""]).valid


def test_a_record_id_column_names_the_record_a_row_updates() -> None:
    """``hs_object_id`` is read-only, yet its column names the appointment a row updates
    (services.updating): one record ID, and the row then needs no required value."""
    validator = RowValidator(
        headers=["Record ID", "Appointment status"],
        mapping=[ColumnTarget("property", "hs_object_id"), None],
        properties=PROPERTIES,
        timezone=PARIS,
    )
    updates = validator.validate(2, [51234.0, "Canceled"])
    assert updates.valid and updates.properties == {"hs_object_id": "51234"}
    # Several IDs name no one record.
    assert "invalid_record_id" in {e.code for e in validator.validate(3, ["12;13", ""]).errors}
    assert "required" in {e.code for e in validator.validate(4, ["", "Canceled"]).errors}


def test_it_flags_an_end_before_its_start() -> None:
    result = check({"Start time": "2026-03-14 10:00", "End time": "2026-03-14T08:30:00Z"})
    assert result.errors == [
        CellError(
            column="End time",
            value="2026-03-14T08:30:00Z",
            code="end_before_start",
            message='Row 7, column "End time": "2026-03-14T08:30:00Z" is before the start '
            "(“2026-03-14 10:00”). Put the end after the start.",
        )
    ]
    assert check({"Start time": "2026-03-14 10:00", "End time": "2026-03-14 10:00"}).valid


def test_it_reports_a_formula_without_a_saved_value() -> None:
    assert error("Party size", FORMULA_WITHOUT_VALUE).message == (
        'Row 7, column "Party size": the formula in this cell was saved without its result. '
        "Type the value with “Fix”, or open the file in your spreadsheet program, let it "
        "calculate, save it and upload it again."
    )


def test_it_keeps_every_raw_cell_including_ignored_and_repeated_columns() -> None:
    headers = ["Appointment name", "Comments", "", "Comments"]
    validator = RowValidator(
        headers=headers,
        mapping=propose_mapping(headers, PROPERTIES, LABELS),
        properties=PROPERTIES,
        timezone=PARIS,
    )
    result = validator.validate(2, ["Visit", "a", 3.0, datetime.datetime(2026, 1, 2, 3, 4, 5)])
    assert result.raw == ["Visit", "a", "3", "2026-01-02 03:04:05"]


def test_it_shows_booleans_and_numbers_apart_in_raw_text() -> None:
    headers = ["Appointment name", "Party size", "Interpreter needed"]
    validator = RowValidator(
        headers=headers,
        mapping=propose_mapping(headers, PROPERTIES, LABELS),
        properties=PROPERTIES,
        timezone=PARIS,
    )
    first = validator.validate(2, ["A", 1.0, True])
    second = validator.validate(3, ["B", 1, False])
    third = validator.validate(4, ["C", 0.0, 1.0])
    assert [row.raw for row in (first, second, third)] == [
        ["A", "1", "TRUE"],
        ["B", "1", "FALSE"],
        ["C", "0", "1"],
    ]
    assert third.properties == {
        "hs_appointment_name": "C",
        "party_size": "0",
        "interpreter_needed": "true",
    }


def test_it_refuses_datetimes_pushed_off_the_calendar_by_their_offset() -> None:
    # Paris was 9 min 21 s ahead of UTC then (local mean time): 00:05 falls before year 1.
    assert error("Start time", "0001-01-01 00:05").code == "invalid_datetime"
    assert error("Start time", datetime.date.min).code == "invalid_datetime"
    assert sent("Start time", "9999-12-31 23:59") == "9999-12-31T22:59:00Z"
