"""Undoing a withdrawn request: for a short while after its sender called off a pending request, they can send it again.

Sending again goes through actions.send_request with the same message and answer, so the quota stays right (the
withdrawal gave the request credit back; sending again takes it), the one-open-request-per-pair rule still holds and
the other person is told as for any request.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from scheduling import actions, queries
from scheduling.errors import Conflict, Forbidden
from scheduling.models import ChatRequest, ChatStatus, User

S = ChatStatus
UNDO_WINDOW = dt.timedelta(minutes=10)


def can_resend(chat: ChatRequest, closing: queries.Closing | None, user: User, now: dt.datetime) -> bool:
    """The sender withdrew this pending request themselves, less than UNDO_WINDOW ago."""
    return (
        closing is not None and closing.withdrawn(chat) and user.id == chat.sender_id
        and now - chat.updated_at < UNDO_WINDOW
    )


async def pair_has_open_request(session: AsyncSession, chat: ChatRequest) -> bool:
    """Another request between the same two people is open (sent again already, or sent anew)."""
    stmt = select(ChatRequest.id).where(
        ChatRequest.event_id == chat.event_id, ChatRequest.talent_id == chat.talent_id, ChatRequest.recruiter_id == chat.recruiter_id,
        ChatRequest.status.in_((S.PENDING.value, S.ACCEPTED.value, S.CONFIRMED.value)),
    ).limit(1)
    return (await session.execute(stmt)).first() is not None


async def resend(session: AsyncSession, ctx: actions.Context, user: User, chat_id: int) -> ChatRequest:
    """Sends a withdrawn request again (a new request with the same message and answer); returns the new request."""
    chat = await actions.load_chat(session, chat_id, user, lock=True)
    if user.id != chat.sender_id:
        raise Forbidden("Only the person who sent this request can send it again.", code="not_sender")
    closing = (await queries.closings(session, [chat.id])).get(chat.id)
    if closing is None or not closing.withdrawn(chat):
        raise Conflict("Only a request you withdrew can be sent again this way.", code="not_withdrawn")
    if ctx.now - chat.updated_at >= UNDO_WINDOW:
        minutes = int(UNDO_WINDOW.total_seconds() // 60)
        raise Conflict(f"A withdrawn request can be sent again for {minutes} minutes; write a new request instead.", code="undo_expired")
    other = {"recruiter_id": chat.recruiter_id} if user.id == chat.talent_id else {"talent_id": chat.talent_id}
    return await actions.send_request(session, ctx, user, chat.event_id, message=chat.message, answer=chat.answer, **other)
