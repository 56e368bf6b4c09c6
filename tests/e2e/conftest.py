"""A real Fairmeet server on a free port, driven by real Chromium through Playwright.

Each test gets its own SQLite file (a copy of the demo event, seeded once per session through the
product's own actions), a uvicorn server in a background thread whose clock is frozen at `NOW`,
and a fresh Chromium with one browser profile (context) per person.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, async_playwright, expect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scheduling import accounts, actions
from scheduling.db import create_engine, create_sessionmaker
from scheduling.models import Event, User
from tests.browser import CHROMIUM, CHROMIUM_ARGS
from tests.live import serve
from web import demo
from web.settings import Settings

# A Monday morning before the demo event's first slot (09:00 Europe/Berlin), so the slot grid is the same on every run.
NOW = dt.datetime(2030, 1, 7, 6, 0, tzinfo=dt.UTC)
TZ = "Europe/Berlin"
DEMO_BASE_URL = "http://127.0.0.1:8000"

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


def _in_own_loop(fn: Callable[[], Awaitable[Any]]) -> Any:
    """Runs async setup on a thread of its own, away from the test's event loop."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(fn())).result()  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def demo_template(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """A migrated database holding the demo event, seeded once through the product's actions; each test copies it.

    Mail seeded here links to DEMO_BASE_URL; everything a test does links to its own server.
    """
    path = tmp_path_factory.mktemp("e2e") / "demo.db"
    shutil.copy(sqlite_template, path)

    async def seed() -> int:
        engine = create_engine(f"sqlite+aiosqlite:///{path}")
        try:
            sm = create_sessionmaker(engine)
            assert await demo.seed(sm, now=NOW, base_url=DEMO_BASE_URL)
            async with sm() as session:
                return int((await session.execute(select(Event.id))).scalar_one())
        finally:
            await engine.dispose()

    event_id: int = _in_own_loop(seed)
    return path, event_id


@pytest.fixture
def demo_server(demo_template: tuple[Path, int], tmp_path: Path) -> Iterator[LiveServer]:
    """uvicorn serving create_app() on its own thread and event loop, on a fresh copy of the demo database.

    The demo event: three companies, six recruiters, five talents, chats in every state (see web/demo.py).
    """
    template, event_id = demo_template
    path = tmp_path / "e2e.db"
    shutil.copy(template, path)
    database_url = f"sqlite+aiosqlite:///{path}"
    with serve(lambda base_url: Settings(database_url=database_url, secret_key="e2e-secret-key", base_url=base_url), lambda: NOW) as base_url:
        yield LiveServer(base_url=base_url, database_url=database_url, event_id=event_id)


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
async def new_context(browser: Browser, demo_server: LiveServer) -> AsyncIterator[NewContext]:
    """Makes a browser profile of its own (cookies, storage) per person, in the event's time zone."""
    made: list[BrowserContext] = []

    async def make(**kwargs: Any) -> BrowserContext:
        options: dict[str, Any] = {"base_url": demo_server.base_url, "timezone_id": TZ, "locale": "en-GB", "accept_downloads": True}
        options.update(kwargs)
        context = await browser.new_context(**options)
        context.set_default_timeout(10_000)
        made.append(context)
        return context

    yield make
    for context in made:
        await context.close()
