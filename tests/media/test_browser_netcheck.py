"""The check screen's network test in real Chromium: the direct route, and the relay route through coturn."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser import sign_in
from tests.live import serve
from tests.media.helpers import IN_ROOM_HOURS, SECRET, Seeded, Turn
from tests.media.test_browser_interop import browser  # noqa: F401 -- the Chromium fixture
from web.settings import Settings

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("turn_works", [True, False])
async def test_check_screen_tests_the_relay_route(media_db: str, seeded: Seeded, coturn: Turn, browser: Any, turn_works: bool) -> None:  # noqa: F811
    from playwright.async_api import expect

    # A wrong secret stands for a TURN server that refuses us: the page must say the fallback doesn't work.
    secret = coturn.secret if turn_works else "not-the-secret"

    def settings(base: str) -> Settings:
        return Settings(database_url=media_db, secret_key=SECRET, base_url=base, turn_urls=[coturn.url], turn_secret=secret)

    room = seeded.rooms[0]
    with serve(settings, lambda: IN_ROOM_HOURS) as live:
        context = await browser.new_context(base_url=live, locale="en-GB")
        try:
            page = await context.new_page()
            await sign_in(page, room.talent, seeded.password)
            await page.goto(f"/chats/{room.chat_id}/room")
            await expect(page.locator("#net-result")).to_have_text("Your connection looks good.", timeout=20_000)
            expected = "Fallback route through our relay server works" if turn_works else "doesn't work"
            await expect(page.locator("#net-relay")).to_contain_text(expected, timeout=30_000)
        finally:
            await context.close()
