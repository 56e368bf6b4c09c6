"""Who the room's WebSocket refuses at the handshake: strangers, other origins, stale or foreign tokens."""

from __future__ import annotations

import json
import time

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from websockets.exceptions import ConnectionClosed, InvalidStatus

from media.client import RoomClient, RoomError
from tests.media.helpers import SECRET, Seeded
from web.rooms import SALT, room_token
from web.settings import Settings


class _HourOld(TimestampSigner):
    def get_timestamp(self) -> int:
        return int(time.time()) - 3600


def _expired_token(user_id: int, chat_id: int) -> str:
    return URLSafeTimedSerializer(SECRET, salt=SALT, signer=_HourOld).dumps({"u": user_id, "c": chat_id})


async def _refused(client: RoomClient, token: str, *, origin: str | None = None, send_origin: bool = True, cookie: bool = True) -> int:
    with pytest.raises(InvalidStatus) as refused:
        ws = await client.open_socket(token, origin=origin, send_origin=send_origin, cookie=cookie)
        await ws.close()
    return refused.value.response.status_code


async def test_the_handshake_refuses_strangers_foreign_origins_and_bad_tokens(live: str, seeded: Seeded) -> None:
    room, stranger = seeded.rooms[0], seeded.strangers[0]
    settings = Settings(secret_key=SECRET)
    async with RoomClient(live, room.chat_id, room.talent, seeded.password) as talent, \
            RoomClient(live, room.chat_id, room.recruiter, seeded.password) as recruiter, \
            RoomClient(live, room.chat_id, stranger.email, seeded.password) as outsider:
        for client in (talent, recruiter, outsider):
            await client.sign_in()

        # A talent of the same event who is not in this chat gets no token, and a token made for them
        # with the server's own key does not open the door either.
        with pytest.raises(RoomError) as no_token:
            await outsider.room_token()
        assert no_token.value.status == 404
        assert await _refused(outsider, room_token(settings, stranger.id, room.chat_id)) == 403
        with pytest.raises(RoomError) as joined:
            await outsider.join()
        assert joined.value.status == 404

        token = await talent.room_token()
        # The page that opens the socket must be ours.
        assert await _refused(talent, token, send_origin=False) == 403
        assert await _refused(talent, token, origin="https://evil.example") == 403
        assert await _refused(talent, token, origin=live.replace("127.0.0.1", "localhost")) == 403
        # Without the session cookie, or with someone else's session, the token is worthless.
        assert await _refused(talent, token, cookie=False) == 403
        assert await _refused(recruiter, token) == 403
        # An expired token (older than room_token_seconds), even for the right person.
        assert await _refused(talent, _expired_token(room.talent_id, room.chat_id)) == 403
        # A token for another chat id.
        assert await _refused(talent, room_token(settings, room.talent_id, room.chat_id + 1)) == 403

        # The same token, origin and session together do open it.
        ws = await talent.open_socket(token)
        await ws.send(json.dumps({"type": "hello", "conn": talent.conn_id}))
        welcome = json.loads(await ws.recv())
        assert welcome["type"] == "welcome" and welcome["you"]["user_id"] == room.talent_id
        await ws.close()


async def test_binary_frames_get_a_protocol_error_not_a_server_error(live: str, seeded: Seeded) -> None:
    room = seeded.rooms[0]
    async with RoomClient(live, room.chat_id, room.talent, seeded.password) as talent:
        await talent.sign_in()
        ws = await talent.open_socket(await talent.room_token())
        await ws.send(b'{"type": "hello", "conn": "binary-hello"}')
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4400

        ws = await talent.open_socket(await talent.room_token())
        await ws.send(json.dumps({"type": "hello", "conn": "binary-later"}))
        assert json.loads(await ws.recv())["type"] == "welcome"
        await ws.send(b'{"type": "ping"}')
        assert json.loads(await ws.recv())["code"] == "binary_frame"
        await ws.send(json.dumps({"type": "ping"}))
        assert json.loads(await ws.recv()) == {"type": "pong"}  # the socket lives on
        await ws.close()
