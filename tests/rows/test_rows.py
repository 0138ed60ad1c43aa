"""Fixing, excluding and including rows of a batch in place, over HTTP against the sandbox."""

from __future__ import annotations

import io
import re
from typing import Any

import openpyxl
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from appointments.models import Batch, BatchRow, Portal
from sandbox.seed import DEMO_CONTACT_IDS
from tests.intake_fixtures import CORPUS, sent_properties
from tests.web import (
    batch_with_invalid_row,
    confirm,
    creates,
    csv_file,
    csv_upload,
    rows_csv,
    two_rows,
    upload,
    upload_and_confirm,
)


def test_it_fixes_an_invalid_cell_inline_and_the_row_becomes_ready(
    logged_client: Client, portal: Portal
) -> None:
    batch = batch_with_invalid_row(logged_client, portal)
    url = reverse("appointments:row-edit", args=[batch.pk, 3])
    htmx = {"HX-Request": "true"}

    form = logged_client.get(url, headers=htmx)
    assert form.text.strip().startswith('<tr id="row-3"')
    # The status is an enumeration: a select of its options, the file's text kept first.
    assert '<option value="Tentative" selected>Tentative' in form.text
    assert '<option value="Scheduled">Scheduled</option>' in form.text
    still_wrong = logged_client.post(url, {"c3": "Maybe"}, headers=htmx)
    fixed = logged_client.post(url, {"c3": "scheduled"}, headers=htmx)

    assert still_wrong.status_code == 200
    assert '<option value="Maybe" selected>Maybe' in still_wrong.text
    assert "Row 3" in still_wrong.text and "Maybe" in still_wrong.text
    assert fixed.status_code == 200
    assert fixed["HX-Trigger"] == "rows-changed"
    assert "<html" not in fixed.text and "Ready" in fixed.text
    row = batch.rows.get(row_number=3)
    assert row.state == BatchRow.State.READY
    assert row.errors == []
    assert sent_properties(row)["hs_appointment_status"] == "scheduled"
    assert sent_properties(row)["hs_appointment_start"] == "2026-12-04T08:00:00Z"
    assert row.raw[batch.headers.index("Appointment status")] == "scheduled"


def test_a_fix_keeps_the_cells_the_user_left_alone_exactly(
    logged_client: Client, portal: Portal
) -> None:
    # A line break cannot survive a one-line input: the form posts the cell without it.
    lines = two_rows()
    lines[2] = (
        f'Follow-up,2026-12-04 09:00,2026-12-04 09:30,Tentative,"line1\nline2",'
        f"{DEMO_CONTACT_IDS[1]}"
    )
    upload(logged_client, portal, csv_file(lines))
    confirm(logged_client, {"col_4": "p:visit_notes"})
    batch = Batch.objects.get()
    url = reverse("appointments:row-edit", args=[batch.pk, 3])

    # The textarea posts the line break back as CRLF.
    posted = {"c0": "Follow-up", "c3": "scheduled", "c4": "line1\r\nline2"}
    logged_client.post(url, posted, headers={"HX-Request": "true"})

    row = batch.rows.get(row_number=3)
    assert row.state == BatchRow.State.READY
    assert row.raw[4] == "line1\nline2"
    assert sent_properties(row)["visit_notes"] == "line1\nline2"

    # Joining the lines is an edit like any other.
    logged_client.post(url, {**posted, "c4": "line1line2"}, headers={"HX-Request": "true"})
    row = batch.rows.get(row_number=3)
    assert row.raw[4] == sent_properties(row)["visit_notes"] == "line1line2"


