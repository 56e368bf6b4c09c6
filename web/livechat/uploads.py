"""Files a request writes to disk (résumés, attachments): removed again unless the request's transaction commits, so
there is never a row without its file nor a file without its row; and the candidate's token checked before a body is
read, in a short transaction of its own (on SQLite the endpoint's transaction holds the whole database's write lock, which
a slow sender must not keep)."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Awaitable, Callable
from functools import wraps
from pathlib import Path
from typing import Any

from sqlalchemy import event
from starlette.requests import Request
from starlette.responses import Response

from scheduling.livechat import chats
from web.api import ApiCall, BadRequest
from web.http import res


class Written:
    """The files one request wrote, and whether its transaction committed (told by the session itself)."""

    def __init__(self) -> None:
        self.paths: list[Path] = []
        self.committed = False

    def mark_committed(self, _session: Any) -> None:
        self.committed = True

    def discard(self) -> None:
        for path in self.paths:
            with contextlib.suppress(OSError):
                path.unlink(missing_ok=True)


def removes_uncommitted(handler: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
    """Around an @api upload endpoint: whatever ends the request before its transaction commits (a refusal, a database
    error, a cancelled request) removes the files it wrote."""

    @wraps(handler)
    async def wrapped(request: Request) -> Response:
        written = Written()
        request.state.fm_written = written
        try:
            response = await handler(request)
        except BaseException:
            if not written.committed:
                written.discard()
            raise
        if not written.committed:
            written.discard()
        return response

    return wrapped


def write_file(call: ApiCall, directory: Path, data: bytes, name: str | None = None) -> str:
    """Writes the bytes under a new random name (owner-only, never over an existing file) in `directory`, noted for removal
    unless the transaction commits; returns the name."""
    written: Written = call.request.state.fm_written
    if not written.paths:
        event.listen(call.session.sync_session, "after_commit", written.mark_committed, once=True)
    stored = name or secrets.token_hex(16)
    path = directory / stored
    written.paths.append(path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    return stored


async def candidate_first(call: ApiCall) -> None:
    """The chat's token, checked before the body is read (another chat's or no chat's token: 404)."""
    scheme, _, token = call.request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise BadRequest("unauthenticated", "Send the chat's token: Authorization: Bearer <token>.", status=401)
    async with res(call.request).sessionmaker() as session, session.begin():
        await chats.chat_for_token(session, call.path_int("chat_id"), token.strip())
