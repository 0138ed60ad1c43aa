"""Portal actions: connect through OAuth, disconnect, keep the access token fresh, read schema.

Keyword-only, typed functions named ``portal_<action>``; HubSpot only through
``appointments.hubspot``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from appointments.crypto import TokenDecryptionError
from appointments.hubspot import oauth
from appointments.hubspot.client import HubSpotClient
from appointments.hubspot.errors import HubSpotAuthError, HubSpotError, HubSpotScopeError
from appointments.hubspot.schema import (
    ASSOCIATION_TARGETS,
    AssociationLabel,
    PropertyDefinition,
    Schema,
)
from appointments.models import Portal
from appointments.services import access
from appointments.services.access import Action
from appointments.services.exports import template_workbook

logger = logging.getLogger(__name__)

# The property the app offers to create as a portal's row key, and the scope that allows it.
ROW_KEY_PROPERTY = "hubportal_row_key"
SCHEMA_WRITE_SCOPE = "crm.schemas.appointments.write"

# Refresh this long before HubSpot's expiry, so a call never starts with a dying token.
TOKEN_REFRESH_MARGIN = timedelta(minutes=5)
REFRESH_LEASE = timedelta(seconds=30)


class PortalNeedsReconnect(Exception):
    """A person must act before the portal works again: its refresh token was refused (revoked,
    uninstalled) or its stored tokens cannot be decrypted. The message says what to do."""


def _unreadable_tokens_message() -> str:
    return _(
        "The stored HubSpot tokens of this portal cannot be decrypted: the token keys changed "
        "(HUBPORTAL_TOKEN_KEYS, or DJANGO_SECRET_KEY when no key is set). Put the previous key "
        "back in HUBPORTAL_TOKEN_KEYS, after the new one, and restart; or reconnect the portal."
    )


def _token(portal: Portal, *, refresh: bool = False) -> str:
    """The portal's access token (or refresh token), decrypted.

    The one place tokens are read: a token the configured keys cannot decrypt marks the portal
    NEEDS_RECONNECT with the reason, so every page and task that needs it shows that sentence
    instead of failing. Raises PortalNeedsReconnect.
    """
    try:
        return portal.refresh_token if refresh else portal.access_token
    except TokenDecryptionError:
        message = _unreadable_tokens_message()
        Portal.objects.filter(pk=portal.pk).update(
            status=Portal.Status.NEEDS_RECONNECT,
            status_message=message,
            tokens_unreadable=True,
            refresh_lease_until=None,
        )
        portal.status, portal.status_message = Portal.Status.NEEDS_RECONNECT, message
        portal.tokens_unreadable = True
        logger.warning("The stored tokens of portal %s cannot be decrypted", portal.hub_id)
        raise PortalNeedsReconnect(message) from None


def _tokens_readable_again(portal: Portal) -> bool:
    """Whether ``portal`` was marked for unreadable tokens that the keys now decrypt (the
    previous key was put back); if so, it is marked ACTIVE again."""
    if not portal.tokens_unreadable:
        return False
    try:
        portal.access_token  # noqa: B018 - decrypting is the check
        portal.refresh_token  # noqa: B018
    except TokenDecryptionError:
        return False
    Portal.objects.filter(pk=portal.pk, tokens_unreadable=True).update(
        status=Portal.Status.ACTIVE, status_message="", tokens_unreadable=False
    )
    portal.status, portal.status_message = Portal.Status.ACTIVE, ""
    portal.tokens_unreadable = False
    logger.info("The stored tokens of portal %s can be decrypted again", portal.hub_id)
    return True


def portal_check_tokens(*, portals: Iterable[Portal]) -> None:
    """Check, without calling HubSpot, that the configured keys decrypt each portal's stored
    tokens: a portal whose tokens they cannot decrypt is marked NEEDS_RECONNECT with the
    reason, one marked so whose previous key is back is ACTIVE again. A few microseconds per
    portal, so the dashboard shows the truth right after a restart.
    """
    for portal in portals:
        if portal.status == Portal.Status.NEEDS_RECONNECT:
            _tokens_readable_again(portal)
        elif portal.status == Portal.Status.ACTIVE:
            try:
                _token(portal)
                _token(portal, refresh=True)
            except PortalNeedsReconnect:
                pass  # marked, with the reason, for the page to show


def portal_connect(*, user: User, code: str, redirect_uri: str, code_verifier: str) -> Portal:
    """Finish the OAuth flow: exchange ``code``, store the portal keyed by its ``hub_id``.

    Reconnecting a portal refreshes its tokens and keeps who may use it (its grants and
    ``connected_by``). Raises PermissionDenied unless ``user`` may manage portals, HubSpotError
    when HubSpot refuses the code (``BAD_AUTH_CODE``, ``EXPIRED_AUTH_CODE``).
    """
    access.require(user, Action.PORTAL_MANAGE)
    tokens = oauth.exchange_code(code=code, redirect_uri=redirect_uri, code_verifier=code_verifier)
    if tokens.hub_id is None:
        raise HubSpotError(_("HubSpot's token answer did not say which portal was connected."))
    portal, _created = Portal.objects.get_or_create(
        hub_id=tokens.hub_id, defaults={"connected_by": user}
    )
    portal.auth_kind = Portal.AuthKind.OAUTH
    portal.status = Portal.Status.ACTIVE
    portal.status_message = ""
    portal.tokens_unreadable = False
    portal.scopes = list(tokens.scopes)
    try:
        info = oauth.introspect(access_token=tokens.access_token)
    except HubSpotError as exc:
        # Only the display name and e-mail are lost; the connection itself works.
        logger.warning("Introspecting the new token of portal %s failed: %s", portal.hub_id, exc)
    else:
        portal.hub_domain = info.hub_domain[:255]
        portal.connected_user = info.user[:255]
    portal.set_tokens(
        access_token=tokens.access_token,
        refresh_token=tokens.refresh_token,
        expires_in=tokens.expires_in,
    )
    portal.save()
    logger.info("Connected HubSpot portal %s for user %s", portal.hub_id, user.pk)
    try:
        portal_check_readiness(user=user, portal=portal)
    except (HubSpotError, PortalNeedsReconnect) as exc:
        # Connected all the same: the check runs again before every Send.
        logger.warning("Checking portal %s's readiness failed: %s", portal.hub_id, exc)
    return portal


# Creating appointments needs the write scope and one that reads their properties
# (https://developers.hubspot.com/docs/api-reference/2026-03/crm/objects/appointments/guide,
# https://developers.hubspot.com/docs/api/crm/properties).
APPOINTMENT_WRITE_SCOPE = "crm.objects.appointments.write"
PROPERTY_READ_SCOPES = ("crm.schemas.appointments.read", "crm.objects.appointments.read")


def _readiness_problems(
    portal: Portal, client: HubSpotClient, *, with_properties: bool
) -> list[str]:
    """What keeps ``portal`` from taking appointments, each with what an admin must do."""
    problems = []
    # A private-app token (manage.py portal_add) does not say its scopes: its calls will.
    granted = set(portal.scopes or (APPOINTMENT_WRITE_SCOPE, *PROPERTY_READ_SCOPES))
    missing = [] if APPOINTMENT_WRITE_SCOPE in granted else [APPOINTMENT_WRITE_SCOPE]
    if not granted & set(PROPERTY_READ_SCOPES):
        missing.append(PROPERTY_READ_SCOPES[0])
    if missing:
        problems.append(
            _(
                "The connection was not granted %(scopes)s. Add the scopes to the HubSpot app "
                "(HUBSPOT_SCOPES), then reconnect the portal."
            )
            % {"scopes": ", ".join(missing)}
        )
    if not client.appointments_enabled():
        problems.append(
            _(
                "The appointments object is not activated in this HubSpot portal, so HubSpot "
                "refuses every appointment. A super admin of the portal must activate "
                "Appointments in HubSpot's object library (Settings, Data Management, Objects), "
                "then check the portal again here."
            )
        )
    elif with_properties and not missing:
        names = {p.name for p in client.get_appointment_properties()}
        if "hs_appointment_name" not in names:
            problems.append(
                _(
                    "HubSpot lists no appointment properties for this portal: check that "
                    "Appointments is activated, then check the portal again here."
                )
            )
    return problems


def _read_name(portal: Portal, client: HubSpotClient) -> None:
    """Store the account's name (``HubSpotClient.get_account_name``) on ``portal``; best
    effort: a HubSpot that does not give it leaves the portal named by its hub ID."""
    try:
        name = client.get_account_name()
    except HubSpotError as exc:
        logger.info("Portal %s's name could not be read: %s", portal.hub_id, exc)
        return
    if name:
        Portal.objects.filter(pk=portal.pk).update(name=name)
        portal.name = name


def portal_check_readiness(*, user: User, portal: Portal, with_properties: bool = True) -> str:
    """Check that ``portal`` can take appointments: the scopes granted, the appointments
    object activated (object library enablement,
    https://developers.hubspot.com/docs/api-reference/latest/crm/crm-data-model/guide,
    activated only by a person in HubSpot:
    https://knowledge.hubspot.com/object-settings/use-the-object-library) and its properties
    readable (``with_properties``; a batch about to be sent has its own snapshot of them).
    With ``with_properties`` (at connect, "Check the portal again"), a portal without a name
    also gets the account's name (one more call, best effort).
    Stores and returns the problem ("" when ready), each sentence saying what an admin must
    do. At most two calls (one without properties) within the page timeout. Raises HubSpotError or
    PortalNeedsReconnect when HubSpot cannot be asked (nothing is stored then), and
    PermissionDenied unless ``user`` may use the portal (``access.Action.PORTAL_USE``: the check
    only reads HubSpot, and whoever is stopped by it may see whether an admin fixed it).
    """
    access.require(user, Action.PORTAL_USE, portal)
    with portal_client(portal=portal, for_page=True, user=user) as client:
        problem = " ".join(_readiness_problems(portal, client, with_properties=with_properties))
        if with_properties and not portal.name:
            _read_name(portal, client)
    now = timezone.now()
    Portal.objects.filter(pk=portal.pk).update(readiness_problem=problem, readiness_checked_at=now)
    portal.readiness_problem, portal.readiness_checked_at = problem, now
    return problem


def portal_disconnect(*, user: User, portal: Portal) -> str:
    """Revoke the refresh token at HubSpot (best effort) and forget the tokens.

    Returns "" or, when the stored refresh token could not be decrypted and so not revoked,
    a sentence saying so (the tokens are forgotten all the same). Its grants are kept for a
    reconnection. Raises PermissionDenied unless ``user`` may manage portals.
    """
    access.require(user, Action.PORTAL_MANAGE, portal)
    problem = ""
    if portal.auth_kind == Portal.AuthKind.OAUTH and portal.refresh_token_encrypted:
        try:
            oauth.revoke(refresh_token=_token(portal, refresh=True))
        except PortalNeedsReconnect:
            problem = _(
                "Its refresh token could not be revoked at HubSpot: it cannot be decrypted with "
                "the configured keys. It is forgotten here; to cut HubSpot's side too, uninstall "
                "the app from the portal's Connected apps in HubSpot."
            )
        except HubSpotError as exc:
            # The tokens are forgotten here anyway; HubSpot drops unused ones on its own.
            logger.warning("Revoking the token of portal %s failed: %s", portal.hub_id, exc)
    portal.access_token_encrypted = ""
    portal.refresh_token_encrypted = ""
    portal.access_token_expires_at = None
    portal.status = Portal.Status.DISCONNECTED
    portal.status_message = ""
    portal.tokens_unreadable = False
    portal.save()
    return problem


def portal_access_token(*, portal: Portal) -> str:
    """A valid access token for ``portal``, refreshed ahead of expiry.

    One process refreshes at a time: it takes a short lease with a conditional UPDATE (no
    transaction is held across the HTTP call); the others wait and read the stored result.
    Raises PortalNeedsReconnect when HubSpot refuses the refresh token or the stored tokens
    cannot be decrypted (the portal is then NEEDS_RECONNECT, with the reason).
    """
    for _attempt in range(60):
        portal.refresh_from_db()
        if portal.status == Portal.Status.NEEDS_RECONNECT and not _tokens_readable_again(portal):
            raise PortalNeedsReconnect(portal.status_message)
        expires_at = portal.access_token_expires_at
        now = timezone.now()
        if expires_at is None or expires_at - TOKEN_REFRESH_MARGIN > now:
            return _token(portal)
        # Compare-and-set on the expiry seen: a process that read the portal just before
        # another one stored fresh tokens (and freed the lease) must not refresh a second time.
        took_lease = (
            Portal.objects.filter(pk=portal.pk, access_token_expires_at=expires_at)
            .filter(Q(refresh_lease_until__isnull=True) | Q(refresh_lease_until__lt=now))
            .update(refresh_lease_until=now + REFRESH_LEASE)
        )
        if not took_lease:
            time.sleep(0.5)
            continue
        try:
            tokens = oauth.refresh(refresh_token=_token(portal, refresh=True))
        except HubSpotAuthError as exc:
            Portal.objects.filter(pk=portal.pk).update(
                status=Portal.Status.NEEDS_RECONNECT,
                status_message=exc.message,
                refresh_lease_until=None,
            )
            raise PortalNeedsReconnect(exc.message) from None
        except HubSpotError:
            Portal.objects.filter(pk=portal.pk).update(refresh_lease_until=None)
            raise
        portal.set_tokens(
            access_token=tokens.access_token,
            refresh_token=tokens.refresh_token,
            expires_in=tokens.expires_in,
        )
        portal.refresh_lease_until = None
        portal.save(
            update_fields=[
                "access_token_encrypted",
                "refresh_token_encrypted",
                "access_token_expires_at",
                "refresh_lease_until",
                "updated_at",
            ]
        )
        return tokens.access_token
    raise HubSpotError(_("Another process is still refreshing the HubSpot token; try again."))


def portal_client(
    *, portal: Portal, for_page: bool = False, user: User | None = None
) -> HubSpotClient:
    """A HubSpotClient for ``portal`` with a fresh access token, its calls recorded as made for
    ``user`` (the person the page or the task acts for; ``HubSpotCallLog``).

    ``for_page``: a person is waiting (a page view): one attempt per call, and every call of
    the client together within ``HUBSPOT_PAGE_TIMEOUT_SECONDS``; otherwise (background work)
    reads are retried and each call has ``HUBSPOT_TIMEOUT_SECONDS``.
    """
    user_id = user.pk if user is not None else None
    if for_page:
        return HubSpotClient(
            portal_access_token(portal=portal),
            hub_id=portal.hub_id,
            retries=0,
            deadline_seconds=settings.HUBSPOT_PAGE_TIMEOUT_SECONDS,
            user_id=user_id,
        )
    return HubSpotClient(portal_access_token(portal=portal), hub_id=portal.hub_id, user_id=user_id)


def portal_schema(*, portal: Portal, for_page: bool = False, user: User | None = None) -> Schema:
    """The portal's appointment properties, association labels (contacts, companies, deals)
    and the unique-value properties of contacts, companies and deals (``Schema.key_properties``).

    Seven calls: the properties, then the labels to contacts, companies and deals, then those
    three objects' properties (an object whose read scope the connection lacks has none);
    ``for_page`` and ``user`` as for ``portal_client``. Raises HubSpotError, or
    PortalNeedsReconnect when the portal's token was revoked or cannot be decrypted.
    """
    with portal_client(portal=portal, for_page=for_page, user=user) as client:
        properties = client.get_appointment_properties()
        labels: list[AssociationLabel] = []
        for to_object_type, _name in ASSOCIATION_TARGETS.values():
            labels.extend(client.get_association_labels(to_object_type))
        keyed: dict[str, list[PropertyDefinition]] = {}
        for to_object_type, _name in ASSOCIATION_TARGETS.values():
            try:
                keyed[to_object_type] = client.get_unique_properties(to_object_type)
            except HubSpotScopeError:
                # Without the object's read scope its records cannot be read by any key anyway.
                keyed[to_object_type] = []
    return Schema(properties=properties, labels=labels, key_properties=keyed)


def portal_template(*, user: User, portal: Portal) -> bytes:
    """The portal's XLSX template (``services.exports.template_workbook``), from its schema
    read afresh within the page timeout. Raises PermissionDenied unless ``user`` may use the
    portal, HubSpotError, or PortalNeedsReconnect."""
    access.require(user, Action.PORTAL_USE, portal)
    return template_workbook(schema=portal_schema(portal=portal, for_page=True, user=user))


class RowKeyUnavailable(Exception):
    """The row key could not be set; the message says what an admin can do instead."""


def _row_key_help() -> str:
    return _(
        "An admin of the HubSpot portal can create a single-line text appointment property "
        "with “Require unique values for this property” turned on and choose it here; or "
        "reconnect the portal with the scope crm.schemas.appointments.write (add it to "
        "HUBSPOT_OPTIONAL_SCOPES) and press “Create the row key”."
    )


def portal_can_create_row_key(*, portal: Portal) -> bool:
    """Whether the connection was granted the scope that creating a property needs
    (``Portal.can_create_row_key``)."""
    return portal.can_create_row_key


def portal_set_row_key(*, user: User, portal: Portal, property_name: str = "") -> str:
    """Make ``portal`` send with a row key; returns the property's name.

    ``property_name`` empty: create ``hubportal_row_key`` (a string property with
    ``hasUniqueValue: true``) through ``POST /crm/properties/2026-03/0-421``, or take it when
    it already exists with unique values. Otherwise: choose that existing property, which must
    be a unique-value string property. Follows "Create unique identifier properties"
    (https://developers.hubspot.com/docs/api/crm/properties). Raises RowKeyUnavailable with
    what an admin must do (no scope, HubSpot refusing unique values on appointments, a property
    that is not a unique-value string), HubSpotError when HubSpot fails, PortalNeedsReconnect;
    PermissionDenied unless ``user`` may manage portals.
    """
    access.require(user, Action.PORTAL_MANAGE, portal)
    name = property_name.strip()
    with portal_client(portal=portal, for_page=True, user=user) as client:
        if not name:
            if not portal_can_create_row_key(portal=portal):
                raise RowKeyUnavailable(
                    _("This connection may not create properties.") + " " + _row_key_help()
                )
            name = ROW_KEY_PROPERTY
            try:
                client.create_appointment_property(
                    {
                        "name": name,
                        "label": "hubportal row key",
                        "type": "string",
                        "fieldType": "text",
                        "groupName": "appointment_information",
                        "description": "objectWriteTraceId of the hubportal row that created "
                        "this appointment; unique, so a resend cannot create it twice.",
                        "hasUniqueValue": True,
                        "formField": False,
                    }
                )
            except HubSpotScopeError:
                raise RowKeyUnavailable(
                    _("HubSpot refused: this connection may not create properties.")
                    + " "
                    + _row_key_help()
                ) from None
            except HubSpotError as exc:
                if exc.status == 400:
                    raise RowKeyUnavailable(
                        _(
                            "HubSpot refused a unique-value appointment property (%(message)s). "
                            "This portal sends without a row key: unconfirmed rows are checked "
                            "by search and never resent automatically."
                        )
                        % {"message": exc.message}
                    ) from None
                if exc.status != 409:  # 409: it exists already; checked below
                    raise
        properties = {p.name: p for p in client.get_appointment_properties()}
    chosen = properties.get(name)
    if chosen is None or not chosen.has_unique_value or chosen.type != "string":
        raise RowKeyUnavailable(
            _("“%(name)s” is not a unique-value text property of appointments in this portal.")
            % {"name": name}
            + " "
            + _row_key_help()
        )
    Portal.objects.filter(pk=portal.pk).update(row_key_property=name)
    portal.row_key_property = name
    logger.info("Portal %s sends with the row key %s", portal.hub_id, name)
    return name
