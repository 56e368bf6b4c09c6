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
