"""Event ops in a real browser: the organizer's dashboard and export, an announcement a talent sees (and can hide), and
a chat the organizer moves on its people's behalf, with both people's new invites in /mailbox. Desktop and phone."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.async_api import Page, expect
from sqlalchemy.ext.asyncio import AsyncSession

from tests.e2e.a11y_axe import run_axe
from tests.e2e.conftest import LiveServer, NewContext
from tests.e2e.test_chat_flow import MARCO, TALENT_KOFI, TALENT_TOM, chat_id, event_nav, no_horizontal_scroll, open_as, page_heading, shot
from web import demo

pytestmark = pytest.mark.e2e

AISHA = "aisha@demo.fairmeet.test"
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}


async def no_axe_violations(page: Page, where: str) -> None:
    """axe-core finds no serious or critical WCAG 2.2 A/AA violation on the page as it is now."""
    found = await run_axe(page, where)
    assert not found, "\n".join(str(v) for v in found)


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
    await no_axe_violations(org, "dashboard")
    async with org.expect_download() as info:
        await org.get_by_role("link", name="Export all chats (CSV)").click()
    download = await info.value
    path = await download.path()
    text = path.read_text(encoding="utf-8-sig")
    # Status in the pages' words, the code beside it (issue 9 round 2, item 12).
    assert text.startswith("Chat,Status,Status code,Talent,") and ",Declined,declined," in text and "Europe/Berlin" in text
    assert ",Waiting for feedback,pending," in text and ",In Scheduling,accepted," in text

    await org.get_by_role("link", name="Announcements").click()
    await expect(page_heading(org)).to_have_text("Announcements")
    await org.get_by_label("Send to").select_option(label="Talents")
    await org.get_by_label("Title").fill("Coffee corner opens at 08:30")
    await org.get_by_label("Message").fill("Come early: the recruiters of Northwind bring pastries.")
    await org.get_by_role("button", name="Send announcement").click()
    await expect(org.get_by_role("status")).to_contain_text("5 people were emailed")
    await expect(org.get_by_test_id("announcements")).to_contain_text("Coffee corner opens at 08:30")
    await shot(org, "event-ops-announcements-desktop")
    await no_axe_violations(org, "announcements")

    # A talent sees it on the event pages, on a phone, and can hide it (remembered in that browser).
    tom = await open_as(new_context, TALENT_TOM, **PHONE)
    banner = tom.get_by_test_id("announcements-banner")
    await expect(banner).to_contain_text("Coffee corner opens at 08:30")
    await expect(banner).to_contain_text("bring pastries")
    await no_horizontal_scroll(tom)
    await shot(tom, "event-ops-announcement-phone")
    await no_axe_violations(tom, "a talent's page with an announcement (phone)")
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
    await no_axe_violations(org_phone, "dashboard (phone)")
    await org_phone.goto(f"/events/{demo_server.event_id}/announcements")
    await expect(org_phone.get_by_test_id("announcements")).to_contain_text("Coffee corner opens at 08:30")
    await no_horizontal_scroll(org_phone)
    await shot(org_phone, "event-ops-announcements-phone")
    await no_axe_violations(org_phone, "announcements (phone)")
    # Deleting asks first, then the talent's page no longer shows it.
    await org_phone.locator(".announce-delete summary").first.click()
    await org_phone.get_by_role("button", name="Yes, delete it").click()
    await expect(org_phone.get_by_role("status")).to_contain_text("removed from the event pages")
    await expect(org_phone.get_by_text("No announcements yet.")).to_be_visible()


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
    await shot(org, "event-ops-chat-organizer-desktop")
    await no_axe_violations(org, "chat page with organizer actions")
    await org.get_by_role("link", name="Reschedule for them").click()
    await expect(page_heading(org)).to_have_text("Change this chat for its people")
    await shot(org, "event-ops-on-behalf-desktop")
    await no_axe_violations(org, "change a chat for its people")
    move = org.locator("#move")
    await move.get_by_label("New time").select_option(index=2)  # after "Choose a time…" and "None: release the slot"
    # No reason (the browser's own check set aside): the server names both people, at the field, which gets the focus.
    await move.get_by_label("Reason").evaluate("el => el.removeAttribute('required')")
    await move.get_by_role("button", name="Move the chat").click()
    reason = org.locator("#move").get_by_role("textbox", name="Reason")
    await expect(reason).to_have_attribute("aria-invalid", "true")
    await expect(reason).to_be_focused()
    await expect(org.locator("#reschedule-reason-error")).to_have_text("Tell Tom Talent and Aisha Khan why the chat moves: a reason is required.")
    await expect(org.get_by_role("alert")).to_contain_text("Tell Tom Talent and Aisha Khan why the chat moves")
    await shot(org, "event-ops-on-behalf-no-reason-desktop")
    await no_axe_violations(org, "change a chat for its people, refused")
    move = org.locator("#move")
    await move.get_by_label("Reason").fill("Aisha's panel runs late")
    await move.get_by_role("button", name="Move the chat").click()
    await expect(org.get_by_role("status").first).to_contain_text("Chat moved. Both people got the new invite.")
    after = (await org.get_by_test_id("when").inner_text()).strip()
    assert after != before and re.search(r"\(Europe/Berlin\)", after)
    # One line for the move (its two transitions read as one), with both times.
    moved = org.get_by_test_id("history-moved")
    await expect(moved).to_have_count(1)
    await expect(moved).to_contain_text(re.compile(r"Olga Organizer moved the chat from \w{3} \d\d \w{3} \d{4}, \d\d:\d\d to .+: Aisha's panel runs late"))
    await expect(org.locator(".history")).not_to_contain_text("released the time")

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
    await no_axe_violations(org_phone, "change a chat for its people (phone)")


async def test_a_talent_is_told_on_the_page_and_by_mail_when_a_slot_opens(demo_server: LiveServer, new_context: NewContext) -> None:
    """Marco's only slot goes to Kofi; Tom (accepted by Marco in the demo) finds none, then sees one open when Kofi cancels."""
    from scheduling import actions
    from scheduling.models import User

    marco, kofi = await demo_server.user(MARCO), await demo_server.user(TALENT_KOFI)
    slot_start = dt.datetime(2030, 1, 8, 9, 0, tzinfo=dt.UTC)  # Tue 08 Jan, 10:00 in Berlin (Tom is with Aisha at 09:00)

    async def one_slot_for_kofi(session: AsyncSession, ctx: actions.Context) -> int:
        rec = await session.get(User, marco.id)
        talent = await session.get(User, kofi.id)
        assert rec is not None and talent is not None
        await actions.set_recruiter_profile(session, rec, demo_server.event_id, rec.id, booking_mode="selective", custom_question="",
                                            ideal_candidate="", availability=[actions.Window(slot_start, slot_start + dt.timedelta(minutes=20))])
        chat = await actions.send_request(session, ctx, talent, demo_server.event_id, recruiter_id=rec.id, answer="A sorting robot")
        await actions.accept(session, ctx, rec, chat.id)
        await actions.book(session, ctx, talent, chat.id, slot_start)
        return chat.id

    kofi_chat = await demo_server.run(one_slot_for_kofi)
    tom_chat = await chat_id(demo_server, TALENT_TOM, MARCO)
    tom = await open_as(new_context, TALENT_TOM, **PHONE)
    await tom.goto(f"/chats/{tom_chat}")
    await expect(tom.get_by_test_id("slot-watch")).to_contain_text("As soon as a time with Marco Silva opens up")
    await no_horizontal_scroll(tom)
    await shot(tom, "event-ops-slot-watch-phone")

    async def kofi_cancels(session: AsyncSession, ctx: actions.Context) -> None:
        talent = await session.get(User, kofi.id)
        assert talent is not None
        await actions.cancel(session, ctx, talent, kofi_chat, "I got an offer")

    await demo_server.run(kofi_cancels)
    await tom.reload()
    await expect(tom.get_by_test_id("slot-opened")).to_contain_text("A slot opened up")
    await expect(tom.get_by_role("button", name="Confirm 1-1 Chat")).to_be_visible()
    await shot(tom, "event-ops-slot-opened-phone")
    await no_axe_violations(tom, "chat page: a slot opened (phone)")
    await tom.goto("/mailbox")
    await expect(tom.get_by_text("A slot opened for your 1-1 chat with Marco Silva")).to_have_count(1)
