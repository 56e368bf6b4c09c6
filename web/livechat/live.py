"""What the live-chat API and sockets share: views of a chat for its candidate and its staff, frames, and publishing after commit."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Any

import orjson
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from scheduling import actions, conversations
from scheduling.livechat import chats, desk, routing, tickets
from scheduling.livechat import estimate as est
from scheduling.livechat.desk_models import Offer, Team, Ticket
from scheduling.livechat.models import JobReq, LiveChat, LiveStatus
from scheduling.models import Company, Event, User
from signaling import livechat as lp
from web.http import Resources, context_for
from web.settings import Settings

log = logging.getLogger(__name__)
L = LiveStatus
CONTINUE_SALT = "fairmeet-live-continue"
QUEUE_COALESCE = 0.05  # seconds
MAX_ASSIGN_ROUNDS = 200
CONTINUE_SECONDS = 7 * 24 * 3600


def continue_link(settings: Settings, chat_id: int) -> str:
    signed = URLSafeTimedSerializer(settings.secret_key, salt=CONTINUE_SALT).dumps({"c": chat_id})
    return f"{settings.base_url}/live/continue/{signed}"


def continue_chat_id(settings: Settings, signed: str) -> int | None:
    try:
        data = URLSafeTimedSerializer(settings.secret_key, salt=CONTINUE_SALT).loads(signed, max_age=CONTINUE_SECONDS)
    except (BadSignature, SignatureExpired):
        return None
    value = data.get("c") if isinstance(data, dict) else None
    return value if isinstance(value, int) else None


def event_frame(chat_id: int, entry: conversations.Entry) -> dict[str, Any]:
    author = None
    if entry.author_id is not None or entry.body.get("role") == "candidate":
        author = {"id": entry.author_id, "name": entry.body.get("name", ""), "role": entry.body.get("role", "")}
    return lp.event(chat_id, seq=entry.seq, kind=entry.kind, author=author, body=entry.body, at=entry.at.isoformat(), client_id=entry.client_id)


def person(user: User | None) -> dict[str, Any] | None:
    return None if user is None else {"id": user.id, "name": user.name, "avatar_url": None}


async def candidate_view(session: AsyncSession, chat: LiveChat, now: dt.datetime) -> dict[str, Any]:
    job = await session.get(JobReq, chat.job_req_id) if chat.job_req_id else None
    recruiter = await session.get(User, chat.recruiter_id) if chat.recruiter_id else None
    pos = await chats.position(session, chat)
    estimate = est.estimate(pos, await chats.staffing(session, chat.queue, now)).as_dict() if pos else None
    mode = job.when_unavailable if job else "note"
    settings = await routing.desk_settings(session, chat.event_id)
    return {
        "id": chat.id, "kind": chat.kind, "status": chat.status, "name": chat.candidate_name, "position": pos, "estimated_wait": estimate,
        "recruiter": {"name": recruiter.name, "avatar_url": None, "title": await staff_title(session, chat, recruiter)} if recruiter else None,
        "apply_url": job.apply_url or None if job else None,
        "job": {"id": job.id, "title": job.title, "company": job.company, "url": f"/jobs/{job.id}"} if job else None,
        "note_after_seconds": job.note_after_seconds if job else 180,
        "can_leave_note": mode in ("note", "both") and chat.status in (L.AWAY.value, L.WAITING.value),
        "can_callback": mode in ("callback", "both") and bool(chat.candidate_phone) and chat.status in (L.AWAY.value, L.WAITING.value),
        "resume": {"name": chat.resume_name, "size": chat.resume_size} if chat.resume_file else None,
        "last_seq": await conversations.last_seq(session, chats.key(chat.id)),
        "rating": _rating(chat, settings),
        "reopened": await session.scalar(select(Ticket.id).where(Ticket.live_chat_id == chat.id)) is not None,  # a thread a staff reply reopened
        "emoji": settings.emoji_candidate,
    }


def _rating(chat: LiveChat, settings: routing.DeskSettings) -> dict[str, Any] | None:
    """The rating prompt once staff asked for it, with the candidate's answer when given."""
    if chat.rating_asked_at is None:
        return None
    return {"style": settings.rating_style, "scale": desk.RATING_SCALES[settings.rating_style], "score": chat.rating,
            "comment": chat.rating_comment, "rated": chat.rated_at is not None}


