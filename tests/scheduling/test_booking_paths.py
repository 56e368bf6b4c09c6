"""The booking actions' paths one by one: who may act, what a refusal leaves behind, what each write holds.

The hot path reads the chat as a plain row and writes with one statement on PostgreSQL (one per
row on SQLite); these pin the answers and the bookkeeping it must keep, on both databases.
"""

from __future__ import annotations

import datetime as dt
import random

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scheduling import actions, booking_sql, slots
from scheduling.errors import Conflict, Forbidden, NotFound, QuotaExceeded, SlotTaken
from scheduling.models import BusyBlock, ChatEvent, ChatRequest, Event, OutboxMessage, Participant
from tests.factories import make_world

SM = async_sessionmaker[AsyncSession]


async def _accepted(sm: SM, now: dt.datetime, w, talent, recruiter) -> int:  # type: ignore[no-untyped-def]
    ctx = actions.Context(now=now)
    async with sm() as s, s.begin():
        chat = await actions.send_request(s, ctx, talent, w.event_id, recruiter_id=recruiter.id)
        await actions.accept(s, ctx, recruiter, chat.id)
        return chat.id


async def _counts(sm: SM, chat_id: int, talent_id: int) -> tuple[int, int, int, int]:
    """(busy blocks of the chat, the talent's chats_booked, history rows, outbox rows)."""
    async with sm() as s:
        blocks = (await s.execute(select(func.count()).select_from(BusyBlock).where(BusyBlock.chat_request_id == chat_id))).scalar_one()
        booked = (await s.execute(select(Participant.chats_booked).where(Participant.user_id == talent_id))).scalar_one()
        history = (await s.execute(select(func.count()).select_from(ChatEvent).where(ChatEvent.chat_request_id == chat_id))).scalar_one()
        mail = (await s.execute(select(func.count()).select_from(OutboxMessage))).scalar_one()
    return blocks, booked, history, mail


async def test_book_cancel_rebook_keep_the_books(sessionmaker: SM, now: dt.datetime) -> None:
    w = await make_world(sessionmaker, now, recruiters=1, talents=1)
    talent, recruiter = w.talents[0], w.recruiters[0]
    chat_id = await _accepted(sessionmaker, now, w, talent, recruiter)
    start = (now + dt.timedelta(days=1)).replace(hour=1, minute=0)
    ctx = actions.Context(now=now)
    _, _, history0, mail0 = await _counts(sessionmaker, chat_id, talent.id)

    async with sessionmaker() as s, s.begin():
        chat = await actions.book(s, ctx, talent, chat_id, start)
        assert (chat.status, chat.starts_at, chat.ical_sequence, chat.invite_sent) == ("confirmed", start, 0, True)
    assert await _counts(sessionmaker, chat_id, talent.id) == (12, 1, history0 + 1, mail0 + 2)  # 30 min = 6 blocks, two people

    async with sessionmaker() as s, s.begin():
        chat = await actions.cancel(s, ctx, recruiter, chat_id, reason="Sick")
        assert (chat.status, chat.reason, chat.closed_by_id, chat.ical_sequence) == ("cancelled", "Sick", recruiter.id, 1)
    assert await _counts(sessionmaker, chat_id, talent.id) == (0, 0, history0 + 2, mail0 + 4)
    async with sessionmaker() as s:
        stored = await s.get(ChatRequest, chat_id)
        assert stored is not None and (stored.status, stored.reason, stored.ical_sequence) == ("cancelled", "Sick", 1)
        kinds = (await s.execute(select(OutboxMessage.kind, OutboxMessage.ical_method).order_by(OutboxMessage.id))).all()
    assert kinds[-4:] == [("confirmed", "REQUEST")] * 2 + [("cancelled", "CANCEL")] * 2

    # The slot is free again for a new request of the same pair.
    chat2 = await _accepted(sessionmaker, now, w, talent, recruiter)
    async with sessionmaker() as s, s.begin():
        assert (await actions.book(s, ctx, talent, chat2, start)).status == "confirmed"


