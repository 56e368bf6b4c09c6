"""Actions: every change to events, participants and 1-1 chats.

Each action checks who may act, locks what it changes, changes it, records the chat's
history and writes the notifications to the outbox, all in the caller's transaction.
The caller opens the transaction (`async with session.begin()`) and commits.
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import Any, Protocol

from sqlalchemy import BigInteger, Integer, Select, Update, bindparam, case, delete, func, insert, literal, select, union_all, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from scheduling import accounts, ical, outbox, slots, states, timefmt
from scheduling.errors import Conflict, Forbidden, IllegalTransition, Invalid, NotFound, QuotaExceeded, SlotTaken
from scheduling.models import (
    Availability,
    BookingMode,
    BusyBlock,
    ChatEvent,
    ChatRequest,
    ChatStatus,
    Company,
    Event,
    OutboxMessage,
    Participant,
    RequestsBy,
    Role,
    User,
)

S = ChatStatus
INVITE_LINK_LIFETIME = dt.timedelta(days=7)


@dataclass
class Context:
    """What every action needs from outside the database: the time and where links point."""

    now: dt.datetime
    base_url: str = "http://127.0.0.1:8000"
    mail_from: str = "noreply@fairmeet.local"
    changed: list[tuple[str, int]] = field(default_factory=list)

    def link(self, path: str) -> str:
        return self.base_url.rstrip("/") + path


# --------------------------------------------------------------------------- lookups


async def get_event(session: AsyncSession, event_id: int) -> Event:
    event = await session.get(Event, event_id)
    if event is None:
        raise NotFound("No such event.", code="event_not_found")
    return event


async def participation(session: AsyncSession, event_id: int, user_id: int, *, lock: bool = False) -> Participant | None:
    stmt = select(Participant).where(Participant.event_id == event_id, Participant.user_id == user_id)
    if lock:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def require_member(session: AsyncSession, event: Event, user: User) -> Participant | None:
    """The user's participation; platform admins pass without one. Strangers are refused."""
    member = await participation(session, event.id, user.id)
    if member is None and not user.is_admin:
        raise NotFound("No such event.", code="event_not_found")
    return member


async def require_organizer(session: AsyncSession, event: Event, user: User) -> None:
    member = await require_member(session, event, user)
    if user.is_admin:
        return
    if member is None or member.role != Role.ORGANIZER.value:
        raise Forbidden("Only the event's organizers can do that.", code="not_organizer")


async def load_chat(session: AsyncSession, chat_id: int, user: User, *, lock: bool = False) -> ChatRequest:
    """A chat the user takes part in (or organizes); anyone else gets not-found, so ids don't leak."""
    stmt = select(ChatRequest).where(ChatRequest.id == chat_id)
    if lock:
        stmt = stmt.with_for_update()
    chat = (await session.execute(stmt)).scalar_one_or_none()
    if chat is None:
        raise NotFound("No such chat request.", code="chat_not_found")
    if user.id in (chat.talent_id, chat.recruiter_id) or user.is_admin:
        return chat
    member = await participation(session, chat.event_id, user.id)
    if member is not None and member.role == Role.ORGANIZER.value:
        return chat
    raise NotFound("No such chat request.", code="chat_not_found")


def _require_party(chat: ChatRequest, user: User) -> None:
    if user.id not in (chat.talent_id, chat.recruiter_id):
        raise Forbidden("Only the two people of this chat can do that.", code="not_a_party")


# --------------------------------------------------------------------------- events and people


@dataclass
class ChatFormat:
    requests_by: str = RequestsBy.TALENTS.value
    slot_minutes: int = 30
    buffer_minutes: int = 0
    max_requests_per_talent: int | None = None
    max_chats_per_talent: int | None = None
    room_opens_minutes_before: int = 5


def _check_format(fmt: ChatFormat) -> None:
    if fmt.requests_by not in {r.value for r in RequestsBy}:
        raise Invalid("Who may send requests must be talents, recruiters or both.", code="invalid_format")
    if not (5 <= fmt.slot_minutes <= 240) or fmt.slot_minutes % slots.BLOCK_MINUTES:
        raise Invalid("Slot length must be 5 to 240 minutes, in steps of 5.", code="invalid_format")
    if not (0 <= fmt.buffer_minutes <= 120) or fmt.buffer_minutes % slots.BLOCK_MINUTES:
        raise Invalid("The buffer must be 0 to 120 minutes, in steps of 5.", code="invalid_format")
    for value, label in ((fmt.max_requests_per_talent, "requests"), (fmt.max_chats_per_talent, "chats")):
        if value is not None and not (1 <= value <= 1000):
            raise Invalid(f"The cap on {label} per talent must be 1 to 1000, or empty for none.", code="invalid_format")
    if not (0 <= fmt.room_opens_minutes_before <= 120):
        raise Invalid("Rooms can open 0 to 120 minutes before a chat.", code="invalid_format")


def one_line(text: str, label: str, *, required: bool = True, limit: int = 200) -> str:
    """A name-like value: trimmed, no line breaks or control characters (they end up in mail headers)."""
    text = text.strip()
    if required and not text:
        raise Invalid(f"The {label} is required.", code="invalid_input")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in text):
        raise Invalid(f"The {label} can't contain line breaks or control characters.", code="invalid_input")
    if len(text) > limit:
        raise Invalid(f"The {label} is limited to {limit} characters.", code="invalid_input")
    return text


def _check_event_fields(name: str, timezone: str, starts_at: dt.datetime, ends_at: dt.datetime) -> None:
    one_line(name, "event name")
    timefmt.checked_instant(starts_at, "event start")
    timefmt.checked_instant(ends_at, "event end")
    if not timefmt.is_valid_zone(timezone):
        raise Invalid(f"Unknown time zone {timezone!r}; use a name such as Europe/Berlin.", code="invalid_timezone")
    if ends_at <= starts_at:
        raise Invalid("The event must end after it starts.", code="invalid_event")
    if ends_at - starts_at > dt.timedelta(days=31):
        raise Invalid("An event can last at most 31 days.", code="invalid_event")


