"""Mail delivery from the outbox to a real SMTP server (aiosmtpd), with retries, backoff and giving up."""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import socket
from collections.abc import Iterator
from email import policy
from email.message import EmailMessage
from email.utils import parseaddr

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scheduling import actions, delivery
from scheduling.models import OutboxMessage, User
from tests.factories import World, make_world

# aiosmtpd's threaded controller may warn about its own event-loop handling; that is not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:aiosmtpd.*")

MAIL_FROM = "Fairmeet <noreply@fairmeet.local>"
SM = async_sessionmaker[AsyncSession]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Inbox:
    """An aiosmtpd handler keeping every envelope it accepts."""

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []

    async def handle_DATA(self, server: object, session: object, envelope: Envelope) -> str:  # noqa: N802 -- aiosmtpd's hook name
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    def messages(self) -> list[EmailMessage]:
        out = []
        for env in self.envelopes:
            assert isinstance(env.content, bytes)
            msg = email.message_from_bytes(env.content, policy=policy.default)
            assert isinstance(msg, EmailMessage)
            out.append(msg)
        return out


class SmtpServer:
    """A real SMTP server on 127.0.0.1 at a fixed port that a test can take down and bring back."""

    def __init__(self) -> None:
        self.port = free_port()
        self.inbox = Inbox()
        self.controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> None:
        assert self.controller is None
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    yield server
    server.stop()


