"""QuickChat from the recruiter's chair: real Chromium on the Chats console, candidates driven through the public API and socket.

A recruiter makes a job req through the form and assigns herself, goes available, sees a candidate arrive in the
queue live, takes them, talks (typing shows both ways), reads their answers, keeps notes, ends with a next step,
finds the chat in History and in the CSV export. Two recruiters racing for one candidate: one gets it.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from playwright.async_api import Page, expect
from sqlalchemy.ext.asyncio import AsyncSession

from scheduling import actions
from scheduling.livechat import jobs
from scheduling.models import Event
from tests.e2e.conftest import NOW, LiveServer, NewContext
from tests.e2e.test_chat_flow import MARCO, RITA, no_horizontal_scroll, shot, sign_in
from tests.live import serve
from web.settings import Settings

pytestmark = pytest.mark.e2e

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}
DESKTOP = {"viewport": {"width": 1366, "height": 860}}
HOSTILE = '<img src=x onerror="document.title=1">{{7*7}}'
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def demo_server(demo_template: tuple[Path, int], tmp_path: Path) -> Iterator[LiveServer]:
    """The demo event as in conftest, with resumes stored in the test's own directory."""
    template, event_id = demo_template
    path = tmp_path / "e2e.db"
    shutil.copy(template, path)
    database_url = f"sqlite+aiosqlite:///{path}"
    uploads = str(tmp_path / "uploads")
    with serve(lambda base_url: Settings(database_url=database_url, secret_key="e2e-secret-key", base_url=base_url, upload_dir=uploads),
               lambda: NOW) as base_url:
        yield LiveServer(base_url=base_url, database_url=database_url, event_id=event_id)


# --------------------------------------------------------------------------- helpers


async def open_page(new_context: NewContext, email: str, **options: Any) -> Page:
    context = await new_context(**options)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.js_errors = errors  # type: ignore[attr-defined]
    await sign_in(page, email)
    return page


def no_js_errors(page: Page) -> None:
    errors: list[str] = page.js_errors  # type: ignore[attr-defined]
    assert not errors, errors


async def go_available(page: Page) -> None:
    await page.goto("/live/console")
    seat = page.locator("#seat")
    if not await seat.evaluate("el => el.open"):
        await seat.locator("summary").click()
    await page.get_by_role("switch", name="Available for chats").check()
    await expect(page.locator("#seat-status")).to_have_text("Saved.")
    await expect(page.locator("#seat-summary")).to_contain_text("Available")


async def start_chat(server: LiveServer, job_id: int, name: str, **extra: Any) -> dict[str, Any]:
    """A candidate starts a chat through the public API, answering every knockout question with its first qualifying choice."""
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        config = (await client.get(f"/api/v1/job-reqs/{job_id}/chat-config")).json()
        assert config["state"] == "open", config
        answers = {str(q["id"]): q["choices"][0] for q in config["questions"]}
        r = await client.post(f"/api/v1/job-reqs/{job_id}/chats", json={
            "name": name, "email": "candidate@example.test", "answers": answers, "source_url": "https://careers.example/jobs/robots", **extra})
        assert r.status_code == 201, r.text
        body: dict[str, Any] = r.json()
        assert body["status"] == "waiting", body
        return body


async def candidate_says(server: LiveServer, chat: dict[str, Any], text: str, client_id: str) -> None:
    async with httpx.AsyncClient(base_url=server.base_url, headers={"Authorization": f"Bearer {chat['token']}"}) as client:
        r = await client.post(f"/api/v1/chats/{chat['chat_id']}/messages", json={"client_id": client_id, "text": text})
        assert r.status_code == 201, r.text


async def candidate_reads(server: LiveServer, chat: dict[str, Any]) -> list[str]:
    async with httpx.AsyncClient(base_url=server.base_url, headers={"Authorization": f"Bearer {chat['token']}"}) as client:
        r = await client.get(f"/api/v1/chats/{chat['chat_id']}/messages", params={"after": 0})
        assert r.status_code == 200, r.text
        return [m["body"].get("text", "") for m in r.json()["messages"]]


