"""Live chat over real sockets on a real server: queue positions that only fall, typing, lines both ways without loss or
doubles across a reconnect, and on PostgreSQL with two app nodes over Redis: one winner per chat, capacity held."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import httpx
import orjson
import pytest
import websockets
from sqlalchemy import func, select

from scheduling.db import create_engine, create_sessionmaker
from scheduling.livechat.models import Agent, LiveChat
from scheduling.models import ConversationEvent
from tests.conftest import throwaway_pg
from tests.live import serve, serve_process
from tests.web.test_livechat_api import JOB, _candidate
from web.settings import Settings

PW = "correct horse battery"
NOW = dt.datetime(2026, 3, 20, 8, 0, tzinfo=dt.UTC)


@contextmanager
def one_node(db_url: str) -> Iterator[str]:
    with serve(lambda base: Settings(database_url=db_url, secret_key="s", base_url=base, login_rate_per_minute=10_000, live_start_limit=10_000),
               lambda: NOW) as base:
        yield base


async def sign_in(client: httpx.AsyncClient, email: str) -> str:
    """Signs in through the login form (as a browser does); returns the page's CSRF token."""
    page = await client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf
    r = await client.post("/login", data={"email": email, "password": PW, "csrf": csrf.group(1), "next": "/"})
    assert r.status_code == 303, r.text
    fresh = re.search(r'name="csrf" value="([^"]+)"', (await client.get("/account")).text)  # signing in starts a new session
    assert fresh
    return fresh.group(1)


async def seed(base: str, db_url: str, recruiters: int = 1) -> dict[str, Any]:
    from tests.web.conftest import token
    from tests.web.test_api_flow import setup_event

    engine = create_engine(db_url)
    try:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            w = await setup_event(client, engine, NOW)
            r = await client.post("/api/v1/job-reqs", headers=w["rec"], json={**JOB, "event_id": w["event_id"]})
            assert r.status_code == 201, r.text
            job = r.json()
            heads = [w["rec"]]
            ids = [w["ids"]["rec@example.test"]]
            for n in range(recruiters - 1):
                email = f"r{n}@example.test"
                r = await client.post(f"/api/v1/events/{w['event_id']}/participants", headers=w["admin"], json={
                    "email": email, "name": f"R{n}", "role": "recruiter", "company_id": w["company_id"], "password": PW})
                assert r.status_code == 201
                heads.append(await token(client, email))
                ids.append(r.json()["user_id"])
            for h, user_id in zip(heads, ids, strict=True):  # each recruiter claims the job req
                r = await client.post(f"/api/v1/job-reqs/{job['id']}/assignees", headers=h, json={"user_id": user_id})
                assert r.status_code == 201, r.text
            return {**w, "job": job, "q": [q["id"] for q in job["questions"]], "heads": heads}
    finally:
        await engine.dispose()


@asynccontextmanager
async def candidate(base: str, chat_id: int, token: str, last_seq: int | None = None, conn: str | None = None) -> AsyncIterator[Any]:
    ws_url = base.replace("http://", "ws://") + "/ws/live"
    async with websockets.connect(ws_url, origin=base) as ws:  # type: ignore[arg-type]
        await ws.send(orjson.dumps({"type": "hello", "v": 1, "conn": conn or uuid.uuid4().hex, "chat": chat_id, "token": token,
                                    "last_seq": last_seq}).decode())
        yield ws


async def frames_until(ws: Any, pred: Any, seconds: float = 10) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    async with asyncio.timeout(seconds):
        while True:
            frame = orjson.loads(await ws.recv())
            seen.append(frame)
            if pred(frame):
                return seen


