"""Where a new live chat goes: teams, routing rules, and the desk settings of an event.

A team is a queue of its own ("team:7"), and so is a person a rule names ("user:12"): a routed chat waits, is
numbered, estimated and taken exactly like any other. A rule applies only when someone of its target is online;
otherwise the next rule (and at last the chat's own queue) is tried, so routing never strands a candidate.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from scheduling import actions
from scheduling.errors import Conflict, Invalid, NotFound
from scheduling.livechat.desk_models import RoutingRule, Team, TeamMember
from scheduling.livechat.models import Agent, JobReq, KnockoutQuestion, LiveChat
from scheduling.models import Company, Event, Participant, Role, User

ONLINE_WINDOW = dt.timedelta(seconds=75)  # a console beats every 25 s: three missed beats and the seat is offline
RULE_KINDS = ("", "job", "booth", "support")
RATING_STYLES = ("stars", "smileys")
DEFAULT_FORWARD_SECONDS = 60  # how long a forwarded chat or an invitation waits for its answer when the event gives chats directly
MAX_TEAMS = 50
MAX_RULES = 100


# --------------------------------------------------------------------------- desk settings


@dataclass(frozen=True)
class DeskSettings:
    rating_style: str = "stars"
    emoji_staff: bool = True
    emoji_candidate: bool = True
    accept_seconds: int = 0  # 0: chats are given directly, no accept step
    remind_seconds: int = 90  # 0: no "still with you" reminder
    resolve_minutes: int = 15  # 0: never resolved automatically

    @property
    def offer_seconds(self) -> int:
        """How long a forward or an invitation waits for an answer."""
        return self.accept_seconds or DEFAULT_FORWARD_SECONDS

    def as_dict(self) -> dict[str, Any]:
        return {"rating_style": self.rating_style, "emoji_staff": self.emoji_staff, "emoji_candidate": self.emoji_candidate,
                "accept_seconds": self.accept_seconds, "remind_seconds": self.remind_seconds, "resolve_minutes": self.resolve_minutes}


def settings_of(event: Event | None) -> DeskSettings:
    if event is None:
        return DeskSettings()
    return DeskSettings(event.live_rating_style, event.live_emoji_staff, event.live_emoji_candidate, event.live_accept_seconds,
                        event.live_remind_seconds, event.live_resolve_minutes)


async def desk_settings(session: AsyncSession, event_id: int | None) -> DeskSettings:
    return settings_of(await session.get(Event, event_id) if event_id else None)


async def set_desk_settings(session: AsyncSession, actor: User, event_id: int, **values: Any) -> DeskSettings:
    event = await actions.get_event(session, event_id)
    await actions.require_organizer(session, event, actor)
    style = values.get("rating_style")
    if style is not None:
        if style not in RATING_STYLES:
            raise Invalid("Ratings are stars or smileys.", code="invalid_rating_style")
        event.live_rating_style = style
    bounds = {"accept_seconds": (0, 600, "Seconds to accept a chat: 0 (given directly) to 600."),
              "remind_seconds": (0, 3600, "The reminder: 0 (off) to 3600 seconds."),
              "resolve_minutes": (0, 2880, "Automatic resolve: 0 (never) to 2880 minutes (48 hours).")}
    for name, (low, high, message) in bounds.items():
        value = values.get(name)
        if value is None:
            continue
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise Invalid(message, code=f"invalid_{name}")
        if name == "accept_seconds" and 0 < value < 10:
            raise Invalid("Give people at least 10 seconds to accept a chat (or 0 to give chats directly).", code="invalid_accept_seconds")
        setattr(event, f"live_{name}", value)
    for name in ("emoji_staff", "emoji_candidate"):
        if values.get(name) is not None:
            setattr(event, f"live_{name}", bool(values[name]))
    return settings_of(event)


# --------------------------------------------------------------------------- who is online


async def online_ids(session: AsyncSession, user_ids: list[int], now: dt.datetime, *, free_seat: bool = False) -> list[int]:
    """Of these people, those whose console is open and who are available, longest idle first."""
    if not user_ids:
        return []
    stmt = select(Agent.user_id).where(Agent.user_id.in_(user_ids), Agent.available.is_(True), Agent.last_seen_at >= now - ONLINE_WINDOW)
    if free_seat:
        stmt = stmt.where(Agent.active_chats < Agent.capacity)
    stmt = stmt.order_by(Agent.last_assigned_at.is_not(None), Agent.last_assigned_at, Agent.user_id)
    return list((await session.execute(stmt)).scalars())


# --------------------------------------------------------------------------- teams


async def team_member_ids(session: AsyncSession, team_id: int) -> list[int]:
    return list((await session.execute(select(TeamMember.user_id).where(TeamMember.team_id == team_id).order_by(TeamMember.user_id))).scalars())


async def team_ids_of(session: AsyncSession, user_id: int) -> list[int]:
    return list((await session.execute(select(TeamMember.team_id).where(TeamMember.user_id == user_id).order_by(TeamMember.team_id))).scalars())


async def event_staff_ids(session: AsyncSession, event_id: int) -> list[int]:
    """The event's recruiters and organizers: the people its teams may hold."""
    return list((await session.execute(
        select(Participant.user_id).where(Participant.event_id == event_id,
                                          Participant.role.in_((Role.RECRUITER.value, Role.ORGANIZER.value)))
        .order_by(Participant.user_id)
    )).scalars())


