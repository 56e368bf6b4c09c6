"""The recruiter's record of a 1-1 chat once it has taken place: notes, a rating (1-5), a next step, a no-show.

Only the chat's recruiter writes it, and only once the chat has started (confirmed and under way, or completed).
The recruiter and the event's organizers (and platform admins) read it; the talent never sees it, and nobody else
learns the chat exists (not found). The next steps are the event's list, the same one QuickChat ends its chats with.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from scheduling import actions
from scheduling.errors import Conflict, Forbidden, Invalid
from scheduling.livechat.chats import next_steps
from scheduling.models import ChatOutcome, ChatRequest, ChatStatus, Role, User

S = ChatStatus
MAX_NOTES = 4000
RATINGS = (1, 2, 3, 4, 5)


@dataclass(frozen=True)
class OutcomeView:
    """What the recruiter or an organizer sees of a chat's outcome, and whether this viewer may change it."""

    chat: ChatRequest
    outcome: ChatOutcome | None
    steps: list[str]
    can_write: bool
    taken_place: bool  # the chat has started, so an outcome can be recorded

    @property
    def recorded(self) -> bool:
        return self.outcome is not None


def taken_place(chat: ChatRequest, now: dt.datetime) -> bool:
    """The meeting has happened (or is under way): completed, or confirmed and past its start."""
    if chat.status == S.COMPLETED.value:
        return True
    return chat.status == S.CONFIRMED.value and chat.starts_at is not None and chat.starts_at <= now


async def may_read(session: AsyncSession, chat: ChatRequest, user: User) -> bool:
    """The chat's recruiter, the event's organizers and platform admins; never the talent."""
    if user.id == chat.recruiter_id or user.is_admin:
        return True
    if user.id == chat.talent_id:
        return False
    member = await actions.participation(session, chat.event_id, user.id)
    return member is not None and member.role == Role.ORGANIZER.value


async def recorded_among(session: AsyncSession, chat_ids: list[int]) -> set[int]:
    """Which of these chats have an outcome (for lists; says nothing of what it holds)."""
    if not chat_ids:
        return set()
    rows = await session.execute(select(ChatOutcome.chat_request_id).where(ChatOutcome.chat_request_id.in_(set(chat_ids))))
    return set(rows.scalars().all())


async def view(session: AsyncSession, user: User, chat_id: int, *, now: dt.datetime) -> OutcomeView:
    """The outcome of a chat the user may read. Strangers get not-found; the talent of the chat is refused."""
    chat = await actions.load_chat(session, chat_id, user)
    if not await may_read(session, chat, user):
        raise Forbidden("Only the recruiter of this chat and the event's organizers see its outcome.", code="outcome_hidden")
    event = await actions.get_event(session, chat.event_id)
    outcome = await session.get(ChatOutcome, chat.id)
    return OutcomeView(chat, outcome, next_steps_allowed(next_steps(event), outcome), user.id == chat.recruiter_id, taken_place(chat, now))


@dataclass
class OutcomeInput:
    notes: str = ""
    rating: int | None = None
    next_step: str = ""
    no_show: bool = False


def check(value: OutcomeInput, steps: list[str], previous: ChatOutcome | None) -> OutcomeInput:
    """Trimmed and checked input; each refusal names the field in words."""
    notes = value.notes.replace("\r\n", "\n").strip()
    if "\x00" in notes:
        raise Invalid("The notes hold a character that can't be stored (NUL); remove it.", code="invalid_notes")
    if len(notes) > MAX_NOTES:
        raise Invalid(f"The notes are limited to {MAX_NOTES} characters; yours have {len(notes)}.", code="notes_too_long")
    if value.rating is not None and (isinstance(value.rating, bool) or value.rating not in RATINGS):
        raise Invalid("The rating is a whole number from 1 to 5, or none.", code="invalid_rating")
    step = value.next_step.strip()
    allowed = next_steps_allowed(steps, previous)
    if step and step not in allowed:
        raise Invalid(f"Choose the next step from the list: {', '.join(allowed)}.", code="invalid_next_step")
    return OutcomeInput(notes=notes, rating=value.rating, next_step=step, no_show=bool(value.no_show))


def next_steps_allowed(steps: list[str], previous: ChatOutcome | None) -> list[str]:
    """The event's next steps, plus the one recorded earlier if the list has changed since (it stays valid)."""
    return steps if previous is None or not previous.next_step or previous.next_step in steps else [*steps, previous.next_step]


async def record(session: AsyncSession, ctx: actions.Context, user: User, chat_id: int, value: OutcomeInput) -> ChatOutcome:
    """Writes (or replaces) the chat's outcome. The chat row is locked first, so two saves at once apply one after the other."""
    chat = await actions.load_chat(session, chat_id, user, lock=True)
    if user.id != chat.recruiter_id:
        raise Forbidden("Only the recruiter of this chat records its outcome.", code="not_the_recruiter")
    if not taken_place(chat, ctx.now):
        raise Conflict("The outcome can be recorded once the chat has taken place.", code="not_taken_place")
    event = await actions.get_event(session, chat.event_id)
    outcome = (await session.execute(select(ChatOutcome).where(ChatOutcome.chat_request_id == chat.id))).scalar_one_or_none()
    clean = check(value, next_steps(event), outcome)
    if outcome is None:
        outcome = ChatOutcome(chat_request_id=chat.id)
        session.add(outcome)
    outcome.notes, outcome.rating, outcome.next_step, outcome.no_show = clean.notes, clean.rating, clean.next_step, clean.no_show
    outcome.recorded_by_id = user.id
    outcome.updated_at = ctx.now
    await session.flush()
    return outcome
