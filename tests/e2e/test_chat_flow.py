"""Fairmeet as people use it: real Chromium against a real server, through forms, buttons and what the pages say.

The server runs the demo event (see web/demo.py) with its clock frozen on Monday 07 January 2030,
06:00 UTC; every browser profile is in Europe/Berlin, so the first slot of the day is 09:00–09:20.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from playwright.async_api import BrowserContext, Locator, Page, expect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from scheduling import actions
from scheduling.models import ChatRequest
from tests.e2e.conftest import LiveServer, NewContext
from web import demo

pytestmark = pytest.mark.e2e

PASSWORD = demo.DEMO_PASSWORD
SHOTS = Path("/tmp/e2e-shots")
MONDAY = "Mon 07 Jan 2030"  # the slot picker's day heading and the reschedule list's group (timefmt.day)
TALENT_KOFI = "kofi@demo.fairmeet.test"
TALENT_TOM = "talent@demo.fairmeet.test"
MARCO = "marco@demo.fairmeet.test"
RITA = "recruiter@demo.fairmeet.test"


# --------------------------------------------------------------------------- helpers


async def open_as(new_context: NewContext, email: str, **options: object) -> Page:
    context: BrowserContext = await new_context(**options)
    page = await context.new_page()
    await sign_in(page, email)
    return page


async def sign_in(page: Page, email: str, password: str = PASSWORD) -> None:
    """Signs in through the form on /login, as a person does."""
    await page.goto("/login")
    await page.get_by_label("Email").first.fill(email)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("button", name="Sign out")).to_be_visible()


async def shot(page: Page, name: str) -> None:
    """A full-page screenshot for people to look at; Playwright makes the folder."""
    await page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def disclosure(page: Page, summary: str) -> Locator:
    """A <details> block by the exact text of its summary."""
    return page.locator("details").filter(has=page.locator("summary").get_by_text(summary, exact=True))


async def open_disclosure(page: Page, summary: str) -> Locator:
    block = disclosure(page, summary)
    await block.locator("summary").first.click()
    return block


def tab(page: Page, label: str) -> Locator:
    return page.get_by_role("navigation", name="Chat status").get_by_role("link", name=re.compile(rf"^{re.escape(label)}\b"))


def event_nav(page: Page, label: str) -> Locator:
    return page.get_by_role("navigation", name="Event").get_by_role("link", name=label, exact=True)


def card(page: Page, text: str) -> Locator:
    return page.get_by_role("listitem").filter(has_text=text)


async def chat_id(server: LiveServer, talent: str, recruiter: str) -> int:
    t, r = await server.user(talent), await server.user(recruiter)

    async def find(session: AsyncSession, ctx: actions.Context) -> int:
        stmt = select(ChatRequest.id).where(ChatRequest.talent_id == t.id, ChatRequest.recruiter_id == r.id).order_by(ChatRequest.id.desc())
        return int((await session.execute(stmt)).scalars().first() or 0)

    found: int = await server.run(find)
    assert found, (talent, recruiter)
    return found


def when(day: str, start: str, end: str) -> re.Pattern[str]:
    """How a chat's time reads, e.g. 'Mon 07 Jan 2030, 09:00–09:20 (Europe/Berlin)' (zone labels may vary)."""
    return re.compile(rf"^{day}, {start}\b.*–{end}\b.*\(Europe/Berlin\)")


async def no_horizontal_scroll(page: Page) -> None:
    width = await page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390, f"{page.url} is {width}px wide on a 390px phone"


# --------------------------------------------------------------------------- 1. the whole life of a 1-1 chat


