"""Signaling load: K concurrent rooms, two chat clients each, exchanging messages through a real server.

What it does:

1. Creates a throw-away database (SQLite by default, `--pg` for a throw-away PostgreSQL database
   on the local server) and seeds K confirmed chats through the product's own actions.
2. Starts the app in a child process (this same script with `--serve`): uvicorn on a free
   loopback port, a clock frozen inside the rooms' opening hours, no background jobs. Measuring
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

Each stored line is one database transaction (numbered in the conversation), so on SQLite the
single writer bounds the rate; `--pg` shows the same with PostgreSQL.

    .venv/bin/python benchmarks/signaling_load.py --rooms 50 --messages 10 --interval 0.2
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from argon2 import PasswordHasher  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from media.client import RoomClient, until  # noqa: E402
from scheduling import accounts, migrate  # noqa: E402
from scheduling.db import admin_sql  # noqa: E402
from tests.live import free_socket  # noqa: E402
from tests.media.helpers import IN_ROOM_HOURS, seed_rooms  # noqa: E402

PG_ADMIN_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
SECRET = "bench-secret"
CLIENTS_PER_ADDRESS = 40  # the server allows 60 sign-ins a minute from one IP


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


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


def serve_child(port: int, database_url: str) -> None:
    import uvicorn  # noqa: PLC0415

    from web.app import create_app  # noqa: PLC0415
    from web.settings import Settings  # noqa: PLC0415

    settings = Settings(database_url=database_url, secret_key=SECRET, base_url=f"http://127.0.0.1:{port}", login_rate_per_minute=100_000)
    app = create_app(settings, clock=lambda: IN_ROOM_HOURS, background=False)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False, ws="websockets-sansio")


def start_server(database_url: str) -> tuple[subprocess.Popen[bytes], str]:
    with free_socket() as probe:
        port = probe.getsockname()[1]
    proc = subprocess.Popen([sys.executable, __file__, "--serve", str(port), database_url], cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("the server exited")
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the server did not start")


# --------------------------------------------------------------------------- the load


async def load(args: argparse.Namespace, base: str, pid: int, rooms: list[tuple[int, str, str]], password: str) -> int:
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
            for m in range(args.messages):
                await client.send_chat(f"{who} line {m} " + "x" * args.size)
                if args.interval:
                    await asyncio.sleep(args.interval)

        t0 = time.monotonic()
        cpu0 = cpu_seconds(pid)
        await asyncio.gather(*(talk(c, f"{r}-{side}") for r, pair in enumerate(clients) for side, c in enumerate(pair)))
        total = n * args.messages
        try:
            await until(lambda: all(len(c.messages) == 2 * args.messages and not c.pending for c in everyone), args.wait,
                        "every line delivered and acknowledged")
        except TimeoutError as err:
            print(f"!! {err}")
        peak = rss_kib(pid)
        cpu = cpu_seconds(pid) - cpu0

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

        print(f"\n{len(clients)} rooms, {n} connections, {args.messages} lines per connection every {args.interval:g} s "
              f"({args.size + 12}-ish characters), database {args.db}")
        print(f"sign-in of {n} clients          {signed_in:8.2f} s")
        print(f"join of {n} sockets             {joined:8.2f} s   ({joined / n * 1000:.1f} ms each, 50 at a time)")
        print(f"server RSS before / after join  {before / 1024:8.1f} / {after / 1024:.1f} MiB   peak after talk {peak / 1024:.1f} MiB")
        print(f"memory per connection           {(after - before) / n:8.1f} KiB")
        elapsed = last - t0
        print(f"lines sent / delivered          {total:8d} / {len(deliveries)}   lost {lost}, rooms whose logs differ {doubled}, "
              f"rate-limited {rate_limited}, other errors {len(errors) - rate_limited}")
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
        return 1 if lost or doubled else 0
    finally:
        for k in range(0, n, 100):
            await asyncio.gather(*(c.close() for c in everyone[k : k + 100]), return_exceptions=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rooms", type=int, default=50)
    parser.add_argument("--messages", type=int, default=10, help="lines per connection")
    parser.add_argument("--interval", type=float, default=0.2, help="seconds between a connection's lines (0: a burst)")
    parser.add_argument("--size", type=int, default=40, help="padding characters per line")
    parser.add_argument("--pg", action="store_true", help="a throw-away PostgreSQL database instead of SQLite")
    parser.add_argument("--wait", type=float, default=60.0, help="seconds to wait for the last deliveries")
    parser.add_argument("--serve", nargs=2, metavar=("PORT", "DATABASE_URL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve_child(int(args.serve[0]), args.serve[1])
        return

    accounts.set_password_hasher(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    workdir = Path(tempfile.mkdtemp(prefix="fairmeet-bench-"))
    pg_name = None
    proc = None
    code = 1
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
        started = time.monotonic()
        seeded = asyncio.run(seed_rooms(url, args.rooms, strangers=0))
        print(f"seeded {args.rooms} confirmed chats in {time.monotonic() - started:.1f} s ({dt.datetime.now():%H:%M:%S})")
        proc, base = start_server(url)
        rooms = [(r.chat_id, r.talent, r.recruiter) for r in seeded.rooms]
        code = asyncio.run(load(args, base, proc.pid, rooms, seeded.password))
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
