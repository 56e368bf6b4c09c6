"""The recruiter's My calendar (/events/{id}/profile): recurring windows, their checks, removal, the week/day grid.

Every test runs on SQLite and PostgreSQL (the `client` fixture). The event is in Europe/Berlin; the recruiter signs in
from the same zone unless a test says otherwise.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import html
import re

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from scheduling import actions, slot_watch
from scheduling.db import create_sessionmaker
from scheduling.models import Availability, OutboxMessage, Participant, SlotWatch
from tests.factories import PASSWORD, World, make_world
from tests.web.conftest import FakeClock, token

UTC = dt.UTC


@pytest.fixture
def now() -> dt.datetime:
    """Sunday 01 March 2026: every event below lies ahead."""
    return dt.datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)  # type: ignore[misc]


async def sign_in(client: httpx.AsyncClient, email: str, tz: str = "Europe/Berlin") -> None:
    page = await client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf
    r = await client.post("/login", data={"email": email, "password": PASSWORD, "csrf": csrf.group(1), "next": "/", "tz": tz})
    assert r.status_code == 303


def csrf_of(text: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', text)
    assert found
    return found.group(1)


def text_of(page: str) -> str:
    """The page's words, tags stripped and entities decoded, spaces squeezed: what a reader sees."""
    return re.sub(r"\s+([,.)])", r"\1", re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page))))


async def windows(sm: async_sessionmaker[AsyncSession], w: World, recruiter: int = 0) -> list[tuple[dt.datetime, dt.datetime]]:
    async with sm() as s:
        member = (await s.execute(select(Participant).where(Participant.event_id == w.event_id,
                                                             Participant.user_id == w.recruiters[recruiter].id))).scalar_one()
        rows = (await s.execute(select(Availability).where(Availability.participant_id == member.id).order_by(Availability.starts_at))).scalars()
        return [(a.starts_at, a.ends_at) for a in rows]


class Calendar:
    def __init__(self, client: httpx.AsyncClient, event_id: int) -> None:
        self.client, self.url = client, f"/events/{event_id}/profile"

    async def page(self, **params: str) -> httpx.Response:
        r = await self.client.get(self.url, params=params)
        assert r.status_code == 200, r.text
        return r

    async def post(self, follow: bool = True, **data: str | list[str]) -> httpx.Response:
        csrf = csrf_of((await self.client.get(self.url)).text)
        return await self.client.post(self.url, data={"csrf": csrf, **data}, follow_redirects=follow)

    async def add(self, start: str, end: str, repeat: str = "every", **extra: str | list[str]) -> httpx.Response:
        return await self.post(op="add", **{"from": start, "to": end, "repeat": repeat, **extra})


async def setup(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock, tz: str = "Europe/Berlin", **world: object
                ) -> tuple[async_sessionmaker[AsyncSession], World, Calendar]:
    sm = create_sessionmaker(engine)
    w = await make_world(sm, clock.now, window=None, **world)  # type: ignore[arg-type]
    await sign_in(client, "rec0@example.test", tz)
    return sm, w, Calendar(client, w.event_id)


# --------------------------------------------------------------------------- recurring windows


