"""A portal connected once for the team: a second admin reconnecting it refreshes its tokens and
changes neither who connected it nor who may use it, and a colleague's draft keeps working."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from appointments.models import Portal
from appointments.services.access import ADMIN, OPERATOR, portal_grant, portals_for, role_set
from sandbox.seed import register_redirect_uri
from tests.web import CALLBACK, consent, follow, start


def connect(client: Client, hub_id: int) -> None:
    authorize_url = start(client)
    response = follow(client, consent(authorize_url, decision="approve", hub_id=hub_id))
    assert f"Connected HubSpot portal {hub_id}" in response.text


def test_a_second_admin_reconnecting_keeps_the_portal_shared(
    client: Client, hubspot: Any, user: User, django_user_model: type[User]
) -> None:
    register_redirect_uri(CALLBACK)
    operator = django_user_model.objects.create_user(username="ops-chiara")
    role_set(operator, OPERATOR)
    second_admin = django_user_model.objects.create_user(username="ops-dmitri")
    role_set(second_admin, ADMIN)
    client.force_login(user)
    connect(client, hubspot.hub_id)
    portal = Portal.objects.get(hub_id=hubspot.hub_id)
    portal_grant(by=user, portal=portal, user=operator)
    first_token = portal.access_token

    client.force_login(second_admin)
    connect(client, hubspot.hub_id)

    portal.refresh_from_db()
    assert portal.access_token != first_token  # the tokens were refreshed
    assert portal.connected_by == user  # who connected it first, kept
    assert list(portals_for(operator)) == [portal]  # still shared with the operator
    assert list(portal.grants.values_list("user__username", flat=True)) == ["ops-chiara"]
    # Both admins and the operator see it on their dashboard.
    for person in (user, second_admin, operator):
        client.force_login(person)
        assert f"hub ID {hubspot.hub_id}" in client.get(reverse("appointments:home")).text


def test_only_an_admin_may_start_connecting_a_portal(
    client: Client, hubspot: Any, other_user: User
) -> None:
    client.force_login(other_user)  # an operator

    assert client.post(reverse("appointments:portal-connect")).status_code == 403
    assert "Connect HubSpot" not in client.get(reverse("appointments:home")).text
