"""A hanging HubSpot costs a page view one attempt within HUBSPOT_PAGE_TIMEOUT_SECONDS, never
stacked read retries."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from appointments.models import Portal, Upload
from tests.web import csv_upload, rows_csv, upload

PROPERTIES = "/crm/properties/2026-03/0-421"
HANG_SECONDS = 2


@pytest.mark.parametrize("page", ["mapping", "grid", "template"])
def test_it_answers_within_the_page_timeout_when_a_schema_read_hangs(
    logged_client: Client, portal: Portal, hubspot: Any, settings: Any, page: str
) -> None:
    settings.HUBSPOT_PAGE_TIMEOUT_SECONDS = 1
    if page == "mapping":
        upload(logged_client, portal, csv_upload(rows_csv(2)))  # keeps the file, reads nothing
        url = reverse("appointments:upload-mapping", args=[Upload.objects.get().pk])
    elif page == "grid":
        url = reverse("appointments:grid-entry") + f"?portal={portal.pk}&timezone=Europe/Paris"
    else:
        url = reverse("appointments:portal-template", args=[portal.hub_id])
    # The sandbox takes the call, then holds the answer back and drops the connection.
    hubspot.set_fault("create_timeout", path_contains=PROPERTIES, hang_seconds=HANG_SECONDS)

    started = time.monotonic()
    # The template's download answers on the dashboard, where it was asked for.
    response = logged_client.get(url, follow=page == "template")
    elapsed = time.monotonic() - started

    assert response.status_code == 200
    assert "Could not read the portal" in response.text
    # A time-out named as one, with what to do: try again, check HubSpot; not reconnect.
    assert "it did not answer in time" in response.text
    assert "(time-out)" in response.text
    assert "Try again in a minute" in response.text
    assert "https://status.hubspot.com" in response.text
    assert "reconnect" not in response.text.lower().split("could not read the portal")[1][:400]
    assert "ConnectionError" not in response.text
    assert elapsed < 1.8, f"the page took {elapsed:.1f} s"
    assert len(hubspot.journal(PROPERTIES, method="GET")) == 1
    # Let the sandbox's held connection end before the database is flushed.
    time.sleep(max(0.0, HANG_SECONDS + 0.2 - elapsed))
