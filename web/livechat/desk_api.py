"""The live-chat desk's API: operations on an ongoing chat (join, take over, forward, invite, leave, accept/decline,
ask for a rating), the candidate's rating, colleagues' chats, teams, routing rules and the event's desk settings.

Every operation is one transaction in `scheduling.livechat.desk`; its notices are stored in that transaction and
published after commit with the frames the change implies (web.livechat.live.Publisher.change)."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from sqlalchemy import select
from starlette.responses import Response
from starlette.routing import Route

from scheduling import actions
from scheduling.conversations import store
from scheduling.errors import NotFound
from scheduling.livechat import chats, desk, routing
from scheduling.livechat.desk_models import RoutingRule, Team
from scheduling.livechat.models import Agent, JobReq, KnockoutQuestion, LiveChat, LiveStatus
from scheduling.models import Company, User
from web.api import ApiCall, api
from web.http import context_for, res
from web.livechat import desk_schemas as ds
from web.livechat import live
from web.livechat.api import _store, after, candidate_chat, limited, publisher, staff_user

Result = Any


async def _publish(call: ApiCall, change: desk.Change) -> None:
    """Stores the change's notices now (same transaction) and publishes what it means after commit."""
    await _store(call, change.notices)
    frames = [(o.user_id, await live.offer_frame(call.session, o)) for o in change.offered]
    pub = publisher(call)
    after(call, lambda: pub.safely(pub.change(change, frames)))


async def _answer(call: ApiCall, change: desk.Change, user: User) -> Result:
    await _publish(call, change)
    chat = change.chat
    if await chats.staff_may_see(call.session, chat, user, call.ctx.now):
        return 200, {"chat": await live.staff_view(call.session, chat, user)}
    return 200, {"chat": {"id": chat.id, "status": chat.status}}  # e.g. after forwarding it away: no longer theirs to read


@api(auth=False)
async def join(call: ApiCall) -> Result:
    user = await staff_user(call)
    body = await call.body(ds.JoinIn)
    return await _answer(call, await desk.join(call.session, call.ctx, user, call.path_int("chat_id"), invisible=body.invisible), user)


@api(auth=False)
async def take_over(call: ApiCall) -> Result:
    user = await staff_user(call)
    body = await call.body(ds.TakeOverIn)
    return await _answer(call, await desk.take_over(call.session, call.ctx, user, call.path_int("chat_id"), owner_id=body.owner_id), user)


@api(auth=False)
async def forward(call: ApiCall) -> Result:
    user = await staff_user(call)
    body = await call.body(ds.ForwardIn)
    change = await desk.forward(call.session, call.ctx, user, call.path_int("chat_id"), to_user=body.user_id, to_team=body.team_id, note=body.note)
    return await _answer(call, change, user)


@api(auth=False)
async def invite(call: ApiCall) -> Result:
    user = await staff_user(call)
    body = await call.body(ds.InviteIn)
    return await _answer(call, await desk.invite(call.session, call.ctx, user, call.path_int("chat_id"), body.user_id, body.note), user)


@api(auth=False)
async def leave(call: ApiCall) -> Result:
    user = await staff_user(call)
    body = await call.body(ds.LeaveIn)
    chat_id = call.path_int("chat_id")
    link = live.continue_link(res(call.request).settings, chat_id)
    change = await desk.leave(call.session, call.ctx, user, chat_id, subject=body.subject, assignee_id=body.assignee_id,
                              email_transcript=body.email_transcript, continue_link=link)
    return await _answer(call, change, user)


@api(auth=False)
async def accept(call: ApiCall) -> Result:
    user = await staff_user(call)
    return await _answer(call, await desk.accept(call.session, call.ctx, user, call.path_int("chat_id")), user)


@api(auth=False)
async def decline(call: ApiCall) -> Result:
    user = await staff_user(call)
    return await _answer(call, await desk.decline(call.session, call.ctx, user, call.path_int("chat_id")), user)


@api(auth=False)
async def ask_rating(call: ApiCall) -> Result:
    user = await staff_user(call)
    return await _answer(call, await desk.ask_rating(call.session, call.ctx, user, call.path_int("chat_id")), user)


