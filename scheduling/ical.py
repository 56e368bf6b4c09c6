"""iCalendar (RFC 5545) invites with iTIP (RFC 5546) methods, and personal calendar feeds.

Written by hand rather than through the `icalendar` package: an invite is a dozen fixed
properties, and building one through the package's component objects cost ~1.4 ms, twice per
booking, inside the booking transaction. The rules that matter are all here: TEXT escaping
(RFC 5545 §3.3.11), quoted parameter values with RFC 6868 escapes, UTC date-times, CRLF line
ends and folding at 75 octets without splitting a UTF-8 character or an escape.
tests/scheduling/test_ical_writer.py reads the output back with two independent parsers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

PRODID = "-//Fairmeet//Fairmeet 1-1 chats//EN"
LIMIT = 75  # octets per line, without the CRLF (RFC 5545 §3.1)


@dataclass(frozen=True)
class Person:
    name: str
    email: str


@dataclass(frozen=True)
class Invite:
    uid: str
    sequence: int
    start: dt.datetime
    end: dt.datetime
    summary: str
    description: str
    organizer: Person
    attendees: Sequence[Person]
    url: str = ""
    location: str = ""


_TEXT_ESCAPES = str.maketrans({"\\": "\\\\", ";": "\\;", ",": "\\,", "\n": "\\n"})
_PARAM_ESCAPES = str.maketrans({"^": "^^", '"': "^'", "\n": "^n"})


def _text(value: str) -> str:
    """A TEXT value: backslash, semicolon, comma and line breaks escaped."""
    return value.replace("\r\n", "\n").replace("\r", "\n").translate(_TEXT_ESCAPES)


def _param(value: str) -> str:
    """A parameter value, always quoted; RFC 6868 escapes for ^, " and line breaks; other controls dropped."""
    value = value.replace("\r\n", "\n").replace("\r", "\n").translate(_PARAM_ESCAPES)
    return '"' + "".join(ch for ch in value if ch == "\t" or not (ord(ch) < 32 or ord(ch) == 127)) + '"'


def _utc(instant: dt.datetime) -> str:
    return instant.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def _fold(line: str) -> str:
    """Folds a content line at 75 octets: CRLF + space, never inside a UTF-8 sequence or right after an escape."""
    if len(line) <= LIMIT // 4 or len(line.encode()) <= LIMIT:
        return line
    out: list[str] = []
    current: list[str] = []
    size = 0
    for ch in line:
        n = len(ch.encode())
        if current and size + n > (LIMIT if not out else LIMIT - 1):
            carry = current.pop() if len(current) > 1 and current[-1] in "\\^" else None
            out.append("".join(current))
            current, size = ([carry], len(carry.encode())) if carry else ([], 0)
        current.append(ch)
        size += n
    out.append("".join(current))
    return "\r\n ".join(out)


def _address(name: str, person: Person, params: str = "") -> str:
    return f"{name};CN={_param(person.name)}{params}:mailto:{person.email}"


def _vevent(invite: Invite, *, cancelled: bool, stamp: dt.datetime) -> list[str]:
    lines = [
        "BEGIN:VEVENT",
        f"SUMMARY:{_text(invite.summary)}",
        f"DTSTART:{_utc(invite.start)}",
        f"DTEND:{_utc(invite.end)}",
        f"DTSTAMP:{_utc(stamp)}",
        f"UID:{_text(invite.uid)}",
        f"SEQUENCE:{int(invite.sequence)}",
    ]
    lines += [_address("ATTENDEE", p, ";PARTSTAT=ACCEPTED;ROLE=REQ-PARTICIPANT;RSVP=FALSE") for p in invite.attendees]
    if invite.description:
        lines.append(f"DESCRIPTION:{_text(invite.description)}")
    if invite.location:
        lines.append(f"LOCATION:{_text(invite.location)}")
    lines.append(_address("ORGANIZER", invite.organizer))
    lines.append("STATUS:CANCELLED" if cancelled else "STATUS:CONFIRMED")
    lines.append("TRANSP:OPAQUE")
    if invite.url:
        lines.append(f"URL:{invite.url}")
    lines.append("END:VEVENT")
    return lines


def _calendar(method: str | None, body: list[str], extra: Sequence[str] = ()) -> str:
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{PRODID}", "CALSCALE:GREGORIAN"]
    if method:
        lines.append(f"METHOD:{method}")
    lines += extra
    lines += body
    lines.append("END:VCALENDAR")
    return "".join(_fold(line) + "\r\n" for line in lines)


def request(invite: Invite, *, stamp: dt.datetime) -> str:
    """A METHOD:REQUEST calendar: the chat is (re)scheduled at invite.start."""
    return _calendar("REQUEST", _vevent(invite, cancelled=False, stamp=stamp))


def cancel(invite: Invite, *, stamp: dt.datetime) -> str:
    """A METHOD:CANCEL calendar: removes the chat from the attendees' calendars."""
    return _calendar("CANCEL", _vevent(invite, cancelled=True, stamp=stamp))


def feed(name: str, invites: Sequence[Invite], *, stamp: dt.datetime) -> str:
    """A subscribable calendar (no iTIP method) holding a person's confirmed chats."""
    body = [line for invite in invites for line in _vevent(invite, cancelled=False, stamp=stamp)]
    return _calendar(None, body, [f"X-WR-CALNAME:{_text(name)}"])
