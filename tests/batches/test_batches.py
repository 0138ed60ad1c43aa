"""Upload, preview, submission and results, against the sandbox over HTTP."""

from __future__ import annotations

import csv
import io
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from appointments.models import Batch, BatchCall, BatchRow, Portal
from sandbox.models import CrmRecord, JournalEntry
from sandbox.seed import DEMO_COMPANY_IDS, DEMO_CONTACT_IDS
from tests.intake_fixtures import sent_associations, sent_properties
from tests.web import BATCH_HEADER, csv_upload, rows_csv, upload_and_confirm
from tests.web import creates as batch_creates


def test_it_checks_every_row_and_sends_nothing_before_confirmation(
    logged_client: Client, portal: Portal
) -> None:
    response = upload_and_confirm(
        logged_client,
        portal,
        csv_upload(
            [
                BATCH_HEADER,
                f"Intake visit,2026-12-03 14:00,2026-12-03 14:45,Scheduled,{DEMO_CONTACT_IDS[0]},",
                f"Follow-up,2026-12-04 09:00,2026-12-04 09:30,Tentative,{DEMO_CONTACT_IDS[1]},",
            ]
        ),
    )
    batch = Batch.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("appointments:batch-detail", args=[batch.pk])
    first, second = batch.rows.order_by("row_number")
    assert (first.row_number, first.state) == (2, BatchRow.State.READY)
    # Paris is UTC+1 in December: 14:00 local is 13:00 UTC.
    assert sent_properties(first)["hs_appointment_start"] == "2026-12-03T13:00:00Z"
    assert sent_properties(first)["hs_appointment_status"] == "scheduled"
    assert sent_associations(first) == [[DEMO_CONTACT_IDS[0], "HUBSPOT_DEFINED", 906]]
    assert (second.row_number, second.state) == (3, BatchRow.State.INVALID)
    [error] = second.errors
    assert error["column"] == "Appointment status"
    assert error["value"] == "Tentative"
    assert "Row 3" in error["message"]
    assert batch_creates() == []

    page = logged_client.get(reverse("appointments:batch-detail", args=[batch.pk]))
    assert "Tentative" in page.text
    assert "Send 1 valid row to HubSpot" in page.text


def test_it_sends_valid_rows_in_calls_of_at_most_100_and_records_each_outcome(
    logged_client: Client, portal: Portal
) -> None:
    upload_and_confirm(logged_client, portal, csv_upload(rows_csv(205)))
    batch = Batch.objects.get()

    response = logged_client.post(reverse("appointments:batch-submit", args=[batch.pk]))

    assert response.status_code == 302
    batch.refresh_from_db()
    assert batch.status == Batch.Status.COMPLETED
    assert [len(body["inputs"]) for body in batch_creates()] == [100, 100, 5]
    trace_ids = [i["objectWriteTraceId"] for body in batch_creates() for i in body["inputs"]]
    assert len(set(trace_ids)) == 205
    created = dict(batch.rows.values_list("row_number", "hubspot_id"))
    assert len(created) == 205 and all(created.values())
    records = {
        r.record_id: r.properties["hs_appointment_name"]
        for r in CrmRecord.objects.filter(object_type="0-421")
    }
    for row in batch.rows.all():
        assert records[row.hubspot_id] == row.appointment_name
    calls = list(batch.calls.order_by("sequence"))
    assert [(c.state, c.http_status, c.hubspot_status) for c in calls] == [
        (BatchCall.State.DONE, 201, "COMPLETE")
    ] * 3
    assert all(c.completed_at and c.started_at for c in calls)


def test_it_reports_hubspots_per_row_errors_and_creates_the_rest(
    logged_client: Client, portal: Portal
) -> None:
    lines = rows_csv(3)
    lines[2] = lines[2].replace(DEMO_CONTACT_IDS[1], "99999999999")  # no such contact
    upload_and_confirm(logged_client, portal, csv_upload(lines))
    batch = Batch.objects.get()

    logged_client.post(reverse("appointments:batch-submit", args=[batch.pk]))

    states = dict(batch.rows.values_list("row_number", "state"))
    assert states == {2: "created", 3: "failed", 4: "created"}
    failed = batch.rows.get(row_number=3)
    assert failed.hubspot_id == ""
    assert failed.error_category == "VALIDATION_ERROR"
    assert "99999999999" in failed.error_message
    assert batch.calls.get().http_status == 207


