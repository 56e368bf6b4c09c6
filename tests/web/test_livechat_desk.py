"""The live-chat desk's operations through the JSON API, as the staff console and the candidate's chat drive them: join
(visibly or not), take over, forward to a person or a team, invite, leave (the last one out leaves a ticket), ratings,
offers that run out, automatic resolve, who may do what, and two people acting on one chat at the same moment."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette

from scheduling.db import create_sessionmaker
from scheduling.livechat.desk_models import ChatMember, Ticket
from scheduling.livechat.models import Agent, LiveChat
from scheduling.models import OutboxMessage
from tests.web.conftest import FakeClock, token
from tests.web.test_api_flow import setup_event
from tests.web.test_livechat_api import JOB, _candidate
from web.app import create_app
from web.livechat import desk_api
from web.settings import Settings

PW = "correct horse battery"
Headers = dict[str, str]

# The desk's staff: Alice, Bob and Cleo answer the job req's chats; Jon answers another job req; Olga recruits for another
# company at the same event. Rec created the job req (so manages it) but doesn't answer its chats.
DESK = ("alice", "bob", "cleo")


@dataclass
class World:
    client: httpx.AsyncClient
    app: Any  # the Starlette app when it runs in this process (background jobs are called directly)
    engine: AsyncEngine
    clock: FakeClock
    event_id: int
    job_id: int
    other_job_id: int
    q: list[int]
    h: dict[str, Headers] = field(default_factory=dict)
    id: dict[str, int] = field(default_factory=dict)

    # ------------------------------------------------------------------ candidate side

    async def start(self, name: str = "Cara") -> tuple[int, Headers]:
        r = await self.client.post(f"/api/v1/job-reqs/{self.job_id}/chats", json=_candidate({"q": self.q}, name))
        assert r.status_code == 201 and r.json()["status"] == "waiting", r.text
        return r.json()["chat_id"], {"Authorization": f"Bearer {r.json()['token']}"}

    async def say(self, chat_id: int, cand: Headers, text: str, client_id: str) -> None:
        r = await self.client.post(f"/api/v1/chats/{chat_id}/messages", headers=cand, json={"client_id": client_id, "text": text})
        assert r.status_code == 201, r.text

    async def transcript(self, chat_id: int, cand: Headers) -> list[dict[str, Any]]:
        r = await self.client.get(f"/api/v1/chats/{chat_id}/messages", headers=cand)
        assert r.status_code == 200, r.text
        return list(r.json()["messages"])

    async def texts(self, chat_id: int, cand: Headers) -> list[str]:
        return [m["body"].get("text", "") for m in await self.transcript(chat_id, cand)]

    async def seen_by_candidate(self, chat_id: int, cand: Headers) -> dict[str, Any]:
        r = await self.client.get(f"/api/v1/chats/{chat_id}", headers=cand)
        assert r.status_code == 200, r.text
        return dict(r.json())

    # ------------------------------------------------------------------ staff side

    async def op(self, who: str, chat_id: int, what: str, body: dict[str, Any] | None = None) -> httpx.Response:
        return await self.client.post(f"/api/v1/live-chats/{chat_id}/{what}", headers=self.h[who], json=body or {})

    async def ok(self, who: str, chat_id: int, what: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        r = await self.op(who, chat_id, what, body)
        assert r.status_code == 200, (who, what, r.text)
        return dict(r.json()["chat"])

    async def taken_by(self, who: str, name: str = "Cara") -> tuple[int, Headers]:
        chat_id, cand = await self.start(name)
        r = await self.client.post(f"/api/v1/live-chats/{chat_id}/take", headers=self.h[who])
        assert r.status_code == 200, r.text
        return chat_id, cand

    async def view(self, who: str, chat_id: int) -> httpx.Response:
        return await self.client.get(f"/api/v1/live-chats/{chat_id}", headers=self.h[who])

    async def write(self, who: str, chat_id: int, text: str, client_id: str) -> httpx.Response:
        return await self.client.post(f"/api/v1/live-chats/{chat_id}/messages", headers=self.h[who], json={"client_id": client_id, "text": text})

    async def offers(self, who: str) -> list[dict[str, Any]]:
        r = await self.client.get("/api/v1/live-offers", headers=self.h[who])
        assert r.status_code == 200, r.text
        return list(r.json())

    async def offered_first(self, one: str, two: str) -> tuple[str, str]:
        """Of two people, (the one a chat is offered to now, the other)."""
        return (one, two) if await self.offers(one) else (two, one)

    async def team(self, name: str, members: list[str]) -> int:
        r = await self.client.post(f"/api/v1/events/{self.event_id}/teams", headers=self.h["admin"],
                                   json={"name": name, "member_ids": [self.id[m] for m in members]})
        assert r.status_code == 201, r.text
        return int(r.json()["id"])

    async def online(self, *who: str) -> None:
        """The console's heartbeat, as an open console keeps sending."""
        for w in who:
            r = await self.client.put("/api/v1/live-agent", headers=self.h[w], json={"available": True})
            assert r.status_code == 200, r.text

    # ------------------------------------------------------------------ the database's truth

    async def seats(self) -> dict[str, int]:
        names = {v: k for k, v in self.id.items()}
        async with create_sessionmaker(self.engine)() as s:
            rows = (await s.execute(select(Agent.user_id, Agent.active_chats))).all()
        return {names.get(u, str(u)): n for u, n in rows}

    async def chat_row(self, chat_id: int) -> LiveChat:
        async with create_sessionmaker(self.engine)() as s:
            chat = await s.get(LiveChat, chat_id)
            assert chat is not None
            return chat

    async def seats_match_ownership(self) -> None:
        """Every seat counts exactly the active chats its person owns."""
        async with create_sessionmaker(self.engine)() as s:
            owned = dict((await s.execute(select(LiveChat.recruiter_id, func.count()).where(LiveChat.status == "active")
                                          .group_by(LiveChat.recruiter_id))).all())
            seats = dict((await s.execute(select(Agent.user_id, Agent.active_chats))).all())
        assert {u: n for u, n in seats.items() if n} == owned, (seats, owned)

    async def expire_offers(self) -> int:
        return await desk_api.expire_offers(self.app.state.res)

    async def resolve_idle(self) -> int:
        return await desk_api.resolve_idle(self.app.state.res)