async def test_talent_and_recruiter_go_through_a_whole_chat(demo_server: LiveServer, new_context: NewContext) -> None:
    talent = await open_as(new_context, TALENT_KOFI)
    # A talent in one event lands straight on its 1-1 chats.
    await expect(page_heading(talent)).to_have_text("1-1 chats")
    await expect(tab(talent, "Requests")).to_contain_text("0")

    await event_nav(talent, "Recruiters").click()
    await expect(page_heading(talent)).to_have_text("Recruiters")
    await expect(talent.get_by_test_id("requests-left")).to_have_text("5")
    await expect(card(talent, "Aisha Khan")).to_be_visible()
    await talent.get_by_label("Company").select_option(label="Northwind Robotics")
    await expect(talent).to_have_url(re.compile(r"company=\d+"))
    await expect(card(talent, "Aisha Khan")).to_have_count(0)
    await expect(card(talent, "Rita Recruiter")).to_be_visible()
    await shot(talent, "recruiters-filtered")

    await card(talent, "Marco Silva").get_by_role("link", name="Request").click()
    await expect(page_heading(talent)).to_have_text("Request a 1-1 chat with Marco Silva")
    message = "I built a line follower and want to work on warehouse robots."
    await talent.get_by_label("Your message").fill(message)
    answer = talent.get_by_label("Which robot would you build first?")
    # The browser itself refuses an empty answer...
    await talent.get_by_role("button", name="Send request").click()
    assert await answer.evaluate("el => el.validity.valueMissing")
    await expect(talent).to_have_url(re.compile(r"/request/\d+$"))
    # ...and the server refuses one that is only spaces, keeping what was typed.
    await answer.fill("   ")
    await talent.get_by_role("button", name="Send request").click()
    await expect(talent.get_by_role("alert")).to_have_text("This recruiter asks a question; answer it to send your request.")
    await expect(talent.get_by_label("Your message")).to_have_value(message)
    await shot(talent, "request-form-error")
    await answer.fill("A robot that sorts recycling.")
    await talent.get_by_role("button", name="Send request").click()
    await expect(talent.get_by_role("status")).to_contain_text("Request sent.")
    await expect(talent.get_by_test_id("status")).to_have_text("Waiting for feedback")
    await shot(talent, "chat-pending-talent")

    await event_nav(talent, "1-1 chats").click()
    await expect(tab(talent, "Requests")).to_have_attribute("aria-current", "page")
    await expect(tab(talent, "Requests")).to_contain_text("1")
    await expect(card(talent, "Marco Silva")).to_contain_text("Waiting for feedback")
    await expect(talent.get_by_test_id("requests-left")).to_have_text("4")
    await shot(talent, "chats-requests-talent")

    # The recruiter answers from a browser of their own.
    recruiter = await open_as(new_context, MARCO)
    await expect(tab(recruiter, "Requests")).to_contain_text("1")
    await card(recruiter, "Kofi Mensah").get_by_role("link", name="Answer").click()
    await expect(page_heading(recruiter)).to_have_text("Kofi Mensah")
    await expect(recruiter.get_by_text(message)).to_be_visible()
    await expect(recruiter.get_by_text("Which robot would you build first?")).to_be_visible()
    await expect(recruiter.get_by_text("A robot that sorts recycling.")).to_be_visible()
    await shot(recruiter, "chat-pending-recruiter")
    await recruiter.get_by_role("button", name="Accept").click()
    await expect(recruiter.get_by_role("status")).to_contain_text("Accepted.")
    await expect(recruiter.get_by_test_id("status")).to_have_text("In Scheduling")

    # The talent picks a time.
    await talent.reload()
    await tab(talent, "In Scheduling").click()
    await expect(tab(talent, "In Scheduling")).to_contain_text("1")
    await card(talent, "Marco Silva").get_by_role("link", name="Pick a time").click()
    await expect(talent.get_by_role("heading", name="Pick a time")).to_be_visible()
    await shot(talent, "chat-slot-picker")
    await talent.get_by_role("group", name=MONDAY).get_by_text("09:00–09:20").click()
    await talent.get_by_role("button", name="Confirm 1-1 Chat").click()
    await expect(talent.get_by_role("status")).to_contain_text("Your 1-1 chat is confirmed.")
    await expect(talent.get_by_test_id("status")).to_have_text("Confirmed")
    first_time = when("Mon 07 Jan 2030", "09:00", "09:20")
    await expect(talent.get_by_test_id("when")).to_have_text(first_time)
    await shot(talent, "chat-confirmed-talent")

    await recruiter.reload()
    await expect(recruiter.get_by_test_id("status")).to_have_text("Confirmed")
    await expect(recruiter.get_by_test_id("when")).to_have_text(first_time)
    for page, other in ((talent, "Marco Silva"), (recruiter, "Kofi Mensah")):
        await event_nav(page, "Schedule").click()
        await expect(page.get_by_role("heading", name="Mon 07 Jan 2030")).to_be_visible()
        await expect(card(page, other)).to_contain_text("09:00–09:20")
        await expect(card(page, other)).to_contain_text("Confirmed")
    await shot(talent, "schedule-talent")

    # The calendar invite downloads as an iCalendar REQUEST.
    await card(talent, "Marco Silva").get_by_role("link", name="Open", exact=True).click()
    invite_link = talent.get_by_role("link", name="Add to calendar (.ics)")
    async with talent.expect_download() as download_info:
        await invite_link.click()
    download = await download_info.value
    ics = await asyncio.to_thread(Path(await download.path()).read_text)
    assert "METHOD:REQUEST" in ics and "BEGIN:VEVENT" in ics
    href = await invite_link.get_attribute("href")
    assert href is not None
    response = await talent.context.request.get(href)
    assert response.status == 200
    assert response.headers["content-type"].startswith("text/calendar")
    assert "METHOD:REQUEST" in await response.text()

    # The recruiter moves it to 10:00 and says why.
    await expect(page_heading(recruiter)).to_have_text("My schedule")
    await card(recruiter, "Kofi Mensah").get_by_role("link", name="Open", exact=True).click()
    move = await open_disclosure(recruiter, "Reschedule")
    await move.get_by_label("Reason").fill("A team meeting moved into my 09:00.")
    new_time_select = move.get_by_label("New time")
    new_start = await new_time_select.locator(f'optgroup[label="{MONDAY}"] option').filter(has_text="10:00–10:20").get_attribute("value")
    assert new_start
    await new_time_select.select_option(new_start)
    await shot(recruiter, "chat-reschedule-form")
    await move.get_by_role("button", name="Reschedule").click()
    await expect(recruiter.get_by_role("status")).to_contain_text("Moved to the new time")
    new_time = when("Mon 07 Jan 2030", "10:00", "10:20")
    await expect(recruiter.get_by_test_id("when")).to_have_text(new_time)

    await talent.reload()
    await expect(talent.get_by_test_id("status")).to_have_text("Confirmed")
    await expect(talent.get_by_test_id("when")).to_have_text(new_time)
    await expect(talent.get_by_role("listitem").filter(has_text="A team meeting moved into my 09:00.")).to_be_visible()

    # The talent calls it off.
    stop = await open_disclosure(talent, "Cancel")
    await stop.get_by_label("Reason").fill("I accepted an offer elsewhere.")
    await stop.get_by_role("button", name="Cancel chat").click()
    await expect(talent.get_by_role("status")).to_contain_text("Cancelled.")
    await expect(talent.get_by_test_id("status")).to_have_text("Cancelled")
    await shot(talent, "chat-cancelled-talent")
    await talent.get_by_role("link", name="All 1-1 chats").click()
    await expect(tab(talent, "Withdrawn")).to_have_attribute("aria-current", "page")
    await expect(card(talent, "Marco Silva")).to_contain_text("Cancelled by you")
    await shot(talent, "chats-declined-talent")

    # The recruiter's mailbox has the cancellation, with the reason.
    await recruiter.get_by_role("link", name="Mailbox").click()
    await expect(page_heading(recruiter)).to_have_text("Mailbox")
    mail = recruiter.locator("details").filter(has=recruiter.locator("summary", has_text="Cancelled: 1-1 chat with Kofi Mensah"))
    await expect(mail).to_have_count(1)
    await mail.locator("summary").first.click()
    await expect(mail).to_contain_text("Reason: I accepted an offer elsewhere.")
    await shot(recruiter, "mailbox-recruiter")


