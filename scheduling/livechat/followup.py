"""Follow Up after a live chat: email the candidate, forward them to a colleague, send them a link to book a follow-up chat.

Who may follow up: the recruiter who had the chat (or a platform admin), while it is active or once it has ended. Others who can see
the chat (its event's organizers, the job req's managers) get 403; everyone else 404, as for any chat they can't see.

Forwarding goes only to colleagues with a Fairmeet staff account (`colleagues`): never to a bare email address, so a typo or a
stranger's address can't receive a candidate's data. A forward is recorded (`live_chat_shares`); with the resume included, the
colleague may download it afterwards (`resume_chat`).

Scheduling reuses the 1-1 chat core rather than a booking system of its own. Each recruiter gets a personal follow-up calendar: an
Event of its own (made here on first use, `open_calendar`, because actions.create_event is for platform admins) in which they are the
one recruiter, taking direct bookings, in the windows they set (actions.set_recruiter_profile). Booking from the link
(`book_followup`) makes the candidate a talent of that event (an account without a password, like a participant added without one)
and runs actions.send_request -> actions.accept (only if the request came out pending) -> actions.book: busy blocks, the
unique-block guarantee against double booking, the iTIP invites, the confirmation mails and the video room all come from the core.
The signed link itself is made and checked by the web layer (it holds the secret key); here it is a callback and three values.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from scheduling import accounts, actions, conversations, outbox, slots, timefmt
from scheduling.conversations import Append
from scheduling.errors import Conflict, Forbidden, Invalid, NotFound
from scheduling.livechat import chats, jobs
from scheduling.livechat.models import FollowUpCalendar, JobReq, LiveChat, LiveChatShare, LiveStatus
from scheduling.models import (
    OPEN_STATUSES,
    Availability,
    BookingMode,
    ChatRequest,
    ChatStatus,
    Company,
    Event,
    OutboxMessage,
    Participant,
    RequestsBy,
    Role,
    User,
)

L = LiveStatus
FOLLOWABLE = (L.ACTIVE.value, L.ENDED.value)
LINK_LIFETIME = dt.timedelta(days=14)  # a booking link works this long
SIGN_IN_LIFETIME = actions.INVITE_LINK_LIFETIME  # the one-time sign-in link mailed after booking
NOTICE = dt.timedelta(hours=1)  # the earliest bookable slot starts this long from now
AHEAD = dt.timedelta(days=366)  # how far ahead a recruiter may offer times
SLOT_CHOICES = (15, 20, 30, 45, 60)
MAX_SUBJECT = 200
MAX_BODY = 10_000
MAX_MESSAGE = 4000
MAX_SCHEDULE_MESSAGE = 2000
NOT_COLLEAGUE = ("Forward only to colleagues with a Fairmeet staff account who work with you: this job req's recruiters, "
                 "your company's recruiters or the event's organizers.")


@dataclass
class Done:
    """What a follow-up action did: the outbox rows it wrote and the transcript notices to store with them."""

    chat: LiveChat
    sent: list[OutboxMessage] = field(default_factory=list)
    notices: list[Append] = field(default_factory=list)
    colleague: User | None = None
    share: LiveChatShare | None = None
    expires_at: dt.datetime | None = None


def _text(value: str, label: str, limit: int, *, required: bool) -> str:
    value = value.replace("\r\n", "\n").strip()
    if "\x00" in value:
        raise Invalid(f"The {label} can't contain NUL characters.", code="invalid_input")
    if required and not value:
        raise Invalid(f"Write a {label}.", code="invalid_input")
    if len(value) > limit:
        raise Invalid(f"The {label} is limited to {limit} characters.", code="invalid_input")
    return value


# --------------------------------------------------------------------------- who may follow up


async def followup_chat(session: AsyncSession, chat_id: int, user: User, now: dt.datetime, *, lock: bool = False) -> LiveChat:
    """The chat `user` may follow up on: theirs (or any, for admins), active or ended."""
    chat = await chats.staff_chat(session, chat_id, user, now, lock=lock)
    if chat.recruiter_id != user.id and not user.is_admin:
        raise Forbidden("Only the recruiter who had this chat can follow up on it.", code="not_your_chat")
    if chat.status not in FOLLOWABLE:
        raise Conflict("Follow up on a chat you have taken, while it runs or once it has ended.", code="not_followable")
    return chat


def _candidate_email(chat: LiveChat) -> str:
    if not chat.candidate_email:
        raise Invalid("This candidate left no email address.", code="no_email")
    return chat.candidate_email


async def job_of(session: AsyncSession, chat: LiveChat) -> JobReq | None:
    return await session.get(JobReq, chat.job_req_id) if chat.job_req_id else None


def _about(job: JobReq | None) -> str:
    return f" about {job.title}" if job else ""


def signature(user: User, job: JobReq | None) -> str:
    """The recruiter's signature. Mail goes out from the platform's address, so it says where answers reach them."""
    lines = ["", "", "-- ", user.name]
    if job:
        lines.append(f"{job.title} · {job.company}")
    lines += ["", f"Please answer to {user.email}: replies to this message don't reach me."]
    return "\n".join(lines) + "\n"


def _notice(chat: LiveChat, user: User, now: dt.datetime, event: str, text: str, **extra: Any) -> Append:
    return Append(chats.key(chat.id), "notice", user.id, {"event": event, "name": user.name, "role": "recruiter", "text": text, **extra}, now)


# --------------------------------------------------------------------------- 1. email the candidate


async def send_email(session: AsyncSession, ctx: actions.Context, user: User, chat_id: int, *, subject: str, body: str,
                     copy_me: bool) -> Done:
    """An email to the candidate in the recruiter's words (signed with their address), a copy to the recruiter if asked, a notice in the transcript."""
    chat = await followup_chat(session, chat_id, user, ctx.now)
    to = _candidate_email(chat)
    subject = actions.one_line(subject, "subject", limit=MAX_SUBJECT)  # no line breaks: it becomes a mail header
    text = _text(body, "message", MAX_BODY, required=True)
    job = await job_of(session, chat)
    mail = outbox.Mail(subject=subject, body=f"{text}{signature(user, job)}")
    done = Done(chat)
    done.sent.append(chats.outbox_row(to, chat.candidate_name, "live_followup_email", mail, ctx.now))
    if copy_me:
        copy = outbox.Mail(subject=f"Copy: {subject}", body=f"Your email to {chat.candidate_name} <{to}>:\n\n{mail.body}")
        done.sent.append(chats.outbox_row(user.email, user.name, "live_followup_copy", copy, ctx.now))
    session.add_all(done.sent)
    done.notices.append(_notice(chat, user, ctx.now, "follow_up_email", f"{user.name} emailed {chat.candidate_name}: {subject}", subject=subject))
    return done


