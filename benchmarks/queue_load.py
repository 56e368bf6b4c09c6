"""Live chat queue: hundreds of candidates queueing for a pool of recruiters with a per-recruiter capacity, through a real server.

What it does:

1. Creates a throw-away PostgreSQL database, migrates it, makes the admin's and the recruiters' accounts (directly,
   as the CLI does) and starts the app in a child process (`tests.live.serve_process`: a frozen clock, no
   background jobs, sign-in limits off). `--nodes 2` starts two processes on the same database sharing Redis
   (127.0.0.1:6379, a prefix of their own); candidates and recruiters alternate between them, so queue,
   assignment and line frames cross nodes.
2. Seeds through the API: an event, a company, the R recruiters as its participants, a job req with one
   knockout question, every recruiter assigned to it. Each recruiter takes an API token, sets their seat
   (`PUT /api/v1/live-agent {available, capacity: C, auto_assign: true}`), signs in for a session cookie and
   opens the console socket `/ws/live/console` (a heartbeat frame every 20 s keeps the seat online).
3. N candidates start chats (`POST /api/v1/job-reqs/{id}/chats`, `--start-concurrency` at a time) and connect
   the candidate socket `/ws/live`. Starting a chat is limited to 10 per address per 10 minutes: candidates
   come from 127.0.0.2, .3, ... (ten each; loopback is a /8), so the server's limit stays as it is. The
   first R*C are assigned at once; the others wait in the queue.
4. When everyone has a socket (the gate), the recruiters begin: on `assigned` they `watch` the chat, greet,
   and the two sides exchange K lines in turns, each answering the other's line when it arrives (after
   `--think` seconds). After the K-th line the recruiter ends the chat (`POST /api/v1/live-chats/{id}/end`),
   which frees the seat and assigns the longest-waiting candidate in the same transaction.
5. Measures: the hand-off, from a seat freed (the end request sent, and its response received) to that
   recruiter's next `assigned` frame and to the new candidate's `status: active` frame; lines stored (acked)
   and delivered per second, line delivery latency; the server's CPU.
6. Checks (exit 1 on any failure): every line sent is acked, stored once (SQL: conversation_events) and
   delivered to the other side exactly once; the positions a candidate sees never rise (start response,
   welcome, queue frames); no recruiter over capacity (SQL sampled every 0.2 s during the run:
   live_agents.active_chats and the count of active chats, both <= capacity and equal; and from the client:
   assignments received minus ends sent <= C); every chat ended, by the recruiter the client saw it assigned
   to, with exactly one `joined` notice; the queue drained and every seat is back at 0.

The physical baseline runs first, in the same run, on a throw-away database of its own: the same N chats,
R*C seats, K lines in turns, through signaling_load.py's bare relay (`websockets`, one asyncpg INSERT per line,
ack, forward), and a seat hand-off that is one bare SQL transaction (end the chat, free the seat, pick the
next waiting chat FOR UPDATE SKIP LOCKED, claim it, take the seat). Ratios Fairmeet / baseline are printed;
the machine is shared and noisy, so the ratio is the figure to compare.

`--assign next` turns automatic assignment off: each freed seat calls `POST /api/v1/live-chats/take-next` after
the end response instead (the hand-off is still measured to the recruiter's `assigned` frame).

    .venv/bin/python benchmarks/queue_load.py                      # 300 candidates, 10 recruiters x 3 seats, 6 lines
    .venv/bin/python benchmarks/queue_load.py --assign next --nodes 2 --wait 150
    .venv/bin/python benchmarks/queue_load.py --candidates 600 --think 0.5
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
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, deque
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
from sqlalchemy.engine import make_url  # noqa: E402
from websockets.asyncio.client import ClientConnection, connect  # noqa: E402
from websockets.exceptions import ConnectionClosed  # noqa: E402

from scheduling import accounts, migrate  # noqa: E402
from scheduling.db import admin_sql, create_engine, create_sessionmaker  # noqa: E402
from tests.live import free_socket, serve_process  # noqa: E402

PG_ADMIN_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
RELAY = ROOT / "benchmarks" / "signaling_load.py"  # its --serve-baseline is the bare relay
PASSWORD = "correct horse battery"
# uvicorn closes a keep-alive connection after 5 s idle; a client reusing it at that moment gets a ReadError.
LIMITS = httpx.Limits(keepalive_expiry=2.0)
STARTS_PER_ADDRESS = 10  # web/http.py live_limits["start"]: 10 per address per 10 minutes
LINE_ID = re.compile(r"^[rc][0-9]+-[0-9]+$")


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with free_socket() as probe:
        port: int = probe.getsockname()[1]
    return port


def line_id(side: str, chat: int, i: int) -> str:
    return f"{side}{chat}-{i}"


def line_text(side: str, chat: int, i: int, size: int) -> str:
    who = "Recruiter" if side == "r" else "Candidate"
    return f"{who} line {i} in chat {chat}: " + "x" * size


def think_time(think: float) -> float:
    return random.uniform(0.5, 1.5) * think if think else 0.0


# --------------------------------------------------------------------------- what a run records


@dataclass
class Line:
    cid: str
    chat: int
    idx: int
    side: str  # r: recruiter, c: candidate
    sent: float
    acked: float | None = None
    seq: int | None = None
    arrivals: list[float] = field(default_factory=list)
    resent: int = 0


@dataclass
class End:
    recruiter: Recruiter
    chat: int
    sent: float
    returned: float | None = None
    assigned: float | None = None  # this recruiter's next `assigned` frame (the freed seat filled)
    next_chat: int | None = None


@dataclass
class Run:
    args: argparse.Namespace
    bases: list[str]  # one per server node
    job_id: int = 0
    question_id: int = 0
    lines: dict[str, Line] = field(default_factory=dict)
    ends: list[End] = field(default_factory=list)
    candidates: dict[int, Candidate] = field(default_factory=dict)  # by chat id
    assigned_to: dict[int, int] = field(default_factory=dict)  # chat id -> recruiter user id, as the assigned frames said
    double_assigned: list[int] = field(default_factory=list)
    initial_assignments: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    error_examples: list[str] = field(default_factory=list)
    http_failures: list[str] = field(default_factory=list)
    start_ms: list[float] = field(default_factory=list)
    end_ms: list[float] = field(default_factory=list)
    gate: asyncio.Event = field(default_factory=asyncio.Event)
    gate_at: float = 0.0
    ended_chats: int = 0
    all_ended: asyncio.Event = field(default_factory=asyncio.Event)
    stopping: bool = False  # after --wait: nobody starts anything new, what is in flight may finish
    over_capacity_client: list[str] = field(default_factory=list)
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)

    def spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
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

    def sent(self, side: str, chat: int, i: int) -> Line:
        cid = line_id(side, chat, i)
        line = self.lines.get(cid)
        if line is None:
            line = self.lines[cid] = Line(cid, chat, i, side, time.monotonic())
        else:
            line.resent += 1
        return line

    def ack(self, frame: dict[str, Any], now: float) -> Line | None:
        line = self.lines.get(frame.get("client_id") or "")
        if line is not None and line.acked is None:
            line.acked, line.seq = now, frame.get("seq")
            return line
        return None

    def arrived(self, cid: str, now: float) -> Line | None:
        """A line reached the other side; returns it the first time only."""
        line = self.lines.get(cid)
        if line is None:
            self.errors["unknown line arrived"] += 1
            return None
        line.arrivals.append(now)
        return line if len(line.arrivals) == 1 else None

    def chat_over(self) -> None:
        self.ended_chats += 1
        if self.ended_chats >= self.args.candidates:
            self.all_ended.set()


# --------------------------------------------------------------------------- the candidate


class Candidate:
    def __init__(self, run: Run, n: int, http: httpx.AsyncClient) -> None:
        self.run, self.n, self.http = run, n, http
        self.base = str(http.base_url).rstrip("/")
        self.chat_id = 0
        self.token = ""
        self.positions: list[tuple[str, int]] = []  # (where, position) in the order seen
        self.active_frame_at: float | None = None
        self.active_at_start = False
        self.welcome_status = ""
        self.ws: ClientConnection | None = None
        self.reader: asyncio.Task[None] | None = None
        self.seqs: set[int] = set()
        self.dup_seqs = 0
        self.ended = False

    async def start(self) -> bool:
        body = {"name": f"Cara Candidate {self.n}", "email": f"cara{self.n}@mail.example", "answers": {str(self.run.question_id): "Yes"},
                "start_key": f"bench-{self.n}-{uuid.uuid4().hex[:12]}", "source_url": "https://jobs.example/backend"}
        t0 = time.monotonic()
        r = await self.http.post(f"/api/v1/job-reqs/{self.run.job_id}/chats", json=body)
        self.run.start_ms.append((time.monotonic() - t0) * 1000)
        if r.status_code != 201:
            self.run.fail_http(f"start chat: HTTP {r.status_code} {r.text[:300]}")
            return False
        out = r.json()
        self.chat_id, self.token = out["chat_id"], out["token"]
        if out["status"] == "active":
            self.active_at_start = True
        elif out["status"] != "waiting":
            self.run.fail_http(f"start chat: status {out['status']} (expected waiting or active)")
            return False
        if out.get("position"):
            self.positions.append(("start", out["position"]))
        self.run.candidates[self.chat_id] = self
        return True

    async def connect(self) -> None:
        ws_url = self.base.replace("http", "ws", 1) + "/ws/live"
        self.ws = await connect(ws_url, origin=self.base, compression=None, open_timeout=30, max_size=2**20)  # type: ignore[arg-type]
        await self.ws.send(orjson.dumps({"type": "hello", "v": 1, "conn": f"cand{self.chat_id}x{uuid.uuid4().hex[:8]}", "chat": self.chat_id,
                                         "token": self.token, "last_seq": None}).decode())
        self.welcomed = asyncio.get_running_loop().create_future()
        self.reader = asyncio.get_running_loop().create_task(self._read())
        await asyncio.wait_for(asyncio.shield(self.welcomed), 30)

    async def _read(self) -> None:
        assert self.ws is not None
        try:
            async for raw in self.ws:
                self.on(orjson.loads(raw), time.monotonic())
        except ConnectionClosed:
            pass

    def on(self, m: dict[str, Any], now: float) -> None:
        kind = m.get("type")
        if kind == "welcome":
            chat = m["chat"]
            self.welcome_status = chat["status"]
            if chat.get("position"):
                self.positions.append(("welcome", chat["position"]))
            if not self.welcomed.done():
                self.welcomed.set_result(None)
        elif kind == "queue":
            self.positions.append(("queue", m["position"]))
        elif kind == "status":
            if m["status"] == "active" and self.active_frame_at is None:
                self.active_frame_at = now
            elif m["status"] == "ended" and not self.ended:
                self.ended = True
                self.run.spawn(self.close())
        elif kind == "event":
            seq = m["seq"]
            if seq in self.seqs:
                self.dup_seqs += 1
            self.seqs.add(seq)
            cid = m.get("client_id") or ""
            if m["kind"] == "message" and cid.startswith("r") and LINE_ID.match(cid):
                line = self.run.arrived(cid, now)
                if line is not None and line.idx + 1 < self.run.args.lines:
                    self.run.spawn(self.say(line.idx + 1, think_time(self.run.args.think)))
        elif kind == "ack":
            self.run.ack(m, now)
        elif kind == "error":
            self.run.error("candidate", m)
            cid = m.get("client_id") or ""
            if m.get("code") in ("busy", "rate_limited") and cid in self.run.lines:
                self.run.spawn(self.say(self.run.lines[cid].idx, 1.0 if m.get("code") == "rate_limited" else 0.2))

    async def say(self, i: int, delay: float) -> None:
        if delay:
            await asyncio.sleep(delay)
        if self.run.stopping and line_id("c", self.chat_id, i) not in self.run.lines:
            return
        self.run.sent("c", self.chat_id, i)
        assert self.ws is not None
        await self.ws.send(orjson.dumps({"type": "chat", "client_id": line_id("c", self.chat_id, i),
                                         "text": line_text("c", self.chat_id, i, self.run.args.size)}).decode())

    async def close(self) -> None:
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await self.ws.close()
        if self.reader is not None:
            self.reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.reader


# --------------------------------------------------------------------------- the recruiter


class Recruiter:
    def __init__(self, run: Run, n: int, uid: int, email: str, http: httpx.AsyncClient, token: str) -> None:
        self.run, self.n, self.uid, self.email, self.http = run, n, uid, email, http
        self.base = str(http.base_url).rstrip("/")
        self.auth = {"Authorization": f"Bearer {token}"}
        self.ws: ClientConnection | None = None
        self.reader: asyncio.Task[None] | None = None
        self.assigned = 0
        self.ends_sent = 0
        self.max_holding = 0
        self.pending: deque[End] = deque()
        self.deferred: list[int] = []
        self.ending: set[int] = set()

    async def sign_in(self) -> None:
        page = await self.http.get("/login")
        found = re.search(r'name="csrf" value="([^"]+)"', page.text)
        if found is None:
            raise RuntimeError(f"no sign-in form at /login (HTTP {page.status_code})")
        r = await self.http.post("/login", data={"email": self.email, "password": PASSWORD, "csrf": found.group(1)})
        if r.status_code != 303:
            raise RuntimeError(f"sign-in of {self.email}: HTTP {r.status_code}")

    async def connect(self) -> None:
        ws_url = self.base.replace("http", "ws", 1) + "/ws/live/console"
        cookie = "; ".join(f"{k}={v}" for k, v in self.http.cookies.items())
        self.ws = await connect(ws_url, origin=self.base, additional_headers={"Cookie": cookie},  # type: ignore[arg-type]
                                compression=None, open_timeout=30, max_size=2**22)
        self.welcomed = asyncio.get_running_loop().create_future()
        await self.send({"type": "hello", "v": 1, "conn": f"console{self.uid}x{uuid.uuid4().hex[:8]}"})
        self.reader = asyncio.get_running_loop().create_task(self._read())
        await asyncio.wait_for(asyncio.shield(self.welcomed), 30)

    async def send(self, frame: dict[str, Any]) -> None:
        assert self.ws is not None
        await self.ws.send(orjson.dumps(frame).decode())

    async def heartbeat(self) -> None:
        while True:
            await asyncio.sleep(20)
            await self.send({"type": "heartbeat"})

    async def _read(self) -> None:
        assert self.ws is not None
        try:
            async for raw in self.ws:
                self.on(orjson.loads(raw), time.monotonic())
        except ConnectionClosed:
            pass

    def on(self, m: dict[str, Any], now: float) -> None:
        kind = m.get("type")
        run = self.run
        if kind == "welcome":
            if m["agent"]["auto_assign"] != (run.args.assign == "auto") or f"job:{run.job_id}" not in m["queues"]:
                run.fail_http(f"console welcome of {self.email}: not the job queue or not the assignment mode asked for: {m}")
            if not self.welcomed.done():
                self.welcomed.set_result(None)
        elif kind == "assigned":
            chat = m["chat"]
            if chat in run.assigned_to:
                run.double_assigned.append(chat)
            run.assigned_to[chat] = self.uid
            self.assigned += 1
            holding = self.assigned - self.ends_sent
            self.max_holding = max(self.max_holding, holding)
            if holding > run.args.capacity:
                run.over_capacity_client.append(f"{self.email} holds {holding} chats (capacity {run.args.capacity})")
            if self.pending:
                end = self.pending.popleft()
                end.assigned, end.next_chat = now, chat
            else:
                run.initial_assignments += 1
            if run.gate.is_set():
                run.spawn(self.send({"type": "watch", "chat": chat, "last_seq": None}))
            else:
                self.deferred.append(chat)
        elif kind == "watching":
            if m["status"] != "active":
                run.fail_http(f"watching chat {m['chat']}: status {m['status']}")
            if run.args.lines:
                run.spawn(self.say(m["chat"], 0, 0.0))
            else:
                run.spawn(self.end(m["chat"]))
        elif kind == "event":
            cid = m.get("client_id") or ""
            if m["kind"] == "message" and cid.startswith("c") and LINE_ID.match(cid):
                line = run.arrived(cid, now)
                if line is not None:
                    if line.idx + 1 < run.args.lines:
                        run.spawn(self.say(line.chat, line.idx + 1, think_time(run.args.think)))
                    else:
                        run.spawn(self.end(line.chat, think_time(run.args.think)))
        elif kind == "ack":
            line = run.ack(m, now)
            if line is not None and line.side == "r" and line.idx + 1 == run.args.lines:
                run.spawn(self.end(line.chat, think_time(run.args.think)))
        elif kind == "error":
            run.error("recruiter", m)
            cid = m.get("client_id") or ""
            if m.get("code") in ("busy", "rate_limited") and cid in run.lines:
                line = run.lines[cid]
                run.spawn(self.say(line.chat, line.idx, 1.0 if m.get("code") == "rate_limited" else 0.2))

    def release(self) -> None:
        for chat in self.deferred:
            self.run.spawn(self.send({"type": "watch", "chat": chat, "last_seq": None}))
        self.deferred.clear()
        if self.run.args.assign == "next":
            for _ in range(self.run.args.capacity):
                self.run.spawn(self.take_next())

    async def take_next(self) -> None:
        """--assign next: the seat asks for the longest-waiting chat; the `assigned` frame that follows starts it as in auto mode."""
        for attempt in range(20):
            if self.run.stopping:
                return
            r = await self.http.post("/api/v1/live-chats/take-next", headers=self.auth)
            if r.status_code == 200:
                return
            code = r.json().get("error", {}).get("code") if r.headers.get("content-type", "").startswith("application/json") else None
            if r.status_code == 409 and code == "queue_empty":
                return
            if r.status_code == 409 and code == "already_taken":
                continue
            self.run.fail_http(f"take-next (attempt {attempt + 1}): HTTP {r.status_code} {r.text[:200]}")
            await asyncio.sleep(0.2)

    async def say(self, chat: int, i: int, delay: float) -> None:
        if delay:
            await asyncio.sleep(delay)
        if self.run.stopping and line_id("r", chat, i) not in self.run.lines:
            return
        self.run.sent("r", chat, i)
        await self.send({"type": "chat", "chat": chat, "client_id": line_id("r", chat, i), "text": line_text("r", chat, i, self.run.args.size)})

    async def end(self, chat: int, delay: float = 0.0) -> None:
        if chat in self.ending:
            return
        self.ending.add(chat)
        if delay:
            await asyncio.sleep(delay)
        if self.run.stopping:
            return
        end = End(self, chat, time.monotonic())
        self.ends_sent += 1
        self.pending.append(end)  # pushed before sending: the next `assigned` may beat the response
        self.run.ends.append(end)
        r: httpx.Response | None = None
        for attempt in range(5):  # a 5xx is counted as a failure, then tried again as a person would (the chat must end)
            try:
                r = await self.http.post(f"/api/v1/live-chats/{chat}/end", headers=self.auth, json={"next_step": "Interview", "outcome": "finished"})
            except httpx.TransportError as err:  # ending twice is harmless: an ended chat only gets its next step again
                self.run.fail_http(f"end chat {chat} (attempt {attempt + 1}): {err!r}")
                await asyncio.sleep(0.2)
                continue
            if r.status_code < 500:
                break
            self.run.fail_http(f"end chat {chat} (attempt {attempt + 1}): HTTP {r.status_code} {r.text[:200]}")
            await asyncio.sleep(0.2)
        end.returned = time.monotonic()
        self.run.end_ms.append((end.returned - end.sent) * 1000)
        if r is None or r.status_code != 200:
            self.run.fail_http(f"end chat {chat}: " + (f"HTTP {r.status_code} {r.text[:300]}" if r is not None else "no answer"))
        await self.send({"type": "unwatch", "chat": chat})
        self.run.chat_over()
        if self.run.args.assign == "next":
            await self.take_next()

    async def close(self) -> None:
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await self.ws.close()
        if self.reader is not None:
            self.reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.reader


# --------------------------------------------------------------------------- seeding (through the API)


async def api(http: httpx.AsyncClient, method: str, url: str, headers: dict[str, str] | None = None, expect: int = 201, **kw: Any) -> Any:
    r = await http.request(method, url, headers=headers, **kw)
    if r.status_code != expect:
        raise RuntimeError(f"{method} {url}: HTTP {r.status_code} {r.text[:500]}")
    return r.json() if r.content else None


async def bearer(http: httpx.AsyncClient, email: str) -> str:
    out = await api(http, "POST", "/api/v1/tokens", json={"email": email, "password": PASSWORD})
    token: str = out["token"]
    return token


async def seed(run: Run, now: dt.datetime) -> list[Recruiter]:
    args = run.args
    async with httpx.AsyncClient(base_url=run.bases[0], timeout=60) as http:
        admin = {"Authorization": f"Bearer {await bearer(http, 'admin@bench.test')}"}
        start = (now + dt.timedelta(days=7)).replace(hour=8, minute=0, second=0, microsecond=0)
        event = await api(http, "POST", "/api/v1/events", admin, json={
            "name": "Queue load fair", "timezone": "UTC", "starts_at": start.isoformat(), "ends_at": (start + dt.timedelta(days=1)).isoformat(),
            "chat_format": {"requests_by": "both", "slot_minutes": 30, "buffer_minutes": 0},
        })
        company = await api(http, "POST", f"/api/v1/events/{event['id']}/companies", admin, json={"name": "Acme Robotics"})
        people = []
        for i in range(args.recruiters):
            email = f"rec{i}@bench.test"
            p = await api(http, "POST", f"/api/v1/events/{event['id']}/participants", admin, json={
                "email": email, "name": f"Rita Recruiter {i}", "role": "recruiter", "company_id": company["id"]})
            people.append((i, p["user_id"], email))
        job = await api(http, "POST", "/api/v1/job-reqs", admin, json={
            "title": "Backend Engineer", "company": "Acme Robotics", "location": "Berlin", "event_id": event["id"],
            "apply_url": "https://acme.example/apply", "when_unavailable": "note",
            "questions": [{"text": "Are you allowed to work in the EU?", "kind": "yes_no", "qualifying": ["Yes"]}],
        })
        run.job_id, run.question_id = job["id"], job["questions"][0]["id"]
        for _, uid, _ in people:
            await api(http, "POST", f"/api/v1/job-reqs/{job['id']}/assignees", admin, json={"user_id": uid})
    recruiters = []
    for i, uid, email in people:
        # One loopback address per recruiter: token and sign-in share a 60-a-minute limit per address.
        client = httpx.AsyncClient(base_url=run.bases[i % len(run.bases)], timeout=60, limits=LIMITS,
                                   transport=httpx.AsyncHTTPTransport(local_address=f"127.0.1.{1 + i % 250}"))
        token = await bearer(client, email)
        seat = await api(client, "PUT", "/api/v1/live-agent", {"Authorization": f"Bearer {token}"}, expect=200,
                         json={"available": True, "capacity": args.capacity, "auto_assign": args.assign == "auto"})
        if not seat["online"] or seat["capacity"] != args.capacity:
            raise RuntimeError(f"seat of {email} not online: {seat}")
        rec = Recruiter(run, i, uid, email, client, token)
        await rec.sign_in()
        recruiters.append(rec)
    return recruiters


async def make_users(url: str, now: dt.datetime, recruiters: int) -> None:
    """The admin and the recruiters' accounts, as `fairmeet users create` makes them (with a cheap password hash: the server
    verifies with the hash's own parameters, so signing in costs milliseconds, not the default argon2's ~100 ms of CPU)."""
    engine = create_engine(url)
    try:
        async with create_sessionmaker(engine)() as s, s.begin():
            await accounts.create_user(s, email="admin@bench.test", name="Ada Admin", password=PASSWORD, now=now, is_admin=True)
            for i in range(recruiters):
                await accounts.create_user(s, email=f"rec{i}@bench.test", name=f"Rita Recruiter {i}", password=PASSWORD, now=now)
    finally:
        await engine.dispose()


# --------------------------------------------------------------------------- checks (SQL)


@dataclass
class Sampler:
    """Seats, sampled by SQL while the queue moves: one statement, one snapshot."""

    dsn: str
    samples: int = 0
    over: list[str] = field(default_factory=list)
    mismatched: list[str] = field(default_factory=list)
    max_active: int = 0
    max_waiting_seen: int = 0

    async def run(self, stop: asyncio.Event) -> None:
        conn = await asyncpg.connect(self.dsn)
        try:
            while not stop.is_set():
                rows = await conn.fetch(
                    "SELECT a.user_id, a.capacity, a.active_chats, "
                    "(SELECT count(*) FROM live_chats c WHERE c.recruiter_id = a.user_id AND c.status = 'active') AS counted, "
                    "(SELECT count(*) FROM live_chats w WHERE w.status = 'waiting') AS waiting FROM live_agents a")
                self.samples += 1
                for r in rows:
                    self.max_active = max(self.max_active, r["active_chats"], r["counted"])
                    self.max_waiting_seen = max(self.max_waiting_seen, r["waiting"])
                    if r["active_chats"] > r["capacity"] or r["counted"] > r["capacity"]:
                        self.over.append(f"user {r['user_id']}: active_chats {r['active_chats']}, {r['counted']} active chats, capacity {r['capacity']}")
                    if r["active_chats"] != r["counted"]:
                        self.mismatched.append(f"user {r['user_id']}: active_chats {r['active_chats']} but {r['counted']} active chats")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 0.2)
        finally:
            await conn.close()


@dataclass
class Stored:
    statuses: dict[str, int]
    no_recruiter: int
    wrong_recruiter: list[str]
    joined_not_once: list[str]
    seats_left: list[str]
    over_capacity: list[str]
    lines: dict[str, int]  # client id -> rows stored


async def stored_state(dsn: str, run: Run) -> Stored:
    conn = await asyncpg.connect(dsn)
    try:
        statuses = {r["status"]: r["n"] for r in await conn.fetch("SELECT status, count(*) AS n FROM live_chats GROUP BY status")}
        no_recruiter = await conn.fetchval("SELECT count(*) FROM live_chats WHERE status IN ('active', 'ended') AND recruiter_id IS NULL")
        wrong = []
        for r in await conn.fetch("SELECT id, recruiter_id FROM live_chats"):
            seen = run.assigned_to.get(r["id"])
            if seen != r["recruiter_id"]:
                wrong.append(f"chat {r['id']}: recruiter {r['recruiter_id']} in the database, assigned frame to {seen}")
        joined = [f"chat {r['id']} ({r['status']}): {r['n']} joined notices" for r in await conn.fetch(
            "SELECT l.id, l.status, count(e.id) FILTER (WHERE e.kind = 'notice' AND e.body::jsonb ->> 'event' = 'joined') AS n "
            "FROM live_chats l LEFT JOIN conversations c ON c.key = 'live:' || l.id "
            "LEFT JOIN conversation_events e ON e.conversation_id = c.id GROUP BY l.id, l.status")
            if r["n"] != (0 if r["status"] == "waiting" else 1)]
        seats = [f"user {r['user_id']}: active_chats {r['active_chats']}" for r in await conn.fetch("SELECT user_id, active_chats FROM live_agents")
                 if r["active_chats"] != 0]
        over = [f"user {r['user_id']}: {r['active_chats']} > {r['capacity']}" for r in await conn.fetch(
            "SELECT user_id, active_chats, capacity FROM live_agents WHERE active_chats > capacity")]
        lines = {r["client_id"]: r["n"] for r in await conn.fetch(
            "SELECT e.client_id, count(*) AS n FROM conversation_events e JOIN conversations c ON c.id = e.conversation_id "
            "WHERE c.key LIKE 'live:%' AND e.kind = 'message' AND e.client_id ~ '^[rc][0-9]+-[0-9]+$' GROUP BY e.client_id")}
        return Stored(statuses, no_recruiter, wrong, joined, seats, over, lines)
    finally:
        await conn.close()


# --------------------------------------------------------------------------- Fairmeet's load


@dataclass
class Figures:
    chats: int = 0
    lines_sent: int = 0
    lines_delivered: int = 0
    talk_seconds: float = 0.0
    store_seconds: float = 0.0
    lines_acked: int = 0
    deliveries_ms: list[float] = field(default_factory=list)
    handoff_ms: list[float] = field(default_factory=list)  # seat freed (end sent) -> next assignment
    handoff_after_response_ms: list[float] = field(default_factory=list)  # end response -> next assignment
    handoff_candidate_ms: list[float] = field(default_factory=list)  # end response -> the candidate's status: active
    lost: int = 0
    duplicated: int = 0
    server_cpu: float = 0.0
    client_cpu: float = 0.0

    @property
    def delivered_rate(self) -> float:
        return self.lines_delivered / self.talk_seconds if self.talk_seconds else 0.0

    @property
    def stored_rate(self) -> float:
        return self.lines_acked / self.store_seconds if self.store_seconds else 0.0


async def fairmeet_load(args: argparse.Namespace, bases: list[str], pids: list[int], dsn: str, now: dt.datetime) -> tuple[Figures, list[str]]:
    run = Run(args, bases)
    failures: list[str] = []
    t_seed = time.monotonic()
    recruiters = await seed(run, now)
    for rec in recruiters:
        await rec.connect()
    beats = [asyncio.get_running_loop().create_task(rec.heartbeat()) for rec in recruiters]
    print(f"seeded through the API and connected {len(recruiters)} consoles in {time.monotonic() - t_seed:.1f} s")

    # Ten candidates per loopback address (the limit on starting chats), on node n % nodes.
    nodes = len(bases)
    addresses: dict[tuple[int, int], httpx.AsyncClient] = {}
    for n in range(args.candidates):
        a, node = n // STARTS_PER_ADDRESS, n % nodes
        if (a, node) not in addresses:
            addresses[a, node] = httpx.AsyncClient(base_url=bases[node], timeout=60, limits=LIMITS, transport=httpx.AsyncHTTPTransport(
                local_address=f"127.0.{2 + a // 250}.{2 + a % 250}"))
    candidates = [Candidate(run, n, addresses[n // STARTS_PER_ADDRESS, n % nodes]) for n in range(args.candidates)]
    profiler = None
    if args.profile:  # py-spy (pip install py-spy into the venv) on the server, from the first arrival to the last end
        spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        profiler = await asyncio.create_subprocess_exec(spy, "record", "--pid", str(pids[0]), "--format", "raw", "--rate", "200",
                                                        "--output", str(args.profile), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    stop_sampling = asyncio.Event()
    sampler = Sampler(dsn)
    sampling = asyncio.get_running_loop().create_task(sampler.run(stop_sampling))
    try:
        t0 = time.monotonic()
        gate = asyncio.Semaphore(args.start_concurrency)

        async def arrive(c: Candidate) -> None:
            async with gate:
                if await c.start():
                    await c.connect()

        await asyncio.gather(*(arrive(c) for c in candidates))
        started = time.monotonic() - t0
        n_started = len(run.candidates)
        print(f"{n_started} candidates started chats and connected in {started:.1f} s ({n_started / started:.0f}/s, "
              f"start p50 {pct(run.start_ms, 50):.0f} ms, p99 {pct(run.start_ms, 99):.0f} ms); "
              f"{sum(c.active_at_start for c in candidates)} assigned on arrival, "
              f"{sum(1 for c in candidates if c.positions and not c.active_at_start)} queued")
        if n_started < args.candidates:
            failures.append(f"{args.candidates - n_started} candidates could not start a chat")
            run.args.candidates = n_started

        # The gate: everyone waits with a socket; the recruiters begin.
        timed_out = False
        cpu0, mine0 = sum(cpu_seconds(pid) for pid in pids), cpu_seconds(os.getpid())
        run.gate_at = time.monotonic()
        run.gate.set()
        for rec in recruiters:
            rec.release()
        try:
            await asyncio.wait_for(run.all_ended.wait(), args.wait)
        except TimeoutError:
            timed_out = True
            failures.append(f"only {run.ended_chats} of {n_started} chats ended within {args.wait:.0f} s (--wait)")
        done_at = time.monotonic()
        cpu1, mine1 = sum(cpu_seconds(pid) for pid in pids), cpu_seconds(os.getpid())
        run.stopping = True
        if timed_out:  # what was sent may still arrive: up to 10 s for every line's ack and delivery
            for _ in range(50):
                if all(ln.acked is not None and ln.arrivals for ln in run.lines.values()):
                    break
                await asyncio.sleep(0.2)
        else:
            await asyncio.sleep(0.5)  # the last frames in flight
        f = Figures(chats=run.ended_chats, server_cpu=cpu1 - cpu0, client_cpu=mine1 - mine0)
        print(f"talk: {run.ended_chats} chats ended in {done_at - run.gate_at:.1f} s after the gate")
    finally:
        if profiler is not None:
            profiler.send_signal(signal.SIGINT)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(profiler.wait(), 30)
        stop_sampling.set()
        with contextlib.suppress(Exception):
            await sampling
        for b in beats:
            b.cancel()
        for k in range(0, len(candidates), 100):
            await asyncio.gather(*(c.close() for c in candidates[k : k + 100]), return_exceptions=True)
        await asyncio.gather(*(r.close() for r in recruiters), return_exceptions=True)
        for task in list(run.tasks):
            task.cancel()
        await asyncio.gather(*(r.http.aclose() for r in recruiters), *(a.aclose() for a in addresses.values()), return_exceptions=True)

    stored = await stored_state(dsn, run)
    if timed_out:  # an assignment committed at the cut-off may not have reached its console yet
        stored.wrong_recruiter = [w for w in stored.wrong_recruiter if not w.endswith("to None")]

    # Lines: acked, stored once, delivered once.
    unacked = [ln.cid for ln in run.lines.values() if ln.acked is None]
    not_stored = [ln.cid for ln in run.lines.values() if ln.acked is not None and stored.lines.get(ln.cid, 0) == 0]
    stored_twice = [cid for cid, n in stored.lines.items() if n > 1]
    stored_unknown = [cid for cid in stored.lines if cid not in run.lines]
    undelivered = [ln.cid for ln in run.lines.values() if stored.lines.get(ln.cid, 0) and not ln.arrivals]
    doubled = [ln.cid for ln in run.lines.values() if len(ln.arrivals) > 1]
    expected_lines = n_started * args.lines
    f.lines_sent = len(run.lines)
    f.lines_acked = sum(1 for ln in run.lines.values() if ln.acked is not None)
    f.lines_delivered = sum(1 for ln in run.lines.values() if ln.arrivals)
    f.deliveries_ms = [(ln.arrivals[0] - ln.sent) * 1000 for ln in run.lines.values() if ln.arrivals]
    acks_ms = [(ln.acked - ln.sent) * 1000 for ln in run.lines.values() if ln.acked is not None]
    last_arrival = max((ln.arrivals[0] for ln in run.lines.values() if ln.arrivals), default=run.gate_at)
    last_ack = max((ln.acked for ln in run.lines.values() if ln.acked is not None), default=run.gate_at)
    f.talk_seconds, f.store_seconds = last_arrival - run.gate_at, last_ack - run.gate_at
    f.lost = len(not_stored) + len(undelivered)
    f.duplicated = len(stored_twice) + len(doubled)

    # Hand-offs: each end matched with the same recruiter's next assignment.
    matched = [e for e in run.ends if e.assigned is not None]
    f.handoff_ms = [(e.assigned - e.sent) * 1000 for e in matched if e.assigned is not None]
    f.handoff_after_response_ms = [max(0.0, e.assigned - e.returned) * 1000 for e in matched if e.assigned is not None and e.returned is not None]
    beat_response = sum(1 for e in matched if e.assigned is not None and e.returned is not None and e.assigned < e.returned)
    no_status_frame = []
    for e in matched:
        c = run.candidates.get(e.next_chat or 0)
        if c is None:
            continue
        if c.active_frame_at is None:
            no_status_frame.append(f"chat {e.next_chat} (welcome said {c.welcome_status})")
        elif e.returned is not None:
            f.handoff_candidate_ms.append(max(0.0, c.active_frame_at - e.returned) * 1000)
    expected_handoffs = max(0, n_started - args.recruiters * args.capacity)
    slow = sum(1 for ms in f.handoff_ms if ms > 1000)

    # Positions.
    rises: Counter[str] = Counter()  # candidates whose position rose, by where: start response -> welcome -> queue frames
    rise_examples: dict[str, str] = {}
    rising = 0
    for c in run.candidates.values():
        kinds = set()
        for k in range(1, len(c.positions)):
            (w0, p0), (w1, p1) = c.positions[k - 1], c.positions[k]
            if p1 > p0:
                kind = f"{w0}->{w1}"
                kinds.add(kind)
                rise_examples.setdefault(kind, f"chat {c.chat_id}: {c.positions[max(0, k - 3) : k + 2]}")
        rises.update(kinds)
        rising += bool(kinds)
    dup_seq_frames = sum(c.dup_seqs for c in run.candidates.values())
    max_holding = max((r.max_holding for r in recruiters), default=0)

    # ------------------------------------------------------------------ report
    print(f"\n{n_started} candidates, {args.recruiters} recruiters x {args.capacity} seats, {args.lines} lines per chat in turns "
          f"(think {args.think:g} s), assignment {args.assign}, {nodes} server node{'s' if nodes > 1 else ''}"
          f"{' sharing Redis' if nodes > 1 else ''}, pool {args.pool or 'default (20+20)'}{' each' if nodes > 1 else ''}")
    print(f"lines sent / acked / delivered   {f.lines_sent} / {f.lines_acked} / {f.lines_delivered}   (expected {expected_lines})")
    print(f"lines stored per second          {f.stored_rate:8.1f}   (acked over {f.store_seconds:.2f} s from the gate)")
    print(f"lines delivered per second       {f.delivered_rate:8.1f}   (over {f.talk_seconds:.2f} s)")
    print(f"line delivery ms                 p50 {pct(f.deliveries_ms, 50):.1f}  p99 {pct(f.deliveries_ms, 99):.1f}  max {max(f.deliveries_ms, default=0):.1f}")
    print(f"line ack ms                      p50 {pct(acks_ms, 50):.1f}  p99 {pct(acks_ms, 99):.1f}")
    by_side = {s: [(ln.arrivals[0] - ln.sent) * 1000 for ln in run.lines.values() if ln.arrivals and ln.side == s] for s in "rc"}
    print(f"  recruiter -> candidate         p50 {pct(by_side['r'], 50):.1f}  p99 {pct(by_side['r'], 99):.1f}   "
          f"candidate -> recruiter p50 {pct(by_side['c'], 50):.1f}  p99 {pct(by_side['c'], 99):.1f}")
    print(f"chats ended per second           {run.ended_chats / max(1e-9, done_at - run.gate_at):8.1f}   "
          f"(end request p50 {pct(run.end_ms, 50):.0f} ms, p99 {pct(run.end_ms, 99):.0f} ms)")
    print(f"hand-offs matched                {len(matched)} of {len(run.ends)} ends (expected {expected_handoffs}: "
          f"the last {min(n_started, args.recruiters * args.capacity)} ends find nobody waiting); "
          f"{run.initial_assignments} first-fill assignments (no seat of theirs freed before)")
    print(f"seat freed -> next assigned ms   p50 {pct(f.handoff_ms, 50):.1f}  p99 {pct(f.handoff_ms, 99):.1f}  max {max(f.handoff_ms, default=0):.1f}"
          f"   (end request sent -> the recruiter's assigned frame; {slow} over 1 s)")
    print(f"  after the end response         p50 {pct(f.handoff_after_response_ms, 50):.1f}  p99 {pct(f.handoff_after_response_ms, 99):.1f}"
          f"   ({beat_response} assigned frames came before the end response: counted as 0)")
    print(f"  candidate's status: active     p50 {pct(f.handoff_candidate_ms, 50):.1f}  p99 {pct(f.handoff_candidate_ms, 99):.1f}"
          f"   (after the end response; {len(no_status_frame)} new candidates got no active status frame)")
    print(f"server CPU while talking         {f.server_cpu:8.2f} s   ({f.server_cpu / max(1, run.ended_chats) * 1000:.1f} ms per chat, "
          f"{f.server_cpu / max(1, f.lines_delivered) * 1000:.2f} ms per line incl. hand-offs and queue frames); "
          f"client {f.client_cpu:.2f} s")
    print(f"seats (SQL, {sampler.samples} samples)         max active {sampler.max_active} (capacity {args.capacity}), "
          f"over capacity {len(sampler.over)}, active_chats != active chats {len(sampler.mismatched)}; client-side max held {max_holding}")
    print(f"chats by status                  {dict(sorted(stored.statuses.items()))}; without a recruiter {stored.no_recruiter}; "
          f"recruiter differs from the assigned frame {len(stored.wrong_recruiter)}; joined notices != 1: {len(stored.joined_not_once)}")
    print(f"lost / duplicated lines          {f.lost} / {f.duplicated}   (unacked {len(unacked)}, acked but not stored {len(not_stored)}, "
          f"stored but not delivered {len(undelivered)}, stored twice {len(stored_twice)}, delivered twice {len(doubled)}, "
          f"stored but never sent {len(stored_unknown)}" + ("; counted 10 s after the cut-off" if timed_out else "") + ")")
    print(f"positions rising                 {rising} candidates {dict(rises) or ''}; duplicated event frames (same seq) {dup_seq_frames}")
    for kind, ex in rise_examples.items():
        print(f"    e.g. {kind}: {ex}")
    print(f"failed HTTP requests             {len(run.http_failures)}" + (f"   e.g. {run.http_failures[0]}" if run.http_failures else ""))
    print(f"error frames                     {dict(run.errors) or 0}")
    for ex in run.error_examples:
        print(f"    e.g. {ex}")

    if run.http_failures:
        failures.append(f"{len(run.http_failures)} failed requests: {run.http_failures[:3]}")
    if f.lost:
        failures.append(f"{f.lost} lost lines (acked but not stored {not_stored[:5]}, stored but not delivered {undelivered[:5]})")
    if unacked:
        failures.append(f"{len(unacked)} lines never acked: {unacked[:5]}")
    if f.duplicated:
        failures.append(f"{f.duplicated} duplicated lines (stored twice {stored_twice[:5]}, delivered twice {doubled[:5]})")
    if stored_unknown:
        failures.append(f"{len(stored_unknown)} stored lines nobody sent: {stored_unknown[:5]}")
    if f.lines_sent != expected_lines and not timed_out:
        failures.append(f"{f.lines_sent} lines sent, expected {expected_lines}")
    if rising:
        failures.append(f"positions rose for {rising} candidates ({dict(rises)}): {list(rise_examples.values())[:2]}")
    if sampler.over or stored.over_capacity or run.over_capacity_client:
        failures.append(f"over capacity: {(sampler.over + stored.over_capacity + run.over_capacity_client)[:3]}")
    if sampler.mismatched:
        failures.append(f"seat counters disagree with the chats: {sampler.mismatched[:3]}")
    if stored.statuses.get("waiting") or stored.statuses.get("active") or stored.statuses.get("ended", 0) != n_started:
        failures.append(f"the queue did not drain: {stored.statuses}")
    if stored.no_recruiter or stored.wrong_recruiter or run.double_assigned:
        failures.append(f"chats without exactly one recruiter: {stored.no_recruiter} without, {stored.wrong_recruiter[:3]}, "
                        f"assigned twice {run.double_assigned[:3]}")
    if stored.joined_not_once:
        failures.append(f"chats not joined exactly once: {stored.joined_not_once[:3]}")
    if stored.seats_left:
        failures.append(f"seats not freed at the end: {stored.seats_left[:3]}")
    if len(matched) < expected_handoffs:
        failures.append(f"only {len(matched)} of {expected_handoffs} freed seats were filled again")
    return f, failures


# --------------------------------------------------------------------------- the baseline


class BareConn:
    """A lean client of the bare relay: lines by client id, acks, futures for the line a side waits for."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.ws: ClientConnection | None = None
        self.reader: asyncio.Task[None] | None = None
        self.arrivals: dict[str, float] = {}
        self.waiting: dict[str, asyncio.Future[float]] = {}
        self.acks = 0
        self.doubles = 0

    async def connect(self) -> None:
        self.ws = await connect(self.url, max_size=2**20, open_timeout=30, compression=None)
        self.reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        assert self.ws is not None
        with contextlib.suppress(ConnectionClosed):
            async for raw in self.ws:
                now = time.monotonic()
                msg = orjson.loads(raw)
                if msg["type"] == "ack":
                    self.acks += 1
                    continue
                cid = msg["client_id"]
                if cid in self.arrivals:
                    self.doubles += 1
                    continue
                self.arrivals[cid] = now
                fut = self.waiting.pop(cid, None)
                if fut is not None and not fut.done():
                    fut.set_result(now)

    def expect(self, cid: str) -> asyncio.Future[float]:
        fut: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        if cid in self.arrivals:
            fut.set_result(self.arrivals[cid])
        else:
            self.waiting[cid] = fut
        return fut

    async def send(self, cid: str, text: str) -> None:
        assert self.ws is not None
        await self.ws.send(orjson.dumps({"client_id": cid, "text": text}).decode())

    async def close(self) -> None:
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await self.ws.close()
        if self.reader is not None:
            self.reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.reader


