"""Live chat at an event, for its signed-in members: a company's booth page and the event's support ("Help") page.

Both run the candidate's chat panel (templates/livechat/cand_chat.html, static/livechat/candidate.js) in its "event" mode:
no pre-chat form and no knockout questions; one "Start chat" click posts `/api/v1/events/{id}/live-chats` with the
page's CSRF token (the session says who is asking), and from then on the chat runs on the chat's own token and the
candidate socket exactly as a QuickChat does (docs/livechat.md). Booths are for the event's talents; support is for any
member. Both open an hour before the event starts and close at its end (`chats.live_now`); outside that window the pages
say so in words instead of showing a panel that would only answer 409.

`/events/{id}/support?embed=1` is the bare panel that the video room shows in its "Need help?" drawer (an iframe of
this origin only). `chat_window` is also a template global, so the talents' recruiter list can offer the booths while
they are open without its page function knowing about live chat.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

import web.convertors  # noqa: F401 -- registers the {x:id} path convertor
from scheduling import actions
from scheduling.errors import Forbidden, NotFound
from scheduling.livechat import booths, chats
from scheduling.models import Company, Event, Participant, Role, User
from web import pages
from web.http import context, csrf_token
from web.livechat.candidate_pages import paragraphs

# Scripts and plugins only from Fairmeet itself, no <base> games, framed only by Fairmeet's own pages (the room's drawer).
_POLICY = "script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'self'"

Window = Literal["before", "live", "after"]


def chat_window(event: Event, now: dt.datetime) -> Window:
    """Where `now` lies against the event's live-chat window (an hour before its start until its end)."""
    if now >= event.ends_at:
        return "after"
    return "live" if chats.live_now(event, now) else "before"


def _template_window(request: Request, event: Event | None) -> Window | None:
    return chat_window(event, context(request).now) if event is not None else None


pages.templates.env.globals["event_chat_window"] = _template_window


def _web_url(value: str) -> str:
    return value if value.startswith(("https://", "http://")) else ""


def _secured(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = _POLICY
    response.headers["Referrer-Policy"] = "same-origin"
    return response


async def _booth_recruiters(session: AsyncSession, event_id: int, company_id: int) -> list[str]:
    stmt = (select(User.name).join(Participant, Participant.user_id == User.id)
            .where(Participant.event_id == event_id, Participant.company_id == company_id, Participant.role == Role.RECRUITER.value)
            .order_by(User.name))
    return list((await session.execute(stmt)).scalars().all())


def _boot(event: Event, user: User, *, csrf: str, store: str, intro: str, agent: str, team: str, **extra: str) -> dict[str, str]:
    """The data attributes candidate.js starts from in its "event" mode (Jinja escapes them into the attributes)."""
    return {"mode": "event", "start-url": f"/api/v1/events/{event.id}/live-chats", "csrf": csrf, "store": f"{store}-u{user.id}",
            "intro": intro, "agent": agent, "team": team, "email": user.email, **extra}


@pages.page
async def booth_page(request: Request, session: AsyncSession, user: User) -> Response:
    """A company's booth during the event: who they are, and a chat with whichever of their recruiters is free."""
    event = await actions.get_event(session, request.path_params["event_id"])
    member = await actions.require_member(session, event, user)  # strangers: 404, as for every event page
    company = await session.get(Company, request.path_params["company_id"])
    if company is None or company.event_id != event.id:
        raise NotFound("No such company at this event.", code="company_not_found")
    if member is None or member.role != Role.TALENT.value:
        raise Forbidden("Booth chats are for the event's talents. Recruiters answer their booth's chats in the Chats console.",
                        code="not_talent")
    now = context(request).now
    window = chat_window(event, now)
    # Someone answers only if a chat started now would reach a person online (as `chats.start_event_chat` decides);
    # otherwise the chat becomes a message answered later, and the page says so before it is started.
    staffed = window == "live" and company.id in await booths.staffed_companies(session, event.id, [company.id], now)
    intro = (f"Questions for {company.name}? Start a chat and one of their recruiters at the booth will answer." if staffed else
             f"Nobody from {company.name} is at the booth right now. Leave a message; a recruiter answers when back, by email.")
    boot = _boot(event, user, csrf=csrf_token(request), store=f"booth-{event.id}-{company.id}", intro=intro,
                 agent=f"Recruiter · {company.name}", team="the recruiters", company=company.name,
                 **{"company-id": str(company.id), **({} if staffed else {"start-label": "Leave a message"})})
    response = pages.render(
        request, "livechat/event_booth.html", user, event=event, member=member, role=member.role, nav="recruiters",
        company=company, website=_web_url(company.website), description=paragraphs(company.description),
        recruiters=await _booth_recruiters(session, event.id, company.id), window=window, staffed=staffed, opens_at=event.starts_at - chats.EVENT_EARLY,
        boot=boot, heading=f"Chat with {company.name}", subtitle="Booth chat",
    )
    return _secured(response)


@pages.page
async def support_page(request: Request, session: AsyncSession, user: User) -> Response:
    """The event's help desk: a chat with its organizers (any member), the support email beside it.

    With `?embed=1`, only the panel: the video room shows it in its "Need help?" drawer.
    """
    event = await actions.get_event(session, request.path_params["event_id"])
    member = await actions.require_member(session, event, user)
    role = member.role if member else "admin"
    embed = request.query_params.get("embed") == "1"
    window = chat_window(event, context(request).now)
    ctx: dict[str, Any] = {
        "event": event, "member": member, "role": role, "nav": "support", "window": window, "opens_at": event.starts_at - chats.EVENT_EARLY,
        "answers_support": role in (Role.ORGANIZER.value, "admin"), "heading": "Event support", "subtitle": event.name,
        "boot": _boot(event, user, csrf=csrf_token(request), store=f"support-{event.id}",
                      intro=f"Need a hand with {event.name}? Start a chat and one of the organizers will answer.",
                      agent=f"Organizer · {event.name}", team="the organizers", resume="off", **({"embed": "1"} if embed else {})),
    }
    name = "livechat/event_support_frame.html" if embed else "livechat/event_support.html"
    response = pages.render(request, name, user, title="Help", **ctx)
    if embed:
        response.headers["Cache-Control"] = "no-store"
    return _secured(response)


routes: list[BaseRoute] = [
    Route("/events/{event_id:id}/booths/{company_id:id}", booth_page, methods=["GET"]),
    Route("/events/{event_id:id}/support", support_page, methods=["GET"]),
]
