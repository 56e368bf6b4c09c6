"""ICE plumbing for server-side aiortc peers: the app's ICE server dictionaries as aiortc configuration,
loopback host candidates for tests, and which candidate pair ICE selected.

aiortc is imported inside the functions: the web app imports this package, and most requests never
need WebRTC.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aiortc import RTCConfiguration, RTCPeerConnection


def rtc_configuration(servers: list[dict[str, Any]], *, relay: bool = False) -> RTCConfiguration:
    """RTCIceServer dictionaries (as media.turn.ice_servers and the room's welcome give them) as aiortc's configuration.

    An empty list means no STUN/TURN at all: aiortc given None would try a public STUN server. aiortc
    uses one STUN and one TURN URL (the first it supports); browsers use them all.
    """
    from aiortc import RTCConfiguration, RTCIceServer  # noqa: PLC0415
    from aiortc.rtcconfiguration import RTCIceTransportPolicy  # noqa: PLC0415

    ice = []
    for server in servers:
        urls = server.get("urls", [])
        ice.append(RTCIceServer(urls=list(urls) if isinstance(urls, list | tuple) else str(urls),
                                username=server.get("username"), credential=server.get("credential")))
    policy = RTCIceTransportPolicy.RELAY if relay else RTCIceTransportPolicy.ALL
    return RTCConfiguration(iceServers=ice, iceTransportPolicy=policy)


def selected_pair(pc: RTCPeerConnection) -> tuple[str, str] | None:
    """(local, remote) candidate types of the pair ICE nominated ("host", "srflx", "prflx", "relay"), or None.

    aiortc has no candidate-pair statistics, so this reads aioice's nominated pair of the first
    transport (media and data share one transport: aiortc bundles).
    """
    transports = [t.receiver.transport.transport for t in pc.getTransceivers()]
    if pc.sctp is not None:
        transports.append(pc.sctp.transport.transport)
    for ice in transports:
        nominated = ice._connection._nominated  # noqa: SLF001 -- no public API for the selected pair
        for pair in nominated.values():
            return pair.local_candidate.type, pair.remote_candidate.type
    return None


@contextlib.contextmanager
def loopback_host_candidates() -> Iterator[None]:
    """Makes aioice gather host candidates on 127.0.0.1 only (tests and benchmarks on one machine).

    aioice leaves 127.0.0.1 out of its host addresses, so two peers on a machine without another
    usable interface never connect. This replaces its address lookup for the duration of the block,
    in every thread of the process (it is a module attribute).
    """
    import aioice.ice  # noqa: PLC0415

    original = aioice.ice.get_host_addresses

    def loopback(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        return ["127.0.0.1"] if use_ipv4 else []

    aioice.ice.get_host_addresses = loopback
    try:
        yield
    finally:
        aioice.ice.get_host_addresses = original
