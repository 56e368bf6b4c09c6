"""Tickets: the record a live chat leaves when it ends or its last staff member leaves (written by `desk.open_ticket`).

Staff list the tickets they may see, change a ticket's subject, status and assignee, email the transcript, and reply:
a reply reopens the chat as a note (the unhurried thread the candidate continues from an emailed link) owned by the
replier, and the ticket waits for the candidate (`pending`) until they write back (`candidate_replied`: `open`).

Who may see a ticket: whoever may see its chat (`chats.staff_may_see`) and its assignee. The list applies the same
rule in SQL (`_scope`), so paging and counts are exact. Every change locks the chat row, then the ticket row: the
order the desk's operations lock in (chat first), so nothing here deadlocks with them.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from scheduling import actions, conversations
from scheduling.conversations import Append, Entry
from scheduling.errors import Conflict, Invalid, NotFound
from scheduling.livechat import chats, desk, routing
from scheduling.livechat.desk_models import ChatMember, Offer, Ticket
from scheduling.livechat.models import JobReq, JobReqAssignee, LiveChat, LiveStatus
from scheduling.models import Company, Event, Participant, Role, User

L = LiveStatus
STATUSES = desk.TICKET_STATUSES  # open | pending | solved
WHO = ("", "mine", "unassigned")  # everyone's, assigned to me, assigned to nobody
PER_PAGE = 25
MAX_PER_PAGE = 100
MAX_SEARCH = 100
TRANSCRIPT_EVERY = dt.timedelta(minutes=10)  # the same transcript mailed again this soon is a double click, not a need
UNOWNED = (L.WAITING.value, L.AWAY.value, L.NOTE.value, L.TRANSFER.value)  # as chats.staff_may_see: whoever answers the queue sees these


class _Keep(enum.Enum):
    KEEP = "keep"


KEEP = _Keep.KEEP  # "leave the assignee as it is" (None means: nobody)


# --------------------------------------------------------------------------- who may see what


async def _staffed_queues(session: AsyncSession, user: User) -> list[str]:
    """Every queue this person answers, whatever the time (the inverse of `chats.queue_staff_ids`)."""
    queues = [f"job:{j}" for j in (await session.execute(select(JobReqAssignee.job_req_id).where(JobReqAssignee.user_id == user.id))).scalars()]
    queues += [f"team:{t}" for t in await routing.team_ids_of(session, user.id)]
    rows = await session.execute(select(Participant.event_id, Participant.role, Participant.company_id).where(Participant.user_id == user.id))
    for event_id, role, company_id in rows:
        if role == Role.RECRUITER.value and company_id is not None:
            queues.append(f"booth:{event_id}:{company_id}")
        elif role == Role.ORGANIZER.value:
            queues.append(f"support:{event_id}")
    queues.append(f"user:{user.id}")
    return queues


async def _scope(session: AsyncSession, user: User) -> ColumnElement[bool] | None:
    """`chats.staff_may_see(chat)` or being the ticket's assignee, as a condition on (Ticket, LiveChat); None for admins (everything)."""
    if user.is_admin:
        return None
    organized = select(Participant.event_id).where(Participant.user_id == user.id, Participant.role == Role.ORGANIZER.value)
    managed = select(JobReq.id).where(or_(JobReq.created_by_id == user.id, JobReq.event_id.in_(organized)))
    member_of = select(ChatMember.live_chat_id).where(ChatMember.user_id == user.id, ChatMember.left_at.is_(None))
    owned_before = select(ChatMember.live_chat_id).where(ChatMember.user_id == user.id, ChatMember.mode == "former")
    invited_to = select(Offer.live_chat_id).where(Offer.user_id == user.id, Offer.outcome == "pending", Offer.reason == "invite")
    return or_(
        Ticket.assignee_id == user.id,
        LiveChat.recruiter_id == user.id,
        LiveChat.offered_to_id == user.id,
        and_(LiveChat.recruiter_id.is_(None), LiveChat.status.in_(UNOWNED), LiveChat.queue.in_(await _staffed_queues(session, user))),
        LiveChat.id.in_(member_of),
        and_(LiveChat.id.in_(owned_before), LiveChat.status.in_((L.ENDED.value, L.NOTE.value))),
        LiveChat.id.in_(invited_to),
        LiveChat.event_id.in_(organized),
        LiveChat.job_req_id.in_(managed),
    )