# --------------------------------------------------------------------------- 2. forward to a colleague


async def colleagues(session: AsyncSession, chat: LiveChat, user: User) -> list[User]:
    """Whom `user` may forward this chat's candidate to: staff accounts working with it or with them.

    The job req's recruiters and its creator; the organizers of the chat's (or job req's) event; recruiters of the booth's company;
    recruiters of the companies `user` recruits for (at any event). Never `user`, never a talent.
    """
    ids: set[int] = set()
    event_ids: set[int] = set()
    company_ids: set[int] = set()
    if chat.event_id is not None:
        event_ids.add(chat.event_id)
    if chat.company_id is not None:
        company_ids.add(chat.company_id)
    job = await job_of(session, chat)
    if job is not None:
        ids.update(await jobs.assignee_ids(session, job.id))
        if job.created_by_id is not None:
            ids.add(job.created_by_id)
        if job.event_id is not None:
            event_ids.add(job.event_id)
    company_ids.update(c for c in (await session.execute(
        select(Participant.company_id).where(Participant.user_id == user.id, Participant.role == Role.RECRUITER.value,
                                             Participant.company_id.is_not(None))
    )).scalars() if c is not None)
    conditions = []
    if event_ids:
        conditions.append(and_(Participant.event_id.in_(event_ids), Participant.role == Role.ORGANIZER.value))
    if company_ids:
        conditions.append(and_(Participant.company_id.in_(company_ids), Participant.role == Role.RECRUITER.value))
    if conditions:
        ids.update((await session.execute(select(Participant.user_id).where(or_(*conditions)))).scalars())
    ids.discard(user.id)
    if not ids:
        return []
    people = (await session.execute(select(User).where(User.id.in_(ids)).order_by(User.name, User.id))).scalars().all()
    return [p for p in people if await jobs.is_staff(session, p)]


