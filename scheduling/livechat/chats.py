"""Live chats from start to end: the candidate's entry (checked answers, queue or away), taking a chat under
capacity, notes, ending with a next step; who may see and write to which chat.

Exactly one recruiter takes a chat: the claim is `UPDATE ... WHERE status = 'waiting'`, and the seat is
`UPDATE live_agents SET active_chats = active_chats + 1 WHERE active_chats < capacity`, both in one
transaction; either failing rolls both back.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import case, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from scheduling import accounts, actions, conversations, outbox
from scheduling.conversations import Append
from scheduling.errors import Conflict, Forbidden, Invalid, NotFound
from scheduling.livechat import estimate as est
from scheduling.livechat import hours as hours_mod
from scheduling.livechat import jobs, routing
from scheduling.livechat.desk_models import ChatMember, Offer, Ticket
from scheduling.livechat.models import Agent, JobReq, JobReqAssignee, LiveChat, LiveChatKey, LiveQueue, LiveStatus
from scheduling.models import Company, Event, OutboxMessage, Participant, Role, User
from scheduling.sms import normalize_phone

L = LiveStatus
ONLINE_WINDOW = routing.ONLINE_WINDOW
DEFAULT_NEXT_STEPS = ("Interview", "Screen", "Pipeline", "Not a fit")
EVENT_EARLY = dt.timedelta(hours=1)  # booth and support queues open this long before the event starts
MAIL_EVERY = dt.timedelta(minutes=10)  # at most one "new reply" email or text per chat in this time
ALERT_EVERY = dt.timedelta(minutes=5)  # email alerts of waiting candidates, per recruiter
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def key(chat_id: int) -> str:
    """The conversation (and hub room) of a live chat."""
    return f"live:{chat_id}"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# --------------------------------------------------------------------------- candidate input


@dataclass
class CandidateForm:
    name: str
    email: str
    phone: str = ""
    sms_consent: bool = False
    fields: dict[str, str] = field(default_factory=dict)
    answers: dict[str, str] = field(default_factory=dict)
    start_key: str | None = None
    source_url: str = ""
    user_agent: str = ""


@dataclass
class Started:
    chat: LiveChat
    token: str | None
    message: str = ""
    transcript: list[Append] = field(default_factory=list)


def _url(value: str) -> str:
    value = value.strip()[:1000]
    return value if value.startswith(("https://", "http://")) and not any(ord(c) < 32 for c in value) else ""


def _check_contact(job: JobReq, form: CandidateForm) -> tuple[str, str, str, dict[str, Any]]:
    name = actions.one_line(form.name, "name", limit=120)
    email = form.email.strip()
    if not _EMAIL.match(email) or len(email) > 254:
        raise Invalid("Give an email address we can answer you at.", code="invalid_email")
    email = accounts.normalize_email(email)
    phone = ""
    if form.phone.strip():
        if job.phone_field == "off":
            raise Invalid("This chat doesn't ask for a phone number.", code="invalid_phone")
        phone = normalize_phone(form.phone)
    elif job.phone_field == "required":
        raise Invalid("A phone number is required for this chat.", code="missing_field")
    if form.sms_consent and not phone:
        raise Invalid("Text messages need a phone number.", code="invalid_phone")
    defined = {f["id"]: f for f in jobs.custom_fields(job)}
    unknown = set(form.fields) - set(defined)
    if unknown:
        raise Invalid(f"Unknown field {sorted(unknown)[0][:40]!r}.", code="unknown_field")
    values: dict[str, Any] = {}
    for fid, spec in defined.items():
        raw = form.fields.get(fid, "")
        value = actions.one_line(raw, spec["label"], required=bool(spec["required"]), limit=500)
        if value:
            values[fid] = {"label": spec["label"], "value": value}
    return name, email, phone, values


async def _check_answers(session: AsyncSession, job: JobReq, answers: dict[str, str]) -> tuple[list[dict[str, Any]], bool]:
    """Every active question answered with one of its choices; (answers as stored, all qualifying)."""
    qs = await jobs.questions(session, job.id)
    known = {str(q.id) for q in qs}
    if set(answers) - known:
        raise Invalid("An answer names a question this job req doesn't ask.", code="unknown_question")
    stored: list[dict[str, Any]] = []
    qualified = True
    for q in qs:
        answer = answers.get(str(q.id))
        if answer is None:
            raise Invalid(f"Answer every question first: {q.text[:120]}", code="missing_answer")
        choices: list[str] = orjson.loads(q.choices)
        if answer not in choices:
            raise Invalid(f"Answer {q.text[:120]!r} with one of: {', '.join(choices)}.", code="invalid_answer")
        ok = answer in orjson.loads(q.qualifying)
        qualified = qualified and ok
        stored.append({"question_id": q.id, "question": q.text, "answer": answer, "qualified": ok})
    return stored, qualified


# --------------------------------------------------------------------------- queues and staffing


async def serving_queues(session: AsyncSession, user: User, now: dt.datetime) -> list[str]:
    """The queues this person answers now: their job reqs, their company's booth and their events' support queue while events run."""
    queues = [f"job:{jid}" for jid in (await session.execute(
        select(JobReqAssignee.job_req_id).join(JobReq, JobReq.id == JobReqAssignee.job_req_id)
        .where(JobReqAssignee.user_id == user.id, JobReq.archived.is_(False)).order_by(JobReqAssignee.job_req_id)
    )).scalars()]
    rows = await session.execute(
        select(Participant.event_id, Participant.role, Participant.company_id, Event.starts_at)
        .join(Event, Event.id == Participant.event_id).where(Participant.user_id == user.id, Event.ends_at > now)
    )
    for event_id, role, company_id, starts_at in rows:
        if starts_at - EVENT_EARLY > now:
            continue
        if role == Role.RECRUITER.value and company_id is not None:
            queues.append(f"booth:{event_id}:{company_id}")
        elif role == Role.ORGANIZER.value:
            queues.append(f"support:{event_id}")
    queues += [f"team:{t}" for t in await routing.team_ids_of(session, user.id)]
    queues.append(f"user:{user.id}")  # chats a routing rule sends to this person
    return queues


def live_now(event: Event, now: dt.datetime) -> bool:
    return event.starts_at - EVENT_EARLY <= now < event.ends_at


async def queue_staff_ids(session: AsyncSession, queue: str) -> list[int]:
    """Who answers a queue: a job req's assignees, a company's recruiters at the event, an event's organizers."""
    kind, _, rest = queue.partition(":")
    if kind == "job":
        return await jobs.assignee_ids(session, int(rest))
    if kind == "team":
        return await routing.team_member_ids(session, int(rest))
    if kind == "user":
        return [int(rest)]
    if kind == "booth":
        event_id, company_id = (int(x) for x in rest.split(":"))
        stmt = select(Participant.user_id).where(Participant.event_id == event_id, Participant.company_id == company_id,
                                                 Participant.role == Role.RECRUITER.value)
    elif kind == "support":
        stmt = select(Participant.user_id).where(Participant.event_id == int(rest), Participant.role == Role.ORGANIZER.value)
    else:
        return []
    return list((await session.execute(stmt.order_by(Participant.user_id))).scalars())


