"""Group commit for conversation logs: appends from every room queue up and are stored together.

One writer task per process takes whatever has queued while the previous batch was being
written (lines from any rooms, arriving within the database's round trip) and stores it in one
transaction (`conversations.store`), so a line costs a share of a few statements instead of a
transaction of its own, and the log holds one pooled connection at most. The queue is bounded:
when it is full, `append` raises `Busy` at once instead of letting waits pile up in the pool;
when it is full, `append` waits for room (so a sender's next line is read only after this one is
stored: a slower ack is the first backpressure), and after `busy_after` seconds raises `Busy`
instead of letting waits pile up in the pool; the sender hears it and sends again later (a
retried client_id is never stored twice).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Sequence

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from scheduling import conversations
from scheduling.conversations import Append, Stored
from scheduling.errors import DomainError

log = logging.getLogger(__name__)
MAX_BATCH = 500
KNOWN_IDS_LIMIT = 50_000
CAREFUL_SECONDS = 10.0  # after a retried client_id, look retries up first for a while (retries come in bursts)


class Busy(DomainError):
    """The log is not taking more right now; nothing was stored. Safe to send again later."""

    code = "busy"


class LogWriter:
    def __init__(self, engine: AsyncEngine, *, max_pending: int = 2000, busy_after: float = 5.0, max_batch: int = MAX_BATCH) -> None:
        self.engine = engine
        self.max_pending = max_pending
        self.busy_after = busy_after
        self.max_batch = max_batch
        self._queue: deque[tuple[Append, asyncio.Future[Stored]]] = deque()
        self._wake = asyncio.Event()
        self._room = asyncio.Event()  # set while the queue has room
        self._room.set()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._ids: dict[str, int] = {}  # conversation key -> id, of conversations known to be committed
        self._careful_until = 0.0
        self.batches = 0
        self.stored = 0

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="conversation log writer")

    async def append(self, item: Append, *, wait: bool = False) -> Stored:
        """Stores `item` with the next batch; returns once that batch has committed.

        Raises Busy when `max_pending` appends are already waiting, unless `wait` (for entries
        that must not be refused, such as a 'left' nobody would resend).
        """
        if self._closing or self._task is None:
            raise Busy("The chat is restarting; try again in a moment.")
        if not wait and len(self._queue) >= self.max_pending:
            try:
                async with asyncio.timeout(self.busy_after):
                    while len(self._queue) >= self.max_pending:
                        self._room.clear()
                        await self._room.wait()
            except TimeoutError:
                raise Busy("The chat is very busy right now; your message will be sent again in a moment.") from None
        future: asyncio.Future[Stored] = asyncio.get_running_loop().create_future()
        self._queue.append((item, future))
        self._wake.set()
        return await future

    async def close(self) -> None:
        """Stores what is queued, then stops."""
        self._closing = True
        self._wake.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            if not self._queue:
                if self._closing:
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            batch = [self._queue.popleft() for _ in range(min(len(self._queue), self.max_batch))]
            self._room.set()
            try:
                await self._write(batch)
            except Exception:  # never let the writer die: fail this batch, keep serving the next
                log.exception("storing %d conversation entries failed", len(batch))
                for _, future in batch:
                    if not future.done():
                        future.set_exception(Busy("The chat could not store that just now; it will be sent again."))

    async def _store(self, items: Sequence[Append], *, check_retries: bool) -> list[Stored]:
        async with self.engine.begin() as conn:
            fresh = [i.key for i in items if i.key not in self._ids]
            created = await conversations.conversation_ids(conn, fresh, now=items[0].now) if fresh else {}
            results = await conversations.store(conn, items, ids={**self._ids, **created}, check_retries=check_retries)
        if len(self._ids) > KNOWN_IDS_LIMIT:
            self._ids.clear()
        self._ids.update(created)
        return results

    async def _write(self, batch: list[tuple[Append, asyncio.Future[Stored]]]) -> None:
        items = [item for item, _ in batch]
        try:
            # The common case skips the retry lookup; a retried client_id then breaks the unique key and the
            # batch is stored again with the lookup.
            results = await self._store(items, check_retries=time.monotonic() < self._careful_until)
        except IntegrityError:
            self._careful_until = time.monotonic() + CAREFUL_SECONDS
            try:
                results = await self._store(items, check_retries=True)
            except IntegrityError:
                await self._one_by_one(batch)
                return
        self.batches += 1
        self.stored += len(items)
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(result)

    async def _one_by_one(self, batch: list[tuple[Append, asyncio.Future[Stored]]]) -> None:
        """An entry the database refuses (say, its author was just deleted) must not take its batch down with it."""
        for item, future in batch:
            try:
                [result] = await self._store([item], check_retries=True)
            except IntegrityError as err:
                log.warning("a conversation entry was refused: %s", err.orig)
                if not future.done():
                    future.set_exception(DomainError("That message could not be stored.", code="not_stored"))
                continue
            if not future.done():
                future.set_result(result)
