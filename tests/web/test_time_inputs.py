"""24-hour time fields everywhere (walk-through problem 6) and refused calendar forms that open at the form (problem 5).

<input type="time"> showed "05:00 PM" in a 12-hour browser locale next to 24-hour pages. Every time of day is now a text field
read by scheduling/clock_input.py: 9:00, 09:00 and 0900 are accepted; anything else is refused in words that name the field
and repeat what was typed, which stays in the field. Every page test runs on SQLite and PostgreSQL (the `client` fixture).
"""

from __future__ import annotations

import datetime as dt
import html
import re
from pathlib import Path

import httpx
import orjson
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from scheduling import clock_input
from scheduling.db import create_sessionmaker
from scheduling.errors import Invalid
from scheduling.livechat.models import JobReq
from scheduling.models import Event
from tests.factories import make_world
from tests.web.conftest import FakeClock
from tests.web.test_calendar import csrf_of, setup, text_of, utc, windows
from tests.web.test_livechat_followup import _job
from tests.web.test_pages import sign_in
from tests.web.test_staff_pages import job_form, new_job_form

TEMPLATES = Path(__file__).resolve().parents[2] / "web" / "templates"


def field(page: str, name: str) -> str:
    found = re.search(rf'<input [^>]*name="{name}"[^>]*>', page)
    assert found, name
    return found.group(0)


# --------------------------------------------------------------------------- reading what was typed


@pytest.mark.parametrize(("raw", "want"), [
    ("9:00", dt.time(9)), ("09:00", dt.time(9)), ("0900", dt.time(9)), (" 17:30 ", dt.time(17, 30)), ("9.30", dt.time(9, 30)),
    ("930", dt.time(9, 30)), ("00:00", dt.time(0)), ("23:59", dt.time(23, 59)),
])
def test_times_people_type_are_read(raw: str, want: dt.time) -> None:
    assert clock_input.parse_clock(raw) == want


@pytest.mark.parametrize("raw", ["9", "", "24:00", "25:00", "9:60", "5 pm", "05:00 PM", "9:5", "12:300", "١٢:٣٠", "9:00:00"])
def test_anything_else_is_not_a_time(raw: str) -> None:
    assert clock_input.parse_clock(raw) is None


def test_24_00_ends_a_day_where_asked_and_refusals_repeat_the_value() -> None:
    assert clock_input.parse_clock("24:00", allow_24=True) == dt.time(0) and clock_input.is_end_of_day("24:00")
    with pytest.raises(Invalid) as err:
        clock_input.require_clock("5 pm", "Starts at")
    assert err.value.message == "Starts at: \u201c5 pm\u201d is not a time. Give hours and minutes on the 24-hour clock, like 09:00 or 14:30."


def test_no_template_uses_a_native_time_input() -> None:
    offenders = [str(p.relative_to(TEMPLATES)) for p in TEMPLATES.rglob("*.html") if re.search(r'type="?time\b', p.read_text(encoding="utf-8"))]
    assert offenders == []


def test_the_fields_pattern_is_the_servers() -> None:
    text = (TEMPLATES / "_time_input.html").read_text(encoding="utf-8")
    assert f"'{clock_input.PATTERN}'" in text and f"'{clock_input.PATTERN_END}'" in text
    for raw in ("9:00", "09:00", "0900", "9.30", "23:59", "5 pm", "24:00", "25:00"):
        assert bool(re.fullmatch(clock_input.PATTERN, raw)) == (clock_input.parse_clock(raw) is not None), raw


# --------------------------------------------------------------------------- My calendar


