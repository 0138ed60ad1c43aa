"""The template's example row is held back if left in the file: never sent as it is."""

from __future__ import annotations

from typing import Any

from django.test import Client
from django.urls import reverse

from appointments.models import Batch, BatchRow, Portal
from appointments.services.portals import portal_template
from tests.helpers import batch_from_upload


def test_the_templates_example_row_is_held_back_until_it_is_a_real_appointment(
    logged_client: Client, portal: Portal, hubspot: Any
) -> None:
    batch = batch_from_upload(
        user=portal.connected_by,
        portal=portal,
        data=portal_template(user=portal.connected_by, portal=portal),
        filename="appointments.xlsx",
    )
    row = batch.rows.get(row_number=2)
    assert row.state == BatchRow.State.INVALID
    assert [e["code"] for e in row.errors] == ["example_row"]
    assert "the template's example row" in row.errors[0]["message"]
    logged_client.post(reverse("appointments:batch-submit", args=[batch.pk]))
    assert hubspot.journal("/batch/create") == []

    edit = reverse("appointments:row-edit", args=[batch.pk, 2])
    name = batch.name_column
    logged_client.post(edit, {f"c{name}": row.raw[name]})  # left as it is: still held back
    assert batch.rows.get(row_number=2).state == BatchRow.State.INVALID
    logged_client.post(edit, {f"c{name}": "Intake visit"})

    assert Batch.objects.get(pk=batch.pk).rows.get(row_number=2).state == BatchRow.State.READY