def test_a_fix_keeps_a_date_the_workbook_gave_as_a_serial_number(
    logged_client: Client, portal: Portal
) -> None:
    # A date cell formatted as a plain number: stored as the text "46359.4375", which alone
    # is no date; fixing another cell of the row must not make it one.
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Appointment name", "Start time", "End time", "Appointment status"])
    sheet.append(["Serial start", 46359.4375, 46359.46875, "Tentative"])
    buffer = io.BytesIO()
    book.save(buffer)
    file = SimpleUploadedFile("serial.xlsx", buffer.getvalue())
    upload(logged_client, portal, file)
    confirm(logged_client)
    batch = Batch.objects.get()
    before = batch.rows.get(row_number=2)
    # 46359.4375 is 2026-12-03 10:30 (days since 1899-12-30), in Paris UTC+1.
    assert before.raw[1:3] == ["46359.4375", "46359.46875"]
    assert sent_properties(before)["hs_appointment_start"] == "2026-12-03T09:30:00Z"
    assert before.state == BatchRow.State.INVALID

    url = reverse("appointments:row-edit", args=[batch.pk, 2])
    # The form says which date and time each number was read as.
    form = logged_client.get(url).text
    assert "Read as 2026-12-03 10:30 (Europe/Paris)" in form
    assert "Read as 2026-12-03 11:15 (Europe/Paris)" in form
    assert form.count("Read as") == 2
    posted = {"c0": "Serial start", "c1": "46359.4375", "c2": "46359.46875", "c3": "Scheduled"}
    logged_client.post(url, posted, headers={"HX-Request": "true"})

    row = batch.rows.get(row_number=2)
    assert (row.state, row.errors) == (BatchRow.State.READY, [])
    assert sent_properties(row) == {
        "hs_appointment_name": "Serial start",
        "hs_appointment_start": "2026-12-03T09:30:00Z",
        "hs_appointment_end": "2026-12-03T10:15:00Z",
        "hs_appointment_status": "scheduled",
    }
    assert row.raw == ["Serial start", "46359.4375", "46359.46875", "Scheduled"]

    # A number typed in place of a serial number is read the same way (46360 = the next day).
    logged_client.post(url, {**posted, "c2": "46360.46875"}, headers={"HX-Request": "true"})
    row = batch.rows.get(row_number=2)
    assert sent_properties(row)["hs_appointment_end"] == "2026-12-04T10:15:00Z"
    assert row.raw[2] == "46360.46875"

    # Typing an end before that start is judged against the start as it was found.
    posted["c2"] = "2026-12-03 08:00"
    logged_client.post(url, posted, headers={"HX-Request": "true"})
    [error] = batch.rows.get(row_number=2).errors
    assert error["code"] == "end_before_start"
    assert "2026-12-03 10:30+01:00" in error["message"]


def test_a_fix_never_lets_a_nul_through_as_its_replacement_character(
    logged_client: Client, portal: Portal
) -> None:
    lines = two_rows()
    lines[1] = lines[1].replace("Intake visit", "Intake\x00visit")
    upload(logged_client, portal, csv_file(lines))
    confirm(logged_client, {"col_4": "p:visit_notes"})
    batch = Batch.objects.get()
    url = reverse("appointments:row-edit", args=[batch.pk, 2])
    assert 'value="Intake\ufffdvisit"' in logged_client.get(url).text
    # The results table names the row by the text given, though it is not a valid name.
    table = logged_client.get(reverse("appointments:batch-detail", args=[batch.pk])).text
    assert "<td>Intake\ufffdvisit</td>" in table
    shown = {
        "c0": "Intake\ufffdvisit",
        "c1": "2026-12-03 14:00",
        "c2": "2026-12-03 14:45",
        "c3": "Scheduled",
        "c4": "Bring forms",
        "c5": DEMO_CONTACT_IDS[0],
    }

    # Saved as shown, or with another cell changed: the NUL is still there.
    logged_client.post(url, shown)
    logged_client.post(url, {**shown, "c4": "Other note"})
    row = batch.rows.get(row_number=2)
    assert row.state == BatchRow.State.INVALID
    assert [(e["column"], e["code"]) for e in row.errors] == [("Appointment name", "nul_character")]
    assert row.raw[4] == "Other note"

    # Edited, but the stand-in for the NUL kept: still the NUL.
    logged_client.post(url, {**shown, "c0": "Intake\ufffdvisit!"})
    row = batch.rows.get(row_number=2)
    assert [(e["code"], e["value"]) for e in row.errors] == [
        ("nul_character", "Intake\ufffdvisit!")
    ]

    logged_client.post(url, {**shown, "c0": "Intake visit"})
    row = batch.rows.get(row_number=2)
    assert (row.state, row.errors) == (BatchRow.State.READY, [])
    assert sent_properties(row)["hs_appointment_name"] == "Intake visit"


