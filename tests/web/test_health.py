"""/livez and /readyz: what a process manager and a load balancer ask before sending work to a replica."""

from __future__ import annotations

import os

import httpx
import redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from scheduling import migrate
from tests.conftest import _service_missing
from tests.web.conftest import FakeClock
from web.app import create_app
from web.settings import Settings

REDIS_URL = os.environ.get("FAIRMEET_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


async def test_live_and_ready_at_the_migration_head(client: httpx.AsyncClient) -> None:
    live = await client.get("/livez")
    assert live.status_code == 200 and live.json() == {"status": "live"} and live.headers["cache-control"] == "no-store"
    ready = await client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json() == {"status": "ready", "checks": {"database": "ok", "migrations": "ok"}}


async def test_not_ready_when_the_schema_is_behind_this_code(client: httpx.AsyncClient, engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE alembic_version SET version_num = '0006'"))
    try:
        r = await client.get("/readyz")
        assert r.status_code == 503
        assert r.json()["checks"]["migrations"] == f"at 0006, this code needs {migrate.head_revision()}"
        assert (await client.get("/livez")).status_code == 200  # alive all the same: restarting would not help
    finally:
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": migrate.head_revision()})


async def test_not_ready_once_shutdown_begins(client: httpx.AsyncClient) -> None:
    transport = client._transport  # noqa: SLF001
    assert isinstance(transport, httpx.ASGITransport)
    transport.app.state.res.draining = True  # type: ignore[attr-defined]
    r = await client.get("/readyz")
    assert r.status_code == 503 and r.json()["checks"]["shutdown"] == "draining"


async def test_redis_is_checked_when_configured(db_url: str, clock: FakeClock, engine: AsyncEngine) -> None:
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.RedisError as err:
        _service_missing("Redis", err)
    for url, expect in ((REDIS_URL, "ready"), ("redis://127.0.0.1:1/0", "degraded")):
        app = create_app(Settings(database_url=db_url, secret_key="test-secret", base_url="http://testserver", redis_url=url),
                         clock=clock, background=False)
        async with app.router.lifespan_context(app):
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
                r = await c.get("/readyz")
        # Redis is every replica's: its failure is reported, but the replica stays in the balancer (lines still commit).
        assert r.status_code == 200 and r.json()["status"] == expect, r.text
        assert r.json()["checks"]["redis"] == "ok" if expect == "ready" else r.json()["checks"]["redis"].startswith("error")
