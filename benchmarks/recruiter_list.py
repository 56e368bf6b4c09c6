"""Recruiter list: how fast an event's recruiter cards are listed, and in how many SQL queries.

The event has 300 recruiters (``--recruiters``) in 30 companies, 15-minute slots over two days,
and every recruiter is available 09:00-17:00 UTC on both days (64 slots each). Talents have sent
requests spread over the recruiters; some are still pending, some declined, some accepted
and some confirmed at a random free slot. Everything is seeded through the product's actions.

After seeding, the database is ANALYZEd (``--no-analyze`` skips it): a live database has
planner statistics from autovacuum, a freshly bulk-loaded one has none until the next
autoanalyze (and none at all where autovacuum is off), and plans made without them measure
the planner's guesses rather than the query.

Measured over ``--iterations`` rounds after a short warm-up:

* ``queries.recruiter_cards(session, event, now=...)`` directly, one fresh session per call;
* the whole API request ``GET /api/v1/events/{id}/recruiters`` through ``httpx.ASGITransport``
  against the real app (``web.app.create_app``, lifespan included), signed in as a talent
  with a bearer token from ``POST /api/v1/tokens``;

and, interleaved with the API request in the same rounds (so the machine's load hits all alike),
two baselines the list is compared with:

* the same SQL statements the API request sent, with the same parameters, replayed in one
  transaction on a bare driver connection (asyncpg on PostgreSQL, no SQLAlchemy, no HTTP): the
  database's share, what no Python change can go below;
* ``GET /api/v1/events/{id}`` on the same app: authentication, the event and the membership
  (the same first three statements as the list), one small JSON object: the framework's share.

SQL statements are counted with a ``before_cursor_execute`` listener on the engine, so the
count is what reaches the database driver (on SQLite that includes ``BEGIN IMMEDIATE``).

Runs on a throw-away PostgreSQL database by default (``--url`` is the admin URL it is created
beside, and it is dropped at the end), or on a temporary SQLite file with ``--sqlite``.

    .venv/bin/python benchmarks/recruiter_list.py [--sqlite] [--iterations 200] [--no-analyze]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import math
import random
import sqlite3
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import asyncpg  # type: ignore[import-untyped]  # noqa: E402
import httpx  # noqa: E402
from sqlalchemy import event as sa_event  # noqa: E402
from sqlalchemy import func, select  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker  # noqa: E402

from scheduling import accounts, actions, migrate, queries  # noqa: E402
from scheduling.db import admin_sql, create_engine, create_sessionmaker  # noqa: E402
from scheduling.models import ChatRequest, ChatStatus, Event, User  # noqa: E402
from web.app import create_app, freeze_startup_heap  # noqa: E402
from web.settings import Settings  # noqa: E402

PG_ADMIN_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
PASSWORD = "correct horse battery"
BENCH_TALENT = "tal0@bench.test"  # the one talent with a password: the HTTP client signs in as them
SLOT_MINUTES = 15
DAYS = 2
SLOTS_PER_RECRUITER = DAYS * 8 * 60 // SLOT_MINUTES  # 09:00-17:00 on both days
RECRUITERS_PER_COMPANY = 10
BATCH = 25  # talents seeded per transaction


# --------------------------------------------------------------------------- databases


@contextmanager
def temporary_database(admin_url: str, sqlite: bool) -> Iterator[str]:
    """A migrated, empty database that is gone afterwards: a SQLite file, or a PostgreSQL database."""
    if sqlite:
        with tempfile.TemporaryDirectory(prefix="fairmeet_bench_") as tmp:
            url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
            migrate.upgrade(url)
            yield url
        return
    name = f"fairmeet_bench_{uuid.uuid4().hex[:10]}"
    asyncio.run(admin_sql(admin_url, f'CREATE DATABASE "{name}"'))
    try:
        url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
        migrate.upgrade(url)
        yield url
    finally:
        asyncio.run(admin_sql(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


# --------------------------------------------------------------------------- seeding


@dataclass
class Seeded:
    event_id: int
    recruiters: int
    requests: Counter[str]  # chats by status
    seconds: float


async def seed(sm: async_sessionmaker[AsyncSession], now: dt.datetime, *, recruiters: int, talents: int, requests_per_talent: int,
               rng: random.Random) -> Seeded:
    t0 = time.perf_counter()
    ctx = actions.Context(now=now)
    day0 = (now + dt.timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    windows = [actions.Window(day0 + dt.timedelta(days=d, hours=9), day0 + dt.timedelta(days=d, hours=17)) for d in range(DAYS)]

    async with sm() as s, s.begin():
        admin = await accounts.create_user(s, email="admin@bench.test", name="Ada Admin", password=None, now=now, is_admin=True)
        event = await actions.create_event(
            s, ctx, admin, name="Recruiter list benchmark", timezone="UTC", starts_at=day0,
            ends_at=day0 + dt.timedelta(days=DAYS), fmt=actions.ChatFormat(slot_minutes=SLOT_MINUTES),
        )
        recruiter_ids: list[int] = []
        company_id = 0
        for i in range(recruiters):
            if i % RECRUITERS_PER_COMPANY == 0:
                company_id = (await actions.add_company(s, admin, event.id, name=f"Company {i // RECRUITERS_PER_COMPANY:03d}")).id
            member = await actions.add_participant(
                s, ctx, admin, event.id, email=f"rec{i}@bench.test", name=f"Recruiter {i:03d}", role="recruiter", company_id=company_id,
            )
            await actions.set_recruiter_profile(
                s, admin, event.id, member.user_id, booking_mode="selective", custom_question="",
                ideal_candidate="Backend engineers who like databases.", availability=windows,
            )
            recruiter_ids.append(member.user_id)
        event_id = event.id

    for first in range(0, talents, BATCH):
        async with sm() as s, s.begin():
            admin_user = await accounts.user_by_email(s, "admin@bench.test")
            ev = await s.get(Event, event_id)
            assert admin_user is not None and ev is not None
            for i in range(first, min(first + BATCH, talents)):
                member = await actions.add_participant(
                    s, ctx, admin_user, event_id, email=f"tal{i}@bench.test", name=f"Talent {i:03d}", role="talent",
                    password=PASSWORD if i == 0 else None,
                )
                talent = await s.get(User, member.user_id)
                assert talent is not None
                for rid in rng.sample(recruiter_ids, min(requests_per_talent, len(recruiter_ids))):
                    recruiter = await s.get(User, rid)
                    assert recruiter is not None
                    chat = await actions.send_request(s, ctx, talent, event_id, recruiter_id=rid, message="Hi! I'd love to chat.")
                    fate = rng.random()
                    if fate < 0.40:
                        continue  # stays pending
                    if fate < 0.55:
                        await actions.decline(s, ctx, recruiter, chat.id, "Not this time.")
                        continue
                    await actions.accept(s, ctx, recruiter, chat.id)
                    if fate < 0.75:
                        continue  # accepted, not yet booked
                    free = await actions.open_slots_for_chat(s, chat, ev, now=now)
                    if free:
                        await actions.book(s, ctx, talent, chat.id, rng.choice(free).start)

    async with sm() as s:
        by_status = Counter(
            {status: n for status, n in (await s.execute(select(ChatRequest.status, func.count()).group_by(ChatRequest.status))).all()}
        )
    return Seeded(event_id, recruiters, by_status, time.perf_counter() - t0)


# --------------------------------------------------------------------------- measuring


class QueryCounter:
    """Counts the statements an engine sends to the driver, by their first word, and keeps their parameters."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.statements: list[str] = []
        self.parameters: list[Any] = []
        sa_event.listen(engine.sync_engine, "before_cursor_execute", self._on_execute)

    def _on_execute(self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        self.statements.append(statement)
        self.parameters.append(parameters)

    def reset(self) -> None:
        self.statements.clear()
        self.parameters.clear()

    def breakdown(self) -> str:
        kinds = Counter(s.split(None, 1)[0].upper() if s.strip() else "?" for s in self.statements)
        return ", ".join(f"{kind} {n}" for kind, n in kinds.most_common())


@dataclass
class Measurement:
    label: str
    latencies_ms: list[float] = field(default_factory=list)
    query_counts: Counter[int] = field(default_factory=Counter)
    breakdown: str = ""
    sample_statements: list[str] = field(default_factory=list)
    rows: int = 0
    open_slots: int = 0
    cards: bool = True  # rows are recruiter cards (else a baseline's fetched rows)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q / 100 * len(ordered))) - 1]


async def measure_direct(url: str, event_id: int, *, iterations: int, warmup: int) -> Measurement:
    engine = create_engine(url)
    counter = QueryCounter(engine)
    sm = create_sessionmaker(engine)
    m = Measurement("queries.recruiter_cards")
    try:
        for i in range(warmup + iterations):
            async with sm() as s:
                ev = await s.get(Event, event_id)
                assert ev is not None
                now = dt.datetime.now(dt.UTC)
                counter.reset()
                t0 = time.perf_counter()
                cards = await queries.recruiter_cards(s, ev, now=now)
                elapsed = (time.perf_counter() - t0) * 1000
            if i < warmup:
                continue
            m.latencies_ms.append(elapsed)
            m.query_counts[len(counter.statements)] += 1
            m.breakdown = counter.breakdown()
            m.sample_statements = list(counter.statements)
            m.rows = len(cards)
            m.open_slots = sum(c.open_slots for c in cards)
    finally:
        await engine.dispose()
    return m


class BareReplay:
    """Sends captured statements with their parameters on a bare driver connection, in one transaction."""

    def __init__(self, url: str) -> None:
        self.url = make_url(url)
        self.pg: Any = None
        self.lite: sqlite3.Connection | None = None

    async def __aenter__(self) -> BareReplay:
        if self.url.get_backend_name() == "postgresql":
            self.pg = await asyncpg.connect(self.url.set(drivername="postgresql").render_as_string(hide_password=False))
        else:
            self.lite = sqlite3.connect(self.url.database or "", isolation_level=None)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.pg is not None:
            await self.pg.close()
        if self.lite is not None:
            self.lite.close()

    async def run(self, statements: list[str], parameters: list[Any]) -> int:
        """Fetches every row of every statement; returns the number of rows."""
        rows = 0
        if self.pg is not None:
            async with self.pg.transaction():
                for statement, params in zip(statements, parameters, strict=True):
                    rows += len(await self.pg.fetch(statement, *params))
            return rows
        assert self.lite is not None  # SQLite: the captured statements include BEGIN IMMEDIATE
        for statement, params in zip(statements, parameters, strict=True):
            rows += len(self.lite.execute(statement, params).fetchall())
        if self.lite.in_transaction:
            self.lite.execute("COMMIT")
        return rows


async def measure_http(url: str, event_id: int, *, iterations: int, warmup: int) -> list[Measurement]:
    """The recruiter list over HTTP, and in the same rounds the two baselines (bare SQL replay, a trivial endpoint)."""
    app = create_app(Settings(database_url=url, secret_key="x"), background=False)
    m = Measurement(f"GET /api/v1/events/{event_id}/recruiters")
    bare = Measurement(f"baseline: the list's {{n}} statements replayed on a bare {make_url(url).get_backend_name()} connection", cards=False)
    trivial = Measurement(f"baseline: GET /api/v1/events/{event_id} (same app: token, event, membership; one small object)", cards=False)
    async with app.router.lifespan_context(app), BareReplay(url) as replay:
        freeze_startup_heap()  # as `fairmeet serve` does: seeding's and startup's objects are not walked by every full collection
        engine = app.state.res.sessionmaker.kw["bind"]
        counter = QueryCounter(engine)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench.test") as client:
            r = await client.post("/api/v1/tokens", json={"email": BENCH_TALENT, "password": PASSWORD})
            if r.status_code != 201:
                raise SystemExit(f"sign-in failed: {r.status_code} {r.text}")
            headers = {"Authorization": f"Bearer {r.json()['token']}"}
            for i in range(warmup + iterations):
                counter.reset()
                t0 = time.perf_counter()
                r = await client.get(f"/api/v1/events/{event_id}/recruiters", headers=headers)
                elapsed = (time.perf_counter() - t0) * 1000
                if r.status_code != 200:
                    raise SystemExit(f"GET recruiters failed: {r.status_code} {r.text[:300]}")
                statements, parameters, breakdown = list(counter.statements), list(counter.parameters), counter.breakdown()

                t0 = time.perf_counter()
                bare.rows = await replay.run(statements, parameters)
                bare_elapsed = (time.perf_counter() - t0) * 1000

                t0 = time.perf_counter()
                r2 = await client.get(f"/api/v1/events/{event_id}", headers=headers)
                trivial_elapsed = (time.perf_counter() - t0) * 1000
                if r2.status_code != 200:
                    raise SystemExit(f"GET event failed: {r2.status_code} {r2.text[:300]}")
                if i < warmup:
                    continue
                body = r.json()
                m.latencies_ms.append(elapsed)
                m.query_counts[len(statements)] += 1
                m.breakdown = breakdown
                m.sample_statements = statements
                m.rows = len(body)
                m.open_slots = sum(card["open_slots"] for card in body)
                bare.latencies_ms.append(bare_elapsed)
                bare.query_counts[len(statements)] += 1
                trivial.latencies_ms.append(trivial_elapsed)
                trivial.query_counts[len(counter.statements) - len(statements)] += 1
    bare.label = bare.label.format(n=len(m.sample_statements))
    return [m, bare, trivial]


def report(m: Measurement, show_queries: bool) -> None:
    counts = ", ".join(f"{n} ({times}x)" for n, times in sorted(m.query_counts.items()))
    print(f"{m.label}")
    print(f"  latency p50 / p95 / p99  {percentile(m.latencies_ms, 50):.1f} / {percentile(m.latencies_ms, 95):.1f} / "
          f"{percentile(m.latencies_ms, 99):.1f} ms over {len(m.latencies_ms)} calls "
          f"(min {min(m.latencies_ms):.1f}, max {max(m.latencies_ms):.1f})")
    print(f"  SQL statements per call  {counts}" + (f"   [{m.breakdown}]" if m.breakdown else ""))
    if m.cards:
        print(f"  cards / open slots       {m.rows} / {m.open_slots}")
    elif m.rows:
        print(f"  rows fetched             {m.rows}")
    if show_queries:
        for statement in m.sample_statements:
            print("    " + " ".join(statement.split())[:160])


def report_ratios(listing: Measurement, baselines: list[Measurement]) -> None:
    for base in baselines:
        ratios = " / ".join(f"{percentile(listing.latencies_ms, q) / percentile(base.latencies_ms, q):.1f}" for q in (50, 95, 99))
        what = base.label.removeprefix("baseline: ").split(" (")[0]
        print(f"  ratio to {what}: {ratios} (p50 / p95 / p99)")


async def analyze(url: str) -> float:
    t0 = time.perf_counter()
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.exec_driver_sql("ANALYZE")
    finally:
        await engine.dispose()
    return time.perf_counter() - t0


async def run(url: str, args: argparse.Namespace) -> int:
    engine = create_engine(url)
    sm = create_sessionmaker(engine)
    try:
        now = dt.datetime.now(dt.UTC)
        seeded = await seed(sm, now, recruiters=args.recruiters, talents=args.talents, requests_per_talent=args.requests_per_talent,
                            rng=random.Random(args.seed))
    finally:
        await engine.dispose()
    statuses = ", ".join(f"{k} {v}" for k, v in sorted(seeded.requests.items()))
    print(f"database: {make_url(url).get_backend_name()}")
    print(f"seeded {seeded.recruiters} recruiters x {SLOTS_PER_RECRUITER} slots of {SLOT_MINUTES} min, {args.talents} talents, "
          f"chats: {statuses} ({seeded.seconds:.1f} s)")
    if args.no_analyze:
        print("planner statistics: none (--no-analyze)")
    else:
        print(f"planner statistics: ANALYZE after seeding ({await analyze(url):.1f} s)")
    expected_open = seeded.recruiters * SLOTS_PER_RECRUITER - seeded.requests.get(ChatStatus.CONFIRMED.value, 0)
    print()

    results = [await measure_direct(url, seeded.event_id, iterations=args.iterations, warmup=args.warmup)]
    if not args.no_http:
        results += await measure_http(url, seeded.event_id, iterations=args.iterations, warmup=args.warmup)
    ok = True
    for m in results:
        report(m, args.show_queries)
        if m.cards and (m.rows != seeded.recruiters or m.open_slots != expected_open):
            print(f"  MISMATCH: expected {seeded.recruiters} cards and {expected_open} open slots")
            ok = False
    if not args.no_http:
        print()
        print(f"{results[1].label.split(' (')[0]} compared with the baselines (measured in the same rounds):")
        report_ratios(results[1], results[2:])
    return 0 if ok else 1


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--recruiters", type=int, default=300, help="recruiters in the event (default 300)")
    p.add_argument("--talents", type=int, default=150, help="talents sending requests (default 150)")
    p.add_argument("--requests-per-talent", type=int, default=4, help="requests each talent sends (default 4)")
    p.add_argument("--iterations", type=int, default=200, help="measured calls of each kind (default 200)")
    p.add_argument("--warmup", type=int, default=10, help="unmeasured calls first (default 10)")
    p.add_argument("--no-http", action="store_true", help="only measure queries.recruiter_cards, not the HTTP endpoint")
    p.add_argument("--no-analyze", action="store_true", help="measure without planner statistics (no ANALYZE after seeding)")
    p.add_argument("--show-queries", action="store_true", help="print the SQL statements of one call")
    p.add_argument("--seed", type=int, default=1, help="random seed for the seeded requests")
    p.add_argument("--sqlite", action="store_true", help="run on a temporary SQLite file instead of PostgreSQL")
    p.add_argument("--url", default=PG_ADMIN_URL,
                   help=f"PostgreSQL admin URL; the temporary database is created beside it (default {PG_ADMIN_URL})")
    args = p.parse_args(argv)
    if args.recruiters < 1 or args.talents < 1 or args.iterations < 1 or args.warmup < 0:
        p.error("--recruiters, --talents and --iterations must be at least 1, --warmup at least 0")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with temporary_database(args.url, args.sqlite) as url:
        return asyncio.run(run(url, args))


if __name__ == "__main__":
    sys.exit(main())
