"""What the event-ops parts of other pages need: the announcements shown to a viewer, and the chat page's slot watch.

Called from the pages' handlers in their read transaction (one or two small queries each).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from scheduling import announcements, slot_watch
from scheduling.models import ChatRequest, User


async def event_extras(session: AsyncSession, event_id: int, role: str) -> dict[str, Any]:
    """For every event page: the latest announcements for the viewer's role (_announcements.html)."""
    return {"announcements": await announcements.for_viewer(session, event_id, role)}


async def chat_extras(session: AsyncSession, chat: ChatRequest, user: User, role: str, free_slots: int, now: dt.datetime) -> dict[str, Any]:
    """For the chat page: its announcements, and the talent's slot watch (armed here when no slot is free; _chat_slot_watch.html)."""
    return {
        **await event_extras(session, chat.event_id, role),
        "slot_watch": await slot_watch.looked_for_slots(session, chat, user, free_slots, now),
    }
