"""Booth and support chats at the live demo event, in real Chromium on both sides.

A talent finds the open booths on the recruiter list, starts a chat at a company's booth with one click (no form: they are
signed in), waits, is taken by a recruiter of that company in the Chats console, writes both ways, reloads and drops the
connection without losing a line, and sees the recruiter end the chat. A booth nobody staffs takes a note instead. In the
video room of Tom's confirmed 1-1 chat, "Need help?" opens the event's support chat in a drawer beside the call, and the
demo organizer answers it from her console; replies that arrive while the drawer is closed show as a count on the button.

The frozen clock (2030-01-07 06:00 UTC, 07:00 in Berlin) lies inside the demo event's live window: it started at
00:00 Berlin that day and runs three days; booths open an hour before the start. The room test moves its server's clock
into Tom's chat, which is also inside the event.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, FrameLocator, Locator, Page, expect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from scheduling import actions
from scheduling.livechat.models import LiveChat
from scheduling.models import ChatRequest, Company, Event
from tests.e2e.conftest import NOW, TZ, LiveServer, NewContext
from tests.e2e.test_chat_flow import RITA, sign_in
from tests.e2e.test_room import RoomServer, join, open_room, room_server  # noqa: F401 -- room_server is a fixture
from web import demo

pytestmark = pytest.mark.e2e

SHOTS = Path("/tmp/e2e-shots")
TOM = "talent@demo.fairmeet.test"
PHONE: dict[str, Any] = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}
DESKTOP: dict[str, Any] = {"viewport": {"width": 1366, "height": 860}}


# --------------------------------------------------------------------------- helpers


async def open_as(new_context: NewContext, email: str, **options: Any) -> Page:
    page = await (await new_context(**options)).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.js_errors = errors  # type: ignore[attr-defined]
    await sign_in(page, email)
    return page


def no_js_errors(page: Page) -> None:
    errors: list[str] = page.js_errors  # type: ignore[attr-defined]
    assert not errors, errors


async def shot(page: Page, name: str, *, full: bool = False) -> None:
    await page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full)


async def no_horizontal_scroll(page: Page, width: int = 390) -> None:
    scroll = await page.evaluate("() => document.documentElement.scrollWidth")
    assert scroll <= width, f"{page.url} is {scroll}px wide on a {width}px phone"


async def company_id(server: LiveServer, name: str) -> int:
    async def run(session: AsyncSession, ctx: actions.Context) -> int:
        return int((await session.execute(select(Company.id).where(Company.name == name))).scalar_one())

    found: int = await server.run(run)
    return found


async def live_chats(server: LiveServer) -> list[tuple[str, str, str]]:
    async def run(session: AsyncSession, ctx: actions.Context) -> list[tuple[str, str, str]]:
        rows = await session.execute(select(LiveChat.kind, LiveChat.status, LiveChat.candidate_email).order_by(LiveChat.id))
        return [(k, s, e) for k, s, e in rows.all()]

    found: list[tuple[str, str, str]] = await server.run(run)
    return found


def panel(page: Page | FrameLocator) -> Locator:
    return page.locator("#lc")


async def go_available(page: Page) -> None:
    """Opens the Chats console and switches the seat to available, as staff do."""
    await page.goto("/live/console")
    seat = page.locator("#seat")
    if not await seat.evaluate("el => el.open"):
        await seat.locator("summary").click()
    await page.get_by_role("switch", name="Available for chats").check()
    await expect(page.locator("#seat-summary")).to_contain_text("Available")


def transcript(page: Page) -> Locator:
    """The console's open transcript."""
    return page.locator("#transcripts ol.transcript:not([hidden])")


# --------------------------------------------------------------------------- 1. a booth, from the recruiter list to the end


