"""Issue 9, second round (F4) in real Chromium: the event nav is one row that scrolls sideways on a phone (keyboard focus
visible), the My events cards (the title is the link; the whole card clicks through), the sign-in link pages (greeting,
and a new link offered for a spent one). Screenshots at 1280 and 390 px go to /tmp/e2e-shots/f4-*.png."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from playwright.async_api import Page, expect
from sqlalchemy.ext.asyncio import AsyncSession

from scheduling import accounts, actions
from tests.e2e.conftest import LiveServer, NewContext
from tests.e2e.test_chat_flow import event_nav, open_as

SHOTS = Path("/tmp/e2e-shots")
PHONE: dict[str, Any] = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}
DESKTOP: dict[str, Any] = {"viewport": {"width": 1280, "height": 800}}
RITA = "recruiter@demo.fairmeet.test"
TOM = "talent@demo.fairmeet.test"
ADMIN = "admin@demo.fairmeet.test"


async def shot(page: Page, name: str) -> None:
    await page.screenshot(path=str(SHOTS / f"f4-{name}.png"))


async def page_width(page: Page) -> int:
    return int(await page.evaluate("() => document.documentElement.scrollWidth"))


async def test_event_nav_is_one_scrolling_row_on_a_phone(demo_server: LiveServer, new_context: NewContext) -> None:
    rita = await open_as(new_context, RITA, **PHONE)
    await rita.goto(f"/events/{demo_server.event_id}")
    nav = rita.get_by_role("navigation", name="Event")
    links = nav.get_by_role("link")
    await expect(links).to_have_text(["1-1 chats", "Recruiters", "Talents", "Schedule", "Availability", "Profile", "Help"])
    tops = {round((await links.nth(i).bounding_box() or {"y": -1})["y"]) for i in range(await links.count())}
    assert len(tops) == 1, f"the tabs sit on {len(tops)} rows"
    sizes = await nav.evaluate("n => [n.scrollWidth, n.clientWidth]")
    assert sizes[0] > sizes[1], "the row does not scroll: it would have wrapped or been cut"
    assert await page_width(rita) <= 390  # the page itself does not scroll sideways
    await shot(rita, "nav-phone")
    # The keyboard reaches the last tab: it scrolls into view with a visible focus ring.
    help_tab = event_nav(rita, "Help")
    await help_tab.focus()
    await rita.keyboard.press("Shift+Tab")
    await rita.keyboard.press("Tab")
    await expect(help_tab).to_be_focused()
    await expect(help_tab).to_be_in_viewport()
    outline = await help_tab.evaluate("a => getComputedStyle(a).outlineStyle + ' ' + getComputedStyle(a).outlineWidth")
    assert outline.startswith("solid") and not outline.endswith(" 0px"), outline
    await shot(rita, "nav-phone-focus-help")
    await help_tab.click()
    await expect(rita).to_have_url(f"{demo_server.base_url}/events/{demo_server.event_id}/support")

    desk = await open_as(new_context, RITA, **DESKTOP)
    await desk.goto(f"/events/{demo_server.event_id}/profile")
    await expect(event_nav(desk, "Availability")).to_have_attribute("aria-current", "page")
    await shot(desk, "nav-desktop")


async def test_my_events_card_title_is_the_link_and_the_card_clicks_through(demo_server: LiveServer, new_context: NewContext) -> None:
    for name, options in (("desktop", DESKTOP), ("phone", PHONE)):
        admin = await open_as(new_context, ADMIN, **options)
        await admin.goto("/")
        card = admin.get_by_test_id("event-card").first
        await expect(card.get_by_role("link")).to_have_text("Fairmeet Demo Hiring Days")
        badge = card.locator(".badge")
        await expect(badge).to_have_text("Organizer")
        badge_box, card_box = await badge.bounding_box(), await card.bounding_box()
        assert badge_box and card_box and badge_box["width"] < card_box["width"] / 2, "the badge stretches across the card"
        decoration = await card.locator("p.muted").evaluate("p => getComputedStyle(p).textDecorationLine")
        assert decoration == "none"
        await shot(admin, f"home-{name}")
        # A click anywhere on the card (here: the date line) opens the event.
        date_box = await card.locator("p.muted").bounding_box()
        assert date_box
        await admin.mouse.click(date_box["x"] + 10, date_box["y"] + date_box["height"] / 2)
        await expect(admin).to_have_url(f"{demo_server.base_url}/events/{demo_server.event_id}")


async def _link_for(demo_server: LiveServer, email: str) -> str:
    async def issue(session: AsyncSession, ctx: actions.Context) -> str:
        user = await accounts.user_by_email(session, email)
        assert user is not None
        return await accounts.issue_login_link(session, user, now=ctx.now, lifetime=dt.timedelta(hours=1))

    secret: str = await demo_server.run(issue)
    return f"/login/link/{secret}"


async def test_sign_in_link_greets_and_a_spent_one_offers_a_new_link(demo_server: LiveServer, new_context: NewContext) -> None:
    link = await _link_for(demo_server, TOM)
    for name, options in (("desktop", DESKTOP), ("phone", PHONE)):
        page = await (await new_context(**options)).new_page()
        await page.goto(link)
        await expect(page.get_by_text("Continue to sign in as Tom.")).to_be_visible()
        await expect(page.get_by_text("from your email")).to_have_count(0)
        assert await page_width(page) <= options["viewport"]["width"]
        await shot(page, f"link-{name}")
    await page.get_by_role("button", name="Continue").click()
    await expect(page.get_by_role("button", name="Sign out")).to_be_visible()

    for name, options in (("desktop", DESKTOP), ("phone", PHONE)):
        stranger = await (await new_context(**options)).new_page()
        await stranger.goto(link)
        await expect(stranger.get_by_role("heading", name="Sign-in link used or expired")).to_be_visible()
        await expect(stranger.get_by_text("Tom")).to_have_count(0)
        await expect(stranger.get_by_role("link", name="Back to my events")).to_have_count(0)
        assert await page_width(stranger) <= options["viewport"]["width"]
        await shot(stranger, f"link-spent-{name}")
    await stranger.get_by_label("Email").fill(TOM)
    await stranger.get_by_role("button", name="Email me a new link").click()
    await expect(stranger).to_have_url(f"{demo_server.base_url}/login")
    await expect(stranger.get_by_text("If that address has an account, a sign-in link is on its way.")).to_be_visible()
