"""The live-chat desk's operations on a chat: offers to accept (routing, forwards, invitations), join (visibly or
not), take over, forward, invite, leave, tickets, ratings and automatic resolve.

Ownership has one writer: `live_chats.recruiter_id` changes only by conditional updates on the locked chat row
(`chats._claim`, take over, leave), and a chat has at most one pending routing/forward offer (a partial unique
index), so whatever races, a chat has exactly one owner while active and none while it waits. Every path locks the
chat row before any seat row, and seat rows in user-id order, so concurrent operations never deadlock.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from scheduling import actions, conversations, outbox
from scheduling.conversations import Append
from scheduling.errors import Conflict, Forbidden, Invalid, NotFound
from scheduling.livechat import chats, jobs, routing
from scheduling.livechat.desk_models import ChatMember, Offer, Team, Ticket
from scheduling.livechat.models import Agent, JobReq, LiveChat, LiveStatus
from scheduling.models import Event, Participant, Role, User

L = LiveStatus
TICKET_STATUSES = ("open", "pending", "solved")
RATING_SCALES = {"stars": 5, "smileys": 3}
ROUTE_LOOKAHEAD = 20  # waiting chats looked at for one routing offer


@dataclass
class Change:
    """What an operation did, for the web layer to store and publish after commit."""

    chat: LiveChat
    notices: list[Append] = field(default_factory=list)
    offered: list[Offer] = field(default_factory=list)  # new offers and invitations to show
    gone: list[tuple[int, int, str]] = field(default_factory=list)  # (user, chat, outcome): offers to take off screens
    queues: set[str] = field(default_factory=set)  # queues whose frame changed
    freed: set[str] = field(default_factory=set)  # queues where a seat came free (assignment may run)
    staff: set[int] = field(default_factory=set)  # staff whose view of the chat changed (members, owner)
    ticket: Ticket | None = None


def _notice(chat: LiveChat, user: User | None, event: str, text: str, now: dt.datetime, **extra: object) -> Append:
    return Append(chats.key(chat.id), "notice", user.id if user else None,
                  {"event": event, "name": user.name if user else "", "role": "recruiter" if user else "system", "text": text, **extra}, now)


async def _lock(session: AsyncSession, chat_id: int) -> LiveChat:
    chat = (await session.execute(select(LiveChat).where(LiveChat.id == chat_id).with_for_update()
                                  .execution_options(populate_existing=True))).scalar_one_or_none()
    if chat is None:
        raise NotFound("No such chat.", code="chat_not_found")
    return chat


async def supervises(session: AsyncSession, chat: LiveChat, user: User) -> bool:
    """Admins, the event's organizers and the job req's managers oversee every chat of theirs."""
    if user.is_admin or await jobs.is_organizer(session, chat.event_id, user):
        return True
    if chat.job_req_id is not None:
        job = await session.get(JobReq, chat.job_req_id)
        return job is not None and await jobs.may_manage(session, job, user)
    return False


def home(chat: LiveChat) -> str:
    return routing.home_queue(chat.kind, chat.job_req_id, chat.event_id, chat.company_id)


async def desk_ids(session: AsyncSession, chat: LiveChat) -> set[int]:
    """The people who serve this chat: its current queue's (a team's members when routed to a team) and its home queue's."""
    ids = set(await chats.queue_staff_ids(session, chat.queue))
    if chat.team_id is None:
        ids |= set(await chats.queue_staff_ids(session, home(chat)))
    return ids


async def may_join(session: AsyncSession, chat: LiveChat, user: User) -> bool:
    return user.id in await desk_ids(session, chat) or await supervises(session, chat, user)


async def _known_to(session: AsyncSession, chat: LiveChat, user: User, now: dt.datetime) -> None:
    """Someone who may neither see nor join a chat, and was never offered it, learns nothing of it: not found, as for an
    unknown id (before any check that would tell its status or owner)."""
    if await may_join(session, chat, user) or await chats.staff_may_see(session, chat, user, now):
        return
    if await session.scalar(select(Offer.id).where(Offer.live_chat_id == chat.id, Offer.user_id == user.id).limit(1)) is None:
        raise NotFound("No such chat.", code="chat_not_found")


async def forward_targets(session: AsyncSession, chat: LiveChat) -> tuple[list[int], list[Team]]:
    """Whom a chat may be forwarded to or a colleague invited from: the people who may be given its ticket (its desk, its
    job req's recruiters, the event's organizers; not another company's recruiters, who would see the candidate's details),
    and the event's teams (made by its organizers)."""
    teams: list[Team] = []
    if chat.event_id is not None:
        teams = list((await session.execute(select(Team).where(Team.event_id == chat.event_id).order_by(Team.name))).scalars())
    return await ticket_people(session, chat), teams


async def members(session: AsyncSession, chat_id: int) -> list[tuple[ChatMember, User]]:
    rows = await session.execute(select(ChatMember, User).join(User, User.id == ChatMember.user_id)
                                 .where(ChatMember.live_chat_id == chat_id, ChatMember.left_at.is_(None)).order_by(ChatMember.joined_at, ChatMember.id))
    return [(m, u) for m, u in rows]


async def _require_owner(session: AsyncSession, chat: LiveChat, user: User) -> None:
    if chat.status != L.ACTIVE.value:
        raise Conflict("This chat isn't going on now.", code="not_active")
    if chat.recruiter_id != user.id and not await supervises(session, chat, user):
        raise Forbidden("Only the staff member who has this chat can do that.", code="not_your_chat")