async def test_a_talent_chats_with_a_booth_and_the_recruiter_ends_it(demo_server: LiveServer, new_context: NewContext) -> None:
    northwind = await company_id(demo_server, "Northwind Robotics")
    rita = await open_as(new_context, RITA, **DESKTOP)
    await go_available(rita)  # Rita recruits for Northwind Robotics: its booth queue is hers

    tom = await open_as(new_context, TOM, **DESKTOP)
    await tom.goto(f"/events/{demo_server.event_id}/recruiters")
    booths = tom.get_by_role("region", name="Booths open now")
    await expect(booths.get_by_role("link", name="Chat with Northwind Robotics now", exact=True)).to_have_count(1)
    for name in ("Bluefin Health", "Cobalt Energy"):  # nobody of theirs at the console: a message, not a chat now
        await expect(booths.get_by_role("link", name=f"Chat with {name} now", exact=True)).to_have_count(0)
        await expect(booths.get_by_role("link", name=f"Leave {name} a message", exact=True)).to_have_count(1)
    await shot(tom, "booth-list-desktop")
    await booths.get_by_role("link", name="Chat with Northwind Robotics now").click()
    await expect(tom).to_have_url(demo_server.url(f"/events/{demo_server.event_id}/booths/{northwind}"))
    await expect(tom.get_by_role("heading", level=1)).to_have_text("Northwind Robotics")
    await expect(tom.get_by_text("Warehouse robots that work next to people.")).to_be_visible()
    await expect(tom.get_by_role("link", name="https://northwind.example")).to_have_attribute("target", "_blank")
    chat = panel(tom)
    await expect(chat.get_by_role("heading", name="Chat with Northwind Robotics")).to_be_visible()
    await expect(chat.get_by_text("Questions for Northwind Robotics? Start a chat")).to_be_visible()
    assert await chat.locator("input, textarea").count() == 0  # signed in: nothing to fill in first
    await shot(tom, "booth-before-start-desktop")

    # One click: in line, with the position; the recruiter's console shows Tom in the booth's queue.
    start = chat.get_by_role("button", name="Start chat")
    await start.focus()
    await start.press("Enter")
    status = chat.get_by_role("status").filter(has_text="in line")
    await expect(status).to_have_text(re.compile(r"^You're next in line\. Estimated wait: .+\.$"))
    await expect(chat.get_by_text("You're in line; someone will be with you shortly.")).to_be_visible()
    await expect(chat.get_by_label("Message", exact=True)).to_be_focused()
    assert await chat.get_by_role("button", name=re.compile("Share your résumé")).count() == 1  # booths may get a CV
    await expect(rita.get_by_role("list", name="Waiting for Northwind Robotics booth")).to_contain_text("Tom Talent")
    assert await live_chats(demo_server) == [("booth", "waiting", TOM)]

    # Written while waiting, then taken: Rita sees it; Tom sees who joined.
    box = chat.get_by_label("Message", exact=True)
    await box.fill("Hi! Do you hire backend people for the robot fleet?")
    await box.press("Enter")
    await expect(chat.locator(".lc-me").filter(has_text="robot fleet")).not_to_have_class(re.compile("lc-pending"))
    await rita.get_by_role("button", name="Take Tom Talent").click()
    await expect(transcript(rita)).to_contain_text("Hi! Do you hire backend people for the robot fleet?")
    await expect(chat.get_by_role("heading", name="Rita Recruiter")).to_be_visible()
    await expect(chat.locator("#lc-sub")).to_have_text("Recruiter · Northwind Robotics")
    await expect(chat.get_by_text("Rita Recruiter joined the chat")).to_be_visible()
    await expect(status).to_be_hidden()

    # Lines both ways, typing too; a recruiter's markup stays text.
    composer = rita.get_by_label("Message", exact=True)
    await composer.fill("We do! <b>Python</b> and ROS.")
    await expect(chat.get_by_text("Rita Recruiter is typing…")).to_be_visible()
    await composer.press("Enter")
    await expect(chat.get_by_text("We do! <b>Python</b> and ROS.")).to_be_visible()
    box = chat.get_by_label("Message", exact=True)
    await box.fill("Great, I have 3 years of Python.")
    await box.press("Enter")
    await expect(transcript(rita)).to_contain_text("Great, I have 3 years of Python.")
    await shot(tom, "booth-active-desktop")

    # The connection drops: a line typed meanwhile goes after the reconnect, once; what Rita wrote meanwhile arrives.
    await tom.evaluate("window.fairmeetChat.ws.close()")
    await box.fill("Sent while reconnecting")
    await box.press("Enter")
    await composer.fill("Written while you were away")
    await composer.press("Enter")
    await expect(chat.get_by_text("Written while you were away")).to_be_visible()
    await expect(chat.locator(".lc-me").filter(has_text="Sent while reconnecting")).not_to_have_class(re.compile("lc-pending"))
    await expect(transcript(rita).get_by_text("Sent while reconnecting")).to_have_count(1)

    # A reload resumes the same chat, history and all, without starting another.
    await tom.reload()
    chat = panel(tom)
    await expect(chat.get_by_role("heading", name="Rita Recruiter")).to_be_visible()
    await expect(chat.get_by_text("We do! <b>Python</b> and ROS.")).to_have_count(1)
    await expect(chat.locator(".lc-me").filter(has_text="Great, I have 3 years of Python.")).to_have_count(1)
    await expect(chat.get_by_role("button", name="Start chat")).to_have_count(0)
    assert await live_chats(demo_server) == [("booth", "active", TOM)]

    # The phone layout: the page stacks, nothing scrolls sideways.
    await tom.set_viewport_size({"width": 390, "height": 844})
    await chat.get_by_label("Message", exact=True).scroll_into_view_if_needed()
    await shot(tom, "booth-active-390")
    await no_horizontal_scroll(tom)
    await tom.set_viewport_size({"width": 1366, "height": 860})

    # Rita ends it with a next step: Tom sees the end, and may start again.
    await rita.get_by_role("button", name="End chat").click()
    dialog = rita.get_by_role("dialog")
    await dialog.get_by_label("Next step").select_option(index=1)
    await dialog.get_by_role("button", name="Finished").click()
    await expect(dialog).to_be_hidden()
    await expect(chat.get_by_text("Rita Recruiter has left the chat")).to_be_visible()
    await expect(chat.get_by_text("This chat has ended. Thanks for talking with us!")).to_be_visible()
    await expect(chat.get_by_label("Message", exact=True)).to_have_count(0)
    await expect(chat.get_by_role("link", name="Apply for this job")).to_have_count(0)  # a booth has no job to apply to
    await shot(tom, "booth-ended-desktop")
    await chat.get_by_role("button", name="Start a new chat").click()
    await expect(chat.get_by_role("heading", name="Chat with Northwind Robotics")).to_be_visible()
    await expect(chat.get_by_text("We do! <b>Python</b> and ROS.")).to_have_count(0)
    await expect(chat.get_by_role("status").filter(has_text="in line")).to_be_visible()
    await expect(rita.get_by_role("list", name="Waiting for Northwind Robotics booth")).to_contain_text("Tom Talent")
    assert [s for _, s, _ in await live_chats(demo_server)] == ["ended", "waiting"]
    no_js_errors(tom)
    no_js_errors(rita)