async def create_event(
    session: AsyncSession,
    ctx: Context,
    actor: User,
    *,
    name: str,
    timezone: str,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    description: str = "",
    support_email: str = "",
    fmt: ChatFormat | None = None,
) -> Event:
    if not actor.is_admin:
        raise Forbidden("Only platform admins can create events.", code="not_admin")
    fmt = fmt or ChatFormat()
    _check_event_fields(name, timezone, starts_at, ends_at)
    _check_format(fmt)
    support_email = _support_email(support_email)
    event = Event(
        name=name.strip()[:200],
        description=description,
        timezone=timezone,
        starts_at=starts_at,
        ends_at=ends_at,
        support_email=support_email,
        created_at=ctx.now,
        **fmt.__dict__,
    )
    session.add(event)
    await session.flush()
    session.add(Participant(event_id=event.id, user_id=actor.id, role=Role.ORGANIZER.value, requests_used=0, chats_booked=0))
    await session.flush()
    return event


async def update_event(
    session: AsyncSession,
    actor: User,
    event_id: int,
    *,
    name: str,
    timezone: str,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    description: str,
    support_email: str,
    fmt: ChatFormat,
) -> Event:
    event = await get_event(session, event_id)
    await require_organizer(session, event, actor)
    _check_event_fields(name, timezone, starts_at, ends_at)
    _check_format(fmt)
    support_email = _support_email(support_email)
    event.name = name.strip()[:200]
    event.timezone = timezone
    event.starts_at = starts_at
    event.ends_at = ends_at
    event.description = description
    event.support_email = support_email
    for key, value in fmt.__dict__.items():
        setattr(event, key, value)
    return event


def _support_email(value: str) -> str:
    return accounts.normalize_email(value) if value.strip() else ""


def _check_url(url: str, label: str) -> str:
    url = url.strip()
    if url and not (url.startswith("https://") or url.startswith("http://")):
        raise Invalid(f"The {label} must start with https:// or http://.", code="invalid_url")
    return url[:500]


async def add_company(
    session: AsyncSession, actor: User, event_id: int, *, name: str, description: str = "", website: str = "", logo_url: str = ""
) -> Company:
    event = await get_event(session, event_id)
    await require_organizer(session, event, actor)
    company = Company(
        event_id=event.id,
        name=one_line(name, "company name"),
        description=description.strip(),
        website=_check_url(website, "website"),
        logo_url=_check_url(logo_url, "logo URL"),
    )
    session.add(company)
    await session.flush()
    return company


async def add_participant(
    session: AsyncSession,
    ctx: Context,
    actor: User,
    event_id: int,
    *,
    email: str,
    name: str,
    role: str,
    company_id: int | None = None,
    password: str | None = None,
) -> Participant:
    """Adds a person to the event, creating their account if needed.

    Without a password the person gets an invitation email with a one-time sign-in link.
    """
    event = await get_event(session, event_id)
    await require_organizer(session, event, actor)
    if role not in {r.value for r in Role}:
        raise Invalid("Role must be talent, recruiter or organizer.", code="invalid_role")
    name = one_line(name, "name", limit=120)
    if role == Role.RECRUITER.value:
        if company_id is None:
            raise Invalid("A recruiter belongs to a company: give company_id.", code="company_required")
        company = await session.get(Company, company_id)
        if company is None or company.event_id != event.id:
            raise NotFound("No such company in this event.", code="company_not_found")
    elif company_id is not None:
        raise Invalid("Only recruiters belong to a company.", code="invalid_company")
    user = await accounts.user_by_email(session, accounts.normalize_email(email))
    if user is None:
        user = await accounts.create_user(session, email=email, name=name, password=password, now=ctx.now)
    elif await participation(session, event.id, user.id) is not None:
        raise Conflict("That person already takes part in this event.", code="already_participant")
    member = Participant(
        event_id=event.id, user_id=user.id, role=role, company_id=company_id, requests_used=0, chats_booked=0,
        booking_mode=BookingMode.SELECTIVE.value, custom_question="", ideal_candidate="",
    )
    session.add(member)
    await session.flush()
    if password is None:
        secret = await accounts.issue_login_link(session, user, now=ctx.now, lifetime=INVITE_LINK_LIFETIME)
        mail = outbox.invitation(to=user.name, event_name=event.name, role=role, url=ctx.link(f"/login/link/{secret}?next=/events/{event.id}"))
        outbox.enqueue(session, user, "invitation", mail, now=ctx.now)
    return member


@dataclass(frozen=True)
class Window:
    start: dt.datetime
    end: dt.datetime


async def set_recruiter_profile(
    session: AsyncSession,
    actor: User,
    event_id: int,
    recruiter_user_id: int,
    *,
    booking_mode: str,
    custom_question: str,
    ideal_candidate: str,
    availability: Sequence[Window] | None,
) -> Participant:
    """Sets a recruiter's booking mode, question, "who I'd like to talk to" and availability.

    Availability is replaced as a whole when given. Confirmed chats stay where they are.
    """
    event = await get_event(session, event_id)
    if actor.id != recruiter_user_id:
        await require_organizer(session, event, actor)
    member = await participation(session, event.id, recruiter_user_id)
    if member is None or member.role != Role.RECRUITER.value:
        if actor.id == recruiter_user_id and member is None:
            raise NotFound("No such event.", code="event_not_found")
        raise NotFound("No such recruiter in this event.", code="recruiter_not_found")
    if booking_mode not in {m.value for m in BookingMode}:
        raise Invalid("Booking mode must be selective or direct.", code="invalid_booking_mode")
    member.booking_mode = booking_mode
    member.custom_question = custom_question.strip()[:500]
    member.ideal_candidate = ideal_candidate.strip()[:2000]
    if availability is not None:
        windows = sorted(availability, key=lambda w: w.start)
        for w in windows:
            timefmt.checked_instant(w.start, "availability start")
            timefmt.checked_instant(w.end, "availability end")
            if w.end <= w.start:
                raise Invalid("Each availability window must end after it starts.", code="invalid_availability")
            if not (slots.is_on_block_boundary(w.start) and slots.is_on_block_boundary(w.end)):
                raise Invalid("Availability must start and end on whole 5 minutes (like 09:00 or 09:05).", code="invalid_availability")
            if w.start < event.starts_at or w.end > event.ends_at:
                raise Invalid("Availability must lie within the event's start and end.", code="availability_outside_event")
        for a, b in zip(windows, windows[1:], strict=False):
            if b.start < a.end:
                raise Invalid("Availability windows must not overlap.", code="invalid_availability")
        await session.execute(delete(Availability).where(Availability.participant_id == member.id))
        session.add_all(Availability(participant_id=member.id, starts_at=w.start, ends_at=w.end) for w in windows)
        await session.flush()
    return member


# --------------------------------------------------------------------------- chat requests


