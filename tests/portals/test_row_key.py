"""The dashboard's row-key button: creates ``hubportal_row_key`` when the connection may,
explains what an admin must do when it may not or HubSpot refuses, and says which portals
send with a row key."""

from __future__ import annotations

import json
from typing import Any

from django.test import Client
from django.urls import reverse

from appointments.models import Portal

URL = "appointments:portal-row-key"


def press(client: Client, portal: Portal, **data: str) -> str:
    response = client.post(reverse(URL, args=[portal.hub_id]), data, follow=True)
    assert response.status_code == 200
    return response.content.decode()


def test_it_creates_the_row_key_when_the_connection_has_the_scope(
    logged_client: Client, portal: Portal, hubspot: Any
) -> None:
    assert "Sends without a row key" in logged_client.get("/").content.decode()
    portal.scopes = [*portal.scopes, "crm.schemas.appointments.write"]
    portal.save()

    page = press(logged_client, portal, create="1")

    portal.refresh_from_db()
    assert portal.row_key_property == "hubportal_row_key"
    assert "Sends with the row key" in page
    [call] = hubspot.journal("/crm/properties/2026-03/0-421", method="POST")
    assert call.status == 201
    assert json.loads(call.request_body)["hasUniqueValue"] is True


def test_it_explains_what_to_do_without_the_scope(
    logged_client: Client, portal: Portal, hubspot: Any
) -> None:
    page = press(logged_client, portal, create="1")

    portal.refresh_from_db()
    assert portal.row_key_property == ""
    assert "crm.schemas.appointments.write" in page
    assert "Require unique values" in page
    assert hubspot.journal("/crm/properties/2026-03/0-421", method="POST") == []


def test_it_explains_when_hubspot_refuses_unique_values_on_appointments(
    logged_client: Client, portal: Portal, hubspot: Any
) -> None:
    hubspot.set_row_key_variant(unique_properties_allowed=False)
    portal.scopes = [*portal.scopes, "crm.schemas.appointments.write"]
    portal.save()

    page = press(logged_client, portal, create="1")

    portal.refresh_from_db()
    assert portal.row_key_property == ""
    assert "sends without a row key" in page


def test_it_chooses_an_existing_unique_value_text_property_only(
    logged_client: Client, portal: Portal, hubspot: Any
) -> None:
    page = press(logged_client, portal, property="visit_notes")
    portal.refresh_from_db()
    assert portal.row_key_property == ""
    assert "is not a unique-value text property" in page

    press(logged_client, portal, property="external_booking_ref")
    portal.refresh_from_db()
    assert portal.row_key_property == "external_booking_ref"


def test_it_needs_a_login_and_a_post(portal: Portal, logged_client: Client) -> None:
    url = reverse(URL, args=[portal.hub_id])
    anonymous = Client().post(url, {"create": "1"})
    assert anonymous.status_code == 302
    assert "/login" in anonymous["Location"]
    assert logged_client.get(url).status_code == 405
    portal.refresh_from_db()
    assert portal.row_key_property == ""


def test_the_button_is_offered_only_to_a_connection_that_may_create_the_property(
    logged_client: Client, portal: Portal, hubspot: Any
) -> None:
    without = logged_client.get("/").content.decode()
    portal.scopes = [*portal.scopes, "crm.schemas.appointments.write"]
    portal.save()
    granted = logged_client.get("/").content.decode()

    assert "row-key-create" not in without
    assert "This connection may not create properties" in without
    assert "or choose a unique-value text property" in without
    assert "row-key-create" in granted
    assert "This connection may not create properties" not in granted
