"""The 1-1 chat list and chat page (web/chat_pages.py): who accepted says who picks, withdrawn kept apart from declined,
rescheduling to the same slot refused, withdrawing asks first and can be undone, the slot picker by day, the room's
transcript. Each runs on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import html
import re
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from scheduling import actions, conversations
from scheduling.db import create_sessionmaker
from scheduling.models import ChatRequest, OutboxMessage, Participant
from scheduling.rooms import room_key
from tests.factories import World, make_world
from tests.web.conftest import FakeClock, token
from tests.web.test_pages import csrf_of, sign_in

NY = ZoneInfo("America/New_York")  # the zone sign_in gives every person


def flashes(page: str) -> list[str]:
    return [html.unescape(m) for m in re.findall(r'<div class="flash [a-z]+" role="[a-z]+">([^<]*)</div>', page)]


def legends(page: str) -> list[str]:
    """The slot picker's day headings, as 'Sat 21 Mar' whether they read 'Saturday 21 March' or 'Sat 21 Mar 2026'."""
    found = re.findall(r'<fieldset class="slots"><legend>(\w+) (\d\d) (\w+)', page)
    return [f"{d[:3]} {n} {m[:3]}" for d, n, m in found]


async def confirmed_chat(sm: async_sessionmaker[AsyncSession], w: World, now: dt.datetime, *, talent: int = 0) -> ChatRequest:
    ctx = actions.Context(now=now)
    start = (now + dt.timedelta(days=1)).replace(hour=1, minute=30)
    async with sm() as s, s.begin():
        chat = await actions.send_request(s, ctx, w.talents[talent], w.event_id, recruiter_id=w.recruiters[0].id)
        await actions.accept(s, ctx, w.recruiters[0], chat.id)
        await actions.book(s, ctx, w.talents[talent], chat.id, start)
    return chat


# --------------------------------------------------------------------------- finding 1: who accepted says who picks