async def teams(session: AsyncSession, actor: User, event_id: int) -> list[tuple[Team, list[User]]]:
    """The event's teams with their members; any of the event's staff may read them (forward needs the list)."""
    event = await actions.get_event(session, event_id)
    member = await actions.require_member(session, event, actor)
    if member is not None and member.role == Role.TALENT.value:
        raise NotFound("No such event.", code="event_not_found")
    out = []
    for team in (await session.execute(select(Team).where(Team.event_id == event_id).order_by(Team.name, Team.id))).scalars():
        ids = await team_member_ids(session, team.id)
        users = list((await session.execute(select(User).where(User.id.in_(ids)).order_by(User.name, User.id))).scalars()) if ids else []
        out.append((team, users))
    return out


async def _team_for_organizer(session: AsyncSession, actor: User, team_id: int, *, lock: bool = False) -> Team:
    team = await session.get(Team, team_id, with_for_update=lock)
    if team is None:
        raise NotFound("No such team.", code="team_not_found")
    event = await actions.get_event(session, team.event_id)
    try:
        await actions.require_organizer(session, event, actor)
    except NotFound:
        raise NotFound("No such team.", code="team_not_found") from None
    return team


async def _check_members(session: AsyncSession, event_id: int, member_ids: list[int]) -> list[int]:
    if len(member_ids) > 200:
        raise Invalid("A team has at most 200 members.", code="invalid_members")
    allowed = set(await event_staff_ids(session, event_id))
    unknown = [m for m in member_ids if m not in allowed]
    if unknown:
        raise Invalid("Team members are the event's recruiters and organizers.", code="invalid_members")
    return sorted(set(member_ids))


async def save_team(session: AsyncSession, ctx: actions.Context, actor: User, event_id: int | None, name: str, member_ids: list[int],
                    *, team_id: int | None = None) -> Team:
    """Creates a team of an event (organizers only), or renames it and replaces its members."""
    clean = actions.one_line(name, "team name", limit=120)
    if team_id is None:
        assert event_id is not None
        event = await actions.get_event(session, event_id)
        await actions.require_organizer(session, event, actor)
        count = (await session.execute(select(func.count()).select_from(Team).where(Team.event_id == event_id))).scalar_one()
        if count >= MAX_TEAMS:
            raise Invalid(f"An event has at most {MAX_TEAMS} teams.", code="too_many_teams")
        team = Team(event_id=event_id, name=clean, created_at=ctx.now)
    else:
        team = await _team_for_organizer(session, actor, team_id, lock=True)
    members = await _check_members(session, team.event_id, member_ids)
    try:
        async with session.begin_nested():  # renamed here: an earlier query's autoflush would raise the duplicate outside this try
            team.name = clean
            session.add(team)
            await session.flush()
    except IntegrityError:
        raise Conflict("The event already has a team of that name.", code="team_exists") from None
    await session.execute(delete(TeamMember).where(TeamMember.team_id == team.id))
    session.add_all([TeamMember(team_id=team.id, user_id=m) for m in members])
    await session.flush()
    return team


async def delete_team(session: AsyncSession, actor: User, team_id: int) -> Team:
    """Removes a team; its rules go with it. Chats still waiting for it (or left there as notes) go back to their own
    queue, at its end, never stranded in a queue nobody answers any more."""
    from scheduling.livechat.chats import take_ticket  # noqa: PLC0415 -- chats imports this module

    team = await _team_for_organizer(session, actor, team_id, lock=True)
    stranded = (select(LiveChat).where(LiveChat.queue == f"team:{team.id}", LiveChat.status.in_(("waiting", "transfer", "away", "note")))
                .order_by(LiveChat.ticket, LiveChat.id).with_for_update())
    for chat in (await session.execute(stranded)).scalars():
        chat.queue, chat.team_id = home_queue(chat.kind, chat.job_req_id, chat.event_id, chat.company_id), None
        if chat.status == "waiting":
            chat.ticket = await take_ticket(session, chat.queue)
    await session.delete(team)
    await session.flush()
    return team


# --------------------------------------------------------------------------- rules


@dataclass
class RuleIn:
    kind: str = ""
    job_req_id: int | None = None
    company_id: int | None = None
    question_id: int | None = None
    answer: str = ""
    team_id: int | None = None
    user_id: int | None = None


