"""A portal's XLSX template over HTTP against the sandbox: it maps itself when uploaded."""

from __future__ import annotations

import io

import openpyxl
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from appointments.models import Portal
from tests.web import (
    form_values,
    mapping_url,
    upload,
)


def test_it_downloads_a_template_that_maps_itself(logged_client: Client, portal: Portal) -> None:
    response = logged_client.get(reverse("appointments:portal-template", args=[portal.hub_id]))

    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    sheet = book["Appointments"]
    headers = [cell.value for cell in sheet[1]]
    assert headers[0] == "Appointment name *"
    assert "Record ID" not in headers and "Duration (minutes)" not in headers  # read-only
    assert headers[-3:] == ["contact_ids", "company_ids", "deal_ids"]
    status = headers.index("Appointment status")
    letter = openpyxl.utils.get_column_letter(status + 1)
    lists = {
        str(v.sqref): v.formula1 for v in sheet.data_validations.dataValidation if v.type == "list"
    }
    assert lists[f"{letter}2:{letter}10001"] == '"Scheduled,Completed,Canceled,No show"'
    assert sheet.cell(row=2, column=1).value == (
        "Example: type your appointment here, or delete this row"
    )

    upload(logged_client, portal, SimpleUploadedFile("template.xlsx", response.content))
    values = form_values(logged_client.get(mapping_url()).text, "mapping-form")
    assert all(values[f"col_{i}"] for i in range(len(headers)))