def transcript(page: Page) -> Any:
    return page.locator("#transcripts ol.transcript:not([hidden])")


def queue_row(page: Page, name: str) -> Any:
    return page.locator("#queues li").filter(has_text=name)


async def give_chats_directly(server: LiveServer) -> None:
    """The event gives chats to recruiters with automatic assignment on at once, with no offer to accept."""
    async def change(session: AsyncSession, ctx: actions.Context) -> None:
        event = await session.get(Event, server.event_id)
        assert event is not None
        event.live_accept_seconds = 0

    await server.run(change)


async def job_with_recruiters(server: LiveServer, *emails: str) -> int:
    """A job req at the demo event with one yes/no question, answered by the given recruiters."""
    users = [await server.user(e) for e in emails]

    async def make(session: AsyncSession, ctx: actions.Context) -> int:
        job = await jobs.create_job(session, ctx, users[0], jobs.JobReqSettings(title="Robot Technician", company="Northwind Robotics",
                                                                                event_id=server.event_id),
                                    [jobs.Question("Can you lift 10 kg?", "yes_no", [], ["Yes"])])
        for u in users:
            await jobs.assign(session, ctx, users[0], job.id, u.id)
        return job.id

    job_id: int = await server.run(make)
    return job_id


# --------------------------------------------------------------------------- 1. a whole QuickChat


