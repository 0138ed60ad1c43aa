"""Root URLs of the hubportal site (the sandbox has its own URLconf: sandbox.urls)."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic.base import RedirectView

from appointments.views import accounts, health

urlpatterns = [
    path("accounts/login/", accounts.login, name="login"),
    path("accounts/sso/", accounts.sso_start, name="sso-start"),
    path("accounts/sso/callback/", accounts.sso_callback, name="sso-callback"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    # The admin signs in on the same page: throttled, and closed when password sign-in is off.
    path("admin/login/", RedirectView.as_view(pattern_name="login", query_string=True)),
    path("admin/", admin.site.urls),
    path("healthz", health.healthz, name="healthz"),
    path("", include("appointments.urls")),
]
