"""The event's people: the Recruiters page (talents search by role, skill or company), the Talents page (recruiters search
by skill, name or headline), and the request form with its send."""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from scheduling import actions, profiles, queries
from scheduling.errors import DomainError, Forbidden, Invalid, NotFound
from scheduling.livechat import booths
from scheduling.models import User
from web.convertors import parse_id
from web.http import context, res, session_user, status_for
from web.livechat.event_pages import chat_window
from web.pages import _event_ctx, _has_nul, _path_int, error_page, flash, page, render


def _search_terms(request: Request) -> tuple[str, str, str]:
    """The page's `q` and `skill` as typed, checked; a refusal is shown on the page (with what was typed) and filters nothing."""
    raw_q, raw_skill = request.query_params.get("q", ""), request.query_params.get("skill", "")
    try:
        return profiles.checked_query(raw_q), profiles.checked_query(raw_skill), ""
    except Invalid as err:
        return "", "", err.message


PAGE_SIZE = 50  # cards per page on the Recruiters and Talents pages


def _page_number(request: Request) -> int:
    """The `page` asked for (1 when missing or not a number; clamped to the last page by `_pages`)."""
    raw = request.query_params.get("page", "1")
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 7 else 1


def _pages(total: int, asked: int) -> dict[str, int]:
    """The page shown (the last one when asked past it), how many there are, and the 1-based range of people it holds."""
    count = max(1, -(-total // PAGE_SIZE))
    current = min(max(1, asked), count)
    first = (current - 1) * PAGE_SIZE + 1 if total else 0
    return {"page": current, "pages": count, "total": total, "first": first, "last": min(total, current * PAGE_SIZE)}


def _open_first(card: queries.RecruiterCard) -> tuple[bool, bool, str, str, int]:
    """Recruiters a talent can book now first, then by company (people without one last) and name."""
    return (card.open_slots == 0, card.company_name is None, (card.company_name or "").lower(), card.name.lower(), card.user_id)


@page
async def recruiters_page(request: Request, session: AsyncSession, user: User) -> Response:
    event, member, ctx = await _event_ctx(session, request, user)
    now = context(request).now
    company_id = parse_id(request.query_params.get("company", ""))
    q, skill, search_error = _search_terms(request)
    only = await profiles.recruiter_ids_matching(session, event.id, q=q, skill=skill) if (q or skill) else None
    every = [] if only == [] else await queries.recruiter_cards(session, event, now=now, company_id=company_id, only=only)
    every.sort(key=_open_first)
    paging = _pages(len(every), _page_number(request))
    cards = every[paging["first"] - 1:paging["last"]] if every else []
    open_with: dict[int, int] = {}
    companies = await queries.companies(session, event.id)
    staffed: set[int] = set()
    if member is not None and member.role == "talent":
        mine = await queries.chats(session, event.id, user, member, statuses=("pending", "accepted", "confirmed"))
        open_with = {v.chat.recruiter_id: v.chat.id for v in mine}
        if chat_window(event, now) == "live":
            staffed = await booths.staffed_companies(session, event.id, [c.id for c in companies], now)
    return render(request, "recruiters.html", user, cards=cards, companies=companies, staffed=staffed, paging=paging,
                  company_id=company_id, open_with=open_with, people=await profiles.cards_for(session, [c.user_id for c in cards]),
                  q=request.query_params.get("q", "")[:200], skill=request.query_params.get("skill", "")[:200], search_error=search_error,
                  searching=bool(q or skill), skills=await profiles.event_skills(session, event.id, "recruiter"), nav="recruiters", **ctx)


@page
async def talents_page(request: Request, session: AsyncSession, user: User) -> Response:
    event, member, ctx = await _event_ctx(session, request, user)
    if not user.is_admin and (member is None or member.role not in ("recruiter", "organizer")):
        raise Forbidden("Only recruiters and organizers see the talent list.")
    q, skill, search_error = _search_terms(request)
    paging = _pages(await profiles.talent_count(session, event.id, q=q, skill=skill), _page_number(request))
    rows = await profiles.talent_cards(session, event.id, q=q, skill=skill, offset=(paging["page"] - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    open_with: dict[int, int] = {}
    if member is not None and member.role == "recruiter":
        mine = await queries.chats(session, event.id, user, member, statuses=("pending", "accepted", "confirmed"))
        open_with = {v.chat.talent_id: v.chat.id for v in mine}
    cv_ok = await profiles.cv_readable(session, user, member, event.id, [t.user_id for t in rows if t.has_cv])
    return render(request, "talents.html", user, talents=rows, open_with=open_with, cv_ok=cv_ok, paging=paging,
                  q=request.query_params.get("q", "")[:200], skill=request.query_params.get("skill", "")[:200], search_error=search_error,
                  searching=bool(q or skill), skills=await profiles.event_skills(session, event.id, "talent"), nav="talents", **ctx)


async def _request_form_ctx(session: AsyncSession, request: Request, user: User) -> dict[str, Any]:
    event, member, ctx = await _event_ctx(session, request, user)
    other_id = _path_int(request, "user_id")
    other_member = await actions.participation(session, event.id, other_id)
    other = await session.get(User, other_id)
    wanted = {"talent": "recruiter", "recruiter": "talent"}.get(member.role if member else "")
    if other_member is None or other is None or other_member.role != wanted:
        raise NotFound("No such person in this event.")
    company = (await queries.recruiter_companies(session, event.id, [other_id])).get(other_id)
    return {"other": other, "other_member": other_member, "company": company, "other_card": await profiles.card_for(session, other_id),
            "nav": "recruiters" if wanted == "recruiter" else "talents", **ctx}


@page
async def request_form(request: Request, session: AsyncSession, user: User) -> Response:
    ctx = await _request_form_ctx(session, request, user)
    return render(request, "request_form.html", user, message="", answer="", error="", **ctx)


async def request_send(request: Request) -> Response:
    """Sends a request; a refusal re-shows the form with what was typed, not an empty one."""
    form = await request.form()
    if not secrets.compare_digest(str(form.get("csrf", "")), request.session.get("csrf", "") or "x"):
        return await error_page(request, 403, "Your form expired. Go back, reload the page and try again.")
    if _has_nul(form):
        return await error_page(request, 400, "The form holds characters that can't be stored. Remove them and try again.")
    ctx = context(request)
    event_id, other_id = _path_int(request, "event_id"), _path_int(request, "user_id")
    message, answer = str(form.get("message", "")), str(form.get("answer", ""))
    async with res(request).sessionmaker() as session:
        async with session.begin():  # its own short transaction: the send below opens the next one
            user = await session_user(request, session)
        if user is None:
            return RedirectResponse("/login", status_code=303)
        try:
            async with session.begin():
                if not res(request).write_limiter.allow(f"chatreq|{user.id}"):
                    raise Invalid("Too many requests in a short time; wait a minute.")
                member = await actions.participation(session, event_id, user.id)
                key = "recruiter_id" if member is not None and member.role == "talent" else "talent_id"
                chat = await actions.send_request(session, ctx, user, event_id, message=message, answer=answer, **{key: other_id})
        except DomainError as err:
            async with session.begin():
                await session.refresh(user)  # the rollback expired it; the page below reads its name
                try:
                    view = await _request_form_ctx(session, request, user)
                except DomainError as err2:
                    return await error_page(request, status_for(err2), err2.message, session=session)
            return render(request, "request_form.html", user, status=status_for(err), message=message, answer=answer, error=err.message, **view)
    flash(request, "Request sent. You'll get an email when they answer." if chat.status == "pending"
          else "Request accepted at once: pick a time below.")
    return RedirectResponse(f"/chats/{chat.id}", status_code=303)


routes = [
    Route("/events/{event_id:id}/recruiters", recruiters_page),
    Route("/events/{event_id:id}/talents", talents_page),
    Route("/events/{event_id:id}/request/{user_id:id}", request_form, methods=["GET"]),
    Route("/events/{event_id:id}/request/{user_id:id}", request_send, methods=["POST"]),
]