HANDOFF_SQL = [
    "UPDATE bq_chats SET status = 'ended' WHERE id = $1",
    "UPDATE bq_seats SET active = active - 1 WHERE user_id = $1",
]
CLAIM_SQL = ("WITH next AS (SELECT id FROM bq_chats WHERE status = 'waiting' ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED), "
             "seat AS (UPDATE bq_seats SET active = active + 1 WHERE user_id = $1 AND active < capacity AND EXISTS (SELECT 1 FROM next) "
             "RETURNING user_id) "
             "UPDATE bq_chats c SET status = 'active', recruiter = $1 FROM next, seat WHERE c.id = next.id RETURNING c.id")


async def baseline_load(args: argparse.Namespace, port: int, dsn: str) -> Figures:
    n, seats = args.candidates, args.recruiters * args.capacity
    pool = await asyncpg.create_pool(dsn, min_size=4, max_size=min(16, seats))
    await pool.execute("CREATE TABLE bq_seats (user_id int PRIMARY KEY, capacity int NOT NULL, active int NOT NULL DEFAULT 0, "
                       "CHECK (active <= capacity))")
    await pool.execute("CREATE TABLE bq_chats (id int PRIMARY KEY, status text NOT NULL, recruiter int)")
    await pool.executemany("INSERT INTO bq_seats (user_id, capacity) VALUES ($1, $2)", [(r, args.capacity) for r in range(args.recruiters)])
    await pool.executemany("INSERT INTO bq_chats (id, status) VALUES ($1, 'waiting')", [(c,) for c in range(1, n + 1)])
    pairs = {c: (BareConn(f"ws://127.0.0.1:{port}/{c}"), BareConn(f"ws://127.0.0.1:{port}/{c}")) for c in range(1, n + 1)}
    everyone = [conn for pair in pairs.values() for conn in pair]
    f = Figures()
    lines_sent = 0
    try:
        for k in range(0, len(everyone), 50):
            await asyncio.gather(*(c.connect() for c in everyone[k : k + 50]))

        async def claim(rid: int, conn: Any) -> int | None:
            chat: int | None = await conn.fetchval(CLAIM_SQL, rid)
            return chat

        async def seat(rid: int) -> None:
            nonlocal lines_sent
            async with pool.acquire() as conn, conn.transaction():
                chat = await claim(rid, conn)
            while chat is not None:
                cand, rec = pairs[chat]
                for i in range(args.lines):
                    side = "r" if i % 2 == 0 else "c"
                    sender, receiver = (rec, cand) if side == "r" else (cand, rec)
                    cid = line_id(side, chat, i)
                    fut = receiver.expect(cid)
                    t = time.monotonic()
                    await sender.send(cid, line_text(side, chat, i, args.size))
                    lines_sent += 1
                    f.deliveries_ms.append((await asyncio.wait_for(fut, 30) - t) * 1000)
                    if args.think:
                        await asyncio.sleep(think_time(args.think))
                t = time.monotonic()
                async with pool.acquire() as conn, conn.transaction():
                    await conn.execute(HANDOFF_SQL[0], chat)
                    await conn.execute(HANDOFF_SQL[1], rid)
                    chat = await claim(rid, conn)
                if chat is not None:
                    f.handoff_ms.append((time.monotonic() - t) * 1000)
                f.chats += 1

        t0 = time.monotonic()
        await asyncio.gather(*(seat(r) for r in range(args.recruiters) for _ in range(args.capacity)))
        await asyncio.sleep(0.2)
        last = max((c.arrivals[cid] for c in everyone for cid in c.arrivals), default=t0)
        f.talk_seconds = f.store_seconds = last - t0
        f.lines_sent = lines_sent
        f.lines_delivered = f.lines_acked = len(f.deliveries_ms)
        f.duplicated = sum(c.doubles for c in everyone)
        f.lost = lines_sent - f.lines_delivered
        stored = await pool.fetchval("SELECT count(*) FROM relay_lines")
        left = await pool.fetchval("SELECT count(*) FROM bq_chats WHERE status <> 'ended'")
        if stored != lines_sent or left:
            print(f"!! baseline: {stored} lines stored of {lines_sent}, {left} chats not ended")
        return f
    finally:
        for k in range(0, len(everyone), 100):
            await asyncio.gather(*(c.close() for c in everyone[k : k + 100]), return_exceptions=True)
        await pool.close()


