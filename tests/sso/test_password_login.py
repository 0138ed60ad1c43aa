"""Password sign-in: throttled by django-axes, and closed when single sign-on replaces it."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from tests.fixtures_oidc import OidcProvider

pytestmark = pytest.mark.django_db


def attempt(client: Client, password: str) -> Any:
    return client.post(
        "/accounts/login/", {"username": "ops-amina", "password": password, "next": "/"}
    )


def test_wrong_passwords_lock_the_account_out_even_for_the_right_one(
    client: Client, user: User
) -> None:
    for _ in range(4):
        assert attempt(client, "wrong").status_code == 200  # the form again, with its error
    locked = attempt(client, "wrong")
    assert locked.status_code == 429
    assert "Too many failed sign-ins" in locked.content.decode()
    after = attempt(client, "pw-amina-123")
    assert after.status_code == 429
    assert "_auth_user_id" not in client.session


def test_a_right_password_signs_in_below_the_limit(client: Client, user: User) -> None:
    for _ in range(3):
        attempt(client, "wrong")
    response = attempt(client, "pw-amina-123")
    assert response.status_code == 302 and response["Location"] == "/"


def test_password_sign_in_can_be_turned_off(
    client: Client, user: User, settings: Any, sso: OidcProvider
) -> None:
    settings.HUBPORTAL_PASSWORD_LOGIN = False
    page = client.get("/accounts/login/").content.decode()
    assert 'name="password"' not in page
    assert 'id="sso-sign-in"' in page and "/accounts/sso/" in page
    refused = attempt(client, "pw-amina-123")
    assert refused.status_code == 403
    assert "Password sign-in is turned off" in refused.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_admin_signs_in_on_the_same_page(client: Client) -> None:
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/admin/"


def test_the_sign_in_page_offers_only_the_password_form_without_sso(client: Client) -> None:
    page = client.get("/accounts/login/").content.decode()
    assert 'name="password"' in page and "sso-sign-in" not in page
