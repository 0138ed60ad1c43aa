"""Bulk fixes of a batch's unsent rows: fill empty cells, find and replace, fix every row with
the same error and value; each says how many rows it changes and can be undone until sent."""

from __future__ import annotations

import threading
from typing import Any

from django.db import connection
from django.test import Client
from django.urls import reverse

from appointments.models import Batch, BatchRow, Portal, RowEdit
from appointments.services import rows as row_services
from sandbox.seed import DEMO_COMPANY_IDS
from tests.web import csv_upload, rows_csv
from tests.web import upload_and_confirm as upload

STATUS = 3  # column index of "Appointment status" in rows_csv
COMPANY = 5


def batch_with_status_words(client: Client, portal: Portal) -> Batch:
    """Rows 2-3 say "Tentative" (no such option), row 4 is fine, row 5 has no company."""
    lines = rows_csv(4)
    lines[1] = lines[1].replace("Scheduled", "Tentative")
    lines[2] = lines[2].replace("Scheduled", "Tentative")
    lines[4] = lines[4].rsplit(",", 1)[0] + ","
    upload(client, portal, csv_upload(lines))
    return Batch.objects.get()


def states(batch: Batch) -> dict[int, str]:
    return dict(batch.rows.values_list("row_number", "state"))


def test_find_and_replace_says_how_many_rows_it_changes_then_changes_them(
    logged_client: Client, portal: Portal, hubspot: Any
) -> None:
    batch = batch_with_status_words(logged_client, portal)
    assert states(batch)[2] == states(batch)[3] == BatchRow.State.INVALID
    url = reverse("appointments:rows-bulk", args=[batch.pk])
    fix = {"kind": "replace", "column": STATUS, "find": "Tentative", "replace": "Scheduled"}

    counted = logged_client.post(url, fix)

    assert "This fix changes 2 rows." in counted.text
    assert states(batch)[2] == BatchRow.State.INVALID  # counting changes nothing
    logged_client.post(url, {**fix, "apply": "1"})
    assert states(batch)[2] == states(batch)[3] == BatchRow.State.READY
    assert batch.rows.get(row_number=2).raw[STATUS] == "Scheduled"
    edit = RowEdit.objects.get()
    assert (edit.changed, edit.before) == (2, {"2": "Tentative", "3": "Tentative"})


def test_the_latest_fix_is_undone_until_its_rows_are_sent(
    logged_client: Client, portal: Portal, hubspot: Any
) -> None:
    batch = batch_with_status_words(logged_client, portal)
    url = reverse("appointments:rows-bulk", args=[batch.pk])
    fix = {"kind": "replace", "column": STATUS, "find": "Tentative", "replace": "Scheduled"}
    logged_client.post(url, {**fix, "apply": "1"})
    edit = RowEdit.objects.get()

    page = logged_client.post(
        reverse("appointments:rows-bulk-undo", args=[batch.pk, edit.pk]), follow=True
    )

    assert "2 rows have their values back." in page.text
    assert states(batch)[2] == states(batch)[3] == BatchRow.State.INVALID
    assert batch.rows.get(row_number=2).raw[STATUS] == "Tentative"
    edit.refresh_from_db()
    assert edit.undone_at is not None


def test_an_undo_leaves_rows_sent_meanwhile_alone(
    logged_client: Client, portal: Portal, hubspot: Any
) -> None:
    batch = batch_with_status_words(logged_client, portal)
    url = reverse("appointments:rows-bulk", args=[batch.pk])
    fix = {"kind": "replace", "column": STATUS, "find": "Tentative", "replace": "Scheduled"}
    logged_client.post(url, {**fix, "apply": "1"})
    logged_client.post(reverse("appointments:batch-submit", args=[batch.pk]))
    assert states(batch)[2] == BatchRow.State.CREATED

    logged_client.post(
        reverse("appointments:rows-bulk-undo", args=[batch.pk, RowEdit.objects.get().pk])
    )

    assert batch.rows.get(row_number=2).raw[STATUS] == "Scheduled"
    assert states(batch)[2] == BatchRow.State.CREATED


def test_fill_puts_a_value_in_the_empty_cells_only(
    logged_client: Client, portal: Portal, hubspot: Any
) -> None:
    batch = batch_with_status_words(logged_client, portal)
    url = reverse("appointments:rows-bulk", args=[batch.pk])
    fix = {"kind": "fill", "column": COMPANY, "find": "", "replace": DEMO_COMPANY_IDS[0]}

    assert "This fix changes 1 row." in logged_client.post(url, fix).text
    logged_client.post(url, {**fix, "apply": "1"})

    assert batch.rows.get(row_number=5).raw[COMPANY] == DEMO_COMPANY_IDS[0]
    assert RowEdit.objects.get().before == {"5": ""}


