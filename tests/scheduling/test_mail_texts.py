"""The request mails say who does what next: the talent picks the time, and is told when nothing is free yet."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scheduling import actions
from scheduling.models import OutboxMessage
from tests.factories import make_world


async def _mail(sm: async_sessionmaker[AsyncSession], kind: str) -> OutboxMessage:
    async with sm() as s:
        rows = list((await s.execute(select(OutboxMessage).where(OutboxMessage.kind == kind))).scalars())
    assert len(rows) == 1, rows
    return rows[0]


async def test_talent_accepting_tells_the_recruiter_the_talent_picks(sessionmaker: async_sessionmaker[AsyncSession], now: dt.datetime) -> None:
    w = await make_world(sessionmaker, now, fmt=actions.ChatFormat(requests_by="both"))
    ctx = actions.Context(now=now)
    async with sessionmaker() as s, s.begin():
        chat = await actions.send_request(s, ctx, w.recruiters[0], w.event_id, talent_id=w.talents[0].id, message="Let's talk")
    async with sessionmaker() as s, s.begin():
        await actions.accept(s, ctx, w.talents[0], chat.id)
    mail = await _mail(sessionmaker, "request_accepted")
    assert mail.to_email == w.recruiters[0].email
    assert "Pick a time" not in mail.body_text
    assert "Tom Talent 0 now picks a time from your calendar" in mail.body_text


async def test_accepted_with_no_free_slot_says_the_talent_will_be_told(sessionmaker: async_sessionmaker[AsyncSession], now: dt.datetime) -> None:
    w = await make_world(sessionmaker, now, window=None)  # the recruiter has no availability at all
    ctx = actions.Context(now=now)
    async with sessionmaker() as s, s.begin():
        chat = await actions.send_request(s, ctx, w.talents[0], w.event_id, recruiter_id=w.recruiters[0].id, message="Hello")
    async with sessionmaker() as s, s.begin():
        await actions.accept(s, ctx, w.recruiters[0], chat.id)
    mail = await _mail(sessionmaker, "request_accepted")
    assert mail.to_email == w.talents[0].email
    assert "Pick a time" not in mail.body_text
    assert "No time is free" in mail.body_text and "as soon as one opens" in mail.body_text


async def test_accepted_with_free_slots_asks_the_talent_to_pick(sessionmaker: async_sessionmaker[AsyncSession], now: dt.datetime) -> None:
    w = await make_world(sessionmaker, now)
    ctx = actions.Context(now=now)
    async with sessionmaker() as s, s.begin():
        chat = await actions.send_request(s, ctx, w.talents[0], w.event_id, recruiter_id=w.recruiters[0].id, message="Hello")
    async with sessionmaker() as s, s.begin():
        await actions.accept(s, ctx, w.recruiters[0], chat.id)
    assert "Pick a time that suits you both" in (await _mail(sessionmaker, "request_accepted")).body_text


async def test_a_talent_declining_does_not_point_the_recruiter_to_other_recruiters(sessionmaker: async_sessionmaker[AsyncSession], now: dt.datetime) -> None:
    w = await make_world(sessionmaker, now, fmt=actions.ChatFormat(requests_by="both"))
    ctx = actions.Context(now=now)
    async with sessionmaker() as s, s.begin():
        chat = await actions.send_request(s, ctx, w.recruiters[0], w.event_id, talent_id=w.talents[0].id, message="Let's talk")
    async with sessionmaker() as s, s.begin():
        await actions.decline(s, ctx, w.talents[0], chat.id, reason="Not looking right now")
    mail = await _mail(sessionmaker, "request_declined")
    assert mail.to_email == w.recruiters[0].email
    assert "Other recruiters" not in mail.body_text
    assert f"/events/{w.event_id}/talents" in mail.body_text
