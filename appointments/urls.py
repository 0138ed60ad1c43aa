"""URLs of the appointments app (namespace ``appointments``)."""

from django.urls import path

from appointments import views

app_name = "appointments"

urlpatterns = [
    path("", views.home, name="home"),
    path("hubspot/connect/", views.portal_connect, name="portal-connect"),
    path("hubspot/oauth/callback", views.oauth_callback, name="oauth-callback"),
    path(
        "hubspot/portals/<int:hub_id>/disconnect/",
        views.portal_disconnect,
        name="portal-disconnect",
    ),
    path("batches/upload/", views.batch_upload, name="batch-upload"),
    path("batches/<uuid:batch_id>/", views.batch_detail, name="batch-detail"),
    path("batches/<uuid:batch_id>/submit/", views.batch_submit, name="batch-submit"),
    path("batches/<uuid:batch_id>/cancel/", views.batch_cancel, name="batch-cancel"),
    path("batches/<uuid:batch_id>/results.csv", views.batch_export_csv, name="batch-export-csv"),
]
