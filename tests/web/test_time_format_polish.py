"""Findings #13 and #14: every page names a favicon that answers 200 (no 404 and console error per page), and the
interface's icons are drawn (icons.svg, CSS), never characters that need a font the viewer may not have."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from scheduling.db import create_sessionmaker
from tests.factories import make_world
from tests.web.conftest import FakeClock
from tests.web.test_pages import sign_in

WEB = Path(__file__).parents[2] / "web"

# Characters that are text, not icons: typography and letters any text font has.
TEXT = set("·…“”‘’—–éèüöäß©×") | {"\u00a0"}
# Characters allowed in one file only, and why.
ALLOWED: dict[str, tuple[set[str], str]] = {
    # Emoji the compose boxes insert into a message: the message's content, shown as the reader's system shows emoji.
    "static/livechat/console_compose.js": (set("🙂😊😀😉👍👏🙏👋🎉✅💡🤝📅📍⏳❤️↑↓"), "emoji picker content; arrow keys named in a hint"),
    "static/livechat/candidate_compose.js": (set("🙂😊😀😉👍👏🙏👋🎉✅🤔😅❤️"), "emoji picker content"),
    "static/livechat/console_alerts.js": (set("●"), "a mark in the tab's title (document.title holds text only)"),
    "templates/livechat/staff_console.html": (set("↑↓⌘"), "keyboard keys named inside <kbd>"),
    "templates/livechat/demo_careers.html": (set("›"), "the made-up careers site's own breadcrumb text"),
    "convertors.py": (set("²"), "a docstring's example"),
    "livechat/desk_api.py": (set("→"), "a docstring's example"),
}


def _files() -> list[Path]:
    found = [*WEB.joinpath("templates").rglob("*.html")]
    for ext in ("*.js", "*.css"):
        found += [p for p in WEB.joinpath("static").rglob(ext) if "vendor" not in p.parts]
    found += [p for p in WEB.rglob("*.py")]
    return found


def test_no_glyph_icons_outside_the_allow_list() -> None:
    offenders = []
    for path in _files():
        rel = path.relative_to(WEB).as_posix()
        allowed, _why = ALLOWED.get(rel, (set(), ""))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for ch in line:
                if ord(ch) < 128 or ch in TEXT or ch in allowed or unicodedata.category(ch) in ("Mn", "Cf"):
                    continue
                if unicodedata.category(ch).startswith("L"):  # letters of names and words
                    continue
                offenders.append(f"{rel}:{n}: {ch!r} {unicodedata.name(ch, '?')}")
    assert not offenders, "\n".join(offenders)


def test_every_page_head_links_the_favicon() -> None:
    heads = [p for p in WEB.joinpath("templates").rglob("*.html") if "<head>" in p.read_text(encoding="utf-8")]
    assert len(heads) >= 6
    for path in heads:
        assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in path.read_text(encoding="utf-8"), path


async def test_favicon_answers_200_on_both_addresses(client: httpx.AsyncClient) -> None:
    for url in ("/favicon.ico", "/static/favicon.svg"):
        r = await client.get(url)
        assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg+xml") and r.text.startswith("<svg"), url
    icons = await client.get("/static/icons.svg")
    assert icons.status_code == 200
    for name in ("logo", "clock", "hourglass", "check", "back", "both", "star", "star-empty", "face-happy", "face-neutral", "face-sad"):
        assert f'<symbol id="{name}"' in icons.text, name


async def test_pages_link_the_favicon_and_draw_their_icons(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    w = await make_world(create_sessionmaker(engine), clock.now)
    login = await client.get("/login")
    assert 'rel="icon"' in login.text and 'href="/static/icons.svg#logo"' in login.text and "◆" not in login.text
    await sign_in(client, "tal0@example.test")
    for url in (f"/events/{w.event_id}", f"/events/{w.event_id}/schedule", "/account", "/mailbox", "/events/999999"):
        page = await client.get(url)
        assert 'rel="icon"' in page.text and 'href="/static/icons.svg#logo"' in page.text, url
    # Every icon the pages use exists in the sprite.
    sprite = (await client.get("/static/icons.svg")).text
    used = set()
    for path in WEB.joinpath("templates").rglob("*.html"):
        used |= set(re.findall(r"icon\('([a-z-]+)'", path.read_text(encoding="utf-8")))
        used |= set(re.findall(r'icon\("([a-z-]+)"', path.read_text(encoding="utf-8")))
    assert used and all(f'<symbol id="{name}"' in sprite for name in used), used


def test_ratings_are_drawn_stars_and_faces() -> None:
    from web.livechat.report_pages import rating_marks

    stars = str(rating_marks("stars", 3, 5))
    assert stars.count("#star\"") == 3 and stars.count("#star-empty\"") == 2 and "★" not in stars and "☆" not in stars
    assert "#face-sad" in str(rating_marks("smileys", 1, 3)) and "#face-happy" in str(rating_marks("smileys", 3, 3))