def page_heading(page: Page) -> Locator:
    return page.get_by_role("heading", level=1)


# --------------------------------------------------------------------------- 2. two talents, one slot


async def test_two_talents_racing_for_one_slot_one_wins_and_the_other_picks_again(demo_server: LiveServer, new_context: NewContext) -> None:
    rita = await demo_server.user(RITA)
    chats = {email: await chat_id(demo_server, email, RITA) for email in ("nora@demo.fairmeet.test", "ravi@demo.fairmeet.test")}

    async def accept_both(session: AsyncSession, ctx: actions.Context) -> None:
        for chat in chats.values():
            await actions.accept(session, ctx, rita, chat)

    await demo_server.run(accept_both)

    pages = {}
    for email, chat in chats.items():
        page = await open_as(new_context, email)
        await page.goto(f"/chats/{chat}")
        await page.get_by_role("group", name=MONDAY).get_by_text("09:00–09:20").click()
        pages[email] = page

    async def confirm(page: Page) -> None:
        await page.get_by_role("button", name="Confirm 1-1 Chat").click()
        await page.wait_for_load_state()

    await asyncio.gather(*(confirm(p) for p in pages.values()))

    outcomes = {}
    for email, page in pages.items():
        await expect(page.get_by_role("status").or_(page.get_by_role("alert"))).to_be_visible()
        outcomes[email] = await page.get_by_test_id("status").inner_text()
    assert sorted(outcomes.values()) == ["Confirmed", "In Scheduling"], outcomes
    winner = next(p for e, p in pages.items() if outcomes[e] == "Confirmed")
    loser = next(p for e, p in pages.items() if outcomes[e] != "Confirmed")

    await expect(winner.get_by_test_id("when")).to_have_text(when("Mon 07 Jan 2030", "09:00", "09:20"))
    await expect(loser.get_by_role("alert")).to_have_text("That slot was just taken; please pick another.")
    monday = loser.get_by_role("group", name=MONDAY)
    await expect(monday.get_by_text("09:00–09:20")).to_have_count(0)
    await shot(loser, "chat-slot-taken")
    await monday.get_by_text("09:30–09:50").click()
    await loser.get_by_role("button", name="Confirm 1-1 Chat").click()
    await expect(loser.get_by_test_id("status")).to_have_text("Confirmed")
    await expect(loser.get_by_test_id("when")).to_have_text(when("Mon 07 Jan 2030", "09:30", "09:50"))


