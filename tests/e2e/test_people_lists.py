"""The Talents and Recruiters pages after an import of a few hundred people, in real Chromium: pages of 50 with the search
kept from page to page, and recruiters a talent can book listed before those without open times (which say so)."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import expect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from scheduling import actions, profiles
from scheduling.models import Participant, User
from tests.e2e.conftest import LiveServer, NewContext
from tests.e2e.test_booth_chat import DESKTOP, PHONE, TOM, no_js_errors, open_as, shot
from tests.e2e.test_chat_flow import RITA

pytestmark = pytest.mark.e2e


async def seed(server: LiveServer) -> None:
    """150 talents (every third lists Python) and a company of 12 recruiters with no times, as an import leaves them."""

    async def add(session: AsyncSession, ctx: actions.Context) -> None:
        organizer = (await session.execute(
            select(User).join(Participant, Participant.user_id == User.id)
            .where(Participant.event_id == server.event_id, Participant.role == "organizer"))).scalars().first()
        assert organizer is not None
        for i in range(150):
            m = await actions.add_participant(session, ctx, organizer, server.event_id, email=f"imp{i}@example.test",
                                              name=f"Imported Talent {i:03d}", role="talent")
            if i % 3 == 0:
                user = await session.get(User, m.user_id)
                assert user is not None
                await profiles.save(session, user, server.event_id, profiles.ProfileInput("Analyst", "Python", "", ""), now=ctx.now)
        acme = await actions.add_company(session, organizer, server.event_id, name="Aaron Analytics")
        for i in range(12):
            await actions.add_participant(session, ctx, organizer, server.event_id, email=f"aa{i}@example.test", name=f"Abe Aaron {i:02d}",
                                          role="recruiter", company_id=acme.id)

    await server.run(add)


async def test_talents_page_by_page_keeping_the_skill(demo_server: LiveServer, new_context: NewContext) -> None:
    await seed(demo_server)
    rita = await open_as(new_context, RITA, **DESKTOP)
    await rita.goto(f"/events/{demo_server.event_id}/talents")
    total = int(re.search(r"of (\d+) talents", await rita.locator("#talents-range").inner_text()).group(1))  # type: ignore[union-attr]
    assert total > 150
    await expect(rita.locator("#talents-range")).to_have_text(f"Showing 1–50 of {total} talents, by name.")
    await expect(rita.locator("li.card.talent")).to_have_count(50)
    pager = rita.get_by_role("navigation", name="Pages of talents")
    await pager.get_by_role("link", name="Next").click()
    await expect(rita.locator("#talents-range")).to_have_text(f"Showing 51–100 of {total} talents, by name.")
    await expect(pager.get_by_role("link", name="Page 2")).to_have_attribute("aria-current", "page")
    await shot(rita, "people-talents-page2-desktop", full=True)

    await rita.get_by_role("navigation", name="Filter by skill").get_by_role("link", name="Python", exact=True).click()
    await expect(rita.locator(".resultline")).to_contain_text("talents match with the skill “Python”")
    await pager.get_by_role("link", name="Next").click()
    await expect(rita).to_have_url(re.compile(r"skill=Python&page=2$"))
    await expect(rita.locator("#talents-range")).to_contain_text("Showing 51–")
    await expect(rita.get_by_role("search", name="Find talents").get_by_label("Skill")).to_have_value("Python")
    no_js_errors(rita)

    phone = await open_as(new_context, RITA, **PHONE)
    await phone.goto(f"/events/{demo_server.event_id}/talents?page=3")
    await expect(phone.locator("#talents-range")).to_have_text(f"Showing 101–150 of {total} talents, by name.")
    assert await phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    await phone.get_by_role("navigation", name="Pages of talents").scroll_into_view_if_needed()
    await shot(phone, "people-talents-pager-390")
    height = await phone.evaluate("document.body.scrollHeight")
    assert height < 14000, height  # was 40,305 px with every talent on one page


async def test_recruiters_with_times_first_the_others_say_no_times_yet(demo_server: LiveServer, new_context: NewContext) -> None:
    await seed(demo_server)
    tom = await open_as(new_context, TOM, **PHONE)
    await tom.goto(f"/events/{demo_server.event_id}/recruiters")
    cards = tom.locator("li.card.recruiter")
    count = await cards.count()
    assert count > 12
    await expect(cards.first.get_by_test_id("open-slots")).to_be_visible()  # a demo recruiter with times, not "Abe Aaron 00"
    await expect(cards.first).not_to_contain_text("Aaron Analytics")
    last = cards.nth(count - 1)
    await expect(last).to_contain_text("Abe Aaron 11")
    await expect(last.get_by_test_id("no-times")).to_have_text("No open times yet")
    await expect(last.get_by_role("link", name="Request")).to_be_visible()  # requests don't need a slot
    await last.scroll_into_view_if_needed()
    await shot(tom, "people-recruiters-no-times-390")
    assert await tom.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    no_js_errors(tom)
