"""Raw and sent side by side: the preview shows, per chosen column, the value HubSpot will
hold (dates and times in the batch's zone, options by label), the file's text on hover."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.test import Client
from django.urls import reverse

from appointments.models import Batch, Portal
from tests.web import DEMO_CONTACT_IDS, csv_upload
from tests.web import upload_and_confirm as upload


def batch(client: Client, portal: Portal) -> Batch:
    lines = [
        "Appointment name,Start time,Appointment status,contact_ids",
        f"Visit,13/12/2026 9:05,Scheduled,{DEMO_CONTACT_IDS[0]}",
    ]
    upload(client, portal, csv_upload(lines), tz="America/New_York")
    return Batch.objects.get()


def test_the_preview_shows_what_hubspot_will_hold_with_the_files_text_on_hover(
    logged_client: Client, portal: Portal, hubspot: Any
) -> None:
    made = batch(logged_client, portal)

    page = logged_client.get(reverse("appointments:batch-detail", args=[made.pk])).text

    assert '<th scope="col">Start time</th>' in page
    # 9:05 in New York, as HubSpot shows it to someone in that zone; the file's text on hover.
    assert 'title="In the file: 13/12/2026 9:05"' in page
    assert ">2026-12-13 09:05</td>" in page
    assert ">Scheduled</td>" in page


def test_the_columns_to_show_are_chosen_and_kept_for_rows_redrawn_alone(
    logged_client: Client, portal: Portal, hubspot: Any
) -> None:
    made = batch(logged_client, portal)
    url = reverse("appointments:batch-detail", args=[made.pk])

    page = logged_client.get(url, {"show": ["2"], "show-none": "1"}).text

    assert '<th scope="col">Appointment status</th>' in page
    assert '<th scope="col">Start time</th>' not in page
    row = logged_client.get(
        reverse("appointments:row-detail", args=[made.pk, 2]), headers={"HX-Request": "true"}
    ).text
    assert ">Scheduled</td>" in row and "2026-12-13" not in row


def test_a_batchs_times_are_in_its_own_zone_on_every_page(
    logged_client: Client, portal: Portal, hubspot: Any
) -> None:
    made = batch(logged_client, portal)
    Batch.objects.filter(pk=made.pk).update(
        created_at=datetime(2026, 12, 4, 20, 30, tzinfo=UTC),
        finished_at=datetime(2026, 12, 4, 21, 0, tzinfo=UTC),
    )

    detail = logged_client.get(reverse("appointments:batch-detail", args=[made.pk])).text
    history = logged_client.get(reverse("appointments:batch-history")).text
    dashboard = logged_client.get(reverse("appointments:home")).text

    # 20:30 UTC is 15:30 in New York, the batch's zone, wherever the batch is listed.
    assert "created 2026-12-04 15:30 EST" in detail
    assert "2026-12-04 15:30 EST" in history and "2026-12-04 16:00 EST" in history
    assert "2026-12-04 15:30 EST" in dashboard