async def staff_view(session: AsyncSession, chat: LiveChat, viewer: User | None = None) -> dict[str, Any]:
    job = await session.get(JobReq, chat.job_req_id) if chat.job_req_id else None
    event = await session.get(Event, chat.event_id) if chat.event_id else None
    company = await session.get(Company, chat.company_id) if chat.company_id else None
    recruiter = await session.get(User, chat.recruiter_id) if chat.recruiter_id else None
    return {
        "id": chat.id, "kind": chat.kind, "queue": chat.queue, "status": chat.status,
        "candidate": {"name": chat.candidate_name, "email": chat.candidate_email, "phone": chat.candidate_phone, "sms_consent": chat.sms_consent,
                      "talent_id": chat.talent_id},
        "fields": orjson.loads(chat.fields or "{}"), "answers": orjson.loads(chat.answers or "[]"),
        "job": {"id": job.id, "title": job.title, "company": job.company, "location": job.location, "apply_url": job.apply_url} if job else None,
        "event": {"id": event.id, "name": event.name} if event else None,
        "company": {"id": company.id, "name": company.name} if company else None,
        "source_url": chat.source_url, "current_url": chat.current_url, "user_agent": chat.user_agent,
        "resume": {"name": chat.resume_name, "size": chat.resume_size, "type": chat.resume_type, "url": f"/api/v1/live-chats/{chat.id}/resume"}
        if chat.resume_file else None,
        "private_notes": chat.private_notes, "next_step": chat.next_step, "outcome": chat.outcome, "next_steps": chats.next_steps(event),
        "recruiter": person(recruiter),
        "queued_at": _iso(chat.queued_at), "taken_at": _iso(chat.taken_at), "ended_at": _iso(chat.ended_at), "created_at": _iso(chat.created_at),
        "last_seq": await conversations.last_seq(session, chats.key(chat.id)),
        **await desk_view(session, chat, event, viewer),
    }


async def desk_view(session: AsyncSession, chat: LiveChat, event: Event | None, viewer: User | None) -> dict[str, Any]:
    """The desk's side of a chat for its staff: who is in it (invisible members only to staff), the offer, the forward's
    note, the team, the ticket, the rating, and the event's desk settings; `you` is the viewer's part in it."""
    settings = routing.settings_of(event)
    people = await desk.members(session, chat.id)
    offered = await session.get(User, chat.offered_to_id) if chat.offered_to_id else None
    team = await session.get(Team, chat.team_id) if chat.team_id else None
    ticket = (await session.execute(select(Ticket).where(Ticket.live_chat_id == chat.id))).scalar_one_or_none()
    forward = (await session.execute(select(Offer).where(Offer.live_chat_id == chat.id, Offer.reason == "forward")
                                     .order_by(Offer.offered_at.desc(), Offer.id.desc()).limit(1))).scalar_one_or_none()
    forwarded_by = await session.get(User, forward.from_user_id) if forward and forward.from_user_id else None
    you = None
    if viewer is not None:
        mode = next((m.mode for m, u in people if u.id == viewer.id), None)
        you = "owner" if chat.recruiter_id == viewer.id else mode or ("offered" if chat.offered_to_id == viewer.id else "observer")
    return {
        "members": [{"id": u.id, "name": u.name, "mode": m.mode, "via": m.via, "joined_at": m.joined_at.isoformat()} for m, u in people],
        "offered_to": person(offered), "offer_expires_at": _iso(chat.offer_expires_at),
        "team": {"id": team.id, "name": team.name} if team else None,
        "forwarded": {"by": person(forwarded_by), "note": forward.note, "at": forward.offered_at.isoformat()} if forward else None,
        "ticket": {"id": ticket.id, "subject": ticket.subject, "status": ticket.status, "assignee_id": ticket.assignee_id,
                   "url": f"/live/tickets/{ticket.id}"} if ticket else None,
        "rating": {"score": chat.rating, "scale": desk.RATING_SCALES[settings.rating_style], "comment": chat.rating_comment,
                   "asked": chat.rating_asked_at is not None} if chat.rating_asked_at else None,
        "desk": settings.as_dict(), "you": you,
        "first_reply_at": _iso(chat.first_reply_at), "candidate_seen_at": _iso(chat.candidate_seen_at),
    }


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def status_frame(chat: LiveChat, recruiter: User | None, apply_url: str | None, title: str = "") -> dict[str, Any]:
    return {"type": "status", "chat": chat.id, "status": chat.status,
            "recruiter": {"name": recruiter.name, "avatar_url": None, "title": title} if recruiter else None, "apply_url": apply_url or None}


