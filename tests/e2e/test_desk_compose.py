"""The console's composer tools in real Chromium, with a real candidate on the other side.

Tom (a talent at the demo event) chats with the Northwind Robotics booth from his browser; Rita takes him in the Chats
console. She is reminded that Tom is waiting and sends an automatic update; inserts a saved reply found by keyword; sends
another one in pieces (Tom's page shows each paragraph as a message of its own); is warned before repeating a line she
already sent (case and spaces aside), cancels, then sends it again on purpose; inserts an emoji; and sends the link to an
article of the event's knowledge base, which Tom opens.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import Locator, Page, expect
from sqlalchemy.ext.asyncio import AsyncSession

from scheduling import accounts, actions
from scheduling.livechat import library, routing
from tests.e2e.conftest import LiveServer, NewContext
from tests.e2e.test_booth_chat import DESKTOP, TOM, company_id, go_available, no_js_errors, open_as, panel, transcript
from tests.e2e.test_chat_flow import RITA
from web import demo

pytestmark = pytest.mark.e2e

SHOTS = Path("/tmp/e2e-shots")
BOOTH_REPLY = "We're at stand B12 in Hall 3, next to the blue robot."
STEPS = ["Thanks for chatting with us today!", "Next, we'll send you a link to book a 30-minute video interview.",
         "Bring questions: the team loves them."]
UPDATE = "I'm still with you: looking into this, one moment please."
REPEAT_QUESTION = "You (or the bot) already sent this message in this chat. Send it again?"


async def seed(server: LiveServer) -> int:
    """Rita's saved replies, an article of the demo event by its organizer, and a short reminder; returns the article's id."""
    async def run(session: AsyncSession, ctx: actions.Context) -> int:
        rita = await accounts.user_by_email(session, RITA)
        olga = await accounts.user_by_email(session, demo.ORGANIZER)
        assert rita is not None and olga is not None
        await library.create_reply(session, ctx, rita, library.ReplyIn("Booth directions", BOOTH_REPLY, "hall, map"))
        await library.create_reply(session, ctx, rita, library.ReplyIn("After the chat", "\n\n".join(STEPS), "process, next steps"))
        await library.create_reply(session, ctx, olga, library.ReplyIn("Lunch break", "We're back at 14:00.", "lunch"), server.event_id)
        article = await library.create_article(session, ctx, olga, server.event_id, library.ArticleIn(
            "How the video interviews work", "Every interview is a 1-1 video call in your browser.\n\nNo app to install.", "video, zoom"))
        await routing.set_desk_settings(session, olga, server.event_id, remind_seconds=2)
        return article.id

    article_id: int = await server.run(run)
    return article_id


def them(chat: Locator, text: str) -> Locator:
    """Tom's page: the staff's messages with exactly this text, one bubble each."""
    return chat.locator("li.lc-them").filter(has=chat.page.locator(".lc-text", has_text=re.compile(f"^{re.escape(text)}$")))


async def shot(page: Page, name: str) -> None:
    await page.screenshot(path=str(SHOTS / f"{name}.png"))


async def test_recruiter_uses_saved_replies_pieces_repeat_warning_and_articles(demo_server: LiveServer, new_context: NewContext) -> None:
    article_id = await seed(demo_server)
    northwind = await company_id(demo_server, "Northwind Robotics")
    rita = await open_as(new_context, RITA, **DESKTOP)
    await go_available(rita)

    # Tom starts a booth chat and asks; Rita takes it.
    tom = await open_as(new_context, TOM, **DESKTOP)
    await tom.goto(f"/events/{demo_server.event_id}/booths/{northwind}")
    chat = panel(tom)
    await chat.get_by_role("button", name="Start chat").click()
    box = chat.get_by_label("Message", exact=True)
    await box.fill("Hi! Where can I find you at the fair?")
    await box.press("Enter")
    await expect(chat.locator(".lc-me").filter(has_text="Where can I find you")).not_to_have_class(re.compile("lc-pending"))
    await expect(chat.get_by_role("button", name="Add an emoji")).to_be_visible()  # the event allows candidate emojis
    await rita.get_by_role("button", name="Take Tom Talent").click()
    await expect(transcript(rita)).to_contain_text("Where can I find you at the fair?")

    # Tom has waited longer than the event's reminder: the chat bar says so; one click sends an automatic update.
    bar = rita.locator("#chat-bar")
    await expect(bar).to_contain_text(re.compile(r"Tom Talent has waited \d+:\d\d for a reply"))
    await shot(rita, "compose-reminder")
    await bar.get_by_role("button", name=re.compile("^Send Tom Talent an update")).click()
    await expect(them(chat, UPDATE)).to_have_count(1)
    await expect(them(chat, UPDATE).locator(".lc-tag")).to_have_text("Automatic")
    await expect(transcript(rita).locator(".line.me").filter(has_text=UPDATE)).to_contain_text("Automatic")
    await expect(bar.get_by_text("for a reply")).to_be_hidden()

    # A saved reply found by keyword, chosen with the keyboard, inserted to edit, then sent.
    composer = rita.get_by_label("Message", exact=True)
    await rita.get_by_role("button", name="Saved replies").click()
    search = rita.get_by_role("combobox", name="Search saved replies")
    await expect(search).to_be_focused()
    await expect(rita.get_by_role("option")).to_have_count(3)  # Rita's two and the event's shared one
    await search.fill("MAP")
    await expect(rita.get_by_role("option")).to_have_count(1)
    await expect(rita.get_by_role("option", name=re.compile("Booth directions"))).to_have_attribute("aria-selected", "true")
    await shot(rita, "compose-replies-picker")
    await search.press("Enter")
    await expect(composer).to_have_value(BOOTH_REPLY)
    await expect(composer).to_be_focused()
    await composer.press("Enter")
    await expect(them(chat, BOOTH_REPLY)).to_have_count(1)

    # Another one sent in pieces: one message per paragraph, in order, on Tom's page.
    await rita.get_by_role("button", name="Saved replies").click()
    await search.fill("next steps")
    await expect(rita.get_by_role("option")).to_have_count(1)
    await rita.get_by_role("button", name="Send in pieces (3 messages)").click()
    for text in STEPS:
        await expect(them(chat, text)).to_have_count(1)
    texts = await chat.locator("li.lc-them .lc-text").all_text_contents()
    assert [t for t in texts if t in STEPS] == STEPS
    await expect(composer).to_have_value("")
    await shot(tom, "compose-pieces-candidate")

    # The same text again (other case, other spaces): a warning; Cancel keeps it unsent and in the box.
    repeat = "we're at stand b12   in hall 3, NEXT to the blue robot."
    await composer.fill(repeat)
    await composer.press("Enter")
    dialog = rita.get_by_role("dialog", name=REPEAT_QUESTION)
    await expect(dialog).to_be_visible()
    await expect(dialog).to_contain_text("Sent before by you")
    await shot(rita, "compose-repeat-warning")
    await dialog.get_by_role("button", name="Cancel").click()
    await expect(dialog).to_be_hidden()
    await expect(composer).to_have_value(repeat)
    await expect(them(chat, BOOTH_REPLY)).to_have_count(1)
    # Sent again on purpose.
    await composer.press("Enter")
    await dialog.get_by_role("button", name="Send again").click()
    await expect(them(chat, repeat)).to_have_count(1)
    # The bot's lines count too.
    await composer.fill("You're in line; someone will be with you shortly.")
    await composer.press("Enter")
    await expect(dialog).to_be_visible()
    await expect(dialog).to_contain_text("Sent before by the bot")
    await rita.keyboard.press("Escape")
    await expect(dialog).to_be_hidden()
    await composer.fill("")

    # An emoji from the grid, with the keyboard.
    await rita.get_by_role("button", name="Insert an emoji").click()
    emojis = rita.get_by_role("group", name="Emojis")
    await expect(emojis.get_by_role("button", name="slightly smiling face")).to_be_focused()
    await rita.keyboard.press("ArrowRight")
    await rita.keyboard.press("Enter")
    await expect(emojis).to_be_hidden()
    await expect(composer).to_have_value("😊")
    await composer.fill("")

    # An article's link, from the event's knowledge base; Tom opens it.
    await rita.get_by_role("button", name="Articles").click()
    await rita.get_by_role("combobox", name="Search articles").fill("zoom")
    await expect(rita.get_by_role("option", name=re.compile("How the video interviews work"))).to_be_visible()
    await shot(rita, "compose-articles-picker")
    await rita.get_by_role("combobox", name="Search articles").press("Enter")
    link = demo_server.url(f"/articles/{article_id}")
    await expect(composer).to_have_value(f"How the video interviews work: {link}")
    await composer.press("Enter")
    await expect(them(chat, f"How the video interviews work: {link}")).to_have_count(1)
    await tom.goto(link)
    await expect(tom.get_by_role("heading", level=1)).to_have_text("How the video interviews work")
    await expect(tom.get_by_text("No app to install.")).to_be_visible()

    no_js_errors(rita)
    no_js_errors(tom)