async def test_talent_accepting_a_recruiters_request_is_told_to_pick_a_time(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    sm = create_sessionmaker(engine)
    w = await make_world(sm, clock.now, fmt=actions.ChatFormat(requests_by="recruiters"))
    async with sm() as s, s.begin():
        chat = await actions.send_request(s, actions.Context(now=clock.now), w.recruiters[0], w.event_id, talent_id=w.talents[0].id, message="Hi")
    await sign_in(client, "tal0@example.test")
    page = await client.get(f"/chats/{chat.id}")
    r = await client.post(f"/chats/{chat.id}/accept", data={"csrf": csrf_of(page.text)}, follow_redirects=True)
    assert r.status_code == 200
    [message] = flashes(r.text)
    assert "Pick a time below" in message and "your calendar" not in message
    assert "Pick a time" in r.text and "Confirm 1-1 Chat" in r.text


async def test_recruiter_accepting_says_the_talent_can_pick_from_their_calendar(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    sm = create_sessionmaker(engine)
    w = await make_world(sm, clock.now)
    async with sm() as s, s.begin():
        chat = await actions.send_request(s, actions.Context(now=clock.now), w.talents[0], w.event_id, recruiter_id=w.recruiters[0].id)
    await sign_in(client, "rec0@example.test")
    page = await client.get(f"/chats/{chat.id}")
    r = await client.post(f"/chats/{chat.id}/accept", data={"csrf": csrf_of(page.text)}, follow_redirects=True)
    [message] = flashes(r.text)
    assert message.startswith("Accepted. Tom Talent 0 can now pick a time from your calendar")


# --------------------------------------------------------------------------- finding 2: withdrawn is not declined


async def test_withdrawn_requests_are_counted_apart_from_declined_ones(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    sm = create_sessionmaker(engine)
    w = await make_world(sm, clock.now, recruiters=3)
    ctx = actions.Context(now=clock.now)
    async with sm() as s, s.begin():
        withdrawn = await actions.send_request(s, ctx, w.talents[0], w.event_id, recruiter_id=w.recruiters[0].id)
        await actions.cancel(s, ctx, w.talents[0], withdrawn.id)
        declined = await actions.send_request(s, ctx, w.talents[0], w.event_id, recruiter_id=w.recruiters[1].id)
        await actions.decline(s, ctx, w.recruiters[1], declined.id, "Not hiring juniors")
        called_off = await actions.send_request(s, ctx, w.talents[0], w.event_id, recruiter_id=w.recruiters[2].id)
        await actions.accept(s, ctx, w.recruiters[2], called_off.id)
        await actions.cancel(s, ctx, w.recruiters[2], called_off.id, "Position filled")
    await sign_in(client, "tal0@example.test")

    home = (await client.get(f"/events/{w.event_id}")).text
    counts = dict(re.findall(r'<a href="\?tab=(\w+)"[^>]*>[^<]*<span class="count">(\d+)</span>', home))
    assert counts["declined"] == "1" and counts["cancelled"] == "2", counts
    assert "Withdrawn / cancelled" in home

    declined_tab = (await client.get(f"/events/{w.event_id}?tab=declined")).text
    assert f'data-chat-id="{declined.id}"' in declined_tab and f'data-chat-id="{withdrawn.id}"' not in declined_tab
    assert "Declined by Rita Recruiter 1" in declined_tab

    cancelled_tab = (await client.get(f"/events/{w.event_id}?tab=cancelled")).text
    assert f'data-chat-id="{withdrawn.id}"' in cancelled_tab and f'data-chat-id="{declined.id}"' not in cancelled_tab
    assert "Withdrawn by you" in cancelled_tab and "Cancelled by Rita Recruiter 2" in cancelled_tab
    assert ">Withdrawn</span>" in cancelled_tab

    page = (await client.get(f"/chats/{withdrawn.id}")).text
    assert "Withdrawn by you" in page and f'href="/events/{w.event_id}?tab=cancelled"' in page

    # The API's counts agree.
    me = (await client.get(f"/api/v1/events/{w.event_id}/me", headers=await token(client, "tal0@example.test"))).json()
    assert me["tabs"]["declined"] == 1 and me["tabs"]["cancelled"] == 2

    # The recruiter who received the withdrawn request reads who withdrew it.
    client.cookies.clear()
    await sign_in(client, "rec0@example.test")
    assert "Withdrawn by Tom Talent 0" in (await client.get(f"/events/{w.event_id}?tab=cancelled")).text


# --------------------------------------------------------------------------- finding 6: rescheduling to the same slot


async def test_rescheduling_to_the_current_slot_is_refused_and_not_offered(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    sm = create_sessionmaker(engine)
    w = await make_world(sm, clock.now)
    chat = await confirmed_chat(sm, w, clock.now)
    assert chat.starts_at is not None
    async with sm() as s:
        mails_before = (await s.execute(select(func.count()).select_from(OutboxMessage))).scalar_one()
    await sign_in(client, "rec0@example.test")
    page = (await client.get(f"/chats/{chat.id}")).text
    offered = re.findall(r'<option value="([^"]+)">', page)
    assert offered and chat.starts_at.isoformat() not in offered
    assert dt.datetime.fromisoformat(offered[0]) != chat.starts_at

    r = await client.post(f"/chats/{chat.id}/reschedule", data={"csrf": csrf_of(page), "reason": "Same again", "start": chat.starts_at.isoformat()},
                          follow_redirects=True)
    assert any("already at that time" in m for m in flashes(r.text))
    async with sm() as s:
        again = await s.get(ChatRequest, chat.id)
        assert again is not None and again.status == "confirmed" and again.starts_at == chat.starts_at and again.ical_sequence == chat.ical_sequence
        assert (await s.execute(select(func.count()).select_from(OutboxMessage))).scalar_one() == mails_before

    api = await client.post(f"/api/v1/chat-requests/{chat.id}/reschedule", headers=await token(client, "rec0@example.test"),
                            json={"reason": "Same again", "start": chat.starts_at.isoformat()})
    assert api.status_code == 422 and api.json()["error"]["code"] == "same_slot"


# --------------------------------------------------------------------------- finding 9: withdrawing asks first, and can be undone


async def test_withdrawing_asks_for_confirmation_and_can_be_undone(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    sm = create_sessionmaker(engine)
    w = await make_world(sm, clock.now, fmt=actions.ChatFormat(max_requests_per_talent=3))
    async with sm() as s, s.begin():
        chat = await actions.send_request(s, actions.Context(now=clock.now), w.talents[0], w.event_id, recruiter_id=w.recruiters[0].id,
                                          message="About the robots role")

    async def used() -> int:
        async with sm() as s:
            return int((await s.execute(select(Participant.requests_used).where(Participant.user_id == w.talents[0].id))).scalar_one())

    await sign_in(client, "tal0@example.test")
    page = (await client.get(f"/chats/{chat.id}")).text
    # The withdraw button sits inside a closed <details>: the first click only opens the confirmation.
    block = re.search(r'<details class="confirm" data-testid="withdraw">(.*?)</details>', page, re.S)
    assert block and "Yes, withdraw request" in block.group(1) and f'action="/chats/{chat.id}/cancel"' in block.group(1)
    outside = page.replace(block.group(0), "")
    assert f'action="/chats/{chat.id}/cancel"' not in outside
    assert await used() == 1

    r = await client.post(f"/chats/{chat.id}/cancel", data={"csrf": csrf_of(page)}, follow_redirects=True)
    assert "Request withdrawn." in r.text and "Undo: send the request again" in r.text
    assert "Tom Talent 0 withdrew the request" in r.text
    assert await used() == 0

    r = await client.post(f"/chats/{chat.id}/resend", data={"csrf": csrf_of(page)}, follow_redirects=True)
    assert "Request sent again." in r.text
    new_id = int(re.search(r"/chats/(\d+)$", str(r.url)).group(1))  # type: ignore[union-attr]
    assert new_id != chat.id
    async with sm() as s:
        again = await s.get(ChatRequest, new_id)
        assert again is not None and again.status == "pending" and again.message == "About the robots role"
    assert await used() == 1
    # The first request no longer offers the undo: the pair has an open request again.
    assert "Undo: send the request again" not in (await client.get(f"/chats/{chat.id}")).text

    # Withdrawn again, but the undo is too late now.
    page = (await client.get(f"/chats/{new_id}")).text
    await client.post(f"/chats/{new_id}/cancel", data={"csrf": csrf_of(page)})
    clock.now += dt.timedelta(minutes=11)
    late = await client.get(f"/chats/{new_id}")
    assert "Undo: send the request again" not in late.text
    r = await client.post(f"/chats/{new_id}/resend", data={"csrf": csrf_of(page)}, follow_redirects=True)
    assert any("can be sent again for 10 minutes" in m for m in flashes(r.text))
    assert await used() == 0


async def test_only_the_sender_can_undo_and_only_a_withdrawal(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    sm = create_sessionmaker(engine)
    w = await make_world(sm, clock.now)
    ctx = actions.Context(now=clock.now)
    async with sm() as s, s.begin():
        withdrawn = await actions.send_request(s, ctx, w.talents[0], w.event_id, recruiter_id=w.recruiters[0].id)
        await actions.cancel(s, ctx, w.talents[0], withdrawn.id)
    await sign_in(client, "rec0@example.test")
    page = await client.get(f"/chats/{withdrawn.id}")
    assert "Undo" not in page.text
    r = await client.post(f"/chats/{withdrawn.id}/resend", data={"csrf": csrf_of(page.text)}, follow_redirects=True)
    assert any("Only the person who sent this request" in m for m in flashes(r.text))
    async with sm() as s:
        assert (await s.execute(select(func.count()).select_from(ChatRequest))).scalar_one() == 1


# --------------------------------------------------------------------------- the slot picker, one day at a time


async def test_slot_picker_shows_one_day_at_a_time_with_a_day_selector(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    sm = create_sessionmaker(engine)
    w = await make_world(sm, clock.now, days=3)
    start = (clock.now + dt.timedelta(days=1)).replace(hour=0, minute=0)
    ctx = actions.Context(now=clock.now)
    async with sm() as s, s.begin():
        # 14:00-16:00 UTC on the event's first and third day: 10:00-12:00 in New York, two days four slots each.
        await actions.set_recruiter_profile(s, w.recruiters[0], w.event_id, w.recruiters[0].id, booking_mode="selective", custom_question="",
                                            ideal_candidate="", availability=[
                                                actions.Window(start + dt.timedelta(hours=14), start + dt.timedelta(hours=16)),
                                                actions.Window(start + dt.timedelta(days=2, hours=14), start + dt.timedelta(days=2, hours=16))])
        chat = await actions.send_request(s, ctx, w.talents[0], w.event_id, recruiter_id=w.recruiters[0].id)
        await actions.accept(s, ctx, w.recruiters[0], chat.id)
    await sign_in(client, "tal0@example.test")
    page = (await client.get(f"/chats/{chat.id}")).text
    days = re.findall(r'<a href="\?day=(\d{4}-\d\d-\d\d)#pick"', page)
    assert days == ["2026-03-21", "2026-03-23"]
    assert "Times in America/New_York" in page
    assert re.search(r'<a href="\?day=2026-03-21#pick" aria-current="true">', page)
    assert legends(page) == ["Sat 21 Mar"]
    assert re.findall(r'<span>(\d\d:\d\d–\d\d:\d\d)</span>', page) == ["10:00–10:30", "10:30–11:00", "11:00–11:30", "11:30–12:00"]

    other = (await client.get(f"/chats/{chat.id}?day=2026-03-23")).text
    assert legends(other) == ["Mon 23 Mar"]
    assert re.search(r'<a href="\?day=2026-03-23#pick" aria-current="true">', other)
    monday_slot = re.search(r'name="start" value="([^"]+)"', other)
    assert monday_slot and dt.datetime.fromisoformat(monday_slot.group(1)) == start + dt.timedelta(days=2, hours=14)

    # A day without slots (or nonsense) falls back to the first day with slots.
    assert legends((await client.get(f"/chats/{chat.id}?day=2026-03-22")).text) == ["Sat 21 Mar"]
    assert legends((await client.get(f"/chats/{chat.id}?day=%3Cscript%3E")).text) == ["Sat 21 Mar"]

    r = await client.post(f"/chats/{chat.id}/book", data={"csrf": csrf_of(other), "start": monday_slot.group(1)}, follow_redirects=True)
    assert "Your 1-1 chat is confirmed" in r.text and "Mon 23 Mar 2026, 10:00–10:30 (America/New_York)" in r.text


# --------------------------------------------------------------------------- the room's transcript


async def test_transcript_shows_room_messages_once_the_chat_has_started(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    sm = create_sessionmaker(engine)
    w = await make_world(sm, clock.now, talents=2)
    chat = await confirmed_chat(sm, w, clock.now)
    assert chat.starts_at is not None
    t0 = chat.starts_at + dt.timedelta(minutes=1)
    async with sm() as s, s.begin():
        key = room_key(chat.id)
        await conversations.append(s, key, kind="presence", author_id=w.talents[0].id, body={"conn": "c1", "state": "joined"}, now=t0)
        await conversations.append(s, key, kind="message", author_id=w.talents[0].id,
                                   body={"text": "Hello <b>there</b> & welcome", "name": "Tom Talent 0", "role": "talent"}, now=t0)
        await conversations.append(s, key, kind="message", author_id=w.recruiters[0].id,
                                   body={"text": "Here is the link: https://acme.example/jobs", "name": "Rita Recruiter 0", "role": "recruiter"},
                                   now=t0 + dt.timedelta(minutes=2))

    await sign_in(client, "tal0@example.test")
    before = (await client.get(f"/chats/{chat.id}")).text
    assert "Messages from the video room" not in before and "Hello" not in before

    clock.now = chat.starts_at + dt.timedelta(minutes=5)
    page = (await client.get(f"/chats/{chat.id}")).text
    assert "Messages from the video room" in page
    assert "Hello &lt;b&gt;there&lt;/b&gt; &amp; welcome" in page and "<b>there</b>" not in page
    lines = re.findall(r'<li class="line( mine)?">\s*<div class="meta"><strong>([^<]+)</strong>', page)
    assert lines == [(" mine", "You"), ("", "Rita Recruiter 0")]
    # Times in the viewer's zone (New York), naming it: 01:31 UTC is 21:31 EDT the evening before.
    local = t0.astimezone(NY)
    assert f"{local.strftime('%a %d %b %Y')}, {local.strftime('%H:%M')} EDT" in page
    assert page.count('class="line') == 2  # the presence entry is not a line
    # Once started, the chat can't be moved or cancelled, so neither is offered.
    assert "can no longer be moved or cancelled" in page
    assert f'action="/chats/{chat.id}/reschedule"' not in page and f'action="/chats/{chat.id}/cancel"' not in page
    assert f'action="/chats/{chat.id}/reschedule"' in before

    # The organizer reads it too; another talent gets not-found.
    client.cookies.clear()
    await sign_in(client, "org@example.test")
    assert "Here is the link: https://acme.example/jobs" in (await client.get(f"/chats/{chat.id}")).text
    client.cookies.clear()
    await sign_in(client, "tal1@example.test")
    assert (await client.get(f"/chats/{chat.id}")).status_code == 404


async def test_transcript_says_when_nothing_was_written(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    sm = create_sessionmaker(engine)
    w = await make_world(sm, clock.now)
    chat = await confirmed_chat(sm, w, clock.now)
    assert chat.ends_at is not None
    clock.now = chat.ends_at + dt.timedelta(hours=1)
    async with sm() as s, s.begin():
        await actions.complete_due(s, actions.Context(now=clock.now))
    await sign_in(client, "rec0@example.test")
    page = (await client.get(f"/chats/{chat.id}")).text
    assert "Messages from the video room" in page and "No messages were written in the room." in page


async def test_two_undo_clicks_at_once_send_the_request_once(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    import asyncio

    sm = create_sessionmaker(engine)
    w = await make_world(sm, clock.now, fmt=actions.ChatFormat(max_requests_per_talent=2))
    ctx = actions.Context(now=clock.now)
    async with sm() as s, s.begin():
        chat = await actions.send_request(s, ctx, w.talents[0], w.event_id, recruiter_id=w.recruiters[0].id, message="Hello")
        await actions.cancel(s, ctx, w.talents[0], chat.id)
    await sign_in(client, "tal0@example.test")
    page = (await client.get(f"/chats/{chat.id}")).text
    answers = await asyncio.gather(*(client.post(f"/chats/{chat.id}/resend", data={"csrf": csrf_of(page)}) for _ in range(2)))
    assert sorted(a.status_code for a in answers) == [303, 303]
    async with sm() as s:
        pending = (await s.execute(select(func.count()).select_from(ChatRequest).where(ChatRequest.status == "pending"))).scalar_one()
        used = (await s.execute(select(Participant.requests_used).where(Participant.user_id == w.talents[0].id))).scalar_one()
    assert pending == 1 and used == 1


async def test_history_tells_a_withdrawal_from_an_organizers_cancel(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    sm = create_sessionmaker(engine)
    w = await make_world(sm, clock.now, recruiters=2)
    ctx = actions.Context(now=clock.now)
    async with sm() as s, s.begin():
        own = await actions.send_request(s, ctx, w.talents[0], w.event_id, recruiter_id=w.recruiters[0].id)
        await actions.cancel(s, ctx, w.talents[0], own.id)
        by_org = await actions.send_request(s, ctx, w.talents[0], w.event_id, recruiter_id=w.recruiters[1].id)
        await actions.cancel(s, ctx, w.organizer, by_org.id, "The recruiter left the event")
    await sign_in(client, "tal0@example.test")
    own_page = (await client.get(f"/chats/{own.id}")).text
    assert "Tom Talent 0 withdrew the request" in own_page and "Withdrawn by you" in own_page
    org_page = (await client.get(f"/chats/{by_org.id}")).text
    assert "Olga Organizer cancelled the request" in org_page and "Cancelled by Olga Organizer" in org_page and "withdrew" not in org_page
    assert "Undo" not in org_page


async def test_transcript_api(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    sm = create_sessionmaker(engine)
    w = await make_world(sm, clock.now, talents=2)
    chat = await confirmed_chat(sm, w, clock.now)
    assert chat.starts_at is not None
    async with sm() as s, s.begin():
        await conversations.append(s, room_key(chat.id), kind="message", author_id=w.recruiters[0].id,
                                   body={"text": "Welcome!", "name": "Rita Recruiter 0", "role": "recruiter"}, now=chat.starts_at)
    url = f"/api/v1/chats/{chat.id}/transcript"
    tal = await token(client, "tal0@example.test")
    early = await client.get(url, headers=tal)
    assert early.status_code == 200 and early.json() == {"chat_id": chat.id, "available": False, "lines": [], "truncated": False}
    clock.now = chat.starts_at + dt.timedelta(minutes=3)
    for email in ("tal0@example.test", "rec0@example.test", "org@example.test"):
        body = (await client.get(url, headers=await token(client, email))).json()
        assert body["available"] is True and [(x["author"]["name"], x["role"], x["text"]) for x in body["lines"]] == [
            ("Rita Recruiter 0", "recruiter", "Welcome!")]
        assert dt.datetime.fromisoformat(body["lines"][0]["at"]) == chat.starts_at
    stranger = await client.get(url, headers=await token(client, "tal1@example.test"))
    assert stranger.status_code == 404 and stranger.json()["error"]["code"] == "chat_not_found"
    assert (await client.get(url)).status_code == 401
