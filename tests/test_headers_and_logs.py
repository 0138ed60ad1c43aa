"""Security headers every page carries, and what a refused request leaves in the log."""

from __future__ import annotations

import io
import logging
from typing import Any

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.test import Client, RequestFactory
from django.utils.log import log_response


@pytest.mark.django_db
def test_forms_may_post_only_to_the_app_and_hubspots_authorize_host(
    client: Client, settings: Any
) -> None:
    settings.HUBSPOT_APP_BASE_URL = "http://127.0.0.1:9599"
    csp = client.get("/accounts/login/")["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in csp.split(";"))
    assert directives["form-action"] == "'self' http://127.0.0.1:9599"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["base-uri"] == "'none'"  # stricter than 'self': the app uses no <base>


def test_a_403_is_logged_in_one_line_without_its_traceback() -> None:
    # The handler settings.LOGGING gives, with its filters, written to a buffer.
    (console,) = [
        h
        for h in logging.getLogger().handlers
        if h.formatter is not None
        and h.formatter._fmt == settings.LOGGING["formatters"]["plain"]["format"]
    ]
    out = io.StringIO()
    previous = console.setStream(out)  # type: ignore[attr-defined]
    try:
        try:
            raise PermissionDenied
        except PermissionDenied as exc:
            # What Django's handler does with a view's PermissionDenied.
            log_response(
                "Forbidden (Permission denied): %s",
                "/batches/x/retry/",
                response=HttpResponse(status=403),
                request=RequestFactory().post("/batches/x/retry/"),
                exception=exc,
            )
    finally:
        console.setStream(previous)  # type: ignore[attr-defined]
    logged = out.getvalue()
    assert "Forbidden (Permission denied): /batches/x/retry/" in logged
    assert "Traceback" not in logged
    assert logged.count("\n") == 1