async def staffing(session: AsyncSession, queue: str, now: dt.datetime) -> est.Staffing:
    staff = await queue_staff_ids(session, queue)
    online = 0
    seats = 0
    free = 0
    if staff:
        for capacity, active in await session.execute(
            select(Agent.capacity, Agent.active_chats).where(Agent.user_id.in_(staff), Agent.available.is_(True), Agent.last_seen_at >= now - ONLINE_WINDOW)
        ):
            online += 1
            seats += capacity
            free += max(0, capacity - active)
    recent = await session.execute(
        select(LiveChat.taken_at, LiveChat.ended_at).where(LiveChat.queue == queue, LiveChat.status == L.ENDED.value,
                                                           LiveChat.taken_at.is_not(None), LiveChat.ended_at.is_not(None))
        .order_by(LiveChat.ended_at.desc()).limit(50)
    )
    durations = [(end - start).total_seconds() for start, end in recent if start and end]
    return est.Staffing(online=online, seats=seats, free=free, handle_seconds=est.handle_time(durations))


@dataclass(frozen=True)
class Waiting:
    id: int
    name: str
    queued_at: dt.datetime
    title: str


async def waiting(session: AsyncSession, queue: str) -> list[Waiting]:
    """The queue in serving order (first come, first served)."""
    rows = await session.execute(
        select(LiveChat.id, LiveChat.candidate_name, LiveChat.queued_at, JobReq.title)
        .outerjoin(JobReq, JobReq.id == LiveChat.job_req_id)
        .where(LiveChat.queue == queue, LiveChat.status == L.WAITING.value)
        .order_by(LiveChat.ticket)
    )
    return [Waiting(i, n, q or dt.datetime.min.replace(tzinfo=dt.UTC), t or "") for i, n, q, t in rows]


async def transfers(session: AsyncSession, queue: str) -> list[Waiting]:
    """Chats forwarded to this queue's people and not yet taken (served before the line; they have no place in it)."""
    rows = await session.execute(
        select(LiveChat.id, LiveChat.candidate_name, LiveChat.updated_at, JobReq.title)
        .outerjoin(JobReq, JobReq.id == LiveChat.job_req_id)
        .where(LiveChat.queue == queue, LiveChat.status == L.TRANSFER.value)
        .order_by(LiveChat.updated_at, LiveChat.id).limit(200)
    )
    return [Waiting(i, n, u, t or "") for i, n, u, t in rows]


async def open_notes(session: AsyncSession, queue: str) -> list[Waiting]:
    """Notes left in a queue that nobody has answered yet, oldest first."""
    rows = await session.execute(
        select(LiveChat.id, LiveChat.candidate_name, LiveChat.updated_at, JobReq.title)
        .outerjoin(JobReq, JobReq.id == LiveChat.job_req_id)
        .where(LiveChat.queue == queue, LiveChat.status == L.NOTE.value, LiveChat.recruiter_id.is_(None))
        .order_by(LiveChat.updated_at, LiveChat.id).limit(200)
    )
    return [Waiting(i, n, u, t or "") for i, n, u, t in rows]


async def position(session: AsyncSession, chat: LiveChat) -> int | None:
    if chat.status != L.WAITING.value or chat.ticket is None:
        return None
    ahead = (await session.execute(
        select(func.count()).select_from(LiveChat).where(LiveChat.queue == chat.queue, LiveChat.status == L.WAITING.value,
                                                         LiveChat.ticket < chat.ticket)
    )).scalar_one()
    return int(ahead) + 1


