"""The 1-1 chats: the event's chat list (tabs), one chat's page (slot picker by day, the room's transcript, the
recruiter's outcome), its answers (accept, decline, cancel with a confirmation and an undo, book, reschedule) and
its calendar invite."""

from __future__ import annotations

import datetime as dt
import secrets
from itertools import groupby
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from scheduling import actions, chat_history, outcomes, queries, slots, timefmt, transcripts, withdrawals
from scheduling.errors import DomainError, Forbidden, Invalid, NotFound
from scheduling.models import ChatRequest, User
from web import chat_api, event_ops, profile_pages
from web.api import invite_response
from web.http import context, res, session_user, status_for
from web.pages import FormAction, _event_ctx, _has_nul, _path_int, error_page, flash, form_action, page, render

TAB_LABELS = {"requests": "Requests", "scheduling": "In Scheduling", "confirmed": "Confirmed", "declined": "Declined",
              "cancelled": "Withdrawn / cancelled", "completed": "Completed"}
STATUS_TAB = {"pending": "requests", "accepted": "scheduling", "confirmed": "confirmed", "completed": "completed", "declined": "declined",
              "cancelled": "cancelled"}


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
    closed = [v.chat.id for v in views if v.chat.status in ("declined", "cancelled")]
    # Which held chats have an outcome: for their recruiter and the organizers only (the talent never learns of it).
    readers = [v.chat.id for v in views if v.chat.status == "completed" and (v.chat.recruiter_id == user.id or ctx["role"] in ("organizer", "admin"))]
    return render(request, "chats.html", user, tab=tab, tabs=TAB_LABELS, counts=counts, views=views, who=who, nav="chats",
                  closings=await queries.closings(session, closed), closing_label=closing_label,
                  outcome_readers=set(readers), with_outcome=await outcomes.recorded_among(session, readers), **ctx)


def closing_label(chat: ChatRequest, closing: queries.Closing | None, viewer: User) -> str:
    """'Withdrawn by Ann', 'Cancelled by you', 'Declined by Bo': who ended a request, and how."""
    if chat.status not in ("declined", "cancelled"):
        return ""
    verb = "Declined" if chat.status == "declined" else "Withdrawn" if closing is not None and closing.withdrawn(chat) else "Cancelled"
    if closing is None or closing.actor_id is None:
        return f"{verb} by Fairmeet" if closing is not None else verb
    return f"{verb} by {'you' if closing.actor_id == viewer.id else closing.actor_name}"