async def rules(session: AsyncSession, actor: User, event_id: int) -> list[RoutingRule]:
    event = await actions.get_event(session, event_id)
    await actions.require_organizer(session, event, actor)
    return list((await session.execute(
        select(RoutingRule).where(RoutingRule.event_id == event_id).order_by(RoutingRule.position, RoutingRule.id)
    )).scalars())


async def add_rule(session: AsyncSession, ctx: actions.Context, actor: User, event_id: int, rule: RuleIn) -> RoutingRule:
    event = await actions.get_event(session, event_id)
    await actions.require_organizer(session, event, actor)
    if rule.kind not in RULE_KINDS:
        raise Invalid("A rule matches job, booth or support chats (or any).", code="invalid_rule")
    if (rule.team_id is None) == (rule.user_id is None):
        raise Invalid("Send the chat to a team or to a person.", code="invalid_rule")
    if rule.team_id is not None:
        team = await session.get(Team, rule.team_id)
        if team is None or team.event_id != event_id:
            raise Invalid("That team isn't at this event.", code="invalid_rule")
    if rule.user_id is not None and rule.user_id not in await event_staff_ids(session, event_id):
        raise Invalid("Chats go to the event's recruiters and organizers.", code="invalid_rule")
    if rule.job_req_id is not None:
        job = await session.get(JobReq, rule.job_req_id)
        if job is None or job.event_id != event_id:
            raise Invalid("That job req isn't at this event.", code="invalid_rule")
    if rule.company_id is not None:
        company = await session.get(Company, rule.company_id)
        if company is None or company.event_id != event_id:
            raise Invalid("That company isn't at this event.", code="invalid_rule")
    answer = ""
    if rule.question_id is not None:
        question = await session.get(KnockoutQuestion, rule.question_id)
        job = await session.get(JobReq, question.job_req_id) if question else None
        if question is None or job is None or job.event_id != event_id or not question.active:
            raise Invalid("That question isn't asked at this event.", code="invalid_rule")
        choices = orjson.loads(question.choices) if question.kind == "choice" else ["Yes", "No"]
        if rule.answer not in choices:
            raise Invalid(f"Choose one of the question's answers: {', '.join(choices)}.", code="invalid_rule")
        answer = rule.answer
    elif rule.answer:
        raise Invalid("An answer needs its question.", code="invalid_rule")
    count, last = (await session.execute(select(func.count(), func.max(RoutingRule.position)).where(RoutingRule.event_id == event_id))).one()
    if count >= MAX_RULES:
        raise Invalid(f"An event has at most {MAX_RULES} routing rules.", code="too_many_rules")
    row = RoutingRule(event_id=event_id, position=0 if last is None else int(last) + 1, kind=rule.kind, job_req_id=rule.job_req_id, company_id=rule.company_id,
                      question_id=rule.question_id, answer=answer, team_id=rule.team_id, user_id=rule.user_id, created_at=ctx.now)
    session.add(row)
    await session.flush()
    return row


async def delete_rule(session: AsyncSession, actor: User, rule_id: int) -> None:
    row = await session.get(RoutingRule, rule_id)
    if row is None:
        raise NotFound("No such rule.", code="rule_not_found")
    event = await actions.get_event(session, row.event_id)
    try:
        await actions.require_organizer(session, event, actor)
    except NotFound:
        raise NotFound("No such rule.", code="rule_not_found") from None
    await session.delete(row)


async def route(session: AsyncSession, *, event_id: int | None, kind: str, job_req_id: int | None, company_id: int | None,
                answers: list[dict[str, Any]], home: str, now: dt.datetime) -> tuple[str, int | None]:
    """The queue a new chat joins, and its team: the first matching rule whose target has someone online, else `home`."""
    if event_id is None:
        return home, None
    given = {a.get("question_id"): a.get("answer") for a in answers}
    for rule in (await session.execute(
        select(RoutingRule).where(RoutingRule.event_id == event_id).order_by(RoutingRule.position, RoutingRule.id)
    )).scalars():
        if rule.kind and rule.kind != kind:
            continue
        if rule.job_req_id is not None and rule.job_req_id != job_req_id:
            continue
        if rule.company_id is not None and rule.company_id != company_id:
            continue
        if rule.question_id is not None and given.get(rule.question_id) != rule.answer:
            continue
        if rule.team_id is not None:
            if await online_ids(session, await team_member_ids(session, rule.team_id), now):
                return f"team:{rule.team_id}", rule.team_id
        elif rule.user_id is not None and await online_ids(session, [rule.user_id], now):
            return f"user:{rule.user_id}", None
    return home, None


def home_queue(kind: str, job_req_id: int | None, event_id: int | None, company_id: int | None) -> str:
    """The queue a chat belongs to before any routing: its job req's, its booth's or its event's support queue."""
    if kind == "job" and job_req_id is not None:
        return f"job:{job_req_id}"
    if kind == "booth" and event_id is not None and company_id is not None:
        return f"booth:{event_id}:{company_id}"
    return f"support:{event_id}"
