"""After a 1-1 chat, in real Chromium: the recruiter records the outcome, the talent never sees it, the room's messages
are on the chat page for both; on a phone the slot picker goes day by day, and withdrawing a request asks first and
can be undone.

The server runs the demo event (web/demo.py) with a clock the test moves: to five minutes after the start of Tom's
confirmed chat with Aisha, so that chat has taken place.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from scheduling import actions, conversations
from scheduling.models import ChatOutcome, ChatRequest
from scheduling.rooms import room_key
from tests.e2e.a11y_axe import run_axe
from tests.e2e.conftest import NOW, TZ, LiveServer
from tests.e2e.test_chat_flow import PASSWORD, chat_id, no_horizontal_scroll, page_heading, shot
from tests.live import serve
from web.settings import Settings

pytestmark = pytest.mark.e2e

TOM = "talent@demo.fairmeet.test"
AISHA = "aisha@demo.fairmeet.test"
MARCO = "marco@demo.fairmeet.test"
JONAS = "jonas@demo.fairmeet.test"
ORGANIZER = "organizer@demo.fairmeet.test"
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}


class Clock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def server(demo_template: tuple[Path, int], tmp_path: Path, clock: Clock) -> Iterator[LiveServer]:
    """The demo event on a fresh database, served with the test's movable clock."""
    template, event_id = demo_template
    path = tmp_path / "e2e.db"
    shutil.copy(template, path)
    database_url = f"sqlite+aiosqlite:///{path}"
    with serve(lambda base_url: Settings(database_url=database_url, secret_key="e2e-secret-key", base_url=base_url), clock) as base_url:
        yield LiveServer(base_url=base_url, database_url=database_url, event_id=event_id)


async def person(browser: Browser, server: LiveServer, email: str, made: list[BrowserContext], **options: object) -> Page:
    context = await browser.new_context(base_url=server.base_url, timezone_id=TZ, locale="en-GB", **options)  # type: ignore[arg-type]
    context.set_default_timeout(10_000)
    made.append(context)
    page = await context.new_page()
    await page.goto("/login")
    await page.get_by_label("Email").first.fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    return page


