"""Announcements for organizers: write one to everyone or one role (emailed and shown on their pages), list and delete them."""

from __future__ import annotations

import secrets

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from scheduling import actions, announcements
from scheduling.errors import DomainError, QuotaExceeded
from scheduling.models import User
from web.http import context, res, session_user, status_for
from web.pages import _event_ctx, _has_nul, _int, _path_int, error_page, flash, form_action, page, render


async def _page(request: Request, session: AsyncSession, user: User, *, status: int = 200, error: str = "", form: dict[str, str] | None = None) -> Response:
    event, _member, ctx = await _event_ctx(session, request, user)
    items = await announcements.listing(session, user, event.id)
    typed = form or {"audience": "all", "title": "", "body": ""}
    return render(request, "organizer/announcements.html", user, status=status, items=items, audiences=announcements.AUDIENCES,
                  typed=typed, error=error, title_limit=announcements.TITLE_LIMIT, body_limit=announcements.BODY_LIMIT,
                  nav="announcements", **ctx)


@page
async def announcements_page(request: Request, session: AsyncSession, user: User) -> Response:
    return await _page(request, session, user)


async def announcement_post(request: Request) -> Response:
    """Sends an announcement; a refusal shows the form again with what was typed and what to change."""
    form = await request.form()
    if not secrets.compare_digest(str(form.get("csrf", "")), request.session.get("csrf", "") or "x"):
        return await error_page(request, 403, "Your form expired. Go back, reload the page and try again.")
    if _has_nul(form):
        return await error_page(request, 400, "The form holds characters that can't be stored. Remove them and try again.")
    typed = {k: str(form.get(k, "")) for k in ("audience", "title", "body")}
    ctx = context(request)
    event_id = _path_int(request, "event_id")
    async with res(request).sessionmaker() as session:
        async with session.begin():
            user = await session_user(request, session)
        if user is None:
            return RedirectResponse("/login", status_code=303)
        try:
            async with session.begin():
                if not res(request).write_limiter.allow(f"announce|{user.id}"):
                    raise QuotaExceeded("Too many announcements in a short time; wait a minute and send it again.")
                _item, sent = await announcements.post(session, ctx, user, event_id, audience=typed["audience"], title=typed["title"],
                                                       body=typed["body"])
        except DomainError as err:
            async with session.begin():
                await session.refresh(user)  # the rollback expired it
                try:
                    return await _page(request, session, user, status=status_for(err), error=err.message, form=typed)
                except DomainError as err2:
                    return await error_page(request, status_for(err2), err2.message, session=session)
    flash(request, f"Announcement sent: it shows on their event pages, and {sent} {'person was' if sent == 1 else 'people were'} emailed.")
    return RedirectResponse(f"/events/{event_id}/announcements", status_code=303)


@form_action
async def announcement_delete(request: Request, session: AsyncSession, user: User, form: FormData, ctx: actions.Context) -> str:
    event_id = _path_int(request, "event_id")
    item = await announcements.remove(session, user, event_id, _int(form, "announcement_id"))
    flash(request, f"Announcement “{item.title}” removed from the event pages. Emails already sent stay in people's inboxes.")
    return f"/events/{event_id}/announcements"


routes = [
    Route("/events/{event_id:id}/announcements", announcements_page, methods=["GET"]),
    Route("/events/{event_id:id}/announcements", announcement_post, methods=["POST"]),
    Route("/events/{event_id:id}/announcements/delete", announcement_delete, methods=["POST"]),
]
