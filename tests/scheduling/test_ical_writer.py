"""The hand-written iCalendar writer, read back by two independent parsers on awkward input."""

from __future__ import annotations

import datetime as dt
import random

import icalendar
import pytest
from ical.calendar_stream import IcsCalendarStream

from scheduling import ical

UTC = dt.UTC
AWKWARD = [
    "Tom Talent",
    'Tom "T" O\'Neil; x, y\\z',
    "Zoë Ünïcødé ^ caret: yes",
    "日本語の名前と長いテキスト" * 4,
    "emoji 🎉🎉🎉 " * 8,
    "a\\" * 50,
    "^" * 90,
    "semi;colon,comma:colon" * 5,
    "x" * 74 + "é" + "y" * 80,
]


def _invite(rng: random.Random, i: int) -> ical.Invite:
    start = dt.datetime(2026, 3, 21, 9, 0, tzinfo=UTC) + dt.timedelta(minutes=5 * i)
    pick = lambda: rng.choice(AWKWARD) + rng.choice(["", " tail", "\\", "^", ",", ";"])  # noqa: E731
    # No backslashes in names: `icalendar` reads \\, and \\" in parameter values as escapes (its own writer
    # doesn't survive them either); RFC 5545 has no escapes there. TEXT values keep them.
    name = lambda: pick().replace("\\", "/")  # noqa: E731
    return ical.Invite(
        uid=f"{i}-{rng.randrange(10**9)}@fairmeet", sequence=i, start=start, end=start + dt.timedelta(minutes=30),
        summary=pick(), description=pick() + "\nsecond line\r\nthird",
        organizer=ical.Person(name(), "noreply@fairmeet.local"),
        attendees=[ical.Person(name(), "rec@example.test"), ical.Person(name(), "tal@example.test")],
        url="http://127.0.0.1:8000/chats/12?a=b,c;d", location=pick(),
    )


def _check_lines(text: str) -> None:
    assert text.endswith("\r\n")
    for line in text.split("\r\n")[:-1]:
        assert len(line.encode()) <= 75, line
        assert "\n" not in line and "\r" not in line


@pytest.mark.parametrize("seed", range(20))
@pytest.mark.parametrize("method", ["REQUEST", "CANCEL"])
def test_awkward_text_survives_both_parsers(seed: int, method: str) -> None:
    rng = random.Random(seed)
    invite = _invite(rng, seed)
    stamp = dt.datetime(2026, 3, 20, 8, 0, 0, 123456, tzinfo=UTC)
    text = ical.request(invite, stamp=stamp) if method == "REQUEST" else ical.cancel(invite, stamp=stamp)
    _check_lines(text)

    cal = icalendar.Calendar.from_ical(text)
    assert str(cal["method"]) == method and cal["version"] == "2.0"
    [ev] = list(cal.walk("VEVENT"))
    assert str(ev["uid"]) == invite.uid and int(str(ev["sequence"])) == invite.sequence
    assert str(ev["summary"]) == invite.summary
    assert str(ev["description"]) == invite.description.replace("\r\n", "\n")
    assert str(ev["location"]) == invite.location
    assert str(ev["url"]) == invite.url
    assert ev.decoded("dtstart") == invite.start and ev.decoded("dtend") == invite.end
    assert ev.decoded("dtstamp") == stamp.replace(microsecond=0)
    assert str(ev["status"]) == ("CONFIRMED" if method == "REQUEST" else "CANCELLED")
    assert ev["organizer"].params["CN"] == invite.organizer.name
    assert [a.params["CN"] for a in ev["attendee"]] == [p.name for p in invite.attendees]
    assert [str(a) for a in ev["attendee"]] == [f"mailto:{p.email}" for p in invite.attendees]

    other = IcsCalendarStream.calendar_from_ics(text)
    assert other.method == method
    [oev] = other.events
    assert (oev.uid, oev.sequence, oev.summary) == (invite.uid, invite.sequence, invite.summary)
    assert oev.description == invite.description.replace("\r\n", "\n")
    assert (oev.dtstart, oev.dtend) == (invite.start, invite.end)
    assert oev.organizer is not None and oev.organizer.common_name == invite.organizer.name
    assert [a.common_name for a in oev.attendees] == [p.name for p in invite.attendees]


def test_feed_of_awkward_invites() -> None:
    rng = random.Random(1)
    invites = [_invite(rng, i) for i in range(5)]
    text = ical.feed('Zoë\'s "chats"', invites, stamp=dt.datetime(2026, 3, 1, tzinfo=UTC))
    _check_lines(text)
    cal = icalendar.Calendar.from_ical(text)
    assert "METHOD" not in cal and str(cal["X-WR-CALNAME"]) == 'Zoë\'s "chats"'
    assert [str(e["summary"]) for e in cal.walk("VEVENT")] == [i.summary for i in invites]
    other = IcsCalendarStream.calendar_from_ics(text)
    assert [e.uid for e in other.events] == [i.uid for i in invites]
