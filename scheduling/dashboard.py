"""The organizer's view of an event: request and chat figures per company and recruiter, and the chats export.

A fixed number of GROUP BY queries whatever the event's size: one over the chats (grouped by recruiter, status and
how a cancel came about, with the outcome's no-show), the recruiter cards of queries.py (open slots by arithmetic),
one over the availability windows (slots offered) and one over the talents (who has no chat yet).

A cancelled request is "withdrawn" when its sender called it off while it was still pending; any other cancel
(after acceptance, or by the organizers) is "cancelled". Neither is ever counted as declined.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from scheduling import queries, slots, timefmt
from scheduling.livechat.export import to_csv
from scheduling.models import (
    Availability,
    ChatEvent,
    ChatOutcome,
    ChatRequest,
    ChatStatus,
    Company,
    Event,
    Participant,
    Role,
    User,
)

S = ChatStatus
# The categories a chat is counted under, in the order pages and exports show them.
CATEGORIES = ("pending", "accepted", "confirmed", "completed", "declined", "withdrawn", "cancelled")
CATEGORY_LABELS = {
    "pending": "Waiting for feedback",
    "accepted": "In Scheduling",
    "confirmed": "Confirmed",
    "completed": "Completed",
    "declined": "Declined",
    "withdrawn": "Withdrawn",
    "cancelled": "Cancelled",
}
# Statuses a request reaches only once its receiver said yes (a cancel after acceptance is counted apart, below).
_ANSWERED_YES = ("accepted", "confirmed", "completed")


@dataclass
class Figures:
    """The counts of one recruiter, one company or the whole event."""

    by_category: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CATEGORIES, 0))
    sent_by_talents: int = 0
    sent_by_recruiters: int = 0
    cancelled_after_yes: int = 0  # cancels of accepted or confirmed chats: they were accepted once
    no_show: int = 0
    slots_offered: int = 0
    slots_used: int = 0
    slots_open: int = 0

    @property
    def requests(self) -> int:
        return sum(self.by_category.values())

    @property
    def accepted_ever(self) -> int:
        return sum(self.by_category[c] for c in _ANSWERED_YES) + self.cancelled_after_yes

    @property
    def answered(self) -> int:
        return self.accepted_ever + self.by_category["declined"]

    @property
    def acceptance_rate(self) -> float | None:
        """Accepted among the answered requests (pending and withdrawn ones are not answers); None before any answer."""
        return self.accepted_ever / self.answered if self.answered else None

    @property
    def held(self) -> int:
        return max(0, self.by_category["completed"] - self.no_show)

    def add(self, other: Figures) -> None:
        for c in CATEGORIES:
            self.by_category[c] += other.by_category[c]
        self.sent_by_talents += other.sent_by_talents
        self.sent_by_recruiters += other.sent_by_recruiters
        self.cancelled_after_yes += other.cancelled_after_yes
        self.no_show += other.no_show
        self.slots_offered += other.slots_offered
        self.slots_used += other.slots_used
        self.slots_open += other.slots_open

    def as_dict(self) -> dict[str, Any]:
        rate = self.acceptance_rate
        return {
            "requests": self.requests, "sent_by_talents": self.sent_by_talents, "sent_by_recruiters": self.sent_by_recruiters,
            **self.by_category, "no_show": self.no_show, "held": self.held,
            "acceptance_rate": None if rate is None else round(rate, 4),
            "slots_offered": self.slots_offered, "slots_used": self.slots_used, "slots_open": self.slots_open,
        }


@dataclass
class RecruiterRow:
    user_id: int
    name: str
    company_id: int | None
    company_name: str
    figures: Figures


@dataclass
class CompanyRow:
    company_id: int | None
    name: str
    recruiters: int
    figures: Figures


@dataclass
class TalentRow:
    user_id: int
    name: str
    email: str
    open_requests: int  # pending or in scheduling


@dataclass
class Dashboard:
    total: Figures
    companies: list[CompanyRow]
    recruiters: list[RecruiterRow]
    talents: int
    talents_without_chat: list[TalentRow]  # no confirmed or completed chat
    talents_without_request: int  # not a single request, sent or received

    def recruiters_by_company(self) -> list[tuple[CompanyRow, list[RecruiterRow]]]:
        """The recruiters grouped under their company, in the companies' order (companies without recruiters left out)."""
        groups: dict[int | None, list[RecruiterRow]] = defaultdict(list)
        for r in self.recruiters:
            groups[r.company_id].append(r)
        return [(c, groups[c.company_id]) for c in self.companies if groups.get(c.company_id)]


def _cancel_join() -> Any:
    """The chat's cancel in its history (a cancelled chat has exactly one: cancelled is final)."""
    return and_(ChatEvent.chat_request_id == ChatRequest.id, ChatEvent.to_status == S.CANCELLED.value)