async def test_recruiter_answers_a_quickchat_from_queue_to_history(demo_server: LiveServer, new_context: NewContext) -> None:
    rita = await open_page(new_context, RITA, **DESKTOP)

    # A job req through the form, with a knockout question; then Rita answers its chats herself.
    await rita.get_by_role("link", name="Chats", exact=True).click()
    await rita.get_by_role("navigation", name="Live chat").get_by_role("link", name="Job reqs").click()
    await rita.get_by_role("link", name="New job req").click()
    await rita.get_by_label("Job title").fill("Warehouse Robot Engineer")
    await rita.get_by_label("Company").fill("Northwind Robotics")
    await rita.get_by_label("Location").fill("Hamburg")
    await rita.get_by_label("Event").select_option(label="Fairmeet Demo Hiring Days")
    await rita.get_by_label("Question", exact=True).fill("Do you hold a forklift licence?")
    await rita.get_by_role("button", name="Add a question").click()
    second = rita.locator("fieldset.qitem").nth(1)
    await second.get_by_label("Question", exact=True).fill("Which shift suits you?")
    await second.get_by_label("Answered with").select_option("choice")
    await expect(second.get_by_label("Qualifying answer (yes/no questions)")).to_be_hidden()
    await second.get_by_label("Choices, one per line").fill("Early\nLate\nNight")
    await second.get_by_label("Qualifying answers, one per line").fill("Early\nLate")
    await shot(rita, "console-job-form")
    await rita.get_by_role("button", name="Create job req").click()
    await expect(rita.get_by_role("status").first).to_contain_text("Job req created.")
    job_id = int(re.findall(r"/live/jobs/(\d+)$", rita.url)[0])
    await rita.get_by_label("Assign a recruiter").select_option(label="Rita Recruiter (you)")
    await rita.get_by_role("button", name="Assign", exact=True).click()
    await expect(rita.get_by_role("list", name="Recruiters answering this job req")).to_contain_text("Rita Recruiter")
    await expect(rita.locator("textarea.copy")).to_have_value(f'<script src="{demo_server.base_url}/widget.js" data-job="{job_id}" async></script>')
    await shot(rita, "console-job-edit")

    # Available, then a candidate arrives: the queue shows them live, with the job title and a waiting clock.
    await go_available(rita)
    await expect(rita.locator("#queue-empty")).to_have_text("Nobody is waiting.")
    chat = await start_chat(demo_server, job_id, HOSTILE)
    row = queue_row(rita, HOSTILE)
    await expect(row).to_be_visible()
    await expect(row).to_contain_text("Warehouse Robot Engineer")
    await expect(row.locator(".waited")).to_have_text(re.compile(r"^\d\d:\d\d$"))
    await expect(rita.locator("#waiting-count")).to_have_text("1")
    assert await rita.evaluate("() => window.fairmeetConsoleChimes || 0") >= 1  # the chime rang for the newcomer
    await shot(rita, "console-queue")

    await rita.get_by_role("button", name=f"Take {HOSTILE}").click()
    tab = rita.get_by_role("tab", name=re.compile(re.escape(HOSTILE)))
    await expect(tab).to_have_attribute("aria-selected", "true")
    await expect(row).to_have_count(0)
    await expect(transcript(rita)).to_contain_text("Rita Recruiter joined the chat")
    await expect(transcript(rita).locator(".line.bot").first).to_contain_text("What's your name?")
    # The stranger's markup is text, not markup: no image, no template evaluated.
    await expect(rita.locator("#chat-title")).to_have_text(HOSTILE)
    assert await rita.locator("#console-app img").count() == 0
    assert await rita.title() != "1"

    # Details: knockout answers with their questions, the page they came from, contact editable.
    detail = rita.locator("#detail-pane")
    await expect(detail.locator("#answers")).to_contain_text("Do you hold a forklift licence?")
    await expect(detail.locator("#answers")).to_contain_text("Which shift suits you?")
    await expect(detail.get_by_role("link", name="https://careers.example/jobs/robots")).to_be_visible()
    await expect(detail.get_by_label("Email")).to_have_value("candidate@example.test")

    # Lines both ways: Enter sends, Ctrl+Enter too; typing shows on each side (the candidate on its socket).
    origin = demo_server.base_url
    ws_url = origin.replace("http://", "ws://") + "/ws/live"
    async with websockets.connect(ws_url, origin=origin) as sock:  # type: ignore[arg-type]
        await sock.send(json.dumps({"type": "hello", "v": 1, "conn": "cand-tab-1", "chat": chat["chat_id"], "token": chat["token"], "last_seq": None}))
        welcome = json.loads(await sock.recv())
        assert welcome["type"] == "welcome" and welcome["chat"]["status"] == "active"

        await sock.send(json.dumps({"type": "typing", "active": True}))
        await expect(rita.locator("#typing")).to_have_text(f"{HOSTILE} is typing…")
        await sock.send(json.dumps({"type": "page", "url": "https://careers.example/apply"}))
        await expect(detail.get_by_role("link", name="https://careers.example/apply")).to_be_visible()

        composer = rita.get_by_label("Message", exact=True)
        await composer.fill("Hello! Thanks for your interest in Northwind.")
        seen_typing = await wait_for_frame(sock, lambda f: f["type"] == "typing" and f.get("role") == "recruiter" and f["active"])
        assert seen_typing["name"] == "Rita Recruiter"
        await composer.press("Enter")
        await expect(transcript(rita).locator(".line.me").last).to_contain_text("Hello! Thanks for your interest in Northwind.")
        line = await wait_for_frame(sock, lambda f: f["type"] == "event" and f["kind"] == "message" and f["author"]["role"] == "recruiter")
        assert line["body"]["text"] == "Hello! Thanks for your interest in Northwind."

        await sock.send(json.dumps({"type": "chat", "client_id": "cand-1", "text": "Hi Rita, <b>not bold</b> {{7*7}}"}))
        await expect(transcript(rita).locator(".line.candidate").last).to_have_text(re.compile(r"Hi Rita, <b>not bold</b> \{\{7\*7\}\}"))
        await expect(rita.locator("#typing")).to_have_text("")

    await candidate_says(demo_server, chat, "Can I work part-time?", "cand-2")
    await expect(transcript(rita)).to_contain_text("Can I work part-time?")
    await composer.fill("Yes, three days a week work.")
    await composer.press("Control+Enter")
    await expect(transcript(rita).locator(".line.me").last).to_contain_text("Yes, three days a week work.")
    await composer.fill("first line")
    await composer.press("Shift+Enter")
    await composer.type("second line")
    await expect(composer).to_have_value("first line\nsecond line")
    await composer.fill("")
    lines = await candidate_reads(demo_server, chat)
    assert "Hello! Thanks for your interest in Northwind." in lines and "Yes, three days a week work." in lines

    # A resume arrives: the link shows; notes save themselves.
    async with httpx.AsyncClient(base_url=demo_server.base_url, headers={"Authorization": f"Bearer {chat['token']}"}) as client:
        r = await client.post(f"/api/v1/chats/{chat['chat_id']}/resume", files={"file": ("cv.pdf", PDF, "application/pdf")})
        assert r.status_code == 201, r.text
    resume = detail.get_by_role("link", name=re.compile(r"Download cv\.pdf"))
    await expect(resume).to_be_visible()
    async with rita.expect_download() as download_info:
        await resume.click()
    assert (await download_info.value).suggested_filename == "cv.pdf"
    await rita.get_by_label("Private notes").fill("Strong on safety; wants part-time.")
    await expect(rita.locator("#notes-status")).to_contain_text("Saved at")
    await shot(rita, "console-console-desktop")

    # End with a next step.
    await rita.get_by_role("button", name="End chat").click()
    dialog = rita.get_by_role("dialog")
    await expect(dialog).to_be_visible()
    await dialog.get_by_label("Next step").select_option("Interview")
    await shot(rita, "console-end-dialog")
    await dialog.get_by_role("button", name="Finished").click()
    await expect(dialog).to_be_hidden()
    await expect(rita.locator("#toast")).to_contain_text("filed in History · Interview")
    await expect(tab).to_have_count(0)
    await expect(rita.locator("#mine-empty")).to_be_visible()

    # History: the chat with its next step, notes and transcript; the CSV has the row.
    await rita.get_by_role("navigation", name="Live chat").get_by_role("link", name="History").click()
    card = rita.locator(".historycard").filter(has_text=HOSTILE)
    await expect(card).to_contain_text("Interview")
    await card.locator("summary").click()
    await expect(card).to_contain_text("Strong on safety; wants part-time.")
    await expect(card.get_by_role("link", name="Resume (cv.pdf)")).to_be_visible()
    await shot(rita, "console-history")
    async with rita.expect_download() as download_info:
        await rita.get_by_role("link", name="Export CSV").click()
    download = await download_info.value
    path = await download.path()
    assert path is not None
    text = await asyncio.to_thread(Path(path).read_text, encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    [row_out] = [r for r in rows if r["Chat"] == str(chat["chat_id"])]
    assert row_out["Candidate"] == HOSTILE and row_out["Next step"] == "Interview"
    assert "Strong on safety" in row_out["Notes"] and "Can I work part-time?" in row_out["Transcript"]
    await card.get_by_role("link", name="Transcript").click()
    await expect(rita.get_by_role("heading", level=1)).to_have_text(f"Chat with {HOSTILE}")
    await expect(rita.get_by_role("list", name="Transcript")).to_contain_text("Hi Rita, <b>not bold</b> {{7*7}}")
    await shot(rita, "console-transcript")
    no_js_errors(rita)


async def wait_for_frame(sock: Any, match: Any) -> dict[str, Any]:
    """The next frame from the candidate's socket that `match`es (5 s at most)."""
    async with asyncio.timeout(5):
        while True:
            frame: dict[str, Any] = json.loads(await sock.recv())
            if match(frame):
                return frame


# --------------------------------------------------------------------------- 2. two recruiters, one candidate


async def test_two_recruiters_take_the_same_candidate_and_one_gets_it(demo_server: LiveServer, new_context: NewContext) -> None:
    job_id = await job_with_recruiters(demo_server, RITA, MARCO)
    rita = await open_page(new_context, RITA, **DESKTOP)
    marco = await open_page(new_context, MARCO, **DESKTOP)
    await go_available(rita)
    await go_available(marco)
    chat = await start_chat(demo_server, job_id, "Nia Okafor")
    for page in (rita, marco):
        await expect(queue_row(page, "Nia Okafor")).to_be_visible()

    # Both click Take at the same moment (in the pages themselves, so neither waits for the other's queue update).
    clicks = await asyncio.gather(*(page.evaluate("""(id) => {
        const b = document.querySelector(`[data-take="${id}"]`);
        if (!b) return false;
        b.click();
        return true;
    }""", chat["chat_id"]) for page in (rita, marco)))
    assert any(clicks)
    for page in (rita, marco):
        await expect(queue_row(page, "Nia Okafor")).to_have_count(0)
    tabs = [page.get_by_role("tab", name=re.compile("Nia Okafor")) for page in (rita, marco)]
    for _ in range(100):  # until one of them has it
        if sum([await t.count() for t in tabs]):
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.5)  # a second winner would show by now
    counts = [await t.count() for t in tabs]
    assert sorted(counts) == [0, 1], counts
    winner, loser = (rita, marco) if counts[0] else (marco, rita)
    await expect(transcript(winner)).to_contain_text("joined the chat")
    if clicks[(rita, marco).index(loser)]:
        await expect(loser.locator("#toast")).to_have_text("Someone else took it.")
    await expect(loser.locator("#mine-empty")).to_be_visible()

    # A second candidate: "Take next" gives them to the one who clicks.
    await start_chat(demo_server, job_id, "Ola Berg")
    await expect(queue_row(loser, "Ola Berg")).to_be_visible()
    await loser.get_by_role("button", name="Take next").click()
    await expect(loser.get_by_role("tab", name=re.compile("Ola Berg"))).to_have_attribute("aria-selected", "true")
    await expect(queue_row(winner, "Ola Berg")).to_have_count(0)
    no_js_errors(rita)
    no_js_errors(marco)


