"""'Check HubSpot again': rows that may have been created are settled, found or not sent."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from appointments.hubspot.client import HubSpotClient
from appointments.models import Batch, BatchCall, BatchRow, Portal
from appointments.services.sending import _inputs
from sandbox.models import DEFAULT_SEARCH_LAG_SECONDS
from tests.sending.test_row_key import choose_row_key
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
    # Without a row key only search can look, and it may lag: not found is not "not created".
    assert (second.state, second.error_category) == (BatchRow.State.FAILED, "NOT_FOUND_BY_SEARCH")
    assert "1 row was found in HubSpot: it is marked created." in response.text
    assert "1 row is not in HubSpot&#x27;s search yet." in response.text
    # Nothing was sent by the check; the row not found is sent only by "Resend anyway".
    assert len(hubspot.journal("/batch/create")) == creates
    logged_client.post(reverse("appointments:batch-retry", args=[batch.pk]))
    assert len(hubspot.journal("/batch/create")) == creates
    logged_client.post(
        reverse("appointments:batch-resend-unfound", args=[batch.pk]), {"accept_duplicates": "yes"}
    )
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

    assert set(batch.rows.values_list("error_category", flat=True)) == {"NOT_FOUND_BY_SEARCH"}


def test_with_a_row_key_rows_not_read_back_are_not_sent_and_retried(
    logged_client: Client, portal: Portal, hubspot: Any, settings: Any
) -> None:
    choose_row_key(portal, hubspot)
    batch = unknown_batch(logged_client, portal, hubspot, settings)
    # A read by the row key is immediate: a row it does not find was not created.
    BatchCall.objects.filter(batch=batch).update(settles_at=timezone.now())

    logged_client.post(reverse("appointments:batch-check-hubspot", args=[batch.pk]))

    assert set(batch.rows.values_list("error_category", flat=True)) == {"NOT_SENT"}


def created_unanswered_batch(client: Client, portal: Portal, hubspot: Any, settings: Any) -> Batch:
    """A sent batch of two rows that HubSpot did create, whose answer never came, while its
    search lags 200 s (longer than any wait of the app: HubSpot documents no bound)."""
    hubspot.set_search_lag(200)
    upload(client, portal, csv_upload(rows_csv(2)))
    batch = Batch.objects.get()
    settings.HUBSPOT_TIMEOUT_SECONDS = 1  # after the upload, whose schema reads it also bounds
    hubspot.set_fault("create_timeout", times=1, path_contains="batch/create", hang_seconds=3)
    client.post(reverse("appointments:batch-submit", args=[batch.pk]))
    assert set(batch.rows.values_list("error_category", flat=True)) == {"UNKNOWN_OUTCOME"}
    assert len(hubspot.appointments()) == 2
    return batch


def test_rows_search_does_not_show_yet_are_never_resent_by_the_plain_retry(
    logged_client: Client, portal: Portal, hubspot: Any, settings: Any
) -> None:
    batch = created_unanswered_batch(logged_client, portal, hubspot, settings)
    # Long past the app's settle time, still short of HubSpot's (unbounded) search lag.
    hubspot.advance_clock(120)
    check = reverse("appointments:batch-check-hubspot", args=[batch.pk])

    response = logged_client.post(check, follow=True)

    assert set(batch.rows.values_list("error_category", flat=True)) == {"NOT_FOUND_BY_SEARCH"}
    assert "2 rows are not in HubSpot&#x27;s search yet." in response.text
    assert "may still appear" in response.text
    assert 'id="resend-unfound"' in response.text
    assert 'id="check-hubspot"' in response.text  # it can be looked for again
    creates = len(hubspot.journal("/batch/create"))
    # "Send the failed rows again" leaves them alone, and so does "Resend anyway" unticked.
    logged_client.post(reverse("appointments:batch-retry", args=[batch.pk]))
    unticked = logged_client.post(
        reverse("appointments:batch-resend-unfound", args=[batch.pk]), follow=True
    )
    assert "Nothing was sent" in unticked.text
    assert len(hubspot.journal("/batch/create")) == creates
    assert set(batch.rows.values_list("error_category", flat=True)) == {"NOT_FOUND_BY_SEARCH"}

    # Once search shows them, checking again finds both: nothing was duplicated.
    hubspot.advance_clock(100)
    logged_client.post(check)

    assert set(batch.rows.values_list("state", flat=True)) == {BatchRow.State.CREATED}
    assert len(hubspot.appointments()) == 2


def test_resend_anyway_sends_rows_search_did_not_show_after_the_warning(
    logged_client: Client, portal: Portal, hubspot: Any, settings: Any
) -> None:
    batch = created_unanswered_batch(logged_client, portal, hubspot, settings)
    BatchCall.objects.filter(batch=batch).update(sent_at=timezone.now() - timedelta(minutes=3))
    logged_client.post(reverse("appointments:batch-check-hubspot", args=[batch.pk]))
    page = logged_client.get(reverse("appointments:batch-detail", args=[batch.pk])).text
    assert "search did not show 2 rows 3 min after sending; they may still appear." in page

    logged_client.post(
        reverse("appointments:batch-resend-unfound", args=[batch.pk]),
        {"accept_duplicates": "yes"},
    )

    # The person accepted the risk: sent again, and here (search lagging) created twice.
    assert set(batch.rows.values_list("state", flat=True)) == {BatchRow.State.CREATED}
    assert len(hubspot.appointments()) == 4


def test_the_cli_checks_and_resends_unfound_rows_only_when_told_they_may_duplicate(
    logged_client: Client, portal: Portal, hubspot: Any, settings: Any
) -> None:
    batch = created_unanswered_batch(logged_client, portal, hubspot, settings)
    hubspot.advance_clock(120)  # search still lags
    out = io.StringIO()

    call_command("check_hubspot", str(batch.pk), "--user", "ops-amina", stdout=out)

    assert json.loads(out.getvalue())["not_found_by_search"] == 2
    with pytest.raises(CommandError, match="--accept-duplicates"):
        call_command("check_hubspot", str(batch.pk), "--user", "ops-amina", "--resend-unfound")
    assert len(hubspot.appointments()) == 2
    hubspot.advance_clock(100)  # search shows them now
    out = io.StringIO()
    call_command(
        "check_hubspot",
        str(batch.pk),
        "--user",
        "ops-amina",
        "--resend-unfound",
        "--accept-duplicates",
        stdout=out,
    )
    assert json.loads(out.getvalue()) == {
        "created": 2,
        "not_sent": 0,
        "not_found_by_search": 0,
        "too_soon": 0,
        "check_again_in_seconds": 0,
        "resent": 0,
    }
    assert len(hubspot.appointments()) == 2


def test_a_row_key_chosen_after_the_send_never_calls_its_rows_not_created(
    logged_client: Client, portal: Portal, hubspot: Any, settings: Any
) -> None:
    batch = created_unanswered_batch(logged_client, portal, hubspot, settings)
    # The person follows the page's advice: the portal gets a row key. These rows never
    # carried it, so a read by it finds nothing of them; only search can.
    choose_row_key(portal, hubspot)
    hubspot.advance_clock(120)

    logged_client.post(reverse("appointments:batch-check-hubspot", args=[batch.pk]))

    assert set(batch.rows.values_list("error_category", flat=True)) == {"NOT_FOUND_BY_SEARCH"}
    logged_client.post(reverse("appointments:batch-retry", args=[batch.pk]))
    assert len(hubspot.appointments()) == 2


def test_retry_and_resend_anyway_never_send_a_draft_past_its_confirmation(
    logged_client: Client, portal: Portal, hubspot: Any
) -> None:
    # A crafted POST or a stale tab: the draft's rows are sent only through Send, with its
    # confirmation, its look in HubSpot and its duplicate choice.
    upload(logged_client, portal, csv_upload(rows_csv(3)))
    batch = Batch.objects.get()
    assert batch.status == Batch.Status.DRAFT

    logged_client.post(reverse("appointments:batch-retry", args=[batch.pk]))
    logged_client.post(
        reverse("appointments:batch-resend-unfound", args=[batch.pk]), {"accept_duplicates": "yes"}
    )

    batch.refresh_from_db()
    assert batch.status == Batch.Status.DRAFT
    assert batch.rows.filter(state=BatchRow.State.READY).count() == 3
    assert hubspot.journal("/batch/create", method="POST") == []