async def _visible_staff(session: AsyncSession, chat: LiveChat, user: User) -> None:
    """The owner or a visible member of an ongoing chat."""
    if chat.recruiter_id == user.id or await chats.member_mode(session, chat.id, user.id) == "visible":
        return
    raise Forbidden("Join the chat first.", code="not_in_chat")


# --------------------------------------------------------------------------- seats


async def _move_seat(session: AsyncSession, old: int | None, new: int, now: dt.datetime) -> None:
    """Gives `new` a seat (within capacity) and frees `old`'s, locking seat rows in user-id order."""
    await chats.agent(session, new)
    for uid in sorted({u for u in (old, new) if u is not None}):
        if uid == new:
            got = await session.execute(update(Agent).where(Agent.user_id == new, Agent.active_chats < Agent.capacity)
                                        .values(active_chats=Agent.active_chats + 1, last_assigned_at=now))
            if got.rowcount != 1:  # type: ignore[attr-defined]
                raise Conflict("That person is at their limit of chats at once.", code="at_capacity")
        else:
            await session.execute(update(Agent).where(Agent.user_id == uid, Agent.active_chats > 0).values(active_chats=Agent.active_chats - 1))


async def _pending_offers(session: AsyncSession, user_ids: list[int], now: dt.datetime) -> dict[int, int]:
    """Routing and forward offers each person has open (a seat they may still take). One that ran out no longer counts,
    though the timer may not have moved it on yet: it can't be accepted any more."""
    if not user_ids:
        return {}
    rows = await session.execute(select(Offer.user_id, func.count()).where(Offer.user_id.in_(user_ids), Offer.outcome == "pending",
                                                                          Offer.reason != "invite", Offer.expires_at > now)
                                 .group_by(Offer.user_id))
    return {u: int(n) for u, n in rows}


# --------------------------------------------------------------------------- offers


async def _offer(session: AsyncSession, chat: LiveChat, user_id: int, *, reason: str, by: User | None, note: str, seconds: int,
                 now: dt.datetime) -> Offer:
    offer = Offer(live_chat_id=chat.id, user_id=user_id, from_user_id=by.id if by else None, reason=reason, note=note, offered_at=now,
                  expires_at=now + dt.timedelta(seconds=seconds), outcome="pending")
    session.add(offer)
    await session.flush()
    if reason != "invite":
        chat.offered_to_id, chat.offer_expires_at = user_id, offer.expires_at
    return offer


async def _tried(session: AsyncSession, chat_id: int) -> set[int]:
    """Who has already been offered this chat since it last had an owner (they timed out or declined)."""
    since = select(func.max(Offer.decided_at)).where(Offer.live_chat_id == chat_id, Offer.outcome == "accepted").scalar_subquery()
    rows = await session.execute(select(Offer.user_id).where(Offer.live_chat_id == chat_id, Offer.reason != "invite",
                                                             or_(since.is_(None), Offer.offered_at >= since)))
    return set(rows.scalars())


async def offer_next(session: AsyncSession, chat: LiveChat, now: dt.datetime, *, reason: str, by: User | None = None, note: str = "",
                     automatic_only: bool = False) -> Offer | None:
    """Offers a waiting or forwarded chat to the next person of its queue: online, available, with a seat free counting
    offers they have pending, not offered it before; longest idle first. None when nobody can take it now."""
    if chat.offered_to_id is not None or chat.status not in (L.WAITING.value, L.TRANSFER.value):
        return None
    settings = await routing.desk_settings(session, chat.event_id)
    staff = await chats.queue_staff_ids(session, chat.queue)
    tried = await _tried(session, chat.id)
    if by is not None and reason == "forward":
        tried.add(by.id)  # whoever forwards a chat (to a team of theirs, or back to its queue) isn't offered it back
    people = [u for u in await routing.online_ids(session, staff, now) if u not in tried]
    if automatic_only and people:
        auto = set((await session.execute(select(Agent.user_id).where(Agent.user_id.in_(people), Agent.auto_assign.is_(True)))).scalars())
        people = [u for u in people if u in auto]
    pending = await _pending_offers(session, people, now)
    seats = dict((await session.execute(select(Agent.user_id, Agent.capacity - Agent.active_chats).where(Agent.user_id.in_(people)))).all()) \
        if people else {}
    for uid in people:
        if seats.get(uid, 0) - pending.get(uid, 0) > 0:
            return await _offer(session, chat, uid, reason=reason, by=by, note=note, seconds=settings.offer_seconds, now=now)
    return None


async def _anyone_free(session: AsyncSession, queue: str, now: dt.datetime) -> bool:
    """Whether anyone of the queue is online with a seat that no chat or pending offer holds: if not, no chat of it can be
    offered now, and looking at each one (several queries apiece) is wasted."""
    people = await routing.online_ids(session, await chats.queue_staff_ids(session, queue), now, free_seat=True)
    pending = await _pending_offers(session, people, now)
    seats = dict((await session.execute(select(Agent.user_id, Agent.capacity - Agent.active_chats).where(Agent.user_id.in_(people)))).all()) \
        if people else {}
    return any(seats.get(u, 0) - pending.get(u, 0) > 0 for u in people)