async def _share(session: AsyncSession, ctx: actions.Context, chat: LiveChat, user: User, colleague: User, *, resume: bool,
                 transcript: bool) -> LiveChatShare:
    """Records the forward; a second one to the same person widens what they were given."""
    stmt = select(LiveChatShare).where(LiveChatShare.live_chat_id == chat.id, LiveChatShare.user_id == colleague.id).with_for_update()
    row = (await session.execute(stmt)).scalar_one_or_none()
    if row is None:
        try:
            async with session.begin_nested():
                row = LiveChatShare(live_chat_id=chat.id, user_id=colleague.id, shared_by_id=user.id, resume=resume, transcript=transcript,
                                    created_at=ctx.now, updated_at=ctx.now)
                session.add(row)
            return row
        except IntegrityError:  # forwarded to the same person at the same moment
            row = (await session.execute(stmt.execution_options(populate_existing=True))).scalar_one()
    row.resume, row.transcript = row.resume or resume, row.transcript or transcript
    row.shared_by_id, row.updated_at = user.id, ctx.now
    return row


def _indent(text: str, prefix: str = "  ") -> str:
    return "\n".join(prefix + line if line else "" for line in text.splitlines())


def _who(entry: conversations.Entry, candidate: str) -> str:
    if entry.kind == "bot" or entry.body.get("bot"):
        return "Assistant"
    if entry.kind == "notice":
        return "*"
    return str(entry.body.get("name") or (candidate if entry.author_id is None else "Recruiter"))


async def transcript_text(session: AsyncSession, chat: LiveChat, tz: str | None) -> str:
    """The chat's transcript as plain text, times in `tz`."""
    zone = timefmt.zone(tz)
    lines = []
    for e in await conversations.since(session, chats.key(chat.id), 0):
        if e.kind not in ("message", "bot", "notice"):
            continue
        text = str(e.body.get("text", ""))
        first, *rest = text.splitlines() or [""]
        local = e.at.astimezone(zone)
        lines.append(f"[{local:%d %b %H:%M} {timefmt.zone_label(local)}] {_who(e, chat.candidate_name)}: {first}")
        lines += [f"    {line}" for line in rest]
    return "\n".join(lines)


async def _profile(session: AsyncSession, ctx: actions.Context, chat: LiveChat, user: User, colleague: User, message: str, *,
                   resume_url: str | None, transcript: bool) -> str:
    job = await job_of(session, chat)
    event = await session.get(Event, chat.event_id) if chat.event_id else None
    company = await session.get(Company, chat.company_id) if chat.company_id else None
    zone = timefmt.zone(colleague.timezone, event.timezone if event else "UTC")
    out = [f"Hello {colleague.name},", "", f"{user.name} forwarded you a candidate from a live chat{_about(job)}."]
    if message:
        out += ["", f"{user.name} writes:", _indent(message)]
    facts = [("Name", chat.candidate_name), ("Email", chat.candidate_email or "-")]
    if chat.candidate_phone:
        facts.append(("Phone", chat.candidate_phone + (" (texts welcome)" if chat.sms_consent else "")))
    if job:
        facts.append(("Job req", f"{job.title} · {job.company}" + (f" · {job.location}" if job.location else "")))
    if company:
        facts.append(("Booth", company.name))
    if event:
        facts.append(("Event", event.name))
    facts.append(("Chatted", timefmt.stamp(chat.taken_at or chat.created_at, zone) + f" ({zone.key}) with {user.name}"))
    if chat.next_step:
        facts.append(("Next step", chat.next_step + (" · follow up" if chat.outcome == "follow_up" else "")))
    if chat.source_url:
        facts.append(("Came from", chat.source_url))
    out += ["", "CANDIDATE", *(f"  {k}: {v}" for k, v in facts)]
    answers: list[dict[str, Any]] = orjson.loads(chat.answers or "[]")
    if answers:
        out += ["", "KNOCKOUT ANSWERS"]
        out += [f"  {a['question']} {a['answer']}" + ("" if a.get("qualified", True) else " (does not qualify)") for a in answers]
    fields: dict[str, Any] = orjson.loads(chat.fields or "{}")
    if fields:
        out += ["", "OTHER ANSWERS", *(f"  {v['label']}: {v['value']}" for v in fields.values())]
    out += ["", f"NOTES BY {user.name.upper()}", _indent(chat.private_notes) if chat.private_notes else "  (none)"]
    if resume_url is not None:
        out += ["", "RESUME"]
        if chat.resume_file:
            out += [f"  {chat.resume_name} ({max(1, chat.resume_size // 1024)} KB): {resume_url}", "  (sign in to Fairmeet to download it)"]
        else:
            out.append("  The candidate has not shared a resume.")
    if transcript:
        out += ["", "TRANSCRIPT", await transcript_text(session, chat, zone.key) or "  (nothing was said)"]
    return "\n".join(out) + signature(user, job)


