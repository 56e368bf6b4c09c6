"""The Talents and Recruiters pages at the size of a real event: 50 people a page with the search kept in the page links and
"Showing 51–100 of N"; recruiters a talent can book first, the ones without open times last and saying so."""

from __future__ import annotations

import re

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from scheduling import actions, profiles
from scheduling.db import create_sessionmaker
from scheduling.models import User
from tests.factories import make_world
from tests.web.conftest import FakeClock
from tests.web.test_pages import sign_in


def talent_names(page: str) -> list[str]:
    return re.findall(r'data-talent-id="\d+">\s*<div class="who">.*?<strong>([^<]+)</strong>', page, re.S)


def recruiter_names(page: str) -> list[str]:
    return re.findall(r'data-recruiter-id="\d+">.*?<strong>([^<]+)</strong>', page, re.S)


async def test_talents_come_fifty_a_page_with_the_search_kept(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    sm = create_sessionmaker(engine)
    w = await make_world(sm, clock.now, recruiters=1, talents=1)
    ctx = actions.Context(now=clock.now)
    async with sm() as s, s.begin():
        for i in range(120):
            m = await actions.add_participant(s, ctx, w.organizer, w.event_id, email=f"t{i:03d}@example.test", name=f"Tess {i:03d}", role="talent")
            if i % 2 == 0:
                user = await s.get(User, m.user_id)
                assert user is not None
                await profiles.save(s, user, w.event_id, profiles.ProfileInput("Analyst", "Python, SQL", "", ""), now=clock.now)
    everyone = sorted([f"Tess {i:03d}" for i in range(120)] + ["Tom Talent 0"])
    await sign_in(client, "rec0@example.test")
    base = f"/events/{w.event_id}/talents"

    first = (await client.get(base)).text
    assert talent_names(first) == everyone[:50]
    assert "Showing 1–50 of 121 talents" in first
    assert 'href="?page=2" rel="next">Next</a>' in first and 'rel="prev"' not in first
    assert 'aria-current="page" href="?"><span class="visually-hidden">Page </span>1</a>' in first
    second = (await client.get(base, params={"page": "2"})).text
    assert talent_names(second) == everyone[50:100] and "Showing 51–100 of 121 talents" in second
    assert 'href="?" rel="prev">Previous</a>' in second and 'href="?page=3" rel="next">Next</a>' in second
    last = (await client.get(base, params={"page": "3"})).text
    assert talent_names(last) == everyone[100:] and "Showing 101–121 of 121 talents" in last and 'rel="next"' not in last
    assert talent_names((await client.get(base, params={"page": "99"})).text) == everyone[100:]  # past the end: the last page
    for odd in ("0", "-1", "abc", "9" * 40, "²", "٣", "1.5", " 2"):
        r = await client.get(base, params={"page": odd})
        assert r.status_code == 200 and talent_names(r.text) == everyone[:50], odd

    # A skill filter and a search stay in the page links, and the count is of all matches, not of the page.
    python = [f"Tess {i:03d}" for i in range(0, 120, 2)]
    found = (await client.get(base, params={"skill": "python"})).text
    assert "<strong>60</strong> talents match with the skill “python”" in found
    assert talent_names(found) == python[:50] and "Showing 1–50 of 60 talents" in found
    assert 'href="?skill=python&amp;page=2" rel="next">Next</a>' in found
    assert talent_names((await client.get(base, params={"skill": "python", "page": "2"})).text) == python[50:]
    both = (await client.get(base, params={"q": "tess", "skill": "sql"})).text
    assert 'href="?q=tess&amp;skill=sql&amp;page=2" rel="next"' in both
    few = (await client.get(base, params={"q": "tess 05"})).text  # one page: no pager, no range line
    assert talent_names(few) == [n for n in everyone if "05" in n] and 'class="pager' not in few and "Showing" not in few


async def test_recruiters_with_open_times_come_first_the_others_say_so(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    sm = create_sessionmaker(engine)
    w = await make_world(sm, clock.now, recruiters=2, talents=1)  # Acme Robotics' two recruiters have a window: 8 open slots each
    ctx = actions.Context(now=clock.now)
    async with sm() as s, s.begin():
        early = await actions.add_company(s, w.admin, w.event_id, name="Aardvark Analytics")  # first by name
        ids = []
        for i in range(3):
            m = await actions.add_participant(s, ctx, w.organizer, w.event_id, email=f"aa{i}@example.test", name=f"Alan {i}",
                                              role="recruiter", company_id=early.id)
            ids.append(m.user_id)
    await sign_in(client, "tal0@example.test")
    page = (await client.get(f"/events/{w.event_id}/recruiters")).text
    assert recruiter_names(page) == ["Rita Recruiter 0", "Rita Recruiter 1", "Alan 0", "Alan 1", "Alan 2"]
    cards = re.split(r'<li class="card recruiter"', page)[1:]
    for card in cards[:2]:
        assert '<strong data-testid="open-slots">8</strong> open slots' in card and "No open times yet" not in card
    for card, user_id in zip(cards[2:], ids, strict=True):
        assert '<span class="notimes" data-testid="no-times">No open times yet</span>' in card and "open slots" not in card
        assert "You can still send a request: you pick a time once they add some." in card
        assert f'href="/events/{w.event_id}/request/{user_id}">Request</a>' in card  # requests don't need slots (reference 001, step 4)
    form = await client.get(f"/events/{w.event_id}/request/{ids[0]}")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert csrf
    sent = await client.post(f"/events/{w.event_id}/request/{ids[0]}", data={"csrf": csrf.group(1), "message": "Hello"})
    assert sent.status_code == 303
    page = (await client.get(f"/events/{w.event_id}/recruiters")).text
    alan = re.split(r'<li class="card recruiter"', page)[3]
    assert "View your request" in alan and "You can still send a request" not in alan


async def test_recruiters_come_fifty_a_page_with_the_company_kept(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    sm = create_sessionmaker(engine)
    w = await make_world(sm, clock.now, recruiters=2, talents=1)
    ctx = actions.Context(now=clock.now)
    async with sm() as s, s.begin():
        for i in range(58):
            await actions.add_participant(s, ctx, w.organizer, w.event_id, email=f"r{i:02d}@example.test", name=f"Rob {i:02d}",
                                          role="recruiter", company_id=w.company_id)
    await sign_in(client, "tal0@example.test")
    base = f"/events/{w.event_id}/recruiters"
    first = (await client.get(base)).text
    assert recruiter_names(first) == ["Rita Recruiter 0", "Rita Recruiter 1"] + [f"Rob {i:02d}" for i in range(48)]
    assert "Showing 1–50 of 60 recruiters, those with open times first." in first and 'href="?page=2" rel="next"' in first
    second = (await client.get(base, params={"page": "2", "company": str(w.company_id)})).text
    assert recruiter_names(second) == [f"Rob {i:02d}" for i in range(48, 58)] and "Showing 51–60 of 60" in second
    assert f'href="?company={w.company_id}" rel="prev">Previous</a>' in second
    found = (await client.get(base, params={"q": "rob", "page": "2"})).text  # names and "Acme Robotics": all 60
    assert "<strong>60</strong> recruiters match" in found and recruiter_names(found) == [f"Rob {i:02d}" for i in range(48, 58)]
    assert 'href="?q=rob" rel="prev"' in found
