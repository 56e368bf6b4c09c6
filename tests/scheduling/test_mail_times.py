"""Chat mails give times in the recipient's zone (their own, else the event's, said so), naming the zone the same way in
the subject and the body; a 'Rescheduled:' subject gives the new time (issue 9, round 2, finding 11)."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scheduling import actions, outbox
from scheduling.models import OutboxMessage, User
from tests.factories import World, make_world
from web import demo

UTC = dt.UTC
FIRST = dt.datetime(2026, 3, 21, 1, 0, tzinfo=UTC)  # 02:00 CET in Berlin, the event's zone
SLOT = dt.timedelta(minutes=30)


async def _mails(sm: async_sessionmaker[AsyncSession], kind: str) -> dict[str, OutboxMessage]:
    async with sm() as s:
        rows = list((await s.execute(select(OutboxMessage).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id))).scalars())
    return {m.to_email: m for m in rows}


async def _booked(sm: async_sessionmaker[AsyncSession], now: dt.datetime, *, talent_tz: str | None = "UTC") -> tuple[World, int]:
    """Tom (zone `talent_tz`) booked with Rita (no zone of her own) at 01:00 UTC."""
    w = await make_world(sm, now)
    ctx = actions.Context(now=now, base_url="http://testserver")
    async with sm() as s, s.begin():
        tom = await s.get(User, w.talents[0].id)
        assert tom is not None
        tom.timezone = talent_tz
        chat = await actions.send_request(s, ctx, tom, w.event_id, recruiter_id=w.recruiters[0].id)
        await actions.accept(s, ctx, w.recruiters[0], chat.id)
        await actions.book(s, ctx, tom, chat.id, FIRST)
    return w, chat.id


def _same_zone_in_subject_and_body(m: OutboxMessage) -> None:
    """The subject's 'HH:MM ZONE' is the body's time, with the same zone label."""
    found = re.search(r"(\d\d:\d\d) ([A-Z][A-Z0-9+:-]*)$", m.subject)
    assert found is not None, m.subject
    clock, label = found.groups()
    assert re.search(rf"{clock}–\d\d:\d\d {re.escape(label)}\b", m.body_text), (m.subject, m.body_text)


async def test_confirmed_mails_in_each_recipients_zone(sessionmaker: async_sessionmaker[AsyncSession], now: dt.datetime) -> None:
    await _booked(sessionmaker, now)
    mails = await _mails(sessionmaker, "confirmed")
    tom, rita = mails["tal0@example.test"], mails["rec0@example.test"]
    assert tom.subject == "Confirmed: 1-1 chat with Rita Recruiter 0, Sat 21 Mar 2026, 01:00 UTC"
    assert "When: Sat 21 Mar 2026, 01:00–01:30 UTC · event time Sat 02:00–02:30 CET (Europe/Berlin)\n" in tom.body_text
    # Rita has no zone of her own: the event's, and the mail says so.
    assert rita.subject == "Confirmed: 1-1 chat with Tom Talent 0, Sat 21 Mar 2026, 02:00 CET"
    assert "When: Sat 21 Mar 2026, 02:00–02:30 CET (Europe/Berlin, the event's time zone)\n" in rita.body_text
    for m in mails.values():
        _same_zone_in_subject_and_body(m)


async def test_rescheduled_subject_gives_the_new_time(sessionmaker: async_sessionmaker[AsyncSession], now: dt.datetime) -> None:
    w, chat_id = await _booked(sessionmaker, now, talent_tz="America/New_York")
    async with sessionmaker() as s, s.begin():
        await actions.reschedule(s, actions.Context(now=now), w.recruiters[0], chat_id, reason="Clash", start=FIRST + SLOT)
    mails = await _mails(sessionmaker, "rescheduled")
    tom, rita = mails["tal0@example.test"], mails["rec0@example.test"]
    # 01:30 UTC on 21 Mar is 21:30 EDT the evening before in New York (DST there began on 8 Mar).
    assert tom.subject == "Rescheduled: 1-1 chat with Rita Recruiter 0, now Fri 20 Mar 2026, 21:30 EDT"
    assert "Was: Fri 20 Mar 2026, 21:00–21:30 EDT (America/New_York) · event time Sat 02:00–02:30 CET (Europe/Berlin)\n" in tom.body_text
    assert "Now: Fri 20 Mar 2026, 21:30–22:00 EDT (America/New_York) · event time Sat 02:30–03:00 CET (Europe/Berlin)\n" in tom.body_text
    assert rita.subject == "Rescheduled: 1-1 chat with Tom Talent 0, now Sat 21 Mar 2026, 02:30 CET"
    assert "Now: Sat 21 Mar 2026, 02:30–03:00 CET (Europe/Berlin, the event's time zone)\n" in rita.body_text
    for m in mails.values():
        _same_zone_in_subject_and_body(m)


async def test_released_time_says_a_new_one_is_to_be_picked(sessionmaker: async_sessionmaker[AsyncSession], now: dt.datetime) -> None:
    w, chat_id = await _booked(sessionmaker, now)
    async with sessionmaker() as s, s.begin():
        await actions.reschedule(s, actions.Context(now=now), w.recruiters[0], chat_id, reason="Clash")
    tom = (await _mails(sessionmaker, "rescheduled"))["tal0@example.test"]
    assert tom.subject == "Rescheduled: 1-1 chat with Rita Recruiter 0, new time to be picked"
    assert "Was: Sat 21 Mar 2026, 01:00–01:30 UTC · event time" in tom.body_text


async def test_cancelled_mail_in_the_recipients_zone(sessionmaker: async_sessionmaker[AsyncSession], now: dt.datetime) -> None:
    w, chat_id = await _booked(sessionmaker, now)
    async with sessionmaker() as s, s.begin():
        await actions.cancel(s, actions.Context(now=now), w.recruiters[0], chat_id, reason="Ill")
    mails = await _mails(sessionmaker, "cancelled")
    assert "your 1-1 chat (Sat 21 Mar 2026, 01:00–01:30 UTC · event time Sat 02:00–02:30 CET (Europe/Berlin))" in mails["tal0@example.test"].body_text
    assert "(Sat 21 Mar 2026, 02:00–02:30 CET (Europe/Berlin, the event's time zone))" in mails["rec0@example.test"].body_text


def test_when_names_zones_once_and_falls_back_to_the_event() -> None:
    start, end = FIRST, FIRST + SLOT
    assert outbox.when(start, end, "UTC", "UTC") == outbox.When("Sat 21 Mar 2026, 01:00–01:30 UTC", "Sat 21 Mar 2026, 01:00 UTC")
    # Same offset as the event's zone: no second time.
    assert outbox.when(start, end, "Europe/Paris", "Europe/Berlin").long == "Sat 21 Mar 2026, 02:00–02:30 CET (Europe/Paris)"
    # A zone that isn't one (an old row, a typo): the event's, said so.
    fallback = outbox.when(start, end, "Nowhere/Else", "Europe/Berlin")
    assert fallback.long == "Sat 21 Mar 2026, 02:00–02:30 CET (Europe/Berlin, the event's time zone)"
    assert fallback.short == "Sat 21 Mar 2026, 02:00 CET"
    # Across a clock change each end names its own zone.
    spring = dt.datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
    assert outbox.when(spring, spring + dt.timedelta(hours=1), None, "Europe/Berlin").long == (
        "Sun 29 Mar 2026, 01:30 CET–03:30 CEST (Europe/Berlin, the event's time zone)"
    )


async def test_demo_seeded_confirmation_names_one_zone(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """The demo's confirmed chat (seeded before anyone set a zone) names the same zone in subject and body."""
    now = dt.datetime(2026, 12, 1, 7, 0, tzinfo=UTC)
    assert await demo.seed(sessionmaker, now=now, base_url="http://demo.test")
    mails = await _mails(sessionmaker, "confirmed")
    tom = mails["talent@demo.fairmeet.test"]
    _same_zone_in_subject_and_body(tom)
    assert "(Europe/Berlin, the event's time zone)" in tom.body_text
