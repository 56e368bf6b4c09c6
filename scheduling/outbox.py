"""The mail outbox: notifications written in the same transaction as the change they report.

Texts of every notification live here, in one place, so they can be translated later.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from scheduling import timefmt
from scheduling.models import OutboxMessage, User


@dataclass(frozen=True)
class Mail:
    subject: str
    body: str
    ical: str | None = None
    ical_method: str | None = None


class Addressee(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def email(self) -> str: ...


def row(to: Addressee, kind: str, mail: Mail, *, now: dt.datetime) -> dict[str, Any]:
    """The outbox row for `mail`, as column values: for actions that write their rows in one statement."""
    return {
        "to_email": to.email,
        "to_name": to.name,
        "subject": mail.subject,
        "body_text": mail.body,
        "ical": mail.ical,
        "ical_method": mail.ical_method,
        "kind": kind,
        "status": "pending",
        "attempts": 0,
        "last_error": "",
        "created_at": now,
        "next_attempt_at": now,
        "channel": "email",
        "to_phone": "",
    }


def enqueue(session: AsyncSession, to: User, kind: str, mail: Mail, *, now: dt.datetime) -> OutboxMessage:
    message = OutboxMessage(**row(to, kind, mail, now=now))
    session.add(message)
    return message


@dataclass(frozen=True)
class When:
    """A chat's time as one recipient's mails give it: `long` in the body, `short` in the subject, in the same zone."""

    long: str
    short: str


def when(start: dt.datetime, end: dt.datetime, person_tz: str | None, event_tz: str) -> When:
    """The recipient's zone (their own, else the event's, said so), named the same way in body and subject.

    'Tue 10 Mar 2026, 09:00–09:20 UTC · event time Tue 10:00–10:20 CET (Europe/Berlin)' and 'Tue 10 Mar 2026, 09:00 UTC';
    with no zone of their own: 'Tue 10 Mar 2026, 10:00–10:20 CET (Europe/Berlin, the event's time zone)'.
    """
    ez = timefmt.zone(event_tz)
    own = bool(person_tz) and timefmt.zone(person_tz, "UTC").key == person_tz
    vz = timefmt.zone(person_tz) if own else ez
    text = f"{timefmt.day(start, vz)}, {timefmt.hours(start, end, vz)}"
    if not own:
        text += f" ({vz.key}, the event's time zone)"
    elif vz.key != timefmt.zone_label(start.astimezone(vz)):  # 'UTC' names itself
        text += f" ({vz.key})"
    if vz.key != ez.key and start.astimezone(ez).utcoffset() != start.astimezone(vz).utcoffset():
        text += f" · event time {start.astimezone(ez):%a} {timefmt.hours(start, end, ez)} ({ez.key})"
    return When(text, timefmt.stamp(start, vz))


def _sign(event_name: str) -> str:
    return f"\n\n-- \nFairmeet · {event_name}\n"


def request_received(*, to: str, sender: str, event_name: str, message: str, answer: str, question: str, url: str, auto_accepted: bool) -> Mail:
    lines = [f"Hello {to},", "", f"{sender} sent you a 1-1 chat request for {event_name}."]
    if message:
        lines += ["", "Their message:", message]
    if question:
        lines += ["", f"Your question: {question}", f"Their answer: {answer}"]
    if auto_accepted:
        lines += ["", "Your calendar takes direct bookings, so the request was accepted at once; they can now pick a slot."]
    else:
        lines += ["", "Accept or decline it here:"]
    lines += [url]
    return Mail(f"New 1-1 chat request from {sender}", "\n".join(lines) + _sign(event_name))


def request_accepted(*, to: str, other: str, event_name: str, url: str, to_talent: bool = True, slot_free: bool = True) -> Mail:
    """To the request's sender; the talent is the one who picks the time, and is told when nothing is free yet."""
    body = f"Hello {to},\n\n{other} accepted your 1-1 chat request for {event_name}.\n"
    if not to_talent:
        body += f"{other} now picks a time from your calendar; you'll get the calendar invite when they do:\n{url}"
    elif slot_free:
        body += f"Pick a time that suits you both:\n{url}"
    else:
        body += f"No time is free in their calendar right now. We'll email you as soon as one opens:\n{url}"
    return Mail(f"{other} accepted your 1-1 chat request", body + _sign(event_name))


