"""Duplicates: inside the file, sent before to the portal, and the same file uploaded twice."""

from __future__ import annotations

import json
from typing import Any
from zoneinfo import ZoneInfo

import requests
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client
from django.urls import reverse

from appointments.models import Batch, BatchRow, Portal
from appointments.services.duplicates import batch_duplicates
from sandbox.models import DEFAULT_SEARCH_LAG_SECONDS
from sandbox.seed import DEMO_COMPANY_IDS, DEMO_CONTACT_IDS
from tests.web import BATCH_HEADER, csv_upload, rows_csv, upload_and_confirm


def confirmed(client: Client, portal: Portal, lines: list[str], name: str) -> Batch:
    upload_and_confirm(client, portal, csv_upload(lines, name=name))
    return Batch.objects.get(filename=name)


def submit(client: Client, batch: Batch, **data: str) -> Batch:
    client.post(reverse("appointments:batch-submit", args=[batch.pk]), data)
    batch.refresh_from_db()
    return batch


def test_a_second_send_of_the_same_file_warns_and_on_skip_creates_nothing(
    logged_client: Client, portal: Portal, hubspot: Any
) -> None:
    lines = rows_csv(30)
    first = submit(logged_client, confirmed(logged_client, portal, lines, "week.csv"))
    assert first.status == Batch.Status.COMPLETED
    assert len(hubspot.appointments()) == 30

    upload_and_confirm(logged_client, portal, csv_upload(lines, name="week.csv"))
    second = Batch.objects.exclude(pk=first.pk).get()
    assert second.file_sha256 == first.file_sha256 != ""
    page = logged_client.get(reverse("appointments:batch-detail", args=[second.pk]))
    assert "The same file (same SHA-256) was already uploaded as batch" in page.text
    assert reverse("appointments:batch-detail", args=[first.pk]) in page.text
    assert "30 rows are appointments this app already created" in page.text
    assert 'name="on_duplicate" value="skip" checked' in page.text

    # Without a choice (a script, a stale form): nothing is sent, the page says why.
    response = logged_client.post(
        reverse("appointments:batch-submit", args=[second.pk]), follow=True
    )
    assert "30 rows were already sent to this portal" in response.text
    second.refresh_from_db()
    assert second.status == Batch.Status.DRAFT

    submit(logged_client, second, on_duplicate="skip")
    assert len(hubspot.appointments()) == 30
    assert second.rows.filter(state=BatchRow.State.EXCLUDED).count() == 30
    excluded = second.rows.get(row_number=2)
    assert "already created it" in excluded.error_message


def test_create_anyway_sends_the_duplicates(
    logged_client: Client, portal: Portal, hubspot: Any
) -> None:
    lines = rows_csv(3)
    submit(logged_client, confirmed(logged_client, portal, lines, "a.csv"))
    again = confirmed(logged_client, portal, lines, "b.csv")
    submit(logged_client, again, on_duplicate="create")
    assert len(hubspot.appointments()) == 6


