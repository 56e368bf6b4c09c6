"""Live-chat desk under load: offers to accept in time, forwards, invitations and take-overs racing each other, through a
real server with a real clock, checked by SQL while it runs.

What it does:

1. Creates a throw-away PostgreSQL database, migrates it, makes the admin's and the staff's accounts and starts the app
   in a child process (`tests.live.serve_process` with `real_clock=True, desk_jobs=True`: offers expire by the real time,
   the desk's timer moves them on every second; the other background jobs stay off). `--nodes 2` starts two processes
   on the same database sharing Redis (127.0.0.1:6379, a prefix of their own); candidates and staff alternate between
   them, and both nodes run the offer timer (two timers racing for the same expired offer).
2. Seeds through the API: an event, a company, S staff (default 12) as its recruiters, all assigned to one job req with
   two knockout questions (the second, "Which team?", routes by a routing rule to team A or team B, S/2 people each),
   seats of capacity C (default 3) with automatic assignment, and the event's desk setting `accept_seconds` (default
   10, the smallest the API takes; `--accept-seconds 4` writes a shorter time by SQL, a test-only knob: the desk reads
   the column, only the API refuses less than 10). Each staff member opens the console socket `/ws/live/console`.
3. N candidates (default 200) start chats (half per team), connect the candidate socket `/ws/live`, stay connected
   and answer every staff line.
4. Staff behaviour (seeded random): an `offer` frame is accepted (60 %), declined (15 %) or ignored until it runs out
   (25 %); now and then the one offered clicks Accept twice at once, or a colleague tries to take the offered chat from
   the list at the same moment. Owning a chat, the owner exchanges a few lines with the candidate, sometimes lets a
   colleague monitor it invisibly, then ends it (next step, outcome), forwards it to a colleague or to the other team
   with a note, invites a colleague (who accepts, declines or ignores; a member says a line and may leave again),
   leaves it to a visible member, or has a colleague take it over - alone, racing the owner's own forward or end, or
   racing a second colleague's take-over. At most `--max-handoffs` hand-offs per chat, then it ends. A chat that sits
   without an offer (`--rescue-after` seconds) while someone of its queue seems to have a free seat is taken by hand
   from the list, as a person would; why it sat is read from the desk's own rules on the database (offered
   meanwhile, nobody free by the desk's count, everyone free had passed on it - by design - or a gap: someone free
   who hadn't passed on it, still so 6 s later, which fails the run).
5. Measures: offers made / accepted / declined / expired / withdrawn (SQL, by reason), forwards, take-overs,
   invitations; hand-off latency (forward sent -> the new owner's accept response, the accepter's think time taken
   out; an offer's expiry -> the next offer's frame on a console; the take-over request); request times; the time
   from a chat's start to its end; the server's CPU and PostgreSQL's.
6. Checks (exit 1 on any failure), by SQL sampled every 0.2 s in one snapshot each: no active chat without an owner,
   no waiting/transfer chat with one, at most one pending routing/forward offer per chat and only on a waiting or
   forwarded chat offered to that person (and `offered_to_id` names a pending offer), no owner also listed as a
   member, no ended chat with pending offers or members still in, live_agents.active_chats equal to the active chats
   each person owns and never over capacity, no offer still pending a few seconds (`--overdue-grace`) after it ran out.
   At the end: every chat ended (those still open at the deadline are listed); no two successful ownership changes
   out of one race; per chat and person, the candidate saw exactly one `joined` notice per accepted offer (routing,
   forward, invitation) or take by hand, and one `took_over` per successful take-over, and the stored transcript
   agrees; no frame a candidate got ever names a colleague who only monitored invisibly; every line acked and
   delivered; no forward offered back to its sender; no chat left unoffered by a gap; no server error (the children's
   output is captured: any Traceback, ERROR or exception fails). A connection reset before an answer (seen only on a
   saturated machine) is resolved by reading the chat back; unresolved, it fails.

The physical baseline runs in the same run on the same PostgreSQL database once the load is over: the same number of
ownership hand-offs as the run made (accepted forwards, take-overs, hand-overs on leave), each one bare SQL
transaction - `UPDATE ... SET recruiter_id = new WHERE id = ? AND recruiter_id = old AND status = 'active'`, then the
two seat rows in user-id order (the new one only under capacity) - on copies of live_chats and live_agents (their rows,
indexes and checks), by S concurrent connections. Ratios Fairmeet / baseline are printed; the machine is shared and
noisy, so the ratio is the figure to compare.

    .venv/bin/python benchmarks/desk_load.py                        # 200 candidates, 12 staff (2 teams x 6) x 3 seats, accept in 10 s
    .venv/bin/python benchmarks/desk_load.py --nodes 2
    .venv/bin/python benchmarks/desk_load.py --accept-seconds 4 --candidates 400 --wait 400
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import os
import random
import re
import shutil
import signal
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict, deque
from collections.abc import Awaitable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import asyncpg  # type: ignore[import-untyped]  # noqa: E402
import httpx  # noqa: E402
import orjson  # noqa: E402
from argon2 import PasswordHasher  # noqa: E402
from sqlalchemy import select  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from benchmarks.queue_load import LIMITS, PG_ADMIN_URL, Candidate, Recruiter, api, bearer, cpu_seconds, make_users, pct  # noqa: E402
from scheduling import accounts, migrate  # noqa: E402
from scheduling.db import admin_sql, create_engine, create_sessionmaker  # noqa: E402
from scheduling.livechat import chats, desk, routing  # noqa: E402
from scheduling.livechat.models import Agent, LiveChat  # noqa: E402
from tests.live import serve_process  # noqa: E402

TEAMS = ("Engineering", "Sales")
LINE = re.compile(r"^[sma][0-9]+x[0-9]+x[0-9]+$")  # s: owner's line, m: a member's, a: the candidate's answer
END_STEPS = ("Interview", "Screen", "Pipeline", "Not a fit")
EXPECTED_LOSERS = {  # what the losing side of a race may hear, by operation
    "take-over": {"409 owner_changed", "409 not_active", "409 at_capacity", "409 already_in_chat", "404 chat_not_found"},
    "forward": {"403 not_your_chat", "409 not_active", "404 chat_not_found"},
    "end": {"403 not_your_chat", "404 chat_not_found"},
    "take": {"409 offered_elsewhere", "409 already_taken", "404 chat_not_found", "409 at_capacity"},
    "accept": {"409 offer_gone", "409 already_taken", "409 offer_expired", "404 chat_not_found"},
}
ACTIONS = {"end": 40, "forward": 15, "team": 10, "take-over": 15, "invite": 12, "leave": 8}


def wall() -> float:
    return time.time()


def iso_wall(value: str) -> float:
    return dt.datetime.fromisoformat(value).timestamp()


def pg_cpu() -> float:
    """CPU seconds of every PostgreSQL process on this machine (shared with whatever else runs on it)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            raw = (entry / "stat").read_text()
            if raw[raw.index("(") + 1 : raw.rindex(")")] == "postgres":
                total += cpu_seconds(int(entry.name))
    return total


# --------------------------------------------------------------------------- what a run records


@dataclass
class OfferSeen:
    chat: int
    uid: int
    reason: str
    by: int | None
    offered_at: str  # the server's ISO time: matches live_offers.offered_at
    expires_wall: float
    arrived_wall: float
    decision: str = ""


@dataclass
class Line:
    cid: str
    sent: float
    acked: float | None = None
    delivered: list[float] = field(default_factory=list)
    refused: str = ""


@dataclass
class ChatState:
    chat: int
    cand: DeskCandidate | None = None
    queue: str = ""
    status: str = "waiting"  # as the candidate's status frames (and our own responses) say
    owner: int | None = None
    members: set[int] = field(default_factory=set)  # visible members, as our responses say
    monitors: set[int] = field(default_factory=set)  # joined invisibly at some point
    ever_visible: set[int] = field(default_factory=set)  # owned it or was a visible member at some point
    handoffs: int = 0
    offer: OfferSeen | None = None  # the pending routing/forward offer, as the consoles saw it
    unoffered_since: float = field(default_factory=time.monotonic)
    forward_sent: float | None = None  # monotonic time of the last forward's request, until someone accepts it
    forward_first: bool = True  # the forward's first offer was accepted (no time-out or decline in between)
    forward_offers: int = 0  # offer frames since the last forward
    invite_done: asyncio.Event | None = None
    accepted: Counter[int] = field(default_factory=Counter)  # accept 200s per person (routing, forward, invitation)
    taken: Counter[int] = field(default_factory=Counter)  # taken by hand (POST /take) per person
    took_over: Counter[int] = field(default_factory=Counter)  # take-over 200s per person
    started_at: float = 0.0
    ended_at: float | None = None
    busy: bool = False  # an owner session or an operation is under way (the hand-taker leaves it alone)
    history: list[str] = field(default_factory=list)


@dataclass
class Run:
    args: argparse.Namespace
    bases: list[str]
    rng: random.Random
    job_id: int = 0
    question_id: int = 0
    team_question_id: int = 0
    teams: dict[int, list[int]] = field(default_factory=dict)  # team id -> member user ids
    team_names: dict[str, int] = field(default_factory=dict)  # "Engineering team" -> team id
    job_label: str = ""
    staff: dict[int, Staff] = field(default_factory=dict)
    chats: dict[int, ChatState] = field(default_factory=dict)
    candidates: dict[int, Any] = field(default_factory=dict)
    lines: dict[str, Line] = field(default_factory=dict)
    waiters: dict[str, tuple[int, asyncio.Future[float]]] = field(default_factory=dict)  # answer cid -> (who waits, future)
    offers: list[OfferSeen] = field(default_factory=list)
    offer_arrivals: dict[tuple[int, int, str], float] = field(default_factory=dict)  # (chat, user, offered_at) -> arrival wall time
    counts: Counter[str] = field(default_factory=Counter)
    codes: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    op_ms: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    forward_accept_ms: list[float] = field(default_factory=list)  # forward sent -> accept response, first offer accepted
    forward_any_ms: list[float] = field(default_factory=list)  # forward sent -> accept response, however many offers it took
    chat_seconds: list[float] = field(default_factory=list)
    races: Counter[str] = field(default_factory=Counter)
    double_wins: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    http_failures: list[str] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    error_examples: list[str] = field(default_factory=list)
    start_ms: list[float] = field(default_factory=list)
    rescued: list[str] = field(default_factory=list)
    rescue_why: Counter[str] = field(default_factory=Counter)
    desk_gaps: list[str] = field(default_factory=list)
    ended: int = 0
    all_ended: asyncio.Event = field(default_factory=asyncio.Event)
    stopping: bool = False
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)
    seq: int = 0

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task: asyncio.Task[Any] = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.fail_http(f"client task failed: {task.exception()!r}")

    def fail_http(self, what: str) -> None:
        self.http_failures.append(what)
        if len(self.http_failures) <= 5:
            print(f"!! {what}")

    def error(self, who: str, frame: dict[str, Any]) -> None:
        self.errors[f"{who}:{frame.get('code')}"] += 1
        if len(self.error_examples) < 5:
            self.error_examples.append(f"{who}: {frame}")

    def chat(self, chat_id: int) -> ChatState:
        cs = self.chats.get(chat_id)
        if cs is None:
            cs = self.chats[chat_id] = ChatState(chat_id, started_at=time.monotonic())
        return cs

    def next_id(self, kind: str, chat: int, uid: int) -> str:
        self.seq += 1
        return f"{kind}{chat}x{uid}x{self.seq}"

    def over(self, cs: ChatState, how: str) -> None:
        if cs.ended_at is not None:
            return
        cs.ended_at = time.monotonic()
        cs.status = "ended"
        cs.history.append(f"ended ({how})")
        if cs.cand is not None and cs.cand.started_at:
            self.chat_seconds.append(cs.ended_at - cs.cand.started_at)
        self.ended += 1
        if self.ended >= len(self.candidates) and len(self.candidates) >= self.args.candidates_started:
            self.all_ended.set()

    def queue_of_label(self, label: str, uid: int) -> str:
        if label in self.team_names:
            return f"team:{self.team_names[label]}"
        if label == "Sent to you":
            return f"user:{uid}"
        return f"job:{self.job_id}"

    def eligible(self, cs: ChatState) -> list[int]:
        """Who may join or take over the chat now: its team's members when a team has it, else everyone (the job req's desk)."""
        if cs.queue.startswith("team:"):
            return list(self.teams[int(cs.queue.split(":")[1])])
        return list(self.staff)

    def think(self) -> float:
        t: float = self.args.think
        return self.rng.uniform(0.5, 1.5) * t if t else 0.0