async def may_see(session: AsyncSession, ticket: Ticket, chat: LiveChat, user: User, now: dt.datetime) -> bool:
    return ticket.assignee_id == user.id or await chats.staff_may_see(session, chat, user, now)


async def get(session: AsyncSession, user: User, ticket_id: int, now: dt.datetime, *, lock: bool = False) -> tuple[Ticket, LiveChat]:
    """A ticket and its chat; not-found for tickets the caller may not see. `lock`: the chat row, then the ticket row."""
    ticket = await session.get(Ticket, ticket_id)
    if ticket is None:
        raise NotFound("No such ticket.", code="ticket_not_found")
    stmt = select(LiveChat).where(LiveChat.id == ticket.live_chat_id)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    chat = (await session.execute(stmt)).scalar_one()
    if lock:
        ticket = (await session.execute(select(Ticket).where(Ticket.id == ticket_id).with_for_update()
                                        .execution_options(populate_existing=True))).scalar_one()
    if not await may_see(session, ticket, chat, user, now):
        raise NotFound("No such ticket.", code="ticket_not_found")
    return ticket, chat


# --------------------------------------------------------------------------- reading


@dataclass
class Row:
    """A ticket with what its list row and page show."""

    ticket: Ticket
    chat: LiveChat
    job: JobReq | None = None
    event: Event | None = None
    company: Company | None = None
    assignee: User | None = None
    owner: User | None = None  # the chat's recruiter (who had it, or answers the reopened thread)

    @property
    def about(self) -> str:
        """What the chat was about: the job req, else the booth or the event's support."""
        if self.job is not None:
            return f"{self.job.title} ({self.job.company})"
        if self.chat.kind == "booth":
            return f"{self.company.name} booth" if self.company else "Booth chat"
        return "Event support" if self.chat.kind == "support" else ""


@dataclass
class Listing:
    rows: list[Row]
    total: int  # matching the filters, all pages
    page: int
    per_page: int
    counts: dict[str, int] = field(default_factory=dict)  # by status, matching the other filters

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def clean_search(q: str) -> str:
    q = " ".join(q.split())
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in q):
        raise Invalid("Search for plain text.", code="invalid_search")
    if len(q) > MAX_SEARCH:
        raise Invalid(f"Search for at most {MAX_SEARCH} characters.", code="invalid_search")
    return q


async def listing(session: AsyncSession, user: User, *, status: str = "", who: str = "", q: str = "", page: int = 1,
                  per_page: int = PER_PAGE) -> Listing:
    """The tickets the caller may see, newest update first: by status ("" any), mine or unassigned ("" anyone's), and a
    search in the subject and the candidate's name and email; one page of them, with counts by status."""
    if status and status not in STATUSES:
        raise Invalid("Filter by status open, pending or solved.", code="invalid_filter")
    if who not in WHO:
        raise Invalid("Filter by mine or unassigned.", code="invalid_filter")
    if not 1 <= per_page <= MAX_PER_PAGE or not 1 <= page <= 100_000:
        raise Invalid(f"Pages hold 1 to {MAX_PER_PAGE} tickets and start at 1.", code="invalid_page")
    q = clean_search(q)
    where: list[ColumnElement[bool]] = []
    scope = await _scope(session, user)
    if scope is not None:
        where.append(scope)
    if who == "mine":
        where.append(Ticket.assignee_id == user.id)
    elif who == "unassigned":
        where.append(Ticket.assignee_id.is_(None))
    if q:
        pattern = _like(q)
        where.append(or_(Ticket.subject.ilike(pattern, escape="\\"), LiveChat.candidate_name.ilike(pattern, escape="\\"),
                         LiveChat.candidate_email.ilike(pattern, escape="\\")))
    base = select(Ticket.status, func.count()).join(LiveChat, LiveChat.id == Ticket.live_chat_id).where(*where).group_by(Ticket.status)
    counts = {s: 0 for s in STATUSES}
    counts.update({s: int(n) for s, n in await session.execute(base)})
    if status:
        where.append(Ticket.status == status)
    total = counts.get(status, 0) if status else sum(counts.values())
    stmt = (select(Ticket, LiveChat).join(LiveChat, LiveChat.id == Ticket.live_chat_id).where(*where)
            .order_by(Ticket.updated_at.desc(), Ticket.id.desc()).offset((page - 1) * per_page).limit(per_page))
    pairs = [(t, c) for t, c in await session.execute(stmt)]
    return Listing(await _rows(session, pairs), total, page, per_page, counts)