async def _chat_context(request: Request, session: AsyncSession, user: User, chat_id: int) -> dict[str, Any]:
    """Everything chat.html and its includes show, for a chat the user may open (others get not-found)."""
    now = context(request).now
    chat = await actions.load_chat(session, chat_id, user)
    event = await actions.get_event(session, chat.event_id)
    member = await actions.participation(session, event.id, user.id)
    view = await queries.chat_view(session, chat)
    is_party = user.id in (chat.talent_id, chat.recruiter_id)
    free: list[slots.Slot] = []
    if chat.status in ("accepted", "confirmed") and is_party:
        free = await actions.open_slots_for_chat(session, chat, event, now=now)
        # Rescheduling to the time the chat already has would change nothing: it is not offered.
        free = [s for s in free if s.start != chat.starts_at]
    tz = timefmt.zone(user.timezone, event.timezone)
    slot_days = [(day, list(items)) for day, items in groupby(free, key=lambda s: s.start.astimezone(tz).date())]
    wanted = request.query_params.get("day", "")
    picked_day = next((d for d, _ in slot_days if d.isoformat() == wanted), slot_days[0][0] if slot_days else None)
    other = view.recruiter if user.id == chat.talent_id else view.talent
    other_member = await actions.participation(session, event.id, other.id)
    closing = (await queries.closings(session, [chat.id])).get(chat.id) if chat.status in ("declined", "cancelled") else None
    outcome = await outcomes.view(session, user, chat.id, now=now) if await outcomes.may_read(session, chat, user) else None
    can_resend = withdrawals.can_resend(chat, closing, user, now) and not await withdrawals.pair_has_open_request(session, chat)
    return {
        "event": event, "member": member, "role": member.role if member else "admin", "view": view, "chat": chat, "other": other,
        "other_member": other_member, "slot_days": slot_days, "picked_day": picked_day,
        "history": chat_history.lines(await queries.history(session, chat.id), tz),
        "is_party": is_party, "is_sender": user.id == chat.sender_id, "quota": queries.quota(event, member), "nav": "chats",
        "back_tab": STATUS_TAB.get(chat.status, "requests"), "closing": closing, "closing_label": closing_label(chat, closing, user),
        "can_resend": can_resend, "resend_minutes": int(withdrawals.UNDO_WINDOW.total_seconds() // 60),
        "outcome": outcome, "outcome_form": _outcome_form(outcome.outcome) if outcome else None, "outcome_error": "",
        "transcript": await transcripts.transcript(session, chat, now=now), "now": now,
        "started": chat.starts_at is not None and chat.starts_at <= now,
        **await event_ops.chat_extras(session, chat, user, member.role if member else "admin", len(free), now),
        **await profile_pages.chat_extras(session, chat, user, member),
    }


def _outcome_form(stored: Any) -> dict[str, Any]:
    if stored is None:
        return {"notes": "", "rating": "", "next_step": "", "no_show": False}
    return {"notes": stored.notes, "rating": str(stored.rating or ""), "next_step": stored.next_step, "no_show": stored.no_show}


@page
async def chat_page(request: Request, session: AsyncSession, user: User) -> Response:
    ctx = await _chat_context(request, session, user, _path_int(request, "chat_id"))
    return render(request, "chat.html", user, **ctx)


def _chat_op(op: str) -> FormAction:
    async def run(request: Request, session: AsyncSession, user: User, form: FormData, ctx: actions.Context) -> str:
        chat_id = _path_int(request, "chat_id")
        reason = str(form.get("reason", ""))
        if op == "accept":
            chat = await actions.accept(session, ctx, user, chat_id)
            if user.id == chat.talent_id:
                flash(request, "Accepted. Pick a time below that suits you both.")
            else:
                talent = await session.get(User, chat.talent_id)
                flash(request, f"Accepted. {talent.name if talent else 'The talent'} can now pick a time from your calendar; "
                      "you can also pick one below.")
        elif op == "decline":
            chat = await actions.decline(session, ctx, user, chat_id, reason)
            flash(request, "Declined.")
        elif op == "cancel":
            before = await actions.load_chat(session, chat_id, user)
            withdrawing = before.status == "pending"
            chat = await actions.cancel(session, ctx, user, chat_id, reason)
            flash(request, "Request withdrawn. The other person has been told." if withdrawing else "Cancelled. The other person has been told.")
        elif op == "resend":
            chat = await withdrawals.resend(session, ctx, user, chat_id)
            flash(request, "Request sent again." if chat.status == "pending" else "Request sent again and accepted at once: pick a time below.")
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


def form_outcome(form: FormData) -> tuple[outcomes.OutcomeInput, dict[str, Any]]:
    """The outcome form's fields as typed (to show again on a refusal) and as input; a rating that isn't 1-5 is refused here."""
    notes, raw_rating, step = str(form.get("notes", "")), str(form.get("rating", "")).strip(), str(form.get("next_step", ""))
    no_show = form.get("no_show") in ("1", "on", "true")
    typed: dict[str, Any] = {"notes": notes, "rating": raw_rating, "next_step": step, "no_show": no_show}
    rating: int | None = None
    if raw_rating:
        if not (raw_rating.isascii() and raw_rating.isdigit() and len(raw_rating) == 1):
            raise Invalid("The rating is a whole number from 1 to 5, or none.", code="invalid_rating")
        rating = int(raw_rating)
    return outcomes.OutcomeInput(notes=notes, rating=rating, next_step=step, no_show=no_show), typed


def _refused(request: Request, form: FormData) -> tuple[int, str] | None:
    if not secrets.compare_digest(str(form.get("csrf", "")), request.session.get("csrf", "") or "x"):
        return 403, "Your form expired or came from another site. Go back, reload the page and try again."
    if _has_nul(form):
        return 400, "The form holds characters that can't be stored. Remove them and try again."
    return None


async def outcome_post(request: Request) -> Response:
    """Saves the recruiter's outcome; a refusal shows the chat page again with what was typed and what is wrong."""
    form = await request.form()
    refused = _refused(request, form)
    if refused is not None:
        return await error_page(request, *refused)
    ctx = context(request)
    chat_id = _path_int(request, "chat_id")
    typed: dict[str, Any] = {"notes": str(form.get("notes", "")), "rating": str(form.get("rating", "")), "next_step": str(form.get("next_step", "")),
                             "no_show": form.get("no_show") in ("1", "on", "true")}
    async with res(request).sessionmaker() as session:
        async with session.begin():
            user = await session_user(request, session)
        if user is None:
            return RedirectResponse("/login", status_code=303)
        try:
            async with session.begin():
                value, typed = form_outcome(form)
                await outcomes.record(session, ctx, user, chat_id, value)
        except DomainError as err:
            if isinstance(err, Forbidden | NotFound):
                return await error_page(request, status_for(err), err.message)
            async with session.begin():
                await session.refresh(user)
                try:
                    page_ctx = await _chat_context(request, session, user, chat_id)
                except DomainError as err2:
                    return await error_page(request, status_for(err2), err2.message, session=session)
                page_ctx.update(outcome_form=typed, outcome_error=err.message)
                return render(request, "chat.html", user, status=status_for(err), **page_ctx)
    flash(request, "Outcome saved.")
    return RedirectResponse(f"/chats/{chat_id}#outcome", status_code=303)


@page
async def chat_invite(request: Request, session: AsyncSession, user: User) -> Response:
    chat_id = _path_int(request, "chat_id")
    body, method = await actions.current_invite(session, context(request), user, chat_id)
    return invite_response(body, method, chat_id)


routes = [
    Route("/events/{event_id:id}", event_home),
    Route("/chats/{chat_id:id}", chat_page),
    Route("/chats/{chat_id:id}/invite.ics", chat_invite),
    Route("/chats/{chat_id:id}/outcome", outcome_post, methods=["POST"]),
    *(Route(f"/chats/{{chat_id:id}}/{op}", form_action(_chat_op(op)), methods=["POST"])
      for op in ("accept", "decline", "cancel", "resend", "book", "reschedule")),
    *chat_api.routes,
]
