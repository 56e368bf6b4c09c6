"""The Python room client and the room page in real Chromium, in one call: they agree on who is polite.

Also: the page's ICE restart gets the bot's fresh session, and chat goes both ways.

media/client.py is what benchmarks and bots use; the room page (web/static/room.js) is what people
use. Both follow the same negotiation rule (the connection id that sorts first is polite), so a
call between them connects whichever side is polite, and chat goes both ways.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from media.client import RoomClient, until
from tests.browser import CHROMIUM, CHROMIUM_ARGS, frames_decoded, sign_in
from tests.conftest import _service_missing
from tests.media.helpers import Seeded

pytestmark = pytest.mark.e2e



HAVE_CHROMIUM = Path(CHROMIUM).exists()


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    if not HAVE_CHROMIUM:
        _service_missing("Chromium", FileNotFoundError(f"{CHROMIUM} (make system-deps)"))
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        b = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            await b.close()




async def _grew(page: Any, than: int) -> bool:
    return await frames_decoded(page) > than


async def _poll(check: Any, within: float, what: str) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.2)


@pytest.mark.parametrize("python_is_polite", [True, False])
async def test_the_python_client_and_the_room_page_call_each_other(live: str, seeded: Seeded, browser: Any, python_is_polite: bool) -> None:
    from playwright.async_api import expect

    room = seeded.rooms[0]
    context = await browser.new_context(base_url=live, locale="en-GB")
    try:
        page = await context.new_page()
        await sign_in(page, room.talent, seeded.password)
        await page.goto(f"/chats/{room.chat_id}/room")
        await page.get_by_role("button", name="Join now").click()
        await _poll(lambda: page.evaluate("() => !!(window.fairmeetRoom && window.fairmeetRoom.welcomed)"), 15, "the page's welcome")
        browser_conn: str = await page.evaluate("() => window.fairmeetRoom.connId")
        # '-' sorts before every character a browser's id uses, 'z' * 16 after them.
        conn = "--python-polite" if python_is_polite else "z" * 16
        assert (conn < browser_conn) is python_is_polite

        async with RoomClient(live, room.chat_id, room.recruiter, seeded.password, conn_id=conn) as bot:
            await bot.join()
            await until(lambda: browser_conn in bot.links, 10, "the bot's link to the page")
            link = bot.links[browser_conn]
            assert link.polite is python_is_polite
            await until(lambda: link.connected and link.frames > 5, 20, "the page's video decoded by the bot")
            await _poll(lambda: frames_decoded(page), 20, "the bot's video decoded by the page")
            polite_on_page = await page.evaluate("() => [...window.fairmeetRoom.peers.values()].map(p => p.polite)")
            assert polite_on_page == [not python_is_polite]  # exactly one polite side

            # The page restarts ICE (as it does when a connection fails): aiortc has no ICE restart, so the bot
            # answers on a fresh peer connection; the page takes it and video flows again both ways.
            pcs = link.pcs_made
            await page.evaluate("() => [...window.fairmeetRoom.peers.values()][0].restartIce(true)")
            await until(lambda: link.pcs_made > pcs and link.connected, 15, "the bot's new session")
            frames, page_frames = link.frames, await frames_decoded(page)
            await until(lambda: link.frames > frames + 10, 15, "the page's video after the restart")
            await _poll(lambda: _grew(page, page_frames + 10), 15, "the bot's video after the restart")
            states = await page.evaluate("() => [...window.fairmeetRoom.peers.values()].map(p => p.pc.connectionState)")
            assert states == ["connected"]

            await bot.send_chat("Hello from the bot")
            await expect(page.locator("#messages")).to_contain_text("Hello from the bot")
            await page.get_by_role("textbox", name="Message").fill("Hello from the page")
            await page.get_by_role("textbox", name="Message").press("Enter")
            await until(lambda: "Hello from the page" in [m.text for m in bot.messages.values()], 10, "the page's line at the bot")
            assert bot.errors == []
    finally:
        await context.close()
