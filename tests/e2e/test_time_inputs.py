"""Times are typed and shown 24-hour whatever the browser's locale; a refused addition opens at the form; the calendar's
days agree with the event's (walk-through problems 4, 5 and 6).

The walk-through used Chromium in en-US: <input type="time"> showed "05:00 PM" next to the error "17:00–17:15" and the
footer "24-hour", the error was ~1,100 px below the top the page reopened at, and a recruiter in UTC saw an extra, empty
"Mon 30 Nov" on a Tue-Thu event in Berlin.
"""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect

from tests.e2e.conftest import LiveServer, NewContext
from tests.e2e.test_chat_flow import no_horizontal_scroll, open_as, shot

pytestmark = pytest.mark.e2e

RITA = "recruiter@demo.fairmeet.test"
US = {"locale": "en-US", "timezone_id": "UTC"}
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}


async def refused_short_window(page: Page, event_id: int) -> None:
    await page.goto(f"/events/{event_id}/profile")
    start, end = page.get_by_label("From", exact=True), page.get_by_label("To", exact=True)
    await start.fill("17:00")
    await end.fill("17:15")
    await page.get_by_role("button", name="Add availability").click()
    message = "A window must be at least 20 minutes long, the length of one chat: 17:00–17:15 is only 15 minutes."
    await expect(page.get_by_role("alert")).to_have_text(message)  # at the top of the page
    # The page opens at the form: the field it is about is focused, and the message next to it is on screen.
    await expect(end).to_be_focused()
    await expect(page.locator("#add-error")).to_have_text(message)
    await expect(page.locator("#add-error")).to_be_in_viewport()
    await expect(start).to_be_in_viewport()
    # What is shown is what was typed, 24-hour: a text field, not the browser's own "05:00 PM".
    await expect(start).to_have_value("17:00")
    await expect(end).to_have_value("17:15")
    assert await start.evaluate("e => e.type") == "text" and await end.evaluate("e => e.type") == "text"


async def test_en_us_browser_sees_17_00_and_the_refusal_at_the_form(demo_server: LiveServer, new_context: NewContext) -> None:
    rita = await open_as(new_context, RITA, viewport={"width": 1280, "height": 800}, **US)
    await refused_short_window(rita, demo_server.event_id)
    await rita.screenshot(path="/tmp/e2e-shots/time-inputs-refused-desktop-screen.png")  # what the screen shows
    await shot(rita, "time-inputs-refused-desktop")

    # Typed the way people do, 9:00 and 1200, it is added and read back 24-hour.
    await rita.get_by_label("From", exact=True).fill("9:00")
    await rita.get_by_label("To", exact=True).fill("1200")
    await rita.get_by_label("These dates:").check()
    await rita.get_by_role("group", name="Dates").get_by_role("checkbox").first.check()
    await rita.get_by_role("button", name="Add availability").click()
    await expect(rita.get_by_role("status")).to_contain_text("Added 09:00–12:00 on 1 day")
    # A time it can't read is refused in words, and stays as typed.
    await rita.get_by_label("From", exact=True).fill("5 pm")
    await rita.get_by_role("button", name="Add availability").click()
    await expect(rita.get_by_role("alert")).to_contain_text("\u201c5 pm\u201d is not one; times are 24-hour, like 14:30.")
    await expect(rita.get_by_label("From", exact=True)).to_have_value("5 pm")
    await expect(rita.get_by_label("From", exact=True)).to_be_focused()


async def test_on_a_phone_too(demo_server: LiveServer, new_context: NewContext) -> None:
    rita = await open_as(new_context, RITA, **PHONE, **US)
    await refused_short_window(rita, demo_server.event_id)
    await no_horizontal_scroll(rita)
    await rita.screenshot(path="/tmp/e2e-shots/time-inputs-refused-phone-screen.png")
    await shot(rita, "time-inputs-refused-phone")