async def take_ticket(session: AsyncSession, queue: str) -> int:
    """The next place in `queue`'s line. The counter row stays locked until commit, so whoever takes the next ticket
    sees this chat committed first: a position computed from tickets never rises."""
    dialect = postgresql if session.bind is not None and session.bind.dialect.name == "postgresql" else sqlite
    stmt = (dialect.insert(LiveQueue).values(queue=queue, last_ticket=1)
            .on_conflict_do_update(index_elements=["queue"], set_={"last_ticket": LiveQueue.last_ticket + 1})
            .returning(LiveQueue.last_ticket))
    return int((await session.execute(stmt)).scalar_one())


# --------------------------------------------------------------------------- starting


async def alert_waiting(session: AsyncSession, ctx: actions.Context, chat: LiveChat, label: str) -> None:
    """Emails the queue's staff who asked for email alerts that a candidate is waiting (at most one per person per few minutes)."""
    staff = await queue_staff_ids(session, chat.queue)
    if not staff:
        return
    rows = await session.execute(
        select(Agent, User).join(User, User.id == Agent.user_id).where(Agent.user_id.in_(staff), Agent.notify_email.is_(True))
    )
    for seat, user in rows:
        if seat.last_alerted_at is not None and ctx.now - seat.last_alerted_at < ALERT_EVERY:
            continue
        seat.last_alerted_at = ctx.now
        outbox.enqueue(session, user, "live_waiting", outbox.Mail(
            subject=f"{chat.candidate_name} is waiting to chat: {label}",
            body=f"{chat.candidate_name} is waiting to chat about {label}.\n\nTake the chat: {ctx.link('/live/console')}\n"), now=ctx.now)


async def _issue_key(session: AsyncSession, chat: LiveChat, now: dt.datetime) -> str:
    token = secrets.token_urlsafe(32)  # 256 bits
    session.add(LiveChatKey(live_chat_id=chat.id, token_hash=token_hash(token), created_at=now))
    await session.flush()
    return token


async def issue_key(session: AsyncSession, chat_id: int, now: dt.datetime) -> str:
    """A new credential for a chat (the continue link redeems one); earlier ones keep working."""
    chat = await session.get(LiveChat, chat_id)
    if chat is None:
        raise NotFound("No such chat.", code="chat_not_found")
    return await _issue_key(session, chat, now)


async def chat_for_token(session: AsyncSession, chat_id: int, token: str, *, lock: bool = False) -> LiveChat:
    """The chat a candidate's token opens; a wrong token or another chat's token are both not-found."""
    if not token or len(token) > 200:
        raise NotFound("No such chat.", code="chat_not_found")
    digest = token_hash(token)
    row = (await session.execute(select(LiveChatKey.live_chat_id, LiveChatKey.token_hash).where(LiveChatKey.token_hash == digest))).first()
    if row is None or row[0] != chat_id or not hmac.compare_digest(row[1], digest):
        raise NotFound("No such chat.", code="chat_not_found")
    stmt = select(LiveChat).where(LiveChat.id == chat_id)
    if lock:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one()


def _transcript(chat_key: str, now: dt.datetime, bot_lines: list[tuple[str, str]], name: str) -> list[Append]:
    """The bot's pre-chat exchange as the transcript's first entries: questions marked as bot, answers as the candidate's."""
    out = []
    for i, (question, answer) in enumerate(bot_lines):
        out.append(Append(chat_key, "bot", None, {"text": question, "bot": True}, now, client_id=None))
        out.append(Append(chat_key, "message", None, {"text": answer, "name": name, "role": "candidate"}, now, client_id=f"prechat-{i}"))
    return out


async def start_job_chat(session: AsyncSession, ctx: actions.Context, job_id: int, form: CandidateForm) -> Started:
    job = await jobs.public_job(session, job_id)
    if not await jobs.assignee_ids(session, job.id):
        raise Conflict("Nobody answers chats for this job yet.", code="chat_unavailable")
    name, email, phone, values = _check_contact(job, form)
    answers, qualified = await _check_answers(session, job, form.answers)
    now = ctx.now
    queue, team_id = f"job:{job.id}", None
    if qualified:
        queue, team_id = await routing.route(session, event_id=job.event_id, kind="job", job_req_id=job.id, company_id=None, answers=answers,
                                             home=queue, now=now)
    if not qualified:
        status = L.REJECTED
    elif hours_mod.is_open(hours_mod.load(job.hours), now) and (await staffing(session, queue, now)).online > 0:
        status = L.WAITING
    else:
        status = L.AWAY
    if status == L.AWAY and job.when_unavailable == "none":
        raise Conflict(job.away_message or jobs.DEFAULT_AWAY, code="chat_unavailable")
    chat = LiveChat(
        kind="job", queue=queue, team_id=team_id, job_req_id=job.id, event_id=job.event_id, status=status.value, candidate_name=name, candidate_email=email,
        candidate_phone=phone, sms_consent=bool(form.sms_consent and phone), fields=orjson.dumps(values).decode(), answers=orjson.dumps(answers).decode(),
        source_url=_url(form.source_url), current_url=_url(form.source_url), user_agent=form.user_agent[:300],
        start_key=form.start_key, queued_at=now if status == L.WAITING else None, created_at=now, updated_at=now, candidate_seen_at=now,
        ticket=await take_ticket(session, queue) if status == L.WAITING else None,
    )
    try:
        async with session.begin_nested():
            session.add(chat)
    except IntegrityError:
        raise Conflict("This chat has already been started.", code="already_started") from None
    await session.flush()
    lines = [("What's your name?", name), ("And your email address?", email)]
    if phone:
        lines.append(("Your phone number?", phone + (" (texts welcome)" if chat.sms_consent else "")))
    lines += [(v["label"], v["value"]) for v in values.values()]
    lines += [(a["question"], a["answer"]) for a in answers]
    transcript = _transcript(key(chat.id), now, lines, name)
    if status == L.REJECTED:
        message = job.sorry_message or jobs.DEFAULT_SORRY
        transcript.append(Append(key(chat.id), "bot", None, {"text": message, "bot": True}, now))
        return Started(chat, None, message, transcript)
    token = await _issue_key(session, chat, now)
    if status == L.AWAY:
        message = job.away_message or jobs.DEFAULT_AWAY
        transcript.append(Append(key(chat.id), "bot", None, {"text": message, "bot": True}, now))
        return Started(chat, token, message, transcript)
    transcript.append(Append(key(chat.id), "bot", None, {"text": "Thanks! You're in line; a recruiter will be with you shortly.", "bot": True}, now))
    await alert_waiting(session, ctx, chat, f"{job.title} ({job.company})")
    return Started(chat, token, "", transcript)


