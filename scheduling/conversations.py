"""Conversation logs: store first, number without gaps, and replay what a client missed."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from scheduling.errors import Invalid
from scheduling.models import Conversation, ConversationEvent

MAX_MESSAGE = 4000
REPLAY_LIMIT = 1000


@dataclass(frozen=True)
class Entry:
    seq: int
    kind: str
    author_id: int | None
    client_id: str | None
    body: dict[str, Any]
    at: dt.datetime


def _entry(row: ConversationEvent) -> Entry:
    return Entry(row.seq, row.kind, row.author_id, row.client_id, json.loads(row.body), row.created_at)


async def conversation(session: AsyncSession, key: str, *, now: dt.datetime) -> Conversation:
    """The conversation named `key`, created on first use (a race creates it once)."""
    found = (await session.execute(select(Conversation).where(Conversation.key == key))).scalar_one_or_none()
    if found is not None:
        return found
    try:
        async with session.begin_nested():
            created = Conversation(key=key, last_seq=0, created_at=now)
            session.add(created)
        return created
    except IntegrityError:
        return (await session.execute(select(Conversation).where(Conversation.key == key))).scalar_one()


async def append(
    session: AsyncSession, key: str, *, kind: str, author_id: int | None, body: dict[str, Any], now: dt.datetime, client_id: str | None = None
) -> tuple[Entry, bool]:
    """Stores one entry and gives it the next number; returns (entry, created).

    With a client_id seen before from the same author, nothing is stored and the first
    entry comes back with created=False: a retried send is never stored twice.
    """
    conv = await conversation(session, key, now=now)
    # Lock the conversation first: the retry check and the numbering then see every earlier append.
    await session.execute(select(Conversation.id).where(Conversation.id == conv.id).with_for_update())
    if client_id is not None:
        existing = (
            await session.execute(
                select(ConversationEvent).where(
                    ConversationEvent.conversation_id == conv.id,
                    ConversationEvent.author_id == author_id,
                    ConversationEvent.client_id == client_id,
                )
            )
        ).scalar_one_or_none()
        if existing is not None:
            return _entry(existing), False
    # Numbers come from the locked counter row, so they have no gaps.
    seq = (
        await session.execute(
            update(Conversation).where(Conversation.id == conv.id).values(last_seq=Conversation.last_seq + 1).returning(Conversation.last_seq)
        )
    ).scalar_one()
    row = ConversationEvent(
        conversation_id=conv.id, seq=seq, kind=kind, author_id=author_id, client_id=client_id, body=json.dumps(body), created_at=now
    )
    session.add(row)
    await session.flush()
    return _entry(row), True


def message_body(text: str) -> dict[str, Any]:
    text = text.strip()
    if not text:
        raise Invalid("An empty message can't be sent.", code="empty_message")
    if len(text) > MAX_MESSAGE:
        raise Invalid(f"Messages are limited to {MAX_MESSAGE} characters.", code="too_long")
    return {"text": text}


async def since(session: AsyncSession, key: str, after_seq: int, *, limit: int = REPLAY_LIMIT) -> list[Entry]:
    """Entries numbered above `after_seq`, oldest first."""
    rows = (
        await session.execute(
            select(ConversationEvent)
            .join(Conversation, Conversation.id == ConversationEvent.conversation_id)
            .where(Conversation.key == key, ConversationEvent.seq > after_seq)
            .order_by(ConversationEvent.seq)
            .limit(limit)
        )
    ).scalars().all()
    return [_entry(r) for r in rows]


async def last_seq(session: AsyncSession, key: str) -> int:
    value = (await session.execute(select(Conversation.last_seq).where(Conversation.key == key))).scalar_one_or_none()
    return int(value or 0)


async def roster(session: AsyncSession, key: str) -> dict[str, dict[str, Any]]:
    """Connections present now, by connection id: the last presence entry of each says joined."""
    rows = (
        await session.execute(
            select(ConversationEvent.seq, ConversationEvent.body)
            .join(Conversation, Conversation.id == ConversationEvent.conversation_id)
            .where(Conversation.key == key, ConversationEvent.kind == "presence")
            .order_by(ConversationEvent.seq)
        )
    ).all()
    present: dict[str, dict[str, Any]] = {}
    for seq, raw in rows:
        body = json.loads(raw)
        if body.get("state") == "joined":
            present[body["conn"]] = {**body, "seq": seq}
        else:
            present.pop(body.get("conn", ""), None)
    return present