def run_baseline(args: argparse.Namespace) -> Figures:
    name = f"fairmeet_bench_{uuid.uuid4().hex[:10]}"
    asyncio.run(admin_sql(PG_ADMIN_URL, f'CREATE DATABASE "{name}"'))
    proc = None
    try:
        dsn = make_url(PG_ADMIN_URL).set(drivername="postgresql", database=name).render_as_string(hide_password=False)
        port = free_port()
        proc = subprocess.Popen([sys.executable, str(RELAY), "--serve-baseline", str(port), dsn, "20"], cwd=ROOT)
        deadline = time.monotonic() + 30
        while True:
            try:
                import socket  # noqa: PLC0415

                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the bare relay did not start") from None
                time.sleep(0.1)
        cpu0 = cpu_seconds(proc.pid)
        f = asyncio.run(baseline_load(args, port, dsn))
        f.server_cpu = cpu_seconds(proc.pid) - cpu0
        return f
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(15)
        asyncio.run(admin_sql(PG_ADMIN_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def side_by_side(b: Figures, f: Figures) -> None:
    def row(label: str, base: float, ours: float, note: str = "") -> None:
        ratio = ours / base if base else float("nan")
        print(f"{label:34s}{base:10.1f}  {ours:10.1f}   {ratio:7.2f}x {note}")

    print(f"\n{'same chats, seats and lines':34s}{'baseline':>10s}  {'Fairmeet':>10s}   ratio")
    row("lines delivered per second", b.delivered_rate, f.delivered_rate)
    row("line delivery p50 ms", pct(b.deliveries_ms, 50), pct(f.deliveries_ms, 50))
    row("line delivery p99 ms", pct(b.deliveries_ms, 99), pct(f.deliveries_ms, 99))
    row("seat freed -> next assigned p50 ms", pct(b.handoff_ms, 50), pct(f.handoff_ms, 50), "(baseline: the bare hand-off transaction)")
    row("seat freed -> next assigned p99 ms", pct(b.handoff_ms, 99), pct(f.handoff_ms, 99))
    row("chats through the seats per second", b.chats / b.talk_seconds if b.talk_seconds else 0, f.chats / f.talk_seconds if f.talk_seconds else 0)
    row("server CPU ms per chat", b.server_cpu / max(1, b.chats) * 1000, f.server_cpu / max(1, f.chats) * 1000,
        "(baseline: the relay process only; its hand-off SQL runs in this process)")
    print(f"{'lost / duplicated':34s}{b.lost:>5d} / {b.duplicated:<4d}{f.lost:>5d} / {f.duplicated:<4d}")


# --------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--candidates", type=int, default=300)
    parser.add_argument("--recruiters", type=int, default=10)
    parser.add_argument("--capacity", type=int, default=3, help="chats at once per recruiter (1-20)")
    parser.add_argument("--lines", type=int, default=6, help="lines per chat, in turns, the recruiter first")
    parser.add_argument("--think", type=float, default=0.0, help="seconds (+-50%%) before answering a line or ending (0: at once)")
    parser.add_argument("--size", type=int, default=40, help="padding characters per line")
    parser.add_argument("--start-concurrency", type=int, default=20, help="candidates starting chats at once")
    parser.add_argument("--pool", type=int, default=0, help="the server's PostgreSQL pool, no overflow (0: the app's default)")
    parser.add_argument("--wait", type=float, default=75.0, help="seconds the chats may take after the gate")
    parser.add_argument("--assign", choices=["auto", "next"], default="auto",
                        help="auto: automatic assignment on (the seat is filled by the end request itself); "
                             "next: automatic assignment off, each freed seat calls POST /api/v1/live-chats/take-next")
    parser.add_argument("--baseline", action=argparse.BooleanOptionalAction, default=True, help="run the bare relay + SQL hand-off first")
    parser.add_argument("--nodes", type=int, default=1, help="server processes on the same database, sharing Redis when more than one")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0", help="Redis for --nodes 2 or more")
    parser.add_argument("--profile", type=Path, help="record the server with py-spy (collapsed stacks) into this file")
    parser.add_argument("--server-log", type=Path, help="keep the server's output here (default: a temporary file, its errors printed)")
    args = parser.parse_args()
    if not 1 <= args.capacity <= 20:
        parser.error("--capacity is 1 to 20")
    if args.candidates < 1 or args.recruiters < 1:
        parser.error("--candidates and --recruiters must be at least 1")
    if args.nodes < 1:
        parser.error("--nodes must be at least 1")
    if args.nodes > 1 and not args.pool:
        args.pool = 20  # 20 connections per node, no overflow: PostgreSQL here allows 100 in all
    if args.recruiters > 250:
        parser.error("at most 250 recruiters (one loopback address each)")

    accounts.set_password_hasher(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    print(f"queue load {dt.datetime.now():%Y-%m-%d %H:%M:%S}: {args.candidates} candidates, {args.recruiters} recruiters x {args.capacity}, "
          f"{args.lines} lines per chat, think {args.think:g} s, assignment {args.assign}; "
          f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    base_figures = None
    if args.baseline:
        t = time.monotonic()
        base_figures = run_baseline(args)
        print(f"baseline: {base_figures.chats} chats, {base_figures.lines_delivered} lines in {base_figures.talk_seconds:.2f} s "
              f"({base_figures.delivered_rate:.0f} lines/s; hand-off p50 {pct(base_figures.handoff_ms, 50):.1f} ms, "
              f"p99 {pct(base_figures.handoff_ms, 99):.1f} ms; run {time.monotonic() - t:.1f} s)")

    workdir = Path(tempfile.mkdtemp(prefix="fairmeet-queue-"))
    log = args.server_log or workdir / "server.log"
    logs = [log] + [log.with_name(f"{log.name}.node{k + 1}") for k in range(1, args.nodes)]
    name = f"fairmeet_bench_{uuid.uuid4().hex[:10]}"
    asyncio.run(admin_sql(PG_ADMIN_URL, f'CREATE DATABASE "{name}"'))
    code = 1
    try:
        url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
        dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        migrate.upgrade(url)
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        asyncio.run(make_users(url, now, args.recruiters))
        redis = args.redis if args.nodes > 1 else ""
        prefix = f"fairmeet-bench-{uuid.uuid4().hex[:8]}:" if args.nodes > 1 else ""
        with contextlib.ExitStack() as stack:
            servers = [stack.enter_context(serve_process(url, now, pool=args.pool, log=logs[k], redis_url=redis, redis_prefix=prefix))
                       for k in range(args.nodes)]
            figures, failures = asyncio.run(fairmeet_load(args, [b for b, _ in servers], [p.pid for _, p in servers], dsn, now))
        if base_figures is not None:
            side_by_side(base_figures, figures)
        text = "\n".join(lg.read_text(errors="replace") for lg in logs if lg.exists())
        problems = [ln for ln in text.splitlines() if ln.strip()]  # the server logs warnings and errors only
        print(f"\nload average now {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
        print(f"server log: {len(problems)} lines" + (f" (kept in {', '.join(map(str, logs))})" if args.server_log else ""))
        for ln in problems[:10]:
            print(f"    {ln[:300]}")
        if any("Traceback" in ln or "ERROR" in ln for ln in problems):
            failures.append("the server logged errors")
        if failures:
            print("\nFAIL:\n  " + "\n  ".join(failures))
        else:
            print("\nOK")
            code = 0
    finally:
        asyncio.run(admin_sql(PG_ADMIN_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        shutil.rmtree(workdir, ignore_errors=True)
    sys.exit(code)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