# --------------------------------------------------------------------------- 3. strangers and forged forms


async def test_strangers_get_not_found_and_forms_without_csrf_are_refused(demo_server: LiveServer, new_context: NewContext) -> None:
    toms_confirmed = await chat_id(demo_server, TALENT_TOM, "aisha@demo.fairmeet.test")
    toms_accepted = await chat_id(demo_server, TALENT_TOM, MARCO)

    stranger = await open_as(new_context, TALENT_KOFI)
    response = await stranger.goto(f"/chats/{toms_confirmed}")
    assert response is not None and response.status == 404
    await expect(page_heading(stranger)).to_have_text("Not found")
    await expect(stranger.get_by_text("No such chat request.")).to_be_visible()
    await expect(stranger.get_by_text("Aisha Khan")).to_have_count(0)
    await shot(stranger, "chat-not-found")
    response = await stranger.goto(f"/chats/{toms_confirmed}/invite.ics")
    assert response is not None and response.status == 404

    # Tom's own form, with its CSRF token stripped out (as a forged cross-site form would be), is refused.
    tom = await open_as(new_context, TALENT_TOM)
    await tom.goto(f"/chats/{toms_accepted}")
    await expect(tom.get_by_test_id("status")).to_have_text("In Scheduling")
    stop = await open_disclosure(tom, "Cancel this chat")
    await stop.locator("input[name=csrf]").evaluate("el => el.remove()")
    await stop.get_by_label("Reason").fill("forged")
    async with tom.expect_response(lambda r: r.request.method == "POST") as refused:
        await stop.get_by_role("button", name="Cancel chat").click()
    assert (await refused.value).status == 403
    await expect(page_heading(tom)).to_have_text("Not allowed")
    await expect(tom.get_by_text("Your form expired or came from another site.")).to_be_visible()
    await shot(tom, "csrf-refused")
    # A bare POST with the session cookie but no token is refused too, and nothing changed.
    bare = await tom.context.request.post(f"/chats/{toms_accepted}/cancel", form={"reason": "forged"}, max_redirects=0)
    assert bare.status == 403
    await tom.goto(f"/chats/{toms_accepted}")
    await expect(tom.get_by_test_id("status")).to_have_text("In Scheduling")


# --------------------------------------------------------------------------- 4. organizer adds people; invitation by email


