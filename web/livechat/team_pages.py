"""Teams & routing (/live/teams): an event's organizers group its staff into teams, say which new chats go to a team
or a person (routing rules: the first match with someone online wins) and set the desk's settings; recruiters see the
teams they are in.

Plain forms (CSRF) over scheduling.livechat.routing, like the other staff pages. A refused form shows the page again
with what was typed and the field named in words; a form about something the caller may not see is a 404, one an
event's recruiter may see but not change a 403.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

import web.convertors  # noqa: F401 -- registers the {x:id} path convertor
from scheduling import actions, queries
from scheduling.errors import DomainError, Forbidden, Invalid, NotFound
from scheduling.livechat import jobs, routing
from scheduling.livechat.desk_models import RoutingRule, Team
from scheduling.livechat.models import JobReq, KnockoutQuestion
from scheduling.models import Company, Event, Role, User
from web.convertors import parse_id
from web.http import context, res, session_user, status_for
from web.pages import error_page, flash, page, render

TEMPLATE = "livechat/staff_teams.html"
KIND_LABELS = {"": "Any chat", "job": "Job chats (from a job posting)", "booth": "Booth chats (a company's booth)",
               "support": "Support chats (the event's Help)"}
KIND_WORDS = {"": "Chats", "job": "Job chats", "booth": "Booth chats", "support": "Support chats"}
RATING_LABELS = {"stars": "Stars (1 to 5)", "smileys": "Smileys (3 faces: unhappy, neutral, happy)"}
# Error codes of the routing actions -> the field they concern, so the message names it in words.
FIELD_OF_CODE = {"team_exists": "Team name", "invalid_members": "Members", "invalid_rating_style": "Ratings",
                 "invalid_accept_seconds": "Seconds to accept a chat", "invalid_remind_seconds": "Still-with-you reminder",
                 "invalid_resolve_minutes": "Resolve automatically after"}


# --------------------------------------------------------------------------- what the page shows


@dataclass
class Desk:
    """The organizer's part of the page for one event."""

    event: Event
    teams: list[tuple[Team, list[User]]]
    online: dict[int, int]  # team id -> members online now
    staff: list[tuple[User, str]]  # the people a team may hold, with "Organizer" or "Recruiter · Company"
    rules: list[tuple[RoutingRule, str]]  # in order, with the rule in words
    jobs: list[JobReq]  # open job reqs, for a rule to name
    companies: list[Company]
    answers: list[tuple[str, list[tuple[str, str]]]]  # per job req: ("question id:answer", "“Question”: answer")
    targets: list[tuple[str, list[tuple[str, str]]]]  # Teams / People: ("team:7" | "user:12", name)
    settings: routing.DeskSettings


@dataclass
class MyTeam:
    team: Team
    event_name: str
    members: list[User] = field(default_factory=list)


def _choices(question: KnockoutQuestion) -> list[str]:
    """The answers a rule may name: the ones that let the chat through (a disqualified chat never reaches a queue)."""
    choices: list[str] = orjson.loads(question.choices) if question.kind == "choice" else ["Yes", "No"]
    qualifying = set(orjson.loads(question.qualifying or "[]"))
    return [c for c in choices if c in qualifying] or choices


async def _summaries(session: AsyncSession, rules: list[RoutingRule], teams: dict[int, str], job_titles: dict[int, str],
                     companies: dict[int, str]) -> list[tuple[RoutingRule, str]]:
    """Each rule in words: "Job chats about Product Designer go to the Design team" (the API's rule_summary, in one pass)."""
    qids = {r.question_id for r in rules if r.question_id}
    uids = {r.user_id for r in rules if r.user_id}
    questions = {q.id: q.text for q in (await session.execute(select(KnockoutQuestion).where(KnockoutQuestion.id.in_(qids)))).scalars()} \
        if qids else {}
    people = {u.id: u.name for u in (await session.execute(select(User).where(User.id.in_(uids)))).scalars()} if uids else {}
    out = []
    for rule in rules:
        parts = [KIND_WORDS.get(rule.kind, "Chats")]
        if rule.job_req_id:
            parts.append(f"about {job_titles.get(rule.job_req_id, 'a job req')}")
        if rule.company_id:
            parts.append(f"for {companies.get(rule.company_id, 'a company')}")
        if rule.question_id:
            parts.append(f"answering “{questions.get(rule.question_id, '?')}” with {rule.answer}")
        target = f"the {teams[rule.team_id]} team" if rule.team_id in teams else people.get(rule.user_id or 0, "a person")
        out.append((rule, f"{' '.join(parts)} go to {target}"))
    return out


