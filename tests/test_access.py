"""Who may open what: every URL of the URLconf, walked with every role, gives exactly the
allowed set; and the shared-portal rules behind it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from appointments.models import (
    Batch,
    BatchRow,
    Portal,
    PortalAccess,
    RowEdit,
    SavedMapping,
    Upload,
)
from appointments.services import access, exports
from appointments.services import batches as batch_services
from appointments.services import portals as portal_services
from appointments.services import rows as row_services
from appointments.services.access import ADMIN, OPERATOR, VIEWER, role_set
from appointments.services.mappings import mapping_save

ANONYMOUS, NO_ROLE = "anonymous", "no role"
# The operator who made the batch and the upload, another operator on the same portal, an
# operator granted no portal, a viewer of the portal.
CREATOR, COLLEAGUE, OUTSIDER = "operator (creator)", "operator (colleague)", "operator (outsider)"
EVERYONE = {ANONYMOUS, NO_ROLE, VIEWER, CREATOR, COLLEAGUE, OUTSIDER, ADMIN}
SIGNED_IN = EVERYONE - {ANONYMOUS}
SEE_PORTAL = {VIEWER, CREATOR, COLLEAGUE, ADMIN}
SENDERS = {CREATOR, COLLEAGUE, OUTSIDER, ADMIN}
USE_PORTAL = {CREATOR, COLLEAGUE, ADMIN}
ACT_ON_BATCH = {CREATOR, ADMIN}
STAFF = {ADMIN}

# URL name (or route, for unnamed ones) -> (method, allowed roles). A URL missing here fails the
# walk: a new URL must say who may open it.
EXPECTED: dict[str, tuple[str, set[str]]] = {
    "login": ("GET", EVERYONE),
    "logout": ("POST", EVERYONE),
    "set_language": ("POST", EVERYONE),
    # Single sign-on starts and ends before anyone is signed in; unconfigured, both say so.
    "sso-start": ("GET", EVERYONE),
    "sso-callback": ("GET", EVERYONE),
    # For load balancers and probes: no sign-in (503 here: HubSpot is a closed port).
    "healthz": ("GET", EVERYONE),
    "appointments:home": ("GET", SIGNED_IN),
    "appointments:portal-connect": ("POST", {ADMIN}),
    "appointments:oauth-callback": ("GET", {ADMIN}),
    "appointments:portal-disconnect": ("POST", {ADMIN}),
    "appointments:portal-row-key": ("POST", {ADMIN}),
    # Re-checking whether a portal can take appointments only reads HubSpot: whoever may use it.
    "appointments:portal-readiness": ("POST", USE_PORTAL),
    "appointments:portal-template": ("GET", USE_PORTAL),
    # A portal's HubSpot calls, error rate and correlation IDs: the admins'.
    "appointments:portal-activity": ("GET", {ADMIN}),
    "appointments:upload-create": ("GET", SENDERS),
    "appointments:upload-mapping": ("GET", {CREATOR, ADMIN}),
    "appointments:grid-entry": ("GET", SENDERS),
    "appointments:batch-detail": ("GET", SEE_PORTAL),
    "appointments:batch-submit": ("POST", ACT_ON_BATCH),
    "appointments:batch-retry": ("POST", ACT_ON_BATCH),
    "appointments:batch-check-records": ("POST", ACT_ON_BATCH),
    "appointments:batch-check-hubspot": ("POST", ACT_ON_BATCH),
    "appointments:batch-resend-unfound": ("POST", ACT_ON_BATCH),
    "appointments:batch-cancel": ("POST", ACT_ON_BATCH),
    "appointments:batch-export-csv": ("GET", SEE_PORTAL),
    "appointments:batch-export-xlsx": ("GET", SEE_PORTAL),
    "appointments:batch-export-audit": ("GET", SEE_PORTAL),
    # The list of what undoing would archive is read-only; starting it (POST) is BATCH_ACT.
    "appointments:batch-undo": ("GET", SEE_PORTAL),
    "appointments:batch-duplicates-resolve": ("POST", ACT_ON_BATCH),
    "appointments:batch-duplicates-search": ("POST", ACT_ON_BATCH),
    "appointments:batch-export-rows-to-fix": ("GET", SEE_PORTAL),
    "appointments:rows-bulk": ("GET", ACT_ON_BATCH),
    "appointments:rows-bulk-undo": ("POST", ACT_ON_BATCH),
    "appointments:row-detail": ("GET", SEE_PORTAL),
    "appointments:row-edit": ("GET", ACT_ON_BATCH),
    "appointments:row-exclude": ("POST", ACT_ON_BATCH),
    "appointments:batch-history": ("GET", SIGNED_IN),
    # Old bookmarks: permanent redirects to the pages above, which check.
    "batches/upload/": ("GET", EVERYONE),
    "batches/grid/": ("GET", EVERYONE),
    "batches/": ("GET", EVERYONE),
}
# URLs answering a second method, walked too: the confirmation pages (GET) of Send (and Resume),
# Cancel and Disconnect, whose buttons post; the bulk fix's count and apply (POST).
SECOND_METHOD: dict[str, tuple[str, set[str]]] = {
    "appointments:portal-disconnect": ("GET", {ADMIN}),
    "appointments:batch-submit": ("GET", ACT_ON_BATCH),
    "appointments:batch-cancel": ("GET", ACT_ON_BATCH),
    "appointments:rows-bulk": ("POST", ACT_ON_BATCH),
}
# The Django admin's own URLs (its site checks staff and model permissions): these are walked.
ADMIN_SAMPLES = {
    "admin:index": ("GET", STAFF),
    "admin:appointments_batch_changelist": ("GET", STAFF),
    "admin:appointments_batch_change": ("GET", STAFF),
    "admin:appointments_portal_change": ("GET", STAFF),
}


def _patterns(
    resolver: URLResolver, namespace: str = "", prefix: str = ""
) -> Iterator[tuple[str, URLPattern, str]]:
    """(name or route, pattern, full route) of every URL, namespaces included."""
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _patterns(entry, inner, route)
        else:
            yield (f"{namespace}{entry.name}" if entry.name else route), entry, route


@pytest.fixture
def world(db: Any, settings: Any, django_user_model: type[User]) -> dict[str, Any]:
    """A portal shared with a viewer and two operators, a batch and an upload by one of them.

    HubSpot is unreachable (a closed port) and tasks are never run: the walk asks who may
    open what, and a view that may call HubSpot says it could not instead of failing.
    """
    settings.HUBSPOT_API_BASE_URL = "http://127.0.0.1:9"
    settings.HUBSPOT_PAGE_TIMEOUT_SECONDS = 1
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    users = {}
    for name, role in [
        (NO_ROLE, None),
        (VIEWER, VIEWER),
        (CREATOR, OPERATOR),
        (COLLEAGUE, OPERATOR),
        (OUTSIDER, OPERATOR),
        (ADMIN, ADMIN),
    ]:
        users[name] = django_user_model.objects.create_user(username=name.replace(" ", "-"))
        role_set(users[name], role)
    portal = Portal(hub_id=4242, connected_by=users[ADMIN], auth_kind=Portal.AuthKind.PRIVATE_APP)
    portal.set_tokens(access_token="pat-na1-x", refresh_token=None, expires_in=None)
    portal.save()
    for name in (VIEWER, CREATOR, COLLEAGUE):
        access.portal_grant(by=users[ADMIN], portal=portal, user=users[name])
    batch = Batch.objects.create(
        portal=portal,
        created_by=users[CREATOR],
        filename="visits.csv",
        headers=["Appointment name"],
        mapping=[None],
        status=Batch.Status.PAUSED,
    )
    BatchRow.objects.create(
        batch=batch, row_number=2, raw=["Visit"], state=BatchRow.State.INVALID, errors=[]
    )
    upload = Upload.objects.create(
        portal=portal, created_by=users[CREATOR], filename="next.csv", data=b"a\n1\n"
    )
    edit = RowEdit.objects.create(
        batch=batch,
        created_by=users[CREATOR],
        kind=RowEdit.Kind.FILL,
        column=0,
        replace="Visit",
        before={"2": ""},
        changed=1,
    )
    return {"users": users, "portal": portal, "batch": batch, "upload": upload, "edit": edit}


def _url(name: str, pattern: URLPattern, world: dict[str, Any]) -> str:
    values = {
        "hub_id": world["portal"].hub_id,
        "batch_id": world["batch"].pk,
        "upload_id": world["upload"].pk,
        "row_number": 2,
        "edit_id": world["edit"].pk,
        "object_id": world["batch"].pk,
    }
    if name.startswith("admin:appointments_portal"):
        values["object_id"] = world["portal"].pk
    kwargs = {key: values[key] for key in pattern.pattern.converters}
    if ":" in name or name in {"login", "logout", "set_language", "healthz"} or "sso" in name:
        return reverse(name, kwargs=kwargs)
    return "/" + name


def _allowed(client: Client, method: str, url: str) -> bool:
    """Whether the view did its work: not refused (403), hidden (404) or sent to sign in."""
    # Each request is undone, so a disconnect or a cancel leaves the next check the same world.
    with transaction.atomic():
        response = client.generic(method, url, secure=False)
        transaction.set_rollback(True)
    # /healthz answers 503 by design when a dependency is down (HubSpot is, here).
    health = url == reverse("healthz") and response.status_code == 503
    assert response.status_code < 500 or health, (method, url, response.status_code)
    if response.status_code in (403, 404):
        return False
    # Sent to sign in, coming back here after (a logout's redirect to the login page is not).
    location = response.get("Location", "")
    return not (response.status_code == 302 and "/login/?next=" in location)


def test_every_url_with_every_role_gives_exactly_the_allowed_set(world: dict[str, Any]) -> None:
    every = list(_patterns(get_resolver()))
    patterns = {name: pattern for name, pattern, _route in every}
    # Under admin/ the admin site itself checks staff and model permissions on every page.
    walked = {name for name, _pattern, route in every if not route.startswith("admin/")}
    assert walked == set(EXPECTED), "every URL must say who may open it (EXPECTED)"
    assert set(ADMIN_SAMPLES) <= set(patterns)
    assert set(SECOND_METHOD) <= set(patterns)

    walks = [
        *((name, method, roles) for name, (method, roles) in EXPECTED.items()),
        *((name, method, roles) for name, (method, roles) in SECOND_METHOD.items()),
        *((name, method, roles) for name, (method, roles) in ADMIN_SAMPLES.items()),
    ]
    found: dict[tuple[str, str], set[str]] = {}
    for name, method, _allowed_roles in walks:
        url = _url(name, patterns[name], world)
        found[name, method] = set()
        for role in EVERYONE:
            client = Client()
            if role != ANONYMOUS:
                client.force_login(world["users"][role])
            if _allowed(client, method, url):
                found[name, method].add(role)

    expected = {(name, method): roles for name, method, roles in walks}
    assert found == expected


def test_the_admin_shows_a_batch_read_only(world: dict[str, Any], client: Client) -> None:
    client.force_login(world["users"][ADMIN])
    batch = world["batch"]
    page = client.get(reverse("admin:appointments_batch_change", args=[batch.pk])).text

    assert "visits.csv" in page and 'name="_save"' not in page
    assert (
        client.post(
            reverse("admin:appointments_batch_change", args=[batch.pk]), {"status": "completed"}
        ).status_code
        == 403
    )
    assert client.get(reverse("admin:appointments_batch_add")).status_code == 403
    assert Batch.objects.get(pk=batch.pk).status == Batch.Status.PAUSED


def test_everyone_granted_sees_the_portals_batches_with_who_created_them(
    world: dict[str, Any], client: Client
) -> None:
    users = world["users"]
    for name, sees in [(VIEWER, True), (COLLEAGUE, True), (OUTSIDER, False), (NO_ROLE, False)]:
        client.force_login(users[name])
        home = client.get(reverse("appointments:home")).text
        assert ("visits.csv" in home) is sees, name
        assert (f"<td>{users[CREATOR].username}</td>" in home) is sees, name
    client.force_login(users[VIEWER])
    detail = client.get(reverse("appointments:batch-detail", args=[world["batch"].pk])).text
    # A viewer reads, sees who made the batch, and is offered no action.
    assert "Download results (CSV)" in detail
    assert f"Created by {users[CREATOR].username}" in " ".join(detail.split())
    assert reverse("appointments:batch-cancel", args=[world["batch"].pk]) not in detail
    assert reverse("appointments:row-exclude", args=[world["batch"].pk, 2]) not in detail


def test_the_services_check_too_not_only_the_views(world: dict[str, Any]) -> None:
    users, batch, portal = world["users"], world["batch"], world["portal"]
    row = batch.rows.get()
    refused = [
        lambda: batch_services.batch_submit(user=users[COLLEAGUE], batch=batch),
        lambda: batch_services.batch_cancel(user=users[VIEWER], batch=batch),
        lambda: row_services.row_set_excluded(user=users[COLLEAGUE], row=row, excluded=True),
        lambda: exports.results_csv(user=users[OUTSIDER], batch=batch),
        lambda: exports.rows_to_fix_csv(user=users[OUTSIDER], batch=batch),
        lambda: batch_services.batch_send_checked(
            user=users[COLLEAGUE], batch=batch, check_records=True
        ),
        lambda: row_services.rows_bulk_apply(
            user=users[VIEWER],
            batch=batch,
            fix=row_services.BulkFix(kind=RowEdit.Kind.FILL, column=0, find="", replace="x"),
        ),
        lambda: row_services.rows_bulk_undo(user=users[COLLEAGUE], edit=world["edit"]),
        lambda: portal_services.portal_check_readiness(user=users[VIEWER], portal=portal),
        lambda: portal_services.portal_disconnect(user=users[CREATOR], portal=portal),
        lambda: mapping_save(
            portal=portal, user=users[CREATOR], name="Shared", headers=["a"], mapping=[None]
        ),
        lambda: access.portal_grant(by=users[CREATOR], portal=portal, user=users[OUTSIDER]),
    ]
    for call in refused:
        with pytest.raises(PermissionDenied):
            call()
    # Nothing changed.
    batch.refresh_from_db()
    row.refresh_from_db()
    assert batch.status == Batch.Status.PAUSED and row.state == BatchRow.State.INVALID
    assert not SavedMapping.objects.exists()
    assert not PortalAccess.objects.filter(user=users[OUTSIDER]).exists()
    # The creator may.
    assert row_services.row_set_excluded(user=users[CREATOR], row=row, excluded=True)


def test_a_role_is_one_of_three_and_replaces_the_previous_one(world: dict[str, Any]) -> None:
    person = world["users"][VIEWER]
    with pytest.raises(access.UnknownRole, match="“boss” is not a role"):
        role_set(person, "boss")
    role_set(person, OPERATOR)
    assert access.role_of(person) == OPERATOR
    assert list(person.groups.values_list("name", flat=True)) == [OPERATOR]
    role_set(person, ADMIN)
    person.refresh_from_db()
    assert access.role_of(person) == ADMIN and person.is_staff
    role_set(person, None)
    person.refresh_from_db()
    assert access.role_of(person) is None and not person.is_staff


def test_an_admin_grants_a_portal_in_the_django_admin(
    world: dict[str, Any], client: Client
) -> None:
    users, portal = world["users"], world["portal"]
    client.force_login(users[ADMIN])
    url = reverse("admin:appointments_portal_change", args=[portal.pk])
    page = client.get(url).text
    assert 'name="grants-TOTAL_FORMS"' in page and 'name="status"' not in page
    grants = list(portal.grants.order_by("pk"))
    form = {
        "grants-TOTAL_FORMS": str(len(grants) + 1),
        "grants-INITIAL_FORMS": str(len(grants)),
        "grants-MIN_NUM_FORMS": "0",
        "grants-MAX_NUM_FORMS": "1000",
        **{f"grants-{i}-id": str(grant.pk) for i, grant in enumerate(grants)},
        **{f"grants-{i}-portal": str(portal.pk) for i in range(len(grants) + 1)},
        **{f"grants-{i}-user": str(grant.user_id) for i, grant in enumerate(grants)},
        f"grants-{len(grants)}-user": str(users[OUTSIDER].pk),
    }

    response = client.post(url, form)

    assert response.status_code == 302, response.text
    grant = PortalAccess.objects.get(portal=portal, user=users[OUTSIDER])
    assert grant.granted_by == users[ADMIN]
    assert access.portals_for(users[OUTSIDER]).get() == portal
