"""The video room of a confirmed 1-1 chat: its page, its short-lived token, and its WebSocket.

The WebSocket is checked once at the handshake (Origin, session, room token, opening hours),
then every frame is validated against its schema (signaling.protocol) before anything happens.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
from typing import Any
from urllib.parse import urlsplit

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

import web.convertors  # noqa: F401 -- registers the {x:id} path convertor
from media.turn import ice_servers
from scheduling import conversations, queries, rooms
from scheduling.errors import Conflict, DomainError
from scheduling.models import Company, User
from signaling import protocol as p
from signaling.hub import Connection
from web.http import json_error, res, session_user, status_for
from web.pages import page, render
from web.ratelimit import RateLimiter
from web.settings import Settings

log = logging.getLogger(__name__)
SALT = "fairmeet-room"
HELLO_TIMEOUT = 10.0


# --------------------------------------------------------------------------- tokens and origins


def room_token(settings: Settings, user_id: int, chat_id: int) -> str:
    return URLSafeTimedSerializer(settings.secret_key, salt=SALT).dumps({"u": user_id, "c": chat_id})


def token_matches(settings: Settings, token: str, user_id: int, chat_id: int) -> bool:
    try:
        data = URLSafeTimedSerializer(settings.secret_key, salt=SALT).loads(token, max_age=settings.room_token_seconds)
    except (BadSignature, SignatureExpired):
        return False
    return isinstance(data, dict) and data.get("u") == user_id and data.get("c") == chat_id


def origin_allowed(conn: HTTPConnection, settings: Settings) -> bool:
    """The page that opens the socket must be ours: its Origin is the base URL or this very host."""
    origin = conn.headers.get("origin", "")
    if not origin:
        return False
    base = urlsplit(settings.base_url)
    host = conn.headers.get("host", "")
    return origin in {f"{base.scheme}://{base.netloc}", f"http://{host}", f"https://{host}"}


def _grace(settings: Settings) -> dt.timedelta:
    return dt.timedelta(minutes=settings.room_grace_minutes)


# --------------------------------------------------------------------------- pages


@page
async def room_page(request: Request, session: AsyncSession, user: User) -> Response:
    r = res(request)
    chat_id = request.path_params["chat_id"]
    try:
        access = await rooms.room_access(session, chat_id, user, now=r.clock(), grace=_grace(r.settings))
    except Conflict as err:
        return render(request, "room_closed.html", user, status=409, message=err.message, code=err.code, chat_id=chat_id)
    view = await queries.chat_view(session, access.chat)
    company: Company | None = view.company
    other = view.recruiter if user.id == access.chat.talent_id else view.talent
    boot = {
        "chat_id": access.chat.id,
        "ws": f"/ws/rooms/{access.chat.id}",
        "token": room_token(r.settings, user.id, access.chat.id),
        "token_url": f"/chats/{access.chat.id}/room/token",
        "netcheck_url": "/api/rtc/netcheck",
        "me": {"id": user.id, "name": user.name, "role": access.role},
        "ends_at": access.chat.ends_at.isoformat() if access.chat.ends_at else None,
        "starts_at": access.chat.starts_at.isoformat() if access.chat.starts_at else None,
        "closes_at": access.closes_at.isoformat(),
        "chat_url": f"/chats/{access.chat.id}",
        "now": r.clock().isoformat(),  # the server's time: the countdown corrects for a wrong device clock
    }
    return render(request, "room.html", user, event=access.event, access=access, view=view, other=other, company=company,
                  boot=json.dumps(boot))


async def room_token_json(request: Request) -> Response:
    """A fresh token for a reconnect; the session must still belong to someone allowed in."""
    r = res(request)
    async with r.sessionmaker() as session, session.begin():
        user = await session_user(request, session)
        if user is None:
            return json_error(401, "unauthenticated", "Sign in again to rejoin the room.")
        try:
            access = await rooms.room_access(session, request.path_params["chat_id"], user, now=r.clock(), grace=_grace(r.settings))
        except DomainError as err:
            return json_error(status_for(err), err.code, err.message)
    return JSONResponse({"token": room_token(r.settings, user.id, access.chat.id)}, headers={"Cache-Control": "no-store"})


# --------------------------------------------------------------------------- the socket


def _event_frame(entry: conversations.Entry) -> dict[str, Any]:
    author = None
    if entry.author_id is not None:
        author = {"id": entry.author_id, "name": entry.body.get("name", ""), "role": entry.body.get("role", "")}
    return p.event(seq=entry.seq, kind=entry.kind, author=author, body=entry.body, at=entry.at.isoformat(), client_id=entry.client_id)


async def _receive_text(ws: WebSocket) -> str:
    """The next text frame. A binary frame is a protocol error (Starlette's receive_text raises KeyError on one)."""
    message = await ws.receive()
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000), message.get("reason"))
    text = message.get("text")
    if text is None:
        raise p.ProtocolError("binary_frame", "Frames are JSON text; binary frames are not part of the protocol.")
    return str(text)