def _record(
    session: AsyncSession, ctx: Context, chat: ChatRequest, actor: User | None, to: ChatStatus, note: str = "",
    *, writes: _Writes | None = None,
) -> None:
    """The one way a chat changes status: checks the state machine and writes the history row.

    With `writes` (the booking actions) the row and the chat's new columns are collected for
    one statement; without, they go through the ORM session and are flushed at commit.
    """
    states.check(chat.status, to)
    history = {
        "chat_request_id": chat.id, "actor_id": actor.id if actor else None, "from_status": chat.status, "to_status": to.value,
        "note": note, "created_at": ctx.now,
    }
    if writes is None:
        session.add(ChatEvent(**history))
    else:
        writes.history.append(history)
    _set(chat, writes, "status", to.value)
    _set(chat, writes, "updated_at", ctx.now)
    ctx.changed.append(("chat", chat.id))


async def chat_people(session: AsyncSession, chat: ChatRequest) -> tuple[User, User, Event]:
    talent = await session.get(User, chat.talent_id)
    recruiter = await session.get(User, chat.recruiter_id)
    event = await session.get(Event, chat.event_id)
    assert talent is not None and recruiter is not None and event is not None
    return talent, recruiter, event


def _other(chat: ChatRequest, actor: User, talent: User, recruiter: User) -> User:
    return recruiter if actor.id == talent.id else talent


async def send_request(
    session: AsyncSession,
    ctx: Context,
    actor: User,
    event_id: int,
    *,
    recruiter_id: int | None = None,
    talent_id: int | None = None,
    message: str = "",
    answer: str = "",
) -> ChatRequest:
    event = await get_event(session, event_id)
    me = await participation(session, event.id, actor.id)
    if me is None:
        raise NotFound("No such event.", code="event_not_found")
    if (recruiter_id is None) == (talent_id is None):
        raise Invalid("Give exactly one of recruiter_id or talent_id.", code="invalid_counterpart")
    message = message.strip()
    answer = answer.strip()
    if len(message) > 2000 or len(answer) > 2000:
        raise Invalid("Message and answer are limited to 2000 characters.", code="too_long")
    if me.role == Role.TALENT.value:
        if recruiter_id is None:
            raise Invalid("Talents send requests to recruiters: give recruiter_id.", code="invalid_counterpart")
        if event.requests_by == RequestsBy.RECRUITERS.value:
            raise Forbidden("In this event only recruiters send 1-1 chat requests.", code="requests_not_allowed")
        other = await participation(session, event.id, recruiter_id)
        if other is None or other.role != Role.RECRUITER.value:
            raise NotFound("No such recruiter in this event.", code="recruiter_not_found")
        recruiter_member, talent_member = other, me
    elif me.role == Role.RECRUITER.value:
        if talent_id is None:
            raise Invalid("Recruiters send requests to talents: give talent_id.", code="invalid_counterpart")
        if event.requests_by == RequestsBy.TALENTS.value:
            raise Forbidden("In this event only talents send 1-1 chat requests.", code="requests_not_allowed")
        other = await participation(session, event.id, talent_id)
        if other is None or other.role != Role.TALENT.value:
            raise NotFound("No such talent in this event.", code="talent_not_found")
        recruiter_member, talent_member = me, other
    else:
        raise Forbidden("Only talents and recruiters send 1-1 chat requests.", code="wrong_role")

    question = recruiter_member.custom_question if me.role == Role.TALENT.value else ""
    if question and not answer:
        raise Invalid("This recruiter asks a question; answer it to send your request.", code="answer_required")
    if ctx.now >= event.ends_at:
        raise Conflict("The event is over; requests are closed.", code="event_over")

    uses_credit = me.role == Role.TALENT.value
    if uses_credit:
        await _take_quota(session, talent_member.id, "requests_used", event.max_requests_per_talent,
                          "You have used all your chat requests for this event.")
    chat = ChatRequest(
        event_id=event.id,
        talent_id=talent_member.user_id,
        recruiter_id=recruiter_member.user_id,
        sender_id=actor.id,
        message=message,
        answer=answer if question else "",
        question=question,
        status=S.PENDING.value,
        uses_credit=uses_credit,
        ical_uid=f"{uuid.uuid4()}@fairmeet",
        ical_sequence=0,
        invite_sent=False,
        reason="",
        created_at=ctx.now,
        updated_at=ctx.now,
    )
    session.add(chat)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        raise Conflict("You already have an open 1-1 chat request with this person.", code="duplicate_request") from None
    session.add(ChatEvent(chat_request_id=chat.id, actor_id=actor.id, from_status=None, to_status=S.PENDING.value, note="", created_at=ctx.now))
    ctx.changed.append(("chat", chat.id))

    talent, recruiter, _ = await chat_people(session, chat)
    receiver = recruiter if me.role == Role.TALENT.value else talent
    auto = me.role == Role.TALENT.value and recruiter_member.booking_mode == BookingMode.DIRECT.value
    if auto:
        _record(session, ctx, chat, recruiter, S.ACCEPTED, "direct booking")
    mail = outbox.request_received(
        to=receiver.name, sender=actor.name, event_name=event.name, message=message, answer=chat.answer,
        question=question, url=ctx.link(f"/chats/{chat.id}"), auto_accepted=auto,
    )
    outbox.enqueue(session, receiver, "request_received", mail, now=ctx.now)
    return chat


async def _take_quota(session: AsyncSession, participant_id: int, column: str, cap: int | None, message: str) -> None:
    """Counts one use against a talent's cap, atomically: the row is only changed while under the cap."""
    col = getattr(Participant, column)
    stmt = update(Participant).where(Participant.id == participant_id).values({col: col + 1})
    if cap is not None:
        stmt = stmt.where(col < cap)
    result = await session.execute(stmt.execution_options(synchronize_session=False))
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise QuotaExceeded(message)


async def _give_back_quota(session: AsyncSession, event_id: int, user_id: int, column: str) -> None:
    col = getattr(Participant, column)
    await session.execute(
        update(Participant)
        .where(Participant.event_id == event_id, Participant.user_id == user_id, col > 0)
        .values({col: col - 1})
        .execution_options(synchronize_session=False)
    )


