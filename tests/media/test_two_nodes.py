"""Two app processes (two servers on one database, SQLite or PostgreSQL, Redis between them), one participant on each."""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from media.client import RoomClient, until
from scheduling.db import Base, create_engine
from tests.conftest import _service_missing
from tests.live import serve
from tests.media.helpers import IN_ROOM_HOURS, SECRET, Seeded, seed_rooms
from web.settings import Settings

REDIS_URL = os.environ.get("FAIRMEET_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
# Pub/sub channels are shared by everything on this Redis, whatever the database number: a prefix
# of this run's own keeps other test runs' rooms (also "chat:1") out of ours.
PREFIX = f"fairmeet-test-{uuid.uuid4().hex[:8]}:"


@pytest.fixture
async def redis_url(monkeypatch: pytest.MonkeyPatch) -> str:
    import redis.asyncio as redis

    client = redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        await client.ping()
    except Exception as err:  # noqa: BLE001 -- any failure means "no Redis here"
        _service_missing("Redis", err)
    finally:
        await client.aclose()
    return REDIS_URL


@pytest.fixture(params=["sqlite", "postgresql"])
def shared_db(request: pytest.FixtureRequest) -> Iterator[str]:
    """The one database both nodes use: a SQLite file, or the test PostgreSQL (emptied afterwards)."""
    if request.param == "sqlite":
        yield request.getfixturevalue("media_db")
        return
    url: str = request.getfixturevalue("pg_database")
    yield url
    with concurrent.futures.ThreadPoolExecutor(1) as pool:  # away from the test's event loop
        pool.submit(asyncio.run, _truncate(url)).result()


async def _truncate(url: str) -> None:
    engine = create_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    async with engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    await engine.dispose()


@pytest.fixture
async def shared_seeded(shared_db: str) -> Seeded:
    return await seed_rooms(shared_db, 1, strangers=0)


@pytest.fixture
def nodes(shared_db: str, shared_seeded: Seeded, redis_url: str) -> Iterator[tuple[str, str]]:
    def settings(base: str) -> Settings:
        return Settings(database_url=shared_db, secret_key=SECRET, base_url=base, redis_url=redis_url, reconnect_grace_seconds=0.5,
                        redis_prefix=PREFIX)

    with serve(settings, lambda: IN_ROOM_HOURS, name="node-1") as one, serve(settings, lambda: IN_ROOM_HOURS, name="node-2") as two:
        yield one, two


async def test_participants_on_two_nodes_see_presence_chat_and_media(nodes: tuple[str, str], shared_seeded: Seeded) -> None:
    seeded = shared_seeded
    one, two = nodes
    room = seeded.rooms[0]
    async with RoomClient(one, room.chat_id, room.talent, seeded.password) as talent, \
            RoomClient(two, room.chat_id, room.recruiter, seeded.password) as recruiter:
        await talent.join()
        await recruiter.join()
        # Presence: the recruiter's welcome lists the talent (from the database), and the talent hears of
        # the recruiter's arrival from the other node (through Redis).
        assert set(recruiter.peers) == {talent.conn_id}
        await until(lambda: recruiter.conn_id in talent.peers, 5, "the recruiter's 'joined' on node 1")

        hello = await talent.send_chat("hello from node 1")
        reply = await recruiter.send_chat("hello from node 2")
        await until(lambda: len(talent.messages) == len(recruiter.messages) == 2, 5, "both lines on both nodes")
        assert talent.chat_log() == recruiter.chat_log()
        assert {m.text for m in talent.messages.values()} == {"hello from node 1", "hello from node 2"}
        assert talent.acks[hello] < recruiter.acks[reply] or talent.acks[hello] > recruiter.acks[reply]

        # Media: offers and answers cross Redis; the frames go straight from peer to peer.
        await until(lambda: recruiter.conn_id in talent.links and talent.conn_id in recruiter.links, 5, "both links")
        a, b = talent.links[recruiter.conn_id], recruiter.links[talent.conn_id]
        await until(lambda: a.frames > 0 and b.frames > 0, 20, "decoded frames on both nodes' participants")

        # Leaving on node 2 is seen on node 1 once the reconnect grace has passed.
        await recruiter.close()
        await until(lambda: recruiter.conn_id not in talent.peers, 5, "the recruiter's 'left' on node 1")
        assert recruiter.conn_id not in talent.links
