"""Read-side queries: tabs of chats, recruiter cards with open slots, quotas. A fixed, small number of queries each."""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import BigInteger, Executable, Select, bindparam, func, literal_column, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased, joinedload
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from scheduling import slots
from scheduling.db import UTCDateTime
from scheduling.models import (
    Availability,
    ChatEvent,
    ChatRequest,
    ChatStatus,
    Company,
    Event,
    Participant,
    Role,
    User,
)

S = ChatStatus

# The tabs of the 1-1 chats page, in order, with the statuses each shows.
TABS: dict[str, tuple[str, ...]] = {
    "requests": (S.PENDING.value,),
    "scheduling": (S.ACCEPTED.value,),
    "confirmed": (S.CONFIRMED.value,),
    "declined": (S.DECLINED.value,),
    # Withdrawn (a pending request its sender called off) and cancelled chats: never counted as declined.
    "cancelled": (S.CANCELLED.value,),
    "completed": (S.COMPLETED.value,),
}


@dataclass
class ChatView:
    chat: ChatRequest
    talent: User
    recruiter: User
    company: Company | None


def _visible(stmt, user: User, member: Participant | None):  # type: ignore[no-untyped-def]
    """Organizers and admins see every chat of the event; others only their own."""
    if user.is_admin or (member is not None and member.role == Role.ORGANIZER.value):
        return stmt
    return stmt.where((ChatRequest.talent_id == user.id) | (ChatRequest.recruiter_id == user.id))


async def chats(
    session: AsyncSession, event_id: int, user: User, member: Participant | None, *, statuses: Sequence[str] | None = None
) -> list[ChatView]:
    stmt = (
        select(ChatRequest)
        .where(ChatRequest.event_id == event_id)
        .options(joinedload(ChatRequest.talent), joinedload(ChatRequest.recruiter))
        .order_by(ChatRequest.starts_at.is_(None), ChatRequest.starts_at, ChatRequest.updated_at.desc())
    )
    if statuses:
        stmt = stmt.where(ChatRequest.status.in_(statuses))
    rows = (await session.execute(_visible(stmt, user, member))).scalars().all()
    companies = await recruiter_companies(session, event_id, [c.recruiter_id for c in rows])
    return [ChatView(c, c.talent, c.recruiter, companies.get(c.recruiter_id)) for c in rows]


async def chat_view(session: AsyncSession, chat: ChatRequest) -> ChatView:
    talent = await session.get(User, chat.talent_id)
    recruiter = await session.get(User, chat.recruiter_id)
    assert talent is not None and recruiter is not None
    companies = await recruiter_companies(session, chat.event_id, [chat.recruiter_id])
    return ChatView(chat, talent, recruiter, companies.get(chat.recruiter_id))


async def recruiter_companies(session: AsyncSession, event_id: int, user_ids: Sequence[int]) -> dict[int, Company]:
    if not user_ids:
        return {}
    rows = (
        await session.execute(
            select(Participant.user_id, Company)
            .join(Company, Company.id == Participant.company_id)
            .where(Participant.event_id == event_id, Participant.user_id.in_(set(user_ids)))
        )
    ).all()
    return {uid: company for uid, company in rows}


async def tab_counts(session: AsyncSession, event_id: int, user: User, member: Participant | None) -> dict[str, int]:
    stmt = select(ChatRequest.status, func.count()).where(ChatRequest.event_id == event_id).group_by(ChatRequest.status)
    by_status = {status: n for status, n in (await session.execute(_visible(stmt, user, member))).all()}
    return {tab: sum(by_status.get(s, 0) for s in statuses) for tab, statuses in TABS.items()}


@dataclass
class Quota:
    requests_left: int | None
    chats_left: int | None
    requests_used: int
    chats_booked: int


def quota(event: Event, member: Participant | None) -> Quota | None:
    if member is None or member.role != Role.TALENT.value:
        return None
    return Quota(
        requests_left=None if event.max_requests_per_talent is None else max(0, event.max_requests_per_talent - member.requests_used),
        chats_left=None if event.max_chats_per_talent is None else max(0, event.max_chats_per_talent - member.chats_booked),
        requests_used=member.requests_used,
        chats_booked=member.chats_booked,
    )


