"""Issue 9, second round (F4): GET /events, the My events cards, the sign-in link pages, the event nav's names, the import's
'did you mean' note, the duplicate company's message, links in announcements, and the day on Join. SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import re

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from scheduling import accounts, actions, announcements
from scheduling.db import create_sessionmaker
from tests.factories import PASSWORD, make_world
from tests.web.conftest import FakeClock
from tests.web.test_pages import csrf_of, sign_in
from tests.web.test_roster import HEADER, organizer, preview
from tests.web.test_time_format import _confirmed, _join
from web.linkify import linkify

# --------------------------------------------------------------------------- 8. GET /events


async def test_get_events_goes_home_instead_of_405(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    r = await client.get("/events")
    assert r.status_code == 303 and r.headers["location"] == "/"
    await organizer(client, engine, clock)
    r = await client.get("/events")
    assert r.status_code == 303 and r.headers["location"] == "/"
    assert (await client.get("/events", follow_redirects=True)).status_code == 200
    assert (await client.head("/events")).status_code == 303


# --------------------------------------------------------------------------- 9. My events cards


async def test_event_card_links_its_title_only(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    w, _sm = await organizer(client, engine, clock)
    home = await client.get("/", follow_redirects=True)
    # One event: home goes straight to it; the list is still there at / for two events. Add a second one.
    sm = create_sessionmaker(engine)
    async with sm() as s, s.begin():
        ctx = actions.Context(now=clock.now)
        admin = await accounts.user_by_email(s, "admin@example.test")
        assert admin is not None
        other = await actions.create_event(s, ctx, admin, name="Autumn Days", timezone="Europe/Berlin",
                                           starts_at=clock.now + dt.timedelta(days=30), ends_at=clock.now + dt.timedelta(days=31),
                                           fmt=actions.ChatFormat())
        await actions.add_participant(s, ctx, admin, other.id, email="org@example.test", name="Olga Organizer", role="organizer")
    home = await client.get("/")
    assert home.status_code == 200 and "My events" in home.text
    cards = re.findall(r'<article class="card eventcard"[^>]*>(.*?)</article>', home.text, re.S)
    assert len(cards) == 2
    for card in cards:
        links = re.findall(r"<a\b[^>]*>(.*?)</a>", card, re.S)
        assert len(links) == 1 and links[0] in ("Spring Hiring Days", "Autumn Days")  # the title, not the date or the badge
        assert re.search(r'<h2><a class="eventcard-link" href="/events/\d+">', card)
        assert '<span class="badge">Organizer</span>' in card
    assert f'href="/events/{w.event_id}"' in home.text and '<a class="card' not in home.text


# --------------------------------------------------------------------------- 13. sign-in link pages


async def _link(engine: AsyncEngine, clock: FakeClock, email: str = "tal0@example.test", minutes: int = 30) -> str:
    sm = create_sessionmaker(engine)
    await make_world(sm, clock.now)
    async with sm() as s, s.begin():
        user = await accounts.user_by_email(s, email)
        assert user is not None
        return await accounts.issue_login_link(s, user, now=clock.now, lifetime=dt.timedelta(minutes=minutes))


async def test_link_landing_greets_by_first_name_without_mentioning_email(client: httpx.AsyncClient, engine: AsyncEngine,
                                                                           clock: FakeClock) -> None:
    secret = await _link(engine, clock)
    landing = await client.get(f"/login/link/{secret}?next=/account")
    assert landing.status_code == 200
    assert "Continue to sign in as <strong>Tom</strong>." in landing.text
    assert "from your email" not in landing.text and "tal0@example.test" not in landing.text and "Talent 0" not in landing.text
    r = await client.post(f"/login/link/{secret}", data={"csrf": csrf_of(landing.text), "next": "/account"})
    assert r.status_code == 303 and r.headers["location"] == "/account"


async def test_spent_or_unknown_link_names_no_one_and_offers_a_new_link(client: httpx.AsyncClient, engine: AsyncEngine,
                                                                         clock: FakeClock) -> None:
    secret = await _link(engine, clock)
    landing = await client.get(f"/login/link/{secret}")
    await client.post(f"/login/link/{secret}", data={"csrf": csrf_of(landing.text)})
    client.cookies.clear()
    for url in (f"/login/link/{secret}", "/login/link/not-a-real-token"):
        page = await client.get(url)
        assert page.status_code == 410, url
        assert "This sign-in link has expired or was already used." in page.text
        assert "Get a new sign-in link" in page.text and 'action="/login/link"' in page.text and 'type="email" name="email"' in page.text
        assert "Tom" not in page.text and "Back to my events" not in page.text and "Continue</button>" not in page.text
    # Spent between the page and the click: the same page, 410.
    r = await client.post(f"/login/link/{secret}", data={"csrf": csrf_of(page.text)})
    assert r.status_code == 410 and "Get a new sign-in link" in r.text and "Tom" not in r.text
    # Its form asks for a new link.
    r = await client.post("/login/link", data={"csrf": csrf_of(page.text), "email": "tal0@example.test"})
    assert r.status_code == 303 and r.headers["location"] == "/login"


async def test_expired_link_names_no_one(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    secret = await _link(engine, clock, minutes=30)
    clock.now += dt.timedelta(minutes=31)
    page = await client.get(f"/login/link/{secret}")
    assert page.status_code == 410 and "Tom" not in page.text and "Get a new sign-in link" in page.text


async def test_link_for_someone_else_says_who_is_signed_in(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    secret = await _link(engine, clock)
    await sign_in(client, "org@example.test")
    page = await client.get(f"/login/link/{secret}")
    assert page.status_code == 200
    assert "You are signed in as Olga Organizer on this browser; continuing signs you in as Tom instead." in page.text
    # A signed-in person on a spent link is sent to their events, not offered a new link.
    landing = page
    await client.post(f"/login/link/{secret}", data={"csrf": csrf_of(landing.text)})
    spent = await client.get(f"/login/link/{secret}")
    assert spent.status_code == 410 and 'href="/">Go to my events</a>' in spent.text and 'action="/login/link"' not in spent.text


async def test_stale_form_shows_the_landing_again(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    secret = await _link(engine, clock)
    await client.get(f"/login/link/{secret}")
    r = await client.post(f"/login/link/{secret}", data={"csrf": "forged"})
    assert r.status_code == 403 and "The page had expired; press Continue again." in r.text and "Continue</button>" in r.text


# --------------------------------------------------------------------------- 14. the event nav


def _nav(html: str) -> list[str]:
    nav = re.search(r'<nav class="eventnav" aria-label="Event">(.*?)</nav>', html, re.S)
    assert nav
    return [re.sub(r"\s+", " ", t).strip() for t in re.findall(r"<a\b[^>]*>(.*?)</a>", nav.group(1), re.S)]


async def test_nav_names_are_distinct_and_in_sentence_case(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    sm = create_sessionmaker(engine)
    w = await make_world(sm, clock.now)
    await sign_in(client, "rec0@example.test")
    page = await client.get(f"/events/{w.event_id}")
    assert _nav(page.text) == ["1-1 chats", "Recruiters", "Talents", "Schedule", "Availability", "Profile", "Help"]
    client.cookies.clear()
    await sign_in(client, "tal0@example.test")
    page = await client.get(f"/events/{w.event_id}")
    assert _nav(page.text) == ["1-1 chats", "Recruiters", "Schedule", "Profile", "Help"]
    for old in ("My Schedule", "My calendar", "My profile", "1-1 Chats"):
        assert old not in _nav(page.text)


# --------------------------------------------------------------------------- 15a. did you mean


async def test_import_notes_a_company_name_close_to_one_there(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    w, _sm = await organizer(client, engine, clock)
    text = (HEADER
            + "Rob One,rob1@import.test,recruiter,Acme Robotcs,\n"   # row 2: a typo of the event's Acme Robotics
            + "Nia Two,nia2@import.test,recruiter,Nova Labs,\n"      # rows 3-4: a new company, spelled the same twice
            + "Nia Three,nia3@import.test,recruiter,Nova Labs,\n"
            + "Nia Four,nia4@import.test,recruiter,Nova Lbas,\n"     # row 5: the odd one out
            + "Bea Five,bea5@import.test,recruiter,Brand New Co,\n")  # row 6: nothing like it
    r = await preview(client, w.event_id, text)
    assert r.status_code == 200 and "Import all" in r.text  # notes, not errors
    page = re.sub(r"<[^>]+>", "", r.text)
    assert "new company “Acme Robotcs” — did you mean “Acme Robotics”?" in page
    assert "new company “Nova Lbas” — did you mean “Nova Labs”?" in page
    assert "new company “Nova Labs” — did you mean" not in page and "new company “Nova Labs”" in page
    assert "new company “Brand New Co” — did you mean" not in page and "new company “Brand New Co”" in page


# --------------------------------------------------------------------------- 15b. duplicate company


async def test_duplicate_company_names_the_company_there(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    w, _sm = await organizer(client, engine, clock)
    page = await client.get(f"/events/{w.event_id}/manage")
    r = await client.post(f"/events/{w.event_id}/manage", data={"csrf": csrf_of(page.text), "op": "company", "name": "acme ROBOTICS"})
    assert r.status_code == 409
    assert "There is already a company called “Acme Robotics” in this event." in r.text and "&#39;acme ROBOTICS&#39;" not in r.text
    assert 'value="acme ROBOTICS"' in r.text  # what was typed stays in the field
    api = await client.post("/api/v1/tokens", json={"email": "org@example.test", "password": PASSWORD})
    headers = {"Authorization": f"Bearer {api.json()['token']}"}
    r = await client.post(f"/api/v1/events/{w.event_id}/companies", json={"name": "ACME robotics"}, headers=headers)
    assert r.status_code == 409 and r.json()["error"]["message"] == "There is already a company called “Acme Robotics” in this event."


# --------------------------------------------------------------------------- 15c. links in announcements


def test_linkify_escapes_first_and_links_only_http() -> None:
    out = str(linkify('See https://example.org/agenda. <script>alert("x")</script> javascript:alert(1) '
                      "(map: https://en.example/wiki/Hall_(B)) http://x.example/?a=1&b=<2>"))
    assert "<script>" not in out and "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in out
    assert "javascript:alert(1)" in out and 'href="javascript' not in out
    assert '<a href="https://example.org/agenda" rel="noopener noreferrer" target="_blank">https://example.org/agenda</a>. ' in out
    assert '<a href="https://en.example/wiki/Hall_(B)" rel="noopener noreferrer" target="_blank">https://en.example/wiki/Hall_(B)</a>)' in out
    assert '<a href="http://x.example/?a=1&amp;b=" rel="noopener noreferrer" target="_blank">http://x.example/?a=1&amp;b=</a>&lt;2&gt;' in out
    assert str(linkify("https:// nothing")) == "https:// nothing"
    assert str(linkify('"onmouseover="x https://a.example/"onclick="y')) == (
        '&#34;onmouseover=&#34;x <a href="https://a.example/" rel="noopener noreferrer" target="_blank">https://a.example/</a>'
        '&#34;onclick=&#34;y'
    )


async def test_announcement_links_are_clickable_and_safe(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    sm = create_sessionmaker(engine)
    w = await make_world(sm, clock.now)
    async with sm() as s, s.begin():
        await announcements.post(s, actions.Context(now=clock.now), w.organizer, w.event_id, audience="all", title="Agenda",
                                 body="Agenda: https://fair.example/agenda\n<script>alert(1)</script> javascript:alert(2)")
    await sign_in(client, "tal0@example.test")
    page = await client.get(f"/events/{w.event_id}")
    body = re.search(r'<p class="announce-body">(.*?)</p>', page.text, re.S)
    assert body is not None
    assert body.group(1) == ('Agenda: <a href="https://fair.example/agenda" rel="noopener noreferrer" target="_blank">'
                             "https://fair.example/agenda</a>\n&lt;script&gt;alert(1)&lt;/script&gt; javascript:alert(2)")


# --------------------------------------------------------------------------- 15d. the day on Join


async def test_join_gives_the_day_when_the_room_opens_another_day(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    w, chat = await _confirmed(engine, clock)  # booked for 01:00 UTC on Sat 21 Mar; the room opens 00:55 UTC; now Fri 08:00 UTC
    await sign_in(client, "rec0@example.test")  # zone America/New_York: the room opens Fri 20:55 EDT, today there
    assert _join((await client.get(f"/chats/{chat.id}")).text) == "btn join join-wait | Room opens at 20:55 EDT"
    page = await client.get("/account")
    await client.post("/account", data={"csrf": csrf_of(page.text), "timezone": "Europe/Berlin", "headline": ""})
    for url in (f"/chats/{chat.id}", f"/events/{w.event_id}/schedule"):  # in Berlin it opens on Saturday, tomorrow
        assert _join((await client.get(url)).text) == "btn join join-wait | Room opens Sat 21 Mar, 01:55 CET", url
    clock.now = dt.datetime(2026, 3, 21, 0, 10, tzinfo=dt.UTC)  # 01:10 CET on Saturday: today
    assert _join((await client.get(f"/chats/{chat.id}")).text) == "btn join join-wait | Room opens at 01:55 CET"