# --------------------------------------------------------------------------- the candidate


class DeskCandidate(Candidate):
    """A candidate who answers every staff line and records every frame naming staff (for the monitor and notice checks)."""

    def __init__(self, run: Run, n: int, http: httpx.AsyncClient) -> None:
        super().__init__(run, n, http)  # type: ignore[arg-type]
        self.drun = run
        self.team = n % 2
        self.notices: list[tuple[str, int | None, str]] = []  # (event, author id, name)
        self.named: list[tuple[int | None, str, str]] = []  # every (id, name, where) of staff in any frame
        self.started_at = 0.0
        self.statuses: list[str] = []

    async def start(self) -> bool:
        run = self.drun
        body = {"name": f"Cara Candidate {self.n}", "email": f"cara{self.n}@mail.example",
                "answers": {str(run.question_id): "Yes", str(run.team_question_id): TEAMS[self.team]},
                "start_key": f"desk-{self.n}-{uuid.uuid4().hex[:12]}", "source_url": "https://jobs.example/backend"}
        t0 = time.monotonic()
        r = await self.http.post(f"/api/v1/job-reqs/{run.job_id}/chats", json=body)
        run.start_ms.append((time.monotonic() - t0) * 1000)
        if r.status_code != 201:
            run.fail_http(f"start chat: HTTP {r.status_code} {r.text[:300]}")
            return False
        out = r.json()
        self.chat_id, self.token = out["chat_id"], out["token"]
        if out["status"] != "waiting":
            run.fail_http(f"start chat: status {out['status']} (expected waiting: chats are offered, never given)")
        self.started_at = t0
        cs = run.chat(self.chat_id)
        cs.cand, cs.started_at = self, t0
        if not cs.queue:
            cs.queue = f"team:{list(run.teams)[self.team]}"
        run.candidates[self.chat_id] = self
        return True

    def on(self, m: dict[str, Any], now: float) -> None:
        run = self.drun
        kind = m.get("type")
        cs = run.chats.get(self.chat_id)
        if kind == "welcome":
            if not self.welcomed.done():
                self.welcomed.set_result(None)
        elif kind == "status":
            self.statuses.append(m["status"])
            rec = m.get("recruiter")
            if rec:
                self.named.append((None, rec.get("name", ""), "status"))
            if cs is not None:
                cs.status = m["status"]
                if m["status"] == "ended":
                    run.over(cs, "status frame")
            if m["status"] == "ended" and not self.ended:
                self.ended = True
        elif kind == "event":
            seq = m["seq"]
            if seq in self.seqs:
                self.dup_seqs += 1
            self.seqs.add(seq)
            author = m.get("author") or {}
            body = m.get("body") or {}
            if author.get("role") == "recruiter" or body.get("role") == "recruiter":
                self.named.append((author.get("id"), str(body.get("name") or author.get("name") or ""), m["kind"]))
            if m["kind"] == "notice":
                self.notices.append((str(body.get("event")), author.get("id"), str(body.get("name") or "")))
            cid = m.get("client_id") or ""
            if m["kind"] == "message" and LINE.match(cid) and cid[0] in "sm":
                line = run.lines.get(cid)
                if line is not None:
                    line.delivered.append(now)
                run.spawn(self.answer(cid))
        elif kind == "typing":
            self.named.append((None, str(m.get("name") or ""), "typing"))
        elif kind == "ack":
            line = run.lines.get(m.get("client_id") or "")
            if line is not None and line.acked is None:
                line.acked = now
        elif kind == "error":
            run.error("candidate", m)
            line = run.lines.get(m.get("client_id") or "")
            if line is not None:
                if m.get("code") in ("busy", "rate_limited"):
                    run.spawn(self.resend(line.cid, 1.0 if m.get("code") == "rate_limited" else 0.2))
                else:
                    line.refused = str(m.get("code"))

    async def answer(self, cid: str) -> None:
        await asyncio.sleep(self.drun.think() / 2)
        await self.resend("a" + cid[1:], 0.0)

    async def resend(self, cid: str, delay: float) -> None:
        if delay:
            await asyncio.sleep(delay)
        if self.ended or self.ws is None:
            return
        self.drun.lines.setdefault(cid, Line(cid, time.monotonic()))
        with contextlib.suppress(Exception):
            await self.ws.send(orjson.dumps({"type": "chat", "client_id": cid, "text": f"Candidate {self.n} answers {cid}"}).decode())


# --------------------------------------------------------------------------- the staff


class Staff(Recruiter):
    """One staff member: a console socket (offers, lines of watched chats) and an API token for the desk's operations."""

    def __init__(self, run: Run, n: int, uid: int, email: str, http: httpx.AsyncClient, token: str) -> None:
        super().__init__(run, n, uid, email, http, token)  # type: ignore[arg-type]
        self.drun = run
        self.name = f"Rita Recruiter {n}"
        self.owned: set[int] = set()
        self.watched: set[int] = set()
        self.pending: dict[int, float] = {}  # type: ignore[assignment]  # chat -> expiry (wall): offered to me, not yet decided
        self.invites: dict[int, OfferSeen] = {}  # chat -> the invitation to it I have (the last one)
        self.free_since: float | None = None
        self.watch_queue: deque[int] = deque()  # watches sent and not yet answered, in order (the socket answers in order)
        self.team = 0

    def free_seats(self) -> int:
        capacity: int = self.drun.args.capacity
        now = wall()
        return capacity - len(self.owned) - sum(1 for expires in self.pending.values() if expires > now)  # as the desk counts

    def on(self, m: dict[str, Any], now: float) -> None:
        run = self.drun
        kind = m.get("type")
        if kind == "welcome":
            if not self.welcomed.done():
                self.welcomed.set_result(None)
        elif kind == "offer":
            run.counts[f"offer frames ({m['reason']})"] += 1
            on_offer(run, self, m)
        elif kind == "offer_gone":
            on_offer_gone(run, self, m)
        elif kind == "event":
            cid = m.get("client_id") or ""
            if m["kind"] == "message" and LINE.match(cid) and cid[0] == "a":
                line = run.lines.get(cid)
                cs = run.chats.get(m["chat"])
                if line is not None and cs is not None and self.uid in (cs.owner, *cs.members):
                    line.delivered.append(now)
                waiter = run.waiters.get(cid)
                if waiter is not None and waiter[0] == self.uid and not waiter[1].done():
                    waiter[1].set_result(now)
        elif kind == "ack":
            line = run.lines.get(m.get("client_id") or "")
            if line is not None and line.acked is None:
                line.acked = now
        elif kind == "error":
            if not m.get("client_id") and self.watch_queue:  # a watch refused: which chat, and was it ours to see?
                cs = run.chats[self.watch_queue.popleft()]
                self.watched.discard(cs.chat)
                m = {**m, "watch": cs.chat, "history": cs.history[-4:], "monitors": sorted(cs.monitors)}
                if cs.ended_at is None and (cs.owner == self.uid or self.uid in cs.members):
                    run.unexpected.append(f"watch of chat {cs.chat} refused to its {'owner' if cs.owner == self.uid else 'member'} {self.n}: {m}")
                else:
                    run.counts["watches refused (the chat ended or moved on before the watch was read)"] += 1
                    return
            run.error(f"staff {self.n}", m)
            line = run.lines.get(m.get("client_id") or "")
            if line is not None:
                line.refused = str(m.get("code"))
        elif kind == "watching":
            with contextlib.suppress(ValueError):
                self.watch_queue.remove(m.get("chat", 0))
        elif kind == "unwatched":
            run.counts["unwatched frames"] += 1
            self.watched.discard(m.get("chat", 0))
        elif kind == "assigned":
            run.counts["assigned frames"] += 1

    async def op(self, chat: int, what: str, body: dict[str, Any] | None = None) -> tuple[int, str, dict[str, Any]]:
        """POST /api/v1/live-chats/{chat}/{what}: (status, error code or '', JSON). A 5xx or a broken connection is a failure."""
        run = self.drun
        t0 = time.monotonic()
        try:
            r = await self.http.post(f"/api/v1/live-chats/{chat}/{what}", headers=self.auth, json=body or {})
        except httpx.TransportError as err:
            return await self.settle(chat, what, body, err)
        run.op_ms[what].append((time.monotonic() - t0) * 1000)
        data: dict[str, Any] = r.json() if r.headers.get("content-type", "").startswith("application/json") else {}
        code = (data.get("error") or {}).get("code", "") if r.status_code >= 400 else ""
        run.codes[what][f"{r.status_code} {code}".strip()] += 1
        if r.status_code >= 500:
            run.fail_http(f"{what} chat {chat} by {self.n}: HTTP {r.status_code} {r.text[:200]}")
        return r.status_code, code, data

    async def settle(self, chat: int, what: str, body: dict[str, Any] | None, err: Exception) -> tuple[int, str, dict[str, Any]]:
        """The connection broke before an answer (seen only on a saturated machine: a reset with nothing logged by the server).
        Whether the operation went through is read back from the chat as this person sees it: done -> as if answered 200;
        evidently not done -> sent once more; otherwise a failure."""
        run = self.drun
        cause = err.__cause__ or err.__context__
        await asyncio.sleep(0.5)
        try:
            r = await self.http.get(f"/api/v1/live-chats/{chat}", headers=self.auth)
        except httpx.TransportError as again:
            run.fail_http(f"{what} chat {chat} by {self.n}: {err!r} ({cause!r}), and reading it back: {again!r}")
            return 0, "transport", {}
        view: dict[str, Any] = r.json() if r.status_code == 200 else {}
        owner = (view.get("recruiter") or {}).get("id")
        done = {"accept": owner == self.uid or view.get("you") == "visible", "end": view.get("status") == "ended",
                "forward": r.status_code == 404 or view.get("status") == "transfer", "take-over": owner == self.uid,
                "take": owner == self.uid, "join": view.get("you") in ("visible", "invisible"),
                "decline": r.status_code == 404 or (view.get("offered_to") or {}).get("id") != self.uid,
                "leave": r.status_code == 404 or view.get("you") not in ("owner", "visible", "invisible")}.get(what, False)
        run.counts[f"connections reset before an answer ({what})"] += 1
        if done:
            run.counts["  ... and the operation had gone through"] += 1
            return 200, "", {"chat": view}
        try:
            r = await self.http.post(f"/api/v1/live-chats/{chat}/{what}", headers=self.auth, json=body or {})
        except httpx.TransportError as again:
            run.fail_http(f"{what} chat {chat} by {self.n}: {err!r} ({cause!r}), twice: {again!r}")
            return 0, "transport", {}
        run.counts["  ... and was sent again"] += 1
        data: dict[str, Any] = r.json() if r.headers.get("content-type", "").startswith("application/json") else {}
        code = (data.get("error") or {}).get("code", "") if r.status_code >= 400 else ""
        run.codes[what][f"{r.status_code} {code}".strip()] += 1
        return r.status_code, code, data

    async def watch(self, chat: int) -> None:
        if chat not in self.watched:
            self.watched.add(chat)
            self.watch_queue.append(chat)
            await self.send({"type": "watch", "chat": chat, "last_seq": None})

    async def unwatch(self, chat: int) -> None:
        if chat in self.watched:
            self.watched.discard(chat)
            await self.send({"type": "unwatch", "chat": chat})

    async def speak(self, cs: ChatState, kind: str) -> tuple[Line, asyncio.Future[float]]:
        run = self.drun
        cid = run.next_id(kind, cs.chat, self.uid)
        fut: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        run.waiters["a" + cid[1:]] = (self.uid, fut)
        line = run.lines[cid] = Line(cid, time.monotonic())
        await self.send({"type": "chat", "chat": cs.chat, "client_id": cid, "text": f"{self.name} says {cid}"})
        return line, fut


