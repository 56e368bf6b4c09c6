"""Calendar invites (iTIP) a chat's two people receive over its life, read back by two independent parsers."""

from __future__ import annotations

import datetime as dt
import email
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from zoneinfo import ZoneInfo

import icalendar
from ical.calendar_stream import IcsCalendarStream
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scheduling import actions, delivery
from scheduling import ical as fm_ical
from scheduling.models import ChatRequest, OutboxMessage
from tests.factories import make_world

UTC = dt.UTC
SM = async_sessionmaker[AsyncSession]
MAIL_FROM = "Fairmeet <noreply@fairmeet.local>"


@dataclass(frozen=True)
class Seen:
    """One invite as a calendar program would read it, agreed on by both parsers."""

    method: str
    uid: str
    sequence: int
    status: str
    start: dt.datetime
    end: dt.datetime
    stamp: dt.datetime
    organizer: str
    attendees: frozenset[str]


def _mailto(value: str) -> str:
    value = str(value)
    assert value.lower().startswith("mailto:"), value
    return value[len("mailto:"):].lower()


def read_with_icalendar(text: str) -> Seen:
    cal = icalendar.Calendar.from_ical(text)
    assert cal.get("version") == "2.0"
    assert cal.get("prodid")
    events = list(cal.walk("VEVENT"))
    assert len(events) == 1
    ev = events[0]
    for name in ("dtstart", "dtend", "dtstamp"):
        prop = ev[name]
        assert "TZID" not in prop.params, f"{name} must be in UTC, not a local zone"
        raw = ev.content_line(name, prop)  # e.g. "DTSTART:20260321T010000Z"
        assert raw.endswith("Z"), f"{name} must be written in UTC (...Z): {raw!r}"
    attendees = ev.get("attendee")
    attendees = attendees if isinstance(attendees, list) else [attendees]
    return Seen(
        method=str(cal["method"]),
        uid=str(ev["uid"]),
        sequence=int(str(ev["sequence"])),
        status=str(ev["status"]),
        start=ev.decoded("dtstart"),
        end=ev.decoded("dtend"),
        stamp=ev.decoded("dtstamp"),
        organizer=_mailto(str(ev["organizer"])),
        attendees=frozenset(_mailto(str(a)) for a in attendees),
    )


def read_with_ical(text: str) -> Seen:
    """allenporter's `ical`: a strict, pydantic-based reader independent of `icalendar`."""
    cal = IcsCalendarStream.calendar_from_ics(text)
    assert len(cal.events) == 1
    ev = cal.events[0]
    assert isinstance(ev.dtstart, dt.datetime) and isinstance(ev.dtend, dt.datetime)
    assert ev.dtstart.utcoffset() == dt.timedelta(0) and ev.dtend.utcoffset() == dt.timedelta(0)
    assert ev.organizer is not None and ev.status is not None and ev.sequence is not None and cal.method is not None
    return Seen(
        method=cal.method,
        uid=ev.uid,
        sequence=ev.sequence,
        status=ev.status.value,
        start=ev.dtstart,
        end=ev.dtend,
        stamp=ev.dtstamp,  # type: ignore[arg-type]
        organizer=_mailto(ev.organizer.uri),
        attendees=frozenset(_mailto(a.uri) for a in ev.attendees),
    )


def read(text: str) -> Seen:
    a, b = read_with_icalendar(text), read_with_ical(text)
    assert a == b, f"the two parsers disagree:\n{a}\n{b}"
    return a


def calendar_part(message: EmailMessage) -> tuple[str, str]:
    """(method= parameter, body) of the inline text/calendar part, as a mail client sees it after transport."""
    parsed = email.message_from_bytes(message.as_bytes(), policy=policy.default)
    parts = [p for p in parsed.walk() if p.get_content_type() == "text/calendar"]
    assert len(parts) == 1
    method = parts[0].get_param("method")
    assert isinstance(method, str)
    attachments = [p for p in parsed.walk() if p.get_filename() == "invite.ics"]
    assert len(attachments) == 1
    ics = attachments[0].get_content()
    body = parts[0].get_content()
    ics_text = ics.decode() if isinstance(ics, bytes) else ics
    # A text/* part travels with canonical line endings; the attachment keeps the bytes as written.
    assert ics_text.splitlines() == body.splitlines()
    return method, body