async def route_offer(session: AsyncSession, queue: str, now: dt.datetime) -> Offer | None:
    """In an event whose chats wait to be accepted: offers the queue's first chat nobody is offered yet that someone can be
    offered (a chat everyone online has declined or let run out doesn't hold back the chats behind it). A forwarded chat
    whose offers ran out with nobody free comes first, offered as the forward it is (its note and sender, to anyone of the
    queue); then the waiting ones in ticket order."""
    if not await _anyone_free(session, queue, now):
        return None
    stmt = (select(LiveChat.id).where(LiveChat.queue == queue, LiveChat.status.in_((L.WAITING.value, L.TRANSFER.value)),
                                      LiveChat.offered_to_id.is_(None))
            .order_by((LiveChat.status == L.TRANSFER.value).desc(), LiveChat.ticket, LiveChat.id).limit(ROUTE_LOOKAHEAD))
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    for chat_id in list((await session.execute(stmt)).scalars()):
        chat = await _lock(session, chat_id)
        if chat.status == L.TRANSFER.value:
            last = (await session.execute(select(Offer).where(Offer.live_chat_id == chat.id, Offer.reason == "forward")
                                          .order_by(Offer.offered_at.desc(), Offer.id.desc()).limit(1))).scalar_one_or_none()
            by = await session.get(User, last.from_user_id) if last is not None and last.from_user_id else None
            offer = await offer_next(session, chat, now, reason="forward", by=by, note=last.note if last is not None else "")
        else:
            offer = await offer_next(session, chat, now, reason="route", automatic_only=True)
        if offer is not None:
            return offer
    return None


async def accepts_offers(session: AsyncSession, queue: str) -> bool:
    """Whether chats of this queue are offered (to accept in time) rather than given directly."""
    event_id = await _queue_event(session, queue)
    return (await routing.desk_settings(session, event_id)).accept_seconds > 0


async def _queue_event(session: AsyncSession, queue: str) -> int | None:
    kind, _, rest = queue.partition(":")
    if kind == "job":
        job = await session.get(JobReq, int(rest))
        return job.event_id if job else None
    if kind in ("booth", "support"):
        return int(rest.split(":")[0])
    if kind == "team":
        team = await session.get(Team, int(rest))
        return team.event_id if team else None
    if kind == "user":  # a person's own queue may hold chats of several events: the one served next decides
        event_id: int | None = await session.scalar(select(LiveChat.event_id).where(LiveChat.queue == queue, LiveChat.status == L.WAITING.value,
                                                                                LiveChat.offered_to_id.is_(None))
                                                    .order_by(LiveChat.ticket).limit(1))
        return event_id
    return None


async def _pending_invite(session: AsyncSession, chat_id: int, user_id: int) -> Offer | None:
    invite: Offer | None = (await session.execute(select(Offer).where(Offer.live_chat_id == chat_id, Offer.user_id == user_id,
                                                                      Offer.outcome == "pending", Offer.reason == "invite"))).scalar_one_or_none()
    return invite


async def accept(session: AsyncSession, ctx: actions.Context, user: User, chat_id: int) -> Change:
    """Accepts a chat offered to the caller (routing or a forward: they own it now) or an invitation (they join it)."""
    chat = await _lock(session, chat_id)
    await _known_to(session, chat, user, ctx.now)
    now = ctx.now
    invite = await _pending_invite(session, chat.id, user.id)
    if invite is not None:
        if chat.recruiter_id == user.id:
            raise Conflict("You have this chat already.", code="already_in_chat")
        if invite.expires_at <= now or chat.status != L.ACTIVE.value:
            raise Conflict("This invitation has expired.", code="offer_expired")
        invite.outcome, invite.decided_at = "accepted", now
        inviter = await session.get(User, invite.from_user_id) if invite.from_user_id else None
        await _set_member(session, chat, user, "visible", now, via="invite", invited_by=inviter)
        change = Change(chat, notices=[_notice(chat, user, "joined", f"{user.name} joined the chat", now)],
                        gone=[(user.id, chat.id, "accepted")], staff={user.id, *([chat.recruiter_id] if chat.recruiter_id else [])})
        if inviter is not None:
            change.staff.add(inviter.id)
        return change
    if chat.offered_to_id != user.id or chat.status not in (L.WAITING.value, L.TRANSFER.value):
        raise Conflict("This chat isn't offered to you (any more).", code="offer_gone")
    if chat.offer_expires_at is not None and chat.offer_expires_at <= now:
        raise Conflict("The time to accept this chat has run out.", code="offer_expired")
    if not await chats._claim(session, chat.id, user, now):  # noqa: SLF001 -- the one claim every path shares
        raise Conflict("Someone else has taken this chat.", code="already_taken")
    chat = await _lock(session, chat.id)
    return Change(chat, notices=[_notice(chat, user, "joined", f"{user.name} joined the chat", now, role_in_chat="owner")],
                  gone=[(user.id, chat.id, "accepted")], queues={chat.queue}, staff={user.id})


