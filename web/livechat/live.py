"""What the live-chat API and sockets share: views of a chat for its candidate and its staff, frames, and publishing after commit."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Any

import orjson
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.ext.asyncio import AsyncSession

from scheduling import actions, conversations
from scheduling.livechat import chats
from scheduling.livechat import estimate as est
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
    return {
        "id": chat.id, "kind": chat.kind, "status": chat.status, "name": chat.candidate_name, "position": pos, "estimated_wait": estimate,
        "recruiter": {"name": recruiter.name, "avatar_url": None} if recruiter else None,
        "apply_url": job.apply_url or None if job else None,
        "job": {"id": job.id, "title": job.title, "company": job.company, "url": f"/jobs/{job.id}"} if job else None,
        "note_after_seconds": job.note_after_seconds if job else 180,
        "can_leave_note": mode in ("note", "both") and chat.status in (L.AWAY.value, L.WAITING.value),
        "can_callback": mode in ("callback", "both") and bool(chat.candidate_phone) and chat.status in (L.AWAY.value, L.WAITING.value),
        "resume": {"name": chat.resume_name, "size": chat.resume_size} if chat.resume_file else None,
        "last_seq": await conversations.last_seq(session, chats.key(chat.id)),
    }


async def staff_view(session: AsyncSession, chat: LiveChat) -> dict[str, Any]:
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
    }


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def status_frame(chat: LiveChat, recruiter: User | None, apply_url: str | None) -> dict[str, Any]:
    return {"type": "status", "chat": chat.id, "status": chat.status,
            "recruiter": {"name": recruiter.name, "avatar_url": None} if recruiter else None, "apply_url": apply_url or None}


async def queue_label(session: AsyncSession, queue: str) -> str:
    kind, _, rest = queue.partition(":")
    if kind == "job":
        job = await session.get(JobReq, int(rest))
        return f"{job.title} ({job.company})" if job else "Job req"
    if kind == "booth":
        company = await session.get(Company, int(rest.split(":")[1]))
        return f"{company.name} booth" if company else "Booth"
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
    }


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
            frame = status_frame(chat, recruiter, job.apply_url if job else None)
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

    async def assigned(self, user_id: int, chat_id: int) -> None:
        await self.r.hub.publish(f"agent:{user_id}", {"type": "assigned", "chat": chat_id})

    async def safely(self, coro: Any) -> None:
        """Publishing is best effort after commit: the database has the truth and clients resync from it."""
        try:
            await coro
        except Exception:
            log.exception("live chat: publishing after commit failed")