async def test_candidate_socket_queue_typing_lines_and_resume(db_url: str, engine: Any) -> None:
    with one_node(db_url) as base:
        w = await seed(base, db_url)
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            await client.put("/api/v1/live-agent", headers=w["rec"], json={"available": True, "capacity": 1})
            starts = [(await client.post(f"/api/v1/job-reqs/{w['job']['id']}/chats", json=_candidate(w, n))).json() for n in ("Ann", "Ben", "Cy")]
            cy = starts[2]
            async with candidate(base, cy["chat_id"], cy["token"]) as ws:
                seen = await frames_until(ws, lambda f: f["type"] == "queue")
                assert seen[0]["type"] == "welcome" and seen[0]["chat"]["position"] == 3
                assert seen[-1]["position"] == 3 and "Ann" not in orjson.dumps(seen[-1]).decode()  # nobody else's name
                positions = [3]
                for s in starts[:2]:  # the two ahead of Cy are served one after another
                    r = await client.post(f"/api/v1/live-chats/{s['chat_id']}/take", headers=w["rec"])
                    assert r.status_code == 200, r.text
                    before = positions[-1]
                    frames = await frames_until(ws, lambda f, before=before: f["type"] == "queue" and f["position"] < before)
                    positions += [f["position"] for f in frames if f["type"] == "queue"]
                    r = await client.post(f"/api/v1/live-chats/{s['chat_id']}/end", headers=w["rec"], json={"next_step": "Screen", "outcome": "finished"})
                    assert r.status_code == 200
                assert positions == sorted(positions, reverse=True) and positions[-1] == 1

                r = await client.post(f"/api/v1/live-chats/{cy['chat_id']}/take", headers=w["rec"])
                status = (await frames_until(ws, lambda f: f["type"] == "status"))[-1]
                assert status["status"] == "active" and status["recruiter"]["name"] == "Rec"
                r = await client.post(f"/api/v1/live-chats/{cy['chat_id']}/messages", headers=w["rec"], json={"client_id": "r1", "text": "Hi Cy"})
                got = (await frames_until(ws, lambda f: f["type"] == "event" and f["body"].get("text") == "Hi Cy"))[-1]
                assert got["author"]["name"] == "Rec"
                for i in range(5):
                    await ws.send(orjson.dumps({"type": "chat", "client_id": f"c{i}", "text": f"line {i}"}).decode())
                acks = [f for f in await frames_until(ws, lambda f: f.get("client_id") == "c4" and f["type"] == "ack") if f["type"] == "ack"]
                last = acks[-1]["seq"]
            # Reconnect: send c3 again (a retry after a lost ack) and a new line, and ask for what was missed.
            async with candidate(base, cy["chat_id"], cy["token"], last_seq=last - 2) as ws:
                await ws.send(orjson.dumps({"type": "chat", "client_id": "c3", "text": "line 3"}).decode())
                await ws.send(orjson.dumps({"type": "chat", "client_id": "c5", "text": "line 5"}).decode())
                frames = await frames_until(ws, lambda f: f["type"] == "ack" and f["client_id"] == "c5")
                assert frames[0]["type"] == "welcome"
                replayed = [f["seq"] for f in frames if f["type"] == "event"]
                assert replayed == [last - 1, last]
                acks = {f["client_id"]: f["seq"] for f in frames if f["type"] == "ack"}
                assert acks["c3"] == last - 1  # the retry got the first seq: stored once
            r = await client.get(f"/api/v1/live-chats/{cy['chat_id']}/messages", headers=w["rec"])
            texts = [m["body"]["text"] for m in r.json()["messages"] if m["kind"] == "message" and m["author"]["role"] == "candidate"]
            assert [t for t in texts if t.startswith("line")] == [f"line {i}" for i in range(6)]

            # A wrong token never opens the socket; another origin is refused at the handshake.
            async with candidate(base, cy["chat_id"], starts[0]["token"]) as ws:
                with pytest.raises(websockets.ConnectionClosed) as closed:
                    await frames_until(ws, lambda f: False, 5)
                assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
            with pytest.raises(websockets.InvalidStatus):
                async with websockets.connect(base.replace("http://", "ws://") + "/ws/live", origin="https://evil.example"):  # type: ignore[arg-type]
                    pass


