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

import orjson
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

import web.convertors  # noqa: F401 -- registers the {x:id} path convertor
from media.turn import ice_servers
from scheduling import actions, conversations, queries, rooms, timefmt
from scheduling.conversations import Append
from scheduling.errors import Conflict, DomainError
from scheduling.logwriter import Busy, LogWriter
from scheduling.models import Company, User
from signaling import protocol as p
from signaling.hub import Connection, encode
from web import health
from web.frame_budget import CLOSE_CODE, CLOSE_REASON, Verdict, budget_of
from web.http import json_error, res, session_user, status_for
from web.pages import page, render
from web.ratelimit import Bucket
from web.sessions_live import bound_to_session
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
        opens_at = None
        if err.code == "room_not_open":  # say when, in the viewer's zone, as the Join button did
            chat = await actions.load_chat(session, chat_id, user)
            opens_at = rooms.window(chat, await actions.get_event(session, chat.event_id), _grace(r.settings))[0]
        return render(request, "room_closed.html", user, status=409, message=err.message, code=err.code, chat_id=chat_id, opens_at=opens_at)
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
        # Times shown as on the pages: the viewer's zone, 24-hour, named as timefmt names it at the chat's start ("CET").
        "tz": timefmt.zone(user.timezone, access.event.timezone).key,
        "tz_label": timefmt.zone_label((access.chat.starts_at or r.clock()).astimezone(timefmt.zone(user.timezone, access.event.timezone))),
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
    """The next text frame. A binary frame is a protocol error (Starlette's receive_text raises KeyError on one).
    Every frame is charged to the socket's frame budget (web/frame_budget.py): over it, frames are dropped; flooding closes 1008."""
    budget = budget_of(ws.scope)
    while True:
        message = await ws.receive()
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", 1000), message.get("reason"))
        verdict = budget.charge()
        if verdict is Verdict.OK:
            break
        if verdict is Verdict.WARN:
            raise p.ProtocolError("rate_limited", "Too many frames; slow down.")
        if verdict is Verdict.CLOSE:
            await asyncio.sleep(0.05)  # what is queued for it goes out first (the warning, the last acks)
            with contextlib.suppress(Exception):
                await ws.close(code=CLOSE_CODE, reason=CLOSE_REASON)
            raise WebSocketDisconnect(CLOSE_CODE, CLOSE_REASON)
    text = message.get("text")
    if text is None:
        raise p.ProtocolError("binary_frame", "Frames are JSON text; binary frames are not part of the protocol.")
    return str(text)


async def room_socket(ws: WebSocket) -> None:  # noqa: PLR0911 -- each refusal closes the socket and returns
    r = res(ws)  # type: ignore[arg-type]
    settings = r.settings
    chat_id = ws.path_params["chat_id"]
    if not origin_allowed(ws, settings):
        await ws.close(code=4403, reason="origin not allowed")
        return
    if await health.refuse_if_draining(ws):
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
    except (SQLAlchemyError, OSError):
        # The database is out of reach or its pool is exhausted: a reason to come back, not to fail.
        log.warning("room %s: no database connection for the handshake; asking the client to retry", chat_id)
        await _try_again_later(ws)
        return
    await ws.accept()
    try:
        async with asyncio.timeout(HELLO_TIMEOUT):
            hello = p.parse(await _receive_text(ws))
    except (TimeoutError, p.ProtocolError, WebSocketDisconnect, RuntimeError):
        with contextlib.suppress(Exception):
            await ws.close(code=4400, reason="send hello first")
        return
    if not isinstance(hello, p.Hello):
        await ws.send_text(encode(p.error("hello_first", "The first message must be hello.")))
        await ws.close(code=4400)
        return
    async with bound_to_session(ws, user.id):  # sign-out anywhere closes it (web/sessions_live.py)
        await RoomSession(ws, r, user, access, hello).run()


async def _try_again_later(ws: WebSocket) -> None:
    """Closes with 1013 (try again later): clients reconnect with their back-off."""
    with contextlib.suppress(Exception):
        if ws.client_state.name == "CONNECTING":
            await ws.accept()
        await ws.close(code=1013, reason="busy, try again")


def _client_id(raw: str) -> str | None:
    """The client_id of a frame that failed validation, when it has one, so the error can name the line it refers to."""
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    cid = value.get("client_id") if isinstance(value, dict) else None
    return cid if isinstance(cid, str) and len(cid) <= 64 else None


