"""URLs of the appointments app (namespace ``appointments``)."""

from django.urls import path

from appointments.views import batches, grid, history, intake, portals, rows

app_name = "appointments"

urlpatterns = [
    path("", portals.home, name="home"),
    path("hubspot/connect/", portals.portal_connect, name="portal-connect"),
    path("hubspot/oauth/callback", portals.oauth_callback, name="oauth-callback"),
    path(
        "hubspot/portals/<int:hub_id>/disconnect/",
        portals.portal_disconnect,
        name="portal-disconnect",
    ),
    path("batches/upload/", batches.batch_upload, name="batch-upload"),
    path("batches/<uuid:batch_id>/", batches.batch_detail, name="batch-detail"),
    path("batches/<uuid:batch_id>/submit/", batches.batch_submit, name="batch-submit"),
    path("batches/<uuid:batch_id>/retry/", batches.batch_retry, name="batch-retry"),
    path(
        "batches/<uuid:batch_id>/check-records/",
        batches.batch_check_records,
        name="batch-check-records",
    ),
    path("batches/<uuid:batch_id>/cancel/", batches.batch_cancel, name="batch-cancel"),
    path("batches/<uuid:batch_id>/results.csv", batches.batch_export_csv, name="batch-export-csv"),
    path(
        "batches/<uuid:batch_id>/results.xlsx", batches.batch_export_xlsx, name="batch-export-xlsx"
    ),
    path("batches/", history.batch_history, name="batch-history"),
    path("uploads/<uuid:upload_id>/mapping/", intake.upload_mapping, name="upload-mapping"),
    path(
        "hubspot/portals/<int:hub_id>/template.xlsx",
        intake.portal_template,
        name="portal-template",
    ),
    path("batches/grid/", grid.grid_entry, name="grid-entry"),
    path("batches/<uuid:batch_id>/rows/<int:row_number>/", rows.row_detail, name="row-detail"),
    path("batches/<uuid:batch_id>/rows/<int:row_number>/edit/", rows.row_edit, name="row-edit"),
    path(
        "batches/<uuid:batch_id>/rows/<int:row_number>/exclude/",
        rows.row_exclude,
        name="row-exclude",
    ),
]
