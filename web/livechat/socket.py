"""The live-chat sockets: `/ws/live` for a candidate (one chat, its token in the hello frame) and `/ws/live/console` for staff
(the queues they answer, the chats they watch). Origin is checked at the handshake; every frame is validated (signaling.livechat)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from typing import Any

import orjson
from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from scheduling import conversations
from scheduling.conversations import Append
from scheduling.errors import DomainError
from scheduling.livechat import chats, desk, jobs, tickets
from scheduling.livechat.models import Agent, LiveChat, LiveStatus
from scheduling.logwriter import Busy
from scheduling.models import User
from signaling import livechat as lp
from signaling import protocol as p
from signaling.hub import Connection, encode
from web import health
from web.http import Resources, context_for, res, session_user
from web.livechat import live
from web.ratelimit import Bucket
from web.rooms import _client_id, _receive_text, _try_again_later, origin_allowed
from web.sessions_live import bound_to_session

log = logging.getLogger(__name__)
HELLO_TIMEOUT = 10.0
HEARTBEAT_EVERY = dt.timedelta(seconds=20)
QUEUES_EVERY = dt.timedelta(seconds=60)
SEEN_EVERY = dt.timedelta(seconds=20)  # how often a connected candidate's presence is written
L = LiveStatus


# The last queue frame parsed, shared by every candidate connection of this process that receives it: a broadcast
# to N waiting candidates is parsed once, not N times.
_parsed: list[tuple[str, dict[int, int], dict[str, Any]]] = []


def _parse_queue(frame: str) -> tuple[dict[int, int], dict[str, Any]]:
    if _parsed and (_parsed[0][0] is frame or _parsed[0][0] == frame):
        return _parsed[0][1], _parsed[0][2]
    data = orjson.loads(frame)
    positions, staffing = live.queue_positions(data), data["staffing"]
    _parsed[:] = [(frame, positions, staffing)]
    return positions, staffing


class CandidateConn(Connection):
    """A candidate's connection: queue frames are cut down to their own position (never rising) and estimate."""

    __slots__ = ("chat_id", "position", "status")

    def __init__(self, chat_id: int, status: str, position: int | None, *args: Any) -> None:
        super().__init__(*args)
        self.chat_id, self.status, self.position = chat_id, status, position

    def send(self, frame: str) -> None:
        if frame.startswith('{"type":"queue"'):
            positions, staffing = _parse_queue(frame)
            personal = live.personal_queue(positions, staffing, self.chat_id, self.position)
            if personal is None:
                return
            self.position = personal["position"]
            super().send(encode(personal))
            return
        if frame.startswith('{"type":"status"'):
            self.status = orjson.loads(frame).get("status", self.status)
        super().send(frame)


class ConsoleConn(Connection):
    """A staff console's connection. When a watched chat changes status (taken, ended), who may see it is checked again
    before anything more of it is sent: frames of that chat wait until the check, and are dropped if access is gone."""

    __slots__ = ("held_for", "recheck")

    def __init__(self, recheck: Any, *args: Any) -> None:
        super().__init__(*args)
        self.recheck = recheck
        self.held_for: dict[int, list[str]] = {}

    def send(self, frame: str) -> None:
        if self.held is None and frame.startswith(('{"type":"status"', '{"type":"event"', '{"type":"typing"', '{"type":"page"')):
            chat_id = orjson.loads(frame).get("chat")
            if isinstance(chat_id, int):
                waiting = self.held_for.get(chat_id)
                if waiting is not None:
                    waiting.append(frame)
                    return
                if frame.startswith('{"type":"status"'):
                    self.held_for[chat_id] = [frame]
                    self.recheck(chat_id)
                    return
        super().send(frame)

    def resolve(self, chat_id: int, allowed: bool) -> None:
        frames = self.held_for.pop(chat_id, [])
        if allowed:
            for frame in frames:
                super().send(frame)
        else:
            super().send(encode({"type": "unwatched", "chat": chat_id, "reason": "You no longer have access to this chat."}))


async def _close(ws: WebSocket, code: int, reason: str) -> None:
    with contextlib.suppress(Exception):
        await ws.close(code=code, reason=reason)


async def _hello(ws: WebSocket, parse: Any) -> Any:
    try:
        async with asyncio.timeout(HELLO_TIMEOUT):
            return parse(await _receive_text(ws))
    except (TimeoutError, p.ProtocolError, WebSocketDisconnect, RuntimeError):
        await _close(ws, 4400, "send hello first")
        return None