def test_it_refuses_a_file_that_is_not_a_spreadsheet(logged_client: Client, portal: Portal) -> None:
    file = SimpleUploadedFile("notes.pdf", b"%PDF-1.4", content_type="application/pdf")
    response = upload_and_confirm(logged_client, portal, file)
    assert response.status_code == 200
    assert "“notes.pdf” is not a spreadsheet this tool reads" in response.text
    assert not Batch.objects.exists()


def test_it_refuses_an_upload_over_the_size_limit(
    logged_client: Client, portal: Portal, settings: Any
) -> None:
    settings.HUBPORTAL_MAX_UPLOAD_BYTES = 200
    response = upload_and_confirm(logged_client, portal, csv_upload(rows_csv(10)))
    assert response.status_code == 200
    assert "the limit is 200" in response.text
    assert not Batch.objects.exists()


def test_it_refuses_a_huge_upload_before_reading_it(
    logged_client: Client, portal: Portal, settings: Any
) -> None:
    from appointments.models import Upload

    settings.HUBPORTAL_MAX_UPLOAD_BYTES = 200
    big = SimpleUploadedFile("big.csv", b"Appointment name\n" + b"Visit\n" * 20_000, "text/csv")
    response = upload_and_confirm(logged_client, portal, big)
    assert response.status_code == 200
    assert "This upload is 117.5\xa0KB; the limit is 200\xa0bytes." in response.text
    assert not Upload.objects.exists()


def test_it_hides_other_peoples_batches(
    logged_client: Client, portal: Portal, other_user: Any, client: Client
) -> None:
    upload_and_confirm(logged_client, portal, csv_upload(rows_csv(2)))
    batch = Batch.objects.get()
    intruder = Client()
    intruder.force_login(other_user)
    for name in ("batch-detail", "batch-export-csv"):
        assert intruder.get(reverse(f"appointments:{name}", args=[batch.pk])).status_code == 404
    assert intruder.post(reverse("appointments:batch-submit", args=[batch.pk])).status_code == 404
    assert batch_creates() == []


