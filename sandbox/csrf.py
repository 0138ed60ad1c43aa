"""CSRF protection for the sandbox's HTML forms under its own cookie name.

Browsers do not separate cookies by port (RFC 6265 section 8.5), so the app on :8000 and the
sandbox on :8765 must not share ``csrftoken``. This works whatever settings module the process
runs with, so the in-process test server behaves like ``manage.py sandbox``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.utils.decorators import decorator_from_middleware

COOKIE_NAME = "hubsandbox_csrftoken"


class SandboxCsrfMiddleware(CsrfViewMiddleware):
    """Django's CSRF check, reading and writing the ``hubsandbox_csrftoken`` cookie."""

    def process_request(self, request: HttpRequest) -> None:
        # Forget a secret the site-wide middleware read from the app's own cookie.
        request.META.pop("CSRF_COOKIE", None)
        super().process_request(request)

    def _get_secret(self, request: HttpRequest) -> Any:
        value = request.COOKIES.get(COOKIE_NAME)
        original = request.COOKIES.copy()
        request.COOKIES.pop(settings.CSRF_COOKIE_NAME, None)
        if value is not None:
            request.COOKIES[settings.CSRF_COOKIE_NAME] = value
        try:
            return super()._get_secret(request)  # type: ignore[misc]
        finally:
            request.COOKIES = original

    def _set_csrf_cookie(self, request: HttpRequest, response: HttpResponse) -> None:
        response.set_cookie(
            COOKIE_NAME,
            request.META["CSRF_COOKIE"],
            max_age=settings.CSRF_COOKIE_AGE,
            path="/",
            secure=settings.CSRF_COOKIE_SECURE,
            httponly=settings.CSRF_COOKIE_HTTPONLY,
            samesite=settings.CSRF_COOKIE_SAMESITE,
        )


sandbox_csrf_protect = decorator_from_middleware(SandboxCsrfMiddleware)
