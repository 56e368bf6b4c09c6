"""Delivers the outbox (mail by SMTP here; texts in scheduling.sms) with retries and backoff; a message is sent at most once per success.

Claim, send, mark: a row is claimed by a conditional update (status "sending", attempts + 1, a lease until
`now + lease`) and committed before anything is sent, then marked sent only while the claim is still ours (same
attempts number). A process killed before the SMTP server accepted the message leaves the row "sending": once the
lease runs out another process claims it and sends it once. What SMTP can't make exactly-once is the window between
the server's "250 accepted" and our commit of "sent" (a few milliseconds, one database round trip): a process killed
in it leaves a row that is sent again after the lease. For that case every attempt of a row carries the same
Message-ID (`outbox_message_id`), so the copy is recognisable downstream (many mailbox providers drop it). The
delivery timeout is kept under half the lease, so a slow but living sender never sees its row claimed by another.
"""

from __future__ import annotations

import datetime as dt
import logging
from email.message import EmailMessage
from email.utils import formataddr
from urllib.parse import unquote, urlsplit

import aiosmtplib
from sqlalchemy import ColumnElement, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scheduling.models import OutboxMessage

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 8
LEASE = dt.timedelta(minutes=10)


def outbox_message_id(message: OutboxMessage, domain: str = "fairmeet.local") -> str:
    """The same for every attempt of one outbox row (a re-send after a lease is the same message)."""
    stamp = int(message.created_at.timestamp()) if message.created_at else 0
    return f"<outbox-{message.id}.{stamp}@{domain}>"


def build_email(message: OutboxMessage, mail_from: str) -> EmailMessage:
    """A text email; an invite goes both inline (text/calendar; method=...) and as invite.ics."""
    email = EmailMessage()
    email["From"] = mail_from
    email["To"] = formataddr((message.to_name, message.to_email))
    email["Subject"] = message.subject
    address = mail_from.rsplit("<", 1)[-1].rstrip(">")
    email["Message-ID"] = outbox_message_id(message, address.rsplit("@", 1)[-1] if "@" in address else "fairmeet.local")
    email.set_content(message.body_text)
    if message.ical and message.ical_method:
        email.add_alternative(message.ical, subtype="calendar", params={"method": message.ical_method})
        email.add_attachment(message.ical.encode(), maintype="application", subtype="ics", filename="invite.ics")
    return email


def backoff(attempts: int) -> dt.timedelta:
    return dt.timedelta(seconds=min(3600, 5 * 2 ** max(0, attempts - 1)))


class OutboxSender:
    """Sends due outbox rows of one channel. Rows are claimed by a conditional update with a lease, so two app processes
    never both send one; a failure waits `backoff(attempts)`; an error with `permanent = True`, or the MAX_ATTEMPTS-th
    failure, gives up. Subclasses say how one message goes out (`deliver`) and how its recipient shows in logs."""

    channel = "email"
    noun = "mail"

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], *, lease: dt.timedelta = LEASE) -> None:
        self.sessionmaker = sessionmaker
        self.lease = lease

    @property
    def timeout(self) -> float:
        """Seconds one delivery may take: under half the lease, so a row is never claimed again while its send goes on."""
        return max(1.0, min(20.0, self.lease.total_seconds() / 2))

    async def deliver(self, message: OutboxMessage) -> None:
        raise NotImplementedError

    def recipient(self, message: OutboxMessage) -> str:
        return message.to_email

    def _due(self, now: dt.datetime) -> tuple[ColumnElement[bool], ...]:
        # A "sending" row whose lease ran out belongs to a process that died mid-send.
        return (OutboxMessage.channel == self.channel, OutboxMessage.status.in_(("pending", "sending")), OutboxMessage.next_attempt_at <= now)

    async def send_due(self, now: dt.datetime, limit: int = 50) -> int:
        async with self.sessionmaker() as session:
            async with session.begin():
                ids = (
                    await session.execute(select(OutboxMessage.id).where(*self._due(now)).order_by(OutboxMessage.id).limit(limit))
                ).scalars().all()
            sent = 0
            for message_id in ids:
                async with session.begin():
                    claimed = await session.execute(
                        update(OutboxMessage)
                        .where(OutboxMessage.id == message_id, *self._due(now))
                        .values(status="sending", attempts=OutboxMessage.attempts + 1, next_attempt_at=now + self.lease)
                    )
                    if claimed.rowcount != 1:  # type: ignore[attr-defined]
                        continue
                    message = await session.get(OutboxMessage, message_id, populate_existing=True)
                assert message is not None
                claim = message.attempts
                error, permanent = "", False
                try:
                    await self.deliver(message)
                except Exception as err:  # noqa: BLE001 -- whatever fails (even building the message), the row must not stay "sending"
                    error, permanent = f"{type(err).__name__}: {err}", bool(getattr(err, "permanent", False))
                to = self.recipient(message)
                if not error:
                    values: dict[str, object] = {"status": "sent", "sent_at": now, "last_error": ""}
                elif permanent or claim >= MAX_ATTEMPTS:
                    values = {"status": "failed", "last_error": error}
                    log.error("giving up on %s %s to %s: %s", self.noun, message.id, to, error)
                else:
                    values = {"status": "pending", "last_error": error, "next_attempt_at": now + backoff(claim)}
                    log.warning("%s %s to %s failed (attempt %s): %s", self.noun, message.id, to, claim, error)
                async with session.begin():
                    # Only while the claim is ours: had the lease run out and another process claimed the row, that one decides.
                    marked = await session.execute(
                        update(OutboxMessage)
                        .where(OutboxMessage.id == message_id, OutboxMessage.status == "sending", OutboxMessage.attempts == claim)
                        .values(**values)
                        .execution_options(synchronize_session=False)
                    )
                if marked.rowcount != 1:  # type: ignore[attr-defined]
                    log.warning("%s %s: its lease ran out during the attempt; another process has it now", self.noun, message.id)
                elif not error:
                    sent += 1
            return sent


class SmtpSender(OutboxSender):
    """Sends due email rows by SMTP."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], smtp_url: str, mail_from: str, *, lease: dt.timedelta = LEASE) -> None:
        super().__init__(sessionmaker, lease=lease)
        self.mail_from = mail_from
        parts = urlsplit(smtp_url)
        self.host = parts.hostname or "localhost"
        self.use_tls = parts.scheme == "smtps"
        self.port = parts.port or (465 if self.use_tls else 25)
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.start_tls = True if "starttls=1" in parts.query else None if not self.use_tls else False

    async def deliver(self, message: OutboxMessage) -> None:
        await aiosmtplib.send(
            build_email(message, self.mail_from), hostname=self.host, port=self.port, username=self.username,
            password=self.password, use_tls=self.use_tls, start_tls=self.start_tls, timeout=self.timeout,
        )
