"""Accessibility, measured: axe-core's WCAG 2.0/2.1/2.2 A and AA rules on every HTML page of every role, in real Chromium.

Each role (a stranger or candidate, a talent, a recruiter, an organizer, the platform admin) signs in to a copy of the demo
event and visits its pages (PLANS below); axe-core, injected by Playwright, runs on each, and any serious or critical
violation fails the test with its rule, its elements and the page. The video room is checked on its check screen and in
the call; the QuickChat widget, the job page with its chat open, and the no-JavaScript chat too.

`test_every_html_page_is_checked` lists the app's GET routes (create_app().routes, recursively) and fails on one that is
neither visited here nor exempted with a reason (JSON, calendar files, downloads): a new page needs its check. It prints the
pages covered (pytest -s). Every page also reflows at 320 CSS pixels (WCAG 1.4.10).

Keyboard: on the main pages of each role, Tab reaches every visible control and each shows a visible focus indicator;
in the room, the controls (microphone, camera, screen share, background, leave, chat and people tabs) have names and are
reached by Tab.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect
from playwright.async_api import Error as PlaywrightError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.routing import BaseRoute, Mount, Route

from scheduling import accounts, actions, announcements
from scheduling.livechat import chats, desk, library
from scheduling.livechat import followup as fu
from scheduling.livechat.models import JobReq, LiveChat
from scheduling.models import ChatRequest, Company, User
from tests.e2e.a11y_axe import Violation, axe_source, run_axe, tab_through
from tests.e2e.conftest import NOW, TZ, LiveServer
from tests.live import serve
from web import demo
from web.app import create_app
from web.livechat import followup, live
from web.settings import Settings

pytestmark = pytest.mark.e2e

SECRET = "e2e-secret-key"
PASSWORD = demo.DEMO_PASSWORD
TOM, KOFI, RITA, MARCO = "talent@demo.fairmeet.test", "kofi@demo.fairmeet.test", "recruiter@demo.fairmeet.test", "marco@demo.fairmeet.test"
DESKTOP: dict[str, Any] = {"viewport": {"width": 1280, "height": 900}}
PHONE: dict[str, Any] = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}

# Rules turned off on a page, each with why it is a false positive there (never to make a page pass).
LIVE_VIDEO = {
    "video-caption": "the room's <video> elements play live camera streams (MediaStream srcObject), not prerecorded media: "
                     "WCAG 1.2.2 asks captions of prerecorded video, and a live call has no caption track to give",
}


class MovableClock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


@dataclass
class Ids:
    """What the pages need: the demo's ids, and the things this test makes (a confirmed chat whose room is open, QuickChats,
    a ticket, a saved reply, an article, signed links)."""

    event: int = 0
    backend_job: int = 0
    northwind: int = 0
    sam: int = 0
    eva: int = 0
    tom_pending: int = 0
    tom_incoming: int = 0
    tom_accepted: int = 0
    tom_confirmed: int = 0
    tom_declined: int = 0
    room_chat: int = 0
    live_ended: int = 0
    live_waiting: int = 0
    ticket: int = 0
    reply: int = 0
    article: int = 0
    login_token: str = ""
    continue_path: str = ""
    book_path: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class A11yServer(LiveServer):
    clock: MovableClock = field(default_factory=lambda: MovableClock(NOW))
    ids: Ids = field(default_factory=Ids)


async def _user(session: AsyncSession, email: str) -> User:
    user = await accounts.user_by_email(session, email)
    assert user is not None, email
    return user


async def _prepare(server: A11yServer) -> Ids:
    settings = Settings(secret_key=SECRET, base_url=server.base_url)

    async def make(session: AsyncSession, ctx: actions.Context) -> Ids:
        ids = Ids(event=server.event_id)
        tom, kofi, rita, marco = [await _user(session, e) for e in (TOM, KOFI, RITA, MARCO)]
        olga = await _user(session, demo.ORGANIZER)
        ids.sam, ids.eva = (await _user(session, "sam@demo.fairmeet.test")).id, (await _user(session, "eva@demo.fairmeet.test")).id
        ids.northwind = (await session.execute(select(Company.id).where(Company.name == "Northwind Robotics"))).scalar_one()
        ids.backend_job = (await session.execute(select(JobReq.id).where(JobReq.title == "Backend Engineer (Python)"))).scalar_one()
        toms = {(c.recruiter_id, c.status): c.id for c in (await session.execute(
            select(ChatRequest).where(ChatRequest.talent_id == tom.id))).scalars()}
        by_name = {u.email: u.id for u in (await session.execute(select(User))).scalars()}
        ids.tom_pending = toms[(by_name["jonas@demo.fairmeet.test"], "pending")]
        ids.tom_incoming = toms[(rita.id, "pending")]
        ids.tom_accepted = toms[(marco.id, "accepted")]
        ids.tom_confirmed = toms[(by_name["aisha@demo.fairmeet.test"], "confirmed")]
        ids.tom_declined = toms[(by_name["lena@demo.fairmeet.test"], "declined")]
        # Kofi and Marco: a chat at the first slot; the clock is moved into it below, so its room is open.
        chat = await actions.send_request(session, ctx, kofi, server.event_id, recruiter_id=marco.id, message="I build robots with ROS.",
                                          answer="A robot that waters plants.")
        await actions.accept(session, ctx, marco, chat.id)
        event = await actions.get_event(session, server.event_id)
        free = await actions.open_slots_for_chat(session, chat, event, now=ctx.now)
        booked = await actions.book(session, ctx, kofi, chat.id, free[0].start)
        ids.room_chat = booked.id
        ids.extra["room_starts"] = booked.starts_at
        # QuickChat: one Rita took and left (it became a ticket), one waiting in line.
        await chats.set_agent(session, rita, ctx.now, available=True)
        answers = {str(q.id): "Yes" if q.kind == "yes_no" else "3 or more" for q in await _questions(session, ids.backend_job)}
        started = await chats.start_job_chat(session, ctx, ids.backend_job, chats.CandidateForm(
            name="Nia Candidate", email="nia@mail.example", answers=answers))
        await chats.take(session, ctx, rita, started.chat.id)
        change = await desk.leave(session, ctx, rita, started.chat.id, subject="Nia asks about remote work")
        assert change.ticket is not None
        ids.live_ended, ids.ticket = started.chat.id, change.ticket.id
        # One Rita has taken and is in: the console's chat view, the candidate's chat with a recruiter.
        active = await chats.start_job_chat(session, ctx, ids.backend_job, chats.CandidateForm(
            name="Lee Active", email="lee@mail.example", answers=answers))
        await chats.take(session, ctx, rita, active.chat.id)
        ids.extra["active_continue"] = live.continue_link(settings, active.chat.id).removeprefix(server.base_url)
        await chats.set_agent(session, rita, ctx.now, available=False)
        waiting = await chats.start_job_chat(session, ctx, ids.backend_job, chats.CandidateForm(
            name="Omar Oduya", email="omar@mail.example", answers=answers))
        ids.live_waiting = waiting.chat.id
        ids.reply = (await library.create_reply(session, ctx, rita, library.ReplyIn(
            title="Remote work", body="Most of our teams work remotely within the EU.", keywords="remote"))).id
        ids.article = (await library.create_article(session, ctx, olga, server.event_id, library.ArticleIn(
            title="How 1-1 chats work", body="Ask a recruiter for a chat.\n\nPick a time once they accept.", keywords="help"))).id
        # An announcement to everyone: it shows on the talents' and recruiters' pages.
        await announcements.post(session, ctx, olga, server.event_id, audience="all", title="Lunch break 12:00-13:00",
                                 body="No chats are booked over lunch; the help desk stays open.")
        ids.login_token = await accounts.issue_login_link(session, tom, now=ctx.now, lifetime=dt.timedelta(hours=12))
        ended = await session.get(LiveChat, ids.live_ended)
        assert ended is not None
        day = dt.datetime(2030, 1, 9, 13, 0, tzinfo=dt.UTC)
        await fu.set_availability(session, ctx, rita, [actions.Window(day, day + dt.timedelta(hours=1))])
        ids.book_path = followup.book_link(settings, ctx.now, ended, rita).removeprefix(server.base_url)
        ids.continue_path = live.continue_link(settings, ids.live_waiting).removeprefix(server.base_url)
        return ids

    ids: Ids = await server.run(make)
    return ids


async def _questions(session: AsyncSession, job_id: int) -> list[Any]:
    from scheduling.livechat import jobs

    return list(await jobs.questions(session, job_id))


@pytest.fixture
def a11y_server(demo_template: tuple[Path, int], tmp_path: Path) -> Iterator[A11yServer]:
    template, event_id = demo_template
    path = tmp_path / "a11y.db"
    shutil.copy(template, path)
    database_url = f"sqlite+aiosqlite:///{path}"
    clock = MovableClock(NOW)
    with serve(lambda base_url: Settings(database_url=database_url, secret_key=SECRET, base_url=base_url), clock) as base_url:
        yield A11yServer(base_url=base_url, database_url=database_url, event_id=event_id, clock=clock)


@pytest.fixture
async def prepared(a11y_server: A11yServer) -> A11yServer:
    axe_source()  # fails (CI) or skips early when axe-core is not installed
    a11y_server.ids = await _prepare(a11y_server)
    a11y_server.clock.now = a11y_server.ids.extra["room_starts"] + dt.timedelta(minutes=2)
    return a11y_server


@pytest.fixture
async def open_as(browser: Browser, prepared: A11yServer) -> AsyncIterator[Callable[..., Awaitable[Page]]]:
    made: list[BrowserContext] = []

    async def make(email: str | None, **options: Any) -> Page:
        # bypass_csp: pages with a Content-Security-Policy (script-src self) would refuse the injected axe-core script.
        settings: dict[str, Any] = {"base_url": prepared.base_url, "timezone_id": TZ, "locale": "en-GB", "bypass_csp": True, **DESKTOP}
        settings.update(options)
        context = await browser.new_context(**settings)
        context.set_default_timeout(15_000)
        made.append(context)
        page = await context.new_page()
        if email is not None:
            await page.goto("/login")
            await page.get_by_label("Email").first.fill(email)
            await page.get_by_label("Password").fill(PASSWORD)
            await page.get_by_role("button", name="Sign in").click()
            await expect(page.get_by_role("button", name="Sign out")).to_be_visible()
        return page

    yield make
    for context in made:
        await context.close()


# --------------------------------------------------------------------------- the pages each role visits

Step = Callable[[Page, Ids], Awaitable[None]]


@dataclass(frozen=True)
class Visit:
    route: str  # the route's path as the app declares it (create_app().routes)
    label: str
    go: Step
    disable: dict[str, str] = field(default_factory=dict)


def goto(path: str, status: int = 200) -> Step:
    """Opens the path (formatted with the ids) and checks the answer's status."""

    async def step(page: Page, ids: Ids) -> None:
        url = path.format(**{k: getattr(ids, k) for k in ids.__dataclass_fields__ if k != "extra"})
        response = await page.goto(url)
        assert response is not None, url
        assert response.status == status, f"{url} answered {response.status}, not {status}"
        await page.wait_for_load_state("load")

    return step


