"""web/serving.py's drain, on a `python -m tests.live` child (the same serve() as `fairmeet serve`): after SIGTERM,
/readyz answers 503 at once while pages are still served, new WebSocket handshakes are closed with 1012 (the client
goes elsewhere), and the process exits with status 0 once the drain delay is over; a second signal forces the exit."""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil
import signal
import time
from pathlib import Path

import httpx
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Origin

from tests.live import serve_process

NOW = dt.datetime(2026, 3, 20, 8, 0, tzinfo=dt.UTC)


def _db(sqlite_template: Path, tmp_path: Path) -> str:
    path = tmp_path / "fairmeet.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite+aiosqlite:///{path}"


async def _handshake_close_code(base: str, path: str) -> int | None:
    async with connect(base.replace("http", "ws", 1) + path, origin=Origin(base), open_timeout=5) as ws:
        try:
            await asyncio.wait_for(ws.recv(), 5)
        except ConnectionClosed as err:
            return err.rcvd.code if err.rcvd is not None else None
    return None


async def test_sigterm_drains_then_exits(sqlite_template: Path, tmp_path: Path) -> None:
    with serve_process(_db(sqlite_template, tmp_path), NOW, drain_delay=2.0, log=tmp_path / "server.log") as (base, proc):
        async with httpx.AsyncClient(base_url=base, timeout=5) as http:
            assert (await http.get("/readyz")).status_code == 200
            t0 = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            while (await http.get("/readyz")).status_code != 503:
                assert time.monotonic() - t0 < 1.0, "readiness still 200 a second after SIGTERM"
                await asyncio.sleep(0.01)
            turned = time.monotonic() - t0
            assert (await http.get("/livez")).status_code == 200  # still serving while the balancer takes it out
            assert (await http.get("/login")).status_code == 200
        codes = [await _handshake_close_code(base, p) for p in ("/ws/rooms/1?token=x", "/ws/live", "/ws/live/console")]
        assert codes == [1012, 1012, 1012]
        status = await asyncio.to_thread(proc.wait, 15)
        exited = time.monotonic() - t0
        print(f"\nreadiness 503 {turned * 1000:.0f} ms after SIGTERM; exit status {status} after {exited:.2f} s (drain delay 2 s)")
        assert status == 0 and 2.0 <= exited < 10.0


async def test_a_second_signal_forces_the_exit(sqlite_template: Path, tmp_path: Path) -> None:
    with serve_process(_db(sqlite_template, tmp_path), NOW, drain_delay=60.0) as (base, proc):
        proc.send_signal(signal.SIGTERM)
        async with httpx.AsyncClient(base_url=base, timeout=5) as http:
            for _ in range(100):
                if (await http.get("/readyz")).status_code == 503:
                    break
                await asyncio.sleep(0.01)
        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        status = await asyncio.to_thread(proc.wait, 15)
        assert time.monotonic() - t0 < 10.0  # long before the 60 s drain delay is over
        assert status == 1