def category(status: str, cancelled_from: str | None, cancelled_by_sender: bool) -> str:
    """The category a chat is counted under: withdrawn when its sender called it off while it was pending."""
    if status == S.CANCELLED.value:
        return "withdrawn" if cancelled_from == S.PENDING.value and cancelled_by_sender else "cancelled"
    return status


async def _recruiter_figures(session: AsyncSession, event_id: int) -> dict[int, Figures]:
    """One GROUP BY over the event's chats: per recruiter, status, how a cancel came about, sender side, no-show."""
    by_sender = ChatRequest.sender_id == ChatRequest.recruiter_id
    cancelled_by_sender = ChatEvent.actor_id == ChatRequest.sender_id  # NULL without a cancel; no bound values, so
    no_show = ChatOutcome.no_show  # PostgreSQL sees the same expressions in SELECT and GROUP BY
    stmt = (
        select(ChatRequest.recruiter_id, ChatRequest.status, ChatEvent.from_status, cancelled_by_sender, by_sender, no_show, func.count())
        .select_from(ChatRequest)
        .outerjoin(ChatEvent, _cancel_join())
        .outerjoin(ChatOutcome, ChatOutcome.chat_request_id == ChatRequest.id)
        .where(ChatRequest.event_id == event_id)
        .group_by(ChatRequest.recruiter_id, ChatRequest.status, ChatEvent.from_status, cancelled_by_sender, by_sender, no_show)
    )
    out: dict[int, Figures] = defaultdict(Figures)
    for recruiter_id, status, from_status, by_sender_cancel, sent_by_recruiter, absent, n in (await session.execute(stmt)).all():
        f = out[recruiter_id]
        cat = category(status, from_status, bool(by_sender_cancel))
        f.by_category[cat] += n
        if cat == "cancelled" and from_status in (S.ACCEPTED.value, S.CONFIRMED.value):
            f.cancelled_after_yes += n
        if sent_by_recruiter:
            f.sent_by_recruiters += n
        else:
            f.sent_by_talents += n
        if absent:
            f.no_show += n
        if status in (S.CONFIRMED.value, S.COMPLETED.value):
            f.slots_used += n
    return out


async def _slots_offered(session: AsyncSession, event: Event) -> dict[int, int]:
    """Every slot of each recruiter's availability grid over the whole event, by arithmetic (one query of windows)."""
    rows = (
        await session.execute(
            select(Participant.user_id, Availability.starts_at, Availability.ends_at)
            .join(Availability, Availability.participant_id == Participant.id)
            .where(Participant.event_id == event.id, Participant.role == Role.RECRUITER.value)
        )
    ).all()
    windows: dict[int, list[tuple[dt.datetime, dt.datetime]]] = defaultdict(list)
    for user_id, a, b in rows:
        windows[user_id].append((a, b))
    return {
        uid: slots.count_free(w, event.slot_minutes, event.buffer_minutes, [], not_before=event.starts_at, not_after=event.ends_at)
        for uid, w in windows.items()
    }


async def _talents(session: AsyncSession, event_id: int) -> tuple[int, list[TalentRow], int]:
    """The event's talents with their chats counted by kind, in one GROUP BY: who has no chat, who has no request."""
    booked = func.sum(case((ChatRequest.status.in_((S.CONFIRMED.value, S.COMPLETED.value)), 1), else_=0))
    open_ = func.sum(case((ChatRequest.status.in_((S.PENDING.value, S.ACCEPTED.value)), 1), else_=0))
    stmt = (
        select(User.id, User.name, User.email, func.count(ChatRequest.id), booked, open_)
        .select_from(Participant)
        .join(User, User.id == Participant.user_id)
        .outerjoin(ChatRequest, and_(ChatRequest.event_id == Participant.event_id, ChatRequest.talent_id == Participant.user_id))
        .where(Participant.event_id == event_id, Participant.role == Role.TALENT.value)
        .group_by(User.id, User.name, User.email)
        .order_by(User.name, User.id)
    )
    rows = (await session.execute(stmt)).all()
    without = [TalentRow(uid, name, email, int(o or 0)) for uid, name, email, _n, b, o in rows if not b]
    return len(rows), without, sum(1 for r in rows if not r[3])


