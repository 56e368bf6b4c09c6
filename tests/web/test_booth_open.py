"""A booth is called open only when a chat started there would reach someone: one of the company's recruiters with the
Chats console open and available (or the team or person a routing rule sends the booth's chats to). Otherwise the
recruiter list and the booth page say to leave a message, which is what starting the chat then does (status "away")."""

from __future__ import annotations

import datetime as dt
import html

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from scheduling import actions
from scheduling.db import create_sessionmaker
from scheduling.livechat import chats, routing
from scheduling.models import User
from tests.factories import make_world
from tests.web.conftest import FakeClock
from tests.web.test_event_chat_pages import as_user, data, start
from tests.web.test_pages import csrf_of


async def test_a_booth_is_open_only_while_someone_can_answer(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    sm = create_sessionmaker(engine)
    w = await make_world(sm, clock.now, recruiters=2)
    ctx = actions.Context(now=clock.now)
    async with sm() as s, s.begin():
        bluefin = await actions.add_company(s, w.admin, w.event_id, name="Bluefin Health")
        await actions.add_participant(s, ctx, w.organizer, w.event_id, email="bo@example.test", name="Bo Bluefin", role="recruiter",
                                      company_id=bluefin.id)  # imported, never signed in
    clock.now = start(w) + dt.timedelta(hours=2)
    recruiters, acme_booth = f"/events/{w.event_id}/recruiters", f"/events/{w.event_id}/booths/{w.company_id}"
    acme_now = f'href="/events/{w.event_id}/booths/{w.company_id}">Chat with Acme Robotics now</a>'
    acme_note = f'href="/events/{w.event_id}/booths/{w.company_id}">Leave Acme Robotics a message</a>'
    bluefin_now = f'href="/events/{w.event_id}/booths/{bluefin.id}">Chat with Bluefin Health now</a>'
    bluefin_note = f'href="/events/{w.event_id}/booths/{bluefin.id}">Leave Bluefin Health a message</a>'
    await as_user(client, "tal0@example.test")

    async def start_chat(page: str) -> str:
        r = await client.post(f"/api/v1/events/{w.event_id}/live-chats", json={"company_id": w.company_id},
                              headers={"X-CSRF-Token": csrf_of(page)})
        assert r.status_code == 201, r.text
        return str(r.json()["status"])

    # Nobody has the console open: no booth is called open, each offers to leave a message, and a chat becomes one.
    page = (await client.get(recruiters)).text
    assert "Booths open now" not in page and acme_now not in page and bluefin_now not in page
    assert '<h2 id="booths-title">Booth chat</h2>' in page and acme_note in page and bluefin_note in page
    assert "Nobody is at a booth right now: leave a message, and a recruiter answers when back." in page
    booth = (await client.get(acme_booth)).text
    assert "Nobody is at the booth right now. Leave a message; a recruiter answers when back, by email." in booth
    assert data(booth, "intro") == "Nobody from Acme Robotics is at the booth right now. Leave a message; a recruiter answers when back, by email."
    assert "will answer" not in html.unescape(booth) and data(booth, "start-label") == "Leave a message"
    assert await start_chat(booth) == "away"

    # One of Acme's recruiters opens the console but is not available: still nobody.
    rita0, rita1 = w.recruiters
    async with sm() as s, s.begin():
        await chats.set_agent(s, rita0, clock.now, available=False)
    assert acme_now not in (await client.get(recruiters)).text

    # Available: Acme's booth is open (Bluefin's still not), and the booth page and the chat agree.
    async with sm() as s, s.begin():
        await chats.set_agent(s, rita1, clock.now, available=True)
    page = (await client.get(recruiters)).text
    assert '<h2 id="booths-title">Booths open now</h2>' in page and acme_now in page and acme_note not in page
    assert bluefin_note in page and bluefin_now not in page and "Nobody at these booths right now: leave a message" in page
    booth = (await client.get(acme_booth)).text
    assert "Someone is at the booth now: start a chat and they answer." in booth and "Nobody is at the booth" not in booth
    assert data(booth, "intro") == "Questions for Acme Robotics? Start a chat and one of their recruiters at the booth will answer."
    assert data(booth, "start-label") is None  # the panel's own "Start chat"
    bluefin_booth = (await client.get(f"/events/{w.event_id}/booths/{bluefin.id}")).text
    assert "Nobody is at the booth right now." in bluefin_booth

    # The console stops beating (closed tab): after the online window the booth is quiet again.
    clock.now += routing.ONLINE_WINDOW + dt.timedelta(seconds=1)
    page = (await client.get(recruiters)).text
    assert acme_now not in page and acme_note in page
    assert "Nobody is at the booth right now." in (await client.get(acme_booth)).text

    # A routing rule sends Bluefin's booth chats to Rita 1 (online again): Bluefin's booth is answered, so it is open.
    async with sm() as s, s.begin():
        await chats.set_agent(s, rita1, clock.now, available=True)
        admin = await s.get(User, w.admin.id)
        assert admin is not None
        await routing.add_rule(s, actions.Context(now=clock.now), admin, w.event_id,
                               routing.RuleIn(kind="booth", company_id=bluefin.id, user_id=rita1.id))
    page = (await client.get(recruiters)).text
    assert acme_now in page and bluefin_now in page and "Nobody" not in page
    assert "Someone is at the booth now" in (await client.get(f"/events/{w.event_id}/booths/{bluefin.id}")).text


async def test_the_company_filter_narrows_the_booths(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    sm = create_sessionmaker(engine)
    w = await make_world(sm, clock.now)
    async with sm() as s, s.begin():
        bluefin = await actions.add_company(s, w.admin, w.event_id, name="Bluefin Health")
    clock.now = start(w) + dt.timedelta(hours=2)
    async with sm() as s, s.begin():
        await chats.set_agent(s, w.recruiters[0], clock.now, available=True)
    await as_user(client, "tal0@example.test")
    page = (await client.get(f"/events/{w.event_id}/recruiters", params={"company": bluefin.id})).text
    assert "Chat with" not in page and "Leave Bluefin Health a message" in page and "Acme Robotics a message" not in page
    page = (await client.get(f"/events/{w.event_id}/recruiters", params={"company": w.company_id})).text
    assert "Chat with Acme Robotics now" in page and "Bluefin" not in page.split('id="booths-title"')[1].split("</section>")[0]