class RecruiterCard(NamedTuple):
    """One recruiter of the list, flat: what the card and the API show, nothing loaded beyond it."""

    user_id: int
    name: str
    company_id: int | None
    company_name: str | None
    company_logo_url: str | None
    booking_mode: str
    custom_question: str
    ideal_candidate: str
    open_slots: int
    requests_received: int


class _EpochSeconds(FunctionElement[int]):
    """An instant column as whole seconds since the Unix epoch, computed by the database.

    The recruiter list reads ~2 intervals per recruiter; integers straight from the driver skip a
    datetime conversion per value. Exact for the instants it is used on: availability and chat
    times are multiples of 5 minutes (validated by the actions).
    """

    type = BigInteger()
    name = "epoch_seconds"
    inherit_cache = True


@compiles(_EpochSeconds, "postgresql")
def _epoch_seconds_pg(element: _EpochSeconds, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)}) AS BIGINT)"


@compiles(_EpochSeconds, "sqlite")
def _epoch_seconds_sqlite(element: _EpochSeconds, compiler: SQLCompiler, **kw: Any) -> str:
    # UTCDateTime stores UTC as 'YYYY-MM-DD HH:MM:SS[.ffffff]' on SQLite; '%s' reads it as UTC.
    return f"CAST(strftime('%s', {compiler.process(element.clauses, **kw)}) AS INTEGER)"


@functools.cache
def _card_statements(by_company: bool, by_user: bool) -> tuple[Executable, Executable]:
    """The two statements of `recruiter_cards`, built once per filter combination (parameters are bound per call)."""
    where = [Participant.event_id == bindparam("event_id"), Participant.role == Role.RECRUITER.value]
    if by_company:
        where.append(Participant.company_id == bindparam("company_id"))
    if by_user:
        where.append(Participant.user_id.in_(bindparam("user_ids", expanding=True)))
    cards = (
        select(
            User.id, User.name, Company.id, Company.name, Company.logo_url,
            Participant.booking_mode, Participant.custom_question, Participant.ideal_candidate,
        )
        .select_from(Participant)
        .join(User, User.id == Participant.user_id)
        .outerjoin(Company, Company.id == Participant.company_id)
        .where(*where)
        .order_by(Company.name, User.name)
    )

    # The numbers behind the counts, as (kind, user id, a, b) rows of integers:
    # 0: an availability window [a, b) of the recruiter, in epoch seconds;
    # 1: a confirmed chat [a, b) of the person, in any event, as booking itself counts it
    #    (a chat between two listed recruiters comes once for each);
    # 2: a = requests the recruiter received in this event (sent by someone else; every recruiter of
    #    the event, filtered or not: grouping the event's chats by itself needs no join to plan).
    # Intervals that end by not_before or start at not_after cannot touch a slot of [not_before, not_after].
    rec = select(Participant.id.label("member_id"), Participant.user_id.label("user_id")).where(*where).cte("rec")
    lo, hi = bindparam("not_before", type_=UTCDateTime()), bindparam("not_after", type_=UTCDateTime())
    windows = (
        select(literal_column("0"), rec.c.user_id, _EpochSeconds(Availability.starts_at), _EpochSeconds(Availability.ends_at))
        .join(rec, rec.c.member_id == Availability.participant_id)
        .where(Availability.ends_at > lo, Availability.starts_at < hi)
    )
    busy = [
        select(literal_column("1"), rec.c.user_id, _EpochSeconds(ChatRequest.starts_at), _EpochSeconds(ChatRequest.ends_at))
        .join(rec, rec.c.user_id == side)
        .where(ChatRequest.status == S.CONFIRMED.value, ChatRequest.ends_at > lo, ChatRequest.starts_at < hi)
        for side in (ChatRequest.recruiter_id, ChatRequest.talent_id)
    ]
    received: Select[Any, Any, Any, Any] = (
        select(literal_column("2"), ChatRequest.recruiter_id, func.count(), literal_column("NULL"))
        .where(ChatRequest.event_id == bindparam("event_id"), ChatRequest.sender_id != ChatRequest.recruiter_id)
        .group_by(ChatRequest.recruiter_id)
    )
    return cards, union_all(windows, *busy, received)


