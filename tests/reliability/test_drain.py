"""Reliability #2: SIGTERM one replica under traffic, behind Caddy (deploy/Caddyfile), and nobody notices.

Two real `fairmeet serve` replicas (the CLI, web/serving.py's drain) on a PostgreSQL database of their own (migrated
with `fairmeet db upgrade`) and the shared Redis under a prefix of this run; Caddy with its local CA in front. The
replicas run on the real clock, so the chat is booked a few minutes from now (its room is open now).

Replica A starts first and Caddy (least_conn) puts two room clients on it; then B starts and, once Caddy's health
check sees it, the other two clients land on B. While every client sends chat lines and an HTTP loop fetches pages
through Caddy, A gets SIGTERM. Asserted: A's /readyz (asked directly) answers 503 within 1 s; A's sockets are closed
with 1012 and those clients reconnect through Caddy to B and resume from their last seq; every acknowledged line is
in every client's log exactly once, with no gap; Caddy answered no 5xx during the whole run (its access log); A exits
within its drain delay + grace, with status 0.
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
import redis

from media.client import RoomClient, until
from tests.conftest import _service_missing
from tests.deploy.caddy import Replica, caddy_front, cluster_database, free_port, replica, replica_env
from tests.factories import PASSWORD
from tests.media.test_two_nodes import REDIS_URL
from tests.media.test_two_processes import _book_soon

pytestmark = pytest.mark.reliability

DRAIN_DELAY = 2.0
GRACE = 10.0
SEND_EVERY = 0.4  # each client's chat lines (the room allows 20 per 10 s per socket)


def _need_redis() -> None:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except Exception as err:  # noqa: BLE001 -- any failure means "no Redis here"
        _service_missing("Redis", err)
    finally:
        client.close()


def test_sigterm_drains_a_replica_under_traffic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _need_redis()
    prefix = f"fairmeet-drain-{uuid.uuid4().hex[:8]}:"
    https_port = free_port()
    base = f"https://localhost:{https_port}"
    port_a, port_b = free_port(), free_port()
    with ExitStack() as stack:
        db = stack.enter_context(cluster_database())
        env = replica_env(database_url=db, redis_url=REDIS_URL, redis_prefix=prefix, base_url=base,
                          FAIRMEET_DRAIN_DELAY=str(DRAIN_DELAY), FAIRMEET_SHUTDOWN_GRACE=str(GRACE))
        a = stack.enter_context(replica(env, tmp_path / "a.log", port=port_a))
        # B is not up yet: Caddy's first health check marks it down, so everything goes to A for now.
        front = stack.enter_context(caddy_front([a.upstream, f"127.0.0.1:{port_b}"], tmp_path / "caddy", https_port=https_port))
        monkeypatch.setenv("SSL_CERT_FILE", str(front.ca))  # httpx and websockets (wss) trust Caddy's local CA
        asyncio.run(_scenario(front.url, a, lambda: stack.enter_context(replica(env, tmp_path / "b.log", port=port_b)), db))
        statuses = [json.loads(line).get("status", 0) for line in front.log.read_text().splitlines() if line.startswith("{")]
        proxied = [s for s in statuses if s]
        print(f"through Caddy: {len(proxied)} responses, {sum(1 for s in proxied if s >= 500)} of them 5xx")
        assert proxied and all(s < 500 for s in proxied), sorted(set(proxied))


async def _scenario(url: str, a: Replica, start_b: Callable[[], Replica], db: str) -> None:
    chat_id, talent, recruiter = await _book_soon(db)
    clients = [RoomClient(url, chat_id, email, PASSWORD, media=False, history=True, conn_id=f"drain-{name}-{uuid.uuid4().hex[:6]}")
               for name, email in [("t1", talent), ("r1", recruiter), ("t2", talent), ("r2", recruiter)]]
    http_statuses: list[int] = []
    stop = asyncio.Event()
    try:
        for c in clients[:2]:
            await c.join()
        b: Replica = await asyncio.to_thread(start_b)
        await asyncio.sleep(2.5)  # Caddy's health check (every second) sees B
        for c in clients[2:]:
            await c.join()

        async def talk(c: RoomClient) -> None:
            n = 0
            while not stop.is_set():
                n += 1
                await c.send_chat(f"{c.conn_id} line {n}")
                await asyncio.sleep(SEND_EVERY)

        async def browse() -> None:
            async with httpx.AsyncClient(base_url=url, timeout=10) as http:
                while not stop.is_set():
                    for path in ("/login", "/livez", "/static/app.css"):
                        http_statuses.append((await http.get(path)).status_code)
                    await asyncio.sleep(0.02)

        gaps: dict[str, float] = {}  # conn id -> seconds from losing its socket to the next welcome

        async def watch() -> None:
            down: dict[str, float] = {}
            while not stop.is_set():
                for c in clients:
                    if not c.connected and c.conn_id not in down and c.conn_id not in gaps:
                        down[c.conn_id] = time.monotonic()
                    elif c.connected and c.conn_id in down:
                        gaps[c.conn_id] = time.monotonic() - down.pop(c.conn_id)
                await asyncio.sleep(0.005)

        tasks = [asyncio.create_task(talk(c)) for c in clients] + [asyncio.create_task(browse()), asyncio.create_task(watch())]
        await asyncio.sleep(1.5)

        # SIGTERM A; its readiness, asked directly, must turn 503 within a second.
        t0 = time.monotonic()
        a.proc.send_signal(signal.SIGTERM)
        ready_503: float | None = None
        async with httpx.AsyncClient(timeout=1) as direct:
            while ready_503 is None and time.monotonic() - t0 < 5:
                try:
                    if (await direct.get(a.url + "/readyz")).status_code == 503:
                        ready_503 = time.monotonic() - t0
                except httpx.HTTPError:
                    break
                await asyncio.sleep(0.01)
        exit_code = await asyncio.to_thread(a.proc.wait, DRAIN_DELAY + GRACE + 5)
        exited = time.monotonic() - t0
        await asyncio.sleep(2.0)  # traffic goes on, on B alone
        stop.set()
        await asyncio.gather(*tasks)
        await until(lambda: all(not c.pending and c.connected for c in clients), 20, "every line acknowledged")
        acked = {cid: seq for c in clients for cid, seq in c.acks.items()}
        top = max(acked.values())
        await until(lambda: all(c.last_seq >= top for c in clients), 15, f"every client caught up to seq {top}")

        async with httpx.AsyncClient(timeout=5) as direct:
            b_ready = (await direct.get(b.url + "/readyz")).status_code
        moved = [c.conn_id for c in clients if 1012 in c.close_codes]
        print(f"\nreadiness 503 after {ready_503 if ready_503 is None else round(ready_503, 3)} s; replica exited (status {exit_code}) "
              f"{exited:.2f} s after SIGTERM (drain delay {DRAIN_DELAY} s, grace {GRACE} s)")
        print(f"reconnected and resumed after: {', '.join(f'{k} {v * 1000:.0f} ms' for k, v in gaps.items())}")
        print(f"closed with 1012 and resumed: {moved}; close codes {[c.close_codes for c in clients]}; welcomes {[c.welcomes for c in clients]}")
        print(f"{len(acked)} chat lines acknowledged, seq up to {top}; HTTP loop: {len(http_statuses)} requests, "
              f"{sum(1 for s in http_statuses if s >= 500)} 5xx; B still ready: {b_ready}")

        assert ready_503 is not None and ready_503 < 1.0
        assert b_ready == 200
        assert exit_code == 0 and exited < DRAIN_DELAY + GRACE
        assert moved, "no client was on the drained replica"
        assert all(c.welcomes >= 2 for c in clients if c.conn_id in moved)
        assert all(s < 500 for s in http_statuses)
        for c in clients:
            assert c.errors == [] or all(e.get("code") in ("busy", "rate_limited") for e in c.errors), c.errors
            ids = [m.client_id for m in c.messages.values()]
            assert len(ids) == len(set(ids)), f"{c.conn_id} got a line twice"
            for cid, seq in acked.items():
                assert seq in c.messages and c.messages[seq].client_id == cid, f"{c.conn_id} misses seq {seq}"
            assert c.last_seq >= top  # contiguous: no gap anywhere below the last acknowledged line
    finally:
        stop.set()
        for c in clients:
            await c.close()
