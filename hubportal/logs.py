"""Logging filters named by ``LOGGING`` in settings."""

from __future__ import annotations

import logging


class ClientErrorsInOneLine(logging.Filter):
    """Drop the traceback from the log of a 4xx answer (``django.request``/``django.security``
    records carry ``status_code``): a 403 from PermissionDenied or a 400 from a bad request is
    the client's doing, said in one line; 5xx keep theirs."""

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if isinstance(status, int) and 400 <= status < 500:
            record.exc_info = None
            record.exc_text = None
        return True
