"""Log lines as text or as one JSON object per line, with the request id where there is one.

``ATLAS_LOG_FORMAT=json`` gives ``{"time", "level", "logger", "message", "request_id", ...}``
per line (python-json-logger), for log shippers; extra fields a call passes (the access line's
``status``, ``duration_ms``, ...) become keys. The request id is the one the web view sets on
each request (``request["request_id"]``); :data:`CURRENT_REQUEST` holds the request a task is
answering, so any log line written while answering carries its id.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any

__all__ = ["CURRENT_REQUEST", "LOG_FORMATS", "RequestIdFilter", "logging_config"]

LOG_FORMATS = ("text", "json")
REQUEST_ID_KEY = "request_id"  # the key the web view's request-id middleware sets
CURRENT_REQUEST: ContextVar[Mapping[str, Any] | None] = ContextVar("atlas_request", default=None)


class RequestIdFilter(logging.Filter):
    """Give every record a ``request_id``: the current request's, else None."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Add the attribute; never drop a record."""
        if not hasattr(record, "request_id"):
            request = CURRENT_REQUEST.get()
            record.request_id = request.get(REQUEST_ID_KEY) if request is not None else None
        return True


def logging_config(level: str, fmt: str) -> dict[str, Any] | None:
    """Return the ``logging.config.dictConfig`` of a worker; None keeps Faust's text format."""
    if fmt not in LOG_FORMATS:
        raise ValueError(f"log format must be one of {', '.join(LOG_FORMATS)}; got {fmt!r}")
    if fmt == "text":
        return None
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": RequestIdFilter}},
        "formatters": {"json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            "datefmt": "%Y-%m-%dT%H:%M:%S%z",
        }},
        "handlers": {"stderr": {
            "class": "logging.StreamHandler", "formatter": "json", "filters": ["request_id"],
            "stream": "ext://sys.stderr",
        }},
        "root": {"level": level.upper(), "handlers": ["stderr"]},
    }