async def accept(session: AsyncSession, ctx: Context, actor: User, chat_id: int) -> ChatRequest:
    chat = await load_chat(session, chat_id, actor, lock=True)
    _require_party(chat, actor)
    if actor.id == chat.sender_id:
        raise Forbidden("The person who received the request accepts it.", code="not_receiver")
    _record(session, ctx, chat, actor, S.ACCEPTED)
    talent, recruiter, event = await chat_people(session, chat)
    other = _other(chat, actor, talent, recruiter)
    mail = outbox.request_accepted(to=other.name, other=actor.name, event_name=event.name, url=ctx.link(f"/chats/{chat.id}"))
    outbox.enqueue(session, other, "request_accepted", mail, now=ctx.now)
    return chat


async def decline(session: AsyncSession, ctx: Context, actor: User, chat_id: int, reason: str = "") -> ChatRequest:
    chat = await load_chat(session, chat_id, actor, lock=True)
    _require_party(chat, actor)
    if actor.id == chat.sender_id:
        raise Forbidden("You sent this request; cancel it instead.", code="not_receiver")
    reason = reason.strip()[:1000]
    _record(session, ctx, chat, actor, S.DECLINED, reason)
    chat.reason = reason
    chat.closed_by_id = actor.id
    talent, recruiter, event = await chat_people(session, chat)
    other = _other(chat, actor, talent, recruiter)
    mail = outbox.request_declined(to=other.name, other=actor.name, event_name=event.name, reason=reason, url=ctx.link(f"/events/{event.id}"))
    outbox.enqueue(session, other, "request_declined", mail, now=ctx.now)
    return chat


class _Named(Protocol):
    @property
    def name(self) -> str: ...


def invite_for(
    ctx: Context, chat: ChatRequest, talent: outbox.Addressee, recruiter: outbox.Addressee, event: _Named,
    *, at: tuple[dt.datetime, dt.datetime] | None = None,
) -> ical.Invite:
    """The chat's invite at its booked time, or at `at` (the old time, when announcing its release)."""
    start, end = at if at is not None else (chat.starts_at, chat.ends_at)
    assert start is not None and end is not None
    return ical.Invite(
        uid=chat.ical_uid,
        sequence=chat.ical_sequence,
        start=start,
        end=end,
        summary=f"1-1 chat: {talent.name} & {recruiter.name} ({event.name})",
        description=f"Your 1-1 chat at {event.name}. Join the room from {ctx.link(f'/chats/{chat.id}')}",
        organizer=ical.Person(event.name, ctx.mail_from),
        attendees=[ical.Person(recruiter.name, recruiter.email), ical.Person(talent.name, talent.email)],
        url=ctx.link(f"/chats/{chat.id}"),
        location=ctx.link(f"/chats/{chat.id}"),
    )


def _not_started(chat: ChatRequest, now: dt.datetime) -> None:
    if chat.starts_at is not None and chat.starts_at <= now:
        raise Conflict("This chat has already started, so it can't be moved or cancelled any more.", code="already_started")


def _next_sequence(chat: ChatRequest, writes: _Writes | None = None) -> None:
    """Every invite after the first carries a higher SEQUENCE (RFC 5546 §2.1.4)."""
    if chat.invite_sent:
        _set(chat, writes, "ical_sequence", chat.ical_sequence + 1)
    _set(chat, writes, "invite_sent", True)


# --------------------------------------------------------------------------- booking: book, reschedule, cancel
#
# The hot path. Each action reads what it needs in one statement (the chat row, locked, with its
# event, both people, the recruiter's availability and whether the wanted slot is already
# taken), checks everything in Python, builds the mail and invite texts, and only then takes the
# contended locks and writes: the talent's participant row (the quota update locks it), then
# the busy blocks, the chat row, its history and the outbox, in one statement on PostgreSQL.
# A loser whose slot was already taken when it looked is done after that first statement.


@dataclass
class _Writes:
    """What one action writes besides the talent's counters, sent to the database together."""

    chat: dict[str, Any] = field(default_factory=dict)  # changed chat_requests columns
    history: list[dict[str, Any]] = field(default_factory=list)  # chat_events rows (from _record)
    outbox: list[dict[str, Any]] = field(default_factory=list)  # outbox rows
    blocks: list[dict[str, Any]] = field(default_factory=list)  # busy_blocks rows to insert, sorted by (user, block)
    release: bool = False  # delete the chat's busy blocks first
    talent: _TalentCount | None = None  # the talent's confirmed-chat count to change first (and lock)


@dataclass(frozen=True)
class _TalentCount:
    """A change of the talent's chats_booked: see _lock_talent."""

    event_id: int
    talent_id: int
    delta: int
    cap: int | None = None


def _set(chat: ChatRequest, writes: _Writes | None, key: str, value: Any) -> None:
    """Changes a chat column: through the ORM (flushed at commit), or into `writes` for one Core UPDATE.

    In the second case the loaded object takes the value as already stored, so the ORM issues
    no UPDATE of its own; a rollback expires the object anyway.
    """
    if writes is None:
        setattr(chat, key, value)
    else:
        set_committed_value(chat, key, value)
        writes.chat[key] = value


@dataclass(frozen=True, slots=True)
class _Person:
    id: int
    name: str
    email: str
    timezone: str | None


@dataclass(frozen=True, slots=True)
class _EventInfo:
    id: int
    name: str
    timezone: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    slot_minutes: int
    buffer_minutes: int
    max_chats_per_talent: int | None


@dataclass
class _Locked:
    """A chat locked for a booking action, with everything the action reads, as plain values.

    Plain rows rather than ORM objects: most booking attempts in a rush are losers that only
    read this and answer 409, and loading four ORM objects cost more than the statement.
    `chat` becomes the session's ORM object (_attach) once the action is going to change it.
    """

    values: dict[str, Any]  # the chat_requests row
    event: _EventInfo
    talent: _Person
    recruiter: _Person
    windows: list[tuple[dt.datetime, dt.datetime]]
    talent_busy: bool  # the wanted slot's blocks are taken by another chat of the talent...
    recruiter_busy: bool  # ...or of the recruiter (committed ones; the unique index settles the rest)
    chat: ChatRequest | None = None


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)  # block numbers count 5-minute blocks from here, as in slots.blocks
_BLOCK = dt.timedelta(minutes=slots.BLOCK_MINUTES)
_TALENT = aliased(User, name="talent_user")
_RECRUITER = aliased(User, name="recruiter_user")
_RECRUITER_MEMBER = aliased(Participant, name="recruiter_member")
_CHAT_COLS = tuple(ChatRequest.__table__.c.keys())
_EVENT_COLS = tuple(f.name for f in fields(_EventInfo))
_PERSON_COLS = tuple(f.name for f in fields(_Person))


