"""The live-chat desk in real Chromium: a candidate's page and two staff consoles (Rita, Marco) on one job req.

1. Marco monitors Rita's chat invisibly (the candidate's page and socket never learn of him), joins visibly, takes
   it over, asks for a rating (the candidate rates 4 stars), and leaves last: the chat becomes a ticket and the
   transcript goes out by email.
2. With chats to accept in 30 s: the offer pops up on Rita's console with its countdown; she lets it run out and it
   moves to Marco (gone from her screen), who accepts; he invites Rita (she joins), then forwards the chat to her with a
   note; she accepts and owns it.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page, expect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from scheduling import actions
from scheduling.livechat.desk_models import Ticket
from scheduling.livechat.models import Agent, LiveChat
from scheduling.models import Event, OutboxMessage
from tests.e2e.conftest import NOW, LiveServer, NewContext
from tests.e2e.test_chat_flow import MARCO, RITA, shot
from tests.e2e.test_quickchat_console import DESKTOP, PHONE, go_available, job_with_recruiters, no_js_errors, open_page, start_chat, transcript
from tests.live import serve
from web.settings import Settings

pytestmark = pytest.mark.e2e

CLOCK = {"now": NOW}


@pytest.fixture
def demo_server(demo_template: tuple[Path, int], tmp_path: Path) -> Iterator[LiveServer]:
    """The demo event with the desk's timers running on a clock the test moves (offer time-outs)."""
    template, event_id = demo_template
    path = tmp_path / "e2e.db"
    shutil.copy(template, path)
    database_url = f"sqlite+aiosqlite:///{path}"
    CLOCK["now"] = NOW
    settings = lambda base_url: Settings(database_url=database_url, secret_key="e2e-secret-key", base_url=base_url,  # noqa: E731
                                         upload_dir=str(tmp_path / "uploads"), desk_jobs=True)
    with serve(settings, lambda: CLOCK["now"]) as base_url:
        yield LiveServer(base_url=base_url, database_url=database_url, event_id=event_id)


async def desk_settings(server: LiveServer, **values: Any) -> None:
    async def change(session: AsyncSession, ctx: actions.Context) -> None:
        event = await session.get(Event, server.event_id)
        assert event is not None
        for name, value in values.items():
            setattr(event, f"live_{name}", value)

    await server.run(change)


async def candidate_page(new_context: NewContext, server: LiveServer, job_id: int, chat: dict[str, Any]) -> tuple[Page, list[str]]:
    """The candidate's own browser on the job's page, resuming the chat started through the API; every socket frame it
    receives is kept, to check what it was (not) told."""
    context = await new_context(**PHONE)
    saved = json.dumps({"chat": chat["chat_id"], "token": chat["token"]})
    await context.add_init_script(f"sessionStorage.setItem('fairmeet-chat-{job_id}', {json.dumps(saved)});")
    page = await context.new_page()
    frames: list[str] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda payload: frames.append(payload if isinstance(payload, str) else payload.decode())))
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.js_errors = errors  # type: ignore[attr-defined]
    await page.goto(f"/jobs/{job_id}")
    return page, frames


def log(page: Page) -> Any:
    return page.locator("#lc-log")


async def seats_and_owners(server: LiveServer, chat_id: int) -> tuple[int | None, dict[int, int]]:
    async def read(session: AsyncSession, ctx: actions.Context) -> tuple[int | None, dict[int, int]]:
        chat = await session.get(LiveChat, chat_id)
        assert chat is not None
        seats = {a.user_id: a.active_chats for a in (await session.execute(select(Agent))).scalars()}
        return chat.recruiter_id, seats

    result: tuple[int | None, dict[int, int]] = await server.run(read)
    return result


# --------------------------------------------------------------------------- 1. monitor, join, take over, rate, leave