def then(*steps: Step) -> Step:
    async def step(page: Page, ids: Ids) -> None:
        for s in steps:
            await s(page, ids)

    return step


async def _open_job_chat(page: Page, ids: Ids) -> None:
    await page.get_by_role("button", name="Chat now").click()
    await expect(page.locator("#lc").get_by_label("Your name")).to_be_visible()


async def _plain_chat(page: Page, ids: Ids) -> None:
    """Starts a chat on the no-JavaScript form; lands on its chat page (/jobs/{id}/chat/{chat_id})."""
    await page.get_by_label("Your name").fill("Pia Plain")
    await page.get_by_label("Email address").fill("pia@mail.example")
    for group in await page.locator("fieldset").all():
        yes = group.get_by_role("radio", name="Yes")
        await (yes if await yes.count() else group.get_by_role("radio").last).check()
    await page.get_by_role("button", name="Start the chat").click()
    await page.wait_for_url(f"**/jobs/{ids.backend_job}/chat/*")


async def _import_preview(page: Page, ids: Ids) -> None:
    rows = "name,email,role,company,headline\nPia Park,pia@mail.example,talent,,Designer\nQuinn,not-an-email,recruiter,Nowhere Ltd,\n"
    await page.get_by_label("Paste the rows, header first").fill(rows)
    await page.get_by_role("button", name="Preview import").click()
    await expect(page.locator("table.preview")).to_be_visible()


