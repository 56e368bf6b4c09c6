"""A real Fairmeet server on a free port, driven by real Chromium through Playwright.

Each test gets its own SQLite file (copied from the migrated template), a uvicorn server in a
background thread whose clock is frozen at `NOW`, and a fresh Chromium. Data is seeded through
the product's own actions (the demo seed), never by writing rows by hand.
"""

from __future__ import annotations

import datetime as dt
import shutil
import socket
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from playwright.async_api import Browser, BrowserContext, async_playwright, expect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scheduling import accounts, actions
from scheduling.db import create_engine, create_sessionmaker
from scheduling.models import Event, User
from web import demo
from web.app import create_app
from web.settings import Settings

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
    "--allow-loopback-in-peer-connection",
]
# A Monday morning before the demo event's first slot (09:00 Europe/Berlin), so the slot grid is the same on every run.
NOW = dt.datetime(2030, 1, 7, 6, 0, tzinfo=dt.UTC)
TZ = "Europe/Berlin"
PASSWORD = demo.DEMO_PASSWORD
SHOTS = Path("/tmp/e2e-shots")

expect.set_options(timeout=10_000)


@dataclass
class LiveServer:
    base_url: str
    database_url: str
    event_id: int = 0

    def url(self, path: str) -> str:
        return self.base_url + path

    async def run(self, fn: Callable[[AsyncSession, actions.Context], Awaitable[Any]]) -> Any:
        """Runs `fn` in one transaction on the server's database, as the product's actions expect."""
        engine = create_engine(self.database_url)
        try:
            sm: async_sessionmaker[AsyncSession] = create_sessionmaker(engine)
            async with sm() as session, session.begin():
                return await fn(session, actions.Context(now=NOW, base_url=self.base_url))
        finally:
            await engine.dispose()

    async def user(self, email: str) -> User:
        async def get(session: AsyncSession, ctx: actions.Context) -> User:
            user = await accounts.user_by_email(session, email)
            assert user is not None, email
            return user

        result: User = await self.run(get)
        return result


def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    return sock


@pytest.fixture
def live_server(sqlite_template: Path, tmp_path: Path) -> Iterator[LiveServer]:
    """uvicorn serving create_app() on its own thread and event loop, on a fresh copy of the migrated database."""
    path = tmp_path / "e2e.db"
    shutil.copy(sqlite_template, path)
    database_url = f"sqlite+aiosqlite:///{path}"
    sock = _free_socket()
    port = sock.getsockname()[1]
    base_url = f"http://127.0.0.1:{port}"
    app = create_app(Settings(database_url=database_url, secret_key="e2e-secret-key", base_url=base_url), clock=lambda: NOW, background=False)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="on", ws="none")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="e2e-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the e2e server did not start")
        time.sleep(0.02)
    try:
        yield LiveServer(base_url=base_url, database_url=database_url)
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()


@pytest.fixture
async def demo_server(live_server: LiveServer) -> LiveServer:
    """The live server with the demo event: three companies, six recruiters, five talents, chats in every state."""
    engine = create_engine(live_server.database_url)
    try:
        assert await demo.seed(create_sessionmaker(engine), now=NOW, base_url=live_server.base_url)
    finally:
        await engine.dispose()

    async def event_id(session: AsyncSession, ctx: actions.Context) -> int:
        return int((await session.execute(select(Event.id))).scalar_one())

    live_server.event_id = await live_server.run(event_id)
    return live_server


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as p:
        b = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            await b.close()


NewContext = Callable[..., Awaitable[BrowserContext]]


@pytest.fixture
async def new_context(browser: Browser, live_server: LiveServer) -> AsyncIterator[NewContext]:
    """Makes a browser profile of its own (cookies, storage) per person, in the event's time zone."""
    made: list[BrowserContext] = []

    async def make(**kwargs: Any) -> BrowserContext:
        options: dict[str, Any] = {"base_url": live_server.base_url, "timezone_id": TZ, "locale": "en-GB", "accept_downloads": True}
        options.update(kwargs)
        context = await browser.new_context(**options)
        context.set_default_timeout(10_000)
        made.append(context)
        return context

    yield make
    for context in made:
        await context.close()
