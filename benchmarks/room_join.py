"""Room join: from the second participant's join to both peers connected and the first frame decoded.

What it does:

1. Creates a throw-away SQLite database and seeds `--rooms` confirmed chats through the product's
   own actions (talent i with recruiter i, all at the same time), then serves the app with
   uvicorn on a free loopback port (tests/live.serve, in this process, on its own thread and
   event loop) with a clock inside the rooms' opening hours.
2. For each room in turn: the talent joins and waits alone; the recruiter signs in over HTTP
   (not timed), then the clock starts and the recruiter joins: room token, WebSocket, hello,
   welcome. The recruiter is the newcomer, so it offers (media/client.py's rule); the talent
   answers. Both send a generated 320x240 VP8 stream and count decoded frames.
3. Prints, over the rooms, p50/p95/max of: welcome received, both peer connections
   "connected", a first frame decoded on both sides, all measured from the recruiter's join.
   Both clients then leave before the next room starts, so rooms never overlap.

aioice is made to gather host candidates on 127.0.0.1 (it leaves loopback out otherwise), so
these are loopback figures: signaling, ICE checks, DTLS, the first key frame; no network
latency. With `--turn` the calls go through a local coturn (iceTransportPolicy relay).

    .venv/bin/python benchmarks/room_join.py --rooms 20
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from argon2 import PasswordHasher  # noqa: E402

from media.client import RoomClient, until  # noqa: E402
from media.ice import loopback_host_candidates  # noqa: E402
from scheduling import accounts, migrate  # noqa: E402
from tests.live import free_socket, serve  # noqa: E402
from tests.media.helpers import IN_ROOM_HOURS, seed_rooms  # noqa: E402
from web.settings import Settings  # noqa: E402

SECRET = "bench-secret"


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def start_coturn(workdir: Path) -> tuple[subprocess.Popen[bytes], str, str]:
    with free_socket() as probe:
        port = probe.getsockname()[1]
    secret = "bench-turn-secret"
    proc = subprocess.Popen(
        ["/usr/bin/turnserver", "-n", "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1", f"--listening-port={port}",
         "--min-port=49160", "--max-port=49460", "--realm=fairmeet.test", "--use-auth-secret", f"--static-auth-secret={secret}",
         "--fingerprint", "--no-tls", "--no-dtls", "--no-cli", "--allow-loopback-peers", "--no-multicast-peers",
         f"--pidfile={workdir / 'turn.pid'}", f"--log-file={workdir / 'turn.log'}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    time.sleep(0.5)
    return proc, f"turn:127.0.0.1:{port}?transport=udp", secret


async def one_room(base: str, chat_id: int, talent_email: str, recruiter_email: str, password: str, args: argparse.Namespace,
                   address: str) -> dict[str, float]:
    size = (args.width, args.height)
    talent = RoomClient(base, chat_id, talent_email, password, relay=args.turn, video_size=size, local_address=address)
    recruiter = RoomClient(base, chat_id, recruiter_email, password, relay=args.turn, video_size=size, local_address=address)
    try:
        await talent.join()
        await recruiter.sign_in()
        t0 = time.monotonic()
        await recruiter.join()
        welcome = time.monotonic() - t0
        await until(lambda: talent.conn_id in recruiter.links and recruiter.conn_id in talent.links, 10, "both links")
        a, b = talent.links[recruiter.conn_id], recruiter.links[talent.conn_id]
        await until(lambda: a.first_frame_at is not None and b.first_frame_at is not None and a.connected_at is not None
                    and b.connected_at is not None, 30, "connected peers and decoded frames")
        assert a.connected_at and b.connected_at and a.first_frame_at and b.first_frame_at
        return {
            "welcome": welcome,
            "connected": max(a.connected_at, b.connected_at) - t0,
            "first frame": max(a.first_frame_at, b.first_frame_at) - t0,
        }
    finally:
        await recruiter.close()
        await talent.close()


async def run(args: argparse.Namespace, base: str, rooms: list[tuple[int, str, str]], password: str) -> None:
    results: list[dict[str, float]] = []
    for i, (chat_id, talent, recruiter) in enumerate(rooms):
        # Two sign-ins per room: spread them over loopback addresses, under the per-IP sign-in limit.
        address = f"127.0.0.{2 + i // 20}"
        results.append(await one_room(base, chat_id, talent, recruiter, password, args, address))
        if args.verbose:
            print(f"room {i + 1:3d}: " + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in results[-1].items()))
    print(f"\n{len(results)} rooms in sequence, {args.width}x{args.height} VP8 both ways, "
          f"{'relayed through a local coturn' if args.turn else 'host candidates on loopback'}")
    print(f"{'from the 2nd join to':28s} {'p50':>8s} {'p95':>8s} {'max':>8s} {'mean':>8s}")
    for key in ("welcome", "connected", "first frame"):
        values = [r[key] * 1000 for r in results]
        label = {"welcome": "welcome received", "connected": "both peers connected", "first frame": "first frame decoded on both"}[key]
        print(f"{label:28s} {pct(values, 50):6.0f}ms {pct(values, 95):6.0f}ms {max(values):6.0f}ms {statistics.fmean(values):6.0f}ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rooms", type=int, default=20)
    parser.add_argument("--width", type=int, default=320)
    parser.add_argument("--height", type=int, default=240)
    parser.add_argument("--turn", action="store_true", help="relay every call through a local coturn")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args()

    accounts.set_password_hasher(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    workdir = Path(tempfile.mkdtemp(prefix="fairmeet-bench-"))
    turn = None
    try:
        url = f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
        migrate.upgrade(url)
        seeded = asyncio.run(seed_rooms(url, args.rooms, strangers=0))
        rooms = [(r.chat_id, r.talent, r.recruiter) for r in seeded.rooms]
        extra: dict[str, object] = {}
        if args.turn:
            turn = start_coturn(workdir)
            extra = {"turn_urls": [turn[1]], "turn_secret": turn[2]}

        def settings(base: str) -> Settings:
            return Settings(database_url=url, secret_key=SECRET, base_url=base, **extra)  # type: ignore[arg-type]

        with loopback_host_candidates(), serve(settings, lambda: IN_ROOM_HOURS) as base:
            asyncio.run(run(args, base, rooms, seeded.password))
    finally:
        if turn is not None:
            turn[0].terminate()
            turn[0].wait(10)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
