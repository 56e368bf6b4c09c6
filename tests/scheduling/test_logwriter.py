"""Group commit of conversation entries: batches from many rooms, two writers at once, busy, retries, the leave guard."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from scheduling import conversations
from scheduling.conversations import Append
from scheduling.db import create_engine
from scheduling.logwriter import Busy, LogWriter
from tests.factories import make_world


@pytest.fixture
async def writer(engine: AsyncEngine) -> AsyncIterator[LogWriter]:
    w = LogWriter(engine)
    w.start()
    yield w
    await w.close()


def line(key: str, author: int, text: str, now: dt.datetime, cid: str | None = None) -> Append:
    return Append(key, "message", author, {"text": text}, now, cid or text)


async def log_of(sm: async_sessionmaker[AsyncSession], key: str) -> list[tuple[int, str]]:
    async with sm() as s:
        return [(e.seq, str(e.body.get("text") or e.body.get("state"))) for e in await conversations.since(s, key, 0)]


async def test_lines_from_many_rooms_are_stored_together_numbered_per_room_in_order(
    writer: LogWriter, sessionmaker: async_sessionmaker[AsyncSession], now: dt.datetime
) -> None:
    w = await make_world(sessionmaker, now)
    author = w.talents[0].id

    async def room(r: int) -> list[int]:
        seqs = []
        for i in range(5):  # one sender per room, each line after the previous one's ack
            stored = await writer.append(line(f"chat:{r}", author, f"r{r} m{i}", now))
            assert stored is not None and stored[1]
            seqs.append(stored[0].seq)
        return seqs

    results = await asyncio.gather(*(room(r) for r in range(30)))
    assert all(seqs == [1, 2, 3, 4, 5] for seqs in results)
    assert writer.batches < writer.stored == 150  # lines of several rooms shared transactions
    for r in (0, 17, 29):
        assert await log_of(sessionmaker, f"chat:{r}") == [(i + 1, f"r{r} m{i}") for i in range(5)]


async def test_two_writers_on_one_database_never_deadlock_or_skip_a_number(
    engine: AsyncEngine, db_url: str, sessionmaker: async_sessionmaker[AsyncSession], now: dt.datetime
) -> None:
    """Two app nodes: their batches overlap in rooms, in opposite orders; counters are locked in id order."""
    w = await make_world(sessionmaker, now)
    author = w.talents[0].id
    other_engine = create_engine(db_url)
    one, two = LogWriter(engine), LogWriter(other_engine)
    one.start()
    two.start()
    try:
        keys = [f"chat:{k}" for k in range(8)]
        sends = [one.append(line(k, author, f"one {k} {i}", now)) for i in range(10) for k in keys]
        sends += [two.append(line(k, author, f"two {k} {i}", now)) for i in range(10) for k in reversed(keys)]
        results = await asyncio.gather(*sends)
    finally:
        await one.close()
        await two.close()
        await other_engine.dispose()
    assert all(r is not None and r[1] for r in results)
    for k in keys:
        log = await log_of(sessionmaker, k)
        assert [seq for seq, _ in log] == list(range(1, 21))
        assert [t for _, t in log if t.startswith("one")] == [f"one {k} {i}" for i in range(10)]
        assert [t for _, t in log if t.startswith("two")] == [f"two {k} {i}" for i in range(10)]


async def test_retries_are_stored_once_in_one_batch_and_across_batches(
    writer: LogWriter, sessionmaker: async_sessionmaker[AsyncSession], now: dt.datetime
) -> None:
    w = await make_world(sessionmaker, now)
    author = w.talents[0].id
    first = await writer.append(line("chat:1", author, "hello", now, cid="c1"))
    # A retry in a later batch (the unique key catches it; the batch is stored again with the lookup) and two
    # copies of a new line in one batch.
    again, new, new_again = await asyncio.gather(
        writer.append(line("chat:1", author, "hello", now, cid="c1")),
        writer.append(line("chat:1", author, "there", now, cid="c2")),
        writer.append(line("chat:1", author, "there", now, cid="c2")),
    )
    assert first is not None and again is not None and new is not None and new_again is not None
    assert (again[0].seq, again[1]) == (first[0].seq, False)
    assert new[0].seq == new_again[0].seq == 2 and [new[1], new_again[1]].count(True) == 1
    assert await log_of(sessionmaker, "chat:1") == [(1, "hello"), (2, "there")]


async def test_a_full_queue_answers_busy_and_stores_nothing_for_what_it_refused(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession], now: dt.datetime
) -> None:
    w = await make_world(sessionmaker, now)
    author = w.talents[0].id
    writer = LogWriter(engine, max_pending=3, busy_after=0.0)
    writer.start()
    try:
        results = await asyncio.gather(*(writer.append(line(f"chat:{i % 4}", author, f"m{i}", now)) for i in range(40)),
                                       return_exceptions=True)
    finally:
        await writer.close()
    refused = [i for i, r in enumerate(results) if isinstance(r, Busy)]
    stored = [i for i, r in enumerate(results) if isinstance(r, tuple)]
    assert refused and stored and len(refused) + len(stored) == 40
    texts = [t for k in range(4) for _, t in await log_of(sessionmaker, f"chat:{k}")]
    assert sorted(texts) == sorted(f"m{i}" for i in stored)


async def test_a_refused_entry_does_not_take_its_batch_down(
    writer: LogWriter, sessionmaker: async_sessionmaker[AsyncSession], now: dt.datetime
) -> None:
    w = await make_world(sessionmaker, now)
    author = w.talents[0].id
    results = await asyncio.gather(
        writer.append(line("chat:1", author, "fine", now)),
        writer.append(line("chat:1", 999_999, "no such author", now)),  # breaks the foreign key
        writer.append(line("chat:2", author, "fine too", now)),
        return_exceptions=True,
    )
    assert isinstance(results[0], tuple) and isinstance(results[2], tuple)
    assert isinstance(results[1], Exception) and getattr(results[1], "code", "") == "not_stored"
    assert await log_of(sessionmaker, "chat:1") == [(1, "fine")]
    assert await log_of(sessionmaker, "chat:2") == [(1, "fine too")]


async def test_left_is_stored_only_if_the_tab_has_not_joined_again(
    writer: LogWriter, sessionmaker: async_sessionmaker[AsyncSession], now: dt.datetime
) -> None:
    w = await make_world(sessionmaker, now)
    author = w.talents[0].id

    def presence(state: str, conn: str, guard: tuple[str, int] | None = None) -> Append:
        return Append("chat:5", "presence", author, {"state": state, "conn": conn}, now, unless_rejoined=guard)

    joined = await writer.append(presence("joined", "tab-aaaa"))
    assert joined is not None
    rejoined = await writer.append(presence("joined", "tab-aaaa"))  # the same tab came back (say, on another node)
    assert rejoined is not None
    other = await writer.append(presence("joined", "tab-bbbb"))
    assert other is not None
    assert await writer.append(presence("left", "tab-aaaa", ("tab-aaaa", joined[0].seq))) is None
    left = await writer.append(presence("left", "tab-bbbb", ("tab-bbbb", other[0].seq)))
    assert left is not None and left[0].seq == 4
    async with sessionmaker() as s:
        assert sorted(await conversations.roster(s, "chat:5")) == ["tab-aaaa"]
