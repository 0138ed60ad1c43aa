"""Sign-in: the password form (throttled by django-axes; it can be turned off) and single
sign-on through the company's OpenID provider."""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth import login as auth_login
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from appointments import oidc
from appointments.services import accounts

logger = logging.getLogger(__name__)

SSO_NEXT_SESSION_KEY = "sso_next"
# Signed in through the provider: the session is Django's own, as after a password sign-in.
SESSION_BACKEND = "django.contrib.auth.backends.ModelBackend"


def _refusal_message(reason: str) -> str:
    if reason == "state":
        return _("This sign-in was not started here, or it has expired. Sign in again.")
    if reason == "provider":
        return _(
            "The company login could not be reached or refused the sign-in. Try again; if it "
            "happens again, tell your administrator."
        )
    why = {
        "signature": _("its signature does not match the provider's keys"),
        "expired": _("it has expired: check the server's clock"),
        "audience": _("it was issued to another application"),
        "issuer": _("it comes from another provider"),
    }.get(reason, _("it is not a valid ID token"))
    return _(
        "The company login's answer could not be verified (%(why)s), so you were not signed "
        "in. Tell your administrator."
    ) % {"why": why}


def _login_context() -> dict[str, object]:
    return {
        "sso": oidc.is_configured(),
        "sso_name": settings.OIDC_PROVIDER_NAME,
        "password_login": settings.HUBPORTAL_PASSWORD_LOGIN,
    }


def login(request: HttpRequest) -> HttpResponseBase:
    """``/accounts/login/``: the single sign-on button and, unless
    ``HUBPORTAL_PASSWORD_LOGIN`` is off, the password form (a POST is refused, 403, when off)."""
    if request.method == "POST" and not settings.HUBPORTAL_PASSWORD_LOGIN:
        messages.error(request, _("Password sign-in is turned off: use the company login."))
        return render(request, "registration/login.html", _login_context(), status=403)
    return LoginView.as_view(extra_context=_login_context())(request)


@require_GET
@never_cache
def sso_start(request: HttpRequest) -> HttpResponse:
    """``/accounts/sso/``: send the browser to the provider, remembering where to go after."""
    if not oidc.is_configured():
        messages.error(
            request,
            _(
                "Single sign-on is not configured: set OIDC_DISCOVERY_URL, OIDC_CLIENT_ID and "
                "OIDC_CLIENT_SECRET."
            ),
        )
        return redirect("login")
    after = request.GET.get(REDIRECT_FIELD_NAME, "")
    if url_has_allowed_host_and_scheme(
        after, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        request.session[SSO_NEXT_SESSION_KEY] = after
    redirect_uri = settings.OIDC_REDIRECT_URI or request.build_absolute_uri(reverse("sso-callback"))
    try:
        return oidc.authorization_redirect(request, redirect_uri)
    except oidc.SignInRefused as refused:
        logger.warning("single sign-on could not start: %s", refused)
        messages.error(request, _refusal_message(refused.reason))
        return redirect("login")


@require_GET
@never_cache
def sso_callback(request: HttpRequest) -> HttpResponse:
    """``/accounts/sso/callback/``: where the provider sends the browser back with a code."""
    try:
        user = accounts.user_sign_in_with_sso(request=request)
    except oidc.SignInRefused as refused:
        logger.warning("single sign-on refused: %s", refused)
        messages.error(request, _refusal_message(refused.reason))
        return redirect("login")
    if user is None:
        messages.error(
            request,
            _(
                "Your company account is in no group that gives access to hubportal. Ask your "
                "administrator to add you to one."
            ),
        )
        return redirect("login")
    if not user.is_active:
        messages.error(request, _("Your account is deactivated here: ask your administrator."))
        return redirect("login")
    after = request.session.pop(SSO_NEXT_SESSION_KEY, "") or reverse(settings.LOGIN_REDIRECT_URL)
    auth_login(request, user, backend=SESSION_BACKEND)
    return redirect(after)
