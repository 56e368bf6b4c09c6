"""The live-chat desk's tables: teams and routing rules, who is in a chat (visible or not), offers to accept, tickets,
saved replies, articles and attachments."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from scheduling.db import Base, UTCDateTime


class Team(Base):
    """A group of staff at an event that chats can be routed to (a company's recruiters, a department, event support).
    Teams belong to one event and are managed by its organizers; members are the event's recruiters and organizers."""

    __tablename__ = "live_teams"
    __table_args__ = (UniqueConstraint("event_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class TeamMember(Base):
    __tablename__ = "live_team_members"

    team_id: Mapped[int] = mapped_column(ForeignKey("live_teams.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)


class RoutingRule(Base):
    """Sends a new chat of the event to a team or a person when it matches: a kind of chat, a job req, a booth's
    company, a pre-chat answer (all optional; the first matching rule by position wins)."""

    __tablename__ = "live_routing_rules"
    __table_args__ = (CheckConstraint("(team_id IS NULL) <> (user_id IS NULL)", name="one_target"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    kind: Mapped[str] = mapped_column(String(16), default="")  # "" any | job | booth | support
    job_req_id: Mapped[int | None] = mapped_column(ForeignKey("job_reqs.id", ondelete="CASCADE"))
    company_id: Mapped[int | None] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    question_id: Mapped[int | None] = mapped_column(ForeignKey("knockout_questions.id", ondelete="CASCADE"))
    answer: Mapped[str] = mapped_column(String(200), default="")
    team_id: Mapped[int | None] = mapped_column(ForeignKey("live_teams.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class ChatMember(Base):
    """A staff member in a chat besides its owner (`live_chats.recruiter_id`): joined, invited, or monitoring
    invisibly. An invisible member is never announced, shown as present or typing, and cannot write."""

    __tablename__ = "live_chat_members"
    __table_args__ = (UniqueConstraint("live_chat_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    live_chat_id: Mapped[int] = mapped_column(ForeignKey("live_chats.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    mode: Mapped[str] = mapped_column(String(16))  # visible | invisible
    via: Mapped[str] = mapped_column(String(16))  # join | invite
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    joined_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    left_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class Offer(Base):
    """A chat offered to one staff member to accept within a time (routing, a forward) or an invitation to join it.

    At most one routing/forward offer per chat is pending (a partial unique index), so a chat is never offered to two
    people at once; accepting is a conditional update on the chat that names the person it was offered to."""

    __tablename__ = "live_offers"
    __table_args__ = (
        Index("uq_live_offers_pending", "live_chat_id", unique=True,
              sqlite_where=text("outcome = 'pending' AND reason <> 'invite'"),
              postgresql_where=text("outcome = 'pending' AND reason <> 'invite'")),
        Index("uq_live_offers_pending_invite", "live_chat_id", "user_id", unique=True,
              sqlite_where=text("outcome = 'pending' AND reason = 'invite'"),
              postgresql_where=text("outcome = 'pending' AND reason = 'invite'")),
        Index("ix_live_offers_user_outcome", "user_id", "outcome"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    live_chat_id: Mapped[int] = mapped_column(ForeignKey("live_chats.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    from_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(String(16))  # route | forward | invite
    note: Mapped[str] = mapped_column(Text, default="")
    offered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    outcome: Mapped[str] = mapped_column(String(16), default="pending")  # pending | accepted | declined | expired | withdrawn
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class Ticket(Base):
    """The record a chat leaves when it ends or its last staff member leaves: a subject (the candidate's first
    question), a status, an assignee; a reply reopens the chat as a thread answered by email and the continue link."""

    __tablename__ = "live_tickets"

    id: Mapped[int] = mapped_column(primary_key=True)
    live_chat_id: Mapped[int] = mapped_column(ForeignKey("live_chats.id", ondelete="CASCADE"), unique=True)
    subject: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | pending | solved
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    transcript_sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)


class SavedReply(Base):
    """A canned answer: personal (owner_id) or shared with an event's staff (event_id, no owner)."""

    __tablename__ = "live_saved_replies"
    __table_args__ = (CheckConstraint("(owner_id IS NULL) <> (event_id IS NULL)", name="one_scope"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(120))
    keywords: Mapped[str] = mapped_column(String(300), default="")
    body: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Article(Base):
    """A knowledge-base article of an event: searchable from a chat, sent as text or as its public link."""

    __tablename__ = "live_articles"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    keywords: Mapped[str] = mapped_column(String(300), default="")
    body: Mapped[str] = mapped_column(Text)
    published: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Attachment(Base):
    """A file sent in a chat by the candidate or a staff member, stored outside the web root under a random name."""

    __tablename__ = "live_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    live_chat_id: Mapped[int] = mapped_column(ForeignKey("live_chats.id", ondelete="CASCADE"), index=True)
    side: Mapped[str] = mapped_column(String(16))  # candidate | staff
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    file: Mapped[str] = mapped_column(String(120))
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
