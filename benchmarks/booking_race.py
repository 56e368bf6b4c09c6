"""Booking race: N talents confirming 1-1 chats concurrently for M recruiter slots on PostgreSQL.

What it does, end to end:

0. Measures the machine: ``pgbench -N`` (simple update) with as many clients as the race has,
   against its own throw-away database, so booking attempts/s can be read as a share of what
   PostgreSQL does with small write transactions here and now (the machine may be shared).
1. Creates a throw-away database ``fairmeet_bench_<random>`` and migrates it with Alembic.
2. Seeds it through the product's own actions: an admin creates the event (30-minute slots),
   a company, a few recruiters whose availability adds up to exactly M slots, and N talents.
   Every talent sends a request to every recruiter and the recruiter accepts it, so each
   talent holds one accepted chat per recruiter.
3. Runs rounds. At the start of a round it reads which slots are taken; every talent that
   still has an unbooked chat picks a free (recruiter, slot) at random among each
   recruiter's three earliest free slots (``--early``; everyone wants the morning) and, with
   ``--parallel 2`` (the default), a second one with another recruiter at the same time if
   possible (a double click / two tabs), which exercises the talent side of the race too.
   The round's attempts (shuffled) are run by ``--clients`` concurrent clients, each sending
   its next attempt when the previous one is answered, like pgbench's clients or people
   clicking "book" and waiting; each attempt is one ``actions.book`` call in its own session
   and transaction. Losers get SlotTaken / QuotaExceeded / Conflict, which the API answers
   with 409.
4. Checks the result with SQL: no two confirmed chats of the same recruiter or of the same
   talent overlap, and the bookkeeping (busy blocks, quota counters) matches the chats.

Latency is measured per attempt from asking the pool for a connection to commit/rollback,
so it includes waiting for a pooled connection when more attempts than connections are in
flight (``--pool`` below ``--clients``). Exits non-zero on a double booking, an
inconsistency or an unexpected (non-409) error.

Concurrency: 16 clients on a pool of 16 by default. The app process runs every action's
Python on one core, so once a few transactions are in flight more of them add no throughput,
only waiting: for the event loop, and for the winners' uncommitted busy blocks, which a
loser's insert has to wait out. pgbench -N on this 2-core machine peaks at about 16 clients
(c=8: ~1,300 tps, c=16: ~1,560, c=40: ~1,500), so 16 compares against PostgreSQL's best,
not a weakened baseline. Firing a whole round at once instead (the old behaviour: 400
attempts for a pool of 40) measures the queue, not the booking: p50 becomes half a round.

    .venv/bin/python benchmarks/booking_race.py --talents 200 --slots 60
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import gc
import math
import os
import random
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker  # noqa: E402

from scheduling import accounts, actions, migrate, slots  # noqa: E402
from scheduling.db import admin_sql, create_engine, create_sessionmaker  # noqa: E402
from scheduling.errors import Conflict, QuotaExceeded, SlotTaken  # noqa: E402
from scheduling.models import ChatRequest, ChatStatus, User  # noqa: E402

PG_ADMIN_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
SLOT_MINUTES = 30
DAY_START = dt.timedelta(hours=9)
SLOTS_PER_DAY = 16  # 09:00-17:00 in 30-minute slots
SEED_BATCH = 25  # talents seeded per transaction


# --------------------------------------------------------------------------- temporary database


def _database_url(admin_url: str, name: str) -> str:
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


# --------------------------------------------------------------------------- the pgbench baseline


@dataclass
class Baseline:
    tps: float
    latency_ms: float
    clients: int
    seconds: int


def find_pgbench() -> str | None:
    """The server's own pgbench if it is installed (postgresql-contrib / the server package), else the one on PATH."""
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/pgbench"), reverse=True)
    if candidates:
        return str(candidates[0])
    return shutil.which("pgbench")


