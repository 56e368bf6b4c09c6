"""Logging for `fairmeet serve`: one JSON object per line (or plain text for a person at a terminal), every record with
the request id of the request, WebSocket session or background job run it belongs to, and secrets scrubbed.

FAIRMEET_LOG_FORMAT=json|text; without it, text when stderr is a terminal and JSON otherwise (a process manager, a
container: something that stores the lines). FAIRMEET_LOG_LEVEL (INFO by default).

A line: {"ts": "2026-12-01T15:10:05.123Z", "level": "INFO", "logger": "fairmeet.access", "msg": "GET /chats/{chat_id} 200",
"request_id": "9f1c...", ...extras}. Extras are whatever the record carries through `extra=` (the access log: method,
route, status, duration_ms) and `job` for a background job's lines.

Redaction: sign-in links, booking and continue links, calendar feed tokens, `token=`/`password=`-like parameters,
Bearer credentials and passwords in URLs are replaced by "[redacted]" in every message and traceback. Chat message
texts are never logged in the first place (the database engine hides statement parameters, see web.app).
"""

from __future__ import annotations

import logging
import os
import re
import sys
import time
from typing import Any, TextIO

import orjson

from web import requestid

_SECRET_PATHS = re.compile(r"(/(?:login/link|signin|book|live/continue|continue|calendar)/)(?!\{)[^\s/?#\"'<>]+")
_SECRET_PARAMS = re.compile(r"(?i)(\w*(?:token|password|passwd|secret|signature)\w*[\"']?\s*[=:]\s*[\"']?)(?!\[redacted\])[^\s&\"',;}]+")
_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+")
_URL_PASSWORD = re.compile(r"(://[^/\s:@]+:)[^@\s/]+@")
REDACTED = "[redacted]"
ACCESS_LOGGER = "fairmeet.access"
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "request_id", "job", "taskName"}


def redact(text: str) -> str:
    """`text` with anything that looks like a credential replaced by [redacted]."""
    if not text:
        return text
    text = _SECRET_PATHS.sub(r"\1" + REDACTED, text)
    text = _BEARER.sub(r"\1" + REDACTED, text)
    text = _URL_PASSWORD.sub(r"\1" + REDACTED + "@", text)
    return _SECRET_PARAMS.sub(r"\1" + REDACTED, text)


class RequestIdFilter(logging.Filter):
    """Adds `request_id` (and `job` for a background job's run) from the context to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = requestid.request_id.get()
        if not hasattr(record, "job"):
            record.job = requestid.job_name.get()
        return True


class RedactFilter(logging.Filter):
    """Scrubs credentials from the message (formatted once here, so the formatter sees the scrubbed text)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == ACCESS_LOGGER:  # built from a route template, a method and a status: nothing to scrub
            return True
        message = record.getMessage()
        clean = redact(message)
        if clean != message or record.args:
            record.msg, record.args = clean, None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg, request_id, then the record's extras (and exc for a traceback)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),  # scrubbed by RedactFilter
            "request_id": getattr(record, "request_id", None) or requestid.request_id.get(),
        }
        job = getattr(record, "job", None) or requestid.job_name.get()
        if job:
            line["job"] = job
        fields = vars(record)
        for key in fields.keys() - _STANDARD:  # the extras
            if not key.startswith("_") and key != "color_message":  # uvicorn's copy of msg with terminal colour codes
                value = fields[key]
                line[key] = value if isinstance(value, (str, int, float, bool, type(None))) else str(value)
        if record.exc_info:
            line["exc"] = redact(self.formatException(record.exc_info))
        elif record.exc_text:
            line["exc"] = redact(record.exc_text)
        return orjson.dumps(line, default=str).decode()


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        if not hasattr(record, "request_id"):
            record.request_id = requestid.request_id.get()
        return redact(super().format(record))


def choose_format(env: dict[str, str] | None = None, stream: TextIO | None = None) -> str:
    """json or text: FAIRMEET_LOG_FORMAT when set, else text at a terminal and JSON otherwise."""
    env = dict(os.environ if env is None else env)
    value = env.get("FAIRMEET_LOG_FORMAT", "").strip().lower()
    if value in ("json", "text"):
        return value
    stream = stream or sys.stderr
    return "text" if stream.isatty() else "json"


def handler(fmt: str = "json", stream: TextIO | None = None) -> logging.Handler:
    """A stream handler with the request id and redaction filters and the chosen formatter."""
    out = logging.StreamHandler(stream or sys.stderr)
    out.addFilter(RequestIdFilter())
    out.addFilter(RedactFilter())
    out.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    return out


def lighten() -> None:
    """Stops logging from computing what no line shows: the caller's file and line, thread, process and task names (the
    logging HOWTO's "Optimization" settings). About a quarter of an access line's cost."""
    logging._srcfile = None  # noqa: SLF001 -- the documented switch
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False


def configure(fmt: str | None = None, level: str | None = None) -> str:
    """Routes every logger (uvicorn's included) through one handler on the root logger; returns the format used.

    uvicorn's own access log is turned off (it would print full paths with their query strings, where room tokens
    ride): the app writes its access log itself (logger fairmeet.access: method, route template, status, duration).
    Serve with uvicorn's log_config=None and access_log=False so it keeps this configuration.
    """
    fmt = fmt or choose_format()
    lighten()
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler(fmt))
    root.setLevel((level or os.environ.get("FAIRMEET_LOG_LEVEL", "INFO")).upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uv = logging.getLogger(name)
        uv.handlers.clear()
        uv.propagate = True
    logging.getLogger("uvicorn.access").disabled = True
    return fmt

