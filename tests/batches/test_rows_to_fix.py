""" "Download the rows to fix": only invalid and failed rows, in the file's own layout, escaped
against formulas; uploaded again, the escape comes off and the page says so."""

from __future__ import annotations

import csv
import io
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from appointments.models import Batch, BatchRow, Portal
from appointments.services.batches import batch_submit
from tests.web import csv_upload, rows_csv
from tests.web import upload_and_confirm as upload


def download(client: Client, batch: Batch) -> str:
    response = client.get(reverse("appointments:batch-export-rows-to-fix", args=[batch.pk]))
    assert response["Content-Disposition"].endswith(f'rows-to-fix-{batch.pk}.csv"')
    return b"".join(response.streaming_content).decode("utf-8-sig")  # type: ignore[attr-defined]


def test_it_gives_only_invalid_and_failed_rows_in_the_files_layout_and_reads_them_back(
    logged_client: Client, portal: Portal, hubspot: Any
) -> None:
    lines = rows_csv(4)
    lines[1] = lines[1].replace("Visit 1", "=HYPERLINK(1)").replace("Scheduled", "Tentative")
    lines[2] = lines[2].replace(lines[2].split(",")[4], "99999999999")  # refused by HubSpot
    upload(logged_client, portal, csv_upload(lines))
    batch = Batch.objects.get()
    batch_submit(user=batch.created_by, batch=batch)
    BatchRow.objects.filter(batch=batch, row_number=5).update(
        state=BatchRow.State.FAILED, error_category="UNKNOWN_OUTCOME"
    )
    assert batch.rows.get(row_number=3).state == BatchRow.State.FAILED

    text = download(logged_client, batch)

    header, *rows = list(csv.reader(io.StringIO(text)))
    assert header == lines[0].split(",")
    # Row 2 (invalid) and row 3 (refused); row 4 was created, row 5 may have been.
    assert rows == [
        ["'=HYPERLINK(1)", *lines[1].split(",")[1:]],
        lines[2].split(","),
    ]

    page = upload(logged_client, portal, SimpleUploadedFile("rows-to-fix.csv", text.encode()))
    again = Batch.objects.exclude(pk=batch.pk).get()
    assert again.rows.get(row_number=2).raw[0] == "=HYPERLINK(1)"
    assert again.reading["unescaped_cells"] == 1
    detail = logged_client.get(reverse("appointments:batch-detail", args=[again.pk]))
    assert "1 cell began with the single quote this app's downloads put" in detail.text
    assert page.status_code in (200, 302)
