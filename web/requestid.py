"""Request ids: one per HTTP request, WebSocket session and background job run, in every log line they cause.

`RequestId` is a pure ASGI middleware (outermost, so even a 500 carries the header): it takes the client's
`X-Request-ID` when it is 8-64 characters of [A-Za-z0-9._-] (a proxy's or a load balancer's id), else makes one,
keeps it in a context variable for the request's task (and what that task spawns: asyncio copies the context),
and echoes it in the response's `X-Request-ID` (HTTP responses, and the WebSocket handshake's accept).
`job(name)` gives a background job's run an id of its own, and its name.
"""

from __future__ import annotations

import contextlib
import re
import secrets
from collections.abc import Iterator
from contextvars import ContextVar

from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = b"x-request-id"
_VALID = re.compile(rb"[A-Za-z0-9._-]{8,64}")

request_id: ContextVar[str | None] = ContextVar("fairmeet_request_id", default=None)
job_name: ContextVar[str | None] = ContextVar("fairmeet_job", default=None)


def new_id() -> str:
    return secrets.token_hex(8)


def incoming(scope: Scope) -> str:
    """The well-formed X-Request-ID of the request, or a new id."""
    for name, value in scope.get("headers", ()):
        if name == HEADER:
            return value.decode("ascii") if _VALID.fullmatch(value) else new_id()
    return new_id()


def current() -> str | None:
    return request_id.get()


@contextlib.contextmanager
def job(name: str) -> Iterator[str]:
    """One run of a background job: a fresh request id and the job's name for what it logs."""
    value = new_id()
    id_token, name_token = request_id.set(value), job_name.set(name)
    try:
        yield value
    finally:
        request_id.reset(id_token)
        job_name.reset(name_token)


class RequestId:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        rid = incoming(scope)
        header = (HEADER, rid.encode("ascii"))
        token = request_id.set(rid)
        scope.setdefault("state", {})["request_id"] = rid

        async def send_with_id(message: Message) -> None:
            if message["type"] in ("http.response.start", "websocket.accept"):
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id.reset(token)