async def test_nobody_at_the_booth_leaves_a_note_answered_by_email(demo_server: LiveServer, new_context: NewContext) -> None:
    bluefin = await company_id(demo_server, "Bluefin Health")
    tom = await open_as(new_context, TOM, **PHONE)
    await tom.goto(f"/events/{demo_server.event_id}/recruiters")
    await shot(tom, "booth-list-390")
    await no_horizontal_scroll(tom)
    await tom.get_by_role("link", name="Leave Bluefin Health a message").click()
    await expect(tom).to_have_url(demo_server.url(f"/events/{demo_server.event_id}/booths/{bluefin}"))
    await expect(tom.get_by_text("Nobody is at the booth right now. Leave a message")).to_be_visible()
    chat = panel(tom)
    await shot(tom, "booth-before-start-390", full=True)
    await no_horizontal_scroll(tom)
    await chat.get_by_role("button", name="Leave a message").click()  # nobody at the booth: the page said so before
    await expect(chat.get_by_text("Nobody can chat right now. Leave a note and we'll answer by email.")).to_be_visible()
    note = chat.get_by_label("Leave a note for the recruiters")
    await expect(chat.get_by_text(f"We'll answer by email to {TOM}.")).to_be_visible()
    await note.fill("Do you sponsor visas for data people?")
    await shot(tom, "booth-away-390")
    await chat.get_by_role("button", name="Send note").click()
    await expect(chat.get_by_role("status").filter(has_text="Your note is with the recruiters.")).to_be_visible()
    await expect(chat.locator(".lc-note").filter(has_text="Do you sponsor visas for data people?")).to_be_visible()
    assert await live_chats(demo_server) == [("booth", "note", TOM)]
    await no_horizontal_scroll(tom)
    no_js_errors(tom)


async def test_booths_are_for_talents(demo_server: LiveServer, new_context: NewContext) -> None:
    northwind = await company_id(demo_server, "Northwind Robotics")
    rita = await open_as(new_context, RITA)
    await rita.goto(f"/events/{demo_server.event_id}/recruiters")
    await expect(rita.get_by_role("heading", name="Recruiters", level=1)).to_be_visible()
    await expect(rita.get_by_role("region", name="Booths open now")).to_have_count(0)
    await expect(rita.get_by_role("region", name="Booth chat")).to_have_count(0)
    response = await rita.goto(f"/events/{demo_server.event_id}/booths/{northwind}")
    assert response is not None and response.status == 403
    await expect(rita.get_by_text("Booth chats are for the event's talents.")).to_be_visible()