async def test_console_sees_the_queue_and_typing(db_url: str, engine: Any) -> None:
    with one_node(db_url) as base:
        w = await seed(base, db_url)
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            csrf = await sign_in(client, "rec@example.test")
            r = await client.put("/api/v1/live-agent", json={"available": True})
            assert r.status_code == 403  # the session needs the page's CSRF token on writes
            r = await client.put("/api/v1/live-agent", json={"available": True}, headers={"X-CSRF-Token": csrf})
            assert r.status_code == 200 and r.json()["online"] is True
            cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
            url = base.replace("http://", "ws://") + "/ws/live/console"
            async with websockets.connect(url, origin=base, additional_headers={"Cookie": cookie}) as console:  # type: ignore[arg-type]
                await console.send('{"type":"hello","v":1,"conn":"console-tab-1"}')
                first = await frames_until(console, lambda f: f["type"] == "queue")
                assert first[0]["type"] == "welcome" and first[0]["queues"][0] == f"job:{w['job']['id']}"
                assert [q for q in first[0]["queues"] if not q.startswith("user:")] == [f"job:{w['job']['id']}"]  # and chats routed to them
                start = (await client.post(f"/api/v1/job-reqs/{w['job']['id']}/chats", json={**_candidate(w), "name": "<img src=x onerror=alert(1)>"})).json()
                assert start.get("status") == "waiting", start
                queued = (await frames_until(console, lambda f: f["type"] == "queue" and f["waiting"]))[-1]
                assert queued["waiting"][0]["name"] == "<img src=x onerror=alert(1)>"  # data, escaped by the page that shows it
                r = await client.post(f"/api/v1/live-chats/{start['chat_id']}/take", headers={"X-CSRF-Token": csrf})
                assert r.status_code == 200
                assigned = await frames_until(console, lambda f: f["type"] == "assigned")
                assert assigned[-1]["chat"] == start["chat_id"]
                await console.send(orjson.dumps({"type": "watch", "chat": start["chat_id"], "last_seq": None}).decode())
                await frames_until(console, lambda f: f["type"] == "watching")
                async with candidate(base, start["chat_id"], start["token"]) as cand:
                    await frames_until(cand, lambda f: f["type"] == "welcome")
                    await cand.send('{"type":"typing","active":true}')
                    typing = (await frames_until(console, lambda f: f["type"] == "typing"))[-1]
                    assert typing["role"] == "candidate" and typing["active"] is True
                    await console.send(orjson.dumps({"type": "typing", "chat": start["chat_id"], "active": True}).decode())
                    assert (await frames_until(cand, lambda f: f["type"] == "typing"))[-1]["name"] == "Rec"
                    await console.send(orjson.dumps({"type": "chat", "chat": start["chat_id"], "client_id": "k1", "text": "Welcome!"}).decode())
                    line = (await frames_until(cand, lambda f: f["type"] == "event" and f["kind"] == "message" and f["body"]["text"] == "Welcome!"))[-1]
                    assert line["author"]["role"] == "recruiter"
                    await cand.send('{"type":"page","url":"https://jobs.acme.example/backend#apply"}')
                    page = (await frames_until(console, lambda f: f["type"] == "page"))[-1]
                    assert page["url"] == "https://jobs.acme.example/backend#apply"
                # A talent can't open the console, nor watch the chat.
            async with httpx.AsyncClient(base_url=base) as talent:
                await sign_in(talent, "tal@example.test")
                cookie = "; ".join(f"{k}={v}" for k, v in talent.cookies.items())
                with pytest.raises(websockets.InvalidStatus) as refused:  # refused at the handshake
                    async with websockets.connect(url, origin=base, additional_headers={"Cookie": cookie}):  # type: ignore[arg-type]
                        pass
                assert refused.value.response.status_code == 403