async def outbox(sm: async_sessionmaker[AsyncSession]) -> list[OutboxMessage]:
    async with sm() as s:
        return list((await s.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars().all())


async def book_a_chat(sm: async_sessionmaker[AsyncSession], now: dt.datetime) -> tuple[World, User, User]:
    """Request, accept and book a chat: four mails in the outbox, the last two with a calendar invite."""
    w = await make_world(sm, now)
    talent, recruiter = w.talents[0], w.recruiters[0]
    ctx = actions.Context(now=now)
    async with sm() as s, s.begin():
        chat = await actions.send_request(s, ctx, talent, w.event_id, recruiter_id=recruiter.id, message="Hi")
    async with sm() as s, s.begin():
        await actions.accept(s, ctx, recruiter, chat.id)
    async with sm() as s:
        c = await actions.load_chat(s, chat.id, talent)
        free = await actions.open_slots_for_chat(s, c, await actions.get_event(s, w.event_id), now=now)
    async with sm() as s, s.begin():
        await actions.book(s, ctx, talent, chat.id, free[0].start)
    rows = await outbox(sm)
    assert [r.kind for r in rows] == ["request_received", "request_accepted", "confirmed", "confirmed"]
    assert all(r.status == "pending" for r in rows)
    return w, talent, recruiter


async def test_due_mail_is_delivered_once_with_its_invite(sessionmaker: SM, now: dt.datetime, smtp: SmtpServer) -> None:
    _, talent, recruiter = await book_a_chat(sessionmaker, now)
    smtp.start()
    sender = delivery.SmtpSender(sessionmaker, smtp.url, MAIL_FROM)

    assert await sender.send_due(now) == 4

    rows = await outbox(sessionmaker)
    assert [r.status for r in rows] == ["sent"] * 4
    assert all(r.sent_at == now and r.attempts == 1 and r.last_error == "" for r in rows)

    envelopes = smtp.inbox.envelopes
    assert len(envelopes) == 4
    assert all(env.mail_from == "noreply@fairmeet.local" for env in envelopes)
    assert [env.rcpt_tos for env in envelopes] == [[r.to_email] for r in rows]

    messages = smtp.inbox.messages()
    for row, msg in zip(rows, messages, strict=True):
        assert parseaddr(str(msg["To"])) == (row.to_name, row.to_email)
        # CPython 3.11's header folding leaves a space before the fold of a non-ASCII subject (the en dash
        # of the time), so the decoded subject may carry a doubled space; words and characters must match.
        assert str(msg["Subject"]).split() == row.subject.split()
        assert parseaddr(str(msg["From"])) == ("Fairmeet", "noreply@fairmeet.local")
        assert msg["Message-ID"]
        text = msg.get_body(("plain",))
        assert text is not None and text.get_content().startswith(f"Hello {row.to_name},")

    confirmations = [m for m in messages if str(m["Subject"]).startswith("Confirmed: 1-1 chat with")]
    assert {parseaddr(str(m["To"]))[1] for m in confirmations} == {talent.email, recruiter.email}
    for msg in confirmations:
        calendars = [p for p in msg.walk() if p.get_content_type() == "text/calendar"]
        assert len(calendars) == 1
        assert calendars[0].get_param("method") == "REQUEST"
        body = calendars[0].get_content()
        assert "METHOD:REQUEST" in body and "STATUS:CONFIRMED" in body
        assert f"mailto:{talent.email}" in body.replace("\n ", "")
        assert any(p.get_filename() == "invite.ics" for p in msg.walk())
    others = [m for m in messages if m not in confirmations]
    assert all(p.get_content_type() != "text/calendar" for m in others for p in m.walk())

    # Nothing is sent twice, now or later.
    assert await sender.send_due(now) == 0
    assert await sender.send_due(now + dt.timedelta(days=1)) == 0
    assert len(smtp.inbox.envelopes) == 4


async def test_mail_waits_while_the_server_is_down_then_goes_out_exactly_once(sessionmaker: SM, now: dt.datetime, smtp: SmtpServer) -> None:
    await book_a_chat(sessionmaker, now)
    sender = delivery.SmtpSender(sessionmaker, smtp.url, MAIL_FROM)  # nothing listens on the port yet

    assert await sender.send_due(now) == 0
    rows = await outbox(sessionmaker)
    assert all(r.status == "pending" for r in rows)
    assert all(r.attempts == 1 for r in rows)
    assert all(r.last_error for r in rows)
    assert all(r.next_attempt_at > now for r in rows)
    assert all(r.next_attempt_at == now + delivery.backoff(1) for r in rows)
    assert all(r.sent_at is None for r in rows)

    # Not due yet: the next round does not even try.
    assert await sender.send_due(now + dt.timedelta(seconds=1)) == 0
    assert all(r.attempts == 1 for r in await outbox(sessionmaker))

    # A second failure waits longer than the first.
    t2 = rows[0].next_attempt_at
    assert await sender.send_due(t2) == 0
    rows = await outbox(sessionmaker)
    assert all(r.attempts == 2 and r.status == "pending" for r in rows)
    assert all(r.next_attempt_at - t2 > delivery.backoff(1) for r in rows)

    # The server comes back; before the backoff is over nothing happens, after it everything goes once.
    smtp.start()
    assert await sender.send_due(t2 + dt.timedelta(seconds=1)) == 0
    assert smtp.inbox.envelopes == []
    later = t2 + dt.timedelta(minutes=5)
    assert await sender.send_due(later) == 4
    rows = await outbox(sessionmaker)
    assert all(r.status == "sent" and r.sent_at == later and r.attempts == 3 and r.last_error == "" for r in rows)
    assert await sender.send_due(later + dt.timedelta(hours=2)) == 0
    assert sorted(env.rcpt_tos[0] for env in smtp.inbox.envelopes) == sorted(r.to_email for r in rows)
    assert len(smtp.inbox.envelopes) == 4


async def test_mail_is_given_up_after_max_attempts(sessionmaker: SM, now: dt.datetime, smtp: SmtpServer) -> None:
    await book_a_chat(sessionmaker, now)
    sender = delivery.SmtpSender(sessionmaker, smtp.url, MAIL_FROM)
    t = now
    delays = []
    for attempt in range(1, delivery.MAX_ATTEMPTS):
        assert await sender.send_due(t) == 0
        rows = await outbox(sessionmaker)
        assert all(r.attempts == attempt and r.status == "pending" for r in rows)
        delays.append(rows[0].next_attempt_at - t)
        t = rows[0].next_attempt_at
    assert delays == sorted(delays) and delays[0] < delays[-1]
    assert all(d <= dt.timedelta(hours=1) for d in delays)

    assert await sender.send_due(t) == 0
    rows = await outbox(sessionmaker)
    assert all(r.status == "failed" and r.attempts == delivery.MAX_ATTEMPTS for r in rows)
    assert all(r.last_error and r.sent_at is None for r in rows)

    # A failed mail is not retried, even when the server is back.
    smtp.start()
    assert await sender.send_due(t + dt.timedelta(days=1)) == 0
    assert smtp.inbox.envelopes == []


async def test_a_rejected_recipient_is_retried_with_the_servers_answer(sessionmaker: SM, now: dt.datetime, smtp: SmtpServer) -> None:
    class Refusing(Inbox):
        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # type: ignore[no-untyped-def]  # noqa: N802
            return "450 Mailbox busy, try later"

    _, talent, _ = await book_a_chat(sessionmaker, now)
    smtp.inbox = Refusing()
    smtp.start()
    sender = delivery.SmtpSender(sessionmaker, smtp.url, MAIL_FROM)
    assert await sender.send_due(now) == 0
    rows = await outbox(sessionmaker)
    assert all(r.status == "pending" and r.attempts == 1 for r in rows)
    assert all("Mailbox busy" in r.last_error for r in rows)
    assert smtp.inbox.envelopes == []
    assert any(r.to_email == talent.email for r in rows)


async def test_a_send_interrupted_by_a_crash_is_picked_up_after_the_lease(sessionmaker: SM, now: dt.datetime, smtp: SmtpServer) -> None:
    await book_a_chat(sessionmaker, now)
    # Another process claimed the rows at `now` and died before finishing.
    async with sessionmaker() as s, s.begin():
        await s.execute(update(OutboxMessage).values(status="sending", attempts=1, next_attempt_at=now + delivery.LEASE))
    smtp.start()
    sender = delivery.SmtpSender(sessionmaker, smtp.url, MAIL_FROM)
    assert await sender.send_due(now + dt.timedelta(minutes=1)) == 0
    assert smtp.inbox.envelopes == []
    assert await sender.send_due(now + delivery.LEASE) == 4
    assert all(r.status == "sent" for r in await outbox(sessionmaker))
    assert len(smtp.inbox.envelopes) == 4


async def test_two_senders_at_once_deliver_each_mail_once(sessionmaker: SM, now: dt.datetime, smtp: SmtpServer) -> None:
    await book_a_chat(sessionmaker, now)
    smtp.start()
    a = delivery.SmtpSender(sessionmaker, smtp.url, MAIL_FROM)
    b = delivery.SmtpSender(sessionmaker, smtp.url, MAIL_FROM)
    sent = await asyncio.gather(a.send_due(now), b.send_due(now))
    assert sum(sent) == 4
    assert len(smtp.inbox.envelopes) == 4
    assert all(r.status == "sent" and r.attempts == 1 for r in await outbox(sessionmaker))