async def test_monitor_join_take_over_rating_and_leave_to_a_ticket(demo_server: LiveServer, new_context: NewContext) -> None:
    await desk_settings(demo_server, accept_seconds=0, rating_style="stars")
    job_id = await job_with_recruiters(demo_server, RITA, MARCO)
    rita = await open_page(new_context, RITA, **DESKTOP)
    marco = await open_page(new_context, MARCO, **DESKTOP)
    await go_available(rita)
    await go_available(marco)

    chat = await start_chat(demo_server, job_id, "Cara Candidate")
    cara, frames = await candidate_page(new_context, demo_server, job_id, chat)
    await expect(cara.locator("#lc-status")).to_contain_text("in line")

    await rita.get_by_role("button", name="Take Cara Candidate").click()
    await expect(transcript(rita)).to_contain_text("Rita Recruiter joined the chat")
    await expect(log(cara)).to_contain_text("Rita Recruiter joined the chat")

    # Marco sees the colleague's chat (names and times only) and monitors it: nobody is told.
    ongoing = marco.locator("#ongoing-list li").filter(has_text="Cara Candidate")
    await expect(ongoing).to_contain_text("with Rita Recruiter")
    await ongoing.get_by_role("button", name="Monitor the chat with Cara Candidate invisibly").click()
    await expect(marco.locator("#chat-title")).to_have_text("Cara Candidate")
    await expect(marco.locator("#chat-bar")).to_contain_text("the candidate doesn't see you")
    await expect(marco.locator("#composer-text")).to_be_disabled()
    await expect(rita.locator("#chat-bar")).to_contain_text("Marco Silva (monitoring, unseen)")
    await rita.locator("#composer-text").fill("Hello Cara, how can I help?")
    await rita.locator("#composer-text").press("Enter")
    await expect(transcript(marco)).to_contain_text("Hello Cara, how can I help?")
    await marco.locator("#composer-text").evaluate("el => { el.disabled = false; }")
    await marco.locator("#composer-text").focus()
    await marco.keyboard.type("typing while invisible")  # typing frames from a monitor must not reach the candidate
    await expect(log(cara)).to_contain_text("Hello Cara, how can I help?")
    await cara.wait_for_timeout(1500)
    await marco.locator("#composer-text").fill("")
    assert "Marco" not in await cara.locator("body").inner_text()
    assert not [f for f in frames if "Marco" in f], [f for f in frames if "Marco" in f]
    await shot(marco, "desk-monitoring")

    # He joins visibly: everyone is told, and both answer.
    await marco.locator("#chat-ops").get_by_role("button", name="Join this chat visibly").click()
    await expect(log(cara)).to_contain_text("Marco Silva joined the chat")
    await expect(transcript(rita)).to_contain_text("Marco Silva joined the chat")
    await expect(marco.locator("#composer-text")).to_be_enabled()
    await marco.locator("#composer-text").fill("Marco here, I lead the robotics team.")
    await marco.locator("#composer-text").press("Enter")
    await expect(log(cara)).to_contain_text("Marco here, I lead the robotics team.")
    await expect(transcript(rita)).to_contain_text("Marco here, I lead the robotics team.")

    # He takes it over: Rita's console lets it go; Cara sees who she is talking to now.
    await marco.locator("#chat-ops").get_by_role("button", name="Take this chat over").click()
    await expect(log(cara)).to_contain_text("Marco Silva took over the chat")
    await expect(cara.locator("#lc-title")).to_have_text("Marco Silva")
    await expect(rita.get_by_role("tab", name=re.compile("Cara Candidate"))).to_have_count(0)
    owner, seats = await seats_and_owners(demo_server, chat["chat_id"])
    assert owner == (await demo_server.user(MARCO)).id
    assert seats[(await demo_server.user(RITA)).id] == 0 and seats[owner] == 1

    # A rating: stars as the event chose, with a comment; the console shows it.
    await marco.locator("#chat-ops").get_by_role("button", name="Ask the candidate to rate this chat").click()
    await expect(cara.get_by_text("How was this chat?", exact=True)).to_be_visible()
    await shot(cara, "desk-rating-prompt")
    await cara.locator("label[title='4 stars']").click()
    await cara.get_by_label("Comment (optional)").fill("Quick and kind.")
    await cara.get_by_role("button", name="Send rating").click()
    await expect(cara.get_by_text("Thank you for your rating!")).to_be_visible()
    await expect(marco.locator("#chat-bar")).to_contain_text("Rated 4 of 5: “Quick and kind.”")

    # Cara asks something; Marco leaves last: a ticket with her question as its subject, the transcript by email.
    await cara.locator("#lc-text").fill("Do you sponsor visas for the robotics roles?")
    await cara.locator("#lc-text").press("Enter")
    await expect(transcript(marco)).to_contain_text("Do you sponsor visas")
    await marco.locator("#chat-ops").get_by_role("button", name="Leave this chat").click()
    dialog = marco.locator("#leave-dialog")
    await expect(dialog).to_contain_text("becomes a follow-up ticket")
    await dialog.get_by_label("Assign to").select_option(label="Rita Recruiter")
    await dialog.get_by_label("Email the transcript to the candidate").check()
    await shot(marco, "desk-leave-dialog")
    await dialog.get_by_role("button", name="Leave and make a ticket").click()
    await expect(marco.locator("#toast")).to_contain_text("Do you sponsor visas for the robotics roles?")
    await expect(log(cara)).to_contain_text("Marco Silva has left the chat. We'll follow up by email.")

    async def ticket_and_mail(session: AsyncSession, ctx: actions.Context) -> tuple[Ticket, list[OutboxMessage]]:
        ticket = (await session.execute(select(Ticket).where(Ticket.live_chat_id == chat["chat_id"]))).scalar_one()
        mails = list((await session.execute(select(OutboxMessage).where(OutboxMessage.kind == "live_transcript"))).scalars())
        return ticket, mails

    ticket, mails = await demo_server.run(ticket_and_mail)
    assert ticket.subject == "Do you sponsor visas for the robotics roles?" and ticket.status == "open"
    assert ticket.assignee_id == (await demo_server.user(RITA)).id
    assert len(mails) == 1 and "Do you sponsor visas" in mails[0].body_text and "Marco here" in mails[0].body_text
    for page in (rita, marco, cara):
        no_js_errors(page)