# --------------------------------------------------------------------------- offers


def on_offer(run: Run, st: Staff, m: dict[str, Any]) -> None:
    now_wall = wall()
    seen = OfferSeen(m["chat"], st.uid, m["reason"], (m.get("by") or {}).get("id"), m["offered_at"], iso_wall(m["expires_at"]), now_wall)
    run.offers.append(seen)
    run.offer_arrivals[seen.chat, seen.uid, seen.offered_at] = now_wall
    cs = run.chat(seen.chat)
    if seen.reason == "invite":
        st.invites[cs.chat] = seen
        run.spawn(invited(run, st, cs, seen))
        return
    if seen.by == st.uid:
        run.counts["offered back to the one who forwarded it"] += 1
    if cs.forward_sent is not None:
        cs.forward_offers += 1
        if cs.forward_offers > 1 or time.monotonic() - cs.forward_sent > 3.0:  # not the forward's own offer
            cs.forward_first = False
    if cs.offer is not None and cs.offer.uid != st.uid and cs.offer.decision == "accept":
        run.counts["offer frames while an accepted offer was in flight"] += 1
    cs.offer = seen
    cs.queue = run.queue_of_label(m.get("label", ""), st.uid)
    st.pending[cs.chat] = seen.expires_wall
    if run.stopping:
        return
    r = run.rng.random()
    a = run.args
    if r < a.accept:
        seen.decision = "accept"
        run.spawn(accept(run, st, cs, seen))
    elif r < a.accept + a.decline:
        seen.decision = "decline"
        run.spawn(decline(run, st, cs, seen))
    else:
        seen.decision = "ignore"
        run.counts["offers ignored (left to run out)"] += 1


def on_offer_gone(run: Run, st: Staff, m: dict[str, Any]) -> None:
    cs = run.chats.get(m["chat"])
    if cs is None:
        return
    run.counts[f"offer_gone frames ({m.get('outcome')})"] += 1
    if cs.offer is not None and cs.offer.uid == st.uid and m.get("outcome") != "accepted":
        if cs.offer.reason == "forward" and m.get("outcome") in ("expired", "declined"):
            cs.forward_first = False
            if cs.queue.startswith("user:"):
                cs.queue = f"job:{run.job_id}"  # a person's forward nobody answered goes back to the chat's own queue
        cs.offer = None
        cs.unoffered_since = time.monotonic()
    st.pending.pop(cs.chat, None)
    invitation = st.invites.get(cs.chat)
    if invitation is not None and invitation.decision == "ignore" and m.get("outcome") in ("expired", "withdrawn"):
        del st.invites[cs.chat]
        if cs.invite_done is not None:
            cs.invite_done.set()


async def accept(run: Run, st: Staff, cs: ChatState, seen: OfferSeen) -> None:
    delay = run.think()
    await asyncio.sleep(delay)
    others = [s for s in run.staff.values() if s.uid != st.uid]
    race = run.rng.random()
    calls: list[tuple[Staff, str, Awaitable[tuple[int, str, dict[str, Any]]]]] = [(st, "accept", st.op(cs.chat, "accept"))]
    if race < run.args.race:
        calls.append((st, "accept", st.op(cs.chat, "accept")))  # the same person clicks Accept in two tabs
        run.races["accept twice at once"] += 1
    elif race < 2 * run.args.race:
        rival = run.rng.choice(others)
        calls.append((rival, "take", rival.op(cs.chat, "take")))  # a colleague takes the offered chat from the list
        run.races["accept vs a colleague's take"] += 1
    elif race < 2.5 * run.args.race:
        rival = run.rng.choice(others)
        calls.append((rival, "accept", rival.op(cs.chat, "accept")))  # a colleague clicks Accept on a pop-up that isn't theirs (any more)
        run.races["accept vs a colleague's accept"] += 1
    results = await asyncio.gather(*(c for _, _, c in calls))
    wins = [(who, what, res) for (who, what, _), res in zip(calls, results, strict=True) if res[0] == 200]
    st.pending.pop(cs.chat, None)
    if len(wins) > 1:
        run.double_wins.append(f"chat {cs.chat}: {[(w.n, what) for w, what, _ in wins]} all answered 200")
    for (who, what, _), (status, code, _) in zip(calls, results, strict=True):
        if status != 200 and f"{status} {code}" not in EXPECTED_LOSERS[what] | {"409 at_capacity"}:
            run.unexpected.append(f"{what} chat {cs.chat} by {who.n}: {status} {code}")
    if not wins:
        status, code, _ = results[0]
        if code == "at_capacity":  # a forward to someone whose seats are full: they say no
            run.spawn(decline(run, st, cs, seen))
        return
    who, what, (_, _, data) = wins[0]
    view = data.get("chat") or {}
    if (view.get("recruiter") or {}).get("id") != who.uid or view.get("status") != "active":
        run.unexpected.append(f"{what} chat {cs.chat} by {who.n}: 200 but the view says {view.get('status')} / {view.get('recruiter')}")
    if what == "take":
        run.unexpected.append(f"chat {cs.chat}: a colleague took it while it was offered to someone else")
        cs.taken[who.uid] += 1
    else:
        cs.accepted[who.uid] += 1
    cs.offer = None
    cs.queue = view.get("queue") or cs.queue
    if cs.forward_sent is not None:
        ms = (time.monotonic() - cs.forward_sent - delay) * 1000
        run.forward_any_ms.append(ms)
        if cs.forward_first:
            run.forward_accept_ms.append(ms)
        cs.forward_sent = None
    run.spawn(own(run, cs, who, what))


async def decline(run: Run, st: Staff, cs: ChatState, seen: OfferSeen) -> None:
    await asyncio.sleep(run.think())
    status, code, _ = await st.op(cs.chat, "decline")
    st.pending.pop(cs.chat, None)
    if status != 200 and code not in ("offer_gone", "chat_not_found"):
        run.unexpected.append(f"decline chat {cs.chat} by {st.n}: {status} {code}")


async def invited(run: Run, st: Staff, cs: ChatState, seen: OfferSeen) -> None:
    """An invitation: accept (join visibly, say a line, maybe leave again), decline, or let it run out."""
    r = run.rng.random()
    done = cs.invite_done
    try:
        if r >= run.args.accept + run.args.decline:
            seen.decision = "ignore"
            run.counts["invitations ignored"] += 1
            return  # its offer_gone (expired) frame sets invite_done
        await asyncio.sleep(run.think())
        if r >= run.args.accept:
            seen.decision = "decline"
            status, code, _ = await st.op(cs.chat, "decline")
            if status != 200:
                run.unexpected.append(f"decline invitation to chat {cs.chat} by {st.n}: {status} {code}")
            return
        seen.decision = "accept"
        status, code, data = await st.op(cs.chat, "accept")
        if status != 200:
            if f"{status} {code}" not in EXPECTED_LOSERS["accept"] | {"409 already_in_chat"}:
                run.unexpected.append(f"accept invitation to chat {cs.chat} by {st.n}: {status} {code}")
            return
        cs.accepted[st.uid] += 1
        cs.members.add(st.uid)
        cs.ever_visible.add(st.uid)
        cs.history.append(f"{st.n} joined on invitation")
        you = (data.get("chat") or {}).get("you")
        if you != "visible":
            run.unexpected.append(f"accepted invitation to chat {cs.chat}: the view says you={you}")
        await st.watch(cs.chat)
        line, fut = await st.speak(cs, "m")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(fut, 30)
        if run.rng.random() < 0.5:
            status, code, _ = await st.op(cs.chat, "leave")
            if status == 200:
                cs.members.discard(st.uid)
                await st.unwatch(cs.chat)
            else:
                run.unexpected.append(f"member {st.n} leaving chat {cs.chat}: {status} {code}")
    finally:
        if done is not None and seen.decision != "ignore":
            done.set()


# --------------------------------------------------------------------------- owning a chat


