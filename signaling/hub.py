"""Rooms of live connections on this node, and delivery of room traffic through the broker.

Every message for a room goes through the broker, even on one node, so one code path serves
one process and many. An envelope names its recipients explicitly (`to`: connection ids, or
None for everyone in the room).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import orjson

from signaling.broker import Broker
from signaling.metrics import SignalingMetrics

log = logging.getLogger(__name__)
QUEUE_LIMIT = 256


def encode(message: dict[str, Any]) -> str:
    """A frame as JSON text: encoded once per publish, whatever the number of recipients."""
    return orjson.dumps(message).decode()


class Connection:
    """One browser tab (or client) in one room. Frames go out in order through a bounded buffer.

    No task waits on an idle connection: a writer task exists only while frames are being sent.
    """

    __slots__ = ("_out", "_writer", "close_socket", "closed", "conn_id", "held", "name", "role", "send_frame", "user_id")

    def __init__(self, conn_id: str, user_id: int, name: str, role: str, send_frame: Callable[[str], Awaitable[None]],
                 close_socket: Callable[[int, str], Coroutine[Any, Any, None]]) -> None:
        self.conn_id, self.user_id, self.name, self.role = conn_id, user_id, name, role
        self.send_frame, self.close_socket = send_frame, close_socket
        self.closed = False
        # Frames that arrive between attaching and the welcome wait here: the welcome always goes first.
        self.held: list[str] | None = []
        self._out: deque[str] = deque()
        self._writer: asyncio.Task[None] | None = None

    def send(self, frame: str) -> None:
        """Queues a frame; a client that lets its buffer fill up is too slow and is disconnected."""
        if self.closed:
            return
        if self.held is not None:
            self.held.append(frame)
            return
        self._put(frame)

    def send_message(self, message: dict[str, Any]) -> None:
        self.send(encode(message))

    def release(self, first: dict[str, Any]) -> None:
        """Sends `first` (the welcome), then whatever was held back, and stops holding."""
        held, self.held = self.held or [], None
        for frame in (encode(first), *held):
            self._put(frame)

    def _put(self, frame: str) -> None:
        if len(self._out) >= QUEUE_LIMIT:
            log.warning("connection %s is too slow; closing it", self.conn_id)
            self.closed = True
            self._out.clear()
            asyncio.get_running_loop().create_task(self.close_socket(4008, "too slow"))
            return
        self._out.append(frame)
        if self._writer is None:
            self._writer = asyncio.get_running_loop().create_task(self._write())

    async def _write(self) -> None:
        try:
            while self._out:
                await self.send_frame(self._out.popleft())
        except Exception:  # noqa: BLE001 -- a dead socket ends this writer; the reader notices too
            self.closed = True
            self._out.clear()
        finally:
            self._writer = None

    async def stop(self) -> None:
        """Lets what is queued go out (2 s at most), then sends nothing more."""
        writer = self._writer
        if writer is not None and not self.closed:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(writer), 2)
        self.closed = True
        self._out.clear()

    def info(self) -> dict[str, Any]:
        return {"conn": self.conn_id, "user_id": self.user_id, "name": self.name, "role": self.role}


class Hub:
    def __init__(self, broker: Broker, metrics: SignalingMetrics | None = None) -> None:
        self.broker = broker
        self.metrics = metrics
        self.rooms: dict[str, dict[str, Connection]] = {}
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()
        self._waits: set[asyncio.Task[None]] = set()  # spawned waits close() cancels without waiting for them

    def spawn(self, coro: Coroutine[Any, Any, None], *, linger: bool = True) -> None:
        """Runs a follow-up that outlives its request or connection (publishing after a commit; a delayed 'left'). close()
        lets the lingering ones finish first; the others (waits, like a delayed 'left') are cancelled at once."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        if not linger:
            self._waits.add(task)
            task.add_done_callback(self._waits.discard)

    async def close(self, grace: float = 2.0) -> None:
        """Lets follow-ups finish for up to `grace` seconds (work published after a commit takes milliseconds), then cancels
        the rest: cancelling one mid-transaction could leave its connection holding a lock (on SQLite, the database's)."""
        pending = [t for t in self._tasks if not t.done() and t not in self._waits]
        if pending and grace > 0:
            await asyncio.wait(pending, timeout=grace)
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.broker.close()

    @staticmethod
    def channel(room: str) -> str:
        return f"room:{room}"

    async def attach(self, room: str, conn: Connection) -> Connection | None:
        """Adds a connection; returns the one it replaces (same tab reconnecting), which the caller closes."""
        async with self._lock:
            members = self.rooms.get(room)
            if members is None:
                members = self.rooms[room] = {}

                async def deliver(envelope: dict[str, Any], room: str = room) -> None:
                    self._deliver(room, envelope)

                await self.broker.subscribe(self.channel(room), deliver)
            old = members.get(conn.conn_id)
            members[conn.conn_id] = conn
            return old

    async def detach(self, room: str, conn: Connection) -> None:
        async with self._lock:
            members = self.rooms.get(room, {})
            if members.get(conn.conn_id) is conn:
                del members[conn.conn_id]
            if not members and room in self.rooms:
                del self.rooms[room]
                await self.broker.unsubscribe(self.channel(room))

    def is_local(self, room: str, conn: Connection) -> bool:
        return self.rooms.get(room, {}).get(conn.conn_id) is conn

    async def publish(self, room: str, message: dict[str, Any], *, to: list[str] | None = None, skip: str | None = None) -> None:
        await self.broker.publish(self.channel(room), {"to": to, "skip": skip, "frame": encode(message), "ts": time.time()})

    def _deliver(self, room: str, envelope: dict[str, Any]) -> None:
        to, skip, frame = envelope.get("to"), envelope.get("skip"), envelope["frame"]
        members = self.rooms.get(room)
        if not members:
            return
        sent = dropped = 0
        for conn_id, conn in list(members.items()):
            if (to is None or conn_id in to) and conn_id != skip:
                was_closed = conn.closed
                conn.send(frame)
                sent += 1
                dropped += conn.closed and not was_closed  # its send queue was full: closed with 4008
        metrics = self.metrics
        if metrics is not None and sent:
            metrics.delivered.inc(sent)
            published = envelope.get("ts")
            if isinstance(published, float):
                metrics.delivery_latency.observe(max(0.0, time.time() - published))
            if dropped:
                metrics.send_queue_drops.inc(dropped)

    def local_count(self) -> int:
        return sum(len(m) for m in self.rooms.values())
