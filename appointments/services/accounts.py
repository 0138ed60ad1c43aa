"""Accounts: people signed in through single sign-on, and their role from the groups claim.

Roles are Django groups named ``admin``, ``operator`` and ``viewer``, kept by
``appointments.services.access``. With single sign-on the role is set again from the ID
token's groups claim at every sign-in, through ``settings.OIDC_GROUP_ROLES`` (``group=role``
pairs).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from appointments import oidc
from appointments.models import SsoIdentity
from appointments.services import access


def group_roles() -> dict[str, str]:
    """``settings.OIDC_GROUP_ROLES`` as {group: role} (each pair was checked at start-up)."""
    pairs = (pair.partition("=") for pair in settings.OIDC_GROUP_ROLES)
    return {group.strip(): role.strip() for group, _sep, role in pairs}


def role_for_groups(groups: Iterable[str]) -> str | None:
    """The highest role any of ``groups`` maps to, or None."""
    mapping = group_roles()
    found = {mapping[group] for group in groups if group in mapping}
    return next((role for role in access.ROLES if role in found), None)


def _claim_groups(claims: dict[str, Any]) -> list[str]:
    value = claims.get(settings.OIDC_GROUPS_CLAIM) or []
    if isinstance(value, str):
        value = [value]
    return [str(group) for group in value]


def _free_username(wanted: str) -> str:
    base = (wanted or "user")[:140]
    name, number = base, 1
    while User.objects.filter(username=name).exists():
        number += 1
        name = f"{base}-{number}"
    return name


@transaction.atomic
def user_sign_in_with_claims(*, issuer: str, claims: dict[str, Any]) -> User | None:
    """The account for a verified ID token's ``claims`` (``sub``, and ``preferred_username``,
    ``email``, ``name``, the groups claim when the provider sends them), created at the first
    sign-in, its e-mail, name and role refreshed at each one.

    None when no group maps to a role: nobody is created, and an existing account loses its
    role (and is not signed in).
    """
    role = role_for_groups(_claim_groups(claims))
    identity = (
        SsoIdentity.objects.select_related("user")
        .filter(issuer=issuer, subject=str(claims["sub"]))
        .first()
    )
    if identity is None:
        if role is None:
            return None
        wanted = str(claims.get("preferred_username") or claims.get("email") or claims["sub"])
        user = User.objects.create_user(username=_free_username(wanted), password=None)
        identity = SsoIdentity.objects.create(user=user, issuer=issuer, subject=str(claims["sub"]))
    user = identity.user
    user.email = str(claims.get("email") or user.email)
    full_name = str(claims.get("name") or "")
    if full_name:
        user.first_name, _sep, user.last_name = full_name.partition(" ")
    user.save(update_fields=["email", "first_name", "last_name"])
    identity.last_login_at = timezone.now()
    identity.save(update_fields=["last_login_at"])
    access.role_set(user, role)
    return user if role is not None else None


def user_sign_in_with_sso(*, request: HttpRequest) -> User | None:
    """The account the provider's callback in ``request`` signs in (see
    ``user_sign_in_with_claims``; None: no role), after the code exchange and every check of
    the ID token (``appointments/oidc.py``). Raises ``oidc.SignInRefused`` naming the failed
    check."""
    answer = oidc.exchange_code(request)
    claims = oidc.with_userinfo(answer, oidc.verify_id_token(answer))
    return user_sign_in_with_claims(issuer=str(claims["iss"]), claims=claims)