async def _move_on(session: AsyncSession, chat: LiveChat, user_id: int, outcome: str, now: dt.datetime) -> Change:
    """The offer to `user_id` ended without an accept: the next person gets it, else the chat waits to be taken
    (a chat forwarded to one person goes back to its own queue). A forward's note and sender go with it to the next person."""
    ended = (await session.execute(select(Offer).where(Offer.live_chat_id == chat.id, Offer.user_id == user_id, Offer.outcome == "pending",
                                                       Offer.reason != "invite"))).scalars().first()
    by = await session.get(User, ended.from_user_id) if ended is not None and ended.from_user_id else None
    await session.execute(update(Offer).where(Offer.live_chat_id == chat.id, Offer.user_id == user_id, Offer.outcome == "pending",
                                              Offer.reason != "invite").values(outcome=outcome, decided_at=now))
    chat.offered_to_id, chat.offer_expires_at, chat.updated_at = None, None, now
    change = Change(chat, gone=[(user_id, chat.id, outcome)], queues={chat.queue})
    was_forward = chat.status == L.TRANSFER.value
    if was_forward and chat.queue.startswith("user:"):
        chat.queue = home(chat)
        change.queues.add(chat.queue)
    nxt = await offer_next(session, chat, now, reason="forward" if was_forward else "route", by=by, note=ended.note if ended else "",
                           automatic_only=not was_forward)
    if nxt is not None:
        change.offered.append(nxt)
    return change


async def decline(session: AsyncSession, ctx: actions.Context, user: User, chat_id: int) -> Change:
    chat = await _lock(session, chat_id)
    await _known_to(session, chat, user, ctx.now)
    now = ctx.now
    invite = await _pending_invite(session, chat.id, user.id)
    if invite is not None:
        invite.outcome, invite.decided_at = "declined", now
        change = Change(chat, gone=[(user.id, chat.id, "declined")])
        if invite.from_user_id:
            change.staff.add(invite.from_user_id)
        return change
    if chat.offered_to_id != user.id:
        raise Conflict("This chat isn't offered to you (any more).", code="offer_gone")
    return await _move_on(session, chat, user.id, "declined", now)


async def due_offers(session: AsyncSession, now: dt.datetime, limit: int = 100) -> list[int]:
    """Offers whose time ran out, oldest first."""
    return list((await session.execute(select(Offer.id).where(Offer.outcome == "pending", Offer.expires_at <= now)
                                       .order_by(Offer.expires_at, Offer.id).limit(limit))).scalars())


async def expire(session: AsyncSession, ctx: actions.Context, offer_id: int) -> Change | None:
    """One expired offer moves on (run in a transaction of its own); None when it was answered meanwhile."""
    offer = await session.get(Offer, offer_id)
    if offer is None:
        return None
    chat = await _lock(session, offer.live_chat_id)
    offer = (await session.execute(select(Offer).where(Offer.id == offer_id).execution_options(populate_existing=True))).scalar_one()
    if offer.outcome != "pending" or offer.expires_at > ctx.now:
        return None
    if offer.reason == "invite":
        offer.outcome, offer.decided_at = "expired", ctx.now
        change = Change(chat, gone=[(offer.user_id, chat.id, "expired")])
        if offer.from_user_id:
            change.staff.add(offer.from_user_id)
        return change
    if chat.offered_to_id != offer.user_id:
        offer.outcome, offer.decided_at = "withdrawn", ctx.now
        return Change(chat, gone=[(offer.user_id, chat.id, "withdrawn")])
    return await _move_on(session, chat, offer.user_id, "expired", ctx.now)


async def my_offers(session: AsyncSession, user: User, now: dt.datetime) -> list[tuple[Offer, LiveChat]]:
    rows = await session.execute(select(Offer, LiveChat).join(LiveChat, LiveChat.id == Offer.live_chat_id)
                                 .where(Offer.user_id == user.id, Offer.outcome == "pending", Offer.expires_at > now).order_by(Offer.expires_at))
    return [(o, c) for o, c in rows]


# --------------------------------------------------------------------------- join, take over, invite, forward


async def _set_member(session: AsyncSession, chat: LiveChat, user: User, mode: str, now: dt.datetime, *, via: str,
                      invited_by: User | None = None) -> None:
    row = (await session.execute(select(ChatMember).where(ChatMember.live_chat_id == chat.id, ChatMember.user_id == user.id))).scalar_one_or_none()
    if row is None:
        session.add(ChatMember(live_chat_id=chat.id, user_id=user.id, mode=mode, via=via, invited_by_id=invited_by.id if invited_by else None,
                               joined_at=now, left_at=None))
    else:
        if row.left_at is not None:
            row.joined_at, row.via = now, via
        row.mode, row.left_at = mode, None
    await session.flush()


async def join(session: AsyncSession, ctx: actions.Context, user: User, chat_id: int, *, invisible: bool) -> Change:
    """Joins an ongoing chat: visibly (everyone, the candidate included, is told; both answer) or invisibly (nobody is
    told; the joiner reads along and may later join visibly or take the chat over)."""
    chat = await _lock(session, chat_id)
    await _known_to(session, chat, user, ctx.now)
    if chat.status != L.ACTIVE.value:
        raise Conflict("Only an ongoing chat can be joined.", code="not_active")
    if not await may_join(session, chat, user):
        raise NotFound("No such chat.", code="chat_not_found")
    if chat.recruiter_id == user.id:
        raise Conflict("You already have this chat.", code="already_in_chat")
    current = await chats.member_mode(session, chat.id, user.id)
    mode = "invisible" if invisible else "visible"
    if current == mode:
        raise Conflict("You're already in this chat.", code="already_in_chat")
    if current == "visible" and invisible:
        raise Conflict("You've joined visibly; leave the chat instead.", code="already_in_chat")
    await _set_member(session, chat, user, mode, ctx.now, via="join")
    change = Change(chat, staff={user.id, *([chat.recruiter_id] if chat.recruiter_id else [])})
    if not invisible:
        change.notices.append(_notice(chat, user, "joined", f"{user.name} joined the chat", ctx.now))
        # Joined without the invitation they had: it is answered (accepting it later would announce them a second time).
        settled = await session.execute(update(Offer).where(Offer.live_chat_id == chat.id, Offer.user_id == user.id, Offer.outcome == "pending",
                                                            Offer.reason == "invite").values(outcome="accepted", decided_at=ctx.now))
        if settled.rowcount:  # type: ignore[attr-defined]
            change.gone.append((user.id, chat.id, "accepted"))
    return change