@pytest.fixture
def redis_url() -> str:
    import redis

    url = "redis://127.0.0.1:6379/0"
    try:
        redis.Redis.from_url(url).ping()
    except Exception as err:  # noqa: BLE001
        from tests.conftest import _service_missing

        _service_missing("Redis", err)
    return url


def test_two_nodes_one_winner_and_capacity(redis_url: str, tmp_path: Any) -> None:
    """Ten recruiters on two app processes (PostgreSQL, Redis) all click Take on each of 12 chats at once."""
    with throwaway_pg("fairmeet_live") as pg_database:
        asyncio.run(_two_nodes(pg_database, redis_url, tmp_path))


async def _two_nodes(pg_database: str, redis_url: str, tmp_path: Any) -> None:
    prefix = f"fm-test-{uuid.uuid4().hex[:8]}:"
    with serve_process(pg_database, NOW, pool=10, redis_url=redis_url, redis_prefix=prefix, log=tmp_path / "a.log") as (a, _), \
            serve_process(pg_database, NOW, pool=10, redis_url=redis_url, redis_prefix=prefix, log=tmp_path / "b.log") as (b, _):
        w = await seed(a, pg_database, recruiters=10)
        async with httpx.AsyncClient(base_url=a, timeout=60) as ca, httpx.AsyncClient(base_url=b, timeout=60) as cb:
            for i, h in enumerate(w["heads"]):
                r = await (ca if i % 2 else cb).put("/api/v1/live-agent", headers=h, json={"available": True, "capacity": 1})
                assert r.status_code == 200
            starts = [(await ca.post(f"/api/v1/job-reqs/{w['job']['id']}/chats", json=_candidate(w, f"C{n}"))).json() for n in range(12)]
            # A candidate connected to node B hears about a take made on node A.
            async with candidate(b, starts[0]["chat_id"], starts[0]["token"]) as ws:
                await frames_until(ws, lambda f: f["type"] == "welcome")
                results = await asyncio.gather(*(
                    (ca if i % 2 else cb).post(f"/api/v1/live-chats/{s['chat_id']}/take", headers=h)
                    for s in starts for i, h in enumerate(w["heads"])
                ))
                status = (await frames_until(ws, lambda f: f["type"] == "status"))[-1]
                assert status["status"] == "active"
            assert all(r.status_code in (200, 409) for r in results), [r.text for r in results if r.status_code not in (200, 409)]
            wins = [r.json()["id"] for r in results if r.status_code == 200]
            assert len(wins) == len(set(wins)) == 10  # ten seats of one: ten chats taken, each once
    engine = create_engine(pg_database)
    try:
        async with create_sessionmaker(engine)() as s:
            active = (await s.execute(select(LiveChat.recruiter_id, func.count()).where(LiveChat.status == "active").group_by(LiveChat.recruiter_id))).all()
            assert len(active) == 10 and all(n == 1 for _, n in active)
            assert (await s.execute(select(func.count()).select_from(Agent).where(Agent.active_chats > Agent.capacity))).scalar_one() == 0
            assert (await s.execute(select(func.count()).select_from(LiveChat).where(LiveChat.status == "waiting"))).scalar_one() == 2
            notices = (await s.execute(select(func.count()).select_from(ConversationEvent).where(ConversationEvent.kind == "notice"))).scalar_one()
            assert notices == 10
    finally:
        await engine.dispose()


