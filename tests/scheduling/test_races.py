"""Concurrency: many people confirming the same slots at once, on SQLite and on PostgreSQL.

The guarantee under test is the database's: whatever the interleaving, no person ends up
with two overlapping confirmed chats and no cap is exceeded.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from scheduling import actions
from scheduling.errors import Conflict, QuotaExceeded, SlotTaken
from scheduling.models import ChatRequest, Participant
from tests.factories import make_world


async def overlapping_pairs(sm: async_sessionmaker[AsyncSession]) -> int:
    a, b = aliased(ChatRequest), aliased(ChatRequest)
    same_person = (a.recruiter_id == b.recruiter_id) | (a.talent_id == b.talent_id) | (a.talent_id == b.recruiter_id)
    async with sm() as s:
        return int(
            (
                await s.execute(
                    select(func.count()).select_from(a).join(
                        b, and_(a.id < b.id, same_person, a.starts_at < b.ends_at, b.starts_at < a.ends_at)
                    ).where(a.status == "confirmed", b.status == "confirmed")
                )
            ).scalar_one()
        )


async def accepted_chats(sm: async_sessionmaker[AsyncSession], now: dt.datetime, w, pairs):  # type: ignore[no-untyped-def]
    ctx = actions.Context(now=now)
    ids = []
    async with sm() as s, s.begin():
        for talent, recruiter in pairs:
            chat = await actions.send_request(s, ctx, talent, w.event_id, recruiter_id=recruiter.id)
            await actions.accept(s, ctx, recruiter, chat.id)
            ids.append(chat.id)
    return ids


async def test_many_talents_race_for_the_same_slots(sessionmaker: async_sessionmaker[AsyncSession], now: dt.datetime) -> None:
    # Two recruiters, 4 slots each (1 h window is too small; use 2 h of 30-minute slots), 12 talents.
    w = await make_world(sessionmaker, now, recruiters=2, talents=12, window=(dt.timedelta(hours=9), dt.timedelta(hours=11)))
    pairs = [(t, r) for t in w.talents for r in w.recruiters]
    chat_ids = await accepted_chats(sessionmaker, now, w, pairs)
    async with sessionmaker() as s:
        ev = await actions.get_event(s, w.event_id)
        chat = await actions.load_chat(s, chat_ids[0], w.talents[0])
        all_slots = [slot.start for slot in await actions.open_slots_for_chat(s, chat, ev, now=now)]
    assert len(all_slots) == 4
    ctx = actions.Context(now=now)
    outcomes: list[str] = []

    async def attempt(chat_id: int, talent, start: dt.datetime) -> None:  # type: ignore[no-untyped-def]
        try:
            async with sessionmaker() as s, s.begin():
                await actions.book(s, ctx, talent, chat_id, start)
            outcomes.append("ok")
        except SlotTaken:
            outcomes.append("taken")
        except Conflict:
            outcomes.append("conflict")

    # Every talent tries every slot with every recruiter: 96 concurrent confirmations for 8 recruiter slots.
    rng = random.Random(7)
    jobs = [attempt(cid, talent, start) for cid, (talent, _r) in zip(chat_ids, pairs, strict=True) for start in all_slots]
    rng.shuffle(jobs)
    await asyncio.gather(*jobs)
    assert outcomes.count("ok") == 8, outcomes
    assert outcomes.count("taken") + outcomes.count("conflict") == len(jobs) - 8
    assert await overlapping_pairs(sessionmaker) == 0
    async with sessionmaker() as s:
        confirmed = (await s.execute(select(func.count()).select_from(ChatRequest).where(ChatRequest.status == "confirmed"))).scalar_one()
        booked = (await s.execute(select(func.sum(Participant.chats_booked)))).scalar_one()
    assert confirmed == 8 and booked == 8


async def test_one_talent_two_recruiters_same_time(sessionmaker: async_sessionmaker[AsyncSession], now: dt.datetime) -> None:
    """A talent racing themselves (two tabs) into two recruiters at the same time gets one chat."""
    w = await make_world(sessionmaker, now, recruiters=2, talents=1)
    chat_ids = await accepted_chats(sessionmaker, now, w, [(w.talents[0], r) for r in w.recruiters])
    start = (now + dt.timedelta(days=1)).replace(hour=1, minute=0)
    ctx = actions.Context(now=now)

    async def attempt(chat_id: int) -> str:
        try:
            async with sessionmaker() as s, s.begin():
                await actions.book(s, ctx, w.talents[0], chat_id, start)
            return "ok"
        except Conflict as err:
            return err.code

    results = await asyncio.gather(*(attempt(c) for c in chat_ids * 5))
    assert results.count("ok") == 1
    # The losers hear why: the slot is gone, they're busy then, or this chat is already booked.
    assert set(results) - {"ok"} <= {"slot_taken", "talent_busy", "illegal_transition"}
    assert await overlapping_pairs(sessionmaker) == 0


async def test_quotas_hold_under_concurrency(sessionmaker: async_sessionmaker[AsyncSession], now: dt.datetime) -> None:
    fmt = actions.ChatFormat(max_requests_per_talent=3, max_chats_per_talent=2)
    w = await make_world(sessionmaker, now, recruiters=8, talents=1, fmt=fmt)
    talent = w.talents[0]
    ctx = actions.Context(now=now)

    async def send(recruiter) -> str:  # type: ignore[no-untyped-def]
        try:
            async with sessionmaker() as s, s.begin():
                await actions.send_request(s, ctx, talent, w.event_id, recruiter_id=recruiter.id)
            return "ok"
        except QuotaExceeded:
            return "quota"

    results = await asyncio.gather(*(send(r) for r in w.recruiters))
    assert results.count("ok") == 3 and results.count("quota") == 5
    async with sessionmaker() as s:
        chats = (await s.execute(select(ChatRequest).order_by(ChatRequest.id))).scalars().all()
        used = (await s.execute(select(Participant.requests_used).where(Participant.user_id == talent.id))).scalar_one()
    assert len(chats) == 3 and used == 3

    async with sessionmaker() as s, s.begin():
        for chat in chats:
            recruiter = next(r for r in w.recruiters if r.id == chat.recruiter_id)
            await actions.accept(s, ctx, recruiter, chat.id)
    # Three accepted chats, each booked at a different time, all at once: the cap of 2 holds.
    base = (now + dt.timedelta(days=1)).replace(hour=1, minute=0)

    async def book(i: int, chat_id: int) -> str:
        try:
            async with sessionmaker() as s, s.begin():
                await actions.book(s, ctx, talent, chat_id, base + dt.timedelta(minutes=30 * i))
            return "ok"
        except QuotaExceeded:
            return "quota"

    results = await asyncio.gather(*(book(i, c.id) for i, c in enumerate(chats)))
    assert sorted(results) == ["ok", "ok", "quota"]
    async with sessionmaker() as s:
        booked = (await s.execute(select(Participant.chats_booked).where(Participant.user_id == talent.id))).scalar_one()
        confirmed = (await s.execute(select(func.count()).select_from(ChatRequest).where(ChatRequest.status == "confirmed"))).scalar_one()
    assert booked == 2 and confirmed == 2


async def test_booking_and_rescheduling_into_the_same_slot_never_deadlock(sessionmaker: async_sessionmaker[AsyncSession], now: dt.datetime) -> None:
    """book() and reschedule() of one talent take their locks in the same order: one wins, the other gets a 409."""
    w = await make_world(sessionmaker, now, recruiters=2, talents=1)
    talent = w.talents[0]
    chat_a, chat_b = await accepted_chats(sessionmaker, now, w, [(talent, r) for r in w.recruiters])
    ctx = actions.Context(now=now)
    base = (now + dt.timedelta(days=1)).replace(hour=1, minute=0)
    async with sessionmaker() as s, s.begin():
        await actions.book(s, ctx, talent, chat_b, base)
    for i in range(1, 6):
        target = base + dt.timedelta(minutes=30 * i)

        async def book(target: dt.datetime = target) -> str:
            try:
                async with sessionmaker() as s, s.begin():
                    await actions.book(s, ctx, talent, chat_a, target)
                return "ok"
            except Conflict as err:
                return err.code

        async def move(target: dt.datetime = target) -> str:
            try:
                async with sessionmaker() as s, s.begin():
                    await actions.reschedule(s, ctx, talent, chat_b, reason="clash", start=target)
                return "ok"
            except Conflict as err:
                return err.code

        results = await asyncio.gather(book(), move())
        assert results.count("ok") == 1, results
        # Reset: put chat A back into scheduling if it won, so the next round races again.
        async with sessionmaker() as s, s.begin():
            chat = await actions.load_chat(s, chat_a, talent)
            if chat.status == "confirmed":
                await actions.reschedule(s, ctx, talent, chat_a, reason="again")
    assert await overlapping_pairs(sessionmaker) == 0