async def staff_title(session: AsyncSession, chat: LiveChat, user: User) -> str:
    """What the candidate reads under a staff member's name: their own role and company at the chat's event (after a
    forward it may be another company's recruiter or an organizer), else Recruiter and the job req's company."""
    if chat.event_id is not None:
        member = await actions.participation(session, chat.event_id, user.id)
        if member is not None and member.role == "organizer":
            event = await session.get(Event, chat.event_id)
            return f"Organizer · {event.name}" if event else "Organizer"
        if member is not None and member.company_id is not None:
            company = await session.get(Company, member.company_id)
            if company is not None:
                return f"Recruiter · {company.name}"
    job = await session.get(JobReq, chat.job_req_id) if chat.job_req_id else None
    return f"Recruiter · {job.company}" if job else "Recruiter"


async def queue_label(session: AsyncSession, queue: str) -> str:
    kind, _, rest = queue.partition(":")
    if kind == "job":
        job = await session.get(JobReq, int(rest))
        return f"{job.title} ({job.company})" if job else "Job req"
    if kind == "booth":
        company = await session.get(Company, int(rest.split(":")[1]))
        return f"{company.name} booth" if company else "Booth"
    if kind == "team":
        team = await session.get(Team, int(rest))
        return f"{team.name} team" if team else "Team"
    if kind == "user":
        return "Sent to you"
    return "Event support"


async def queue_frame(session: AsyncSession, queue: str, now: dt.datetime) -> dict[str, Any]:
    waiting = await chats.waiting(session, queue)
    staff = await chats.staffing(session, queue, now)
    return {
        "type": "queue", "queue": queue, "label": await queue_label(session, queue),
        "waiting": [{"id": w.id, "name": w.name, "since": w.queued_at.isoformat(), "title": w.title} for w in waiting],
        "staffing": {"online": staff.online, "seats": staff.seats, "free": staff.free, "handle_seconds": staff.handle_seconds},
        "notes": [{"id": n.id, "name": n.name, "since": n.queued_at.isoformat(), "title": n.title, "status": "note", "queue": queue}
                  for n in await chats.open_notes(session, queue)],
        "transfers": [{"id": t.id, "name": t.name, "since": t.queued_at.isoformat(), "title": t.title}
                      for t in await chats.transfers(session, queue)],
    }


async def offer_frame(session: AsyncSession, offer: Offer) -> dict[str, Any]:
    """What pops up on the console of the person a chat is offered to (or who is invited into one)."""
    chat = await session.get(LiveChat, offer.live_chat_id)
    assert chat is not None
    by = await session.get(User, offer.from_user_id) if offer.from_user_id else None
    return {"type": "offer", "chat": chat.id, "reason": offer.reason, "name": chat.candidate_name, "label": await queue_label(session, chat.queue),
            "by": person(by), "note": offer.note, "expires_at": offer.expires_at.isoformat(), "offered_at": offer.offered_at.isoformat()}


def queue_positions(frame: dict[str, Any]) -> dict[int, int]:
    return {w["id"]: n for n, w in enumerate(frame.get("waiting", ()), 1)}


def personal_queue(positions: dict[int, int], staffing: dict[str, Any], chat_id: int, cap: int | None = None) -> dict[str, Any] | None:
    """A queue frame as one waiting candidate may see it: their position (never above `cap`) and estimate, nobody else's name."""
    position = positions.get(chat_id)
    if position is None:
        return None
    if cap is not None:
        position = min(position, cap)
    s = staffing
    estimate = est.estimate(position, est.Staffing(s["online"], s["seats"], s["free"], float(s["handle_seconds"])))
    return {"type": "queue", "chat": chat_id, "position": position, "estimate": estimate.as_dict()}


async def after_staff_line(session: AsyncSession, settings: Settings, chat: LiveChat, user: User, text: str, ctx: actions.Context) -> None:
    """What a recruiter's line sets off: the first-reply time, and for a note, the email/text with the continue link."""
    await chats.record_first_reply(session, chat, ctx.now)
    if chat.status == L.NOTE.value:
        await tickets.staff_replied(session, chat.id, ctx.now)  # a reopened ticket waits for the candidate now
    if chats.reply_notice_due(chat, ctx.now):
        await chats.notify_reply(session, ctx, chat, user, text, continue_link(settings, chat.id))