async def test_only_the_two_people_book(sessionmaker: SM, now: dt.datetime) -> None:
    w = await make_world(sessionmaker, now, recruiters=1, talents=2)
    chat_id = await _accepted(sessionmaker, now, w, w.talents[0], w.recruiters[0])
    start = (now + dt.timedelta(days=1)).replace(hour=1, minute=0)
    ctx = actions.Context(now=now)
    for who, error, code in ((w.organizer, Forbidden, "not_a_party"), (w.admin, Forbidden, "not_a_party"),
                             (w.talents[1], NotFound, "chat_not_found")):
        with pytest.raises(error) as caught:
            async with sessionmaker() as s, s.begin():
                await actions.book(s, ctx, who, chat_id, start)
        assert caught.value.code == code
    with pytest.raises(NotFound):
        async with sessionmaker() as s, s.begin():
            await actions.book(s, ctx, w.talents[0], 999999, start)
    assert (await _counts(sessionmaker, chat_id, w.talents[0].id))[:2] == (0, 0)


async def test_talent_busy_and_slot_taken(sessionmaker: SM, now: dt.datetime) -> None:
    w = await make_world(sessionmaker, now, recruiters=2, talents=2)
    t0, t1 = w.talents
    r0, r1 = w.recruiters
    start = (now + dt.timedelta(days=1)).replace(hour=1, minute=0)
    ctx = actions.Context(now=now)
    first = await _accepted(sessionmaker, now, w, t0, r0)
    async with sessionmaker() as s, s.begin():
        await actions.book(s, ctx, t0, first, start)
    mine_elsewhere = await _accepted(sessionmaker, now, w, t0, r1)
    theirs = await _accepted(sessionmaker, now, w, t1, r0)
    for who, chat_id, code in ((t0, mine_elsewhere, "talent_busy"), (t1, theirs, "slot_taken")):
        with pytest.raises(SlotTaken) as caught:
            async with sessionmaker() as s, s.begin():
                await actions.book(s, ctx, who, chat_id, start)
        assert caught.value.code == code
    # An off-grid time is "not a slot" even where it overlaps a booked chat.
    with pytest.raises(actions.Invalid) as bad:
        async with sessionmaker() as s, s.begin():
            await actions.book(s, ctx, t1, theirs, start + dt.timedelta(minutes=5))
    assert bad.value.code == "not_a_slot"


async def test_reschedule_respects_a_lowered_cap_and_leaves_nothing_behind(sessionmaker: SM, now: dt.datetime) -> None:
    w = await make_world(sessionmaker, now, recruiters=2, talents=1)
    talent = w.talents[0]
    base = (now + dt.timedelta(days=1)).replace(hour=1, minute=0)
    ctx = actions.Context(now=now)
    chats = [await _accepted(sessionmaker, now, w, talent, r) for r in w.recruiters]
    async with sessionmaker() as s, s.begin():
        for i, chat_id in enumerate(chats):
            await actions.book(s, ctx, talent, chat_id, base + dt.timedelta(minutes=30 * i))
    async with sessionmaker() as s, s.begin():  # the organizer lowers the cap below what the talent holds
        await s.execute(update(Event).where(Event.id == w.event_id).values(max_chats_per_talent=1))
    before = await _counts(sessionmaker, chats[0], talent.id)
    with pytest.raises(QuotaExceeded):
        async with sessionmaker() as s, s.begin():
            await actions.reschedule(s, ctx, talent, chats[0], reason="clash", start=base + dt.timedelta(hours=2))
    assert await _counts(sessionmaker, chats[0], talent.id) == before == (12, 2, before[2], before[3])
    # Moving back to scheduling is always allowed and gives the count back; a new booking is then refused.
    async with sessionmaker() as s, s.begin():
        moved = await actions.reschedule(s, ctx, talent, chats[0], reason="clash")
        assert (moved.status, moved.starts_at, moved.ical_sequence) == ("accepted", None, 1)
    assert (await _counts(sessionmaker, chats[0], talent.id))[:2] == (0, 1)
    with pytest.raises(QuotaExceeded):
        async with sessionmaker() as s, s.begin():
            await actions.book(s, ctx, talent, chats[0], base + dt.timedelta(hours=2))
    assert (await _counts(sessionmaker, chats[0], talent.id))[:2] == (0, 1)