async def test_a_recruiter_asks_support_from_the_events_help_page(demo_server: LiveServer, new_context: NewContext) -> None:
    olga = await open_as(new_context, demo.ORGANIZER, **DESKTOP)
    await go_available(olga)
    rita = await open_as(new_context, RITA, **PHONE)
    await rita.goto(f"/events/{demo_server.event_id}/schedule")
    await rita.get_by_role("navigation", name="Event").get_by_role("link", name="Help").click()
    await expect(rita.get_by_role("heading", name="Help", level=1)).to_be_visible()
    await expect(rita.get_by_role("link", name="support@demo.fairmeet.test")).to_be_visible()  # email, as before
    chat = panel(rita)
    await expect(chat.get_by_role("heading", name="Event support")).to_be_visible()
    await shot(rita, "support-page-390", full=True)
    await no_horizontal_scroll(rita)
    await chat.get_by_role("button", name="Start chat").click()
    await expect(chat.get_by_role("status").filter(has_text="in line")).to_contain_text("You're next in line.")
    await olga.get_by_role("button", name="Take Rita Recruiter").click()
    await expect(chat.get_by_role("heading", name="Olga Organizer")).to_be_visible()
    await chat.get_by_label("Message", exact=True).fill("Can I change my availability during the event?")
    await chat.get_by_label("Message", exact=True).press("Enter")
    await expect(transcript(olga)).to_contain_text("Can I change my availability during the event?")
    await rita.get_by_role("button", name="End chat").click()
    await rita.get_by_role("button", name="Yes, end it").click()
    await expect(chat.get_by_text("This chat has ended. Thanks for talking with us!")).to_be_visible()
    await expect(chat.get_by_text("You ended the chat")).to_be_visible()
    await shot(rita, "support-ended-390")
    await no_horizontal_scroll(rita)
    await rita.set_viewport_size({"width": 1366, "height": 860})
    await shot(rita, "support-ended-desktop")
    no_js_errors(rita)

    # The organizer answers support; her own Help page says so instead of queueing her to herself.
    await olga.goto(f"/events/{demo_server.event_id}/support")
    await expect(olga.get_by_text("You answer the support chats of Fairmeet Demo Hiring Days yourself")).to_be_visible()
    await expect(panel(olga)).to_have_count(0)


# --------------------------------------------------------------------------- 2. Need help? in the video room


@pytest.fixture
async def people(browser: Browser, room_server: RoomServer) -> AsyncIterator[Any]:  # noqa: F811 -- room_server is imported
    made: list[BrowserContext] = []

    async def open_in_room(email: str, **options: Any) -> Page:
        settings: dict[str, Any] = {"base_url": room_server.base_url, "timezone_id": TZ, "locale": "en-GB"}
        settings.update(options)
        context = await browser.new_context(**settings)
        context.set_default_timeout(15_000)
        made.append(context)
        page = await context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda err: errors.append(str(err)))
        page.js_errors = errors  # type: ignore[attr-defined]
        await sign_in(page, email)
        return page

    yield open_in_room
    for context in made:
        await context.close()


@pytest.fixture
async def toms_chat(room_server: RoomServer) -> ChatRequest:  # noqa: F811 -- room_server is imported
    """The demo's confirmed chat of Tom Talent (with Aisha Khan); the server's clock two minutes into it."""

    async def find(session: AsyncSession, ctx: actions.Context) -> tuple[ChatRequest, Event]:
        chat = (await session.execute(select(ChatRequest).where(ChatRequest.status == "confirmed"))).scalars().one()
        event = await actions.get_event(session, chat.event_id)
        return chat, event

    found: tuple[ChatRequest, Event] = await room_server.run(find)
    chat, event = found
    assert chat.starts_at is not None and event.starts_at - dt.timedelta(hours=1) <= NOW < event.ends_at
    room_server.clock.now = chat.starts_at + dt.timedelta(minutes=2)
    assert room_server.clock.now < event.ends_at  # still inside the event: its support chat is open
    return chat


def drawer(page: Page) -> Locator:
    return page.get_by_role("dialog", name="Need help?")


def support(page: Page) -> FrameLocator:
    return page.frame_locator("iframe[title='Support chat with the organizers']")


