"""The production coturn settings (deploy/coturn/turnserver.conf, verbatim) refuse relaying toward the server's own
networks (reliability #7's TURN part, ASVS 5.0 V17.1.1).

Debian's turnserver runs the file as it is; the command line only adds what compose adds or this machine needs
(listening/relay address 127.0.0.1, free ports, the realm, the shared secret, pid and log files). A client with
credentials made the way media/turn.py makes them (aioice's TURN client, aiortc's own) allocates a relay, then asks
for CreatePermission, ChannelBind and Send toward 127.0.0.1 and 10.0.0.1 (and the other private ranges): refused
with 403 Forbidden IP, and nothing reaches a real peer socket on 127.0.0.1.

Public peers (8.8.8.8 ...) are granted a permission (nothing is sent to them). Every address this machine has is in
a denied range (loopback, TEST-NET, unique-local), so no permitted peer can receive data here. The control is a
second config identical but for the one denial line concerned (and, for loopback, coturn's own default refusal
lifted): the same requests then succeed and the peer receives the data, which shows that the
denial line is what refuses them."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import pytest
import yaml
from aioice import stun
from aioice.turn import TurnClientUdpProtocol

from media.turn import turn_credentials
from tests.conftest import _service_missing
from tests.live import free_socket, stop_process

pytestmark = pytest.mark.reliability

CONF = Path(__file__).resolve().parents[2] / "deploy" / "coturn" / "turnserver.conf"
SECRET = "coturn-production-test-secret"
REALM = "fairmeet.test"
PRIVATE_PEERS = ["10.0.0.1", "127.0.0.1", "169.254.169.254", "172.16.0.1", "192.168.1.1", "100.64.0.1", "0.0.0.1"]
NOT_RECEIVED_WAIT = 1.5  # how long a peer listens for data that must not arrive (the control shows ~1 ms when it does)


def rendered(tmp_path: Path, name: str, *, drop: str | None = None, extra: tuple[str, ...] = ()) -> Path:
    """The production file, verbatim, or with exactly the one line `drop` left out; `extra` lines appended."""
    lines = CONF.read_text().splitlines()
    if drop is not None:
        assert drop in lines, drop
        lines.remove(drop)
    path = tmp_path / name
    path.write_text("\n".join([*lines, *extra]) + "\n")
    return path


@contextmanager
def turnserver(conf: Path, tmp_path: Path) -> Iterator[tuple[str, int]]:
    binary = shutil.which("turnserver") or "/usr/bin/turnserver"
    if not Path(binary).exists():
        _service_missing("coturn (turnserver)", FileNotFoundError("apt-get install -y coturn"))
    with free_socket() as probe:
        port = probe.getsockname()[1]
    low = 30000 + (port % 100) * 50
    log = tmp_path / f"{conf.stem}.log"
    proc = subprocess.Popen(
        [binary, "-c", str(conf), "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1", f"--listening-port={port}",
         f"--min-port={low}", f"--max-port={low + 49}", f"--realm={REALM}", f"--static-auth-secret={SECRET}",
         f"--pidfile={tmp_path / (conf.stem + '.pid')}", f"--log-file={log}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            if proc.poll() is not None:
                pytest.fail(f"turnserver exited with {proc.returncode}: {log.read_text()[-2000:] if log.exists() else ''}")
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if time.monotonic() > deadline:
                pytest.fail("turnserver did not start listening")
            time.sleep(0.05)
        yield "127.0.0.1", port
    finally:
        stop_process(proc)


@asynccontextmanager
async def allocation(server: tuple[str, int]) -> AsyncIterator[TurnClientUdpProtocol]:
    """A relay allocated with the app's time-limited credentials (media/turn.py)."""
    username, password = turn_credentials(SECRET, user_id=42)
    loop = asyncio.get_running_loop()
    transport, client = await loop.create_datagram_endpoint(
        lambda: TurnClientUdpProtocol(server, username=username, password=password, lifetime=600, channel_refresh_time=500),
        remote_addr=server)
    try:
        relayed = await client.connect()
        assert relayed[0] == "127.0.0.1"
        yield client
    finally:
        if client.refresh_task is not None:
            client.refresh_task.cancel()
        transport.close()


async def create_permission(client: TurnClientUdpProtocol, peer: tuple[str, int]) -> int:
    """0 on success, else the STUN error code."""
    request = stun.Message(message_method=stun.Method.CREATE_PERMISSION, message_class=stun.Class.REQUEST)
    request.attributes["XOR-PEER-ADDRESS"] = peer
    try:
        await client.request_with_retry(request)
    except stun.TransactionFailed as err:
        return int(err.response.attributes["ERROR-CODE"][0])
    return 0