# --------------------------------------------------------------------------- 2. offers that run out, invite, forward


async def test_offer_time_out_moves_it_on_then_invite_and_forward(demo_server: LiveServer, new_context: NewContext) -> None:
    await desk_settings(demo_server, accept_seconds=30)
    job_id = await job_with_recruiters(demo_server, RITA, MARCO)
    rita = await open_page(new_context, RITA, **DESKTOP)
    marco = await open_page(new_context, MARCO, **DESKTOP)
    for page in (rita, marco):
        await go_available(page)
        await page.get_by_label("Give me waiting candidates automatically").check()
        await expect(page.locator("#seat-status")).to_have_text("Saved.")
    rita_id, marco_id = (await demo_server.user(RITA)).id, (await demo_server.user(MARCO)).id

    async def idle_order(session: AsyncSession, ctx: actions.Context) -> None:
        # Rita has been idle longest: she is offered first.
        (await session.get(Agent, rita_id)).last_assigned_at = NOW - dt.timedelta(hours=2)  # type: ignore[union-attr]
        (await session.get(Agent, marco_id)).last_assigned_at = NOW - dt.timedelta(hours=1)  # type: ignore[union-attr]

    await demo_server.run(idle_order)
    chimes = await rita.evaluate("() => window.fairmeetConsoleChimes || 0")
    chat = await start_chat(demo_server, job_id, "Dev Candidate")
    cara, _ = await candidate_page(new_context, demo_server, job_id, chat)

    popup = rita.locator("#offers")
    await expect(popup).to_be_visible()
    await expect(popup).to_contain_text("Dev Candidate")
    await expect(popup.locator(".offerleft")).to_have_text(re.compile(r"^([12]?\d|30) s left to accept$"))  # counting down from 30
    assert await rita.evaluate("() => window.fairmeetConsoleChimes || 0") > chimes  # it rang
    await expect(marco.locator("#offers")).to_be_hidden()
    await shot(rita, "desk-offer-popup")

    # Rita lets it run out: the offer leaves her screen and goes to Marco, the next free member.
    CLOCK["now"] = NOW + dt.timedelta(seconds=31)
    await expect(popup).to_be_hidden(timeout=15_000)
    await expect(rita.locator("#toast")).to_contain_text("time to accept ran out")
    await expect(marco.locator("#offers")).to_contain_text("Dev Candidate")
    await marco.locator("#offers").get_by_role("button", name="Accept the chat with Dev Candidate").click()
    await expect(marco.locator("#chat-title")).to_have_text("Dev Candidate")
    await expect(log(cara)).to_contain_text("Marco Silva joined the chat")
    owner, seats = await seats_and_owners(demo_server, chat["chat_id"])
    assert owner == marco_id and seats[marco_id] == 1 and seats[rita_id] == 0

    # Marco invites Rita: she gets an invitation, joins, and stays beside him.
    await marco.locator("#chat-ops").get_by_role("button", name="Invite a colleague into this chat").click()
    await marco.locator("#invite-dialog").get_by_label("Colleague").select_option(label="Rita Recruiter")
    await marco.locator("#invite-dialog").get_by_label("Note").fill("She knows the visa rules")
    await marco.locator("#invite-dialog").get_by_role("button", name="Invite").click()
    await expect(rita.locator("#offers")).to_contain_text("She knows the visa rules")
    await rita.locator("#offers").get_by_role("button", name="Join the chat with Dev Candidate").click()
    await expect(log(cara)).to_contain_text("Rita Recruiter joined the chat")
    await expect(marco.locator("#chat-bar")).to_contain_text("Also here: Rita Recruiter")

    # Rita leaves again; Marco forwards the chat to her with a note; she accepts and owns it.
    rita.once("dialog", lambda d: d.accept())
    await rita.locator("#chat-ops").get_by_role("button", name="Leave this chat").click()
    await expect(log(cara)).to_contain_text("Rita Recruiter left the chat")
    await expect(rita.locator("#toast")).to_have_text("You left the chat with Dev Candidate.")
    await marco.locator("#chat-ops").get_by_role("button", name="Forward this chat to a colleague or a team").click()
    forward = marco.locator("#forward-dialog")
    await forward.get_by_label("To").select_option(value=f"user:{rita_id}")
    await forward.get_by_label("Note for them").fill("Wants a visa answer by Friday")
    await forward.get_by_role("button", name="Forward").click()
    await expect(log(cara)).to_contain_text("Marco Silva is transferring you to Rita Recruiter")
    await expect(cara.locator("#lc-status")).to_contain_text("transferred")
    await expect(marco.get_by_role("tab", name=re.compile("Dev Candidate"))).to_have_count(0)
    await expect(rita.locator("#offers")).to_contain_text("Wants a visa answer by Friday")
    await expect(rita.locator("#offers")).to_contain_text("Forwarded to you by Marco Silva")
    await rita.locator("#offers").get_by_role("button", name="Accept the chat with Dev Candidate").click()
    await expect(rita.locator("#chat-bar")).to_contain_text("Forwarded by Marco Silva: “Wants a visa answer by Friday”")
    await expect(log(cara)).to_contain_text("Rita Recruiter joined the chat")
    owner, seats = await seats_and_owners(demo_server, chat["chat_id"])
    assert owner == rita_id and seats[rita_id] == 1 and seats[marco_id] == 0
    await shot(rita, "desk-forwarded")
    for page in (rita, marco, cara):
        no_js_errors(page)