async def _desk(session: AsyncSession, user: User, event: Event, now: dt.datetime) -> Desk:
    await actions.require_organizer(session, event, user)
    teams = await routing.teams(session, user, event.id)
    online = {t.id: len(await routing.online_ids(session, [u.id for u in members], now)) for t, members in teams}
    staff = []
    for p, u, company in await queries.people(session, event.id):
        if p.role == Role.ORGANIZER.value:
            staff.append((u, "Organizer"))
        elif p.role == Role.RECRUITER.value:
            staff.append((u, f"Recruiter · {company.name}" if company else "Recruiter"))
    staff.sort(key=lambda s: (s[0].name.casefold(), s[0].id))
    all_jobs = list((await session.execute(select(JobReq).where(JobReq.event_id == event.id).order_by(JobReq.title, JobReq.id))).scalars())
    open_jobs = [j for j in all_jobs if not j.archived]
    companies = await queries.companies(session, event.id)
    answers = []
    for job in open_jobs:
        options = [(f"{q.id}:{a}", f"“{q.text}”: {a}") for q in await jobs.questions(session, job.id) for a in _choices(q)]
        if options:
            answers.append((job.title, options))
    team_names = {t.id: t.name for t, _ in teams}
    targets = [("Teams", [(f"team:{t.id}", f"The {t.name} team") for t, _ in teams]),
               ("People", [(f"user:{u.id}", f"{u.name} ({what})") for u, what in staff])]
    rules = await _summaries(session, await routing.rules(session, user, event.id), team_names, {j.id: j.title for j in all_jobs},
                             {c.id: c.name for c in companies})
    return Desk(event=event, teams=teams, online=online, staff=staff, rules=rules, jobs=open_jobs, companies=companies, answers=answers,
                targets=[(label, items) for label, items in targets if items], settings=routing.settings_of(event))


async def _my_teams(session: AsyncSession, user: User, skip_events: set[int]) -> list[MyTeam]:
    """The teams the person is in, at events they don't organize (there the editable list shows them)."""
    ids = await routing.team_ids_of(session, user.id)
    if not ids:
        return []
    rows = await session.execute(select(Team, Event.name).join(Event, Event.id == Team.event_id).where(Team.id.in_(ids))
                                 .order_by(Event.starts_at, Team.name))
    out = []
    for team, event_name in rows:
        if team.event_id in skip_events:
            continue
        member_ids = await routing.team_member_ids(session, team.id)
        members = list((await session.execute(select(User).where(User.id.in_(member_ids)).order_by(User.name))).scalars())
        out.append(MyTeam(team, event_name, members))
    return out


def _default_event(events: list[Event], now: dt.datetime) -> Event:
    """The first event that hasn't ended (they are in start order), else the latest."""
    return next((e for e in events if e.ends_at > now), events[-1])


async def _view(session: AsyncSession, user: User, event_id: int | None, now: dt.datetime) -> dict[str, Any]:
    pairs = await queries.my_events(session, user)
    organized = [e for e, role in pairs if user.is_admin or role == Role.ORGANIZER.value]
    recruiting = [e for e, role in pairs if not user.is_admin and role == Role.RECRUITER.value]
    if not organized and not recruiting:
        raise NotFound("No such page: teams and routing are for an event's organizers and recruiters.", code="not_staff")
    event: Event | None = None
    if event_id is not None:
        event = next((e for e in organized if e.id == event_id), None)
        if event is None and not any(e.id == event_id for e in recruiting):
            raise NotFound("No such event.", code="event_not_found")
    if event is None and organized:
        event = _default_event(organized, now)
    desk = await _desk(session, user, event, now) if event is not None else None
    return {"organized": organized, "recruiting": recruiting, "desk": desk, "my_teams": await _my_teams(session, user, {e.id for e in organized}),
            "kind_labels": KIND_LABELS, "rating_labels": RATING_LABELS, "typed": {}, "errors": {}}


@page
async def teams_page(request: Request, session: AsyncSession, user: User) -> Response:
    raw = request.query_params.get("event", "").strip()
    event_id = parse_id(raw) if raw else None
    if raw and event_id is None:
        raise NotFound("No such event.", code="event_not_found")
    return render(request, TEMPLATE, user, **await _view(session, user, event_id, res(request).clock()))


# --------------------------------------------------------------------------- form posts


@dataclass
class Target:
    """What a post concerns, filled in as the action learns it: the event (to show the page again) and the form."""

    event_id: int | None
    form: str


Action = Callable[[AsyncSession, User, FormData, actions.Context, Target], Awaitable[str]]


def _worded(err: DomainError) -> str:
    place = FIELD_OF_CODE.get(err.code)
    message = err.message
    if place is None or ": " in message[:45]:
        return message
    return f"{place}: {message[:1].lower()}{message[1:]}"