async def test_reschedule_to_an_overlapping_time_on_a_shifted_grid(sessionmaker: SM, now: dt.datetime) -> None:
    """Old and new slot share blocks (the availability moved by 15 minutes): the old blocks go first."""
    w = await make_world(sessionmaker, now, recruiters=1, talents=1)
    talent, recruiter = w.talents[0], w.recruiters[0]
    base = (now + dt.timedelta(days=1)).replace(hour=1, minute=0)
    ctx = actions.Context(now=now)
    chat_id = await _accepted(sessionmaker, now, w, talent, recruiter)
    async with sessionmaker() as s, s.begin():
        await actions.book(s, ctx, talent, chat_id, base)
    async with sessionmaker() as s, s.begin():
        await actions.set_recruiter_profile(
            s, recruiter, w.event_id, recruiter.id, booking_mode="selective", custom_question="", ideal_candidate="",
            availability=[actions.Window(base + dt.timedelta(minutes=15), base + dt.timedelta(hours=3))],
        )
    async with sessionmaker() as s, s.begin():
        chat = await actions.reschedule(s, ctx, talent, chat_id, reason="later", start=base + dt.timedelta(minutes=15))
        assert (chat.status, chat.starts_at) == ("confirmed", base + dt.timedelta(minutes=15))
    assert (await _counts(sessionmaker, chat_id, talent.id))[:2] == (12, 1)


async def test_a_chat_already_in_the_session_is_the_one_returned_and_refreshed(sessionmaker: SM, now: dt.datetime) -> None:
    w = await make_world(sessionmaker, now, recruiters=1, talents=1)
    talent = w.talents[0]
    chat_id = await _accepted(sessionmaker, now, w, talent, w.recruiters[0])
    start = (now + dt.timedelta(days=1)).replace(hour=1, minute=0)
    async with sessionmaker() as s:
        async with s.begin():
            seen = await actions.load_chat(s, chat_id, talent)  # kept after commit (expire_on_commit=False)
        async with sessionmaker() as other, other.begin():  # someone else changes it meanwhile
            await other.execute(update(ChatRequest).where(ChatRequest.id == chat_id).values(message="edited"))
        async with s.begin():
            booked = await actions.book(s, actions.Context(now=now), talent, chat_id, start)
        assert booked is seen and booked.status == "confirmed" and booked.message == "edited"
    with pytest.raises(Conflict):
        async with sessionmaker() as s, s.begin():
            await actions.book(s, actions.Context(now=now), talent, chat_id, start)


def test_the_slot_check_agrees_with_the_grid() -> None:
    """book() checks a start against the windows directly; it must accept exactly the grid's slots."""
    rng = random.Random(5)
    day = dt.datetime(2026, 3, 21, tzinfo=dt.UTC)
    five = dt.timedelta(minutes=5)
    for _ in range(300):
        windows = []
        for _ in range(rng.randint(0, 3)):
            a = day + five * rng.randint(0, 200)
            windows.append((a, a + five * rng.randint(1, 60)))
        slot_minutes, buffer_minutes = 5 * rng.randint(1, 12), 5 * rng.randint(0, 4)
        not_before, not_after = day + five * rng.randint(0, 60), day + five * rng.randint(150, 300)
        grid = {s.start: s for s in slots.grid(windows, slot_minutes, buffer_minutes, not_before=not_before, not_after=not_after)}
        for _ in range(20):
            start = day + five * rng.randint(0, 260)
            found = booking_sql._grid_slot(windows, start, slot_minutes, buffer_minutes, not_before=not_before, not_after=not_after)
            assert found == grid.get(start), (windows, slot_minutes, buffer_minutes, start)
