"""Who may do what: the one place for roles, portal grants and every permission check.

A person has one global role, a Django group: *admin* (connect, disconnect and set up portals,
grant access, see and act on every batch), *operator* (upload, map, send, retry and undo their
own batches on the portals they are granted) or *viewer* (read batches and download results on
the portals they are granted). A superuser counts as an admin. The rules are Django permissions
(``Portal.Meta.permissions``, ``Batch.Meta.permissions``) given to the groups by migration
0013; ``can`` and ``require`` read them, and every view, service and command calls them.
Single sign-on sets the role at each login with ``role_set``.
"""

from __future__ import annotations

import enum
from typing import cast

from django.contrib.auth.models import AnonymousUser, Group, Permission, User
from django.core.exceptions import PermissionDenied
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from appointments.models import Batch, Portal, PortalAccess, Upload

ADMIN, OPERATOR, VIEWER = "admin", "operator", "viewer"
# Highest first: a person in two groups has the stronger role.
ROLES = (ADMIN, OPERATOR, VIEWER)

MANAGE_PORTAL = "appointments.manage_portal"
SEND_BATCH = "appointments.send_batch"
SEE_EVERY_BATCH = "appointments.see_every_batch"
ACT_ON_EVERY_BATCH = "appointments.act_on_every_batch"
VIEW_BATCH = "appointments.view_batch"

# What each role's group holds (kept in step with the groups by migration 0013).
ROLE_PERMISSIONS = {
    ADMIN: (
        MANAGE_PORTAL,
        SEND_BATCH,
        SEE_EVERY_BATCH,
        ACT_ON_EVERY_BATCH,
        VIEW_BATCH,
        # The Django admin: portals and their grants, batches and calls read-only.
        "appointments.view_portal",
        "appointments.change_portal",
        "appointments.view_portalaccess",
        "appointments.add_portalaccess",
        "appointments.change_portalaccess",
        "appointments.delete_portalaccess",
        "appointments.view_batchcall",
    ),
    OPERATOR: (SEND_BATCH, VIEW_BATCH),
    VIEWER: (VIEW_BATCH,),
}

AnyUser = User | AnonymousUser


class Action(enum.StrEnum):
    """What a person asks to do; ``can`` says whether they may."""

    # Connect, disconnect, set the row key and shared mappings, grant access.
    PORTAL_MANAGE = "portal.manage"
    # Upload to the portal, type rows in the grid, download its template.
    PORTAL_USE = "portal.use"
    # Read a batch and its rows, download its results.
    BATCH_VIEW = "batch.view"
    # Send, retry, cancel, check, fix or exclude rows, undo.
    BATCH_ACT = "batch.act"


class UnknownRole(ValueError):
    """A role name that is none of ``ROLES``."""


def roles_sync(**_signal: object) -> None:
    """Create the role groups and give each exactly ``ROLE_PERMISSIONS``. Connected to
    ``post_migrate`` (``AppointmentsConfig.ready``), after Django creates permissions, so the
    groups exist after every migrate and every test database flush. Does nothing on a
    database without Django's auth tables (the standalone sandbox migrates only its own)."""
    using = str(_signal.get("using") or DEFAULT_DB_ALIAS)
    with connections[using].cursor() as cursor:
        tables = connections[using].introspection.table_names(cursor)
    if Group._meta.db_table not in tables or Permission._meta.db_table not in tables:
        return
    for role, names in ROLE_PERMISSIONS.items():
        group, _created = Group.objects.get_or_create(name=role)
        codenames = [name.split(".", 1)[1] for name in names]
        group.permissions.set(
            Permission.objects.filter(
                content_type__app_label="appointments", codename__in=codenames
            )
        )


def role_of(user: AnyUser) -> str | None:
    """``user``'s role (``ADMIN``, ``OPERATOR``, ``VIEWER``), or None: no role, no access."""
    if not user.is_authenticated or not user.is_active:
        return None
    if getattr(user, "is_superuser", False):
        return ADMIN
    names = set(Group.objects.filter(user=user, name__in=ROLES).values_list("name", flat=True))
    return next((role for role in ROLES if role in names), None)


def role_set(user: User, role: str | None) -> None:
    """Give ``user`` the one role ``role`` (None: none), replacing the role they had; an admin
    is staff (the Django admin), the others are not.

    Called by ``manage.py user_access`` and by single sign-on at each login (the role from the
    groups claim). Groups that are not roles are kept. Raises UnknownRole.
    """
    if role is not None and role not in ROLES:
        raise UnknownRole(
            _("“%(role)s” is not a role. Roles: %(roles)s.")
            % {"role": role, "roles": ", ".join(ROLES)}
        )
    with transaction.atomic():
        user.groups.remove(*Group.objects.filter(name__in=ROLES))
        if role is not None:
            user.groups.add(Group.objects.get(name=role))
        # The Django admin (portal grants, read-only batches) is the admins'; a superuser
        # keeps it whatever their role.
        if not user.is_superuser and user.is_staff != (role == ADMIN):
            user.is_staff = role == ADMIN
            user.save(update_fields=["is_staff"])
    # Django caches a user's permissions on the object: drop them so this one sees the change.
    for cache in ("_perm_cache", "_user_perm_cache", "_group_perm_cache"):
        user.__dict__.pop(cache, None)


