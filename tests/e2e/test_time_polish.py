"""Time and polish in real Chromium: no page asks for a favicon that isn't there or logs a console error; the Join
button says when the room opens and becomes the primary action at that moment by the server's clock; a long event
name wraps on a 390 px phone; the time-zone picker and the length limits as a person meets them.

The server runs the demo event on a clock the test moves (Monday 07 January 2030, 06:00 UTC to start with)."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from scheduling import actions, timefmt
from scheduling.models import ChatRequest, Event
from tests.e2e.conftest import NOW, TZ, LiveServer
from tests.live import serve
from web import demo
from web.settings import Settings

pytestmark = pytest.mark.e2e

SHOTS = Path("/tmp/e2e-shots")
TOM = "talent@demo.fairmeet.test"
AISHA = "aisha@demo.fairmeet.test"
PHONE: dict[str, Any] = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
DESKTOP: dict[str, Any] = {"viewport": {"width": 1280, "height": 900}}


class MovingClock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def clock() -> MovingClock:
    return MovingClock(NOW)


@pytest.fixture
def server(demo_template: tuple[Path, int], tmp_path: Path, clock: MovingClock) -> Iterator[LiveServer]:
    """The demo event on a server whose clock the test moves."""
    template, event_id = demo_template
    path = tmp_path / "polish.db"
    shutil.copy(template, path)
    url = f"sqlite+aiosqlite:///{path}"
    with serve(lambda base: Settings(database_url=url, secret_key="e2e-polish", base_url=base), clock) as base_url:
        yield LiveServer(base_url=base_url, database_url=url, event_id=event_id)


class Watched:
    """A page with everything that went wrong on it: console errors, failed requests, 4xx/5xx answers."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.problems: list[str] = []
        page.on("console", lambda m: self.problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        # A request cut short by the next navigation (net::ERR_ABORTED, e.g. the favicon of a page left at once) is no fault.
        page.on("requestfailed", lambda r: None if "ERR_ABORTED" in (r.failure or "") else self.problems.append(f"failed: {r.url} {r.failure}"))
        page.on("response", lambda r: self.problems.append(f"{r.status}: {r.url}") if r.status >= 400 else None)


async def open_as(browser: Browser, server: LiveServer, email: str | None, **options: Any) -> Watched:
    context: BrowserContext = await browser.new_context(base_url=server.base_url, timezone_id=TZ, locale="en-GB", **(options or DESKTOP))
    context.set_default_timeout(10_000)
    watched = Watched(await context.new_page())
    if email:
        page = watched.page
        await page.goto("/login")
        await page.get_by_label("Email").first.fill(email)
        await page.get_by_label("Password").fill(demo.DEMO_PASSWORD)
        await page.get_by_role("button", name="Sign in").click()
        await expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    return watched


async def shot(page: Page, name: str) -> None:
    await page.screenshot(path=str(SHOTS / f"time_polish_{name}.png"), full_page=True)


async def toms_confirmed_chat(server: LiveServer) -> ChatRequest:
    async def find(s: AsyncSession, ctx: actions.Context) -> ChatRequest:
        chat = (await s.execute(select(ChatRequest).where(ChatRequest.status == "confirmed"))).scalars().first()
        assert chat is not None and chat.starts_at is not None
        return chat

    chat: ChatRequest = await server.run(find)
    return chat


async def test_main_pages_have_a_favicon_and_no_console_errors(browser: Browser, server: LiveServer) -> None:
    chat = await toms_confirmed_chat(server)
    eid = server.event_id
    stranger = await open_as(browser, server, None)
    await stranger.page.goto("/login")
    for email, urls in (
        (TOM, ["/", f"/events/{eid}", f"/events/{eid}/recruiters", f"/events/{eid}/schedule", f"/chats/{chat.id}", "/account", "/mailbox"]),
        (AISHA, [f"/events/{eid}", f"/events/{eid}/talents", f"/events/{eid}/profile", f"/events/{eid}/schedule", "/live/console"]),
        (demo.ORGANIZER, [f"/events/{eid}", f"/events/{eid}/manage", f"/chats/{chat.id}"]),
    ):
        watched = await open_as(browser, server, email)
        for url in urls:
            await watched.page.goto(url)
            await watched.page.wait_for_load_state("networkidle")
            href = await watched.page.locator('link[rel="icon"]').get_attribute("href")
            assert href == "/static/favicon.svg", url
            status = await watched.page.evaluate("async () => (await fetch('/favicon.ico')).status + ' ' + (await fetch("
                                                 "document.querySelector('link[rel=icon]').href)).status")
            assert status == "200 200", url
        assert watched.problems == [], (email, watched.problems)
        await watched.page.context.close()
    assert stranger.problems == [], stranger.problems


async def test_join_says_when_the_room_opens_and_turns_primary_at_that_moment(browser: Browser, server: LiveServer, clock: MovingClock) -> None:
    chat = await toms_confirmed_chat(server)
    assert chat.starts_at is not None
    opens = chat.starts_at - dt.timedelta(minutes=5)  # the demo's rooms open 5 minutes before
    label = timefmt.clock_zoned(opens, timefmt.zone(TZ))
    # 'Room opens at 08:55 CET' today, 'Room opens Tue 08 Jan, 08:55 CET' on another day (in Tom's zone, the demo's).
    other_day = opens.astimezone(timefmt.zone(TZ)).date() != clock.now.astimezone(timefmt.zone(TZ)).date()
    first_text = f"Room opens {opens.astimezone(timefmt.zone(TZ)):%a %d %b}, {label}" if other_day else f"Room opens at {label}"
    tom = await open_as(browser, server, TOM)
    page = tom.page
    await page.goto(f"/events/{server.event_id}/schedule")
    join = page.get_by_test_id("join")
    await expect(join).to_have_text(first_text)
    await expect(join).not_to_have_class("btn primary join")
    await shot(page, "schedule_before_desktop")
    # The server's clock moves to 3 seconds before the opening: the page, loaded now, flips by itself when it comes.
    clock.now = opens - dt.timedelta(seconds=3)
    await page.goto(f"/chats/{chat.id}")
    join = page.get_by_test_id("join")
    await expect(join).to_have_text(f"Room opens at {label}")
    await expect(join).to_have_text("Join", timeout=8_000)
    await expect(join).to_have_class("btn join primary")
    # A reload after the opening is rendered primary by the server; it leads into the room.
    clock.now = opens + dt.timedelta(seconds=5)
    await page.goto(f"/events/{server.event_id}/schedule")
    await expect(page.get_by_test_id("join")).to_have_class("btn primary join")
    await shot(page, "schedule_open_desktop")
    phone = await open_as(browser, server, TOM, **PHONE)
    await phone.page.goto(f"/events/{server.event_id}/schedule")
    await shot(phone.page, "schedule_open_phone")
    await page.get_by_test_id("join").click()
    await expect(page).to_have_url(f"{server.base_url}/chats/{chat.id}/room")
    # In the room the times read as on the pages: 24-hour, the viewer's zone, named as the server names it.
    await expect(page.get_by_role("heading", name="Ready to join?")).to_be_visible()
    await page.get_by_role("button", name="Join now").click()
    start = timefmt.clock_zoned(chat.starts_at, timefmt.zone(TZ))
    await expect(page.locator("#waiting-text")).to_contain_text(f"Your chat starts at {start}.")
    assert [p for p in tom.problems if "favicon" in p] == []


async def test_a_long_event_name_wraps_on_a_phone(browser: Browser, server: LiveServer) -> None:
    long_name = "Fairmeet" + "Supercalifragilistic" * 9  # 188 characters without a space: a name that can't break at a word

    async def rename(s: AsyncSession, ctx: actions.Context) -> None:
        event = await s.get(Event, server.event_id)
        assert event is not None
        event.name = long_name

    await server.run(rename)
    tom = await open_as(browser, server, TOM, **PHONE)
    page = tom.page
    await page.goto(f"/events/{server.event_id}/schedule")
    title = page.locator(".eventtitle a")
    await expect(title).to_have_text(long_name)
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390
    box = await title.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390 and box["height"] > 40  # several lines
    days = page.get_by_test_id("event-days")
    await expect(days).to_have_text("Mon 07 – Wed 09 Jan 2030 · Europe/Berlin")
    await expect(page.get_by_test_id("footer-zone")).to_contain_text("Times are shown in Europe/Berlin, 24-hour")
    await shot(page, "long_name_phone")


async def test_zone_picker_and_length_count_as_a_person_meets_them(browser: Browser, server: LiveServer) -> None:
    tom = await open_as(browser, server, TOM)
    page = tom.page
    await page.goto("/account")
    zone = page.get_by_label("Your time zone")
    assert await zone.get_attribute("list") == "account-tz-zones"
    options = await page.locator("#account-tz-zones option").evaluate_all("els => els.map(e => e.value)")
    assert "Asia/Tokyo" in options and "Factory" not in options and "localtime" not in options
    assert not [o for o in options if o.startswith(("Etc/", "posix", "right/", "SystemV/"))]
    await zone.fill("Factory")
    await page.get_by_role("button", name="Save", exact=True).click()
    await expect(page.locator(".flash.error")).to_contain_text("Time zone: 'Factory' is not one we know")
    await expect(page.get_by_label("Your time zone")).to_have_value("Factory")
    await page.get_by_label("Your time zone").fill("tokyo")
    await page.get_by_role("button", name="Save", exact=True).click()
    await expect(page.locator(".flash").first).to_have_text("Saved. Times now show in Asia/Tokyo.")
    await expect(page.get_by_test_id("footer-zone")).to_contain_text("Times are shown in Asia/Tokyo")
    # A headline over its limit: said as it is typed, and the form is held back instead of the text being cut.
    headline = page.locator('input[name="headline"]')
    await headline.fill("x" * 205)
    await expect(page.locator(".lengthnote.over")).to_have_text("205 characters: 5 over the limit of 200.")
    await shot(page, "account_over_limit_desktop")
    await page.get_by_role("button", name="Save", exact=True).click()
    assert await headline.evaluate("el => el.validity.customError") is True
    await expect(page.locator(".flash").first).to_have_text("Saved. Times now show in Asia/Tokyo.")  # not sent again
    # The one refusal (the 'Factory' form, answered 422 with the page again) is all that went wrong.
    assert [p for p in tom.problems if "422" not in p] == [] and len(tom.problems) == 2, tom.problems
