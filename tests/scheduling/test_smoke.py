from __future__ import annotations

import datetime as dt

from scheduling import actions
from tests.factories import make_world


async def test_request_accept_book(sessionmaker, now: dt.datetime) -> None:
    w = await make_world(sessionmaker, now)
    ctx = actions.Context(now=now)
    async with sessionmaker() as s, s.begin():
        chat = await actions.send_request(s, ctx, w.talents[0], w.event_id, recruiter_id=w.recruiters[0].id, message="Hi")
    async with sessionmaker() as s, s.begin():
        await actions.accept(s, ctx, w.recruiters[0], chat.id)
    async with sessionmaker() as s, s.begin():
        c = await actions.load_chat(s, chat.id, w.talents[0])
        ev = await actions.get_event(s, w.event_id)
        free = await actions.open_slots_for_chat(s, c, ev, now=now)
    assert len(free) == 8
    async with sessionmaker() as s, s.begin():
        c = await actions.book(s, ctx, w.talents[0], chat.id, free[0].start)
    assert c.status == "confirmed"