async def event_dashboard(session: AsyncSession, event: Event, *, now: dt.datetime) -> Dashboard:
    figures = await _recruiter_figures(session, event.id)
    cards = await queries.recruiter_cards(session, event, now=now)  # names, companies and open slots (2 queries)
    offered = await _slots_offered(session, event)
    recruiters: list[RecruiterRow] = []
    for card in cards:
        f = figures.pop(card.user_id, None) or Figures()
        f.slots_offered, f.slots_open = offered.get(card.user_id, 0), card.open_slots
        recruiters.append(RecruiterRow(card.user_id, card.name, card.company_id, card.company_name or "", f))
    if figures:  # chats of people who are no longer recruiters here (removed, or their role changed)
        names = dict((await session.execute(select(User.id, User.name).where(User.id.in_(list(figures))))).all())
        recruiters += [RecruiterRow(uid, names.get(uid, "(removed)"), None, "", f) for uid, f in sorted(figures.items())]
    companies: dict[int | None, CompanyRow] = {}
    for r in recruiters:
        row = companies.setdefault(r.company_id, CompanyRow(r.company_id, r.company_name or "No company", 0, Figures()))
        row.recruiters += 1
        row.figures.add(r.figures)
    for c in (await session.execute(select(Company.id, Company.name).where(Company.event_id == event.id))).all():
        companies.setdefault(c.id, CompanyRow(c.id, c.name, 0, Figures()))
    total = Figures()
    for r in recruiters:
        total.add(r.figures)
    n_talents, without_chat, without_request = await _talents(session, event.id)
    ordered = sorted(companies.values(), key=lambda c: (c.company_id is None, c.name.lower()))
    return Dashboard(total, ordered, recruiters, n_talents, without_chat, without_request)


# --------------------------------------------------------------------------- the chats export


EXPORT_HEADER = (
    "Chat", "Status", "Status code", "Talent", "Talent email", "Recruiter", "Recruiter email", "Company", "Sent by", "Sent at", "Starts", "Ends",
    "Time zone", "Message", "Question", "Answer", "Reason", "Closed by", "Outcome notes", "Rating", "Next step", "No-show",
)


@dataclass(frozen=True)
class ExportRow:
    chat_id: int
    status: str  # a category: withdrawn kept apart from declined and cancelled
    talent: str
    talent_email: str
    recruiter: str
    recruiter_email: str
    company: str
    sent_by: str  # talent | recruiter
    sent_at: str
    starts: str
    ends: str
    time_zone: str
    message: str
    question: str
    answer: str
    reason: str
    closed_by: str
    notes: str
    rating: int | None
    next_step: str
    no_show: bool

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def _local(instant: dt.datetime | None, tz: Any) -> str:
    return instant.astimezone(tz).strftime("%Y-%m-%d %H:%M") if instant is not None else ""


async def export_rows(session: AsyncSession, event: Event) -> list[ExportRow]:
    """Every chat of the event with its people, company, cancel history and outcome: one query. Times in the event's zone."""
    talent, recruiter, closer = aliased(User), aliased(User), aliased(User)
    member = aliased(Participant)
    stmt = (
        select(ChatRequest, talent.name, talent.email, recruiter.name, recruiter.email, Company.name, closer.name,
               ChatEvent.from_status, ChatEvent.actor_id, ChatOutcome)
        .join(talent, talent.id == ChatRequest.talent_id)
        .join(recruiter, recruiter.id == ChatRequest.recruiter_id)
        .outerjoin(member, and_(member.event_id == ChatRequest.event_id, member.user_id == ChatRequest.recruiter_id))
        .outerjoin(Company, Company.id == member.company_id)
        .outerjoin(closer, closer.id == ChatRequest.closed_by_id)
        .outerjoin(ChatEvent, _cancel_join())
        .outerjoin(ChatOutcome, ChatOutcome.chat_request_id == ChatRequest.id)
        .where(ChatRequest.event_id == event.id)
        .order_by(ChatRequest.id)
    )
    tz = timefmt.zone(event.timezone)
    out = []
    for chat, tname, temail, rname, remail, cname, closer_name, from_status, cancel_actor, outcome in (await session.execute(stmt)).all():
        o: ChatOutcome | None = outcome
        out.append(ExportRow(
            chat.id, category(chat.status, from_status, cancel_actor is not None and cancel_actor == chat.sender_id),
            tname, temail, rname, remail, cname or "", "recruiter" if chat.sender_id == chat.recruiter_id else "talent",
            _local(chat.created_at, tz), _local(chat.starts_at, tz), _local(chat.ends_at, tz), tz.key,
            chat.message, chat.question, chat.answer, chat.reason if chat.status in (S.DECLINED.value, S.CANCELLED.value) else "",
            closer_name or "", o.notes if o else "", o.rating if o else None, o.next_step if o else "", bool(o and o.no_show),
        ))
    return out


def export_csv(rows: Sequence[ExportRow]) -> str:
    """The export as CSV (RFC 4180; cells a spreadsheet would run as formulas are neutralized).

    "Status" is in the pages' words ("In Scheduling", "Withdrawn"); "Status code" is the JSON export's code ("accepted").
    """
    return to_csv(EXPORT_HEADER, (
        (r.chat_id, CATEGORY_LABELS[r.status], r.status, r.talent, r.talent_email, r.recruiter, r.recruiter_email, r.company, r.sent_by,
         r.sent_at, r.starts, r.ends,
         r.time_zone, r.message, r.question, r.answer, r.reason, r.closed_by, r.notes, "" if r.rating is None else r.rating, r.next_step,
         "yes" if r.no_show else "")
        for r in rows
    ))
