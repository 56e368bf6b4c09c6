"""Many rooms at once through a real server process with a deliberately small database pool and log queue.

200 room connections on PostgreSQL, a pool of two connections and room for only 20 waiting log
entries, a line waiting at most 50 ms for room: lines are refused as busy and sent again, sockets drop and resume, and still every line is
delivered to both people of its room once, in the order of the stored log; every tab that leaves is
recorded as gone; and the server's log shows no unhandled exception and no dead task.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from media.client import RoomClient, until
from scheduling import conversations
from scheduling.db import create_engine, create_sessionmaker
from scheduling.rooms import room_key
from tests.conftest import throwaway_pg
from tests.live import serve_process
from tests.media.helpers import IN_ROOM_HOURS, seed_rooms

ROOMS = 100  # two connections each
LINES = 5  # per connection, sent in one burst
PER_ADDRESS = 40  # sign-ins per loopback address (the server allows 60 a minute from one IP)
SIGNS_OF_TROUBLE = ("Traceback", "Task exception was never retrieved", "Exception in ASGI application", "ERROR", "CRITICAL")


@pytest.fixture
def pg_url() -> Iterator[str]:
    with throwaway_pg("fairmeet_load") as url:
        yield url


class Log:
    """Reads the rooms' stored logs and rosters (one engine for the whole test)."""

    def __init__(self, url: str) -> None:
        self.engine = create_engine(url)
        self.sessionmaker = create_sessionmaker(self.engine)

    async def messages(self, chat_id: int) -> list[tuple[int, str]]:
        async with self.sessionmaker() as s:
            entries = await conversations.since(s, room_key(chat_id), 0)
        return [(e.seq, e.body["text"]) for e in entries if e.kind == "message"]

    async def present(self, chat_id: int) -> list[str]:
        async with self.sessionmaker() as s:
            return sorted(await conversations.roster(s, room_key(chat_id)))


def test_200_connections_on_a_pool_of_two_lose_nothing_and_no_task_dies(pg_url: str, tmp_path: Path) -> None:
    seeded = asyncio.run(seed_rooms(pg_url, ROOMS, strangers=0))
    log = tmp_path / "server.log"
    with serve_process(pg_url, IN_ROOM_HOURS, pool=2, queue=20, busy_after=0.05, log=log) as (base, _proc):
        asyncio.run(_talk(base, seeded.rooms, seeded.password, pg_url))
    (tmp_path / "copy.log").write_text(log.read_text())
    output = log.read_text()
    assert not [line for line in output.splitlines() if any(sign in line for sign in SIGNS_OF_TROUBLE)], output[-4000:]


async def _talk(base: str, rooms: list, password: str, url: str) -> None:  # type: ignore[type-arg]
    db = Log(url)
    pairs = []
    for i, room in enumerate(rooms):
        pair = [RoomClient(base, room.chat_id, email, password, media=False, history=False, reconnect_delay=0.3,
                           local_address=f"127.0.0.{2 + (2 * i + j) // PER_ADDRESS}") for j, email in enumerate((room.talent, room.recruiter))]
        pairs.append((room, pair[0], pair[1]))
    everyone = [c for _, a, b in pairs for c in (a, b)]
    try:
        for k in range(0, len(everyone), 50):
            await asyncio.gather(*(c.join(60) for c in everyone[k : k + 50]))
        await until(lambda: all(b.conn_id in a.peers and a.conn_id in b.peers for _, a, b in pairs), 60, "everyone's peer")

        async def burst(client: RoomClient, who: str) -> None:
            for m in range(LINES):
                await client.send_chat(f"{who} line {m}")

        talking = asyncio.gather(*(burst(c, f"{r.chat_id}-{side}") for r, a, b in pairs for side, c in enumerate((a, b))))
        await asyncio.sleep(0.05)
        for _, a, _b in pairs[::10]:  # every tenth room: the talent's socket drops mid-burst and resumes
            await a.drop()
        await talking
        await until(lambda: all(len(c.messages) == 2 * LINES and not c.pending for c in everyone), 90, "every line delivered and acknowledged")
        busy = sum(e.get("code") == "busy" for c in everyone for e in c.errors)
        assert busy > 0, "the queue limit of 20 should have refused some lines at this load"
        assert [e for c in everyone for e in c.errors if e.get("code") not in ("busy", "rate_limited")] == []
        for room, a, b in pairs:
            log = await db.messages(room.chat_id)
            assert a.chat_log() == b.chat_log() == log
            assert [seq for seq, _ in log] == sorted(seq for seq, _ in log)
            texts = [text for _, text in log]
            assert len(texts) == len(set(texts)) == 2 * LINES  # none lost, none stored twice
            for side in (0, 1):  # each person's lines in the order they were sent
                mine = [t for t in texts if t.startswith(f"{room.chat_id}-{side} ")]
                assert mine == [f"{room.chat_id}-{side} line {m}" for m in range(LINES)]
    finally:
        for k in range(0, len(everyone), 100):
            await asyncio.gather(*(c.close() for c in everyone[k : k + 100]), return_exceptions=True)

    async def everyone_left() -> bool:
        for room, _, _ in pairs:
            if await db.present(room.chat_id):
                return False
        return True

    for _ in range(100):  # the server records each 'left' after its 0.5 s reconnect grace
        if await everyone_left():
            break
        await asyncio.sleep(0.2)
    assert await everyone_left(), "a tab that left is still shown as present"
    await db.engine.dispose()
