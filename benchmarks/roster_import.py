"""Roster import and dashboard: an organizer's CSV import of hundreds to thousands of people, and the event dashboard at scale.

Two things an organizer does with a big event, each next to the database's share measured in the same run:

1. **The CSV import** of N people (``--sizes``, default 300, 2,000 and 5,000): ``roster.preview(...)`` (parse, then
   check against the event: users by email, people already taking part, new companies) and ``roster.import_csv(...)``
   (the same, under the event's row lock, then users, companies, participants, sign-in links and invitation mails in
   one transaction, committed). One person in ten is a recruiter, in companies of six; half have a headline. Every
   round (``--rounds``) imports into a fresh event made by ``actions.create_event`` with an admin from
   ``accounts.create_user`` (as ``tests/factories.py`` does), with e-mail addresses nobody has yet.

   Baseline, interleaved in the same rounds: the same rows (the same companies, users, participants, sign-in links and
   outbox rows with the same invitation text, only other addresses) written in one transaction on a bare driver
   connection, with ``executemany`` and, on PostgreSQL, with ``COPY`` (``copy_records_to_table``), plus the two reads
   that give back the new companies' and users' ids. The rows are built before the clock starts: this is the database's
   share of the writes, what no Python change can go below. The import also reads (the event, the organizer check,
   the lock, users and participants by email), which the baseline does not.

2. **The event dashboard** (``scheduling.dashboard``): an event with 300 talents and 30 recruiters in 5 companies
   (imported through ``roster.import_csv``), each recruiter available 08:00-20:00 UTC on both days, and 900 chats
   bulk-inserted as rows consistent with the schema (three per talent, each recruiter's and each talent's booked chats
   at distinct 15-minute slots): pending, accepted, confirmed, completed (some with a no-show outcome), declined,
   withdrawn by their sender while pending and cancelled after acceptance, each with its history rows.
   Timed over ``--iterations`` rounds after a warm-up, one fresh session per call: ``dashboard.event_dashboard`` (what
   the Dashboard page and ``GET /api/v1/events/{id}/dashboard`` compute) and the chats export
   (``dashboard.export_csv(await dashboard.export_rows(...))``, what ``/events/{id}/chats.csv`` sends). Baseline,
   interleaved: the same SQL statements each call sent (captured with a ``before_cursor_execute`` listener), with the
   same parameters, replayed on a bare driver connection (asyncpg on PostgreSQL), every row fetched.

Runs on a throw-away PostgreSQL database by default (``--url`` is the admin URL it is created beside, and it is
dropped at the end), or on a temporary SQLite file with ``--sqlite``. No figure is asserted: the machine is shared,
so read the ratios.

    .venv/bin/python benchmarks/roster_import.py [--sqlite] [--sizes 300,2000,5000] [--rounds 5] [--iterations 100]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import hashlib
import random
import secrets
import sqlite3
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import func, insert, select  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker  # noqa: E402

from benchmarks.recruiter_list import PG_ADMIN_URL, BareReplay, QueryCounter, percentile, temporary_database  # noqa: E402
from scheduling import accounts, actions, dashboard, outbox, roster  # noqa: E402
from scheduling.db import create_engine, create_sessionmaker  # noqa: E402
from scheduling.models import (  # noqa: E402
    Availability,
    ChatEvent,
    ChatOutcome,
    ChatRequest,
    Event,
    Participant,
    Role,
    User,
)

ADMIN = "admin@bench.test"
DAYS = 2
SLOT_MINUTES = 15
RECRUITER_EVERY = 10  # one person in ten of an import is a recruiter
PER_COMPANY = 6  # recruiters per company


# --------------------------------------------------------------------------- shared


async def new_event(sm: async_sessionmaker[AsyncSession], now: dt.datetime, name: str) -> int:
    async with sm() as s, s.begin():
        admin = await accounts.user_by_email(s, ADMIN)
        if admin is None:
            admin = await accounts.create_user(s, email=ADMIN, name="Ada Admin", password=None, now=now, is_admin=True)
        day0 = (now + dt.timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        event = await actions.create_event(s, actions.Context(now=now), admin, name=name, timezone="Europe/Berlin", starts_at=day0,
                                           ends_at=day0 + dt.timedelta(days=DAYS), fmt=actions.ChatFormat(slot_minutes=SLOT_MINUTES))
        return event.id


def people_csv(n: int, tag: str) -> str:
    lines = ["name,email,role,company,headline"]
    for i in range(n):
        recruiter = i % RECRUITER_EVERY == 0
        company = f"Company {i // (RECRUITER_EVERY * PER_COMPANY):03d}" if recruiter else ""
        headline = f"Engineer number {i} who likes databases" if i % 2 else ""
        lines.append(f"Person {i:05d},{tag}.p{i}@bench.test,{'recruiter' if recruiter else 'talent'},{company},{headline}")
    return "\n".join(lines) + "\n"


def ms(seconds: float) -> float:
    return seconds * 1000


@dataclass
class Series:
    values: list[float] = field(default_factory=list)

    def p(self, q: float) -> float:
        return percentile(self.values, q)


# --------------------------------------------------------------------------- 1. the import


@dataclass
class Rows:
    """The rows an import of a file writes, as plain tuples for a bare connection (ids filled in between tables)."""

    companies: list[tuple[Any, ...]]
    users: list[tuple[Any, ...]]
    people: list[tuple[str, str, str]]  # email, role, company key
    links: list[tuple[str, Any]]  # email, token hash (expires_at added when the ids are known)
    mails: list[tuple[Any, ...]]
    emails: list[str]


def baseline_rows(text: str, event_id: int, event_name: str, now: dt.datetime, stamp: Any) -> Rows:
    """The rows roster.import_csv writes for `text` (a file like the import's, under other addresses)."""
    preview = roster.parse("people", text)
    ctx = actions.Context(now=now)
    companies: dict[str, str] = {}
    users, people, links, mails = [], [], [], []
    for r in preview.rows:
        v = r.values
        email = v["email"]
        if v["role"] == Role.RECRUITER.value and v["company"].lower() not in companies:
            companies[v["company"].lower()] = v["company"]
        users.append((email, v["name"], None, False, None, v["headline"], secrets.token_urlsafe(24), 0, stamp(now)))
        people.append((email, v["role"], v["company"].lower()))
        secret = secrets.token_urlsafe(32)
        links.append((email, hashlib.sha256(secret.encode()).hexdigest()))
        mail = outbox.invitation(to=v["name"], event_name=event_name, role=v["role"], url=ctx.link(f"/login/link/{secret}?next=/events/{event_id}"))
        o = outbox.row(roster._Addressee(v["name"], email), "invitation", mail, now=now)
        mails.append((o["to_email"], o["to_name"], o["subject"], o["body_text"], o["ical"], o["ical_method"], o["kind"], o["status"],
                       o["attempts"], o["last_error"], stamp(now), stamp(now), o["channel"], o["to_phone"]))
    return Rows([(event_id, name, "", "", "") for name in companies.values()], users, people, links, mails, [u[0] for u in users])


USER_COLS = ("email", "name", "password_hash", "is_admin", "timezone", "headline", "calendar_token", "session_epoch", "created_at")
COMPANY_COLS = ("event_id", "name", "description", "website", "logo_url")
PARTICIPANT_COLS = ("event_id", "user_id", "role", "company_id", "booking_mode", "custom_question", "ideal_candidate", "requests_used",
                    "chats_booked")
LINK_COLS = ("user_id", "token_hash", "expires_at", "used_at")
OUTBOX_COLS = ("to_email", "to_name", "subject", "body_text", "ical", "ical_method", "kind", "status", "attempts", "last_error", "created_at",
               "next_attempt_at", "channel", "to_phone")


def _insert_sql(table: str, cols: tuple[str, ...], mark: str) -> str:
    marks = ", ".join(f"${i + 1}" for i in range(len(cols))) if mark == "$" else ", ".join("?" for _ in cols)
    return f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({marks})"


async def pg_write(conn: Any, rows: Rows, event_id: int, expires: dt.datetime, *, copy: bool) -> None:
    """The rows in one transaction on a bare asyncpg connection: executemany, or COPY."""
    async def put(table: str, cols: tuple[str, ...], records: list[tuple[Any, ...]]) -> None:
        if copy:
            await conn.copy_records_to_table(table, records=records, columns=list(cols))
        else:
            await conn.executemany(_insert_sql(table, cols, "$"), records)

    async with conn.transaction():
        await put("companies", COMPANY_COLS, rows.companies)
        company_ids = {name.lower(): cid for cid, name in await conn.fetch("SELECT id, name FROM companies WHERE event_id = $1", event_id)}
        await put("users", USER_COLS, rows.users)
        user_ids = {email: uid for uid, email in await conn.fetch("SELECT id, email FROM users WHERE email = ANY($1::text[])", rows.emails)}
        await put("participants", PARTICIPANT_COLS, [
            (event_id, user_ids[email], role, company_ids[key] if role == Role.RECRUITER.value else None, "selective", "", "", 0, 0)
            for email, role, key in rows.people
        ])
        await put("login_links", LINK_COLS, [(user_ids[email], token, expires, None) for email, token in rows.links])
        await put("outbox", OUTBOX_COLS, rows.mails)


def lite_write(conn: sqlite3.Connection, rows: Rows, event_id: int, expires: str) -> None:
    """The rows in one transaction on a bare sqlite3 connection, with executemany."""
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(_insert_sql("companies", COMPANY_COLS, "?"), rows.companies)
    company_ids = {name.lower(): cid for cid, name in conn.execute("SELECT id, name FROM companies WHERE event_id = ?", (event_id,))}
    conn.executemany(_insert_sql("users", USER_COLS, "?"), rows.users)
    user_ids: dict[str, int] = {}
    for i in range(0, len(rows.emails), 500):
        chunk = rows.emails[i:i + 500]
        user_ids.update({email: uid for uid, email in conn.execute(
            f"SELECT id, email FROM users WHERE email IN ({', '.join('?' for _ in chunk)})", chunk)})
    conn.executemany(_insert_sql("participants", PARTICIPANT_COLS, "?"), [
        (event_id, user_ids[email], role, company_ids[key] if role == Role.RECRUITER.value else None, "selective", "", "", 0, 0)
        for email, role, key in rows.people
    ])
    conn.executemany(_insert_sql("login_links", LINK_COLS, "?"), [(user_ids[email], token, expires, None) for email, token in rows.links])
    conn.executemany(_insert_sql("outbox", OUTBOX_COLS, "?"), rows.mails)
    conn.execute("COMMIT")


def lite_stamp(instant: dt.datetime) -> str:
    """An instant as SQLAlchemy's SQLite DateTime stores it (naive UTC text)."""
    return instant.astimezone(dt.UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


@dataclass
class ImportFigures:
    size: int
    preview: Series = field(default_factory=Series)
    imported: Series = field(default_factory=Series)
    executemany: Series = field(default_factory=Series)
    copy: Series = field(default_factory=Series)
    statements: Counter[int] = field(default_factory=Counter)
    breakdown: str = ""
    preview_statements: int = 0


async def measure_import(url: str, sizes: list[int], rounds: int, *, analyze: bool) -> list[ImportFigures]:
    engine = create_engine(url)
    counter = QueryCounter(engine)
    sm = create_sessionmaker(engine)
    pg = make_url(url).get_backend_name() == "postgresql"
    out: list[ImportFigures] = []
    try:
        async with BareReplay(url) as bare:
            for n in sizes:
                figures = ImportFigures(n)
                for rnd in range(rounds + 1):  # round 0 warms up (statement caches, the first big transaction)
                    now = dt.datetime.now(dt.UTC)
                    tag = f"n{n}r{rnd}"
                    text = people_csv(n, tag)
                    event_id = await new_event(sm, now, f"Import {tag}")
                    if analyze and pg:  # the tables grew by the last round's rows: plans made with statistics, as on a live database
                        async with engine.begin() as conn:
                            await conn.exec_driver_sql("ANALYZE")
                    ctx = actions.Context(now=now)

                    async with sm() as s:
                        admin = await accounts.user_by_email(s, ADMIN)
                        assert admin is not None
                        counter.reset()
                        t0 = time.perf_counter()
                        shown = await roster.preview(s, admin, event_id, "people", text)
                        preview_s = time.perf_counter() - t0
                        figures.preview_statements = len(counter.statements)
                    if not shown.ok:
                        raise SystemExit(f"preview refused the file: {shown.messages()[:3]}")

                    async with sm() as s:
                        admin = await accounts.user_by_email(s, ADMIN)
                        assert admin is not None
                        counter.reset()
                        t0 = time.perf_counter()
                        done = await roster.import_csv(s, ctx, admin, event_id, "people", text, expect=shown.digest)
                        await s.commit()
                        import_s = time.perf_counter() - t0
                        statements, breakdown = len(counter.statements), counter.breakdown()
                    if done.added != n:
                        raise SystemExit(f"imported {done.added} people, not {n}")

                    stamp = (lambda x: x) if pg else lite_stamp
                    expires = now + actions.INVITE_LINK_LIFETIME
                    timings: dict[str, float] = {}
                    for copy in ((False, True) if pg else (False,)):
                        base_tag = f"{tag}{'c' if copy else 'e'}"
                        base_event = await new_event(sm, now, f"Baseline {base_tag}")
                        rows = baseline_rows(people_csv(n, base_tag), base_event, f"Baseline {base_tag}", now, stamp)
                        t0 = time.perf_counter()
                        if pg:
                            await pg_write(bare.pg, rows, base_event, expires, copy=copy)
                        else:
                            assert bare.lite is not None
                            lite_write(bare.lite, rows, base_event, lite_stamp(expires))
                        timings["copy" if copy else "executemany"] = time.perf_counter() - t0
                    if rnd == 0:
                        continue
                    figures.preview.values.append(ms(preview_s))
                    figures.imported.values.append(ms(import_s))
                    figures.executemany.values.append(ms(timings["executemany"]))
                    if "copy" in timings:
                        figures.copy.values.append(ms(timings["copy"]))
                    figures.statements[statements] += 1
                    figures.breakdown = breakdown
                out.append(figures)
    finally:
        await engine.dispose()
    return out


def report_import(results: list[ImportFigures]) -> None:
    pg = bool(results and results[0].copy.values)
    print("CSV import of N people into a fresh event (p50 over the rounds; the baseline writes the same rows on a bare connection)")
    head = f"{'N':>6}  {'preview ms':>10}  {'import ms':>10}  {'executemany ms':>14}  {'ratio':>6}"
    if pg:
        head += f"  {'COPY ms':>8}  {'ratio':>6}"
    head += f"  {'import rows/s':>13}  {'import p99 ms':>13}  statements"
    print(head)
    for f in results:
        line = (f"{f.size:>6,}  {f.preview.p(50):>10.1f}  {f.imported.p(50):>10.1f}  {f.executemany.p(50):>14.1f}  "
                f"{f.imported.p(50) / f.executemany.p(50):>6.1f}")
        if pg:
            line += f"  {f.copy.p(50):>8.1f}  {f.imported.p(50) / f.copy.p(50):>6.1f}"
        counts = ", ".join(f"{n}" + (f" ({k}x)" if len(f.statements) > 1 else "") for n, k in sorted(f.statements.items()))
        line += f"  {f.size / (f.imported.p(50) / 1000):>13,.0f}  {f.imported.p(99):>13.1f}  {counts} (preview {f.preview_statements})"
        print(line)
    if results:
        print(f"  import statements at N = {results[-1].size:,}: {results[-1].breakdown}")


# --------------------------------------------------------------------------- 2. the dashboard


@dataclass
class Board:
    event_id: int
    chats: Counter[str]
    seconds: float


# The fate of chat c: its status, and for a cancel the status it was cancelled from and whether its sender did it.
FATES: Sequence[tuple[str, str | None, bool]] = (
    [("pending", None, False)] * 5 + [("accepted", None, False)] * 3 + [("confirmed", None, False)] * 4
    + [("completed", None, False)] * 3 + [("declined", None, False)] * 2 + [("cancelled", "pending", True)]
    + [("cancelled", "accepted", False)] * 2
)


async def seed_board(sm: async_sessionmaker[AsyncSession], now: dt.datetime, *, talents: int, recruiters: int, companies: int,
                     chats_per_talent: int) -> Board:
    t0 = time.perf_counter()
    event_id = await new_event(sm, now, "Dashboard benchmark")
    per_company = -(-recruiters // companies)
    lines = ["name,email,role,company"]
    lines += [f"Recruiter {i:03d},rec{i}@board.test,recruiter,Company {i // per_company}" for i in range(recruiters)]
    lines += [f"Talent {i:04d},tal{i}@board.test,talent," for i in range(talents)]
    async with sm() as s, s.begin():
        admin = await accounts.user_by_email(s, ADMIN)
        assert admin is not None
        await roster.import_csv(s, actions.Context(now=now), admin, event_id, "people", "\n".join(lines) + "\n")
    async with sm() as s, s.begin():
        ev = await s.get(Event, event_id)
        assert ev is not None
        members = (await s.execute(select(Participant.id, Participant.user_id, Participant.role, User.email)
                                   .join(User, User.id == Participant.user_id).where(Participant.event_id == event_id))).all()
        order = {f"rec{i}@board.test": i for i in range(recruiters)} | {f"tal{i}@board.test": i for i in range(talents)}
        rec = sorted((order[m.email], m.id, m.user_id) for m in members if m.role == Role.RECRUITER.value)
        tal = sorted((order[m.email], m.user_id) for m in members if m.role == Role.TALENT.value)
        rec_users, tal_users = [r[2] for r in rec], [t[1] for t in tal]
        day0 = ev.starts_at
        await s.execute(insert(Availability), [
            {"participant_id": pid, "starts_at": day0 + dt.timedelta(days=d, hours=8), "ends_at": day0 + dt.timedelta(days=d, hours=20)}
            for _i, pid, _uid in rec for d in range(DAYS)
        ])
        per_day = 12 * 60 // SLOT_MINUTES
        total = talents * chats_per_talent
        rng = random.Random(1)
        rows, fates = [], []
        for c in range(total):
            t, j = divmod(c, chats_per_talent)
            r = (t * chats_per_talent + j) % recruiters
            status, cancelled_from, by_sender = rng.choice(FATES)
            sender = rec_users[r] if c % 9 == 0 else tal_users[t]
            # Distinct slots for each recruiter (c // recruiters differs) and each talent (j differs).
            index = (c // recruiters) * chats_per_talent + j
            start = day0 + dt.timedelta(days=index // per_day, hours=8, minutes=(index % per_day) * SLOT_MINUTES)
            booked = status in ("confirmed", "completed")
            closer = None
            if status == "declined":
                closer = rec_users[r] if sender != rec_users[r] else tal_users[t]
            elif status == "cancelled":
                other = rec_users[r] if sender == tal_users[t] else tal_users[t]
                closer = sender if by_sender else other
            rows.append({
                "event_id": event_id, "talent_id": tal_users[t], "recruiter_id": rec_users[r], "sender_id": sender,
                "message": f"Hello, this is chat {c}. I'd love to talk about the backend role.", "answer": "Sure!" if booked else "",
                "question": "", "status": status, "uses_credit": False, "starts_at": start if booked else None,
                "ends_at": start + dt.timedelta(minutes=SLOT_MINUTES) if booked else None, "ical_uid": f"board-{event_id}-{c}@bench.test",
                "ical_sequence": 0, "invite_sent": booked, "reason": "Not this time." if status in ("declined", "cancelled") else "",
                "closed_by_id": closer, "created_at": now, "updated_at": now,
            })
            fates.append((status, cancelled_from, closer, c))
        await s.execute(insert(ChatRequest), rows)
        ids = dict((await s.execute(select(ChatRequest.ical_uid, ChatRequest.id).where(ChatRequest.event_id == event_id))).all())
        history, outcomes = [], []
        for row, (status, cancelled_from, closer, c) in zip(rows, fates, strict=True):
            cid = ids[row["ical_uid"]]
            history.append({"chat_request_id": cid, "actor_id": row["sender_id"], "from_status": None, "to_status": "pending", "note": "",
                            "created_at": now})
            steps = {"accepted": ["accepted"], "confirmed": ["accepted", "confirmed"], "completed": ["accepted", "confirmed", "completed"],
                     "declined": ["declined"], "cancelled": (["accepted"] if cancelled_from == "accepted" else []) + ["cancelled"]}.get(status, [])
            before = "pending"
            for step in steps:
                actor = closer if step in ("declined", "cancelled") else row["recruiter_id"] if step == "accepted" else row["talent_id"]
                history.append({"chat_request_id": cid, "actor_id": actor, "from_status": before, "to_status": step, "note": "", "created_at": now})
                before = step
            if status == "completed":
                outcomes.append({"chat_request_id": cid, "notes": "Strong on SQL.", "rating": 1 + c % 5, "next_step": "Second interview",
                                 "no_show": c % 4 == 0, "recorded_by_id": row["recruiter_id"], "updated_at": now})
        await s.execute(insert(ChatEvent), history)
        if outcomes:
            await s.execute(insert(ChatOutcome), outcomes)
    async with sm() as s:
        chats: Counter[str] = Counter(dict((await s.execute(
            select(ChatRequest.status, func.count()).where(ChatRequest.event_id == event_id).group_by(ChatRequest.status))).all()))
    return Board(event_id, chats, time.perf_counter() - t0)


@dataclass
class BoardFigures:
    label: str
    app: Series = field(default_factory=Series)
    bare: Series = field(default_factory=Series)
    statements: Counter[int] = field(default_factory=Counter)
    breakdown: str = ""
    rows: int = 0


async def measure_board(url: str, event_id: int, *, iterations: int, warmup: int) -> tuple[BoardFigures, BoardFigures, Any]:
    engine = create_engine(url)
    counter = QueryCounter(engine)
    sm = create_sessionmaker(engine)
    board = BoardFigures("dashboard.event_dashboard")
    export = BoardFigures("chats CSV export (export_rows + export_csv)")
    last: Any = None
    try:
        async with BareReplay(url) as bare:
            for i in range(warmup + iterations):
                async with sm() as s:
                    ev = await s.get(Event, event_id)
                    assert ev is not None
                    now = dt.datetime.now(dt.UTC)
                    counter.reset()
                    t0 = time.perf_counter()
                    last = await dashboard.event_dashboard(s, ev, now=now)
                    board_ms = ms(time.perf_counter() - t0)
                board_sql, board_params, board_kinds = list(counter.statements), list(counter.parameters), counter.breakdown()
                t0 = time.perf_counter()
                board_rows = await bare.run(board_sql, board_params)
                board_bare_ms = ms(time.perf_counter() - t0)

                async with sm() as s:
                    ev = await s.get(Event, event_id)
                    assert ev is not None
                    counter.reset()
                    t0 = time.perf_counter()
                    body = dashboard.export_csv(await dashboard.export_rows(s, ev))
                    export_ms = ms(time.perf_counter() - t0)
                export_sql, export_params, export_kinds = list(counter.statements), list(counter.parameters), counter.breakdown()
                t0 = time.perf_counter()
                export_rows = await bare.run(export_sql, export_params)
                export_bare_ms = ms(time.perf_counter() - t0)
                if i < warmup:
                    continue
                for f, app_ms, bare_ms, sql, kinds, n in ((board, board_ms, board_bare_ms, board_sql, board_kinds, board_rows),
                                                         (export, export_ms, export_bare_ms, export_sql, export_kinds, export_rows)):
                    f.app.values.append(app_ms)
                    f.bare.values.append(bare_ms)
                    f.statements[len(sql)] += 1
                    f.breakdown, f.rows = kinds, n
                export.label = f"chats CSV export (export_rows + export_csv, {body.count(chr(10)) - 1} lines, {len(body) / 1024:.0f} KiB)"
    finally:
        await engine.dispose()
    return board, export, last


def report_board(results: tuple[BoardFigures, BoardFigures, Any], backend: str) -> None:
    print(f"{'':<62}  {'p50 ms':>7}  {'p99 ms':>7}  {'ratio p50 / p99':>15}  statements")
    for f in results[:2]:
        counts = ", ".join(str(n) for n in sorted(f.statements))
        print(f"{f.label:<62}  {f.app.p(50):>7.1f}  {f.app.p(99):>7.1f}  "
              f"{f.app.p(50) / f.bare.p(50):>7.1f} / {f.app.p(99) / f.bare.p(99):<5.1f}  {counts}  [{f.breakdown}]")
        print(f"{'  baseline: the same statements on a bare ' + backend + ' connection':<62}  {f.bare.p(50):>7.1f}  {f.bare.p(99):>7.1f}"
              f"  {'':>15}  ({f.rows} rows)")


# --------------------------------------------------------------------------- main


async def run(url: str, args: argparse.Namespace) -> int:
    backend = make_url(url).get_backend_name()
    print(f"database: {backend}")
    if not args.no_import:
        print()
        report_import(await measure_import(url, args.sizes, args.rounds, analyze=not args.no_analyze))
    if not args.no_dashboard:
        engine = create_engine(url)
        try:
            seeded = await seed_board(create_sessionmaker(engine), dt.datetime.now(dt.UTC), talents=args.talents, recruiters=args.recruiters,
                                      companies=args.companies, chats_per_talent=args.chats_per_talent)
            if backend == "postgresql":
                async with engine.begin() as conn:
                    await conn.exec_driver_sql("ANALYZE")
        finally:
            await engine.dispose()
        chats = ", ".join(f"{k} {v}" for k, v in sorted(seeded.chats.items()))
        print()
        print(f"dashboard: {args.talents} talents, {args.recruiters} recruiters in {args.companies} companies, chats: {chats} "
              f"(seeded in {seeded.seconds:.1f} s{', then ANALYZE' if backend == 'postgresql' else ''}); "
              f"{args.iterations} calls each after {args.warmup} unmeasured")
        results = await measure_board(url, seeded.event_id, iterations=args.iterations, warmup=args.warmup)
        report_board(results, backend)
        board = results[2]
        if board is not None:
            print("  the dashboard's categories: " + ", ".join(f"{k} {v}" for k, v in board.total.by_category.items())
                  + f"; no-shows {board.total.no_show}, talents without a booked chat {len(board.talents_without_chat)}")
        total = sum(seeded.chats.values())
        if board is None or board.total.requests != total or len(board.recruiters) != args.recruiters or board.talents != args.talents:
            print(f"  MISMATCH: the dashboard counts {board.total.requests if board else '?'} chats, expected {total}")
            return 1
    return 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--sizes", default="300,2000,5000", help="people per imported file, comma-separated (default 300,2000,5000; at most 5000)")
    p.add_argument("--rounds", type=int, default=5, help="measured imports of each size, after one unmeasured (default 5)")
    p.add_argument("--talents", type=int, default=300, help="talents of the dashboard's event (default 300)")
    p.add_argument("--recruiters", type=int, default=30, help="recruiters of the dashboard's event (default 30)")
    p.add_argument("--companies", type=int, default=5, help="companies of the dashboard's event (default 5)")
    p.add_argument("--chats-per-talent", type=int, default=3, help="chats of each talent, each with another recruiter (default 3)")
    p.add_argument("--iterations", type=int, default=100, help="measured dashboard and export calls (default 100)")
    p.add_argument("--warmup", type=int, default=5, help="unmeasured dashboard and export calls first (default 5)")
    p.add_argument("--no-analyze", action="store_true", help="import without planner statistics (no ANALYZE before each round)")
    p.add_argument("--no-import", action="store_true", help="skip the import part")
    p.add_argument("--no-dashboard", action="store_true", help="skip the dashboard part")
    p.add_argument("--sqlite", action="store_true", help="run on a temporary SQLite file instead of PostgreSQL")
    p.add_argument("--url", default=PG_ADMIN_URL,
                   help=f"PostgreSQL admin URL; the temporary database is created beside it (default {PG_ADMIN_URL})")
    args = p.parse_args(argv)
    try:
        args.sizes = [int(x) for x in args.sizes.split(",") if x.strip()]
    except ValueError:
        p.error("--sizes: comma-separated numbers")
    if not args.sizes or any(n < 1 or n > roster.MAX_ROWS for n in args.sizes):
        p.error(f"--sizes: each between 1 and {roster.MAX_ROWS}")
    if args.rounds < 1 or args.iterations < 1 or args.warmup < 0 or args.talents < 1 or args.companies < 1:
        p.error("--rounds, --iterations, --talents and --companies must be at least 1, --warmup at least 0")
    if not 1 <= args.chats_per_talent <= args.recruiters:
        p.error("--chats-per-talent: between 1 and --recruiters")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with temporary_database(args.url, args.sqlite) as url:
        return asyncio.run(run(url, args))


if __name__ == "__main__":
    sys.exit(main())
