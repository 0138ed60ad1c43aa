"""The intake screens over HTTP against the sandbox: mapping, template, inline fixes, form grid."""

from __future__ import annotations

import io
import json
import re
from html.parser import HTMLParser
from typing import Any

import openpyxl
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from appointments.models import Batch, BatchRow, Portal, SavedMapping, Upload
from sandbox.models import JournalEntry
from sandbox.seed import DEMO_COMPANY_IDS, DEMO_CONTACT_IDS
from tests.intake_fixtures import CORPUS, sent_associations, sent_properties

HEADER = "Appointment name,Start time,End time,Appointment status,Note,contact_ids"


class _FormReader(HTMLParser):
    """Collects what a browser would submit from one form: inputs, selected options."""

    def __init__(self, form_id: str) -> None:
        super().__init__()
        self.form_id = form_id
        self.inside = False
        self.values: dict[str, str] = {}
        self.select: str | None = None
        self.first_option: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.inside = found.get("id") == self.form_id
        if not self.inside:
            return
        if tag == "input" and found.get("type") not in ("submit", "checkbox"):
            self.values[found["name"]] = found.get("value", "")
        elif tag == "select":
            self.select, self.first_option = found["name"], None
        elif tag == "option" and self.select:
            if self.first_option is None:
                self.first_option = found.get("value", "")
                self.values.setdefault(self.select, self.first_option)
            if "selected" in found:
                self.values[self.select] = found.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self.select = None
        if tag == "form":
            self.inside = False


def form_values(html: str, form_id: str) -> dict[str, str]:
    reader = _FormReader(form_id)
    reader.feed(html)
    return reader.values


def csv_file(lines: list[str], name: str = "appointments.csv", encoding: str = "utf-8"):
    return SimpleUploadedFile(name, ("\n".join(lines) + "\n").encode(encoding))


def upload(client: Client, portal: Portal, file: SimpleUploadedFile, **extra: str):
    return client.post(
        reverse("appointments:upload-create"),
        {"portal": portal.pk, "timezone": "Europe/Paris", "file": file, **extra},
    )


def mapping_url() -> str:
    return reverse("appointments:upload-mapping", args=[Upload.objects.latest("created_at").pk])


def confirm_proposed(client: Client, url: str):
    """Confirm a mapping screen as proposed, as a person who changes nothing would."""
    page = client.get(url)
    return client.post(url, form_values(page.text, "mapping-form"))


def confirm(client: Client, changes: dict[str, str] | None = None):
    """Confirm the mapping screen as proposed, with ``changes`` to its fields."""
    page = client.get(mapping_url())
    data = {**form_values(page.text, "mapping-form"), **(changes or {})}
    return client.post(mapping_url(), data)


def two_rows() -> list[str]:
    return [
        HEADER,
        "Intake visit,2026-12-03 14:00,2026-12-03 14:45,Scheduled,Bring forms,"
        + DEMO_CONTACT_IDS[0],
        f"Follow-up,2026-12-04 09:00,2026-12-04 09:30,Tentative,,{DEMO_CONTACT_IDS[1]}",
    ]


def creates() -> list[dict[str, Any]]:
    return [
        json.loads(e.request_body)
        for e in JournalEntry.objects.filter(path__endswith="/batch/create").order_by("id")
    ]


# --- mapping screen ---------------------------------------------------------------------------


def test_it_keeps_the_file_and_shows_each_column_before_checking_rows(
    logged_client: Client, portal: Portal
) -> None:
    response = upload(logged_client, portal, csv_file(two_rows()))

    upload_row = Upload.objects.get()
    assert response.status_code == 302
    assert response["Location"] == mapping_url()
    assert bytes(upload_row.data).startswith(b"Appointment name,Start time")
    assert not Batch.objects.exists()
    page = logged_client.get(mapping_url())
    values = form_values(page.text, "mapping-form")
    assert [values[f"col_{i}"] for i in range(6)] == [
        "p:hs_appointment_name",
        "p:hs_appointment_start",
        "p:hs_appointment_end",
        "p:hs_appointment_status",
        "",
        "a:0-1:906",
    ]
    assert '<tr data-column="E">' in page.text
    assert "<code>Bring forms</code>" in page.text
    assert "Ignored: this column is not sent." in page.text
    assert "Appointment name *" in page.text  # required property marked
    assert "Contacts: Attendee" in page.text  # user-defined association label offered
    assert "Read as UTF-8." in page.text
    assert creates() == []