async def test_notes_reach_the_console_live_and_leave_when_answered(db_url: str, engine: Any) -> None:
    with one_node(db_url) as base:
        w = await seed(base, db_url)
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            await sign_in(client, "rec@example.test")
            cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
            url = base.replace("http://", "ws://") + "/ws/live/console"
            async with websockets.connect(url, origin=base, additional_headers={"Cookie": cookie}) as console:  # type: ignore[arg-type]
                await console.send('{"type":"hello","v":1,"conn":"console-tab-2"}')
                first = (await frames_until(console, lambda f: f["type"] == "queue"))[-1]
                assert first["notes"] == []
                start = (await client.post(f"/api/v1/job-reqs/{w['job']['id']}/chats", json=_candidate(w, "Nadia"))).json()
                assert start["status"] == "away"  # nobody available
                r = await client.post(f"/api/v1/chats/{start['chat_id']}/note", headers={"Authorization": f"Bearer {start['token']}"},
                                      json={"text": "Is the role open to juniors?"})
                assert r.status_code == 201
                noted = (await frames_until(console, lambda f: f["type"] == "queue" and f["notes"]))[-1]
                assert [n["name"] for n in noted["notes"]] == ["Nadia"] and noted["waiting"] == []
                r = await client.post(f"/api/v1/live-chats/{start['chat_id']}/messages", headers=w["rec"], json={"client_id": "n1", "text": "Yes!"})
                assert r.status_code == 201
                answered = (await frames_until(console, lambda f: f["type"] == "queue" and not f["notes"]))[-1]
                assert answered["notes"] == []


async def test_a_colleague_watching_a_waiting_chat_stops_seeing_it_once_it_is_taken(db_url: str, engine: Any) -> None:
    with one_node(db_url) as base:
        w = await seed(base, db_url, recruiters=2)  # Rec and R0, both on the job req
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            await client.put("/api/v1/live-agent", headers=w["rec"], json={"available": True})
            start = (await client.post(f"/api/v1/job-reqs/{w['job']['id']}/chats", json=_candidate(w, "Vera"))).json()
            await sign_in(client, "r0@example.test")
            cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
            url = base.replace("http://", "ws://") + "/ws/live/console"
            async with websockets.connect(url, origin=base, additional_headers={"Cookie": cookie}) as colleague:  # type: ignore[arg-type]
                await colleague.send('{"type":"hello","v":1,"conn":"colleague-1"}')
                await frames_until(colleague, lambda f: f["type"] == "welcome")
                await colleague.send(orjson.dumps({"type": "watch", "chat": start["chat_id"], "last_seq": None}).decode())
                await frames_until(colleague, lambda f: f["type"] == "watching")  # waiting: the queue's staff may look
                r = await client.post(f"/api/v1/live-chats/{start['chat_id']}/take", headers=w["rec"])
                assert r.status_code == 200
                gone = await frames_until(colleague, lambda f: f["type"] == "unwatched")
                assert gone[-1]["chat"] == start["chat_id"]
                await client.post(f"/api/v1/chats/{start['chat_id']}/messages", headers={"Authorization": f"Bearer {start['token']}"},
                                  json={"client_id": "v1", "text": "private to Rec"})
                with pytest.raises(TimeoutError):
                    await frames_until(colleague, lambda f: f["type"] in ("event", "typing") and f.get("chat") == start["chat_id"], 1.5)


async def test_candidate_socket_refuses_floods_and_control_characters(db_url: str, engine: Any) -> None:
    with one_node(db_url) as base:
        w = await seed(base, db_url)
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            await client.put("/api/v1/live-agent", headers=w["rec"], json={"available": True})
            start = (await client.post(f"/api/v1/job-reqs/{w['job']['id']}/chats", json=_candidate(w, "Flo"))).json()
        async with candidate(base, start["chat_id"], start["token"]) as ws:
            await frames_until(ws, lambda f: f["type"] == "welcome")
            await ws.send(orjson.dumps({"type": "chat", "client_id": "a\u0000b", "text": "hi"}).decode())
            bad = await frames_until(ws, lambda f: f["type"] == "error")
            assert bad[-1]["code"] == "invalid_message"
            for _ in range(12):
                await ws.send('{"type":"resume","after":0}')
            limited = await frames_until(ws, lambda f: f["type"] == "error" and f["code"] == "rate_limited")
            assert limited[-1]["code"] == "rate_limited"
