"""The recruiter list's cards: the same open slots a talent is offered, in a number of queries that does not grow."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from scheduling import actions, queries, slots
from scheduling.models import ChatRequest, Participant, User
from tests.factories import World, make_world

UTC = dt.UTC
SM = async_sessionmaker[AsyncSession]
H = dt.timedelta(hours=1)


def test_count_free_agrees_with_grid_and_free_with_overlaps_and_odd_bounds() -> None:
    """Overlapping windows (the fallback), bounds off the minute, busy intervals inside and across windows."""
    rng = random.Random(6)
    base = dt.datetime(2026, 3, 1, tzinfo=UTC)
    for _ in range(3000):
        windows = []
        for _ in range(rng.randint(0, 4)):
            start = base + dt.timedelta(minutes=5 * rng.randint(0, 120))
            windows.append((start, start + dt.timedelta(minutes=5 * rng.randint(1, 40))))
        slot, buffer = 5 * rng.randint(1, 8), 5 * rng.randint(0, 3)
        busy = []
        for _ in range(rng.randint(0, 6)):
            start = base + dt.timedelta(minutes=5 * rng.randint(0, 160))
            busy.append((start, start + dt.timedelta(minutes=5 * rng.randint(1, 12))))
        lo = base + dt.timedelta(seconds=rng.randint(0, 300 * 60), microseconds=rng.choice((0, 1, 999_999)))
        hi = lo + dt.timedelta(minutes=rng.randint(0, 900))
        offered = slots.free(slots.grid(windows, slot, buffer, not_before=lo, not_after=hi), busy)
        assert slots.count_free(windows, slot, buffer, busy, not_before=lo, not_after=hi) == len(offered)


class StatementCounter:
    def __init__(self, engine: AsyncEngine) -> None:
        self.statements: list[str] = []
        sa_event.listen(engine.sync_engine, "before_cursor_execute", self._on_execute)

    def _on_execute(self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        self.statements.append(statement)


async def add_recruiters(sm: SM, now: dt.datetime, w: World, first: int, last: int) -> None:
    """More recruiters of the event in a second company, with one or two windows, or none at all (every seventh).

    One is left without a company, as when a company is deleted (companies.id is ON DELETE SET NULL).
    """
    ctx = actions.Context(now=now)
    async with sm() as s, s.begin():
        event = await actions.get_event(s, w.event_id)
        beta = await actions.add_company(s, w.admin, w.event_id, name="Beta Labs")
        for i in range(first, last):
            m = await actions.add_participant(
                s, ctx, w.organizer, w.event_id, email=f"more{i}@example.test", name=f"Mo Recruiter {i:02d}", role="recruiter",
                company_id=w.company_id if i % 2 else beta.id,
            )
            if i == first:
                await s.execute(update(Participant).where(Participant.id == m.id).values(company_id=None))
            windows = [actions.Window(event.starts_at + 9 * H, event.starts_at + 12 * H)]
            if i % 3 == 0:
                windows.append(actions.Window(event.starts_at + 33 * H, event.starts_at + 35 * H + dt.timedelta(minutes=20)))
            await actions.set_recruiter_profile(
                s, w.organizer, w.event_id, m.user_id, booking_mode="direct" if i % 4 == 0 else "selective", custom_question="",
                ideal_candidate=f"Profile {i}", availability=[] if i % 7 == 0 else windows,
            )


async def add_chats(sm: SM, now: dt.datetime, w: World, rng: random.Random) -> None:
    """Each talent and each recruiter not in touch yet: one request, from the talent mostly; some stay pending, some are
    declined, some are booked."""
    ctx = actions.Context(now=now)
    async with sm() as s, s.begin():
        event = await actions.get_event(s, w.event_id)
        recruiter_ids = list((await s.execute(
            select(Participant.user_id).where(Participant.event_id == w.event_id, Participant.role == "recruiter")
        )).scalars())
        asked = {(t, r) for t, r in (await s.execute(select(ChatRequest.talent_id, ChatRequest.recruiter_id))).all()}
        for talent in w.talents:
            for rid in recruiter_ids:
                if (talent.id, rid) in asked:
                    continue
                recruiter = await s.get(User, rid)
                assert recruiter is not None
                fate = rng.random()
                if fate < 0.1:  # the recruiter asks: not a request received
                    chat = await actions.send_request(s, ctx, recruiter, w.event_id, talent_id=talent.id)
                    continue
                chat = await actions.send_request(s, ctx, talent, w.event_id, recruiter_id=rid)
                if fate < 0.3:
                    continue
                if fate < 0.45 and chat.status == "pending":  # direct booking accepts at once
                    await actions.decline(s, ctx, recruiter, chat.id, "No.")
                    continue
                if chat.status == "pending":
                    await actions.accept(s, ctx, recruiter, chat.id)
                free = await actions.open_slots_for_chat(s, chat, event, now=now)
                if free and fate > 0.6:
                    await actions.book(s, ctx, talent, chat.id, rng.choice(free).start)


async def expected_cards(sm: SM, w: World, now: dt.datetime, company_id: int | None = None) -> dict[int, tuple[int, int, str | None]]:
    """By recruiter: (open slots, requests received, company name), the slow, obvious way."""
    out = {}
    async with sm() as s:
        event = await actions.get_event(s, w.event_id)
        for member, user, company in await queries.people(s, w.event_id):
            if member.role != "recruiter" or (company_id is not None and member.company_id != company_id):
                continue
            windows = [(a.starts_at, a.ends_at) for a in await queries.availability(s, member)]
            busy = [(c.starts_at, c.ends_at) for c in await queries.confirmed_for_user(s, user.id)
                    if c.status == "confirmed" and c.starts_at is not None and c.ends_at is not None]
            grid = slots.grid(windows, event.slot_minutes, event.buffer_minutes, not_before=max(now, event.starts_at), not_after=event.ends_at)
            chats = (await s.execute(select(ChatRequest).where(ChatRequest.event_id == w.event_id, ChatRequest.recruiter_id == user.id))).scalars()
            received = sum(1 for c in chats if c.sender_id != user.id)
            out[user.id] = (len(slots.free(grid, busy)), received, company.name if company else None)
    return out


async def listed(sm: SM, engine: AsyncEngine, w: World, now: dt.datetime, **kw: Any) -> tuple[list[queries.RecruiterCard], int]:
    counter = StatementCounter(engine)
    async with sm() as s:
        event = await actions.get_event(s, w.event_id)  # the transaction is open before counting (SQLite: BEGIN)
        counter.statements.clear()
        cards = await queries.recruiter_cards(s, event, now=now, **kw)
    return cards, len(counter.statements)


async def test_cards_match_the_offered_slots_in_two_queries_from_3_to_30_recruiters(
    sessionmaker: SM, engine: AsyncEngine, now: dt.datetime
) -> None:
    w = await make_world(sessionmaker, now, recruiters=3, talents=2, fmt=actions.ChatFormat(requests_by="both", slot_minutes=20, buffer_minutes=5))
    rng = random.Random(3)
    await add_chats(sessionmaker, now, w, rng)
    cards, small = await listed(sessionmaker, engine, w, now)
    assert len(cards) == 3
    assert {c.user_id: (c.open_slots, c.requests_received, c.company_name) for c in cards} == await expected_cards(sessionmaker, w, now)

    await add_recruiters(sessionmaker, now, w, 3, 30)
    await add_chats(sessionmaker, now, w, rng)
    cards, large = await listed(sessionmaker, engine, w, now)
    assert len(cards) == 30
    assert small == large == 2
    expected = await expected_cards(sessionmaker, w, now)
    assert {c.user_id: (c.open_slots, c.requests_received, c.company_name) for c in cards} == expected
    assert sum(c.open_slots for c in cards) > 0 and any(c.open_slots == 0 for c in cards)
    assert any(c.requests_received < 2 for c in cards) and any(c.requests_received == 2 for c in cards)
    assert any(c.company_id is None for c in cards) and {c.company_name for c in cards} >= {"Acme Robotics", "Beta Labs"}

    # Later in the event, off the minute: slots that started are gone, the grid does not shift.
    during = (await _event_start(sessionmaker, w)) + 10 * H + dt.timedelta(seconds=7, microseconds=3)
    cards, _ = await listed(sessionmaker, engine, w, during)
    assert {c.user_id: (c.open_slots, c.requests_received, c.company_name) for c in cards} == await expected_cards(sessionmaker, w, during)

    # The filters narrow the same cards.
    cards, n = await listed(sessionmaker, engine, w, now, company_id=w.company_id)
    assert n == 2
    assert {c.user_id: (c.open_slots, c.requests_received, c.company_name) for c in cards} == await expected_cards(
        sessionmaker, w, now, company_id=w.company_id)
    some = [w.recruiters[0].id, w.recruiters[2].id]
    cards, n = await listed(sessionmaker, engine, w, now, only=some)
    assert n == 2 and sorted(c.user_id for c in cards) == sorted(some)
    assert (await listed(sessionmaker, engine, w, now, only=[]))[0] == []


async def _event_start(sm: SM, w: World) -> dt.datetime:
    async with sm() as s:
        return (await actions.get_event(s, w.event_id)).starts_at


async def test_a_chat_in_another_event_takes_the_slot(sessionmaker: SM, engine: AsyncEngine, now: dt.datetime) -> None:
    """Busy time counts across events, as booking does: a recruiter booked elsewhere has one slot fewer here."""
    w = await make_world(sessionmaker, now, recruiters=1, talents=1, booking_mode="direct")
    recruiter, talent = w.recruiters[0], w.talents[0]
    ctx = actions.Context(now=now)
    before, _ = await listed(sessionmaker, engine, w, now)
    async with sessionmaker() as s, s.begin():
        event = await actions.get_event(s, w.event_id)
        other = await actions.create_event(s, ctx, w.admin, name="Autumn Fair", timezone="UTC", starts_at=event.starts_at,
                                           ends_at=event.ends_at, fmt=actions.ChatFormat())
        company = await actions.add_company(s, w.admin, other.id, name="Acme Robotics")
        await actions.add_participant(s, ctx, w.admin, other.id, email=recruiter.email, name=recruiter.name, role="recruiter",
                                      company_id=company.id)
        await actions.add_participant(s, ctx, w.admin, other.id, email=talent.email, name=talent.name, role="talent")
        await actions.set_recruiter_profile(s, w.admin, other.id, recruiter.id, booking_mode="direct", custom_question="",
                                            ideal_candidate="", availability=[actions.Window(event.starts_at + H, event.starts_at + 5 * H)])
        chat = await actions.send_request(s, ctx, talent, other.id, recruiter_id=recruiter.id)
        free = await actions.open_slots_for_chat(s, chat, other, now=now)
        await actions.book(s, ctx, talent, chat.id, free[0].start)
    after, _ = await listed(sessionmaker, engine, w, now)
    assert [c.open_slots for c in after] == [before[0].open_slots - 1]
    assert [c.requests_received for c in after] == [0]
