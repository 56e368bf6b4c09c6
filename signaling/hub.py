"""Rooms of live connections on this node, and delivery of room traffic through the broker.

Every message for a room goes through the broker, even on one node, so one code path serves
one process and many. An envelope names its recipients explicitly (`to`: connection ids, or
None for everyone in the room).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from signaling.broker import Broker

log = logging.getLogger(__name__)
QUEUE_LIMIT = 256


@dataclass(eq=False)
class Connection:
    """One browser tab (or client) in one room. Frames go out through a bounded queue."""

    conn_id: str
    user_id: int
    name: str
    role: str
    send_frame: Callable[[dict[str, Any]], Awaitable[None]]
    close_socket: Callable[[int, str], Coroutine[Any, Any, None]]
    queue: asyncio.Queue[dict[str, Any] | None] = field(default_factory=lambda: asyncio.Queue(QUEUE_LIMIT))
    writer: asyncio.Task[None] | None = None
    closed: bool = False
    # Frames that arrive between attaching and the welcome wait here: the welcome always goes first.
    held: list[dict[str, Any]] | None = field(default_factory=list)

    def start(self) -> None:
        self.writer = asyncio.create_task(self._write())

    def send(self, message: dict[str, Any]) -> None:
        """Queues a frame; a client that lets its queue fill up is too slow and is disconnected."""
        if self.closed:
            return
        if self.held is not None:
            self.held.append(message)
            return
        self._put(message)

    def release(self, first: dict[str, Any]) -> None:
        """Sends `first` (the welcome), then whatever was held back, and stops holding."""
        held, self.held = self.held or [], None
        for message in (first, *held):
            self._put(message)

    def _put(self, message: dict[str, Any]) -> None:
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            log.warning("connection %s is too slow; closing it", self.conn_id)
            self.closed = True
            asyncio.get_running_loop().create_task(self.close_socket(4008, "too slow"))

    async def _write(self) -> None:
        while True:
            message = await self.queue.get()
            if message is None:
                return
            try:
                await self.send_frame(message)
            except Exception:  # noqa: BLE001 -- a dead socket ends this writer; the reader notices too
                self.closed = True
                return

    async def stop(self) -> None:
        self.closed = True
        if self.writer is not None:
            with contextlib.suppress(asyncio.QueueFull):
                self.queue.put_nowait(None)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.writer, 2)

    def info(self) -> dict[str, Any]:
        return {"conn": self.conn_id, "user_id": self.user_id, "name": self.name, "role": self.role}


class Hub:
    def __init__(self, broker: Broker) -> None:
        self.broker = broker
        self.rooms: dict[str, dict[str, Connection]] = {}
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Runs a follow-up (a delayed 'left') that outlives its connection; close() cancels what's pending."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
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
        await self.broker.publish(self.channel(room), {"to": to, "skip": skip, "msg": message})

    def _deliver(self, room: str, envelope: dict[str, Any]) -> None:
        to, skip, message = envelope.get("to"), envelope.get("skip"), envelope["msg"]
        for conn_id, conn in list(self.rooms.get(room, {}).items()):
            if (to is None or conn_id in to) and conn_id != skip:
                conn.send(message)

    def local_count(self) -> int:
        return sum(len(m) for m in self.rooms.values())
