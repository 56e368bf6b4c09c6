"""Open sockets follow their session: signing out (or changing the password) closes that person's room and console
sockets on every node, within moments.

A socket opened with a session cookie is registered here with the session's epoch (`users.session_epoch` at sign-in).
Sign-out and password changes bump the epoch and publish {user, epoch} through the hub's broker on one channel every node
subscribes to; each node closes that user's sockets registered with an older epoch (4401 "signed out"). In case a
broker message is lost (Redis cut off for a moment), every node also rechecks the epochs of the people with open sockets
every `RECHECK_SECONDS` in one query, and closes what no longer matches. Candidate sockets (a chat's token, no session)
are not concerned.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from starlette.applications import Starlette
from starlette.websockets import WebSocket

from scheduling.models import User
from signaling.hub import Hub
from web.http import Resources

log = logging.getLogger(__name__)
CHANNEL = "sessions"  # the hub's own channels are "room:..."
RECHECK_SECONDS = 30.0
CLOSE_CODE = 4401
CLOSE_REASON = "signed out"

Close = Callable[[int, str], Coroutine[Any, Any, None]]


class LiveSessions:
    """This node's session-bound sockets, by user: {user id: {handle: (epoch, close)}}."""

    def __init__(self, r: Resources) -> None:
        self.r = r
        self.hub: Hub = r.hub
        self.sockets: dict[int, dict[int, tuple[int, Close]]] = {}
        self._handles = itertools.count(1)
        self._started = False
        self._lock = asyncio.Lock()

    async def _start(self) -> None:
        async with self._lock:
            if self._started:
                return
            await self.hub.broker.subscribe(CHANNEL, self._on_message)
            self.hub.spawn(self._recheck_loop(), linger=False)  # cancelled when the hub closes
            self._started = True

    async def register(self, user_id: int, epoch: int, close: Close) -> int:
        await self._start()
        handle = next(self._handles)
        self.sockets.setdefault(user_id, {})[handle] = (epoch, close)
        return handle

    def unregister(self, user_id: int, handle: int) -> None:
        mine = self.sockets.get(user_id)
        if mine is not None:
            mine.pop(handle, None)
            if not mine:
                del self.sockets[user_id]

    async def publish(self, user_id: int, epoch: int) -> None:
        """Tells every node (this one included) that sessions of `user_id` older than `epoch` are over."""
        await self.hub.broker.publish(CHANNEL, {"user": user_id, "epoch": epoch})

    async def _on_message(self, message: dict[str, Any]) -> None:
        user_id, epoch = message.get("user"), message.get("epoch")
        if isinstance(user_id, int) and isinstance(epoch, int):
            self._close_ended(user_id, lambda registered: registered < epoch)

    def _close_ended(self, user_id: int, ended: Callable[[int], bool]) -> int:
        """Closes the user's sockets whose registered epoch has `ended`; how many."""
        closed = 0
        for handle, (registered, close) in list(self.sockets.get(user_id, {}).items()):
            if ended(registered):
                self.unregister(user_id, handle)
                self.hub.spawn(close(CLOSE_CODE, CLOSE_REASON))
                closed += 1
        return closed

    async def recheck(self) -> int:
        """Closes sockets whose session no longer holds (in case a sign-out's broker message was lost); how many."""
        users = list(self.sockets)
        if not users:
            return 0
        epochs: dict[int, int] = {}
        for k in range(0, len(users), 1000):
            async with self.r.sessionmaker() as session:
                rows = await session.execute(select(User.id, User.session_epoch).where(User.id.in_(users[k : k + 1000])))
                epochs.update({uid: epoch for uid, epoch in rows})
        # The current epoch is the only valid one (a user that is gone has none).
        closed = 0
        for uid in users:
            current = epochs.get(uid)
            closed += self._close_ended(uid, lambda registered, current=current: registered != current)  # type: ignore[misc]
        return closed

    async def _recheck_loop(self) -> None:
        while True:
            await asyncio.sleep(RECHECK_SECONDS)
            try:
                closed = await self.recheck()
                if closed:
                    log.info("closed %d socket(s) whose session had ended", closed)
            except (SQLAlchemyError, OSError) as err:
                log.warning("rechecking open sockets' sessions failed: %s", err)
            except Exception:  # never let the safety net die
                log.exception("rechecking open sockets' sessions failed")


def live_sessions(app: Starlette) -> LiveSessions:
    """The app's registry (made on first use, one per lifespan: a new hub gets a new registry)."""
    r: Resources = app.state.res
    current: LiveSessions | None = getattr(app.state, "live_sessions", None)
    if current is None or current.hub is not r.hub:
        current = app.state.live_sessions = LiveSessions(r)
    return current


@contextlib.asynccontextmanager
async def bound_to_session(ws: WebSocket, user_id: int) -> AsyncIterator[None]:
    """While the block runs, the socket closes (4401) when its session ends: sign-out or password change anywhere."""
    epoch = ws.session.get("se")
    registry = live_sessions(ws.app)

    async def close(code: int, reason: str) -> None:
        with contextlib.suppress(Exception):
            await ws.close(code=code, reason=reason)

    handle = await registry.register(user_id, epoch if isinstance(epoch, int) else -1, close)
    try:
        yield
    finally:
        registry.unregister(user_id, handle)


async def session_ended(app: Starlette, user_id: int, epoch: int) -> None:
    """After a sign-out or password change committed: close that person's older sockets on every node."""
    try:
        await live_sessions(app).publish(user_id, epoch)
    except Exception:  # noqa: BLE001 -- the periodic recheck closes them anyway; never fail the sign-out
        log.exception("publishing the end of a session failed")