async def _continue_active(page: Page, ids: Ids) -> None:
    await page.goto(ids.extra["active_continue"])
    await expect(page.locator("#lc").get_by_role("heading", name="Rita Recruiter")).to_be_visible()


async def _console_chat(page: Page, ids: Ids) -> None:
    tab = page.get_by_role("tab", name=re.compile("Lee Active"))
    await tab.click()
    await expect(tab).to_have_attribute("aria-selected", "true")


async def _outcome_form(page: Page, ids: Ids) -> None:
    await expect(page.get_by_role("heading", name="Outcome")).to_be_visible()


async def _room_check(page: Page, ids: Ids) -> None:
    await expect(page.get_by_role("heading", name="Ready to join?")).to_be_visible()
    await expect(page.locator("#net-result")).not_to_have_attribute("data-state", "running", timeout=25_000)


async def _room_call(page: Page, ids: Ids) -> None:
    await page.get_by_role("button", name="Join now").click()
    await expect(page.get_by_role("region", name="Video call")).to_be_visible()


async def _room_people(page: Page, ids: Ids) -> None:
    await page.get_by_role("tab", name="People").click()
    await expect(page.locator("#people")).to_be_visible()


async def _help_drawer(page: Page, ids: Ids) -> None:
    await page.get_by_role("button", name="Need help?").click()
    await expect(page.get_by_role("dialog")).to_be_visible()
    await expect(page.frame_locator("#help-frame").locator("#lc")).to_be_visible()


async def _settings_dialog(page: Page, ids: Ids) -> None:
    await page.keyboard.press("Escape")
    await expect(page.get_by_role("dialog")).to_be_hidden()
    await page.get_by_role("toolbar", name="Call controls").get_by_role("button", name="Settings").click()
    await expect(page.get_by_role("dialog", name="Settings")).to_be_visible()


