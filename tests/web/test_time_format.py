"""One sense of time: every time shown is 24-hour and names its zone, the event bar shows the event's days, the footer
the viewer's zone, the zone pickers offer real IANA zones only (and the server checks the same list), and Join says when
the room opens until it has opened (by the server's clock)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from scheduling import actions, timefmt
from scheduling.db import create_sessionmaker
from scheduling.models import ChatRequest, User
from tests.factories import PASSWORD, World, make_world
from tests.web.conftest import FakeClock, token
from tests.web.test_pages import csrf_of, sign_in

TEMPLATES = Path(__file__).parents[2] / "web" / "templates"
BERLIN = timefmt.zone("Europe/Berlin")


# --------------------------------------------------------------------------- the zone list and the formats


def test_the_zone_list_holds_real_places_and_utc_only() -> None:
    zones = timefmt.all_zones()
    assert zones[0] == "UTC" and len(zones) == len(set(zones)) and len(zones) > 300
    assert {"Europe/Berlin", "America/New_York", "Asia/Kolkata", "Asia/Kathmandu", "America/Argentina/Buenos_Aires"} <= set(zones)
    for junk in ("localtime", "Factory", "posixrules", "Etc/UTC", "Etc/GMT+5", "GMT", "EST5EDT", "CET", "US/Eastern", "Asia/Calcutta",
                 "posix/Europe/Berlin", "right/UTC", "SystemV/EST5"):
        assert junk not in zones and not timefmt.is_valid_zone(junk), junk
    assert not any(z.startswith(("Etc/", "posix/", "right/", "SystemV/", "US/")) for z in zones)
    assert all(z == "UTC" or "/" in z for z in zones)


def test_typed_and_browser_zone_names_map_to_the_list() -> None:
    assert timefmt.canonical_zone("Asia/Calcutta") == "Asia/Kolkata"  # what Chrome reports in India
    assert timefmt.canonical_zone("Etc/UTC") == "UTC" and timefmt.canonical_zone("US/Eastern") == "America/New_York"
    assert timefmt.canonical_zone("localtime") is None and timefmt.canonical_zone("Factory") is None and timefmt.canonical_zone("") is None
    assert timefmt.pick_zone("europe/berlin") == "Europe/Berlin" and timefmt.pick_zone("America/New York") == "America/New_York"
    assert timefmt.pick_zone("Berlin") == "Europe/Berlin" and timefmt.pick_zone(" UTC ") == "UTC"
    assert timefmt.pick_zone("Factory") is None and timefmt.pick_zone("Etc/GMT+5") is None and timefmt.pick_zone("Nowhere") is None


def test_formats_are_24_hour_and_name_their_zone() -> None:
    at = dt.datetime(2026, 3, 10, 13, 5, tzinfo=dt.UTC)
    assert timefmt.stamp(at, BERLIN) == "Tue 10 Mar 2026, 14:05 CET"
    assert timefmt.stamp(at.replace(hour=20), BERLIN) == "Tue 10 Mar 2026, 21:05 CET"  # not 9:05 PM
    assert timefmt.stamp(at, timefmt.zone("America/Sao_Paulo")) == "Tue 10 Mar 2026, 10:05 UTC-03"  # no letters in the tz database
    assert timefmt.stamp(at, timefmt.zone("Asia/Kathmandu")) == "Tue 10 Mar 2026, 18:50 UTC+05:45"
    assert timefmt.clock_zoned(at, BERLIN) == "14:05 CET" and timefmt.clock_zoned(at + dt.timedelta(days=30), BERLIN) == "15:05 CEST"
    assert timefmt.hours(at, at + dt.timedelta(minutes=30), BERLIN) == "14:05–14:35 CET"
    # Across the autumn change each end names its own offset.
    night = dt.datetime(2026, 10, 25, 0, 30, tzinfo=dt.UTC)
    assert timefmt.hours(night, night + dt.timedelta(hours=1), BERLIN) == "02:30 CEST–02:30 CET"


def test_date_ranges() -> None:
    start = dt.datetime(2026, 3, 10, 8, 0, tzinfo=dt.UTC)
    assert timefmt.date_range(start, start + dt.timedelta(days=2, hours=8), BERLIN) == "Tue 10 – Thu 12 Mar 2026"
    assert timefmt.date_range(start, start + dt.timedelta(hours=8), BERLIN) == "Tue 10 Mar 2026"
    assert timefmt.date_range(start, start + dt.timedelta(days=25), BERLIN) == "Tue 10 Mar – Sat 04 Apr 2026"
    assert timefmt.date_range(start + dt.timedelta(days=294), start + dt.timedelta(days=300), BERLIN) == "Tue 29 Dec 2026 – Mon 04 Jan 2027"
    # An end at midnight ends the day before.
    midnight = dt.datetime(2026, 3, 11, 23, 0, tzinfo=dt.UTC)  # 00:00 on the 12th in Berlin
    assert timefmt.date_range(start, midnight, BERLIN) == "Tue 10 – Wed 11 Mar 2026"


def test_no_template_formats_a_time_of_day_itself() -> None:
    """Times of day go through the render() helpers (when, clock, clock_tz, hours, stamp), which name the zone."""
    offenders = []
    for path in TEMPLATES.rglob("*.html"):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for call in re.findall(r"strftime\(([^)]*)\)", line):
                if "%H" in call or "%I" in call or "%p" in call:
                    if "type=\"time\"" not in line and "time_input(" not in line:  # a time field's value is a form value, not a time shown
                        offenders.append(f"{path.relative_to(TEMPLATES)}:{n}: {call}")
    assert not offenders, offenders


# --------------------------------------------------------------------------- pages


async def test_event_bar_shows_the_event_days_and_the_footer_the_viewers_zone(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    w = await make_world(create_sessionmaker(engine), clock.now)
    await sign_in(client, "tal0@example.test")  # the browser says America/New_York
    page = await client.get(f"/events/{w.event_id}/schedule")
    assert page.status_code == 200
    # 2026-03-21 00:00 UTC to 2026-03-23 00:00 UTC: Saturday 01:00 to Monday 01:00 in Berlin.
    assert re.search(r'data-testid="event-days">Sat 21 – Mon 23 Mar 2026 · Europe/Berlin<', page.text), page.text
    assert "Times are shown in America/New_York, 24-hour" in page.text
    assert 'data-tz="America/New_York"' in page.text  # what the page's scripts format times in
    home = await client.get("/account")
    assert "Times are shown in America/New_York" in home.text


async def test_account_zone_picker_is_searchable_and_offers_only_real_zones(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    sm = create_sessionmaker(engine)
    await make_world(sm, clock.now)
    await sign_in(client, "tal0@example.test")
    page = await client.get("/account")
    box = re.search(r'<input id="account-tz" name="timezone" list="account-tz-zones" value="([^"]*)"', page.text)
    assert box and box.group(1) == "America/New_York"
    listed = re.findall(r'<option value="([^"]+)"></option>', page.text.split('<datalist id="account-tz-zones">', 1)[1].split("</datalist>", 1)[0])
    assert listed == timefmt.all_zones()
    assert "localtime" not in listed and "Factory" not in listed and not any(z.startswith("Etc/") for z in listed)

    # Something not in the list: refused in words, the page keeps what was typed (and the headline), nothing saved.
    r = await client.post("/account", data={"csrf": csrf_of(page.text), "timezone": "Factory", "headline": "Kept headline"})
    assert r.status_code == 422 and "Time zone: &#39;Factory&#39; is not one we know. Pick one from the list" in r.text
    assert 'value="Factory"' in r.text and 'value="Kept headline"' in r.text
    async with sm() as s:
        user = await s.get(User, (await _user_id(sm, "tal0@example.test")))
        assert user is not None and user.timezone == "America/New_York" and user.headline == ""
    # Typed loosely: found and saved under its list name.
    r = await client.post("/account", data={"csrf": csrf_of(page.text), "timezone": "berlin", "headline": "Backend engineer"})
    assert r.status_code == 303
    saved = await client.get("/account")
    assert "Saved. Times now show in Europe/Berlin." in saved.text and "Times are shown in Europe/Berlin" in saved.text


async def _user_id(sm: object, email: str) -> int:
    from sqlalchemy import select
    from sqlalchemy.ext.asyncio import async_sessionmaker

    assert isinstance(sm, async_sessionmaker)
    async with sm() as s:
        uid = (await s.execute(select(User.id).where(User.email == email))).scalar_one()
    assert isinstance(uid, int)
    return uid


async def test_event_form_zone_picker_and_the_api_use_the_same_list(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    w = await make_world(create_sessionmaker(engine), clock.now)
    await sign_in(client, "admin@example.test")
    page = await client.get("/events/new")
    assert page.status_code == 200 and 'name="timezone" list="event-tz-zones"' in page.text
    listed = re.findall(r'<option value="([^"]+)"></option>', page.text.split('<datalist id="event-tz-zones">', 1)[1].split("</datalist>", 1)[0])
    assert listed == timefmt.all_zones()
    manage = await client.get(f"/events/{w.event_id}/manage")
    assert re.search(r'name="timezone" list="event-tz-zones" value="Europe/Berlin"', manage.text)
    headers = await token(client, "admin@example.test", PASSWORD)
    body = {"name": "Zones", "timezone": "localtime", "starts_at": "2026-04-01T08:00:00Z", "ends_at": "2026-04-01T16:00:00Z"}
    r = await client.post("/api/v1/events", json=body, headers=headers)
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_timezone"
    r = await client.post("/api/v1/events", json={**body, "timezone": "Etc/GMT-2"}, headers=headers)
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_timezone"
    r = await client.post("/api/v1/events", json={**body, "timezone": "Asia/Kolkata"}, headers=headers)
    assert r.status_code == 201, r.text


async def test_sign_in_takes_an_old_browser_zone_name_as_the_lists(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    await make_world(create_sessionmaker(engine), clock.now)
    login = await client.get("/login")
    r = await client.post("/login", data={"email": "tal0@example.test", "password": PASSWORD, "csrf": csrf_of(login.text), "next": "/account",
                                          "tz": "Asia/Calcutta"})
    assert r.status_code == 303
    assert "Times are shown in Asia/Kolkata" in (await client.get("/account")).text


# --------------------------------------------------------------------------- Join says when the room opens


async def _confirmed(engine: AsyncEngine, clock: FakeClock) -> tuple[World, ChatRequest]:
    sm = create_sessionmaker(engine)
    w = await make_world(sm, clock.now)
    ctx = actions.Context(now=clock.now)
    async with sm() as s, s.begin():
        chat = await actions.send_request(s, ctx, w.talents[0], w.event_id, recruiter_id=w.recruiters[0].id)
        await actions.accept(s, ctx, w.recruiters[0], chat.id)
        await actions.book(s, ctx, w.talents[0], chat.id, dt.datetime(2026, 3, 21, 1, 0, tzinfo=dt.UTC))  # 02:00 CET
    return w, chat


def _join(html: str) -> str:
    found = re.search(r'<a class="([^"]*\bjoin\b[^"]*)"[^>]*>(.*?)</a>', html, re.S)
    assert found, "no Join button"
    return found.group(1) + " | " + re.sub(r"<[^>]+>", "", found.group(2)).strip()


async def test_join_says_when_the_room_opens_and_is_the_primary_action_only_then(client: httpx.AsyncClient, engine: AsyncEngine,
                                                                                  clock: FakeClock) -> None:
    w, chat = await _confirmed(engine, clock)
    await sign_in(client, "rec0@example.test")
    # The recruiter keeps the event's zone (sign_in sent New York, but a zone is set only once: set it to Berlin).
    page = await client.get("/account")
    await client.post("/account", data={"csrf": csrf_of(page.text), "timezone": "Europe/Berlin", "headline": ""})
    urls = (f"/events/{w.event_id}/schedule", f"/chats/{chat.id}", f"/events/{w.event_id}?tab=confirmed")
    for url in urls:  # a day before: quiet, says when (room opens 5 minutes before 02:00 CET)
        html = (await client.get(url)).text
        assert _join(html) == "btn join join-wait | Room opens Sat 21 Mar, 01:55 CET", url  # not today: with its day
        assert 'data-opens-at="2026-03-21T00:55:00+00:00"' in html and 'data-server-now="2026-03-20T08:00:00+00:00"' in html
    early = await client.get(f"/chats/{chat.id}/room")  # clicked anyway: the room's page says when, the same way
    assert early.status_code == 409 and '<strong data-testid="opens-at">It opens at 01:55 CET</strong> (Sat 21 Mar 2026)' in early.text
    clock.now = dt.datetime(2026, 3, 21, 0, 54, 59, tzinfo=dt.UTC)
    assert _join((await client.get(urls[0])).text).startswith("btn join join-wait")
    clock.now = dt.datetime(2026, 3, 21, 0, 55, tzinfo=dt.UTC)  # the server's clock says the room is open
    for url in urls:
        assert _join((await client.get(url)).text) == "btn primary join | Join", url
    clock.now = dt.datetime(2026, 3, 21, 1, 46, tzinfo=dt.UTC)  # 02:30 end + 15 minutes' grace: closed, no Join
    assert 'class="btn primary join"' not in (await client.get(urls[0])).text and "join-wait" not in (await client.get(urls[1])).text


async def test_the_confirmation_mail_and_the_mailbox_name_their_zone(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    w, chat = await _confirmed(engine, clock)
    await sign_in(client, "rec0@example.test")
    box = await client.get("/mailbox")
    # The recruiter's zone is unset, so the event's: 02:00 CET.
    assert "Confirmed: 1-1 chat with Tom Talent 0, Sat 21 Mar 2026, 02:00 CET" in box.text
    assert "Sat 21 Mar 2026, 02:00–02:30 CET (Europe/Berlin, the event" in box.text
    # Each mail's stamp in the mailbox names the viewer's zone (New York, set at sign-in).
    assert re.search(r"· Fri 20 Mar 2026, 04:00 EDT</span>", box.text), box.text
