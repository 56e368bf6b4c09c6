"""Pages without a browser: sign-in, CSRF, escaping, the calendar feed, the mailbox."""

from __future__ import annotations

import datetime as dt
import re

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from scheduling import actions
from scheduling.db import create_sessionmaker
from tests.factories import PASSWORD, make_world
from tests.web.conftest import FakeClock


async def sign_in(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> httpx.Response:
    page = await client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf
    return await client.post("/login", data={"email": email, "password": password, "csrf": csrf.group(1), "next": "/", "tz": "America/New_York"})


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found
    return found.group(1)


async def test_anonymous_visitors_go_to_sign_in(client: httpx.AsyncClient) -> None:
    r = await client.get("/events/1")
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=%2Fevents%2F1")


async def test_wrong_password_says_so_and_right_one_signs_in(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    w = await make_world(create_sessionmaker(engine), clock.now)
    r = await sign_in(client, "tal0@example.test", "nope nope nope")
    assert r.status_code == 401 and "Email or password is wrong." in r.text
    r = await sign_in(client, "tal0@example.test")
    assert r.status_code == 303
    home = await client.get("/", follow_redirects=True)
    assert home.status_code == 200 and "1-1 chats" in home.text and f"/events/{w.event_id}" in str(home.url)
    # The browser's zone given at sign-in is now the person's zone.
    assert "Times are shown in America/New_York" in home.text


async def test_forms_without_csrf_token_are_refused(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    w = await make_world(create_sessionmaker(engine), clock.now)
    await sign_in(client, "tal0@example.test")
    r = await client.post(f"/events/{w.event_id}/request/{w.recruiters[0].id}", data={"message": "hi"})
    assert r.status_code == 403 and "expired" in r.text
    chats = (await client.get(f"/events/{w.event_id}")).text
    assert "Waiting for feedback" not in chats


async def test_user_text_is_escaped(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    sm = create_sessionmaker(engine)
    w = await make_world(sm, clock.now)
    async with sm() as s, s.begin():
        chat = await actions.send_request(s, actions.Context(now=clock.now), w.talents[0], w.event_id, recruiter_id=w.recruiters[0].id,
                                          message="<script>alert(1)</script>")
    await sign_in(client, "rec0@example.test")
    page = await client.get(f"/chats/{chat.id}")
    assert page.status_code == 200
    assert "<script>alert(1)</script>" not in page.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text


async def test_request_form_keeps_the_message_when_the_answer_is_missing(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    w = await make_world(create_sessionmaker(engine), clock.now, question="Why robots?")
    await sign_in(client, "tal0@example.test")
    form = await client.get(f"/events/{w.event_id}/request/{w.recruiters[0].id}")
    assert "Why robots?" in form.text
    r = await client.post(f"/events/{w.event_id}/request/{w.recruiters[0].id}", data={"csrf": csrf_of(form.text), "message": "My long intro", "answer": ""})
    assert r.status_code == 422 and "answer it to send your request" in r.text and "My long intro" in r.text


async def test_page_actions_book_and_show_times_in_the_viewers_zone(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    sm = create_sessionmaker(engine)
    w = await make_world(sm, clock.now)
    ctx = actions.Context(now=clock.now)
    async with sm() as s, s.begin():
        chat = await actions.send_request(s, ctx, w.talents[0], w.event_id, recruiter_id=w.recruiters[0].id)
        await actions.accept(s, ctx, w.recruiters[0], chat.id)
    await sign_in(client, "tal0@example.test")
    page = await client.get(f"/chats/{chat.id}")
    assert "Confirm 1-1 Chat" in page.text
    first = re.search(r'name="start" value="([^"]+)"', page.text)
    assert first
    r = await client.post(f"/chats/{chat.id}/book", data={"csrf": csrf_of(page.text), "start": first.group(1)}, follow_redirects=True)
    assert "Your 1-1 chat is confirmed" in r.text and "Confirmed" in r.text
    # 2026-03-21 01:00 UTC is 21:00 on the 20th in New York, and 02:00 in Berlin (the event's zone).
    assert "Fri 20 Mar 2026, 21:00–21:30 (America/New_York)" in r.text and "event time Sat 02:00–02:30 (Europe/Berlin)" in r.text
    # Booking the same chat again (a second tab) is a readable message, not a crash.
    r = await client.post(f"/chats/{chat.id}/book", data={"csrf": csrf_of(page.text), "start": first.group(1)}, follow_redirects=True)
    assert r.status_code == 200 and "it can&#39;t be booked now" in r.text


async def test_stranger_gets_not_found_page(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    sm = create_sessionmaker(engine)
    w = await make_world(sm, clock.now, talents=2)
    async with sm() as s, s.begin():
        chat = await actions.send_request(s, actions.Context(now=clock.now), w.talents[0], w.event_id, recruiter_id=w.recruiters[0].id)
    await sign_in(client, "tal1@example.test")
    r = await client.get(f"/chats/{chat.id}")
    assert r.status_code == 404 and "No such chat request." in r.text


async def test_sign_in_link_works_once(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    from scheduling import accounts

    sm = create_sessionmaker(engine)
    await make_world(sm, clock.now)
    async with sm() as s, s.begin():
        user = await accounts.user_by_email(s, "tal0@example.test")
        assert user is not None
        secret = await accounts.issue_login_link(s, user, now=clock.now, lifetime=dt.timedelta(minutes=30))
    landing = await client.get(f"/login/link/{secret}")
    assert landing.status_code == 200 and "Continue" in landing.text
    r = await client.post(f"/login/link/{secret}", data={"csrf": csrf_of(landing.text), "next": "/account"})
    assert r.status_code == 303 and r.headers["location"] == "/account"
    assert "Calendar subscription" in (await client.get("/account")).text
    client.cookies.clear()
    landing = await client.get(f"/login/link/{secret}")
    r = await client.post(f"/login/link/{secret}", data={"csrf": csrf_of(landing.text)})
    assert r.status_code == 410 and "expired or was already used" in r.text


async def test_calendar_feed_lists_confirmed_chats(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    sm = create_sessionmaker(engine)
    w = await make_world(sm, clock.now)
    ctx = actions.Context(now=clock.now)
    start = (clock.now + dt.timedelta(days=1)).replace(hour=1, minute=30)
    async with sm() as s, s.begin():
        chat = await actions.send_request(s, ctx, w.talents[0], w.event_id, recruiter_id=w.recruiters[0].id)
        await actions.accept(s, ctx, w.recruiters[0], chat.id)
        await actions.book(s, ctx, w.talents[0], chat.id, start)
    feed = await client.get(f"/calendar/{w.recruiters[0].calendar_token}.ics")
    assert feed.status_code == 200 and feed.headers["content-type"].startswith("text/calendar")
    assert "DTSTART:20260321T013000Z" in feed.text and "METHOD" not in feed.text
    assert (await client.get("/calendar/not-a-token.ics")).status_code == 404


async def test_mailbox_shows_only_own_mail(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    sm = create_sessionmaker(engine)
    w = await make_world(sm, clock.now, talents=2)
    async with sm() as s, s.begin():
        await actions.send_request(s, actions.Context(now=clock.now), w.talents[0], w.event_id, recruiter_id=w.recruiters[0].id, message="Hello Rita")
    await sign_in(client, "rec0@example.test")
    assert "New 1-1 chat request from Tom Talent 0" in (await client.get("/mailbox")).text
    client.cookies.clear()
    await sign_in(client, "tal1@example.test")
    assert "New 1-1 chat request" not in (await client.get("/mailbox")).text


async def test_sign_out_voids_every_copy_of_the_session_cookie(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    w = await make_world(create_sessionmaker(engine), clock.now)
    await sign_in(client, "tal0@example.test")
    stolen = dict(client.cookies)
    page = await client.get(f"/events/{w.event_id}")
    assert page.status_code == 200
    await client.post("/logout", data={"csrf": csrf_of(page.text)})
    client.cookies.clear()
    client.cookies.update(stolen)
    r = await client.get(f"/events/{w.event_id}")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


async def test_huge_and_odd_numbers_in_urls_and_forms_are_not_errors(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    w = await make_world(create_sessionmaker(engine), clock.now)
    await sign_in(client, "tal0@example.test")
    assert (await client.get("/chats/99999999999999999999")).status_code == 404
    assert (await client.get(f"/events/{w.event_id}/recruiters?company=%C2%B2")).status_code == 200
    # A talent can't open a request form addressed to another talent.
    assert (await client.get(f"/events/{w.event_id}/request/{w.talents[0].id}")).status_code == 404