def test_it_stores_every_row_with_the_confirmed_mapping(
    logged_client: Client, portal: Portal, hubspot: Any
) -> None:
    upload(logged_client, portal, csv_file(two_rows()))

    response = confirm(logged_client, {"col_4": "p:visit_notes", "col_5": "a:0-1:37"})

    batch = Batch.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("appointments:batch-detail", args=[batch.pk])
    first, second = batch.rows.order_by("row_number")
    assert first.state == BatchRow.State.READY
    assert sent_properties(first) == {
        "hs_appointment_name": "Intake visit",
        "hs_appointment_start": "2026-12-03T13:00:00Z",
        "hs_appointment_end": "2026-12-03T13:45:00Z",
        "hs_appointment_status": "scheduled",
        "visit_notes": "Bring forms",
    }
    assert sent_associations(first) == [[DEMO_CONTACT_IDS[0], "USER_DEFINED", 37]]
    assert second.state == BatchRow.State.INVALID
    assert [e["value"] for e in second.errors] == ["Tentative"]
    assert Upload.objects.get().batch == batch
    # The portal's properties were read once for the screen and its confirmation.
    assert len(hubspot.journal("/crm/properties/2026-03/0-421", method="GET")) == 1
    # The confirmed upload now leads to its batch.
    assert logged_client.get(mapping_url())["Location"] == response["Location"]


def test_it_clears_the_kept_file_once_its_batch_is_created(
    logged_client: Client, portal: Portal, user: Any
) -> None:
    upload(logged_client, portal, csv_file(two_rows(), name="visits.csv"))
    assert len(bytes(Upload.objects.get().data)) > 100

    confirm(logged_client)

    kept = Upload.objects.get()
    assert bytes(kept.data) == b""
    assert (kept.filename, kept.timezone, kept.created_by) == ("visits.csv", "Europe/Paris", user)
    assert kept.batch == Batch.objects.get()
    assert kept.batch.rows.count() == 2
    # The batch keeps every cell: the preview needs nothing from the file.
    page = logged_client.get(reverse("appointments:batch-detail", args=[kept.batch.pk]))
    assert page.status_code == 200 and "Follow-up" in page.text


def test_it_renders_the_whole_page_or_only_the_mapping_screen(
    logged_client: Client, portal: Portal
) -> None:
    upload(logged_client, portal, csv_file(two_rows()))

    full = logged_client.get(mapping_url())
    fragment = logged_client.get(mapping_url(), headers={"HX-Request": "true"})

    assert "<html" in full.text and 'id="mapping-form"' in full.text
    assert "<html" not in fragment.text
    assert fragment.text.strip().startswith('<div id="mapping-screen">')
    assert 'id="mapping-form"' in fragment.text
    assert "HX-Request" in fragment["Vary"]


def test_it_reports_duplicate_headers_by_column_letter(
    logged_client: Client, portal: Portal
) -> None:
    data = (CORPUS / "duplicate_headers.csv").read_bytes()
    upload(logged_client, portal, SimpleUploadedFile("dup.csv", data))

    page = logged_client.get(mapping_url())

    assert "The header “Start time” appears in columns B, D." in page.text
    assert "The header “Visit notes” appears in columns C, E." in page.text
    values = form_values(page.text, "mapping-form")
    # The first of each pair is proposed; the repeat is left ignored, never sent twice.
    assert [values[f"col_{i}"] for i in range(5)] == [
        "p:hs_appointment_name",
        "p:hs_appointment_start",
        "p:visit_notes",
        "",
        "",
    ]