def test_in_file_duplicates_are_grouped_and_settled_per_group(
    logged_client: Client, portal: Portal, hubspot: Any
) -> None:
    contact, other_contact = DEMO_CONTACT_IDS[0], DEMO_CONTACT_IDS[1]
    company = DEMO_COMPANY_IDS[0]
    lines = [
        BATCH_HEADER,
        f"Visit,2026-12-03 14:00,2026-12-03 15:00,Scheduled,{contact},{company}",  # row 2
        f"Other,2026-12-03 16:00,2026-12-03 17:00,Scheduled,{contact},{company}",  # row 3
        f"Visit again,2026-12-03 14:00,2026-12-03 15:00,Scheduled,{contact},",  # row 4
        f"Same time,2026-12-03 14:00,2026-12-03 15:00,Scheduled,{other_contact},",  # row 5
        f"Third,2026-12-03 14:00,2026-12-03 15:00,Scheduled,{contact},",  # row 6
        f"Pair,2026-12-04 09:00,2026-12-04 10:00,Scheduled,{other_contact},",  # row 7
        f"Pair,2026-12-04 09:00,2026-12-04 10:00,Scheduled,{other_contact},",  # row 8
    ]
    batch = confirmed(logged_client, portal, lines, "dupes.csv")
    assert batch_duplicates(batch=batch).in_file == [[2, 4, 6], [7, 8]]
    page = logged_client.get(reverse("appointments:batch-detail", args=[batch.pk]))
    assert "Rows 2, 4, 6" in page.text and "Rows 7, 8" in page.text

    url = reverse("appointments:batch-duplicates-resolve", args=[batch.pk])
    logged_client.post(url, {"rows": "2,4,6", "choice": "keep_first"})
    logged_client.post(url, {"rows": "7,8", "choice": "keep_all"})
    states = dict(batch.rows.values_list("row_number", "state"))
    assert states[4] == states[6] == BatchRow.State.EXCLUDED
    assert states[2] == states[7] == states[8] == BatchRow.State.READY
    batch.refresh_from_db()
    assert batch_duplicates(batch=batch).in_file == []

    logged_client.post(url, {"rows": "7,8", "choice": "exclude"})
    states = dict(batch.rows.values_list("row_number", "state"))
    assert states[7] == states[8] == BatchRow.State.EXCLUDED
    assert "not understood" in logged_client.post(url, {"rows": "x"}, follow=True).text


def hubspot_create(hubspot: Any, start: str, contact: str, **props: str) -> str:
    """An appointment made in HubSpot by someone else (not through the app), associated with
    ``contact``, with ``props`` besides its name, start and end."""
    answer = requests.post(
        hubspot.url("/crm/objects/2026-03/0-421/batch/create"),
        json={
            "inputs": [
                {
                    "properties": {
                        "hs_appointment_name": "Booked by phone",
                        "hs_appointment_start": start,
                        "hs_appointment_end": start.replace("T13", "T14"),
                    }
                    | props,
                    "associations": [
                        {
                            "to": {"id": contact},
                            "types": [
                                {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 906}
                            ],
                        }
                    ],
                }
            ]
        },
        headers={"Authorization": f"Bearer {hubspot.token}"},
        timeout=10,
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["results"][0]["id"])


def test_it_finds_appointments_made_in_hubspot_and_skips_them(
    logged_client: Client, portal: Portal, hubspot: Any
) -> None:
    contact, other = DEMO_CONTACT_IDS[0], DEMO_CONTACT_IDS[1]
    # Paris 14:00 in December is 13:00 UTC.
    existing = hubspot_create(hubspot, "2026-12-03T13:00:00Z", contact)
    hubspot_create(hubspot, "2026-12-03T13:00:00Z", DEMO_CONTACT_IDS[5])  # another contact
    # Made in HubSpot a while ago: past the search index's lag (the sandbox's default).
    hubspot.advance_clock(DEFAULT_SEARCH_LAG_SECONDS + 1)
    lines = [
        BATCH_HEADER,
        f"Visit,2026-12-03 14:00,2026-12-03 15:00,Scheduled,{contact},",  # row 2: in HubSpot
        f"Visit,2026-12-03 14:00,2026-12-03 15:00,Scheduled,{other},",  # row 3: not
        f"Later,2026-12-03 16:00,2026-12-03 17:00,Scheduled,{contact},",  # row 4: not
    ]
    batch = confirmed(logged_client, portal, lines, "phone.csv")
    response = logged_client.post(
        reverse("appointments:batch-duplicates-search", args=[batch.pk]), follow=True
    )
    assert "1 row matches an appointment already in HubSpot" in response.text
    assert f"/record/0-421/{existing}" in response.text
    searches = [json.loads(e.request_body) for e in hubspot.journal("/search")]
    assert len(searches) == 1  # one per 100 distinct starts, whatever the contacts
    submit(logged_client, batch, on_duplicate="skip")
    assert batch.rows.get(row_number=2).state == BatchRow.State.EXCLUDED
    assert len(hubspot.appointments()) == 4