ANONYMOUS = [
    Visit("/login", "sign-in page", goto("/login")),
    Visit("/login/link/{token}", "sign-in link landing", goto("/login/link/{login_token}")),
    Visit("/jobs/{job_id:id}", "job page", goto("/jobs/{backend_job}")),
    Visit("/jobs/{job_id:id}", "job page, chat open", then(goto("/jobs/{backend_job}"), _open_job_chat)),
    Visit("/jobs/{job_id:id}/widget", "QuickChat widget (iframe page)", goto("/jobs/{backend_job}/widget")),
    Visit("/demo/careers", "demo careers site (embeds the widget)", goto("/demo/careers")),
    Visit("/jobs/{job_id:id}/chat", "no-JavaScript chat form", goto("/jobs/{backend_job}/chat")),
    Visit("/jobs/{job_id:id}/chat/{chat_id:id}", "no-JavaScript chat", then(goto("/jobs/{backend_job}/chat"), _plain_chat)),
    Visit("/live/continue/{signed}", "continue a chat from the emailed link (waiting in line)", goto("{continue_path}")),
    Visit("/live/continue/{signed}", "continue a chat from the emailed link (a recruiter answering)", _continue_active),
    Visit("/book/{signed}", "book a follow-up chat", goto("{book_path}")),
    Visit("/articles/{article_id:id}", "public help article", goto("/articles/{article}")),
    Visit("/no/such/page", "404 page (stranger)", goto("/no/such/page", 404)),
]

TALENT = [
    Visit("/events/{event_id:id}", "1-1 chats, requests tab", goto("/events/{event}")),
    *[Visit("/events/{event_id:id}", f"1-1 chats, {tab} tab", goto(f"/events/{{event}}?tab={tab}"))
      for tab in ("scheduling", "confirmed", "declined", "completed")],
    Visit("/events/{event_id:id}/recruiters", "recruiters", goto("/events/{event}/recruiters")),
    Visit("/events/{event_id:id}/request/{user_id:id}", "request form", goto("/events/{event}/request/{sam}")),
    Visit("/events/{event_id:id}/schedule", "my schedule", goto("/events/{event}/schedule")),
    Visit("/events/{event_id:id}/support", "event help page", goto("/events/{event}/support")),
    Visit("/events/{event_id:id}/booths/{company_id:id}", "company booth chat", goto("/events/{event}/booths/{northwind}")),
    Visit("/chats/{chat_id:id}", "chat: request sent", goto("/chats/{tom_pending}")),
    Visit("/chats/{chat_id:id}", "chat: request received", goto("/chats/{tom_incoming}")),
    Visit("/chats/{chat_id:id}", "chat: pick a time", goto("/chats/{tom_accepted}")),
    Visit("/chats/{chat_id:id}", "chat: confirmed", goto("/chats/{tom_confirmed}")),
    Visit("/chats/{chat_id:id}", "chat: declined", goto("/chats/{tom_declined}")),
    Visit("/chats/{chat_id:id}/room", "room not open yet (409)", goto("/chats/{tom_confirmed}/room", 409)),
    Visit("/events/{event_id:id}/me", "my profile (talent)", goto("/events/{event}/me")),
    Visit("/account", "account", goto("/account")),
    Visit("/mailbox", "mailbox", goto("/mailbox")),
    Visit("/events/{event_id:id}/manage", "403 page (talent on the organizer's page)", goto("/events/{event}/manage", 403)),
    Visit("/chats/{chat_id:id}", "404 page (signed in)", goto("/chats/999999", 404)),
]

ROOM_TALENT = [
    Visit("/chats/{chat_id:id}/room", "room: check screen", then(goto("/chats/{room_chat}/room"), _room_check), LIVE_VIDEO),
    Visit("/chats/{chat_id:id}/room", "room: in the call, chat tab", _room_call, LIVE_VIDEO),
    Visit("/chats/{chat_id:id}/room", "room: in the call, people tab", _room_people, LIVE_VIDEO),
    Visit("/chats/{chat_id:id}/room", "room: Need help? drawer", _help_drawer, LIVE_VIDEO),
    Visit("/chats/{chat_id:id}/room", "room: settings dialog", _settings_dialog, LIVE_VIDEO),
]