def test_it_names_a_repeated_column_by_its_letter_in_errors_and_in_the_fix_form(
    logged_client: Client, portal: Portal
) -> None:
    lines = [
        "Appointment name,Start time,contact_ids,contact_ids",
        f"Two lists,2026-12-03 14:00,12a,{DEMO_CONTACT_IDS[0]};x",
    ]
    upload(logged_client, portal, csv_file(lines))
    values = form_values(logged_client.get(mapping_url()).text, "mapping-form")
    assert values["col_2"] == values["col_3"] == "a:0-1:906"  # both lists go to contacts
    confirm(logged_client)

    batch = Batch.objects.get()
    row = batch.rows.get(row_number=2)
    assert [(e["column"], e["value"]) for e in row.errors] == [
        ("contact_ids (C)", "12a"),
        ("contact_ids (D)", f"{DEMO_CONTACT_IDS[0]};x"),
    ]
    assert row.errors[0]["message"].startswith('Row 2, column "contact_ids (C)": "12a"')

    page = logged_client.get(reverse("appointments:row-edit", args=[batch.pk, 2])).text
    # Each input shows its own column's message only.
    shown = {
        index: re.findall(r"<div>(.*?)</div>", block)
        for index, block in re.findall(r'id="row-2-e(\d+)">(.*?</div>)</div>', page)
    }
    assert list(shown) == ["2", "3"]
    # The first cell to fix takes the focus when the form is swapped in.
    assert page.count(" autofocus") == 1
    assert re.search(r'name="c2" value="12a" autofocus', page)
    assert [len(messages) for messages in shown.values()] == [1, 1]
    assert "&quot;12a&quot;" in shown["2"][0]
    assert f"&quot;{DEMO_CONTACT_IDS[0]};x&quot;" in shown["3"][0]


def test_the_mapping_screen_shows_a_nul_and_names_utf16_plainly(
    logged_client: Client, portal: Portal
) -> None:
    text = "Appointment name,Visit notes\r\nVisit,bad\x00note\r\n"
    upload(logged_client, portal, SimpleUploadedFile("u16.csv", text.encode("utf-16-le")))

    page = logged_client.get(mapping_url()).text

    assert "\x00" not in page
    assert "bad\ufffdnote" in page
    assert "Read as UTF-16 LE." in page
    assert '<option value="utf_16_le" selected>UTF-16 LE</option>' in page


def test_it_refuses_two_columns_for_one_property(logged_client: Client, portal: Portal) -> None:
    upload(logged_client, portal, csv_file(two_rows()))

    response = confirm(logged_client, {"col_4": "p:hs_appointment_name"})

    assert response.status_code == 200
    assert "Columns A, E all go to “Appointment name”." in response.text
    assert not Batch.objects.exists()


def test_it_refuses_a_mapping_without_the_required_property(
    logged_client: Client, portal: Portal
) -> None:
    upload(logged_client, portal, csv_file(two_rows()))

    response = confirm(logged_client, {"col_0": ""})

    assert "No column goes to the required property “Appointment name”" in response.text
    assert not Batch.objects.exists()


def test_it_asks_the_day_month_order_of_a_column_that_reads_both_ways(
    logged_client: Client, portal: Portal
) -> None:
    lines = ["Appointment name,Follow-up date", "Check-up,03/04/2026", "Review,05/06/2026"]
    upload(logged_client, portal, csv_file(lines))

    page = logged_client.get(mapping_url())
    assert 'name="order_1"' in page.text
    refused = confirm(logged_client)
    assert refused.status_code == 200
    assert "Column B “Follow-up date”: every date reads both as day/month" in refused.text
    assert not Batch.objects.exists()

    confirm(logged_client, {"order_1": "DMY"})

    rows = Batch.objects.get().rows.order_by("row_number")
    assert [sent_properties(r)["follow_up_date"] for r in rows] == ["2026-04-03", "2026-06-05"]
    assert Batch.objects.get().reading["column_date_orders"] == {"1": "DMY"}


def test_it_saves_a_mapping_by_name_and_proposes_it_on_the_next_file(
    logged_client: Client, portal: Portal
) -> None:
    upload(logged_client, portal, csv_file(two_rows()))
    confirm(logged_client, {"col_4": "p:visit_notes", "save_as": "Clinic export"})
    saved = SavedMapping.objects.get()
    assert (saved.name, saved.portal) == ("Clinic export", portal)
    assert {"header": "Note", "target": saved.columns[4]["target"]} == saved.columns[4]
    assert saved.columns[4]["target"]["name"] == "visit_notes"

    upload(logged_client, portal, csv_file(two_rows(), name="next.csv"))
    page = logged_client.get(mapping_url())

    values = form_values(page.text, "mapping-form")
    assert values["col_4"] == "p:visit_notes"
    assert values["mapping"] == str(saved.pk)
    # Choosing "proposed from the headers" instead drops the saved choice.
    plain = logged_client.get(mapping_url(), {"mapping": ""})
    assert form_values(plain.text, "mapping-form")["col_4"] == ""