# --------------------------------------------------------------------------- 3. several chats, switching, reconnecting


async def test_several_chats_switch_by_keyboard_and_survive_a_reconnect(demo_server: LiveServer, new_context: NewContext) -> None:
    job_id = await job_with_recruiters(demo_server, RITA)
    rita = await open_page(new_context, RITA, **DESKTOP)
    await go_available(rita)
    first = await start_chat(demo_server, job_id, "Ada One")
    second = await start_chat(demo_server, job_id, "Ben Two")
    await expect(rita.locator("#waiting-count")).to_have_text("2")
    await rita.get_by_role("button", name="Take next").click()
    await rita.get_by_role("button", name="Take next").click()
    ada, ben = (rita.get_by_role("tab", name=re.compile(n)) for n in ("Ada One", "Ben Two"))
    await expect(ben).to_have_attribute("aria-selected", "true")
    composer = rita.get_by_label("Message", exact=True)
    await composer.fill("draft for Ben")

    # A line for the chat not shown: an unread badge; switching keeps each chat's draft and lines.
    await candidate_says(demo_server, first, "Ada here, still there?", "a1")
    await expect(ada.locator(".unread")).to_have_text("1")
    await expect(rita.locator("#switch-hint")).to_be_visible()
    await composer.press("Alt+ArrowUp")
    await expect(ada).to_have_attribute("aria-selected", "true")
    await expect(ada.locator(".unread")).to_have_count(0)
    await expect(transcript(rita)).to_contain_text("Ada here, still there?")
    await expect(composer).to_have_value("")
    await composer.press("Control+]")
    await expect(ben).to_have_attribute("aria-selected", "true")
    await expect(composer).to_have_value("draft for Ben")
    await composer.fill("")

    # The socket drops; lines sent meanwhile by both sides arrive once it's back, none twice.
    await rita.evaluate("() => window.fairmeetConsole.ws.close()")
    await candidate_says(demo_server, second, "Ben while you were away", "b1")
    await composer.fill("Sorry, lost my connection")
    await composer.press("Enter")
    await expect(transcript(rita)).to_contain_text("Ben while you were away")
    await expect(transcript(rita).locator(".line.me").last).not_to_have_class(re.compile("pending"))
    assert await transcript(rita).get_by_text("Ben while you were away").count() == 1
    assert "Sorry, lost my connection" in await candidate_reads(demo_server, second)
    await shot(rita, "console-two-chats")

    # The same console on a phone: columns stack, nothing is wider than the screen.
    phone = await open_page(new_context, RITA, **PHONE)
    await phone.goto("/live/console")
    await expect(phone.get_by_role("tab", name=re.compile("Ada One"))).to_be_visible()
    await phone.get_by_role("tab", name=re.compile("Ben Two")).click()
    await expect(transcript(phone)).to_contain_text("Sorry, lost my connection")
    await no_horizontal_scroll(phone)
    await shot(phone, "console-console-phone")
    for path, name in ((f"/live/jobs/{job_id}", "console-job-phone"), ("/live/history", "console-history-phone"), ("/live/jobs", "console-jobs-phone")):
        await phone.goto(path)
        await shot(phone, name)
        await no_horizontal_scroll(phone)
    no_js_errors(rita)
    no_js_errors(phone)


