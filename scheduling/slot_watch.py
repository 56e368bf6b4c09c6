"""Slot watches: a talent whose accepted chat found no free slot is told once, by email and on the page, when one opens.

A watch is armed when a request is accepted with no slot free, or when the talent looks for a time and finds none
(the chat page, the API's slot list), and re-armed when they look again after a notice and again find none.
Anything that can free a recruiter's time (a cancel, a reschedule, new availability) calls `notify_opened` in its own
transaction: each armed watch of that recruiter (or of the talent whose chat was freed) whose chat now has a free slot
is marked notified by a conditional UPDATE, and only the transaction that changed the row writes the mail, so a
talent is told once however many changes race. Rows are updated in chat-id order, so two notifiers never deadlock on
them; they are taken after everything the calling action locks (the chat, the talent's counter, the busy blocks),
which keeps the booking lock order.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import and_, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from scheduling import outbox, slots
from scheduling.models import Availability, ChatRequest, ChatStatus, Event, OutboxMessage, Participant, SlotWatch, User

S = ChatStatus


@dataclass(frozen=True)
class WatchState:
    """What the chat page tells the talent: watching (no slot, we'll tell you) or a slot opened at `notified_at`."""

    watching: bool
    notified_at: dt.datetime | None


async def arm(session: AsyncSession, chat: ChatRequest, now: dt.datetime) -> None:
    """Creates the chat's watch, or re-arms a notified one (one row per chat, whatever the concurrency)."""
    conn = await session.connection()
    values = {"chat_request_id": chat.id, "recruiter_id": chat.recruiter_id, "created_at": now, "notified_at": None}
    stmt = (pg_insert if conn.dialect.name == "postgresql" else sqlite_insert)(SlotWatch).values(values)
    await conn.execute(stmt.on_conflict_do_update(
        index_elements=[SlotWatch.chat_request_id], set_={"created_at": now, "notified_at": None, "recruiter_id": chat.recruiter_id},
    ))


async def looked_for_slots(session: AsyncSession, chat: ChatRequest, viewer: User, free_slots: int, now: dt.datetime) -> WatchState | None:
    """The talent looked for a time (the chat page, the API's slot list): none free arms the watch; once told, the notice
    stays while slots are free."""
    if chat.status != S.ACCEPTED.value or viewer.id != chat.talent_id:
        return None
    watch = await session.get(SlotWatch, chat.id)
    if free_slots == 0:
        if watch is None or watch.notified_at is not None:
            await arm(session, chat, now)
        return WatchState(True, None)
    if watch is not None and watch.notified_at is not None:
        return WatchState(False, watch.notified_at)
    return None


def opened_mail(*, to: str, recruiter: str, event_name: str, first: str, url: str) -> outbox.Mail:
    body = (
        f"Hello {to},\n\nA time has opened up for your 1-1 chat with {recruiter} at {event_name}.\n"
        f"The first free slot now: {first}\n\nSlots go to whoever books first; pick one here:\n{url}"
    )
    return outbox.Mail(f"A slot opened for your 1-1 chat with {recruiter}", body + f"\n\n-- \nFairmeet · {event_name}\n")


async def notify_opened(
    session: AsyncSession, now: dt.datetime, base_url: str, *,
    recruiter_ids: Iterable[int] = (), talent_ids: Iterable[int] = (), exclude_chat: int | None = None,
) -> int:
    """Tells each armed watch's talent (of these recruiters, or these talents) whose chat now has a free slot; returns how many.

    A fixed number of queries: the watches, the recruiters' windows, the people's confirmed chats, the people.
    """
    recruiters, talents = set(recruiter_ids), set(talent_ids)
    if not recruiters and not talents:
        return 0
    who = []
    if recruiters:
        who.append(SlotWatch.recruiter_id.in_(recruiters))
    if talents:
        who.append(ChatRequest.talent_id.in_(talents))
    stmt = (
        select(SlotWatch.chat_request_id, ChatRequest.event_id, ChatRequest.talent_id, ChatRequest.recruiter_id)
        .join(ChatRequest, ChatRequest.id == SlotWatch.chat_request_id)
        .where(SlotWatch.notified_at.is_(None), ChatRequest.status == S.ACCEPTED.value, or_(*who))
        .order_by(SlotWatch.chat_request_id)
    )
    if exclude_chat is not None:
        stmt = stmt.where(SlotWatch.chat_request_id != exclude_chat)
    watches = (await session.execute(stmt)).all()
    if not watches:
        return 0
    event_ids = {w.event_id for w in watches}
    people = {w.talent_id for w in watches} | {w.recruiter_id for w in watches}
    events = {e.id: e for e in (await session.execute(select(Event).where(Event.id.in_(event_ids)))).scalars()}
    windows: dict[tuple[int, int], list[tuple[dt.datetime, dt.datetime]]] = defaultdict(list)
    for event_id, user_id, a, b in (
        await session.execute(
            select(Participant.event_id, Participant.user_id, Availability.starts_at, Availability.ends_at)
            .join(Availability, Availability.participant_id == Participant.id)
            .where(Participant.event_id.in_(event_ids), Participant.user_id.in_({w.recruiter_id for w in watches}))
        )
    ).all():
        windows[(event_id, user_id)].append((a, b))
    busy: dict[int, list[tuple[dt.datetime, dt.datetime]]] = defaultdict(list)
    for talent_id, recruiter_id, start, end in (
        await session.execute(
            select(ChatRequest.talent_id, ChatRequest.recruiter_id, ChatRequest.starts_at, ChatRequest.ends_at)
            .where(ChatRequest.status == S.CONFIRMED.value, or_(ChatRequest.talent_id.in_(people), ChatRequest.recruiter_id.in_(people)))
        )
    ).all():
        if start is None or end is None:
            continue
        for uid in {talent_id, recruiter_id} & people:
            busy[uid].append((start, end))
    users = {u.id: u for u in (await session.execute(select(User).where(User.id.in_(people)))).scalars()}
    told = 0
    for w in watches:
        event = events[w.event_id]
        grid = slots.grid(windows.get((w.event_id, w.recruiter_id), []), event.slot_minutes, event.buffer_minutes,
                          not_before=max(now, event.starts_at), not_after=event.ends_at)
        free = slots.free(grid, busy[w.recruiter_id] + busy[w.talent_id])
        if not free:
            continue
        changed = await session.execute(
            update(SlotWatch)
            .where(and_(SlotWatch.chat_request_id == w.chat_request_id, SlotWatch.notified_at.is_(None)))
            .values(notified_at=now)
            .execution_options(synchronize_session=False)
        )
        if changed.rowcount != 1:  # type: ignore[attr-defined]
            continue  # another change told them first
        talent, recruiter = users[w.talent_id], users[w.recruiter_id]
        first = outbox.when(free[0].start, free[0].end, talent.timezone, event.timezone).long
        url = base_url.rstrip("/") + f"/chats/{w.chat_request_id}"
        mail = opened_mail(to=talent.name, recruiter=recruiter.name, event_name=event.name, first=first, url=url)
        session.add(OutboxMessage(**outbox.row(talent, "slot_opened", mail, now=now)))
        told += 1
    return told
