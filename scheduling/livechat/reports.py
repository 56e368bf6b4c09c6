"""The live-chat desk's report: how long candidates waited, how fast staff answered, how long chats took, how they were
rated; per event, per team and per person, for a range of days in the viewer's zone.

Definitions (one chat's times, see scheduling.livechat.models.LiveChat):

- wait = taken_at - queued_at (until a staff member took the chat; a forward keeps the first taken_at)
- first response = first_reply_at - queued_at (until the first staff line: what the candidate felt)
- handling = ended_at - taken_at

A chat is *answered* when it was queued and taken (both times known). Every other chat (still waiting, a note left
while nobody was online, a chat that ended before anyone took it) is *not answered* and stays out of the time
statistics; *missed* are those of them that ended (by the candidate, or resolved automatically) without being taken.
Chats a knockout answer rejected never reached the desk and are not counted at all. Chats belong to a range by the
time they started (created_at).

Who sees what (never other people's numbers to a recruiter):

- admins: every chat;
- an event's organizers: the event's chats (and chats of job reqs of the event);
- a job req's managers (scheduling.livechat.jobs.may_manage: its creator, its event's organizers): that job req's chats;
- everybody: their own chats (the chats they own at the end), alone on their person row;
- team members: their teams' rows (the team's chats, whoever had them).

Rows per person and per event are built from the chats the viewer supervises plus their own; rows per team from the
chats they supervise plus their teams' chats. The recent ratings list (with candidate names and comments) only holds
chats the viewer may open (supervised or their own), the same ones /live/history/{id} shows them.

The statistics are computed here in Python from one select of a few columns: percentiles are not portable SQL
(SQLite has none), and a range is at most MAX_DAYS days.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from scheduling import timefmt
from scheduling.errors import Forbidden, Invalid, NotFound
from scheduling.livechat import jobs, routing
from scheduling.livechat.desk import RATING_SCALES
from scheduling.livechat.desk_models import Team, TeamMember
from scheduling.livechat.models import JobReq, JobReqAssignee, LiveChat, LiveStatus
from scheduling.models import Event, Participant, Role, User

GROUPS = {"event": "Event", "team": "Team", "person": "Person"}
MAX_DAYS = 366
DEFAULT_DAYS = 7
RECENT_RATINGS = 20
SMILEYS = {1: "Unhappy", 2: "Neutral", 3: "Happy"}


# --------------------------------------------------------------------------- pure statistics


def percentile(values: Iterable[float], p: float) -> float | None:
    """The p-th quantile (0 <= p <= 1) by linear interpolation between the closest ranks.

    This is the "R-7" method (numpy's default, Excel's PERCENTILE.INC): sort the n values, take the fractional rank
    h = (n - 1) * p, and interpolate between the values at floor(h) and floor(h) + 1. So the median of [10, 20] is 15
    and its 90th percentile 19; one value is every quantile of itself; no values have none (None).
    """
    if not 0 <= p <= 1:
        raise ValueError("p lies between 0 and 1")
    ordered = sorted(values)
    if not ordered:
        return None
    h = (len(ordered) - 1) * p
    low = math.floor(h)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (h - low) * (ordered[high] - ordered[low])


def median(values: Iterable[float]) -> float | None:
    """The 50th percentile by the same interpolation: the middle value, or the mean of the two middle ones."""
    return percentile(values, 0.5)


def p90(values: Iterable[float]) -> float | None:
    return percentile(values, 0.9)


def duration_text(seconds: float | None) -> str:
    """A duration for people: "42 s", "1 m 42 s", "2 h 5 m", "3 d 4 h" (rounded to the second; None is "—")."""
    if seconds is None:
        return "—"
    total = int(math.floor(max(0.0, seconds) + 0.5))
    days, rest = divmod(total, 86_400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} m" if minutes else f"{hours} h"
    if minutes:
        return f"{minutes} m {secs} s" if secs else f"{minutes} m"
    return f"{secs} s"


def seconds_cell(seconds: float | None) -> str:
    """Seconds for a CSV cell: whole numbers as such, others with one decimal; nothing when there is no value."""
    if seconds is None:
        return ""
    value = round(seconds, 1)
    return str(int(value)) if value == int(value) else f"{value:.1f}"


@dataclass(frozen=True)
class Sample:
    """What the report needs of one chat."""

    chat_id: int
    event_id: int | None
    team_id: int | None
    recruiter_id: int | None
    status: str
    queued_at: dt.datetime | None
    taken_at: dt.datetime | None
    first_reply_at: dt.datetime | None
    ended_at: dt.datetime | None
    rating: int | None = None
    style: str = "stars"  # the rating style of the chat's event (routing.settings_of(event).rating_style)
    rated_at: dt.datetime | None = None

    @property
    def answered(self) -> bool:
        return self.queued_at is not None and self.taken_at is not None

    @property
    def missed(self) -> bool:
        return self.status == LiveStatus.ENDED.value and self.taken_at is None


def _span(start: dt.datetime | None, end: dt.datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return max(0.0, (end - start).total_seconds())


@dataclass(frozen=True)
class TimeStat:
    count: int
    median: float | None
    p90: float | None

    @classmethod
    def of(cls, values: Sequence[float]) -> TimeStat:
        return cls(len(values), median(values), p90(values))


@dataclass(frozen=True)
class RatingStat:
    style: str  # stars | smileys
    scale: int
    average: float
    count: int


@dataclass
class Row:
    key: int | None
    label: str
    chats: int = 0
    answered: int = 0
    not_answered: int = 0
    missed: int = 0
    wait: TimeStat = field(default_factory=lambda: TimeStat(0, None, None))
    first_response: TimeStat = field(default_factory=lambda: TimeStat(0, None, None))
    handling: TimeStat = field(default_factory=lambda: TimeStat(0, None, None))
    ratings: list[RatingStat] = field(default_factory=list)


def summarize(key: int | None, label: str, samples: Sequence[Sample]) -> Row:
    """One row of the report from its chats (see the module's definitions)."""
    answered = [s for s in samples if s.answered]
    waits = [v for s in answered if (v := _span(s.queued_at, s.taken_at)) is not None]
    firsts = [v for s in answered if (v := _span(s.queued_at, s.first_reply_at)) is not None]
    handles = [v for s in answered if (v := _span(s.taken_at, s.ended_at)) is not None]
    by_style: dict[str, list[int]] = {}
    for s in samples:
        if s.rating is not None:
            by_style.setdefault(s.style if s.style in RATING_SCALES else "stars", []).append(s.rating)
    ratings = [RatingStat(style, RATING_SCALES[style], round(sum(v) / len(v), 2), len(v)) for style, v in sorted(by_style.items())]
    return Row(key=key, label=label, chats=len(samples), answered=len(answered), not_answered=len(samples) - len(answered),
               missed=sum(1 for s in samples if s.missed), wait=TimeStat.of(waits), first_response=TimeStat.of(firsts),
               handling=TimeStat.of(handles), ratings=ratings)


def group_rows(samples: Sequence[Sample], key: Callable[[Sample], int | None], label: Callable[[int | None], str]) -> list[Row]:
    """One row per key, sorted by label (the row without a key last)."""
    groups: dict[int | None, list[Sample]] = {}
    for s in samples:
        groups.setdefault(key(s), []).append(s)
    rows = [summarize(k, label(k), v) for k, v in groups.items()]
    rows.sort(key=lambda r: (r.key is None, r.label.casefold(), r.key or 0))
    return rows


# --------------------------------------------------------------------------- filters


@dataclass(frozen=True)
class Filters:
    day_from: dt.date
    day_to: dt.date  # inclusive
    tz: str
    group: str = "event"
    event_id: int | None = None

    @property
    def starts_at(self) -> dt.datetime:
        return timefmt.local_to_instant(self.day_from, dt.time(0, 0), self.tz)

    @property
    def ends_at(self) -> dt.datetime:
        """The start of the day after the last one (chats up to then count)."""
        return timefmt.local_to_instant(self.day_to + dt.timedelta(days=1), dt.time(0, 0), self.tz)

    def query(self) -> dict[str, str]:
        """As URL query parameters (the CSV link repeats the page's filters)."""
        out = {"from": self.day_from.isoformat(), "to": self.day_to.isoformat(), "group": self.group}
        if self.event_id is not None:
            out["event"] = str(self.event_id)
        return out


def _day(raw: str, label: str) -> dt.date:
    raw = raw.strip()
    try:
        if len(raw) != 10:
            raise ValueError(raw)
        day = dt.date.fromisoformat(raw)
    except ValueError:
        raise Invalid(f"{label}: give a date like 2026-03-14.", code="invalid_date") from None
    if not 2000 <= day.year <= 2099:
        raise Invalid(f"{label}: give a date between the years 2000 and 2099.", code="invalid_date")
    return day


def parse_filters(*, day_from: str | None, day_to: str | None, group: str | None, event: str | None, tz: str, today: dt.date) -> Filters:
    """The report's filters from text (a query string); what is wrong is said naming the field. Without dates: the last
    DEFAULT_DAYS days up to `today` (in the viewer's zone)."""
    if not timefmt.is_valid_zone(tz):
        raise Invalid("Time zone: give a zone name like Europe/Berlin.", code="invalid_timezone")
    end = _day(day_to, "To") if day_to and day_to.strip() else today
    start = _day(day_from, "From") if day_from and day_from.strip() else end - dt.timedelta(days=DEFAULT_DAYS - 1)
    if end < start:
        raise Invalid(f"The range ends ({end.isoformat()}) before it starts ({start.isoformat()}): To must be on or after From.",
                      code="invalid_range")
    if (end - start).days + 1 > MAX_DAYS:
        raise Invalid(f"A report covers at most {MAX_DAYS} days; shorten the range.", code="invalid_range")
    chosen = (group or "event").strip() or "event"
    if chosen not in GROUPS:
        raise Invalid("Group by: event, team or person.", code="invalid_group")
    event_id: int | None = None
    if event and event.strip():
        raw = event.strip()
        if not (raw.isascii() and raw.isdigit() and len(raw) <= 9):
            raise Invalid("Event: pick one of your events from the list, or all.", code="invalid_event")
        event_id = int(raw)
    return Filters(start, end, tz, chosen, event_id)


# --------------------------------------------------------------------------- who sees what


@dataclass(frozen=True)
class Scope:
    user_id: int
    admin: bool
    organized: frozenset[int]  # events the viewer organizes
    managed_jobs: frozenset[int]  # job reqs the viewer manages (created, or of an event they organize)
    teams: frozenset[int]  # teams the viewer belongs to
    own_jobs: bool = False  # manages job reqs outside the events they organize (for the words only)

    def supervises(self, s: Sample, job_req_id: int | None) -> bool:
        return self.admin or (s.event_id in self.organized) or (job_req_id in self.managed_jobs)


async def scope_of(session: AsyncSession, user: User) -> Scope:
    """What the viewer may see in the report; people who work no desk (talents) may not use it at all."""
    organized = frozenset((await session.execute(select(Participant.event_id).where(
        Participant.user_id == user.id, Participant.role == Role.ORGANIZER.value))).scalars())
    managed: frozenset[int] = frozenset()
    own_jobs = False
    if not user.is_admin:
        conds: list[ColumnElement[bool]] = [JobReq.created_by_id == user.id]
        if organized:
            conds.append(JobReq.event_id.in_(sorted(organized)))
        rows = (await session.execute(select(JobReq.id, JobReq.event_id).where(or_(*conds)))).all()
        managed = frozenset(i for i, _ in rows)
        own_jobs = any(e not in organized for _, e in rows)
    teams = frozenset(await routing.team_ids_of(session, user.id))
    if not (user.is_admin or managed or teams or await jobs.is_staff(session, user)):
        raise Forbidden("The live-chat report is for recruiters, organizers and admins.", code="not_staff")
    return Scope(user.id, user.is_admin, organized, managed, teams, own_jobs)


async def event_choices(session: AsyncSession, user: User, scope: Scope) -> list[Event]:
    """Events the viewer may filter by: all (admins), else where they work, manage job reqs or are in a team."""
    stmt = select(Event).order_by(Event.starts_at.desc(), Event.id.desc()).limit(200)
    if not scope.admin:
        staff = select(Participant.event_id).where(Participant.user_id == user.id,
                                                   Participant.role.in_((Role.ORGANIZER.value, Role.RECRUITER.value)))
        of_jobs = select(JobReq.event_id).where(or_(JobReq.id.in_(sorted(scope.managed_jobs)) if scope.managed_jobs else false(),
                                                    JobReq.id.in_(select(JobReqAssignee.job_req_id).where(JobReqAssignee.user_id == user.id))))
        of_teams = select(Team.event_id).join(TeamMember, TeamMember.team_id == Team.id).where(TeamMember.user_id == user.id)
        stmt = stmt.where(or_(Event.id.in_(staff), Event.id.in_(of_jobs), Event.id.in_(of_teams)))
    return list((await session.execute(stmt)).scalars())


def scope_text(scope: Scope, events: dict[int, str]) -> str:
    if scope.admin:
        return "All chats (you are an admin)."
    parts = []
    if scope.organized:
        names = sorted(events.get(e, f"event {e}") for e in scope.organized)
        parts.append("every chat of " + ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "") + " (you organize it)")
    if scope.own_jobs:
        parts.append("the chats of job reqs you manage")
    parts.append("your own chats")
    if scope.teams:
        parts.append("your teams' chats (on team rows)")
    return "This report covers " + (", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else parts[0]) + "."


# --------------------------------------------------------------------------- the report


@dataclass(frozen=True)
class RecentRating:
    chat_id: int
    candidate: str
    rating: int
    style: str
    scale: int
    comment: str
    rated_at: dt.datetime
    recruiter: str
    recruiter_id: int | None = None

    @property
    def words(self) -> str:
        if self.style == "smileys":
            return f"{SMILEYS.get(self.rating, str(self.rating))} ({self.rating} of {self.scale})"
        return f"{self.rating} of {self.scale} stars"


@dataclass
class Report:
    filters: Filters
    rows: list[Row]
    total: Row
    recent: list[RecentRating]
    scope: str
    events: list[Event]


async def build(session: AsyncSession, user: User, filters: Filters) -> Report:
    """The report for `filters` as `user` may see it; an event they don't work at is not-found, like an unknown one."""
    scope = await scope_of(session, user)
    choices = await event_choices(session, user, scope)
    names = {e.id: e.name for e in choices}
    if filters.event_id is not None and filters.event_id not in names:
        if not scope.admin or await session.get(Event, filters.event_id) is None:
            raise NotFound("No such event (or it isn't one of yours).", code="event_not_found")
    samples, jobs_of = await _samples(session, scope, filters)
    sup = {s.chat_id for s in samples if scope.supervises(s, jobs_of.get(s.chat_id))}
    own_or_sup = [s for s in samples if s.chat_id in sup or s.recruiter_id == scope.user_id]
    team_or_sup = [s for s in samples if s.chat_id in sup or (s.team_id is not None and s.team_id in scope.teams)]
    if filters.group == "person":
        used = own_or_sup
        people = await _names(session, User, {s.recruiter_id for s in used})
        rows = group_rows(used, lambda s: s.recruiter_id, lambda k: people.get(k, "Unknown") if k is not None else "Not taken by anyone")
    elif filters.group == "team":
        used = team_or_sup
        teams = await _names(session, Team, {s.team_id for s in used})
        rows = group_rows(used, lambda s: s.team_id, lambda k: teams.get(k, "Unknown team") if k is not None else "No team")
    else:
        used = own_or_sup
        missing = {s.event_id for s in used if s.event_id is not None and s.event_id not in names}
        names.update(await _names(session, Event, missing))
        rows = group_rows(used, lambda s: s.event_id, lambda k: names.get(k, "Unknown event") if k is not None else "Without an event")
    total = summarize(None, "All", used)
    recent = await _recent(session, [s for s in own_or_sup if s.rating is not None])
    return Report(filters, rows, total, recent, scope_text(scope, names), choices)


async def _samples(session: AsyncSession, scope: Scope, filters: Filters) -> tuple[list[Sample], dict[int, int | None]]:
    stmt = (select(LiveChat.id, LiveChat.event_id, LiveChat.team_id, LiveChat.recruiter_id, LiveChat.status, LiveChat.queued_at, LiveChat.taken_at,
                   LiveChat.first_reply_at, LiveChat.ended_at, LiveChat.rating, Event.live_rating_style, LiveChat.rated_at, LiveChat.job_req_id)
            .outerjoin(Event, Event.id == LiveChat.event_id)
            .where(LiveChat.created_at >= filters.starts_at, LiveChat.created_at < filters.ends_at, LiveChat.status != LiveStatus.REJECTED.value))
    if filters.event_id is not None:
        stmt = stmt.where(LiveChat.event_id == filters.event_id)
    if not scope.admin:
        reach: list[ColumnElement[bool]] = [LiveChat.recruiter_id == scope.user_id]
        if scope.organized:
            reach.append(LiveChat.event_id.in_(sorted(scope.organized)))
        if scope.managed_jobs:
            reach.append(LiveChat.job_req_id.in_(sorted(scope.managed_jobs)))
        if scope.teams:
            reach.append(LiveChat.team_id.in_(sorted(scope.teams)))
        stmt = stmt.where(or_(*reach))
    samples, jobs_of = [], {}
    for cid, ev, team, rec, status, queued, taken, first, ended, rating, style, rated, job in await session.execute(stmt):
        samples.append(Sample(cid, ev, team, rec, status, queued, taken, first, ended, rating, style or "stars", rated))
        jobs_of[cid] = job
    return samples, jobs_of


async def _names(session: AsyncSession, model: Any, ids: Iterable[int | None]) -> dict[int, str]:
    wanted = sorted(i for i in ids if i is not None)
    if not wanted:
        return {}
    rows = await session.execute(select(model.id, model.name).where(model.id.in_(wanted)))
    return {i: n for i, n in rows}


async def _recent(session: AsyncSession, rated: list[Sample]) -> list[RecentRating]:
    epoch = dt.datetime.min.replace(tzinfo=dt.UTC)
    latest = sorted(rated, key=lambda s: (s.rated_at or epoch, s.chat_id), reverse=True)[:RECENT_RATINGS]
    if not latest:
        return []
    styles = {s.chat_id: s.style if s.style in RATING_SCALES else "stars" for s in latest}
    rows = {c.id: c for c in (await session.execute(select(LiveChat).where(LiveChat.id.in_(list(styles))))).scalars()}
    people = await _names(session, User, {c.recruiter_id for c in rows.values()})
    out = []
    for s in latest:
        chat = rows.get(s.chat_id)
        if chat is None or chat.rating is None:
            continue
        style = styles[s.chat_id]
        out.append(RecentRating(chat.id, chat.candidate_name, chat.rating, style, RATING_SCALES[style], chat.rating_comment,
                                chat.rated_at or chat.updated_at, people.get(chat.recruiter_id or 0, ""), chat.recruiter_id))
    return out


CSV_HEADER = ("Group", "Name", "Chats", "Answered", "Not answered", "Missed", "Wait median (s)", "Wait 90th percentile (s)",
              "First response median (s)", "First response 90th percentile (s)", "Handling median (s)", "Handling 90th percentile (s)",
              "Stars average (of 5)", "Star ratings", "Smileys average (of 3)", "Smiley ratings")


def csv_rows(report: Report) -> list[list[object]]:
    """The table as CSV rows (seconds as numbers), the total last; pass them to scheduling.livechat.export.to_csv."""
    label = GROUPS[report.filters.group]
    out: list[list[object]] = []
    for row in [*report.rows, report.total]:
        stars = next((r for r in row.ratings if r.style == "stars"), None)
        smileys = next((r for r in row.ratings if r.style == "smileys"), None)
        out.append([label if row is not report.total else "Total", row.label, row.chats, row.answered, row.not_answered, row.missed,
                    seconds_cell(row.wait.median), seconds_cell(row.wait.p90), seconds_cell(row.first_response.median),
                    seconds_cell(row.first_response.p90), seconds_cell(row.handling.median), seconds_cell(row.handling.p90),
                    stars.average if stars else "", stars.count if stars else 0, smileys.average if smileys else "",
                    smileys.count if smileys else 0])
    return out