async def _by_id(session: AsyncSession, model: Any, ids: set[int | None]) -> dict[int, Any]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {x.id: x for x in (await session.execute(select(model).where(model.id.in_(wanted)))).scalars()}


async def _rows(session: AsyncSession, pairs: list[tuple[Ticket, LiveChat]]) -> list[Row]:
    """Rows with their job reqs, events, companies and people, read in one query each."""
    jobs_ = await _by_id(session, JobReq, {c.job_req_id for _, c in pairs})
    events = await _by_id(session, Event, {c.event_id for _, c in pairs})
    companies = await _by_id(session, Company, {c.company_id for _, c in pairs})
    people = await _by_id(session, User, {t.assignee_id for t, _ in pairs} | {c.recruiter_id for _, c in pairs})
    return [Row(t, c, jobs_.get(c.job_req_id or 0), events.get(c.event_id or 0), companies.get(c.company_id or 0),
                people.get(t.assignee_id or 0), people.get(c.recruiter_id or 0)) for t, c in pairs]


async def row(session: AsyncSession, ticket: Ticket, chat: LiveChat) -> Row:
    return (await _rows(session, [(ticket, chat)]))[0]


async def assignee_choices(session: AsyncSession, chat: LiveChat) -> list[User]:
    """Whom the ticket may be assigned to (`desk.ticket_people`), by name."""
    people = await desk.ticket_people(session, chat)
    if not people:
        return []
    users = (await session.execute(select(User).where(User.id.in_(people)))).scalars()
    return sorted(users, key=lambda u: (u.name.casefold(), u.id))


async def transcript(session: AsyncSession, chat: LiveChat) -> list[Entry]:
    """The chat's lines, bot lines and notices, oldest first (presence and other bookkeeping left out)."""
    entries = await conversations.since(session, chats.key(chat.id), 0)
    return [e for e in entries if e.kind in ("message", "bot", "notice")]


# --------------------------------------------------------------------------- changes


async def update_ticket(session: AsyncSession, ctx: actions.Context, user: User, ticket_id: int, *, subject: str | None = None,
                        status: str | None = None, assignee_id: int | None | Literal[_Keep.KEEP] = KEEP) -> tuple[Ticket, LiveChat]:
    """Changes what is given: the subject (one line), the status, the assignee (one of the people the chat could be
    forwarded to, or nobody). Anyone who may see the ticket may change it."""
    ticket, chat = await get(session, user, ticket_id, ctx.now, lock=True)
    changed = False
    if subject is not None:
        clean = actions.one_line(subject, "subject", limit=200)
        changed = changed or clean != ticket.subject
        ticket.subject = clean
    if status is not None:
        if status not in STATUSES:
            raise Invalid("A ticket is open, pending or solved.", code="invalid_ticket_status")
        changed = changed or status != ticket.status
        ticket.status = status
    if assignee_id is not KEEP and assignee_id != ticket.assignee_id:
        if assignee_id is not None:
            if assignee_id not in await desk.ticket_people(session, chat):
                raise Invalid("Assign the ticket to a colleague who answers this chat's queue, or to an organizer.", code="invalid_assignee")
        ticket.assignee_id = assignee_id
        changed = True
    if changed:
        ticket.updated_at = ctx.now
    await session.flush()
    return ticket, chat


