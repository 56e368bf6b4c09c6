"""The 1-1 chats: the event's chat list (tabs), one chat's page, its answers (accept, decline, cancel, book, reschedule)
and its calendar invite."""

from __future__ import annotations

import datetime as dt
from itertools import groupby

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from scheduling import actions, queries, slots, timefmt
from scheduling.errors import Invalid
from scheduling.models import User
from web.api import invite_response
from web.http import context
from web.pages import FormAction, _event_ctx, _path_int, flash, form_action, page, render

TAB_LABELS = {"requests": "Requests", "scheduling": "In Scheduling", "confirmed": "Confirmed", "declined": "Declined", "completed": "Completed"}


@page
async def event_home(request: Request, session: AsyncSession, user: User) -> Response:
    event, member, ctx = await _event_ctx(session, request, user)
    tab = request.query_params.get("tab", "requests")
    if tab not in queries.TABS:
        tab = "requests"
    counts = await queries.tab_counts(session, event.id, user, member)
    views = await queries.chats(session, event.id, user, member, statuses=queries.TABS[tab])
    who = request.query_params.get("who", "")
    if who == "sent":
        views = [v for v in views if v.chat.sender_id == user.id]
    elif who == "received":
        views = [v for v in views if v.chat.sender_id != user.id]
    return render(request, "chats.html", user, tab=tab, tabs=TAB_LABELS, counts=counts, views=views, who=who, nav="chats", **ctx)


@page
async def chat_page(request: Request, session: AsyncSession, user: User) -> Response:
    chat = await actions.load_chat(session, _path_int(request, "chat_id"), user)
    event = await actions.get_event(session, chat.event_id)
    member = await actions.participation(session, event.id, user.id)
    view = await queries.chat_view(session, chat)
    free: list[slots.Slot] = []
    if chat.status in ("accepted", "confirmed") and user.id in (chat.talent_id, chat.recruiter_id):
        free = await actions.open_slots_for_chat(session, chat, event, now=context(request).now)
    tz = timefmt.zone(user.timezone, event.timezone)
    slot_days = [(day, list(items)) for day, items in groupby(free, key=lambda s: s.start.astimezone(tz).date())]
    other = view.recruiter if user.id == chat.talent_id else view.talent
    other_member = await actions.participation(session, event.id, other.id)
    return render(request, "chat.html", user, event=event, member=member, role=member.role if member else "admin", view=view, chat=chat,
                  other=other, other_member=other_member, slot_days=slot_days, history=await queries.history(session, chat.id),
                  is_party=user.id in (chat.talent_id, chat.recruiter_id), is_sender=user.id == chat.sender_id,
                  quota=queries.quota(event, member), nav="chats")


def _chat_op(op: str) -> FormAction:
    async def run(request: Request, session: AsyncSession, user: User, form: FormData, ctx: actions.Context) -> str:
        chat_id = _path_int(request, "chat_id")
        reason = str(form.get("reason", ""))
        if op == "accept":
            chat = await actions.accept(session, ctx, user, chat_id)
            flash(request, "Accepted. They can now pick a time from your calendar.")
        elif op == "decline":
            chat = await actions.decline(session, ctx, user, chat_id, reason)
            flash(request, "Declined.")
        elif op == "cancel":
            chat = await actions.cancel(session, ctx, user, chat_id, reason)
            flash(request, "Cancelled. The other person has been told.")
        elif op == "book":
            start = _parse_instant(str(form.get("start", "")))
            chat = await actions.book(session, ctx, user, chat_id, start)
            flash(request, "Your 1-1 chat is confirmed. The invite is in your email.")
        else:
            raw = str(form.get("start", "")).strip()
            chat = await actions.reschedule(session, ctx, user, chat_id, reason=reason, start=_parse_instant(raw) if raw else None)
            flash(request, "Moved to the new time; both of you got an updated invite." if chat.status == "confirmed"
                  else "The slot is released; pick a new time below.")
        return f"/chats/{chat.id}"

    return run


def _parse_instant(raw: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise Invalid("Pick a time slot first.") from None
    if value.tzinfo is None:
        raise Invalid("Pick a time slot first.")
    return timefmt.checked_instant(value, "slot")


@page
async def chat_invite(request: Request, session: AsyncSession, user: User) -> Response:
    chat_id = _path_int(request, "chat_id")
    body, method = await actions.current_invite(session, context(request), user, chat_id)
    return invite_response(body, method, chat_id)


routes = [
    Route("/events/{event_id:id}", event_home),
    Route("/chats/{chat_id:id}", chat_page),
    Route("/chats/{chat_id:id}/invite.ics", chat_invite),
    *(Route(f"/chats/{{chat_id:id}}/{op}", form_action(_chat_op(op)), methods=["POST"]) for op in ("accept", "decline", "cancel", "book", "reschedule")),
]