def _typed(form: FormData) -> dict[str, Any]:
    return {"name": str(form.get("name", "")), "members": {str(v) for v in form.getlist("member")}, "kind": str(form.get("kind", "")),
            "job": str(form.get("job", "")), "company": str(form.get("company", "")), "prechat": str(form.get("prechat", "")),
            "target": str(form.get("target", "")), "rating_style": str(form.get("rating_style", "")),
            "emoji_staff": bool(form.get("emoji_staff")), "emoji_candidate": bool(form.get("emoji_candidate")),
            **{k: str(form.get(k, "")) for k in ("accept_seconds", "remind_seconds", "resolve_minutes")}}


async def _refused(request: Request, form: FormData) -> Response | None:
    if not secrets.compare_digest(str(form.get("csrf", "")), request.session.get("csrf", "") or "x"):
        return await error_page(request, 403, "Your form expired or came from another site. Go back, reload the page and try again.")
    if any("\x00" in str(value) for value in form.values()):
        return await error_page(request, 400, "The form holds characters that can't be stored. Remove them and try again.")
    return None


async def _post(request: Request, target: Target, act: Action) -> Response:
    """CSRF, one transaction, one action, then back to the page with a message; a refusal shows the page again as typed."""
    form = await request.form()
    refused = await _refused(request, form)
    if refused is not None:
        return refused
    ctx = context(request)
    async with res(request).sessionmaker() as session:
        async with session.begin():
            user = await session_user(request, session)
        if user is None:
            return RedirectResponse("/login", status_code=303)
        try:
            async with session.begin():
                message = await act(session, user, form, ctx, target)
        except DomainError as err:
            if isinstance(err, NotFound | Forbidden) or target.event_id is None:
                return await error_page(request, status_for(err), err.message)
            async with session.begin():
                await session.refresh(user)  # the rollback expired it; the page reads its name
                try:
                    view = await _view(session, user, target.event_id, ctx.now)
                except DomainError as err2:
                    return await error_page(request, status_for(err2), err2.message, session=session)
                view.update(typed={target.form: _typed(form)}, errors={target.form: _worded(err)})
                return render(request, TEMPLATE, user, status=status_for(err), **view)
    flash(request, message)
    anchor = "teams" if target.form.startswith(("team", "new_team")) else target.form
    return RedirectResponse(f"/live/teams?event={target.event_id}#{anchor}", status_code=303)


def _path_int(request: Request, name: str) -> int:
    value = request.path_params[name]
    assert isinstance(value, int)
    return value


def _member_ids(form: FormData) -> list[int]:
    ids = [parse_id(str(v)) for v in form.getlist("member")]
    if any(i is None for i in ids):
        raise Invalid("Members: tick people from the list.", code="invalid_members")
    return [i for i in ids if i is not None]


async def _team(session: AsyncSession, team_id: int, target: Target) -> Team:
    team = await session.get(Team, team_id)
    if team is None:
        raise NotFound("No such team.", code="team_not_found")
    target.event_id = team.event_id
    return team


async def _organizer(session: AsyncSession, user: User, event_id: int | None) -> Event:
    """The event, once the caller is one of its organizers (404 for strangers, 403 for its other people): checked before the form."""
    assert event_id is not None
    event = await actions.get_event(session, event_id)
    await actions.require_organizer(session, event, user)
    return event


async def create_team(request: Request) -> Response:
    async def act(session: AsyncSession, user: User, form: FormData, ctx: actions.Context, target: Target) -> str:
        await _organizer(session, user, target.event_id)
        team = await routing.save_team(session, ctx, user, target.event_id, str(form.get("name", "")), _member_ids(form))
        return f"The {team.name} team is created. Route chats to it with a rule below."

    return await _post(request, Target(_path_int(request, "event_id"), "new_team"), act)


async def save_team(request: Request) -> Response:
    team_id = _path_int(request, "team_id")

    async def act(session: AsyncSession, user: User, form: FormData, ctx: actions.Context, target: Target) -> str:
        await _organizer(session, user, (await _team(session, team_id, target)).event_id)
        team = await routing.save_team(session, ctx, user, None, str(form.get("name", "")), _member_ids(form), team_id=team_id)
        return f"The {team.name} team is saved."

    return await _post(request, Target(None, f"team-{team_id}"), act)