async def start_event_chat(session: AsyncSession, ctx: actions.Context, user: User, event_id: int, *, company_id: int | None,
                           source_url: str = "") -> Started:
    """A signed-in person joins a company's booth queue (talents) or the event's support queue (anyone at the event)."""
    event = await actions.get_event(session, event_id)
    member = await actions.require_member(session, event, user)
    now = ctx.now
    if not live_now(event, now):
        raise Conflict("Booth and support chats are open while the event runs.", code="event_not_live")
    if company_id is not None:
        company = await session.get(Company, company_id)
        if company is None or company.event_id != event.id:
            raise NotFound("No such company at this event.", code="company_not_found")
        if member is None or member.role != Role.TALENT.value:
            raise Forbidden("Booth chats are for the event's talents.", code="not_talent")
        kind, queue, label = "booth", f"booth:{event.id}:{company.id}", f"the {company.name} booth"
    else:
        kind, queue, label = "support", f"support:{event.id}", f"support at {event.name}"
    queue, team_id = await routing.route(session, event_id=event.id, kind=kind, job_req_id=None, company_id=company_id, answers=[], home=queue,
                                         now=now)
    staff = await staffing(session, queue, now)
    status = L.WAITING if staff.online > 0 else L.AWAY
    chat = LiveChat(
        kind=kind, queue=queue, team_id=team_id, event_id=event.id, company_id=company_id, status=status.value, candidate_name=user.name,
        candidate_email=user.email, talent_id=user.id, source_url=_url(source_url), current_url=_url(source_url), candidate_seen_at=now,
        queued_at=now if status == L.WAITING else None, created_at=now, updated_at=now,
        ticket=await take_ticket(session, queue) if status == L.WAITING else None,
    )
    try:
        async with session.begin_nested():
            session.add(chat)
    except IntegrityError:
        existing = (await session.execute(select(LiveChat).where(LiveChat.queue == queue, LiveChat.talent_id == user.id,
                                                                 LiveChat.status.in_((L.WAITING.value, L.ACTIVE.value, L.TRANSFER.value))))).scalar_one()
        return Started(existing, await _issue_key(session, existing, now), "")
    await session.flush()
    token = await _issue_key(session, chat, now)
    if status == L.WAITING:
        await alert_waiting(session, ctx, chat, label)
    text = "You're in line; someone will be with you shortly." if status == L.WAITING else \
        "Nobody can chat right now. Leave a note and we'll answer by email."
    return Started(chat, token, "" if status == L.WAITING else text, [Append(key(chat.id), "bot", None, {"text": text, "bot": True}, now)])


# --------------------------------------------------------------------------- staff side


async def agent(session: AsyncSession, user_id: int, *, lock: bool = False) -> Agent:
    row = await session.get(Agent, user_id, with_for_update=lock)
    if row is None:
        try:
            async with session.begin_nested():
                session.add(Agent(user_id=user_id, available=False, capacity=3, active_chats=0, auto_assign=False,
                                  notify_desktop=True, notify_sound=True, notify_email=False))
        except IntegrityError:
            pass
        row = await session.get(Agent, user_id, with_for_update=lock, populate_existing=True)
    assert row is not None
    return row


async def set_agent(session: AsyncSession, user: User, now: dt.datetime, **values: Any) -> Agent:
    row = await agent(session, user.id, lock=True)
    capacity = values.get("capacity")
    if capacity is not None and not (1 <= int(capacity) <= 20):
        raise Invalid("Take 1 to 20 chats at once.", code="invalid_capacity")
    for name in ("available", "capacity", "auto_assign", "notify_desktop", "notify_sound", "notify_email"):
        if values.get(name) is not None:
            setattr(row, name, values[name])
    row.last_seen_at = now
    await session.flush()
    return row


async def heartbeat(session: AsyncSession, user_id: int, now: dt.datetime) -> None:
    await session.execute(update(Agent).where(Agent.user_id == user_id).values(last_seen_at=now))