def test_it_offers_the_sheets_of_a_workbook_and_marks_hidden_ones(
    logged_client: Client, portal: Portal
) -> None:
    data = (CORPUS / "hidden_first_sheet.xlsx").read_bytes()
    upload(logged_client, portal, SimpleUploadedFile("book.xlsx", data))

    page = logged_client.get(mapping_url())

    reading = form_values(page.text, "reading-form")
    assert "(hidden)</option>" in page.text
    assert reading["sheet"] != ""
    hidden = page.text.split("(hidden)</option>")[0].rsplit('value="', 1)[1].split('"')[0]
    other = logged_client.get(mapping_url(), {"sheet": hidden})
    assert other.status_code == 200
    assert form_values(other.text, "mapping-form")["sheet"] == hidden


def test_it_shows_the_detected_encoding_and_explains_a_wrong_choice(
    logged_client: Client, portal: Portal
) -> None:
    data = (CORPUS / "windows1252.csv").read_bytes()
    upload(logged_client, portal, SimpleUploadedFile("export.csv", data))

    page = logged_client.get(mapping_url())
    wrong = logged_client.get(mapping_url(), {"encoding": "utf-8"})

    assert "Read as Windows-1252." in page.text
    assert wrong.status_code == 200
    assert "The file cannot be read as utf-8. Choose another encoding." in wrong.text


def test_it_hides_other_peoples_uploads(
    logged_client: Client, portal: Portal, other_user: Any
) -> None:
    upload(logged_client, portal, csv_file(two_rows()))
    intruder = Client()
    intruder.force_login(other_user)
    assert intruder.get(mapping_url()).status_code == 404
    assert intruder.post(mapping_url(), {}).status_code == 404


# --- template -----------------------------------------------------------------------------------


def test_it_downloads_a_template_that_maps_itself(logged_client: Client, portal: Portal) -> None:
    response = logged_client.get(reverse("appointments:portal-template", args=[portal.hub_id]))

    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    sheet = book["Appointments"]
    headers = [cell.value for cell in sheet[1]]
    assert headers[0] == "Appointment name *"
    assert "Record ID" not in headers and "Duration (minutes)" not in headers  # read-only
    assert headers[-3:] == ["contact_ids", "company_ids", "deal_ids"]
    status = headers.index("Appointment status")
    letter = openpyxl.utils.get_column_letter(status + 1)
    lists = {
        str(v.sqref): v.formula1 for v in sheet.data_validations.dataValidation if v.type == "list"
    }
    assert lists[f"{letter}2:{letter}10001"] == '"Scheduled,Completed,Canceled,No show"'
    assert sheet.cell(row=2, column=1).value == "First visit"

    upload(logged_client, portal, SimpleUploadedFile("template.xlsx", response.content))
    values = form_values(logged_client.get(mapping_url()).text, "mapping-form")
    assert all(values[f"col_{i}"] for i in range(len(headers)))


# --- fixing in place ----------------------------------------------------------------------------


def batch_with_invalid_row(client: Client, portal: Portal) -> Batch:
    upload(client, portal, csv_file(two_rows()))
    confirm(client)
    return Batch.objects.get()


def test_it_fixes_an_invalid_cell_inline_and_the_row_becomes_ready(
    logged_client: Client, portal: Portal
) -> None:
    batch = batch_with_invalid_row(logged_client, portal)
    url = reverse("appointments:row-edit", args=[batch.pk, 3])
    htmx = {"HX-Request": "true"}

    form = logged_client.get(url, headers=htmx)
    assert form.text.strip().startswith('<tr id="row-3"')
    assert 'name="c3" value="Tentative"' in form.text
    still_wrong = logged_client.post(url, {"c3": "Maybe"}, headers=htmx)
    fixed = logged_client.post(url, {"c3": "scheduled"}, headers=htmx)

    assert still_wrong.status_code == 200
    assert 'name="c3" value="Maybe"' in still_wrong.text
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


# --- form grid ----------------------------------------------------------------------------------


def grid_url(portal: Portal) -> str:
    return reverse("appointments:grid-entry") + f"?portal={portal.pk}&timezone=Europe/Paris"


def test_it_builds_the_grid_from_the_portals_properties(
    logged_client: Client, portal: Portal
) -> None:
    page = logged_client.get(grid_url(portal))

    assert page.status_code == 200
    assert '<input type="datetime-local" name="r0-hs_appointment_start"' in page.text
    assert '<input type="date" name="r0-follow_up_date"' in page.text
    assert '<input type="number" name="r0-party_size"' in page.text
    assert '<input type="checkbox" name="r0-interpreter_needed" value="true"' in page.text
    assert '<option value="no_show">No show</option>' in page.text
    assert 'name="r0-visit_channels" ' in page.text and " multiple>" in page.text
    assert 'name="r2-contact_ids"' in page.text and 'name="r3-contact_ids"' not in page.text
    assert "hs_object_id" not in page.text  # read-only
    assert "(Europe/Paris)" in page.text


