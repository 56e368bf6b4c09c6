"""Which of an event's company booths someone can answer right now.

A booth chat started now goes where `routing.route` sends it (a matching routing rule whose team or person is
online, else the booth's own queue of the company's recruiters) and waits for an answer only when someone of that
queue is online (`chats.start_event_chat`); otherwise it becomes a note answered later by email. `staffed_companies`
asks the same question for many booths at once, in three queries whatever the number of companies, so a list can
call a booth open only when a chat started there would reach a person.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from scheduling.livechat.desk_models import RoutingRule, TeamMember
from scheduling.livechat.models import Agent
from scheduling.livechat.routing import ONLINE_WINDOW
from scheduling.models import Participant, Role


def _online(now: dt.datetime) -> ColumnElement[bool]:
    """A seat that is available with a console beating recently (as `routing.online_ids` and `chats.staffing` count it)."""
    return and_(Agent.available.is_(True), Agent.last_seen_at >= now - ONLINE_WINDOW)


async def staffed_companies(session: AsyncSession, event_id: int, company_ids: Sequence[int], now: dt.datetime) -> set[int]:
    """Of these companies of the event, those whose booth chat someone online would answer now."""
    wanted = set(company_ids)
    if not wanted:
        return set()
    staffed = set((await session.execute(
        select(Participant.company_id).distinct()
        .join(Agent, Agent.user_id == Participant.user_id)
        .where(Participant.event_id == event_id, Participant.role == Role.RECRUITER.value, Participant.company_id.in_(wanted),
               _online(now))
    )).scalars())
    # Routing rules a booth chat can match (no job req, no pre-chat answer: a booth chat has neither) send it to their
    # target when someone there is online, whoever the company's own recruiters are.
    rules = [r for r in (await session.execute(
        select(RoutingRule).where(RoutingRule.event_id == event_id, RoutingRule.kind.in_(("", "booth")),
                                  RoutingRule.job_req_id.is_(None), RoutingRule.question_id.is_(None))
    )).scalars() if r.company_id is None or r.company_id in wanted]
    if rules and staffed != wanted:
        online_users = {r.user_id for r in rules if r.user_id is not None}
        team_ids = {r.team_id for r in rules if r.team_id is not None}
        online_teams: set[int] = set()
        if team_ids:
            online_teams = set((await session.execute(
                select(TeamMember.team_id).distinct().join(Agent, Agent.user_id == TeamMember.user_id)
                .where(TeamMember.team_id.in_(team_ids), _online(now))
            )).scalars())
        if online_users:
            online_users = set((await session.execute(select(Agent.user_id).where(Agent.user_id.in_(online_users), _online(now)))).scalars())
        for rule in rules:
            if rule.team_id in online_teams or rule.user_id in online_users:
                staffed |= wanted if rule.company_id is None else {rule.company_id}
    return {c for c in staffed if c is not None}
