"""The upload form and the mapping screen over HTTP against the sandbox."""

from __future__ import annotations

import re
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from appointments.models import Batch, BatchRow, HeaderChoice, Portal, SavedMapping, Upload
from sandbox.seed import DEMO_CONTACT_IDS
from tests.intake_fixtures import CORPUS, sent_associations, sent_properties
from tests.web import (
    confirm,
    creates,
    csv_file,
    form_values,
    mapping_url,
    two_rows,
    upload,
)


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
    # The first cell to fix takes the focus when the form is swapped in (app.js focuses the one
    # cell marked data-autofocus).
    assert page.count(" data-autofocus") == 1
    assert re.search(r'name="c2" value="12a" data-autofocus', page)
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
    assert {"header": "Office use", "target": saved.columns[4]["target"]} == saved.columns[4]
    assert saved.columns[4]["target"]["name"] == "visit_notes"

    upload(logged_client, portal, csv_file(two_rows(), name="next.csv"))
    page = logged_client.get(mapping_url())

    values = form_values(page.text, "mapping-form")
    assert values["col_4"] == "p:visit_notes"
    assert values["mapping"] == str(saved.pk)
    # Choosing "proposed from the headers" instead drops the saved mapping, but the portal
    # learned the choice confirmed for that header: it is proposed first.
    plain = logged_client.get(mapping_url(), {"mapping": ""})
    assert form_values(plain.text, "mapping-form")["col_4"] == "p:visit_notes"
    HeaderChoice.objects.all().delete()
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


def test_it_reads_the_file_once_at_upload_and_once_to_confirm(
    logged_client: Client, portal: Portal, monkeypatch: Any
) -> None:
    from appointments.services import uploads as upload_services

    reads: list[str] = []
    real = upload_services.read_table

    def counted(data: bytes, filename: str, **options: Any) -> Any:
        reads.append(filename)
        return real(data, filename, **options)

    monkeypatch.setattr(upload_services, "read_table", counted)
    upload(logged_client, portal, csv_file(two_rows()))
    assert len(reads) == 1
    # Page views, the reading form's htmx refresh with what was detected, a refused POST:
    # all from what the upload kept.
    page = logged_client.get(mapping_url())
    logged_client.get(mapping_url(), headers={"HX-Request": "true"})
    values = form_values(page.text, "mapping-form")
    logged_client.post(mapping_url(), {**values, "col_0": ""})  # no name column: refused
    assert len(reads) == 1

    logged_client.post(mapping_url(), values)  # confirmed: the rows are read once

    assert len(reads) == 2
    assert Batch.objects.get().rows.count() == 2
    # Another reading choice reads the file again, once, and keeps that preview instead.
    other = Upload.objects.create(
        portal=portal,
        created_by=Upload.objects.get().created_by,
        filename="again.csv",
        data=("\n".join(two_rows()) + "\n").encode(),
        timezone="Europe/Paris",
    )
    url = reverse("appointments:upload-mapping", args=[other.pk]) + "?header_row=0"
    logged_client.get(url)
    logged_client.get(url)
    assert len(reads) == 3


WIDE = 5000
# What the mapping page of a 5,000-column file may weigh: the first HUBPORTAL_MAPPING_COLUMNS
# columns in full (2 to 3 KB each with their select, which offers each association by its
# unique-value properties too), the others about 15 bytes each. Before, every column had its
# select: about 10 MB for this file.
WIDE_PAGE_BYTES = 300_000


def wide_lines() -> list[str]:
    """Two appointments with their four known columns first, then 4,996 extra columns; the
    extra column "Room" (column GJH) matches no property."""
    extra = [f"Extra {n}" for n in range(4, WIDE)]
    extra[-1] = "Room"
    header = ["Appointment name", "Start time", "End time", "contact_ids", *extra]
    return [
        ",".join(header),
        ",".join(
            ["Visit 1", "2026-12-03 14:00", "2026-12-03 15:00", DEMO_CONTACT_IDS[0]]
            + ["x"] * (WIDE - 4)
        ),
        ",".join(
            ["Visit 2", "2026-12-04 14:00", "2026-12-04 15:00", DEMO_CONTACT_IDS[1]]
            + ["y"] * (WIDE - 4)
        ),
    ]


def test_a_wide_file_shows_its_first_columns_in_full_and_lists_the_rest(
    logged_client: Client, portal: Portal, hubspot: Any, settings: Any
) -> None:
    settings.HUBPORTAL_MAPPING_COLUMNS = 50
    upload(logged_client, portal, csv_file(wide_lines(), "wide.csv"))

    page = logged_client.get(mapping_url())

    assert page.status_code == 200
    assert len(page.content) < WIDE_PAGE_BYTES, len(page.content)
    assert len(re.findall(r'<select name="col_\d+"', page.text)) == 50
    assert "4,950 more columns, ignored: not sent." in page.text or (
        "4950 more columns, ignored: not sent." in page.text
    )
    assert "GJH Room" in page.text  # the last column, by letter and name
    values = form_values(page.text, "mapping-form")
    assert values["col_0"] == "p:hs_appointment_name"
    assert "col_4999" not in values

    # The person asks for the last column in full, maps it, and confirms.
    shown = logged_client.get(mapping_url() + "?show=GJH", headers={"HX-Request": "true"})
    assert '<tr data-column="GJH">' in shown.text
    assert len(re.findall(r'<select name="col_\d+"', shown.text)) == 51
    posted = form_values(shown.text, "mapping-form")
    assert posted["show"] == "GJH"
    posted["col_4999"] = "p:visit_notes"
    response = logged_client.post(mapping_url(), posted)

    assert response.status_code == 302
    batch = Batch.objects.get()
    assert batch.rows.filter(state=BatchRow.State.READY).count() == 2
    mapped = [index for index, target in enumerate(batch.mapping) if target]
    assert mapped == [0, 1, 2, 3, 4999]