async def take_over(session: AsyncSession, ctx: actions.Context, user: User, chat_id: int, *, owner_id: int | None = None) -> Change:
    """Makes the caller the chat's owner; the previous owner leaves it (and gets their seat back). With `owner_id` (the
    owner the caller saw), a chat someone else took over meanwhile is refused: of two take-overs at once, one wins."""
    chat = await _lock(session, chat_id)
    await _known_to(session, chat, user, ctx.now)
    if chat.status != L.ACTIVE.value:
        raise Conflict("Only an ongoing chat can be taken over.", code="not_active")
    if not await may_join(session, chat, user):
        raise NotFound("No such chat.", code="chat_not_found")
    if chat.recruiter_id == user.id:
        raise Conflict("You already have this chat.", code="already_in_chat")
    if owner_id is not None and chat.recruiter_id != owner_id:
        raise Conflict("A colleague has just taken this chat over.", code="owner_changed")
    old = chat.recruiter_id
    await _move_seat(session, old, user.id, ctx.now)
    chat.recruiter_id, chat.updated_at = user.id, ctx.now
    await session.execute(delete(ChatMember).where(ChatMember.live_chat_id == chat.id, ChatMember.user_id == user.id))
    await chats.record_former_owner(session, chat.id, old, ctx.now)
    # An invitation the new owner had into this chat is void: accepted later, it would make them a member of their own chat.
    invited = await session.execute(update(Offer).where(Offer.live_chat_id == chat.id, Offer.user_id == user.id, Offer.outcome == "pending",
                                                        Offer.reason == "invite").values(outcome="withdrawn", decided_at=ctx.now))
    await session.flush()
    return Change(chat, notices=[_notice(chat, user, "took_over", f"{user.name} took over the chat", ctx.now)],
                  gone=[(user.id, chat.id, "withdrawn")] if invited.rowcount else [],  # type: ignore[attr-defined]
                  staff={user.id, *([old] if old else [])}, freed={chat.queue})  # the previous owner has a seat free now


def _note(note: str) -> str:
    return jobs._text(note, "note", 1000)  # noqa: SLF001


async def invite(session: AsyncSession, ctx: actions.Context, user: User, chat_id: int, target_id: int, note: str = "") -> Change:
    """Invites an online colleague to join the chat while the caller stays; they accept within the event's time."""
    chat = await _lock(session, chat_id)
    await _known_to(session, chat, user, ctx.now)
    await _require_owner(session, chat, user)
    note = _note(note)
    people, _ = await forward_targets(session, chat)
    if target_id in (user.id, chat.recruiter_id) or target_id not in people:
        raise Invalid("Invite a colleague who works on this chat's event or job req.", code="invalid_target")
    if await chats.member_mode(session, chat.id, target_id) == "visible":
        raise Conflict("They're already in this chat.", code="already_in_chat")
    if not await routing.online_ids(session, [target_id], ctx.now):
        raise Conflict("That colleague isn't online; invite someone who is.", code="not_online")
    pending = await session.scalar(select(Offer.id).where(Offer.live_chat_id == chat.id, Offer.user_id == target_id, Offer.outcome == "pending",
                                                          Offer.reason == "invite"))
    if pending is not None:
        raise Conflict("They already have an invitation to this chat.", code="already_invited")
    settings = await routing.desk_settings(session, chat.event_id)
    offer = await _offer(session, chat, target_id, reason="invite", by=user, note=note, seconds=settings.offer_seconds, now=ctx.now)
    return Change(chat, offered=[offer])


async def forward(session: AsyncSession, ctx: actions.Context, user: User, chat_id: int, *, to_user: int | None, to_team: int | None,
                  note: str = "") -> Change:
    """Hands the chat to an online colleague or to a team, with a note for them; the candidate is told. The chat leaves
    the caller's hands at once and is offered to the colleague (or the team's longest-idle free member) to accept in
    time; unanswered, it goes to the team's next member or back to its queue."""
    chat = await _lock(session, chat_id)
    await _known_to(session, chat, user, ctx.now)
    await _require_owner(session, chat, user)
    note = _note(note)
    if (to_user is None) == (to_team is None):
        raise Invalid("Forward to a person or to a team.", code="invalid_target")
    people, teams = await forward_targets(session, chat)
    now = ctx.now
    if to_user is not None:
        if to_user == chat.recruiter_id or to_user not in people:
            raise Invalid("Forward to a colleague who works on this chat's event or job req.", code="invalid_target")
        if not await routing.online_ids(session, [to_user], now):
            raise Conflict("That colleague isn't online; forward to someone who is, or to a team.", code="not_online")
        target = await session.get(User, to_user)
        assert target is not None
        queue, team_id, label = f"user:{to_user}", None, target.name
    else:
        team = next((t for t in teams if t.id == to_team), None)
        if team is None:
            raise Invalid("Forward to one of the event's teams.", code="invalid_target")
        if not await routing.online_ids(session, await routing.team_member_ids(session, team.id), now):
            raise Conflict("Nobody of that team is online; forward to a team or colleague who is.", code="not_online")
        queue, team_id, label = f"team:{team.id}", team.id, f"the {team.name} team"
    old_queue, old_owner = chat.queue, chat.recruiter_id
    await chats._free_seat(session, chat)  # noqa: SLF001
    invited = await chats.withdraw_offers(session, chat, now)  # invitations into the chat go with the one who leaves it
    chat.status, chat.recruiter_id, chat.queue, chat.team_id, chat.updated_at = L.TRANSFER.value, None, queue, team_id, now
    await chats.record_former_owner(session, chat.id, old_owner, now)
    change = Change(chat, notices=[_notice(chat, user, "forwarded", f"{user.name} is transferring you to {label}. Please stay in the chat.", now,
                                           to=label)],
                    gone=[(u, chat.id, "withdrawn") for u in invited], queues={old_queue, queue}, freed={old_queue},
                    staff={u for u in (old_owner, user.id) if u})
    offer: Offer | None
    if to_user is not None:
        settings = await routing.desk_settings(session, chat.event_id)
        offer = await _offer(session, chat, to_user, reason="forward", by=user, note=note, seconds=settings.offer_seconds, now=now)
    else:
        offer = await offer_next(session, chat, now, reason="forward", by=user, note=note)
    if offer is not None:
        change.offered.append(offer)
    return change