@pytest.fixture
async def app_client(db_url: str, clock: FakeClock, engine: AsyncEngine) -> AsyncIterator[tuple[Starlette, httpx.AsyncClient]]:
    # After `engine`: the app (and what it runs after responses) stops before the engine fixture truncates PostgreSQL.
    settings = Settings(database_url=db_url, secret_key="test-secret", base_url="http://testserver", login_rate_per_minute=10_000,
                        live_start_limit=10_000)
    app = create_app(settings, clock=clock, background=False)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
            yield app, c


async def _participant(client: httpx.AsyncClient, admin: Headers, event_id: int, email: str, name: str, company_id: int) -> int:
    r = await client.post(f"/api/v1/events/{event_id}/participants", headers=admin, json={
        "email": email, "name": name, "role": "recruiter", "company_id": company_id, "password": PW})
    assert r.status_code == 201, r.text
    return int(r.json()["user_id"])


@pytest.fixture
async def w(app_client: tuple[Starlette, httpx.AsyncClient], engine: AsyncEngine, clock: FakeClock) -> World:
    app, client = app_client
    return await build_world(client, engine, clock, app)


async def build_world(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock, app: Any) -> World:
    """The event, its two job reqs and the desk's people, made through the API (as in production)."""
    base: dict[str, Any] = await setup_event(client, engine, clock.now)
    event_id, admin = base["event_id"], base["admin"]
    r = await client.post(f"/api/v1/events/{event_id}/companies", headers=admin, json={"name": "Globex", "website": "https://globex.example"})
    assert r.status_code == 201, r.text
    globex = r.json()["id"]
    rec = base["rec"]
    r = await client.post("/api/v1/job-reqs", headers=rec, json={**JOB, "event_id": event_id})
    assert r.status_code == 201, r.text
    job = r.json()
    r = await client.post("/api/v1/job-reqs", headers=rec, json={**JOB, "title": "Data Analyst", "event_id": event_id})
    assert r.status_code == 201, r.text
    other = r.json()
    world = World(client, app, engine, clock, event_id, job["id"], other["id"], [q["id"] for q in job["questions"]])
    world.h.update(admin=admin, rec=rec, tal=base["tal"])
    world.id.update(rec=base["ids"]["rec@example.test"], tal=base["ids"]["tal@example.test"])
    for name, company in (("alice", base["company_id"]), ("bob", base["company_id"]), ("cleo", base["company_id"]),
                          ("jon", base["company_id"]), ("olga", globex)):
        world.id[name] = await _participant(client, admin, event_id, f"{name}@example.test", name.title(), company)
        world.h[name] = await token(client, f"{name}@example.test")
    for name, job_id in (("alice", job["id"]), ("bob", job["id"]), ("cleo", job["id"]), ("jon", other["id"])):
        r = await client.post(f"/api/v1/job-reqs/{job_id}/assignees", headers=rec, json={"user_id": world.id[name]})
        assert r.status_code == 201, r.text
    for name in (*DESK, "jon", "olga"):
        r = await client.put("/api/v1/live-agent", headers=world.h[name], json={"available": True, "capacity": 3})
        assert r.status_code == 200, r.text
    return world


# --------------------------------------------------------------------------- 1. join visibly


async def test_joining_visibly_is_announced_and_the_joiner_answers_too(w: World) -> None:
    chat_id, cand = await w.taken_by("alice")
    view = await w.ok("bob", chat_id, "join", {"invisible": False})
    assert view["you"] == "visible" and [m["name"] for m in view["members"]] == ["Bob"]
    assert view["recruiter"]["name"] == "Alice"  # Alice still has the chat
    assert "Bob joined the chat" in await w.texts(chat_id, cand)

    r = await w.write("bob", chat_id, "Hi Cara, I run the platform team.", "b1")
    assert r.status_code == 201, r.text
    line = next(m for m in await w.transcript(chat_id, cand) if m["body"].get("text") == "Hi Cara, I run the platform team.")
    assert line["kind"] == "message" and line["author"]["name"] == "Bob" and line["author"]["role"] == "recruiter"
    assert (await w.seen_by_candidate(chat_id, cand))["recruiter"]["name"] == "Alice"
    assert (await w.seats())["bob"] == 0  # joining takes no seat; only owning does

    r = await w.op("bob", chat_id, "join", {"invisible": False})
    assert r.status_code == 409 and r.json()["error"]["code"] == "already_in_chat"
    r = await w.op("alice", chat_id, "join", {"invisible": False})
    assert r.status_code == 409  # the owner is in it already


# --------------------------------------------------------------------------- 2. join invisibly


def _ids_in(value: Any, path: str = "") -> list[tuple[str, Any]]:
    """Every (path, value) of a key that names an id, anywhere in a JSON value."""
    out: list[tuple[str, Any]] = []
    if isinstance(value, dict):
        for k, v in value.items():
            here = f"{path}.{k}" if path else k
            if k == "id" or k.endswith("_id"):
                out.append((here, v))
            out += _ids_in(v, here)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _ids_in(v, f"{path}[{i}]")
    return out


async def test_an_invisible_monitor_reads_along_unseen_and_cannot_write(w: World) -> None:
    chat_id, cand = await w.taken_by("alice")
    await w.say(chat_id, cand, "Is the role remote?", "c1")
    before = await w.texts(chat_id, cand)
    view = await w.ok("bob", chat_id, "join", {"invisible": True})
    assert view["you"] == "invisible"
    assert await w.texts(chat_id, cand) == before  # nothing at all appears for the candidate

    seen = await w.seen_by_candidate(chat_id, cand)
    assert "Bob" not in str(seen)
    assert all(v != w.id["bob"] for path, v in _ids_in(seen) if path not in ("id", "job.id"))
    assert all((m["author"] or {}).get("id") != w.id["bob"] for m in await w.transcript(chat_id, cand))

    r = await w.write("bob", chat_id, "psst", "b1")
    assert r.status_code == 409 and r.json()["error"]["code"] == "invisible"
    assert "psst" not in await w.texts(chat_id, cand)
    r = await w.client.get(f"/api/v1/live-chats/{chat_id}/messages", headers=w.h["bob"])
    assert r.status_code == 200 and "Is the role remote?" in [m["body"].get("text") for m in r.json()["messages"]]
    r = await w.op("bob", chat_id, "ask-rating")
    assert r.status_code in (403, 409)  # an invisible monitor doesn't speak to the candidate, not even through the bot
    assert (await w.seen_by_candidate(chat_id, cand))["rating"] is None

    # Then Bob joins visibly: now the candidate is told, and Bob may write.
    view = await w.ok("bob", chat_id, "join", {"invisible": False})
    assert view["you"] == "visible"
    assert "Bob joined the chat" in await w.texts(chat_id, cand)
    assert (await w.write("bob", chat_id, "Hello!", "b2")).status_code == 201
    r = await w.op("bob", chat_id, "join", {"invisible": True})
    assert r.status_code == 409  # no going back to invisible once the candidate has been told