async def delete_team(request: Request) -> Response:
    team_id = _path_int(request, "team_id")

    async def act(session: AsyncSession, user: User, form: FormData, ctx: actions.Context, target: Target) -> str:
        team = await _team(session, team_id, target)
        name = team.name
        await _organizer(session, user, team.event_id)
        if form.get("confirm") != "yes":
            raise Invalid(f"Delete: tick “Yes, delete the {name} team” to confirm.", code="not_confirmed")
        await routing.delete_team(session, user, team_id)
        return f"The {name} team is deleted, with its routing rules."

    return await _post(request, Target(None, f"team-{team_id}"), act)


def _pick(form: FormData, name: str, label: str, allowed: set[int]) -> int | None:
    """An optional id from a select: empty is "any"; anything not offered names the field."""
    raw = str(form.get(name, "")).strip()
    if not raw:
        return None
    value = parse_id(raw)
    if value is None or value not in allowed:
        raise Invalid(f"{label}: pick one from the list.", code="invalid_rule")
    return value


async def add_rule(request: Request) -> Response:
    async def act(session: AsyncSession, user: User, form: FormData, ctx: actions.Context, target: Target) -> str:
        event = await _organizer(session, user, target.event_id)
        desk = await _desk(session, user, event, ctx.now)
        kind = str(form.get("kind", ""))
        if kind not in KIND_LABELS:
            raise Invalid("Which chats: pick one from the list.", code="invalid_rule")
        rule = routing.RuleIn(kind=kind, job_req_id=_pick(form, "job", "Job req", {j.id for j in desk.jobs}),
                              company_id=_pick(form, "company", "Company", {c.id for c in desk.companies}))
        prechat = str(form.get("prechat", "")).strip()
        if prechat:
            offered = {value for _, options in desk.answers for value, _ in options}
            qid, _, answer = prechat.partition(":")
            if prechat not in offered:
                raise Invalid("Pre-chat answer: pick one from the list.", code="invalid_rule")
            rule.question_id, rule.answer = int(qid), answer
        what, _, raw_id = str(form.get("target", "")).partition(":")
        target_id = parse_id(raw_id)
        if what not in ("team", "user") or target_id is None:
            raise Invalid("Send to: pick a team or a person.", code="invalid_rule")
        if what == "team":
            rule.team_id = target_id
        else:
            rule.user_id = target_id
        await routing.add_rule(session, ctx, user, event.id, rule)
        return "Rule added at the end of the list."

    return await _post(request, Target(_path_int(request, "event_id"), "rules"), act)


async def delete_rule(request: Request) -> Response:
    rule_id = _path_int(request, "rule_id")

    async def act(session: AsyncSession, user: User, form: FormData, ctx: actions.Context, target: Target) -> str:
        rule = await session.get(RoutingRule, rule_id)
        if rule is None:
            raise NotFound("No such rule.", code="rule_not_found")
        target.event_id = rule.event_id
        await routing.delete_rule(session, user, rule_id)
        return "Rule removed."

    return await _post(request, Target(None, "rules"), act)


def _whole(form: FormData, name: str, label: str, example: str) -> int:
    raw = str(form.get(name, "")).strip()
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 6):
        raise Invalid(f"{label}: give a whole number, like {example}.", code=f"invalid_{name}")
    return int(raw)


async def save_settings(request: Request) -> Response:
    async def act(session: AsyncSession, user: User, form: FormData, ctx: actions.Context, target: Target) -> str:
        event = await _organizer(session, user, target.event_id)
        style = str(form.get("rating_style", ""))
        if style not in RATING_LABELS:
            raise Invalid("Ratings: choose stars or smileys.", code="invalid_rating_style")
        await routing.set_desk_settings(
            session, user, event.id, rating_style=style, emoji_staff=bool(form.get("emoji_staff")),
            emoji_candidate=bool(form.get("emoji_candidate")),
            accept_seconds=_whole(form, "accept_seconds", "Seconds to accept a chat", "0 or 30"),
            remind_seconds=_whole(form, "remind_seconds", "Still-with-you reminder", "90"),
            resolve_minutes=_whole(form, "resolve_minutes", "Resolve automatically after", "15"))
        return "Desk settings saved."

    return await _post(request, Target(_path_int(request, "event_id"), "settings"), act)


routes: list[BaseRoute] = [
    Route("/live/teams", teams_page, methods=["GET"]),
    Route("/live/teams/events/{event_id:id}/teams", create_team, methods=["POST"]),
    Route("/live/teams/events/{event_id:id}/rules", add_rule, methods=["POST"]),
    Route("/live/teams/events/{event_id:id}/settings", save_settings, methods=["POST"]),
    Route("/live/teams/rules/{rule_id:id}/delete", delete_rule, methods=["POST"]),
    Route("/live/teams/{team_id:id}", save_team, methods=["POST"]),
    Route("/live/teams/{team_id:id}/delete", delete_team, methods=["POST"]),
]
