"""Profiles in real Chromium: a talent fills in their profile and uploads a PDF, a recruiter they have a chat with finds
them by skill and downloads the CV (another recruiter sees no CV link); a talent with no requests left is told so before
writing, and direct booking is explained. Screenshots on a desktop and a 390 px phone."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from playwright.async_api import Page, expect
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from scheduling import actions
from scheduling.models import Participant
from tests.e2e.a11y_axe import run_axe
from tests.e2e.conftest import LiveServer, NewContext
from tests.e2e.test_chat_flow import card, event_nav, open_as, page_heading

pytestmark = pytest.mark.e2e

SHOTS = Path("/tmp/e2e-shots")
TOM = "talent@demo.fairmeet.test"  # Rita has sent Tom a request in the demo
KOFI = "kofi@demo.fairmeet.test"
RITA = "recruiter@demo.fairmeet.test"
SAM = "sam@demo.fairmeet.test"  # no chat with Tom
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}


async def shot(page: Page, name: str) -> None:
    """A full-page screenshot to look at, and axe-core's serious/critical WCAG A/AA findings on the page as it is (none allowed)."""
    await page.screenshot(path=str(SHOTS / f"profiles-{name}.png"), full_page=True)
    assert await run_axe(page, name) == []


async def test_a_recruiter_finds_a_talent_by_skill_and_downloads_the_cv(demo_server: LiveServer, new_context: NewContext) -> None:
    talent = await open_as(new_context, TOM)
    await event_nav(talent, "Profile").click()
    await expect(page_heading(talent)).to_have_text("My profile")
    await talent.get_by_label("Headline").fill("Backend developer, 3 years of Python")
    await talent.get_by_label("Skills").fill("Python, PostgreSQL,  FastAPI, python")
    await talent.get_by_label("LinkedIn").fill("http://www.linkedin.com/in/tom-talent")
    await talent.get_by_label("Portfolio or website").fill("https://tom.example")
    await talent.get_by_role("button", name="Save profile").click()
    # Refused in words, what was typed kept, the field marked.
    await expect(talent.get_by_role("alert")).to_contain_text("The LinkedIn link must start with https://")
    await expect(talent.get_by_label("Skills")).to_have_value("Python, PostgreSQL,  FastAPI, python")
    await expect(talent.get_by_label("LinkedIn")).to_have_attribute("aria-invalid", "true")
    await shot(talent, "me-error")
    await talent.get_by_label("LinkedIn").fill("https://www.linkedin.com/in/tom-talent")
    await talent.get_by_role("button", name="Save profile").click()
    await expect(talent.get_by_role("status")).to_have_text("Profile saved.")
    await expect(talent.get_by_label("Skills")).to_have_value("Python, PostgreSQL, FastAPI")

    # A picture named like a PDF is refused; the real PDF is taken.
    await talent.get_by_label("Upload your CV").set_input_files({"name": "cv.pdf", "mimeType": "application/pdf",
                                                                 "buffer": b"\x89PNG\r\n\x1a\n" + b"\x00" * 64})
    await talent.get_by_role("button", name="Upload CV").click()
    await expect(talent.get_by_role("alert")).to_contain_text("content is neither")
    await talent.get_by_label("Upload your CV").set_input_files({"name": "Tom Talent CV.pdf", "mimeType": "application/pdf", "buffer": PDF})
    await talent.get_by_role("button", name="Upload CV").click()
    await expect(talent.get_by_role("status")).to_contain_text("CV saved: Tom Talent CV.pdf.")
    await expect(talent.get_by_test_id("my-cv")).to_have_text("Tom Talent CV.pdf")
    await shot(talent, "me-talent")

    recruiter = await open_as(new_context, RITA)
    await event_nav(recruiter, "Talents").click()
    await recruiter.get_by_label("Skill", exact=True).fill("fastapi")
    await recruiter.get_by_role("button", name="Search").click()
    await expect(recruiter.get_by_role("status")).to_contain_text("1 talent matches with the skill “fastapi”")
    tom = card(recruiter, "Tom Talent")
    await expect(tom).to_be_visible()
    await expect(recruiter.locator("li.talent")).to_have_count(1)
    await expect(tom.get_by_role("list", name="Skills").get_by_role("listitem")).to_have_text(["Python", "PostgreSQL", "FastAPI"])
    await shot(recruiter, "talents-search")
    async with recruiter.expect_download() as info:
        await tom.get_by_role("link", name="CV of Tom Talent").click()
    download = await info.value
    assert download.suggested_filename == "Tom Talent CV.pdf"
    assert await asyncio.to_thread(Path(await download.path()).read_bytes) == PDF

    # The chat with Tom shows his profile and the CV too.
    await tom.get_by_role("link", name="View chat").click()
    profile = recruiter.get_by_test_id("chat-profile")
    await expect(profile.get_by_role("list", name="Skills").get_by_role("listitem")).to_have_text(["Python", "PostgreSQL", "FastAPI"])
    await expect(profile.get_by_role("link", name="Download CV of Tom Talent")).to_have_attribute("href", re.compile(r"/talents/\d+/cv$"))
    await shot(recruiter, "chat-profile")
    await recruiter.go_back()

    # A skill chip filters too; another recruiter without a chat with Tom sees no CV link.
    await recruiter.get_by_role("navigation", name="Filter by skill").get_by_role("link", name="PostgreSQL").click()
    await expect(recruiter.get_by_role("status")).to_contain_text("with the skill “PostgreSQL”")
    other = await open_as(new_context, SAM)
    await event_nav(other, "Talents").click()
    await expect(card(other, "Tom Talent")).to_contain_text("CV shared once you have a 1-1 chat request together.")
    await expect(card(other, "Tom Talent").get_by_role("link", name="CV of Tom Talent")).to_have_count(0)
    response = await other.request.get(demo_server.url(f"/events/{demo_server.event_id}/talents/{(await demo_server.user(TOM)).id}/cv"))
    assert response.status == 404

    # A recruiter's own profile: the role talents search by, next to (not instead of) the availability calendar.
    await event_nav(recruiter, "Profile").click()
    await expect(recruiter.get_by_label("Your role")).to_have_value("Engineering manager, platform team")
    await expect(event_nav(recruiter, "Availability")).to_be_visible()
    await expect(recruiter.get_by_label("Upload your CV")).to_have_count(0)
    await recruiter.get_by_label("Skills").fill("Python, PostgreSQL, Kubernetes, Go")
    await recruiter.get_by_role("button", name="Save profile").click()
    await expect(recruiter.get_by_role("status")).to_have_text("Profile saved.")
    await shot(recruiter, "me-recruiter")

    # On a phone.
    phone = await open_as(new_context, RITA, **PHONE)
    await phone.goto(f"/events/{demo_server.event_id}/talents?skill=Python")
    await expect(card(phone, "Tom Talent")).to_be_visible()
    await shot(phone, "talents-search-phone")
    phone_talent = await open_as(new_context, TOM, **PHONE)
    await phone_talent.goto(f"/events/{demo_server.event_id}/me")
    await shot(phone_talent, "me-talent-phone")


