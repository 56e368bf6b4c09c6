"""The dashboard at an event's real size (issue 9 round 2, item 3): after importing 30 more talents and 14 recruiters of
one company, it lists the first 20 talents without a chat with a way to all of them, and folds the recruiters by company,
readable on a 390 px phone; desktop and phone screenshots."""

from __future__ import annotations

import pytest
from playwright.async_api import expect
from sqlalchemy.ext.asyncio import AsyncSession

from scheduling import actions, roster
from tests.e2e.conftest import LiveServer, NewContext
from tests.e2e.test_chat_flow import no_horizontal_scroll, open_as, page_heading, shot
from tests.e2e.test_event_ops import PHONE, no_axe_violations
from web import demo

pytestmark = pytest.mark.e2e


async def _import(server: LiveServer) -> None:
    rows = ["name,email,role,company"]
    rows += [f"Talent {i:02d} Imported,scale-t{i}@import.test,talent," for i in range(30)]
    rows += [f"Recruiter {i:02d} Imported,scale-r{i}@import.test,recruiter,Scale Analytics" for i in range(14)]

    async def run(session: AsyncSession, ctx: actions.Context) -> None:
        organizer = await server.user(demo.ORGANIZER)
        done = await roster.import_csv(session, ctx, organizer, server.event_id, "people", "\n".join(rows) + "\n")
        assert done.added == 44

    await server.run(run)


async def test_the_dashboard_at_scale(demo_server: LiveServer, new_context: NewContext) -> None:
    await _import(demo_server)
    for options, tag in (({}, "desktop"), (PHONE, "phone")):
        org = await open_as(new_context, demo.ORGANIZER, **options)
        await org.goto(f"/events/{demo_server.event_id}/dashboard")
        await expect(page_heading(org)).to_have_text("Dashboard")
        names = org.get_by_test_id("talents-without-chat").locator("li")
        await expect(names).to_have_count(20)
        await expect(org.get_by_test_id("no-chat-count")).to_contain_text("34 of 35 talents")
        # Recruiters: folded by company (20 of them), the company's figures on its line.
        groups = org.get_by_test_id("recruiter-group")
        await expect(groups).to_have_count(4)
        scale = groups.filter(has_text="Scale Analytics")
        await expect(scale.locator("summary")).to_contain_text("14 recruiters · 0 requests · 0 confirmed")
        row = scale.get_by_role("rowheader", name="Recruiter 00 Imported")
        await expect(row).to_be_hidden()
        await scale.locator("summary").click()
        await expect(row).to_be_visible()
        if tag == "phone":
            await no_horizontal_scroll(org)
        await shot(org, f"dashboard-scale-{tag}")
        await no_axe_violations(org, f"dashboard at scale ({tag})")
        # Every talent without a chat, and every company open.
        await org.get_by_test_id("no-chat-all").click()
        await expect(names).to_have_count(34)
        await expect(org.get_by_role("link", name="Show the first 20 only")).to_be_visible()
        await org.get_by_role("link", name="Open every company").click()
        await expect(org.locator("details.recgroup:not([open])")).to_have_count(0)
        await expect(org.get_by_role("link", name="Fold the companies")).to_be_visible()
        if tag == "phone":
            await no_horizontal_scroll(org)
        # A name leads to the person's page.
        await names.first.get_by_role("link").click()
        await expect(page_heading(org)).to_be_visible()
        assert "/manage/people/" in org.url
