"""The state machine of a 1-1 chat, table-driven and through the actions."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scheduling import actions, states
from scheduling.errors import Conflict, Forbidden, IllegalTransition, Invalid
from scheduling.models import ChatEvent, ChatStatus
from tests.factories import make_world

S = ChatStatus
LEGAL = {
    (S.PENDING, S.ACCEPTED), (S.PENDING, S.DECLINED), (S.PENDING, S.CANCELLED),
    (S.ACCEPTED, S.CONFIRMED), (S.ACCEPTED, S.CANCELLED),
    (S.CONFIRMED, S.COMPLETED), (S.CONFIRMED, S.CANCELLED), (S.CONFIRMED, S.ACCEPTED),
}


@pytest.mark.parametrize(("current", "target"), list(itertools.product(S, S)))
def test_transition_table(current: ChatStatus, target: ChatStatus) -> None:
    if (current, target) in LEGAL:
        states.check(current.value, target)
    else:
        with pytest.raises(IllegalTransition) as err:
            states.check(current.value, target)
        assert current.value in err.value.message


async def test_lifecycle_records_history_and_refuses_illegal_steps(sessionmaker: async_sessionmaker[AsyncSession], now: dt.datetime) -> None:
    w = await make_world(sessionmaker, now)
    talent, recruiter = w.talents[0], w.recruiters[0]
    ctx = actions.Context(now=now)
    start = (now + dt.timedelta(days=1)).replace(hour=1, minute=0)
    async with sessionmaker() as s, s.begin():
        chat = await actions.send_request(s, ctx, talent, w.event_id, recruiter_id=recruiter.id, message="Hi")
    # Booking before acceptance is illegal, and so is cancelling someone else's pending request.
    for act in (lambda s: actions.book(s, ctx, talent, chat.id, start), lambda s: actions.reschedule(s, ctx, talent, chat.id, reason="x")):
        with pytest.raises(IllegalTransition):
            async with sessionmaker() as s, s.begin():
                await act(s)
    with pytest.raises(Forbidden):
        async with sessionmaker() as s, s.begin():
            await actions.cancel(s, ctx, recruiter, chat.id)
    async with sessionmaker() as s, s.begin():
        await actions.accept(s, ctx, recruiter, chat.id)
    with pytest.raises(IllegalTransition):
        async with sessionmaker() as s, s.begin():
            await actions.accept(s, ctx, recruiter, chat.id)
    async with sessionmaker() as s, s.begin():
        await actions.book(s, ctx, talent, chat.id, start)
    with pytest.raises(Invalid):
        async with sessionmaker() as s, s.begin():
            await actions.reschedule(s, ctx, recruiter, chat.id, reason="  ")
    async with sessionmaker() as s, s.begin():
        await actions.reschedule(s, ctx, recruiter, chat.id, reason="Meeting moved")
    async with sessionmaker() as s, s.begin():
        await actions.book(s, ctx, talent, chat.id, start + dt.timedelta(minutes=30))
    # After the end the sweep completes it; completed is final.
    later = actions.Context(now=start + dt.timedelta(hours=2))
    async with sessionmaker() as s, s.begin():
        assert await actions.complete_due(s, later) == 1
    with pytest.raises(IllegalTransition):
        async with sessionmaker() as s, s.begin():
            await actions.cancel(s, later, talent, chat.id, "too late")
    async with sessionmaker() as s:
        history = [(e.from_status, e.to_status) for e in (await s.execute(select(ChatEvent).order_by(ChatEvent.id))).scalars()]
    assert history == [
        (None, "pending"), ("pending", "accepted"), ("accepted", "confirmed"), ("confirmed", "accepted"),
        ("accepted", "confirmed"), ("confirmed", "completed"),
    ]


async def test_withdrawn_request_gives_the_credit_back_declined_does_not(sessionmaker: async_sessionmaker[AsyncSession], now: dt.datetime) -> None:
    w = await make_world(sessionmaker, now, recruiters=2, fmt=actions.ChatFormat(max_requests_per_talent=2))
    talent = w.talents[0]
    ctx = actions.Context(now=now)
    async with sessionmaker() as s, s.begin():
        a = await actions.send_request(s, ctx, talent, w.event_id, recruiter_id=w.recruiters[0].id)
        b = await actions.send_request(s, ctx, talent, w.event_id, recruiter_id=w.recruiters[1].id)
        await actions.cancel(s, ctx, talent, a.id)
        await actions.decline(s, ctx, w.recruiters[1], b.id, "Not this time")
        member = await actions.participation(s, w.event_id, talent.id)
        assert member is not None and member.requests_used == 1


async def test_duplicate_open_request_is_refused_but_a_new_one_after_decline_is_fine(
    sessionmaker: async_sessionmaker[AsyncSession], now: dt.datetime
) -> None:
    w = await make_world(sessionmaker, now)
    ctx = actions.Context(now=now)
    talent, recruiter = w.talents[0], w.recruiters[0]
    async with sessionmaker() as s, s.begin():
        first = await actions.send_request(s, ctx, talent, w.event_id, recruiter_id=recruiter.id)
    with pytest.raises(Conflict) as err:
        async with sessionmaker() as s, s.begin():
            await actions.send_request(s, ctx, talent, w.event_id, recruiter_id=recruiter.id)
    assert err.value.code == "duplicate_request"
    async with sessionmaker() as s, s.begin():
        await actions.decline(s, ctx, recruiter, first.id)
        again = await actions.send_request(s, ctx, talent, w.event_id, recruiter_id=recruiter.id)
    assert again.status == "pending"


async def test_requests_by_setting_is_enforced(sessionmaker: async_sessionmaker[AsyncSession], now: dt.datetime) -> None:
    w = await make_world(sessionmaker, now, fmt=actions.ChatFormat(requests_by="recruiters"))
    ctx = actions.Context(now=now)
    with pytest.raises(Forbidden):
        async with sessionmaker() as s, s.begin():
            await actions.send_request(s, ctx, w.talents[0], w.event_id, recruiter_id=w.recruiters[0].id)
    async with sessionmaker() as s, s.begin():
        chat = await actions.send_request(s, ctx, w.recruiters[0], w.event_id, talent_id=w.talents[0].id, message="Let's talk")
    # The talent receives and accepts; recruiter-sent requests cost the talent no credit.
    async with sessionmaker() as s, s.begin():
        await actions.accept(s, ctx, w.talents[0], chat.id)
        member = await actions.participation(s, w.event_id, w.talents[0].id)
        assert member is not None and member.requests_used == 0
