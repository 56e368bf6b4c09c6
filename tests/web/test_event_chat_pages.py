"""Booth and support chat pages at a live event, without a browser: who sees a booth, when it is open, what the page
hands candidate.js (the CSRF token that the start API accepts), the booth buttons on the talents' recruiter list and the
Help page (also as the video room's embedded panel)."""

from __future__ import annotations

import datetime as dt
import html
import re

import httpx
from markupsafe import escape
from sqlalchemy.ext.asyncio import AsyncEngine

from scheduling import accounts, actions
from scheduling.db import create_sessionmaker
from scheduling.livechat import chats
from tests.factories import PASSWORD, World, make_world
from tests.web.conftest import FakeClock
from tests.web.test_pages import csrf_of, sign_in

HOSTILE = '<img src=x onerror="alert(1)">{{7*7}}'


async def world(engine: AsyncEngine, now: dt.datetime) -> World:
    """Spring Hiring Days (tomorrow, two days), Acme Robotics with one recruiter, one talent, an organizer."""
    w = await make_world(create_sessionmaker(engine), now)
    assert now == start(w) - dt.timedelta(hours=16)
    return w


async def as_user(client: httpx.AsyncClient, email: str) -> None:
    client.cookies.clear()
    r = await sign_in(client, email)
    assert r.status_code == 303, r.text


def start(w: World) -> dt.datetime:
    """When make_world's event starts: 00:00 UTC the day after the tests' `now` (2026-03-20 08:00 UTC)."""
    return dt.datetime(2026, 3, 21, tzinfo=dt.UTC)


def data(page: str, name: str) -> str | None:
    found = re.search(rf' data-{name}="([^"]*)"', page)
    return html.unescape(found.group(1)) if found else None


async def test_a_talent_at_a_live_booth_gets_the_company_and_a_chat_panel_that_can_start(
    client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock
) -> None:
    w = await world(engine, clock.now)
    clock.now = start(w) + dt.timedelta(hours=2)
    await as_user(client, "tal0@example.test")
    r = await client.get(f"/events/{w.event_id}/booths/{w.company_id}")
    assert r.status_code == 200, r.text
    page = r.text
    assert "<h1 id=\"booth-title\">Acme Robotics</h1>" in page and "We build robots." in page
    assert 'href="https://acme.example"' in page and "Rita Recruiter 0" in page  # who staffs the booth
    assert 'aria-current="page">Recruiters</a>' in page  # the booth sits under the event's recruiter list
    # The panel in its event mode: no pre-chat form, the start URL, this booth, the page's CSRF token.
    assert 'id="lc"' in page and data(page, "mode") == "event" and "/static/livechat/candidate.js" in page
    assert data(page, "start-url") == f"/api/v1/events/{w.event_id}/live-chats"
    assert data(page, "company-id") == str(w.company_id) and data(page, "embed") is None
    assert data(page, "email") == "tal0@example.test"
    csrf = data(page, "csrf")
    assert csrf and csrf == csrf_of(page)  # the session's token, the same the sign-out form carries
    assert "lc-ask" not in page and "Your name" not in page
    policy = r.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'self'" in policy

    # What the panel's one click does: the API takes that token from this session, and no other.
    url = f"/api/v1/events/{w.event_id}/live-chats"
    refused = await client.post(url, json={"company_id": w.company_id}, headers={"X-CSRF-Token": "stale"})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "csrf"
    started = await client.post(url, json={"company_id": w.company_id, "source_url": str(r.url)}, headers={"X-CSRF-Token": csrf})
    assert started.status_code == 201, started.text
    assert started.json()["status"] == "away" and started.json()["token"]  # nobody at the booth is available: a note


