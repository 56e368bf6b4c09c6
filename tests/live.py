"""A real Fairmeet server for tests: uvicorn on a free port, on its own thread and event loop, or in a process of its own.

`python -m tests.live --port P --database-url U [--pool N] [--queue N] [--clock ISO] [--redis-url R]` serves in this
process: a frozen clock (rooms of seeded chats are open), no background jobs, sign-in and chat-start limits off,
a short reconnect grace. Tests and benchmarks start it with `serve_process`. `--real-clock` serves with the real time
instead (offers that must be accepted in time expire), `--desk-jobs` runs the live-chat desk's timers (offer
time-outs every second, automatic resolve) though the other background jobs stay off.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import uvicorn

from web import serving
from web.app import SERVER_OPTIONS, create_app, freeze_startup_heap
from web.settings import Settings


def free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    return sock


@contextmanager
def serve(make_settings: Callable[[str], Settings], clock: Callable[[], dt.datetime], *, name: str = "test-uvicorn") -> Iterator[str]:
    """Serves create_app(settings) until the block ends; yields the base URL. WebSockets included."""
    sock = free_socket()
    port = sock.getsockname()[1]
    base_url = f"http://127.0.0.1:{port}"
    app = create_app(make_settings(base_url), clock=clock, background=False)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="on", **SERVER_OPTIONS)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=name, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield base_url
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()


@contextmanager
def serve_process(database_url: str, clock: dt.datetime, *, pool: int = 0, queue: int = 0, busy_after: float = 0, log: Path | None = None,
                  secret: str = "live-secret", redis_url: str = "", redis_prefix: str = "", real_clock: bool = False,
                  desk_jobs: bool = False, drain_delay: float = 0.0) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`python -m tests.live` in a child process until the block ends; yields (base URL, process). Its output goes to `log`.
    `real_clock`: the real time instead of `clock` (frozen); `desk_jobs`: the desk's timers run (offer time-outs, auto-resolve)."""
    with free_socket() as probe:
        port = probe.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    args = [sys.executable, "-m", "tests.live", "--port", str(port), "--database-url", database_url, "--pool", str(pool),
            "--queue", str(queue), "--busy-after", str(busy_after), "--clock", clock.isoformat(), "--secret", secret,
            "--redis-url", redis_url, "--redis-prefix", redis_prefix, *(["--real-clock"] if real_clock else []),
            *(["--desk-jobs"] if desk_jobs else []), *(["--drain-delay", str(drain_delay)] if drain_delay else [])]
    out = log.open("wb") if log is not None else None
    proc = subprocess.Popen(args, cwd=Path(__file__).resolve().parent.parent, stdout=out, stderr=subprocess.STDOUT if out else None,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        wait_until_serving(base, proc, log)
        yield base, proc
    finally:
        stop_process(proc)
        if out is not None:
            out.close()


def wait_until_serving(base: str, proc: subprocess.Popen[bytes], log: Path | None = None, seconds: float = 30) -> None:
    """Returns once the server at `base` answers /healthz; raises (with the end of its log) if it exits or takes too long."""
    deadline = time.monotonic() + seconds
    with httpx.Client(timeout=1) as http:  # one client: each new one loads the CA bundle again (~0.3 s a poll on a busy machine)
        while True:
            try:
                if http.get(base + "/healthz").status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the server process did not start" + (f": {log.read_text()[-2000:]}" if log else ""))
            time.sleep(0.1)


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def main() -> None:
    parser = argparse.ArgumentParser(description="A Fairmeet server with a frozen clock, for tests and benchmarks.")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--pool", type=int, default=0, help="PostgreSQL pool size without overflow (0: the app's default)")
    parser.add_argument("--queue", type=int, default=0, help="conversation entries allowed to wait (0: the app's default)")
    parser.add_argument("--busy-after", type=float, default=0, help="seconds a line waits for room in a full log queue (0: default)")
    parser.add_argument("--clock", help="the frozen time, ISO 8601 with offset (required unless --real-clock)")
    parser.add_argument("--real-clock", action="store_true", help="serve with the real time (UTC now), not a frozen one")
    parser.add_argument("--desk-jobs", action="store_true", help="run the live-chat desk's timers (offer time-outs, auto-resolve)")
    parser.add_argument("--secret", default="live-secret")
    parser.add_argument("--redis-url", default="", help="Redis between nodes (several processes on one database)")
    parser.add_argument("--redis-prefix", default="")
    parser.add_argument("--drain-delay", type=float, default=0.0, help="seconds of /readyz 503 after SIGTERM before shutting down")
    parser.add_argument("--grace", type=float, default=10.0, help="seconds requests in flight get to finish when shutting down")
    parser.add_argument("--smtp-url", default="", help="with it, the mail sender runs (the other background jobs stay off)")
    parser.add_argument("--mail-poll", type=float, default=0, help="seconds between outbox polls (0: the app's default)")
    parser.add_argument("--outbox-lease", type=float, default=0, help="seconds a claimed outbox row is leased (0: the app's default)")
    args = parser.parse_args()
    if args.clock is None and not args.real_clock:
        parser.error("give --clock ISO, or --real-clock")
    settings = Settings(database_url=args.database_url, secret_key=args.secret, base_url=f"http://127.0.0.1:{args.port}",
                        login_rate_per_minute=100_000, live_start_limit=100_000, reconnect_grace_seconds=0.5,
                        redis_url=args.redis_url, redis_prefix=args.redis_prefix or "fairmeet:",
                        db_pool_size=args.pool or None, db_max_overflow=0 if args.pool else None, desk_jobs=args.desk_jobs)
    if args.smtp_url:
        settings.smtp_url, settings.mail_jobs = args.smtp_url, True
    if args.mail_poll:
        settings.mail_poll_seconds = args.mail_poll
    if args.outbox_lease:
        settings.outbox_lease_seconds = args.outbox_lease
    if args.queue:
        settings.log_queue_limit = args.queue
    if args.busy_after:
        settings.log_busy_after_seconds = args.busy_after
    if args.real_clock:
        def clock() -> dt.datetime:
            return dt.datetime.now(dt.UTC)
    else:
        frozen = dt.datetime.fromisoformat(args.clock)

        def clock() -> dt.datetime:
            return frozen
    app = create_app(settings, clock=clock, background=False)
    freeze_startup_heap()
    # The same graceful shutdown as `fairmeet serve` (web/serving.py); no drain delay unless asked, so stopping is quick.
    sys.exit(serving.serve(app, "127.0.0.1", args.port, log_level="warning", access_log=False, drain_delay=args.drain_delay,
                  grace=args.grace, **SERVER_OPTIONS))


if __name__ == "__main__":
    main()
