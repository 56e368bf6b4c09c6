"""A Python participant of a video room: signaling protocol v1 over the room WebSocket, media through aiortc.

Tests, benchmarks and bots use it the way a browser tab uses the room page: sign in over HTTP,
fetch a room token, open /ws/rooms/{chat_id} with the session cookie and the Origin header, say
hello, then keep the room's state (peers, chat log, acks) and one RTCPeerConnection per peer.

Chat: every message carries a client id; the server stores a (author, client id) pair once, so a
resend after a lost ack or a dropped socket never doubles a message. Messages are kept by their
sequence number, and `last_seq` is the highest number below which nothing is missing: that is
what a reconnect sends in its hello, and a gap that stays open for a second is filled with a
`resume` request.

Negotiation (perfect negotiation, https://w3c.github.io/webrtc-pc/#perfect-negotiation-example):

- Roles of a pair: the connection whose conn id sorts first (plain string comparison) is *polite*,
  the same rule as the room page (web/static/room.js), so a browser and this client agree. Both
  sides work it out alone, from the two ids.
- The newcomer offers: a connection sends an offer to every peer listed in its welcome. A
  connection already in the room waits for that offer, and offers itself only if none came within
  `offer_grace` seconds after the newcomer's "joined" event (so a peer with another rule, or a
  lost offer, still ends up connected). The room page follows the same newcomer-offers rule; when
  offers still cross (both join at once), the glare rule below sorts that out.
- Back after a long absence (the replay says this connection, or a peer, "left" while the socket
  was away), the other side has dropped its call with us: every such link starts a fresh offer.
- Glare (both offered): the impolite side ignores the incoming offer and the candidates that
  follow it; the polite side drops its own offer and answers. aiortc has no rollback, so dropping
  an offer means replacing that RTCPeerConnection by a fresh one (nothing had connected yet).
- An offer from a new session (its ICE ufrag differs from the current remote description: the
  other tab reloaded or restarted) replaces the peer connection too; aiortc has no ICE restart.
- When a connection fails, the impolite side starts again with a fresh peer connection and offer;
  the polite side asks for that with a `restart` signal. A `restart` request received is answered
  with a fresh offer only if the other side's own new offer has not come within a second (the
  room page restarts ICE and offers by itself).
- An offer is not replaced while its answer may still come (sent on this socket less than
  OFFER_PATIENCE ago): an answer does not say which offer it answers, so a late one would land
  on the new peer connection and break it.
- Each peer connection has an audio section (received only) and a video section (a generated
  track, or received only), like the room page's: when this client offers, the page's later
  offers reuse the header extension ids it negotiated (Chromium otherwise picks colliding ones
  for a new audio section and fails to create its offer).
- aiortc gathers all its candidates before the offer and puts them in the SDP, so this client
  sends no candidate signals; it applies the candidates a browser trickles (buffered until the
  remote description is set).

Every received track is consumed (video frames are counted as they are decoded): an unread
aiortc track queues frames without bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from aiortc import RTCIceCandidate, RTCPeerConnection, RTCSessionDescription, VideoStreamTrack
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.sdp import candidate_from_sdp
from av import VideoFrame
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException
from websockets.typing import Origin

from media.ice import rtc_configuration, selected_pair

log = logging.getLogger(__name__)

# Close codes after which reconnecting cannot help: replaced by a newer socket of the same tab,
# protocol misuse, refused sign-in or token, not allowed, room closed.
TERMINAL_CLOSE = {4000, 4400, 4401, 4403, 4409}
HELLO_TIMEOUT = 10.0
RESEND_AFTER = 5.0
BUSY_PAUSE = 1.0  # seconds before a line the server refused as busy or rate-limited goes again (plus up to as much jitter)
RESTART_WAIT = 1.0  # after a restart request, the other side's own new offer is awaited this long
OFFER_PATIENCE = 5.0  # an offer sent on the current socket is awaited this long before a new one replaces it
GAP_WAIT = 1.0
_UFRAG = re.compile(r"^a=ice-ufrag:(\S+)", re.MULTILINE)


class RoomError(Exception):
    """Joining failed for good: sign-in, token or handshake refused, or the room closed the socket."""

    def __init__(self, message: str, *, status: int | None = None, code: int | None = None) -> None:
        super().__init__(message)
        self.status, self.code = status, code


@dataclass(frozen=True)
class ChatMessage:
    seq: int
    author_id: int | None
    text: str
    client_id: str | None
    received_at: float  # time.monotonic() when this client learned of it (the ack, for its own messages)


async def until(predicate: Callable[[], bool], seconds: float = 10.0, what: str = "a condition", interval: float = 0.02) -> None:
    """Polls `predicate` until it holds; TimeoutError naming `what` after `seconds`."""
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {seconds:g} s waiting for {what}")
        await asyncio.sleep(interval)


class FrameTrack(VideoStreamTrack):
    """A generated video track (a moving grey ramp, 30 frames/s) that gives the encoder real work."""

    def __init__(self, width: int = 320, height: int = 240) -> None:
        super().__init__()
        self.width, self.height = width, height
        self._n = 0
        self._ramp = bytes(range(256)) * (width // 256 + 4)

    async def recv(self) -> VideoFrame:
        pts, time_base = await self.next_timestamp()
        frame = VideoFrame(width=self.width, height=self.height, format="yuv420p")
        shift = (self._n * 3) % 256
        self._n += 1
        for i, plane in enumerate(frame.planes):
            rows = plane.buffer_size // plane.line_size
            if i == 0:
                plane.update(self._ramp[shift : shift + plane.line_size] * rows)
            else:
                plane.update(b"\x80" * plane.buffer_size)
        frame.pts = pts
        frame.time_base = time_base
        return frame


def _ufrag(sdp: str) -> str | None:
    found = _UFRAG.search(sdp)
    return found.group(1) if found else None


class PeerLink:
    """The media side of one other connection: its RTCPeerConnection(s), negotiation, received frames."""

    def __init__(self, client: RoomClient, remote: str) -> None:
        self.client, self.remote = client, remote
        self.polite = client.conn_id < remote
        self.pc: RTCPeerConnection | None = None
        self.ignore_offer = False
        self.pcs_made = 0
        self.offers_sent = 0
        self.frames = 0  # decoded video frames received, over every peer connection of this link
        self.created_at = time.monotonic()
        self.connected_at: float | None = None
        self.first_frame_at: float | None = None
        self._early: list[dict[str, Any]] = []
        self._consumers: set[asyncio.Task[None]] = set()
        self._queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self._worker = asyncio.get_running_loop().create_task(self._work())
        self._pc_born = 0.0
        self._offer_sent_at: float | None = None

    # ------------------------------------------------------------------ state

    @property
    def state(self) -> str:
        return self.pc.connectionState if self.pc is not None else "new"

    @property
    def connected(self) -> bool:
        return self.state == "connected"

    @property
    def needs_offer(self) -> bool:
        """No usable session: never negotiated, dead, or an offer of ours still unanswered."""
        pc = self.pc
        if pc is None or pc.connectionState in ("failed", "closed"):
            return True
        return pc.connectionState != "connected" and pc.remoteDescription is None

    def selected_pair(self) -> tuple[str, str] | None:
        return selected_pair(self.pc) if self.pc is not None else None

    def enqueue(self, *item: Any) -> None:
        self._queue.put_nowait((item[0], item[1] if len(item) > 1 else None))

    # ------------------------------------------------------------------ worker (one step at a time)

    async def _work(self) -> None:
        while True:
            kind, arg = await self._queue.get()
            if kind == "close":
                return
            try:
                if kind == "offer":
                    await self._offer(fresh=True)
                elif kind == "offer_if_idle":
                    pc = self.pc
                    if pc is None or (pc.signalingState == "stable" and pc.remoteDescription is None and pc.localDescription is None):
                        await self._offer(fresh=False)
                elif kind == "restart":
                    pc = self.pc
                    if pc is None or pc.connectionState in ("failed", "closed") or time.monotonic() - self._pc_born > RESTART_WAIT * 2:
                        await self._offer(fresh=True)
                elif kind == "signal":
                    await self._on_signal(arg)
            except Exception as err:
                log.exception("%s: handling %s from %s failed", self.client.conn_id, kind, self.remote)
                self.client.errors.append({"type": "local", "code": "media", "message": f"{kind}: {err!r}"})

    async def _replace(self) -> RTCPeerConnection:
        old = self.pc
        self.pc = self.client.make_pc(self)
        self.pcs_made += 1
        self._pc_born = time.monotonic()
        self.ignore_offer = False
        self._early.clear()
        if old is not None:
            await old.close()
        return self.pc

    def _offer_outstanding(self) -> bool:
        """An offer of ours went out on the current socket a moment ago and its answer may still come.

        A new offer would replace the peer connection, and an answer can't say which offer it
        answers: the late answer would land on the new connection and break it.
        """
        sent, pc = self._offer_sent_at, self.pc
        return (pc is not None and pc.signalingState == "have-local-offer" and sent is not None
                and sent >= (self.client.joined_at or 0.0) and time.monotonic() - sent < OFFER_PATIENCE)

    async def _offer(self, *, fresh: bool) -> None:
        if self._offer_outstanding():
            return
        pc = self.pc
        if fresh or pc is None or pc.connectionState in ("failed", "closed") or pc.signalingState != "stable":
            pc = await self._replace()
        await pc.setLocalDescription(await pc.createOffer())
        self.offers_sent += 1
        self._offer_sent_at = None
        if await self.client.signal(self.remote, {"description": {"type": "offer", "sdp": pc.localDescription.sdp}}):
            self._offer_sent_at = time.monotonic()

    async def _on_signal(self, data: dict[str, Any]) -> None:
        if data.get("restart") and not data.get("description"):
            # The other side restarts (the room page restarts ICE and offers by itself): start a new session
            # only if its offer does not come first.
            asyncio.get_running_loop().call_later(RESTART_WAIT, self.enqueue, "restart")
            return
        description = data.get("description")
        if description is not None:
            await self._on_description(description)
        candidate = data.get("candidate")
        if candidate is not None:
            await self._on_candidate(candidate)

    async def _on_description(self, description: dict[str, Any]) -> None:
        kind, sdp = description.get("type"), str(description.get("sdp", ""))
        pc = self.pc
        if kind == "offer":
            collision = pc is not None and pc.signalingState != "stable"
            self.ignore_offer = collision and not self.polite
            if self.ignore_offer:
                return
            if pc is None or collision or pc.connectionState in ("failed", "closed") or self._new_session(pc, sdp):
                pc = await self._replace()
            await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
            await self._flush_early(pc)
            await pc.setLocalDescription(await pc.createAnswer())
            await self.client.signal(self.remote, {"description": {"type": "answer", "sdp": pc.localDescription.sdp}})
        elif kind == "answer":
            if pc is not None and pc.signalingState == "have-local-offer":
                await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))
                await self._flush_early(pc)
        # "rollback" concerns the sender's own state only.

    @staticmethod
    def _new_session(pc: RTCPeerConnection, sdp: str) -> bool:
        remote = pc.remoteDescription
        if remote is None:
            return pc.localDescription is not None
        return _ufrag(remote.sdp) != _ufrag(sdp)

    async def _on_candidate(self, candidate: dict[str, Any]) -> None:
        pc = self.pc
        if self.ignore_offer:
            return
        if pc is None or pc.remoteDescription is None:
            self._early.append(candidate)
            return
        await pc.addIceCandidate(self._candidate(candidate))

    async def _flush_early(self, pc: RTCPeerConnection) -> None:
        early, self._early = self._early, []
        for candidate in early:
            with contextlib.suppress(ValueError):
                await pc.addIceCandidate(self._candidate(candidate))

    @staticmethod
    def _candidate(data: dict[str, Any]) -> RTCIceCandidate | None:
        text = str(data.get("candidate", ""))
        if not text:
            return None  # end of candidates
        candidate = candidate_from_sdp(text.removeprefix("candidate:"))
        candidate.sdpMid = data.get("sdpMid")
        candidate.sdpMLineIndex = data.get("sdpMLineIndex")
        if candidate.sdpMid is None and candidate.sdpMLineIndex is None:
            candidate.sdpMLineIndex = 0
        return candidate

    # ------------------------------------------------------------------ events of a peer connection

    def on_state(self, pc: RTCPeerConnection) -> None:
        if pc is not self.pc:
            return
        state = pc.connectionState
        if state == "connected" and self.connected_at is None:
            self.connected_at = time.monotonic()
        elif state == "failed":
            if self.polite:
                self.client.spawn(self.client.signal(self.remote, {"restart": True}))
            else:
                self.enqueue("restart")

    def consume(self, track: MediaStreamTrack) -> None:
        task = asyncio.get_running_loop().create_task(self._consume(track))
        self._consumers.add(task)
        task.add_done_callback(self._consumers.discard)

    async def _consume(self, track: MediaStreamTrack) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                await track.recv()
                if track.kind == "video":
                    self.frames += 1
                    if self.first_frame_at is None:
                        self.first_frame_at = time.monotonic()

    async def close(self) -> None:
        self.enqueue("close")
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._worker, 10)
        if not self._worker.done():
            self._worker.cancel()
        if self.pc is not None:
            await self.pc.close()
        for task in list(self._consumers):
            task.cancel()
        for task in list(self._consumers):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


class RoomClient:
    """One participant (one "tab") of the room of chat `chat_id` on the Fairmeet server at `base_url`.

    `media=False` makes a chat-only participant (no peer connections). `relay=True` sets
    iceTransportPolicy "relay" (TURN only). `ice_servers` overrides the servers the welcome gives.
    `history=True` asks for the whole log on the first join (hello with last_seq 0).
    `reconnect_delay` is the first wait before reconnecting after a lost socket (doubling to 3 s).
    `local_address` binds the HTTP and WebSocket connections to a source address (load tests use
    several loopback addresses, so per-IP sign-in limits see several clients).
    """

    def __init__(
        self,
        base_url: str,
        chat_id: int,
        email: str,
        password: str,
        *,
        conn_id: str | None = None,
        media: bool = True,
        send_video: bool = True,
        relay: bool = False,
        ice_servers: list[dict[str, Any]] | None = None,
        video_size: tuple[int, int] = (320, 240),
        history: bool = True,
        reconnect: bool = True,
        offer_grace: float = 2.0,
        local_address: str | None = None,
        reconnect_delay: float = 0.1,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.origin = self.base_url
        self.chat_id, self.email, self.password = chat_id, email, password
        self.conn_id = conn_id or f"py{secrets.token_hex(8)}"
        self.media, self.send_video, self.relay = media, send_video, relay
        self.video_size, self.history, self.reconnect, self.offer_grace = video_size, history, reconnect, offer_grace
        self.local_address, self.reconnect_delay = local_address, reconnect_delay
        self._ice_override = ice_servers
        self.ice_servers: list[dict[str, Any]] = list(ice_servers or [])
        transport = httpx.AsyncHTTPTransport(local_address=local_address) if local_address else None
        self.http = httpx.AsyncClient(base_url=self.base_url, transport=transport, timeout=15.0)
        self.signed_in = False

        self.user_id: int | None = None
        self.me: dict[str, Any] = {}
        self.room: dict[str, Any] = {}
        self.peers: dict[str, dict[str, Any]] = {}
        self.links: dict[str, PeerLink] = {}
        self.messages: dict[int, ChatMessage] = {}
        self.acks: dict[str, int] = {}
        self.pending: dict[str, str] = {}
        self.sent_at: dict[str, float] = {}
        self.errors: list[dict[str, Any]] = []
        self.close_codes: list[int | None] = []
        self.welcomes = 0
        self.welcome_seq = 0
        self.joined_at: float | None = None

        self._contig = 0
        self._above: set[int] = set()
        self._presence_seq: dict[str, int] = {}
        self._hello_seq = 0
        self._last_sent: dict[str, float] = {}
        self._ws: ClientConnection | None = None
        self._ready = asyncio.Event()
        self._run_task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closing: set[asyncio.Task[None]] = set()  # links being closed (awaited, never cancelled, by close())
        self._gap_check: asyncio.TimerHandle | None = None
        self.failure: RoomError | None = None
        self.closed = False

    # ------------------------------------------------------------------ public

    @property
    def last_seq(self) -> int:
        """Every event numbered up to this one has been seen."""
        return self._contig

    @property
    def connected(self) -> bool:
        return self._ws is not None and self._ready.is_set()

    def chat_log(self) -> list[tuple[int, str]]:
        """(seq, text) of every chat message known here, in order."""
        return [(seq, self.messages[seq].text) for seq in sorted(self.messages)]

    async def sign_in(self) -> None:
        page = await self.http.get("/login")
        found = re.search(r'name="csrf" value="([^"]+)"', page.text)
        if found is None:
            raise RoomError(f"no sign-in form at /login (HTTP {page.status_code})", status=page.status_code)
        r = await self.http.post("/login", data={"email": self.email, "password": self.password, "csrf": found.group(1)})
        if r.status_code != 303:
            raise RoomError(f"sign-in of {self.email} failed: HTTP {r.status_code}", status=r.status_code)
        self.signed_in = True

    async def room_token(self) -> str:
        r = await self.http.get(f"/chats/{self.chat_id}/room/token")
        if r.status_code >= 500:
            raise ConnectionError(f"no room token: HTTP {r.status_code}")  # the server's trouble: try again
        if r.status_code != 200:
            try:
                message = r.json()["error"]["message"]
            except (ValueError, KeyError, TypeError):
                message = r.text[:200]
            raise RoomError(f"no room token: HTTP {r.status_code}: {message}", status=r.status_code)
        token: str = r.json()["token"]
        return token

    def cookie_header(self) -> str:
        return "; ".join(f"{name}={value}" for name, value in self.http.cookies.items())

    async def open_socket(self, token: str, *, origin: str | None = None, send_origin: bool = True, cookie: bool = True) -> ClientConnection:
        """The raw room WebSocket (handshake only). A refused handshake raises websockets' InvalidStatus."""
        url = self.base_url.replace("http", "ws", 1) + f"/ws/rooms/{self.chat_id}?token={token}"
        headers = {"Cookie": self.cookie_header()} if cookie else {}
        kwargs: dict[str, Any] = {"local_addr": (self.local_address, 0)} if self.local_address else {}
        return await connect(url, origin=Origin(origin or self.origin) if send_origin else None, additional_headers=headers,
                             open_timeout=10, max_size=2**20, **kwargs)

    async def join(self, seconds: float = 15.0) -> None:
        """Signs in if needed and enters the room; returns after the welcome. Reconnects on its own later."""
        if not self.signed_in:
            await self.sign_in()
        self._run_task = asyncio.get_running_loop().create_task(self._run())
        self.spawn(self._resend_loop())
        ready = asyncio.get_running_loop().create_task(self._ready.wait())
        try:
            await asyncio.wait({ready, self._run_task}, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            ready.cancel()
        if self.failure is not None:
            raise self.failure
        if not self._ready.is_set():
            raise TimeoutError(f"{self.email}: no welcome within {seconds:g} s")

    async def send_chat(self, text: str, client_id: str | None = None) -> str:
        """Sends a chat message (kept until acknowledged, resent after a reconnect); returns its client id."""
        cid = client_id or secrets.token_hex(8)
        self.pending[cid] = text
        self.sent_at.setdefault(cid, time.monotonic())
        await self._send_chat_frame(cid, text)
        return cid

    async def wait_ack(self, client_id: str, seconds: float = 10.0) -> int:
        await until(lambda: client_id in self.acks, seconds, f"the ack of {client_id}")
        return self.acks[client_id]

    async def signal(self, to: str, data: dict[str, Any]) -> bool:
        """Sends a signal to one connection of the room; False if there is no socket right now."""
        return await self._send({"type": "signal", "to": to, "data": data})

    async def send(self, message: dict[str, Any]) -> bool:
        """Any other protocol message (typing, media, resume, ping)."""
        return await self._send(message)

    async def drop(self) -> None:
        """Loses the socket abruptly (no close frame), as a network failure would; the client reconnects."""
        ws = self._ws
        if ws is not None:
            ws.transport.abort()

    def spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def make_pc(self, link: PeerLink) -> RTCPeerConnection:
        pc = RTCPeerConnection(rtc_configuration(self.ice_servers, relay=self.relay))
        # An audio section too (received only), as the room page has: when this side offers, the page's later
        # offers (ICE restart, new tracks) then reuse its header extension ids instead of colliding with them.
        pc.addTransceiver("audio", direction="recvonly")
        if self.send_video:
            pc.addTrack(FrameTrack(*self.video_size))
        else:
            pc.addTransceiver("video", direction="recvonly")

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            link.consume(track)

        @pc.on("connectionstatechange")
        def on_state() -> None:
            link.on_state(pc)

        return pc

    async def close(self) -> None:
        self.closed = True
        if self._gap_check is not None:
            self._gap_check.cancel()
        ws = self._ws
        if ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(), 5)
        for task in [self._run_task, *self._tasks]:
            if task is not None and not task.done():
                task.cancel()
        for task in [self._run_task, *self._tasks]:
            if task is not None:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        links, self.links = list(self.links.values()), {}
        for link in links:
            await link.close()
        if self._closing:
            await asyncio.wait(set(self._closing), timeout=15)
        await self.http.aclose()

    async def __aenter__(self) -> RoomClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ------------------------------------------------------------------ the socket's life

    async def _run(self) -> None:
        delay = self.reconnect_delay
        while not self.closed:
            try:
                if await self._session():
                    delay = self.reconnect_delay
            except RoomError as err:
                self.failure = err
                return
            except InvalidStatus as err:
                status = err.response.status_code
                if status < 500:
                    self.failure = RoomError(f"the room refused the WebSocket: HTTP {status}", status=status)
                    return
                log.info("%s: the room's WebSocket answered HTTP %s; retrying", self.conn_id, status)
            except (OSError, WebSocketException, httpx.HTTPError, TimeoutError) as err:
                log.info("%s: room connection lost (%r); reconnecting", self.conn_id, err)
            if self.closed or not self.reconnect:
                return
            await asyncio.sleep(delay)
            delay = min(delay * 2, 3.0)

    async def _session(self) -> bool:
        """One socket from handshake to close; True if it got as far as the welcome."""
        token = await self.room_token()
        ws = await self.open_socket(token)
        welcomed = False
        code: int | None = None
        reason = ""
        try:
            hello: dict[str, Any] = {"type": "hello", "conn": self.conn_id}
            if self.welcomes:
                hello["last_seq"] = self._contig
            elif self.history:
                hello["last_seq"] = 0
            self._hello_seq = hello.get("last_seq", 0)
            await ws.send(json.dumps(hello))
            first = json.loads(await asyncio.wait_for(ws.recv(), HELLO_TIMEOUT))
            if first.get("type") != "welcome":
                raise RoomError(f"expected a welcome, got {first!r}")
            self._ws = ws
            welcomed = True
            await self._on_welcome(first)
            async for raw in ws:
                await self._on_frame(json.loads(raw))
            code, reason = ws.close_code, ws.close_reason or ""
        except ConnectionClosed as err:
            code, reason = (err.rcvd.code, err.rcvd.reason) if err.rcvd is not None else (None, "")
        finally:
            self._ws = None
            self._ready.clear()
            with contextlib.suppress(Exception):
                ws.transport.abort()
        self.close_codes.append(code)
        if code in TERMINAL_CLOSE and not self.closed:
            raise RoomError(f"the room closed the socket: {code} {reason}", code=code)
        return welcomed

    async def _send(self, message: dict[str, Any]) -> bool:
        ws = self._ws
        if ws is None:
            return False
        try:
            await ws.send(json.dumps(message))
        except ConnectionClosed:
            return False
        return True

    async def _send_chat_frame(self, cid: str, text: str) -> None:
        if await self._send({"type": "chat", "client_id": cid, "text": text}):
            self._last_sent[cid] = time.monotonic()

    async def _resend_loop(self) -> None:
        """Resends messages whose ack is overdue (rate-limited, or lost with a socket); the server dedupes."""
        while not self.closed:
            await asyncio.sleep(1.0)
            if not self.connected:
                continue
            now = time.monotonic()
            for cid, text in list(self.pending.items()):
                if now - self._last_sent.get(cid, 0.0) > RESEND_AFTER:
                    await self._send_chat_frame(cid, text)

    # ------------------------------------------------------------------ incoming frames

    def _see(self, seq: int) -> None:
        if seq <= self._contig or seq in self._above:
            return
        self._above.add(seq)
        while self._contig + 1 in self._above:
            self._contig += 1
            self._above.discard(self._contig)
        if self._above and self._gap_check is None:
            self._gap_check = asyncio.get_running_loop().call_later(GAP_WAIT, self._fill_gap, self._contig)

    def _fill_gap(self, contig_then: int) -> None:
        self._gap_check = None
        if self._above and self._contig == contig_then:
            self.spawn(self._send({"type": "resume", "after": self._contig}))
        if self._above:
            self._gap_check = asyncio.get_running_loop().call_later(GAP_WAIT, self._fill_gap, self._contig)

    async def _on_welcome(self, msg: dict[str, Any]) -> None:
        first = self.welcomes == 0
        self.welcomes += 1
        self.joined_at = time.monotonic()
        self.me, self.room = msg["you"], msg.get("room", {})
        self.user_id = self.me.get("user_id")
        if self._ice_override is None:
            self.ice_servers = list(msg.get("ice_servers", []))
        seq = int(msg["seq"])
        self.welcome_seq = seq
        if first and not self.history:
            self._contig = max(self._contig, seq - 1)
        self._see(seq)
        self.peers = {p["conn"]: p for p in msg.get("peers", []) if p["conn"] != self.conn_id}
        self._ready.set()
        if self.media:
            for conn in [c for c in self.links if c not in self.peers]:
                await self.links.pop(conn).close()
            for conn in self.peers:
                link = self._link(conn)
                if link.needs_offer:
                    link.enqueue("offer")
        for cid, text in list(self.pending.items()):
            await self._send_chat_frame(cid, text)

    def _link(self, conn: str) -> PeerLink:
        link = self.links.get(conn)
        if link is None:
            link = self.links[conn] = PeerLink(self, conn)
        return link

    async def _on_frame(self, msg: dict[str, Any]) -> None:
        kind = msg.get("type")
        if kind == "event":
            await self._on_event(msg)
        elif kind == "ack":
            cid, seq = str(msg["client_id"]), int(msg["seq"])
            text = self.pending.pop(cid, None)
            self.acks[cid] = seq
            if seq not in self.messages and text is not None:
                self.messages[seq] = ChatMessage(seq, self.user_id, text, cid, time.monotonic())
            self._see(seq)
        elif kind == "signal":
            if self.media:
                self._link(str(msg["from"])).enqueue("signal", msg.get("data", {}))
        elif kind == "error":
            self.errors.append(msg)
            if msg.get("code") in ("busy", "rate_limited") and str(msg.get("client_id")) in self.pending:
                # Nothing was stored: after one jittered pause the resend loop sends every unacknowledged line
                # again, oldest first (the server takes them only in that order).
                due = time.monotonic() - RESEND_AFTER + BUSY_PAUSE * (1 + random.random())
                for cid in self.pending:
                    self._last_sent[cid] = due

    async def _on_event(self, msg: dict[str, Any]) -> None:
        seq, kind = int(msg["seq"]), msg.get("kind")
        body: dict[str, Any] = msg.get("body") or {}
        author: dict[str, Any] = msg.get("author") or {}
        self._see(seq)
        if kind == "message":
            cid = msg.get("client_id")
            if seq not in self.messages:
                self.messages[seq] = ChatMessage(seq, author.get("id"), str(body.get("text", "")), cid, time.monotonic())
            if cid is not None and author.get("id") == self.user_id and cid in self.pending:
                del self.pending[cid]  # ours, stored before its ack was lost with a socket
                self.acks[cid] = seq
        elif kind == "presence" and seq <= self.welcome_seq:
            self._missed_presence(seq, body)
        elif kind == "presence":
            conn = str(body.get("conn", ""))
            if not conn or conn == self.conn_id or seq <= self._presence_seq.get(conn, 0):
                return
            self._presence_seq[conn] = seq
            if body.get("state") == "joined":
                self.peers[conn] = {k: body.get(k) for k in ("conn", "user_id", "name", "role")}
                if self.media:
                    link = self._link(conn)
                    if link.pc is not None and link.pc.connectionState in ("failed", "closed"):
                        link.enqueue("offer")
                    else:
                        asyncio.get_running_loop().call_later(self.offer_grace, link.enqueue, "offer_if_idle")
            else:
                self.peers.pop(conn, None)
                gone = self.links.pop(conn, None)
                if gone is not None:
                    task = asyncio.get_running_loop().create_task(gone.close())
                    self._closing.add(task)
                    task.add_done_callback(self._closing.discard)

    def _missed_presence(self, seq: int, body: dict[str, Any]) -> None:
        """A presence change replayed after a reconnect: if someone said we (or a peer) left, that call is gone."""
        if not self.media or self.welcomes <= 1 or seq <= self._hello_seq or body.get("state") != "left":
            return
        conn = str(body.get("conn", ""))
        stale = list(self.links.values()) if conn == self.conn_id else [self.links[conn]] if conn in self.links and conn in self.peers else []
        for link in stale:
            if link.created_at < (self.joined_at or 0):
                link.enqueue("offer")
