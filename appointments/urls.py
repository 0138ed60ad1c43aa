"""URLs of the appointments app (namespace ``appointments``), one section per noun.

Each section's views are in ``views/<noun>.py``, its actions in ``services/<noun>.py`` and its
pages in ``templates/appointments/<noun>/`` (the README's architecture table).
"""

from typing import Any

from django.urls import path
from django.views.generic.base import RedirectView

from appointments.views import (
    activity,
    batches,
    duplicates,
    grid,
    history,
    portals,
    rows,
    undo,
    uploads,
)

app_name = "appointments"


def _moved(pattern_name: str) -> Any:
    """A permanent redirect to ``pattern_name``, keeping the query string."""
    return RedirectView.as_view(pattern_name=pattern_name, query_string=True, permanent=True)


urlpatterns = [
    # portals (the dashboard is the portals page: what is connected, what was sent)
    path("", portals.home, name="home"),
    path("hubspot/connect/", portals.portal_connect, name="portal-connect"),
    # Registered with HubSpot as the app's redirect URI: it never moves.
    path("hubspot/oauth/callback", portals.oauth_callback, name="oauth-callback"),
    path(
        "hubspot/portals/<int:hub_id>/disconnect/",
        portals.portal_disconnect,
        name="portal-disconnect",
    ),
    path(
        "hubspot/portals/<int:hub_id>/readiness/",
        portals.portal_readiness,
        name="portal-readiness",
    ),
    path(
        "hubspot/portals/<int:hub_id>/row-key/",
        portals.portal_row_key,
        name="portal-row-key",
    ),
    path(
        "hubspot/portals/<int:hub_id>/template.xlsx",
        portals.portal_template,
        name="portal-template",
    ),
    # activity: a portal's HubSpot calls of the last day (admins)
    path(
        "hubspot/portals/<int:hub_id>/activity/",
        activity.portal_activity_page,
        name="portal-activity",
    ),
    # uploads
    path("uploads/new/", uploads.upload_create, name="upload-create"),
    path("uploads/<uuid:upload_id>/mapping/", uploads.upload_mapping, name="upload-mapping"),
    # grid
    path("grid/", grid.grid_entry, name="grid-entry"),
    # batches
    path("batches/<uuid:batch_id>/", batches.batch_detail, name="batch-detail"),
    path("batches/<uuid:batch_id>/submit/", batches.batch_submit, name="batch-submit"),
    path("batches/<uuid:batch_id>/retry/", batches.batch_retry, name="batch-retry"),
    path(
        "batches/<uuid:batch_id>/check-records/",
        batches.batch_check_records,
        name="batch-check-records",
    ),
    path(
        "batches/<uuid:batch_id>/check-hubspot/",
        batches.batch_check_hubspot,
        name="batch-check-hubspot",
    ),
    path(
        "batches/<uuid:batch_id>/resend-unfound/",
        batches.batch_resend_unfound,
        name="batch-resend-unfound",
    ),
    path("batches/<uuid:batch_id>/cancel/", batches.batch_cancel, name="batch-cancel"),
    path("batches/<uuid:batch_id>/results.csv", batches.batch_export_csv, name="batch-export-csv"),
    path(
        "batches/<uuid:batch_id>/results.xlsx", batches.batch_export_xlsx, name="batch-export-xlsx"
    ),
    path(
        "batches/<uuid:batch_id>/audit.json", batches.batch_export_audit, name="batch-export-audit"
    ),
    path("batches/<uuid:batch_id>/undo/", undo.batch_undo, name="batch-undo"),
    # duplicates
    path(
        "batches/<uuid:batch_id>/duplicates/",
        duplicates.batch_duplicates_resolve,
        name="batch-duplicates-resolve",
    ),
    path(
        "batches/<uuid:batch_id>/duplicates/hubspot/",
        duplicates.batch_duplicates_search,
        name="batch-duplicates-search",
    ),
    path(
        "batches/<uuid:batch_id>/rows-to-fix.csv",
        batches.batch_export_rows_to_fix,
        name="batch-export-rows-to-fix",
    ),
    # rows
    path("batches/<uuid:batch_id>/rows/bulk/", rows.rows_bulk, name="rows-bulk"),
    path(
        "batches/<uuid:batch_id>/rows/bulk/<int:edit_id>/undo/",
        rows.rows_bulk_undo,
        name="rows-bulk-undo",
    ),
    path("batches/<uuid:batch_id>/rows/<int:row_number>/", rows.row_detail, name="row-detail"),
    path("batches/<uuid:batch_id>/rows/<int:row_number>/edit/", rows.row_edit, name="row-edit"),
    path(
        "batches/<uuid:batch_id>/rows/<int:row_number>/exclude/",
        rows.row_exclude,
        name="row-exclude",
    ),
    # history
    path("history/", history.batch_history, name="batch-history"),
    # Bookmarks of the addresses these pages had before they were filed by section.
    path("batches/upload/", _moved("appointments:upload-create")),
    path("batches/grid/", _moved("appointments:grid-entry")),
    path("batches/", _moved("appointments:batch-history")),
]