# --------------------------------------------------------------------------- 4. alerts while the tab is in the background

ALERT_SPY = """
window.__notes = [];
window.__hidden = false;
Object.defineProperty(Document.prototype, 'hidden', { get() { return window.__hidden; }, configurable: true });
Document.prototype.hasFocus = function () { return !window.__hidden; };
class SpyNotification {
  static permission = 'granted';
  static requestPermission() { return Promise.resolve('granted'); }
  constructor(title, options) { window.__notes.push({ title, body: options && options.body }); this.onclick = null; }
  close() {}
}
window.Notification = SpyNotification;
"""


async def test_automatic_assignment_alerts_a_recruiter_in_another_tab(demo_server: LiveServer, new_context: NewContext) -> None:
    await give_chats_directly(demo_server)  # the demo event asks to accept offered chats within 30 s (tests/e2e/test_desk_operations.py)
    job_id = await job_with_recruiters(demo_server, RITA)
    context = await new_context(**DESKTOP)
    await context.add_init_script(ALERT_SPY)
    rita = await context.new_page()
    errors: list[str] = []
    rita.on("pageerror", lambda err: errors.append(str(err)))
    await sign_in(rita, RITA)
    await go_available(rita)
    await rita.get_by_label("Give me waiting candidates automatically").check()
    await expect(rita.locator("#seat-status")).to_have_text("Saved.")
    title = await rita.title()

    # Rita looks at another tab; a candidate arrives and is given to her: a notification, a chime, a blinking title.
    await rita.evaluate("() => { window.__hidden = true; document.dispatchEvent(new Event('visibilitychange')); }")
    chimes = await rita.evaluate("() => window.fairmeetConsoleChimes || 0")
    chat = await start_chat_any(demo_server, job_id, "Lea Auto")
    assert chat["status"] in ("waiting", "active")  # given to Rita right after the start commits
    tab = rita.get_by_role("tab", name=re.compile("Lea Auto"))
    await expect(tab).to_be_visible()
    await rita.wait_for_function("() => window.__notes.some(n => n.title === 'New chat: Lea Auto')")
    await expect(rita).to_have_title(re.compile("Lea Auto"), timeout=5000)
    assert await rita.evaluate("() => window.fairmeetConsoleChimes || 0") > chimes

    # A line while she is away: counted unread and notified; coming back stops the blinking and clears the count.
    await candidate_says(demo_server, chat, "Hello? Anyone there?", "h1")
    await expect(tab.locator(".unread")).to_have_text("1")
    await rita.wait_for_function("() => window.__notes.some(n => n.body === 'Hello? Anyone there?')")
    await rita.evaluate("() => { window.__hidden = false; document.dispatchEvent(new Event('visibilitychange')); }")
    await expect(rita).to_have_title(title)
    await expect(tab.locator(".unread")).to_have_count(0)
    assert not errors, errors