async def test_an_invisible_monitor_may_take_the_chat_over(w: World) -> None:
    chat_id, cand = await w.taken_by("alice")
    await w.ok("cleo", chat_id, "join", {"invisible": True})
    view = await w.ok("cleo", chat_id, "take-over")
    assert view["you"] == "owner" and view["members"] == []
    texts = await w.texts(chat_id, cand)
    assert "Cleo took over the chat" in texts and "Cleo joined the chat" not in texts
    assert (await w.write("cleo", chat_id, "I'll take it from here.", "c1")).status_code == 201


# --------------------------------------------------------------------------- 3. take over


async def test_taking_over_moves_the_chat_and_the_seat(w: World) -> None:
    chat_id, cand = await w.taken_by("alice")
    assert (await w.seats())["alice"] == 1
    view = await w.ok("bob", chat_id, "take-over")
    assert view["recruiter"]["name"] == "Bob" and view["you"] == "owner"
    r = await w.view("bob", chat_id)
    assert r.status_code == 200 and r.json()["recruiter"]["id"] == w.id["bob"]
    seats = await w.seats()
    assert seats["alice"] == 0 and seats["bob"] == 1
    assert "Bob took over the chat" in await w.texts(chat_id, cand)
    assert (await w.seen_by_candidate(chat_id, cand))["recruiter"]["name"] == "Bob"

    # Alice is out of it: she can neither write nor read (an unknown chat to her now).
    r = await w.write("alice", chat_id, "Still me", "a1")
    assert r.status_code in (404, 409), r.text
    assert "Still me" not in await w.texts(chat_id, cand)
    assert (await w.view("alice", chat_id)).status_code == 404
    assert (await w.client.get(f"/api/v1/live-chats/{chat_id}/messages", headers=w.h["alice"])).status_code == 404
    r = await w.op("bob", chat_id, "take-over")
    assert r.status_code == 409 and r.json()["error"]["code"] == "already_in_chat"
    await w.seats_match_ownership()


async def test_taking_over_needs_a_free_seat(w: World) -> None:
    r = await w.client.put("/api/v1/live-agent", headers=w.h["bob"], json={"capacity": 1})
    assert r.status_code == 200
    await w.taken_by("bob", "Ann")
    chat_id, cand = await w.taken_by("alice", "Ben")
    r = await w.op("bob", chat_id, "take-over")
    assert r.status_code == 409 and r.json()["error"]["code"] == "at_capacity"
    assert (await w.seen_by_candidate(chat_id, cand))["recruiter"]["name"] == "Alice"
    assert not any("took over" in t for t in await w.texts(chat_id, cand))
    await w.seats_match_ownership()


# --------------------------------------------------------------------------- 4. forward


async def test_forwarding_to_a_person_with_a_note(w: World) -> None:
    chat_id, cand = await w.taken_by("alice")
    r = await w.op("alice", chat_id, "forward", {"user_id": w.id["bob"], "note": "Asks about visas; knows Go."})
    assert r.status_code == 200, r.text
    assert r.json()["chat"]["status"] == "transfer"
    assert "Alice is transferring you to Bob. Please stay in the chat." in await w.texts(chat_id, cand)
    seen = await w.seen_by_candidate(chat_id, cand)
    assert seen["status"] == "transfer" and seen["recruiter"] is None
    assert (await w.seats())["alice"] == 0  # the seat came free at once

    [offer] = await w.offers("bob")
    assert offer["chat"] == chat_id and offer["reason"] == "forward" and offer["note"] == "Asks about visas; knows Go."
    assert offer["by"]["name"] == "Alice"
    # While it is offered, Bob can read what he is asked to take; Alice can't any more.
    assert (await w.view("bob", chat_id)).json()["forwarded"]["note"] == "Asks about visas; knows Go."
    assert (await w.view("alice", chat_id)).status_code == 404
    assert (await w.write("alice", chat_id, "one more thing", "a1")).status_code in (404, 409)
    r = await w.client.post(f"/api/v1/live-chats/{chat_id}/take", headers=w.h["cleo"])
    assert r.status_code in (404, 409)  # sent to Bob: nobody else snatches it

    view = await w.ok("bob", chat_id, "accept")
    assert view["status"] == "active" and view["recruiter"]["name"] == "Bob"
    assert "Bob joined the chat" in await w.texts(chat_id, cand)
    seen = await w.seen_by_candidate(chat_id, cand)
    assert seen["status"] == "active" and seen["recruiter"]["name"] == "Bob"
    assert await w.offers("bob") == []
    seats = await w.seats()
    assert seats["alice"] == 0 and seats["bob"] == 1
    assert (await w.view("alice", chat_id)).status_code == 404
    assert (await w.write("bob", chat_id, "Hi, Bob here", "b1")).status_code == 201
    await w.seats_match_ownership()


async def test_a_person_forward_nobody_answers_goes_back_to_the_chats_own_queue(w: World) -> None:
    chat_id, cand = await w.taken_by("alice")
    r = await w.op("alice", chat_id, "forward", {"user_id": w.id["bob"], "note": "For you"})
    assert r.status_code == 200, r.text
    [offer] = await w.offers("bob")
    assert await w.expire_offers() == 0  # not due yet
    w.clock.now = dt.datetime.fromisoformat(offer["expires_at"]) + dt.timedelta(seconds=1)
    await w.online(*DESK)
    assert await w.expire_offers() == 1
    assert await w.offers("bob") == []
    r = await w.op("bob", chat_id, "accept")
    assert r.status_code in (404, 409) and "chat" not in r.json()  # too late
    chat = await w.chat_row(chat_id)
    assert chat.queue == f"job:{w.job_id}" and chat.status == "transfer" and chat.recruiter_id is None
    # Back in its own queue it is offered to the next free person of that queue (not Bob again), with Alice's note.
    assert chat.offered_to_id in (w.id["alice"], w.id["cleo"])
    [again] = await w.offers("alice" if chat.offered_to_id == w.id["alice"] else "cleo")
    assert again["chat"] == chat_id and again["note"] == "For you" and again["by"]["name"] == "Alice"
    assert (await w.seen_by_candidate(chat_id, cand))["status"] == "transfer"
    await w.seats_match_ownership()