async def test_calendar_reads_24_hour_text_and_refuses_the_rest_keeping_it(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    sm, w, cal = await setup(client, engine, clock, starts_at=utc(2026, 3, 9, 23), days=2)  # Tue 10 and Wed 11 Mar in Berlin
    page = (await cal.page()).text
    start = field(page, "from")
    assert 'type="text"' in start and 'inputmode="numeric"' in start and 'placeholder="09:00"' in start and 'value="09:00"' in start
    assert 'aria-describedby="add-time-hint"' in start and '<span class="time-hint muted small" id="add-time-hint">24-hour, like 14:30</span>' in page
    r = await cal.add("9:00", "1200")
    assert r.status_code == 200 and "Added 09:00–12:00 on 2 days" in text_of(r.text)
    assert await windows(sm, w) == [(utc(2026, 3, 10, 8), utc(2026, 3, 10, 11)), (utc(2026, 3, 11, 8), utc(2026, 3, 11, 11))]
    r = await cal.add("5 pm", "18:00")
    assert r.status_code == 422
    assert "Give the start time as hours and minutes, like 09:00. \u201c5 pm\u201d is not one; times are 24-hour, like 14:30." in text_of(r.text)
    assert 'value="5 pm"' in field(r.text, "from") and 'value="18:00"' in field(r.text, "to")
    # 24:00 ends the day, as 00:00 does.
    r = await cal.add("22:00", "24:00")
    assert r.status_code == 200 and "Added 22:00–00:00 on 2 days" in text_of(r.text)


async def test_a_refused_addition_opens_at_the_form_with_the_message_on_top_too(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock
                                                                             ) -> None:
    sm, w, cal = await setup(client, engine, clock, starts_at=utc(2026, 3, 9, 23), days=2)
    r = await cal.add("17:00", "17:15")
    assert r.status_code == 422
    message = "A window must be at least 30 minutes long, the length of one chat: 17:00–17:15 is only 15 minutes."
    # At the top of the page, as an alert, before the calendar...
    top = r.text.index('<div class="flash error" role="alert">' + message + "</div>")
    assert top < r.text.index('id="cal-week"')
    # ...and at the form, whose field it is about is focused when the page opens, which scrolls the page to it.
    assert r.text.index('id="add-error">' + message) > r.text.index('id="cal-week"')
    to = field(r.text, "to")
    assert "autofocus" in to and 'aria-invalid="true"' in to and 'aria-describedby="add-error"' in to
    assert r.text.count("autofocus") == 1
    # A refusal about the days focuses the choice of days.
    r = await cal.add("09:00", "12:00", repeat="dates")
    assert r.status_code == 422 and "Tick at least one date." in text_of(r.text)
    assert re.search(r'<input type="radio" name="repeat" value="dates" checked autofocus>', r.text) and r.text.count("autofocus") == 1
    # The booking settings form, too.
    r = await cal.post(op="settings", booking_mode="sometimes", ideal_candidate="Go people", custom_question="")
    assert r.status_code == 422 and r.text.count("Booking mode must be selective or direct.") == 2
    assert re.search(r'name="booking_mode" value="selective" checked autofocus', r.text) and r.text.count("autofocus") == 1
    # A page that was not refused focuses nothing.
    assert "autofocus" not in (await cal.page()).text


# --------------------------------------------------------------------------- event settings, follow-up times, working hours


async def test_event_settings_read_24_hour_text(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    sm = create_sessionmaker(engine)
    w = await make_world(sm, clock.now)
    await sign_in(client, "org@example.test")
    page = await client.get(f"/events/{w.event_id}/manage")
    assert 'type="text"' in field(page.text, "starts_time") and 'aria-describedby="event-time-hint"' in field(page.text, "ends_time")
    data = {"csrf": csrf_of(page.text), "op": "event", "name": "Renamed Days", "timezone": "Europe/Berlin", "starts_date": "2026-03-25",
            "starts_time": "9:00", "ends_date": "2026-03-26", "ends_time": "1730", "requests_by": "both", "slot_minutes": "20"}
    r = await client.post(f"/events/{w.event_id}/manage", data=data)
    assert r.status_code == 303, text_of(r.text)
    async with sm() as s:
        event = await s.get(Event, w.event_id)
        assert event is not None
        assert (event.starts_at, event.ends_at) == (utc(2026, 3, 25, 8), utc(2026, 3, 26, 16, 30))
    r = await client.post(f"/events/{w.event_id}/manage", data={**data, "starts_time": "9am"})
    assert r.status_code == 422
    assert "Starts at: \u201c9am\u201d is not a time. Give hours and minutes on the 24-hour clock, like 09:00 or 14:30." in text_of(r.text)
    assert 'value="9am"' in field(r.text, "starts_time") and 'value="1730"' in field(r.text, "ends_time")
    # The page opens at the settings form, at the field refused.
    assert 'aria-invalid="true" autofocus' in field(r.text, "starts_time") and r.text.count("autofocus") == 1
    r = await client.post(f"/events/{w.event_id}/manage", data={**data, "slot_minutes": "twenty"})
    names = re.findall(r'<input name="name"[^>]*>', r.text)
    assert r.status_code == 422 and "autofocus" in names[-1] and r.text.count("autofocus") == 1  # the settings form's Name
    # 24:00 on the last day is midnight at its end.
    r = await client.post(f"/events/{w.event_id}/manage", data={**data, "ends_time": "24:00"})
    assert r.status_code == 303
    async with sm() as s:
        event = await s.get(Event, w.event_id)
        assert event is not None and event.ends_at == utc(2026, 3, 26, 23)


async def test_follow_up_times_read_24_hour_text_and_keep_a_refused_value(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    await _job(client, engine, clock)
    await sign_in(client, "rec@example.test")
    page = await client.get("/live/availability")
    assert 'type="text"' in field(page.text, "from") and 'aria-describedby="followup-time-hint"' in field(page.text, "to")
    day = (clock.now + dt.timedelta(days=2)).date().isoformat()
    r = await client.post("/live/availability", data={"csrf": csrf_of(page.text), "op": "add", "day": day, "from": "25:00", "to": "12:00"})
    assert r.status_code == 303
    page = await client.get("/live/availability")
    assert "From: \u201c25:00\u201d is not a time." in html.unescape(page.text)
    assert 'value="25:00"' in field(page.text, "from") and f'value="{day}"' in field(page.text, "day")
    r = await client.post("/live/availability", data={"csrf": csrf_of(page.text), "op": "add", "day": day, "from": "9:00", "to": "1000"})
    page = await client.get("/live/availability")
    assert "Times added." in page.text and 'value="09:00"' in field(page.text, "from")  # the form is fresh again


async def test_working_hours_read_24_hour_text(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    sm = create_sessionmaker(engine)
    await make_world(sm, clock.now)
    await sign_in(client, "rec0@example.test")
    csrf = await new_job_form(client)
    page = await client.get("/live/jobs/new")
    assert 'type="text"' in field(page.text, "day0_from") and 'aria-label="Monday from"' in field(page.text, "day0_from")
    r = await client.post("/live/jobs", data=job_form(csrf, day0_from="8:30", day0_to="1700", day1_to="24:00"))
    assert r.status_code == 303, text_of(r.text)
    job_id = int(r.headers["location"].rsplit("/", 1)[1])
    async with sm() as s:
        job = await s.get(JobReq, job_id)
        assert job is not None
        days = orjson.loads(job.hours)["days"]
        assert days["0"] == [["08:30", "17:00"]] and days["1"] == [["09:00", "24:00"]]
    r = await client.post("/live/jobs", data=job_form(csrf, day2_from="9 am"))
    assert r.status_code == 422
    assert "Working hours, Wednesday from: \u201c9 am\u201d is not a time." in text_of(r.text) and 'value="9 am"' in field(r.text, "day2_from")