async def test_the_calendar_days_agree_with_the_event_header_west_of_the_event(demo_server: LiveServer, new_context: NewContext) -> None:
    """Rita in UTC: the Berlin event starts at 23:00 the day before in her zone; that hour is no day of its own."""
    rita = await open_as(new_context, RITA, viewport={"width": 1280, "height": 800}, **US)
    await rita.goto(f"/events/{demo_server.event_id}/profile")
    header = await rita.get_by_test_id("event-days").inner_text()
    days = header.split(" · ")[0]
    await expect(rita.get_by_role("heading", name=re.compile(rf"^{re.escape(days)}$"))).to_be_visible()
    grid = rita.get_by_role("group", name="Availability and booked chats, UTC")
    await expect(grid.locator(".cal-day")).to_have_count(3)
    await expect(rita.get_by_role("radio", name="Every day of the event (3 days)", exact=True)).to_be_visible()
    await shot(rita, "time-inputs-calendar-utc")


async def test_event_settings_show_24_hour_times(demo_server: LiveServer, new_context: NewContext) -> None:
    olga = await open_as(new_context, "organizer@demo.fairmeet.test", viewport={"width": 1280, "height": 800}, **US)
    await olga.goto(f"/events/{demo_server.event_id}/manage")
    starts = olga.locator('input[name="starts_time"]')
    await expect(starts).to_have_value("00:00")
    assert await starts.evaluate("e => e.type") == "text"
    await starts.scroll_into_view_if_needed()
    await olga.screenshot(path="/tmp/e2e-shots/time-inputs-event-settings.png")
    # A time it can't read: the page opens at that field, marked, with what was typed.
    await starts.fill("9am")
    await olga.locator("#settings-form").get_by_role("button", name="Save").click()
    await expect(starts).to_be_focused()
    await expect(starts).to_have_value("9am")
    await expect(starts).to_have_attribute("aria-invalid", "true")
    await expect(starts).to_be_in_viewport()
    await olga.screenshot(path="/tmp/e2e-shots/time-inputs-event-settings-refused.png")
    phone = await open_as(new_context, "organizer@demo.fairmeet.test", **PHONE, **US)
    await phone.goto(f"/events/{demo_server.event_id}/manage")
    await phone.locator('input[name="starts_time"]').scroll_into_view_if_needed()
    await no_horizontal_scroll(phone)
    await phone.screenshot(path="/tmp/e2e-shots/time-inputs-event-settings-phone.png")


async def test_follow_up_times_and_working_hours_are_24_hour(demo_server: LiveServer, new_context: NewContext) -> None:
    # The demo's clock stands at 06:00 UTC on Monday: both windows lie ahead.
    for name, options, times in (("desktop", {"viewport": {"width": 1280, "height": 800}}, ("9:00", "1200", "09:00–12:00")),
                                 ("phone", PHONE, ("13:00", "2330", "13:00–23:30"))):
        rita = await open_as(new_context, RITA, **options, **US)
        await rita.goto("/live/availability")
        start = rita.get_by_label("From", exact=True)
        await expect(start).to_have_value("09:00")
        assert await start.evaluate("e => e.type") == "text"
        # The browser itself stops a time the server would refuse (the field's pattern is the server's; the server's own
        # refusal is tested in tests/web/test_time_inputs.py), keeping what was typed.
        await start.fill("25:00")
        await rita.get_by_role("button", name="Add times").click()
        assert await start.evaluate("e => e.validity.patternMismatch")
        await expect(start).to_have_value("25:00")
        await start.fill(times[0])
        await rita.get_by_label("To", exact=True).fill(times[1])
        await rita.get_by_role("button", name="Add times").click()
        await expect(rita.get_by_role("status")).to_have_text("Times added.")
        await expect(rita.locator(".agenda .time").filter(has_text=times[2])).to_have_count(1)
        if name == "phone":
            await no_horizontal_scroll(rita)
        await shot(rita, f"time-inputs-followup-{name}")
        await rita.goto("/live/jobs/new")
        monday = rita.get_by_label("Monday from")
        await expect(monday).to_have_value("09:00")
        assert await monday.evaluate("e => e.type") == "text"
        await monday.scroll_into_view_if_needed()
        if name == "phone":
            await no_horizontal_scroll(rita)
        await rita.screenshot(path=f"/tmp/e2e-shots/time-inputs-working-hours-{name}.png")
