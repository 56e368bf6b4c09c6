"""Slot watches: two talents race for a recruiter's last slot; the one who lost is told, once, by email and on the chat
page, when a slot opens again (a cancel, a reschedule, new availability), and again after finding nothing once more."""

from __future__ import annotations

import asyncio
import datetime as dt

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from scheduling import actions
from scheduling.db import create_sessionmaker
from scheduling.errors import SlotTaken
from scheduling.models import ChatRequest, OutboxMessage, SlotWatch
from tests.factories import World, make_world
from tests.web.conftest import FakeClock
from tests.web.test_dashboard import as_user

SLOT = dt.timedelta(minutes=30)


async def _two_accepted(sm: async_sessionmaker[AsyncSession], now: dt.datetime, slots: int = 1) -> tuple[World, list[int], dt.datetime]:
    """One recruiter with `slots` slots (01:00 UTC on), two talents whose requests are accepted."""
    w = await make_world(sm, now, talents=2, window=(dt.timedelta(hours=1), dt.timedelta(hours=1) + slots * SLOT))
    ctx = actions.Context(now=now)
    ids = []
    async with sm() as s, s.begin():
        for talent in w.talents:
            chat = await actions.send_request(s, ctx, talent, w.event_id, recruiter_id=w.recruiters[0].id)
            await actions.accept(s, ctx, w.recruiters[0], chat.id)
            ids.append(chat.id)
    return w, ids, (now + dt.timedelta(days=1)).replace(hour=1, minute=0)


async def _opened_mails(sm: async_sessionmaker[AsyncSession]) -> list[OutboxMessage]:
    async with sm() as s:
        return list((await s.execute(select(OutboxMessage).where(OutboxMessage.kind == "slot_opened").order_by(OutboxMessage.id))).scalars())


async def _race(sm: async_sessionmaker[AsyncSession], w: World, ids: list[int], start: dt.datetime, now: dt.datetime) -> tuple[int, int]:
    """Both talents book the last slot at once; returns (winner's chat, loser's chat)."""
    async def book(i: int) -> bool:
        try:
            async with sm() as s, s.begin():
                await actions.book(s, actions.Context(now=now), w.talents[i], ids[i], start)
        except SlotTaken:
            return False
        return True

    won = await asyncio.gather(book(0), book(1))
    assert sorted(won) == [False, True]
    return (ids[0], ids[1]) if won[0] else (ids[1], ids[0])


async def test_the_talent_who_lost_the_last_slot_is_told_once_when_it_opens(client: httpx.AsyncClient, engine: AsyncEngine,
                                                                            clock: FakeClock) -> None:
    sm = create_sessionmaker(engine)
    w, ids, start = await _two_accepted(sm, clock.now)
    winner, loser = await _race(sm, w, ids, start, clock.now)
    loser_email = "tal0@example.test" if loser == ids[0] else "tal1@example.test"
    winner_user = w.talents[0] if winner == ids[0] else w.talents[1]

    await as_user(client, loser_email)
    page = await client.get(f"/chats/{loser}")
    assert 'data-testid="slot-watch"' in page.text and "We'll email you when a slot opens." in page.text
    async with sm() as s:
        watch = await s.get(SlotWatch, loser)
        assert watch is not None and watch.notified_at is None and watch.recruiter_id == w.recruiters[0].id
    assert await _opened_mails(sm) == []

    # The winner cancels: the slot is free again, and the loser is told by email.
    async with sm() as s, s.begin():
        await actions.cancel(s, actions.Context(now=clock.now, base_url="http://testserver"), winner_user, winner, "Found a job")
    [mail] = await _opened_mails(sm)
    assert mail.to_email == loser_email and mail.subject == "A slot opened for your 1-1 chat with Rita Recruiter 0"
    assert f"http://testserver/chats/{loser}" in mail.body_text
    assert "Fri 20 Mar 2026, 21:00–21:30 EDT (America/New_York)" in mail.body_text  # in the talent's zone (set at sign-in), named as every mail names it
    page = await client.get(f"/chats/{loser}")
    assert 'data-testid="slot-opened"' in page.text and "A slot opened up" in page.text and start.isoformat() in page.text

    # Told once: another change that leaves a slot free sends nothing more.
    async with sm() as s, s.begin():
        await actions.set_recruiter_profile(s, w.recruiters[0], w.event_id, w.recruiters[0].id, booking_mode="selective", custom_question="",
                                            ideal_candidate="", availability=[actions.Window(start, start + 2 * SLOT)],
                                            ctx=actions.Context(now=clock.now))
    assert len(await _opened_mails(sm)) == 1