async def talk(run: Run, cs: ChatState, st: Staff, n: int) -> bool:
    for _ in range(n):
        if cs.owner != st.uid or run.stopping:
            return False
        line, fut = await st.speak(cs, "s")
        try:
            await asyncio.wait_for(fut, 30)
        except TimeoutError:
            run.fail_http(f"chat {cs.chat}: no answer to {line.cid} within 30 s (refused: {line.refused or 'no'})")
            return False
        await asyncio.sleep(run.think())
    return cs.owner == st.uid


def release(cs: ChatState, st: Staff) -> None:
    st.owned.discard(cs.chat)
    if cs.owner == st.uid:
        cs.owner = None


async def own(run: Run, cs: ChatState, st: Staff, how: str) -> None:
    """`st` owns the chat now (accept, take-over, take by hand, hand-over on leave): talk, then do one thing with it."""
    cs.owner, cs.busy = st.uid, True
    cs.members.discard(st.uid)
    cs.ever_visible.add(st.uid)
    st.owned.add(cs.chat)
    cs.history.append(f"{st.n} owns it ({how})")
    try:
        await st.watch(cs.chat)
        if not await talk(run, cs, st, run.args.lines):
            return
        if run.rng.random() < run.args.monitor:
            await monitor(run, cs, st)
        invited_once = False
        while cs.owner == st.uid and not run.stopping:
            action = choose(run, cs, invited_once)
            if action == "invite":
                invited_once = True
                if await invite(run, cs, st):
                    if not await talk(run, cs, st, run.args.lines):
                        return
                    if cs.invite_done is not None:
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(cs.invite_done.wait(), run.args.accept_seconds + 15)
                        cs.invite_done = None
                continue
            await act(run, cs, st, action)
            return
    finally:
        if cs.owner != st.uid or cs.ended_at is not None:
            await st.unwatch(cs.chat)
        cs.busy = cs.owner is not None and cs.ended_at is None and cs.owner != st.uid


def choose(run: Run, cs: ChatState, invited_once: bool) -> str:
    if cs.handoffs >= run.args.max_handoffs:
        return "end"
    weights = dict(ACTIONS)
    if invited_once:
        weights.pop("invite")
    if not cs.members:
        weights.pop("leave")
    names = list(weights)
    return run.rng.choices(names, [weights[n] for n in names])[0]


async def monitor(run: Run, cs: ChatState, st: Staff) -> None:
    """A colleague joins invisibly and reads along (never announced to the candidate)."""
    pool = [u for u in run.eligible(cs) if u != st.uid and u not in cs.members and u not in cs.monitors]
    if not pool:
        return
    mon = run.staff[run.rng.choice(pool)]
    status, code, data = await mon.op(cs.chat, "join", {"invisible": True})
    if status == 200:
        cs.monitors.add(mon.uid)
        run.counts["invisible joins"] += 1
        await mon.watch(cs.chat)
        if (data.get("chat") or {}).get("you") != "invisible":
            run.unexpected.append(f"invisible join of chat {cs.chat}: the view says you={(data.get('chat') or {}).get('you')}")
    elif f"{status} {code}" != "409 already_in_chat":
        run.unexpected.append(f"invisible join of chat {cs.chat} by {mon.n}: {status} {code}")


async def invite(run: Run, cs: ChatState, st: Staff) -> bool:
    pool = [u for u in run.staff if u != st.uid and u not in cs.members]
    target = run.staff[run.rng.choice(pool)]
    cs.invite_done = asyncio.Event()
    status, code, _ = await st.op(cs.chat, "invite", {"user_id": target.uid, "note": f"Can you help with chat {cs.chat}?"})
    if status == 200:
        run.counts["invitations sent"] += 1
        return True
    cs.invite_done = None
    if f"{status} {code}" not in ("409 already_invited", "409 already_in_chat"):
        run.unexpected.append(f"invite to chat {cs.chat} by {st.n}: {status} {code}")
    return False


def forward_body(run: Run, cs: ChatState, st: Staff, to_team: bool) -> dict[str, Any]:
    if to_team:
        current = int(cs.queue.split(":")[1]) if cs.queue.startswith("team:") else None
        team = run.rng.choice([t for t in run.teams if t != current])
        return {"team_id": team, "note": f"Over to you, chat {cs.chat}"}
    target = run.rng.choice([u for u in run.staff if u != st.uid])
    return {"user_id": target, "note": f"Please take chat {cs.chat}"}


def forwarded(run: Run, cs: ChatState, st: Staff, body: dict[str, Any], sent: float) -> None:
    release(cs, st)
    cs.handoffs += 1
    cs.status = "transfer"
    cs.queue = f"team:{body['team_id']}" if "team_id" in body else f"user:{body['user_id']}"
    cs.forward_sent, cs.forward_first, cs.forward_offers = sent, True, 0
    cs.unoffered_since = time.monotonic()
    cs.history.append(f"{st.n} forwarded it to {cs.queue}")
    run.counts["forwards to a team" if "team_id" in body else "forwards to a person"] += 1


async def end(run: Run, cs: ChatState, st: Staff) -> tuple[int, str]:
    body = {"next_step": run.rng.choice(END_STEPS), "outcome": run.rng.choice(("finished", "follow_up"))}
    status, code, _ = await st.op(cs.chat, "end", body)
    if status == 200:
        release(cs, st)
        run.over(cs, f"ended by {st.n}")
    return status, code


async def act(run: Run, cs: ChatState, st: Staff, action: str) -> None:
    if action == "end":
        status, code = await end(run, cs, st)
        if status != 200:
            run.unexpected.append(f"end chat {cs.chat} by its owner {st.n}: {status} {code}")
        return
    if action in ("forward", "team"):
        body = forward_body(run, cs, st, action == "team")
        sent = time.monotonic()
        status, code, _ = await st.op(cs.chat, "forward", body)
        if status == 200:
            forwarded(run, cs, st, body, sent)
        else:
            run.unexpected.append(f"forward chat {cs.chat} by {st.n}: {status} {code}")
            await end(run, cs, st)
        return
    if action == "leave":
        status, code, data = await st.op(cs.chat, "leave")
        view = data.get("chat") or {}
        if status != 200:
            run.unexpected.append(f"owner {st.n} leaving chat {cs.chat}: {status} {code}")
            await end(run, cs, st)
            return
        release(cs, st)
        if view.get("status") == "ended":  # nobody could take it: a ticket
            run.over(cs, f"left by {st.n}, ticket")
            return
        heir = (view.get("recruiter") or {}).get("id")
        if heir is None and view.get("status") == "active" and cs.members:  # the one who left sees no more of it: a member looks
            r = await run.staff[min(cs.members)].http.get(f"/api/v1/live-chats/{cs.chat}", headers=run.staff[min(cs.members)].auth)
            heir = ((r.json() if r.status_code == 200 else {}).get("recruiter") or {}).get("id")
        if heir not in run.staff or heir not in cs.members:
            run.unexpected.append(f"owner {st.n} left chat {cs.chat}: it went to {heir}, not one of its visible members {cs.members}")
        if heir in run.staff:
            cs.handoffs += 1
            run.counts["hand-overs on leave"] += 1
            run.spawn(own(run, cs, run.staff[heir], "leave"))
        return
    await take_over(run, cs, st)


async def take_over(run: Run, cs: ChatState, owner: Staff) -> None:
    """A colleague takes the chat over: alone, or racing the owner's forward or end, or a second colleague's take-over."""
    pool = [u for u in run.eligible(cs) if u != owner.uid]
    pick = [u for u in pool if u in cs.monitors or u in cs.members]
    taker = run.staff[run.rng.choice(pick if pick and run.rng.random() < 0.5 else pool)]
    race = run.rng.choice(("alone", "vs forward", "vs end", "vs take-over"))
    run.races[f"take-over {race}"] += 1
    calls: list[tuple[Staff, str, dict[str, Any]]] = [(taker, "take-over", {"owner_id": owner.uid})]
    if race == "vs forward":
        calls.append((owner, "forward", forward_body(run, cs, owner, run.rng.random() < 0.4)))
    elif race == "vs end":
        calls.append((owner, "end", {"next_step": "Screen", "outcome": "follow_up"}))
    elif race == "vs take-over":
        rivals = [u for u in pool if u != taker.uid]
        if rivals:
            calls.append((run.staff[run.rng.choice(rivals)], "take-over", {"owner_id": owner.uid}))
    sent = time.monotonic()
    results = await asyncio.gather(*(who.op(cs.chat, what, body) for who, what, body in calls))
    wins = [(who, what, body, res) for (who, what, body), res in zip(calls, results, strict=True) if res[0] == 200]
    for (who, what, _), (status, code, _) in zip(calls, results, strict=True):
        if status != 200 and f"{status} {code}" not in EXPECTED_LOSERS[what]:
            run.unexpected.append(f"{what} chat {cs.chat} by {who.n} ({race}): {status} {code}")
    if len(wins) > 1:
        run.double_wins.append(f"chat {cs.chat} ({race}): {[(w.n, what) for w, what, _, _ in wins]} all answered 200")
    if not wins:  # e.g. the taker's seats are full: the owner ends it
        run.counts["take-overs refused, owner ends"] += 1
        await end(run, cs, owner)
        return
    who, what, body, (_, _, data) = wins[0]
    if what == "end":
        release(cs, owner)
        run.over(cs, f"ended by {owner.n} racing a take-over")
        return
    if what == "forward":
        forwarded(run, cs, owner, body, sent)
        return
    view = data.get("chat") or {}
    if (view.get("recruiter") or {}).get("id") != who.uid:
        run.unexpected.append(f"take-over of chat {cs.chat} by {who.n}: 200 but the owner is {view.get('recruiter')}")
    release(cs, owner)
    cs.took_over[who.uid] += 1
    cs.handoffs += 1
    run.counts["take-overs"] += 1
    await owner.unwatch(cs.chat)
    run.spawn(own(run, cs, who, "take-over"))


# --------------------------------------------------------------------------- chats nobody is offered


async def hand_taker(run: Run) -> None:
    """A person at the console takes, from the list, a chat that has sat without an offer while they had a free seat."""
    while not run.stopping:
        await asyncio.sleep(1.0)
        now = time.monotonic()
        for st in run.staff.values():  # a seat counts as free once it has been free for a few seconds (the desk had its chance)
            if st.free_seats() <= 0:
                st.free_since = None
            elif st.free_since is None:
                st.free_since = now
        for cs in list(run.chats.values()):
            if cs.ended_at is not None or cs.busy or cs.offer is not None or cs.status not in ("waiting", "transfer") or cs.owner is not None:
                continue
            if now - cs.unoffered_since < run.args.rescue_after:
                continue
            if cs.queue.startswith("user:"):
                takers = [int(cs.queue.split(":")[1])]
            else:
                takers = run.eligible(cs)
            free = [u for u in takers if run.staff[u].free_seats() > 0 and now - (run.staff[u].free_since or now) >= 3]
            if not free:
                continue
            st = run.staff[run.rng.choice(free)]
            cs.busy = True
            run.spawn(take_by_hand(run, cs, st, now - cs.unoffered_since))


