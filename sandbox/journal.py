"""The request journal: one ``JournalEntry`` row per API call the sandbox answers.

SANDBOX.md, "Journal". In the default "full" mode each row keeps the request and response bodies as
received and sent (tests assert what was sent through them); "summary" keeps method, path,
query, status, timing, sizes and note, no bodies (``Switches.journal_mode``, for benchmarks).
"""

from __future__ import annotations

import time

from django.http import HttpRequest, HttpResponse

from sandbox.context import ApiContext
from sandbox.db import insert_rows, write_lock
from sandbox.models import JournalEntry, Switches


def record(
    request: HttpRequest, ctx: ApiContext, body: bytes, response: HttpResponse, started: float
) -> None:
    """Journal one call: ``body`` is the raw request body, ``started`` its ``time.monotonic()``.

    The bodies are stored as the bytes went over the wire, decoded as UTF-8, never re-encoded.
    """
    content = b"" if response.streaming else response.content
    full = ctx.switches.journal_mode != Switches.JournalMode.SUMMARY
    row = {
        "portal_id": ctx.portal.pk if ctx.portal is not None else None,
        "correlation_id": ctx.correlation_id,
        "method": request.method or "",
        "path": request.path,
        "query": request.META.get("QUERY_STRING", ""),
        "request_body": body.decode("utf-8", errors="replace") if full else "",
        "status": response.status_code,
        "response_body": content.decode("utf-8", errors="replace") if full else "",
        "request_bytes": len(body),
        "response_bytes": len(content),
        "duration_ms": (time.monotonic() - started) * 1000,
        "received_at": ctx.now_dt,
        "note": ctx.note,
    }
    with write_lock():
        insert_rows(JournalEntry, {}, [row])
