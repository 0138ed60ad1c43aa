"""A portal that cannot take appointments says so at connect and on the dashboard, and Send
refuses with the reason and what an admin must do."""

from __future__ import annotations

from typing import Any

from django.test import Client
from django.urls import reverse

from appointments.models import Batch, Portal
from sandbox.models import Portal as SandboxPortal
from sandbox.seed import register_redirect_uri
from tests.web import CALLBACK, consent, csv_upload, follow, rows_csv, start
from tests.web import upload_and_confirm as upload

NOT_ACTIVATED = "The appointments object is not activated in this HubSpot portal"


def test_connecting_a_portal_without_appointments_says_so_on_the_dashboard(
    logged_client: Client, hubspot: Any
) -> None:
    hubspot.disable_appointments()
    register_redirect_uri(CALLBACK)

    page = follow(
        logged_client, consent(start(logged_client), decision="approve", hub_id=hubspot.hub_id)
    )

    assert "Cannot take appointments" in page.text
    assert NOT_ACTIVATED in page.text
    assert "object library" in page.text
    portal = Portal.objects.get(hub_id=hubspot.hub_id)
    assert portal.readiness_checked_at is not None


def test_a_ready_portal_shows_no_problem_and_check_again_clears_one(
    logged_client: Client, portal: Portal, hubspot: Any
) -> None:
    hubspot.disable_appointments()
    url = reverse("appointments:portal-readiness", args=[portal.hub_id])
    page = logged_client.post(url, follow=True)
    assert NOT_ACTIVATED in page.text
    SandboxPortal.objects.filter(hub_id=hubspot.hub_id).update(appointments_enabled=True)

    page = logged_client.post(url, follow=True)

    assert f"Portal {portal.hub_id} can take appointments." in page.text
    assert "Cannot take appointments" not in page.text


def test_send_is_refused_with_the_reason_when_appointments_are_not_activated(
    logged_client: Client, portal: Portal, hubspot: Any
) -> None:
    upload(logged_client, portal, csv_upload(rows_csv(3)))
    batch = Batch.objects.get()
    hubspot.disable_appointments()

    page = logged_client.post(
        reverse("appointments:batch-submit", args=[batch.pk]), {"check_records": "1"}, follow=True
    )

    assert "Nothing was sent: this portal cannot take appointments." in page.text
    assert NOT_ACTIVATED in page.text
    assert hubspot.journal("/batch/create") == []
    batch.refresh_from_db()
    assert batch.status == Batch.Status.DRAFT


def test_a_connection_without_the_write_scope_is_not_ready(
    logged_client: Client, portal: Portal, hubspot: Any
) -> None:
    Portal.objects.filter(pk=portal.pk).update(scopes=["crm.objects.appointments.read"])

    page = logged_client.post(
        reverse("appointments:portal-readiness", args=[portal.hub_id]), follow=True
    )

    assert "was not granted crm.objects.appointments.write" in page.text
    assert "reconnect the portal" in page.text