async def channel_bind(client: TurnClientUdpProtocol, channel: int, peer: tuple[str, int]) -> int:
    try:
        await client.channel_bind(channel, peer)
    except stun.TransactionFailed as err:
        return int(err.response.attributes["ERROR-CODE"][0])
    return 0


def send_indication(client: TurnClientUdpProtocol, peer: tuple[str, int], data: bytes) -> None:
    message = stun.Message(message_method=stun.Method.SEND, message_class=stun.Class.INDICATION)
    message.attributes["XOR-PEER-ADDRESS"] = peer
    message.attributes["DATA"] = data
    client.send_stun(message, client.server)


def peer_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.setblocking(False)
    return sock


async def received(sock: socket.socket, seconds: float) -> bytes | None:
    loop = asyncio.get_running_loop()
    try:
        return await asyncio.wait_for(loop.sock_recv(sock, 2048), seconds)
    except TimeoutError:
        return None


def compose_healthcheck(port: int) -> list[str]:
    """deploy/compose.yaml's coturn health check, with this test's port for 3478."""
    test = yaml.safe_load((CONF.parents[1] / "compose.yaml").read_text())["services"]["coturn"]["healthcheck"]["test"]
    assert test[0] == "CMD" and "3478" in test
    return [str(port) if arg == "3478" else arg for arg in test[1:]]


def error_reason(code: int) -> str:
    return {0: "allowed", 403: "403 Forbidden IP"}.get(code, str(code))


async def test_production_config_refuses_private_peers(tmp_path: Path) -> None:
    peer = peer_socket()
    peer_port = peer.getsockname()[1]
    try:
        with turnserver(rendered(tmp_path, "production.conf"), tmp_path) as server:
            health = compose_healthcheck(server[1])
            probe = await asyncio.create_subprocess_exec(*health, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
            assert await asyncio.wait_for(probe.wait(), 20) == 0, health
            async with allocation(server) as client:
                refusals = {address: await create_permission(client, (address, peer_port)) for address in PRIVATE_PEERS}
                print("CreatePermission:", {a: error_reason(c) for a, c in refusals.items()})
                assert all(code == 403 for code in refusals.values()), refusals
                # Public peers stay allowed (a permission sends nothing: no packet leaves this machine). This caught a
                # denial line "::-::ffff" that coturn also matched against every IPv4 address.
                public = {address: await create_permission(client, (address, 9)) for address in ("8.8.8.8", "1.1.1.1", "151.101.1.1")}
                print("CreatePermission to public peers:", {a: error_reason(c) for a, c in public.items()})
                assert all(code == 0 for code in public.values()), public
                bind_codes = [await channel_bind(client, 0x4000 + i, (address, peer_port)) for i, address in enumerate(("127.0.0.1", "10.0.0.1"))]
                print("ChannelBind 127.0.0.1, 10.0.0.1:", [error_reason(c) for c in bind_codes])
                assert bind_codes == [403, 403]
                send_indication(client, ("127.0.0.1", peer_port), b"must not arrive")
                assert await received(peer, NOT_RECEIVED_WAIT) is None, "data was relayed to a loopback peer"
    finally:
        peer.close()


async def test_the_same_requests_pass_once_the_denial_line_is_dropped(tmp_path: Path) -> None:
    """Controls: without the 10/8 line, 10.0.0.1 is allowed; without the 127/8 line (and with coturn's default loopback
    refusal lifted), the Send of the test above reaches the peer. Each other denied range stays refused."""
    ten = rendered(tmp_path, "without-10.conf", drop="denied-peer-ip=10.0.0.0-10.255.255.255")
    with turnserver(ten, tmp_path) as server:
        async with allocation(server) as client:
            assert await create_permission(client, ("10.0.0.1", 9)) == 0
            assert await channel_bind(client, 0x4000, ("10.0.0.1", 9)) == 0
            assert await create_permission(client, ("192.168.1.1", 9)) == 403
    loopback = rendered(tmp_path, "without-127.conf", drop="denied-peer-ip=127.0.0.0-127.255.255.255", extra=("allow-loopback-peers",))
    peer = peer_socket()
    peer_port = peer.getsockname()[1]
    try:
        with turnserver(loopback, tmp_path) as server:
            async with allocation(server) as client:
                assert await create_permission(client, ("127.0.0.1", peer_port)) == 0
                started = time.monotonic()
                send_indication(client, ("127.0.0.1", peer_port), b"relayed")
                assert await received(peer, 10) == b"relayed"
                print(f"control: Send to 127.0.0.1 relayed in {1000 * (time.monotonic() - started):.1f} ms once the 127/8 line is dropped")
                assert await channel_bind(client, 0x4001, ("127.0.0.1", peer_port)) == 0
                assert await create_permission(client, ("10.0.0.1", 9)) == 403
    finally:
        peer.close()