async def test_need_help_in_the_video_room_reaches_the_organizers(
    room_server: RoomServer, toms_chat: ChatRequest, people: Any  # noqa: F811 -- room_server is imported
) -> None:
    olga: Page = await people(demo.ORGANIZER, **DESKTOP)
    await go_available(olga)  # the organizer answers the event's support queue
    tom: Page = await people(TOM, **DESKTOP)
    await open_room(tom, toms_chat.id)
    await join(tom)
    await expect(tom.locator("#waiting-text")).to_have_text("Waiting for Aisha Khan to join…")

    help_button = tom.get_by_role("button", name="Need help?")
    await expect(help_button).to_have_attribute("aria-expanded", "false")
    await help_button.click()
    box = drawer(tom)
    await expect(box).to_be_visible()
    await expect(help_button).to_have_attribute("aria-expanded", "true")
    await expect(box.get_by_role("link", name="support@demo.fairmeet.test")).to_have_attribute("href", re.compile(r"^mailto:support@demo"))
    chat = support(tom)
    start = chat.get_by_role("button", name="Start chat")
    await expect(start).to_be_focused()  # keyboard: the drawer's first control, inside the panel
    await expect(chat.get_by_role("heading", name="Event support")).to_be_visible()
    await start.press("Enter")
    await expect(chat.get_by_role("status").filter(has_text="in line")).to_contain_text("You're next in line.")
    assert await chat.get_by_role("button", name=re.compile("Share your résumé")).count() == 0  # support needs no CV
    # The call goes on beside the drawer: its controls stay usable.
    await expect(tom.get_by_role("button", name="Mute")).to_be_visible()

    await expect(olga.get_by_role("list", name="Waiting for Event support")).to_contain_text("Tom Talent")
    await olga.get_by_role("button", name="Take Tom Talent").click()
    await expect(chat.get_by_role("heading", name="Olga Organizer")).to_be_visible()
    await expect(chat.locator("#lc-sub")).to_have_text("Organizer · Fairmeet Demo Hiring Days")
    # The organizer sees where the question comes from: the room's page.
    await expect(olga.locator("#detail-pane")).to_contain_text(f"/chats/{toms_chat.id}/room")

    composer = olga.get_by_label("Message", exact=True)
    await composer.fill("Hi Tom, Olga here. How can I help?")
    await composer.press("Enter")
    await expect(chat.get_by_text("Hi Tom, Olga here. How can I help?")).to_be_visible()
    line = chat.get_by_label("Message", exact=True)
    await line.fill("Aisha hasn't joined yet. Is she on her way?")
    await line.press("Enter")
    await expect(transcript(olga)).to_contain_text("Aisha hasn't joined yet. Is she on her way?")
    await shot(tom, "room-help-desktop")

    # Escape inside the panel closes the drawer, focus goes back to the button; a reply then shows as a count.
    await line.press("Escape")
    await expect(box).to_be_hidden()
    await expect(help_button).to_be_focused()
    await expect(help_button).to_have_attribute("aria-expanded", "false")
    await composer.fill("I'll call her now.")
    await composer.press("Enter")
    await expect(tom.get_by_role("button", name="Need help? 1 new message")).to_be_visible()
    await expect(tom.locator("#help-unread")).to_have_text("1")
    await shot(tom, "room-help-unread-desktop")
    await help_button.press("Enter")
    await expect(box).to_be_visible()
    await expect(chat.get_by_text("I'll call her now.")).to_be_visible()
    await expect(tom.locator("#help-unread")).to_be_hidden()
    await box.get_by_role("button", name="Close").click()
    await expect(box).to_be_hidden()

    # A reload of the room (back on its check screen) keeps the support chat: replies still count on the button.
    await tom.reload()
    await expect(tom.get_by_role("heading", name="Ready to join?")).to_be_visible()
    await composer.fill("Aisha is on her way.")
    await composer.press("Enter")
    await expect(tom.get_by_role("button", name="Need help? 1 new message")).to_be_visible()
    await help_button.click()
    await expect(chat.get_by_text("Aisha is on her way.")).to_be_visible()
    await expect(chat.get_by_text("Hi Tom, Olga here. How can I help?")).to_have_count(1)
    await expect(chat.get_by_role("button", name="Start chat")).to_have_count(0)
    await box.get_by_role("button", name="Close").click()
    await join(tom)

    # On a phone: the drawer covers the screen, closes with its button, and nothing scrolls sideways.
    await tom.set_viewport_size({"width": 390, "height": 844})
    await help_button.click()
    await expect(box).to_be_visible()
    await expect(chat.get_by_text("Aisha is on her way.")).to_be_visible()
    size = await box.bounding_box()
    assert size is not None and size["width"] == 390
    await no_horizontal_scroll(tom)
    await shot(tom, "room-help-390")
    await box.get_by_role("button", name="Close").click()
    await expect(box).to_be_hidden()
    await no_horizontal_scroll(tom)
    await shot(tom, "room-help-closed-390")
    no_js_errors(tom)
    no_js_errors(olga)