@api(auth=False)
async def rate(call: ApiCall) -> Result:
    limited(call, "message")
    chat = await candidate_chat(call, lock=True)
    body = await call.body(ds.RatingIn)
    notice = await desk.rate(call.session, call.ctx, chat, body.score, body.comment)
    await desk.seen(call.session, chat.id, call.ctx.now)
    await _store(call, [notice])
    return 200, ds.RatedOut(score=body.score, scale=int(notice.body["scale"]), comment=chat.rating_comment)


@api(auth=False)
async def colleagues(call: ApiCall) -> Result:
    user = await staff_user(call)
    chat = await chats.staff_chat(call.session, call.path_int("chat_id"), user, call.ctx.now)
    people, teams = await desk.forward_targets(call.session, chat)
    now = call.ctx.now
    online = set(await routing.online_ids(call.session, people, now))
    seats: dict[int, int] = {}
    if people:
        seats = {u: max(0, c - a) for u, c, a in await call.session.execute(
            select(Agent.user_id, Agent.capacity, Agent.active_chats).where(Agent.user_id.in_(people)))}
    users = {u.id: u for u in [await call.session.get(User, uid) for uid in people] if u is not None}
    out_people = [ds.ColleagueOut(id=u.id, name=u.name, online=u.id in online, free_seats=seats.get(u.id, 0))
                  for u in sorted(users.values(), key=lambda u: (u.id not in online, u.name.casefold())) if u.id != user.id]
    out_teams = []
    for team in teams:
        members = await routing.team_member_ids(call.session, team.id)
        out_teams.append(ds.TeamRefOut(id=team.id, name=team.name, online=len(await routing.online_ids(call.session, members, now))))
    return 200, ds.ColleaguesOut(people=out_people, teams=out_teams)


@api(auth=False)
async def ongoing(call: ApiCall) -> Result:
    user = await staff_user(call)
    out = []
    for chat, owner, mode in await desk.ongoing(call.session, user, call.ctx.now):
        job = await call.session.get(JobReq, chat.job_req_id) if chat.job_req_id else None
        out.append(ds.OngoingOut(id=chat.id, candidate=chat.candidate_name, owner=live.person(owner), title=job.title if job else "",
                                 label=await live.queue_label(call.session, chat.queue), taken_at=chat.taken_at.isoformat() if chat.taken_at else None,
                                 you=mode))  # type: ignore[arg-type]
    return 200, out


@api(auth=False)
async def offers(call: ApiCall) -> Result:
    user = await staff_user(call)
    return 200, [await live.offer_frame(call.session, o) for o, _ in await desk.my_offers(call.session, user, call.ctx.now)]


# --------------------------------------------------------------------------- teams, rules, settings


def _team_out(team: Team, members: list[User]) -> ds.TeamOut:
    return ds.TeamOut(id=team.id, event_id=team.event_id, name=team.name, members=[{"id": u.id, "name": u.name} for u in members])


async def _members(call: ApiCall, team: Team) -> list[User]:
    ids = await routing.team_member_ids(call.session, team.id)
    return [u for u in [await call.session.get(User, i) for i in ids] if u is not None]


@api(auth=False)
async def list_teams(call: ApiCall) -> Result:
    user = await staff_user(call)
    return 200, [_team_out(t, m) for t, m in await routing.teams(call.session, user, call.path_int("event_id"))]


@api(auth=False)
async def create_team(call: ApiCall) -> Result:
    user = await staff_user(call)
    body = await call.body(ds.TeamIn)
    team = await routing.save_team(call.session, call.ctx, user, call.path_int("event_id"), body.name, body.member_ids)
    return 201, _team_out(team, await _members(call, team))


@api(auth=False)
async def update_team(call: ApiCall) -> Result:
    user = await staff_user(call)
    body = await call.body(ds.TeamIn)
    team = await routing.save_team(call.session, call.ctx, user, None, body.name, body.member_ids, team_id=call.path_int("team_id"))
    return 200, _team_out(team, await _members(call, team))


@api(auth=False)
async def delete_team(call: ApiCall) -> Result:
    user = await staff_user(call)
    await routing.delete_team(call.session, user, call.path_int("team_id"))
    return Response(status_code=204)