async def test_invites_over_a_chats_life(sessionmaker: SM, now: dt.datetime) -> None:
    w = await make_world(sessionmaker, now)
    talent, recruiter = w.talents[0], w.recruiters[0]
    people = frozenset({talent.email, recruiter.email})
    clock = iter(now + dt.timedelta(minutes=10 * i) for i in range(1, 100))
    seen_ids: set[int] = set()

    async def new_mail() -> list[OutboxMessage]:
        async with sessionmaker() as s:
            rows = (await s.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars().all()
        fresh = [r for r in rows if r.id not in seen_ids]
        seen_ids.update(r.id for r in fresh)
        return fresh

    async def free_slots(chat_id: int):  # type: ignore[no-untyped-def]
        async with sessionmaker() as s:
            c = await actions.load_chat(s, chat_id, talent)
            return await actions.open_slots_for_chat(s, c, await actions.get_event(s, w.event_id), now=now)

    async def chat_row(chat_id: int) -> ChatRequest:
        async with sessionmaker() as s:
            c = await s.get(ChatRequest, chat_id)
            assert c is not None
            return c

    def invites(rows: list[OutboxMessage], kind: str, stamp: dt.datetime) -> Seen:
        """The two invites of one step: one to each person, identical but for the recipient."""
        assert [r.kind for r in rows] == [kind, kind]
        assert {r.to_email for r in rows} == people
        seen = []
        for r in rows:
            assert r.ical is not None and r.ical_method is not None
            s = read(r.ical)
            assert s.method == r.ical_method
            method, body = calendar_part(delivery.build_email(r, MAIL_FROM))
            assert method == s.method
            assert read(body) == s
            assert s.stamp == stamp
            assert s.attendees == people
            assert s.organizer == "noreply@fairmeet.local"
            seen.append(s)
        assert seen[0] == seen[1]
        return seen[0]

    # Request and acceptance: mail without any calendar.
    ctx = actions.Context(now=next(clock))
    async with sessionmaker() as s, s.begin():
        chat = await actions.send_request(s, ctx, talent, w.event_id, recruiter_id=recruiter.id, message="Hi")
    async with sessionmaker() as s, s.begin():
        await actions.accept(s, actions.Context(now=next(clock)), recruiter, chat.id)
    rows = await new_mail()
    assert [r.kind for r in rows] == ["request_received", "request_accepted"]
    assert all(r.ical is None and r.ical_method is None for r in rows)
    assert all(not [p for p in delivery.build_email(r, MAIL_FROM).walk() if p.get_content_type() == "text/calendar"] for r in rows)

    free = await free_slots(chat.id)
    assert len(free) >= 4
    history: list[Seen] = []

    # 1. Booked: REQUEST, confirmed, at the booked slot.
    stamp = next(clock)
    async with sessionmaker() as s, s.begin():
        await actions.book(s, actions.Context(now=stamp), talent, chat.id, free[0].start)
    booked = invites(await new_mail(), "confirmed", stamp)
    row = await chat_row(chat.id)
    assert (booked.method, booked.status) == ("REQUEST", "CONFIRMED")
    assert (booked.start, booked.end) == (row.starts_at, row.ends_at) == (free[0].start, free[0].end)
    assert booked.uid == row.ical_uid
    history.append(booked)

    # 2. Rescheduled straight to a new time: REQUEST at the new time, same UID, higher SEQUENCE.
    stamp = next(clock)
    async with sessionmaker() as s, s.begin():
        await actions.reschedule(s, actions.Context(now=stamp), recruiter, chat.id, reason="Clash with a meeting", start=free[2].start)
    moved = invites(await new_mail(), "rescheduled", stamp)
    row = await chat_row(chat.id)
    assert row.status == "confirmed"
    assert (moved.method, moved.status) == ("REQUEST", "CONFIRMED")
    assert (moved.start, moved.end) == (row.starts_at, row.ends_at) == (free[2].start, free[2].end)
    history.append(moved)

    # 3. Rescheduled without a new time: the old time is withdrawn (CANCEL at the old time).
    stamp = next(clock)
    async with sessionmaker() as s, s.begin():
        await actions.reschedule(s, actions.Context(now=stamp), talent, chat.id, reason="Something came up")
    released = invites(await new_mail(), "rescheduled", stamp)
    row = await chat_row(chat.id)
    assert row.status == "accepted" and row.starts_at is None
    assert (released.method, released.status) == ("CANCEL", "CANCELLED")
    assert (released.start, released.end) == (free[2].start, free[2].end)
    history.append(released)

    # 4. Booked again: a REQUEST that brings the chat back, still the same UID.
    stamp = next(clock)
    async with sessionmaker() as s, s.begin():
        await actions.book(s, actions.Context(now=stamp), talent, chat.id, free[3].start)
    rebooked = invites(await new_mail(), "confirmed", stamp)
    assert (rebooked.method, rebooked.status) == ("REQUEST", "CONFIRMED")
    assert (rebooked.start, rebooked.end) == (free[3].start, free[3].end)
    history.append(rebooked)

    # 5. Cancelled: CANCEL + CANCELLED for the booked time.
    stamp = next(clock)
    async with sessionmaker() as s, s.begin():
        await actions.cancel(s, actions.Context(now=stamp), recruiter, chat.id, reason="Position filled")
    cancelled = invites(await new_mail(), "cancelled", stamp)
    assert (cancelled.method, cancelled.status) == ("CANCEL", "CANCELLED")
    assert (cancelled.start, cancelled.end) == (free[3].start, free[3].end)
    history.append(cancelled)

    assert len({h.uid for h in history}) == 1, "a calendar program must see one event, not five"
    sequences = [h.sequence for h in history]
    assert sequences == sorted(set(sequences)), f"SEQUENCE must strictly increase: {sequences}"
    assert sequences[0] == 0
    assert (await chat_row(chat.id)).ical_sequence == sequences[-1]


async def test_two_chats_have_different_uids(sessionmaker: SM, now: dt.datetime) -> None:
    w = await make_world(sessionmaker, now, talents=2)
    ctx = actions.Context(now=now)
    uids = []
    for i, talent in enumerate(w.talents):
        async with sessionmaker() as s, s.begin():
            chat = await actions.send_request(s, ctx, talent, w.event_id, recruiter_id=w.recruiters[0].id)
        async with sessionmaker() as s, s.begin():
            await actions.accept(s, ctx, w.recruiters[0], chat.id)
        async with sessionmaker() as s:
            c = await actions.load_chat(s, chat.id, talent)
            free = await actions.open_slots_for_chat(s, c, await actions.get_event(s, w.event_id), now=now)
        async with sessionmaker() as s, s.begin():
            await actions.book(s, ctx, talent, chat.id, free[i].start)
    async with sessionmaker() as s:
        rows = (await s.execute(select(OutboxMessage).where(OutboxMessage.kind == "confirmed"))).scalars().all()
    for r in rows:
        assert r.ical is not None
        uids.append(read(r.ical).uid)
    assert len(uids) == 4 and len(set(uids)) == 2


def test_invite_in_a_local_zone_is_written_in_utc() -> None:
    """An invite built from zone-aware Berlin times is still written as UTC instants."""
    berlin = ZoneInfo("Europe/Berlin")
    start = dt.datetime(2026, 3, 29, 3, 0, tzinfo=berlin)  # just after the spring change: 01:00 UTC
    invite = fm_ical.Invite(
        uid="x@fairmeet", sequence=3, start=start, end=start + dt.timedelta(minutes=30), summary="1-1 chat",
        description="Join, please; it's at 03:00", organizer=fm_ical.Person("Hiring Days, Spring", "noreply@fairmeet.local"),
        attendees=[fm_ical.Person("Rita", "rita@example.test"), fm_ical.Person("Tom", "tom@example.test")],
    )
    stamp = dt.datetime(2026, 3, 20, 9, 0, tzinfo=berlin)
    for text, method, status in ((fm_ical.request(invite, stamp=stamp), "REQUEST", "CONFIRMED"),
                                 (fm_ical.cancel(invite, stamp=stamp), "CANCEL", "CANCELLED")):
        seen = read(text)
        assert (seen.method, seen.status, seen.sequence) == (method, status, 3)
        assert seen.start == dt.datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
        assert seen.end == dt.datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
        assert seen.stamp == dt.datetime(2026, 3, 20, 8, 0, tzinfo=UTC)
        assert "\r\n" in text  # RFC 5545 line endings
        cal = icalendar.Calendar.from_ical(text)
        ev = next(iter(cal.walk("VEVENT")))
        assert str(ev["description"]) == "Join, please; it's at 03:00"
        assert ev["organizer"].params["CN"] == "Hiring Days, Spring"


def test_feed_has_no_method_and_lists_every_chat() -> None:
    start = dt.datetime(2026, 3, 21, 9, 0, tzinfo=UTC)
    invites = [
        fm_ical.Invite(uid=f"{i}@fairmeet", sequence=i, start=start + dt.timedelta(hours=i), end=start + dt.timedelta(hours=i, minutes=30),
                       summary=f"chat {i}", description="", organizer=fm_ical.Person("Ev", "noreply@fairmeet.local"),
                       attendees=[fm_ical.Person("A", "a@example.test"), fm_ical.Person("B", "b@example.test")])
        for i in range(3)
    ]
    text = fm_ical.feed("Tom's chats", invites, stamp=start)
    cal = icalendar.Calendar.from_ical(text)
    assert "METHOD" not in cal
    assert str(cal["X-WR-CALNAME"]) == "Tom's chats"
    other = IcsCalendarStream.calendar_from_ics(text)
    assert other.method is None
    assert [e.uid for e in other.events] == ["0@fairmeet", "1@fairmeet", "2@fairmeet"]
    assert [e.dtstart for e in other.events] == [start, start + dt.timedelta(hours=1), start + dt.timedelta(hours=2)]