async def test_organizer_adds_a_recruiter_who_signs_in_from_the_invitation(demo_server: LiveServer, new_context: NewContext) -> None:
    organizer = await open_as(new_context, demo.ORGANIZER)
    await event_nav(organizer, "Manage").click()
    await expect(page_heading(organizer)).to_have_text("Manage Fairmeet Demo Hiring Days")

    company = await open_disclosure(organizer, "Add a company")
    await company.get_by_label("Name").fill("Quartz Labs")
    await company.get_by_label("Website").fill("https://quartz.example")
    await company.get_by_role("button", name="Add company").click()
    await expect(organizer.get_by_role("status")).to_have_text("Company Quartz Labs added.")

    person = await open_disclosure(organizer, "Add a person")
    await person.get_by_label("Name").fill("Quinn Quartz")
    await person.get_by_label("Email", exact=True).fill("quinn@quartz.example")
    await person.get_by_label("Role").select_option(label="Recruiter")
    await person.get_by_label("Company").select_option(label="Quartz Labs")
    await shot(organizer, "manage-add-person")
    await person.get_by_role("button", name="Add person").click()
    await expect(organizer.get_by_role("status")).to_have_text("Added. They got an email with a sign-in link.")
    row = organizer.get_by_role("row").filter(has_text="Quinn Quartz")
    await expect(row).to_contain_text("recruiter")
    await expect(row).to_contain_text("Quartz Labs")
    await shot(organizer, "manage")

    admin = await open_as(new_context, demo.ADMIN)
    await admin.get_by_role("link", name="Mailbox").click()
    invitation = (
        admin.locator("details")
        .filter(has=admin.locator("summary", has_text="You're invited to Fairmeet Demo Hiring Days"))
        .filter(has_text="quinn@quartz.example")
    )
    await expect(invitation).to_have_count(1)
    await invitation.locator("summary").first.click()
    await expect(invitation).to_contain_text("Hello Quinn Quartz")
    await shot(admin, "mailbox-admin")
    link = await invitation.get_by_role("link", name=re.compile(r"login\/link")).get_attribute("href")
    assert link and link.startswith(demo_server.base_url + "/login/link/")

    quinn_context = await new_context()
    quinn = await quinn_context.new_page()
    await quinn.goto(link)
    # Opening the link only shows a button, so a mail scanner can't spend it.
    await expect(quinn.get_by_role("heading", name="Welcome to Fairmeet")).to_be_visible()
    await expect(quinn.get_by_role("button", name="Sign out")).to_have_count(0)
    await shot(quinn, "sign-in-link")
    await quinn.get_by_role("button", name="Continue").click()
    await expect(quinn.get_by_role("button", name="Sign out")).to_be_visible()
    await expect(quinn).to_have_url(f"{demo_server.base_url}/events/{demo_server.event_id}")
    await expect(quinn.get_by_role("link", name="Quinn Quartz")).to_be_visible()
    await expect(event_nav(quinn, "Availability")).to_be_visible()
    # The link works once.
    await quinn.context.clear_cookies()
    await quinn.goto(link)  # a spent link says so at once and offers a new one (no Continue to press)
    await expect(quinn.get_by_text("This sign-in link has expired or was already used.")).to_be_visible()
    await expect(quinn.get_by_role("button", name="Email me a new link")).to_be_visible()


# --------------------------------------------------------------------------- 5. phones


async def test_talent_pages_fit_a_phone_screen(demo_server: LiveServer, new_context: NewContext) -> None:
    phone = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}
    tom = await open_as(new_context, TALENT_TOM, **phone)
    pages = {
        "phone-chats": f"/events/{demo_server.event_id}",
        "phone-recruiters": f"/events/{demo_server.event_id}/recruiters",
        "phone-chat-slot-picker": f"/chats/{await chat_id(demo_server, TALENT_TOM, MARCO)}",
        "phone-chat-confirmed": f"/chats/{await chat_id(demo_server, TALENT_TOM, 'aisha@demo.fairmeet.test')}",
        "phone-schedule": f"/events/{demo_server.event_id}/schedule",
    }
    for name, path in pages.items():
        response = await tom.goto(path)
        assert response is not None and response.status == 200, path
        await no_horizontal_scroll(tom)
        await shot(tom, name)
    # Open every disclosure on the confirmed chat: the forms inside must fit too.
    await tom.goto(pages["phone-chat-confirmed"])
    for summary in await tom.locator("summary").all():
        await summary.click()
    await no_horizontal_scroll(tom)
    await shot(tom, "phone-chat-confirmed-open")
