"""Breaking things on purpose: app replicas (`python -m tests.live`) on one PostgreSQL and one Redis, a Redis of our own
that can be cut, and a room participant speaking the WebSocket protocol with plain `websockets` (no media).

A replica is killed with SIGKILL (no shutdown, no flush: what a crash or an OOM kill does) and started again on the
same port, in the background, so the test goes on against the other one meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Origin

from scheduling import conversations
from scheduling.db import create_engine, create_sessionmaker
from scheduling.rooms import room_key
from tests.conftest import _service_missing, throwaway_pg
from tests.live import free_socket

ROOT = Path(__file__).resolve().parent.parent.parent
SECRET = "reliability-secret"


def free_port() -> int:
    with free_socket() as probe:
        port: int = probe.getsockname()[1]
    return port


class Replica:
    """One `python -m tests.live` process on a fixed port; start() returns at once, ready() waits for /healthz."""

    def __init__(self, name: str, database_url: str, *, clock: dt.datetime | None, redis_url: str, redis_prefix: str, logdir: Path,
                 extra: Sequence[str] = ()) -> None:
        self.name, self.port = name, free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.args = [sys.executable, "-m", "tests.live", "--port", str(self.port), "--database-url", database_url, "--secret", SECRET,
                     "--redis-url", redis_url, "--redis-prefix", redis_prefix,
                     *(["--clock", clock.isoformat()] if clock is not None else ["--real-clock"]), *extra]
        self.logdir = logdir
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.kills = 0

    @property
    def log(self) -> Path:
        return self.logdir / f"{self.name}.{self.starts}.log"

    def start(self) -> None:
        self.starts += 1
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(self.args, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})

    @property
    def up(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def ready(self, seconds: float = 30) -> None:
        deadline = time.monotonic() + seconds
        with httpx.Client(timeout=1) as http:  # one client: each new one loads the CA bundle (~0.3 s on a busy machine)
            while True:
                with contextlib.suppress(httpx.HTTPError):
                    if http.get(self.base + "/healthz").status_code == 200:
                        return
                if not self.up or time.monotonic() > deadline:
                    raise RuntimeError(f"replica {self.name} did not start: {self.log.read_text()[-2000:]}")
                time.sleep(0.05)

    async def ready_async(self, seconds: float = 30) -> None:
        deadline = time.monotonic() + seconds
        async with httpx.AsyncClient(timeout=1) as http:
            while True:
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get(self.base + "/healthz")).status_code == 200:
                        return
                if not self.up or time.monotonic() > deadline:
                    raise RuntimeError(f"replica {self.name} did not start: {self.log.read_text()[-2000:]}")
                await asyncio.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush, sockets cut by the kernel."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self.kills += 1

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


@contextlib.contextmanager
def replicas(database_url: str, count: int, *, logdir: Path, clock: dt.datetime | None, redis_url: str, redis_prefix: str,
             extra: Sequence[str] = (), per_node: Sequence[Sequence[str]] = ()) -> Iterator[list[Replica]]:
    """`count` replicas on one database and one Redis, started in parallel; all stopped at the end. `extra`: arguments for
    every replica, `per_node[i]`: for replica i only."""
    nodes = [Replica(f"replica{i}", database_url, clock=clock, redis_url=redis_url, redis_prefix=redis_prefix, logdir=logdir,
                     extra=[*extra, *(per_node[i] if i < len(per_node) else ())]) for i in range(count)]
    try:
        for node in nodes:
            node.start()
        for node in nodes:
            node.ready()
        yield nodes
    finally:
        for node in nodes:
            node.stop()


class RedisServer:
    """A redis-server of our own on a free port (the shared one on 6379 must never be cut), without persistence."""

    def __init__(self, logdir: Path) -> None:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        if not Path(binary).exists():
            _service_missing("redis-server", FileNotFoundError("apt-get install -y redis-server"))
        self.binary, self.port, self.logdir = binary, free_port(), logdir
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen([self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                                      "--logfile", str(self.logdir / "redis.log")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), free_socket_connect(self.port):
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"redis-server did not start on {self.port}")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)


@contextlib.contextmanager
def free_socket_connect(port: int) -> Iterator[None]:
    import socket  # noqa: PLC0415

    with socket.create_connection(("127.0.0.1", port), timeout=0.5):
        yield


@contextlib.contextmanager
def own_redis(logdir: Path) -> Iterator[RedisServer]:
    server = RedisServer(logdir)
    server.start()
    try:
        yield server
    finally:
        server.kill()


def shared_redis() -> str:
    """The shared Redis at 6379 (tests use a prefix of their own on it); skips, or fails under CI, when it is not there."""
    import redis  # noqa: PLC0415

    url = os.environ.get("FAIRMEET_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    client = redis.from_url(url, socket_connect_timeout=2)
    try:
        client.ping()
    except Exception as err:  # noqa: BLE001 -- no Redis here
        _service_missing("Redis", err)
    finally:
        client.close()
    return url


def unique_prefix() -> str:
    return f"fairmeet-rel-{secrets.token_hex(4)}:"


# --------------------------------------------------------------------------- a participant without media


async def sign_in(base: str, email: str, password: str) -> dict[str, str]:
    """The session cookies of a signed-in user (valid on every replica: they share the secret)."""
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        page = await http.get("/login")
        found = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert found is not None, page.text[:300]
        r = await http.post("/login", data={"email": email, "password": password, "csrf": found.group(1)})
        assert r.status_code == 303, (email, r.status_code)
        return dict(http.cookies.items())


@dataclass
class Participant:
    """A room participant: applies events by seq (each once), asks for a replay when it sees a gap, resends unacknowledged
    lines with the same client_id after a reconnect (docs/signaling.md, "Delivery rules")."""

    chat_id: int
    cookies: dict[str, str]
    conn_id: str = field(default_factory=lambda: f"rel{secrets.token_hex(6)}")
    applied: dict[int, Entry] = field(default_factory=dict)  # seq -> what it says
    contig: int = 0  # every seq up to here is applied
    pending: dict[str, str] = field(default_factory=dict)  # client_id -> text, sent but not acknowledged
    acks: dict[str, int] = field(default_factory=dict)
    conflicts: list[tuple[int, Any, Any]] = field(default_factory=list)  # one seq delivered with two different contents
    errors: list[dict[str, Any]] = field(default_factory=list)
    base: str = ""
    ws: ClientConnection | None = None
    reader: asyncio.Task[None] | None = None
    welcomes: int = 0
    _gap: asyncio.TimerHandle | None = None
    _token: tuple[str, float] | None = None
    http: httpx.AsyncClient | None = None

    @property
    def connected(self) -> bool:
        return self.ws is not None

    async def connect(self, base: str, *, seconds: float = 10) -> None:
        """Opens a socket to `base`, says hello with the last contiguous seq (0 the first time: the whole log), waits for the welcome."""
        await self.disconnect()
        self.base = base
        cookie = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if self._token is None or time.monotonic() - self._token[1] > 60:  # tokens live 120 s, on every replica
            if self.http is None:
                self.http = httpx.AsyncClient(timeout=5, verify=False)  # noqa: S501 -- plain http on loopback; one client, no TLS setup per call
            r = await self.http.get(f"{base}/chats/{self.chat_id}/room/token", headers={"Cookie": cookie})
            r.raise_for_status()
            self._token = (str(r.json()["token"]), time.monotonic())
        token = self._token[0]
        ws = await connect(base.replace("http", "ws", 1) + f"/ws/rooms/{self.chat_id}?token={token}", origin=Origin(base),
                           additional_headers={"Cookie": cookie}, open_timeout=seconds, max_size=2**22)
        await ws.send(json.dumps({"type": "hello", "v": 1, "conn": self.conn_id, "last_seq": self.contig}))
        first = json.loads(await asyncio.wait_for(ws.recv(), seconds))
        if first.get("type") != "welcome":
            ws.transport.abort()
            raise ConnectionError(f"expected a welcome, got {first!r}")
        self.welcomes += 1
        self.ws = ws
        self.reader = asyncio.get_running_loop().create_task(self._read(ws))
        for cid, text in list(self.pending.items()):  # oldest first: dicts keep insertion order
            await self._send({"type": "chat", "client_id": cid, "text": text})

    async def disconnect(self) -> None:
        """Drops the socket without a close frame (a lost network)."""
        ws, self.ws = self.ws, None
        if ws is not None:
            ws.transport.abort()
        if self.reader is not None:
            self.reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.reader
            self.reader = None

    async def close(self) -> None:
        await self.disconnect()
        if self.http is not None:
            await self.http.aclose()
            self.http = None

    async def send_line(self, text: str) -> str:
        cid = secrets.token_hex(8)
        self.pending[cid] = text
        await self._send({"type": "chat", "client_id": cid, "text": text})
        return cid

    async def resume(self) -> None:
        await self._send({"type": "resume", "after": self.contig})

    async def _send(self, message: dict[str, Any]) -> None:
        ws = self.ws
        if ws is None:
            return
        try:
            await ws.send(json.dumps(message))
        except ConnectionClosed:
            if self.ws is ws:
                self.ws = None

    async def _read(self, ws: ClientConnection) -> None:
        try:
            async for raw in ws:
                self._on_frame(json.loads(raw))
        except ConnectionClosed:
            pass
        if self.ws is ws:
            self.ws = None

    def _on_frame(self, msg: dict[str, Any]) -> None:
        kind = msg.get("type")
        if kind == "event":
            seq = int(msg["seq"])
            self._apply(seq, entry(str(msg.get("kind")), msg.get("client_id"), msg.get("body") or {}))
            cid = msg.get("client_id")
            if msg.get("kind") == "message" and cid in self.pending:  # ours (client ids are random), stored before its ack was lost
                self.pending.pop(str(cid))
                self.acks[str(cid)] = seq
        elif kind == "ack":
            cid, seq = str(msg["client_id"]), int(msg["seq"])
            text = self.pending.pop(cid, None)
            self.acks[cid] = seq
            if text is not None:
                self._apply(seq, ("message", cid, text))
        elif kind == "error":
            self.errors.append(msg)

    def _apply(self, seq: int, content: Entry) -> None:
        known = self.applied.get(seq)
        if known is not None:
            if known != content:
                self.conflicts.append((seq, known, content))
            return
        self.applied[seq] = content
        self._advance()

    def _advance(self) -> None:
        while self.contig + 1 in self.applied:
            self.contig += 1
        if any(seq > self.contig for seq in self.applied) and self._gap is None:
            self._gap = asyncio.get_running_loop().call_later(0.1, self._fill_gap)

    def _fill_gap(self) -> None:
        self._gap = None
        if any(seq > self.contig for seq in self.applied):
            asyncio.get_running_loop().create_task(self.resume())
            self._gap = asyncio.get_running_loop().call_later(0.5, self._fill_gap)

    def log(self, upto: int) -> list[tuple[int, Entry]]:
        return [(seq, e) for seq, e in sorted(self.applied.items()) if seq <= upto]


Entry = tuple[str, str | None, str]  # (kind, client_id, text of a message or "state conn" of a presence change)


def entry(kind: str, client_id: str | None, body: dict[str, Any]) -> Entry:
    if kind == "message":
        return (kind, client_id, str(body.get("text", "")))
    return (kind, client_id, f"{body.get('state')} {body.get('conn')}")


async def committed_log(database: str | AsyncEngine, chat_id: int, after: int = 0) -> list[tuple[int, Entry]]:
    """The room's conversation as stored (the truth every client must end up with), from a URL or an engine."""
    engine = create_engine(database) if isinstance(database, str) else database
    try:
        async with create_sessionmaker(engine)() as session:
            entries = await conversations.since(session, room_key(chat_id), after, limit=100_000)
    finally:
        if isinstance(database, str):
            await engine.dispose()
    return [(e.seq, entry(e.kind, e.client_id, e.body)) for e in entries]


async def until(predicate: Any, seconds: float, what: str) -> float:
    """Waits for predicate() to hold; returns the seconds it took."""
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > seconds:
            raise AssertionError(f"timed out after {seconds} s waiting for {what}")
        await asyncio.sleep(0.02)
    return time.monotonic() - start


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A migrated PostgreSQL database of the test's own (made outside the test's event loop), dropped afterwards."""
    with throwaway_pg("fairmeet_rel") as url:
        yield url