async def _frames(ws: WebSocket, conn: Connection, parse: Any, handle: Any, idle: Any = None) -> None:
    """The receive loop shared by both sockets: validation errors are answered, never fatal."""
    while True:
        try:
            async with asyncio.timeout(30.0):
                raw = await _receive_text(ws)
        except TimeoutError:
            if idle is not None:
                await idle()
            continue
        except (WebSocketDisconnect, RuntimeError):
            return
        except p.ProtocolError as err:
            conn.send_message(p.error(err.code, err.message))
            continue
        try:
            message = parse(raw)
        except p.ProtocolError as err:
            conn.send_message(p.error(err.code, err.message, client_id=_client_id(raw)))
            continue
        try:
            await handle(message)
        except (p.ProtocolError, DomainError) as err:
            conn.send_message(p.error(err.code, err.message, client_id=getattr(message, "client_id", None)))
        except (Busy, SQLAlchemyError, OSError) as err:
            log.warning("live socket: %s", err)
            conn.send_message(p.error("busy", "The chat is very busy right now; try again in a moment.", client_id=getattr(message, "client_id", None)))


# --------------------------------------------------------------------------- candidate


async def candidate_socket(ws: WebSocket) -> None:
    r = res(ws)  # type: ignore[arg-type]
    if not origin_allowed(ws, r.settings):
        await ws.close(code=4403, reason="origin not allowed")
        return
    if await health.refuse_if_draining(ws):
        return
    await ws.accept()
    hello = await _hello(ws, lp.parse_candidate)
    if hello is None:
        return
    if not isinstance(hello, lp.CandidateHello):
        await _close(ws, 4400, "send hello first")
        return
    try:
        async with r.sessionmaker() as session, session.begin():
            chat = await chats.chat_for_token(session, hello.chat, hello.token)
            view = await live.candidate_view(session, chat, r.clock())
            queue = await live.queue_frame(session, chat.queue, r.clock()) if chat.status == L.WAITING.value else None
            missed = await conversations.since(session, chats.key(chat.id), hello.last_seq or 0)
        if r.metrics is not None:
            r.metrics.resumed("live", hello.last_seq, len(missed) if hello.last_seq is not None else 0)
    except DomainError:
        await _close(ws, 4401, "this chat's token is not valid")
        return
    except (SQLAlchemyError, OSError):
        await _try_again_later(ws)
        return
    await CandidateSession(ws, r, chat, hello, view, queue, missed).run()


