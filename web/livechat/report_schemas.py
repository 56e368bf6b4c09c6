"""Response bodies of the live-chat desk's report (GET /api/v1/live-report), and their conversion from
scheduling.livechat.reports."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from scheduling.livechat import reports
from web.livechat.schemas import OPERATIONS


class TimeStatOut(BaseModel):
    """Seconds; `count` is how many answered chats had both times (median and p90 are null without any)."""

    count: int
    median_seconds: float | None
    p90_seconds: float | None
    median_text: str
    p90_text: str


class RatingStatOut(BaseModel):
    style: Literal["stars", "smileys"]
    scale: int
    average: float
    count: int


class ReportRowOut(BaseModel):
    id: int | None  # the event, team or person; null: chats without one (no team, not taken, no event)
    label: str
    chats: int
    answered: int
    not_answered: int
    missed: int
    wait: TimeStatOut
    first_response: TimeStatOut
    handling: TimeStatOut
    ratings: list[RatingStatOut]


class RecentRatingOut(BaseModel):
    chat_id: int
    candidate: str
    rating: int
    style: Literal["stars", "smileys"]
    scale: int
    comment: str
    rated_at: str
    recruiter: str
    url: str


class LiveReportOut(BaseModel):
    group: Literal["event", "team", "person"]
    event_id: int | None
    range: dict[str, str]  # {from, to (inclusive days, YYYY-MM-DD), tz, starts_at, ends_at (instants, UTC)}
    scope: str
    rows: list[ReportRowOut]
    total: ReportRowOut
    recent_ratings: list[RecentRatingOut]


def _time(stat: reports.TimeStat) -> TimeStatOut:
    def rounded(v: float | None) -> float | None:
        return None if v is None else round(v, 1)

    return TimeStatOut(count=stat.count, median_seconds=rounded(stat.median), p90_seconds=rounded(stat.p90),
                       median_text=reports.duration_text(stat.median), p90_text=reports.duration_text(stat.p90))


def row_out(row: reports.Row) -> ReportRowOut:
    return ReportRowOut(id=row.key, label=row.label, chats=row.chats, answered=row.answered, not_answered=row.not_answered, missed=row.missed,
                        wait=_time(row.wait), first_response=_time(row.first_response), handling=_time(row.handling),
                        ratings=[RatingStatOut(style=r.style, scale=r.scale, average=r.average, count=r.count) for r in row.ratings])  # type: ignore[arg-type]


def report_out(report: reports.Report) -> LiveReportOut:
    f = report.filters
    return LiveReportOut(
        group=f.group,  # type: ignore[arg-type]
        event_id=f.event_id,
        range={"from": f.day_from.isoformat(), "to": f.day_to.isoformat(), "tz": f.tz, "starts_at": f.starts_at.isoformat(),
               "ends_at": f.ends_at.isoformat()},
        scope=report.scope, rows=[row_out(r) for r in report.rows], total=row_out(report.total),
        recent_ratings=[RecentRatingOut(chat_id=r.chat_id, candidate=r.candidate, rating=r.rating, style=r.style, scale=r.scale,  # type: ignore[arg-type]
                                        comment=r.comment, rated_at=r.rated_at.isoformat(), recruiter=r.recruiter, url=f"/live/history/{r.chat_id}")
                        for r in report.recent],
    )


OPERATIONS += [
    ("get", "/api/v1/live-report",
     "The live-chat desk's report: per event, team or person (?group=event|team|person), for ?from=&to= (YYYY-MM-DD, inclusive, in ?tz= "
     "or your account's zone; the last 7 days by default) and ?event_id=: chats, answered, not answered, missed; median and 90th percentile "
     "(linear interpolation) of wait, first response and handling in seconds; ratings; the latest ratings with comments. Admins see every "
     "chat, organizers their events', job req managers their job reqs', everyone their own (and their teams' rows)",
     None, LiveReportOut, 200, False),
]
