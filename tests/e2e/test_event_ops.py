"""Event ops in a real browser: the organizer's dashboard and export, an announcement a talent sees (and can hide), and
a chat the organizer moves on its people's behalf, with both people's new invites in /mailbox. Desktop and phone."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect

from tests.e2e.conftest import LiveServer, NewContext
from tests.e2e.test_chat_flow import MARCO, TALENT_TOM, chat_id, event_nav, no_horizontal_scroll, open_as, page_heading, shot
from web import demo

pytestmark = pytest.mark.e2e

AISHA = "aisha@demo.fairmeet.test"
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}


async def test_organizer_dashboard_and_an_announcement_a_talent_sees(demo_server: LiveServer, new_context: NewContext) -> None:
    org = await open_as(new_context, demo.ORGANIZER)
    await org.goto(f"/events/{demo_server.event_id}")
    await event_nav(org, "Dashboard").click()
    await expect(page_heading(org)).to_have_text("Dashboard")
    # The demo: 8 requests (one sent by a recruiter); Tom's to Lena declined; one confirmed (Aisha), one in scheduling (Marco).
    await expect(org.get_by_test_id("tile-requests").locator(".tile-n")).to_have_text("8")
    await expect(org.get_by_test_id("tile-requests")).to_contain_text("7 by talents · 1 by recruiters")
    await expect(org.get_by_test_id("count-declined")).to_have_text("1")
    await expect(org.get_by_test_id("count-withdrawn")).to_have_text("0")
    await expect(org.get_by_test_id("count-confirmed")).to_have_text("1")
    await expect(org.get_by_test_id("companies").get_by_role("rowheader", name="Northwind Robotics")).to_be_visible()
    await expect(org.get_by_test_id("recruiters").get_by_role("rowheader", name="Aisha Khan")).to_be_visible()
    await expect(org.get_by_test_id("talents-without-chat")).to_contain_text("Kofi Mensah")
    await shot(org, "event-ops-dashboard-desktop")
    async with org.expect_download() as info:
        await org.get_by_role("link", name="Export all chats (CSV)").click()
    download = await info.value
    path = await download.path()
    text = path.read_text(encoding="utf-8-sig")
    assert text.startswith("Chat,Status,Talent,") and ",declined," in text and "Europe/Berlin" in text

    await org.get_by_role("link", name="Announcements").click()
    await expect(page_heading(org)).to_have_text("Announcements")
    await org.get_by_label("Send to").select_option(label="Talents")
    await org.get_by_label("Title").fill("Coffee corner opens at 08:30")
    await org.get_by_label("Message").fill("Come early: the recruiters of Northwind bring pastries.")
    await org.get_by_role("button", name="Send announcement").click()
    await expect(org.get_by_role("status")).to_contain_text("5 people were emailed")
    await expect(org.get_by_test_id("announcements")).to_contain_text("Coffee corner opens at 08:30")
    await shot(org, "event-ops-announcements-desktop")

    # A talent sees it on the event pages, on a phone, and can hide it (remembered in that browser).
    tom = await open_as(new_context, TALENT_TOM, **PHONE)
    banner = tom.get_by_test_id("announcements-banner")
    await expect(banner).to_contain_text("Coffee corner opens at 08:30")
    await expect(banner).to_contain_text("bring pastries")
    await no_horizontal_scroll(tom)
    await shot(tom, "event-ops-announcement-phone")
    await tom.goto("/mailbox")
    await expect(tom.get_by_text("Fairmeet Demo Hiring Days: Coffee corner opens at 08:30")).to_be_visible()
    await tom.go_back()
    await tom.get_by_role("button", name="Hide announcement Coffee corner opens at 08:30").click()
    await expect(tom.get_by_test_id("announcements-banner")).to_have_count(0)
    await tom.reload()
    await expect(page_heading(tom)).to_be_visible()
    await expect(tom.get_by_test_id("announcements-banner")).to_have_count(0)
    # A recruiter never saw it.
    marco = await open_as(new_context, MARCO)
    await marco.goto(f"/events/{demo_server.event_id}")
    await expect(page_heading(marco)).to_be_visible()
    await expect(marco.get_by_text("Coffee corner opens at 08:30")).to_have_count(0)

    # The dashboard on a phone: tiles stack, the wide tables scroll inside their card, not the page.
    org_phone = await open_as(new_context, demo.ORGANIZER, **PHONE)
    await org_phone.goto(f"/events/{demo_server.event_id}/dashboard")
    await expect(page_heading(org_phone)).to_have_text("Dashboard")
    await no_horizontal_scroll(org_phone)
    await shot(org_phone, "event-ops-dashboard-phone")


async def _mail(page: Page, subject: str) -> None:
    await page.goto("/mailbox")
    mail = page.locator("details.mail").filter(has_text=subject).first
    await expect(mail).to_be_visible()
    await expect(mail.locator(".badge")).to_have_text("invite · REQUEST")
    await mail.locator("summary").first.click()
    await expect(mail.locator(".mailbody")).to_contain_text("The organizers moved your 1-1 chat with")
    await expect(mail.locator(".mailbody")).to_contain_text("Reason: Aisha's panel runs late")


async def test_organizer_moves_a_chat_and_both_people_get_the_invite(demo_server: LiveServer, new_context: NewContext) -> None:
    cid = await chat_id(demo_server, TALENT_TOM, AISHA)
    org = await open_as(new_context, demo.ORGANIZER)
    await org.goto(f"/chats/{cid}")
    # Finding 11: each person on a line of their own.
    await expect(org.get_by_test_id("talent-line")).to_have_text("Talent: Tom Talent · Backend developer, 3 years of Python")
    await expect(org.get_by_test_id("recruiter-line")).to_have_text("Recruiter: Aisha Khan · Bluefin Health")
    before = (await org.get_by_test_id("when").inner_text()).strip()
    await org.get_by_role("link", name="Reschedule for them").click()
    await expect(page_heading(org)).to_have_text("Change this chat for its people")
    await shot(org, "event-ops-on-behalf-desktop")
    move = org.locator("#move")
    await move.get_by_label("New time").select_option(index=2)  # after "Choose a time…" and "None: release the slot"
    await move.get_by_label("Reason").fill("Aisha's panel runs late")
    await move.get_by_role("button", name="Move the chat").click()
    await expect(org.get_by_role("status").first).to_contain_text("Chat moved. Both people got the new invite.")
    after = (await org.get_by_test_id("when").inner_text()).strip()
    assert after != before and re.search(r"\(Europe/Berlin\)", after)
    await expect(org.locator(".history")).to_contain_text("Olga Organizer")

    tom = await open_as(new_context, TALENT_TOM, **PHONE)
    await _mail(tom, "Rescheduled: 1-1 chat with Aisha Khan")
    await no_horizontal_scroll(tom)
    await shot(tom, "event-ops-mailbox-phone")
    aisha = await open_as(new_context, AISHA)
    await _mail(aisha, "Rescheduled: 1-1 chat with Tom Talent")
    await aisha.goto(f"/chats/{cid}")
    await expect(aisha.get_by_test_id("when")).to_have_text(after)

    # The organizer's page on a phone.
    org_phone = await open_as(new_context, demo.ORGANIZER, **PHONE)
    await org_phone.goto(f"/chats/{cid}/organize")
    await expect(page_heading(org_phone)).to_be_visible()
    await no_horizontal_scroll(org_phone)
    await shot(org_phone, "event-ops-on-behalf-phone")