RECRUITER = [
    Visit("/events/{event_id:id}", "1-1 chats", goto("/events/{event}")),
    Visit("/events/{event_id:id}/talents", "talents", goto("/events/{event}/talents")),
    Visit("/events/{event_id:id}/request/{user_id:id}", "request form (to a talent)", goto("/events/{event}/request/{eva}")),
    Visit("/events/{event_id:id}/schedule", "my schedule", goto("/events/{event}/schedule")),
    Visit("/events/{event_id:id}/profile", "my calendar", goto("/events/{event}/profile")),
    Visit("/events/{event_id:id}/me", "my profile (recruiter)", goto("/events/{event}/me")),
    Visit("/events/{event_id:id}/support", "event help page", goto("/events/{event}/support")),
    Visit("/chats/{chat_id:id}", "chat: request sent", goto("/chats/{tom_incoming}")),
    Visit("/live/console", "live-chat console", goto("/live/console")),
    Visit("/live/console", "live-chat console: a chat open", _console_chat),
    Visit("/live/history", "chat history", goto("/live/history")),
    Visit("/live/history/{chat_id:id}", "one chat in history", goto("/live/history/{live_ended}")),
    Visit("/live/chats/{chat_id:id}/follow-up", "follow up after a chat", goto("/live/chats/{live_ended}/follow-up")),
    Visit("/live/availability", "follow-up calendar", goto("/live/availability")),
    Visit("/live/tickets", "tickets", goto("/live/tickets")),
    Visit("/live/tickets/{ticket_id:id}", "one ticket", goto("/live/tickets/{ticket}")),
    Visit("/live/replies", "saved replies", goto("/live/replies")),
    Visit("/live/replies/new", "new saved reply", goto("/live/replies/new")),
    Visit("/live/replies/{reply_id:id}", "edit a saved reply", goto("/live/replies/{reply}")),
    Visit("/live/jobs", "job reqs", goto("/live/jobs")),
    Visit("/live/jobs/{job_id:id}", "a job req", goto("/live/jobs/{backend_job}")),
]

ROOM_RECRUITER = [
    Visit("/chats/{chat_id:id}/room", "room: recruiter's check screen", then(goto("/chats/{room_chat}/room"), _room_check), LIVE_VIDEO),
    Visit("/chats/{chat_id:id}", "chat under way: the recruiter's outcome form", then(goto("/chats/{room_chat}"), _outcome_form)),
]

ORGANIZER = [
    Visit("/events/{event_id:id}", "1-1 chats (organizer)", goto("/events/{event}")),
    Visit("/events/{event_id:id}/manage", "manage the event", goto("/events/{event}/manage")),
    Visit("/events/{event_id:id}/manage/import", "import people", goto("/events/{event}/manage/import")),
    Visit("/events/{event_id:id}/manage/import", "import companies", goto("/events/{event}/manage/import?kind=companies")),
    Visit("/events/{event_id:id}/manage/import", "import people: the preview, with a row in error",
          then(goto("/events/{event}/manage/import"), _import_preview)),
    Visit("/events/{event_id:id}/manage/people/{user_id:id}", "edit a person", goto("/events/{event}/manage/people/{sam}")),
    Visit("/events/{event_id:id}/manage/companies/{company_id:id}", "edit a company", goto("/events/{event}/manage/companies/{northwind}")),
    Visit("/events/{event_id:id}/dashboard", "event dashboard", goto("/events/{event}/dashboard")),
    Visit("/events/{event_id:id}/announcements", "announcements", goto("/events/{event}/announcements")),
    Visit("/chats/{chat_id:id}/organize", "cancel or reschedule on someone's behalf", goto("/chats/{tom_confirmed}/organize")),
    Visit("/events/{event_id:id}/recruiters", "recruiters (organizer)", goto("/events/{event}/recruiters")),
    Visit("/events/{event_id:id}/talents", "talents (organizer)", goto("/events/{event}/talents")),
    Visit("/events/{event_id:id}/schedule", "schedule (organizer)", goto("/events/{event}/schedule")),
    Visit("/events/{event_id:id}/support", "support desk (organizer)", goto("/events/{event}/support")),
    Visit("/chats/{chat_id:id}", "chat (organizer's view)", goto("/chats/{tom_confirmed}")),
    Visit("/live/jobs/new", "new job req", goto("/live/jobs/new")),
    Visit("/live/articles", "articles", goto("/live/articles")),
    Visit("/live/articles/new", "new article", goto("/live/articles/new")),
    Visit("/live/articles/{article_id:id}", "edit an article", goto("/live/articles/{article}")),
    Visit("/live/report", "live-chat report", goto("/live/report")),
    Visit("/live/teams", "teams and routing", goto("/live/teams")),
]

ADMIN = [
    Visit("/", "home: my events", goto("/")),
    Visit("/events/new", "new event", goto("/events/new")),
    Visit("/account", "account (admin)", goto("/account")),
]

PLANS: dict[str, tuple[str | None, list[Visit]]] = {
    "anonymous": (None, ANONYMOUS),
    "talent": (TOM, TALENT),
    "talent-room": (KOFI, ROOM_TALENT),
    "recruiter": (RITA, RECRUITER),
    "recruiter-room": (MARCO, ROOM_RECRUITER),
    "organizer": (demo.ORGANIZER, ORGANIZER),
    "admin": (demo.ADMIN, ADMIN),
}