async def staff_may_see(session: AsyncSession, chat: LiveChat, user: User, now: dt.datetime) -> bool:
    """The recruiter who has (or had) the chat; while unowned, whoever answers its queue; organizers and admins of its job req or event."""
    if user.is_admin or user.id in (chat.recruiter_id, chat.offered_to_id):
        return True
    if chat.recruiter_id is None and chat.status in (L.WAITING.value, L.AWAY.value, L.NOTE.value, L.TRANSFER.value) \
            and user.id in await queue_staff_ids(session, chat.queue):
        return True
    # Someone who had the chat before it was taken over, forwarded or reopened reads it again once it has ended (their history).
    if (chat.status in (L.ENDED.value, L.NOTE.value) and await was_owner(session, chat.id, user.id)) \
            or await member_mode(session, chat.id, user.id) is not None or await session.scalar(
        select(Offer.id).where(Offer.live_chat_id == chat.id, Offer.user_id == user.id, Offer.outcome == "pending", Offer.reason == "invite")
    ) is not None:
        return True
    if chat.event_id is not None and await jobs.is_organizer(session, chat.event_id, user):
        return True
    if chat.job_req_id is not None:
        job = await session.get(JobReq, chat.job_req_id)
        if job is not None and await jobs.may_manage(session, job, user):
            return True
    return False


async def member_mode(session: AsyncSession, chat_id: int, user_id: int) -> str | None:
    """"visible" or "invisible" while the person is in the chat besides its owner; None otherwise."""
    mode: str | None = await session.scalar(
        select(ChatMember.mode).where(ChatMember.live_chat_id == chat_id, ChatMember.user_id == user_id, ChatMember.left_at.is_(None)))
    return mode


async def was_owner(session: AsyncSession, chat_id: int, user_id: int) -> bool:
    return await session.scalar(select(ChatMember.id).where(ChatMember.live_chat_id == chat_id, ChatMember.user_id == user_id,
                                                            ChatMember.mode == "former")) is not None


async def record_former_owner(session: AsyncSession, chat_id: int, user_id: int | None, now: dt.datetime) -> None:
    """Someone stops owning a chat (a take-over, a forward, a hand-over, a ticket reply by another): they read it again
    once it has ended (History, its ticket), though not while it goes on without them."""
    if user_id is None:
        return
    row = (await session.execute(select(ChatMember).where(ChatMember.live_chat_id == chat_id, ChatMember.user_id == user_id))).scalar_one_or_none()
    if row is None:
        session.add(ChatMember(live_chat_id=chat_id, user_id=user_id, mode="former", via="owner", joined_at=now, left_at=now))
    elif row.left_at is not None:
        row.mode = "former"
    await session.flush()


async def staff_chat(session: AsyncSession, chat_id: int, user: User, now: dt.datetime, *, lock: bool = False) -> LiveChat:
    stmt = select(LiveChat).where(LiveChat.id == chat_id)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)  # what the lock protects, not an earlier read
    chat = (await session.execute(stmt)).scalar_one_or_none()
    if chat is None or not await staff_may_see(session, chat, user, now):
        raise NotFound("No such chat.", code="chat_not_found")
    return chat


