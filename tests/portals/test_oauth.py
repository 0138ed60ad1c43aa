"""Connecting a portal through the sandbox's OAuth 2.0 authorization-code flow, over HTTP."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from appointments.models import Portal
from appointments.services import portals as services
from sandbox.models import JournalEntry
from sandbox.seed import register_redirect_uri
from tests.web import CALLBACK, consent, follow, start


def test_it_connects_a_portal_with_state_and_pkce_and_stores_tokens_encrypted(
    logged_client: Client, hubspot: Any, user: Any
) -> None:
    register_redirect_uri(CALLBACK)
    authorize_url = start(logged_client)
    query = parse_qs(urlsplit(authorize_url).query)
    assert authorize_url.startswith(f"{hubspot.base_url}/oauth/authorize?")
    assert query["client_id"] == ["hubportal-demo-client"]
    assert query["redirect_uri"] == [CALLBACK]
    assert "crm.objects.appointments.write" in query["scope"][0].split()
    assert query["code_challenge_method"] == ["S256"]
    assert len(query["state"][0]) >= 32

    response = follow(
        logged_client, consent(authorize_url, decision="approve", hub_id=hubspot.hub_id)
    )

    assert f"Connected HubSpot portal {hubspot.hub_id}" in response.text
    portal = Portal.objects.get(hub_id=hubspot.hub_id)
    assert portal.connected_by == user
    assert portal.hub_domain == "riverside-care.example"
    assert portal.connected_user == "ops.lead@riverside-care.example"
    assert portal.status == Portal.Status.ACTIVE
    assert "crm.objects.appointments.write" in portal.scopes
    assert portal.access_token and portal.refresh_token
    assert portal.access_token not in portal.access_token_encrypted
    assert portal.refresh_token not in portal.refresh_token_encrypted
    expires_in = (portal.access_token_expires_at - timezone.now()).total_seconds()
    assert 1700 < expires_in <= 1800
    exchange = JournalEntry.objects.get(path="/oauth/2026-03/token")
    form = parse_qs(exchange.request_body)
    assert form["grant_type"] == ["authorization_code"]
    assert form["client_secret"] == ["hubportal-demo-secret"]
    assert len(form["code_verifier"][0]) >= 43
    assert exchange.query == ""  # no secret in the query string


def test_it_says_so_when_consent_is_denied(logged_client: Client, hubspot: Any) -> None:
    register_redirect_uri(CALLBACK)
    callback = consent(start(logged_client), decision="deny", hub_id=hubspot.hub_id)

    response = follow(logged_client, callback)

    assert "HubSpot access was not granted" in response.text
    assert not Portal.objects.exists()


def test_it_refuses_a_forged_state(logged_client: Client, hubspot: Any) -> None:
    register_redirect_uri(CALLBACK)
    callback = consent(start(logged_client), decision="approve", hub_id=hubspot.hub_id)
    forged = re.sub(r"state=[^&]+", "state=forged-by-someone-else", callback)

    response = follow(logged_client, forged)

    assert "not valid or was already used" in response.text
    assert not Portal.objects.exists()
    assert not JournalEntry.objects.filter(path="/oauth/2026-03/token").exists()


def test_it_refuses_a_replayed_callback(logged_client: Client, hubspot: Any) -> None:
    register_redirect_uri(CALLBACK)
    callback = consent(start(logged_client), decision="approve", hub_id=hubspot.hub_id)
    follow(logged_client, callback)

    again = follow(logged_client, callback)

    assert "not valid or was already used" in again.text
    assert JournalEntry.objects.filter(path="/oauth/2026-03/token").count() == 1


def test_it_shows_hubspots_reason_when_the_code_exchange_fails(
    logged_client: Client, hubspot: Any
) -> None:
    register_redirect_uri(CALLBACK)
    callback = consent(start(logged_client), decision="approve", hub_id=hubspot.hub_id)
    hubspot.advance_clock(3600)  # authorization codes are short-lived

    response = follow(logged_client, callback)

    assert "HubSpot refused the connection" in response.text
    assert "expired" in response.text
    assert not Portal.objects.exists()


def test_it_refreshes_the_access_token_before_it_expires(
    logged_client: Client, hubspot: Any
) -> None:
    register_redirect_uri(CALLBACK)
    follow(logged_client, consent(start(logged_client), decision="approve", hub_id=hubspot.hub_id))
    portal = Portal.objects.get()
    old_access, old_refresh = portal.access_token, portal.refresh_token
    Portal.objects.filter(pk=portal.pk).update(
        access_token_expires_at=timezone.now() + timezone.timedelta(minutes=2)
    )

    token = services.portal_access_token(portal=portal)

    assert token != old_access
    portal.refresh_from_db()
    assert portal.access_token == token
    refresh = JournalEntry.objects.filter(path="/oauth/2026-03/token").last()
    assert parse_qs(refresh.request_body)["grant_type"] == ["refresh_token"]
    assert parse_qs(refresh.request_body)["refresh_token"] == [old_refresh]
    # And the new token works on the CRM API.
    assert services.portal_schema(portal=portal).properties


def test_it_disconnects_and_revokes_the_refresh_token(logged_client: Client, hubspot: Any) -> None:
    register_redirect_uri(CALLBACK)
    follow(logged_client, consent(start(logged_client), decision="approve", hub_id=hubspot.hub_id))
    portal = Portal.objects.get()
    refresh_token = portal.refresh_token

    response = logged_client.post(
        reverse("appointments:portal-disconnect", args=[portal.hub_id]), follow=True
    )

    assert f"Disconnected HubSpot portal {portal.hub_id}" in response.text
    portal.refresh_from_db()
    assert portal.status == Portal.Status.DISCONNECTED
    assert portal.access_token_encrypted == portal.refresh_token_encrypted == ""
    refused = requests.post(
        f"{hubspot.base_url}/oauth/2026-03/token",
        data={
            "grant_type": "refresh_token",
            "client_id": "hubportal-demo-client",
            "client_secret": "hubportal-demo-secret",
            "refresh_token": refresh_token,
        },
        timeout=10,
    )
    assert refused.status_code == 400
    assert refused.json()["status"] == "BAD_REFRESH_TOKEN"


def test_it_asks_for_a_reconnect_when_the_refresh_token_is_revoked(
    logged_client: Client, hubspot: Any
) -> None:
    register_redirect_uri(CALLBACK)
    follow(logged_client, consent(start(logged_client), decision="approve", hub_id=hubspot.hub_id))
    portal = Portal.objects.get()
    requests.post(
        f"{hubspot.base_url}/oauth/2026-03/token/revoke",
        data={
            "token": portal.refresh_token,
            "token_type_hint": "refresh_token",
            "client_id": "hubportal-demo-client",
            "client_secret": "hubportal-demo-secret",
        },
        timeout=10,
    )
    Portal.objects.filter(pk=portal.pk).update(access_token_expires_at=timezone.now())

    with pytest.raises(services.PortalNeedsReconnect, match=r"(?i)refresh token"):
        services.portal_access_token(portal=portal)
    portal.refresh_from_db()
    assert portal.status == Portal.Status.NEEDS_RECONNECT


def test_a_connected_portal_is_named_by_its_account_name_with_its_hub_id_smaller(
    logged_client: Client, hubspot: Any
) -> None:
    register_redirect_uri(CALLBACK)
    follow(
        logged_client,
        consent(start(logged_client), decision="approve", hub_id=hubspot.hub_id),
    )

    portal = Portal.objects.get(hub_id=hubspot.hub_id)
    page = logged_client.get(reverse("appointments:home")).text

    assert portal.name == "Riverside Care Network (demo)"
    assert str(portal) == "Riverside Care Network (demo)"
    assert re.search(
        r'<span class="portal-name">Riverside Care Network \(demo\)\s+'
        rf'<small class="hub-id">hub ID {hubspot.hub_id}</small></span>',
        page,
    )
    # Asked of HubSpot's account information API (its beta gives the name).
    assert hubspot.journal("/account-info/2027-03-beta/details")
