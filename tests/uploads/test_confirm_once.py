"""One upload, one batch, whatever happens: concurrent confirms, a confirm killed midway, a
grid form posted twice."""

from __future__ import annotations

import re
import threading
from typing import Any

import pytest
import requests
from django.conf import settings as django_settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from appointments.models import Batch, BatchRow, Portal, Upload
from appointments.services import batches as batch_services
from sandbox.seed import DEMO_CONTACT_IDS
from tests.web import HEADER, csv_file, form_values, mapping_url, upload

CONFIRMS = 4


def many_rows(count: int) -> list[str]:
    return [HEADER] + [
        f"Visit {n},2026-12-03 14:00,2026-12-03 14:45,Scheduled,,{DEMO_CONTACT_IDS[0]}"
        for n in range(1, count + 1)
    ]


def browser(live_server: Any, logged_client: Client) -> requests.Session:
    """A requests session carrying the logged-in client's session cookie and a CSRF token."""
    session = requests.Session()
    name = django_settings.SESSION_COOKIE_NAME
    session.cookies.set(name, logged_client.cookies[name].value)
    session.get(live_server.url + reverse("appointments:home"), timeout=10)
    return session


def test_concurrent_confirms_of_one_upload_make_one_batch(
    live_server: Any, logged_client: Client, portal: Portal
) -> None:
    upload(logged_client, portal, csv_file(many_rows(300)))
    url = mapping_url()
    sessions = [browser(live_server, logged_client) for _ in range(CONFIRMS)]
    pages = [s.get(live_server.url + url, timeout=30) for s in sessions]
    go = threading.Barrier(CONFIRMS)
    answers: list[int] = []

    def confirm(session: requests.Session, page: str) -> None:
        values = form_values(page, "mapping-form")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert token
        values["csrfmiddlewaretoken"] = token.group(1)
        go.wait()
        response = session.post(
            live_server.url + url,
            data=values,
            headers={"Referer": live_server.url + url},
            allow_redirects=False,
            timeout=60,
        )
        answers.append(response.status_code)

    threads = [
        threading.Thread(target=confirm, args=(s, p.text))
        for s, p in zip(sessions, pages, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert answers == [302] * CONFIRMS
    batch = Batch.objects.get()
    assert Upload.objects.get().batch == batch
    assert batch.status == Batch.Status.DRAFT
    assert batch.rows.count() == 300
    assert sorted(batch.rows.values_list("row_number", flat=True)) == list(range(2, 302))


def test_a_confirm_killed_midway_is_resumed_never_duplicated(
    logged_client: Client, portal: Portal, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    upload(logged_client, portal, csv_file(many_rows(5)))
    values = form_values(logged_client.get(mapping_url()).text, "mapping-form")
    monkeypatch.setattr(batch_services, "CHUNK_ROWS", 2)
    stored = batch_services.batch_rows_store_encoded
    chunks: list[int] = []

    def dies_after_the_first_chunk(**kwargs: Any) -> int:
        if chunks:
            raise SystemExit("killed")  # the process dies: what was committed stays
        chunks.append(1)
        return stored(**kwargs)

    monkeypatch.setattr(batch_services, "batch_rows_store_encoded", dies_after_the_first_chunk)
    with pytest.raises(SystemExit):
        logged_client.post(mapping_url(), values)
    monkeypatch.setattr(batch_services, "batch_rows_store_encoded", stored)

    batch = Batch.objects.get()
    assert batch.status == Batch.Status.STORING
    assert Upload.objects.get().batch == batch
    assert batch.rows.count() == 2
    # Confirmed again (the page reloaded) while the lease still runs: the same batch.
    again = logged_client.post(mapping_url(), values)
    assert again["Location"] == reverse("appointments:batch-detail", args=[batch.pk])
    assert Batch.objects.count() == 1
    page = logged_client.get(again["Location"])
    assert 'hx-trigger="every 2s"' in page.text  # polls while the rows are being stored

    # Once the lease has run out, the next visit stores the rows again (tasks run inline here).
    settings.HUBPORTAL_STORING_LEASE = 0
    logged_client.get(reverse("appointments:batch-detail", args=[batch.pk]))

    batch.refresh_from_db()
    assert Batch.objects.count() == 1
    assert batch.status == Batch.Status.DRAFT
    assert sorted(batch.rows.values_list("row_number", flat=True)) == [2, 3, 4, 5, 6]
    assert set(batch.rows.values_list("state", flat=True)) == {BatchRow.State.READY}
    assert bytes(Upload.objects.get().data) == b""


def test_a_batch_still_being_stored_cannot_be_sent(logged_client: Client, portal: Portal) -> None:
    upload(logged_client, portal, csv_file(many_rows(3)))
    logged_client.post(
        mapping_url(), form_values(logged_client.get(mapping_url()).text, "mapping-form")
    )
    batch = Batch.objects.get()
    # Being stored by another process right now (its lease is fresh).
    Batch.objects.filter(pk=batch.pk).update(
        status=Batch.Status.STORING, worker="elsewhere:1:x", heartbeat_at=timezone.now()
    )

    page = logged_client.post(reverse("appointments:batch-submit", args=[batch.pk]), follow=True)
    checked = logged_client.post(
        reverse("appointments:batch-check-records", args=[batch.pk]), follow=True
    )

    batch.refresh_from_db()
    assert batch.status == Batch.Status.STORING
    assert not batch.calls.exists()
    for answer in (page, checked):
        assert "The rows of this batch are still being checked and stored" in answer.text


def test_the_same_grid_form_posted_twice_makes_one_batch(
    logged_client: Client, portal: Portal
) -> None:
    url = reverse("appointments:grid-entry") + f"?portal={portal.pk}&timezone=Europe/Paris"
    values = form_values(logged_client.get(url).text, "grid-form")
    assert re.fullmatch(r"[0-9a-f]{32}", values["form_key"])
    values.update({"r0-hs_appointment_name": "Intake", "action": "create"})

    first = logged_client.post(reverse("appointments:grid-entry"), values)
    second = logged_client.post(reverse("appointments:grid-entry"), values)

    batch = Batch.objects.get()
    target = reverse("appointments:batch-detail", args=[batch.pk])
    assert first["Location"] == second["Location"] == target
    numbers = list(batch.rows.values_list("row_number", flat=True))
    assert 1 in numbers and len(numbers) == len(set(numbers))


def test_the_same_grid_form_posted_again_with_other_rows_makes_a_new_batch(
    logged_client: Client, portal: Portal
) -> None:
    url = reverse("appointments:grid-entry") + f"?portal={portal.pk}&timezone=Europe/Paris"
    values = form_values(logged_client.get(url).text, "grid-form")
    values.update({"r0-hs_appointment_name": "Intake", "action": "create"})
    first = logged_client.post(reverse("appointments:grid-entry"), values)
    # Back in the browser, the name changed, checked again with the same form.
    values["r0-hs_appointment_name"] = "Intake (moved)"
    second = logged_client.post(reverse("appointments:grid-entry"), values)

    assert first["Location"] != second["Location"]
    names = sorted(row.appointment_name for row in BatchRow.objects.filter(row_number=1))
    assert names == ["Intake", "Intake (moved)"]