async def recruiter_cards(
    session: AsyncSession, event: Event, *, now: dt.datetime, company_id: int | None = None, only: Sequence[int] | None = None
) -> list[RecruiterCard]:
    """Every recruiter of the event with open-slot and request counts, in two queries whatever the size.

    Only the columns a card shows are read (no ORM entities), the recruiters are a subquery (no IN
    list growing with the event), the statements are built once, and everything the counts need
    comes in one query of integers, limited to the part of the event a slot can still take. The
    open-slot count itself is arithmetic (`slots.count_free_ticks`).
    """
    cards_stmt, numbers_stmt = _card_statements(company_id is not None, only is not None)
    params: dict[str, Any] = {"event_id": event.id}
    if company_id is not None:
        params["company_id"] = company_id
    if only is not None:
        params["user_ids"] = list(only)
    rows = (await session.execute(cards_stmt, params)).all()
    if not rows:
        return []

    not_before = max(now, event.starts_at)
    params.update(not_before=not_before, not_after=event.ends_at)
    windows: dict[int, list[tuple[int, int]]] = defaultdict(list)
    busy: dict[int, list[tuple[int, int]]] = defaultdict(list)
    received: dict[int, int] = {}
    for kind, user_id, a, b in (await session.execute(numbers_stmt, params)).all():
        if kind == 2:
            received[user_id] = a
        elif a is not None and b is not None:
            (busy if kind else windows)[user_id].append((a, b))

    # In whole seconds, as the intervals: slots start on whole seconds, so rounding not_before up
    # and not_after down keeps exactly the same slots.
    lo, hi = -(-slots.micros(not_before) // 1_000_000), slots.micros(event.ends_at) // 1_000_000
    length, step = event.slot_minutes * 60, (event.slot_minutes + event.buffer_minutes) * 60
    count = slots.count_free_ticks
    none: list[tuple[int, int]] = []
    return [
        RecruiterCard(
            user_id, name, cid, cname, logo, mode, question, ideal,
            count(windows[user_id], length, step, busy.get(user_id, none), lo, hi) if user_id in windows else 0,
            received.get(user_id, 0),
        )
        for user_id, name, cid, cname, logo, mode, question, ideal in rows
    ]


async def talents(session: AsyncSession, event_id: int) -> list[tuple[Participant, User]]:
    rows = (
        await session.execute(
            select(Participant, User)
            .join(User, User.id == Participant.user_id)
            .where(Participant.event_id == event_id, Participant.role == Role.TALENT.value)
            .order_by(User.name)
        )
    ).all()
    return [(p, u) for p, u in rows]


async def people(session: AsyncSession, event_id: int) -> list[tuple[Participant, User, Company | None]]:
    rows = (
        await session.execute(
            select(Participant, User, Company)
            .join(User, User.id == Participant.user_id)
            .outerjoin(Company, Company.id == Participant.company_id)
            .where(Participant.event_id == event_id)
            .order_by(Participant.role, User.name)
        )
    ).all()
    return [(p, u, c) for p, u, c in rows]


async def companies(session: AsyncSession, event_id: int) -> list[Company]:
    return list((await session.execute(select(Company).where(Company.event_id == event_id).order_by(Company.name))).scalars().all())


async def my_events(session: AsyncSession, user: User) -> list[tuple[Event, str]]:
    if user.is_admin:
        rows = (
            await session.execute(
                select(Event, Participant.role).outerjoin(
                    Participant, (Participant.event_id == Event.id) & (Participant.user_id == user.id)
                ).order_by(Event.starts_at)
            )
        ).all()
        return [(e, r or "admin") for e, r in rows]
    rows = (
        await session.execute(
            select(Event, Participant.role).join(Participant, Participant.event_id == Event.id).where(Participant.user_id == user.id).order_by(Event.starts_at)
        )
    ).all()
    return [(e, r) for e, r in rows]


async def availability(session: AsyncSession, member: Participant) -> list[Availability]:
    return list(
        (await session.execute(select(Availability).where(Availability.participant_id == member.id).order_by(Availability.starts_at))).scalars().all()
    )


async def history(session: AsyncSession, chat_id: int) -> list[tuple[ChatEvent, User | None]]:
    rows = (
        await session.execute(
            select(ChatEvent, User).outerjoin(User, User.id == ChatEvent.actor_id).where(ChatEvent.chat_request_id == chat_id).order_by(ChatEvent.id)
        )
    ).all()
    return [(e, u) for e, u in rows]


@dataclass(frozen=True)
class Closing:
    """How a declined or cancelled chat ended: the status it left, who ended it (a name, or None for Fairmeet)."""

    from_status: str | None
    actor_id: int | None
    actor_name: str | None

    def withdrawn(self, chat: ChatRequest) -> bool:
        """A pending request called off by its own sender."""
        return chat.status == S.CANCELLED.value and self.from_status == S.PENDING.value and self.actor_id == chat.sender_id


async def closings(session: AsyncSession, chat_ids: Sequence[int]) -> dict[int, Closing]:
    """The last history entry into declined or cancelled of each chat, in one query."""
    if not chat_ids:
        return {}
    rows = (
        await session.execute(
            select(ChatEvent.chat_request_id, ChatEvent.from_status, ChatEvent.actor_id, User.name)
            .outerjoin(User, User.id == ChatEvent.actor_id)
            .where(ChatEvent.chat_request_id.in_(set(chat_ids)), ChatEvent.to_status.in_((S.DECLINED.value, S.CANCELLED.value)))
            .order_by(ChatEvent.id)
        )
    ).all()
    return {chat_id: Closing(from_status, actor_id, name) for chat_id, from_status, actor_id, name in rows}


async def confirmed_for_user(session: AsyncSession, user_id: int) -> list[ChatRequest]:
    """Confirmed and held chats: a subscribed calendar keeps the chats that took place."""
    return list(
        (
            await session.execute(
                select(ChatRequest)
                .where(
                    ChatRequest.status.in_((S.CONFIRMED.value, S.COMPLETED.value)),
                    (ChatRequest.talent_id == user_id) | (ChatRequest.recruiter_id == user_id),
                )
                .options(joinedload(ChatRequest.talent), joinedload(ChatRequest.recruiter), joinedload(ChatRequest.event))
                .order_by(ChatRequest.starts_at)
            )
        ).scalars().all()
    )


@dataclass(frozen=True)
class UpcomingCall:
    chat_id: int
    starts_at: dt.datetime
    ends_at: dt.datetime
    other_name: str
    event_name: str
    event_tz: str


async def upcoming_calls(session: AsyncSession, user_id: int, now: dt.datetime, within: dt.timedelta = dt.timedelta(hours=24)) -> list[UpcomingCall]:
    """A person's confirmed 1-1 video chats running now or starting within `within`, soonest first (for the Chats console)."""
    talent = aliased(User)
    recruiter = aliased(User)
    rows = await session.execute(
        select(ChatRequest.id, ChatRequest.starts_at, ChatRequest.ends_at, ChatRequest.talent_id, talent.name, recruiter.name, Event.name,
               Event.timezone)
        .join(Event, Event.id == ChatRequest.event_id)
        .join(talent, talent.id == ChatRequest.talent_id)
        .join(recruiter, recruiter.id == ChatRequest.recruiter_id)
        .where(or_(ChatRequest.talent_id == user_id, ChatRequest.recruiter_id == user_id), ChatRequest.status == "confirmed",
               ChatRequest.ends_at > now, ChatRequest.starts_at < now + within)
        .order_by(ChatRequest.starts_at).limit(50)
    )
    return [UpcomingCall(cid, start, end, rname if tid == user_id else tname, ename, etz)
            for cid, start, end, tid, tname, rname, ename, etz in rows if start is not None and end is not None]