def _first_block(start: dt.datetime) -> int | None:
    """The 5-minute block a wanted start falls in; None for values the action will refuse anyway."""
    try:
        start = timefmt.checked_instant(start)
    except Invalid:
        return None
    block, rest = divmod(start - _EPOCH, _BLOCK)
    return None if rest else block


def _busy_flag(user_id: Any) -> Any:
    """EXISTS: the person has a busy block of another chat inside the wanted slot (from block :first on)."""
    first = bindparam("first", type_=BigInteger)
    return (
        select(BusyBlock.id)
        .where(
            BusyBlock.user_id == user_id,
            BusyBlock.block >= first,
            BusyBlock.block < first + Event.slot_minutes // slots.BLOCK_MINUTES,
            BusyBlock.chat_request_id != ChatRequest.id,
        )
        .exists()
    )


@functools.cache
def _lock_chat_stmt(*, windows: bool, busy: bool) -> Select[Any]:
    """Built once per variant: a statement object reused keeps SQLAlchemy's cache key and compiled form.

    Columns, in order: the chat row, the event, the talent, the recruiter, [2 busy flags], [window start, end].
    """
    columns: list[Any] = [ChatRequest.__table__.c[c] for c in _CHAT_COLS]
    columns += [Event.__table__.c[c] for c in _EVENT_COLS]
    columns += [getattr(_TALENT, c) for c in _PERSON_COLS] + [getattr(_RECRUITER, c) for c in _PERSON_COLS]
    if busy:
        columns += [_busy_flag(ChatRequest.talent_id), _busy_flag(ChatRequest.recruiter_id)]
    if windows:
        columns += [Availability.starts_at, Availability.ends_at]
    stmt = (
        select(*columns)
        .join(Event, Event.id == ChatRequest.event_id)
        .join(_TALENT, _TALENT.id == ChatRequest.talent_id)
        .join(_RECRUITER, _RECRUITER.id == ChatRequest.recruiter_id)
        .where(ChatRequest.id == bindparam("chat_id"))
        .with_for_update(of=ChatRequest)
    )
    if windows:
        stmt = stmt.outerjoin(
            _RECRUITER_MEMBER, (_RECRUITER_MEMBER.event_id == ChatRequest.event_id) & (_RECRUITER_MEMBER.user_id == ChatRequest.recruiter_id)
        ).outerjoin(Availability, Availability.participant_id == _RECRUITER_MEMBER.id)
    return stmt


async def _lock_chat(session: AsyncSession, chat_id: int, actor: User, *, start: dt.datetime | None = None) -> _Locked:
    """Locks the chat row (FOR UPDATE, first in the lock order) and reads the rest in the same statement.

    With a wanted `start` it also reads the recruiter's availability (one row per window) and
    whether either person already has a committed busy block in that slot. Same answers as
    load_chat + _require_party: strangers get 404, organizers and admins who aren't one of
    the two people get 403.
    """
    first = _first_block(start) if start is not None else None
    stmt = _lock_chat_stmt(windows=start is not None, busy=first is not None)
    if session.new or session.dirty or session.deleted:
        await session.flush()  # what the session holds goes first, as an ORM query would autoflush it
    conn = await session.connection()
    rows = (await conn.execute(stmt, {"chat_id": chat_id, "first": first} if first is not None else {"chat_id": chat_id})).all()
    if not rows:
        raise NotFound("No such chat request.", code="chat_not_found")
    row = rows[0]
    n_chat, n_event, n_person = len(_CHAT_COLS), len(_EVENT_COLS), len(_PERSON_COLS)
    values = dict(zip(_CHAT_COLS, row[:n_chat], strict=True))
    at = n_chat
    event = _EventInfo(*row[at:at + n_event])
    at += n_event
    talent = _Person(*row[at:at + n_person])
    recruiter = _Person(*row[at + n_person:at + 2 * n_person])
    at += 2 * n_person
    if actor.id not in (talent.id, recruiter.id):
        member = None if actor.is_admin else await participation(session, event.id, actor.id)
        if actor.is_admin or (member is not None and member.role == Role.ORGANIZER.value):
            raise Forbidden("Only the two people of this chat can do that.", code="not_a_party")
        raise NotFound("No such chat request.", code="chat_not_found")
    busy = (bool(row[at]), bool(row[at + 1])) if first is not None else (False, False)
    windows = [(r[-2], r[-1]) for r in rows if r[-2] is not None] if start is not None else []
    return _Locked(values, event, talent, recruiter, windows, *busy)


def _attach(session: AsyncSession, locked: _Locked) -> ChatRequest:
    """The session's ORM object for the locked chat, holding the values just read, without another query."""
    if locked.chat is not None:
        return locked.chat
    chat = session.identity_map.get(identity_key(ChatRequest, locked.values["id"]))
    if isinstance(chat, ChatRequest):
        for key, value in locked.values.items():  # the locked row is the truth; an earlier read may be stale
            set_committed_value(chat, key, value)
    else:
        chat = ChatRequest(**locked.values)
        make_transient_to_detached(chat)  # as if loaded: no pending changes, nothing to INSERT
        session.add(chat)
    locked.chat = chat
    return chat


def _grid_slot(
    windows: Sequence[tuple[dt.datetime, dt.datetime]], start: dt.datetime, slot_minutes: int, buffer_minutes: int,
    *, not_before: dt.datetime, not_after: dt.datetime,
) -> slots.Slot | None:
    """The slot of slots.grid(windows, ...) that starts at `start`, if there is one, without laying out the grid."""
    length = dt.timedelta(minutes=slot_minutes)
    step = dt.timedelta(minutes=slot_minutes + buffer_minutes)
    end = start + length
    if start < not_before or end > not_after:
        return None
    for w_start, w_end in windows:
        if w_start <= start and end <= w_end and (start - w_start) % step == dt.timedelta(0):
            return slots.Slot(start, end)
    return None


def _pick_slot(locked: _Locked, start: dt.datetime, now: dt.datetime) -> slots.Slot:
    """Checks `start` is one of the recruiter's slots, in the future and free for both (as far as committed)."""
    start = timefmt.checked_instant(start, "start")
    event = locked.event
    slot = _grid_slot(locked.windows, start, event.slot_minutes, event.buffer_minutes, not_before=event.starts_at, not_after=event.ends_at)
    if slot is None:
        raise Invalid("That time is not one of the recruiter's slots.", code="not_a_slot")
    if slot.start <= now:
        raise Invalid("That slot has already started; pick a later one.", code="slot_in_past")
    if locked.talent_busy and not locked.recruiter_busy:
        raise SlotTaken("You already have a chat at that time; pick another slot.", code="talent_busy")
    if locked.talent_busy or locked.recruiter_busy:
        raise SlotTaken("That slot was just taken; please pick another.")
    return slot