async def test_forwarding_to_a_team_offers_its_members_in_turn(w: World) -> None:
    team = await w.team("Visas", ["bob", "cleo"])
    chat_id, cand = await w.taken_by("alice")
    r = await w.op("alice", chat_id, "forward", {"team_id": team, "note": "Visa question"})
    assert r.status_code == 200, r.text
    assert "Alice is transferring you to the Visas team. Please stay in the chat." in await w.texts(chat_id, cand)
    assert (await w.seen_by_candidate(chat_id, cand))["status"] == "transfer"
    first, second = await w.offered_first("bob", "cleo")
    [offer] = await w.offers(first)
    assert offer["note"] == "Visa question" and offer["label"] == "Visas team"
    assert await w.offers(second) == []

    w.clock.now = dt.datetime.fromisoformat(offer["expires_at"]) + dt.timedelta(seconds=1)
    await w.online(*DESK)
    assert await w.expire_offers() == 1
    assert await w.offers(first) == []
    [moved] = await w.offers(second)
    assert moved["chat"] == chat_id and moved["note"] == "Visa question"

    view = await w.ok(second, chat_id, "accept")
    assert view["recruiter"]["name"] == second.title() and view["team"]["name"] == "Visas"
    assert f"{second.title()} joined the chat" in await w.texts(chat_id, cand)
    assert (await w.view("alice", chat_id)).status_code == 404
    await w.seats_match_ownership()


async def test_declining_a_forward_passes_it_on(w: World) -> None:
    team = await w.team("Visas", ["bob", "cleo"])
    chat_id, _ = await w.taken_by("alice")
    assert (await w.op("alice", chat_id, "forward", {"team_id": team})).status_code == 200
    first, second = await w.offered_first("bob", "cleo")
    assert (await w.op(first, chat_id, "decline")).status_code == 200
    assert await w.offers(first) == [] and [o["chat"] for o in await w.offers(second)] == [chat_id]


