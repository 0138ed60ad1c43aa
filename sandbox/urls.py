"""URLs of the sandbox, at the root, with HubSpot's own paths (2026-03 and the v3/v4 forms)."""

from django.urls import path, re_path

from sandbox.views import (
    account,
    archive,
    associations,
    errors,
    oauth,
    object_library,
    objects,
    owners,
    pages,
    pipelines,
    properties,
    update,
)

_objects = [
    ("<str:object_type>/batch/create", objects.create_batch),
    ("<str:object_type>/batch/read", objects.read_batch),
    ("<str:object_type>/batch/archive", archive.archive_batch),
    ("<str:object_type>/batch/update", update.update_batch),
    ("<str:object_type>/batch/upsert", update.upsert_batch),
    ("<str:object_type>/search", objects.search),
    ("<str:object_type>/<str:object_id>", objects.read_one),
]

urlpatterns = [
    path("oauth/authorize", oauth.authorize, name="authorize"),
    path("sandbox/", pages.settings_page, name="settings"),
    path("sandbox/journal/", pages.journal_page, name="journal"),
    path("account-info/v3/details", account.account_details),
    path("account-info/2027-03-beta/details", account.account_details_beta),
    path(
        "contacts/<int:hub_id>/record/<str:object_type>/<str:record_id>",
        pages.record_page,
        name="record",
    ),
]
# v1: deprecated, sunset 2027-02-16, but what both official SDKs' OAuth helpers call.
urlpatterns += [
    path("oauth/v1/token", oauth.token),
    path("oauth/v1/access-tokens/<str:token>", oauth.access_token_v1),
    path("oauth/v1/refresh-tokens/<str:token>", oauth.refresh_token_v1),
]
for version in ("2026-03", "v3"):
    urlpatterns += [
        path(f"oauth/{version}/token", oauth.token),
        path(f"oauth/{version}/token/introspect", oauth.introspect),
        path(f"oauth/{version}/token/revoke", oauth.revoke),
    ]
for prefix in ("crm/objects/2026-03", "crm/v3/objects", "crm/objects/v3"):
    urlpatterns += [path(f"{prefix}/{route}", view) for route, view in _objects]
for prefix in ("crm/properties/2026-03", "crm/v3/properties"):
    urlpatterns.append(path(f"{prefix}/<str:object_type>", properties.properties))
for prefix in ("crm/associations/2026-03", "crm/associations/v4", "crm/v4/associations"):
    urlpatterns += [
        path(f"{prefix}/<str:from_type>/<str:to_type>/labels", associations.association_labels),
        path(
            f"{prefix}/<str:from_type>/<str:to_type>/batch/read",
            associations.read_associations_batch,
        ),
        path(f"{prefix}/<str:from_type>/<str:to_type>/batch/create", associations.associate_batch),
    ]
for prefix in ("crm/object-library/2026-03", "crm/v3/object-library"):
    urlpatterns += [
        path(f"{prefix}/enablement", object_library.enablement_all),
        path(f"{prefix}/enablement/<str:object_type>", object_library.enablement),
    ]
for prefix in ("crm/owners/2026-03", "crm/owners/v3"):
    urlpatterns.append(path(prefix, owners.owners))
for prefix in ("crm/pipelines/2026-03", "crm/v3/pipelines"):
    urlpatterns.append(path(f"{prefix}/<str:object_type>", pipelines.pipelines))

# Last: whatever matched nothing answers HubSpot's JSON 404, never Django's HTML page (which
# DEBUG would show even with a handler404), so the catch-all is a route, not a handler.
urlpatterns.append(re_path(r"^(?P<path>.*)$", errors.unknown_route))
handler500 = errors.server_error
