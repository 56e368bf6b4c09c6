"""Conversation logs: numbered without gaps under concurrency, a retried send stored once, replay, roster."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scheduling import conversations
from scheduling.errors import Invalid
from tests.factories import make_world


async def test_concurrent_appends_get_gapless_numbers_and_retries_are_stored_once(
    sessionmaker: async_sessionmaker[AsyncSession], now: dt.datetime
) -> None:
    w = await make_world(sessionmaker, now)
    author = w.talents[0].id

    async def send(i: int) -> int:
        async with sessionmaker() as s, s.begin():
            entry, _ = await conversations.append(
                s, "chat:1", kind="message", author_id=author, body={"text": f"m{i % 20}"}, now=now, client_id=f"c{i % 20}"
            )
        return entry.seq

    # 60 sends of 20 distinct messages (each retried three times), all at once.
    seqs = await asyncio.gather(*(send(i) for i in range(60)))
    async with sessionmaker() as s:
        stored = await conversations.since(s, "chat:1", 0)
    assert [e.seq for e in stored] == list(range(1, 21))
    assert sorted({e.client_id for e in stored}) == sorted(f"c{i}" for i in range(20))
    # Every retry learned the number its message was stored under.
    by_client = {e.client_id: e.seq for e in stored}
    assert all(seqs[i] == by_client[f"c{i % 20}"] for i in range(60))


async def test_replay_after_a_number_and_roster_from_presence(sessionmaker: async_sessionmaker[AsyncSession], now: dt.datetime) -> None:
    await make_world(sessionmaker, now)
    async with sessionmaker() as s, s.begin():
        for state, conn in (("joined", "aaaaaaaa"), ("joined", "bbbbbbbb"), ("left", "aaaaaaaa"), ("joined", "aaaaaaaa")):
            await conversations.append(s, "chat:9", kind="presence", author_id=None, body={"state": state, "conn": conn}, now=now)
        await conversations.append(s, "chat:9", kind="message", author_id=None, body={"text": "hi"}, now=now)
    async with sessionmaker() as s:
        assert [e.seq for e in await conversations.since(s, "chat:9", 3)] == [4, 5]
        roster = await conversations.roster(s, "chat:9")
        assert sorted(roster) == ["aaaaaaaa", "bbbbbbbb"] and roster["aaaaaaaa"]["seq"] == 4
        assert await conversations.last_seq(s, "chat:9") == 5
        assert await conversations.since(s, "chat:other", 0) == []


def test_message_text_rules() -> None:
    assert conversations.message_body("  hello  ") == {"text": "hello"}
    with pytest.raises(Invalid):
        conversations.message_body("   ")
    with pytest.raises(Invalid):
        conversations.message_body("x" * 4001)
