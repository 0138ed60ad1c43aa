"""Retention: the purge of old batches and uploads, and one person's erasure by e-mail, both
recorded and both for administrators only."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from appointments.models import Batch, BatchRow, DataRemoval, HubSpotCallLog, Portal, Upload
from tests.web import BATCH_HEADER, csv_upload, rows_csv
from tests.web import upload_and_confirm as upload

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def admin_user(django_user_model: type[User]) -> User:
    admin = django_user_model.objects.create_user(username="ops-admin", password="pw-admin-123")
    admin.groups.add(Group.objects.get_or_create(name="admin")[0])
    return admin


def batch_of(client: Client, portal: Portal, lines: list[str]) -> Batch:
    before = set(Batch.objects.values_list("pk", flat=True))
    upload(client, portal, csv_upload(lines))
    return Batch.objects.exclude(pk__in=before).get()


def test_the_purge_deletes_old_batches_and_uploads_and_records_it(
    logged_client: Client, portal: Portal, admin_user: User
) -> None:
    old = batch_of(logged_client, portal, rows_csv(3))
    recent = batch_of(logged_client, portal, rows_csv(2))
    long_ago = timezone.now() - timedelta(days=100)
    Batch.objects.filter(pk=old.pk).update(created_at=long_ago)
    Upload.objects.filter(batch=old).update(created_at=long_ago)
    HubSpotCallLog.objects.all().delete()  # the calls made by the uploads above
    HubSpotCallLog.objects.create(hub_id=portal.hub_id, method="GET", path="/old", at=long_ago)
    recent_call = HubSpotCallLog.objects.create(hub_id=portal.hub_id, method="GET", path="/new")

    call_command("purge_data", "--user", "ops-admin", "--older-than-days", "90")

    assert list(Batch.objects.values_list("pk", flat=True)) == [recent.pk]
    assert not BatchRow.objects.filter(batch_id=old.pk).exists()
    assert Upload.objects.filter(batch=recent).exists()
    [record] = DataRemoval.objects.all()
    assert record.kind == DataRemoval.Kind.PURGE and record.performed_by == admin_user
    assert record.counts == {"batches": 1, "rows": 3, "uploads": 1, "hubspot_calls": 1}
    assert list(HubSpotCallLog.objects.all()) == [recent_call]
    assert record.criteria["older_than_days"] == 90


def test_the_purge_keeps_a_batch_being_sent(
    logged_client: Client, portal: Portal, admin_user: User
) -> None:
    batch = batch_of(logged_client, portal, rows_csv(2))
    Batch.objects.filter(pk=batch.pk).update(
        status=Batch.Status.RUNNING, created_at=timezone.now() - timedelta(days=100)
    )
    call_command("purge_data", "--user", "ops-admin", "--older-than-days", "90")
    assert Batch.objects.filter(pk=batch.pk).exists()


def test_only_an_administrator_may_purge_or_erase(logged_client: Client, other_user: User) -> None:
    # other_user is an operator: sending is theirs, removing data is not.
    with pytest.raises(CommandError, match="ops-bruno is not an administrator"):
        call_command("purge_data", "--user", "ops-bruno")
    with pytest.raises(CommandError, match="is not an administrator"):
        call_command("erase_person", "--user", "ops-bruno", "--email", "jane@example.com")
    with pytest.raises(CommandError, match="No user 'nobody'"):
        call_command("purge_data", "--user", "nobody")
    assert not DataRemoval.objects.exists()


def test_erasure_blanks_every_row_holding_the_address_and_records_only_its_hash(
    logged_client: Client, portal: Portal, admin_user: User, capsys: Any
) -> None:
    lines = rows_csv(3)
    lines[2] = lines[2].replace("Visit 2,", "Visit with Jane.Doe@Example.com,")
    # An invalid row (bad status) holding the address in its name: erased, and never sendable.
    lines.append(
        lines[3].replace("Visit 3,", "Call jane.doe@example.com,").replace("Scheduled", "Tentative")
    )
    batch = batch_of(logged_client, portal, lines)
    other = batch_of(logged_client, portal, [BATCH_HEADER, *rows_csv(1)[1:]])

    call_command("erase_person", "--user", "ops-admin", "--email", "JANE.DOE@example.com")

    erased = {row.row_number: row for row in batch.rows.all()}
    assert erased[3].raw == ["[erased]"] * len(erased[3].raw)
    assert erased[3].state == BatchRow.State.EXCLUDED
    assert all(value in (None, "[erased]") for value in erased[3].properties or [])
    assert erased[5].state == BatchRow.State.EXCLUDED
    assert all(error["value"] == "[erased]" for error in erased[5].errors)
    assert erased[2].raw[0] == "Visit 1" and erased[4].state == BatchRow.State.READY
    assert other.rows.get().raw[0] == "Visit 1"
    page = logged_client.get(reverse("appointments:batch-detail", args=[batch.pk])).text
    assert "jane.doe" not in page.lower()
    [record] = DataRemoval.objects.all()
    assert record.kind == DataRemoval.Kind.ERASURE
    # The upload's kept preview showed the address: the upload is gone too.
    assert record.counts == {"rows": 2, "batches": 1, "uploads": 1}
    assert not Upload.objects.filter(batch=batch).exists()
    assert "jane" not in str(record.criteria).lower()
    assert "Erased 2 rows in 1 batches" in capsys.readouterr().out


def test_erasure_refuses_what_is_not_an_address(admin_user: User) -> None:
    with pytest.raises(CommandError, match="is not an e-mail address"):
        call_command("erase_person", "--user", "ops-admin", "--email", "jane at example")


def test_erasure_waits_for_a_batch_being_sent(
    logged_client: Client, portal: Portal, admin_user: User
) -> None:
    lines = rows_csv(1)
    lines[1] = lines[1].replace("Visit 1,", "Visit jane@example.com,")
    batch = batch_of(logged_client, portal, lines)
    Batch.objects.filter(pk=batch.pk).update(status=Batch.Status.RUNNING)
    with pytest.raises(CommandError, match="is being stored or sent"):
        call_command("erase_person", "--user", "ops-admin", "--email", "jane@example.com")
    assert batch.rows.get().raw[0] == "Visit jane@example.com"
