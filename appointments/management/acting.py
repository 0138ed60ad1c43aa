"""The person a management command acts as (``--user``): every command does what that person's
role allows, no more, and what it creates is recorded as theirs."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.core.management.base import CommandError, CommandParser

from appointments.models import Batch, Portal
from appointments.services import access
from appointments.services.access import Action


def add_user_argument(parser: CommandParser) -> None:
    """Add the required ``--user USERNAME`` option."""
    parser.add_argument(
        "--user",
        required=True,
        metavar="USERNAME",
        help="Act as this person, with their role's permissions (recorded as theirs)",
    )


def acting_user(
    username: str, action: Action | None = None, target: Portal | Batch | None = None
) -> User:
    """The active user ``username``, checked for ``action`` (``services.access.require``).

    Raises CommandError naming the user and what to do when there is no such active user or
    their role does not allow ``action``.
    """
    try:
        user = access.user_named(username)
    except User.DoesNotExist:
        raise CommandError(
            f"There is no active user “{username}”. Create it first (manage.py createsuperuser, "
            "or single sign-on), then give it a role with manage.py user_access."
        ) from None
    if action is not None:
        deny_as_error(user, action, target)
    return user


def deny_as_error(user: User, action: Action, target: Portal | Batch | None = None) -> None:
    """``access.require``, raising CommandError (naming the user and their role) instead."""
    try:
        access.require(user, action, target)
    except PermissionDenied:
        role = access.role_of(user) or "no role"
        raise CommandError(
            f"User “{user.get_username()}” ({role}) may not do this"
            + (f" on {target}" if target is not None else "")
            + ". An admin can change that with manage.py user_access."
        ) from None