async def test_booth_text_is_escaped_and_only_web_links_are_links(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    w = await world(engine, clock.now)
    async with create_sessionmaker(engine)() as s, s.begin():
        company = await actions.add_company(s, w.admin, w.event_id, name=HOSTILE, description=f"Line one\nline two\n\n{HOSTILE}")
        company.website = "javascript:alert(1)"  # the actions refuse it; a row from elsewhere must still not become a link
    clock.now = start(w) + dt.timedelta(hours=2)
    await as_user(client, "tal0@example.test")
    page = (await client.get(f"/events/{w.event_id}/booths/{company.id}")).text
    assert HOSTILE not in page and str(escape(HOSTILE)) in page
    assert "49" not in page  # a template expression in data stays text
    assert "javascript:" not in page
    assert data(page, "company") == HOSTILE and data(page, "intro") == f"Nobody from {HOSTILE} is at the booth right now. Leave a " \
        "message; a recruiter answers when back, by email."  # escaped into the attribute, read back intact by the browser


async def test_strangers_and_other_events_companies_are_not_found(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    w = await world(engine, clock.now)
    async with create_sessionmaker(engine)() as s, s.begin():
        other = await actions.create_event(s, actions.Context(now=clock.now), w.admin, name="Autumn Fair", timezone="Europe/Berlin",
                                           starts_at=start(w), ends_at=start(w) + dt.timedelta(days=1), fmt=actions.ChatFormat())
        elsewhere = await actions.add_company(s, w.admin, other.id, name="Elsewhere GmbH")
        await accounts.create_user(s, email="stranger@example.test", name="Sam Stranger", password=PASSWORD, now=clock.now)
    clock.now = start(w) + dt.timedelta(hours=2)
    booth = f"/events/{w.event_id}/booths/{w.company_id}"

    anonymous = await client.get(booth)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login?next=")
    await as_user(client, "stranger@example.test")
    for path in (booth, f"/events/{w.event_id}/support", f"/events/{w.event_id}/support?embed=1"):
        r = await client.get(path)
        assert r.status_code == 404, path
        assert "Acme Robotics" not in r.text and "data-start-url" not in r.text
    await as_user(client, "tal0@example.test")
    for path in (f"/events/{w.event_id}/booths/{elsewhere.id}", f"/events/{other.id}/booths/{elsewhere.id}",
                 f"/events/{w.event_id}/booths/999999", f"/events/999999/booths/{w.company_id}"):
        r = await client.get(path)
        assert r.status_code == 404, path
        assert "data-start-url" not in r.text


async def test_recruiters_and_organizers_are_refused_at_booths(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    w = await world(engine, clock.now)
    clock.now = start(w) + dt.timedelta(hours=2)
    for email in ("rec0@example.test", "org@example.test"):
        await as_user(client, email)
        r = await client.get(f"/events/{w.event_id}/booths/{w.company_id}")
        assert r.status_code == 403, email
        assert "Booth chats are for the event&#39;s talents." in r.text and "data-start-url" not in r.text


async def test_outside_the_live_window_the_booth_says_when_it_opens_or_that_it_closed(
    client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock
) -> None:
    w = await world(engine, clock.now)
    await as_user(client, "tal0@example.test")
    booth = f"/events/{w.event_id}/booths/{w.company_id}"
    moments = [
        (start(w) - dt.timedelta(hours=1, minutes=1), "Booth chat opens when the event starts"),
        (start(w) - dt.timedelta(hours=1), None),  # an hour early, as the API: open
        (start(w) + dt.timedelta(days=2, seconds=-1), None),
        (start(w) + dt.timedelta(days=2), "Booth chats have closed"),
    ]
    for moment, closed in moments:
        clock.now = moment
        r = await client.get(booth)
        assert r.status_code == 200, moment
        assert "Acme Robotics" in r.text and "We build robots." in r.text  # the company is there either way
        if closed:
            assert closed in r.text and 'id="lc"' not in r.text, moment
        else:
            assert 'id="lc"' in r.text and "Booth chat opens" not in r.text, moment
    clock.now = start(w) - dt.timedelta(hours=3)
    page = (await client.get(booth)).text
    # The hour it opens, in the talent's own zone (New York, from the browser at sign-in): 23:00 UTC is 19:00 there.
    assert "here from Fri 20 Mar 2026, 19:00 EDT, an hour before Spring Hiring Days begins." in page  # the zone named


async def test_the_recruiter_list_offers_booths_to_talents_while_the_event_runs(
    client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock
) -> None:
    w = await world(engine, clock.now)
    async with create_sessionmaker(engine)() as s, s.begin():
        second = await actions.add_company(s, w.admin, w.event_id, name="Bluefin <Health>")
    recruiters = f"/events/{w.event_id}/recruiters"
    button = f'href="/events/{w.event_id}/booths/{w.company_id}">Chat with Acme Robotics now</a>'
    second_button = f'href="/events/{w.event_id}/booths/{second.id}">Leave Bluefin &lt;Health&gt; a message</a>'  # nobody there

    await as_user(client, "tal0@example.test")
    page = (await client.get(recruiters)).text  # the day before
    assert "Booth chat opens when the event starts." in page and "/booths/" not in page
    clock.now = start(w) + dt.timedelta(hours=2)
    async with create_sessionmaker(engine)() as s, s.begin():  # Acme's recruiter at the console (tests/web/test_booth_open.py)
        await chats.set_agent(s, w.recruiters[0], clock.now, available=True)
    page = (await client.get(recruiters)).text
    assert button in page and second_button in page and "Booth chat opens" not in page
    assert page.count(button) == 1  # once per company, not once per recruiter card
    page = (await client.get(recruiters, params={"company": second.id})).text
    assert second_button in page and button not in page  # the company filter narrows the booths too

    for email in ("rec0@example.test", "org@example.test"):
        await as_user(client, email)
        page = (await client.get(recruiters)).text
        assert r"/booths/" not in page and "Booth chat" not in page, email

    await as_user(client, "tal0@example.test")
    clock.now = start(w) + dt.timedelta(days=2)
    page = (await client.get(recruiters)).text
    assert "/booths/" not in page and "Booth chat opens" not in page  # over


async def test_help_page_runs_the_support_chat_for_members_and_sends_organizers_to_the_console(
    client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock
) -> None:
    w = await world(engine, clock.now)
    async with create_sessionmaker(engine)() as s, s.begin():
        event = await actions.get_event(s, w.event_id)
        event.support_email = "help@spring.example"
    clock.now = start(w) + dt.timedelta(hours=2)
    support = f"/events/{w.event_id}/support"

    for email in ("tal0@example.test", "rec0@example.test"):
        await as_user(client, email)
        r = await client.get(support)
        assert r.status_code == 200, r.text
        page = r.text
        assert data(page, "mode") == "event" and data(page, "start-url") == f"/api/v1/events/{w.event_id}/live-chats"
        assert data(page, "company-id") is None and data(page, "resume") == "off" and data(page, "csrf") == csrf_of(page)
        assert 'href="mailto:help@spring.example?subject=' in page  # email stays as the fallback
        assert f'<a href="{support}" aria-current="page">Help</a>' in page  # the event nav's Help link
        started = await client.post(f"/api/v1/events/{w.event_id}/live-chats", json={}, headers={"X-CSRF-Token": data(page, "csrf") or ""})
        assert started.status_code == 201 and started.json()["status"] == "away", started.text

        # The same panel alone, for the video room's drawer: no site chrome, framed by Fairmeet's own pages only.
        r = await client.get(support, params={"embed": "1"})
        assert r.status_code == 200 and data(r.text, "embed") == "1" and "lc-widget" in r.text
        assert 'class="eventbar"' not in r.text and 'class="topbar"' not in r.text
        assert r.headers["content-security-policy"].endswith("frame-ancestors 'self'") and r.headers["cache-control"] == "no-store"
        # The Help link shows on the event's other pages too.
        assert re.search(rf'<a href="{support}"[^>]*>Help</a>', (await client.get(f"/events/{w.event_id}/schedule")).text)

    await as_user(client, "org@example.test")
    page = (await client.get(support)).text
    assert "data-start-url" not in page and 'href="/live/console"' in page
    assert f'href="{support}"' not in (await client.get(f"/events/{w.event_id}/schedule")).text  # organizers answer; no Help tab

    await as_user(client, "tal0@example.test")
    clock.now = start(w) - dt.timedelta(hours=2)
    for path in (support, support + "?embed=1"):
        r = await client.get(path)
        assert r.status_code == 200 and "Support chat opens when the event starts" in r.text and 'id="lc"' not in r.text