async def email_transcript(session: AsyncSession, ctx: actions.Context, user: User, ticket_id: int,
                           continue_link: Callable[[int], str]) -> tuple[Ticket, LiveChat]:
    """Emails the chat's transcript to the candidate (`desk.send_transcript`). The continue link goes with it only while
    the candidate can write back (the chat is a note thread); an ended chat's link would open a chat that is closed."""
    ticket, chat = await get(session, user, ticket_id, ctx.now, lock=True)
    if not chat.candidate_email:
        raise Invalid("This candidate left no email address.", code="no_email")
    if ticket.transcript_sent_at is not None and ctx.now - ticket.transcript_sent_at < TRANSCRIPT_EVERY:
        minutes = max(1, int((ctx.now - ticket.transcript_sent_at).total_seconds() // 60))
        raise Conflict(f"The transcript went to {chat.candidate_email} {minutes} minute{'s' if minutes != 1 else ''} ago; "
                       f"send it again later if they ask.", code="too_soon")
    await desk.send_transcript(session, ctx, chat, user, continue_link(chat.id) if chat.status == L.NOTE.value else "")
    ticket.transcript_sent_at = ticket.updated_at = ctx.now
    await session.flush()
    return ticket, chat


@dataclass
class Replied:
    ticket: Ticket
    chat: LiveChat
    entry: Entry
    created: bool  # False: a retried client_id; nothing else happened
    reopened: bool = False  # the chat was ended and is a note thread again
    emailed: bool = False
    texted: bool = False
    previous_owner: int | None = None
    was_unowned_note: bool = False


async def reply(session: AsyncSession, ctx: actions.Context, user: User, ticket_id: int, text: str, *, link: Callable[[int], str],
                client_id: str | None = None) -> Replied:
    """A staff reply by email: the chat becomes (or stays) a note thread owned by the replier, the line is stored as theirs,
    the candidate is emailed (and texted, with consent) the line and the continue link, and the ticket is pending.

    Like answering a note: at most one email per chat in `chats.MAIL_EVERY`, except the first reply after reopening an
    ended chat, which always goes out (the candidate has no other way to know). A retried `client_id` does nothing twice."""
    ticket, chat = await get(session, user, ticket_id, ctx.now, lock=True)
    if chat.status not in (L.ENDED.value, L.NOTE.value):
        raise Conflict("This chat is going on now; answer it in Chats.", code="chat_open")
    if not chat.candidate_email:
        raise Invalid("This candidate left no email address, so a reply can't reach them.", code="no_email")
    if client_id is not None and (not client_id or len(client_id) > 64 or any(ord(ch) < 33 or ord(ch) == 127 for ch in client_id)):
        raise Invalid("client_id is 1 to 64 visible characters.", code="invalid_input")
    body = {**conversations.message_body(text), "name": user.name, "role": "recruiter"}
    [stored] = await conversations.store(await session.connection(), [Append(chats.key(chat.id), "message", user.id, body, ctx.now,
                                                                             client_id=client_id)])
    assert stored is not None
    entry, created = stored
    if not created:
        return Replied(ticket, chat, entry, False)
    reopened = chat.status != L.NOTE.value
    out = Replied(ticket, chat, entry, True, reopened=reopened, previous_owner=chat.recruiter_id,
                  was_unowned_note=not reopened and chat.recruiter_id is None)
    if chat.recruiter_id not in (None, user.id):
        await chats.record_former_owner(session, chat.id, chat.recruiter_id, ctx.now)  # the chat stays in their history
    chat.status, chat.recruiter_id, chat.updated_at = L.NOTE.value, user.id, ctx.now
    if chat.taken_at is None:
        chat.taken_at = ctx.now
    await chats.record_first_reply(session, chat, ctx.now)
    if reopened or chats.reply_notice_due(chat, ctx.now):
        await chats.notify_reply(session, ctx, chat, user, body["text"], link(chat.id))
        out.emailed, out.texted = True, bool(chat.sms_consent and chat.candidate_phone)
    ticket.status, ticket.updated_at = "pending", ctx.now
    await session.flush()
    return out


async def candidate_replied(session: AsyncSession, chat_id: int, now: dt.datetime) -> bool:
    """The candidate wrote in a chat that has a ticket (a reopened thread): the ticket is open again, on top of the list.
    One indexed UPDATE (no ticket: nothing changes); call it in the transaction that stores the candidate's line.
    True when the chat has a ticket."""
    result = await session.execute(update(Ticket).where(Ticket.live_chat_id == chat_id).values(status="open", updated_at=now))
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def staff_replied(session: AsyncSession, chat_id: int, now: dt.datetime) -> bool:
    """A staff line in a reopened thread written from Chats rather than the ticket page: an open ticket waits for the
    candidate again (a solved one stays solved). True when a ticket changed."""
    result = await session.execute(update(Ticket).where(Ticket.live_chat_id == chat_id, Ticket.status == "open")
                                   .values(status="pending", updated_at=now))
    return bool(result.rowcount)  # type: ignore[attr-defined]
