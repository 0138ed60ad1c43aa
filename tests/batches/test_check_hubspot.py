"""'Check HubSpot again': rows that may have been created are settled, found or not sent."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.test import Client
from django.urls import reverse
from django.utils import timezone

from appointments.hubspot.client import HubSpotClient
from appointments.models import Batch, BatchCall, BatchRow, Portal
from appointments.services.sending import _inputs
from sandbox.models import DEFAULT_SEARCH_LAG_SECONDS
from tests.web import csv_upload, rows_csv
from tests.web import upload_and_confirm as upload


def unknown_batch(client: Client, portal: Portal, hubspot: Any, settings: Any) -> Batch:
    """A sent batch of two rows whose outcome stayed unknown: every create and every search
    lost its connection after the request went out, until the engine gave up."""
    settings.HUBPORTAL_RETRY_WAIT_MAX_SECONDS = 0
    upload(client, portal, csv_upload(rows_csv(2)))
    batch = Batch.objects.get()
    hubspot.set_fault("drop")
    client.post(reverse("appointments:batch-submit", args=[batch.pk]))
    hubspot.set_fault("")
    assert set(batch.rows.values_list("error_category", flat=True)) == {"UNKNOWN_OUTCOME"}
    return batch


def test_it_settles_rows_that_may_have_been_created_both_ways(
    logged_client: Client, portal: Portal, hubspot: Any, settings: Any
) -> None:
    batch = unknown_batch(logged_client, portal, hubspot, settings)
    first, second = batch.rows.order_by("row_number")
    # HubSpot did create the first row's appointment; the second never reached it.
    with HubSpotClient(hubspot.token) as client:
        client.batch_create(_inputs(batch.layout, [first]))
    (record,) = hubspot.appointments()
    # Created just now: HubSpot's search shows it once its lag has passed.
    hubspot.advance_clock(DEFAULT_SEARCH_LAG_SECONDS)
    url = reverse("appointments:batch-detail", args=[batch.pk])
    assert 'id="check-hubspot"' in logged_client.get(url).text
    creates = len(hubspot.journal("/batch/create"))

    response = logged_client.post(
        reverse("appointments:batch-check-hubspot", args=[batch.pk]), follow=True
    )

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.state, first.hubspot_id, first.error_category) == (
        BatchRow.State.CREATED,
        record.record_id,
        "",
    )
    assert (second.state, second.error_category) == (BatchRow.State.FAILED, "NOT_SENT")
    assert "1 row was found in HubSpot: it is marked created." in response.text
    assert "1 row is not in HubSpot: it was not created and can be sent again." in response.text
    assert 'id="check-hubspot"' not in response.text
    # Nothing was sent by the check; the row not found is sent by "send the failed rows again".
    assert len(hubspot.journal("/batch/create")) == creates
    logged_client.post(reverse("appointments:batch-retry", args=[batch.pk]))
    second.refresh_from_db()
    assert second.state == BatchRow.State.CREATED
    assert len(hubspot.appointments()) == 2


def test_it_checks_hubspot_again_only_on_a_post_of_the_owner(
    logged_client: Client, portal: Portal, hubspot: Any, settings: Any, other_user: Any
) -> None:
    batch = unknown_batch(logged_client, portal, hubspot, settings)
    url = reverse("appointments:batch-check-hubspot", args=[batch.pk])

    assert logged_client.get(url).status_code == 405
    logged_client.force_login(other_user)
    assert logged_client.post(url).status_code == 404
    logged_client.logout()
    assert logged_client.post(url).status_code == 302  # to the login page
    assert set(batch.rows.values_list("error_category", flat=True)) == {"UNKNOWN_OUTCOME"}


def test_it_refuses_a_check_without_the_csrf_token(
    portal: Portal, hubspot: Any, settings: Any, user: Any, logged_client: Client
) -> None:
    batch = unknown_batch(logged_client, portal, hubspot, settings)
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(user)

    response = strict.post(reverse("appointments:batch-check-hubspot", args=[batch.pk]))

    assert response.status_code == 403
    assert set(batch.rows.values_list("error_category", flat=True)) == {"UNKNOWN_OUTCOME"}


def test_it_calls_no_row_not_sent_before_hubspots_search_has_settled(
    logged_client: Client, portal: Portal, hubspot: Any, settings: Any
) -> None:
    batch = unknown_batch(logged_client, portal, hubspot, settings)
    # The answer was lost a moment ago: a record it created may not be in search yet.
    BatchCall.objects.filter(batch=batch).update(settles_at=timezone.now() + timedelta(seconds=30))
    searches = len(hubspot.journal("/search"))

    response = logged_client.post(
        reverse("appointments:batch-check-hubspot", args=[batch.pk]), follow=True
    )

    assert set(batch.rows.values_list("error_category", flat=True)) == {"UNKNOWN_OUTCOME"}
    assert len(hubspot.journal("/search")) == searches  # not even asked
    assert "2 rows&#x27; answers were lost too recently" in response.text
    assert "check HubSpot again in 30 s" in response.text

    BatchCall.objects.filter(batch=batch).update(settles_at=timezone.now())
    logged_client.post(reverse("appointments:batch-check-hubspot", args=[batch.pk]))

    assert set(batch.rows.values_list("error_category", flat=True)) == {"NOT_SENT"}