async def test_every_event_day_keeps_its_wall_clock_across_the_spring_change(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    # Fri 27 Mar 00:00 to Tue 31 Mar 01:00 Berlin; the clocks go forward on Sunday 29 March.
    sm, w, cal = await setup(client, engine, clock, starts_at=utc(2026, 3, 26, 23), days=4)
    r = await cal.add("09:00", "12:00")
    assert r.status_code == 200
    words = text_of(r.text)
    assert "Added 09:00–12:00 on 4 days: Fri 27, Sat 28, Sun 29, Mon 30 Mar (24 new slots)." in words
    # Tuesday holds only the event's first hour: said, not silently dropped.
    assert "Not added on Tue 31 Mar: outside the event's hours." in words
    assert await windows(sm, w) == [
        (utc(2026, 3, 27, 8), utc(2026, 3, 27, 11)), (utc(2026, 3, 28, 8), utc(2026, 3, 28, 11)),
        (utc(2026, 3, 29, 7), utc(2026, 3, 29, 10)), (utc(2026, 3, 30, 7), utc(2026, 3, 30, 10)),
    ]
    # One recurring set in the list, drawn on the grid as 09:00-12:00 every day, in the zone the footer names.
    assert "09:00–12:00 on 4 days" in words and words.count("09:00–12:00 Fri 27 Mar, Available") == 1
    assert words.count("09:00–12:00 Sun 29 Mar, Available") == 1
    assert "All times on this page are in Europe/Berlin" in words and "Times are shown in Europe/Berlin" in words


async def test_monday_to_friday_and_chosen_dates(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    sm, w, cal = await setup(client, engine, clock, starts_at=utc(2026, 3, 26, 23), days=4)
    r = await cal.add("13:00", "15:00", repeat="workdays")
    assert "Added 13:00–15:00 on 2 days: Fri 27, Mon 30 Mar" in text_of(r.text)
    r = await cal.add("16:00", "17:00", repeat="dates", date=["2026-03-28"])
    assert "Added 16:00–17:00 on 1 day: Sat 28 Mar (2 new slots)." in text_of(r.text)
    assert await windows(sm, w) == [(utc(2026, 3, 27, 12), utc(2026, 3, 27, 14)), (utc(2026, 3, 28, 15), utc(2026, 3, 28, 16)),
                                    (utc(2026, 3, 30, 11), utc(2026, 3, 30, 13))]
    r = await cal.add("16:00", "17:00", repeat="dates")
    assert r.status_code == 422 and "Tick at least one date." in text_of(r.text)


async def test_windows_are_cut_to_the_event_and_outside_ones_refused(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    # Tue 10 Mar 10:00 to Thu 12 Mar 10:00 Berlin (09:00 UTC).
    sm, w, cal = await setup(client, engine, clock, starts_at=utc(2026, 3, 10, 9), days=2)
    r = await cal.add("09:00", "12:00")
    words = text_of(r.text)
    assert "Added 09:00–12:00 on 3 days: Tue 10, Wed 11, Thu 12 Mar" in words
    assert "Cut to the event's start or end on Tue 10, Thu 12 Mar." in words
    assert await windows(sm, w) == [(utc(2026, 3, 10, 9), utc(2026, 3, 10, 11)), (utc(2026, 3, 11, 8), utc(2026, 3, 11, 11)),
                                    (utc(2026, 3, 12, 8), utc(2026, 3, 12, 9))]
    # Wholly after the event's end on its last day: refused in words, and what was typed is still in the form.
    r = await cal.add("14:00", "16:00", repeat="dates", date=["2026-03-12"])
    assert r.status_code == 422
    words = text_of(r.text)
    assert "14:00–16:00 was not added. Not added on Thu 12 Mar: outside the event's hours." in words
    assert 'name="from" value="14:00"' in r.text and 'name="to" value="16:00"' in r.text
    assert 'value="dates" checked' in r.text and 'value="2026-03-12" checked' in r.text
    assert len(await windows(sm, w)) == 3


async def test_overlapping_and_touching_windows_are_merged(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    sm, w, cal = await setup(client, engine, clock, starts_at=utc(2026, 3, 9, 23), days=2)
    one_day = {"repeat": "dates", "date": ["2026-03-10"]}
    await cal.add("09:00", "10:00", **one_day)
    r = await cal.add("10:00", "11:00", **one_day)
    assert "Joined with the windows it overlaps or touches." in text_of(r.text)
    r = await cal.add("10:30", "12:00", **one_day)
    assert "(2 new slots)" in text_of(r.text)
    assert await windows(sm, w) == [(utc(2026, 3, 10, 8), utc(2026, 3, 10, 11))]
    # Entirely inside what is there: refused, nothing changed.
    r = await cal.add("09:30", "11:00", **one_day)
    assert r.status_code == 422
    assert "09:30–11:00 adds no bookable slot: with 30-minute chats, the windows you already have cover it. Nothing was changed." in text_of(r.text)
    assert await windows(sm, w) == [(utc(2026, 3, 10, 8), utc(2026, 3, 10, 11))]


# --------------------------------------------------------------------------- finding 7 and other refusals


async def test_a_window_too_short_for_one_chat_is_refused(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    """Finding #7: a window shorter than a slot was accepted with "Availability added." and gave no slots."""
    sm, w, cal = await setup(client, engine, clock, fmt=actions.ChatFormat(slot_minutes=30, buffer_minutes=10))
    r = await cal.add("09:00", "09:20")
    assert r.status_code == 422
    words = text_of(r.text)
    assert "A window must be at least 30 minutes long, the length of one chat: 09:00–09:20 is only 20 minutes." in words
    assert "Availability added" not in words and "Added" not in words
    assert 'value="09:00"' in r.text and 'value="09:20"' in r.text and 'aria-invalid="true" aria-describedby="add-error"' in r.text
    assert await windows(sm, w) == []
    # Long enough for one chat: accepted, and the message says how many slots it gave.
    r = await cal.add("09:00", "09:30", repeat="dates", date=[(clock.now + dt.timedelta(days=1)).date().isoformat()])
    assert r.status_code == 200 and "(1 new slot)." in text_of(r.text)


async def test_the_api_refuses_a_window_too_short_for_one_chat(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    """Finding #7 through the API: the same refusal, and the windows stay as they were."""
    sm = create_sessionmaker(engine)
    w = await make_world(sm, clock.now, starts_at=utc(2026, 3, 9, 23))  # one window, 01:00-05:00 after the start
    headers = await token(client, "rec0@example.test")
    before = await windows(sm, w)
    short = [{"start": "2026-03-10T08:00:00Z", "end": "2026-03-10T08:20:00Z"}]
    r = await client.put(f"/api/v1/events/{w.event_id}/recruiters/{w.recruiters[0].id}", headers=headers, json={"availability": short})
    assert r.status_code == 422 and r.json()["error"]["code"] == "availability_too_short"
    assert "at least 30 minutes long" in r.json()["error"]["message"]
    assert await windows(sm, w) == before
    ok = [{"start": "2026-03-10T08:00:00Z", "end": "2026-03-10T08:30:00Z"}]
    r = await client.put(f"/api/v1/events/{w.event_id}/recruiters/{w.recruiters[0].id}", headers=headers, json={"availability": ok})
    assert r.status_code == 200 and r.json()["open_slots"] == 1


async def test_a_window_cut_too_short_by_the_event_start_is_left_out_and_said(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    # The event opens at 11:45 Berlin on its first day.
    sm, w, cal = await setup(client, engine, clock, starts_at=utc(2026, 3, 10, 10, 45), days=1)
    r = await cal.add("09:00", "12:00")
    words = text_of(r.text)
    assert "Added 09:00–12:00 on 1 day: Wed 11 Mar" in words
    assert "Not added on Tue 10 Mar: too short for one chat within the event's hours." in words
    assert await windows(sm, w) == [(utc(2026, 3, 11, 8), utc(2026, 3, 11, 10, 45))]


async def test_end_before_start_and_bad_times_are_refused_in_words(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    sm, w, cal = await setup(client, engine, clock)
    r = await cal.add("12:00", "09:00")
    assert r.status_code == 422 and "The end time (09:00) must be later than the start time (12:00)." in text_of(r.text)
    assert 'value="12:00"' in r.text
    r = await cal.add("9", "12:00")
    assert r.status_code == 422 and "Give the start time as hours and minutes, like 09:00." in text_of(r.text)
    r = await cal.add("09:02", "12:00")
    assert r.status_code == 422 and "The start time must be on whole 5 minutes, like 09:00 or 09:05." in text_of(r.text)
    assert await windows(sm, w) == []
    # Ending at midnight means the end of the day.
    r = await cal.add("22:00", "00:00")
    assert r.status_code == 200 and "Added 22:00–00:00 on 2 days" in text_of(r.text)


# --------------------------------------------------------------------------- removal


async def test_remove_one_window_or_a_whole_recurring_set(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    sm, w, cal = await setup(client, engine, clock, starts_at=utc(2026, 3, 9, 23), days=3)
    await cal.add("09:00", "12:00")
    await cal.add("14:00", "16:00", repeat="dates", date=["2026-03-11"])
    assert len(await windows(sm, w)) == 4
    r = await cal.post(op="remove_set", **{"from": "09:00", "to": "12:00"})
    assert "Removed 09:00–12:00 on 3 days: Tue 10, Wed 11, Thu 12 Mar." in text_of(r.text)
    assert await windows(sm, w) == [(utc(2026, 3, 11, 13), utc(2026, 3, 11, 15))]
    # One window, by its instants (what the × button next to the date posts).
    page = (await cal.page()).text
    assert 'aria-label="Remove 14:00–16:00 on Wed 11 Mar"' in page
    r = await cal.post(op="remove", start="2026-03-11T13:00:00+00:00", end="2026-03-11T15:00:00+00:00")
    assert "Removed 14:00–16:00 on Wed 11 Mar." in text_of(r.text) and await windows(sm, w) == []
    # A second click on the same button (a second tab) says so instead of failing.
    r = await cal.post(op="remove", start="2026-03-11T13:00:00+00:00", end="2026-03-11T15:00:00+00:00")
    assert r.status_code == 200 and "That window was already removed or changed." in text_of(r.text)


async def test_two_additions_at_once_both_stay(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    """Each addition reads the windows and writes them back whole: the recruiter's row is locked first, so none is lost."""
    sm, w, cal = await setup(client, engine, clock, starts_at=utc(2026, 3, 9, 23), days=1)
    csrf = csrf_of((await cal.page()).text)
    posts = [client.post(cal.url, data={"csrf": csrf, "op": "add", "from": f"{9 + 2 * i:02d}:00", "to": f"{10 + 2 * i:02d}:00",
                                        "repeat": "every"}) for i in range(4)]
    results = await asyncio.gather(*posts)
    assert all(r.status_code == 303 for r in results)
    assert await windows(sm, w) == [(utc(2026, 3, 10, 8 + 2 * i), utc(2026, 3, 10, 9 + 2 * i)) for i in range(4)]


async def test_new_availability_tells_a_talent_waiting_for_a_slot(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    """A talent whose accepted chat found no slot is told once the recruiter adds a window from this page."""
    sm, w, cal = await setup(client, engine, clock, starts_at=utc(2026, 3, 9, 23), days=1)
    ctx = actions.Context(now=clock.now)
    async with sm() as s, s.begin():
        chat = await actions.send_request(s, ctx, w.talents[0], w.event_id, recruiter_id=w.recruiters[0].id)
        await actions.accept(s, ctx, w.recruiters[0], chat.id)
        await slot_watch.arm(s, chat, clock.now)  # the talent looked for a time and found none
    r = await cal.add("09:00", "10:00")
    assert "Added 09:00–10:00 on 1 day" in text_of(r.text)
    async with sm() as s:
        watch = await s.get(SlotWatch, chat.id)
        assert watch is not None and watch.notified_at is not None
        mails = (await s.execute(select(OutboxMessage).where(OutboxMessage.to_email == "tal0@example.test"))).scalars().all()
        assert any("Rita Recruiter 0" in m.body_text and "09:00" in m.body_text for m in mails), [m.subject for m in mails]


# --------------------------------------------------------------------------- the grid


async def test_grid_shows_windows_and_a_confirmed_chat(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    sm, w, cal = await setup(client, engine, clock, starts_at=utc(2026, 3, 9, 23), days=2)
    await cal.add("09:00", "12:00")
    ctx = actions.Context(now=clock.now)
    async with sm() as s, s.begin():
        chat = await actions.send_request(s, ctx, w.talents[0], w.event_id, recruiter_id=w.recruiters[0].id)
        await actions.accept(s, ctx, w.recruiters[0], chat.id)
        await actions.book(s, ctx, w.talents[0], chat.id, utc(2026, 3, 11, 9))  # Wed 10:00 Berlin
    page = (await cal.page(day="2026-03-11")).text
    block = re.search(rf'<a class="cal-block chat sel" href="/chats/{chat.id}" style="--c: 3; --r0: (\d+); --r1: (\d+)">(.*?)</a>', page)
    assert block, page
    # Rows of 5 minutes from 08:00 below the day names: 10:00 is row 2 + 24, 10:30 ends at row 2 + 30.
    assert (int(block.group(1)), int(block.group(2))) == (26, 32)
    assert text_of(block.group(3)).strip() == "10:00–10:30 Tom Talent 0"
    windows_drawn = re.findall(r'<div class="cal-block window (sel|other)" style="--c: (\d); --r0: (\d+); --r1: (\d+)">', page)
    assert sorted(windows_drawn) == [("other", "2", "14", "50"), ("sel", "3", "14", "50")]
    words = text_of(page)
    assert "Tue 10 Mar 6 open" in words and "Wed 11 Mar 5 open · 1 booked" in words
    assert "11 open slots of 12" in words


async def test_grid_and_footer_name_the_viewers_zone(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    """A recruiter in New York sees the Berlin event's windows in New York time, and the page says so, as the footer does."""
    sm, w, cal = await setup(client, engine, clock, tz="America/New_York", starts_at=utc(2026, 3, 9, 23), days=2)
    page = (await cal.page()).text
    words = text_of(page)
    assert "All times on this page are in America/New_York, your zone (the event runs in Europe/Berlin)." in words
    assert "Times are shown in America/New_York" in words
    # Typed in the event's zone (offered because the two differ), shown in the viewer's.
    r = await cal.add("15:00", "17:00", repeat="dates", date=["2026-03-10"], zone="Europe/Berlin")
    assert "(Times read in Europe/Berlin.)" in text_of(r.text)
    assert await windows(sm, w) == [(utc(2026, 3, 10, 14), utc(2026, 3, 10, 16))]
    assert "10:00–12:00 Tue 10 Mar, Available" in text_of(r.text)


async def test_long_events_page_by_week(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    sm, w, cal = await setup(client, engine, clock, starts_at=utc(2026, 3, 22, 23), days=10)  # Mon 23 Mar 00:00 to Thu 02 Apr 01:00 (summer time)
    words = text_of((await cal.page()).text)
    assert "Week 1 of 2: Mon 23 – Sun 29 Mar 2026" in words
    assert "Week 1 of 2" in text_of((await cal.page(day="not-a-day")).text)  # a day it can't read shows the first week
    page = (await cal.page(day="2026-03-31")).text
    assert "Week 2 of 2: Mon 30 Mar – Thu 02 Apr 2026" in text_of(page) and 'href="?day=2026-03-23"' in page
    # Weekdays can be chosen once the event is longer than a week.
    r = await cal.add("09:00", "10:00", repeat="weekdays", weekday=["1", "3"])
    assert "Added 09:00–10:00 on 3 days: Tue 24, Thu 26, Tue 31 Mar (6 new slots). Not added on Thu 02 Apr: outside" in text_of(r.text)


# --------------------------------------------------------------------------- the rest of the page


async def test_booking_settings_still_save_and_keep_what_was_typed_on_error(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    sm, w, cal = await setup(client, engine, clock)
    r = await cal.post(op="settings", booking_mode="direct", ideal_candidate="Rust people", custom_question="Why Rust?")
    assert "Settings saved." in r.text
    async with sm() as s:
        member = (await s.execute(select(Participant).where(Participant.user_id == w.recruiters[0].id))).scalar_one()
        assert (member.booking_mode, member.ideal_candidate, member.custom_question) == ("direct", "Rust people", "Why Rust?")
    r = await cal.post(op="settings", booking_mode="sometimes", ideal_candidate="Go people", custom_question="Why Go?")
    assert r.status_code == 422 and "Booking mode must be selective or direct." in r.text
    assert "Go people</textarea>" in r.text and 'value="Why Go?"' in r.text
    # Too long: refused in words, never cut, and all of it is still in the form.
    question = "Why " + "really " * 100 + "Go?"
    r = await cal.post(op="settings", booking_mode="selective", ideal_candidate="Go people", custom_question=question)
    assert r.status_code == 422 and "question to talents" in r.text and f'value="{question}"' in r.text
    async with sm() as s:
        member = (await s.execute(select(Participant).where(Participant.user_id == w.recruiters[0].id))).scalar_one()
        assert (member.booking_mode, member.custom_question) == ("direct", "Why Rust?")


async def test_only_the_recruiter_sees_the_calendar(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    sm = create_sessionmaker(engine)
    w = await make_world(sm, clock.now)
    await sign_in(client, "tal0@example.test")
    r = await client.get(f"/events/{w.event_id}/profile")
    assert r.status_code == 403
    page = await client.get(f"/events/{w.event_id}")
    r = await client.post(f"/events/{w.event_id}/profile", data={"csrf": csrf_of(page.text), "op": "add", "from": "09:00", "to": "10:00"})
    assert r.status_code == 403
    r = await client.get(f"/events/{w.event_id + 1}/profile")
    assert r.status_code == 404
    r = await client.post(f"/events/{w.event_id}/profile", data={"op": "add", "from": "09:00", "to": "10:00"})
    assert r.status_code == 403 and "expired" in r.text
