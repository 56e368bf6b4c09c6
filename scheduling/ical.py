"""iCalendar (RFC 5545) invites with iTIP (RFC 5546) methods, and personal calendar feeds."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import icalendar


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


def _vevent(invite: Invite, *, cancelled: bool, stamp: dt.datetime) -> icalendar.Event:
    ev = icalendar.Event()
    ev.add("uid", invite.uid)
    ev.add("sequence", invite.sequence)
    ev.add("dtstamp", stamp.astimezone(dt.UTC))
    ev.add("dtstart", invite.start.astimezone(dt.UTC))
    ev.add("dtend", invite.end.astimezone(dt.UTC))
    ev.add("summary", invite.summary)
    if invite.description:
        ev.add("description", invite.description)
    if invite.url:
        ev.add("url", invite.url)
    if invite.location:
        ev.add("location", invite.location)
    organizer = icalendar.vCalAddress(f"mailto:{invite.organizer.email}")
    organizer.params["cn"] = icalendar.vText(invite.organizer.name)
    ev.add("organizer", organizer)
    for person in invite.attendees:
        attendee = icalendar.vCalAddress(f"mailto:{person.email}")
        attendee.params["cn"] = icalendar.vText(person.name)
        attendee.params["role"] = icalendar.vText("REQ-PARTICIPANT")
        attendee.params["partstat"] = icalendar.vText("ACCEPTED")
        attendee.params["rsvp"] = icalendar.vText("FALSE")
        ev.add("attendee", attendee, encode=False)
    ev.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    ev.add("transp", "OPAQUE")
    return ev


def _calendar(method: str | None) -> icalendar.Calendar:
    cal = icalendar.Calendar()
    cal.add("prodid", "-//Fairmeet//Fairmeet 1-1 chats//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    if method:
        cal.add("method", method)
    return cal


def request(invite: Invite, *, stamp: dt.datetime) -> str:
    """A METHOD:REQUEST calendar: the chat is (re)scheduled at invite.start."""
    cal = _calendar("REQUEST")
    cal.add_component(_vevent(invite, cancelled=False, stamp=stamp))
    return str(cal.to_ical().decode())


def cancel(invite: Invite, *, stamp: dt.datetime) -> str:
    """A METHOD:CANCEL calendar: removes the chat from the attendees' calendars."""
    cal = _calendar("CANCEL")
    cal.add_component(_vevent(invite, cancelled=True, stamp=stamp))
    return str(cal.to_ical().decode())


def feed(name: str, invites: Sequence[Invite], *, stamp: dt.datetime) -> str:
    """A subscribable calendar (no iTIP method) holding a person's confirmed chats."""
    cal = _calendar(None)
    cal.add("x-wr-calname", name)
    for invite in invites:
        cal.add_component(_vevent(invite, cancelled=False, stamp=stamp))
    return str(cal.to_ical().decode())