def grid_post(portal: Portal, action: str, rows: list[dict[str, str]]) -> dict[str, Any]:
    data: dict[str, Any] = {
        "portal": portal.pk,
        "timezone": "Europe/Paris",
        "rows": len(rows),
        "action": action,
    }
    for index, row in enumerate(rows):
        data.update({f"r{index}-{key}": value for key, value in row.items()})
    return data


def test_it_adds_and_removes_grid_rows_with_htmx(logged_client: Client, portal: Portal) -> None:
    url = reverse("appointments:grid-entry")
    rows = [{"hs_appointment_name": "First"}, {"hs_appointment_name": "Second"}]
    htmx = {"HX-Request": "true"}

    added = logged_client.post(url, grid_post(portal, "add", rows), headers=htmx)
    removed = logged_client.post(url, grid_post(portal, "remove:0", rows), headers=htmx)
    full = logged_client.post(url, grid_post(portal, "add", rows))

    assert added.text.strip().startswith('<form id="grid-form"')
    assert "<html" not in added.text
    assert 'name="r2-hs_appointment_name" value=""' in added.text
    assert 'name="r0-hs_appointment_name" value="First"' in added.text
    assert 'name="r0-hs_appointment_name" value="Second"' in removed.text
    assert 'name="r1-hs_appointment_name"' not in removed.text
    assert "<html" in full.text and 'name="r2-hs_appointment_name"' in full.text


def test_it_creates_a_batch_from_the_grid_checked_like_an_upload(
    logged_client: Client, portal: Portal
) -> None:
    rows = [
        {
            "hs_appointment_name": "Home visit",
            "hs_appointment_start": "2026-07-01T10:30",
            "hs_appointment_status": "scheduled",
            "interpreter_needed": "true",
            "party_size": "2",
            "contact_ids": f"{DEMO_CONTACT_IDS[0]};{DEMO_CONTACT_IDS[1]}",
            "company_ids": DEMO_COMPANY_IDS[0],
        },
        {},
        {"hs_appointment_start": "2026-07-02T09:00", "contact_ids": "12ab"},
    ]
    data = grid_post(portal, "create", rows)
    data["r0-visit_channels"] = ["phone", "video"]

    response = logged_client.post(
        reverse("appointments:grid-entry"), data, headers={"HX-Request": "true"}
    )

    batch = Batch.objects.get()
    assert response.status_code == 200
    assert response["HX-Redirect"] == reverse("appointments:batch-detail", args=[batch.pk])
    assert batch.source == Batch.Source.GRID
    first, third = batch.rows.order_by("row_number")
    assert (first.row_number, first.state, third.row_number) == (1, "ready", 3)
    assert sent_properties(first) == {
        "hs_appointment_name": "Home visit",
        "hs_appointment_start": "2026-07-01T08:30:00Z",  # Paris is UTC+2 in July
        "hs_appointment_status": "scheduled",
        "interpreter_needed": "true",
        "party_size": "2",
        "visit_channels": "phone;video",
    }
    assert [record_id for record_id, _category, _type_id in sent_associations(first)] == [
        DEMO_CONTACT_IDS[0],
        DEMO_CONTACT_IDS[1],
        DEMO_COMPANY_IDS[0],
    ]
    assert third.state == BatchRow.State.INVALID
    assert sorted(e["column"] for e in third.errors) == ["Appointment name", "Contact IDs"]
    assert all("Row 3" in e["message"] for e in third.errors)


def test_it_refuses_an_empty_grid(logged_client: Client, portal: Portal) -> None:
    response = logged_client.post(
        reverse("appointments:grid-entry"), grid_post(portal, "create", [{}, {}])
    )
    assert response.status_code == 200
    assert "Every row is empty. Fill in at least one appointment." in response.text
    assert not Batch.objects.exists()


