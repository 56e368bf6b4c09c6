"""Media tests: aiortc clients in rooms of a real server, on loopback; a local coturn when a test asks for it."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from media.ice import loopback_host_candidates
from tests.conftest import _service_missing
from tests.live import free_socket, serve
from tests.media.helpers import IN_ROOM_HOURS, SECRET, Seeded, Turn, seed_rooms
from web.settings import Settings


@pytest.fixture(autouse=True)
def loopback() -> Iterator[None]:
    """aioice leaves out 127.0.0.1; these tests have no other address both peers can reach for sure."""
    with loopback_host_candidates():
        yield


@pytest.fixture
def media_db(sqlite_template: Path, tmp_path: Path) -> str:
    """A migrated SQLite file of this test's own (media tests run on SQLite only: they are heavy)."""
    path = tmp_path / "fairmeet.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture
async def seeded(media_db: str) -> Seeded:
    return await seed_rooms(media_db, 1, strangers=1)


@pytest.fixture
def live(media_db: str, seeded: Seeded) -> Iterator[str]:
    """A running server whose clock is inside the seeded chat's room hours; yields its base URL."""
    with serve(lambda base: Settings(database_url=media_db, secret_key=SECRET, base_url=base), lambda: IN_ROOM_HOURS) as base:
        yield base


@pytest.fixture
def coturn(tmp_path: Path) -> Iterator[Turn]:
    """coturn on a free loopback port with the REST-credential scheme (the FACTS.md command line)."""
    binary = shutil.which("turnserver") or "/usr/bin/turnserver"
    if not Path(binary).exists():
        _service_missing("coturn (turnserver)", FileNotFoundError("apt-get install -y coturn"))
    with free_socket() as probe:  # a TCP port that is free now; coturn listens on it with UDP and TCP
        port = probe.getsockname()[1]
    secret = "turn-test-secret"
    pidfile = tmp_path / "turnserver.pid"
    log = tmp_path / "turnserver.log"
    min_port = 40000 + (port % 200) * 100
    proc = subprocess.Popen(
        [binary, "-n", "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1", f"--listening-port={port}",
         f"--min-port={min_port}", f"--max-port={min_port + 99}", "--realm=fairmeet.test", "--use-auth-secret",
         f"--static-auth-secret={secret}", "--fingerprint", "--no-tls", "--no-dtls", "--no-cli", "--allow-loopback-peers",
         "--no-multicast-peers", f"--pidfile={pidfile}", f"--log-file={log}", "--simple-log"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        _wait_listening(port, proc)
        yield Turn(url=f"turn:127.0.0.1:{port}?transport=udp", secret=secret)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def _wait_listening(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"turnserver exited with {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    pytest.fail("turnserver did not start listening")