async def room_socket(ws: WebSocket) -> None:
    r = res(ws)  # type: ignore[arg-type]
    settings = r.settings
    chat_id = ws.path_params["chat_id"]
    if not origin_allowed(ws, settings):
        await ws.close(code=4403, reason="origin not allowed")
        return
    try:
        async with r.sessionmaker() as session, session.begin():
            user = await session_user(ws, session)  # type: ignore[arg-type]
            if user is None or not token_matches(settings, ws.query_params.get("token", ""), user.id, chat_id):
                await ws.close(code=4401, reason="sign in and open the room page again")
                return
            access = await rooms.room_access(session, chat_id, user, now=r.clock(), grace=_grace(settings))
    except DomainError as err:
        await ws.close(code=4409 if isinstance(err, Conflict) else 4403, reason=err.message[:120])
        return
    await ws.accept()
    try:
        hello = p.parse(await asyncio.wait_for(_receive_text(ws), HELLO_TIMEOUT))
    except (TimeoutError, p.ProtocolError, WebSocketDisconnect, RuntimeError):
        with contextlib.suppress(Exception):
            await ws.close(code=4400, reason="send hello first")
        return
    if not isinstance(hello, p.Hello):
        await ws.send_json(p.error("hello_first", "The first message must be hello."))
        await ws.close(code=4400)
        return
    await RoomSession(ws, r, user, access, hello).run()


