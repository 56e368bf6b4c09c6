"""The tables of Fairmeet's scheduling domain, as typed SQLAlchemy models."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    func,
    text,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from scheduling.db import Base, UTCDateTime


class Role(enum.StrEnum):
    ORGANIZER = "organizer"
    RECRUITER = "recruiter"
    TALENT = "talent"


class RequestsBy(enum.StrEnum):
    TALENTS = "talents"
    RECRUITERS = "recruiters"
    BOTH = "both"


class BookingMode(enum.StrEnum):
    SELECTIVE = "selective"
    DIRECT = "direct"


class ChatStatus(enum.StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    CONFIRMED = "confirmed"
    COMPLETED = "completed"
    DECLINED = "declined"
    CANCELLED = "cancelled"


OPEN_STATUSES = (ChatStatus.PENDING.value, ChatStatus.ACCEPTED.value, ChatStatus.CONFIRMED.value)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    timezone: Mapped[str | None] = mapped_column(String(64))
    headline: Mapped[str] = mapped_column(String(200), default="")
    calendar_token: Mapped[str] = mapped_column(String(64), unique=True)
    # Bumped on sign-out and password change: every session cookie signed before then stops working.
    session_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship(lazy="raise")


class LoginLink(Base):
    """A one-time sign-in link sent by email; only the hash of its secret is kept."""

    __tablename__ = "login_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("slot_minutes > 0", name="slot_positive"),
        CheckConstraint("buffer_minutes >= 0", name="buffer_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    timezone: Mapped[str] = mapped_column(String(64))
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    support_email: Mapped[str] = mapped_column(String(254), default="")
    requests_by: Mapped[str] = mapped_column(String(16), default=RequestsBy.TALENTS.value)
    slot_minutes: Mapped[int] = mapped_column(Integer, default=30)
    buffer_minutes: Mapped[int] = mapped_column(Integer, default=0)
    max_requests_per_talent: Mapped[int | None] = mapped_column(Integer)
    max_chats_per_talent: Mapped[int | None] = mapped_column(Integer)
    room_opens_minutes_before: Mapped[int] = mapped_column(Integer, default=5)
    # Live chats' next steps at this event, one per line ("" = the defaults); allowed sites for the booth widget.
    next_steps: Mapped[str] = mapped_column(Text, default="", server_default="")
    # The live-chat desk at this event: rating style, emoji pickers per side, seconds to accept an offered chat (0: chats
    # are given directly), the "still with you" reminder (0: off), minutes after which a chat whose candidate left is resolved (0: never).
    live_rating_style: Mapped[str] = mapped_column(String(8), default="stars", server_default="stars")
    live_emoji_staff: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    live_emoji_candidate: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    live_accept_seconds: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    live_remind_seconds: Mapped[int] = mapped_column(Integer, default=90, server_default="90")
    live_resolve_minutes: Mapped[int] = mapped_column(Integer, default=15, server_default="15")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Company(Base):
    __tablename__ = "companies"
    # One name per event, whatever the case: "Acme" and "ACME" are the same company to the people choosing.
    __table_args__ = (Index("uq_companies_event_name", "event_id", func.lower(text("name")), unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    website: Mapped[str] = mapped_column(String(500), default="")
    logo_url: Mapped[str] = mapped_column(String(500), default="")


class Participant(Base):
    """A person's part in one event, with the recruiter settings and the talent's quota counters."""

    __tablename__ = "participants"
    __table_args__ = (
        UniqueConstraint("event_id", "user_id"),
        CheckConstraint("requests_used >= 0", name="requests_used_not_negative"),
        CheckConstraint("chats_booked >= 0", name="chats_booked_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    company_id: Mapped[int | None] = mapped_column(ForeignKey("companies.id", ondelete="SET NULL"), index=True)
    booking_mode: Mapped[str] = mapped_column(String(16), default=BookingMode.SELECTIVE.value)
    custom_question: Mapped[str] = mapped_column(Text, default="")
    ideal_candidate: Mapped[str] = mapped_column(Text, default="")
    requests_used: Mapped[int] = mapped_column(Integer, default=0)
    chats_booked: Mapped[int] = mapped_column(Integer, default=0)

    user: Mapped[User] = relationship(lazy="raise")
    company: Mapped[Company | None] = relationship(lazy="raise")


class Availability(Base):
    """A window in which a recruiter can be booked; slots form a grid inside it."""

    __tablename__ = "availability"
    __table_args__ = (CheckConstraint("ends_at > starts_at", name="ends_after_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id", ondelete="CASCADE"), index=True)
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class ChatRequest(Base):
    """A 1-1 chat between a talent and a recruiter, from request to completion."""

    __tablename__ = "chat_requests"
    __table_args__ = (
        CheckConstraint("talent_id <> recruiter_id", name="two_people"),
        CheckConstraint(
            "status NOT IN ('confirmed', 'completed') OR (starts_at IS NOT NULL AND ends_at IS NOT NULL)",
            name="booked_has_time",
        ),
        # One open conversation per pair: a second request while one is open is refused.
        Index(
            "uq_chat_requests_open_pair",
            "event_id",
            "talent_id",
            "recruiter_id",
            unique=True,
            sqlite_where=text("status IN ('pending', 'accepted', 'confirmed')"),
            postgresql_where=text("status IN ('pending', 'accepted', 'confirmed')"),
        ),
        Index("ix_chat_requests_event_status", "event_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    talent_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    recruiter_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    sender_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    message: Mapped[str] = mapped_column(Text, default="")
    answer: Mapped[str] = mapped_column(Text, default="")
    question: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default=ChatStatus.PENDING.value)
    uses_credit: Mapped[bool] = mapped_column(Boolean, default=False)
    starts_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    ends_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    ical_uid: Mapped[str] = mapped_column(String(120), unique=True)
    ical_sequence: Mapped[int] = mapped_column(Integer, default=0)
    invite_sent: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str] = mapped_column(Text, default="")
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

    talent: Mapped[User] = relationship(foreign_keys=[talent_id], lazy="raise")
    recruiter: Mapped[User] = relationship(foreign_keys=[recruiter_id], lazy="raise")
    event: Mapped[Event] = relationship(lazy="raise")


class BusyBlock(Base):
    """One 5-minute block of a person's time taken by a confirmed chat.

    The unique key (user_id, block) is what makes double booking impossible: two
    overlapping chats of the same person would need the same block twice.
    """

    __tablename__ = "busy_blocks"
    __table_args__ = (UniqueConstraint("user_id", "block"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    block: Mapped[int] = mapped_column(BigInteger)
    chat_request_id: Mapped[int] = mapped_column(ForeignKey("chat_requests.id", ondelete="CASCADE"), index=True)


class ChatEvent(Base):
    """The history of a chat: every transition with who made it and why."""

    __tablename__ = "chat_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    chat_request_id: Mapped[int] = mapped_column(ForeignKey("chat_requests.id", ondelete="CASCADE"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class OutboxMessage(Base):
    """An email written in the same transaction as the change it reports; a sender delivers it."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    to_email: Mapped[str] = mapped_column(String(254), index=True)
    to_name: Mapped[str] = mapped_column(String(120), default="")
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    ical: Mapped[str | None] = mapped_column(Text)
    ical_method: Mapped[str | None] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(8), default="email", server_default="email")  # email | sms
    to_phone: Mapped[str] = mapped_column(String(32), default="", server_default="")
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class Conversation(Base):
    """A numbered log of what happened in a room or chat: messages and presence changes.

    `key` names what it belongs to ("chat:12" for a 1-1 chat's room), so other kinds of
    conversation (live text chats) can share the same log and delivery.
    """

    __tablename__ = "conversations"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class ConversationEvent(Base):
    """One entry of a conversation's log, numbered without gaps by `seq`.

    (conversation, author, client_id) is unique, so a retried send is stored once.
    """

    __tablename__ = "conversation_events"
    __table_args__ = (
        UniqueConstraint("conversation_id", "seq"),
        UniqueConstraint("conversation_id", "author_id", "client_id"),
        # Lines without an account (live-chat candidates) are idempotent too: NULL authors never collide in the key above.
        Index(
            "uq_conversation_events_anonymous_client",
            "conversation_id",
            "client_id",
            unique=True,
            sqlite_where=text("author_id IS NULL AND client_id IS NOT NULL"),
            postgresql_where=text("author_id IS NULL AND client_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(16))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    client_id: Mapped[str | None] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Profile(Base):
    """What a person shows of themselves beyond name and headline: skills, links and (talents) a CV.

    One row per user, created on first save; the CV file lives outside the web root under its random name.
    """

    __tablename__ = "profiles"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    skills: Mapped[str] = mapped_column(Text, default="", server_default="")  # comma-separated, as typed
    linkedin_url: Mapped[str] = mapped_column(String(500), default="", server_default="")
    portfolio_url: Mapped[str] = mapped_column(String(500), default="", server_default="")
    cv_file: Mapped[str] = mapped_column(String(200), default="", server_default="")  # stored name ("" = none)
    cv_name: Mapped[str] = mapped_column(String(200), default="", server_default="")  # the uploader's file name
    cv_type: Mapped[str] = mapped_column(String(100), default="", server_default="")
    cv_size: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class ChatOutcome(Base):
    """The recruiter's record after a 1-1 chat: notes, a rating, the next step, whether the talent came."""

    __tablename__ = "chat_outcomes"
    __table_args__ = (CheckConstraint("rating IS NULL OR (rating BETWEEN 1 AND 5)", name="rating_range"),)

    chat_request_id: Mapped[int] = mapped_column(ForeignKey("chat_requests.id", ondelete="CASCADE"), primary_key=True)
    notes: Mapped[str] = mapped_column(Text, default="", server_default="")
    rating: Mapped[int | None] = mapped_column(Integer)
    next_step: Mapped[str] = mapped_column(String(120), default="", server_default="")
    no_show: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Announcement(Base):
    """A message from the organizers to everyone at an event or to one role; shown on their pages and emailed."""

    __tablename__ = "announcements"
    __table_args__ = (CheckConstraint("audience IN ('all', 'talent', 'recruiter', 'organizer')", name="audience_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    audience: Mapped[str] = mapped_column(String(16), default="all")
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class SlotWatch(Base):
    """An accepted chat whose talent found no free slot: told once, by email and on the page, when one opens."""

    __tablename__ = "slot_watches"

    chat_request_id: Mapped[int] = mapped_column(ForeignKey("chat_requests.id", ondelete="CASCADE"), primary_key=True)
    recruiter_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    notified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
