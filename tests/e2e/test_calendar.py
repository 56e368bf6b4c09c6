"""The recruiter's My calendar in real Chromium: recurring windows through the form, the week grid on a desktop and the
day view on a phone, and a talent then booking from slots grouped by day.

The demo event runs Monday 07 to Wednesday 09 January 2030 in Europe/Berlin (the browsers' zone too); the server's clock
is frozen on Monday 07:00 there. Every demo recruiter starts with 09:00-12:00 and 13:00-17:00 on each day.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.async_api import Page, expect
from sqlalchemy.ext.asyncio import AsyncSession

from scheduling import actions
from scheduling.models import Event
from tests.e2e.a11y_axe import run_axe
from tests.e2e.conftest import LiveServer, NewContext
from tests.e2e.test_chat_flow import event_nav, no_horizontal_scroll, open_as, shot

pytestmark = pytest.mark.e2e

SAM = "sam@demo.fairmeet.test"  # direct booking, no chats yet
AISHA = "aisha@demo.fairmeet.test"  # has Tom Talent's confirmed chat on Tuesday 09:00
KOFI = "kofi@demo.fairmeet.test"
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}


def grid(page: Page, zone: str = "Europe/Berlin"):  # type: ignore[no-untyped-def]
    return page.get_by_role("group", name=f"Availability and booked chats, {zone}")


async def test_recruiter_sets_a_recurring_window_and_a_talent_books_from_it(demo_server: LiveServer, new_context: NewContext) -> None:
    sam = await open_as(new_context, SAM, viewport={"width": 1280, "height": 900})
    await event_nav(sam, "Availability").click()
    await expect(sam.get_by_role("heading", name="Availability", exact=True)).to_be_visible()
    await expect(sam.get_by_text("All times on this page are in Europe/Berlin")).to_be_visible()
    await expect(sam.locator("footer")).to_contain_text("Times are shown in Europe/Berlin")
    # The demo's two daily windows show as two recurring sets; both go.
    for times in ("09:00–12:00", "13:00–17:00"):
        await sam.locator(".cal-sets > li").filter(has_text=times).get_by_role("button", name="Remove all 3").click()
        await expect(sam.get_by_role("status")).to_contain_text(f"Removed {times} on 3 days: Mon 07, Tue 08, Wed 09 Jan.")
    await expect(sam.get_by_text("No availability yet")).to_be_visible()

    # Too short for one 20-minute chat: refused in words, with what was typed kept.
    await sam.get_by_label("From", exact=True).fill("10:00")
    await sam.get_by_label("To", exact=True).fill("10:10")
    await sam.get_by_role("button", name="Add availability").click()
    await expect(sam.get_by_role("alert")).to_have_text(
        "A window must be at least 20 minutes long, the length of one chat: 10:00–10:10 is only 10 minutes.")
    await expect(sam.get_by_label("From", exact=True)).to_have_value("10:00")
    await expect(sam.get_by_label("To", exact=True)).to_have_value("10:10")
    await shot(sam, "calendar-too-short")
    assert await run_axe(sam, "my calendar, refused window") == []

    # Every day of the event, 10:00-11:00.
    await sam.get_by_label("To", exact=True).fill("11:00")
    await sam.get_by_label("Every day of the event").check()
    await sam.get_by_role("button", name="Add availability").click()
    await expect(sam.get_by_role("status")).to_have_text("Added 10:00–11:00 on 3 days: Mon 07, Tue 08, Wed 09 Jan (6 new slots).")
    blocks = grid(sam).locator(".cal-block.window")
    await expect(blocks).to_have_count(3)
    await expect(blocks.first).to_contain_text("10:00–11:00")
    # Drawn at 10:00: the three days side by side, at the same height.
    boxes = [await blocks.nth(i).bounding_box() for i in range(3)]
    assert all(b is not None for b in boxes)
    tops = {round(b["y"]) for b in boxes if b}
    lefts = [b["x"] for b in boxes if b]
    assert len(tops) == 1 and lefts == sorted(lefts) and len(set(lefts)) == 3
    assert await sam.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    await shot(sam, "calendar-desktop")

    # A talent writes to Sam (direct booking: accepted at once) and picks a time from slots grouped by day.
    kofi = await open_as(new_context, KOFI, viewport={"width": 1280, "height": 900})
    sam_id = (await demo_server.user(SAM)).id
    await kofi.goto(f"/events/{demo_server.event_id}/request/{sam_id}")
    await kofi.get_by_label("Your message").fill("Graduate in mechatronics; curious about grid storage.")
    await kofi.get_by_role("button", name="Send request").click()
    await expect(kofi.get_by_role("status")).to_contain_text("pick a time")
    days = kofi.get_by_role("navigation", name="Days with free slots").get_by_role("link")
    await expect(days).to_have_count(3)
    await days.nth(1).click()
    tuesday = kofi.locator("#pick fieldset")
    await expect(tuesday.locator("legend")).to_contain_text("08 Jan")
    await expect(tuesday.locator("label.slot")).to_have_text(["10:00–10:20", "10:30–10:50"])
    await shot(kofi, "calendar-talent-picks")
    await tuesday.get_by_text("10:30–10:50").click()
    await kofi.get_by_role("button", name="Confirm 1-1 Chat").click()
    await expect(kofi.get_by_role("status")).to_contain_text("Your 1-1 chat is confirmed.")

    # Sam's grid now shows the chat, a link to it, inside Tuesday's window.
    await sam.goto(f"/events/{demo_server.event_id}/profile?day=2030-01-08")
    chat = grid(sam).get_by_role("link", name=re.compile("10:30–10:50 Kofi Mensah"))
    await expect(chat).to_be_visible()
    await expect(grid(sam)).to_contain_text("Tue 08 Jan 1 open · 1 booked")
    await shot(sam, "calendar-desktop-booked")
    assert await run_axe(sam, "my calendar, desktop") == []
    await chat.click()
    await expect(sam.get_by_role("heading", name="Kofi Mensah", exact=True)).to_be_visible()


async def test_the_calendar_is_a_day_view_on_a_phone(demo_server: LiveServer, new_context: NewContext) -> None:
    aisha = await open_as(new_context, AISHA, **PHONE)
    await aisha.goto(f"/events/{demo_server.event_id}/profile")
    await no_horizontal_scroll(aisha)
    # One day at a time: today's column only, and a day selector.
    await expect(grid(aisha).locator(".cal-day:visible")).to_have_count(1)
    await expect(grid(aisha).locator(".cal-day:visible")).to_contain_text("Mon 07 Jan")
    await shot(aisha, "calendar-phone-monday")
    await aisha.get_by_role("navigation", name="Day").get_by_role("link", name="Tue 08").click()
    await expect(grid(aisha).locator(".cal-day:visible")).to_contain_text("Tue 08 Jan")
    chat = grid(aisha).get_by_role("link", name=re.compile("09:00–09:20 Tom Talent"))
    await expect(chat).to_be_visible()
    box = await chat.bounding_box()
    assert box is not None and box["x"] + box["width"] <= 390
    await expect(grid(aisha).locator(".cal-block.window:visible")).to_have_count(2)
    await no_horizontal_scroll(aisha)
    await shot(aisha, "calendar-phone-tuesday")
    await chat.scroll_into_view_if_needed()
    await aisha.screenshot(path="/tmp/e2e-shots/calendar-phone-tuesday-screen.png")  # what the phone's screen shows, at full size
    assert await run_axe(aisha, "my calendar, phone") == []


async def test_a_long_event_in_another_zone_pages_by_week_and_says_which_zone(demo_server: LiveServer, new_context: NewContext) -> None:
    """Rita works from New York on the Berlin event, made twelve days long: weeks to page through, one zone on the page
    (hers, as the footer says), and the event's zone offered for typing times."""
    async def lengthen(session: AsyncSession, ctx: actions.Context) -> None:
        event = await session.get(Event, demo_server.event_id)
        assert event is not None
        event.ends_at = event.starts_at + dt.timedelta(days=12)

    await demo_server.run(lengthen)
    rita = await open_as(new_context, "recruiter@demo.fairmeet.test", timezone_id="America/New_York", viewport={"width": 1280, "height": 900})
    await rita.goto(f"/events/{demo_server.event_id}/profile")
    ny = grid(rita, "America/New_York")
    await expect(rita.get_by_text("All times on this page are in America/New_York, your zone (the event runs in Europe/Berlin).")).to_be_visible()
    await expect(rita.locator("footer")).to_contain_text("America/New_York")
    # The event's days, Mon 07 to Fri 18 as its header says: the Sunday evening in New York that is the event's first hours
    # in Berlin is no day of its own.
    await expect(rita.get_by_role("heading", name=re.compile(r"^Week 1 of 2: Mon 07 – Sun 13 Jan 2030$"))).to_be_visible()
    # The demo's 09:00 Berlin is 03:00 in New York.
    await expect(ny.locator(".cal-block.window").first).to_contain_text("03:00–06:00")
    await rita.get_by_label("Zone").select_option("Europe/Berlin")
    await rita.get_by_label("From", exact=True).fill("18:00")
    await rita.get_by_label("To", exact=True).fill("19:00")
    await rita.get_by_label("Monday to Friday").check()
    await rita.get_by_role("button", name="Add availability").click()
    await expect(rita.get_by_role("status")).to_contain_text(
        "Added 18:00–19:00 on 10 days: Mon 07, Tue 08, Wed 09, Thu 10, Fri 11, Mon 14, Tue 15, Wed 16, Thu 17, Fri 18 Jan (20 new slots).")
    await expect(rita.get_by_role("status")).to_contain_text("(Times read in Europe/Berlin.)")
    # 18:00 in Berlin is 12:00 in New York.
    await expect(ny.get_by_text("12:00–13:00")).to_have_count(5)  # Mon 07 to Fri 11, the weekdays of the first week
    await shot(rita, "calendar-desktop-new-york")
    await rita.get_by_role("navigation", name="Weeks").get_by_role("link", name="Next week").click()
    await expect(rita.get_by_role("heading", name=re.compile(r"^Week 2 of 2: "))).to_be_visible()
    await shot(rita, "calendar-desktop-new-york-week-2")
    assert await run_axe(rita, "my calendar, another zone, week 2") == []