class RoomSession:
    """One connection's life in a room: join, relay, leave (with a grace period for reconnects)."""

    def __init__(self, ws: WebSocket, r: Any, user: User, access: rooms.RoomAccess, hello: p.Hello) -> None:
        self.ws, self.r, self.user, self.access, self.hello = ws, r, user, access, hello
        self.key = access.key
        self.hub = r.hub
        self.chat_limiter = RateLimiter(20, 10)
        self.signal_limiter = RateLimiter(600, 10)

        async def close(code: int, reason: str) -> None:
            with contextlib.suppress(Exception):
                await ws.close(code=code, reason=reason)

        self.conn = Connection(hello.conn, user.id, user.name, access.role, ws.send_json, close)
        self.join_seq = 0

    def _now(self) -> dt.datetime:
        now: dt.datetime = self.r.clock()
        return now

    async def _presence(self, state: str) -> conversations.Entry:
        async with self.r.sessionmaker() as session, session.begin():
            entry, _ = await conversations.append(
                session, self.key, kind="presence", author_id=self.user.id, body={"state": state, **self.conn.info()}, now=self._now()
            )
        return entry

    async def run(self) -> None:
        # Attach before announcing: whoever sees this connection in the roster can already reach it
        # (an offer sent to a connection not yet attached would be lost). Frames wait for the welcome.
        self.conn.start()
        old = await self.hub.attach(self.key, self.conn)
        if old is not None and old is not self.conn:
            await old.close_socket(4000, "replaced by a newer connection of the same tab")
            await old.stop()
        joined = await self._presence("joined")
        self.join_seq = joined.seq
        async with self.r.sessionmaker() as session:
            present = await conversations.roster(session, self.key)
        settings: Settings = self.r.settings
        peers = [{k: v for k, v in info.items() if k in ("conn", "user_id", "name", "role")}
                 for conn_id, info in present.items() if conn_id != self.conn.conn_id]
        self.conn.release(p.welcome(
            you=self.conn.info(), peers=peers, seq=joined.seq,
            ice_servers=ice_servers(user_id=self.user.id, stun_urls=settings.stun_urls, turn_urls=settings.turn_urls, turn_secret=settings.turn_secret),
            room={"chat_id": self.access.chat.id, "closes_at": self.access.closes_at.isoformat(),
                  "ends_at": self.access.chat.ends_at.isoformat() if self.access.chat.ends_at else None},
        ))
        if self.hello.last_seq is not None:
            await self._replay(self.hello.last_seq)
        await self.hub.publish(self.key, _event_frame(joined), skip=self.conn.conn_id)
        try:
            await self._receive_loop()
        finally:
            await self.hub.detach(self.key, self.conn)
            await self.conn.stop()
            self.hub.spawn(self._leave_later())

    async def _replay(self, after: int) -> None:
        async with self.r.sessionmaker() as session:
            entries = await conversations.since(session, self.key, after)
        for entry in entries:
            self.conn.send(_event_frame(entry))

    async def _receive_loop(self) -> None:
        closes_at = self.access.closes_at
        while True:
            remaining = (closes_at - self._now()).total_seconds()
            if remaining <= 0:
                self.conn.send(p.error("room_closed", "This chat is over and its room has closed."))
                await asyncio.sleep(0.1)
                await self.conn.close_socket(4409, "room closed")
                return
            try:
                raw = await asyncio.wait_for(_receive_text(self.ws), timeout=min(remaining, 30.0))
            except TimeoutError:
                continue
            except (WebSocketDisconnect, RuntimeError):
                return
            except p.ProtocolError as err:
                self.conn.send(p.error(err.code, err.message))
                continue
            try:
                message = p.parse(raw)
                await self._handle(message)
            except p.ProtocolError as err:
                self.conn.send(p.error(err.code, err.message))
            except DomainError as err:
                self.conn.send(p.error(err.code, err.message))

    async def _handle(self, message: Any) -> None:
        if isinstance(message, p.Signal):
            if not self.signal_limiter.allow("s"):
                raise p.ProtocolError("rate_limited", "Too many signals.")
            await self.hub.publish(self.key, {"type": "signal", "from": self.conn.conn_id, "data": message.data.model_dump(exclude_none=True)},
                                   to=[message.to])
        elif isinstance(message, p.Chat):
            if not self.chat_limiter.allow("c"):
                raise p.ProtocolError("rate_limited", "You're sending messages too fast; wait a moment.")
            body = {**conversations.message_body(message.text), "name": self.user.name, "role": self.access.role}
            async with self.r.sessionmaker() as session, session.begin():
                entry, created = await conversations.append(
                    session, self.key, kind="message", author_id=self.user.id, body=body, now=self._now(), client_id=message.client_id
                )
            self.conn.send({"type": "ack", "client_id": message.client_id, "seq": entry.seq})
            if created:
                await self.hub.publish(self.key, _event_frame(entry), skip=self.conn.conn_id)
        elif isinstance(message, p.Typing):
            await self.hub.publish(self.key, {"type": "typing", "conn": self.conn.conn_id, "user_id": self.user.id,
                                              "name": self.user.name, "active": message.active}, skip=self.conn.conn_id)
        elif isinstance(message, p.Media):
            await self.hub.publish(self.key, {"type": "media", "conn": self.conn.conn_id, "user_id": self.user.id,
                                              **message.model_dump(exclude={"type"})}, skip=self.conn.conn_id)
        elif isinstance(message, p.Resume):
            await self._replay(message.after)
        elif isinstance(message, p.Ping):
            self.conn.send({"type": "pong"})
        else:
            raise p.ProtocolError("unexpected", "hello is only sent once.")

    async def _leave_later(self) -> None:
        """Says 'left' after a grace period, unless this tab has rejoined meanwhile (on any node)."""
        await asyncio.sleep(self.r.settings.reconnect_grace_seconds)
        async with self.r.sessionmaker() as session, session.begin():
            present = await conversations.roster(session, self.key)
            if present.get(self.conn.conn_id, {}).get("seq") != self.join_seq:
                return
            entry, _ = await conversations.append(
                session, self.key, kind="presence", author_id=self.user.id, body={"state": "left", **self.conn.info()}, now=self._now()
            )
        await self.hub.publish(self.key, _event_frame(entry))


routes = [
    Route("/chats/{chat_id:id}/room", room_page),
    Route("/chats/{chat_id:id}/room/token", room_token_json),
    WebSocketRoute("/ws/rooms/{chat_id:id}", room_socket),
]