async def _claim(session: AsyncSession, chat_id: int, user: User, now: dt.datetime) -> bool:
    """Claims a waiting chat, then a seat: every path locks a chat row before a seat row (ending a chat too), so
    concurrent takes and ends wait for each other but never deadlock. No free seat raises, undoing the claim."""
    claimed = await session.execute(
        update(LiveChat).where(LiveChat.id == chat_id, LiveChat.status.in_((L.WAITING.value, L.TRANSFER.value)),
                               (LiveChat.offered_to_id.is_(None)) | (LiveChat.offered_to_id == user.id))
        .values(status=L.ACTIVE.value, recruiter_id=user.id, taken_at=func.coalesce(LiveChat.taken_at, now), updated_at=now,
                offered_to_id=None, offer_expires_at=None)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return False
    seat = await session.execute(
        update(Agent).where(Agent.user_id == user.id, Agent.active_chats < Agent.capacity)
        .values(active_chats=Agent.active_chats + 1, last_assigned_at=now)
    )
    if seat.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("You're at your limit of chats at once; end one or raise the limit.", code="at_capacity")
    await session.execute(update(Offer).where(Offer.live_chat_id == chat_id, Offer.outcome == "pending", Offer.reason != "invite")
                          .values(outcome=case((Offer.user_id == user.id, "accepted"), else_="withdrawn"), decided_at=now))
    # Whoever owns the chat now is no longer one of its other members.
    await session.execute(delete(ChatMember).where(ChatMember.live_chat_id == chat_id, ChatMember.user_id == user.id))
    return True


@dataclass
class Taken:
    chat: LiveChat
    notice: Append


async def take(session: AsyncSession, ctx: actions.Context, user: User, chat_id: int | None = None) -> Taken:
    """Takes a chosen waiting chat, or the longest-waiting one of the person's queues; one winner whatever the concurrency."""
    now = ctx.now
    await agent(session, user.id)
    queues = await serving_queues(session, user, now)
    if chat_id is not None:
        chat = await session.get(LiveChat, chat_id)
        if chat is None or chat.queue not in queues:
            raise NotFound("No such chat in your queues.", code="chat_not_found")
        if chat.status not in (L.WAITING.value, L.TRANSFER.value):
            raise Conflict("Someone else has taken this chat." if chat.recruiter_id not in (None, user.id) else "This chat is not waiting.",
                           code="already_taken")
        if chat.offered_to_id not in (None, user.id):
            raise Conflict("This chat is being offered to a colleague; it comes back if they don't accept.", code="offered_elsewhere")
        if not await _claim(session, chat.id, user, now):
            raise Conflict("Someone else has taken this chat.", code="already_taken")
    else:
        if not queues:
            raise Conflict("You don't answer any queue now.", code="queue_empty")
        stmt = (select(LiveChat.id).where(LiveChat.queue.in_(queues), LiveChat.status.in_((L.WAITING.value, L.TRANSFER.value)),
                                          (LiveChat.offered_to_id.is_(None)) | (LiveChat.offered_to_id == user.id))
                .order_by((LiveChat.status == L.TRANSFER.value).desc(), LiveChat.queued_at, LiveChat.ticket, LiveChat.id).limit(1))
        if session.bind is not None and session.bind.dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        picked = (await session.execute(stmt)).scalar_one_or_none()
        if picked is None:
            raise Conflict("Nobody is waiting.", code="queue_empty")
        if not await _claim(session, picked, user, now):
            raise Conflict("Someone else has just taken that chat; try again.", code="already_taken")
        chat_id = picked
    chat = (await session.execute(select(LiveChat).where(LiveChat.id == chat_id).execution_options(populate_existing=True))).scalar_one()
    notice = Append(key(chat.id), "notice", user.id, {"event": "joined", "name": user.name, "role": "recruiter",
                                                      "text": f"{user.name} joined the chat"}, now)
    return Taken(chat, notice)


async def assign_one(session: AsyncSession, ctx: actions.Context, queue: str) -> Taken | None:
    """Gives the queue's first waiting chat to a staff member who chose automatic assignment: online, with a free
    seat, longest idle first; the next one is tried when a seat filled meanwhile. None when nothing can be assigned.
    Run in a short transaction of its own, after the change that freed a seat or queued a chat has committed."""
    staff = await queue_staff_ids(session, queue)
    if not staff:
        return None
    now = ctx.now
    stmt = (select(LiveChat.id).where(LiveChat.queue == queue, LiveChat.status == L.WAITING.value, LiveChat.offered_to_id.is_(None))
            .order_by(LiveChat.ticket).limit(1))
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    first = (await session.execute(stmt)).scalar_one_or_none()
    if first is None:
        return None
    candidates = list((await session.execute(
        select(Agent.user_id).where(Agent.user_id.in_(staff), Agent.available.is_(True), Agent.auto_assign.is_(True),
                                    Agent.last_seen_at >= now - ONLINE_WINDOW, Agent.active_chats < Agent.capacity)
        .order_by(Agent.last_assigned_at.is_not(None), Agent.last_assigned_at, Agent.user_id)
    )).scalars())
    for uid in candidates:
        user = await session.get(User, uid)
        if user is None:
            continue
        try:
            async with session.begin_nested():
                return await take(session, ctx, user, first)
        except Conflict as err:
            if err.code != "at_capacity":
                return None  # taken by hand meanwhile
    return None


async def set_next_steps(session: AsyncSession, actor: User, event_id: int, steps: list[str]) -> Event:
    """The organizers' list of next steps for the event's live chats (empty: the defaults)."""
    event = await actions.get_event(session, event_id)
    await actions.require_organizer(session, event, actor)
    clean = [actions.one_line(x, "next step", limit=60) for x in steps if x.strip()]
    if len(clean) > 12:
        raise Invalid("An event has at most 12 next steps.", code="invalid_next_steps")
    if len({c.casefold() for c in clean}) != len(clean):
        raise Invalid("Each next step is listed once.", code="invalid_next_steps")
    event.next_steps = "\n".join(clean)
    return event


def next_steps(event: Event | None) -> list[str]:
    if event is not None and event.next_steps.strip():
        return [s.strip() for s in event.next_steps.splitlines() if s.strip()]
    return list(DEFAULT_NEXT_STEPS)


async def _free_seat(session: AsyncSession, chat: LiveChat) -> None:
    if chat.status == L.ACTIVE.value and chat.recruiter_id is not None:
        await session.execute(update(Agent).where(Agent.user_id == chat.recruiter_id, Agent.active_chats > 0)
                              .values(active_chats=Agent.active_chats - 1))


async def end_by_staff(
    session: AsyncSession, ctx: actions.Context, user: User, chat_id: int, *, next_step: str, outcome: str
) -> tuple[LiveChat, Append | None, str]:
    """Ends a chat (or records the next step of one the candidate ended) with its next step and Finished or Follow Up;
    returns the chat, the notice to store, and the status it had."""
    chat = await staff_chat(session, chat_id, user, ctx.now, lock=True)
    was = chat.status
    if chat.recruiter_id != user.id and not user.is_admin:
        raise Forbidden("Only the recruiter who has this chat can end it.", code="not_your_chat")
    event = await session.get(Event, chat.event_id) if chat.event_id else None
    if next_step not in next_steps(event):
        raise Invalid(f"Choose a next step: {', '.join(next_steps(event))}.", code="invalid_next_step")
    if outcome not in ("finished", "follow_up"):
        raise Invalid("Outcome is finished or follow_up.", code="invalid_outcome")
    notice = None
    if chat.status in (L.ACTIVE.value, L.NOTE.value):
        await _free_seat(session, chat)
        await withdraw_offers(session, chat, ctx.now)
        chat.status, chat.ended_at, chat.ended_by = L.ENDED.value, ctx.now, "recruiter"
        notice = Append(key(chat.id), "notice", user.id, {"event": "left", "name": user.name, "role": "recruiter",
                                                          "text": f"{user.name} has left the chat"}, ctx.now)
    elif chat.status != L.ENDED.value:
        raise Conflict("Only a chat you have taken can be ended.", code="not_active")
    chat.next_step, chat.outcome, chat.updated_at = next_step, outcome, ctx.now
    return chat, notice, was


async def end_by_candidate(session: AsyncSession, ctx: actions.Context, chat: LiveChat) -> Append | None:
    if chat.status in (L.ENDED.value, L.REJECTED.value):
        return None
    await _free_seat(session, chat)
    await withdraw_offers(session, chat, ctx.now)
    # Colleagues who had joined leave with the chat: only its owner (and supervisors) read an ended chat.
    await session.execute(update(ChatMember).where(ChatMember.live_chat_id == chat.id, ChatMember.left_at.is_(None)).values(left_at=ctx.now))
    chat.status, chat.ended_at, chat.ended_by, chat.updated_at = L.ENDED.value, ctx.now, "candidate", ctx.now
    return Append(key(chat.id), "notice", None, {"event": "ended", "name": chat.candidate_name, "role": "candidate",
                                                 "text": f"{chat.candidate_name} ended the chat"}, ctx.now)


async def withdraw_offers(session: AsyncSession, chat: LiveChat, now: dt.datetime) -> list[int]:
    """Withdraws every pending offer and invitation of a chat that is ending; returns whom they were offered to."""
    rows = list((await session.execute(select(Offer.user_id).where(Offer.live_chat_id == chat.id, Offer.outcome == "pending"))).scalars())
    if rows:
        await session.execute(update(Offer).where(Offer.live_chat_id == chat.id, Offer.outcome == "pending")
                              .values(outcome="withdrawn", decided_at=now))
    chat.offered_to_id, chat.offer_expires_at = None, None
    return rows


def candidate_may_write(chat: LiveChat) -> None:
    if chat.status not in (L.WAITING.value, L.ACTIVE.value, L.NOTE.value, L.TRANSFER.value):
        raise Conflict("This chat is closed." if chat.status in (L.ENDED.value, L.REJECTED.value) else "Leave a note instead: nobody can chat right now.",
                       code="chat_closed")


async def leave_note(session: AsyncSession, ctx: actions.Context, chat: LiveChat, text: str, *, callback: bool = False) -> Append:
    """A waiting or away candidate leaves a note: the chat leaves the queue and becomes a thread answered by email (and text)."""
    if chat.status not in (L.AWAY.value, L.WAITING.value, L.NOTE.value):
        raise Conflict("This chat is not taking notes.", code="chat_closed")
    job = await session.get(JobReq, chat.job_req_id) if chat.job_req_id else None
    mode = job.when_unavailable if job else "note"
    if callback and mode not in ("callback", "both"):
        raise Invalid("This chat doesn't offer callbacks.", code="no_callback")
    if not callback and mode == "callback":
        raise Invalid("This chat offers a callback, not a note.", code="no_note")
    if callback and not chat.candidate_phone:
        raise Invalid("A callback needs your phone number.", code="invalid_phone")
    body = conversations.message_body(text)
    chat.status, chat.updated_at = L.NOTE.value, ctx.now
    for uid in await queue_staff_ids(session, chat.queue):
        member = await session.get(Agent, uid)
        user = await session.get(User, uid)
        if user is not None and (member is None or member.notify_email):
            outbox.enqueue(session, user, "live_note", outbox.Mail(
                subject=f"New note from {chat.candidate_name}",
                body=f"{chat.candidate_name} left a note{' and asks for a callback' if callback else ''}:\n\n{body['text']}\n\n"
                     f"Answer it from your chats: {ctx.link('/live/console')}\n"), now=ctx.now)
    return Append(key(chat.id), "message", None, {**body, "name": chat.candidate_name, "role": "candidate", "note": True, "callback": callback},
                  ctx.now, client_id=f"note-{secrets.token_hex(8)}")


async def staff_may_write(session: AsyncSession, chat: LiveChat, user: User, now: dt.datetime) -> None:
    """The recruiter who has the chat writes to it; a note is answered by whoever of its queue answers first (they then own it)."""
    if chat.status == L.ACTIVE.value and chat.recruiter_id == user.id:
        return
    if chat.status == L.ACTIVE.value:
        mode = await member_mode(session, chat.id, user.id)
        if mode == "visible":
            return
        if mode == "invisible":
            raise Conflict("You're monitoring this chat invisibly; join it to write.", code="invisible")
    if chat.status == L.NOTE.value and (chat.recruiter_id == user.id or
                                        (chat.recruiter_id is None and user.id in await queue_staff_ids(session, chat.queue))):
        if chat.recruiter_id is None:
            owned = await session.execute(update(LiveChat).where(LiveChat.id == chat.id, LiveChat.recruiter_id.is_(None))
                                          .values(recruiter_id=user.id, taken_at=now, updated_at=now))
            if owned.rowcount != 1:  # type: ignore[attr-defined]
                raise Conflict("A colleague has just answered this note.", code="already_taken")
            chat.recruiter_id = user.id
        return
    raise Conflict("You can write only to chats you have taken.", code="not_your_chat")


def reply_notice_due(chat: LiveChat, now: dt.datetime) -> bool:
    return chat.status == L.NOTE.value and (chat.last_mailed_at is None or now - chat.last_mailed_at >= MAIL_EVERY)


async def notify_reply(session: AsyncSession, ctx: actions.Context, chat: LiveChat, recruiter: User, text: str, link: str) -> None:
    """Tells a candidate who left a note that a recruiter answered: email always, a text message when they opted in."""
    chat.last_mailed_at = ctx.now
    title = ""
    if chat.job_req_id:
        job = await session.get(JobReq, chat.job_req_id)
        title = job.title if job else ""
    about = f" about {title}" if title else ""
    # A chat reopened from its ticket wasn't a note the candidate left: say what happened.
    reopened = await session.scalar(select(Ticket.id).where(Ticket.live_chat_id == chat.id)) is not None
    what = "wrote to you again" if reopened else "answered your note"
    mail = outbox.Mail(subject=f"{recruiter.name} {what}{about}",
                       body=f"Hello {chat.candidate_name},\n\n{recruiter.name} {what}{about}:\n\n{text}\n\n"
                            f"Continue the chat here (the link works for 7 days, on any device):\n{link}\n")
    session.add(outbox_row(chat.candidate_email, chat.candidate_name, "live_reply", mail, ctx.now))
    if chat.sms_consent and chat.candidate_phone:
        sms = outbox.Mail(subject="", body=f"{recruiter.name} {what}{about}. Continue: {link}")
        row = outbox_row("", chat.candidate_name, "live_reply_sms", sms, ctx.now)
        row.channel, row.to_phone = "sms", chat.candidate_phone
        session.add(row)


@dataclass(frozen=True)
class _Addressee:
    name: str
    email: str


def outbox_row(email: str, name: str, kind: str, mail: outbox.Mail, now: dt.datetime) -> OutboxMessage:
    return OutboxMessage(**outbox.row(_Addressee(name, email), kind, mail, now=now))


async def record_first_reply(session: AsyncSession, chat: LiveChat, now: dt.datetime) -> None:
    if chat.first_reply_at is None:
        await session.execute(update(LiveChat).where(LiveChat.id == chat.id, LiveChat.first_reply_at.is_(None)).values(first_reply_at=now))


async def update_contact(session: AsyncSession, ctx: actions.Context, user: User, chat_id: int, *, name: str | None, email: str | None,
                         phone: str | None, private_notes: str | None) -> LiveChat:
    chat = await staff_chat(session, chat_id, user, ctx.now, lock=True)
    if chat.recruiter_id != user.id and not user.is_admin:
        raise Forbidden("Only the recruiter who has this chat can edit it.", code="not_your_chat")
    if name is not None:
        chat.candidate_name = actions.one_line(name, "name", limit=120)
    if email is not None:
        if not _EMAIL.match(email.strip()):
            raise Invalid("That is not an email address.", code="invalid_email")
        chat.candidate_email = accounts.normalize_email(email)
    if phone is not None:
        new_phone = normalize_phone(phone) if phone.strip() else ""
        if new_phone != chat.candidate_phone:
            chat.sms_consent = False  # consent to texts was given for the number the candidate typed, not another
        chat.candidate_phone = new_phone
    if private_notes is not None:
        chat.private_notes = jobs._text(private_notes, "notes", 20_000)  # noqa: SLF001
    chat.updated_at = ctx.now
    return chat


async def mine(session: AsyncSession, user: User, status: str, now: dt.datetime) -> list[LiveChat]:
    """The caller's chats: waiting (in their queues), active (theirs, notes included) or ended (theirs)."""
    if status == "waiting":
        queues = await serving_queues(session, user, now)
        stmt = (select(LiveChat).where(LiveChat.queue.in_(queues), LiveChat.status.in_((L.WAITING.value, L.TRANSFER.value)))
                .order_by(LiveChat.queued_at, LiveChat.id))
    elif status == "active":
        joined = select(ChatMember.live_chat_id).where(ChatMember.user_id == user.id, ChatMember.left_at.is_(None))
        stmt = select(LiveChat).where(((LiveChat.recruiter_id == user.id) & LiveChat.status.in_((L.ACTIVE.value, L.NOTE.value)))
                                      | (LiveChat.id.in_(joined) & (LiveChat.status == L.ACTIVE.value))).order_by(LiveChat.taken_at)
    elif status == "ended":
        had = select(ChatMember.live_chat_id).where(ChatMember.user_id == user.id, ChatMember.mode == "former")
        stmt = (select(LiveChat).where((LiveChat.recruiter_id == user.id) | LiveChat.id.in_(had), LiveChat.status == L.ENDED.value)
                .order_by(LiveChat.ended_at.desc()))
    else:
        raise Invalid("status is waiting, active or ended.", code="invalid_status")
    return list((await session.execute(stmt.limit(1000))).scalars())


async def notes_waiting(session: AsyncSession, user: User, now: dt.datetime) -> list[LiveChat]:
    queues = await serving_queues(session, user, now)
    return list((await session.execute(
        select(LiveChat).where(LiveChat.queue.in_(queues), LiveChat.status == L.NOTE.value, LiveChat.recruiter_id.is_(None))
        .order_by(LiveChat.updated_at)
    )).scalars())
