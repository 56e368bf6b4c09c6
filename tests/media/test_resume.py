"""A dropped WebSocket and its resume: no chat message lost, none doubled, same order everywhere."""

from __future__ import annotations

import asyncio

from media.client import RoomClient, until
from scheduling import conversations
from scheduling.db import create_engine, create_sessionmaker
from scheduling.rooms import room_key
from tests.media.helpers import Seeded


async def stored_messages(database_url: str, chat_id: int) -> list[tuple[int, str]]:
    engine = create_engine(database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            entries = await conversations.since(session, room_key(chat_id), 0)
    finally:
        await engine.dispose()
    return [(e.seq, e.body["text"]) for e in entries if e.kind == "message"]


async def test_a_dropped_socket_resumes_without_losing_or_doubling_messages(live: str, seeded: Seeded, media_db: str) -> None:
    room = seeded.rooms[0]
    async with RoomClient(live, room.chat_id, room.talent, seeded.password, media=False, reconnect_delay=0.6) as talent, \
            RoomClient(live, room.chat_id, room.recruiter, seeded.password, media=False) as recruiter:
        await talent.join()
        await recruiter.join()

        async def keep_talking() -> None:
            for i in range(18):  # under the room's 20 messages / 10 s per connection
                await recruiter.send_chat(f"recruiter {i}")
                await asyncio.sleep(0.06)

        talking = asyncio.create_task(keep_talking())
        for i in range(3):
            await talent.wait_ack(await talent.send_chat(f"talent {i}"))
        await until(lambda: sum(m.author_id == room.recruiter_id for m in talent.messages.values()) >= 4, 5, "some of the recruiter's lines")
        # A line whose ack is lost with the socket, then the socket itself, with no close frame.
        in_flight = await talent.send_chat("talent sent as the line went down")
        await talent.drop()
        known_at_drop = set(talent.messages)
        for i in range(3, 6):  # typed while offline: kept, sent after the resume
            await talent.send_chat(f"talent {i}")
        await talking
        await until(lambda: talent.connected and talent.welcomes == 2, 10, "the talent's reconnect")
        assert recruiter.peers.keys() == {talent.conn_id}
        # Lines the recruiter sent while the talent was away came back through the replay.
        missed = [seq for seq, m in talent.messages.items()
                  if m.author_id == room.recruiter_id and seq not in known_at_drop and seq < talent.welcome_seq]
        assert len(missed) >= 3

        expected = 18 + 7
        await until(lambda: len(talent.messages) == expected and len(recruiter.messages) == expected and not talent.pending,
                    10, "every line on both sides")
        await asyncio.sleep(0.3)  # anything doubled or late would show up now

        stored = await stored_messages(media_db, room.chat_id)
        assert talent.chat_log() == recruiter.chat_log() == stored
        texts = [text for _, text in stored]
        assert len(texts) == len(set(texts)) == expected
        assert [t for t in texts if t.startswith("recruiter")] == [f"recruiter {i}" for i in range(18)]
        assert [t for t in texts if t.startswith("talent ") and t[-1].isdigit()] == [f"talent {i}" for i in range(6)]
        assert in_flight in talent.acks
        assert talent.close_codes == [None]  # one abrupt loss, and no refusal after it
        assert talent.last_seq >= stored[-1][0] and recruiter.last_seq >= stored[-1][0]  # no gap left open
        assert [e for e in talent.errors + recruiter.errors if e.get("code") != "rate_limited"] == []
