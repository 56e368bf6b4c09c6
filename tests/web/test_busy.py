"""No pooled database connection free in time: 503 with a clear message and Retry-After, never a 500."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from web.app import create_app
from web.settings import Settings


@pytest.mark.parametrize("path", ["/api/v1/events/1", "/api/v1/tokens"])
async def test_an_exhausted_pool_answers_503_busy(db_url: str, engine: AsyncEngine, path: str) -> None:
    if db_url.startswith("sqlite"):
        pytest.skip("the pool limits apply to PostgreSQL")
    settings = Settings(database_url=db_url, secret_key="test-secret", base_url="http://testserver", db_pool_size=1, db_max_overflow=0,
                        db_pool_timeout=0.2)
    app = create_app(settings, background=False)
    async with app.router.lifespan_context(app):
        async with app.state.res.sessionmaker() as held, held.begin():
            await held.connection()  # the pool's only connection, taken
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
                if path.endswith("tokens"):
                    r = await client.post(path, json={"email": "someone@example.com", "password": "whatever it is"})
                else:
                    r = await client.get(path, headers={"Authorization": "Bearer nope"})
        assert r.status_code == 503
        assert r.headers["Retry-After"] == "2"
        assert r.json()["error"]["code"] == "busy" and "try again" in r.json()["error"]["message"]
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
            assert (await client.get("/login")).status_code == 200  # and served again once a connection is free


def test_a_database_out_of_connection_slots_answers_503_busy() -> None:
    """PostgreSQL refusing new connections (its limit reached) is 'come back shortly', not a 500."""
    import asyncio

    from scheduling.db import admin_sql
    from tests.conftest import PG_ADMIN_URL, throwaway_pg

    with throwaway_pg("fairmeet_slots") as admin_url:
        role = admin_url.rsplit("/", 1)[1] + "_app"  # superusers ignore connection limits: the app connects as a plain role
        asyncio.run(admin_sql(PG_ADMIN_URL, f'CREATE ROLE "{role}" LOGIN CONNECTION LIMIT 1'))
        asyncio.run(admin_sql(admin_url, f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "{role}"'))
        url = admin_url.replace("://postgres@", f"://{role}@")

        async def run() -> None:
            settings = Settings(database_url=url, secret_key="test-secret", base_url="http://testserver", db_pool_size=2, db_max_overflow=0)
            app = create_app(settings, background=False)
            async with app.router.lifespan_context(app):
                async with app.state.res.sessionmaker() as held, held.begin():
                    await held.connection()  # the database's only slot
                    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
                        api = await client.get("/api/v1/events/1", headers={"Authorization": "Bearer nope"})
                        page = await client.get("/login")
            assert api.status_code == 503 and api.json()["error"]["code"] == "busy"
            assert page.status_code in (200, 503)  # the login page needs no database when nobody is signed in

        try:
            asyncio.run(run())
        finally:
            asyncio.run(admin_sql(admin_url, f'REVOKE ALL ON ALL TABLES IN SCHEMA public FROM "{role}"'))
    asyncio.run(admin_sql(PG_ADMIN_URL, f'DROP ROLE IF EXISTS "{role}"'))  # its database is gone: nothing depends on it
