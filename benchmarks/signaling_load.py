"""Signaling load: K concurrent rooms, two chat clients each, exchanging messages through a real server.

What it does:

1. Creates a throw-away database (SQLite by default, `--pg` for a throw-away PostgreSQL database
   on the local server) and seeds K confirmed chats through the product's own actions.
2. Starts the app in a child process (`python -m tests.live`): uvicorn on a free loopback
   port, a clock frozen inside the rooms' opening hours, no background jobs. Measuring
   the server apart from the clients is what makes its memory figure mean something.
3. Signs in 2K chat-only clients (media/client.py, no WebRTC) from several loopback addresses
   (the per-IP sign-in limit), then joins them all to their rooms and reads the server's RSS
   (/proc/<pid>/status) before and after: the difference divided by 2K is the memory a room
   connection costs.
4. Every client sends `--messages` lines, `--interval` seconds apart (the room allows 20 lines per
   10 s per connection; more than that gets `rate_limited` and the client's resend), all rooms
   at once. A line's delivery latency runs from the send to its arrival at the other client of
   the room (one process, one clock); its ack latency from the send to the sender's ack.
5. Prints connections, join time, RSS per connection, lines delivered per second (from the
   first send to the last delivery), delivery and ack latency percentiles. Exits non-zero if a
   line is lost or doubled.

With `--pg` the same load first runs against a bare relay (the physical baseline, `--baseline`,
on by default with `--pg`): a `websockets` server, two connections per room, that stores each line
with one asyncpg INSERT, acks it and forwards it, nothing else. It runs in a child process of its
own, against the same PostgreSQL, with lean clients. The two are printed side by side with the
ratios Fairmeet / baseline; the machine is shared and noisy, so the ratio is the figure to read.

Stored lines go through the conversation log's group commit (scheduling/logwriter.py): lines
arriving while a batch is being written are stored together in the next one. `--pool` sizes the
server's connection pool (small pools show that lines don't need one connection each).

    .venv/bin/python benchmarks/signaling_load.py --rooms 200 --messages 10 --interval 0.5 --pg
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import orjson  # noqa: E402
from argon2 import PasswordHasher  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from media.client import RoomClient, until  # noqa: E402
from scheduling import accounts, migrate  # noqa: E402
from scheduling.db import admin_sql  # noqa: E402
from tests.live import free_socket, serve_process  # noqa: E402
from tests.media.helpers import IN_ROOM_HOURS, seed_rooms  # noqa: E402

PG_ADMIN_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
CLIENTS_PER_ADDRESS = 40  # the server allows 60 sign-ins a minute from one IP


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def start_offset(who: str, interval: float) -> float:
    """When a connection sends its first line: spread over one interval, the same for the baseline and Fairmeet
    (people in 200 rooms don't type in step; a burst of every line at once would measure the client, not the server)."""
    return random.Random(who).uniform(0, interval)


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --------------------------------------------------------------------------- the server (child process)


def serve_baseline(port: int, dsn: str, pool_size: int) -> None:
    """The bare relay: per line one INSERT (asyncpg), an ack to the sender, the line to the room's other connection."""
    import asyncpg  # type: ignore[import-untyped]  # noqa: PLC0415
    from websockets.asyncio.server import ServerConnection, serve  # noqa: PLC0415

    async def main() -> None:
        pool = await asyncpg.create_pool(dsn, min_size=min(4, pool_size), max_size=pool_size)
        await pool.execute("CREATE TABLE IF NOT EXISTS relay_lines (id bigserial PRIMARY KEY, room int NOT NULL, client_id text NOT NULL, "
                           "body text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())")
        rooms: dict[str, set[ServerConnection]] = {}

        async def relay(ws: ServerConnection) -> None:
            room = (ws.request.path if ws.request else "/0").strip("/")
            members = rooms.setdefault(room, set())
            members.add(ws)
            try:
                async for raw in ws:
                    line = orjson.loads(raw)
                    await pool.execute("INSERT INTO relay_lines (room, client_id, body) VALUES ($1, $2, $3)", int(room), line["client_id"], line["text"])
                    await ws.send(orjson.dumps({"type": "ack", "client_id": line["client_id"]}).decode())
                    out = orjson.dumps({"type": "line", "client_id": line["client_id"], "text": line["text"]}).decode()
                    for other in list(members):
                        if other is not ws:
                            await other.send(out)
            finally:
                members.discard(ws)

        async with serve(relay, "127.0.0.1", port, max_size=2**20, compression=None):
            await asyncio.Future()

    asyncio.run(main())


def start_child(args: list[str], ready: str) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([sys.executable, __file__, *args], cwd=ROOT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("the server exited")
        try:
            if ready.startswith("http"):
                if httpx.get(ready, timeout=1).status_code == 200:
                    return proc
            else:
                host, port = ready.rsplit(":", 1)
                with socket.create_connection((host, int(port)), timeout=1):
                    return proc
        except (httpx.HTTPError, OSError):
            pass
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the server did not start")


def free_port() -> int:
    with free_socket() as probe:
        port: int = probe.getsockname()[1]
    return port


@dataclass
class Figures:
    """What one run measured; printed side by side for the baseline and Fairmeet."""

    connections: int = 0
    sent: int = 0
    delivered: int = 0
    lost: int = 0
    doubled: int = 0
    elapsed: float = 0.0
    cpu: float = 0.0
    rss_per_conn_kib: float = 0.0
    deliveries_ms: list[float] = field(default_factory=list)
    acks_ms: list[float] = field(default_factory=list)
    busy: int = 0
    other_errors: int = 0
    client_cpu: float = 0.0  # the load generator's own CPU (this process): when it nears the elapsed time, latency is the clients'

    @property
    def rate(self) -> float:
        return self.delivered / self.elapsed if self.elapsed else 0.0

    @property
    def cpu_per_line_ms(self) -> float:
        return self.cpu / self.delivered * 1000 if self.delivered else float("nan")


# --------------------------------------------------------------------------- the baseline's load


class RelayClient:
    """A lean client of the bare relay: sends lines, records when acks and the other side's lines arrive."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.sent_at: dict[str, float] = {}
        self.acked_at: dict[str, float] = {}
        self.got: dict[str, float] = {}
        self.doubles = 0
        self.ws: Any = None
        self.reader: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        from websockets.asyncio.client import connect  # noqa: PLC0415

        self.ws = await connect(self.url, max_size=2**20, open_timeout=30, compression=None)
        self.reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        async for raw in self.ws:
            now = time.monotonic()
            msg = orjson.loads(raw)
            if msg["type"] == "ack":
                self.acked_at[msg["client_id"]] = now
            elif msg["client_id"] in self.got:
                self.doubles += 1
            else:
                self.got[msg["client_id"]] = now

    async def send(self, cid: str, text: str) -> None:
        self.sent_at[cid] = time.monotonic()
        await self.ws.send(orjson.dumps({"client_id": cid, "text": text}).decode())

    async def close(self) -> None:
        await self.ws.close()
        if self.reader is not None:
            self.reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.reader


async def baseline_load(args: argparse.Namespace, port: int, pid: int) -> Figures:
    pairs = [(RelayClient(f"ws://127.0.0.1:{port}/{r}"), RelayClient(f"ws://127.0.0.1:{port}/{r}")) for r in range(args.rooms)]
    everyone = [c for pair in pairs for c in pair]
    f = Figures(connections=len(everyone))
    try:
        await asyncio.sleep(0.3)
        before = rss_kib(pid)
        for k in range(0, len(everyone), 50):
            await asyncio.gather(*(c.connect() for c in everyone[k : k + 50]))
        await asyncio.sleep(0.5)
        f.rss_per_conn_kib = (rss_kib(pid) - before) / len(everyone)

        async def talk(client: RelayClient, who: str) -> None:
            await asyncio.sleep(start_offset(who, args.interval))
            for m in range(args.messages):
                await client.send(f"{who}-{m}", f"{who} line {m} " + "x" * args.size)
                if args.interval:
                    await asyncio.sleep(args.interval)

        t0, cpu0, mine0 = time.monotonic(), cpu_seconds(pid), cpu_seconds(os.getpid())
        await asyncio.gather(*(talk(c, f"{r}-{side}") for r, pair in enumerate(pairs) for side, c in enumerate(pair)))
        try:
            await until(lambda: all(len(c.got) == args.messages and len(c.acked_at) == args.messages for c in everyone), args.wait,
                        "every relayed line delivered")
        except TimeoutError as err:
            print(f"!! baseline: {err}")
        f.cpu = cpu_seconds(pid) - cpu0
        f.client_cpu = cpu_seconds(os.getpid()) - mine0
        f.sent = len(everyone) * args.messages
        last = t0
        for a, b in pairs:
            for sender, receiver in ((a, b), (b, a)):
                for cid, sent in sender.sent_at.items():
                    got = receiver.got.get(cid)
                    if got is None:
                        f.lost += 1
                        continue
                    f.deliveries_ms.append((got - sent) * 1000)
                    last = max(last, got)
                    if cid in sender.acked_at:
                        f.acks_ms.append((sender.acked_at[cid] - sent) * 1000)
                f.doubled += receiver.doubles
        f.delivered = len(f.deliveries_ms)
        f.elapsed = last - t0
        return f
    finally:
        await asyncio.gather(*(c.close() for c in everyone if c.ws is not None), return_exceptions=True)


# --------------------------------------------------------------------------- the load


async def load(args: argparse.Namespace, base: str, pid: int, rooms: list[tuple[int, str, str]], password: str) -> Figures:
    clients: list[tuple[RoomClient, RoomClient]] = []
    for i, (chat_id, talent, recruiter) in enumerate(rooms):
        pair = []
        for j, email in enumerate((talent, recruiter)):
            address = f"127.0.0.{2 + (2 * i + j) // CLIENTS_PER_ADDRESS}"
            pair.append(RoomClient(base, chat_id, email, password, media=False, history=False, local_address=address))
        clients.append((pair[0], pair[1]))
    everyone = [c for pair in clients for c in pair]
    n = len(everyone)
    try:
        started = time.monotonic()
        for k in range(0, n, 50):
            await asyncio.gather(*(c.sign_in() for c in everyone[k : k + 50]))
        signed_in = time.monotonic() - started
        await asyncio.sleep(0.5)
        before = rss_kib(pid)
        started = time.monotonic()
        for k in range(0, n, 50):
            await asyncio.gather(*(c.join(30) for c in everyone[k : k + 50]))
        await until(lambda: all(b.conn_id in a.peers and a.conn_id in b.peers for a, b in clients), 30, "everyone's peer")
        joined = time.monotonic() - started
        await asyncio.sleep(0.5)
        after = rss_kib(pid)

        async def talk(client: RoomClient, who: str) -> None:
            await asyncio.sleep(start_offset(who, args.interval))
            for m in range(args.messages):
                await client.send_chat(f"{who} line {m} " + "x" * args.size)
                if args.interval:
                    await asyncio.sleep(args.interval)

        t0 = time.monotonic()
        cpu0, mine0 = cpu_seconds(pid), cpu_seconds(os.getpid())
        await asyncio.gather(*(talk(c, f"{r}-{side}") for r, pair in enumerate(clients) for side, c in enumerate(pair)))
        total = n * args.messages
        try:
            await until(lambda: all(len(c.messages) == 2 * args.messages and not c.pending for c in everyone), args.wait,
                        "every line delivered and acknowledged")
        except TimeoutError as err:
            print(f"!! {err}")
        peak = rss_kib(pid)
        cpu = cpu_seconds(pid) - cpu0
        client_cpu = cpu_seconds(os.getpid()) - mine0

        deliveries, acks, last = [], [], t0
        lost = doubled = 0
        for a, b in clients:
            for sender, receiver in ((a, b), (b, a)):
                by_cid = {m.client_id: m for m in receiver.messages.values() if m.author_id == sender.user_id}
                for cid, sent in sender.sent_at.items():
                    got = by_cid.get(cid)
                    if got is None:
                        lost += 1
                        continue
                    deliveries.append(got.received_at - sent)
                    last = max(last, got.received_at)
                    own = sender.messages.get(sender.acks.get(cid, -1))
                    if own is not None:
                        acks.append(own.received_at - sent)
            if a.chat_log() != b.chat_log():
                doubled += 1
        errors = [e for c in everyone for e in c.errors]
        rate_limited = sum(e.get("code") == "rate_limited" for e in errors)
        busy = sum(e.get("code") == "busy" for e in errors)

        print(f"\n{len(clients)} rooms, {n} connections, {args.messages} lines per connection every {args.interval:g} s "
              f"({args.size + 12}-ish characters), database {args.db}")
        print(f"sign-in of {n} clients          {signed_in:8.2f} s")
        print(f"join of {n} sockets             {joined:8.2f} s   ({joined / n * 1000:.1f} ms each, 50 at a time)")
        print(f"server RSS before / after join  {before / 1024:8.1f} / {after / 1024:.1f} MiB   peak after talk {peak / 1024:.1f} MiB")
        print(f"memory per connection           {(after - before) / n:8.1f} KiB")
        elapsed = last - t0
        print(f"lines sent / delivered          {total:8d} / {len(deliveries)}   lost {lost}, rooms whose logs differ {doubled}, "
              f"busy (sent again) {busy}, rate-limited {rate_limited}, other errors {len(errors) - rate_limited - busy}")
        if deliveries:
            print(f"delivered per second            {len(deliveries) / elapsed:8.0f}   (over {elapsed:.2f} s)")
            ms = [d * 1000 for d in deliveries]
            print(f"delivery latency ms             p50 {pct(ms, 50):.1f}  p95 {pct(ms, 95):.1f}  p99 {pct(ms, 99):.1f}  "
                  f"max {max(ms):.1f}  mean {statistics.fmean(ms):.1f}")
            print(f"server CPU while talking        {cpu:8.2f} s   ({cpu / len(deliveries) * 1000:.2f} ms per line; "
                  f"the machine has {os.cpu_count()} cores, shared with the clients)")
        if acks:
            ms = [d * 1000 for d in acks]
            print(f"ack latency ms                  p50 {pct(ms, 50):.1f}  p95 {pct(ms, 95):.1f}  p99 {pct(ms, 99):.1f}  max {max(ms):.1f}")
        return Figures(connections=n, sent=total, delivered=len(deliveries), lost=lost, doubled=doubled, elapsed=elapsed, cpu=cpu,
                       rss_per_conn_kib=(after - before) / n, deliveries_ms=[d * 1000 for d in deliveries], acks_ms=[d * 1000 for d in acks],
                       busy=busy, other_errors=len(errors) - rate_limited - busy, client_cpu=client_cpu)
    finally:
        for k in range(0, n, 100):
            await asyncio.gather(*(c.close() for c in everyone[k : k + 100]), return_exceptions=True)


def side_by_side(b: Figures, f: Figures) -> None:
    def row(label: str, base: float, ours: float, fmt: str = "{:10.1f}", better: str = "") -> None:
        ratio = ours / base if base else float("nan")
        print(f"{label:32s}{fmt.format(base)}  {fmt.format(ours)}   {ratio:6.2f}x {better}")

    print(f"\n{'same load, same PostgreSQL':32s}{'baseline':>10s}  {'Fairmeet':>10s}   ratio")
    row("lines delivered per second", b.rate, f.rate, better="(target >= 0.50)")
    row("delivery latency p50 ms", pct(b.deliveries_ms, 50), pct(f.deliveries_ms, 50))
    row("delivery latency p99 ms", pct(b.deliveries_ms, 99), pct(f.deliveries_ms, 99), better="(Fairmeet target <= 250 ms)")
    row("server CPU per line ms", b.cpu_per_line_ms, f.cpu_per_line_ms, "{:10.3f}", better="(target <= 2.00)")
    row("RSS per connection KiB", b.rss_per_conn_kib, f.rss_per_conn_kib, better="(Fairmeet target <= 50 KiB)")
    row("client process CPU s", b.client_cpu, f.client_cpu, "{:10.2f}", better=f"(over {b.elapsed:.1f} / {f.elapsed:.1f} s)")
    print(f"{'lost / doubled':32s}{b.lost:>5d} / {b.doubled:<4d}{f.lost:>5d} / {f.doubled:<4d}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rooms", type=int, default=50)
    parser.add_argument("--messages", type=int, default=10, help="lines per connection")
    parser.add_argument("--interval", type=float, default=0.2, help="seconds between a connection's lines (0: a burst)")
    parser.add_argument("--size", type=int, default=40, help="padding characters per line")
    parser.add_argument("--pg", action="store_true", help="a throw-away PostgreSQL database instead of SQLite")
    parser.add_argument("--wait", type=float, default=60.0, help="seconds to wait for the last deliveries")
    parser.add_argument("--pool", type=int, default=0, help="the server's PostgreSQL pool size, no overflow (0: the app's default)")
    parser.add_argument("--baseline", action=argparse.BooleanOptionalAction, default=None,
                        help="run the bare relay under the same load first (default: on with --pg)")
    parser.add_argument("--serve-baseline", nargs=3, metavar=("PORT", "DSN", "POOL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_baseline:
        serve_baseline(int(args.serve_baseline[0]), args.serve_baseline[1], int(args.serve_baseline[2]))
        return
    if args.baseline is None:
        args.baseline = args.pg
    if args.baseline and not args.pg:
        parser.error("the baseline stores lines in PostgreSQL: add --pg")

    accounts.set_password_hasher(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    workdir = Path(tempfile.mkdtemp(prefix="fairmeet-bench-"))
    pg_name = None
    proc = None
    code = 1
    base_figures: Figures | None = None
    try:
        if args.pg:
            pg_name = f"fairmeet_bench_{uuid.uuid4().hex[:10]}"
            asyncio.run(admin_sql(PG_ADMIN_URL, f'CREATE DATABASE "{pg_name}"'))
            url = make_url(PG_ADMIN_URL).set(database=pg_name).render_as_string(hide_password=False)
            args.db = "PostgreSQL"
        else:
            url = f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
            args.db = "SQLite"
        migrate.upgrade(url)
        if args.baseline:
            port = free_port()
            dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
            proc = start_child(["--serve-baseline", str(port), dsn, str(args.pool or 20)], f"127.0.0.1:{port}")
            base_figures = asyncio.run(baseline_load(args, port, proc.pid))
            proc.terminate()
            proc.wait(15)
            proc = None
        started = time.monotonic()
        seeded = asyncio.run(seed_rooms(url, args.rooms, strangers=0))
        print(f"seeded {args.rooms} confirmed chats in {time.monotonic() - started:.1f} s ({dt.datetime.now():%H:%M:%S})")
        rooms = [(r.chat_id, r.talent, r.recruiter) for r in seeded.rooms]
        with serve_process(url, IN_ROOM_HOURS, pool=args.pool) as (base, server):
            figures = asyncio.run(load(args, base, server.pid, rooms, seeded.password))
        if base_figures is not None:
            side_by_side(base_figures, figures)
        code = 1 if figures.lost or figures.doubled else 0
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(15)
        if pg_name:
            asyncio.run(admin_sql(PG_ADMIN_URL, f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)'))
        shutil.rmtree(workdir, ignore_errors=True)
    sys.exit(code)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