def test_it_asks_anonymous_visitors_to_sign_in(client: Client) -> None:
    response = client.get(reverse("appointments:home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_it_renders_the_whole_page_or_only_the_live_fragment(
    logged_client: Client, portal: Portal
) -> None:
    upload_and_confirm(logged_client, portal, csv_upload(rows_csv(2)))
    batch = Batch.objects.get()
    url = reverse("appointments:batch-detail", args=[batch.pk])

    full = logged_client.get(url)
    fragment = logged_client.get(url, headers={"HX-Request": "true"})

    assert "<html" in full.text and 'id="live-results"' in full.text
    assert "<html" not in fragment.text
    assert fragment.text.strip().startswith('<div id="live-results"')
    assert "HX-Request" in fragment["Vary"]


def test_it_polls_while_the_batch_runs_and_stops_when_it_ends(
    logged_client: Client, portal: Portal
) -> None:
    upload_and_confirm(logged_client, portal, csv_upload(rows_csv(2)))
    batch = Batch.objects.get()
    url = reverse("appointments:batch-detail", args=[batch.pk])
    Batch.objects.filter(pk=batch.pk).update(status=Batch.Status.RUNNING)
    assert 'hx-trigger="every 2s"' in logged_client.get(url, headers={"HX-Request": "true"}).text

    Batch.objects.filter(pk=batch.pk).update(status=Batch.Status.COMPLETED)
    assert "every 2s" not in logged_client.get(url, headers={"HX-Request": "true"}).text


def test_it_downloads_results_with_formulas_neutralised(
    logged_client: Client, portal: Portal
) -> None:
    lines = rows_csv(2)
    lines[1] = lines[1].replace("Visit 1", '=HYPERLINK(""http://evil"")', 1)
    lines[1] = '"' + lines[1].split(",", 1)[0] + '",' + lines[1].split(",", 1)[1]
    upload_and_confirm(logged_client, portal, csv_upload(lines))
    batch = Batch.objects.get()
    logged_client.post(reverse("appointments:batch-submit", args=[batch.pk]))

    response = logged_client.get(reverse("appointments:batch-export-csv", args=[batch.pk]))

    body = b"".join(response.streaming_content).decode("utf-8-sig")
    table = list(csv.reader(io.StringIO(body)))
    assert table[0][:2] == ["row", "Appointment name"]
    assert table[1][1] == '\'=HYPERLINK("http://evil")'
    assert table[1][-4] == "Created"
    assert table[1][-3] == batch.rows.get(row_number=2).hubspot_id
    assert len(table) == 3


def test_it_cancels_a_batch_and_leaves_unsent_rows_marked(
    logged_client: Client, portal: Portal, settings: Any
) -> None:
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    upload_and_confirm(logged_client, portal, csv_upload(rows_csv(150)))
    batch = Batch.objects.get()
    logged_client.post(reverse("appointments:batch-submit", args=[batch.pk]))

    logged_client.post(reverse("appointments:batch-cancel", args=[batch.pk]))

    batch.refresh_from_db()
    assert batch.status == Batch.Status.CANCELED
    assert batch.rows.filter(state=BatchRow.State.UNSENT).count() == 150
    assert batch_creates() == []


def test_it_says_a_batch_is_already_being_sent_when_send_is_pressed_again(
    logged_client: Client, portal: Portal
) -> None:
    upload_and_confirm(logged_client, portal, csv_upload(rows_csv(2)))
    batch = Batch.objects.get()
    Batch.objects.filter(pk=batch.pk).update(status=Batch.Status.QUEUED)

    response = logged_client.post(
        reverse("appointments:batch-submit", args=[batch.pk]), follow=True
    )

    assert "This batch is already being sent." in response.text
    assert batch_creates() == []


def test_a_fix_keeps_a_missing_record_held_back_until_its_id_is_changed(
    logged_client: Client, portal: Portal
) -> None:
    lines = rows_csv(2)
    lines[2] = lines[2].replace(DEMO_CONTACT_IDS[1], f"99999999999;{DEMO_CONTACT_IDS[1]}")
    upload_and_confirm(logged_client, portal, csv_upload(lines))
    batch = Batch.objects.get()
    logged_client.post(reverse("appointments:batch-check-records", args=[batch.pk]))
    url = reverse("appointments:row-edit", args=[batch.pk, 3])
    posted = {
        "c0": "Visit 2",
        "c1": "2026-12-01 09:01",
        "c2": "2026-12-01 10:00",
        "c3": "Scheduled",
        "c4": f"99999999999;{DEMO_CONTACT_IDS[1]}",
        "c5": DEMO_COMPANY_IDS[0],
    }

    # Another cell fixed: HubSpot's answer about the untouched ID still holds.
    logged_client.post(url, {**posted, "c0": "Visit two"})
    row = batch.rows.get(row_number=3)
    assert row.state == "invalid"
    assert [(e["code"], e["value"]) for e in row.errors] == [("record_not_found", "99999999999")]
    assert row.raw[0] == "Visit two"

    # The ID cell changed: the row is judged afresh.
    logged_client.post(url, {**posted, "c0": "Visit two", "c4": DEMO_CONTACT_IDS[1]})
    row = batch.rows.get(row_number=3)
    assert (row.state, row.errors) == ("ready", [])


def test_the_record_check_names_the_repeated_column_that_holds_the_id(
    logged_client: Client, portal: Portal
) -> None:
    lines = [
        "Appointment name,Start time,contact_ids,contact_ids",
        f"Visit,2026-12-01 09:00,99999999999,{DEMO_CONTACT_IDS[0]}",
    ]
    upload_and_confirm(logged_client, portal, csv_upload(lines))
    batch = Batch.objects.get()
    logged_client.post(reverse("appointments:batch-check-records", args=[batch.pk]))
    [error] = batch.rows.get(row_number=2).errors
    assert (error["column"], error["value"]) == ("contact_ids (C)", "99999999999")

    # A real ID typed in the other column leaves the missing one where it was: still held back.
    url = reverse("appointments:row-edit", args=[batch.pk, 2])
    posted = {
        "c0": "Visit",
        "c1": "2026-12-01 09:00",
        "c2": "99999999999",
        "c3": DEMO_CONTACT_IDS[1],
    }
    logged_client.post(url, posted)
    row = batch.rows.get(row_number=2)
    assert [(e["code"], e["column"]) for e in row.errors] == [
        ("record_not_found", "contact_ids (C)")
    ]

    # Moved to the other column, or retyped with spaces around it: HubSpot's answer stands.
    logged_client.post(url, {**posted, "c2": DEMO_CONTACT_IDS[1], "c3": " 99999999999 "})
    row = batch.rows.get(row_number=2)
    assert [(e["code"], e["column"]) for e in row.errors] == [
        ("record_not_found", "contact_ids (D)")
    ]
    assert row.errors[0]["message"].startswith('Row 2, column "contact_ids (D)": there is no')


def test_it_proposes_the_time_zone_the_person_used_last(
    logged_client: Client, portal: Portal, settings: Any
) -> None:
    settings.HUBPORTAL_DEFAULT_TIMEZONE = "Europe/Berlin"
    form_url = reverse("appointments:upload-create")
    assert 'name="timezone" value="Europe/Berlin"' in logged_client.get(form_url).text

    upload_and_confirm(logged_client, portal, csv_upload(rows_csv(1)), tz="America/Montreal")

    assert 'name="timezone" value="America/Montreal"' in logged_client.get(form_url).text


def test_it_holds_back_rows_naming_records_that_do_not_exist_before_sending(
    logged_client: Client, portal: Portal
) -> None:
    lines = rows_csv(3)
    lines[2] = lines[2].replace(DEMO_CONTACT_IDS[1], "99999999999")  # no such contact
    upload_and_confirm(logged_client, portal, csv_upload(lines))
    batch = Batch.objects.get()

    response = logged_client.post(
        reverse("appointments:batch-check-records", args=[batch.pk]), follow=True
    )

    assert "1 row names a record that does not exist; it is held back." in response.text
    states = dict(batch.rows.values_list("row_number", "state"))
    assert states == {2: "ready", 3: "invalid", 4: "ready"}
    [error] = batch.rows.get(row_number=3).errors
    assert error["column"] == "contact_ids" and error["value"] == "99999999999"
    assert error["message"] == (
        'Row 3, column "contact_ids": there is no record 99999999999 in HubSpot portal '
        f"{portal.hub_id}. Correct the ID or remove it."
    )
    reads = JournalEntry.objects.filter(path__endswith="/batch/read")
    assert sorted(e.path for e in reads) == [
        "/crm/objects/2026-03/0-1/batch/read",
        "/crm/objects/2026-03/0-2/batch/read",
    ]
    assert batch_creates() == []


def test_it_says_there_was_nothing_to_cancel_on_a_batch_that_ended(
    logged_client: Client, portal: Portal
) -> None:
    upload_and_confirm(logged_client, portal, csv_upload(rows_csv(3)))
    batch = Batch.objects.get()
    logged_client.post(reverse("appointments:batch-submit", args=[batch.pk]))

    page = logged_client.post(reverse("appointments:batch-cancel", args=[batch.pk]), follow=True)

    batch.refresh_from_db()
    assert batch.status == Batch.Status.COMPLETED
    assert "This batch had already ended; there was nothing to cancel." in page.text
    assert "Batch canceled" not in page.text