def test_same_error_and_value_changes_only_rows_with_that_error(
    logged_client: Client, portal: Portal, hubspot: Any
) -> None:
    lines = rows_csv(3)
    lines[1] = lines[1].replace("Visit 1", "Tentative")  # a name, not an error
    lines[2] = lines[2].replace("Scheduled", "Tentative")
    upload(logged_client, portal, csv_upload(lines))
    batch = Batch.objects.get()
    url = reverse("appointments:rows-bulk", args=[batch.pk])

    counted = logged_client.post(
        url, {"kind": "same_error", "column": 0, "find": "Tentative", "replace": "X"}
    )
    assert "This fix changes 0 rows." in counted.text  # row 2's name "Tentative" is no error
    fix = {"kind": "same_error", "column": STATUS, "find": "Tentative", "replace": "Scheduled"}
    logged_client.post(url, {**fix, "apply": "1"})

    assert states(batch)[3] == BatchRow.State.READY
    assert batch.rows.get(row_number=2).raw[0] == "Tentative"


def test_a_fix_without_its_text_is_refused_with_a_message(
    logged_client: Client, portal: Portal, hubspot: Any
) -> None:
    batch = batch_with_status_words(logged_client, portal)

    page = logged_client.post(
        reverse("appointments:rows-bulk", args=[batch.pk]),
        {"kind": "replace", "column": STATUS, "find": "", "replace": "x", "apply": "1"},
    )

    assert page.status_code == 200
    assert "Type the text to find." in page.text
    assert not RowEdit.objects.exists()


def test_the_fix_form_offers_the_options_and_the_closest_one(
    logged_client: Client, portal: Portal, hubspot: Any
) -> None:
    lines = rows_csv(1)
    # Too far from any option for the mapping screen to map it, close enough to suggest one.
    lines[1] = lines[1].replace("Scheduled", "Sched")
    upload(logged_client, portal, csv_upload(lines))
    batch = Batch.objects.get()
    assert batch.rows.get(row_number=2).state == BatchRow.State.INVALID

    form = logged_client.get(
        reverse("appointments:row-edit", args=[batch.pk, 2]), headers={"HX-Request": "true"}
    ).text

    assert '<select id="row-2-c3" name="c3"' in form
    assert "Did you mean “Scheduled”?" in form


def test_the_fix_form_leads_to_fixing_every_row_with_the_same_error(
    logged_client: Client, portal: Portal, hubspot: Any
) -> None:
    batch = batch_with_status_words(logged_client, portal)
    form = logged_client.get(
        reverse("appointments:row-edit", args=[batch.pk, 2]), headers={"HX-Request": "true"}
    ).text
    link = f"/batches/{batch.pk}/rows/bulk/?kind=same_error&amp;column={STATUS}&amp;find=Tentative"
    assert link in form

    page = logged_client.get(link.replace("&amp;", "&")).text

    assert 'value="Tentative"' in page
    assert '<option value="same_error" selected>' in page


def test_a_second_bulk_fix_while_one_is_applied_changes_nothing_and_says_why(
    logged_client: Client, portal: Portal, hubspot: Any, monkeypatch: Any
) -> None:
    batch = batch_with_status_words(logged_client, portal)
    url = reverse("appointments:rows-bulk", args=[batch.pk])
    first = {"kind": "replace", "column": STATUS, "find": "Tentative", "replace": "Scheduled"}
    second = {"kind": "replace", "column": STATUS, "find": "Tentative", "replace": "Canceled"}
    started, go = threading.Event(), threading.Event()
    revalidate = row_services._revalidate

    def slow_revalidate(*args: Any, **kwargs: Any) -> bool:
        if threading.current_thread().name == "first-fix":
            started.set()
            go.wait(10)
        return revalidate(*args, **kwargs)

    monkeypatch.setattr(row_services, "_revalidate", slow_revalidate)
    user = batch.created_by

    def apply_first() -> None:
        try:
            row_services.rows_bulk_apply(user=user, batch=batch, fix=row_services.BulkFix(**first))
        finally:
            connection.close()

    thread = threading.Thread(target=apply_first, name="first-fix")
    thread.start()
    try:
        assert started.wait(10)
        response = logged_client.post(url, {**second, "apply": "1"}, follow=True)
    finally:
        go.set()
        thread.join()

    assert "Nothing was changed: ops-amina is applying another fix" in response.text
    # Only the first fix was applied, whole: the rows were never half one, half the other.
    assert [batch.rows.get(row_number=n).raw[STATUS] for n in (2, 3)] == ["Scheduled"] * 2
    edit = RowEdit.objects.get()
    assert (edit.changed, edit.before, edit.applying_since) == (
        2,
        {"2": "Tentative", "3": "Tentative"},
        None,
    )
    # Once it is done, the next fix goes through.
    logged_client.post(url, {**first, "find": "Scheduled", "replace": "Completed", "apply": "1"})
    assert RowEdit.objects.count() == 2
