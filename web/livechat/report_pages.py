"""The live-chat desk's report on the web: the page (/live/report), its CSV (/live/report.csv) and the JSON
(GET /api/v1/live-report). All three read the same filters (event, from/to days in the viewer's zone, group by) and
build the same rows with scheduling.livechat.reports, which decides who sees which chats."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from markupsafe import Markup
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from scheduling import timefmt
from scheduling.errors import DomainError, Invalid, NotFound
from scheduling.livechat import export, reports
from scheduling.models import User
from web import pages
from web.api import ApiCall, api
from web.http import res, status_for
from web.livechat import report_schemas as rs
from web.livechat.api import staff_user
from web.pages import page, render

Result = Any
TYPED_LIMIT = 40  # typed filter values are shown back at most this long


def _zone(user: User, asked: str | None = None) -> str:
    return asked if asked is not None else (user.timezone if user.timezone and timefmt.is_valid_zone(user.timezone) else "UTC")


def _filters(params: QueryParams, user: User, now: dt.datetime, *, tz: str | None = None, event_key: str = "event") -> reports.Filters:
    zone = _zone(user, tz)
    today = now.astimezone(timefmt.zone(zone)).date()
    return reports.parse_filters(day_from=params.get("from"), day_to=params.get("to"), group=params.get("group"), event=params.get(event_key),
                                 tz=zone, today=today)


# --------------------------------------------------------------------------- JSON


@api(auth=False)
async def report_api(call: ApiCall) -> Result:
    user = await staff_user(call)
    params = call.request.query_params
    if "event" in params and "event_id" not in params:
        raise Invalid("Filter by event with ?event_id=.", code="invalid_event")
    filters = _filters(params, user, call.ctx.now, tz=params.get("tz"), event_key="event_id")
    report = await reports.build(call.session, user, filters)
    return 200, rs.report_out(report)


# --------------------------------------------------------------------------- the page


def _typed(params: QueryParams) -> dict[str, str]:
    """The filters as typed, to show them back in the form after an error."""
    return {k: str(params.get(k, ""))[:TYPED_LIMIT] for k in ("event", "from", "to", "group")}


def _place(err: DomainError) -> str:
    """Which form field an error concerns, for the message and the field's aria-invalid."""
    return {"invalid_date": "from" if err.message.startswith("From") else "to", "invalid_range": "to", "invalid_group": "group",
            "invalid_event": "event", "event_not_found": "event", "invalid_timezone": "tz"}.get(err.code, "")


def rating_marks(style: str, rating: int, scale: int) -> Markup:
    """What a rating looks like: filled and empty stars, or the one smiley chosen (drawn icons, not font glyphs)."""
    if style == "smileys":
        return pages.icon({1: "face-sad", 2: "face-neutral", 3: "face-happy"}.get(rating, "face-neutral"))
    return Markup("").join([pages.icon("star")] * rating + [pages.icon("star-empty")] * max(0, scale - rating))


@page
async def report_page(request: Request, session: AsyncSession, user: User) -> Response:
    now = res(request).clock()
    params = request.query_params
    view: dict[str, Any] = {"typed": _typed(params), "error": "", "error_field": "", "groups": reports.GROUPS, "dur": reports.duration_text,
                            "marks": rating_marks, "viewer_zone": _zone(user)}
    scope = await reports.scope_of(session, user)
    view["events"] = await reports.event_choices(session, user, scope)
    status = 200
    try:
        filters = _filters(params, user, now)
        report = await reports.build(session, user, filters)
    except (Invalid, NotFound) as err:
        status = status_for(err)
        message = err.message
        if err.code == "event_not_found":
            message = "Event: pick one of your events from the list, or all of them."
        view.update(error=message, error_field=_place(err), report=None)
        return render(request, "livechat/staff_report.html", user, status=status, **view)
    view.update(report=report, f=filters, csv_url="/live/report.csv?" + urlencode(filters.query()),
                event_name=next((e.name for e in report.events if e.id == filters.event_id), ""),
                typed={"event": str(filters.event_id or ""), "from": filters.day_from.isoformat(), "to": filters.day_to.isoformat(),
                       "group": filters.group})
    return render(request, "livechat/staff_report.html", user, status=status, **view)


@page
async def report_csv(request: Request, session: AsyncSession, user: User) -> Response:
    filters = _filters(request.query_params, user, res(request).clock())
    report = await reports.build(session, user, filters)
    body = export.to_csv(reports.CSV_HEADER, reports.csv_rows(report))
    name = f"fairmeet-live-report-{filters.group}-{filters.day_from.isoformat()}-{filters.day_to.isoformat()}.csv"
    return Response(body, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "private, no-store"})


routes: list[BaseRoute] = [
    Route("/live/report", report_page, methods=["GET"]),
    Route("/live/report.csv", report_csv, methods=["GET"]),
    Route("/api/v1/live-report", report_api, methods=["GET"]),
]