def pgbench_baseline(admin_url: str, *, clients: int, seconds: int) -> Baseline:
    """`pgbench -N` (simple update) against a throw-away database, at the booking race's concurrency.

    The machine's ceiling for small write transactions from `clients` connections: the booking
    figures are printed as a share of it, so a busy or slow machine doesn't read as a slow app.
    """
    exe = find_pgbench()
    if exe is None:
        raise SystemExit("pgbench not found: apt-get install postgresql-contrib (or pass --no-pgbench)")
    url = make_url(admin_url)
    name = f"fairmeet_pgbench_{uuid.uuid4().hex[:10]}"
    conn = ["-h", url.host or "127.0.0.1", "-p", str(url.port or 5432), "-U", url.username or "postgres"]
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = url.password
    asyncio.run(admin_sql(admin_url, f'CREATE DATABASE "{name}"'))
    try:
        subprocess.run([exe, "-i", "-q", "-s", "1", *conn, name], check=True, capture_output=True, env=env)
        done = subprocess.run(
            [exe, "-N", "-c", str(clients), "-j", str(min(2, clients)), "-T", str(seconds), *conn, name],
            check=False, capture_output=True, text=True, env=env,
        )
        if done.returncode:
            raise SystemExit(f"pgbench failed ({done.returncode}):\n{done.stderr.strip()[-2000:]}")
    finally:
        asyncio.run(admin_sql(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    tps = re.search(r"^tps = ([0-9.]+)", done.stdout, re.M)
    latency = re.search(r"^latency average = ([0-9.]+) ms", done.stdout, re.M)
    if tps is None:
        raise SystemExit("could not read pgbench's output:\n" + done.stdout + done.stderr)
    return Baseline(float(tps.group(1)), float(latency.group(1)) if latency else math.nan, clients, seconds)


# --------------------------------------------------------------------------- seeding


@dataclass
class World:
    event_id: int
    recruiter_ids: list[int]
    talents: list[User]
    chat_ids: dict[tuple[int, int], int]  # (talent id, recruiter id) -> accepted chat
    slot_starts: dict[int, list[dt.datetime]]  # recruiter id -> the starts of their grid slots
    seconds: float = 0.0


def _split(total: int, parts: int) -> list[int]:
    """`total` slots over `parts` recruiters, as evenly as possible."""
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def _windows(day0: dt.datetime, count: int) -> list[actions.Window]:
    """`count` consecutive 30-minute slots from 09:00, at most 16 a day, over as many days as needed."""
    windows = []
    day = 0
    while count > 0:
        n = min(count, SLOTS_PER_DAY)
        start = day0 + dt.timedelta(days=day) + DAY_START
        windows.append(actions.Window(start, start + dt.timedelta(minutes=n * SLOT_MINUTES)))
        count -= n
        day += 1
    return windows


async def seed(sm: async_sessionmaker[AsyncSession], now: dt.datetime, *, talents: int, slot_total: int, recruiters: int,
               max_chats: int | None) -> World:
    t0 = time.perf_counter()
    ctx = actions.Context(now=now)
    per_recruiter = _split(slot_total, recruiters)
    days = max(1, math.ceil(max(per_recruiter) / SLOTS_PER_DAY))
    if days > 31:
        raise SystemExit(f"{max(per_recruiter)} slots per recruiter need {days} days; events last at most 31. Raise --recruiters.")
    day0 = (now + dt.timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)

    async with sm() as s, s.begin():
        admin = await accounts.create_user(s, email="admin@bench.test", name="Ada Admin", password=None, now=now, is_admin=True)
        event = await actions.create_event(
            s, ctx, admin, name="Booking race", timezone="UTC", starts_at=day0, ends_at=day0 + dt.timedelta(days=days),
            fmt=actions.ChatFormat(slot_minutes=SLOT_MINUTES, max_chats_per_talent=max_chats),
        )
        company = await actions.add_company(s, admin, event.id, name="Acme Robotics")
        recruiter_ids: list[int] = []
        slot_starts: dict[int, list[dt.datetime]] = {}
        for i, count in enumerate(per_recruiter):
            member = await actions.add_participant(
                s, ctx, admin, event.id, email=f"rec{i}@bench.test", name=f"Rita Recruiter {i}", role="recruiter", company_id=company.id,
            )
            windows = _windows(day0, count)
            await actions.set_recruiter_profile(
                s, admin, event.id, member.user_id, booking_mode="selective", custom_question="", ideal_candidate="", availability=windows,
            )
            grid = slots.grid([(w.start, w.end) for w in windows], SLOT_MINUTES, 0, not_before=event.starts_at, not_after=event.ends_at)
            assert len(grid) == count
            recruiter_ids.append(member.user_id)
            slot_starts[member.user_id] = [g.start for g in grid]
        event_id = event.id

    world = World(event_id, recruiter_ids, [], {}, slot_starts)
    for first in range(0, talents, SEED_BATCH):
        async with sm() as s, s.begin():
            admin_user = await accounts.user_by_email(s, "admin@bench.test")
            assert admin_user is not None
            recruiter_users = [await s.get(User, rid) for rid in recruiter_ids]
            for i in range(first, min(first + SEED_BATCH, talents)):
                member = await actions.add_participant(
                    s, ctx, admin_user, event_id, email=f"tal{i}@bench.test", name=f"Tom Talent {i}", role="talent",
                )
                talent = await s.get(User, member.user_id)
                assert talent is not None
                world.talents.append(talent)
                for recruiter in recruiter_users:
                    assert recruiter is not None
                    chat = await actions.send_request(s, ctx, talent, event_id, recruiter_id=recruiter.id, message="Hello!")
                    await actions.accept(s, ctx, recruiter, chat.id)
                    world.chat_ids[(talent.id, recruiter.id)] = chat.id
    world.seconds = time.perf_counter() - t0
    return world


# --------------------------------------------------------------------------- the stack's floor


async def empty_transactions(sm: async_sessionmaker[AsyncSession], *, clients: int, seconds: float) -> float:
    """Transactions/s when each does nothing but `SELECT 1`, through the same pool, sessions and clients.

    What any action costs before it does anything: session, pool checkout (with its pre-ping),
    BEGIN, one statement, COMMIT. The booking can't beat it; the gap is the booking's own work.
    """
    done = 0
    deadline = time.perf_counter() + seconds

    async def client() -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            async with sm() as s, s.begin():
                await s.execute(text("SELECT 1"))
            done += 1

    t0 = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return done / (time.perf_counter() - t0)


# --------------------------------------------------------------------------- the race


@dataclass
class Attempt:
    talent: User
    recruiter_id: int
    chat_id: int
    start: dt.datetime


@dataclass
class Tally:
    confirmed: int = 0
    attempts: int = 0
    conflicts: Counter[str] = field(default_factory=Counter)  # 409s by error code
    unexpected: Counter[str] = field(default_factory=Counter)  # anything else, by exception type
    unexpected_examples: list[str] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    in_db_ms: list[float] = field(default_factory=list)  # from holding a connection to commit/rollback
    win_latencies_ms: list[float] = field(default_factory=list)
    race_seconds: float = 0.0
    rounds: int = 0


async def book_once(sm: async_sessionmaker[AsyncSession], attempt: Attempt, tally: Tally) -> None:
    ctx = actions.Context(now=dt.datetime.now(dt.UTC))
    t0 = time.perf_counter()
    t_conn = None
    won = False
    try:
        async with sm() as s, s.begin():
            await s.connection()  # check a connection out of the pool now, to tell pool wait from work
            t_conn = time.perf_counter()
            await actions.book(s, ctx, attempt.talent, attempt.chat_id, attempt.start)
        won = True
    except (SlotTaken, QuotaExceeded, Conflict) as err:  # the expected losers: HTTP 409
        tally.conflicts[err.code] += 1
    except Exception as err:  # noqa: BLE001 -- counted and reported: the API would answer 500
        tally.unexpected[type(err).__name__] += 1
        if len(tally.unexpected_examples) < 3:
            tally.unexpected_examples.append(f"{type(err).__name__}: {str(err).splitlines()[0][:200]}")
    t_end = time.perf_counter()
    elapsed = (t_end - t0) * 1000
    tally.attempts += 1
    tally.latencies_ms.append(elapsed)
    if t_conn is not None:
        tally.in_db_ms.append((t_end - t_conn) * 1000)
    if won:
        tally.confirmed += 1
        tally.win_latencies_ms.append(elapsed)


Interval = tuple[dt.datetime, dt.datetime]


async def taken_now(
    sm: async_sessionmaker[AsyncSession], event_id: int,
) -> tuple[set[tuple[int, dt.datetime]], dict[int, list[Interval]], set[int]]:
    """Recruiter slots taken, each talent's confirmed intervals, and the confirmed chat ids."""
    async with sm() as s:
        rows = (
            await s.execute(
                select(ChatRequest.id, ChatRequest.talent_id, ChatRequest.recruiter_id, ChatRequest.starts_at, ChatRequest.ends_at).where(
                    ChatRequest.event_id == event_id, ChatRequest.status == ChatStatus.CONFIRMED.value
                )
            )
        ).all()
    recruiter_taken: set[tuple[int, dt.datetime]] = set()
    talent_busy: dict[int, list[Interval]] = {}
    confirmed: set[int] = set()
    for chat_id, talent_id, recruiter_id, start, end in rows:
        assert start is not None and end is not None  # confirmed chats always have a time
        recruiter_taken.add((recruiter_id, start))
        talent_busy.setdefault(talent_id, []).append((start, end))
        confirmed.add(chat_id)
    return recruiter_taken, talent_busy, confirmed


def plan_round(world: World, rng: random.Random, parallel: int, early: int, recruiter_taken: set[tuple[int, dt.datetime]],
               talent_busy: dict[int, list[Interval]], confirmed: set[int]) -> list[Attempt]:
    """What each talent tries this round, from what it can see: free slots of its unbooked chats.

    With `early` > 0 a talent only considers each recruiter's `early` earliest free slots (everyone
    wants the morning), which keeps contention high and makes the race last several rounds.
    """
    length = dt.timedelta(minutes=SLOT_MINUTES)
    attempts: list[Attempt] = []
    for talent in world.talents:
        busy = talent_busy.get(talent.id, [])
        options: dict[int, list[dt.datetime]] = {}
        for rid in world.recruiter_ids:
            chat_id = world.chat_ids[(talent.id, rid)]
            if chat_id in confirmed:
                continue
            free = [
                st for st in world.slot_starts[rid]
                if (rid, st) not in recruiter_taken and not any(st < b_end and b_start < st + length for b_start, b_end in busy)
            ]
            if free:
                options[rid] = free[:early] if early > 0 else free
        if not options:
            continue
        rid = rng.choice(sorted(options))
        start = rng.choice(options.pop(rid))
        attempts.append(Attempt(talent, rid, world.chat_ids[(talent.id, rid)], start))
        for _ in range(parallel - 1):
            if not options:
                break
            # A second tab: the same time with another recruiter when there is one, else anything.
            same_time = [r for r in sorted(options) if start in options[r]]
            other = rng.choice(same_time) if same_time else rng.choice(sorted(options))
            other_start = start if same_time else rng.choice(options[other])
            options.pop(other)
            attempts.append(Attempt(talent, other, world.chat_ids[(talent.id, other)], other_start))
    rng.shuffle(attempts)
    return attempts


async def run_client(sm: async_sessionmaker[AsyncSession], queue: Iterator[Attempt], tally: Tally) -> None:
    for attempt in queue:
        await book_once(sm, attempt, tally)


async def race(sm: async_sessionmaker[AsyncSession], world: World, *, parallel: int, early: int, max_rounds: int, seed: int,
               clients: int) -> Tally:
    rng = random.Random(seed)
    tally = Tally()
    for _ in range(max_rounds):
        recruiter_taken, talent_busy, confirmed = await taken_now(sm, world.event_id)
        attempts = plan_round(world, rng, parallel, early, recruiter_taken, talent_busy, confirmed)
        if not attempts:
            break
        before = tally.confirmed
        t0 = time.perf_counter()
        queue = iter(attempts)  # shared by the clients: each takes the next attempt when its last one is answered
        await asyncio.gather(*(run_client(sm, queue, tally) for _ in range(min(clients, len(attempts)))))
        tally.race_seconds += time.perf_counter() - t0
        tally.rounds += 1
        print(f"  round {tally.rounds:2d}: {len(attempts):4d} attempts, {tally.confirmed - before:4d} confirmed")
    return tally


# --------------------------------------------------------------------------- checks afterwards

DOUBLE_BOOKINGS = """
SELECT count(*) FROM chat_requests a
JOIN chat_requests b
  ON a.id < b.id
 AND (a.recruiter_id = b.recruiter_id OR a.talent_id = b.talent_id)
 AND a.starts_at < b.ends_at AND b.starts_at < a.ends_at
WHERE a.status = 'confirmed' AND b.status = 'confirmed'
"""

# The talent's chats_booked counter must equal their confirmed chats.
QUOTA_MISMATCHES = """
SELECT count(*) FROM participants p
WHERE p.role = 'talent' AND p.event_id = :event_id AND p.chats_booked <> (
  SELECT count(*) FROM chat_requests c WHERE c.event_id = p.event_id AND c.talent_id = p.user_id AND c.status = 'confirmed')
"""

# Each confirmed chat holds exactly its 5-minute blocks, for both people; no other busy blocks exist.
EXPECTED_BLOCKS = """
SELECT coalesce(sum(2 * (extract(epoch FROM ends_at - starts_at) / 300)), 0)::bigint
FROM chat_requests WHERE status = 'confirmed'
"""


@dataclass
class Checks:
    confirmed_rows: int
    double_bookings: int
    quota_mismatches: int
    busy_blocks: int
    expected_blocks: int
    over_cap: int


async def check(sm: async_sessionmaker[AsyncSession], event_id: int, max_chats: int | None) -> Checks:
    async with sm() as s:
        confirmed_rows = (await s.execute(text("SELECT count(*) FROM chat_requests WHERE status = 'confirmed'"))).scalar_one()
        double = (await s.execute(text(DOUBLE_BOOKINGS))).scalar_one()
        quota = (await s.execute(text(QUOTA_MISMATCHES), {"event_id": event_id})).scalar_one()
        blocks = (await s.execute(text("SELECT count(*) FROM busy_blocks"))).scalar_one()
        expected = (await s.execute(text(EXPECTED_BLOCKS))).scalar_one()
        over_cap = 0
        if max_chats is not None:
            over_cap = (
                await s.execute(
                    text("SELECT count(*) FROM (SELECT talent_id FROM chat_requests WHERE status = 'confirmed' "
                         "GROUP BY talent_id HAVING count(*) > :cap) t"),
                    {"cap": max_chats},
                )
            ).scalar_one()
    return Checks(confirmed_rows, double, quota, blocks, expected, over_cap)


# --------------------------------------------------------------------------- report


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


async def run(url: str, args: argparse.Namespace, baseline: Baseline | None) -> int:
    engine = create_engine(url, pool_size=args.pool, max_overflow=0, pool_timeout=120)
    sm = create_sessionmaker(engine)
    try:
        now = dt.datetime.now(dt.UTC)
        world = await seed(sm, now, talents=args.talents, slot_total=args.slots, recruiters=args.recruiters, max_chats=args.max_chats)
        print(f"seeded {len(world.talents)} talents, {len(world.recruiter_ids)} recruiters, {args.slots} slots, "
              f"{len(world.chat_ids)} accepted chats in {world.seconds:.1f} s")
        # As `fairmeet serve` does (web.app.freeze_startup_heap): what exists before serving, here the seeded
        # world too, is kept out of the cyclic collector's full passes, which otherwise show up in the p99.
        gc.collect()
        gc.freeze()
        floor = await empty_transactions(sm, clients=args.clients, seconds=3)
        print(f"racing: {args.parallel} concurrent attempt(s) per talent per round, {args.clients} clients, pool of {args.pool} connections")
        tally = await race(sm, world, parallel=args.parallel, early=args.early, max_rounds=args.max_rounds, seed=args.seed,
                           clients=args.clients)
        checks = await check(sm, world.event_id, args.max_chats)
    finally:
        await engine.dispose()

    n409 = sum(tally.conflicts.values())
    print()
    print(f"rounds                    {tally.rounds}")
    print(f"booking attempts          {tally.attempts}")
    print(f"total confirmations       {tally.confirmed}  (of {args.slots} slots; {checks.confirmed_rows} confirmed rows in the database)")
    rate = tally.confirmed / tally.race_seconds if tally.race_seconds else 0.0
    attempt_rate = tally.attempts / tally.race_seconds if tally.race_seconds else 0.0
    print(f"confirmations per second  {rate:.1f}  ({attempt_rate:.1f} attempts/s over {tally.race_seconds:.2f} s of racing)")
    if baseline is not None:
        print(f"pgbench -N baseline       {baseline.tps:.0f} tps, {baseline.latency_ms:.1f} ms average "
              f"({baseline.clients} clients, {baseline.seconds} s)")
        print(f"attempts/s vs pgbench     {100 * attempt_rate / baseline.tps:.1f} %")
    print(f"empty transactions/s      {floor:.0f}  (SELECT 1 through the same pool and clients: "
          f"{100 * floor / baseline.tps:.1f} % of pgbench)" if baseline else f"empty transactions/s      {floor:.0f}")
    print(f"attempts/s vs empty       {100 * attempt_rate / floor:.1f} %")
    if tally.latencies_ms:
        print(f"attempt latency p50/p95/p99  {percentile(tally.latencies_ms, 50):.1f} / {percentile(tally.latencies_ms, 95):.1f} / "
              f"{percentile(tally.latencies_ms, 99):.1f} ms")
    if tally.win_latencies_ms:
        print(f"  winners only p50/p99    {percentile(tally.win_latencies_ms, 50):.1f} / {percentile(tally.win_latencies_ms, 99):.1f} ms")
    if tally.in_db_ms:
        print(f"  holding a connection    {percentile(tally.in_db_ms, 50):.1f} / {percentile(tally.in_db_ms, 99):.1f} ms "
              "(p50/p99; the rest is waiting for the pool)")
    by_code = ", ".join(f"{code}={n}" for code, n in tally.conflicts.most_common())
    print(f"409s                      {n409}" + (f"  ({by_code})" if by_code else ""))
    by_type = ", ".join(f"{name}={n}" for name, n in tally.unexpected.most_common())
    print(f"unexpected errors         {sum(tally.unexpected.values())}" + (f"  ({by_type})" if by_type else ""))
    for example in tally.unexpected_examples:
        print(f"    e.g. {example}")
    print(f"double bookings           {checks.double_bookings}")
    print(f"quota counter mismatches  {checks.quota_mismatches}")
    print(f"busy blocks               {checks.busy_blocks} (expected {checks.expected_blocks})")
    if args.max_chats is not None:
        print(f"talents over the cap      {checks.over_cap}")

    failures = []
    if checks.double_bookings:
        failures.append(f"{checks.double_bookings} double booking(s)")
    if checks.confirmed_rows != tally.confirmed:
        failures.append(f"{tally.confirmed} successful book() calls but {checks.confirmed_rows} confirmed rows")
    if checks.quota_mismatches:
        failures.append(f"{checks.quota_mismatches} talent(s) whose chats_booked disagrees with their confirmed chats")
    if checks.busy_blocks != checks.expected_blocks:
        failures.append("busy blocks do not match the confirmed chats")
    if checks.over_cap:
        failures.append(f"{checks.over_cap} talent(s) over max_chats_per_talent")
    if tally.unexpected:
        failures.append(f"{sum(tally.unexpected.values())} unexpected (non-409) error(s)")
    if failures:
        print("FAIL: " + "; ".join(failures))
        return 1
    print("OK")
    return 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--talents", type=int, default=200, help="number of talents racing (default 200)")
    p.add_argument("--slots", type=int, default=60, help="recruiter slots in total (default 60)")
    p.add_argument("--recruiters", type=int, default=4, help="recruiters sharing the slots (default 4)")
    p.add_argument("--parallel", type=int, default=2,
                   help="concurrent attempts per talent per round, each with another recruiter (default 2)")
    p.add_argument("--early", type=int, default=3,
                   help="talents pick among each recruiter's N earliest free slots; 0 for any free slot (default 3)")
    p.add_argument("--max-chats", type=int, default=None, help="the event's max_chats_per_talent (default: no cap)")
    p.add_argument("--max-rounds", type=int, default=100, help="stop after this many rounds (default 100)")
    p.add_argument("--clients", type=int, default=16,
                   help="attempts in flight at once, each client sending its next when the last is answered (default 16)")
    p.add_argument("--pool", type=int, default=None, help="connection pool size (default: as many as --clients)")
    p.add_argument("--seed", type=int, default=1, help="random seed for the talents' choices")
    p.add_argument("--pgbench-seconds", type=int, default=10, help="length of the pgbench -N baseline run (default 10)")
    p.add_argument("--no-pgbench", action="store_true", help="skip the pgbench -N baseline")
    p.add_argument("--url", default=PG_ADMIN_URL,
                   help=f"PostgreSQL admin URL; the temporary database is created beside it (default {PG_ADMIN_URL})")
    args = p.parse_args(argv)
    if args.pool is None:
        args.pool = args.clients
    if min(args.talents, args.slots, args.recruiters, args.parallel, args.pool, args.clients) < 1:
        p.error("--talents, --slots, --recruiters, --parallel, --clients and --pool must be at least 1")
    if args.recruiters > args.slots:
        p.error("--recruiters must not exceed --slots")
    if not args.url.startswith("postgresql"):
        p.error("--url must be a PostgreSQL URL (postgresql+asyncpg://...)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    baseline = None
    if not args.no_pgbench:
        # As many pgbench clients as the race has transactions in flight: clients, or the pool if smaller.
        baseline = pgbench_baseline(args.url, clients=min(args.clients, args.pool), seconds=args.pgbench_seconds)
        print(f"pgbench -N: {baseline.tps:.0f} tps with {baseline.clients} clients over {baseline.seconds} s")
    name = f"fairmeet_bench_{uuid.uuid4().hex[:10]}"
    asyncio.run(admin_sql(args.url, f'CREATE DATABASE "{name}"'))
    try:
        url = _database_url(args.url, name)
        migrate.upgrade(url)
        return asyncio.run(run(url, args, baseline))
    finally:
        asyncio.run(admin_sql(args.url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    sys.exit(main())