# GET routes that answer something other than an HTML page, and why they need no page check.
EXEMPT = {
    "/healthz": "JSON health check",
    "/livez": "JSON liveness probe",
    "/readyz": "JSON readiness probe",
    "/metrics": "Prometheus text for a scraper with the metrics token (404 without a configured token)",
    "/events": "a redirect to / (the form at /events/new posts to /events; typing the address lands on My events)",
    "/favicon.ico": "the site icon (SVG)",
    "/calendar/{token}.ics": "iCalendar feed",
    "/chats/{chat_id:id}/invite.ics": "iCalendar invite",
    "/chats/{chat_id:id}/room/token": "JSON room token for room.js",
    "/book/{signed}/invite.ics": "iCalendar invite",
    "/widget.js": "JavaScript loader of the QuickChat widget",
    "/live/report.csv": "CSV download",
    "/events/{event_id:id}/chats.csv": "CSV download (all chats with outcomes)",
    "/events/{event_id:id}/manage/people.csv": "CSV download (roster export)",
    "/events/{event_id:id}/manage/companies.csv": "CSV download (roster export)",
    "/events/{event_id:id}/talents/{user_id:id}/cv": "the talent's CV file (download)",
    "/live/shared/{chat_id:id}/resume": "the candidate's resume file (download)",
}
EXEMPT_PREFIXES = {"/api/": "JSON API (api/v1, openapi.json, rtc netcheck)", "/static": "static files (CSS, JS, icons)"}


# --------------------------------------------------------------------------- the route list


def _get_routes(routes: list[BaseRoute], prefix: str = "") -> list[str]:
    found = []
    for route in routes:
        if isinstance(route, Mount):
            found += _get_routes(list(route.routes), prefix + route.path) if route.routes else [prefix + route.path]
        elif isinstance(route, Route) and route.methods and "GET" in route.methods:
            found.append(prefix + route.path)
    return found


def test_every_html_page_is_checked() -> None:
    app = create_app(Settings(database_url="sqlite+aiosqlite:///:memory:", secret_key=SECRET, base_url="http://a11y.test"), background=False)
    routes = set(_get_routes(list(app.routes)))
    covered = {v.route for _, visits in PLANS.values() for v in visits if v.route.startswith("/") and "no/such" not in v.route}
    unchecked = sorted(r for r in routes if r not in covered and r not in EXEMPT and not any(r.startswith(p) for p in EXEMPT_PREFIXES))
    assert not unchecked, ("GET routes with no accessibility check: add each to PLANS in tests/e2e/test_accessibility.py "
                           "(or to EXEMPT with the reason when it answers no HTML page):\n  " + "\n  ".join(unchecked))
    stale = sorted((covered | set(EXEMPT)) - routes)
    assert not stale, "PLANS or EXEMPT name routes the app no longer has:\n  " + "\n  ".join(stale)
    print("\nPages checked with axe-core:")
    for role, (_, visits) in PLANS.items():
        for v in visits:
            print(f"  {role:15} {v.route:50} {v.label}")


# --------------------------------------------------------------------------- axe on every page


async def _check(page: Page, ids: Ids, role: str, visits: list[Visit]) -> list[Violation | str]:
    """Visits each page in turn and runs axe on it; a page that could not be opened as planned is a failure too."""
    found: list[Violation | str] = []
    for visit in visits:
        where = f"{role} · {visit.label}"
        try:
            await visit.go(page, ids)
        except (AssertionError, PlaywrightError) as err:
            found.append(f"{where}: could not be opened as planned: {str(err).splitlines()[0]}")
            continue
        found += await run_axe(page, f"{where} (/{page.url.split('/', 3)[-1]})", disable=visit.disable)
        # Same-origin frames (the QuickChat widget on the careers site, the support chat in the room's help drawer) get axe too.
        for frame in page.frames[1:]:
            if frame.url.startswith(page.url.split("/", 3)[0] + "//" + page.url.split("/", 3)[2] + "/") and not frame.is_detached():
                await frame.wait_for_load_state("load")
                found += await run_axe(frame, f"{where}, in its frame (/{frame.url.split('/', 3)[-1]})", disable=visit.disable)
    return found


def _report(found: list[Violation | str]) -> str:
    return f"{len(found)} problems (serious/critical axe violations, pages not checked):\n" + "\n".join(map(str, found))


@pytest.mark.parametrize("role", list(PLANS))
async def test_axe_finds_no_serious_violations(role: str, prepared: A11yServer, open_as: Callable[..., Awaitable[Page]]) -> None:
    email, visits = PLANS[role]
    page = await open_as(email)
    found = await _check(page, prepared.ids, role, visits)
    assert not found, _report(found)


