"""The tables of live text chat: job reqs, their knockout questions and recruiters, staff seats, the chats and their keys."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from scheduling.db import Base, UTCDateTime


class LiveStatus(enum.StrEnum):
    REJECTED = "rejected"  # a knockout answer did not qualify: never queued
    AWAY = "away"  # nobody could answer (closed hours, nobody online): the candidate may leave a note
    WAITING = "waiting"  # in the queue
    ACTIVE = "active"  # taken by a recruiter
    NOTE = "note"  # a note left for the recruiters: an unhurried thread, answered by email/text and the continue link
    TRANSFER = "transfer"  # forwarded by its owner: offered to a colleague or a team, out of the public queue
    ENDED = "ended"


OPEN_LIVE = (LiveStatus.WAITING.value, LiveStatus.ACTIVE.value, LiveStatus.TRANSFER.value)


class JobReq(Base):
    """A job posting candidates can chat about; it offers chat only while at least one recruiter is assigned."""

    __tablename__ = "job_reqs"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    company: Mapped[str] = mapped_column(String(200))
    location: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    apply_url: Mapped[str] = mapped_column(String(500), default="")
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id", ondelete="SET NULL"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # Sites allowed to embed the widget: exact origins ("https://jobs.example.com"), one per line.
    allowed_origins: Mapped[str] = mapped_column(Text, default="")
    sorry_message: Mapped[str] = mapped_column(Text, default="")
    away_message: Mapped[str] = mapped_column(Text, default="")
    # Weekly hours as JSON {"tz": "Europe/Berlin", "days": {"0": [["09:00", "17:00"]], ...}} (0 = Monday); "" = always open.
    hours: Mapped[str] = mapped_column(Text, default="")
    phone_field: Mapped[str] = mapped_column(String(16), default="optional")  # off | optional | required
    custom_fields: Mapped[str] = mapped_column(Text, default="[]")  # JSON [{"id", "label", "required"}]
    when_unavailable: Mapped[str] = mapped_column(String(16), default="note")  # note | callback | both | none
    note_after_seconds: Mapped[int] = mapped_column(Integer, default=180)
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class KnockoutQuestion(Base):
    """A yes/no or choice question; an answer outside `qualifying` ends the chat before the queue.

    Questions are never deleted while answers point at them: a replaced question is deactivated, and
    each answer keeps the question's text as it was asked."""

    __tablename__ = "knockout_questions"

    id: Mapped[int] = mapped_column(primary_key=True)
    job_req_id: Mapped[int] = mapped_column(ForeignKey("job_reqs.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    text: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16), default="yes_no")  # yes_no | choice
    choices: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of strings
    qualifying: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of strings, a subset of choices
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class JobReqAssignee(Base):
    __tablename__ = "job_req_assignees"
    __table_args__ = (UniqueConstraint("job_req_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job_req_id: Mapped[int] = mapped_column(ForeignKey("job_reqs.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Agent(Base):
    """A staff member's seat at the live-chat desk: available or not, how many chats at once, how to be alerted.

    `active_chats` only moves by conditional updates (`active_chats < capacity`), so capacity holds whatever
    the concurrency. Being online is `available` plus a heartbeat newer than a minute or so."""

    __tablename__ = "live_agents"
    __table_args__ = (
        CheckConstraint("active_chats >= 0", name="active_not_negative"),
        CheckConstraint("capacity >= 1 AND capacity <= 20", name="capacity_range"),
    )

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    available: Mapped[bool] = mapped_column(Boolean, default=False)
    capacity: Mapped[int] = mapped_column(Integer, default=3)
    active_chats: Mapped[int] = mapped_column(Integer, default=0)
    auto_assign: Mapped[bool] = mapped_column(Boolean, default=False)
    notify_desktop: Mapped[bool] = mapped_column(Boolean, default=True)
    notify_sound: Mapped[bool] = mapped_column(Boolean, default=True)
    notify_email: Mapped[bool] = mapped_column(Boolean, default=False)
    last_seen_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_assigned_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_alerted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class LiveChat(Base):
    """One live text chat: a QuickChat from a job req, a booth chat at a live event, or a support chat.

    `queue` names the line it waits in ("job:12", "booth:3:7" for event 3's company 7, "support:3"); the
    position is the rank by (queued_at, id) among the queue's waiting chats, so it can only fall."""

    __tablename__ = "live_chats"
    __table_args__ = (
        Index("ix_live_chats_queue_waiting", "queue", "status", "ticket"),
        Index("ix_live_chats_recruiter_status", "recruiter_id", "status"),
        # One open booth or support chat per signed-in person and queue: a double click makes one chat.
        Index(
            "uq_live_chats_open_talent",
            "queue",
            "talent_id",
            unique=True,
            sqlite_where=text("talent_id IS NOT NULL AND status IN ('waiting', 'active')"),
            postgresql_where=text("talent_id IS NOT NULL AND status IN ('waiting', 'active')"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # job | booth | support
    queue: Mapped[str] = mapped_column(String(64))
    job_req_id: Mapped[int | None] = mapped_column(ForeignKey("job_reqs.id", ondelete="SET NULL"), index=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    company_id: Mapped[int | None] = mapped_column(ForeignKey("companies.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16))
    candidate_name: Mapped[str] = mapped_column(String(120))
    candidate_email: Mapped[str] = mapped_column(String(254), default="")
    candidate_phone: Mapped[str] = mapped_column(String(32), default="")
    sms_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    talent_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    fields: Mapped[str] = mapped_column(Text, default="{}")  # JSON {field id: {"label", "value"}}
    answers: Mapped[str] = mapped_column(Text, default="[]")  # JSON [{"question_id", "question", "answer", "qualified"}]
    source_url: Mapped[str] = mapped_column(String(1000), default="")
    current_url: Mapped[str] = mapped_column(String(1000), default="")
    user_agent: Mapped[str] = mapped_column(String(300), default="")
    start_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    recruiter_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    queued_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # The place in line: numbered per queue under the queue's counter lock (LiveQueue), so a later ticket is always
    # committed after an earlier one and positions computed from tickets never rise.
    ticket: Mapped[int | None] = mapped_column(BigInteger)
    taken_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    first_reply_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    ended_by: Mapped[str] = mapped_column(String(16), default="")  # candidate | recruiter | system
    next_step: Mapped[str] = mapped_column(String(60), default="")
    outcome: Mapped[str] = mapped_column(String(16), default="")  # finished | follow_up
    private_notes: Mapped[str] = mapped_column(Text, default="")
    resume_file: Mapped[str] = mapped_column(String(120), default="")  # a random name inside the upload directory
    resume_name: Mapped[str] = mapped_column(String(200), default="")
    resume_type: Mapped[str] = mapped_column(String(100), default="")
    resume_size: Mapped[int] = mapped_column(Integer, default=0)
    last_mailed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # Routing: the team a rule (or a forward) sent the chat to, and the one person it is offered to right now.
    team_id: Mapped[int | None] = mapped_column(ForeignKey("live_teams.id", ondelete="SET NULL"))
    offered_to_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    offer_expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), index=True)
    # The candidate's last sign of life (connection, line, page): a chat whose candidate left is resolved automatically.
    candidate_seen_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    rating_asked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    rating: Mapped[int | None] = mapped_column(Integer)
    rating_comment: Mapped[str] = mapped_column(Text, default="", server_default="")
    rated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class LiveQueue(Base):
    """A queue's ticket counter: taking a ticket locks the row until commit, so enqueues in one queue are serial."""

    __tablename__ = "live_queues"

    queue: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_ticket: Mapped[int] = mapped_column(BigInteger, default=0)


class LiveChatKey(Base):
    """A candidate's credential for one chat: only the SHA-256 of a 256-bit random token is kept."""

    __tablename__ = "live_chat_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    live_chat_id: Mapped[int] = mapped_column(ForeignKey("live_chats.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class LiveChatShare(Base):
    """A chat's candidate forwarded to a colleague (Follow Up: Forward), with what was included.

    `resume` lets the colleague download the chat's resume afterwards (scheduling.livechat.followup.resume_chat);
    `transcript` records that the transcript went out. Forwarding the same chat to the same person again widens, never narrows, the row.
    """

    __tablename__ = "live_chat_shares"
    __table_args__ = (UniqueConstraint("live_chat_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    live_chat_id: Mapped[int] = mapped_column(ForeignKey("live_chats.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    shared_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    resume: Mapped[bool] = mapped_column(Boolean, default=False)
    transcript: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class FollowUpCalendar(Base):
    """A recruiter's personal follow-up calendar: an event of its own where they are the one (direct-booking) recruiter
    and candidates they send a booking link to become talents, so booking runs through the 1-1 chat core."""

    __tablename__ = "live_followup_calendars"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


from scheduling.livechat import desk_models  # noqa: E402,F401 -- live_chats.team_id points at live_teams