async def leave(session: AsyncSession, ctx: actions.Context, user: User, chat_id: int, *, subject: str = "", assignee_id: int | None = None,
                email_transcript: bool = False, continue_link: str = "") -> Change:
    """Leaves a chat. A member just goes (announced when visible). The owner hands it to the earliest visible member with
    a free seat; when nobody stays, the chat ends and becomes a follow-up ticket (the candidate's first question as subject)."""
    chat = await _lock(session, chat_id)
    await _known_to(session, chat, user, ctx.now)
    now = ctx.now
    mode = await chats.member_mode(session, chat.id, user.id)
    if mode is not None and chat.recruiter_id != user.id:
        await session.execute(update(ChatMember).where(ChatMember.live_chat_id == chat.id, ChatMember.user_id == user.id).values(left_at=now))
        change = Change(chat, staff={user.id, *([chat.recruiter_id] if chat.recruiter_id else [])})
        if mode == "visible":
            change.notices.append(_notice(chat, user, "left", f"{user.name} left the chat", now))
        return change
    if chat.recruiter_id != user.id or chat.status != L.ACTIVE.value:
        raise Conflict("You aren't in this chat.", code="not_in_chat")
    for member, person in await members(session, chat.id):
        if member.mode != "visible":
            continue
        try:
            async with session.begin_nested():
                await _move_seat(session, user.id, person.id, now)
        except Conflict:
            continue
        chat.recruiter_id, chat.updated_at = person.id, now
        await session.execute(delete(ChatMember).where(ChatMember.id == member.id))
        await chats.record_former_owner(session, chat.id, user.id, now)
        return Change(chat, notices=[_notice(chat, user, "left", f"{user.name} left the chat; {person.name} continues", now)],
                      staff={user.id, person.id}, freed={chat.queue})
    await chats._free_seat(session, chat)  # noqa: SLF001
    gone = await chats.withdraw_offers(session, chat, now)
    chat.status, chat.ended_at, chat.ended_by, chat.outcome, chat.updated_at = L.ENDED.value, now, "recruiter", "follow_up", now
    await session.execute(update(ChatMember).where(ChatMember.live_chat_id == chat.id, ChatMember.left_at.is_(None)).values(left_at=now))
    change = Change(chat, notices=[_notice(chat, user, "left", f"{user.name} has left the chat. We'll follow up by email.", now)],
                    gone=[(u, chat.id, "withdrawn") for u in gone], freed={chat.queue}, staff={user.id})
    change.ticket = await open_ticket(session, ctx, chat, user, subject=subject, status="open", assignee_id=assignee_id,
                                      email_transcript=email_transcript, continue_link=continue_link)
    return change


# --------------------------------------------------------------------------- tickets


async def first_question(session: AsyncSession, chat: LiveChat) -> str:
    """The candidate's first own line (pre-chat answers aside), else what the chat was about."""
    for entry in await conversations.since(session, chats.key(chat.id), 0, limit=200):
        if entry.kind == "message" and entry.body.get("role") == "candidate" and not (entry.client_id or "").startswith("prechat-"):
            text = " ".join(str(entry.body.get("text", "")).split())
            return text if len(text) <= 200 else text[:199] + "…"
    job = await session.get(JobReq, chat.job_req_id) if chat.job_req_id else None
    return f"Chat with {chat.candidate_name}" + (f" about {job.title}" if job else "")


async def transcript_text(session: AsyncSession, chat: LiveChat) -> str:
    lines = []
    for entry in await conversations.since(session, chats.key(chat.id), 0):
        who = "Bot" if entry.kind == "bot" else ("" if entry.kind == "notice" else str(entry.body.get("name") or ""))
        text = str(entry.body.get("text", ""))
        if entry.body.get("attachment"):
            text = f"[file] {entry.body['attachment'].get('name', '')}"
        lines.append(f"[{entry.at.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC] {who + ': ' if who else ''}{text}")
    return "\n".join(lines)


