"""Access tokens: one refresh per portal however many workers need it, rotated refresh tokens."""

from __future__ import annotations

import threading
from typing import Any
from urllib.parse import parse_qs

from django.db import connection
from django.test import Client
from django.utils import timezone

from appointments.models import Portal
from appointments.services.portals import portal_access_token
from tests.web import CALLBACK, consent, follow, start


def connect(client: Client, hubspot: Any) -> Portal:
    hubspot.register_redirect_uri(CALLBACK)
    follow(client, consent(start(client), decision="approve", hub_id=hubspot.hub_id))
    return Portal.objects.get()


def refreshes(hubspot: Any) -> list[dict[str, list[str]]]:
    bodies = [parse_qs(e.request_body) for e in hubspot.journal("/oauth/2026-03/token")]
    return [b for b in bodies if b.get("grant_type") == ["refresh_token"]]


def test_it_refreshes_once_when_several_workers_need_a_token_at_once(
    logged_client: Client, hubspot: Any
) -> None:
    portal = connect(logged_client, hubspot)
    Portal.objects.filter(pk=portal.pk).update(access_token_expires_at=timezone.now())
    tokens: list[str] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def worker() -> None:
        try:
            barrier.wait()
            tokens.append(portal_access_token(portal=Portal.objects.get(pk=portal.pk)))
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert len(tokens) == 4 and len(set(tokens)) == 1
    assert len(refreshes(hubspot)) == 1


def test_it_stores_a_rotated_refresh_token_and_uses_it_next_time(
    logged_client: Client, hubspot: Any
) -> None:
    hubspot.set_switches(rotate_refresh_tokens=True)
    portal = connect(logged_client, hubspot)
    first_refresh = portal.refresh_token

    Portal.objects.filter(pk=portal.pk).update(access_token_expires_at=timezone.now())
    portal_access_token(portal=portal)
    portal.refresh_from_db()
    second_refresh = portal.refresh_token
    Portal.objects.filter(pk=portal.pk).update(access_token_expires_at=timezone.now())
    portal_access_token(portal=portal)

    assert second_refresh != first_refresh
    sent = [body["refresh_token"][0] for body in refreshes(hubspot)]
    assert sent == [first_refresh, second_refresh]


def test_it_never_refreshes_again_when_another_process_just_did(
    logged_client: Client, hubspot: Any, monkeypatch: Any
) -> None:
    # This process reads an expiring token; between that read and its lease, another process
    # refreshes and stores fresh tokens (freeing the lease): the token is taken, not refreshed.
    portal = connect(logged_client, hubspot)
    Portal.objects.filter(pk=portal.pk).update(access_token_expires_at=timezone.now())
    fresh = Portal.objects.get(pk=portal.pk)
    fresh.set_tokens(access_token="fresh-from-the-other", refresh_token=None, expires_in=1800)
    loads: list[int] = []
    original = Portal.refresh_from_db

    def read_then_the_other_refreshes(self: Portal, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        if not loads:
            loads.append(1)
            Portal.objects.filter(pk=portal.pk).update(
                access_token_encrypted=fresh.access_token_encrypted,
                access_token_expires_at=fresh.access_token_expires_at,
                refresh_lease_until=None,
            )

    monkeypatch.setattr(Portal, "refresh_from_db", read_then_the_other_refreshes)

    token = portal_access_token(portal=Portal.objects.get(pk=portal.pk))

    assert token == "fresh-from-the-other"
    assert refreshes(hubspot) == []