async def rule_summary(call: ApiCall, rule: RoutingRule) -> str:
    """A rule in words: "Booth chats for Northwind whose answer to 'Remote?' is Yes → Design team"."""
    what = {"": "Chats", "job": "Job chats", "booth": "Booth chats", "support": "Support chats"}[rule.kind]
    parts = [what]
    if rule.job_req_id:
        job = await call.session.get(JobReq, rule.job_req_id)
        parts.append(f"about {job.title}" if job else "about a job req")
    if rule.company_id:
        company = await call.session.get(Company, rule.company_id)
        parts.append(f"for {company.name}" if company else "for a company")
    if rule.question_id:
        question = await call.session.get(KnockoutQuestion, rule.question_id)
        parts.append(f"answering “{question.text if question else '?'}” with {rule.answer}")
    if rule.team_id:
        team = await call.session.get(Team, rule.team_id)
        target = f"the {team.name} team" if team else "a team"
    else:
        person = await call.session.get(User, rule.user_id) if rule.user_id else None
        target = person.name if person else "a person"
    return f"{' '.join(parts)} go to {target}"


async def _rule_out(call: ApiCall, rule: RoutingRule) -> ds.RuleOut:
    return ds.RuleOut(id=rule.id, position=rule.position, kind=rule.kind, job_req_id=rule.job_req_id, company_id=rule.company_id,
                      question_id=rule.question_id, answer=rule.answer, team_id=rule.team_id, user_id=rule.user_id,
                      summary=await rule_summary(call, rule))


@api(auth=False)
async def list_rules(call: ApiCall) -> Result:
    user = await staff_user(call)
    return 200, [await _rule_out(call, r) for r in await routing.rules(call.session, user, call.path_int("event_id"))]


@api(auth=False)
async def add_rule(call: ApiCall) -> Result:
    user = await staff_user(call)
    body = await call.body(ds.RuleIn)
    rule = await routing.add_rule(call.session, call.ctx, user, call.path_int("event_id"), routing.RuleIn(**body.model_dump()))
    return 201, await _rule_out(call, rule)


@api(auth=False)
async def delete_rule(call: ApiCall) -> Result:
    user = await staff_user(call)
    await routing.delete_rule(call.session, user, call.path_int("rule_id"))
    return Response(status_code=204)


@api(auth=False)
async def get_settings(call: ApiCall) -> Result:
    user = await staff_user(call)
    event = await actions.get_event(call.session, call.path_int("event_id"))
    member = await actions.require_member(call.session, event, user)
    if member is not None and member.role == "talent":
        raise NotFound("No such event.", code="event_not_found")
    return 200, ds.DeskSettingsOut(**routing.settings_of(event).as_dict())


@api(auth=False)
async def put_settings(call: ApiCall) -> Result:
    user = await staff_user(call)
    body = await call.body(ds.DeskSettingsIn)
    settings = await routing.set_desk_settings(call.session, user, call.path_int("event_id"), **body.model_dump())
    return 200, ds.DeskSettingsOut(**settings.as_dict())


# --------------------------------------------------------------------------- background: offers that ran out, chats whose candidate left


EXPIRE_AT_ONCE = 8  # offers moved on concurrently (PostgreSQL), each in a transaction of its own


async def expire_offers(r: Any) -> int:
    """Moves every offer whose time ran out to the next person (or back to the queue); one transaction per offer, several
    at once on PostgreSQL, each published after its commit without holding up the others (one at a time, waiting for
    each broadcast, a burst of time-outs under load was moved on tens of seconds late). Beside them (after them on
    SQLite), offers the chats that sit with nobody offered them (`offer_unoffered`)."""
    now: dt.datetime = r.clock()
    async with r.sessionmaker() as session:
        due = await desk.due_offers(session, now)
    pub = live.Publisher(r)
    concurrent = r.settings.database_url.startswith("postgresql")
    limit = asyncio.Semaphore(EXPIRE_AT_ONCE if concurrent else 1)

    async def move_on(offer_id: int) -> bool:
        async with limit:
            async with r.sessionmaker() as session, session.begin():
                change = await desk.expire(session, context_for(r), offer_id)
                if change is None:
                    return False
                frames = [(o.user_id, await live.offer_frame(session, o)) for o in change.offered]
        r.hub.spawn(pub.safely(pub.change(change, frames)))
        return True

    if concurrent:
        moved, _ = await asyncio.gather(_count(move_on(o) for o in due), offer_unoffered(r))
        return moved
    moved = await _count(move_on(o) for o in due)
    await offer_unoffered(r)
    return moved


async def _count(moves: Any) -> int:
    return sum(await asyncio.gather(*moves))