async def take_by_hand(run: Run, cs: ChatState, st: Staff, idle: float) -> None:
    why, facts = await desk_view_of(run, cs)
    if why == DESK_GAP:  # give the desk's timer its rounds (a second apart, slower under load) before calling it a gap
        await asyncio.sleep(GAP_GRACE)
        again, later = await desk_view_of(run, cs)
        if again != DESK_GAP:
            run.counts[f"chats nearly taken by hand, then {again.split(' (')[0]} within {GAP_GRACE:g} s"] += 1
            cs.busy = False
            if again != "no longer waiting":
                cs.unoffered_since = time.monotonic()
            return
        facts = f"{facts}; {GAP_GRACE:g} s later: {later}"
    status, code, data = await st.op(cs.chat, "take")
    if status == 200:
        cs.taken[st.uid] += 1
        cs.queue = (data.get("chat") or {}).get("queue") or cs.queue
        run.rescued.append(f"chat {cs.chat} ({cs.status} in {cs.queue}, {idle:.0f} s without an offer seen, taken by {st.n}: {why}; "
                           f"{' / '.join(cs.history[-3:])}) [{facts}]")
        run.rescue_why[why] += 1
        if why == DESK_GAP:
            run.desk_gaps.append(run.rescued[-1])
        if cs.forward_sent is not None:
            run.forward_any_ms.append((time.monotonic() - cs.forward_sent) * 1000)
            cs.forward_sent = None
        run.spawn(own(run, cs, st, "taken by hand"))
        return
    cs.busy = False
    cs.unoffered_since = time.monotonic()
    if f"{status} {code}" not in EXPECTED_LOSERS["take"]:
        run.unexpected.append(f"take chat {cs.chat} by hand by {st.n}: {status} {code}")


DESK_GAP = "the desk could have offered it to someone free who hadn't passed on it"
GAP_GRACE = 6.0  # seconds a gap must last: the timer's offer rounds run every second or so, a few seconds apart on a saturated node


async def desk_view_of(run: Run, cs: ChatState) -> tuple[str, str]:
    """Why a chat sits without an offer, by the desk's own rules and functions on the same database: offered meanwhile (the
    frame not on the console yet), nobody free by the desk's count (offers the consoles don't show yet hold seats), every
    free one has passed on it (by design: taken from the list), or a gap - someone free who hadn't passed on it."""
    engine = create_engine(run.args.url)
    try:
        async with create_sessionmaker(engine)() as session:
            chat = await session.get(LiveChat, cs.chat)
            if chat is None or chat.status not in ("waiting", "transfer"):
                return "no longer waiting", ""
            if chat.offered_to_id is not None:
                return "offered meanwhile (the frame was still on its way)", f"offered to {chat.offered_to_id}"
            now = dt.datetime.now(dt.UTC)
            staff = await chats.queue_staff_ids(session, chat.queue)
            online = await routing.online_ids(session, staff, now, free_seat=True)
            pending = await desk._pending_offers(session, online, now)  # noqa: SLF001
            seats = {u: c - a for u, c, a in (await session.execute(
                select(Agent.user_id, Agent.capacity, Agent.active_chats).where(Agent.user_id.in_(online)))).all()} if online else {}
            free = [u for u in online if seats.get(u, 0) - pending.get(u, 0) > 0]
            tried = await desk._tried(session, chat.id)  # noqa: SLF001
            facts = f"queue {chat.queue}: free by the desk's count {free}, passed on it {sorted(tried)}"
            if not free:
                return "nobody free by the desk's count (offers not on the consoles yet)", facts
            if all(u in tried for u in free):
                return "every free colleague had passed on it", facts
            return DESK_GAP, facts
    finally:
        await engine.dispose()


# --------------------------------------------------------------------------- seeding (through the API)


async def seed(run: Run, now: dt.datetime) -> list[Staff]:
    args = run.args
    half = args.staff // 2
    async with httpx.AsyncClient(base_url=run.bases[0], timeout=60) as http:
        admin = {"Authorization": f"Bearer {await bearer(http, 'admin@bench.test')}"}
        start = (now + dt.timedelta(days=7)).replace(hour=8, minute=0, second=0, microsecond=0)
        event = await api(http, "POST", "/api/v1/events", admin, json={
            "name": "Desk load fair", "timezone": "UTC", "starts_at": start.isoformat(), "ends_at": (start + dt.timedelta(days=1)).isoformat(),
            "chat_format": {"requests_by": "both", "slot_minutes": 30, "buffer_minutes": 0},
        })
        company = await api(http, "POST", f"/api/v1/events/{event['id']}/companies", admin, json={"name": "Acme Robotics"})
        people = []
        for i in range(args.staff):
            email = f"rec{i}@bench.test"
            p = await api(http, "POST", f"/api/v1/events/{event['id']}/participants", admin, json={
                "email": email, "name": f"Rita Recruiter {i}", "role": "recruiter", "company_id": company["id"]})
            people.append((i, p["user_id"], email))
        job = await api(http, "POST", "/api/v1/job-reqs", admin, json={
            "title": "Backend Engineer", "company": "Acme Robotics", "location": "Berlin", "event_id": event["id"],
            "apply_url": "https://acme.example/apply", "when_unavailable": "note",
            "questions": [{"text": "Are you allowed to work in the EU?", "kind": "yes_no", "qualifying": ["Yes"]},
                          {"text": "Which team?", "kind": "choice", "choices": list(TEAMS), "qualifying": list(TEAMS)}],
        })
        run.job_id, run.question_id, run.team_question_id = job["id"], job["questions"][0]["id"], job["questions"][1]["id"]
        run.job_label = f"{job['title']} ({job['company']})"
        for _, uid, _ in people:
            await api(http, "POST", f"/api/v1/job-reqs/{job['id']}/assignees", admin, json={"user_id": uid})
        for k, name in enumerate(TEAMS):
            members = [uid for i, uid, _ in people if (i < half) == (k == 0)]
            team = await api(http, "POST", f"/api/v1/events/{event['id']}/teams", admin, json={"name": name, "member_ids": members})
            run.teams[team["id"]], run.team_names[f"{name} team"] = members, team["id"]
            await api(http, "POST", f"/api/v1/events/{event['id']}/routing-rules", admin, json={
                "kind": "job", "job_req_id": job["id"], "question_id": run.team_question_id, "answer": name, "team_id": team["id"]})
        settings = await api(http, "PUT", f"/api/v1/events/{event['id']}/desk-settings", admin, expect=200,
                             json={"accept_seconds": max(10, args.accept_seconds), "resolve_minutes": 15})
        if settings["accept_seconds"] != max(10, args.accept_seconds):
            raise RuntimeError(f"desk settings not taken: {settings}")
    if args.accept_seconds < 10:  # the test-only knob: the API refuses less than 10 s; the desk reads the column
        conn = await asyncpg.connect(args.dsn)
        try:
            await conn.execute("UPDATE events SET live_accept_seconds = $1 WHERE id = $2", args.accept_seconds, event["id"])
        finally:
            await conn.close()
    staff = []
    for i, uid, email in people:
        # No keep-alive for the staff's operations: on a saturated machine a pooled connection that the server's 5 s keep-alive
        # closes at the moment it is reused fails with a ReadError, and whether an accept or a take-over went through is then
        # unknown. A fresh loopback connection per request costs well under a millisecond.
        client = httpx.AsyncClient(base_url=run.bases[i % len(run.bases)], timeout=60, limits=httpx.Limits(max_keepalive_connections=0),
                                   transport=httpx.AsyncHTTPTransport(local_address=f"127.0.1.{1 + i % 250}"))
        token = await bearer(client, email)
        seat = await api(client, "PUT", "/api/v1/live-agent", {"Authorization": f"Bearer {token}"}, expect=200,
                         json={"available": True, "capacity": args.capacity, "auto_assign": True})
        if not seat["online"] or seat["capacity"] != args.capacity:
            raise RuntimeError(f"seat of {email} not online: {seat}")
        st = Staff(run, i, uid, email, client, token)
        st.team = 0 if i < half else 1
        await st.sign_in()
        staff.append(st)
        run.staff[uid] = st
    return staff


# --------------------------------------------------------------------------- checks (SQL)


SNAPSHOT = {
    "active chat without an owner": "SELECT id::text FROM live_chats WHERE status = 'active' AND recruiter_id IS NULL",
    "waiting or forwarded chat with an owner":
        "SELECT id || ' ' || status || ' owner ' || recruiter_id FROM live_chats WHERE status IN ('waiting', 'transfer') AND recruiter_id IS NOT NULL",
    "two pending offers for one chat":
        "SELECT live_chat_id || ': ' || count(*) FROM live_offers WHERE outcome = 'pending' AND reason <> 'invite' GROUP BY live_chat_id HAVING count(*) > 1",
    "pending offer not matching its chat":
        "SELECT 'offer ' || o.id || ' (' || o.reason || ') of chat ' || c.id || ' to ' || o.user_id || ': chat ' || c.status || ', offered_to ' || "
        "coalesce(c.offered_to_id::text, 'nobody') FROM live_offers o JOIN live_chats c ON c.id = o.live_chat_id "
        "WHERE o.outcome = 'pending' AND o.reason <> 'invite' AND (c.status NOT IN ('waiting', 'transfer') OR c.offered_to_id IS DISTINCT FROM o.user_id)",
    "chat offered without a pending offer":
        "SELECT c.id || ' offered_to ' || c.offered_to_id FROM live_chats c WHERE c.offered_to_id IS NOT NULL AND NOT EXISTS "
        "(SELECT 1 FROM live_offers o WHERE o.live_chat_id = c.id AND o.outcome = 'pending' AND o.reason <> 'invite' AND o.user_id = c.offered_to_id)",
    "owner also a member":
        "SELECT c.id || ' owner ' || c.recruiter_id || ' ' || m.mode FROM live_chats c JOIN live_chat_members m ON m.live_chat_id = c.id "
        "AND m.user_id = c.recruiter_id AND m.left_at IS NULL WHERE c.status = 'active'",
    "ended chat with a pending offer or a member still in":
        "SELECT c.id::text FROM live_chats c WHERE c.status = 'ended' AND (EXISTS (SELECT 1 FROM live_offers o WHERE o.live_chat_id = c.id "
        "AND o.outcome = 'pending') OR EXISTS (SELECT 1 FROM live_chat_members m WHERE m.live_chat_id = c.id AND m.left_at IS NULL))",
    "seat count differs from the active chats owned":
        "SELECT a.user_id || ': active_chats ' || a.active_chats || ', owns ' || (SELECT count(*) FROM live_chats c WHERE c.recruiter_id = a.user_id "
        "AND c.status = 'active') FROM live_agents a WHERE a.active_chats <> (SELECT count(*) FROM live_chats c WHERE c.recruiter_id = a.user_id "
        "AND c.status = 'active')",
    "over capacity":
        "SELECT a.user_id || ': ' || greatest(a.active_chats, (SELECT count(*) FROM live_chats c WHERE c.recruiter_id = a.user_id AND c.status = 'active')) "
        "|| ' > ' || a.capacity FROM live_agents a WHERE a.active_chats > a.capacity OR (SELECT count(*) FROM live_chats c "
        "WHERE c.recruiter_id = a.user_id AND c.status = 'active') > a.capacity",
    "offer pending after it ran out":
        "SELECT 'offer ' || id || ' (' || reason || ') of chat ' || live_chat_id || ', ' || round(extract(epoch FROM now() - expires_at)::numeric, 1) "
        "|| ' s late' FROM live_offers WHERE outcome = 'pending' AND expires_at < now() - make_interval(secs => $1)",
}