async def ticket_people(session: AsyncSession, chat: LiveChat) -> list[int]:
    """Who may be assigned a chat's ticket: those who serve it (its queue's, its team's, its job req's recruiters) and the
    event's organizers; not every recruiter at the event (a ticket of one company's booth stays with that company)."""
    ids = await desk_ids(session, chat)
    if chat.job_req_id is not None:
        ids |= set(await jobs.assignee_ids(session, chat.job_req_id))
    if chat.event_id is not None:
        ids |= set((await session.execute(select(Participant.user_id).where(
            Participant.event_id == chat.event_id, Participant.role == Role.ORGANIZER.value))).scalars())
    return sorted(ids)


async def _check_assignee(session: AsyncSession, chat: LiveChat, assignee_id: int | None) -> int | None:
    if assignee_id is None:
        return None
    if assignee_id not in await ticket_people(session, chat):
        raise Invalid("Assign the ticket to a colleague who answers this chat's queue, or to an organizer.", code="invalid_assignee")
    return assignee_id


async def open_ticket(session: AsyncSession, ctx: actions.Context, chat: LiveChat, actor: User, *, subject: str = "", status: str = "open",
                      assignee_id: int | None = None, email_transcript: bool = False, continue_link: str = "") -> Ticket:
    """The ticket a chat leaves behind (one per chat). Ending a reopened chat again updates its ticket: the status as
    given, the subject and assignee only when given (what was set on the ticket's page stays). The transcript goes to
    the candidate on request."""
    if status not in TICKET_STATUSES:
        raise Invalid("A ticket is open, pending or solved.", code="invalid_ticket_status")
    given = actions.one_line(subject, "subject", required=False, limit=200)
    assignee = await _check_assignee(session, chat, assignee_id)
    ticket = (await session.execute(select(Ticket).where(Ticket.live_chat_id == chat.id))).scalar_one_or_none()
    if ticket is None:
        ticket = Ticket(live_chat_id=chat.id, subject=given or await first_question(session, chat), status=status, assignee_id=assignee,
                        created_by_id=actor.id, created_at=ctx.now, updated_at=ctx.now)
        session.add(ticket)
    else:
        ticket.status, ticket.updated_at = status, ctx.now
        if given:
            ticket.subject = given
        if assignee is not None:
            ticket.assignee_id = assignee
    if email_transcript:
        if not chat.candidate_email:
            raise Invalid("This candidate left no email address.", code="no_email")
        await send_transcript(session, ctx, chat, actor, continue_link)
        ticket.transcript_sent_at = ctx.now
    await session.flush()
    return ticket


async def send_transcript(session: AsyncSession, ctx: actions.Context, chat: LiveChat, actor: User, continue_link: str) -> None:
    job = await session.get(JobReq, chat.job_req_id) if chat.job_req_id else None
    about = f" about {job.title}" if job else ""
    # A link to continue only where the candidate can still write (a thread); an ended chat is reopened by staff replying.
    more = (f"To write back, continue the chat here (the link works for 7 days):\n{continue_link}\n" if continue_link and chat.status == L.NOTE.value
            else "If there is anything more, we'll write to you at this address.\n")
    body = f"Hello {chat.candidate_name},\n\nHere is your chat{about} with {actor.name}.\n\n{await transcript_text(session, chat)}\n\n{more}"
    session.add(chats.outbox_row(chat.candidate_email, chat.candidate_name, "live_transcript",
                                 outbox.Mail(subject=f"Your chat{about}", body=body), ctx.now))


async def end_with_ticket(session: AsyncSession, ctx: actions.Context, user: User, chat: LiveChat, *, subject: str, status: str,
                          assignee_id: int | None, email_transcript: bool, continue_link: str) -> Ticket:
    """After `chats.end_by_staff`: members leave with the owner, offers are withdrawn, and the ticket record is written."""
    await session.execute(update(ChatMember).where(ChatMember.live_chat_id == chat.id, ChatMember.left_at.is_(None)).values(left_at=ctx.now))
    return await open_ticket(session, ctx, chat, user, subject=subject, status=status, assignee_id=assignee_id, email_transcript=email_transcript,
                             continue_link=continue_link)


# --------------------------------------------------------------------------- ratings


async def ask_rating(session: AsyncSession, ctx: actions.Context, user: User, chat_id: int) -> Change:
    chat = await _lock(session, chat_id)
    await _known_to(session, chat, user, ctx.now)
    if chat.status not in (L.ACTIVE.value, L.ENDED.value, L.NOTE.value):
        raise Conflict("Ask for a rating once the chat has started.", code="not_active")
    if not user.is_admin:
        if chat.status == L.ACTIVE.value:
            await _visible_staff(session, chat, user)
        elif chat.recruiter_id != user.id:
            raise Forbidden("Only the staff member who had this chat can ask.", code="not_your_chat")
    if chat.rated_at is not None:
        raise Conflict("The candidate has already rated this chat.", code="already_rated")
    style = (await routing.desk_settings(session, chat.event_id)).rating_style
    chat.rating_asked_at = ctx.now
    bot = Append(chats.key(chat.id), "bot", None, {"text": "How was this chat? Your rating helps us get better.", "bot": True,
                                                   "rating_request": {"style": style, "scale": RATING_SCALES[style]}}, ctx.now)
    return Change(chat, notices=[bot])


