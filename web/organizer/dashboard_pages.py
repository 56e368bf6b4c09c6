"""The event dashboard for its organizers (and platform admins), and the export of every chat with its outcome (CSV, JSON)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from scheduling import actions, dashboard
from scheduling.models import User
from web.api import ApiCall, Result, api
from web.http import context
from web.pages import _event_ctx, page, render

TALENTS_SHOWN = 20  # talents without a chat listed on the dashboard before "Show all"
RECRUITERS_OPEN = 12  # up to this many recruiters, every company's recruiters show unfolded


@page
async def dashboard_page(request: Request, session: AsyncSession, user: User) -> Response:
    event, _member, ctx = await _event_ctx(session, request, user)
    await actions.require_organizer(session, event, user)
    board = await dashboard.event_dashboard(session, event, now=context(request).now)
    # At scale (hundreds of talents, dozens of recruiters) the page shows the first talents and folds the recruiters by
    # company; ?talents=all lists every talent without a chat, ?recruiters=all opens every company.
    all_talents = request.query_params.get("talents") == "all"
    all_recruiters = request.query_params.get("recruiters") == "all"
    return render(request, "organizer/dashboard.html", user, board=board, labels=dashboard.CATEGORY_LABELS, categories=dashboard.CATEGORIES,
                  nav="dashboard", talents_shown=None if all_talents else TALENTS_SHOWN,
                  open_companies=all_recruiters or len(board.recruiters) <= RECRUITERS_OPEN,
                  all_recruiters=all_recruiters and len(board.recruiters) > RECRUITERS_OPEN, **ctx)


def _file_name(event_name: str) -> str:
    safe = "".join(ch if ch.isascii() and ch.isalnum() else "-" for ch in event_name).strip("-")
    return f"{(safe or 'event')[:60]}-chats.csv"


@page
async def chats_csv(request: Request, session: AsyncSession, user: User) -> Response:
    event, _member, _ctx = await _event_ctx(session, request, user)
    await actions.require_organizer(session, event, user)
    body = dashboard.export_csv(await dashboard.export_rows(session, event))
    return Response("\ufeff" + body, media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{_file_name(event.name)}"', "Cache-Control": "no-store",
    })


@api()
async def chats_json(call: ApiCall) -> Result:
    """GET /api/v1/events/{id}/chats/export: the same rows as the CSV, for the event's organizers."""
    event = await actions.get_event(call.session, call.path_int("event_id"))
    await actions.require_organizer(call.session, event, call.user)
    rows = await dashboard.export_rows(call.session, event)
    return 200, {"time_zone": event.timezone, "chats": [r.as_dict() for r in rows]}


@api()
async def dashboard_json(call: ApiCall) -> Result:
    """GET /api/v1/events/{id}/dashboard: the dashboard's figures, for the event's organizers."""
    event = await actions.get_event(call.session, call.path_int("event_id"))
    await actions.require_organizer(call.session, event, call.user)
    board = await dashboard.event_dashboard(call.session, event, now=call.ctx.now)
    return 200, {
        "total": board.total.as_dict(),
        "companies": [{"company_id": c.company_id, "name": c.name, "recruiters": c.recruiters, **c.figures.as_dict()} for c in board.companies],
        "recruiters": [{"user_id": r.user_id, "name": r.name, "company_id": r.company_id, "company": r.company_name, **r.figures.as_dict()}
                       for r in board.recruiters],
        "talents": board.talents,
        "talents_without_request": board.talents_without_request,
        "talents_without_chat": [{"user_id": t.user_id, "name": t.name, "email": t.email, "open_requests": t.open_requests}
                                 for t in board.talents_without_chat],
    }


# For the OpenAPI document (web/openapi.py): (method, path, summary, request body, response body, status, is a list).
OPERATIONS: list[tuple[str, str, str, None, None, int, bool]] = [
    ("get", "/api/v1/events/{event_id}/chats/export",
     "Every chat of the event with its people, status (withdrawn apart from declined and cancelled), times in the event's zone "
     "and outcome (organizers)", None, None, 200, False),
    ("get", "/api/v1/events/{event_id}/dashboard",
     "The event's figures: requests, acceptance rate, chats by status, no-shows, slots, per company and recruiter (organizers)",
     None, None, 200, False),
]

routes = [
    Route("/events/{event_id:id}/dashboard", dashboard_page, methods=["GET"]),
    Route("/events/{event_id:id}/chats.csv", chats_csv, methods=["GET"]),
    Route("/api/v1/events/{event_id:id}/chats/export", chats_json, methods=["GET"]),
    Route("/api/v1/events/{event_id:id}/dashboard", dashboard_json, methods=["GET"]),
]
