"""Live results, downloads and the batch history."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta
from typing import Any

import openpyxl
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from appointments.models import Batch, BatchCall, Portal
from appointments.services.access import portal_grant
from appointments.services.batches import RECENT_CALLS, batch_progress, batch_submit
from sandbox.seed import DEMO_CONTACT_IDS
from tests.helpers import batch_from_upload


def make_batch(user: Any, portal: Portal, names: list[str], filename: str = "a.csv") -> Batch:
    lines = ["Appointment name,Start time,contact_ids"]
    for i, name in enumerate(names):
        lines.append(f'"{name}",2027-02-{1 + i % 28:02d} 10:{i % 60:02d},{DEMO_CONTACT_IDS[0]}')
    return batch_from_lines(user, portal, lines, filename)


def batch_from_lines(user: Any, portal: Portal, lines: list[str], filename: str) -> Batch:
    """A checked, unsent batch of the CSV ``lines`` (header first), Paris time."""
    return batch_from_upload(
        user=user,
        portal=portal,
        data=("\n".join(lines) + "\n").encode(),
        filename=filename,
        timezone_name="Europe/Paris",
    )


def test_it_reports_progress_speed_and_calls(user: Any, portal: Portal) -> None:
    batch = make_batch(user, portal, [f"Visit {i}" for i in range(1, 251)] + [""])
    batch_submit(user=batch.created_by, batch=batch)
    batch.refresh_from_db()

    progress = batch_progress(batch=batch)

    assert progress.counts["created"] == 250 and progress.counts["invalid"] == 1
    assert progress.to_send == 250 and progress.percent == 100
    assert progress.rows_per_second is not None and progress.rows_per_second > 0
    assert progress.seconds_left is None  # finished
    assert progress.calls_total == 3 and progress.calls_by_status == {"COMPLETE": 3}


def test_it_estimates_the_time_left_while_running(user: Any, portal: Portal) -> None:
    batch = make_batch(user, portal, [f"Visit {i}" for i in range(1, 201)])
    batch_submit(user=batch.created_by, batch=batch)
    # Pretend the second call is still waiting, after one minute of sending.
    second = batch.calls.get(sequence=2)
    second.rows.update(state="ready", hubspot_id="")
    BatchCall.objects.filter(batch=batch).update(sent_at=timezone.now() - timedelta(seconds=60))
    Batch.objects.filter(pk=batch.pk).update(
        status=Batch.Status.RUNNING,
        finished_at=None,
        sending_time=timedelta(0),
        running_since=timezone.now() - timedelta(seconds=60),
    )
    batch.refresh_from_db()

    progress = batch_progress(batch=batch)

    assert progress.percent == 50
    assert 1.5 <= progress.rows_per_second <= 1.8  # 100 rows in about 60 s
    assert 55 <= progress.seconds_left <= 65


def test_it_shows_only_the_latest_calls_however_many_there_are(
    logged_client: Client, user: Any, portal: Portal
) -> None:
    batch = make_batch(user, portal, [f"Visit {i}" for i in range(1, 1201)])
    batch_submit(user=batch.created_by, batch=batch)

    page = logged_client.get(
        reverse("appointments:batch-detail", args=[batch.pk]), headers={"HX-Request": "true"}
    )

    assert page.text.count('class="hubspot-status"') == RECENT_CALLS
    assert "12 calls in all" in page.text


def test_it_downloads_excel_results_with_formulas_neutralised(
    logged_client: Client, user: Any, portal: Portal
) -> None:
    batch = make_batch(user, portal, ["=1+2", "@SUM(A1)", "Plain visit"])
    batch_submit(user=batch.created_by, batch=batch)

    response = logged_client.get(reverse("appointments:batch-export-xlsx", args=[batch.pk]))

    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows[0][:2] == ["row", "Appointment name"]
    assert [r[1] for r in rows[1:]] == ["'=1+2", "'@SUM(A1)", "Plain visit"]
    assert all(r[-4] == "Created" for r in rows[1:])
    # No cell is a formula: text, numbers and dates only.
    assert {cell.data_type for row in sheet.iter_rows() for cell in row if cell.value} <= {
        "s",
        "n",
        "d",
    }


def test_the_excel_results_have_typed_cells_widths_a_filter_and_record_links(
    logged_client: Client, user: Any, portal: Portal
) -> None:
    lines = [
        "Appointment name,Start time,contact_ids",
        f"Visit,2027-02-01 10:30,{DEMO_CONTACT_IDS[0]}",
    ]
    batch = batch_from_lines(user, portal, lines, "typed.csv")
    batch_submit(user=batch.created_by, batch=batch)
    record_id = batch.rows.get().hubspot_id

    response = logged_client.get(reverse("appointments:batch-export-xlsx", args=[batch.pk]))

    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    row = [cell for cell in sheet[2]]
    assert row[0].value == 2  # the row number, a number
    # The start as HubSpot shows it in the batch's zone (Paris), an Excel date and time.
    assert row[2].value == datetime(2027, 2, 1, 10, 30)
    assert row[2].number_format == "yyyy-mm-dd hh:mm"
    assert row[3].value == str(DEMO_CONTACT_IDS[0]) and row[3].data_type == "s"
    assert row[5].value == record_id and row[5].data_type == "s"  # an ID stays text
    assert row[6].hyperlink.target.endswith(f"/record/0-421/{record_id}")
    assert sheet.auto_filter.ref == "A1:H2"
    # Excel dates carry no zone: the header names it.
    assert sheet["C1"].value == "Start time (Europe/Paris)"
    assert sheet.column_dimensions["C"].width > 15


def test_it_says_so_where_an_excel_cell_cannot_hold_the_whole_text(
    logged_client: Client, user: Any, portal: Portal
) -> None:
    long_note = "".join(f"{n:06d} " for n in range(6000))  # 42,000 characters
    lines = ["Appointment name,Start time,Comment", f"Long,2027-02-01 10:00,{long_note}"]
    batch = batch_from_lines(user, portal, lines, "long.csv")

    xlsx = logged_client.get(reverse("appointments:batch-export-xlsx", args=[batch.pk]))
    text = b"".join(
        logged_client.get(reverse("appointments:batch-export-csv", args=[batch.pk]))
    ).decode("utf-8-sig")

    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    cell = sheet.cell(row=2, column=4).value
    assert sheet.cell(row=1, column=4).value == "Comment"
    assert len(cell) == 32_767
    assert cell.startswith(long_note[:30_000])
    assert cell.endswith(
        " […cut: 42,000 characters in all, more than an Excel cell holds. The CSV download has "
        "the whole text.]"
    )
    [_header, row] = list(csv.reader(io.StringIO(text)))
    assert row[3] == long_note


def test_it_counts_an_excel_cell_as_excel_does_and_says_so_in_french(
    logged_client: Client, user: Any, portal: Portal
) -> None:
    # 20,000 emoji are 40,000 UTF-16 code units: over Excel's 32,767.
    lines = ["Appointment name,Start time,Comment", "Smiles,2027-02-01 10:00," + "😀" * 20_000]
    batch = batch_from_lines(user, portal, lines, "emoji.csv")

    xlsx = logged_client.get(
        reverse("appointments:batch-export-xlsx", args=[batch.pk]), HTTP_ACCEPT_LANGUAGE="fr"
    )

    cell = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active.cell(row=2, column=4).value
    note = (
        " […coupé : 20\xa0000 caractères en tout, plus qu\u2019une cellule Excel n\u2019en "
        "contient. "
        "Le téléchargement CSV a le texte entier.]"
    )
    assert cell.endswith(note)
    assert set(cell[: -len(note)]) == {"😀"}
    assert len(cell.encode("utf-16-le")) // 2 <= 32_767


def test_it_filters_the_history_by_person_state_and_date(
    logged_client: Client, user: Any, other_user: Any, portal: Portal
) -> None:
    sent = make_batch(user, portal, ["One"], filename="sent.csv")
    batch_submit(user=sent.created_by, batch=sent)
    make_batch(user, portal, ["Two"], filename="draft.csv")
    old = make_batch(user, portal, ["Three"], filename="old.csv")
    Batch.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=40))
    portal_grant(by=user, portal=portal, user=other_user)
    make_batch(other_user, portal, ["Four"], filename="someone-else.csv")
    url = reverse("appointments:batch-history")

    everything = logged_client.get(url).text
    completed = logged_client.get(url, {"status": "completed"}).text
    recent = logged_client.get(
        url, {"since": (timezone.now() - timedelta(days=7)).date().isoformat()}
    ).text
    fragment = logged_client.get(url, {"status": "draft"}, headers={"HX-Request": "true"}).text
    by_other = logged_client.get(url, {"created_by": other_user.pk}).text

    names = ("sent.csv", "draft.csv", "old.csv", "someone-else.csv")
    assert all(name in everything for name in names)  # one shared portal: everyone's batches
    assert "sent.csv" in completed and "draft.csv" not in completed
    assert "old.csv" not in recent and "draft.csv" in recent
    assert "<html" not in fragment and "draft.csv" in fragment and "sent.csv" not in fragment
    assert "someone-else.csv" in by_other and "sent.csv" not in by_other


def exclude(client: Client, batch: Batch, row_number: int) -> None:
    url = reverse("appointments:row-exclude", args=[batch.pk, row_number])
    assert client.post(url, {"excluded": "1"}).status_code == 302


def test_it_counts_excluded_rows_apart_from_valid_ones(
    logged_client: Client, user: Any, portal: Portal
) -> None:
    batch = make_batch(user, portal, ["One", "Two", "Three", ""])  # rows 2-5; row 5 invalid
    exclude(logged_client, batch, 3)

    before = batch_progress(batch=batch)
    batch_submit(user=batch.created_by, batch=batch)
    batch.refresh_from_db()
    after = batch_progress(batch=batch)

    assert (before.counts["total"], before.counts["valid"]) == (4, 2)
    assert (before.counts["excluded"], before.counts["invalid"]) == (1, 1)
    assert (before.to_send, before.percent) == (2, 0)
    assert (after.counts["valid"], after.counts["created"], after.counts["excluded"]) == (2, 2, 1)
    assert (after.to_send, after.percent) == (2, 100)


def test_it_shows_the_excluded_count_and_filters_excluded_rows(
    logged_client: Client, user: Any, portal: Portal
) -> None:
    batch = make_batch(user, portal, ["One", "Two", "Three"])
    exclude(logged_client, batch, 3)
    url = reverse("appointments:batch-detail", args=[batch.pk])

    page = logged_client.get(url).text
    excluded = logged_client.get(url, {"filter": "excluded"}).text
    fragment = logged_client.get(url, {"filter": "excluded"}, headers={"HX-Request": "true"}).text

    assert '<strong data-count="valid">2</strong>' in page
    assert re.search(r'<strong data-count="excluded">1</strong>\s*excluded, never sent', page)
    assert '<a href="?filter=excluded" class="">Excluded, never sent</a>' in page
    assert '<a href="?filter=excluded" class="current">Excluded, never sent</a>' in excluded
    assert [int(n) for n in re.findall(r'<tr id="row-(\d+)"', excluded)] == [3]
    assert "<html" not in fragment
    assert [int(n) for n in re.findall(r'<tr id="row-(\d+)"', fragment)] == [3]


def test_it_shows_hubspots_call_times_in_the_batchs_time_zone(
    logged_client: Client, user: Any, portal: Portal
) -> None:
    batch = make_batch(user, portal, ["Visit"])
    batch_submit(user=batch.created_by, batch=batch)
    moment = timezone.datetime(2027, 1, 10, 10, 0, 5, tzinfo=timezone.UTC)
    BatchCall.objects.filter(batch=batch).update(
        requested_at=moment, started_at=moment, completed_at=moment
    )

    page = logged_client.get(reverse("appointments:batch-detail", args=[batch.pk])).text

    assert "shown in Europe/Paris" in page
    assert page.count("<td>11:00:05</td>") == 3  # UTC+1 in January


def test_it_exports_the_cells_of_unnamed_and_repeated_columns(
    logged_client: Client, user: Any, portal: Portal
) -> None:
    data = (
        "Appointment name,Visit notes,,Visit notes,contact_ids\n"
        f"Check-up,first,untitled,second,{DEMO_CONTACT_IDS[0]}\n"
    ).encode()
    batch = batch_from_upload(
        user=user, portal=portal, data=data, filename="dup.csv", timezone_name="Europe/Paris"
    )

    response = logged_client.get(reverse("appointments:batch-export-csv", args=[batch.pk]))

    text = b"".join(response.streaming_content).decode("utf-8-sig")  # type: ignore[attr-defined]
    header, row = list(csv.reader(io.StringIO(text)))[:2]
    assert header[:6] == [
        "row",
        "Appointment name",
        "Visit notes",
        "",
        "Visit notes",
        "contact_ids",
    ]
    assert row[:6] == ["2", "Check-up", "first", "untitled", "second", str(DEMO_CONTACT_IDS[0])]
