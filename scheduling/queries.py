"""Read-side queries: tabs of chats, recruiter cards with open slots, quotas. A fixed, small number of queries each."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from scheduling import slots
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
    "declined": (S.DECLINED.value, S.CANCELLED.value),
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


@dataclass
class RecruiterCard:
    user: User
    member: Participant
    company: Company | None
    open_slots: int
    requests_received: int


async def recruiter_cards(
    session: AsyncSession, event: Event, *, now: dt.datetime, company_id: int | None = None, only: Sequence[int] | None = None
) -> list[RecruiterCard]:
    """Every recruiter of the event with open-slot and request counts, in four queries whatever the size."""
    stmt = (
        select(Participant, User, Company)
        .join(User, User.id == Participant.user_id)
        .outerjoin(Company, Company.id == Participant.company_id)
        .where(Participant.event_id == event.id, Participant.role == Role.RECRUITER.value)
        .order_by(Company.name, User.name)
    )
    if company_id is not None:
        stmt = stmt.where(Participant.company_id == company_id)
    if only is not None:
        stmt = stmt.where(Participant.user_id.in_(only))
    rows = (await session.execute(stmt)).all()
    if not rows:
        return []
    member_ids = [m.id for m, _, _ in rows]
    user_ids = [u.id for _, u, _ in rows]

    windows: dict[int, list[tuple[dt.datetime, dt.datetime]]] = defaultdict(list)
    for pid, a, b in (
        await session.execute(
            select(Availability.participant_id, Availability.starts_at, Availability.ends_at).where(Availability.participant_id.in_(member_ids))
        )
    ).all():
        windows[pid].append((a, b))

    busy: dict[int, list[tuple[dt.datetime, dt.datetime]]] = defaultdict(list)
    wanted = set(user_ids)
    for rid, tid, bs, be in (
        await session.execute(
            select(ChatRequest.recruiter_id, ChatRequest.talent_id, ChatRequest.starts_at, ChatRequest.ends_at).where(
                # A chat in another event blocks the person too, as booking itself does.
                ChatRequest.status == S.CONFIRMED.value,
                ChatRequest.recruiter_id.in_(user_ids) | ChatRequest.talent_id.in_(user_ids),
            )
        )
    ).all():
        if bs is not None and be is not None:
            for uid in {rid, tid} & wanted:
                busy[uid].append((bs, be))

    received = dict(
        (
            await session.execute(
                select(ChatRequest.recruiter_id, func.count())
                .where(ChatRequest.event_id == event.id, ChatRequest.sender_id != ChatRequest.recruiter_id, ChatRequest.recruiter_id.in_(user_ids))
                .group_by(ChatRequest.recruiter_id)
            )
        ).all()
    )
    not_before = max(now, event.starts_at)
    cards = []
    for member, user, company in rows:
        open_slots = slots.count_free(windows.get(member.id, []), event.slot_minutes, event.buffer_minutes, busy.get(user.id, []),
                                      not_before=not_before, not_after=event.ends_at)
        cards.append(RecruiterCard(user, member, company, open_slots, int(received.get(user.id, 0))))
    return cards


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