@dataclass
class Sampler:
    dsn: str
    grace: float
    samples: int = 0
    bad: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    bad_samples: Counter[str] = field(default_factory=Counter)
    max_pending: int = 0
    max_active: int = 0
    sample_ms: list[float] = field(default_factory=list)

    async def run(self, stop: asyncio.Event) -> None:
        conn = await asyncpg.connect(self.dsn)
        try:
            while not stop.is_set():
                t0 = time.monotonic()
                async with conn.transaction(isolation="repeatable_read", readonly=True):  # one snapshot for every check
                    for name, sql in SNAPSHOT.items():
                        rows = await conn.fetch(sql, self.grace) if "$1" in sql else await conn.fetch(sql)
                        if rows:
                            self.bad_samples[name] += 1
                            if len(self.bad[name]) < 5:
                                self.bad[name].append(f"sample {self.samples}: {[r[0] for r in rows[:3]]}")
                    self.max_pending = max(self.max_pending, await conn.fetchval("SELECT count(*) FROM live_offers WHERE outcome = 'pending'"))
                    self.max_active = max(self.max_active, await conn.fetchval("SELECT count(*) FROM live_chats WHERE status = 'active'"))
                self.samples += 1
                self.sample_ms.append((time.monotonic() - t0) * 1000)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 0.2)
        finally:
            await conn.close()


async def final_state(dsn: str, run: Run) -> tuple[dict[str, Any], list[str]]:
    """The database's account of the run, and what disagrees with what the clients saw."""
    failures: list[str] = []
    conn = await asyncpg.connect(dsn)
    try:
        out: dict[str, Any] = {}
        out["statuses"] = {r["status"]: r["n"] for r in await conn.fetch("SELECT status, count(*) AS n FROM live_chats GROUP BY status")}
        out["offers"] = {(r["reason"], r["outcome"]): r["n"] for r in await conn.fetch(
            "SELECT reason, outcome, count(*) AS n FROM live_offers GROUP BY reason, outcome")}
        out["open"] = [f"chat {r['id']}: {r['status']}, queue {r['queue']}, owner {r['recruiter_id']}, offered to {r['offered_to_id']}"
                       for r in await conn.fetch("SELECT id, status, queue, recruiter_id, offered_to_id FROM live_chats WHERE status <> 'ended' ORDER BY id")]
        out["seats"] = [f"user {r['user_id']}: {r['active_chats']}"
                        for r in await conn.fetch("SELECT user_id, active_chats FROM live_agents WHERE active_chats <> 0")]
        out["tickets"] = await conn.fetchval("SELECT count(*) FROM live_tickets")
        accepted = Counter({(r["live_chat_id"], r["user_id"]): r["n"] for r in await conn.fetch(
            "SELECT live_chat_id, user_id, count(*) AS n FROM live_offers WHERE outcome = 'accepted' GROUP BY 1, 2")})
        stored: Counter[tuple[int, int | None, str]] = Counter()
        for r in await conn.fetch(
                "SELECT split_part(c.key, ':', 2)::int AS chat, e.author_id, e.body::jsonb ->> 'event' AS ev, count(*) AS n "
                "FROM conversation_events e JOIN conversations c ON c.id = e.conversation_id "
                "WHERE c.key LIKE 'live:%' AND e.kind = 'notice' GROUP BY 1, 2, 3"):
            stored[r["chat"], r["author_id"], r["ev"]] = r["n"]
        out["stored_notices"] = stored
        # Expiry -> next offer: the offer an expiry made has offered_at = the expired one's decided_at (one transaction).
        out["expiry_lag_ms"] = [float(r["lag"]) * 1000 for r in await conn.fetch(
            "SELECT extract(epoch FROM decided_at - expires_at) AS lag FROM live_offers WHERE outcome = 'expired'")]
        nexts = await conn.fetch(
            "SELECT e.expires_at, n.live_chat_id, n.user_id, n.offered_at FROM live_offers e JOIN live_offers n ON n.live_chat_id = e.live_chat_id "
            "AND n.offered_at = e.decided_at AND n.reason <> 'invite' AND n.id <> e.id WHERE e.outcome = 'expired' AND e.reason <> 'invite'")
        out["expired_then_offered"] = len(nexts)
        out["expiry_to_frame_ms"] = []
        for r in nexts:
            arrived = run.offer_arrivals.get((r["live_chat_id"], r["user_id"], r["offered_at"].isoformat()))
            if arrived is not None:
                out["expiry_to_frame_ms"].append((arrived - r["expires_at"].timestamp()) * 1000)
        out["offer_frame_ms"] = [(o.arrived_wall - dt.datetime.fromisoformat(o.offered_at).timestamp()) * 1000 for o in run.offers]
        out["sql_offer_count"] = await conn.fetchval("SELECT count(*) FROM live_offers")
    finally:
        await conn.close()

    # Notices, per chat and person: what the client's successful calls imply, what is stored, what the candidate saw.
    joined_bad, over_bad, monitor_bad = [], [], []
    for cs in run.chats.values():
        cand = cs.cand
        if cand is None:
            continue
        seen_joined: Counter[int] = Counter(a for ev, a, _ in cand.notices if ev == "joined" and a is not None)
        seen_over: Counter[int] = Counter(a for ev, a, _ in cand.notices if ev == "took_over" and a is not None)
        people = set(seen_joined) | set(cs.accepted) | set(cs.taken) | {u for (c, u) in accepted if c == cs.chat}
        for uid in people:
            expect = cs.accepted[uid] + cs.taken[uid]
            sql = accepted[cs.chat, uid] + cs.taken[uid]
            got = seen_joined[uid]
            kept = out["stored_notices"][cs.chat, uid, "joined"]
            if not expect == sql == got == kept:
                joined_bad.append(f"chat {cs.chat}, user {uid}: {expect} accepted/taken (client), {sql} (SQL), {kept} joined notices stored, "
                                  f"{got} seen by the candidate")
        for uid in set(seen_over) | set(cs.took_over):
            if not cs.took_over[uid] == seen_over[uid] == out["stored_notices"][cs.chat, uid, "took_over"]:
                over_bad.append(f"chat {cs.chat}, user {uid}: {cs.took_over[uid]} take-overs, {seen_over[uid]} notices seen")
        for uid in cs.monitors - cs.ever_visible:
            name = run.staff[uid].name
            hits = [(i, n, w) for i, n, w in cand.named if i == uid or n == name]
            if hits:
                monitor_bad.append(f"chat {cs.chat}: the candidate got {len(hits)} frames naming invisible monitor {name}: {hits[:2]}")
    out["joined_bad"], out["over_bad"], out["monitor_bad"] = joined_bad, over_bad, monitor_bad
    if joined_bad:
        failures.append(f"{len(joined_bad)} (chat, person) pairs without exactly one joined notice per accept: {joined_bad[:3]}")
    if over_bad:
        failures.append(f"{len(over_bad)} (chat, person) pairs without exactly one took_over notice per take-over: {over_bad[:3]}")
    if monitor_bad:
        failures.append(f"invisible monitors named to the candidate: {monitor_bad[:3]}")
    return out, failures


# --------------------------------------------------------------------------- the load


@dataclass
class Figures:
    seconds: float = 0.0
    server_cpu: float = 0.0
    pg_cpu: float = 0.0
    client_cpu: float = 0.0
    handoffs: int = 0