async def test_recruiter_records_the_outcome_the_talent_never_sees_it_and_both_read_the_room(
    browser: Browser, server: LiveServer, clock: Clock
) -> None:
    made: list[BrowserContext] = []
    tom_user, aisha_user = await server.user(TOM), await server.user(AISHA)
    chat = await chat_id(server, TOM, AISHA)

    async def held(session: AsyncSession, ctx: actions.Context) -> dt.datetime:
        row = await session.get(ChatRequest, chat)
        assert row is not None and row.status == "confirmed" and row.starts_at is not None
        key = room_key(chat)
        start = row.starts_at
        # What the room stores for each line (web/rooms.py): the text, the author's name and role.
        await conversations.append(session, key, kind="presence", author_id=tom_user.id, body={"conn": "t1", "state": "joined"}, now=start)
        await conversations.append(session, key, kind="message", author_id=tom_user.id, client_id="m1",
                                   body={"text": "Hi Aisha! My <portfolio> is at https://tom.example", "name": "Tom Talent", "role": "talent"},
                                   now=start + dt.timedelta(minutes=1))
        await conversations.append(session, key, kind="message", author_id=aisha_user.id, client_id="m2",
                                   body={"text": "Thanks Tom, I'll look at it after our chat.", "name": "Aisha Khan", "role": "recruiter"},
                                   now=start + dt.timedelta(minutes=2))
        return start

    start = await server.run(held)
    clock.now = start + dt.timedelta(minutes=5)

    try:
        aisha = await person(browser, server, AISHA, made, **DESKTOP)
        await aisha.goto(f"/chats/{chat}")
        transcript = aisha.get_by_role("region", name="Messages from the video room")
        await expect(transcript.get_by_role("listitem")).to_have_count(2)
        await expect(transcript.get_by_role("listitem").first).to_contain_text("Tom Talent")
        await expect(transcript.get_by_role("listitem").first).to_contain_text("Hi Aisha! My <portfolio> is at https://tom.example")
        await expect(transcript.get_by_role("listitem").nth(1)).to_contain_text("You")
        start_local = start.astimezone(dt.timezone(dt.timedelta(hours=1)))
        first_line = (start_local + dt.timedelta(minutes=1)).strftime("%H:%M")
        await expect(transcript.get_by_role("listitem").first).to_contain_text(f"{first_line} CET")

        outcome = aisha.get_by_role("region", name="Outcome")
        await expect(outcome).to_contain_text("never by Tom Talent")
        await outcome.get_by_role("group", name=re.compile("^Rating")).get_by_text("4", exact=True).click()
        await outcome.get_by_label("Next step").select_option("Interview")
        await outcome.get_by_label("Notes").fill("Sharp front-end eye; wants more backend. Book a technical interview.")
        await shot(aisha, "outcome-form-recruiter")
        assert await run_axe(aisha, "held chat, recruiter (outcome form, transcript)") == []
        await outcome.get_by_role("button", name="Save outcome").click()
        await expect(aisha.get_by_role("status")).to_have_text("Outcome saved.")
        await aisha.reload()
        outcome = aisha.get_by_role("region", name="Outcome")
        await expect(outcome.get_by_label("Next step")).to_have_value("Interview")
        await expect(outcome.get_by_label("Notes")).to_have_value("Sharp front-end eye; wants more backend. Book a technical interview.")
        await expect(outcome.get_by_role("radio", name="4")).to_be_checked()
        await expect(outcome.get_by_test_id("outcome-saved")).to_contain_text("Last saved")
        await shot(aisha, "outcome-saved-recruiter")

        async def stored(session: AsyncSession, ctx: actions.Context) -> ChatOutcome | None:
            return (await session.execute(select(ChatOutcome).where(ChatOutcome.chat_request_id == chat))).scalar_one_or_none()

        row = await server.run(stored)
        assert row is not None and row.rating == 4 and row.next_step == "Interview" and not row.no_show

        # The talent, on a phone: the room's messages, and no trace of the outcome.
        tom = await person(browser, server, TOM, made, **PHONE)
        await tom.goto(f"/chats/{chat}")
        transcript = tom.get_by_role("region", name="Messages from the video room")
        await expect(transcript.get_by_role("listitem")).to_have_count(2)
        await expect(transcript.get_by_role("listitem").nth(1)).to_contain_text("Aisha Khan")
        await expect(transcript.get_by_role("listitem").nth(1)).to_contain_text("Thanks Tom, I'll look at it after our chat.")
        await expect(tom.get_by_role("region", name="Outcome")).to_have_count(0)
        await expect(tom.get_by_text("Sharp front-end eye")).to_have_count(0)
        await expect(tom.get_by_text("Interview", exact=True)).to_have_count(0)
        await no_horizontal_scroll(tom)
        await shot(tom, "phone-chat-transcript-talent")
        assert await run_axe(tom, "held chat, talent on a phone (transcript)") == []
        response = await tom.context.request.get(f"/api/v1/chats/{chat}/outcome")
        assert response.status == 401  # the API takes a token, never the page's cookie

        # The organizer reads the outcome without a form.
        olga = await person(browser, server, ORGANIZER, made, **DESKTOP)
        await olga.goto(f"/chats/{chat}")
        facts = olga.get_by_test_id("outcome-facts")
        await expect(facts).to_contain_text("4 of 5")
        await expect(facts).to_contain_text("Interview")
        await expect(olga.get_by_role("button", name="Save outcome")).to_have_count(0)
        await shot(olga, "outcome-organizer")
        assert await run_axe(olga, "held chat, organizer (outcome read-only)") == []
    finally:
        for context in made:
            await context.close()


