"""The sender gets an e-mail when their batch finishes or pauses (Django's test outbox)."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client
from django.urls import reverse

from appointments.models import Batch, Portal
from tests.web import csv_upload, rows_csv
from tests.web import upload_and_confirm as upload

pytestmark = pytest.mark.django_db(transaction=True)


def send(client: Client, portal: Portal, count: int) -> Batch:
    upload(client, portal, csv_upload(rows_csv(count)))
    batch = Batch.objects.get()
    client.post(reverse("appointments:batch-submit", args=[batch.pk]))
    batch.refresh_from_db()
    return batch


@pytest.fixture
def sender(user: User) -> User:
    user.email = "amina@example.com"
    user.save()
    return user


def test_it_mails_the_sender_when_the_batch_finishes(
    logged_client: Client, portal: Portal, sender: User, settings: Any
) -> None:
    settings.HUBPORTAL_SITE_URL = "https://ops.example.com"
    batch = send(logged_client, portal, 120)
    assert batch.status == Batch.Status.COMPLETED
    [message] = mail.outbox
    assert message.to == ["amina@example.com"]
    assert message.subject == f"{batch} finished: every row was created"
    assert f"120 appointments were created in HubSpot portal {portal.hub_id}." in message.body
    assert f"https://ops.example.com/batches/{batch.pk}/" in message.body


def test_it_says_how_many_rows_failed(
    logged_client: Client, portal: Portal, sender: User, hubspot: Any
) -> None:
    hubspot.set_fault("502", times=100, path_contains="/batch/create")
    batch = send(logged_client, portal, 3)
    assert batch.status == Batch.Status.COMPLETED
    [message] = mail.outbox
    assert message.subject == f"{batch} finished: 3 rows failed"
    assert "3 rows were not created" in message.body


def test_it_mails_the_sender_when_the_batch_pauses(
    logged_client: Client, portal: Portal, sender: User, hubspot: Any
) -> None:
    hubspot.set_limits(daily=9)  # 7 schema reads at upload, then two creates
    batch = send(logged_client, portal, 250)
    assert batch.status == Batch.Status.PAUSED
    [message] = mail.outbox
    assert message.subject == f"{batch} is paused"
    assert "daily API limit" in message.body


def test_no_mail_without_an_address(logged_client: Client, portal: Portal) -> None:
    assert send(logged_client, portal, 5).status == Batch.Status.COMPLETED
    assert mail.outbox == []


def test_it_mails_the_sender_when_the_canary_waits(
    logged_client: Client, portal: Portal, sender: User
) -> None:
    upload(logged_client, portal, csv_upload(rows_csv(30)))
    batch = Batch.objects.get()
    logged_client.post(
        reverse("appointments:batch-submit", args=[batch.pk]),
        {"canary": "on", "canary_size": "10"},
    )
    batch.refresh_from_db()
    assert batch.status == Batch.Status.CANARY
    [message] = mail.outbox
    assert message.subject == f"{batch} is waiting at the canary"
    assert f"The first 10 appointments are in HubSpot portal {portal.hub_id}" in message.body
