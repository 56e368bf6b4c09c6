"""The live-chat desk over real sockets on a real server: what each staff console and the candidate's chat receive when
colleagues join (visibly or not), take over, forward, invite and let offers run out, and what a console outside the
chat's desk can do with every frame type (nothing)."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import httpx
import orjson
import websockets
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.live import serve
from tests.web.conftest import FakeClock
from tests.web.test_livechat_desk import World, _ids_in, build_world
from tests.web.test_livechat_sockets import sign_in
from web.settings import Settings

NOW = dt.datetime(2026, 3, 20, 8, 0, tzinfo=dt.UTC)
Frame = dict[str, Any]


@contextmanager
def desk_node(db_url: str, clock: FakeClock) -> Iterator[str]:
    """One app node with the desk's timers on (offers run out by the clock the test moves)."""
    with serve(lambda base: Settings(database_url=db_url, secret_key="s", base_url=base, login_rate_per_minute=10_000, live_start_limit=10_000,
                                     desk_jobs=True), clock) as base:
        yield base


class Sock:
    """A socket and everything it has received."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.seen: list[Frame] = []

    async def send(self, frame: Frame) -> None:
        await self.ws.send(orjson.dumps(frame).decode())

    async def until(self, pred: Callable[[Frame], bool], seconds: float = 15) -> list[Frame]:
        got: list[Frame] = []
        async with asyncio.timeout(seconds):
            while True:
                frame = orjson.loads(await self.ws.recv())
                self.seen.append(frame)
                got.append(frame)
                if pred(frame):
                    return got

    async def sync(self) -> list[Frame]:
        """A ping answered: whatever was sent to this socket before it has arrived."""
        await self.send({"type": "ping"})
        return await self.until(lambda f: f["type"] == "pong")


@asynccontextmanager
async def console(base: str, who: str) -> AsyncIterator[Sock]:
    """A staff member's console: signed in through the login form, the socket opened as the page does."""
    async with httpx.AsyncClient(base_url=base, timeout=30) as browser:
        await sign_in(browser, f"{who}@example.test")
        cookie = "; ".join(f"{k}={v}" for k, v in browser.cookies.items())
        url = base.replace("http://", "ws://") + "/ws/live/console"
        async with websockets.connect(url, origin=base, additional_headers={"Cookie": cookie}) as ws:  # type: ignore[arg-type]
            sock = Sock(ws)
            await sock.send({"type": "hello", "v": 1, "conn": f"{who}-{uuid.uuid4().hex[:8]}"})
            await sock.until(lambda f: f["type"] == "welcome")
            yield sock


@asynccontextmanager
async def candidate(base: str, chat_id: int, cand: dict[str, str]) -> AsyncIterator[Sock]:
    url = base.replace("http://", "ws://") + "/ws/live"
    async with websockets.connect(url, origin=base) as ws:  # type: ignore[arg-type]
        sock = Sock(ws)
        token = cand["Authorization"].removeprefix("Bearer ")
        await sock.send({"type": "hello", "v": 1, "conn": uuid.uuid4().hex, "chat": chat_id, "token": token, "last_seq": None})
        await sock.until(lambda f: f["type"] == "welcome")
        yield sock


async def watch(sock: Sock, chat_id: int) -> None:
    await sock.send({"type": "watch", "chat": chat_id, "last_seq": None})
    await sock.until(lambda f: f["type"] == "watching" and f["chat"] == chat_id)


def notice(text: str) -> Callable[[Frame], bool]:
    return lambda f: f["type"] == "event" and f["body"].get("text") == text


@asynccontextmanager
async def world(db_url: str, engine: AsyncEngine) -> AsyncIterator[tuple[str, World]]:
    clock = FakeClock(NOW)
    with desk_node(db_url, clock) as base:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            yield base, await build_world(client, engine, clock, None)


# --------------------------------------------------------------------------- take over