class CandidateSession:
    __slots__ = ("bucket", "chat_id", "conn", "key", "missed", "page_bucket", "queue", "queue_frame", "r", "resume_bucket", "seen_at",
                 "typing_bucket", "view", "ws")

    def __init__(self, ws: WebSocket, r: Resources, chat: LiveChat, hello: lp.CandidateHello, view: dict[str, Any],
                 queue_frame: dict[str, Any] | None, missed: list[conversations.Entry]) -> None:
        self.ws, self.r = ws, r
        self.chat_id, self.key, self.queue = chat.id, chats.key(chat.id), chat.queue
        self.view, self.queue_frame, self.missed = view, queue_frame, missed
        self.bucket, self.page_bucket = Bucket(20, 10), Bucket(5, 10)
        self.typing_bucket, self.resume_bucket = Bucket(20, 10), Bucket(5, 10)
        self.seen_at = dt.datetime.min.replace(tzinfo=dt.UTC)
        self.conn = CandidateConn(chat.id, chat.status, view.get("position"), hello.conn, 0, chat.candidate_name, "candidate", ws.send_text,
                                  lambda code, reason: _close(ws, code, reason))

    async def run(self) -> None:
        hub = self.r.hub
        for room in (self.key, f"queue:{self.queue}"):
            old = await hub.attach(room, self.conn)
            if old is not None and old is not self.conn:
                await old.close_socket(4000, "replaced by a newer connection of the same tab")
                await old.stop()
        self.conn.release({"type": "welcome", "v": 1, "chat": self.view, "seq": self.view["last_seq"]})
        for entry in self.missed:
            self.conn.send_message(live.event_frame(self.chat_id, entry))
        if self.queue_frame is not None:
            self.conn.send(encode(self.queue_frame))
        await self._seen()
        try:
            await _frames(self.ws, self.conn, lp.parse_candidate, self._handle, idle=self._seen)
        finally:
            for room in (self.key, f"queue:{self.queue}"):
                await hub.detach(room, self.conn)
            await self.conn.stop()

    async def _seen(self) -> None:
        """The candidate is still here (connected): a chat whose candidate left is resolved automatically after a while."""
        now: dt.datetime = self.r.clock()
        if now - self.seen_at < SEEN_EVERY:
            return
        self.seen_at = now
        try:
            async with self.r.sessionmaker() as session, session.begin():
                await desk.seen(session, self.chat_id, now)
        except (SQLAlchemyError, OSError) as err:
            log.warning("live socket: recording presence failed: %s", err)

    async def _handle(self, message: Any) -> None:
        conn, hub = self.conn, self.r.hub
        await self._seen()
        if isinstance(message, lp.CandidateChat):
            if not self.bucket.allow():
                raise p.ProtocolError("rate_limited", "You're sending messages too fast; wait a moment.")
            if conn.status not in (L.WAITING.value, L.ACTIVE.value, L.NOTE.value, L.TRANSFER.value):
                raise p.ProtocolError("chat_closed", "This chat is closed.")
            body = {**conversations.message_body(message.text), "name": conn.name, "role": "candidate"}
            stored = await self.r.log_writer.append(Append(self.key, "message", None, body, self.r.clock(), message.client_id))
            assert stored is not None
            entry, created = stored
            conn.send_message({"type": "ack", "chat": self.chat_id, "client_id": message.client_id, "seq": entry.seq})
            if created:
                await hub.publish(self.key, live.event_frame(self.chat_id, entry), skip=conn.conn_id)
                if conn.status == L.NOTE.value:  # a thread (a note, or a ticket reopened by a reply): its ticket is open again
                    async with self.r.sessionmaker() as session, session.begin():
                        await tickets.candidate_replied(session, self.chat_id, self.r.clock())
        elif isinstance(message, lp.CandidateTyping):
            if not self.typing_bucket.allow():
                return  # typing is a hint: extra ones are dropped
            await hub.publish(self.key, {"type": "typing", "chat": self.chat_id, "name": conn.name, "role": "candidate", "active": message.active},
                              skip=conn.conn_id)
        elif isinstance(message, lp.Page):
            if not self.page_bucket.allow():
                return
            url = chats._url(message.url)  # noqa: SLF001 -- the same rule as the source page
            async with self.r.sessionmaker() as session, session.begin():
                await session.execute(update(LiveChat).where(LiveChat.id == self.chat_id).values(current_url=url))
            await hub.publish(self.key, {"type": "page", "chat": self.chat_id, "url": url}, skip=conn.conn_id)
        elif isinstance(message, lp.Resume):
            if not self.resume_bucket.allow():
                raise p.ProtocolError("rate_limited", "Too many resume requests; wait a moment.")
            async with self.r.sessionmaker() as session:
                entries = await conversations.since(session, self.key, message.after)
            for entry in entries:
                conn.send_message(live.event_frame(self.chat_id, entry))
        elif isinstance(message, lp.Ping):
            conn.send_message({"type": "pong"})
        else:
            raise p.ProtocolError("unexpected", "hello is only sent once.")


# --------------------------------------------------------------------------- staff console


async def console_socket(ws: WebSocket) -> None:
    r = res(ws)  # type: ignore[arg-type]
    if not origin_allowed(ws, r.settings):
        await ws.close(code=4403, reason="origin not allowed")
        return
    if await health.refuse_if_draining(ws):
        return
    try:
        async with r.sessionmaker() as session, session.begin():
            user = await session_user(ws, session)  # type: ignore[arg-type]
            if user is None or not await jobs.is_staff(session, user):
                await ws.close(code=4401, reason="sign in as staff")
                return
            uid, name = user.id, user.name
    except (SQLAlchemyError, OSError):
        await _try_again_later(ws)
        return
    await ws.accept()
    hello = await _hello(ws, lp.parse_console)
    if hello is None:
        return
    if not isinstance(hello, lp.ConsoleHello):
        await _close(ws, 4400, "send hello first")
        return
    async with bound_to_session(ws, uid):  # sign-out anywhere closes it (web/sessions_live.py)
        await ConsoleSession(ws, r, uid, name, hello).run()