def request_declined(*, to: str, other: str, event_name: str, reason: str, url: str, to_talent: bool = True) -> Mail:
    body = f"Hello {to},\n\n{other} declined your 1-1 chat request for {event_name}."
    if reason:
        body += f"\n\nTheir note: {reason}"
    body += f"\n\nOther recruiters are still open for chats:\n{url}" if to_talent else f"\n\nThe event's other talents:\n{url}"
    return Mail(f"{other} declined your 1-1 chat request", body + _sign(event_name))


def chat_confirmed(*, to: str, other: str, event_name: str, when: str, short_when: str, url: str, ical: str) -> Mail:
    body = (
        f"Hello {to},\n\nYour 1-1 chat with {other} is confirmed.\n\nWhen: {when}\n"
        f"Join from this page once the room opens:\n{url}\n\nThe attached invite adds it to your calendar."
    )
    return Mail(f"Confirmed: 1-1 chat with {other}, {short_when}", body + _sign(event_name), ical, "REQUEST")


def chat_cancelled(*, to: str, other: str, event_name: str, when: str | None, reason: str, url: str, ical: str | None, by: str = "") -> Mail:
    """`other` cancelled, or with `by` ("The organizers") someone else did, on the two people's behalf."""
    what = f"your 1-1 chat ({when})" if when else "your 1-1 chat request"
    body = f"Hello {to},\n\n{other} cancelled {what} for {event_name}."
    if by:
        body = f"Hello {to},\n\n{by} cancelled {what} with {other} for {event_name}."
    if reason:
        body += f"\n\nReason: {reason}"
    body += f"\n\n{url}"
    return Mail(f"Cancelled: 1-1 chat with {other}", body + _sign(event_name), ical, "CANCEL" if ical else None)


def chat_rescheduled(
    *, to: str, other: str, event_name: str, old_when: str, new_when: str | None, reason: str, url: str, ical: str, by: str = "",
    new_short: str = "",
) -> Mail:
    """`new_short`: the new time for the subject ('Tue 10 Mar 2026, 09:00 UTC'); none when the slot was only released."""
    body = f"Hello {to},\n\n{other} rescheduled your 1-1 chat for {event_name}.\n\nWas: {old_when}\n"
    if by:  # on the two people's behalf
        body = f"Hello {to},\n\n{by} moved your 1-1 chat with {other} for {event_name}.\n\nWas: {old_when}\n"
    if new_when:
        body += f"Now: {new_when}\n"
    else:
        body += "The old time is released; a new slot can be picked here:\n"
    if reason:
        body += f"\nReason: {reason}\n"
    body += f"\n{url}"
    method = "REQUEST" if new_when else "CANCEL"
    subject = f"Rescheduled: 1-1 chat with {other}, now {new_short}" if new_when and new_short else (
        f"Rescheduled: 1-1 chat with {other}" if new_when else f"Rescheduled: 1-1 chat with {other}, new time to be picked")
    return Mail(subject, body + _sign(event_name), ical, method)


def invitation(*, to: str, event_name: str, role: str, url: str) -> Mail:
    body = (
        f"Hello {to},\n\nYou have been added to {event_name} as {role}.\n"
        f"Sign in with this link (valid for 7 days, once):\n{url}"
    )
    return Mail(f"You're invited to {event_name}", body + _sign(event_name))


def sign_in_link(*, to: str, url: str) -> Mail:
    body = f"Hello {to},\n\nHere is your sign-in link for Fairmeet (valid for 30 minutes, once):\n{url}\n\nIf you did not ask for it, ignore this email."
    return Mail("Your Fairmeet sign-in link", body)
