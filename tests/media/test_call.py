"""Two aiortc participants in a confirmed chat's room, through a running server: each decodes the other's video."""

from __future__ import annotations

import asyncio

from media.client import RoomClient, until
from tests.live import serve
from tests.media.helpers import IN_ROOM_HOURS, SECRET, Seeded, Turn
from web.settings import Settings


async def test_two_clients_see_each_others_frames(live: str, seeded: Seeded) -> None:
    room = seeded.rooms[0]
    async with RoomClient(live, room.chat_id, room.talent, seeded.password) as talent, \
            RoomClient(live, room.chat_id, room.recruiter, seeded.password) as recruiter:
        await talent.join()
        await recruiter.join()
        await until(lambda: talent.conn_id in recruiter.links and recruiter.conn_id in talent.links, 10, "both links")
        a, b = talent.links[recruiter.conn_id], recruiter.links[talent.conn_id]
        await until(lambda: a.connected and b.connected, 15, "both peer connections connected")
        await until(lambda: a.frames > 0 and b.frames > 0, 15, "decoded frames on both sides")
        assert a.selected_pair() is not None and a.selected_pair() == ("host", "host")
        # The newcomer (the recruiter) offered; nobody had to start over.
        assert (b.offers_sent, a.offers_sent) == (1, 0)
        assert a.pcs_made == b.pcs_made == 1
        assert talent.errors == recruiter.errors == []


async def test_call_forced_through_turn_is_relayed(media_db: str, seeded: Seeded, coturn: Turn) -> None:
    room = seeded.rooms[0]
    settings = lambda base: Settings(database_url=media_db, secret_key=SECRET, base_url=base,  # noqa: E731
                                     turn_urls=[coturn.url], turn_secret=coturn.secret)
    with serve(settings, lambda: IN_ROOM_HOURS) as base:
        async with RoomClient(base, room.chat_id, room.talent, seeded.password, relay=True) as talent, \
                RoomClient(base, room.chat_id, room.recruiter, seeded.password, relay=True) as recruiter:
            await talent.join()
            await recruiter.join()
            # The welcome carries TURN with time-limited credentials for this user.
            [turn] = talent.ice_servers
            assert turn["urls"] == [coturn.url] and turn["username"].endswith(f":{room.talent_id}")
            await until(lambda: recruiter.conn_id in talent.links and talent.conn_id in recruiter.links, 10, "both links")
            a, b = talent.links[recruiter.conn_id], recruiter.links[talent.conn_id]
            await until(lambda: a.connected and b.connected, 20, "both relayed peer connections connected")
            await until(lambda: a.frames > 0 and b.frames > 0, 15, "decoded frames on both sides")
            for link in (a, b):
                pair = link.selected_pair()
                assert pair is not None and pair[0] == "relay", pair
                sdp = link.pc.localDescription.sdp if link.pc else ""
                assert " typ host" not in sdp and " typ relay" in sdp


async def test_the_call_goes_on_while_the_signaling_socket_is_down(live: str, seeded: Seeded) -> None:
    room = seeded.rooms[0]
    async with RoomClient(live, room.chat_id, room.talent, seeded.password, reconnect_delay=1.0) as talent, \
            RoomClient(live, room.chat_id, room.recruiter, seeded.password) as recruiter:
        await talent.join()
        await recruiter.join()
        await until(lambda: recruiter.conn_id in talent.links and talent.conn_id in recruiter.links, 10, "both links")
        a, b = talent.links[recruiter.conn_id], recruiter.links[talent.conn_id]
        await until(lambda: a.frames > 0 and b.frames > 0, 15, "decoded frames on both sides")

        await talent.drop()
        await until(lambda: not talent.connected, 2, "the talent's socket to go")
        seen = (a.frames, b.frames)
        await until(lambda: a.frames > seen[0] + 5 and b.frames > seen[1] + 5, 5, "frames while the socket is down")
        assert not talent.connected  # media is peer to peer: the server was not needed for these

        await until(lambda: talent.connected and talent.welcomes == 2, 10, "the talent's resume")
        await until(lambda: a.frames > seen[0] + 20, 5, "more frames after the resume")
        # Nobody renegotiated: the resume found the peer connection alive on both sides.
        assert a.pcs_made == b.pcs_made == 1 and a.pc is not None and a.pc.connectionState == "connected"
        assert set(recruiter.peers) == {talent.conn_id} and set(talent.peers) == {recruiter.conn_id}