async def offer_unoffered(r: Any) -> None:
    """Every second, each queue (of events whose chats are offered) with a waiting or forwarded chat nobody is offered gets
    one offer, if anyone is free for one. The rounds after a change cover the changed chat's own queue only, but a seat
    also comes free for the other queues its person answers (a forward to them ended, a take-over or decline elsewhere), and a forwarded chat
    nobody was free for must be offered once someone is: without this it sat until someone took it by hand."""
    async with r.sessionmaker() as session:
        queues = list((await session.execute(
            select(LiveChat.queue).where(LiveChat.status.in_((LiveStatus.WAITING.value, LiveStatus.TRANSFER.value)),
                                         LiveChat.offered_to_id.is_(None)).distinct()
        )).scalars())
        offering = [q for q in queues if await desk.accepts_offers(session, q)]
    pub = live.Publisher(r)

    async def one(queue: str) -> None:  # one offer per queue and second at most: a safety net, kept short so time-outs aren't held up
        async with r.sessionmaker() as session, session.begin():
            offer = await desk.route_offer(session, queue, r.clock())
            frame = await live.offer_frame(session, offer) if offer is not None else None
        if offer is not None and frame is not None:
            await r.hub.publish(f"agent:{offer.user_id}", frame)
            r.hub.spawn(pub.safely(pub.queue(queue)))

    if r.settings.database_url.startswith("postgresql"):
        await asyncio.gather(*(one(q) for q in offering))
    else:
        for queue in offering:
            await one(queue)


async def resolve_idle(r: Any) -> int:
    """Resolves chats whose candidate has been gone longer than their event allows; one transaction per chat."""
    now: dt.datetime = r.clock()
    async with r.sessionmaker() as session:
        idle = await desk.idle_chats(session, now)
    pub = live.Publisher(r)
    resolved = 0
    for chat_id in idle:
        async with r.sessionmaker() as session, session.begin():
            change = await desk.resolve_if_idle(session, context_for(r), chat_id)
            if change is None:
                continue
            results = await store(await session.connection(), change.notices)
            entries = [x[0] for x in results if x is not None and x[1]]
        resolved += 1
        await pub.safely(pub.entries(chat_id, entries))
        await pub.safely(pub.change(change, []))
    return resolved


routes = [
    Route("/api/v1/live-chats/ongoing", ongoing, methods=["GET"]),
    Route("/api/v1/live-offers", offers, methods=["GET"]),
    Route("/api/v1/live-chats/{chat_id:id}/join", join, methods=["POST"]),
    Route("/api/v1/live-chats/{chat_id:id}/take-over", take_over, methods=["POST"]),
    Route("/api/v1/live-chats/{chat_id:id}/forward", forward, methods=["POST"]),
    Route("/api/v1/live-chats/{chat_id:id}/invite", invite, methods=["POST"]),
    Route("/api/v1/live-chats/{chat_id:id}/leave", leave, methods=["POST"]),
    Route("/api/v1/live-chats/{chat_id:id}/accept", accept, methods=["POST"]),
    Route("/api/v1/live-chats/{chat_id:id}/decline", decline, methods=["POST"]),
    Route("/api/v1/live-chats/{chat_id:id}/ask-rating", ask_rating, methods=["POST"]),
    Route("/api/v1/live-chats/{chat_id:id}/colleagues", colleagues, methods=["GET"]),
    Route("/api/v1/chats/{chat_id:id}/rating", rate, methods=["POST"]),
    Route("/api/v1/events/{event_id:id}/teams", list_teams, methods=["GET"]),
    Route("/api/v1/events/{event_id:id}/teams", create_team, methods=["POST"]),
    Route("/api/v1/live-teams/{team_id:id}", update_team, methods=["PUT"]),
    Route("/api/v1/live-teams/{team_id:id}", delete_team, methods=["DELETE"]),
    Route("/api/v1/events/{event_id:id}/routing-rules", list_rules, methods=["GET"]),
    Route("/api/v1/events/{event_id:id}/routing-rules", add_rule, methods=["POST"]),
    Route("/api/v1/routing-rules/{rule_id:id}", delete_rule, methods=["DELETE"]),
    Route("/api/v1/events/{event_id:id}/desk-settings", get_settings, methods=["GET"]),
    Route("/api/v1/events/{event_id:id}/desk-settings", put_settings, methods=["PUT"]),
]