async def start_chat_any(server: LiveServer, job_id: int, name: str) -> dict[str, Any]:
    """Starts a chat whatever status it lands in (automatic assignment gives it away right after it is queued)."""
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        config = (await client.get(f"/api/v1/job-reqs/{job_id}/chat-config")).json()
        answers = {str(q["id"]): q["choices"][0] for q in config["questions"]}
        r = await client.post(f"/api/v1/job-reqs/{job_id}/chats", json={"name": name, "email": "lea@example.test", "answers": answers})
        assert r.status_code == 201, r.text
        body: dict[str, Any] = r.json()
        return body


# --------------------------------------------------------------------------- 5. notes left while nobody could chat; a candidate who leaves


async def test_a_note_left_while_away_is_answered_and_a_chat_the_candidate_ended_is_filed(demo_server: LiveServer,
                                                                                          new_context: NewContext) -> None:
    job_id = await job_with_recruiters(demo_server, RITA)
    # Nobody is available: the candidate is away and leaves a note.
    async with httpx.AsyncClient(base_url=demo_server.base_url) as client:
        config = (await client.get(f"/api/v1/job-reqs/{job_id}/chat-config")).json()
        assert config["state"] == "away"
        answers = {str(q["id"]): q["choices"][0] for q in config["questions"]}
        r = await client.post(f"/api/v1/job-reqs/{job_id}/chats", json={"name": "Noor Note", "email": "noor@example.test", "answers": answers})
        assert r.status_code == 201 and r.json()["status"] == "away", r.text
        away = r.json()
        r = await client.post(f"/api/v1/chats/{away['chat_id']}/note", headers={"Authorization": f"Bearer {away['token']}"},
                              json={"text": "Is the role open to juniors?"})
        assert r.status_code == 201, r.text

    rita = await open_page(new_context, RITA, **DESKTOP)
    await go_available(rita)
    notes = rita.get_by_role("region", name=re.compile("Notes to answer"))
    await expect(notes).to_contain_text("Noor Note")
    await rita.get_by_role("button", name="Open the note from Noor Note").click()
    tab = rita.get_by_role("tab", name=re.compile("Noor Note"))
    await expect(tab).to_have_attribute("aria-selected", "true")
    await expect(transcript(rita).locator(".line.isnote")).to_contain_text("Is the role open to juniors?")
    await expect(notes).not_to_contain_text("Noor Note")
    composer = rita.get_by_label("Message", exact=True)
    await composer.fill("Yes! Juniors are welcome; I'll send details.")
    await composer.press("Enter")
    await expect(transcript(rita).locator(".line.me").last).not_to_have_class(re.compile("pending"))
    assert "Yes! Juniors are welcome; I'll send details." in await candidate_reads(demo_server, away)
    await shot(rita, "console-note")

    # A live chat the candidate ends: the console says so, the composer closes, and the recruiter files it.
    chat = await start_chat(demo_server, job_id, "Quinn Quit")
    await rita.get_by_role("button", name="Take Quinn Quit").click()
    quinn = rita.get_by_role("tab", name=re.compile("Quinn Quit"))
    await expect(quinn).to_have_attribute("aria-selected", "true")
    async with httpx.AsyncClient(base_url=demo_server.base_url, headers={"Authorization": f"Bearer {chat['token']}"}) as client:
        r = await client.post(f"/api/v1/chats/{chat['chat_id']}/end")
        assert r.status_code == 200, r.text
    await expect(rita.locator("#chat-status")).to_have_text("Ended by candidate")
    await expect(transcript(rita)).to_contain_text("Quinn Quit ended the chat")
    await expect(composer).to_be_disabled()
    await rita.get_by_role("button", name="File chat").click()
    dialog = rita.get_by_role("dialog")
    await dialog.get_by_label("Next step").select_option("Pipeline")
    await dialog.get_by_role("button", name="Follow up").click()
    await expect(quinn).to_have_count(0)
    await rita.get_by_role("navigation", name="Live chat").get_by_role("link", name="History").click()
    card = rita.locator(".historycard").filter(has_text="Quinn Quit")
    await expect(card).to_contain_text("Pipeline")
    await expect(card).to_contain_text("Follow up")
    no_js_errors(rita)