async def test_offers_that_cross_are_resolved_by_the_polite_side(live: str, seeded: Seeded) -> None:
    room = seeded.rooms[0]
    # Roles come from the two conn ids: the one that sorts first is polite (as in the room page).
    async with RoomClient(live, room.chat_id, room.talent, seeded.password, conn_id="conn-b-talent") as talent, \
            RoomClient(live, room.chat_id, room.recruiter, seeded.password, conn_id="conn-a-recruiter") as recruiter:
        await talent.join()
        await recruiter.join()
        await until(lambda: recruiter.conn_id in talent.links and talent.conn_id in recruiter.links, 10, "both links")
        impolite, polite = talent.links[recruiter.conn_id], recruiter.links[talent.conn_id]
        assert polite.polite and not impolite.polite
        await until(lambda: impolite.frames > 0 and polite.frames > 0, 15, "a first call")

        # Both sides start a new session at the same moment: glare.
        impolite.enqueue("offer")
        polite.enqueue("offer")
        await until(lambda: impolite.offers_sent == 1 and polite.offers_sent == 2, 10, "both offers sent")
        await until(lambda: impolite.connected and polite.connected and impolite.pc is not None
                    and impolite.pc.signalingState == "stable", 15, "the new session connected")
        # The impolite side's offer won: it kept the connection it offered on; the polite side dropped
        # the one it had offered on (aiortc has no rollback) and answered on a fresh one.
        assert impolite.pcs_made == 2 and polite.pcs_made == 3
        assert impolite.pc is not None and impolite.pc.localDescription.type == "offer"
        assert polite.pc is not None and polite.pc.localDescription.type == "answer"
        frames = (impolite.frames, polite.frames)
        await until(lambda: impolite.frames > frames[0] + 5 and polite.frames > frames[1] + 5, 10, "frames on the new session")
        assert talent.errors == recruiter.errors == []


async def test_two_newcomers_at_once_still_connect(live: str, seeded: Seeded) -> None:
    room = seeded.rooms[0]
    async with RoomClient(live, room.chat_id, room.talent, seeded.password) as talent, \
            RoomClient(live, room.chat_id, room.recruiter, seeded.password) as recruiter:
        await asyncio.gather(talent.join(), recruiter.join())
        await until(lambda: recruiter.conn_id in talent.links and talent.conn_id in recruiter.links, 10, "both links")
        a, b = talent.links[recruiter.conn_id], recruiter.links[talent.conn_id]
        await until(lambda: a.frames > 0 and b.frames > 0, 15, "decoded frames on both sides")
        assert talent.errors == recruiter.errors == []


async def test_back_after_the_reconnect_grace_the_call_starts_afresh(media_db: str, seeded: Seeded) -> None:
    room = seeded.rooms[0]

    def settings(base: str) -> Settings:
        return Settings(database_url=media_db, secret_key=SECRET, base_url=base, reconnect_grace_seconds=0.3)

    with serve(settings, lambda: IN_ROOM_HOURS) as base:
        async with RoomClient(base, room.chat_id, room.talent, seeded.password, reconnect_delay=1.5) as talent, \
                RoomClient(base, room.chat_id, room.recruiter, seeded.password) as recruiter:
            await talent.join()
            await recruiter.join()
            await until(lambda: recruiter.conn_id in talent.links and talent.conn_id in recruiter.links, 10, "both links")
            await until(lambda: all(link.frames > 0 for link in (*talent.links.values(), *recruiter.links.values())), 15, "a first call")
            await talent.drop()
            # Away longer than the grace: the server says the talent left, and the recruiter hangs up.
            await until(lambda: talent.conn_id not in recruiter.links, 5, "the recruiter to drop the call")
            await until(lambda: talent.welcomes == 2, 10, "the talent's resume")
            resumed = talent.joined_at or 0
            # The replay tells the talent it was said to have left: it offers again at once (no offer_grace wait).
            await until(lambda: talent.conn_id in recruiter.links and recruiter.links[talent.conn_id].frames > 0
                        and talent.links[recruiter.conn_id].connected, 10, "a fresh call")
            link = recruiter.links[talent.conn_id]
            assert link.first_frame_at is not None and link.first_frame_at - resumed < recruiter.offer_grace
            assert talent.links[recruiter.conn_id].pcs_made >= 2  # a fresh peer connection (two if it also saw the old one fail)
