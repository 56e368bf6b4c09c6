"""Organizers cancel or move a 1-1 chat on the two people's behalf: the same actions, notices and invites as theirs.

GET /chats/{id}/organize shows the chat with a slot picker (free for both people) and the cancel form; the posts call
actions.reschedule / actions.cancel, which tell both people that the organizers did it. A refused form comes back with
what was typed and what to change.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Awaitable, Callable
from itertools import groupby

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from scheduling import actions, queries, slots, timefmt
from scheduling.errors import DomainError, Invalid, SlotTaken
from scheduling.models import ChatRequest, Event, User
from web.http import context, res, session_user, status_for
from web.pages import _has_nul, _path_int, error_page, flash, page, render

OPEN = ("pending", "accepted", "confirmed")
# A refusal's field, by the error's code: the message shows next to that field (and at the top of the page).
REASON_CODES = frozenset({"reason_required", "too_long", "invalid_input"})
START_CODES = frozenset({"invalid", "same_slot", "not_a_slot", "slot_in_past", "talent_busy", "slot_taken"})


def error_field(op: str, err: DomainError) -> str:
    """'reason', 'start' or '' (no one field: the chat changed meanwhile, a quota...)."""
    if err.code in REASON_CODES:
        return "reason"
    if op == "reschedule" and (err.code in START_CODES or isinstance(err, SlotTaken)):
        return "start"
    return ""


async def _chat_for_organizer(session: AsyncSession, chat_id: int, user: User) -> tuple[ChatRequest, Event]:
    """The chat, for an organizer of its event or a platform admin; others get 404 (strangers) or 403 (its people)."""
    chat = await actions.load_chat(session, chat_id, user)
    event = await actions.get_event(session, chat.event_id)
    await actions.require_organizer(session, event, user)
    return chat, event


async def _page(
    request: Request, session: AsyncSession, user: User, *, status: int = 200, error: str = "", typed: dict[str, str] | None = None,
    field: str = "",
) -> Response:
    chat, event = await _chat_for_organizer(session, _path_int(request, "chat_id"), user)
    member = await actions.participation(session, event.id, user.id)
    view = await queries.chat_view(session, chat)
    now = context(request).now
    free: list[slots.Slot] = []
    can_move = chat.status == "confirmed" and chat.starts_at is not None and chat.starts_at > now
    if can_move:
        free = [s for s in await actions.open_slots_for_chat(session, chat, event, now=now) if s.start != chat.starts_at]
    tz = timefmt.zone(user.timezone, event.timezone)
    slot_days = [(day, list(items)) for day, items in groupby(free, key=lambda s: s.start.astimezone(tz).date())]
    return render(request, "organizer/on_behalf.html", user, status=status, event=event, member=member,
                  role=member.role if member else "admin", view=view, chat=chat, slot_days=slot_days, can_move=can_move,
                  can_cancel=chat.status in OPEN and (chat.status != "confirmed" or can_move), error=error, error_field=field,
                  typed=typed or {"reason": "", "start": "", "op": ""}, nav="chats")


@page
async def organize_page(request: Request, session: AsyncSession, user: User) -> Response:
    return await _page(request, session, user)


def _start(raw: str) -> dt.datetime | None:
    raw = raw.strip()
    if raw == "release":
        return None
    if not raw:
        raise Invalid("Choose the new time, or to release the slot.")
    try:
        value = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise Invalid("Pick a new time from the list, or release the slot.") from None
    if value.tzinfo is None:
        raise Invalid("Pick a new time from the list, or release the slot.")
    return timefmt.checked_instant(value, "new time")


def _post(op: str) -> Callable[[Request], Awaitable[Response]]:
    """The form post of one operation (cancel, reschedule): a refusal shows the page again with what was typed."""

    async def handler(request: Request) -> Response:
        form = await request.form()
        if not secrets.compare_digest(str(form.get("csrf", "")), request.session.get("csrf", "") or "x"):
            return await error_page(request, 403, "Your form expired. Go back, reload the page and try again.")
        if _has_nul(form):
            return await error_page(request, 400, "The form holds characters that can't be stored. Remove them and try again.")
        typed = {"reason": str(form.get("reason", "")), "start": str(form.get("start", "")), "op": op}
        chat_id = _path_int(request, "chat_id")
        ctx = context(request)
        async with res(request).sessionmaker() as session:
            async with session.begin():
                user = await session_user(request, session)
            if user is None:
                return RedirectResponse("/login", status_code=303)
            try:
                async with session.begin():
                    found, _event = await _chat_for_organizer(session, chat_id, user)
                    view = await queries.chat_view(session, found)
                    if len(typed["reason"]) > 1000:
                        raise Invalid("The reason is limited to 1000 characters.", code="too_long")
                    if op == "cancel":
                        if not typed["reason"].strip():
                            raise Invalid(f"Tell {view.talent.name} and {view.recruiter.name} why the chat is cancelled: "
                                          "a reason is required.", code="reason_required")
                        chat = await actions.cancel(session, ctx, user, chat_id, typed["reason"])
                        message = "Chat cancelled. Both people were told that the organizers cancelled it."
                    else:
                        chat = await actions.reschedule(session, ctx, user, chat_id, reason=typed["reason"], start=_start(typed["start"]))
                        message = ("Chat moved. Both people got the new invite." if chat.status == "confirmed"
                                   else "The slot is released; both people were told and can pick a new time.")
            except DomainError as err:
                async with session.begin():
                    await session.refresh(user)
                    try:
                        return await _page(request, session, user, status=status_for(err), error=err.message, typed=typed,
                                           field=error_field(op, err))
                    except DomainError as err2:
                        return await error_page(request, status_for(err2), err2.message, session=session)
        flash(request, message)
        return RedirectResponse(f"/chats/{chat.id}", status_code=303)

    return handler


routes = [
    Route("/chats/{chat_id:id}/organize", organize_page, methods=["GET"]),
    Route("/chats/{chat_id:id}/organize/cancel", _post("cancel"), methods=["POST"]),
    Route("/chats/{chat_id:id}/organize/reschedule", _post("reschedule"), methods=["POST"]),
]
