"""Two `fairmeet serve` processes sharing one database and Redis: one participant on each meets the other.

The servers run on the real clock, so the chat is booked a few minutes from now (its room is open).
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from media.client import RoomClient, until
from scheduling import actions
from scheduling.db import create_engine, create_sessionmaker
from tests.factories import PASSWORD, make_world
from tests.live import free_socket, stop_process, wait_until_serving
from tests.media.test_two_nodes import REDIS_URL, redis_url  # noqa: F401 -- the Redis fixture (skips or fails without Redis)


async def _book_soon(database_url: str) -> tuple[int, str, str]:
    """A confirmed chat starting at the next 5-minute mark at least a minute away: its room is open now."""
    now = dt.datetime.now(dt.UTC)
    start = (now + dt.timedelta(minutes=1)).replace(second=0, microsecond=0)
    start += dt.timedelta(minutes=(-start.minute) % 5)
    engine = create_engine(database_url)
    try:
        sm = create_sessionmaker(engine)
        w = await make_world(sm, now, starts_at=(now - dt.timedelta(hours=1)).replace(minute=0, second=0, microsecond=0), days=1,
                             window=None, fmt=actions.ChatFormat(room_opens_minutes_before=10))
        ctx = actions.Context(now=now)
        talent, recruiter = w.talents[0], w.recruiters[0]
        async with sm() as s, s.begin():
            await actions.set_recruiter_profile(s, recruiter, w.event_id, recruiter.id, booking_mode="selective", custom_question="",
                                                ideal_candidate="", availability=[actions.Window(start, start + dt.timedelta(hours=1))])
            chat = await actions.send_request(s, ctx, talent, w.event_id, recruiter_id=recruiter.id)
            await actions.accept(s, ctx, recruiter, chat.id)
            await actions.book(s, ctx, talent, chat.id, start)
        return chat.id, talent.email, recruiter.email
    finally:
        await engine.dispose()


@contextmanager
def node(database_url: str, prefix: str, log: Path) -> Iterator[str]:
    """`fairmeet serve` in a process of its own; yields its base URL once /healthz answers."""
    with free_socket() as probe:
        port = probe.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "FAIRMEET_DATABASE_URL": database_url, "FAIRMEET_SECRET_KEY": "two-process-secret", "FAIRMEET_BASE_URL": base,
           "FAIRMEET_REDIS_URL": REDIS_URL, "FAIRMEET_REDIS_PREFIX": prefix}
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "web.cli", "serve", "--port", str(port)], env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_until_serving(base, proc, log, seconds=20)
        yield base
    finally:
        stop_process(proc)


async def test_participants_on_two_server_processes_meet(media_db: str, redis_url: str, tmp_path: Path) -> None:  # noqa: F811
    chat_id, talent_email, recruiter_email = await _book_soon(media_db)
    prefix = f"fairmeet-test-{uuid.uuid4().hex[:8]}:"
    with ExitStack() as stack:
        one = stack.enter_context(node(media_db, prefix, tmp_path / "node1.log"))
        two = stack.enter_context(node(media_db, prefix, tmp_path / "node2.log"))
        async with RoomClient(one, chat_id, talent_email, PASSWORD) as talent, RoomClient(two, chat_id, recruiter_email, PASSWORD) as recruiter:
            await talent.join()
            await recruiter.join()
            await until(lambda: recruiter.conn_id in talent.links and talent.conn_id in recruiter.links, 10, "each other's presence")
            await talent.send_chat("hello from node one")
            await until(lambda: "hello from node one" in [m.text for m in recruiter.messages.values()], 10, "the chat line on node two")
            a, b = talent.links[recruiter.conn_id], recruiter.links[talent.conn_id]
            await until(lambda: a.frames > 0 and b.frames > 0, 20, "video decoded on both sides")
            assert talent.errors == recruiter.errors == []