async def forward(session: AsyncSession, ctx: actions.Context, user: User, chat_id: int, *, to_user_id: int | None, to_email: str | None,
                  message: str, include_resume: bool, include_transcript: bool, resume_url: Callable[[LiveChat], str]) -> Done:
    """Emails the candidate's profile (contact, answers, fields, notes; optionally the resume link and the transcript) to a colleague."""
    chat = await followup_chat(session, chat_id, user, ctx.now)
    email = (to_email or "").strip()
    if (to_user_id is None) == (not email):
        raise Invalid("Pick one colleague: by account or by email address.", code="invalid_recipient")
    colleague = await session.get(User, to_user_id) if to_user_id is not None else await accounts.user_by_email(session, email)
    if colleague is None or colleague.id not in {c.id for c in await colleagues(session, chat, user)}:
        raise Invalid(NOT_COLLEAGUE, code="not_a_colleague")  # unknown address or not a colleague: the same answer
    message = _text(message, "message", MAX_MESSAGE, required=False)
    resume = include_resume and bool(chat.resume_file)
    share = await _share(session, ctx, chat, user, colleague, resume=resume, transcript=include_transcript)
    body = await _profile(session, ctx, chat, user, colleague, message, resume_url=resume_url(chat) if include_resume else None,
                          transcript=include_transcript)
    job = await job_of(session, chat)
    mail = outbox.Mail(subject=f"{user.name} forwarded a candidate: {chat.candidate_name}{_about(job)}"[:300], body=body)
    done = Done(chat, colleague=colleague, share=share)
    done.sent.append(chats.outbox_row(colleague.email, colleague.name, "live_forward", mail, ctx.now))
    session.add_all(done.sent)
    return done


async def shared_with(session: AsyncSession, chat_id: int, user_id: int, *, resume: bool = False, transcript: bool = False) -> bool:
    """Whether the chat was forwarded to this person (with its resume / its transcript when asked)."""
    stmt = select(LiveChatShare.id).where(LiveChatShare.live_chat_id == chat_id, LiveChatShare.user_id == user_id)
    if resume:
        stmt = stmt.where(LiveChatShare.resume.is_(True))
    if transcript:
        stmt = stmt.where(LiveChatShare.transcript.is_(True))
    return (await session.execute(stmt.limit(1))).first() is not None


async def resume_chat(session: AsyncSession, chat_id: int, user: User, now: dt.datetime) -> LiveChat:
    """The chat whose resume `user` may download: a chat they may see (chats.staff_chat), or one forwarded to them with its resume."""
    try:
        return await chats.staff_chat(session, chat_id, user, now)
    except NotFound:
        chat = await session.get(LiveChat, chat_id)
        if chat is None or not await shared_with(session, chat_id, user.id, resume=True):
            raise
        return chat


async def shares(session: AsyncSession, chat_id: int) -> list[tuple[LiveChatShare, User]]:
    rows = await session.execute(select(LiveChatShare, User).join(User, User.id == LiveChatShare.user_id)
                                 .where(LiveChatShare.live_chat_id == chat_id).order_by(LiveChatShare.updated_at, LiveChatShare.id))
    return [(s, u) for s, u in rows]


# --------------------------------------------------------------------------- 3. the follow-up calendar


@dataclass
class Calendar:
    event: Event
    member: Participant  # the recruiter's participation: booking mode, availability


async def calendar(session: AsyncSession, user_id: int) -> Calendar | None:
    row = await session.get(FollowUpCalendar, user_id)
    if row is None:
        return None
    event = await session.get(Event, row.event_id)
    member = await actions.participation(session, row.event_id, user_id)
    assert event is not None and member is not None
    return Calendar(event, member)


