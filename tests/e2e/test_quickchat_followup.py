"""Follow Up after a QuickChat, in real Chromium: the recruiter sets follow-up times and sends a booking link from the follow-up
page; the candidate opens it on a phone in another time zone, picks a time and sees the booking in their own zone."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import expect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from scheduling import actions
from scheduling.livechat import chats, jobs
from scheduling.models import ChatRequest, OutboxMessage
from tests.e2e.conftest import LiveServer, NewContext
from tests.e2e.test_chat_flow import RITA, no_horizontal_scroll, shot
from tests.e2e.test_quickchat_console import DESKTOP, PHONE, job_with_recruiters, no_js_errors, open_page

pytestmark = pytest.mark.e2e


async def ended_chat(server: LiveServer, job_id: int, recruiter_email: str) -> int:
    """A candidate's QuickChat, taken by the recruiter and ended with Follow Up, through the product's actions."""
    recruiter = await server.user(recruiter_email)

    async def run(session: AsyncSession, ctx: actions.Context) -> int:
        await chats.set_agent(session, recruiter, ctx.now, available=True)
        answers = {str(q.id): "Yes" for q in await jobs.questions(session, job_id)}
        started = await chats.start_job_chat(session, ctx, job_id, chats.CandidateForm(
            name="Nia Candidate", email="nia@mail.example", answers=answers))
        assert started.chat.status == "waiting", started.chat.status
        await chats.take(session, ctx, recruiter, started.chat.id)
        chat, _, _ = await chats.end_by_staff(session, ctx, recruiter, started.chat.id, next_step="Interview", outcome="follow_up")
        return chat.id

    chat_id: int = await server.run(run)
    return chat_id


async def test_recruiter_sends_a_booking_link_and_the_candidate_books_on_a_phone(demo_server: LiveServer, new_context: NewContext) -> None:
    job_id = await job_with_recruiters(demo_server, RITA)
    chat_id = await ended_chat(demo_server, job_id, RITA)
    rita = await open_page(new_context, RITA, **DESKTOP)

    # Times first, on the follow-up calendar page (in Rita's zone, Europe/Berlin).
    await rita.goto("/live/availability")
    await expect(rita.get_by_role("heading", name="Follow-up calendar")).to_be_visible()
    await rita.get_by_label("Day").fill("2030-01-09")
    await rita.get_by_label("From").fill("14:00")
    await rita.get_by_label("To").fill("15:00")
    await rita.get_by_role("button", name="Add times").click()
    await expect(rita.locator(".flash")).to_have_text("Times added.")
    await expect(rita.locator(".agenda")).to_contain_text("Wed 09 Jan 2030, 14:00–15:00 (Europe/Berlin)")  # one format everywhere

    # The follow-up page: three forms; the booking link goes out by email.
    await rita.goto(f"/live/chats/{chat_id}/follow-up")
    await expect(rita.get_by_role("heading", name="Follow up with Nia Candidate")).to_be_visible()
    for heading in ("Email Nia Candidate", "Forward to a colleague", "Schedule a follow-up"):
        await expect(rita.get_by_role("heading", name=heading)).to_be_visible()
    schedule = rita.locator("#schedule")
    await expect(schedule).to_contain_text("2 free times")
    await schedule.get_by_label("Your message").fill("Great talking to you! Let's meet the team lead.")
    await schedule.get_by_role("button", name="Send booking link").click()
    await expect(rita.locator(".flash")).to_have_text("Booking link sent.")
    await expect(rita.locator("main")).to_contain_text("sent Nia Candidate a link to book a follow-up chat")
    await shot(rita, "followup-recruiter-page")
    no_js_errors(rita)

    async def link_of(session: AsyncSession, ctx: actions.Context) -> str:
        mail = (await session.execute(select(OutboxMessage).where(OutboxMessage.kind == "live_followup_link"))).scalar_one()
        found = re.search(r"/book/[A-Za-z0-9_.\-]+", mail.body_text)
        assert found and "Let's meet the team lead." in mail.body_text
        return found.group(0)

    link: str = await demo_server.run(link_of)

    # Nia, on a phone in New York, opens it, switches the times to her device's zone and books the first one.
    context = await new_context(timezone_id="America/New_York", **PHONE)
    nia = await context.new_page()
    errors: list[str] = []
    nia.on("pageerror", lambda err: errors.append(str(err)))
    await nia.goto(link)
    await expect(nia.get_by_role("heading", name="Book a follow-up chat with Rita")).to_be_visible()
    await nia.get_by_role("button", name="Use my device's time zone").click()
    await expect(nia.locator("form[method=post]")).to_contain_text("Times in America/New_York.")
    first = nia.locator("label.slot").first
    await expect(first).to_have_text("08:00–08:30")  # 14:00 in Berlin
    await no_horizontal_scroll(nia)
    await shot(nia, "followup-candidate-pick")
    await first.click()
    await nia.get_by_role("button", name="Book this time").click()
    await expect(nia.get_by_role("heading", name="Your follow-up chat is booked")).to_be_visible()
    await expect(nia.locator(".when")).to_contain_text("08:00–08:30 (America/New_York)")
    await expect(nia.get_by_role("link", name="Add to my calendar (.ics)")).to_be_visible()
    await no_horizontal_scroll(nia)
    await shot(nia, "followup-candidate-booked")
    assert not errors, errors

    async def booked(session: AsyncSession, ctx: actions.Context) -> tuple[str, str | None]:
        chat = (await session.execute(select(ChatRequest).where(ChatRequest.message.contains("follow-up link")))).scalar_one()
        assert chat.status == "confirmed"
        assert chat.starts_at is not None
        return chat.starts_at.isoformat(), chat.ends_at.isoformat() if chat.ends_at else None

    assert await demo_server.run(booked) == ("2030-01-09T13:00:00+00:00", "2030-01-09T13:30:00+00:00")