async def rate(session: AsyncSession, ctx: actions.Context, chat: LiveChat, score: int, comment: str) -> Append:
    """The candidate's rating, once asked: 1-5 stars or 1-3 smileys, with an optional comment; a second answer replaces the first."""
    if chat.rating_asked_at is None:
        raise Conflict("Nobody asked for a rating in this chat.", code="rating_not_asked")
    style = (await routing.desk_settings(session, chat.event_id)).rating_style
    scale = RATING_SCALES[style]
    if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= scale:
        raise Invalid(f"Rate from 1 to {scale}.", code="invalid_rating")
    chat.rating, chat.rating_comment, chat.rated_at, chat.updated_at = score, jobs._text(comment, "comment", 1000), ctx.now, ctx.now  # noqa: SLF001
    return Append(chats.key(chat.id), "notice", None, {"event": "rated", "name": chat.candidate_name, "role": "candidate", "rating": score,
                                                       "scale": scale, "text": f"{chat.candidate_name} rated the chat {score} of {scale}"},
                  ctx.now)


# --------------------------------------------------------------------------- automatic resolve


async def seen(session: AsyncSession, chat_id: int, now: dt.datetime) -> None:
    await session.execute(update(LiveChat).where(LiveChat.id == chat_id).values(candidate_seen_at=now))


async def idle_chats(session: AsyncSession, now: dt.datetime, limit: int = 100) -> list[int]:
    """Open chats due to be resolved: their candidate has shown no sign of life for their event's time (chats of events that
    never resolve are left out here, so however many of them there are, they can't fill the batch and hold others up)."""
    open_ = (L.ACTIVE.value, L.WAITING.value, L.TRANSFER.value)
    times = set((await session.execute(select(Event.live_resolve_minutes).join(LiveChat, LiveChat.event_id == Event.id)
                                       .where(LiveChat.status.in_(open_)).distinct())).scalars())
    default = routing.DeskSettings().resolve_minutes  # chats without an event
    due = [and_(Event.live_resolve_minutes == m, LiveChat.candidate_seen_at <= now - dt.timedelta(minutes=m)) for m in sorted(times) if m > 0]
    if default > 0:
        due.append(and_(LiveChat.event_id.is_(None), LiveChat.candidate_seen_at <= now - dt.timedelta(minutes=default)))
    if not due:
        return []
    return list((await session.execute(
        select(LiveChat.id).outerjoin(Event, Event.id == LiveChat.event_id).where(LiveChat.status.in_(open_), or_(*due))
        .order_by(LiveChat.candidate_seen_at).limit(limit)
    )).scalars())


async def resolve_if_idle(session: AsyncSession, ctx: actions.Context, chat_id: int) -> Change | None:
    """Resolves a chat whose candidate left (no connection, no activity) for the event's time; None when it isn't due."""
    chat = await _lock(session, chat_id)
    minutes = (await routing.desk_settings(session, chat.event_id)).resolve_minutes
    if minutes <= 0 or chat.status not in (L.ACTIVE.value, L.WAITING.value, L.TRANSFER.value):
        return None
    if chat.candidate_seen_at is None or chat.candidate_seen_at > ctx.now - dt.timedelta(minutes=minutes):
        return None
    was_active = chat.status == L.ACTIVE.value
    await chats._free_seat(session, chat)  # noqa: SLF001
    gone = await chats.withdraw_offers(session, chat, ctx.now)
    owner = chat.recruiter_id
    chat.status, chat.ended_at, chat.ended_by, chat.outcome, chat.updated_at = L.ENDED.value, ctx.now, "system", "resolved", ctx.now
    await session.execute(update(ChatMember).where(ChatMember.live_chat_id == chat.id, ChatMember.left_at.is_(None)).values(left_at=ctx.now))
    text = f"Resolved automatically: {chat.candidate_name} left {minutes} minute{'s' if minutes != 1 else ''} ago."
    return Change(chat, notices=[_notice(chat, None, "resolved", text, ctx.now)], gone=[(u, chat.id, "withdrawn") for u in gone],
                  queues={chat.queue}, freed={chat.queue} if was_active else set(), staff={owner} if owner else set())


# --------------------------------------------------------------------------- what colleagues are doing


async def ongoing(session: AsyncSession, user: User, now: dt.datetime) -> list[tuple[LiveChat, User | None, str | None]]:
    """Colleagues' ongoing chats the caller may join (their queues' and, for supervisors, their events' and job reqs'),
    with the owner and the caller's membership. Only names and times: the transcript opens once they join."""
    queues = await chats.serving_queues(session, user, now)
    stmt = select(LiveChat).where(LiveChat.status == L.ACTIVE.value, LiveChat.recruiter_id != user.id)
    scope: list[Any] = [LiveChat.queue.in_(queues)]
    organizer_of = list((await session.execute(select(Participant.event_id).where(
        Participant.user_id == user.id, Participant.role == Role.ORGANIZER.value))).scalars())
    if organizer_of:
        scope.append(LiveChat.event_id.in_(organizer_of))
    homes = [q for q in queues if q.startswith(("job:", "booth:", "support:"))]
    job_ids = [int(q.split(":")[1]) for q in homes if q.startswith("job:")]
    if job_ids:
        scope.append(and_(LiveChat.job_req_id.in_(job_ids), LiveChat.team_id.is_(None)))
    if not user.is_admin:
        stmt = stmt.where(or_(*scope))
    out = []
    for chat in (await session.execute(stmt.order_by(LiveChat.taken_at).limit(200))).scalars():
        if not await may_join(session, chat, user):
            continue
        owner = await session.get(User, chat.recruiter_id) if chat.recruiter_id else None
        out.append((chat, owner, await chats.member_mode(session, chat.id, user.id)))
    return out