def _block_rows(chat: ChatRequest, slot: slots.Slot) -> list[dict[str, Any]]:
    """The slot's busy blocks for both people, sorted by (user, block): the lock order for blocks."""
    blocks = slots.blocks(slot.start, slot.end)
    return [{"user_id": uid, "block": b, "chat_request_id": chat.id} for uid in sorted((chat.talent_id, chat.recruiter_id)) for b in blocks]


@functools.cache
def _talent_stmt(delta: int, capped: bool) -> Update:
    n = Participant.chats_booked
    given_back = case((n > 0, n - 1), else_=0)
    stmt = update(Participant).where(Participant.event_id == bindparam("p_event"), Participant.user_id == bindparam("p_talent"))
    if delta < 0:
        return stmt.values(chats_booked=given_back)
    base = n if delta > 0 else given_back
    stmt = stmt.values(chats_booked=base + 1)
    return stmt.where(base < bindparam("p_cap")) if capped else stmt


async def _lock_talent(session: AsyncSession, event_id: int, talent_id: int, delta: int, *, cap: int | None = None) -> bool:
    """Locks the talent's participant row, second in the lock order, by updating their confirmed-chat count.

    delta +1 takes a confirmed chat (refused at `cap`: False), -1 gives one back, 0 does both
    (a move to a new time: the count stays, but a cap lowered meanwhile still refuses it).
    The UPDATE matches the row unless the cap refuses, so it takes the row lock whenever the
    action goes on to touch busy blocks.
    """
    capped = cap is not None and delta >= 0
    conn = await session.connection()
    result = await conn.execute(_talent_stmt(delta, capped), {"p_event": event_id, "p_talent": talent_id, "p_cap": cap})
    return result.rowcount == 1


_HISTORY_COLS = ("chat_request_id", "actor_id", "from_status", "to_status", "note", "created_at")
_OUTBOX_COLS = (
    "to_email", "to_name", "subject", "body_text", "ical", "ical_method", "kind", "status", "attempts", "last_error", "created_at",
    "next_attempt_at",
)


@functools.cache
def _write_parts(chat_cols: tuple[str, ...], n_history: int, n_outbox: int, release: bool) -> tuple[Any, ...]:
    """The single-row statements of one _Writes shape, with named parameters (see _write_params)."""
    parts: list[Any] = []
    if release:
        parts.append(delete(BusyBlock).where(BusyBlock.chat_request_id == bindparam("chat_id")))
    if chat_cols:
        parts.append(update(ChatRequest).where(ChatRequest.id == bindparam("chat_id")).values({c: bindparam(f"c_{c}") for c in chat_cols}))
    parts += [insert(ChatEvent).values({c: bindparam(f"h{i}_{c}") for c in _HISTORY_COLS}) for i in range(n_history)]
    parts += [insert(OutboxMessage).values({c: bindparam(f"m{i}_{c}") for c in _OUTBOX_COLS}) for i in range(n_outbox)]
    return tuple(parts)


@functools.cache
def _pg_write_stmt(
    chat_cols: tuple[str, ...], n_history: int, n_outbox: int, release: bool, blocks: bool, talent: tuple[int, bool] | None,
) -> Any:
    """All of one action's writes as one PostgreSQL statement, data-modifying CTEs around the busy blocks.

    With `talent` (delta, capped) the statement starts with the talent's counter UPDATE (the
    quota CTE) and the busy blocks are inserted FROM it (or deleted only if it EXISTS): no
    block is touched before that row is locked, so the lock order holds inside the one
    statement, and a refused quota inserts no block. The other CTEs touch only the chat row
    (locked already) and new history and outbox rows. The blocks come from two arrays (unnest
    keeps their order, sorted by user then block), so the statement is the same whatever the
    slot length and SQLAlchemy compiles it once. Rows back: (0, quota rows), (1, user id of
    each block inserted).
    """
    parts = list(_write_parts(chat_cols, n_history, n_outbox, release))
    quota = _talent_stmt(*talent).returning(Participant.id).cte("quota") if talent is not None else None
    if release and quota is not None:
        parts[0] = parts[0].where(select(quota.c.id).exists())
    ctes = [part.cte(f"w{i}") for i, part in enumerate(parts)]
    results: list[Any] = []
    if quota is not None:
        results.append(select(literal(0), func.count()).select_from(quota))
    if blocks:
        rows = select(
            func.unnest(bindparam("block_users", type_=postgresql.ARRAY(Integer))),
            func.unnest(bindparam("block_numbers", type_=postgresql.ARRAY(BigInteger))),
            bindparam("chat_id", type_=Integer),
        )
        if quota is not None:
            rows = rows.select_from(quota)
        new = (
            pg_insert(BusyBlock).from_select(["user_id", "block", "chat_request_id"], rows)
            .on_conflict_do_nothing().returning(BusyBlock.user_id).cte("new_blocks")
        )
        results.append(select(literal(1), new.c.user_id))
    if not results:
        *rest, last = parts
        return last.add_cte(*ctes[: len(rest)])
    main: Any = results[0] if len(results) == 1 else union_all(*results)
    return main.add_cte(*ctes)


def _write_params(chat: ChatRequest, writes: _Writes) -> dict[str, Any]:
    params: dict[str, Any] = {"chat_id": chat.id}
    params.update({f"c_{c}": v for c, v in writes.chat.items()})
    for i, row in enumerate(writes.history):
        params.update({f"h{i}_{c}": row[c] for c in _HISTORY_COLS})
    for i, row in enumerate(writes.outbox):
        params.update({f"m{i}_{c}": row[c] for c in _OUTBOX_COLS})
    if writes.blocks:
        params["block_users"] = [r["user_id"] for r in writes.blocks]
        params["block_numbers"] = [r["block"] for r in writes.blocks]
    if writes.talent is not None:
        params.update({"p_event": writes.talent.event_id, "p_talent": writes.talent.talent_id, "p_cap": writes.talent.cap})
    return params