def test_a_formula_saved_without_its_value_stays_an_error_until_a_value_is_typed(
    logged_client: Client, portal: Portal
) -> None:
    data = (CORPUS / "formulas_unsaved.xlsx").read_bytes()
    upload(logged_client, portal, SimpleUploadedFile("formulas.xlsx", data))
    confirm(logged_client)
    batch = Batch.objects.get()
    url = reverse("appointments:row-edit", args=[batch.pk, 2])
    posted = {"c0": "Group visit", "c1": "", "c2": "plain"}

    logged_client.post(url, posted)  # saved as shown
    logged_client.post(url, {**posted, "c2": "other"})  # another cell fixed
    row = batch.rows.get(row_number=2)
    assert [(e["column"], e["code"]) for e in row.errors] == [
        ("Party size", "formula_without_value")
    ]

    logged_client.post(url, {**posted, "c1": "5"})
    row = batch.rows.get(row_number=2)
    assert (row.state, sent_properties(row)["party_size"]) == (BatchRow.State.READY, "5")


def test_it_edits_multi_line_text_in_a_textarea_and_keeps_its_line_breaks(
    logged_client: Client, portal: Portal
) -> None:
    lines = two_rows()
    lines[2] = lines[2].replace(",,", ',"first\r\nsecond",')
    upload(logged_client, portal, csv_file(lines))
    confirm(logged_client, {"col_4": "p:visit_notes"})
    batch = Batch.objects.get()
    url = reverse("appointments:row-edit", args=[batch.pk, 3])
    form = logged_client.get(url).text
    assert re.search(r'<textarea id="row-3-c4" name="c4"[^>]*>\nfirst\r?\nsecond</textarea>', form)
    posted = {
        "c0": "Follow-up",
        "c1": "2026-12-04 09:00",
        "c2": "2026-12-04 09:30",
        "c3": "Scheduled",
        "c5": DEMO_CONTACT_IDS[1],
    }

    # A browser posts the textarea's line breaks as CRLF: left alone, the cell is as stored.
    logged_client.post(url, {**posted, "c4": "first\r\nsecond"})
    row = batch.rows.get(row_number=3)
    assert row.state == BatchRow.State.READY
    assert row.raw[4] == "first\r\nsecond"

    logged_client.post(url, {**posted, "c4": "first\r\nsecond\r\nthird"})
    row = batch.rows.get(row_number=3)
    assert row.raw[4] == "first\nsecond\nthird"
    assert sent_properties(row)["visit_notes"] == "first\nsecond\nthird"


def test_the_fix_form_says_which_of_a_repeated_hour_a_time_was_read_as(
    logged_client: Client, portal: Portal
) -> None:
    # 02:30 happens twice in Paris on 2026-10-25; the offsets say which.
    lines = [
        "Appointment name,Start time,End time,Appointment status",
        "Night shift,2026-10-25T02:30:00+01:00,2026-10-25T02:30:00+02:00,Scheduled",
    ]
    upload(logged_client, portal, csv_file(lines))
    confirm(logged_client)
    batch = Batch.objects.get()

    form = logged_client.get(reverse("appointments:row-edit", args=[batch.pk, 2])).text

    assert "Read as 2026-10-25 02:30 UTC+01:00 (Europe/Paris)" in form
    assert "Read as 2026-10-25 02:30 UTC+02:00 (Europe/Paris)" in form


def test_it_offers_the_fix_as_a_page_without_javascript(
    logged_client: Client, portal: Portal
) -> None:
    batch = batch_with_invalid_row(logged_client, portal)
    url = reverse("appointments:row-edit", args=[batch.pk, 3])

    page = logged_client.get(url)
    wrong = logged_client.post(url, {"c3": "Maybe"})
    done = logged_client.post(url, {"c3": "Completed"})

    assert "<html" in page.text and 'name="c3"' in page.text
    assert wrong.status_code == 200 and "<html" in wrong.text
    assert done.status_code == 302
    assert done["Location"].startswith(reverse("appointments:batch-detail", args=[batch.pk]))
    assert sent_properties(batch.rows.get(row_number=3))["hs_appointment_status"] == "completed"


