"""My calendar's days agree with the event's dates, whatever the recruiter's zone (walk-through problem 4).

A recruiter in UTC on a Europe/Berlin event that runs from midnight Tuesday to midnight Friday saw an extra "Mon 30 Nov,
0 open" column, "Every day of the event (4 days)", and "Not added on Mon 30 Nov: outside the event's hours", while the event
header says Tue 01 – Thu 03. Each day of the event is now the one date in the viewer's zone that holds most of it; a day
whose part of the event can't hold one slot is left out; a date holding a stored window still shows it.

Every test runs on SQLite and PostgreSQL (the `client` fixture).
"""

from __future__ import annotations

import datetime as dt
import re

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from scheduling import actions, availability
from tests.web.conftest import FakeClock
from tests.web.test_calendar import setup, text_of, utc, windows

BERLIN = "Europe/Berlin"
TUE_MIDNIGHT_BERLIN = utc(2026, 11, 30, 23)  # Tue 01 Dec 2026 00:00 in Berlin (CET), Mon 30 Nov 23:00 in UTC
FMT = actions.ChatFormat(slot_minutes=20, buffer_minutes=10)  # as the demo


@pytest.fixture
def now() -> dt.datetime:
    return dt.datetime(2026, 11, 1, 8, 0, tzinfo=dt.UTC)


def event_header(page: str) -> str:
    found = re.search(r'data-testid="event-days">([^<]+)<', page)
    assert found
    return found.group(1)


async def test_a_recruiter_west_of_the_event_gets_no_extra_empty_day(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    sm, w, cal = await setup(client, engine, clock, tz="UTC", starts_at=TUE_MIDNIGHT_BERLIN, days=3, fmt=FMT)
    page = (await cal.page()).text
    words = text_of(page)
    assert event_header(page) == "Tue 01 – Thu 03 Dec 2026 · Europe/Berlin"
    assert "Tue 01 – Thu 03 Dec 2026" in words  # the grid's week, as the header
    assert "Mon 30 Nov" not in words and 'href="?day=2026-11-30"' not in page and 'value="2026-11-30"' not in page
    assert "Every day of the event (3 days)" in words
    # Three columns: Tue, Wed, Thu.
    assert re.findall(r'<div class="cal-day[^"]*"', page).__len__() == 3
    r = await cal.add("09:00", "12:00")
    assert r.status_code == 200
    words = text_of(r.text)
    assert "Added 09:00–12:00 on 3 days: Tue 01, Wed 02, Thu 03 Dec" in words
    assert "Not added" not in words
    assert await windows(sm, w) == [(utc(2026, 12, d, 9), utc(2026, 12, d, 12)) for d in (1, 2, 3)]


async def test_a_window_typed_in_the_events_zone_on_the_edge_still_shows(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    """Tuesday 00:00-01:00 in Berlin is Monday 23:00-24:00 in UTC: that date comes back, so nothing stored goes undrawn."""
    sm, w, cal = await setup(client, engine, clock, tz="UTC", starts_at=TUE_MIDNIGHT_BERLIN, days=3, fmt=FMT)
    r = await cal.add("00:00", "01:00", repeat="dates", date=["2026-12-01"], zone=BERLIN)
    assert r.status_code == 200, text_of(r.text)
    assert await windows(sm, w) == [(utc(2026, 11, 30, 23), utc(2026, 12, 1, 0))]
    words = text_of((await cal.page(day="2026-11-30")).text)
    assert "Mon 30 Nov – Thu 03 Dec 2026" in words and "23:00–00:00 Mon 30 Nov, Available" in words
    # "Every day of the event" still means the event's three days, which is what it adds to.
    assert "Every day of the event (3 days)" in words
    r = await cal.add("09:00", "10:00")
    assert "Added 09:00–10:00 on 3 days: Tue 01, Wed 02, Thu 03 Dec" in text_of(r.text) and "Not added" not in text_of(r.text)


async def test_a_day_whose_share_of_the_event_holds_no_slot_is_left_out(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    """The event starts at 23:50 on Monday in Berlin: ten minutes can't hold a 20-minute chat, so Monday is no day of it."""
    sm, w, cal = await setup(client, engine, clock, tz=BERLIN, starts_at=utc(2026, 11, 30, 22, 50), days=3, fmt=FMT)
    page = (await cal.page()).text
    words = text_of(page)
    assert re.search(r'<h2 id="cal-week">Tue 01 – Thu 03 Dec 2026</h2>', page)
    assert 'href="?day=2026-11-30"' not in page and 'value="2026-11-30"' not in page and "Mon 30 Nov, Available" not in words
    assert "Every day of the event (3 days)" in words


def test_viewer_days_in_zones_east_and_west() -> None:
    start, end = TUE_MIDNIGHT_BERLIN, TUE_MIDNIGHT_BERLIN + dt.timedelta(days=3)
    tue_to_thu = [dt.date(2026, 12, d) for d in (1, 2, 3)]
    for tz in ("UTC", BERLIN, "America/New_York", "Asia/Tokyo", "Europe/Moscow"):
        assert availability.viewer_days(start, end, BERLIN, tz, slot_minutes=20) == tue_to_thu, tz
    # Before: every date the event touches.
    assert availability.event_days(start, end, "UTC") == [dt.date(2026, 11, 30), *tue_to_thu]
    # A day of 09:00-18:00 in Berlin is in the evening and night in Tokyo: one date, the one holding most of it.
    day = availability.viewer_days(utc(2026, 12, 1, 8), utc(2026, 12, 1, 17), BERLIN, "Asia/Tokyo", slot_minutes=30)
    assert day == [dt.date(2026, 12, 1)]
    # Something stored on another date keeps that date.
    kept = availability.viewer_days(start, end, BERLIN, "UTC", slot_minutes=20, keep=[(utc(2026, 11, 30, 23), utc(2026, 12, 1, 0))])
    assert kept == [dt.date(2026, 11, 30), *tue_to_thu]
    # An event shorter than one slot still has its day (nothing to leave out to).
    assert availability.viewer_days(start, start + dt.timedelta(minutes=10), BERLIN, "UTC", slot_minutes=20) == [dt.date(2026, 11, 30)]