@pytest.mark.parametrize("role", list(PLANS))
async def test_axe_on_a_phone(role: str, prepared: A11yServer, open_as: Callable[..., Awaitable[Page]]) -> None:
    """The same pages at 390 px (a phone): layouts change (menus wrap, tables scroll), and so can contrast and names."""
    email, visits = PLANS[role]
    page = await open_as(email, **PHONE)
    found = await _check(page, prepared.ids, role + " (phone)", visits)
    assert not found, _report(found)


@pytest.mark.parametrize("role", list(PLANS))
async def test_pages_reflow_at_320_css_pixels(role: str, prepared: A11yServer, open_as: Callable[..., Awaitable[Page]]) -> None:
    """WCAG 1.4.10 (reflow): at 320 CSS pixels wide (a 1280 px screen zoomed to 400 %) no page scrolls sideways; a wide table
    may scroll inside its own box."""
    email, visits = PLANS[role]
    page = await open_as(email, viewport={"width": 320, "height": 640})
    wide: list[str] = []
    for visit in visits:
        try:
            await visit.go(page, prepared.ids)
        except (AssertionError, PlaywrightError) as err:
            wide.append(f"{role} · {visit.label}: could not be opened as planned: {str(err).splitlines()[0]}")
            continue
        width = await page.evaluate("document.documentElement.scrollWidth")
        if width > 320:
            culprits = await page.evaluate("""() => [...document.querySelectorAll('body *')]
                .filter((e) => e.getBoundingClientRect().right > 321 && e.getClientRects().length).slice(0, 5)
                .map((e) => `${e.tagName.toLowerCase()}.${[...e.classList].join('.')} ${Math.round(e.getBoundingClientRect().right)}px`)""")
            wide.append(f"{role} · {visit.label} (/{page.url.split('/', 3)[-1]}): {width}px wide; {', '.join(culprits)}")
    assert not wide, "pages wider than 320 CSS pixels:\n" + "\n".join(wide)


async def test_the_checks_find_what_they_look_for(browser: Browser) -> None:
    """The checker itself, on a page made to fail: axe reports low contrast, a field without a label and a nameless button;
    the keyboard walk reports a control whose focus cannot be seen, a faint focus ring, and one Tab cannot reach."""
    axe_source()
    context = await browser.new_context(**DESKTOP)
    try:
        page = await context.new_page()
        await page.set_content("""<!doctype html><html lang="en"><head><title>Bad page</title><style>
            #nofocus:focus { outline: none; } #faint:focus-visible { outline: 3px solid #a5a0ff; }</style></head>
            <body><p>Outside every landmark</p><main><h1>Bad page</h1><p style="color:#bbb">Too faint to read</p><input id="unlabelled">
            <button id="nameless"><svg width="10" height="10"></svg></button><button id="nofocus">No ring</button>
            <a id="faint" href="#x">Faint ring</a><div id="clickonly" tabindex="-1" role="button" onclick="1">Mouse only</div>
            <span id="unreachable"><a href="#y" tabindex="-1">Out of reach</a></span><a href="#z" id="last">Last</a>
            <span id="mouseonly" style="cursor:pointer" onclick="this.textContent = 'clicked'">Mouse only</span></main></body></html>""")
        rules = {v.rule for v in await run_axe(page, "bad page")}
        assert {"color-contrast", "label", "button-name", "region"} <= rules, rules
        problems = "\n".join(await tab_through(page, "bad page"))
        assert "no visible focus on button#nofocus" in problems, problems
        assert "focus outline of a#faint" in problems and "under 3:1" in problems, problems
        assert 'the keyboard cannot reach it: span#mouseonly. "Mouse only"' in problems, problems
        # An element taken out of the tab order is not counted as "must be reachable" (tabindex=-1 is a deliberate choice);
        # everything else on the page was reached.
        assert "never reaches" not in problems, problems
        # A control the Tab walk did not get to is reported (here the walk is cut short after 3 presses).
        problems = "\n".join(await tab_through(page, "bad page", limit=3))
        assert 'Tab never reaches a#last "Last"' in problems, problems
    finally:
        await context.close()


# --------------------------------------------------------------------------- the keyboard

# Every page of every role (the room's call has its own test below): Tab reaches every visible control, each shows where
# the focus is, and nothing is clickable that the keyboard cannot reach.
@pytest.mark.parametrize("role", [r for r in PLANS if r != "talent-room"])
async def test_every_control_is_reached_by_tab_with_a_visible_focus(role: str, prepared: A11yServer,
                                                                     open_as: Callable[..., Awaitable[Page]]) -> None:
    email, visits = PLANS[role]
    page = await open_as(email)
    problems: list[str] = []
    for visit in visits:
        try:
            await visit.go(page, prepared.ids)
        except (AssertionError, PlaywrightError) as err:
            problems.append(f"{role} · {visit.label}: could not be opened as planned: {str(err).splitlines()[0]}")
            continue
        problems += await tab_through(page, f"{role} · {visit.label} (/{page.url.split('/', 3)[-1]})")
    assert not problems, f"{len(problems)} keyboard problems:\n" + "\n".join(problems)