async def _write(session: AsyncSession, chat: ChatRequest, writes: _Writes) -> None:
    """Sends `writes`: one statement on PostgreSQL (data-modifying WITH), one per row on SQLite.

    The talent's counter first (QuotaExceeded when the cap refuses), then the busy blocks with
    ON CONFLICT DO NOTHING: a block that didn't go in was taken by another chat (possibly one
    committing just now: the insert waited for it), and the action fails with 409, rolling
    back everything it wrote.
    """
    conn = await session.connection()
    shape = (tuple(writes.chat), len(writes.history), len(writes.outbox), writes.release)
    talent = writes.talent
    params = _write_params(chat, writes)
    inserted: list[int] = []
    quota_ok = True
    if conn.dialect.name == "postgresql":
        assert not (writes.release and writes.blocks), "a release and new blocks of the same chat need two statements"
        capped = talent is not None and talent.cap is not None and talent.delta >= 0
        stmt = _pg_write_stmt(*shape, bool(writes.blocks), (talent.delta, capped) if talent is not None else None)
        result = await conn.execute(stmt, params)
        if talent is not None or writes.blocks:
            for kind, value in result.all():
                if kind == 0:
                    quota_ok = value == 1
                else:
                    inserted.append(value)
    else:
        if talent is not None:
            quota_ok = await _lock_talent(session, talent.event_id, talent.talent_id, talent.delta, cap=talent.cap)
        parts = _write_parts(*shape)
        if quota_ok and writes.release:
            await conn.execute(parts[0], params)
        for row in writes.blocks if quota_ok else []:
            new = await conn.execute(sqlite_insert(BusyBlock).values(row).on_conflict_do_nothing().returning(BusyBlock.user_id))
            inserted += new.scalars()
        for part in parts[1 if writes.release else 0:] if quota_ok else []:
            await conn.execute(part, params)
    if not quota_ok:
        assert talent is not None and talent.delta >= 0, "the talent's participant row exists (a give-back always matches it)"
        raise QuotaExceeded("The talent has reached the most confirmed chats allowed in this event.")
    if len(inserted) != len(writes.blocks):
        talent_lost = inserted.count(chat.talent_id) != sum(1 for r in writes.blocks if r["user_id"] == chat.talent_id)
        recruiter_lost = inserted.count(chat.recruiter_id) != sum(1 for r in writes.blocks if r["user_id"] == chat.recruiter_id)
        if talent_lost and not recruiter_lost:
            raise SlotTaken("You already have a chat at that time; pick another slot.", code="talent_busy")
        raise SlotTaken("That slot was just taken; please pick another.")


async def open_slots_for_chat(session: AsyncSession, chat: ChatRequest, event: Event, *, now: dt.datetime) -> list[slots.Slot]:
    """The recruiter's grid slots, in the future, free for both people."""
    windows = (
        await session.execute(
            select(Availability.starts_at, Availability.ends_at)
            .join(Participant, Participant.id == Availability.participant_id)
            .where(Participant.event_id == event.id, Participant.user_id == chat.recruiter_id)
        )
    ).all()
    grid = slots.grid(
        [(a, b) for a, b in windows], event.slot_minutes, event.buffer_minutes,
        not_before=max(now, event.starts_at), not_after=event.ends_at,
    )
    busy = await busy_intervals(session, [chat.recruiter_id, chat.talent_id], exclude_chat=chat.id)
    return slots.free(grid, busy)


async def busy_intervals(session: AsyncSession, user_ids: Sequence[int], *, exclude_chat: int | None = None) -> list[tuple[dt.datetime, dt.datetime]]:
    stmt = select(ChatRequest.starts_at, ChatRequest.ends_at).where(
        ChatRequest.status == S.CONFIRMED.value,
        (ChatRequest.recruiter_id.in_(user_ids)) | (ChatRequest.talent_id.in_(user_ids)),
    )
    if exclude_chat is not None:
        stmt = stmt.where(ChatRequest.id != exclude_chat)
    return [(a, b) for a, b in (await session.execute(stmt)).all() if a is not None and b is not None]


async def book(session: AsyncSession, ctx: Context, actor: User, chat_id: int, start: dt.datetime) -> ChatRequest:
    """Confirms an accepted chat at `start`: 409 when the slot was taken meanwhile or a quota is used up."""
    locked = await _lock_chat(session, chat_id, actor, start=start)
    event = locked.event
    states.check(locked.values["status"], S.CONFIRMED, action="be booked")
    slot = _pick_slot(locked, start, ctx.now)
    chat = _attach(session, locked)
    writes = _Writes(blocks=_block_rows(chat, slot))
    _set(chat, writes, "starts_at", slot.start)
    _set(chat, writes, "ends_at", slot.end)
    _record(session, ctx, chat, actor, S.CONFIRMED, writes=writes)
    _next_sequence(chat, writes)
    writes.outbox = _invites(ctx, chat, locked, kind="confirmed")
    writes.talent = _TalentCount(event.id, chat.talent_id, +1, event.max_chats_per_talent)
    await _write(session, chat, writes)
    return chat


def _invites(
    ctx: Context, chat: ChatRequest, locked: _Locked, *, kind: str,
    actor: User | None = None, reason: str = "", old: tuple[dt.datetime, dt.datetime] | None = None,
) -> list[dict[str, Any]]:
    """The two people's mails about the chat's (new) time, with the invite (the same for both), as outbox rows."""
    talent, recruiter, event = locked.talent, locked.recruiter, locked.event
    url = ctx.link(f"/chats/{chat.id}")
    rows = []
    cal: str | None
    if kind == "confirmed":
        invite = invite_for(ctx, chat, talent, recruiter, event)
        cal = ical.request(invite, stamp=ctx.now)
    elif kind == "cancelled":
        cal = ical.cancel(invite_for(ctx, chat, talent, recruiter, event), stamp=ctx.now) if chat.starts_at else None
    else:  # rescheduled
        assert old is not None
        if chat.status == S.CONFIRMED.value:
            cal = ical.request(invite_for(ctx, chat, talent, recruiter, event), stamp=ctx.now)
        else:
            cal = ical.cancel(invite_for(ctx, chat, talent, recruiter, event, at=old), stamp=ctx.now)
    for person, other in ((talent, recruiter), (recruiter, talent)):
        who = actor.name if actor is not None and actor.id != person.id else "You"
        if kind == "confirmed":
            assert chat.starts_at is not None and chat.ends_at is not None and cal is not None
            when = timefmt.span(chat.starts_at, chat.ends_at, person.timezone, event.timezone)
            short = timefmt.day_time(chat.starts_at, timefmt.zone(person.timezone, event.timezone))
            mail = outbox.chat_confirmed(to=person.name, other=other.name, event_name=event.name, when=when, short_when=short, url=url, ical=cal)
        elif kind == "cancelled":
            span = timefmt.span(chat.starts_at, chat.ends_at, person.timezone, event.timezone) if chat.starts_at and chat.ends_at else None
            mail = outbox.chat_cancelled(to=person.name, other=who, event_name=event.name, when=span, reason=reason, url=url, ical=cal)
        else:
            assert old is not None and cal is not None
            old_when = timefmt.span(old[0], old[1], person.timezone, event.timezone)
            new_when = (
                timefmt.span(chat.starts_at, chat.ends_at, person.timezone, event.timezone)
                if chat.status == S.CONFIRMED.value and chat.starts_at and chat.ends_at else None
            )
            mail = outbox.chat_rescheduled(to=person.name, other=who, event_name=event.name, old_when=old_when, new_when=new_when,
                                           reason=reason, url=url, ical=cal)
        rows.append(outbox.row(person, kind, mail, now=ctx.now))
    return rows


