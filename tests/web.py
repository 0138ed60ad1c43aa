"""Helpers for tests that drive the pages over HTTP as a browser would: read a form's values,
upload a file, confirm the mapping screen, read what reached the sandbox."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

import requests
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from appointments.models import Batch, Portal, Upload
from sandbox.models import JournalEntry
from sandbox.seed import DEMO_COMPANY_IDS, DEMO_CONTACT_IDS

HEADER = "Appointment name,Start time,End time,Appointment status,Office use,contact_ids"


class _FormReader(HTMLParser):
    """Collects what a browser would submit from one form: inputs, selected options."""

    def __init__(self, form_id: str) -> None:
        super().__init__()
        self.form_id = form_id
        self.inside = False
        self.values: dict[str, str] = {}
        self.select: str | None = None
        self.first_option: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.inside = found.get("id") == self.form_id
        if not self.inside:
            return
        if tag == "input" and found.get("type") not in ("submit", "checkbox"):
            self.values[found["name"]] = found.get("value", "")
        elif tag == "select":
            self.select, self.first_option = found["name"], None
        elif tag == "option" and self.select:
            if self.first_option is None:
                self.first_option = found.get("value", "")
                self.values.setdefault(self.select, self.first_option)
            if "selected" in found:
                self.values[self.select] = found.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self.select = None
        if tag == "form":
            self.inside = False


def form_values(html: str, form_id: str) -> dict[str, str]:
    reader = _FormReader(form_id)
    reader.feed(html)
    return reader.values


def csv_file(lines: list[str], name: str = "appointments.csv", encoding: str = "utf-8"):
    return SimpleUploadedFile(name, ("\n".join(lines) + "\n").encode(encoding))


def upload(client: Client, portal: Portal, file: SimpleUploadedFile, **extra: str):
    return client.post(
        reverse("appointments:upload-create"),
        {"portal": portal.pk, "timezone": "Europe/Paris", "file": file, **extra},
    )


def mapping_url() -> str:
    return reverse("appointments:upload-mapping", args=[Upload.objects.latest("created_at").pk])


def confirm_proposed(client: Client, url: str):
    """Confirm a mapping screen as proposed, as a person who changes nothing would."""
    page = client.get(url)
    return client.post(url, form_values(page.text, "mapping-form"))


def confirm(client: Client, changes: dict[str, str] | None = None):
    """Confirm the mapping screen as proposed, with ``changes`` to its fields."""
    page = client.get(mapping_url())
    data = {**form_values(page.text, "mapping-form"), **(changes or {})}
    return client.post(mapping_url(), data)


def two_rows() -> list[str]:
    return [
        HEADER,
        "Intake visit,2026-12-03 14:00,2026-12-03 14:45,Scheduled,Bring forms,"
        + DEMO_CONTACT_IDS[0],
        f"Follow-up,2026-12-04 09:00,2026-12-04 09:30,Tentative,,{DEMO_CONTACT_IDS[1]}",
    ]


def creates() -> list[dict[str, Any]]:
    return [
        json.loads(e.request_body)
        for e in JournalEntry.objects.filter(path__endswith="/batch/create").order_by("id")
    ]


def batch_with_invalid_row(client: Client, portal: Portal) -> Batch:
    upload(client, portal, csv_file(two_rows()))
    confirm(client)
    return Batch.objects.get()


BATCH_HEADER = (
    "Appointment name,Start time,hs_appointment_end,Appointment status,contact_ids,company_ids"
)


def csv_upload(lines: list[str], name: str = "appointments.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, ("\n".join(lines) + "\n").encode(), content_type="text/csv")


def upload_and_confirm(
    client: Client, portal: Portal, file: SimpleUploadedFile, tz: str = "Europe/Paris"
):
    """Upload ``file`` and confirm its mapping screen as proposed; the batch page's response."""
    response = client.post(
        reverse("appointments:upload-create"),
        {"portal": portal.pk, "timezone": tz, "file": file},
    )
    if response.status_code != 302:
        return response
    return confirm_proposed(client, response["Location"])


def rows_csv(count: int, start_day: int = 1) -> list[str]:
    lines = [BATCH_HEADER]
    for i in range(count):
        day = start_day + i // 10
        contact = DEMO_CONTACT_IDS[i % len(DEMO_CONTACT_IDS)]
        lines.append(
            f"Visit {i + 1},2026-12-{day:02d} 09:{i % 60:02d},2026-12-{day:02d} 10:00,"
            f"Scheduled,{contact},{DEMO_COMPANY_IDS[0]}"
        )
    return lines


CALLBACK = "http://testserver/hubspot/oauth/callback"


def start(client: Client) -> str:
    """Press "Connect HubSpot"; return the authorize URL the app redirects to."""
    response = client.post(reverse("appointments:portal-connect"))
    assert response.status_code == 302
    return response["Location"]


def consent(authorize_url: str, *, decision: str, hub_id: int) -> str:
    """Answer the sandbox's consent screen like a browser; return where it redirects."""
    browser = requests.Session()
    page = browser.get(authorize_url, timeout=10)
    assert page.status_code == 200, page.text
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token, "the consent form has no CSRF token"
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
    fields.update({"decision": decision, "hub_id": str(hub_id)})
    answer = browser.post(
        authorize_url.split("?")[0],
        data=fields,
        headers={"Referer": authorize_url},
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 302, answer.text
    return answer.headers["Location"]


def follow(client: Client, callback_url: str):
    parts = urlsplit(callback_url)
    return client.get(parts.path + "?" + parts.query, follow=True)
