"""An app on the test database, reached through httpx without a network, with a clock the test controls."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from web.app import create_app
from web.settings import Settings


@dataclass
class FakeClock:
    now: dt.datetime

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def clock(now: dt.datetime) -> FakeClock:
    return FakeClock(now)


@pytest.fixture
async def client(db_url: str, clock: FakeClock, engine: AsyncEngine) -> AsyncIterator[httpx.AsyncClient]:
    # Depends on `engine` so the app (and the work it runs after responses) stops before the engine fixture truncates
    # PostgreSQL; the other way round, a late after-commit job could deadlock with the TRUNCATE.
    app = create_app(Settings(database_url=db_url, secret_key="test-secret", base_url="http://testserver"), clock=clock, background=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c
    # The engine fixture truncates PostgreSQL afterwards; it needs a sessionmaker-free db, so nothing else to do.


async def token(client: httpx.AsyncClient, email: str, password: str = "correct horse battery") -> dict[str, str]:
    r = await client.post("/api/v1/tokens", json={"email": email, "password": password})
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}