async def test_a_watch_rearms_when_the_talent_again_finds_nothing(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    sm = create_sessionmaker(engine)
    w, ids, start = await _two_accepted(sm, clock.now)
    ctx = actions.Context(now=clock.now)
    async with sm() as s, s.begin():
        await actions.book(s, ctx, w.talents[0], ids[0], start)
    await as_user(client, "tal1@example.test")
    assert 'data-testid="slot-watch"' in (await client.get(f"/chats/{ids[1]}")).text
    # Talent 0 moves the chat back to scheduling (releases the slot): talent 1 is told...
    async with sm() as s, s.begin():
        await actions.reschedule(s, ctx, w.talents[0], ids[0], reason="Need another day")
    assert [m.to_email for m in await _opened_mails(sm)] == ["tal1@example.test"]
    # ...but talent 0 books it again first. Talent 1 looks, finds nothing: the watch is armed again.
    async with sm() as s, s.begin():
        await actions.book(s, ctx, w.talents[0], ids[0], start)
    page = await client.get(f"/chats/{ids[1]}")
    assert 'data-testid="slot-watch"' in page.text and 'data-testid="slot-opened"' not in page.text
    async with sm() as s:
        watch = await s.get(SlotWatch, ids[1])
        assert watch is not None and watch.notified_at is None
    # New availability opens a slot: told a second time.
    async with sm() as s, s.begin():
        await actions.set_recruiter_profile(s, w.recruiters[0], w.event_id, w.recruiters[0].id, booking_mode="selective", custom_question="",
                                            ideal_candidate="", availability=[actions.Window(start, start + 2 * SLOT)], ctx=ctx)
    assert [m.to_email for m in await _opened_mails(sm)] == ["tal1@example.test", "tal1@example.test"]


async def test_freed_time_that_suits_only_the_recruiter_tells_nobody(engine: AsyncEngine, now: dt.datetime) -> None:
    """A slot that opens while the waiting talent is busy then (another chat) is no slot for them: no mail."""
    sm = create_sessionmaker(engine)
    w = await make_world(sm, now, recruiters=2, talents=2, window=(dt.timedelta(hours=1), dt.timedelta(hours=1) + SLOT))
    ctx = actions.Context(now=now)
    start = (now + dt.timedelta(days=1)).replace(hour=1, minute=0)
    r0, r1 = w.recruiters
    t0, t1 = w.talents
    async with sm() as s, s.begin():
        taken = await actions.send_request(s, ctx, t0, w.event_id, recruiter_id=r0.id)  # t0 holds r0's only slot
        await actions.accept(s, ctx, r0, taken.id)
        await actions.book(s, ctx, t0, taken.id, start)
        busy = await actions.send_request(s, ctx, t1, w.event_id, recruiter_id=r1.id)  # t1 is busy at that very time with r1
        await actions.accept(s, ctx, r1, busy.id)
        await actions.book(s, ctx, t1, busy.id, start)
        waiting = await actions.send_request(s, ctx, t1, w.event_id, recruiter_id=r0.id)
        await actions.accept(s, ctx, r0, waiting.id)
        chat = await s.get(ChatRequest, waiting.id)
        assert chat is not None
        from scheduling import slot_watch

        await slot_watch.arm(s, chat, now)
    async with sm() as s, s.begin():
        await actions.cancel(s, ctx, t0, taken.id, "Other plans")
    assert await _opened_mails(sm) == []
    # Once t1's other chat is cancelled, the time suits both: told.
    async with sm() as s, s.begin():
        await actions.cancel(s, ctx, r1, busy.id, "Sorry")
    assert [m.to_email for m in await _opened_mails(sm)] == ["tal1@example.test"]


async def test_two_slots_freed_at_once_tell_the_talent_once(engine: AsyncEngine, now: dt.datetime) -> None:
    """Two cancels of the same recruiter racing (two transactions): the watch's conditional update lets one mail through."""
    sm = create_sessionmaker(engine)
    w = await make_world(sm, now, talents=3, window=(dt.timedelta(hours=1), dt.timedelta(hours=1) + 2 * SLOT))
    ctx = actions.Context(now=now)
    start = (now + dt.timedelta(days=1)).replace(hour=1, minute=0)
    t0, t1, t2 = w.talents
    rec = w.recruiters[0]
    async with sm() as s, s.begin():
        chats = []
        for talent, at in ((t0, start), (t1, start + SLOT)):
            c = await actions.send_request(s, ctx, talent, w.event_id, recruiter_id=rec.id)
            await actions.accept(s, ctx, rec, c.id)
            await actions.book(s, ctx, talent, c.id, at)
            chats.append((talent, c.id))
        waiting = await actions.send_request(s, ctx, t2, w.event_id, recruiter_id=rec.id)
        await actions.accept(s, ctx, rec, waiting.id)
        chat = await s.get(ChatRequest, waiting.id)
        assert chat is not None
        from scheduling import slot_watch

        await slot_watch.arm(s, chat, now)

    async def cancel(talent_and_chat: tuple[object, int]) -> None:
        talent, chat_id = talent_and_chat
        async with sm() as s, s.begin():
            await actions.cancel(s, ctx, talent, chat_id, "Can't make it")  # type: ignore[arg-type]

    await asyncio.gather(*(cancel(c) for c in chats))
    assert [m.to_email for m in await _opened_mails(sm)] == ["tal2@example.test"]


async def test_an_empty_slot_list_from_the_api_arms_the_watch_too(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    sm = create_sessionmaker(engine)
    w, ids, start = await _two_accepted(sm, clock.now)
    async with sm() as s, s.begin():
        await actions.book(s, actions.Context(now=clock.now), w.talents[0], ids[0], start)
    from tests.web.conftest import token

    headers = await token(client, "tal1@example.test")
    r = await client.get(f"/api/v1/chat-requests/{ids[1]}/slots", headers=headers)
    assert r.status_code == 200 and r.json() == []
    async with sm() as s:
        assert await s.get(SlotWatch, ids[1]) is not None
        assert await s.get(SlotWatch, ids[0]) is None  # only the chat whose talent looked


async def test_accepting_when_no_slot_is_free_arms_the_watch(engine: AsyncEngine, now: dt.datetime) -> None:
    """The talent is watched from the moment their request is accepted, even before they open the chat page."""
    sm = create_sessionmaker(engine)
    w = await make_world(sm, now, talents=2, window=(dt.timedelta(hours=1), dt.timedelta(hours=1) + SLOT))
    ctx = actions.Context(now=now)
    start = (now + dt.timedelta(days=1)).replace(hour=1, minute=0)
    rec = w.recruiters[0]
    async with sm() as s, s.begin():
        first = await actions.send_request(s, ctx, w.talents[0], w.event_id, recruiter_id=rec.id)
        await actions.accept(s, ctx, rec, first.id)  # a slot is free: no watch
        await actions.book(s, ctx, w.talents[0], first.id, start)
        second = await actions.send_request(s, ctx, w.talents[1], w.event_id, recruiter_id=rec.id)
        await actions.accept(s, ctx, rec, second.id)  # none free: watched
    async with sm() as s:
        assert await s.get(SlotWatch, first.id) is None
        assert await s.get(SlotWatch, second.id) is not None
    async with sm() as s, s.begin():
        await actions.cancel(s, ctx, w.talents[0], first.id, "Other plans")
    assert [m.to_email for m in await _opened_mails(sm)] == ["tal1@example.test"]
