"""Brokers carry room traffic between app processes: in memory for one node, Redis pub/sub for several."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

log = logging.getLogger(__name__)
Handler = Callable[[dict[str, Any]], Awaitable[None]]


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
    """Several processes: each subscribes to the channels of the rooms it has people in."""

    def __init__(self, url: str, prefix: str = "fairmeet:") -> None:
        import redis.asyncio as redis  # noqa: PLC0415 -- only nodes configured for Redis need it

        self._redis = redis.from_url(url)
        self._pubsub = self._redis.pubsub()
        self._prefix = prefix
        self._handlers: dict[str, Handler] = {}
        self._reader: asyncio.Task[None] | None = None

    async def publish(self, channel: str, message: dict[str, Any]) -> None:
        await self._redis.publish(self._prefix + channel, json.dumps(message))

    async def subscribe(self, channel: str, handler: Handler) -> None:
        self._handlers[channel] = handler
        await self._pubsub.subscribe(self._prefix + channel)
        if self._reader is None:
            self._reader = asyncio.create_task(self._read())

    async def unsubscribe(self, channel: str) -> None:
        self._handlers.pop(channel, None)
        await self._pubsub.unsubscribe(self._prefix + channel)

    async def ping(self) -> bool:
        return bool(await self._redis.ping())

    async def _read(self) -> None:
        while True:
            try:
                item = await self._pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("reading from Redis failed; retrying")
                await asyncio.sleep(0.5)
                continue
            if item is None or item.get("type") != "message":
                continue
            channel = item["channel"].decode() if isinstance(item["channel"], bytes) else str(item["channel"])
            handler = self._handlers.get(channel.removeprefix(self._prefix))
            if handler is None:
                continue
            try:
                await handler(json.loads(item["data"]))
            except Exception:
                log.exception("delivering a room message failed")

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        await self._pubsub.aclose()  # type: ignore[no-untyped-call,unused-ignore]
        await self._redis.aclose()