class RoomSession:
    """One connection's life in a room: join, relay, leave (with a grace period for reconnects).

    It keeps plain values, not the ORM rows of the handshake: an idle connection costs little.
    """

    __slots__ = ("chat_bucket", "chat_id", "closes_at", "conn", "ends_at", "hello_last_seq", "hub", "join_seq", "key", "r", "refused",
                 "signal_bucket", "writer", "ws")

    def __init__(self, ws: WebSocket, r: Any, user: User, access: rooms.RoomAccess, hello: p.Hello) -> None:
        self.ws, self.r = ws, r
        self.key = access.key
        self.hub = r.hub
        self.writer: LogWriter = r.log_writer
        self.chat_id = access.chat.id
        self.closes_at = access.closes_at
        self.ends_at = access.chat.ends_at
        self.hello_last_seq = hello.last_seq
        self.chat_bucket = Bucket(20, 10)
        self.signal_bucket = Bucket(600, 10)

        async def close(code: int, reason: str) -> None:
            with contextlib.suppress(Exception):
                await ws.close(code=code, reason=reason)

        self.conn = Connection(hello.conn, user.id, user.name, access.role, ws.send_text, close)
        self.join_seq = 0
        # The client_id of a line refused as busy: later lines are refused too until it comes again, so a
        # person's lines are stored in the order they were sent.
        self.refused: str | None = None

    def _now(self) -> dt.datetime:
        now: dt.datetime = self.r.clock()
        return now

    def _append(self, kind: str, body: dict[str, Any], client_id: str | None = None, unless_rejoined: tuple[str, int] | None = None) -> Append:
        return Append(self.key, kind, self.conn.user_id, body, self._now(), client_id, unless_rejoined)

    async def run(self) -> None:
        # Attach before announcing: whoever sees this connection in the roster can already reach it
        # (an offer sent to a connection not yet attached would be lost). Frames wait for the welcome.
        old = await self.hub.attach(self.key, self.conn)
        if old is not None and old is not self.conn:
            await old.close_socket(4000, "replaced by a newer connection of the same tab")
            await old.stop()
        try:
            joined = await self._join()
        except (Busy, SQLAlchemyError, OSError) as err:
            log.warning("room %s: join of %s not stored (%s); asking the client to retry", self.chat_id, self.conn.conn_id, err)
            await self.hub.detach(self.key, self.conn)
            await self.conn.stop()
            await _try_again_later(self.ws)
            return
        await self.hub.publish(self.key, _event_frame(joined), skip=self.conn.conn_id)
        try:
            await self._receive_loop()
        finally:
            await self.hub.detach(self.key, self.conn)
            await self.conn.stop()
            self.hub.spawn(self._leave_later(), linger=False)

    async def _join(self) -> conversations.Entry:
        """Stores 'joined', then sends the welcome (with who else is here) and what the client missed."""
        stored = await self.writer.append(self._append("presence", {"state": "joined", **self.conn.info()}), wait=True)
        assert stored is not None
        joined = stored[0]
        self.join_seq = joined.seq
        async with self.r.sessionmaker() as session:
            present = await conversations.roster(session, self.key)
            missed = await conversations.since(session, self.key, self.hello_last_seq) if self.hello_last_seq is not None else []
        if self.r.metrics is not None:
            self.r.metrics.resumed("room", self.hello_last_seq, len(missed))
        log.info("room %s: connection %s of user %s joined at seq %s, %d missed entries sent", self.chat_id, self.conn.conn_id, self.conn.user_id,
                 joined.seq, len(missed))
        settings: Settings = self.r.settings
        peers = [{k: v for k, v in info.items() if k in ("conn", "user_id", "name", "role")}
                 for conn_id, info in present.items() if conn_id != self.conn.conn_id]
        self.conn.release(p.welcome(
            you=self.conn.info(), peers=peers, seq=joined.seq,
            ice_servers=ice_servers(user_id=self.conn.user_id, stun_urls=settings.stun_urls, turn_urls=settings.turn_urls,
                                    turn_secret=settings.turn_secret),
            room={"chat_id": self.chat_id, "closes_at": self.closes_at.isoformat(), "ends_at": self.ends_at.isoformat() if self.ends_at else None},
        ))
        for entry in missed:
            self.conn.send_message(_event_frame(entry))
        return joined

    async def _replay(self, after: int) -> None:
        async with self.r.sessionmaker() as session:
            entries = await conversations.since(session, self.key, after)
        for entry in entries:
            self.conn.send_message(_event_frame(entry))

    async def _receive_loop(self) -> None:
        while True:
            remaining = (self.closes_at - self._now()).total_seconds()
            if remaining <= 0:
                self.conn.send_message(p.error("room_closed", "This chat is over and its room has closed."))
                await asyncio.sleep(0.1)
                await self.conn.close_socket(4409, "room closed")
                return
            try:
                async with asyncio.timeout(min(remaining, 30.0)):
                    raw = await _receive_text(self.ws)
            except TimeoutError:
                continue
            except (WebSocketDisconnect, RuntimeError):
                return
            except p.ProtocolError as err:
                self.conn.send_message(p.error(err.code, err.message))
                continue
            try:
                message = p.parse(raw)
            except p.ProtocolError as err:
                self.conn.send_message(p.error(err.code, err.message, client_id=_client_id(raw)))
                continue
            try:
                await self._handle(message)
            except p.ProtocolError as err:
                self.conn.send_message(p.error(err.code, err.message, client_id=getattr(message, "client_id", None)))
            except DomainError as err:
                self.conn.send_message(p.error(err.code, err.message, client_id=getattr(message, "client_id", None)))
            except (SQLAlchemyError, OSError) as err:  # a replay that found no database connection: the client asks again
                log.warning("room %s: %s", self.chat_id, err)
                self.conn.send_message(p.error("busy", "The chat is very busy right now; try again in a moment.",
                                               client_id=getattr(message, "client_id", None)))

    async def _handle(self, message: Any) -> None:
        conn = self.conn
        if isinstance(message, p.Signal):
            if not self.signal_bucket.allow():
                raise p.ProtocolError("rate_limited", "Too many signals.")
            await self.hub.publish(self.key, {"type": "signal", "from": conn.conn_id, "data": message.data.model_dump(exclude_none=True)},
                                   to=[message.to])
        elif isinstance(message, p.Chat):
            if not self.chat_bucket.allow():
                if self.refused is None:
                    self.refused = message.client_id
                raise p.ProtocolError("rate_limited", "You're sending messages too fast; wait a moment.")
            body = {**conversations.message_body(message.text), "name": conn.name, "role": conn.role}
            if self.refused is not None and message.client_id != self.refused:
                raise Busy("An earlier message is waiting to be sent again; this one follows it.")
            try:
                stored = await self.writer.append(self._append("message", body, message.client_id))
            except Busy:
                self.refused = message.client_id
                raise
            self.refused = None
            assert stored is not None
            entry, created = stored
            conn.send_message({"type": "ack", "client_id": message.client_id, "seq": entry.seq})
            if created:
                await self.hub.publish(self.key, _event_frame(entry), skip=conn.conn_id)
        elif isinstance(message, p.Typing):
            await self.hub.publish(self.key, {"type": "typing", "conn": conn.conn_id, "user_id": conn.user_id,
                                              "name": conn.name, "active": message.active}, skip=conn.conn_id)
        elif isinstance(message, p.Media):
            await self.hub.publish(self.key, {"type": "media", "conn": conn.conn_id, "user_id": conn.user_id,
                                              **message.model_dump(exclude={"type"})}, skip=conn.conn_id)
        elif isinstance(message, p.Resume):
            await self._replay(message.after)
        elif isinstance(message, p.Ping):
            conn.send_message({"type": "pong"})
        else:
            raise p.ProtocolError("unexpected", "hello is only sent once.")

    async def _leave_later(self) -> None:
        """Says 'left' after a grace period, unless this tab has rejoined meanwhile (on any node).

        The check and the append happen in one transaction under the conversation's lock, so a
        rejoin racing with it is seen. Failures are logged, never left in a dead task.
        """
        await asyncio.sleep(self.r.settings.reconnect_grace_seconds)
        try:
            stored = await self.writer.append(
                self._append("presence", {"state": "left", **self.conn.info()}, unless_rejoined=(self.conn.conn_id, self.join_seq)), wait=True
            )
            if stored is not None:
                await self.hub.publish(self.key, _event_frame(stored[0]))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("room %s: storing that %s left failed", self.chat_id, self.conn.conn_id)


routes = [
    Route("/chats/{chat_id:id}/room", room_page),
    Route("/chats/{chat_id:id}/room/token", room_token_json),
    WebSocketRoute("/ws/rooms/{chat_id:id}", room_socket),
]