async def test_the_previous_owners_console_loses_a_chat_taken_over(db_url: str, engine: AsyncEngine) -> None:
    async with world(db_url, engine) as (base, w):
        chat_id, cand = await w.taken_by("alice")
        async with console(base, "alice") as alice, console(base, "bob") as bob, candidate(base, chat_id, cand) as cara:
            await watch(alice, chat_id)
            r = await w.op("bob", chat_id, "take-over", {"owner_id": w.id["alice"]})
            assert r.status_code == 200, r.text
            gone = (await alice.until(lambda f: f["type"] == "unwatched"))[-1]
            assert gone["chat"] == chat_id
            await cara.until(notice("Bob took over the chat"))
            status = (await cara.until(lambda f: f["type"] == "status"))[-1]
            assert status["status"] == "active" and status["recruiter"]["name"] == "Bob"

            await watch(bob, chat_id)
            await cara.send({"type": "chat", "client_id": "c1", "text": "Hello Bob"})
            await bob.until(lambda f: f["type"] == "event" and f["body"].get("text") == "Hello Bob")
            after = await alice.sync()
            assert not [f for f in after if f.get("chat") == chat_id and f["type"] in ("event", "typing", "status")]
            await alice.send({"type": "chat", "chat": chat_id, "client_id": "a1", "text": "Still me"})
            refused = (await alice.until(lambda f: f["type"] == "error"))[-1]
            assert refused["code"] == "chat_not_found" and refused["client_id"] == "a1"
            await alice.send({"type": "watch", "chat": chat_id, "last_seq": None})
            assert (await alice.until(lambda f: f["type"] in ("error", "watching")))[-1]["type"] == "error"
        assert "Still me" not in await w.texts(chat_id, cand)


# --------------------------------------------------------------------------- invisible


async def test_an_invisible_monitor_is_never_seen_by_the_candidate(db_url: str, engine: AsyncEngine) -> None:
    async with world(db_url, engine) as (base, w):
        chat_id, cand = await w.taken_by("alice")
        async with console(base, "alice") as alice, console(base, "bob") as bob, candidate(base, chat_id, cand) as cara:
            await watch(alice, chat_id)
            await w.ok("bob", chat_id, "join", {"invisible": True})
            await bob.until(lambda f: f["type"] == "members" and f["chat"] == chat_id)
            # Alice's console re-checks her access on the chat's status change; her typing counts again once it has.
            await alice.until(lambda f: f["type"] == "status" and f["chat"] == chat_id)
            await watch(bob, chat_id)  # a monitor reads along
            await cara.send({"type": "chat", "client_id": "c1", "text": "Is it remote?"})
            await bob.until(lambda f: f["type"] == "event" and f["body"].get("text") == "Is it remote?")

            await bob.send({"type": "typing", "chat": chat_id, "active": True})
            await bob.send({"type": "chat", "chat": chat_id, "client_id": "b1", "text": "psst"})
            refused = (await bob.until(lambda f: f["type"] == "error"))[-1]
            assert refused["code"] == "invisible" and refused["client_id"] == "b1"
            await alice.send({"type": "typing", "chat": chat_id, "active": True})
            typing = (await cara.until(lambda f: f["type"] == "typing"))[-1]
            assert typing["name"] == "Alice"
            await cara.sync()
            assert "Bob" not in orjson.dumps(cara.seen).decode() and "psst" not in orjson.dumps(cara.seen).decode()
            assert all((f.get("author") or {}).get("id") != w.id["bob"] for f in cara.seen)
            assert all(v != w.id["bob"] for f in cara.seen for path, v in _ids_in(f) if not path.startswith(("chat", "job")))
            seen = await w.seen_by_candidate(chat_id, cand)
            assert "Bob" not in str(seen)

            # Joining visibly: now the candidate is told, and Bob's typing shows.
            await w.ok("bob", chat_id, "join", {"invisible": False})
            await cara.until(notice("Bob joined the chat"))
            await bob.until(lambda f: f["type"] == "status" and f["chat"] == chat_id)  # access re-checked: still his to see
            await bob.send({"type": "typing", "chat": chat_id, "active": True})
            typing = (await cara.until(lambda f: f["type"] == "typing"))[-1]
            assert typing["name"] == "Bob"
            await bob.send({"type": "chat", "chat": chat_id, "client_id": "b2", "text": "Yes, fully remote."})
            await bob.until(lambda f: f["type"] == "ack" and f["client_id"] == "b2")
            line = (await cara.until(notice("Yes, fully remote.")))[-1]
            assert line["author"]["name"] == "Bob"