async def test_the_skip_link_leads_past_the_navigation(prepared: A11yServer, open_as: Callable[..., Awaitable[Page]]) -> None:
    """WCAG 2.4.1: the first Tab on a page shows "Skip to content"; Enter on it moves the focus to the page's main content."""
    tom = await open_as(TOM)
    await goto("/events/{event}/recruiters")(tom, prepared.ids)
    skip = tom.get_by_role("link", name="Skip to content")
    await expect(skip).not_to_be_in_viewport()
    await tom.keyboard.press("Tab")
    await expect(skip).to_be_focused()
    await expect(skip).to_be_in_viewport()
    await tom.keyboard.press("Enter")
    await expect(tom.locator("main")).to_be_focused()
    await tom.keyboard.press("Tab")
    assert await tom.evaluate("() => document.querySelector('main').contains(document.activeElement)")


async def test_the_rooms_controls_have_names_and_work_by_keyboard(prepared: A11yServer, open_as: Callable[..., Awaitable[Page]]) -> None:
    kofi = await open_as(KOFI)
    await goto("/chats/{room_chat}/room")(kofi, prepared.ids)
    await _room_check(kofi, prepared.ids)
    check = kofi.locator("#check")
    for name in ("Mute", "Stop video", "Join now"):
        await expect(check.get_by_role("button", name=name, exact=True)).to_be_visible()
    for name in ("Camera", "Microphone", "Speaker"):
        await expect(check.get_by_role("combobox", name=name)).to_be_visible()
    await expect(check.get_by_role("radiogroup", name="Background").or_(check.get_by_role("group", name="Background"))).to_be_visible()
    problems = await tab_through(kofi, "room check screen")

    # Joined with the keyboard alone: Tab to "Join now", Enter.
    join = kofi.get_by_role("button", name="Join now")
    await join.focus()
    await kofi.keyboard.press("Enter")
    call = kofi.get_by_role("region", name="Video call")
    await expect(call).to_be_visible()
    controls = kofi.get_by_role("toolbar", name="Call controls")
    for name in ("Mute", "Stop video", "Share screen", "Background", "Settings", "Leave"):
        await expect(controls.get_by_role("button", name=name, exact=True)).to_be_visible()
    await expect(kofi.get_by_role("textbox", name="Message")).to_be_visible()
    await expect(kofi.get_by_role("tablist", name="Room panels")).to_be_visible()
    await expect(kofi.get_by_role("button", name="Need help?")).to_be_visible()
    problems += await tab_through(kofi, "room in the call")

    # Mute by keyboard (Space on the focused button), and back; the name says what the button does next.
    mic = controls.get_by_role("button", name="Mute", exact=True)
    await mic.focus()
    await kofi.keyboard.press("Space")
    await expect(controls.get_by_role("button", name="Unmute", exact=True)).to_be_focused()
    await kofi.keyboard.press("Enter")
    await expect(controls.get_by_role("button", name="Mute", exact=True)).to_be_visible()

    # The panel tabs: one tab stop, arrow keys move between them (the tabs pattern), Enter/selection shows the panel.
    chat_tab = kofi.get_by_role("tab", name="Chat")
    await chat_tab.focus()
    await kofi.keyboard.press("ArrowLeft")
    people_tab = kofi.get_by_role("tab", name="People")
    await expect(people_tab).to_be_focused()
    await kofi.keyboard.press("Enter")
    await expect(people_tab).to_have_attribute("aria-selected", "true")
    await expect(kofi.get_by_role("tabpanel", name="People")).to_be_visible()

    # A chat message, written and sent from the keyboard.
    await kofi.get_by_role("tab", name="Chat").click()
    box = kofi.get_by_role("textbox", name="Message")
    await box.focus()
    await kofi.keyboard.type("Hello from the keyboard")
    await kofi.keyboard.press("Enter")
    await expect(kofi.locator("#messages")).to_contain_text("Hello from the keyboard")

    # Background and Settings open dialogs that Escape closes, focus back on their button.
    for name in ("Background", "Settings"):
        button = controls.get_by_role("button", name=name, exact=True)
        await button.focus()
        await kofi.keyboard.press("Enter")
        await expect(kofi.get_by_role("dialog")).to_be_visible()
        await kofi.keyboard.press("Escape")
        await expect(kofi.get_by_role("dialog")).to_be_hidden()
        await expect(button).to_be_focused()

    # Leave, by keyboard.
    leave = controls.get_by_role("button", name="Leave", exact=True)
    await leave.focus()
    await kofi.keyboard.press("Enter")
    await kofi.wait_for_url(f"**/chats/{prepared.ids.room_chat}")  # back on the chat's page
    assert not problems, f"{len(problems)} keyboard problems:\n" + "\n".join(problems)
