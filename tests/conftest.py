"""Shared fixtures: a migrated database on SQLite and on the local PostgreSQL, a clock, people."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from scheduling import accounts, migrate
from scheduling.db import Base, admin_sql, create_engine, create_sessionmaker
from scheduling.livechat import models as livechat_models  # noqa: F401 -- its tables are truncated between tests too

PG_ADMIN_URL = os.environ.get("FAIRMEET_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")
REQUIRE_SERVICES = os.environ.get("FAIRMEET_REQUIRE_SERVICES") == "1"

# Real argon2, with cheap parameters: a hash costs ~1 ms instead of ~200 ms.
accounts.set_password_hasher(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


def _service_missing(what: str, err: Exception) -> None:
    message = f"{what} is not reachable: {err}"
    if REQUIRE_SERVICES:
        pytest.fail(message + " (FAIRMEET_REQUIRE_SERVICES=1 makes this an error)")
    pytest.skip(message)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("db") / "template.db"
    migrate.upgrade(f"sqlite+aiosqlite:///{path}")
    return path


@contextmanager
def throwaway_pg(prefix: str = "fairmeet_test") -> Iterator[str]:
    """A migrated PostgreSQL database of its own, dropped afterwards (skips, or fails under CI, without PostgreSQL)."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    try:
        asyncio.run(admin_sql(PG_ADMIN_URL, f'CREATE DATABASE "{name}"'))
    except Exception as err:  # noqa: BLE001 -- any connection failure means "no PostgreSQL here"
        _service_missing("PostgreSQL", err)
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        migrate.upgrade(url)
        yield url
    finally:
        asyncio.run(admin_sql(PG_ADMIN_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    with throwaway_pg() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database: each test runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "fairmeet.db"
        shutil.copy(template, path)
        return f"sqlite+aiosqlite:///{path}"
    url: str = request.getfixturevalue("pg_database")
    return url


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(db_url)
    yield engine
    if engine.dialect.name == "postgresql":
        tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        async with engine.begin() as conn:
            await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    await engine.dispose()


@pytest.fixture
def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_sessionmaker(engine)


@pytest.fixture
def now() -> dt.datetime:
    return dt.datetime(2026, 3, 20, 8, 0, tzinfo=dt.UTC)
