"""Token keys changed (HUBPORTAL_TOKEN_KEYS after a restart): the portal needs reconnecting, with
the reason, on every page that reads a token and in the worker; never a 500, never a stuck batch."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.test import Client
from django.urls import reverse

from appointments.models import Batch, BatchRow, Portal, Upload
from appointments.services.portals import portal_access_token
from tests.web import (
    CALLBACK,
    consent,
    csv_upload,
    follow,
    rows_csv,
    start,
    upload,
    upload_and_confirm,
)

REASON = "cannot be decrypted"


def connect(client: Client, hubspot: Any) -> Portal:
    hubspot.register_redirect_uri(CALLBACK)
    follow(client, consent(start(client), decision="approve", hub_id=hubspot.hub_id))
    return Portal.objects.get()


def change_token_keys(settings: Any) -> list[str]:
    """What a restart with a new HUBPORTAL_TOKEN_KEYS (the old key dropped) does; returns the
    keys that were in use before."""
    previous = list(settings.HUBPORTAL_TOKEN_KEYS)
    settings.HUBPORTAL_TOKEN_KEYS = [Fernet.generate_key().decode()]
    return previous


def assert_needs_reconnect(client: Client, portal: Portal) -> None:
    portal.refresh_from_db()
    assert portal.status == Portal.Status.NEEDS_RECONNECT
    assert REASON in portal.status_message
    assert "HUBPORTAL_TOKEN_KEYS" in portal.status_message
    dashboard = client.get(reverse("appointments:home"))
    assert "Needs reconnecting" in dashboard.text
    assert REASON in dashboard.text


@pytest.mark.parametrize("page", ["dashboard", "grid", "template", "mapping", "check-records"])
def test_it_says_the_portal_needs_reconnecting_on_each_page_reading_a_token(
    logged_client: Client, hubspot: Any, settings: Any, page: str
) -> None:
    portal = connect(logged_client, hubspot)
    if page == "mapping":
        upload(logged_client, portal, csv_upload(rows_csv(2)))  # keeps the file, reads nothing
        url = reverse("appointments:upload-mapping", args=[Upload.objects.get().pk])
    elif page == "check-records":
        upload_and_confirm(logged_client, portal, csv_upload(rows_csv(2)))
        url = reverse("appointments:batch-check-records", args=[Batch.objects.get().pk])
    elif page == "grid":
        url = reverse("appointments:grid-entry") + f"?portal={portal.pk}&timezone=Europe/Paris"
    elif page == "template":
        url = reverse("appointments:portal-template", args=[portal.hub_id])
    else:
        url = reverse("appointments:home")
    change_token_keys(settings)

    if page == "check-records":
        response = logged_client.post(url, follow=True)
    else:
        # The template's download answers on the dashboard, where it was asked for.
        response = logged_client.get(url, follow=page == "template")

    assert response.status_code == 200
    assert REASON in response.text
    assert_needs_reconnect(logged_client, portal)


def test_it_disconnects_a_portal_whose_tokens_cannot_be_decrypted(
    logged_client: Client, hubspot: Any, settings: Any
) -> None:
    portal = connect(logged_client, hubspot)
    change_token_keys(settings)

    response = logged_client.post(
        reverse("appointments:portal-disconnect", args=[portal.hub_id]), follow=True
    )

    assert response.status_code == 200
    assert f"Disconnected HubSpot portal {portal.hub_id}" in response.text
    assert "could not be revoked at HubSpot" in response.text
    portal.refresh_from_db()
    assert portal.status == Portal.Status.DISCONNECTED
    assert portal.access_token_encrypted == portal.refresh_token_encrypted == ""
    assert hubspot.journal("/token/revoke") == []


def test_it_works_again_once_the_previous_key_is_back(
    logged_client: Client, hubspot: Any, settings: Any
) -> None:
    settings.HUBPORTAL_TOKEN_KEYS = [Fernet.generate_key().decode()]
    portal = connect(logged_client, hubspot)
    grid = reverse("appointments:grid-entry") + f"?portal={portal.pk}&timezone=Europe/Paris"
    previous = change_token_keys(settings)
    assert REASON in logged_client.get(grid).text

    settings.HUBPORTAL_TOKEN_KEYS = [*settings.HUBPORTAL_TOKEN_KEYS, *previous]
    dashboard = logged_client.get(reverse("appointments:home"))

    assert "Needs reconnecting" not in dashboard.text and REASON not in dashboard.text
    portal.refresh_from_db()
    assert portal.status == Portal.Status.ACTIVE and portal.status_message == ""
    assert 'id="grid-form"' in logged_client.get(grid).text
    assert portal_access_token(portal=portal) == portal.access_token


def test_it_pauses_a_batch_whose_tokens_cannot_be_decrypted_and_resumes_after_reconnecting(
    logged_client: Client, hubspot: Any, settings: Any
) -> None:
    portal = connect(logged_client, hubspot)
    upload_and_confirm(logged_client, portal, csv_upload(rows_csv(150)))
    batch = Batch.objects.get()
    change_token_keys(settings)

    logged_client.post(reverse("appointments:batch-submit", args=[batch.pk]))

    batch.refresh_from_db()
    assert batch.status == Batch.Status.PAUSED
    assert REASON in batch.status_text and "Reconnect the portal" in batch.status_text
    states = Counter(batch.rows.values_list("state", flat=True))
    assert states == {BatchRow.State.READY: 150}
    assert hubspot.journal("/batch/create") == []
    assert REASON in logged_client.get(reverse("appointments:batch-detail", args=[batch.pk])).text
    assert_needs_reconnect(logged_client, portal)

    connect(logged_client, hubspot)  # with the new key
    logged_client.post(reverse("appointments:batch-submit", args=[batch.pk]))

    batch.refresh_from_db()
    assert batch.status == Batch.Status.COMPLETED
    names = Counter(r.properties["hs_appointment_name"] for r in hubspot.appointments())
    assert len(names) == 150 and set(names.values()) == {1}
    assert set(batch.rows.values_list("state", flat=True)) == {BatchRow.State.CREATED}


def test_the_grid_says_why_a_portal_that_needs_reconnecting_cannot_be_chosen(
    logged_client: Client, hubspot: Any, settings: Any
) -> None:
    portal = connect(logged_client, hubspot)
    url = reverse("appointments:grid-entry")
    shown = logged_client.get(url + f"?portal={portal.pk}&timezone=Europe/Paris")
    assert 'id="grid-form"' in shown.text
    change_token_keys(settings)
    # The first read after the restart finds the tokens unreadable and marks the portal.
    logged_client.get(url + f"?portal={portal.pk}&timezone=Europe/Paris")
    portal.refresh_from_db()
    assert portal.status == Portal.Status.NEEDS_RECONNECT

    # The grid still on screen adds a row (htmx), then the person chooses the portal again.
    added = logged_client.post(
        url,
        {"portal": portal.pk, "timezone": "Europe/Paris", "rows": "1", "action": "add"},
        headers={"HX-Request": "true"},
    )
    again = logged_client.get(url + f"?portal={portal.pk}&timezone=Europe/Paris")

    for response in (added, again):
        assert response.status_code == 200
        assert "Select a valid choice" not in response.text
        assert f"HubSpot {portal.hub_id} needs reconnecting" in response.text
        assert REASON in response.text
        assert "Reconnect it from the dashboard" in response.text
    assert "<html" not in added.text