# --------------------------------------------------------------------------- forward


async def test_a_forward_is_offered_on_the_console_and_moves_on_when_nobody_answers(db_url: str, engine: AsyncEngine) -> None:
    async with world(db_url, engine) as (base, w):
        chat_id, cand = await w.taken_by("alice")
        async with console(base, "alice") as alice, console(base, "bob") as bob, console(base, "cleo") as cleo, \
                candidate(base, chat_id, cand) as cara:
            await watch(alice, chat_id)
            r = await w.op("alice", chat_id, "forward", {"user_id": w.id["bob"], "note": "Visa question; she prefers English."})
            assert r.status_code == 200, r.text
            offer = (await bob.until(lambda f: f["type"] == "offer"))[-1]
            assert (offer["chat"], offer["reason"], offer["note"], offer["by"]["name"]) == \
                (chat_id, "forward", "Visa question; she prefers English.", "Alice")
            assert (await alice.until(lambda f: f["type"] == "unwatched"))[-1]["chat"] == chat_id
            await cara.until(notice("Alice is transferring you to Bob. Please stay in the chat."))
            assert (await cara.until(lambda f: f["type"] == "status"))[-1]["status"] == "transfer"

            # "Please stay in the chat": the candidate can keep writing while the chat changes hands.
            await cara.send({"type": "chat", "client_id": "c1", "text": "OK, I'm here"})
            answer = (await cara.until(lambda f: f["type"] in ("ack", "error")))[-1]
            assert answer["type"] == "ack", answer

            # Bob doesn't answer: once the time is up, the offer leaves his screen and goes to the next person.
            w.clock.now = dt.datetime.fromisoformat(offer["expires_at"]) + dt.timedelta(seconds=1)
            gone = (await bob.until(lambda f: f["type"] == "offer_gone"))[-1]
            assert gone == {"type": "offer_gone", "chat": chat_id, "outcome": "expired"}
            nxt = (await cleo.until(lambda f: f["type"] == "offer"))[-1]
            assert nxt["chat"] == chat_id and nxt["note"] == "Visa question; she prefers English."
            r = await w.op("cleo", chat_id, "accept")
            assert r.status_code == 200, r.text
            status = (await cara.until(lambda f: f["type"] == "status" and f["status"] == "active"))[-1]
            assert status["recruiter"]["name"] == "Cleo"
            assert (await w.op("bob", chat_id, "accept")).status_code in (404, 409)
        assert "OK, I'm here" in await w.texts(chat_id, cand)


async def test_a_team_forward_accepted_on_the_console(db_url: str, engine: AsyncEngine) -> None:
    async with world(db_url, engine) as (base, w):
        team = await w.team("Visas", ["bob", "cleo"])
        chat_id, cand = await w.taken_by("alice")
        async with console(base, "bob") as bob, console(base, "cleo") as cleo, candidate(base, chat_id, cand) as cara:
            assert (await w.op("alice", chat_id, "forward", {"team_id": team, "note": "Visas"})).status_code == 200
            await cara.until(notice("Alice is transferring you to the Visas team. Please stay in the chat."))
            first, other = await w.offered_first("bob", "cleo")
            sock = bob if first == "bob" else cleo
            offer = (await sock.until(lambda f: f["type"] == "offer"))[-1]
            assert offer["label"] == "Visas team" and offer["note"] == "Visas"
            await watch(sock, chat_id)  # the one offered may read the chat before accepting
            r = await w.op(first, chat_id, "accept")
            assert r.status_code == 200 and r.json()["chat"]["recruiter"]["name"] == first.title()
            assert (await sock.until(lambda f: f["type"] == "offer_gone"))[-1]["outcome"] == "accepted"
            await cara.until(notice(f"{first.title()} joined the chat"))
            await sock.send({"type": "chat", "chat": chat_id, "client_id": "x1", "text": "Hi, visas are my thing."})
            await sock.until(lambda f: f["type"] == "ack" and f["client_id"] == "x1")
            await cara.until(notice("Hi, visas are my thing."))


# --------------------------------------------------------------------------- invite