async def desk_load(args: argparse.Namespace, bases: list[str], pids: list[int], dsn: str, now: dt.datetime) -> tuple[Run, Figures, list[str]]:
    run = Run(args, bases, random.Random(args.seed))
    failures: list[str] = []
    t_seed = time.monotonic()
    staff = await seed(run, now)
    for st in staff:
        await st.connect()
    beats = [asyncio.get_running_loop().create_task(st.heartbeat()) for st in staff]
    print(f"seeded through the API and connected {len(staff)} consoles in {time.monotonic() - t_seed:.1f} s "
          f"(teams {', '.join(f'{n}: {len(run.teams[t])}' for n, t in run.team_names.items())}; accept within {args.accept_seconds} s)")

    nodes = len(bases)
    addresses: dict[tuple[int, int], httpx.AsyncClient] = {}
    for n in range(args.candidates):
        a, node = n // 10, n % nodes
        if (a, node) not in addresses:
            addresses[a, node] = httpx.AsyncClient(base_url=bases[node], timeout=60, limits=LIMITS, transport=httpx.AsyncHTTPTransport(
                local_address=f"127.0.{2 + a // 250}.{2 + a % 250}"))
    candidates = [DeskCandidate(run, n, addresses[n // 10, n % nodes]) for n in range(args.candidates)]
    args.candidates_started = args.candidates
    stop_sampling = asyncio.Event()
    sampler = Sampler(dsn, args.overdue_grace)
    sampling = asyncio.get_running_loop().create_task(sampler.run(stop_sampling))
    taker = asyncio.get_running_loop().create_task(hand_taker(run))
    f = Figures()
    profiler = None
    if args.profile:  # py-spy (pip install py-spy into the venv) on the first server, for the whole load
        spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        profiler = await asyncio.create_subprocess_exec(spy, "record", "--pid", str(pids[0]), "--format", "raw", "--rate", "100",
                                                        "--output", str(args.profile), stdout=asyncio.subprocess.DEVNULL,
                                                        stderr=asyncio.subprocess.DEVNULL)
    cpu0, pg0, mine0 = sum(cpu_seconds(p) for p in pids), pg_cpu(), cpu_seconds(os.getpid())
    t0 = time.monotonic()
    timed_out = False
    try:
        gate = asyncio.Semaphore(args.start_concurrency)

        async def arrive(c: DeskCandidate) -> None:
            async with gate:
                if await c.start():
                    await c.connect()

        await asyncio.gather(*(arrive(c) for c in candidates))
        started = len(run.candidates)
        args.candidates_started = started
        print(f"{started} candidates started chats and connected in {time.monotonic() - t0:.1f} s "
              f"(start p50 {pct(run.start_ms, 50):.0f} ms, p99 {pct(run.start_ms, 99):.0f} ms)")
        if started < args.candidates:
            failures.append(f"{args.candidates - started} candidates could not start a chat")
        if run.ended >= started:
            run.all_ended.set()

        async def progress() -> None:
            while True:
                await asyncio.sleep(15)
                print(f"  {time.monotonic() - t0:5.0f} s: {run.ended} of {started} chats ended, {sum(1 for c in run.chats.values() if c.owner)} owned, "
                      f"{sum(1 for c in run.chats.values() if c.offer)} offered, {len(run.offers)} offer frames so far")

        ticker = asyncio.get_running_loop().create_task(progress())
        try:
            await asyncio.wait_for(run.all_ended.wait(), args.wait)
        except TimeoutError:
            timed_out = True
        ticker.cancel()
        f.seconds = time.monotonic() - t0
        f.server_cpu = sum(cpu_seconds(p) for p in pids) - cpu0
        f.pg_cpu = pg_cpu() - pg0
        f.client_cpu = cpu_seconds(os.getpid()) - mine0
        run.stopping = True
        await asyncio.sleep(args.overdue_grace + 1.5)  # the last offers run out and frames in flight land, under the sampler's eye
    finally:
        if profiler is not None:
            profiler.send_signal(signal.SIGINT)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(profiler.wait(), 30)
        stop_sampling.set()
        with contextlib.suppress(Exception):
            await sampling
        taker.cancel()
        for b in beats:
            b.cancel()
        for k in range(0, len(candidates), 100):
            await asyncio.gather(*(c.close() for c in candidates[k : k + 100]), return_exceptions=True)
        await asyncio.gather(*(s.close() for s in staff), return_exceptions=True)
        for task in list(run.tasks):
            task.cancel()
        await asyncio.gather(*(s.http.aclose() for s in staff), *(a.aclose() for a in addresses.values()), return_exceptions=True)

    db, more = await final_state(dsn, run)
    failures += more
    report(run, f, db, sampler, timed_out, failures)
    return run, f, failures


def ms(values: list[float]) -> str:
    if not values:
        return "n/a"
    return f"p50 {pct(values, 50):7.1f}  p99 {pct(values, 99):7.1f}  max {max(values):7.1f}   (n={len(values)})"


def report(run: Run, f: Figures, db: dict[str, Any], sampler: Sampler, timed_out: bool, failures: list[str]) -> None:
    args = run.args
    started = args.candidates_started
    offers = db["offers"]
    handoffs = sum(cs.handoffs for cs in run.chats.values())
    f.handoffs = handoffs
    owners = [len(set(cs.accepted) | set(cs.took_over) | set(cs.taken)) for cs in run.chats.values()]
    print(f"\n{started} candidates, {args.staff} staff in 2 teams x {args.capacity} seats, accept within {args.accept_seconds} s, "
          f"{len(run.bases)} server node{'s' if len(run.bases) > 1 else ''}{' sharing Redis' if len(run.bases) > 1 else ''}; "
          f"staff accept/decline/ignore {args.accept:.0%}/{args.decline:.0%}/{1 - args.accept - args.decline:.0%}, seed {args.seed}")
    print(f"run                              {f.seconds:.1f} s, {run.ended} chats ended ({started / max(1e-9, f.seconds):.2f} chats/s)")
    print("offers (SQL)                     " + "; ".join(
        f"{reason}: {sum(n for (r, _), n in offers.items() if r == reason)} made, " + ", ".join(
            f"{n} {o}" for (r, o), n in sorted(offers.items()) if r == reason) for reason in ("route", "forward", "invite")))
    print(f"client decisions                 {dict(Counter(o.decision for o in run.offers if o.reason != 'invite'))} on routing/forward offers; "
          f"invitations {dict(Counter(o.decision for o in run.offers if o.reason == 'invite'))}")
    print(f"hand-offs                        {handoffs} ({run.counts['forwards to a person']} forwards to a person, {run.counts['forwards to a team']} "
          f"to a team, {run.counts['take-overs']} take-overs, {run.counts['hand-overs on leave']} hand-overs on leave); "
          f"{run.counts['invitations sent']} invitations, {run.counts['invisible joins']} invisible monitors")
    print(f"owners per chat                  mean {sum(owners) / max(1, len(owners)):.2f}, max {max(owners, default=0)}; "
          f"{db['tickets']} tickets; taken by hand after {args.rescue_after:g} s without an offer: {len(run.rescued)}")
    if run.rescued:
        print(f"  why nobody was offered them    {dict(run.rescue_why)}")
    for r in run.rescued[:8]:
        print(f"    {r}")
    print(f"races                            {dict(run.races)}")
    print(f"  two winners                    {len(run.double_wins)}" + (f"   e.g. {run.double_wins[:2]}" if run.double_wins else ""))
    print(f"forward sent -> accept response  {ms(run.forward_accept_ms)}   ms (first offer accepted; the accepter's think time taken out)")
    print(f"  however many offers it took    {ms(run.forward_any_ms)}   ms (time-outs and declines included)")
    print(f"offer ran out -> next offer      {ms(db['expiry_to_frame_ms'])}   ms (expires_at -> the next person's offer frame; "
          f"{db['expired_then_offered']} of {sum(n for (r, o), n in offers.items() if o == 'expired' and r != 'invite')} time-outs offered on at once)")
    print(f"  the timer's lag                {ms(db['expiry_lag_ms'])}   ms (expires_at -> decided_at)")
    print(f"offer made -> frame on console   {ms(db['offer_frame_ms'])}   ms")
    for what in ("accept", "decline", "forward", "take-over", "invite", "join", "leave", "end", "take"):
        if run.op_ms.get(what):
            print(f"  {what + ' request':30s} {ms(run.op_ms[what])}   ms   {dict(run.codes[what])}")
    print(f"start -> end per chat            {ms([s * 1000 for s in run.chat_seconds])}   ms")
    ops = sum(len(v) for v in run.op_ms.values())
    print(f"server CPU                       {f.server_cpu:.2f} s ({f.server_cpu / max(1, started) * 1000:.1f} ms per chat, "
          f"{f.server_cpu / max(1, ops) * 1000:.2f} ms per desk request incl. lines, frames and timers); PostgreSQL (all of it) {f.pg_cpu:.2f} s; "
          f"client {f.client_cpu:.2f} s")
    lines = list(run.lines.values())
    unacked = [ln.cid for ln in lines if ln.acked is None and not ln.refused]
    refused = [f"{ln.cid}: {ln.refused}" for ln in lines if ln.refused]
    undelivered = [ln.cid for ln in lines if ln.acked is not None and not ln.delivered and ln.cid[0] != "a"]
    print(f"lines                            {len(lines)} sent, {len(lines) - len(unacked) - len(refused)} acked, {len(refused)} refused, "
          f"{len(undelivered)} staff lines never reached the candidate; duplicated candidate frames "
          f"{sum(c.dup_seqs for c in run.candidates.values())}")
    print(f"SQL snapshots                    {sampler.samples} (every 0.2 s, p50 {pct(sampler.sample_ms, 50):.0f} ms each); max {sampler.max_active} "
          f"active chats, {sampler.max_pending} pending offers at once")
    for name in SNAPSHOT:
        if sampler.bad_samples[name]:
            print(f"  !! {name}: in {sampler.bad_samples[name]} samples, e.g. {sampler.bad[name][:2]}")
    print(f"chats by status                  {dict(sorted(db['statuses'].items()))}; seats still taken {db['seats'][:5] or 0}")
    print(f"notices                          joined != accepts {len(db['joined_bad'])}, took_over != take-overs {len(db['over_bad'])}, "
          f"monitor named {len(db['monitor_bad'])}")
    print(f"counters                         {dict(sorted(run.counts.items()))}")
    print(f"error frames                     {dict(run.errors) or 0}")
    for ex in run.error_examples:
        print(f"    e.g. {ex}")
    print(f"unexpected answers               {len(run.unexpected)}")
    for u in run.unexpected[:10]:
        print(f"    {u}")
    print(f"failed HTTP requests             {len(run.http_failures)}" + (f"   e.g. {run.http_failures[:2]}" if run.http_failures else ""))

    for name in SNAPSHOT:
        if sampler.bad_samples[name]:
            failures.append(f"{name} in {sampler.bad_samples[name]} SQL snapshots: {sampler.bad[name][:3]}")
    if db["open"]:
        failures.append(f"{len(db['open'])} chats not ended" + (f" within {args.wait:.0f} s" if timed_out else "") + f": {db['open'][:8]}")
    if db["seats"]:
        failures.append(f"seats still taken at the end: {db['seats'][:5]}")
    if run.double_wins:
        failures.append(f"{len(run.double_wins)} races with two winners: {run.double_wins[:3]}")
    if run.unexpected:
        failures.append(f"{len(run.unexpected)} unexpected answers: {run.unexpected[:5]}")
    if run.http_failures:
        failures.append(f"{len(run.http_failures)} failed requests: {run.http_failures[:3]}")
    if unacked or refused or undelivered:
        failures.append(f"lines: {len(unacked)} never acked {unacked[:3]}, {len(refused)} refused {refused[:3]}, "
                        f"{len(undelivered)} undelivered {undelivered[:3]}")
    if sum(c.dup_seqs for c in run.candidates.values()):
        failures.append("candidates got the same event twice")
    if run.desk_gaps:
        failures.append(f"{len(run.desk_gaps)} chats sat unoffered though someone free hadn't passed on them: {run.desk_gaps[:3]}")
    if run.counts["offered back to the one who forwarded it"]:
        failures.append(f"{run.counts['offered back to the one who forwarded it']} forwards offered back to their sender")


# --------------------------------------------------------------------------- the baseline


async def baseline(dsn: str, handoffs: int, workers: int, capacity: int, seed: int) -> dict[str, Any]:
    """The same number of ownership hand-offs as bare SQL transactions on copies of live_chats and live_agents."""
    rng = random.Random(seed)
    pool = await asyncpg.create_pool(dsn, min_size=workers, max_size=workers)
    try:
        await pool.execute("CREATE TABLE bd_chats (LIKE live_chats INCLUDING ALL)")
        await pool.execute("INSERT INTO bd_chats SELECT * FROM live_chats")
        await pool.execute("CREATE TABLE bd_agents (LIKE live_agents INCLUDING ALL)")
        await pool.execute("INSERT INTO bd_agents SELECT * FROM live_agents")
        staff = [r["user_id"] for r in await pool.fetch("SELECT user_id FROM bd_agents ORDER BY user_id")]
        chats = [r["id"] for r in await pool.fetch("SELECT id FROM bd_chats ORDER BY id")]
        per = max(1, min(capacity - 1, len(chats) // max(1, len(staff))))  # two of three seats taken: room to move
        owner: dict[int, int] = {}
        for k, uid in enumerate(staff):
            for c in chats[k * per : (k + 1) * per]:
                owner[c] = uid
        await pool.execute("UPDATE bd_chats SET status = 'ended', recruiter_id = NULL")
        for c, uid in owner.items():
            await pool.execute("UPDATE bd_chats SET status = 'active', recruiter_id = $2 WHERE id = $1", c, uid)
        await pool.execute("UPDATE bd_agents SET active_chats = 0, capacity = $1", capacity)
        await pool.execute("UPDATE bd_agents a SET active_chats = (SELECT count(*) FROM bd_chats c WHERE c.recruiter_id = a.user_id AND c.status = 'active')")
        mine = defaultdict(list)
        for k, c in enumerate(sorted(owner)):
            mine[k % workers].append(c)
        lat: list[float] = []
        full = 0
        done = 0

        async def worker(w: int) -> None:
            nonlocal full, done
            async with pool.acquire() as conn:
                while done < handoffs:
                    done += 1
                    chat = rng.choice(mine[w])
                    old = owner[chat]
                    for _ in range(len(staff)):
                        new = rng.choice([u for u in staff if u != old])
                        t = time.monotonic()
                        try:
                            async with conn.transaction():
                                row = await conn.fetchval("UPDATE bd_chats SET recruiter_id = $2, updated_at = now() WHERE id = $1 AND recruiter_id = $3 "
                                                          "AND status = 'active' RETURNING id", chat, new, old)
                                if row is None:
                                    raise RuntimeError(f"baseline: chat {chat} not owned by {old}")
                                for uid in sorted((old, new)):
                                    if uid == new:
                                        got = await conn.execute("UPDATE bd_agents SET active_chats = active_chats + 1, last_assigned_at = now() "
                                                                 "WHERE user_id = $1 AND active_chats < capacity", new)
                                        if got != "UPDATE 1":
                                            raise LookupError
                                    else:
                                        await conn.execute("UPDATE bd_agents SET active_chats = active_chats - 1 WHERE user_id = $1 AND active_chats > 0", old)
                        except LookupError:
                            full += 1
                            continue
                        lat.append((time.monotonic() - t) * 1000)
                        owner[chat] = new
                        break

        pg0, t0 = pg_cpu(), time.monotonic()
        rounds = 0
        while rounds < 1 or time.monotonic() - t0 < 2.0:  # rounds of the run's number of hand-offs, 2 s at least (CPU ticks are 10 ms)
            done = 0
            await asyncio.gather(*(worker(w) for w in range(workers)))
            rounds += 1
        seconds, cpu = time.monotonic() - t0, pg_cpu() - pg0
        bad = await pool.fetchval("SELECT count(*) FROM bd_agents a WHERE a.active_chats <> (SELECT count(*) FROM bd_chats c "
                                  "WHERE c.recruiter_id = a.user_id AND c.status = 'active') OR a.active_chats > a.capacity")
        await pool.execute("DROP TABLE bd_chats")
        await pool.execute("DROP TABLE bd_agents")
        return {"ms": lat, "seconds": seconds, "pg_cpu": cpu, "full": full, "bad": bad, "chats": len(owner), "rounds": rounds}
    finally:
        await pool.close()


def side_by_side(run: Run, f: Figures, b: dict[str, Any]) -> None:
    def row(label: str, base: float, ours: float, note: str = "") -> None:
        ratio = ours / base if base else float("nan")
        print(f"{label:40s}{base:10.2f}  {ours:10.2f}   {ratio:8.1f}x {note}")

    n = len(b["ms"])
    print(f"\nbaseline: {n} hand-offs ({b['rounds']} rounds of the run's {f.handoffs}) as bare SQL transactions by {run.args.staff} connections "
          f"over {b['chats']} active chats in {b['seconds']:.2f} s "
          f"({n / max(1e-9, b['seconds']):.0f}/s; {b['full']} picks of a full seat tried again; seat counters wrong afterwards: {b['bad']})")
    print(f"{'same number of hand-offs':40s}{'baseline':>10s}  {'Fairmeet':>10s}   ratio")
    take = run.op_ms.get("take-over", [])
    row("take-over p50 ms", pct(b["ms"], 50), pct(take, 50), "(one request, one transaction, vs the bare transaction)")
    row("take-over p99 ms", pct(b["ms"], 99), pct(take, 99))
    row("forward -> accepted p50 ms", pct(b["ms"], 50), pct(run.forward_accept_ms, 50), "(two requests and an offer frame, think time out)")
    row("forward -> accepted p99 ms", pct(b["ms"], 99), pct(run.forward_accept_ms, 99))
    row("PostgreSQL CPU ms per hand-off", b["pg_cpu"] / max(1, n) * 1000, f.pg_cpu / max(1, f.handoffs) * 1000,
        "(not like for like: Fairmeet's is the whole run's, its chats, offers, lines and the 0.2 s SQL samples included)")


# --------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--candidates", type=int, default=200)
    parser.add_argument("--staff", type=int, default=12, help="in two teams of half each")
    parser.add_argument("--capacity", type=int, default=3, help="chats at once per person (1-20)")
    parser.add_argument("--accept-seconds", type=int, default=10, help="the event's time to accept an offer (under 10: written by SQL, a test-only knob)")
    parser.add_argument("--accept", type=float, default=0.60, help="share of offers accepted")
    parser.add_argument("--decline", type=float, default=0.15, help="share of offers declined (the rest is ignored and runs out)")
    parser.add_argument("--race", type=float, default=0.10, help="share of accepts clicked twice, and (as much again) raced by a colleague's take")
    parser.add_argument("--monitor", type=float, default=0.15, help="share of ownerships a colleague monitors invisibly")
    parser.add_argument("--lines", type=int, default=2, help="lines the owner exchanges with the candidate before acting")
    parser.add_argument("--think", type=float, default=0.3, help="seconds (+-50%%) before answering, accepting or acting")
    parser.add_argument("--max-handoffs", type=int, default=3, help="hand-offs per chat before its owner ends it")
    parser.add_argument("--rescue-after", type=float, default=0.0, help="seconds a chat sits without an offer, someone of its queue having a "
                                                                         "free seat, before that person takes it by hand (0: accept time + 10)")
    parser.add_argument("--overdue-grace", type=float, default=5.0, help="seconds an offer may stay pending after it ran out")
    parser.add_argument("--start-concurrency", type=int, default=20)
    parser.add_argument("--wait", type=float, default=300.0, help="seconds the chats may take")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--pool", type=int, default=0, help="the server's PostgreSQL pool, no overflow (0: the app's default)")
    parser.add_argument("--nodes", type=int, default=1)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--baseline", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--server-log", type=Path, help="keep the server's output here (default: a temporary file)")
    parser.add_argument("--profile", type=Path, help="record the (first) server with py-spy (collapsed stacks) into this file")
    parser.add_argument("--keep-db", action="store_true", help="keep the database (its name is printed) to look into afterwards")
    args = parser.parse_args()
    if args.staff < 4 or args.staff % 2:
        parser.error("--staff: an even number, at least 4")
    if not 1 <= args.capacity <= 20 or not 1 <= args.accept_seconds <= 600:
        parser.error("--capacity is 1 to 20, --accept-seconds 1 to 600")
    if args.nodes > 1 and not args.pool:
        args.pool = 20
    if not args.rescue_after:
        args.rescue_after = args.accept_seconds + 10

    accounts.set_password_hasher(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    print(f"desk load {dt.datetime.now():%Y-%m-%d %H:%M:%S}: {args.candidates} candidates, {args.staff} staff x {args.capacity}, "
          f"accept within {args.accept_seconds} s, {args.nodes} node(s); load average {' '.join(f'{x:.1f}' for x in os.getloadavg())} "
          f"on {os.cpu_count()} cores")
    workdir = Path(tempfile.mkdtemp(prefix="fairmeet-desk-"))
    log = args.server_log or workdir / "server.log"
    logs = [log] + [log.with_name(f"{log.name}.node{k + 1}") for k in range(1, args.nodes)]
    name = f"fairmeet_bench_{uuid.uuid4().hex[:10]}"
    asyncio.run(admin_sql(PG_ADMIN_URL, f'CREATE DATABASE "{name}"'))
    code = 1
    try:
        url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
        dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        args.dsn, args.url = dsn, url
        migrate.upgrade(url)
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        asyncio.run(make_users(url, now, args.staff))
        redis = args.redis if args.nodes > 1 else ""
        prefix = f"fairmeet-desk-{uuid.uuid4().hex[:8]}:" if args.nodes > 1 else ""
        with contextlib.ExitStack() as stack:
            servers = [stack.enter_context(serve_process(url, now, pool=args.pool, log=logs[k], redis_url=redis, redis_prefix=prefix,
                                                         real_clock=True, desk_jobs=True)) for k in range(args.nodes)]
            run, figures, failures = asyncio.run(desk_load(args, [b for b, _ in servers], [p.pid for _, p in servers], dsn, now))
        if args.baseline:
            base = asyncio.run(baseline(dsn, max(1, figures.handoffs), args.staff, args.capacity, args.seed))
            side_by_side(run, figures, base)
            if base["bad"]:
                failures.append("the baseline's seat counters went wrong")
        text = "\n".join(lg.read_text(errors="replace") for lg in logs if lg.exists())
        problems = [ln for ln in text.splitlines() if ln.strip()]
        print(f"\nload average now {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
        print(f"server log: {len(problems)} lines" + (f" (kept in {', '.join(map(str, logs))})" if args.server_log else ""))
        for ln in problems[:12]:
            print(f"    {ln[:300]}")
        errors = [ln for ln in problems if re.search(r"Traceback|ERROR|[Ee]xception", ln)]
        if errors:
            failures.append(f"the server logged {len(errors)} error lines, e.g. {errors[:2]}")
        if failures:
            print("\nFAIL:\n  " + "\n  ".join(failures))
        else:
            print("\nOK")
            code = 0
    finally:
        if args.keep_db:
            print(f"(database kept: {name})")
        else:
            asyncio.run(admin_sql(PG_ADMIN_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if args.server_log is None and code != 0:
            kept = Path(tempfile.gettempdir()) / f"desk-load-{name}.log"
            with contextlib.suppress(OSError):
                kept.write_text("\n".join(lg.read_text(errors="replace") for lg in logs if lg.exists()))
                print(f"(server log kept in {kept})")
        shutil.rmtree(workdir, ignore_errors=True)
    sys.exit(code)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