async def test_no_requests_left_and_direct_booking_are_said_before_writing(demo_server: LiveServer, new_context: NewContext) -> None:
    kofi = await demo_server.user(KOFI)

    async def use_up(session: AsyncSession, ctx: actions.Context) -> None:
        await session.execute(update(Participant).where(Participant.user_id == kofi.id).values(requests_used=5))

    talent = await open_as(new_context, KOFI)
    await event_nav(talent, "Recruiters").click()
    aisha = card(talent, "Aisha Khan")  # direct booking in the demo
    await expect(aisha).to_contain_text("This recruiter accepts requests at once: you pick a time right after sending.")
    await expect(card(talent, "Rita Recruiter")).not_to_contain_text("accepts requests at once")
    # Talents find recruiters by role, skill or company.
    await talent.get_by_label("Search").fill("team lead")
    await talent.get_by_role("button", name="Search").click()
    await expect(talent.locator("li.recruiter .who strong")).to_have_text(["Jonas Weber", "Marco Silva"])
    await talent.get_by_role("navigation", name="Filter by skill").get_by_role("link", name="ROS").click()
    await expect(talent.locator("li.recruiter .who strong")).to_have_text(["Marco Silva"])
    await expect(card(talent, "Marco Silva").get_by_test_id("role")).to_have_text("Robotics team lead")
    await shot(talent, "recruiters-search")
    await event_nav(talent, "Recruiters").click()
    await aisha.get_by_role("link", name="Request").click()
    await expect(talent.get_by_test_id("direct-note")).to_contain_text("you pick a time right after sending")
    await expect(talent.get_by_role("button", name="Send request")).to_be_enabled()
    form_url = talent.url

    await demo_server.run(use_up)
    await event_nav(talent, "Recruiters").click()
    await expect(talent.get_by_role("status").filter(has_text="You have used all 5 requests")).to_be_visible()
    await expect(aisha.get_by_role("button", name="Request")).to_be_disabled()
    await expect(talent.get_by_role("link", name="Request", exact=True)).to_have_count(0)
    await shot(talent, "recruiters-none-left")
    await talent.goto(form_url)
    await expect(talent.get_by_role("button", name="Send request")).to_be_disabled()
    await expect(talent.get_by_text("You have used all 5 requests you can send in this event.")).to_be_visible()
    await shot(talent, "request-form-none-left")

    phone = await open_as(new_context, KOFI, **PHONE)
    await phone.goto(f"/events/{demo_server.event_id}/recruiters")
    await expect(phone.get_by_role("button", name="Request").first).to_be_disabled()
    await shot(phone, "recruiters-none-left-phone")
    await phone.goto(form_url)
    await shot(phone, "request-form-none-left-phone")
