"""The network check: the server answers a browser-like aiortc offer and echoes data-channel pings."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest
from aiortc import RTCDataChannel, RTCPeerConnection, RTCSessionDescription

from media.client import RoomClient, until
from media.ice import rtc_configuration, selected_pair
from media.netcheck import NetcheckError, NetcheckPeers
from tests.live import serve
from tests.media.helpers import IN_ROOM_HOURS, SECRET, Seeded, Turn
from web.settings import Settings


async def _offer(ice_servers: list[dict[str, Any]] | None = None, *, relay: bool = False) -> tuple[RTCPeerConnection, RTCDataChannel]:
    pc = RTCPeerConnection(rtc_configuration(ice_servers or [], relay=relay))
    channel = pc.createDataChannel("netcheck")
    await pc.setLocalDescription(await pc.createOffer())
    return pc, channel


async def _pings(channel: RTCDataChannel, n: int = 5) -> list[float]:
    """Round trips of `n` pings over the echo, in seconds."""
    echoes: asyncio.Queue[str] = asyncio.Queue()
    channel.on("message", echoes.put_nowait)
    rtts = []
    for i in range(n):
        sent = time.perf_counter()
        channel.send(f"ping {i}")
        assert await asyncio.wait_for(echoes.get(), 5) == f"ping {i}"
        rtts.append(time.perf_counter() - sent)
    return rtts


async def _check(http: httpx.AsyncClient, origin: str, ice_servers: list[dict[str, Any]] | None = None, *,
                 relay: bool = False) -> tuple[RTCPeerConnection, dict[str, Any], list[float]]:
    pc, channel = await _offer(ice_servers, relay=relay)
    r = await http.post("/api/rtc/netcheck", json={"type": "offer", "sdp": pc.localDescription.sdp}, headers={"Origin": origin})
    assert r.status_code == 200, r.text
    answer = r.json()
    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type=answer["type"]))
    await until(lambda: channel.readyState == "open", 10, "the data channel to open")
    return pc, answer, await _pings(channel)


async def test_netcheck_answers_and_echoes(live: str, seeded: Seeded) -> None:
    room = seeded.rooms[0]
    async with RoomClient(live, room.chat_id, room.talent, seeded.password) as talent:
        await talent.sign_in()
        http = talent.http
        routes = (await http.get("/api/rtc/netcheck")).json()["routes"]
        assert routes == [{"name": "direct", "iceServers": [], "iceTransportPolicy": "all"}]  # no STUN or TURN configured

        pc, answer, rtts = await _check(http, live)
        try:
            assert answer["type"] == "answer" and answer["expires_in"] == 30 and answer["routes"] == routes
            assert answer["candidates"] and all(c["type"] == "host" for c in answer["candidates"])
            assert selected_pair(pc) == ("host", "host")
            assert max(rtts) < 1.0
            # One more may run at the same time; a third is refused until one closes.
            pc2, _, _ = await _check(http, live)
            try:
                third, _ = await _offer()
                r = await http.post("/api/rtc/netcheck", json={"type": "offer", "sdp": third.localDescription.sdp}, headers={"Origin": live})
                assert r.status_code == 429 and r.json()["error"]["code"] == "too_many_checks" and r.headers["Retry-After"]
                await third.close()
            finally:
                await pc2.close()
        finally:
            await pc.close()


async def test_netcheck_refuses_strangers_other_origins_and_media_offers(live: str, seeded: Seeded) -> None:
    room = seeded.rooms[0]
    pc, _ = await _offer()
    offer = {"type": "offer", "sdp": pc.localDescription.sdp}
    try:
        async with httpx.AsyncClient(base_url=live) as anonymous:
            r = await anonymous.post("/api/rtc/netcheck", json=offer, headers={"Origin": live})
            assert r.status_code == 401 and r.json()["error"]["code"] == "unauthenticated"
            assert (await anonymous.get("/api/rtc/netcheck")).status_code == 401
        async with RoomClient(live, room.chat_id, room.talent, seeded.password) as talent:
            await talent.sign_in()
            http = talent.http
            for headers in ({}, {"Origin": "https://evil.example"}):
                r = await http.post("/api/rtc/netcheck", json=offer, headers=headers)
                assert r.status_code == 403 and r.json()["error"]["code"] == "origin_not_allowed"
            video = RTCPeerConnection(rtc_configuration([]))
            video.addTransceiver("video", direction="recvonly")
            await video.setLocalDescription(await video.createOffer())
            r = await http.post("/api/rtc/netcheck", json={"type": "offer", "sdp": video.localDescription.sdp}, headers={"Origin": live})
            await video.close()
            assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_offer"
            for bad in ({"type": "answer", "sdp": offer["sdp"]}, {"type": "offer"}, {"type": "offer", "sdp": "v=0 m=application", "x": 1}):
                r = await http.post("/api/rtc/netcheck", json=bad, headers={"Origin": live})
                assert r.status_code == 422, bad
            r = await http.post("/api/rtc/netcheck", json={"type": "offer", "sdp": "m=application" + "x" * 70_000}, headers={"Origin": live})
            assert r.status_code == 413
    finally:
        await pc.close()


async def test_netcheck_relay_route_goes_through_turn(media_db: str, seeded: Seeded, coturn: Turn) -> None:
    room = seeded.rooms[0]

    def settings(base: str) -> Settings:
        return Settings(database_url=media_db, secret_key=SECRET, base_url=base, turn_urls=[coturn.url], turn_secret=coturn.secret)

    with serve(settings, lambda: IN_ROOM_HOURS) as base:
        async with RoomClient(base, room.chat_id, room.recruiter, seeded.password) as recruiter:
            await recruiter.sign_in()
            routes = {r["name"]: r for r in (await recruiter.http.get("/api/rtc/netcheck")).json()["routes"]}
            relay = routes["relay"]
            assert relay["iceTransportPolicy"] == "relay" and relay["iceServers"][0]["username"].endswith(f":{room.recruiter_id}")
            pc, answer, rtts = await _check(recruiter.http, base, relay["iceServers"], relay=True)
            try:
                assert {c["type"] for c in answer["candidates"]} == {"host", "relay"}  # the server peer gathers both
                pair = selected_pair(pc)
                assert pair is not None and pair[0] == "relay", pair
                assert len(rtts) == 5
            finally:
                await pc.close()


async def test_peers_close_after_their_lifetime_and_limits_apply() -> None:
    peers = NetcheckPeers(lifetime=0.5, per_user_per_minute=2)
    pc, channel = await _offer()
    answer = await peers.answer(7, pc.localDescription.sdp, [])
    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type="answer"))
    await until(lambda: channel.readyState == "open", 10, "the data channel to open")
    assert len(peers) == 1
    await until(lambda: len(peers) == 0, 3, "the server peer to expire")
    await until(lambda: pc.connectionState in ("closed", "failed") or channel.readyState == "closed", 40, "the browser side to notice")
    await pc.close()

    second, _ = await _offer()
    await peers.answer(7, second.localDescription.sdp, [])
    with pytest.raises(NetcheckError) as limited:
        await peers.answer(7, second.localDescription.sdp, [])
    assert limited.value.status == 429 and limited.value.code == "rate_limited"
    await peers.close()
    assert len(peers) == 0
    await second.close()
