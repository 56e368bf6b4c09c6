"""The network check's server peer: the browser offers a data channel, this peer answers and echoes every message.

The browser measures round trips over the echo and reads from getStats() which route ICE took:
straight to the server, or through TURN. Each route the browser should try is listed in
`routes()` (a name, the iceServers and the iceTransportPolicy to use). The call media of a room
never comes here: rooms are peer to peer, this only tells a person before a chat whether their
network lets WebRTC through, and which way.

A server peer is cheap (a data channel, no media) but holds UDP ports, so their number is capped
per user and overall, a user may start only a few a minute, and each closes after `lifetime`
seconds. aiortc gathers all its candidates before answering (with a timeout: an unreachable TURN
server blocks gathering for about 5 s).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from media.ice import rtc_configuration

if TYPE_CHECKING:
    from aiortc import RTCDataChannel, RTCPeerConnection

log = logging.getLogger(__name__)
MAX_SDP = 60_000


class NetcheckError(Exception):
    """A refused check, with the HTTP status and error code the endpoint answers with."""

    def __init__(self, status: int, code: str, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.retry_after = status, code, message, retry_after


@dataclass(eq=False)
class _Peer:
    pc: RTCPeerConnection
    user_id: int
    expiry: asyncio.Task[None] | None = None
    echoed: int = 0


@dataclass
class NetcheckPeers:
    """The live server peers of one app process (an app resource: created with the app, closed by its lifespan)."""

    lifetime: float = 30.0
    max_peers: int = 32
    max_per_user: int = 2
    per_user_per_minute: int = 10
    gather_timeout: float = 10.0
    _peers: set[_Peer] = field(default_factory=set)
    _starts: dict[int, deque[float]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self._peers)

    @staticmethod
    def routes(ice_servers: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """What the browser should try: "direct" (host and STUN candidates) and, with TURN configured, "relay"."""
        stun = [s for s in ice_servers if not s.get("username")]
        turn = [s for s in ice_servers if s.get("username")]
        routes = [{"name": "direct", "iceServers": stun, "iceTransportPolicy": "all"}]
        if turn:
            routes.append({"name": "relay", "iceServers": turn, "iceTransportPolicy": "relay"})
        return routes

    def _admit(self, user_id: int) -> None:
        now = time.monotonic()
        starts = self._starts.setdefault(user_id, deque())
        while starts and starts[0] <= now - 60:
            starts.popleft()
        if len(starts) >= self.per_user_per_minute:
            raise NetcheckError(429, "rate_limited", "Too many network checks; wait a minute and try again.",
                                retry_after=max(1, int(starts[0] + 60 - now) + 1))
        if sum(p.user_id == user_id for p in self._peers) >= self.max_per_user:
            raise NetcheckError(429, "too_many_checks", f"At most {self.max_per_user} network checks can run at once.", retry_after=5)
        if len(self._peers) >= self.max_peers:
            raise NetcheckError(503, "busy", "The server is running many network checks; try again in a minute.", retry_after=30)
        starts.append(now)
        if len(self._starts) > 10_000:
            for uid in [u for u, d in self._starts.items() if not d or d[-1] <= now - 60]:
                del self._starts[uid]

    async def answer(self, user_id: int, sdp: str, ice_servers: list[dict[str, Any]]) -> dict[str, Any]:
        """Answers the browser's offer with a fresh echo peer; NetcheckError when refused."""
        if len(sdp) > MAX_SDP:
            raise NetcheckError(413, "too_large", f"An offer is limited to {MAX_SDP} characters.")
        if "m=application" not in sdp or "m=audio" in sdp or "m=video" in sdp:
            raise NetcheckError(422, "invalid_offer", "Offer one data channel and no audio or video.")
        self._admit(user_id)
        from aiortc import RTCPeerConnection, RTCSessionDescription  # noqa: PLC0415 -- WebRTC only when a check runs

        pc = RTCPeerConnection(rtc_configuration(ice_servers))
        peer = _Peer(pc, user_id)
        self._peers.add(peer)

        @pc.on("datachannel")
        def on_channel(channel: RTCDataChannel) -> None:
            @channel.on("message")
            def echo(message: str | bytes) -> None:
                if channel.readyState == "open":
                    peer.echoed += 1
                    channel.send(message)

        @pc.on("connectionstatechange")
        def on_state() -> None:
            if pc.connectionState in ("failed", "closed") and peer in self._peers:
                asyncio.get_running_loop().create_task(self._drop(peer))

        try:
            async with asyncio.timeout(self.gather_timeout):
                await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
                await pc.setLocalDescription(await pc.createAnswer())
        except TimeoutError:
            await self._drop(peer)
            raise NetcheckError(504, "ice_timeout", "The server could not gather its network addresses in time "
                                "(is the TURN server reachable?).") from None
        except Exception as err:  # aiortc raises ValueError, AssertionError, ... on an SDP it can't use
            await self._drop(peer)
            raise NetcheckError(422, "invalid_offer", f"The offer could not be used: {str(err)[:200] or type(err).__name__}") from None
        peer.expiry = asyncio.get_running_loop().create_task(self._expire(peer))
        answer = pc.localDescription
        return {"type": answer.type, "sdp": answer.sdp, "expires_in": self.lifetime, "routes": self.routes(ice_servers),
                "candidates": _candidates(answer.sdp)}

    async def _expire(self, peer: _Peer) -> None:
        await asyncio.sleep(self.lifetime)
        await self._drop(peer, from_expiry=True)

    async def _drop(self, peer: _Peer, *, from_expiry: bool = False) -> None:
        self._peers.discard(peer)
        if peer.expiry is not None and not from_expiry:
            peer.expiry.cancel()
        with contextlib.suppress(Exception):
            await peer.pc.close()

    async def close(self) -> None:
        """Closes every peer (the app is stopping)."""
        peers, self._peers = list(self._peers), set()
        for peer in peers:
            if peer.expiry is not None:
                peer.expiry.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await peer.expiry
            with contextlib.suppress(Exception):
                await peer.pc.close()


def _candidates(sdp: str) -> list[dict[str, Any]]:
    """The server's own candidates, as the browser can show them ("relay udp 203.0.113.5:49170")."""
    from aiortc.sdp import candidate_from_sdp  # noqa: PLC0415

    found = []
    for line in sdp.splitlines():
        if line.startswith("a=candidate:"):
            c = candidate_from_sdp(line.removeprefix("a=candidate:"))
            found.append({"type": c.type, "protocol": c.protocol.lower(), "address": c.ip, "port": c.port})
    return found