def test_it_does_not_report_as_found_in_hubspot_what_the_app_sent(
    logged_client: Client, portal: Portal, hubspot: Any
) -> None:
    lines = rows_csv(3)
    submit(logged_client, confirmed(logged_client, portal, lines, "a.csv"))
    again = confirmed(logged_client, portal, lines, "b.csv")
    logged_client.post(reverse("appointments:batch-duplicates-search", args=[again.pk]))
    again.refresh_from_db()
    assert again.hubspot_duplicates == []
    assert len(batch_duplicates(batch=again).sent) == 3


def test_duplicates_found_in_hubspot_wait_for_a_decision_mailed_once(
    logged_client: Client, portal: Portal, hubspot: Any, user: User
) -> None:
    user.email = "amina@example.com"
    user.save()
    contact = DEMO_CONTACT_IDS[0]
    hubspot_create(hubspot, "2026-12-03T13:00:00Z", contact)
    hubspot.advance_clock(DEFAULT_SEARCH_LAG_SECONDS + 1)
    lines = [BATCH_HEADER, f"Visit,2026-12-03 14:00,2026-12-03 15:00,Scheduled,{contact},"]
    batch = confirmed(logged_client, portal, lines, "phone.csv")
    search = reverse("appointments:batch-duplicates-search", args=[batch.pk])

    logged_client.post(search)
    logged_client.post(search)  # the same wait, looked at again: no second mail

    [message] = mail.outbox
    assert message.to == ["amina@example.com"]
    assert message.subject == "phone.csv waits for a decision: duplicates in HubSpot"
    assert f"1 row is already in HubSpot portal {portal.hub_id}" in message.body
    submit(logged_client, batch, on_duplicate="skip")
    assert len(mail.outbox) == 1  # nothing left to send: no other mail


def test_the_send_confirmation_counts_neither_skipped_duplicates_nor_rows_past_the_canary(
    logged_client: Client, portal: Portal, hubspot: Any
) -> None:
    submit(logged_client, confirmed(logged_client, portal, rows_csv(30), "week.csv"))
    second = confirmed(logged_client, portal, rows_csv(35), "week-and-more.csv")
    url = reverse("appointments:batch-submit", args=[second.pk])

    skip = logged_client.get(url, {"on_duplicate": "skip"}).text
    canary = logged_client.get(
        url, {"on_duplicate": "skip", "canary": "on", "canary_size": "3"}
    ).text

    assert f"Send 5 appointments to {portal}" in skip
    assert "30 rows already sent to this portal are skipped: they are not sent again." in skip
    assert f"Send the first 3 of 5 appointments to {portal}" in canary
    # Undo exists: the page says so, never that the send cannot be taken back.
    assert "cannot be taken back" not in skip
    assert "HubSpot keeps archived records 90 days" in skip
    submit(logged_client, second, on_duplicate="skip", canary="on", canary_size="3")
    assert len(hubspot.appointments()) == 33


def test_the_same_file_notice_gives_its_time_in_the_batch_zone_with_its_label(
    logged_client: Client, portal: Portal, hubspot: Any
) -> None:
    first = confirmed(logged_client, portal, rows_csv(2), "week.csv")
    upload_and_confirm(
        logged_client, portal, csv_upload(rows_csv(2), name="week.csv"), tz="America/New_York"
    )
    second = Batch.objects.exclude(pk=first.pk).get()

    page = logged_client.get(reverse("appointments:batch-detail", args=[second.pk])).text

    when = first.created_at.astimezone(ZoneInfo("America/New_York"))
    assert f"on {when:%Y-%m-%d %H:%M} {when.tzname()}." in page
