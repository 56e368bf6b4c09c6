"""The production topology, for real: two `fairmeet serve` replicas (the CLI, PostgreSQL migrated with `fairmeet db
upgrade`, Redis between them, one secret) behind Caddy with deploy/Caddyfile (local CA, https://localhost:PORT), and
Chromium signing in and talking through it.

Caddy can't be told which replica to use, so the order of events decides: replica A starts first and B is not up yet
(Caddy's health check marks it down), so the talent's room WebSocket lands on A; then B starts, Caddy's health check
takes it in, and the recruiter's page joins (again, if need be) until its WebSocket lands on B (least_conn prefers B, as
A holds a socket, but it counts the page's own requests in flight too). A chat line typed in one
browser shows in the other, both ways: across replicas, through Redis. Each replica's log shows the room socket it
accepted. Then B is stopped (SIGTERM, as in a rolling upgrade): the recruiter's page, its socket closed with 1012,
reconnects through Caddy to A and the conversation goes on. The replicas run on the real clock: the chat is booked a
few minutes from now (its room is open now).
"""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Page, async_playwright, expect

from tests.browser import CHROMIUM, CHROMIUM_ARGS
from tests.deploy.caddy import Front, Replica, caddy_front, cluster_database, free_port, replica, replica_env
from tests.factories import PASSWORD
from tests.media.test_two_nodes import REDIS_URL
from tests.media.test_two_processes import _book_soon
from tests.reliability.test_drain import _need_redis

pytestmark = pytest.mark.reliability

ROOM_SOCKET = "WebSocket /ws/rooms/"  # uvicorn's line for an accepted room socket, in either log format


def test_chromium_through_caddy_talks_across_two_replicas(tmp_path: Path) -> None:
    _need_redis()
    prefix = f"fairmeet-topology-{uuid.uuid4().hex[:8]}:"
    https_port = free_port()
    port_a, port_b = free_port(), free_port()
    with ExitStack() as stack:
        db = stack.enter_context(cluster_database())
        env = replica_env(database_url=db, redis_url=REDIS_URL, redis_prefix=prefix, base_url=f"https://localhost:{https_port}")
        a = stack.enter_context(replica(env, tmp_path / "a.log", port=port_a))
        front = stack.enter_context(caddy_front([a.upstream, f"127.0.0.1:{port_b}"], tmp_path / "caddy", https_port=https_port))
        asyncio.run(_scenario(front, a, lambda: stack.enter_context(replica(env, tmp_path / "b.log", port=port_b)), db))


async def _sign_in(page: Page, email: str, chat_id: int) -> None:
    await page.goto("/login")
    await page.get_by_label("Email").first.fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(lambda url: "/login" not in url)
    await page.goto(f"/chats/{chat_id}/room")


def _sockets(r: Replica) -> int:
    return r.log.read_text().count(ROOM_SOCKET)


async def _next_socket(a: Replica, b: Replica | None) -> Replica:
    """Waits (10 s at most) for one more room socket in the replicas' logs; returns the replica that accepted it."""
    before = {id(r): _sockets(r) for r in (a, b) if r is not None}
    for _ in range(100):
        for r in (a, b):
            if r is not None and _sockets(r) > before[id(r)]:
                return r
        await asyncio.sleep(0.1)
    raise AssertionError(f"no new room socket on either replica: {a.log.read_text()[-1500:]}")


async def _join_on(page: Page, chat_id: int, a: Replica, b: Replica) -> int:
    """Joins the room until Caddy puts the page's socket on `b`; returns the tries it took. least_conn prefers `b`
    (`a` holds a socket already) but counts every request in flight (the page's own fetches), so it is not certain."""
    for tries in range(1, 9):
        if tries > 1:
            await page.reload()
        joined = asyncio.create_task(_next_socket(a, b))
        await page.get_by_role("button", name="Join now").click()
        await expect(page.get_by_role("region", name="Video call")).to_be_visible()
        if await joined is b:
            return tries
    raise AssertionError("eight room sockets in a row landed on the same replica")


async def _say(page: Page, text: str) -> None:
    box = page.get_by_role("textbox", name="Message")
    await box.fill(text)
    await box.press("Enter")


async def _scenario(front: Front, a: Replica, start_b: Callable[[], Replica], db: str) -> None:
    chat_id, talent, recruiter = await _book_soon(db)
    expect.set_options(timeout=15_000)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            contexts = [await browser.new_context(base_url=front.url, ignore_https_errors=True) for _ in range(2)]
            for context in contexts:
                await context.grant_permissions(["camera", "microphone"], origin=front.url)
            kofi, marco = [await c.new_page() for c in contexts]

            await _sign_in(kofi, talent, chat_id)
            joined = asyncio.create_task(_next_socket(a, None))
            await kofi.get_by_role("button", name="Join now").click()
            await expect(kofi.get_by_role("region", name="Video call")).to_be_visible()
            assert await joined is a
            b = await asyncio.to_thread(start_b)
            await asyncio.sleep(2.5)  # Caddy's health check (every second) takes B in
            await _sign_in(marco, recruiter, chat_id)
            tries = await _join_on(marco, chat_id, a, b)

            await _say(marco, "Hello from replica B")
            await expect(kofi.locator("#messages")).to_contain_text("Hello from replica B")
            await _say(kofi, "And back from replica A")
            await expect(marco.locator("#messages")).to_contain_text("And back from replica A")
            await expect(marco.locator("#messages .msg.pending")).to_have_count(0)
            await expect(kofi.locator("#messages .msg.pending")).to_have_count(0)

            # B is stopped as in a rolling upgrade (SIGTERM: drain, sockets closed with 1012): Marco's page reconnects
            # through Caddy to A and resumes; the conversation goes on without a reload.
            t0 = time.monotonic()
            b.proc.send_signal(signal.SIGTERM)
            assert await asyncio.to_thread(b.proc.wait, 30) == 0
            await _say(kofi, "Still there after the restart?")
            await expect(marco.locator("#messages")).to_contain_text("Still there after the restart?")
            await _say(marco, "Yes, on replica A now")
            await expect(kofi.locator("#messages")).to_contain_text("Yes, on replica A now")
            await expect(marco.locator("#messages .msg.pending")).to_have_count(0)
            print(f"\nreplica B drained and stopped; the recruiter's page was back in the conversation {time.monotonic() - t0:.2f} s after SIGTERM")
            print(f"room sockets: replica A {_sockets(a)}, replica B {_sockets(b)} (the recruiter's landed on B at try {tries}); "
                  "chat lines crossed both ways")
        finally:
            await browser.close()

    # What the outside sees of the proxy: HTTPS with security headers, no metrics.
    async with httpx.AsyncClient(base_url=front.url, verify=False) as http:  # noqa: S501 -- Caddy's local test CA
        page = await http.get("/login")
        assert page.status_code == 200 and "max-age" in page.headers["strict-transport-security"]
        assert page.headers["x-content-type-options"] == "nosniff" and "server" not in page.headers
        assert (await http.get("/metrics")).status_code == 404
