"""/metrics: the token that protects it, route-template labels, counts after real requests, WebSocket gauges and close codes
through a real server, refusals (a booking conflict), the outbox backlog, delivery failures, resume outcomes, deliveries."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import cast

import httpx
import orjson
import pytest
import websockets
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from scheduling.db import create_engine, create_sessionmaker
from scheduling.delivery import SmtpSender
from scheduling.livechat.models import LiveChat
from scheduling.models import OutboxMessage
from signaling.broker import MemoryBroker
from signaling.hub import QUEUE_LIMIT, Connection, Hub
from signaling.metrics import SignalingMetrics
from tests.live import free_socket, serve
from tests.media.helpers import IN_ROOM_HOURS, SECRET, seed_rooms
from tests.web.conftest import FakeClock
from tests.web.test_api_flow import setup_event
from web.app import create_app
from web.metrics import Metrics
from web.settings import Settings

TOKEN = "metrics-test-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def value(text: str, name: str, **labels: str) -> float | None:
    """The sample `name` with exactly these labels (a subset match), or None."""
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return float(s.value)
    return None


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    path = tmp_path / "fairmeet.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture
async def engine(sqlite_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(sqlite_url)
    yield engine
    await engine.dispose()


async def _client(url: str, clock: FakeClock, token: str) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(database_url=url, secret_key="test-secret", base_url="http://testserver", metrics_token=token),
                     clock=clock, background=False)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
            yield c


@pytest.fixture
async def client(sqlite_url: str, clock: FakeClock, engine: AsyncEngine) -> AsyncIterator[httpx.AsyncClient]:
    async for c in _client(sqlite_url, clock, TOKEN):
        yield c


async def scrape(client: httpx.AsyncClient) -> str:
    r = await client.get("/metrics", headers=AUTH)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    return r.text


async def test_without_a_token_there_is_no_metrics_page(sqlite_url: str, clock: FakeClock) -> None:
    async for c in _client(sqlite_url, clock, ""):
        r = await c.get("/metrics", headers=AUTH)
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


async def test_a_missing_or_wrong_token_is_401(client: httpx.AsyncClient) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": f"Basic {TOKEN}"}, {"Authorization": TOKEN},
                    {"Authorization": f"Bearer {TOKEN}x"}):
        r = await client.get("/metrics", headers=headers)
        assert r.status_code == 401, headers
        assert r.json()["error"]["code"] == "unauthenticated"
        assert r.headers["www-authenticate"].startswith("Bearer")
        assert "fairmeet_" not in r.text
    assert (await client.get("/metrics", headers=AUTH)).status_code == 200


async def test_requests_are_counted_by_route_template_never_the_raw_path(client: httpx.AsyncClient) -> None:
    for _ in range(3):
        assert (await client.get("/chats/4242")).status_code in (302, 303)
    assert (await client.get("/no/such/page/777")).status_code == 404
    assert (await client.get("/api/v1/chat-requests/99")).status_code == 401
    assert (await client.get("/static/app.css")).status_code in (200, 404)
    text = await scrape(client)
    status = next(s for s in ("302", "303") if value(text, "fairmeet_http_requests_total", route="/chats/{chat_id}", status=s))
    assert value(text, "fairmeet_http_requests_total", route="/chats/{chat_id}", method="GET", status=status) == 3
    assert value(text, "fairmeet_http_request_duration_seconds_count", route="/chats/{chat_id}", method="GET", status=status) == 3
    assert value(text, "fairmeet_http_requests_total", route="unmatched", method="GET", status="404") == 1
    assert value(text, "fairmeet_http_requests_total", route="/api/v1/chat-requests/{chat_id}", status="401") == 1
    assert value(text, "fairmeet_http_requests_total", route="/static/{path}") == 1
    labels = {v for family in text_string_to_metric_families(text) for sample in family.samples for v in sample.labels.values()}
    for raw in ("4242", "777", "/no/such"):
        assert not any(raw in label for label in labels), raw
    # Scrapes count too, under their own template.
    assert value(await scrape(client), "fairmeet_http_requests_total", route="/metrics", status="200") == 1
    for name in ("fairmeet_build_info", "fairmeet_draining", "fairmeet_log_writer_queue_depth", "fairmeet_conversation_entries_stored_total",
                 "fairmeet_conversation_batches_total", "fairmeet_hub_local_connections"):
        assert value(text, name) is not None, name
    assert value(text, "fairmeet_draining") == 0


async def test_apps_in_one_process_keep_registries_of_their_own(sqlite_url: str, clock: FakeClock) -> None:
    for _ in range(2):  # a second app must neither fail on duplicate names nor see the first one's counts
        async for c in _client(sqlite_url, clock, TOKEN):
            await c.get("/login")
            assert value(await scrape(c), "fairmeet_http_requests_total", route="/login", status="200") == 1


async def test_a_booking_conflict_and_the_outbox_backlog(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    w = await setup_event(client, engine, clock.now)
    ev, rec_id = w["event_id"], w["ids"]["rec@example.test"]  # type: ignore[index]
    auth = {who: cast(dict[str, str], w[who]) for who in ("tal", "tal2", "rec")}
    chats = []
    for who in ("tal", "tal2"):
        r = await client.post(f"/api/v1/events/{ev}/chat-requests", headers=auth[who], json={"recruiter_id": rec_id, "answer": "x"})
        chats.append(r.json()["id"])
        await client.post(f"/api/v1/chat-requests/{chats[-1]}/accept", headers=auth["rec"])
    slots = (await client.get(f"/api/v1/chat-requests/{chats[0]}/slots", headers=auth["tal"])).json()
    assert (await client.post(f"/api/v1/chat-requests/{chats[0]}/booking", headers=auth["tal"], json={"start": slots[0]["start"]})).status_code == 200
    r = await client.post(f"/api/v1/chat-requests/{chats[1]}/booking", headers=auth["tal2"], json={"start": slots[0]["start"]})
    assert r.status_code == 409 and r.json()["error"]["code"] == "slot_taken"
    clock.now += dt.timedelta(minutes=10)
    text = await scrape(client)
    assert value(text, "fairmeet_domain_refusals_total", code="slot_taken", status="409") == 1
    assert value(text, "fairmeet_http_requests_total", route="/api/v1/chat-requests/{chat_id}/booking", method="POST", status="409") == 1
    # No SMTP here: every notification waits in the outbox, and the gauge says how many, as the table does.
    async with create_sessionmaker(engine)() as s:
        pending = (await s.execute(select(func.count()).where(OutboxMessage.status == "pending"))).scalar_one()
    assert pending > 0
    assert value(text, "fairmeet_outbox_backlog", channel="email", status="pending") == pending
    assert value(text, "fairmeet_outbox_oldest_unsent_age_seconds", channel="email") == 600


async def test_delivery_failures_are_counted(engine: AsyncEngine, clock: FakeClock) -> None:
    async with create_sessionmaker(engine)() as s, s.begin():
        s.add(OutboxMessage(to_email="x@example.test", subject="s", body_text="b", kind="test", status="pending", attempts=0,
                            created_at=clock.now, next_attempt_at=clock.now))
    with free_socket() as probe:
        closed_port = probe.getsockname()[1]  # nothing listens here once the probe is closed
    metrics = Metrics()
    sender = SmtpSender(create_sessionmaker(engine), f"smtp://127.0.0.1:{closed_port}", "Fairmeet <noreply@example.test>")
    metrics.count_deliveries(sender)
    assert await sender.send_due(clock.now) == 0
    from prometheus_client import generate_latest

    text = generate_latest(metrics.registry).decode()
    assert value(text, "fairmeet_outbox_deliveries_total", channel="email", result="failed") == 1
    assert value(text, "fairmeet_outbox_deliveries_total", channel="email", result="sent") == 0


# --------------------------------------------------------------------------- a real server, real sockets


async def _cookie(base: str, email: str, password: str) -> str:
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        page = await http.get("/login")
        csrf = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        r = await http.post("/login", data={"email": email, "password": password, "csrf": csrf})
        assert r.status_code == 303
        return "; ".join(f"{k}={v}" for k, v in http.cookies.items())


async def _room(base: str, chat_id: int, cookie: str) -> websockets.ClientConnection:
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        token = (await http.get(f"/chats/{chat_id}/room/token", headers={"Cookie": cookie})).json()["token"]
    return await websockets.connect(base.replace("http://", "ws://") + f"/ws/rooms/{chat_id}?token={token}", origin=base,  # type: ignore[arg-type]
                                    additional_headers={"Cookie": cookie})


async def _until(ws: websockets.ClientConnection, kind: str) -> dict[str, object]:
    async with asyncio.timeout(10):
        while True:
            frame: dict[str, object] = orjson.loads(await ws.recv())
            if frame.get("type") == kind:
                return frame


def _scrape_sync(base: str) -> str:
    r = httpx.get(base + "/metrics", headers=AUTH, timeout=10)
    assert r.status_code == 200
    return r.text


async def test_room_sockets_are_counted_up_and_down_with_close_codes(sqlite_url: str) -> None:
    seeded = await seed_rooms(sqlite_url, 1, strangers=0)
    room = seeded.rooms[0]

    def settings(base: str) -> Settings:
        return Settings(database_url=sqlite_url, secret_key=SECRET, base_url=base, metrics_token=TOKEN, reconnect_grace_seconds=0.2)

    with serve(settings, lambda: IN_ROOM_HOURS) as base:
        talent = await _cookie(base, room.talent, seeded.password)
        recruiter = await _cookie(base, room.recruiter, seeded.password)
        a = await _room(base, room.chat_id, talent)
        await a.send(json.dumps({"type": "hello", "conn": "talent-tab-1"}))
        await _until(a, "welcome")
        b = await _room(base, room.chat_id, recruiter)
        await b.send(json.dumps({"type": "hello", "conn": "recruiter-tab-1", "last_seq": 0}))
        await _until(b, "welcome")
        joined = await _until(a, "event")  # the recruiter's "joined", delivered through the hub to the talent
        text = await asyncio.to_thread(_scrape_sync, base)
        assert value(text, "fairmeet_websocket_connections", kind="room") == 2
        assert value(text, "fairmeet_hub_local_connections") == 2
        assert value(text, "fairmeet_resumes_total", kind="room", outcome="none") == 1
        assert value(text, "fairmeet_resumes_total", kind="room", outcome="replayed") == 1  # last_seq 0: the talent's join replayed
        delivered = value(text, "fairmeet_messages_delivered_total")
        assert delivered is not None and delivered >= 1
        latency = value(text, "fairmeet_delivery_latency_seconds_count")
        assert latency is not None and latency >= 1
        stored = value(text, "fairmeet_conversation_entries_stored_total")
        assert stored is not None and stored >= 2
        await a.close(code=1000)
        await b.close(code=4001, reason="test")
        # A refused handshake is a close too: a wrong Origin.
        with pytest.raises(websockets.InvalidStatus):
            await websockets.connect(base.replace("http://", "ws://") + f"/ws/rooms/{room.chat_id}", origin="https://evil.example")  # type: ignore[arg-type]
        # The tab comes back naming the last seq it saw.
        c = await _room(base, room.chat_id, talent)
        await c.send(json.dumps({"type": "hello", "conn": "talent-tab-1", "last_seq": joined["seq"]}))
        await _until(c, "welcome")
        await c.close()
        async with asyncio.timeout(10):
            while True:
                text = await asyncio.to_thread(_scrape_sync, base)
                if value(text, "fairmeet_websocket_connections", kind="room") == 0:
                    break
                await asyncio.sleep(0.05)
        assert value(text, "fairmeet_websocket_closes_total", kind="room", code="1000") == 2
        assert value(text, "fairmeet_websocket_closes_total", kind="room", code="other") == 1  # a client's own 4001: no series of its own
        assert value(text, "fairmeet_websocket_closes_total", kind="room", code="4403") == 1
        outcomes = {o: value(text, "fairmeet_resumes_total", kind="room", outcome=o) for o in ("none", "replayed", "nothing_missed")}
        # The third hello replays whatever was stored after the seq it names (a "left" may have been), or nothing.
        assert outcomes["none"] == 1 and (outcomes["replayed"] or 0) >= 1 and (outcomes["nothing_missed"] or 0) + (outcomes["replayed"] or 0) == 2
        assert value(text, "fairmeet_resume_replayed_entries_count", kind="room") == outcomes["replayed"]
        assert value(text, "fairmeet_send_queue_drops_total") == 0


async def test_live_chat_queues_are_sampled_at_scrape_time(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    async with create_sessionmaker(engine)() as s, s.begin():
        for i, (queue, waited) in enumerate((("job:1", 90), ("job:1", 30), ("team:7", 5))):
            s.add(LiveChat(kind="job", queue=queue, status="waiting", candidate_name=f"Candidate {i}", created_at=clock.now,
                           updated_at=clock.now, queued_at=clock.now - dt.timedelta(seconds=waited)))
        s.add(LiveChat(kind="job", queue="job:2", status="active", candidate_name="Taken", created_at=clock.now, updated_at=clock.now,
                       queued_at=clock.now - dt.timedelta(hours=1)))
    text = await scrape(client)
    assert value(text, "fairmeet_livechat_queue_waiting", queue="job:1") == 2
    assert value(text, "fairmeet_livechat_queue_oldest_wait_seconds", queue="job:1") == 90
    assert value(text, "fairmeet_livechat_queue_waiting", queue="team:7") == 1
    assert value(text, "fairmeet_livechat_queue_waiting", queue="job:2") is None  # taken: nobody waits there
    async with create_sessionmaker(engine)() as s, s.begin():
        await s.execute(update(LiveChat).where(LiveChat.queue == "team:7").values(status="active"))
    text = await scrape(client)
    assert value(text, "fairmeet_livechat_queue_waiting", queue="team:7") is None  # a queue that emptied disappears


async def test_a_connection_whose_send_queue_fills_is_closed_with_4008_and_counted() -> None:
    registry = CollectorRegistry()
    metrics = SignalingMetrics(registry)
    hub = Hub(MemoryBroker(), metrics=metrics)
    stuck = asyncio.Event()
    closed: list[int] = []

    async def never_sent(frame: str) -> None:
        await stuck.wait()  # a client that reads nothing: the first frame never leaves

    async def close(code: int, reason: str) -> None:
        closed.append(code)

    slow = Connection("slow-tab", 1, "Slow", "talent", never_sent, close)
    sent: list[str] = []

    async def record(frame: str) -> None:
        sent.append(frame)

    fast = Connection("fast-tab", 2, "Fast", "recruiter", record, close)
    for conn in (slow, fast):
        await hub.attach("room-1", conn)
        conn.release({"type": "welcome"})
    for i in range(QUEUE_LIMIT + 10):
        await hub.publish("room-1", {"type": "typing", "n": i})
        await asyncio.sleep(0)
    await asyncio.sleep(0.05)
    assert closed == [4008] and slow.closed and not fast.closed
    assert registry.get_sample_value("fairmeet_send_queue_drops_total") == 1
    delivered = registry.get_sample_value("fairmeet_messages_delivered_total")
    assert delivered is not None and delivered >= QUEUE_LIMIT + 10
    assert registry.get_sample_value("fairmeet_delivery_latency_seconds_count") == QUEUE_LIMIT + 10
    stuck.set()
    await hub.close()
