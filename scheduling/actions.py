"""Actions: every change to events, participants and 1-1 chats.

Each action checks who may act, locks what it changes, changes it, records the chat's
history and writes the notifications to the outbox, all in the caller's transaction.
The caller opens the transaction (`async with session.begin()`) and commits.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from scheduling import accounts, chat_history, ical, outbox, slot_watch, slots, states, timefmt
from scheduling import limits as bounds  # text lengths (own line while issue 9's helpers edit the line above)
from scheduling.booking_sql import Locked, TalentCount, Writes, attach, block_rows, lock_chat, lock_talent, pick_slot, set_column, write, write_parts
from scheduling.errors import Conflict, Forbidden, IllegalTransition, Invalid, NotFound, QuotaExceeded
from scheduling.models import (
    Availability,
    BookingMode,
    ChatEvent,
    ChatRequest,
    ChatStatus,
    Company,
    Event,
    Participant,
    RequestsBy,
    Role,
    User,
)

S = ChatStatus
INVITE_LINK_LIFETIME = dt.timedelta(days=7)
ORGANIZERS = "The organizers"  # who the people's mails name when an organizer acts on their behalf


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
    if any(ord(ch) < 32 or ord(ch) == 127 or ch in "\u0085\u2028\u2029" for ch in text):
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
        name=name.strip(),
        description=bounds.text(description, "event description", bounds.EVENT_DESCRIPTION),
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
    event.name = name.strip()
    event.timezone = timezone
    event.starts_at = starts_at
    event.ends_at = ends_at
    event.description = bounds.text(description, "event description", bounds.EVENT_DESCRIPTION)
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
    if len(url) > bounds.URL:
        raise Invalid(f"The {label} is limited to {bounds.URL} characters.", code="too_long")
    return url


async def add_company(
    session: AsyncSession, actor: User, event_id: int, *, name: str, description: str = "", website: str = "", logo_url: str = ""
) -> Company:
    event = await get_event(session, event_id)
    await require_organizer(session, event, actor)
    company = Company(
        event_id=event.id,
        name=one_line(name, "company name"),
        description=bounds.text(description, "company description", bounds.COMPANY_DESCRIPTION),
        website=_check_url(website, "website"),
        logo_url=_check_url(logo_url, "logo URL"),
    )
    # One name per event whatever the case: said nicely, naming the company that has it ('Bluefin Health' when 'bluefin
    # health' was typed), when seen first; by the unique index when two race (the session can't read after that failure).
    same_name = select(Company.name).where(Company.event_id == event.id, func.lower(Company.name) == company.name.lower())
    existing = (await session.execute(same_name)).scalar()
    if existing is None:
        session.add(company)
        try:
            async with session.begin_nested():
                await session.flush()
        except IntegrityError:
            existing = company.name
    if existing is not None:
        raise Conflict(f"There is already a company called \u201c{existing}\u201d in this event.", code="company_exists")
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
    ctx: Context | None = None,
) -> Participant:
    """Sets a recruiter's booking mode, question, "who I'd like to talk to" and availability.

    Availability is replaced as a whole when given. Confirmed chats stay where they are.
    With `ctx`, talents waiting for a free slot with this recruiter are told when the new availability has one.
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
    member.custom_question = bounds.text(custom_question, "question to talents", bounds.CUSTOM_QUESTION)
    member.ideal_candidate = bounds.text(ideal_candidate, "\"who I'd like to talk to\" text", bounds.IDEAL_CANDIDATE)
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
        if ctx is not None:
            await slot_watch.notify_opened(session, ctx.now, ctx.base_url, recruiter_ids=[recruiter_user_id])
    return member


# --------------------------------------------------------------------------- chat requests


