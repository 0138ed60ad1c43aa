"""The time-zone picker: a text input with a datalist, common zones first, no link names."""

from __future__ import annotations

from typing import Any

from django.test import Client
from django.urls import reverse

from appointments.forms.fields import COMMON_TIMEZONES, timezone_suggestions
from appointments.models import Portal


def test_it_suggests_common_zones_first_and_no_deprecated_names() -> None:
    zones = timezone_suggestions()

    assert zones[: len(COMMON_TIMEZONES)] == list(COMMON_TIMEZONES)
    assert "Europe/Kyiv" in zones and "Asia/Kolkata" in zones
    for old in ("US/Eastern", "Asia/Calcutta", "Europe/Kiev", "Etc/GMT+1", "EST5EDT", "GB"):
        assert old not in zones
    assert len(zones) == len(set(zones)) > 250


def test_the_upload_form_finds_a_zone_by_typing_and_still_takes_an_old_name(
    logged_client: Client, portal: Portal, hubspot: Any
) -> None:
    page = logged_client.get(reverse("appointments:upload-create")).text

    assert 'list="id_timezone-zones"' in page
    assert '<datalist id="id_timezone-zones"><option value="Europe/Paris">' in page
    response = logged_client.post(
        reverse("appointments:upload-create"),
        {"portal": portal.pk, "timezone": "US/Eastern", "file": ""},
    )
    assert "Select a valid choice" not in response.text