async def cancel(session: AsyncSession, ctx: Context, actor: User, chat_id: int, reason: str = "") -> ChatRequest:
    """Withdraws a pending request (its sender) or calls off an accepted or confirmed chat (either person)."""
    locked = await _lock_chat(session, chat_id, actor)
    chat, event = _attach(session, locked), locked.event
    reason = reason.strip()[:1000]
    if chat.status == S.PENDING.value and actor.id != chat.sender_id:
        raise Forbidden("You received this request; decline it instead.", code="not_sender")
    if chat.status == S.CONFIRMED.value and not reason:
        raise Invalid("Tell the other person why you cancel: a reason is required.", code="reason_required")
    was = chat.status
    states.check(was, S.CANCELLED, action="be cancelled")
    writes = _Writes()
    if was == S.CONFIRMED.value:
        _not_started(chat, ctx.now)
        _next_sequence(chat, writes)
    _record(session, ctx, chat, actor, S.CANCELLED, reason, writes=writes)
    _set(chat, writes, "reason", reason)
    _set(chat, writes, "closed_by_id", actor.id)
    if was == S.CONFIRMED.value:
        writes.outbox = _invites(ctx, chat, locked, kind="cancelled", actor=actor, reason=reason)
        writes.talent = _TalentCount(event.id, chat.talent_id, -1)
        writes.release = True
    else:
        other = locked.recruiter if actor.id == chat.talent_id else locked.talent
        mail = outbox.chat_cancelled(to=other.name, other=actor.name, event_name=event.name, when=None, reason=reason,
                                     url=ctx.link(f"/events/{event.id}"), ical=None)
        writes.outbox = [outbox.row(other, "cancelled", mail, now=ctx.now)]
        if was == S.PENDING.value and chat.uses_credit:
            await _give_back_quota(session, event.id, chat.talent_id, "requests_used")
    await _write(session, chat, writes)
    return chat


async def reschedule(
    session: AsyncSession, ctx: Context, actor: User, chat_id: int, *, reason: str, start: dt.datetime | None = None
) -> ChatRequest:
    """Moves a confirmed chat: back to scheduling (slot released), or straight to a new `start`."""
    locked = await _lock_chat(session, chat_id, actor, start=start)
    chat, event = _attach(session, locked), locked.event
    reason = reason.strip()[:1000]
    if not reason:
        raise Invalid("Tell the other person why you reschedule: a reason is required.", code="reason_required")
    if chat.status != S.CONFIRMED.value:
        # pending -> accepted is legal too, so the table alone can't tell a reschedule from an accept.
        raise IllegalTransition(f"This chat is {chat.status}; only a confirmed chat can be rescheduled.")
    assert chat.starts_at is not None and chat.ends_at is not None
    _not_started(chat, ctx.now)
    old = (chat.starts_at, chat.ends_at)
    writes = _Writes()
    _record(session, ctx, chat, actor, S.ACCEPTED, f"reschedule: {reason}", writes=writes)
    _set(chat, writes, "starts_at", None)
    _set(chat, writes, "ends_at", None)
    _set(chat, writes, "reason", reason)
    slot = None
    if start is not None:
        slot = _pick_slot(locked, start, ctx.now)  # the busy check ignores this chat's own (old) blocks
        writes.blocks = _block_rows(chat, slot)
        _set(chat, writes, "starts_at", slot.start)
        _set(chat, writes, "ends_at", slot.end)
        _record(session, ctx, chat, actor, S.CONFIRMED, writes=writes)
    _next_sequence(chat, writes)
    writes.outbox = _invites(ctx, chat, locked, kind="rescheduled", actor=actor, reason=reason, old=old)
    if not await _lock_talent(session, event.id, chat.talent_id, 0 if slot is not None else -1, cap=event.max_chats_per_talent):
        raise QuotaExceeded("The talent has reached the most confirmed chats allowed in this event.")
    if slot is None:
        writes.release = True
    else:
        await (await session.connection()).execute(_write_parts((), 0, 0, True)[0], {"chat_id": chat.id})
    await _write(session, chat, writes)
    return chat


async def current_invite(session: AsyncSession, ctx: Context, user: User, chat_id: int) -> tuple[str, str]:
    """The chat's invite as it stands: (text, method); REQUEST while booked, CANCEL once called off."""
    chat = await load_chat(session, chat_id, user)
    if chat.starts_at is None or chat.status not in (S.CONFIRMED.value, S.CANCELLED.value, S.COMPLETED.value):
        raise NotFound("This chat has no time yet, so there is no invite.", code="no_invite")
    talent, recruiter, event = await chat_people(session, chat)
    invite = invite_for(ctx, chat, talent, recruiter, event)
    if chat.status == S.CANCELLED.value:
        return ical.cancel(invite, stamp=ctx.now), "CANCEL"
    return ical.request(invite, stamp=ctx.now), "REQUEST"


async def complete_due(session: AsyncSession, ctx: Context) -> int:
    """Marks confirmed chats whose end has passed as completed; returns how many."""
    due = (
        await session.execute(
            select(ChatRequest).where(ChatRequest.status == S.CONFIRMED.value, ChatRequest.ends_at <= ctx.now).with_for_update()
        )
    ).scalars().all()
    for chat in due:
        _record(session, ctx, chat, None, S.COMPLETED)
    return len(due)
