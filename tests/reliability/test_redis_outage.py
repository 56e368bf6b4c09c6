"""Reliability #3: Redis goes away for 10 s under two replicas while people keep chatting.

Lines still commit (the database is the truth; acks come from the replica that stored them), /readyz on each replica
reports Redis failing ("degraded", still 200: it stays in the balancer) and recovers, and once Redis is back every
client reaches the latest seq within 15 s: the brokers subscribe again and tell their local connections to catch up
(web/catchup.py), the clients replay the gap.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path

import httpx
import pytest

from tests.media.helpers import IN_ROOM_HOURS, seed_rooms
from tests.reliability import cluster
from tests.reliability.cluster import Participant, committed_log, own_redis, replicas, sign_in, unique_prefix, until

pytestmark = pytest.mark.reliability
pg_url = cluster.pg_url  # the fixture
OUTAGE = 10.0
RECOVERY_BOUND = 15.0


async def readiness(base: str) -> tuple[int, str, str]:
    async with httpx.AsyncClient(timeout=5) as http:
        r = await http.get(base + "/readyz")
    return r.status_code, str(r.json().get("status", "")), str(r.json().get("checks", {}).get("redis", ""))


async def test_a_ten_second_redis_outage_loses_nothing(pg_url: str, tmp_path: Path) -> None:
    url = pg_url
    with own_redis(tmp_path) as redis, \
            replicas(url, 2, logdir=tmp_path, clock=IN_ROOM_HOURS, redis_url=redis.url, redis_prefix=unique_prefix()) as nodes:
        seeded = await seed_rooms(url, 2, strangers=0)
        people: list[Participant] = []
        for i, room in enumerate(seeded.rooms):  # in each room, one person on each replica
            for j, email in enumerate((room.talent, room.recruiter)):
                p = Participant(room.chat_id, await sign_in(nodes[0].base, email, seeded.password))
                await p.connect(nodes[(i + j) % 2].base)
                people.append(p)
        # Redis carries lines between the replicas before the outage.
        cid = await people[0].send_line("before the outage")
        await until(lambda: any(e[1] == cid for e in people[1].applied.values()), 10, "a line crossing replicas")

        sending = True
        acked_during: list[str] = []
        outage = False

        async def chatter(p: Participant, k: int) -> None:
            n = 0
            while sending:
                cid = await p.send_line(f"{k} line {n}")
                n += 1
                try:
                    await until(lambda cid=cid: cid in p.acks, 10, "an ack")
                except AssertionError:
                    pytest.fail(f"no ack for a line of client {k} (outage: {outage})")
                if outage:
                    acked_during.append(cid)
                await asyncio.sleep(0.6)  # the room allows 20 lines / 10 s per connection

        talkers = [asyncio.create_task(chatter(p, k)) for k, p in enumerate(people)]
        try:
            await asyncio.sleep(1.0)
            redis.kill()
            outage, cut_at = True, time.monotonic()
            saw_degraded: dict[str, str] = {}
            while time.monotonic() - cut_at < OUTAGE:
                for node in nodes:
                    code, status, check = await readiness(node.base)
                    # Reported, but still 200: Redis is every replica's, so failing readiness would empty the balancer.
                    assert code == 200, f"{node.name} left the balancer over Redis: {status} {check}"
                    if status == "degraded" and node.name not in saw_degraded:
                        saw_degraded[node.name] = f"{check} after {time.monotonic() - cut_at:.2f} s"
                await asyncio.sleep(0.25)
            # The talk stops as Redis comes back: no new line after it reveals a gap, so only the catch-up can close them.
            sending = False
            for task in talkers:
                await task
            for p in people[::2]:  # a last line in each room: the other one there can't know of it (no ack, no frame, no resume)
                cid = await p.send_line("the last line while Redis is away")
                await until(lambda p=p, cid=cid: cid in p.acks, 10, "its ack")
            latest = {room.chat_id: (await committed_log(url, room.chat_id))[-1][0] for room in seeded.rooms}
            behind = sum(p.contig < latest[p.chat_id] for p in people)  # what pub/sub never brought them
            redis.start()
            outage, back_at = False, time.monotonic()
            recovered: float | None = None
            ready_after: dict[str, float] = {}
            while len(ready_after) < len(nodes) and time.monotonic() - back_at < RECOVERY_BOUND:
                for node in nodes:
                    if node.name not in ready_after and (await readiness(node.base))[1] == "ready":
                        ready_after[node.name] = time.monotonic() - back_at
                if recovered is None and all(p.contig >= latest[p.chat_id] for p in people):
                    recovered = time.monotonic() - back_at
                await asyncio.sleep(0.1)
        finally:
            sending = False
            for task in talkers:
                with contextlib.suppress(Exception):
                    await task
        for task in talkers:
            task.result()  # an ack that never came fails here
        assert all(not p.pending for p in people)
        assert latest == {room.chat_id: (await committed_log(url, room.chat_id))[-1][0] for room in seeded.rooms}, "nothing after the talk"
        # Every client reaches the newest seq of its room, counted from Redis' return.
        caught_up = await until(lambda: all(p.contig >= latest[p.chat_id] for p in people), RECOVERY_BOUND, "every client at the latest seq")
        recovery = recovered if recovered is not None else time.monotonic() - back_at
        print(f"\nRedis outage {OUTAGE:.0f} s: {len(acked_during)} lines acknowledged (stored) during it; /readyz degraded seen: {saw_degraded}; "
              f"ready again after {', '.join(f'{k} {v:.2f} s' for k, v in ready_after.items())}; every client at the latest seq "
              f"{recovery:.2f} s after Redis came back ({behind} of {len(people)} clients were behind when it came back; "
              f"the last wait {caught_up:.2f} s)")
        assert set(saw_degraded) == {n.name for n in nodes}, "each replica reports Redis failing during the outage"
        assert all("error" in v for v in saw_degraded.values())
        assert set(ready_after) == {n.name for n in nodes}, "each replica is ready again once Redis is back"
        assert acked_during, "lines commit while Redis is away"
        assert behind >= len(seeded.rooms), "the outage cost clients frames (else this test would prove nothing)"
        assert recovery <= RECOVERY_BOUND
        for p in people:
            log = await committed_log(url, p.chat_id)
            assert p.log(latest[p.chat_id]) == [e for e in log if e[0] <= latest[p.chat_id]]
            assert p.conflicts == []
            texts = [e[1][2] for e in log if e[1][0] == "message"]
            assert len(texts) == len(set(texts)), "no line stored twice"
        for p in people:
            await p.close()
