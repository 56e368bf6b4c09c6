"""A 1-1 chat's room messages as part of its record: the transcript shown on the chat page once the meeting has started.

The room stores every line in the conversation "chat:{id}" (scheduling/conversations.py); presence entries are left
out. Who may read it is who may open the chat (its two people, the event's organizers, platform admins).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from scheduling.models import ChatRequest, Conversation, ConversationEvent, User
from scheduling.outcomes import taken_place
from scheduling.rooms import room_key

LIMIT = 2000  # lines shown at most; a 1-1 chat rarely has a hundred


@dataclass(frozen=True)
class Line:
    seq: int
    at: dt.datetime
    author_id: int | None
    author: str
    role: str  # talent | recruiter | organizer | ""
    text: str


@dataclass(frozen=True)
class Transcript:
    lines: list[Line]
    truncated: bool


async def transcript(session: AsyncSession, chat: ChatRequest, *, now: dt.datetime) -> Transcript | None:
    """The chat's room messages, oldest first; None before the meeting has started (nothing to show yet).

    The caller has already checked that the viewer may open the chat (actions.load_chat).
    """
    if not taken_place(chat, now):
        return None
    rows = (
        await session.execute(
            select(ConversationEvent.seq, ConversationEvent.created_at, ConversationEvent.author_id, ConversationEvent.body, User.name)
            .join(Conversation, Conversation.id == ConversationEvent.conversation_id)
            .outerjoin(User, User.id == ConversationEvent.author_id)
            .where(Conversation.key == room_key(chat.id), ConversationEvent.kind == "message")
            .order_by(ConversationEvent.seq)
            .limit(LIMIT + 1)
        )
    ).all()
    lines = []
    for seq, at, author_id, raw, name in rows[:LIMIT]:
        body = orjson.loads(raw)
        text = body.get("text")
        if not isinstance(text, str):
            continue
        role = str(body.get("role") or "")
        if author_id == chat.talent_id:
            role = "talent"
        elif author_id == chat.recruiter_id:
            role = "recruiter"
        lines.append(Line(seq, at, author_id, name or str(body.get("name") or "Someone"), role, text))
    return Transcript(lines, len(rows) > LIMIT)
