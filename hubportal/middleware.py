"""Project middleware: the one piece of the Content-Security-Policy that depends on settings a
test or a deployment changes at run time."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.csp import CSP


def form_action_sources() -> list[str]:
    """``form-action``: ``'self'`` and the origin of HubSpot's authorize page
    (``HUBSPOT_APP_BASE_URL``), where the Connect form's answer redirects; browsers apply
    form-action to the redirects that follow a submission
    (https://www.w3.org/TR/CSP3/#directive-form-action). No other form leaves the app (single
    sign-on starts from a link)."""
    parts = urlsplit(settings.HUBSPOT_APP_BASE_URL)
    return [CSP.SELF, f"{parts.scheme}://{parts.netloc}"]


def csp_form_action(get_response: Callable[[HttpRequest], HttpResponse]) -> Callable:
    """Give each response ``SECURE_CSP`` plus ``form-action`` (``form_action_sources``), read
    from settings at each response; a view's own override (``csp_override``) is left alone.
    Sits below Django's ContentSecurityPolicyMiddleware, which writes the header."""

    def middleware(request: HttpRequest) -> HttpResponse:
        response = get_response(request)
        if not hasattr(response, "_csp_config") and settings.SECURE_CSP:
            response._csp_config = {  # type: ignore[attr-defined]
                **settings.SECURE_CSP,
                "form-action": form_action_sources(),
            }
        return response

    return middleware
