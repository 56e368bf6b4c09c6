"""The recruiter's outcome of a 1-1 chat (scheduling/outcomes.py): the API (PUT/GET /api/v1/chats/{id}/outcome) and the
chat page's form. Only the chat's recruiter writes, after the chat has started; organizers read; the talent never sees it.
Each runs on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import datetime as dt
import re

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from scheduling import actions
from scheduling.db import create_sessionmaker
from scheduling.livechat.chats import set_next_steps
from scheduling.models import ChatOutcome, Event
from tests.factories import make_world
from tests.web.conftest import FakeClock, token
from tests.web.test_chat_pages import confirmed_chat, flashes
from tests.web.test_pages import csrf_of, sign_in

GOOD = {"notes": "Strong on control loops.\nAsk about ROS.", "rating": 4, "next_step": "Interview", "no_show": False}


async def test_recruiter_records_an_outcome_after_the_chat_and_organizers_read_it(client: httpx.AsyncClient, engine: AsyncEngine,
                                                                                   clock: FakeClock) -> None:
    sm = create_sessionmaker(engine)
    w = await make_world(sm, clock.now, recruiters=2, talents=2)
    chat = await confirmed_chat(sm, w, clock.now)
    assert chat.starts_at is not None
    rec, org, tal = [await token(client, e) for e in ("rec0@example.test", "org@example.test", "tal0@example.test")]
    url = f"/api/v1/chats/{chat.id}/outcome"

    # Before the chat starts: readable (empty) but not writable.
    r = await client.get(url, headers=rec)
    assert r.status_code == 200 and r.json()["recorded"] is False and r.json()["can_write"] is False
    assert r.json()["next_steps"] == ["Interview", "Screen", "Pipeline", "Not a fit"]
    r = await client.put(url, headers=rec, json=GOOD)
    assert r.status_code == 409 and r.json()["error"]["code"] == "not_taken_place"

    clock.now = chat.starts_at + dt.timedelta(minutes=10)
    r = await client.put(url, headers=rec, json=GOOD)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["recorded"] is True and body["rating"] == 4 and body["next_step"] == "Interview" and body["notes"] == GOOD["notes"]
    assert body["recorded_by"] == {"id": w.recruiters[0].id, "name": "Rita Recruiter 0"} and body["can_write"] is True

    # Replaced, not added to.
    r = await client.put(url, headers=rec, json={"notes": "", "rating": None, "next_step": "", "no_show": True})
    assert r.status_code == 200 and r.json()["no_show"] is True and r.json()["rating"] is None
    async with sm() as s:
        assert (await s.execute(select(func.count()).select_from(ChatOutcome))).scalar_one() == 1
    await client.put(url, headers=rec, json=GOOD)

    got = await client.get(url, headers=org)
    assert got.status_code == 200 and got.json()["rating"] == 4 and got.json()["can_write"] is False
    r = await client.put(url, headers=org, json=GOOD)
    assert r.status_code == 403 and r.json()["error"]["code"] == "not_the_recruiter"

    # The talent of the chat: refused both ways, and nothing in the refusal leaks the notes.
    for call in (client.get(url, headers=tal), client.put(url, headers=tal, json=GOOD)):
        r = await call
        assert r.status_code == 403 and "ROS" not in r.text
    # Someone outside the chat: not found, as for any chat they can't see.
    for email in ("rec1@example.test", "tal1@example.test"):
        r = await client.get(url, headers=await token(client, email))
        assert r.status_code == 404 and r.json()["error"]["code"] == "chat_not_found"
    assert (await client.get("/api/v1/chats/999999/outcome", headers=rec)).status_code == 404
    assert (await client.get(url)).status_code == 401


async def test_outcome_input_is_checked_with_clear_json_errors(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    sm = create_sessionmaker(engine)
    w = await make_world(sm, clock.now)
    chat = await confirmed_chat(sm, w, clock.now)
    assert chat.ends_at is not None
    clock.now = chat.ends_at + dt.timedelta(minutes=1)
    rec = await token(client, "rec0@example.test")
    url = f"/api/v1/chats/{chat.id}/outcome"
    cases = [
        ({**GOOD, "rating": 0}, 422, "invalid_rating"),
        ({**GOOD, "rating": 6}, 422, "invalid_rating"),
        ({**GOOD, "rating": "4"}, 422, "invalid_input"),
        ({**GOOD, "rating": True}, 422, "invalid_input"),
        ({**GOOD, "next_step": "Hire on the spot"}, 422, "invalid_next_step"),
        ({**GOOD, "notes": "x" * 4001}, 422, "notes_too_long"),
        ({**GOOD, "notes": "x" * 20000}, 422, "invalid_input"),
        ({**GOOD, "notes": "a\x00b"}, 422, "invalid_input"),
        ({**GOOD, "no_show": "yes"}, 422, "invalid_input"),
        ({**GOOD, "mood": "happy"}, 422, "invalid_input"),
    ]
    for payload, status, code in cases:
        r = await client.put(url, headers=rec, json=payload)
        assert r.status_code == status and r.json()["error"]["code"] == code, (payload, r.text)
        assert r.json()["error"]["message"]
    r = await client.put(url, headers={**rec, "content-type": "application/json"}, content=b"{not json")
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_json"
    async with sm() as s:
        assert (await s.execute(select(func.count()).select_from(ChatOutcome))).scalar_one() == 0
    # 4000 characters exactly is fine; surrounding spaces are trimmed.
    r = await client.put(url, headers=rec, json={**GOOD, "notes": "  " + "y" * 4000 + "  "})
    assert r.status_code == 200 and len(r.json()["notes"]) == 4000


async def test_next_steps_are_the_events_own_list(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    sm = create_sessionmaker(engine)
    w = await make_world(sm, clock.now)
    chat = await confirmed_chat(sm, w, clock.now)
    assert chat.starts_at is not None
    clock.now = chat.starts_at + dt.timedelta(minutes=1)
    async with sm() as s, s.begin():
        await set_next_steps(s, w.admin, w.event_id, ["Second round", "Offer", "No"])
    rec = await token(client, "rec0@example.test")
    url = f"/api/v1/chats/{chat.id}/outcome"
    assert (await client.put(url, headers=rec, json=GOOD)).json()["error"]["code"] == "invalid_next_step"
    r = await client.put(url, headers=rec, json={**GOOD, "next_step": "Offer"})
    assert r.status_code == 200 and r.json()["next_steps"] == ["Second round", "Offer", "No"]
    # The list changes later: the step recorded earlier stays valid and listed.
    async with sm() as s, s.begin():
        event = await s.get(Event, w.event_id)
        assert event is not None
        await set_next_steps(s, w.admin, w.event_id, ["Second round", "No"])
    r = await client.get(url, headers=rec)
    assert r.json()["next_steps"] == ["Second round", "No", "Offer"]
    assert (await client.put(url, headers=rec, json={**GOOD, "next_step": "Offer", "rating": 5})).status_code == 200


async def test_two_saves_at_once_leave_one_outcome(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    sm = create_sessionmaker(engine)
    w = await make_world(sm, clock.now)
    chat = await confirmed_chat(sm, w, clock.now)
    assert chat.ends_at is not None
    clock.now = chat.ends_at + dt.timedelta(minutes=1)
    rec = await token(client, "rec0@example.test")
    url = f"/api/v1/chats/{chat.id}/outcome"
    answers = await asyncio.gather(*(client.put(url, headers=rec, json={**GOOD, "rating": n}) for n in (1, 2, 3, 4, 5)))
    assert [a.status_code for a in answers] == [200] * 5, [a.text for a in answers]
    async with sm() as s:
        rows = (await s.execute(select(ChatOutcome))).scalars().all()
        assert len(rows) == 1 and rows[0].rating in (1, 2, 3, 4, 5)


# --------------------------------------------------------------------------- the chat page


async def test_outcome_form_on_the_chat_page(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    sm = create_sessionmaker(engine)
    w = await make_world(sm, clock.now)
    chat = await confirmed_chat(sm, w, clock.now)
    assert chat.starts_at is not None
    await sign_in(client, "rec0@example.test")
    before = (await client.get(f"/chats/{chat.id}")).text
    assert "Once the chat has started you can record" in before and f'action="/chats/{chat.id}/outcome"' not in before

    clock.now = chat.starts_at + dt.timedelta(minutes=25)
    page = (await client.get(f"/chats/{chat.id}")).text
    assert f'action="/chats/{chat.id}/outcome"' in page
    assert [o for o in re.findall(r"<option[^>]*>([^<]+)</option>", page) if o != "Not decided yet"][-4:] == ["Interview", "Screen", "Pipeline", "Not a fit"]

    # A refusal keeps what was typed and says which field is wrong, in words.
    notes = "Great <questions> about safety"
    r = await client.post(f"/chats/{chat.id}/outcome", data={"csrf": csrf_of(page), "notes": notes, "rating": "9", "next_step": "Screen", "no_show": "1"})
    assert r.status_code == 422 and "The rating is a whole number from 1 to 5" in r.text
    assert "Great &lt;questions&gt; about safety</textarea>" in r.text and "<option selected>Screen</option>" in r.text
    assert re.search(r'name="no_show" value="1" checked', r.text)
    r = await client.post(f"/chats/{chat.id}/outcome", data={"csrf": csrf_of(page), "notes": "n" * 4001, "rating": "3"})
    assert r.status_code == 422 and "The notes are limited to 4000 characters" in r.text and re.search(r'value="3" checked', r.text)
    r = await client.post(f"/chats/{chat.id}/outcome", data={"csrf": csrf_of(page), "notes": notes, "rating": "3", "next_step": "Nope"})
    assert r.status_code == 422 and "Choose the next step from the list" in r.text
    async with sm() as s:
        assert (await s.execute(select(func.count()).select_from(ChatOutcome))).scalar_one() == 0

    r = await client.post(f"/chats/{chat.id}/outcome", data={"csrf": csrf_of(page), "notes": notes, "rating": "5", "next_step": "Interview"},
                          follow_redirects=True)
    assert r.status_code == 200 and "Outcome saved." in flashes(r.text)
    assert re.search(r'value="5" checked', r.text) and "<option selected>Interview</option>" in r.text and "Last saved" in r.text
    r = await client.post(f"/chats/{chat.id}/outcome", data={"notes": "forged", "rating": "1"})
    assert r.status_code == 403

    # The organizer reads it; the talent sees no trace of it.
    client.cookies.clear()
    await sign_in(client, "org@example.test")
    org_page = (await client.get(f"/chats/{chat.id}")).text
    assert "5 of 5" in org_page and "Great &lt;questions&gt; about safety" in org_page and "Save outcome" not in org_page
    r = await client.post(f"/chats/{chat.id}/outcome", data={"csrf": csrf_of(org_page), "notes": "mine now", "rating": "1"})
    assert r.status_code == 403 and "Only the recruiter of this chat records its outcome." in r.text
    client.cookies.clear()
    await sign_in(client, "tal0@example.test")
    talent_page = (await client.get(f"/chats/{chat.id}")).text
    assert "questions" not in talent_page and "Outcome" not in talent_page and "Interview" not in talent_page
    r = await client.post(f"/chats/{chat.id}/outcome", data={"csrf": csrf_of(talent_page), "notes": "I was great", "rating": "5"})
    assert r.status_code == 403
    async with sm() as s:
        stored = (await s.execute(select(ChatOutcome))).scalar_one()
        assert stored.notes == notes and stored.rating == 5 and stored.recorded_by_id == w.recruiters[0].id


async def test_completed_tab_says_which_chats_have_an_outcome_but_not_to_the_talent(client: httpx.AsyncClient, engine: AsyncEngine,
                                                                                     clock: FakeClock) -> None:
    sm = create_sessionmaker(engine)
    w = await make_world(sm, clock.now)
    chat = await confirmed_chat(sm, w, clock.now)
    assert chat.ends_at is not None
    clock.now = chat.ends_at + dt.timedelta(minutes=30)
    async with sm() as s, s.begin():
        await actions.complete_due(s, actions.Context(now=clock.now))
    await sign_in(client, "rec0@example.test")
    listing = (await client.get(f"/events/{w.event_id}?tab=completed")).text
    assert f'<a href="/chats/{chat.id}#outcome">Record the outcome</a>' in listing
    await client.put(f"/api/v1/chats/{chat.id}/outcome", headers=await token(client, "rec0@example.test"), json=GOOD)
    assert "Outcome recorded" in (await client.get(f"/events/{w.event_id}?tab=completed")).text
    client.cookies.clear()
    await sign_in(client, "org@example.test")
    assert "Outcome recorded" in (await client.get(f"/events/{w.event_id}?tab=completed")).text
    client.cookies.clear()
    await sign_in(client, "tal0@example.test")
    talent_list = (await client.get(f"/events/{w.event_id}?tab=completed")).text
    assert f'data-chat-id="{chat.id}"' in talent_list and "outcome" not in talent_list.lower()