async def test_the_inviter_hears_of_a_declined_or_expired_invitation(db_url: str, engine: AsyncEngine) -> None:
    async with world(db_url, engine) as (base, w):
        chat_id, cand = await w.taken_by("alice")
        async with console(base, "alice") as alice, console(base, "bob") as bob, console(base, "cleo") as cleo:
            assert (await w.op("alice", chat_id, "invite", {"user_id": w.id["bob"], "note": "Stack question"})).status_code == 200
            offer = (await bob.until(lambda f: f["type"] == "offer"))[-1]
            assert offer["reason"] == "invite" and offer["note"] == "Stack question" and offer["by"]["name"] == "Alice"
            assert (await w.op("bob", chat_id, "decline")).status_code == 200
            assert (await bob.until(lambda f: f["type"] == "offer_gone"))[-1]["outcome"] == "declined"
            assert (await alice.until(lambda f: f["type"] == "members"))[-1]["chat"] == chat_id
            assert (await w.view("alice", chat_id)).json()["members"] == []

            assert (await w.op("alice", chat_id, "invite", {"user_id": w.id["cleo"]})).status_code == 200
            offer = (await cleo.until(lambda f: f["type"] == "offer"))[-1]
            w.clock.now = dt.datetime.fromisoformat(offer["expires_at"]) + dt.timedelta(seconds=1)
            assert (await cleo.until(lambda f: f["type"] == "offer_gone"))[-1]["outcome"] == "expired"
            assert (await alice.until(lambda f: f["type"] == "members"))[-1]["chat"] == chat_id
            assert (await w.view("alice", chat_id)).json()["members"] == []
            texts = await w.texts(chat_id, cand)
            assert "Bob joined the chat" not in texts and "Cleo joined the chat" not in texts


# --------------------------------------------------------------------------- outsiders


async def test_a_console_outside_the_chats_desk_gets_nothing_of_it(db_url: str, engine: AsyncEngine) -> None:
    async with world(db_url, engine) as (base, w):
        chat_id, cand = await w.taken_by("alice")
        async with console(base, "alice") as alice, console(base, "olga") as olga, console(base, "jon") as jon, \
                candidate(base, chat_id, cand) as cara:
            await watch(alice, chat_id)
            for who, sock in (("olga", olga), ("jon", jon)):
                await sock.send({"type": "watch", "chat": chat_id, "last_seq": None})
                err = (await sock.until(lambda f: f["type"] in ("error", "watching")))[-1]
                assert err["type"] == "error" and err["code"] == "chat_not_found", (who, err)
                await sock.send({"type": "chat", "chat": chat_id, "client_id": f"{who}-1", "text": f"from {who}"})
                err = (await sock.until(lambda f: f["type"] == "error"))[-1]
                assert err["code"] == "chat_not_found" and err["client_id"] == f"{who}-1"
                await sock.send({"type": "typing", "chat": chat_id, "active": True})
                await sock.send({"type": "unwatch", "chat": chat_id})
                await sock.send({"type": "heartbeat"})
                await sock.until(lambda f: f["type"] == "pong")
                await sock.sync()
            # The chat goes on: the candidate and Alice talk, and type.
            await cara.send({"type": "chat", "client_id": "c1", "text": "Anyone there?"})
            await alice.until(lambda f: f["type"] == "event" and f["body"].get("text") == "Anyone there?")
            await cara.send({"type": "typing", "active": True})
            await alice.until(lambda f: f["type"] == "typing")
            await alice.send({"type": "typing", "chat": chat_id, "active": True})
            await cara.until(lambda f: f["type"] == "typing" and f["name"] == "Alice")
            await alice.send({"type": "chat", "chat": chat_id, "client_id": "a1", "text": "Yes!"})
            await cara.until(notice("Yes!"))
            await cara.sync()
            for sock in (olga, jon):
                await sock.sync()
                assert not [f for f in sock.seen if f.get("chat") == chat_id and f["type"] not in ("error",)], sock.seen
            typed = [f["name"] for f in cara.seen if f["type"] == "typing"]
            assert set(typed) == {"Alice"}
            assert "Olga" not in orjson.dumps(cara.seen).decode() and "Jon" not in orjson.dumps(cara.seen).decode()
        texts = await w.texts(chat_id, cand)
        assert "from olga" not in texts and "from jon" not in texts
