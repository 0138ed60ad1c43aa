"""The admins' activity page of a portal: every HubSpot call the app made for it in the last
day (recorded by the client), per hour, the error rate against HubSpot's 5 %, the 429s and the
latest errors with their correlation IDs; and the calls the worker makes are recorded as made
for the person it acts for."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from appointments.models import Batch, BatchRow, HubSpotCallLog, Portal
from appointments.services import access
from appointments.services.access import OPERATOR, role_set
from appointments.services.activity import portal_activity
from appointments.services.sending import batch_send
from tests.web import csv_upload, rows_csv
from tests.web import upload_and_confirm as upload

pytestmark = pytest.mark.django_db(transaction=True)


def sent(client: Client, portal: Portal, count: int) -> Batch:
    upload(client, portal, csv_upload(rows_csv(count)))
    batch = Batch.objects.latest("created_at")
    client.post(reverse("appointments:batch-submit", args=[batch.pk]))
    batch.refresh_from_db()
    return batch


def api_calls(hubspot: Any) -> list[tuple[str, str, int | None]]:
    """(method, path, status) of every API call the sandbox received, oldest first."""
    return [
        (entry.method, entry.path, entry.status)
        for entry in hubspot.journal()
        if not entry.path.startswith(("/sandbox", "/oauth"))
    ]


def test_it_records_every_call_the_app_makes_for_the_portal(
    logged_client: Client, portal: Portal, hubspot: Any, user: User
) -> None:
    batch = sent(logged_client, portal, 120)
    assert batch.status == Batch.Status.COMPLETED

    logged = list(
        HubSpotCallLog.objects.filter(hub_id=portal.hub_id)
        .order_by("pk")
        .values_list("method", "path", "status")
    )
    assert logged == api_calls(hubspot)
    assert ("POST", "/crm/objects/2026-03/0-421/batch/create", 201) in logged
    creates = HubSpotCallLog.objects.filter(path__endswith="/batch/create")
    assert {(c.user, c.duration_ms is not None) for c in creates} == {(user, True)}
    assert set(creates.values_list("correlation_id", flat=True)) == set(
        batch.calls.values_list("correlation_id", flat=True)
    )


def test_the_page_shows_the_error_rate_429s_and_recent_errors_for_admins_only(
    logged_client: Client, portal: Portal, hubspot: Any, other_user: User
) -> None:
    hubspot.set_limits(daily=9)  # 7 schema reads at upload, then two creates, then 429
    batch = sent(logged_client, portal, 250)
    assert batch.status == Batch.Status.PAUSED
    calls = api_calls(hubspot)
    errors = [call for call in calls if call[2] is None or call[2] >= 400]
    assert errors and all(call[2] == 429 for call in errors)
    # A call from two days ago is not of the last day.
    HubSpotCallLog.objects.create(
        hub_id=portal.hub_id, method="GET", path="/old", status=500,
        at=timezone.now() - timedelta(days=2),
    )  # fmt: skip
    url = reverse("appointments:portal-activity", args=[portal.hub_id])

    page = logged_client.get(url).text

    rate = 100 * len(errors) / len(calls)
    assert rate > 5
    assert f'<dd id="activity-calls">{len(calls)}</dd>' in page
    assert f'<dd id="activity-429">{len(errors)}</dd>' in page
    assert f"{rate:.1f} %" in page
    assert "Above HubSpot\N{RIGHT SINGLE QUOTATION MARK}s guideline" in page
    correlation = hubspot.journal(method="POST")[-1].correlation_id
    assert correlation and correlation in page
    assert "/old" not in page
    # An operator granted the portal still may not see its calls.
    access.portal_grant(by=batch.created_by, portal=portal, user=other_user)
    operator = Client()
    operator.force_login(other_user)
    assert operator.get(url).status_code == 403


def test_a_quiet_portal_is_within_the_guideline(
    logged_client: Client, portal: Portal, user: User
) -> None:
    # A quarter to the hour, in the past: the last hour holds the calls at :45 and :15.
    now = timezone.now().replace(minute=0, second=0, microsecond=0) - timedelta(minutes=15)
    for minutes in range(40):
        HubSpotCallLog.objects.create(
            hub_id=portal.hub_id, method="GET", path="/crm/owners/2026-03", status=200,
            at=now - timedelta(minutes=minutes * 30),
        )  # fmt: skip
    HubSpotCallLog.objects.create(
        hub_id=portal.hub_id, method="POST", path="/x", status=None, error_category="TIMED_OUT",
        at=now,
    )  # fmt: skip

    activity = portal_activity(user=user, portal=portal, now=now)

    assert (activity.calls, activity.errors, activity.rate_limited) == (41, 1, 0)
    assert activity.error_rate == pytest.approx(100 / 41) and not activity.above_limit
    assert sum(hour.calls for hour in activity.hours) == 41
    assert activity.hours[-1].calls == 3 and activity.hours[-1].errors == 1
    [error] = activity.recent_errors
    assert error.error_category == "TIMED_OUT"
    page = logged_client.get(reverse("appointments:portal-activity", args=[portal.hub_id])).text
    assert "Within HubSpot\N{RIGHT SINGLE QUOTATION MARK}s guideline" in page


def test_the_worker_acts_for_the_sender_and_stops_when_they_lost_the_portal(
    logged_client: Client, portal: Portal, hubspot: Any, user: User, settings: Any,
    django_user_model: type[User],
) -> None:  # fmt: skip
    operator = django_user_model.objects.create_user(username="ops-carla")
    role_set(operator, OPERATOR)
    access.portal_grant(by=user, portal=portal, user=operator)
    client = Client()
    client.force_login(operator)
    upload(client, portal, csv_upload(rows_csv(3)))
    batch = Batch.objects.get()
    # Queued now, sent later by a worker: meanwhile the admin takes the portal away.
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    client.post(reverse("appointments:batch-submit", args=[batch.pk]))
    batch.refresh_from_db()
    assert batch.status == Batch.Status.QUEUED and batch.sent_by == operator
    access.portal_revoke(by=user, portal=portal, user=operator)

    batch_send(batch_id=str(batch.pk))

    batch.refresh_from_db()
    assert batch.status == Batch.Status.PAUSED
    assert batch.status_text == (
        "ops-carla may no longer send this batch. Someone allowed to send it can press Send."
    )
    assert hubspot.journal("/batch/create") == []
    # The admin resumes it: sent for the admin, and the calls say so.
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    logged_client.post(reverse("appointments:batch-submit", args=[batch.pk]))
    batch.refresh_from_db()
    assert batch.status == Batch.Status.COMPLETED and batch.sent_by == user
    assert batch.rows.filter(state=BatchRow.State.CREATED).count() == 3
    creates = HubSpotCallLog.objects.filter(path__endswith="/batch/create")
    assert set(creates.values_list("user__username", flat=True)) == {"ops-amina"}
    audit = logged_client.get(reverse("appointments:batch-export-audit", args=[batch.pk])).json()
    assert (audit["batch"]["created_by"], audit["batch"]["sent_by"]) == ("ops-carla", "ops-amina")
    # Undo is done for whoever pressed it.
    logged_client.post(reverse("appointments:batch-undo", args=[batch.pk]))
    batch.refresh_from_db()
    assert batch.status == Batch.Status.UNDONE
    archives = HubSpotCallLog.objects.filter(path__endswith="/batch/archive")
    assert archives.exists()
    assert set(archives.values_list("user__username", flat=True)) == {"ops-amina"}