def portal_grant(*, by: AnyUser, portal: Portal, user: User) -> PortalAccess:
    """Let ``user`` use ``portal`` (as their role allows). Raises PermissionDenied unless ``by``
    may manage portals."""
    require(by, Action.PORTAL_MANAGE)
    grant, _created = PortalAccess.objects.get_or_create(
        portal=portal, user=user, defaults={"granted_by": by if by.is_authenticated else None}
    )
    return grant


def portal_revoke(*, by: AnyUser, portal: Portal, user: User) -> bool:
    """Take ``portal`` away from ``user``; True if they had it. Raises PermissionDenied unless
    ``by`` may manage portals."""
    require(by, Action.PORTAL_MANAGE)
    deleted, _rows = PortalAccess.objects.filter(portal=portal, user=user).delete()
    return bool(deleted)


def portals_for(user: AnyUser) -> QuerySet[Portal]:
    """Portals ``user`` may see and use, not disconnected: every one for admins, the granted
    ones for operators and viewers, none without a role."""
    portals = Portal.objects.exclude(status=Portal.Status.DISCONNECTED)
    if not user.has_perm(VIEW_BATCH):
        return portals.none()
    if user.has_perm(SEE_EVERY_BATCH):
        return portals
    return portals.filter(grants__user_id=_pk(user))


def batches_for(user: AnyUser) -> QuerySet[Batch]:
    """Batches ``user`` may see: every batch for admins; for operators and viewers, every batch
    of the portals they are granted, whoever created it."""
    if not user.has_perm(VIEW_BATCH):
        return Batch.objects.none()
    if user.has_perm(SEE_EVERY_BATCH):
        return Batch.objects.all()
    return Batch.objects.filter(portal__grants__user_id=_pk(user))


def uploads_for(user: AnyUser) -> QuerySet[Upload]:
    """Uploads ``user`` may map: their own on portals they may use (every upload for admins)."""
    if user.has_perm(ACT_ON_EVERY_BATCH):
        return Upload.objects.all()
    if not user.has_perm(SEND_BATCH):
        return Upload.objects.none()
    return Upload.objects.filter(created_by_id=user.pk, portal__grants__user_id=_pk(user))


def _pk(user: AnyUser) -> int:
    # Only reached for signed-in people (every caller checked a permission first).
    return cast(int, user.pk)


def user_named(username: str) -> User:
    """The active user called ``username``, for commands' ``--user``. Raises User.DoesNotExist."""
    return User.objects.get(username=username, is_active=True)


def _granted(user: AnyUser, portal: Portal) -> bool:
    return PortalAccess.objects.filter(portal=portal, user_id=_pk(user)).exists()


def can(user: AnyUser, action: Action, target: Portal | Batch | None = None) -> bool:
    """Whether ``user`` may do ``action`` (on ``target``: the portal or batch it concerns;
    ``PORTAL_USE`` without a portal asks whether they may use any).

    The rules: managing portals needs the admin's permission; using a portal, sending
    permission and (unless admin) a grant on it; viewing a batch, a grant on its portal (or
    seeing every batch); acting on a batch, sending permission, seeing it, and having created
    it (or acting on every batch).
    """
    if not user.is_authenticated or not user.is_active:
        return False
    if action == Action.PORTAL_MANAGE:
        return user.has_perm(MANAGE_PORTAL)
    if action == Action.PORTAL_USE:
        # Without a portal: whether the person may use some portal (the upload page, the grid).
        if not user.has_perm(SEND_BATCH):
            return False
        return (
            target is None
            or user.has_perm(SEE_EVERY_BATCH)
            or (isinstance(target, Portal) and _granted(user, target))
        )
    assert isinstance(target, Batch)
    sees = user.has_perm(VIEW_BATCH) and (
        user.has_perm(SEE_EVERY_BATCH) or _granted(user, target.portal)
    )
    if action == Action.BATCH_VIEW:
        return sees
    return (
        sees
        and user.has_perm(SEND_BATCH)
        and (user.has_perm(ACT_ON_EVERY_BATCH) or target.created_by_id == user.pk)
    )


def require(user: AnyUser, action: Action, target: Portal | Batch | None = None) -> None:
    """``can``, or PermissionDenied (a 403 page in views, an error in commands)."""
    if not can(user, action, target):
        raise PermissionDenied(_("Your role does not allow this. Ask an administrator for access."))