def test_it_excludes_a_row_and_never_sends_it(logged_client: Client, portal: Portal) -> None:
    batch = batch_with_invalid_row(logged_client, portal)
    url = reverse("appointments:row-exclude", args=[batch.pk, 2])

    fragment = logged_client.post(url, {"excluded": "1"}, headers={"HX-Request": "true"})
    logged_client.post(reverse("appointments:batch-submit", args=[batch.pk]))

    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert "Excluded: this row is never sent." in fragment.text
    assert batch.rows.get(row_number=2).state == BatchRow.State.EXCLUDED
    assert creates() == []
    page = logged_client.get(reverse("appointments:batch-detail", args=[batch.pk]))
    assert "1 row excluded: it is never sent." in page.text

    back = logged_client.post(url, {"excluded": "0"})
    assert back.status_code == 302
    assert batch.rows.get(row_number=2).state == BatchRow.State.READY


def test_it_sends_rows_fixed_after_the_batch_was_sent(
    logged_client: Client, portal: Portal
) -> None:
    batch = batch_with_invalid_row(logged_client, portal)
    logged_client.post(reverse("appointments:batch-submit", args=[batch.pk]))
    batch.refresh_from_db()
    assert batch.status == Batch.Status.COMPLETED
    logged_client.post(reverse("appointments:row-edit", args=[batch.pk, 3]), {"c3": "Scheduled"})

    page = logged_client.get(reverse("appointments:batch-detail", args=[batch.pk]))
    assert "Send 1 fixed row to HubSpot" in page.text
    logged_client.post(reverse("appointments:batch-submit", args=[batch.pk]))

    sent = [[i["properties"]["hs_appointment_name"] for i in body["inputs"]] for body in creates()]
    assert sent == [["Intake visit"], ["Follow-up"]]
    assert batch.rows.get(row_number=3).state == BatchRow.State.CREATED


def test_it_refuses_to_change_a_row_already_given_to_hubspot(
    logged_client: Client, portal: Portal
) -> None:
    batch = batch_with_invalid_row(logged_client, portal)
    logged_client.post(reverse("appointments:batch-submit", args=[batch.pk]))
    url = reverse("appointments:row-edit", args=[batch.pk, 2])

    response = logged_client.post(url, {"c0": "Renamed"})

    assert response.status_code == 302
    assert sent_properties(batch.rows.get(row_number=2))["hs_appointment_name"] == "Intake visit"
    assert (
        logged_client.post(
            reverse("appointments:row-exclude", args=[batch.pk, 2]), {"excluded": "1"}
        ).status_code
        == 302
    )
    assert batch.rows.get(row_number=2).state == BatchRow.State.CREATED


def test_it_hides_other_peoples_rows(
    logged_client: Client, portal: Portal, other_user: Any
) -> None:
    batch = batch_with_invalid_row(logged_client, portal)
    intruder = Client()
    intruder.force_login(other_user)
    assert intruder.get(reverse("appointments:row-edit", args=[batch.pk, 3])).status_code == 404
    assert (
        intruder.post(
            reverse("appointments:row-exclude", args=[batch.pk, 3]), {"excluded": "1"}
        ).status_code
        == 404
    )


def test_the_fix_page_returns_to_the_page_of_the_table_showing_the_fixed_row(
    logged_client: Client, portal: Portal
) -> None:
    lines = rows_csv(250)
    lines[199] = lines[199].replace("Scheduled", "Tentative")  # row 200: on the second page
    upload_and_confirm(logged_client, portal, csv_upload(lines))
    batch = Batch.objects.get()
    url = reverse("appointments:row-edit", args=[batch.pk, 200])
    back = reverse("appointments:batch-detail", args=[batch.pk]) + "?page=2#row-200"

    page = logged_client.get(url)
    done = logged_client.post(url, {"c3": "Completed"})

    assert f'<a href="{back}">' in page.text
    assert done.status_code == 302 and done["Location"] == back
    shown = logged_client.get(done["Location"]).text
    row = shown[
        shown.index('<tr id="row-200"') : shown.index("</tr>", shown.index('<tr id="row-200"'))
    ]
    assert "Ready" in row and "Completed" in row