def _record(
    session: AsyncSession, ctx: Context, chat: ChatRequest, actor: User | None, to: ChatStatus, note: str = "",
    *, writes: Writes | None = None,
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
    set_column(chat, writes, "status", to.value)
    set_column(chat, writes, "updated_at", ctx.now)
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
    message = bounds.text(message, "message", bounds.MESSAGE)
    answer = bounds.text(answer, "answer to the recruiter's question", bounds.ANSWER)
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
    if chat.status != S.PENDING.value:  # confirmed -> accepted is a reschedule's (it releases the slot); accepting isn't one
        raise IllegalTransition(f"This chat is {chat.status}; only a pending request can be accepted.")
    _record(session, ctx, chat, actor, S.ACCEPTED)
    talent, recruiter, event = await chat_people(session, chat)
    other = _other(chat, actor, talent, recruiter)
    slot_free = bool(await open_slots_for_chat(session, chat, event, now=ctx.now))
    if not slot_free:  # nothing free: the talent is told when a slot opens
        await slot_watch.arm(session, chat, ctx.now)
    mail = outbox.request_accepted(to=other.name, other=actor.name, event_name=event.name, url=ctx.link(f"/chats/{chat.id}"),
                                   to_talent=other.id == chat.talent_id, slot_free=slot_free)
    outbox.enqueue(session, other, "request_accepted", mail, now=ctx.now)
    return chat


async def decline(session: AsyncSession, ctx: Context, actor: User, chat_id: int, reason: str = "") -> ChatRequest:
    chat = await load_chat(session, chat_id, actor, lock=True)
    _require_party(chat, actor)
    if actor.id == chat.sender_id:
        raise Forbidden("You sent this request; cancel it instead.", code="not_receiver")
    reason = bounds.text(reason, "reason", bounds.REASON)
    _record(session, ctx, chat, actor, S.DECLINED, reason)
    chat.reason = reason
    chat.closed_by_id = actor.id
    talent, recruiter, event = await chat_people(session, chat)
    other = _other(chat, actor, talent, recruiter)
    to_talent = other.id == chat.talent_id
    mail = outbox.request_declined(to=other.name, other=actor.name, event_name=event.name, reason=reason, to_talent=to_talent,
                                   url=ctx.link(f"/events/{event.id}/recruiters" if to_talent else f"/events/{event.id}/talents"))
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


def _next_sequence(chat: ChatRequest, writes: Writes | None = None) -> None:
    """Every invite after the first carries a higher SEQUENCE (RFC 5546 §2.1.4)."""
    if chat.invite_sent:
        set_column(chat, writes, "ical_sequence", chat.ical_sequence + 1)
    set_column(chat, writes, "invite_sent", True)


# --------------------------------------------------------------------------- booking: book, reschedule, cancel
#
# The rules live here; the statements they run (one locked read, one write) in booking_sql.py.


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
    locked = await lock_chat(session, chat_id, actor, start=start)
    event = locked.event
    states.check(locked.values["status"], S.CONFIRMED, action="be booked")
    slot = pick_slot(locked, start, ctx.now)
    chat = attach(session, locked)
    writes = Writes(blocks=block_rows(chat, slot))
    set_column(chat, writes, "starts_at", slot.start)
    set_column(chat, writes, "ends_at", slot.end)
    _record(session, ctx, chat, actor, S.CONFIRMED, writes=writes)
    _next_sequence(chat, writes)
    writes.outbox = _invites(ctx, chat, locked, kind="confirmed")
    writes.talent = TalentCount(event.id, chat.talent_id, +1, event.max_chats_per_talent)
    await write(session, chat, writes)
    return chat


def _invites(
    ctx: Context, chat: ChatRequest, locked: Locked, *, kind: str,
    actor: User | None = None, reason: str = "", old: tuple[dt.datetime, dt.datetime] | None = None, by_organizers: bool = False,
) -> list[dict[str, Any]]:
    """The two people's mails about the chat's (new) time, with the invite (the same for both), as outbox rows.

    `by_organizers`: an organizer acted on the two people's behalf; both mails say so and name the other person.
    """
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
        who, by = (actor.name if actor is not None else "Fairmeet"), ""
        if by_organizers:
            who, by = other.name, ORGANIZERS
        elif actor is not None and actor.id == person.id:  # the actor's own copy: "You cancelled ... with Rita", about Rita
            who, by = other.name, "You"
        if kind == "confirmed":
            assert chat.starts_at is not None and chat.ends_at is not None and cal is not None
            when = outbox.when(chat.starts_at, chat.ends_at, person.timezone, event.timezone)
            mail = outbox.chat_confirmed(to=person.name, other=other.name, event_name=event.name, when=when.long, short_when=when.short,
                                         url=url, ical=cal)
        elif kind == "cancelled":
            span = outbox.when(chat.starts_at, chat.ends_at, person.timezone, event.timezone).long if chat.starts_at and chat.ends_at else None
            mail = outbox.chat_cancelled(to=person.name, other=who, event_name=event.name, when=span, reason=reason, url=url, ical=cal, by=by)
        else:
            assert old is not None and cal is not None
            old_when = outbox.when(old[0], old[1], person.timezone, event.timezone).long
            new = (
                outbox.when(chat.starts_at, chat.ends_at, person.timezone, event.timezone)
                if chat.status == S.CONFIRMED.value and chat.starts_at and chat.ends_at else None
            )
            mail = outbox.chat_rescheduled(to=person.name, other=who, event_name=event.name, old_when=old_when,
                                           new_when=new.long if new else None, new_short=new.short if new else "",
                                           reason=reason, url=url, ical=cal, by=by)
        rows.append(outbox.row(person, kind, mail, now=ctx.now))
    return rows


async def cancel(session: AsyncSession, ctx: Context, actor: User, chat_id: int, reason: str = "") -> ChatRequest:
    """Withdraws a pending request (its sender) or calls off an accepted or confirmed chat (either person).

    The event's organizers (and platform admins) may call off any open chat on the people's behalf: both are told.
    """
    locked = await lock_chat(session, chat_id, actor, organizers=True)
    chat, event = attach(session, locked), locked.event
    reason = bounds.text(reason, "reason", bounds.REASON)
    on_behalf = actor.id not in (chat.talent_id, chat.recruiter_id)
    if chat.status == S.PENDING.value and actor.id != chat.sender_id and not on_behalf:
        raise Forbidden("You received this request; decline it instead.", code="not_sender")
    if chat.status == S.CONFIRMED.value and not reason:
        raise Invalid(f"Tell {locked.talent.name} and {locked.recruiter.name} why the chat is cancelled: a reason is required." if on_behalf
                      else "Tell the other person why you cancel: a reason is required.", code="reason_required")
    was = chat.status
    states.check(was, S.CANCELLED, action="be cancelled")
    writes = Writes()
    if was == S.CONFIRMED.value:
        _not_started(chat, ctx.now)
        _next_sequence(chat, writes)
    _record(session, ctx, chat, actor, S.CANCELLED, reason, writes=writes)
    set_column(chat, writes, "reason", reason)
    set_column(chat, writes, "closed_by_id", actor.id)
    if was == S.CONFIRMED.value:
        writes.outbox = _invites(ctx, chat, locked, kind="cancelled", actor=actor, reason=reason, by_organizers=on_behalf)
        writes.talent = TalentCount(event.id, chat.talent_id, -1)
        writes.release = True
    elif on_behalf:
        for person, other in ((locked.talent, locked.recruiter), (locked.recruiter, locked.talent)):
            mail = outbox.chat_cancelled(to=person.name, other=other.name, event_name=event.name, when=None, reason=reason,
                                         url=ctx.link(f"/events/{event.id}"), ical=None, by=ORGANIZERS)
            writes.outbox.append(outbox.row(person, "cancelled", mail, now=ctx.now))
    else:
        other = locked.recruiter if actor.id == chat.talent_id else locked.talent
        mail = outbox.chat_cancelled(to=other.name, other=actor.name, event_name=event.name, when=None, reason=reason,
                                     url=ctx.link(f"/events/{event.id}"), ical=None)
        writes.outbox = [outbox.row(other, "cancelled", mail, now=ctx.now)]
    if was == S.PENDING.value and chat.uses_credit:
        await _give_back_quota(session, event.id, chat.talent_id, "requests_used")
    await write(session, chat, writes)
    if was == S.CONFIRMED.value:  # the slot is free again: talents waiting for one of these two people are told
        await slot_watch.notify_opened(session, ctx.now, ctx.base_url, recruiter_ids=[chat.recruiter_id], talent_ids=[chat.talent_id],
                                       exclude_chat=chat.id)
    return chat


async def reschedule(
    session: AsyncSession, ctx: Context, actor: User, chat_id: int, *, reason: str, start: dt.datetime | None = None
) -> ChatRequest:
    """Moves a confirmed chat: back to scheduling (slot released), or straight to a new `start`.

    The event's organizers (and platform admins) may move it on the people's behalf: both are told who did it.
    """
    locked = await lock_chat(session, chat_id, actor, start=start, organizers=True)
    chat, event = attach(session, locked), locked.event
    on_behalf = actor.id not in (chat.talent_id, chat.recruiter_id)
    reason = bounds.text(reason, "reason", bounds.REASON)
    if not reason:
        raise Invalid(f"Tell {locked.talent.name} and {locked.recruiter.name} why the chat moves: a reason is required." if on_behalf
                      else "Tell the other person why you reschedule: a reason is required.", code="reason_required")
    if chat.status != S.CONFIRMED.value:
        # pending -> accepted is legal too, so the table alone can't tell a reschedule from an accept.
        raise IllegalTransition(f"This chat is {chat.status}; only a confirmed chat can be rescheduled.")
    assert chat.starts_at is not None and chat.ends_at is not None
    _not_started(chat, ctx.now)
    if start is not None and start == chat.starts_at:
        raise Invalid("The chat is already at that time. Pick a different time, or none to release the slot.", code="same_slot")
    old = (chat.starts_at, chat.ends_at)
    writes = Writes()
    _record(session, ctx, chat, actor, S.ACCEPTED, f"{chat_history.RESCHEDULE_PREFIX}{reason}", writes=writes)
    set_column(chat, writes, "starts_at", None)
    set_column(chat, writes, "ends_at", None)
    set_column(chat, writes, "reason", reason)
    slot = None
    if start is not None:
        slot = pick_slot(locked, start, ctx.now)  # the busy check ignores this chat's own (old) blocks
        writes.blocks = block_rows(chat, slot)
        set_column(chat, writes, "starts_at", slot.start)
        set_column(chat, writes, "ends_at", slot.end)
        # Two rows (the state machine's), read as one line on the chat's page: this one notes the old and new start.
        _record(session, ctx, chat, actor, S.CONFIRMED, chat_history.move_note(old[0], slot.start), writes=writes)
    _next_sequence(chat, writes)
    writes.outbox = _invites(ctx, chat, locked, kind="rescheduled", actor=actor, reason=reason, old=old, by_organizers=on_behalf)
    if not await lock_talent(session, event.id, chat.talent_id, 0 if slot is not None else -1, cap=event.max_chats_per_talent):
        raise QuotaExceeded("The talent has reached the most confirmed chats allowed in this event.")
    if slot is None:
        writes.release = True
    else:
        await (await session.connection()).execute(write_parts((), 0, 0, True)[0], {"chat_id": chat.id})
    await write(session, chat, writes)
    # The old slot is free again: talents waiting for one of these two people are told.
    await slot_watch.notify_opened(session, ctx.now, ctx.base_url, recruiter_ids=[chat.recruiter_id], talent_ids=[chat.talent_id],
                                   exclude_chat=chat.id)
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