def test_it_asks_hubspot_for_the_schema_once_per_grid_session(
    logged_client: Client, portal: Portal, hubspot: Any
) -> None:
    url = reverse("appointments:grid-entry")
    rows = [{"hs_appointment_name": "First"}, {"hs_appointment_name": "Second"}]
    htmx = {"HX-Request": "true"}

    logged_client.get(grid_url(portal))
    shown = len(hubspot.journal())
    added = logged_client.post(url, grid_post(portal, "add", rows), headers=htmx)
    removed = logged_client.post(url, grid_post(portal, "remove:1", rows), headers=htmx)
    created = logged_client.post(url, grid_post(portal, "create", rows), headers=htmx)

    # Properties and the three label lists, read when the grid was shown, and nothing since.
    assert shown == 4
    assert len(hubspot.journal("/crm/properties/2026-03/0-421")) == 1
    assert len(hubspot.journal()) == shown
    assert 'name="r2-hs_appointment_name" value=""' in added.text
    assert 'name="r1-hs_appointment_name"' not in removed.text
    assert created["HX-Redirect"] == reverse(
        "appointments:batch-detail", args=[Batch.objects.get().pk]
    )
    # Showing the grid again reads the portal's schema afresh.
    logged_client.get(grid_url(portal))
    assert len(hubspot.journal("/crm/properties/2026-03/0-421")) == 2


def test_it_offers_user_defined_association_labels_in_the_grid(
    logged_client: Client, portal: Portal
) -> None:
    page = logged_client.get(grid_url(portal)).text
    rows = [
        {
            "hs_appointment_name": "Site visit",
            "contact_ids-37": DEMO_CONTACT_IDS[2],
            "company_ids-41": DEMO_COMPANY_IDS[1],
        }
    ]

    logged_client.post(reverse("appointments:grid-entry"), grid_post(portal, "create", rows))

    headers = re.findall(r"<th>((?:Contact|Company|Deal) IDs[^<*]*)</th>", page)
    assert headers == [
        "Contact IDs",
        "Contact IDs (Attendee)",
        "Contact IDs (Interpreter)",
        "Company IDs",
        "Company IDs (Venue)",
        "Deal IDs",
        "Deal IDs (Related deal)",
    ]
    assert 'name="r0-contact_ids-39"' in page and 'name="r0-deal_ids-43"' in page
    (row,) = Batch.objects.get().rows.all()
    assert row.state == BatchRow.State.READY
    assert sent_associations(row) == [
        [DEMO_CONTACT_IDS[2], "USER_DEFINED", 37],
        [DEMO_COMPANY_IDS[1], "USER_DEFINED", 41],
    ]


def test_it_reads_a_file_without_a_header_row_and_keeps_its_first_row(
    logged_client: Client, portal: Portal
) -> None:
    lines = [
        f"Intake 1,2026-12-01 08:00,{DEMO_CONTACT_IDS[0]}",
        f"Intake 2,2026-12-01 09:00,{DEMO_CONTACT_IDS[1]}",
    ]
    upload(logged_client, portal, csv_file(lines, name="no-header.csv"))
    url = mapping_url()

    guessed = logged_client.get(url)
    page = logged_client.get(url, {"header_row": "0"})

    assert "1 data row for portal" in guessed.text  # row 1 taken for a header...
    assert "2 data rows for portal" in page.text  # ...unless the user says there is none
    assert "No header row: every row is an appointment" in page.text
    data = form_values(page.text, "mapping-form")
    data.update({"col_0": "p:hs_appointment_name", "col_1": "p:hs_appointment_start"})
    logged_client.post(url, data)
    batch = Batch.objects.get()
    stored = {row.row_number: sent_properties(row) for row in batch.rows.all()}
    assert stored[1]["hs_appointment_name"] == "Intake 1"
    assert stored[2]["hs_appointment_name"] == "Intake 2"
    assert stored[1]["hs_appointment_start"] == "2026-12-01T07:00:00Z"


def test_it_refuses_an_unreadable_or_empty_file_on_the_upload_form(
    logged_client: Client, portal: Portal
) -> None:
    renamed_pdf = SimpleUploadedFile("visits.xlsx", b"%PDF-1.7\n" + b"\x00" * 200)
    only_headers = csv_file(["Appointment name,Start time"], name="empty.csv")

    first = upload(logged_client, portal, renamed_pdf)
    second = upload(logged_client, portal, only_headers)

    assert first.status_code == second.status_code == 200
    assert "cannot be read" in first.text
    assert "has a header row but no appointments under it" in second.text
    assert not Upload.objects.exists()