async def test_on_a_phone_the_talent_picks_a_day_then_a_slot_and_withdrawing_asks_first(
    browser: Browser, server: LiveServer, clock: Clock
) -> None:
    made: list[BrowserContext] = []
    try:
        tom = await person(browser, server, TOM, made, **PHONE)
        await tom.goto(f"/chats/{await chat_id(server, TOM, MARCO)}")
        await expect(page_heading(tom)).to_have_text("Marco Silva")
        await expect(tom.get_by_test_id("picker-zone")).to_contain_text("Europe/Berlin")
        days = tom.get_by_role("navigation", name="Days with free slots").get_by_role("link")
        await expect(days).to_have_count(3)
        await expect(days.first).to_have_attribute("aria-current", "true")
        await expect(tom.locator("fieldset.slots")).to_have_count(1)
        await expect(tom.locator("fieldset.slots legend")).to_contain_text(re.compile("Mon"))
        await no_horizontal_scroll(tom)
        await shot(tom, "phone-slot-picker-monday")

        await days.filter(has_text="Tue").click()
        await expect(tom).to_have_url(re.compile(r"\?day=2030-01-08#pick$"))
        await expect(days.filter(has_text="Tue")).to_have_attribute("aria-current", "true")
        tuesday = tom.locator("fieldset.slots")
        await expect(tuesday.locator("legend")).to_contain_text(re.compile("Tue"))
        await expect(tuesday.locator("legend")).to_contain_text("08")
        await no_horizontal_scroll(tom)
        await shot(tom, "phone-slot-picker-tuesday")
        assert await run_axe(tom, "slot picker by day, phone") == []
        await tuesday.get_by_text("10:00–10:20").click()
        await tom.get_by_role("button", name="Confirm 1-1 Chat").click()
        await expect(tom.get_by_test_id("status")).to_have_text("Confirmed")
        await expect(tom.get_by_test_id("when")).to_contain_text(re.compile(r"^Tue 08 Jan 2030, 10:00"))

        # Withdrawing Tom's pending request to Jonas: the first tap only asks.
        await tom.goto(f"/chats/{await chat_id(server, TOM, JONAS)}")
        await tom.get_by_text("Cancel request", exact=True).click()
        confirm = tom.get_by_role("button", name="Yes, withdraw request")
        await expect(confirm).to_be_visible()
        await expect(tom.get_by_test_id("status")).to_have_text("Waiting for feedback")
        await no_horizontal_scroll(tom)
        await shot(tom, "phone-withdraw-confirm")
        assert await run_axe(tom, "withdraw confirmation, phone") == []
        await confirm.click()
        await expect(tom.get_by_role("status")).to_contain_text("Request withdrawn.")
        await expect(tom.get_by_test_id("status")).to_have_text("Withdrawn")
        await expect(tom.get_by_test_id("closed-by")).to_contain_text("Withdrawn by you")
        await shot(tom, "phone-withdrawn-undo")
        assert await run_axe(tom, "withdrawn request with undo, phone") == []
        await tom.get_by_role("button", name="Undo: send the request again").click()
        await expect(tom.get_by_role("status")).to_contain_text("Request sent again.")
        await expect(tom.get_by_test_id("status")).to_have_text("Waiting for feedback")

        # The list keeps the withdrawn request apart from the declined one, in the tabs and their counts.
        await tom.goto(f"/events/{server.event_id}?tab=declined")
        tabs = tom.get_by_role("navigation", name="Chat status")
        await expect(tabs.get_by_role("link", name=re.compile(r"^Declined\b"))).to_contain_text("1")
        await expect(tabs.get_by_role("link", name=re.compile(r"^Withdrawn"))).to_contain_text("1")
        lena = tom.get_by_role("listitem").filter(has_text="Lena Novak")
        await expect(lena).to_contain_text("Declined by Lena Novak")
        await expect(tom.get_by_role("listitem").filter(has_text="Jonas Weber")).to_have_count(0)
        await no_horizontal_scroll(tom)
        await shot(tom, "phone-chats-declined")
        await tabs.get_by_role("link", name=re.compile(r"^Withdrawn")).click()
        jonas = tom.get_by_role("listitem").filter(has_text="Jonas Weber")
        await expect(jonas).to_contain_text("Withdrawn by you")
        await expect(jonas.locator(".badge")).to_have_text("Withdrawn")
        await no_horizontal_scroll(tom)
        await shot(tom, "phone-chats-withdrawn")
        assert await run_axe(tom, "chat list, withdrawn tab, phone") == []
    finally:
        for context in made:
            await context.close()
