"""Brokers carry room traffic between app processes: in memory for one node, Redis pub/sub for several."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import orjson

log = logging.getLogger(__name__)
Handler = Callable[[dict[str, Any]], Awaitable[None]]
OUTBOX_LIMIT = 10_000  # envelopes waiting for Redis; beyond that the node is cut off and new ones are dropped


class Broker(Protocol):
    async def publish(self, channel: str, message: dict[str, Any]) -> None: ...
    async def subscribe(self, channel: str, handler: Handler) -> None: ...
    async def unsubscribe(self, channel: str) -> None: ...
    async def close(self) -> None: ...


class MemoryBroker:
    """One process: publishing calls the subscriber directly."""

    def __init__(self) -> None:
        self._handlers: dict[str, Handler] = {}

    async def publish(self, channel: str, message: dict[str, Any]) -> None:
        handler = self._handlers.get(channel)
        if handler is not None:
            await handler(message)

    async def subscribe(self, channel: str, handler: Handler) -> None:
        self._handlers[channel] = handler

    async def unsubscribe(self, channel: str) -> None:
        self._handlers.pop(channel, None)

    async def close(self) -> None:
        self._handlers.clear()


class RedisBroker:
    """Several processes: each subscribes to the channels of the rooms it has people in.

    Publishing queues the envelope and returns; one task sends what has queued in a pipeline, in
    publishing order, so a room's frames leave this node in the order they were published.

    When Redis goes away, nothing fails for the callers: publishing drops frames (the conversation log holds every
    stored entry), subscribing is remembered, and reading retries. Once a read succeeds again, every channel this node
    wants is subscribed again and `on_reconnect` runs: frames published meanwhile are gone, so it tells the local
    connections to catch up from the log.
    """

    def __init__(self, url: str, prefix: str = "fairmeet:") -> None:
        import redis.asyncio as redis  # noqa: PLC0415 -- only nodes configured for Redis need it

        self._redis = redis.from_url(url)
        self._pubsub = self._redis.pubsub()
        self._prefix = prefix
        self._handlers: dict[str, Handler] = {}
        self._reader: asyncio.Task[None] | None = None
        self._outbox: deque[tuple[str, bytes]] = deque()
        self._queued = asyncio.Event()
        self._publisher: asyncio.Task[None] | None = None
        self._lost = False  # frames may have been lost since the last successful read (Redis unreachable)
        self.on_reconnect: Callable[[], Awaitable[None]] | None = None
        self.reconnects = 0

    async def publish(self, channel: str, message: dict[str, Any]) -> None:
        if len(self._outbox) >= OUTBOX_LIMIT:
            # Stored entries are replayed from the log when clients notice the gap; this only sheds relayed frames.
            log.warning("Redis is not keeping up; a frame for %s was dropped", channel)
            return
        self._outbox.append((self._prefix + channel, orjson.dumps(message)))
        self._queued.set()
        if self._publisher is None:
            self._publisher = asyncio.get_running_loop().create_task(self._publish_queued())

    async def _publish_queued(self) -> None:
        while True:
            if not self._outbox:
                self._queued.clear()
                await self._queued.wait()
                continue
            batch = [self._outbox.popleft() for _ in range(min(len(self._outbox), 1000))]
            pipe = self._redis.pipeline(transaction=False)
            for channel, data in batch:
                pipe.publish(channel, data)
            try:
                await pipe.execute()
            except asyncio.CancelledError:
                raise
            except Exception as err:  # noqa: BLE001 -- Redis away: the frames are dropped, clients catch up from the log later
                if not self._lost:
                    log.warning("publishing %d frames to Redis failed (%s); they are dropped until it is back", len(batch), err)
                self._lost = True
                await asyncio.sleep(0.2)

    async def subscribe(self, channel: str, handler: Handler) -> None:
        self._handlers[channel] = handler
        if self._reader is None:
            self._reader = asyncio.create_task(self._read())
        try:
            await self._pubsub.subscribe(self._prefix + channel)
        except Exception as err:  # noqa: BLE001 -- Redis away: subscribed again by _resubscribe once it is back
            log.warning("subscribing to %s failed (%s); retrying when Redis is back", channel, err)
            self._lost = True

    async def unsubscribe(self, channel: str) -> None:
        self._handlers.pop(channel, None)
        try:
            await self._pubsub.unsubscribe(self._prefix + channel)
        except Exception as err:  # noqa: BLE001 -- Redis away: dropped by _resubscribe once it is back
            log.warning("unsubscribing from %s failed (%s)", channel, err)
            self._lost = True

    async def _resubscribe(self) -> None:
        """After an outage: the channels of the rooms this node has people in, and only those, are subscribed."""
        wanted = {self._prefix + c for c in self._handlers}
        have = {c.decode() if isinstance(c, bytes) else str(c) for c in self._pubsub.channels}
        if missing := sorted(wanted - have):
            await self._pubsub.subscribe(*missing)
        if stale := sorted(have - wanted):
            await self._pubsub.unsubscribe(*stale)

    async def ping(self) -> bool:
        return bool(await self._redis.ping())

    async def _read(self) -> None:
        while True:
            try:
                item = await self._pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            except asyncio.CancelledError:
                raise
            except Exception as err:  # noqa: BLE001 -- Redis away: keep trying (redis-py reconnects on the next read)
                if not self._lost:
                    log.warning("reading from Redis failed (%s); retrying until it is back", err)
                self._lost = True
                await asyncio.sleep(0.5)
                if self._pubsub.connection is None and self._handlers:  # every subscribe failed: no connection to read on yet
                    await self._recovered()
                continue
            if self._lost:
                await self._recovered()
            if item is None or item.get("type") != "message":
                continue
            channel = item["channel"].decode() if isinstance(item["channel"], bytes) else str(item["channel"])
            handler = self._handlers.get(channel.removeprefix(self._prefix))
            if handler is None:
                continue
            try:
                await handler(orjson.loads(item["data"]))
            except Exception:
                log.exception("delivering a room message failed")

    async def _recovered(self) -> None:
        try:
            await self._resubscribe()
        except Exception as err:  # noqa: BLE001 -- gone again: the next read retries
            log.debug("resubscribing after a Redis outage failed (%s)", err)  # still away: the read loop said so once already
            return
        self._lost = False
        self.reconnects += 1
        log.warning("Redis is back; channels subscribed again, local connections told to catch up")
        if self.on_reconnect is not None:
            try:
                await self.on_reconnect()
            except Exception:
                log.exception("catching up after a Redis outage failed")

    async def close(self) -> None:
        if self._publisher is not None:
            for _ in range(50):  # what is queued goes out first (a second at most)
                if not self._outbox:
                    break
                await asyncio.sleep(0.02)
            self._publisher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._publisher
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        await self._pubsub.aclose()  # type: ignore[no-untyped-call,unused-ignore]
        await self._redis.aclose()