class Publisher:
    """Publishes, after commit, what a live-chat change means for the sockets: lines, statuses, queues, assignments."""

    def __init__(self, r: Resources) -> None:
        self.r = r

    async def entries(self, chat_id: int, entries: list[conversations.Entry]) -> None:
        for entry in entries:
            await self.r.hub.publish(chats.key(chat_id), event_frame(chat_id, entry))

    async def status(self, chat_id: int) -> None:
        async with self.r.sessionmaker() as session:
            chat = await session.get(LiveChat, chat_id)
            if chat is None:
                return
            recruiter = await session.get(User, chat.recruiter_id) if chat.recruiter_id else None
            job = await session.get(JobReq, chat.job_req_id) if chat.job_req_id else None
            title = await staff_title(session, chat, recruiter) if recruiter else ""
            frame = status_frame(chat, recruiter, job.apply_url if job else None, title)
        await self.r.hub.publish(chats.key(chat_id), frame)

    async def queue(self, queue: str) -> None:
        """Rebuilds and publishes a queue's frame; requests within QUEUE_COALESCE of each other make one frame (read after
        all of them committed), so a burst of starts and takes costs one query and one broadcast."""
        pending = self.r.live_queue_pending
        if queue in pending:
            return
        pending.add(queue)
        try:
            await asyncio.sleep(QUEUE_COALESCE)
        finally:
            pending.discard(queue)
        async with self.r.sessionmaker() as session:
            frame = await queue_frame(session, queue, self.r.clock())
        await self.r.hub.publish(f"queue:{queue}", frame)

    async def fill_seats(self, queue: str) -> None:
        """Automatic assignment after a chat queued or a seat came free: one short transaction per chat given."""
        async with self.r.sessionmaker() as session:
            offering = await desk.accepts_offers(session, queue)
        if offering:
            await self.offer_round(queue)
            return
        for _ in range(MAX_ASSIGN_ROUNDS):
            async with self.r.sessionmaker() as session, session.begin():
                taken = await chats.assign_one(session, context_for(self.r), queue)
                if taken is None:
                    break
                await conversations.store(await session.connection(), [taken.notice])
                chat_id, recruiter_id = taken.chat.id, taken.chat.recruiter_id or 0
            await self.status(chat_id)
            await self.assigned(recruiter_id, chat_id)
        await self.queue(queue)

    async def offer_round(self, queue: str) -> None:
        """Offers the queue's waiting chats, one short transaction each, until nobody is free to be offered one."""
        for _ in range(MAX_ASSIGN_ROUNDS):
            async with self.r.sessionmaker() as session, session.begin():
                offer = await desk.route_offer(session, queue, self.r.clock())
                if offer is None:
                    break
                frame = await offer_frame(session, offer)
            await self.r.hub.publish(f"agent:{offer.user_id}", frame)
        await self.queue(queue)

    async def change(self, change: desk.Change, frames: list[tuple[int, dict[str, Any]]]) -> None:
        """After an operation committed: the chat's status, offers shown and withdrawn, staff views refreshed, queues, seats."""
        chat_id = change.chat.id
        await self.status(chat_id)
        # Offers that ended go before the new ones: a console keys offers by chat, so an invitation withdrawn by a forward
        # that offers the same chat to the same person must not take the new offer off their screen.
        for user_id, cid, outcome in change.gone:
            await self.r.hub.publish(f"agent:{user_id}", {"type": "offer_gone", "chat": cid, "outcome": outcome})
        for user_id, frame in frames:
            await self.r.hub.publish(f"agent:{user_id}", frame)
        for user_id in change.staff:
            await self.r.hub.publish(f"agent:{user_id}", {"type": "members", "chat": chat_id})
        for queue in change.freed:
            await self.safely(self.fill_seats(queue))
        for queue in change.queues - change.freed:
            await self.safely(self.queue(queue))

    async def assigned(self, user_id: int, chat_id: int) -> None:
        await self.r.hub.publish(f"agent:{user_id}", {"type": "assigned", "chat": chat_id})

    async def safely(self, coro: Any) -> None:
        """Publishing is best effort after commit: the database has the truth and clients resync from it."""
        try:
            await coro
        except Exception:
            log.exception("live chat: publishing after commit failed")