class ConsoleSession:
    __slots__ = ("beat_at", "conn", "queues", "queues_at", "r", "typing_bucket", "uid", "watching", "ws")

    def __init__(self, ws: WebSocket, r: Resources, uid: int, name: str, hello: lp.ConsoleHello) -> None:
        self.ws, self.r, self.uid = ws, r, uid
        self.conn = ConsoleConn(lambda chat_id: r.hub.spawn(self._recheck(chat_id)), hello.conn, uid, name, "recruiter", ws.send_text,
                                lambda code, reason: _close(ws, code, reason))
        self.queues: list[str] = []
        self.watching: set[int] = set()
        self.typing_bucket = Bucket(30, 10)
        self.beat_at = dt.datetime.min.replace(tzinfo=dt.UTC)
        self.queues_at = self.beat_at

    def _rooms(self) -> list[str]:
        return [f"agent:{self.uid}", *(f"queue:{q}" for q in self.queues), *(chats.key(c) for c in self.watching)]

    async def run(self) -> None:
        hub = self.r.hub
        await hub.attach(f"agent:{self.uid}", self.conn)
        try:
            welcome, frames = await self._refresh(first=True)
        except (SQLAlchemyError, OSError):
            await hub.detach(f"agent:{self.uid}", self.conn)
            await _try_again_later(self.ws)
            return
        self.conn.release(welcome)
        for frame in frames:
            self.conn.send_message(frame)
        try:
            await _frames(self.ws, self.conn, lp.parse_console, self._handle, idle=self._beat)
        finally:
            for room in self._rooms():
                await hub.detach(room, self.conn)
            await self.conn.stop()

    async def _refresh(self, *, first: bool = False) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """Heartbeat; (re)subscribes to the queues this person answers now; queue frames for new ones."""
        now: dt.datetime = self.r.clock()
        async with self.r.sessionmaker() as session, session.begin():
            user = await session.get(User, self.uid)
            assert user is not None
            agent = await chats.agent(session, self.uid)
            await chats.heartbeat(session, self.uid, now)
            queues = await chats.serving_queues(session, user, now)
            new = [q for q in queues if q not in self.queues]
            frames = [await live.queue_frame(session, q, now) for q in (queues if first else new)]
            agent_out = {"available": agent.available, "capacity": agent.capacity, "active_chats": agent.active_chats,
                         "auto_assign": agent.auto_assign, "notify_desktop": agent.notify_desktop, "notify_sound": agent.notify_sound,
                         "notify_email": agent.notify_email}
        for q in new:
            await self.r.hub.attach(f"queue:{q}", self.conn)
        for q in self.queues:
            if q not in queues:
                await self.r.hub.detach(f"queue:{q}", self.conn)
        self.queues, self.beat_at, self.queues_at = queues, now, now
        if first and agent.available:
            pub = live.Publisher(self.r)
            for q in queues:  # an available seat came online: waiting candidates' estimates change
                self.r.hub.spawn(pub.safely(pub.queue(q)))
        welcome = {"type": "welcome", "v": 1, "you": {"id": self.uid, "name": self.conn.name}, "agent": agent_out, "queues": queues}
        return welcome, frames

    async def _beat(self) -> None:
        now: dt.datetime = self.r.clock()
        if now - self.queues_at >= QUEUES_EVERY:
            _, frames = await self._refresh()
            for frame in frames:
                self.conn.send_message(frame)
        elif now - self.beat_at >= HEARTBEAT_EVERY:
            async with self.r.sessionmaker() as session, session.begin():
                await session.execute(update(Agent).where(Agent.user_id == self.uid).values(last_seen_at=now))
            self.beat_at = now

    async def _handle(self, message: Any) -> None:
        conn, hub = self.conn, self.r.hub
        if isinstance(message, lp.StaffChat):
            await self._line(message)
        elif isinstance(message, lp.StaffTyping):
            if not self.typing_bucket.allow():
                return  # a hint: extra ones are dropped
            if message.chat in self.watching and message.chat not in self.conn.held_for and await self._may_type(message.chat):
                await hub.publish(chats.key(message.chat), {"type": "typing", "chat": message.chat, "name": conn.name, "role": "recruiter",
                                                            "active": message.active}, skip=conn.conn_id)
        elif isinstance(message, lp.Watch):
            await self._watch(message)
        elif isinstance(message, lp.Unwatch):
            if message.chat in self.watching:
                self.watching.discard(message.chat)
                await hub.detach(chats.key(message.chat), conn)
        elif isinstance(message, lp.Heartbeat):
            await self._beat()
            conn.send_message({"type": "pong"})
        elif isinstance(message, lp.Ping):
            conn.send_message({"type": "pong"})
        else:
            raise p.ProtocolError("unexpected", "hello is only sent once.")

    async def _may_type(self, chat_id: int) -> bool:
        """Only the owner and visible members show as typing: an invisible monitor or a supervisor reading along never does."""
        async with self.r.sessionmaker() as session:
            chat = await session.get(LiveChat, chat_id)
            if chat is None or chat.status != L.ACTIVE.value:
                return chat is not None and chat.recruiter_id == self.uid
            return chat.recruiter_id == self.uid or await chats.member_mode(session, chat_id, self.uid) == "visible"

    async def _recheck(self, chat_id: int) -> None:
        allowed = False
        try:
            async with self.r.sessionmaker() as session:
                user = await session.get(User, self.uid)
                chat = await session.get(LiveChat, chat_id)
                allowed = user is not None and chat is not None and await chats.staff_may_see(session, chat, user, self.r.clock())
        except Exception:
            log.exception("console: re-checking access to chat %s failed", chat_id)
        if not allowed and chat_id in self.watching:
            self.watching.discard(chat_id)
            await self.r.hub.detach(chats.key(chat_id), self.conn)
        self.conn.resolve(chat_id, allowed)

    async def _watch(self, message: lp.Watch) -> None:
        if len(self.watching) >= 50 and message.chat not in self.watching:
            raise p.ProtocolError("too_many", "Watch at most 50 chats at once.")
        now: dt.datetime = self.r.clock()
        async with self.r.sessionmaker() as session, session.begin():
            user = await session.get(User, self.uid)
            assert user is not None
            chat = await chats.staff_chat(session, message.chat, user, now)
            status = chat.status
        await self.r.hub.attach(chats.key(message.chat), self.conn)
        self.watching.add(message.chat)
        async with self.r.sessionmaker() as session:
            entries = await conversations.since(session, chats.key(message.chat), message.last_seq or 0)
            last = await conversations.last_seq(session, chats.key(message.chat))
        if self.r.metrics is not None:
            self.r.metrics.resumed("console", message.last_seq, len(entries) if message.last_seq is not None else 0)
        self.conn.send_message({"type": "watching", "chat": message.chat, "status": status, "seq": last})
        for entry in entries:
            self.conn.send_message(live.event_frame(message.chat, entry))

    async def _line(self, message: lp.StaffChat) -> None:
        """A recruiter's line: checked and stored in one short transaction (with what it sets off), then published."""
        now: dt.datetime = self.r.clock()
        ctx = context_for(self.r)
        async with self.r.sessionmaker() as session, session.begin():
            user = await session.get(User, self.uid)
            assert user is not None
            chat = await chats.staff_chat(session, message.chat, user, now, lock=True)
            await chats.staff_may_write(session, chat, user, now)
            body = {**conversations.message_body(message.text), "name": user.name, "role": "recruiter", **({"auto": True} if message.auto else {})}
            [stored] = await conversations.store(await session.connection(), [Append(chats.key(chat.id), "message", user.id, body, now,
                                                                                     message.client_id)])
            assert stored is not None
            entry, created = stored
            if created:
                await live.after_staff_line(session, self.r.settings, chat, user, body["text"], ctx)
        self.conn.send_message({"type": "ack", "chat": message.chat, "client_id": message.client_id, "seq": entry.seq})
        if created:
            await self.r.hub.publish(chats.key(message.chat), live.event_frame(message.chat, entry), skip=self.conn.conn_id)
            if chat.status == L.NOTE.value:  # answering a note takes it off colleagues' lists, and the candidate sees who answers
                pub = live.Publisher(self.r)
                self.r.hub.spawn(pub.safely(pub.queue(chat.queue)))
                await pub.safely(pub.status(chat.id))


async def republish_queues(r: Resources) -> None:
    """Every queue with candidates waiting gets a fresh frame: seats that went quiet drop out of the estimates."""
    async with r.sessionmaker() as session:
        queues = list((await session.execute(
            select(LiveChat.queue).where(LiveChat.status == L.WAITING.value).distinct()
        )).scalars())
    pub = live.Publisher(r)
    for q in queues:
        await pub.safely(pub.queue(q))


routes = [
    WebSocketRoute("/ws/live", candidate_socket),
    WebSocketRoute("/ws/live/console", console_socket),
]
