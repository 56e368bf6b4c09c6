"""Who may enter a 1-1 chat's room, and when."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scheduling import actions, rooms
from scheduling.errors import Conflict, Forbidden, NotFound
from tests.factories import make_world


async def test_room_opens_before_the_start_and_closes_after_the_grace(sessionmaker: async_sessionmaker[AsyncSession], now: dt.datetime) -> None:
    w = await make_world(sessionmaker, now, talents=2, fmt=actions.ChatFormat(room_opens_minutes_before=5))
    talent, recruiter, stranger = w.talents[0], w.recruiters[0], w.talents[1]
    ctx = actions.Context(now=now)
    start = (now + dt.timedelta(days=1)).replace(hour=1, minute=0)
    async with sessionmaker() as s, s.begin():
        chat = await actions.send_request(s, ctx, talent, w.event_id, recruiter_id=recruiter.id)
        await actions.accept(s, ctx, recruiter, chat.id)
    # Not confirmed yet: closed, with a reason.
    async with sessionmaker() as s:
        with pytest.raises(Conflict) as err:
            await rooms.room_access(s, chat.id, talent, now=start)
        assert err.value.code == "room_closed"
    async with sessionmaker() as s, s.begin():
        await actions.book(s, ctx, talent, chat.id, start)

    async def access(user, at: dt.datetime) -> str:  # type: ignore[no-untyped-def]
        async with sessionmaker() as s:
            try:
                return (await rooms.room_access(s, chat.id, user, now=at, grace=dt.timedelta(minutes=10))).role
            except (Conflict, Forbidden, NotFound) as e:
                return e.code

    assert await access(talent, start - dt.timedelta(minutes=6)) == "room_not_open"
    assert await access(talent, start - dt.timedelta(minutes=5)) == "talent"
    assert await access(recruiter, start + dt.timedelta(minutes=20)) == "recruiter"
    assert await access(recruiter, start + dt.timedelta(minutes=41)) == "room_closed"
    assert await access(stranger, start) == "chat_not_found"
    assert await access(w.organizer, start) == "organizer"
    # The sweep may mark the chat held while people are still in the grace period.
    async with sessionmaker() as s, s.begin():
        await actions.complete_due(s, actions.Context(now=start + dt.timedelta(minutes=31)))
    assert await access(talent, start + dt.timedelta(minutes=35)) == "talent"