def _day(now: dt.datetime) -> dt.datetime:
    return now.astimezone(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def _roll(event: Event, now: dt.datetime) -> None:
    """The calendar's event always spans yesterday to a good year ahead (availability must lie inside it)."""
    event.starts_at = _day(now) - dt.timedelta(days=1)
    event.ends_at = _day(now) + AHEAD + dt.timedelta(days=2)


async def open_calendar(session: AsyncSession, ctx: actions.Context, user: User) -> Calendar:
    """The recruiter's follow-up calendar, made on first use: an event, the recruiter as its one direct-booking recruiter.

    Made here, row by row, rather than through actions.create_event (admins only, and it would make the recruiter an organizer):
    a recruiter owns their own calendar. Talents request, the recruiter takes direct bookings; no caps; no organizer (platform
    admins oversee it as any event). Two first uses at once make one calendar (the key is the user).
    """
    if not await jobs.is_staff(session, user):
        raise Forbidden("Follow-up calendars are for recruiters and organizers.", code="not_staff")
    found = await calendar(session, user.id)
    if found is not None:
        return found
    zone = user.timezone if user.timezone and timefmt.is_valid_zone(user.timezone) else "UTC"
    try:
        async with session.begin_nested():
            event = Event(name=f"Follow-up chats with {user.name}"[:200], description="Follow-up chats booked after live chats.", timezone=zone,
                          support_email="", requests_by=RequestsBy.TALENTS.value, slot_minutes=30, buffer_minutes=0,
                          max_requests_per_talent=None, max_chats_per_talent=None, room_opens_minutes_before=5, next_steps="", created_at=ctx.now)
            _roll(event, ctx.now)
            session.add(event)
            await session.flush()
            member = Participant(event_id=event.id, user_id=user.id, role=Role.RECRUITER.value, company_id=None, requests_used=0, chats_booked=0,
                                 booking_mode=BookingMode.DIRECT.value, custom_question="", ideal_candidate="")
            session.add_all([member, FollowUpCalendar(user_id=user.id, event_id=event.id, created_at=ctx.now)])
            await session.flush()
    except IntegrityError:
        found = await calendar(session, user.id)
        assert found is not None
        return found
    return Calendar(event, member)


async def windows(session: AsyncSession, cal: Calendar) -> list[Availability]:
    return list((await session.execute(
        select(Availability).where(Availability.participant_id == cal.member.id).order_by(Availability.starts_at)
    )).scalars())


async def set_availability(session: AsyncSession, ctx: actions.Context, user: User, wanted: Sequence[actions.Window], *,
                           slot_minutes: int | None = None) -> Calendar:
    """Replaces the recruiter's follow-up windows (past ones are dropped) through actions.set_recruiter_profile; direct booking always."""
    cal = await open_calendar(session, ctx, user)
    if slot_minutes is not None:
        if slot_minutes not in SLOT_CHOICES:
            raise Invalid(f"A follow-up lasts {', '.join(map(str, SLOT_CHOICES))} minutes.", code="invalid_slot_minutes")
        cal.event.slot_minutes = slot_minutes
    _roll(cal.event, ctx.now)
    if user.timezone and timefmt.is_valid_zone(user.timezone):
        cal.event.timezone = user.timezone  # mails show the recruiter's time beside the candidate's
    keep = []
    for w in wanted:
        timefmt.checked_instant(w.start, "start")
        timefmt.checked_instant(w.end, "end")
        if w.end <= ctx.now:
            continue
        if w.end > ctx.now + AHEAD:
            raise Invalid("Offer times up to a year ahead.", code="availability_too_far")
        keep.append(actions.Window(max(w.start, cal.event.starts_at), w.end))
    await session.flush()
    cal.member = await actions.set_recruiter_profile(session, user, cal.event.id, user.id, booking_mode=BookingMode.DIRECT.value,
                                                     custom_question="", ideal_candidate="", availability=keep)
    return cal


async def open_slots(session: AsyncSession, cal: Calendar, now: dt.datetime, *, talent_id: int | None = None) -> list[slots.Slot]:
    """The recruiter's follow-up slots from NOTICE on, free for the recruiter (at any event) and for the talent if known."""
    grid = slots.grid([(w.starts_at, w.ends_at) for w in await windows(session, cal)], cal.event.slot_minutes, cal.event.buffer_minutes,
                      not_before=max(now + NOTICE, cal.event.starts_at), not_after=cal.event.ends_at)
    people = [cal.member.user_id] + ([talent_id] if talent_id is not None else [])
    return slots.free(grid, await actions.busy_intervals(session, people))


async def upcoming(session: AsyncSession, cal: Calendar, now: dt.datetime) -> list[tuple[ChatRequest, User]]:
    """The calendar's confirmed follow-ups still to come, with their talents."""
    rows = await session.execute(
        select(ChatRequest, User).join(User, User.id == ChatRequest.talent_id)
        .where(ChatRequest.event_id == cal.event.id, ChatRequest.status == ChatStatus.CONFIRMED.value, ChatRequest.ends_at > now)
        .order_by(ChatRequest.starts_at)
    )
    return [(c, u) for c, u in rows]


def email_digest(email: str) -> str:
    """What a booking link carries of the candidate's address: enough to notice it changed, nothing to read it from."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:16]


async def send_schedule_link(session: AsyncSession, ctx: actions.Context, user: User, chat_id: int, *, message: str,
                             link: Callable[[LiveChat, User], str]) -> Done:
    """Sends the candidate a signed link to book a follow-up in the recruiter's calendar: by email, and by text if they agreed to texts."""
    chat = await followup_chat(session, chat_id, user, ctx.now)
    to = _candidate_email(chat)
    cal = await calendar(session, user.id)
    if cal is None or not await open_slots(session, cal, ctx.now):
        raise Conflict("Your follow-up calendar has no free times: add some first.", code="no_availability")
    text = _text(message, "message", MAX_SCHEDULE_MESSAGE, required=False)
    job = await job_of(session, chat)
    url = link(chat, user)
    days = LINK_LIFETIME.days
    intro = text or f"Thank you for chatting with me{_about(job)}. I'd like to continue our conversation in a short video call."
    mail = outbox.Mail(
        subject=f"Book a follow-up chat with {user.name}",
        body=f"Hello {chat.candidate_name},\n\n{intro}\n\nPick a time that suits you ({cal.event.slot_minutes} minutes, by video); "
             f"this link works for {days} days:\n{url}\n{signature(user, job)}",
    )
    done = Done(chat, expires_at=ctx.now + LINK_LIFETIME)
    done.sent.append(chats.outbox_row(to, chat.candidate_name, "live_followup_link", mail, ctx.now))
    if chat.sms_consent and chat.candidate_phone:
        sms = chats.outbox_row("", chat.candidate_name, "live_followup_link_sms",
                               outbox.Mail(subject="", body=f"{user.name} invites you to book a follow-up chat{_about(job)}: {url}"), ctx.now)
        sms.channel, sms.to_phone = "sms", chat.candidate_phone
        done.sent.append(sms)
    session.add_all(done.sent)
    done.notices.append(_notice(chat, user, ctx.now, "follow_up_link", f"{user.name} sent {chat.candidate_name} a link to book a follow-up chat"))
    return done


# --------------------------------------------------------------------------- 3b. booking from the link


@dataclass
class Invitation:
    """A booking link's chat, recruiter and calendar, checked."""

    chat: LiveChat
    recruiter: User
    calendar: Calendar
    job: JobReq | None


INVALID_LINK = "This booking link is no longer valid. Ask the recruiter for a new one."


async def invitation(session: AsyncSession, chat_id: int, recruiter_id: int, digest: str) -> Invitation:
    """What a (signature-checked) link points at; a changed candidate address, or a calendar gone, void it."""
    chat = await session.get(LiveChat, chat_id)
    recruiter = await session.get(User, recruiter_id)
    if chat is None or recruiter is None or not chat.candidate_email or not hmac.compare_digest(email_digest(chat.candidate_email), digest):
        raise NotFound(INVALID_LINK, code="link_invalid")
    cal = await calendar(session, recruiter.id)
    if cal is None:
        raise NotFound(INVALID_LINK, code="link_invalid")
    return Invitation(chat, recruiter, cal, await job_of(session, chat))


async def candidate_account(session: AsyncSession, inv: Invitation) -> User | None:
    """The candidate's Fairmeet account, if they have one (a signed-in talent's chat knows it; else by address)."""
    user = await session.get(User, inv.chat.talent_id) if inv.chat.talent_id else None
    return user or await accounts.user_by_email(session, inv.chat.candidate_email)


async def booked(session: AsyncSession, inv: Invitation, talent: User | None) -> ChatRequest | None:
    """The candidate's open follow-up with this recruiter (at most one: the core's one-open-request-per-pair index)."""
    if talent is None:
        return None
    return (await session.execute(
        select(ChatRequest).where(ChatRequest.event_id == inv.calendar.event.id, ChatRequest.talent_id == talent.id,
                                  ChatRequest.recruiter_id == inv.recruiter.id, ChatRequest.status.in_(OPEN_STATUSES))
    )).scalar_one_or_none()


async def _talent(session: AsyncSession, ctx: actions.Context, inv: Invitation, timezone: str | None) -> User:
    """The candidate's account (made without a password if they have none) and their place as a talent in the calendar's event."""
    user = await candidate_account(session, inv)
    if user is None:
        try:
            async with session.begin_nested():
                user = await accounts.create_user(session, email=inv.chat.candidate_email, name=inv.chat.candidate_name, password=None, now=ctx.now)
        except IntegrityError:  # the same candidate booking in two tabs at once
            user = await accounts.user_by_email(session, inv.chat.candidate_email)
            assert user is not None
    if user.id == inv.recruiter.id:
        raise Invalid("This is your own booking link.", code="own_link")
    timezone = timefmt.canonical_zone(timezone) or ""  # a browser's name for it (Asia/Calcutta), as the zone list spells it
    if timezone and not user.timezone:
        user.timezone = timezone
    event = inv.calendar.event
    member = await actions.participation(session, event.id, user.id)
    if member is None:
        try:
            async with session.begin_nested():
                session.add(Participant(event_id=event.id, user_id=user.id, role=Role.TALENT.value, company_id=None, requests_used=0, chats_booked=0,
                                        booking_mode=BookingMode.SELECTIVE.value, custom_question="", ideal_candidate=""))
        except IntegrityError:
            member = await actions.participation(session, event.id, user.id)
    if member is not None and member.role != Role.TALENT.value:
        raise Invalid("This is your own booking link.", code="own_link")
    return user


@dataclass
class Booked:
    request: ChatRequest
    talent: User
    notices: list[Append]


async def book_followup(session: AsyncSession, ctx: actions.Context, inv: Invitation, start: dt.datetime, *, timezone: str | None = None) -> Booked:
    """Books `start` for the link's candidate through the core: send_request (auto-accepted: direct booking), accept if it came out
    pending (the recruiter invited them), book. A slot taken meanwhile is the core's 409 slot_taken; the caller rolls back."""
    start = timefmt.checked_instant(start, "time")
    if start < ctx.now + NOTICE:
        raise Invalid("That time is too soon or has passed; pick a later one.", code="slot_in_past")
    talent = await _talent(session, ctx, inv, timezone)
    request = await booked(session, inv, talent)
    if request is not None and request.status == ChatStatus.CONFIRMED.value:
        raise Conflict("You already have a follow-up chat booked with this recruiter.", code="already_booked")
    if request is None:
        request = await actions.send_request(session, ctx, talent, inv.calendar.event.id, recruiter_id=inv.recruiter.id,
                                             message=f"Booked from your follow-up link after our live chat{_about(inv.job)}.")
    if request.status == ChatStatus.PENDING.value:
        request = await actions.accept(session, ctx, inv.recruiter, request.id)
    request = await actions.book(session, ctx, talent, request.id, start)
    assert request.starts_at is not None and request.ends_at is not None
    event = inv.calendar.event
    when = outbox.when(request.starts_at, request.ends_at, talent.timezone, event.timezone).long
    secret = await accounts.issue_login_link(session, talent, now=ctx.now, lifetime=SIGN_IN_LIFETIME)
    sign_in = ctx.link(f"/login/link/{secret}?next=/chats/{request.id}")
    outbox.enqueue(session, talent, "live_followup_sign_in", outbox.Mail(
        subject=f"Your follow-up chat with {inv.recruiter.name}: how to join",
        body=f"Hello {talent.name},\n\nYour follow-up chat with {inv.recruiter.name} is booked: {when}.\n"
             f"The confirmation with a calendar invite comes in a separate email.\n\n"
             f"The chat is a video call in Fairmeet. This link signs you in to see it and join its room when it opens "
             f"(it works once, for {SIGN_IN_LIFETIME.days} days):\n{sign_in}\n\n"
             f"Later on, ask for a new sign-in link with this email address at {ctx.link('/login')}\n"), now=ctx.now)
    recruiter_when = timefmt.span(request.starts_at, request.ends_at, event.timezone, event.timezone)
    notice = Append(chats.key(inv.chat.id), "notice", None, {"event": "follow_up_booked", "name": inv.chat.candidate_name, "role": "candidate",
                                                             "text": f"{inv.chat.candidate_name} booked a follow-up chat: {recruiter_when}",
                                                             "chat_request_id": request.id}, ctx.now)
    return Booked(request, talent, [notice])
