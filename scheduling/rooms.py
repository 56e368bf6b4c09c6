"""Who may enter a 1-1 chat's video room, and when."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from scheduling.actions import get_event, load_chat, participation
from scheduling.errors import Conflict, Forbidden
from scheduling.models import ChatRequest, ChatStatus, Event, Role, User

DEFAULT_GRACE = dt.timedelta(minutes=15)


def room_key(chat_id: int) -> str:
    return f"chat:{chat_id}"


@dataclass(frozen=True)
class RoomAccess:
    chat: ChatRequest
    event: Event
    role: str  # talent | recruiter | organizer
    opens_at: dt.datetime
    closes_at: dt.datetime

    @property
    def key(self) -> str:
        return room_key(self.chat.id)


def window(chat: ChatRequest, event: Event, grace: dt.timedelta = DEFAULT_GRACE) -> tuple[dt.datetime, dt.datetime]:
    assert chat.starts_at is not None and chat.ends_at is not None
    return chat.starts_at - dt.timedelta(minutes=event.room_opens_minutes_before), chat.ends_at + grace


async def room_access(
    session: AsyncSession, chat_id: int, user: User, *, now: dt.datetime, grace: dt.timedelta = DEFAULT_GRACE
) -> RoomAccess:
    """The room of a confirmed chat, for its two people (and the event's organizers, shown with a badge).

    Strangers get not-found (ids don't leak); the right people outside the opening hours get a
    Conflict that says when the room opens or that it has closed.
    """
    chat = await load_chat(session, chat_id, user)
    event = await get_event(session, chat.event_id)
    if user.id == chat.talent_id:
        role = Role.TALENT.value
    elif user.id == chat.recruiter_id:
        role = Role.RECRUITER.value
    else:
        member = await participation(session, event.id, user.id)
        if member is None or member.role != Role.ORGANIZER.value:
            raise Forbidden("Only the two people of this chat can enter its room.", code="not_a_party")
        role = Role.ORGANIZER.value
    # Completed too: the sweep may mark a chat held while its people are still in the grace period.
    if chat.status not in (ChatStatus.CONFIRMED.value, ChatStatus.COMPLETED.value) or chat.starts_at is None:
        raise Conflict("This chat has no confirmed time, so its room is closed.", code="room_closed")
    opens, closes = window(chat, event, grace)
    if now < opens:
        raise Conflict(f"The room opens {event.room_opens_minutes_before} minutes before the chat starts.", code="room_not_open")
    if now > closes:
        raise Conflict("This chat is over and its room has closed.", code="room_closed")
    return RoomAccess(chat, event, role, opens, closes)