async def test_a_chat_isnt_forwarded_to_a_team_nobody_of_which_is_online(w: World) -> None:
    team = await w.team("Night shift", ["cleo"])
    r = await w.client.put("/api/v1/live-agent", headers=w.h["cleo"], json={"available": False})
    assert r.status_code == 200
    chat_id, cand = await w.taken_by("alice")
    r = await w.op("alice", chat_id, "forward", {"team_id": team, "note": "Night question"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "not_online", r.text
    seen = await w.seen_by_candidate(chat_id, cand)
    assert seen["status"] == "active" and seen["recruiter"]["name"] == "Alice"  # the candidate isn't left waiting for nobody
    assert not any("transferring" in t for t in await w.texts(chat_id, cand))
    await w.seats_match_ownership()


# --------------------------------------------------------------------------- 5. invite


async def test_an_accepted_invitation_makes_a_visible_member(w: World) -> None:
    chat_id, cand = await w.taken_by("alice")
    r = await w.op("alice", chat_id, "invite", {"user_id": w.id["bob"], "note": "Can you explain the stack?"})
    assert r.status_code == 200, r.text
    [offer] = await w.offers("bob")
    assert offer["reason"] == "invite" and offer["note"] == "Can you explain the stack?" and offer["by"]["name"] == "Alice"
    assert "Bob" not in str(await w.texts(chat_id, cand))  # an invitation isn't announced

    view = await w.ok("bob", chat_id, "accept")
    assert view["you"] == "visible" and view["recruiter"]["name"] == "Alice"
    assert "Bob joined the chat" in await w.texts(chat_id, cand)
    assert [(m["name"], m["mode"], m["via"]) for m in (await w.view("alice", chat_id)).json()["members"]] == [("Bob", "visible", "invite")]
    assert (await w.write("bob", chat_id, "We use Python.", "b1")).status_code == 201
    assert (await w.seats())["bob"] == 0


async def test_a_declined_or_expired_invitation_adds_nobody(w: World) -> None:
    chat_id, cand = await w.taken_by("alice")
    assert (await w.op("alice", chat_id, "invite", {"user_id": w.id["bob"]})).status_code == 200
    assert (await w.op("bob", chat_id, "decline")).status_code == 200
    assert await w.offers("bob") == []
    assert (await w.view("alice", chat_id)).json()["members"] == []
    assert (await w.view("bob", chat_id)).status_code == 404  # declining is not joining

    assert (await w.op("alice", chat_id, "invite", {"user_id": w.id["cleo"]})).status_code == 200
    [offer] = await w.offers("cleo")
    w.clock.now = dt.datetime.fromisoformat(offer["expires_at"]) + dt.timedelta(seconds=1)
    await w.online(*DESK)
    assert await w.expire_offers() == 1
    assert await w.offers("cleo") == []
    r = await w.op("cleo", chat_id, "accept")
    assert r.status_code in (404, 409)
    assert (await w.view("alice", chat_id)).json()["members"] == []
    texts = await w.texts(chat_id, cand)
    assert "Bob joined the chat" not in texts and "Cleo joined the chat" not in texts


async def test_who_may_be_invited_or_forwarded_to(w: World) -> None:
    chat_id, _ = await w.taken_by("alice")
    r = await w.op("alice", chat_id, "invite", {"user_id": w.id["tal"]})
    assert r.status_code == 422  # a talent is nobody's colleague
    r = await w.op("alice", chat_id, "invite", {"user_id": w.id["alice"]})
    assert r.status_code == 422
    r = await w.client.put("/api/v1/live-agent", headers=w.h["cleo"], json={"available": False})
    assert r.status_code == 200
    r = await w.op("alice", chat_id, "forward", {"user_id": w.id["cleo"]})
    assert r.status_code == 409 and r.json()["error"]["code"] == "not_online"
    r = await w.op("alice", chat_id, "forward", {"user_id": w.id["bob"], "team_id": 1})
    assert r.status_code == 422
    r = await w.client.get(f"/api/v1/live-chats/{chat_id}/colleagues", headers=w.h["alice"])
    assert r.status_code == 200
    names = {p["name"]: p for p in r.json()["people"]}
    assert "Alice" not in names and names["Bob"]["online"] is True and names["Cleo"]["online"] is False and "Tal" not in names


async def test_an_invitation_is_void_once_the_invitee_owns_the_chat(w: World) -> None:
    chat_id, cand = await w.taken_by("alice")
    assert (await w.op("alice", chat_id, "invite", {"user_id": w.id["bob"]})).status_code == 200
    await w.ok("bob", chat_id, "take-over")  # instead of accepting, Bob takes the chat over
    assert await w.offers("bob") == []
    r = await w.op("bob", chat_id, "accept")
    assert r.status_code == 409
    view = (await w.view("bob", chat_id)).json()
    assert view["you"] == "owner" and view["members"] == []
    assert (await w.seats())["bob"] == 1
    assert (await w.op("bob", chat_id, "leave")).status_code == 200  # the last one out: the chat ends
    assert (await w.seen_by_candidate(chat_id, cand))["status"] == "ended"
    assert (await w.seats())["bob"] == 0
    await w.seats_match_ownership()


async def test_joining_instead_of_accepting_an_invitation_is_announced_once(w: World) -> None:
    chat_id, cand = await w.taken_by("alice")
    assert (await w.op("alice", chat_id, "invite", {"user_id": w.id["bob"]})).status_code == 200
    await w.ok("bob", chat_id, "join", {"invisible": False})  # from the colleagues' chats list, not the invitation
    assert await w.offers("bob") == []
    assert (await w.op("bob", chat_id, "accept")).status_code == 409
    assert (await w.texts(chat_id, cand)).count("Bob joined the chat") == 1


async def test_forwarding_withdraws_the_forwarders_invitations(w: World) -> None:
    chat_id, cand = await w.taken_by("alice")
    assert (await w.op("alice", chat_id, "invite", {"user_id": w.id["bob"], "note": "Help me?"})).status_code == 200
    assert (await w.op("alice", chat_id, "forward", {"user_id": w.id["cleo"]})).status_code == 200
    assert await w.offers("bob") == []  # Alice is gone: her invitation into the chat went with her
    await w.ok("cleo", chat_id, "accept")
    assert (await w.op("bob", chat_id, "accept")).status_code in (404, 409)
    assert (await w.view("cleo", chat_id)).json()["members"] == []
    assert "Bob joined the chat" not in await w.texts(chat_id, cand)


# --------------------------------------------------------------------------- 6. leave


async def test_members_leave_and_the_owner_hands_over(w: World) -> None:
    chat_id, cand = await w.taken_by("alice")
    await w.ok("bob", chat_id, "join", {"invisible": False})
    await w.ok("cleo", chat_id, "join", {"invisible": True})
    before = await w.texts(chat_id, cand)
    assert (await w.op("cleo", chat_id, "leave")).status_code == 200
    assert await w.texts(chat_id, cand) == before  # an invisible monitor leaves as unseen as they came
    assert (await w.op("bob", chat_id, "leave")).status_code == 200
    assert "Bob left the chat" in await w.texts(chat_id, cand)
    assert (await w.view("alice", chat_id)).json()["members"] == []
    assert (await w.write("bob", chat_id, "back?", "b1")).status_code in (404, 409)

    await w.ok("cleo", chat_id, "join", {"invisible": False})
    r = await w.op("alice", chat_id, "leave")
    assert r.status_code == 200, r.text
    assert "Alice left the chat; Cleo continues" in await w.texts(chat_id, cand)
    view = (await w.view("cleo", chat_id)).json()
    assert view["status"] == "active" and view["recruiter"]["name"] == "Cleo" and view["members"] == []
    seats = await w.seats()
    assert seats["alice"] == 0 and seats["cleo"] == 1
    assert (await w.seen_by_candidate(chat_id, cand))["recruiter"]["name"] == "Cleo"
    await w.seats_match_ownership()


async def test_the_last_one_out_ends_the_chat_with_a_ticket_and_the_transcript(w: World) -> None:
    chat_id, cand = await w.taken_by("alice")
    await w.say(chat_id, cand, "Is the role   remote,\nor in Berlin?", "c1")
    await w.say(chat_id, cand, "And the salary?", "c2")
    assert (await w.write("alice", chat_id, "Hybrid, two days in Berlin.", "a1")).status_code == 201
    r = await w.op("alice", chat_id, "leave", {"email_transcript": True})
    assert r.status_code == 200, r.text
    texts = await w.texts(chat_id, cand)
    assert "Alice has left the chat. We'll follow up by email." in texts
    seen = await w.seen_by_candidate(chat_id, cand)
    assert seen["status"] == "ended"
    r = await w.client.post(f"/api/v1/chats/{chat_id}/messages", headers=cand, json={"client_id": "c3", "text": "hello?"})
    assert r.status_code == 409
    assert (await w.seats())["alice"] == 0

    async with create_sessionmaker(w.engine)() as s:
        [ticket] = (await s.execute(select(Ticket).where(Ticket.live_chat_id == chat_id))).scalars().all()
        mails = (await s.execute(select(OutboxMessage).where(OutboxMessage.kind == "live_transcript"))).scalars().all()
    assert ticket.subject == "Is the role remote, or in Berlin?"  # the candidate's own first question, not a pre-chat answer
    assert ticket.status == "open" and ticket.transcript_sent_at is not None
    [mail] = mails
    assert mail.to_email == "cara@mail.example"
    for line in ("Is the role   remote,", "And the salary?", "Alice: Hybrid, two days in Berlin."):
        assert line in mail.body_text, mail.body_text
    assert "/live/continue/" not in mail.body_text  # an ended chat is reopened by staff replying, not by the candidate
    assert (await w.view("alice", chat_id)).json()["ticket"]["subject"] == "Is the role remote, or in Berlin?"


async def test_leaving_without_a_question_or_mail_still_leaves_a_ticket(w: World) -> None:
    chat_id, cand = await w.taken_by("alice", "Dana")
    r = await w.op("alice", chat_id, "leave")
    assert r.status_code == 200, r.text
    async with create_sessionmaker(w.engine)() as s:
        ticket = (await s.execute(select(Ticket).where(Ticket.live_chat_id == chat_id))).scalar_one()
        mails = (await s.execute(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.kind == "live_transcript"))).scalar_one()
    assert ticket.subject == "Chat with Dana about Backend Engineer"  # her name and answers were pre-chat, not questions
    assert mails == 0
    r = await w.op("alice", chat_id, "leave")
    assert r.status_code == 409  # already over


# --------------------------------------------------------------------------- 7. rating


async def test_rating_once_asked(w: World) -> None:
    chat_id, cand = await w.taken_by("alice")
    other_id, other = await w.taken_by("bob", "Otto")
    rate = f"/api/v1/chats/{chat_id}/rating"
    r = await w.client.post(rate, headers=cand, json={"score": 5})
    assert r.status_code == 409 and r.json()["error"]["code"] == "rating_not_asked"
    assert (await w.seen_by_candidate(chat_id, cand))["rating"] is None

    assert (await w.op("bob", chat_id, "ask-rating")).status_code in (403, 404)  # not Bob's chat
    view = await w.ok("alice", chat_id, "ask-rating")
    assert view["rating"]["asked"] is True and view["rating"]["score"] is None
    prompt = (await w.seen_by_candidate(chat_id, cand))["rating"]
    assert (prompt["style"], prompt["scale"], prompt["rated"], prompt["score"]) == ("stars", 5, False, None)
    assert any(m["kind"] == "bot" and m["body"].get("rating_request") for m in await w.transcript(chat_id, cand))

    for bad in ({"score": 0}, {"score": 6}, {"score": "5"}, {"score": 4.5}, {"score": True}, {"score": 3, "comment": "x" * 1001}):
        r = await w.client.post(rate, headers=cand, json=bad)
        assert r.status_code == 422, (bad, r.text)
    r = await w.client.post(rate, headers=other, json={"score": 1})
    assert r.status_code == 404  # Otto's token opens Otto's chat only
    r = await w.client.post(f"/api/v1/chats/{other_id}/rating", headers=other, json={"score": 1})
    assert r.status_code == 409  # and Otto wasn't asked
    r = await w.client.post(rate, json={"score": 4})
    assert r.status_code == 401

    r = await w.client.post(rate, headers=cand, json={"score": 4, "comment": "Quick and <b>kind</b>"})
    assert r.status_code == 200, r.text
    assert r.json() == {"score": 4, "scale": 5, "comment": "Quick and <b>kind</b>"}
    staff = (await w.view("alice", chat_id)).json()
    assert staff["rating"]["score"] == 4 and staff["rating"]["comment"] == "Quick and <b>kind</b>"
    assert (await w.seen_by_candidate(chat_id, cand))["rating"]["rated"] is True
    assert "Cara rated the chat 4 of 5" in await w.texts(chat_id, cand)


async def test_a_rating_with_another_chats_token_is_not_found(w: World) -> None:
    chat_id, _ = await w.taken_by("alice")
    other_id, other = await w.taken_by("alice", "Otto")
    await w.ok("alice", chat_id, "ask-rating")
    await w.ok("alice", other_id, "ask-rating")
    r = await w.client.post(f"/api/v1/chats/{chat_id}/rating", headers=other, json={"score": 1})
    assert r.status_code == 404
    assert (await w.view("alice", chat_id)).json()["rating"]["score"] is None


# --------------------------------------------------------------------------- 8. automatic resolve


async def test_a_chat_whose_candidate_left_is_resolved_automatically(w: World) -> None:
    gone_id, gone = await w.taken_by("alice", "Gone")
    here_id, here = await w.taken_by("bob", "Here")
    assert (await w.seats())["alice"] == 1
    w.clock.now += dt.timedelta(minutes=10)
    await w.say(here_id, here, "Still thinking, one moment", "h1")  # Here is still around
    assert await w.resolve_idle() == 0  # nobody has been gone 15 minutes yet
    w.clock.now += dt.timedelta(minutes=6)
    assert await w.resolve_idle() == 1

    r = await w.view("alice", gone_id)
    assert r.status_code == 200
    assert r.json()["status"] == "ended" and r.json()["outcome"] == "resolved"
    notices = [t for t in await w.texts(gone_id, gone) if t.startswith("Resolved automatically")]
    assert notices == ["Resolved automatically: Gone left 15 minutes ago."]
    assert (await w.seen_by_candidate(gone_id, gone))["status"] == "ended"
    seats = await w.seats()
    assert seats["alice"] == 0 and seats["bob"] == 1
    assert (await w.seen_by_candidate(here_id, here))["status"] == "active"
    await w.seats_match_ownership()


async def test_automatic_resolve_follows_the_event_setting(w: World) -> None:
    r = await w.client.put(f"/api/v1/events/{w.event_id}/desk-settings", headers=w.h["admin"], json={"resolve_minutes": 0})
    assert r.status_code == 200, r.text
    chat_id, cand = await w.taken_by("alice")
    w.clock.now += dt.timedelta(hours=3)
    assert await w.resolve_idle() == 0
    assert (await w.chat_row(chat_id)).status == "active"
    r = await w.client.put(f"/api/v1/events/{w.event_id}/desk-settings", headers=w.h["admin"], json={"resolve_minutes": 120})
    assert r.status_code == 200
    assert await w.resolve_idle() == 1
    assert "Resolved automatically: Cara left 120 minutes ago." in await w.texts(chat_id, cand)


async def test_an_event_that_never_resolves_doesnt_hold_up_the_others(w: World) -> None:
    """Many long-gone candidates in an event with automatic resolve off must not keep other events' chats from it."""
    start = w.clock.now + dt.timedelta(days=1)
    r = await w.client.post("/api/v1/events", headers=w.h["admin"], json={
        "name": "Quiet Fair", "timezone": "Europe/Berlin", "starts_at": start.isoformat(), "ends_at": (start + dt.timedelta(days=1)).isoformat(),
        "chat_format": {"requests_by": "both", "slot_minutes": 30, "buffer_minutes": 0}})
    assert r.status_code == 201, r.text
    quiet = r.json()["id"]
    r = await w.client.put(f"/api/v1/events/{quiet}/desk-settings", headers=w.h["admin"], json={"resolve_minutes": 0})
    assert r.status_code == 200, r.text
    long_ago = w.clock.now - dt.timedelta(days=2)
    async with create_sessionmaker(w.engine)() as s, s.begin():
        s.add_all([LiveChat(kind="support", queue=f"support:{quiet}", event_id=quiet, status="waiting", candidate_name=f"Q{n}",
                            candidate_seen_at=long_ago, queued_at=long_ago, ticket=n + 1, created_at=long_ago, updated_at=long_ago)
                   for n in range(150)])
    chat_id, cand = await w.taken_by("alice")
    w.clock.now += dt.timedelta(minutes=16)
    assert await w.resolve_idle() == 1
    assert (await w.seen_by_candidate(chat_id, cand))["status"] == "ended"
    assert (await w.seats())["alice"] == 0


# --------------------------------------------------------------------------- 9. permissions


OPERATIONS: list[tuple[str, dict[str, Any]]] = [("join", {"invisible": True}), ("join", {"invisible": False}), ("take-over", {}), ("forward", {"user_id": 0}),
              ("forward", {"team_id": 0}), ("invite", {"user_id": 0}), ("leave", {}), ("accept", {}), ("decline", {}), ("ask-rating", {})]


async def test_staff_outside_the_chats_desk_get_not_found_for_every_operation(w: World) -> None:
    team = await w.team("Visas", ["bob", "cleo"])
    chat_id, cand = await w.taken_by("alice")
    await w.ok("bob", chat_id, "join", {"invisible": True})
    assert (await w.op("alice", chat_id, "invite", {"user_id": w.id["cleo"]})).status_code == 200
    before = await w.texts(chat_id, cand)
    ended_id, _ = await w.taken_by("alice", "Ended")
    assert (await w.op("alice", ended_id, "leave")).status_code == 200
    waiting_id, _ = await w.start("Wendy")

    def body(extra: dict[str, Any]) -> dict[str, Any]:
        return {k: (w.id["cleo"] if k == "user_id" else team if k == "team_id" else v) for k, v in extra.items()}

    for who in ("olga", "jon", "tal"):
        for target in (chat_id, ended_id, waiting_id):
            for what, extra in OPERATIONS:
                r = await w.op(who, target, what, body(extra))
                assert r.status_code == 404, (who, target, what, r.status_code, r.text)
                assert r.json()["error"]["code"] == "chat_not_found"
            r = await w.client.get(f"/api/v1/live-chats/{target}/colleagues", headers=w.h[who])
            assert r.status_code == 404, (who, r.text)
            assert (await w.view(who, target)).status_code == 404
            assert (await w.client.get(f"/api/v1/live-chats/{target}/messages", headers=w.h[who])).status_code == 404
    for what, extra in OPERATIONS:
        r = await w.client.post(f"/api/v1/live-chats/{chat_id}/{what}", json=body(extra))
        assert r.status_code == 401, (what, r.text)
        r = await w.client.post(f"/api/v1/live-chats/{chat_id}/{what}", headers=cand, json=body(extra))  # a candidate's token isn't staff's
        assert r.status_code == 401, (what, r.text)
    assert (await w.client.get(f"/api/v1/live-chats/{chat_id}/colleagues")).status_code == 401
    for who in ("olga", "jon", "tal"):  # colleagues' ongoing chats and offers list nothing of it either
        r = await w.client.get("/api/v1/live-chats/ongoing", headers=w.h[who])
        assert r.status_code == 200 and r.json() == [], (who, r.text)
        assert await w.offers(who) == []
    r = await w.client.get("/api/v1/live-chats/ongoing", headers=w.h["cleo"])
    assert [c["id"] for c in r.json()] == [chat_id] and r.json()[0]["owner"]["name"] == "Alice"  # the desk's own people see it
    for path in ("/api/v1/live-chats/ongoing", "/api/v1/live-offers"):
        assert (await w.client.get(path)).status_code == 401

    # Nothing happened: same owner, same members, the invitation still Cleo's, nothing told to the candidate.
    view = (await w.view("alice", chat_id)).json()
    assert view["recruiter"]["name"] == "Alice" and [(m["name"], m["mode"]) for m in view["members"]] == [("Bob", "invisible")]
    assert [o["chat"] for o in await w.offers("cleo")] == [chat_id]
    assert await w.texts(chat_id, cand) == before
    assert (await w.chat_row(ended_id)).status == "ended" and (await w.chat_row(waiting_id)).status == "waiting"
    await w.seats_match_ownership()


async def test_desk_colleagues_who_are_not_in_the_chat_are_refused(w: World) -> None:
    chat_id, cand = await w.taken_by("alice")
    for what, extra in (("forward", {"user_id": w.id["cleo"]}), ("invite", {"user_id": w.id["cleo"]}), ("leave", {}), ("accept", {}),
                        ("decline", {}), ("ask-rating", {})):
        r = await w.op("bob", chat_id, what, extra)
        assert r.status_code in (403, 404, 409), (what, r.text)
    r = await w.op("alice", chat_id, "forward", {"user_id": w.id["cleo"]})
    assert r.status_code == 200, r.text
    r = await w.op("bob", chat_id, "accept")  # the offer is Cleo's alone
    assert r.status_code in (404, 409)
    assert (await w.seen_by_candidate(chat_id, cand))["status"] == "transfer"


async def test_a_session_needs_the_csrf_token_to_operate(w: World) -> None:
    import re

    chat_id, cand = await w.taken_by("alice")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=w.app), base_url="http://testserver") as browser:
        page = await browser.get("/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert csrf
        r = await browser.post("/login", data={"email": "bob@example.test", "password": PW, "csrf": csrf.group(1), "next": "/"})
        assert r.status_code == 303, r.text
        fresh = re.search(r'name="csrf" value="([^"]+)"', (await browser.get("/account")).text)
        assert fresh
        for what, extra in OPERATIONS:
            r = await browser.post(f"/api/v1/live-chats/{chat_id}/{what}", json=extra)
            assert r.status_code == 403 and r.json()["error"]["code"] == "csrf", (what, r.text)
            r = await browser.post(f"/api/v1/live-chats/{chat_id}/{what}", json=extra, headers={"X-CSRF-Token": "stale"})
            assert r.status_code == 403, (what, r.text)
        assert "Bob" not in str(await w.texts(chat_id, cand))
        assert (await w.view("alice", chat_id)).json()["members"] == []
        r = await browser.post(f"/api/v1/live-chats/{chat_id}/join", json={"invisible": False}, headers={"X-CSRF-Token": fresh.group(1)})
        assert r.status_code == 200, r.text
        assert (await browser.get(f"/api/v1/live-chats/{chat_id}/colleagues")).status_code == 200  # reads need no CSRF token
    assert "Bob joined the chat" in await w.texts(chat_id, cand)


async def test_an_invisible_monitor_never_shows_in_what_the_candidate_gets(w: World) -> None:
    chat_id, cand = await w.taken_by("alice")
    await w.ok("cleo", chat_id, "join", {"invisible": True})
    await w.say(chat_id, cand, "Hello?", "c1")
    assert (await w.write("alice", chat_id, "Hi!", "a1")).status_code == 201
    await w.ok("alice", chat_id, "ask-rating")
    assert (await w.op("cleo", chat_id, "leave")).status_code == 200
    seen = await w.seen_by_candidate(chat_id, cand)
    messages = await w.transcript(chat_id, cand)
    assert "Cleo" not in str(seen) and "Cleo" not in str(messages)
    assert all(v != w.id["cleo"] for path, v in _ids_in(seen) if path not in ("id", "job.id"))
    assert all((m["author"] or {}).get("id") != w.id["cleo"] for m in messages)


# --------------------------------------------------------------------------- 10. races


async def test_two_take_overs_at_once_make_one_owner(w: World) -> None:
    chat_id, cand = await w.taken_by("alice")
    owner = w.id["alice"]
    results = await asyncio.gather(w.op("bob", chat_id, "take-over", {"owner_id": owner}),
                                   w.op("cleo", chat_id, "take-over", {"owner_id": owner}))
    codes = sorted(r.status_code for r in results)
    assert codes == [200, 409], [r.text for r in results]
    winner = "bob" if results[0].status_code == 200 else "cleo"
    loser = "cleo" if winner == "bob" else "bob"
    assert results[1 if winner == "bob" else 0].json()["error"]["code"] in ("owner_changed", "already_taken")
    chat = await w.chat_row(chat_id)
    assert chat.recruiter_id == w.id[winner] and chat.status == "active"
    seats = await w.seats()
    assert seats[winner] == 1 and seats[loser] == 0 and seats["alice"] == 0
    assert [t for t in await w.texts(chat_id, cand) if "took over" in t] == [f"{winner.title()} took over the chat"]
    await w.seats_match_ownership()


async def test_taking_over_while_the_owner_leaves(w: World) -> None:
    for n in range(3):
        chat_id, _ = await w.taken_by("alice", f"Cand{n}")
        results = await asyncio.gather(w.op("alice", chat_id, "leave"), w.op("bob", chat_id, "take-over"))
        assert sorted(r.status_code for r in results) == [200, 409], [r.text for r in results]
        chat = await w.chat_row(chat_id)
        if results[1].status_code == 200:
            assert chat.status == "active" and chat.recruiter_id == w.id["bob"]
        else:
            assert chat.status == "ended"
        await w.seats_match_ownership()


async def test_two_accepts_of_one_offer_at_once(w: World) -> None:
    team = await w.team("Visas", ["bob", "cleo"])
    chat_id, _ = await w.taken_by("alice")
    assert (await w.op("alice", chat_id, "forward", {"team_id": team})).status_code == 200
    offered, other = await w.offered_first("bob", "cleo")
    # The one offered clicks Accept in two tabs while a teammate tries to take it from the list.
    results = await asyncio.gather(w.op(offered, chat_id, "accept"), w.op(offered, chat_id, "accept"),
                                   w.client.post(f"/api/v1/live-chats/{chat_id}/take", headers=w.h[other]))
    assert sorted(r.status_code for r in results) == [200, 409, 409], [r.text for r in results]
    assert results[2].status_code == 409
    chat = await w.chat_row(chat_id)
    assert chat.recruiter_id == w.id[offered] and chat.status == "active"
    assert (await w.seats())[offered] == 1
    await w.seats_match_ownership()


async def test_accepts_and_take_overs_at_once_keep_one_owner_per_chat(w: World) -> None:
    """A busier mix: forwards accepted and take-overs across several chats at once keep one owner each and honest seats
    (a take-over without the owner the caller saw takes the chat from whoever has it)."""
    chats = [await w.taken_by("alice", f"Cand{n}") for n in range(3)]
    for chat_id, _ in chats[:2]:
        assert (await w.op("alice", chat_id, "forward", {"user_id": w.id["bob"]})).status_code == 200
    calls = [w.op("bob", chats[0][0], "accept"), w.op("bob", chats[1][0], "accept"),
             w.op("cleo", chats[2][0], "take-over"), w.op("bob", chats[2][0], "take-over", {"owner_id": w.id["alice"]})]
    results = await asyncio.gather(*calls)
    assert [r.status_code for r in results[:2]] == [200, 200], [r.text for r in results]
    assert sorted(r.status_code for r in results[2:]) in ([200, 200], [200, 409]), [r.text for r in results]
    async with create_sessionmaker(w.engine)() as s:
        owners = (await s.execute(select(LiveChat.id, LiveChat.recruiter_id).where(LiveChat.status == "active"))).all()
        members = (await s.execute(select(func.count()).select_from(ChatMember).where(ChatMember.left_at.is_(None)))).scalar_one()
    assert len(owners) == 3 and all(o is not None for _, o in owners)
    assert members == 0
    await w.seats_match_ownership()


async def test_a_chat_taken_over_stays_in_the_first_owners_history_once_it_ends(w: World) -> None:
    chat_id, cand = await w.taken_by("alice")
    await w.ok("bob", chat_id, "take-over")
    assert (await w.view("alice", chat_id)).status_code == 404  # not while it goes on without her
    r = await w.client.post(f"/api/v1/live-chats/{chat_id}/end", headers=w.h["bob"], json={"next_step": "Interview", "outcome": "follow_up"})
    assert r.status_code == 200, r.text
    assert (await w.view("alice", chat_id)).status_code == 200  # her history has it again, with its ticket
    ended = (await w.client.get("/api/v1/live-chats?status=ended", headers=w.h["alice"])).json()
    assert [c["id"] for c in ended] == [chat_id]
    ticket = (await w.view("bob", chat_id)).json()["ticket"]
    assert (await w.client.get(f"/api/v1/live-tickets/{ticket['id']}", headers=w.h["alice"])).status_code == 200
    # Cleo (same desk, never had it) and Olga (another company) don't see it.
    assert (await w.view("cleo", chat_id)).status_code == 404 and (await w.view("olga", chat_id)).status_code == 404
    del cand
