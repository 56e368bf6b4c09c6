"""QuickChat as a candidate meets it: a company's job site on another origin embeds /widget.js, the assistant asks its
questions one at a time, and the candidate is turned away, queued, chats with a recruiter, leaves and comes back.

Real Chromium against a real server (tests/e2e/conftest.py); the job site is a tiny HTTP server of its own on
`localhost` (another site than the server's 127.0.0.1). The recruiter's side goes through the staff API and, for
typing, the console socket, so this file tests only the candidate's pages.
"""

from __future__ import annotations

import asyncio
import http.server
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import FilePayload, Frame, FrameLocator, Locator, Page, expect
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from scheduling import accounts, actions
from scheduling.livechat import chats, jobs
from scheduling.livechat.models import JobReq, LiveChat
from tests.e2e.conftest import LiveServer, NewContext
from tests.live import free_socket
from web import demo
from web.livechat import live
from web.settings import Settings

pytestmark = pytest.mark.e2e

SHOTS = Path("/tmp/e2e-shots")
RITA = "recruiter@demo.fairmeet.test"
SORRY = "Thanks for your interest! For this role we need people who may already work in the EU."
QUESTION = "Are you allowed to work in the EU?"


# --------------------------------------------------------------------------- a job site on another origin


class JobSite:
    """Serves any path as a careers page with the widget's script tag for `job_id`, on a port of its own."""

    def __init__(self, fairmeet: str) -> None:
        self.job_id = 0
        site = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 -- http.server's name
                body = (
                    "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
                    "<meta name='viewport' content='width=device-width, initial-scale=1'><title>Careers at Northwind</title></head>"
                    "<body>"
                    "<h1>Robot Technician</h1><p>Join the team that keeps our warehouse robots running.</p>"
                    "<p><a href='#benefits'>Benefits</a> · <a href='/other.html'>Another page</a></p>"
                    + "<p>We build warehouse robots that work next to people. Day to day you keep them running.</p>" * 12
                    + f"<script src='{fairmeet}/widget.js' data-job='{site.job_id}' data-delay='200' async></script></body></html>"
                ).encode()
                self.send_response(200)
                if self.path.startswith("/strict"):
                    # A site with a strict policy: it may not fetch from Fairmeet, and allows no inline styles or scripts.
                    self.send_header("Content-Security-Policy", f"default-src 'self'; script-src {fairmeet}; frame-src {fairmeet}; "
                                     "connect-src 'self'; style-src 'self'")
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        sock = free_socket()
        self.port = sock.getsockname()[1]
        sock.close()
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def origin(self) -> str:
        """`localhost`, not 127.0.0.1: another site than the Fairmeet server's, as a company's job site is."""
        return f"http://localhost:{self.port}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


async def make_job(server: LiveServer, *, online: bool, origins: list[str]) -> int:
    """A job req like the ones recruiters set up: an optional phone, one custom field, one knockout question; Rita answers it."""

    async def create(session: AsyncSession, ctx: actions.Context) -> int:
        admin = await accounts.user_by_email(session, demo.ADMIN)
        rita = await accounts.user_by_email(session, RITA)
        assert admin and rita
        settings = jobs.JobReqSettings(
            title="Robot Technician", company="Northwind Robotics", location="Hamburg", description="Keep our robots running.",
            apply_url="https://northwind.example/apply", allowed_origins=origins, sorry_message=SORRY, phone_field="optional",
            custom_fields=[jobs.CustomField("linkedin", "LinkedIn profile", False)], when_unavailable="note",
        )
        job = await jobs.create_job(session, ctx, admin, settings, [jobs.Question(QUESTION, "yes_no", [], ["Yes"])])
        await jobs.assign(session, ctx, admin, job.id, rita.id)
        if online:
            await chats.set_agent(session, rita, ctx.now, available=True)
        return job.id

    job_id: int = await server.run(create)
    return job_id


async def count(server: LiveServer, status: str) -> int:
    async def run(session: AsyncSession, ctx: actions.Context) -> int:
        return int((await session.execute(select(func.count()).select_from(LiveChat).where(LiveChat.status == status))).scalar_one())

    result: int = await server.run(run)
    return result


@pytest.fixture
def site(demo_server: LiveServer) -> Iterator[JobSite]:
    job_site = JobSite(demo_server.base_url)
    yield job_site
    job_site.close()


# --------------------------------------------------------------------------- helpers


def widget(page: Page) -> FrameLocator:
    return page.frame_locator("iframe[title='Chat with a recruiter']")


async def widget_frame(page: Page, server: LiveServer) -> Frame:
    for _ in range(100):
        for frame in page.frames:
            if frame.url.startswith(server.url("/jobs/")):
                return frame
        await asyncio.sleep(0.05)
    raise AssertionError("no widget frame")


async def answer(chat: FrameLocator | Locator, label: str, value: str) -> None:
    """Types into the assistant's current question and sends it with Enter, as a person does."""
    field = chat.get_by_label(label)
    await expect(field).to_be_focused()
    await field.fill(value)
    await field.press("Enter")


async def answer_contact(chat: FrameLocator, name: str, email: str) -> None:
    await expect(chat.get_by_text("What's your name?")).to_be_visible()
    await answer(chat, "Your name", name)
    await expect(chat.get_by_text(f"Thanks, {name.split(maxsplit=1)[0]}. What's your email address?")).to_be_visible()
    # The browser-side check catches a typo before anything is sent.
    await answer(chat, "Email address", "not-an-email")
    await expect(chat.get_by_role("alert")).to_have_text("That doesn't look like an email address. Please check it.")
    await answer(chat, "Email address", email)


async def staff_headers(server: LiveServer) -> dict[str, str]:
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        r = await client.post("/api/v1/tokens", json={"email": RITA, "password": demo.DEMO_PASSWORD})
        assert r.status_code == 201, r.text
        return {"Authorization": f"Bearer {r.json()['token']}"}


async def shot(page: Page, name: str) -> None:
    await page.screenshot(path=str(SHOTS / f"{name}.png"))


CONSOLE_TYPING = """async (chatId) => {
  const ws = new WebSocket(location.origin.replace(/^http/, 'ws') + '/ws/live/console');
  const next = (type) => new Promise((resolve) => {
    ws.addEventListener('message', function on(e) {
      if (JSON.parse(e.data).type === type) { ws.removeEventListener('message', on); resolve(); }
    });
  });
  await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = reject; });
  const welcome = next('welcome');
  ws.send(JSON.stringify({type: 'hello', v: 1, conn: 'console-e2e-1'}));
  await welcome;
  const watching = next('watching');
  ws.send(JSON.stringify({type: 'watch', chat: chatId, last_seq: null}));
  await watching;
  ws.send(JSON.stringify({type: 'typing', chat: chatId, active: true}));
  window.consoleSocket = ws;
}"""


# --------------------------------------------------------------------------- 1. a knockout answer


async def test_a_disqualifying_answer_shows_the_sorry_message_and_queues_nothing(
    demo_server: LiveServer, new_context: NewContext, site: JobSite
) -> None:
    site.job_id = await make_job(demo_server, online=True, origins=[site.origin])
    page = await (await new_context()).new_page()
    await page.goto(f"{site.origin}/careers.html")
    chat_now = page.get_by_role("button", name="Chat now")
    await expect(chat_now).to_be_visible()
    await expect(chat_now).to_have_attribute("aria-expanded", "false")
    await chat_now.click()
    chat = widget(page)
    await answer_contact(chat, "Cara Candidate", "cara@mail.example")
    await expect(chat.get_by_text("Would you like to add a phone number? It's optional.")).to_be_visible()
    await chat.get_by_role("button", name="Skip this question").click()
    await expect(chat.get_by_label("LinkedIn profile (optional)")).to_be_focused()
    await chat.get_by_role("button", name="Skip this question").click()
    await expect(chat.get_by_text(QUESTION).first).to_be_visible()
    choices = chat.get_by_role("group", name=QUESTION)
    await expect(choices.get_by_role("button")).to_have_text(["Yes", "No"])
    await choices.get_by_role("button", name="No").dblclick()  # a double click answers once
    await expect(chat.get_by_text(SORRY)).to_be_visible()
    await expect(chat.get_by_role("link", name="See the job description")).to_have_attribute("href", f"/jobs/{site.job_id}")
    await expect(chat.get_by_role("button", name="End chat")).to_be_hidden()
    await shot(page, "quickchat-rejected")
    assert await count(demo_server, "rejected") == 1
    assert await count(demo_server, "waiting") == 0


# --------------------------------------------------------------------------- 2. queue, recruiter, reload, end


async def test_a_qualified_candidate_waits_chats_with_the_recruiter_and_gets_the_apply_link(
    demo_server: LiveServer, new_context: NewContext, site: JobSite
) -> None:
    site.job_id = await make_job(demo_server, online=True, origins=[site.origin])
    page = await (await new_context(viewport={"width": 1280, "height": 800})).new_page()
    await page.goto(f"{site.origin}/careers.html")
    await page.get_by_role("button", name="Chat now").click()
    chat = widget(page)
    await answer_contact(chat, "Cara Candidate", "cara@mail.example")
    phone = chat.get_by_label("Phone number (optional)")
    await expect(phone).to_be_focused()
    await phone.fill("030 1234567")
    await phone.press("Enter")
    await expect(chat.get_by_role("alert")).to_contain_text("Please include the country code")
    await phone.fill("+49 30 1234567")
    await chat.get_by_label("OK to text me about this chat").check()
    await chat.get_by_role("button", name="Send", exact=True).click()
    await expect(chat.get_by_text("+49 30 1234567 (texts OK)")).to_be_visible()
    await answer(chat, "LinkedIn profile (optional)", "linkedin.com/in/cara")
    await chat.get_by_role("group", name=QUESTION).get_by_role("button", name="Yes").click()

    # In the queue: position and estimate, live.
    status = chat.get_by_role("status").filter(has_text="in line")
    await expect(status).to_have_text(re.compile(r"^You're next in line\. Estimated wait: .+\.$"))
    await expect(chat.get_by_role("button", name="End chat")).to_be_visible()
    assert await count(demo_server, "waiting") == 1
    await shot(page, "quickchat-waiting")

    # The candidate may write while waiting; the line is stored (acknowledged) before anyone takes the chat.
    box = chat.get_by_label("Message", exact=True)
    await box.fill("Hello! Is the role open to juniors?")
    await box.press("Enter")
    await expect(chat.locator(".lc-me").filter(has_text="Is the role open to juniors?")).not_to_have_class(re.compile("lc-pending"))

    # Waiting longer than the job req's note_after_seconds (180 s here; the wait is wound forward): the chat offers a note.
    await (await widget_frame(page, demo_server)).evaluate("fairmeetChat.waitSince = Date.now() - 181e3; fairmeetChat.armNoteOffer()")
    await chat.get_by_role("button", name="Leave a note instead").click()
    await expect(chat.get_by_label("Leave a note for the recruiters")).to_be_focused()

    staff = await staff_headers(demo_server)
    async with httpx.AsyncClient(base_url=demo_server.base_url, headers=staff) as api:
        [waiting] = (await api.get("/api/v1/live-chats", params={"status": "waiting"})).json()
        chat_id = waiting["id"]
        detail = (await api.get(f"/api/v1/live-chats/{chat_id}")).json()
        assert detail["candidate"]["phone"] == "+49301234567" and detail["candidate"]["sms_consent"] is True
        assert detail["fields"]["linkedin"]["value"] == "linkedin.com/in/cara"
        assert detail["source_url"] == f"{site.origin}/careers.html"

        r = await api.post(f"/api/v1/live-chats/{chat_id}/take")
        assert r.status_code == 200, r.text
        await expect(chat.get_by_role("heading", name="Rita Recruiter")).to_be_visible()
        await expect(chat.get_by_text("Rita Recruiter joined the chat")).to_be_visible()
        await expect(chat.locator("#lc-avatar")).to_have_text("RR")
        await expect(status).to_be_hidden()
        await expect(chat.get_by_label("Leave a note for the recruiters")).to_have_count(0)  # taken: no more note offer

        # Typing, from the recruiter's console socket.
        console = await (await new_context()).new_page()
        await sign_in(console, RITA)
        await console.evaluate(CONSOLE_TYPING, chat_id)
        await expect(chat.get_by_text("Rita Recruiter is typing…")).to_be_visible()
        r = await api.post(f"/api/v1/live-chats/{chat_id}/messages", json={"client_id": "rita-1", "text": "Hi Cara! Yes, juniors <b>welcome</b>."})
        assert r.status_code == 201, r.text
        await expect(chat.get_by_text("Hi Cara! Yes, juniors <b>welcome</b>.")).to_be_visible()  # text, not markup
        await expect(chat.get_by_text("Rita Recruiter is typing…")).to_be_hidden()

        box = chat.get_by_label("Message", exact=True)
        await box.fill("Great, thanks!")
        await box.press("Shift+Enter")
        await box.type("Second line.")
        await box.press("Enter")
        await expect(chat.locator(".lc-me .lc-text").last).to_have_text("Great, thanks!\nSecond line.")

        async def lines() -> list[str]:
            return [m["body"]["text"] for m in (await api.get(f"/api/v1/live-chats/{chat_id}/messages")).json()["messages"]
                    if m["kind"] == "message"]

        for _ in range(50):
            if "Great, thanks!\nSecond line." in await lines():
                break
            await asyncio.sleep(0.1)
        assert "Great, thanks!\nSecond line." in await lines() and "Hello! Is the role open to juniors?" in await lines()

        # The candidate moves on the job site: the recruiter sees the current page.
        await page.evaluate("location.hash = 'benefits'")
        for _ in range(50):
            if (await api.get(f"/api/v1/live-chats/{chat_id}")).json()["current_url"].endswith("#benefits"):
                break
            await asyncio.sleep(0.1)
        assert (await api.get(f"/api/v1/live-chats/{chat_id}")).json()["current_url"] == f"{site.origin}/careers.html#benefits"
        await shot(page, "quickchat-active-desktop")
        await page.set_viewport_size({"width": 390, "height": 844})
        await expect(page.locator("iframe[title='Chat with a recruiter']")).to_have_js_property("clientWidth", 390)
        await shot(page, "quickchat-active-390")
        width = await (await widget_frame(page, demo_server)).evaluate("document.documentElement.scrollWidth")
        assert width <= 390
        await page.set_viewport_size({"width": 1280, "height": 800})

        # The connection drops: what is typed meanwhile is sent after the reconnect, and nothing is missed or doubled.
        frame = await widget_frame(page, demo_server)
        await frame.evaluate("window.fairmeetChat.ws.close()")
        box = chat.get_by_label("Message", exact=True)
        await box.fill("Sent while offline")
        await box.press("Enter")
        await api.post(f"/api/v1/live-chats/{chat_id}/messages", json={"client_id": "rita-offline", "text": "Written while you were away"})
        await expect(chat.get_by_text("Written while you were away")).to_be_visible()
        await expect(chat.locator(".lc-me").filter(has_text="Sent while offline")).not_to_have_class(re.compile("lc-pending"))
        await expect(chat.locator(".lc-me").filter(has_text="Sent while offline")).to_have_count(1)
        assert (await lines()).count("Sent while offline") == 1

        # Minimized, a new line shows as a count on the button.
        await chat.get_by_role("button", name="Minimize chat").click()
        chat_now = page.get_by_role("button", name="Chat now")
        await expect(chat_now).to_be_focused()
        await api.post(f"/api/v1/live-chats/{chat_id}/messages", json={"client_id": "rita-2", "text": "Do you have a CV handy?"})
        await expect(page.get_by_role("button", name="Chat now, 1 new")).to_be_visible()
        await page.get_by_role("button", name="Chat now, 1 new").click()

        # A reload (or the next page of the site) resumes the same chat, history and all.
        await page.reload()
        chat = widget(page)
        await expect(chat.get_by_text("Do you have a CV handy?")).to_be_visible()
        await expect(chat.get_by_text("Hi Cara! Yes, juniors <b>welcome</b>.")).to_be_visible()
        await expect(chat.get_by_role("heading", name="Rita Recruiter")).to_be_visible()
        await expect(chat.locator(".lc-me .lc-text").filter(has_text="Great, thanks!")).to_have_count(1)

        # A résumé: the server checks it by content.
        frame = await widget_frame(page, demo_server)
        await frame.set_input_files("#lc-file", files=FilePayload(name="notes.txt", mimeType="text/plain", buffer=b"just text"))
        await expect(chat.get_by_text(re.compile(r"^Not uploaded: Upload a PDF, DOC or DOCX file\."))).to_be_visible()
        await frame.set_input_files("#lc-file", files=FilePayload(name="cara.pdf", mimeType="application/pdf",
                                                                 buffer=b"%PDF-1.4\n" + b"0" * 2000))
        await expect(chat.get_by_text(re.compile(r"^Shared cara\.pdf \(2 KB\)\."))).to_be_visible()
        await expect(chat.get_by_text("You shared a résumé (cara.pdf)")).to_be_visible()

        r = await api.post(f"/api/v1/live-chats/{chat_id}/end", json={"next_step": "Interview", "outcome": "finished"})
        assert r.status_code == 200, r.text
        await expect(chat.get_by_text("Rita Recruiter has left the chat")).to_be_visible()
        await expect(chat.get_by_text("This chat has ended.")).to_be_visible()
        apply = chat.get_by_role("link", name="Apply for this job")
        await expect(apply).to_have_attribute("href", "https://northwind.example/apply")
        await expect(apply).to_have_attribute("target", "_blank")
        await expect(chat.get_by_label("Message", exact=True)).to_have_count(0)
        await shot(page, "quickchat-ended")
        await chat.get_by_role("button", name="Start a new chat").click()
        await expect(chat.get_by_role("heading", name="Chat with a recruiter")).to_be_visible()
        await expect(chat.get_by_label("Your name")).to_be_focused()
        await expect(chat.get_by_text("Do you have a CV handy?")).to_have_count(0)


async def sign_in(page: Page, email: str) -> None:
    await page.goto("/login")
    await page.get_by_label("Email").first.fill(email)
    await page.get_by_label("Password").fill(demo.DEMO_PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("button", name="Sign out")).to_be_visible()


# --------------------------------------------------------------------------- 3. only allowed sites may frame the chat


async def test_a_site_the_job_req_does_not_allow_gets_no_chat(demo_server: LiveServer, new_context: NewContext, site: JobSite) -> None:
    site.job_id = await make_job(demo_server, online=True, origins=[site.origin])
    page = await (await new_context()).new_page()
    refused: list[str] = []
    page.on("console", lambda m: refused.append(m.text) if "frame-ancestors" in m.text else None)
    # The same server under another name (127.0.0.1 instead of localhost) is another origin, and not on the list.
    await page.goto(f"http://127.0.0.1:{site.port}/careers.html")
    await page.get_by_role("button", name="Chat now").click()
    await expect(page.locator("iframe[title='Chat with a recruiter']")).to_be_visible()
    for _ in range(50):
        if refused:
            break
        await asyncio.sleep(0.1)
    assert refused, "Chromium should refuse to frame the widget"
    for frame in page.frames[1:]:
        try:
            assert not await frame.evaluate("!!document.getElementById('lc')")
        except Exception as err:  # noqa: BLE001 -- an error page may not even be scriptable: no chat either way
            assert "lc" not in str(err)


async def test_a_strict_site_that_blocks_fetches_still_gets_the_widget(demo_server: LiveServer, new_context: NewContext, site: JobSite) -> None:
    """The loader's own check is blocked by the site's connect-src: the hidden iframe asks instead and says "ready"."""
    site.job_id = await make_job(demo_server, online=True, origins=[site.origin])
    page = await (await new_context()).new_page()
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text) if "connect-src" in m.text or "style-src" in m.text else None)
    await page.goto(f"{site.origin}/strict.html")
    await page.get_by_role("button", name="Chat now").click()
    chat = widget(page)
    await expect(chat.get_by_label("Your name")).to_be_focused()
    box = await page.locator("iframe[title='Chat with a recruiter']").bounding_box()
    assert box and box["width"] == 380, box  # the loader's styles apply under style-src 'self' (set through the CSSOM)
    assert any("connect-src" in b for b in blocked) and not any("style-src" in b for b in blocked), blocked


# --------------------------------------------------------------------------- 4. nobody online: a note, then the continue link


async def test_away_candidate_leaves_a_note_and_continues_from_the_emailed_link(demo_server: LiveServer, new_context: NewContext) -> None:
    job_id = await make_job(demo_server, online=False, origins=[])

    async def office_hours(session: AsyncSession, ctx: actions.Context) -> None:
        job = await session.get(JobReq, job_id)
        assert job is not None
        job.hours = '{"tz": "Europe/Berlin", "days": {"0": [["09:00", "17:00"]], "1": [["09:00", "17:00"]]}}'

    await demo_server.run(office_hours)
    page = await (await new_context(viewport={"width": 1280, "height": 860})).new_page()
    await page.goto(f"/jobs/{job_id}")
    await expect(page.get_by_role("heading", name="Robot Technician", level=1)).to_be_visible()
    await expect(page.get_by_role("link", name="Apply", exact=True)).to_have_attribute("href", "https://northwind.example/apply")
    await page.get_by_role("button", name="Chat now").click()
    chat = page.locator("#lc")
    await answer(chat, "Your name", "Omar Oduya")
    await answer(chat, "Email address", "omar@mail.example")
    await chat.get_by_role("button", name="Skip this question").click()
    await chat.get_by_role("button", name="Skip this question").click()
    await chat.get_by_role("button", name="Yes").click()
    await expect(chat.get_by_text("Our recruiters can't chat right now.")).to_be_visible()
    hours = chat.get_by_role("table", name=re.compile("Chat hours"))
    await expect(hours).to_contain_text("Mon 07 Jan09:00–17:00")
    await expect(hours).to_contain_text("closed")
    note = chat.get_by_label("Leave a note for the recruiters")
    await note.fill("I'd love to hear about the night shifts.")
    await chat.get_by_role("button", name="Send note").click()
    await expect(chat.get_by_role("status").filter(has_text="Your note is with the recruiters")).to_be_visible()
    await expect(chat.get_by_text("I'd love to hear about the night shifts.")).to_be_visible()
    await shot(page, "quickchat-job-page-note")
    assert await count(demo_server, "note") == 1

    staff = await staff_headers(demo_server)
    async with httpx.AsyncClient(base_url=demo_server.base_url, headers=staff) as api:
        [noted] = [c for c in (await api.get("/api/v1/live-chats", params={"status": "active"})).json() if c.get("status") == "note"] or [None]
        chat_id = noted["id"] if noted else await note_chat_id(demo_server)
        r = await api.post(f"/api/v1/live-chats/{chat_id}/messages", json={"client_id": "rita-note-1", "text": "Happy to! Nights are optional."})
        assert r.status_code == 201, r.text
    await expect(chat.get_by_text("Happy to! Nights are optional.")).to_be_visible()  # live, while the page is open

    # On another device, from the emailed link: the whole chat, and it goes on.
    link = live.continue_link(Settings(secret_key="e2e-secret-key", base_url=demo_server.base_url), chat_id)
    phone = await (await new_context(viewport={"width": 390, "height": 844})).new_page()
    await phone.goto(link)
    other = phone.locator("#lc")
    await expect(other.get_by_text("I'd love to hear about the night shifts.")).to_be_visible()
    await expect(other.get_by_text("Happy to! Nights are optional.")).to_be_visible()
    await expect(other.get_by_text("What's your name?")).to_be_visible()
    await expect(other.get_by_role("heading", name="Rita Recruiter")).to_be_visible()  # she has taken up the note
    await expect(other.get_by_role("status").filter(has_text="Rita Recruiter is answering your note.")).to_be_visible()
    box = other.get_by_label("Message", exact=True)
    await box.fill("Great, thanks Rita!")
    await box.press("Enter")
    await expect(other.locator(".lc-me .lc-text").last).to_have_text("Great, thanks Rita!")
    await expect(other.locator(".lc-me.lc-pending")).to_have_count(0)
    assert await phone.evaluate("document.documentElement.scrollWidth") <= 390
    await shot(phone, "quickchat-continue-390")
    await phone.reload()  # resumes without redeeming the link again
    await expect(other.get_by_text("Great, thanks Rita!")).to_be_visible()
    await other.get_by_role("button", name="End chat").click()
    await expect(other.get_by_role("group", name="End this chat?")).to_be_visible()
    await other.get_by_role("button", name="Keep chatting").click()
    await expect(other.get_by_role("button", name="End chat")).to_be_focused()
    await other.get_by_role("button", name="End chat").click()
    await other.get_by_role("button", name="Yes, end it").click()
    await expect(other.get_by_text("You ended the chat")).to_be_visible()
    await expect(other.get_by_role("link", name="Apply for this job")).to_have_attribute("href", "https://northwind.example/apply")
    await expect(other.get_by_role("button", name="End chat")).to_be_hidden()
    assert await count(demo_server, "ended") == 1

    await phone.goto(link[:-3] + "xyz")
    await expect(phone.get_by_role("alert")).to_contain_text("This link has expired or isn't valid any more.")


async def note_chat_id(server: LiveServer) -> int:
    async def find(session: AsyncSession, ctx: actions.Context) -> int:
        return int((await session.execute(select(LiveChat.id).where(LiveChat.status == "note"))).scalar_one())

    found: int = await server.run(find)
    return found


# --------------------------------------------------------------------------- 5. the queue moves


async def test_the_position_in_line_updates_live(demo_server: LiveServer, new_context: NewContext) -> None:
    job_id = await make_job(demo_server, online=True, origins=[])
    async with httpx.AsyncClient(base_url=demo_server.base_url) as anon:
        config = (await anon.get(f"/api/v1/job-reqs/{job_id}/chat-config")).json()
        first = await anon.post(f"/api/v1/job-reqs/{job_id}/chats", json={
            "name": "Ahead Person", "email": "ahead@mail.example", "answers": {str(config["questions"][0]["id"]): "Yes"}})
        assert first.status_code == 201 and first.json()["status"] == "waiting", first.text

    page = await (await new_context(viewport={"width": 390, "height": 844})).new_page()
    await page.goto(f"/jobs/{job_id}")
    await page.get_by_role("button", name="Chat now").click()
    chat = page.locator("#lc")
    await answer(chat, "Your name", "Bea Behind")
    await answer(chat, "Email address", "bea@mail.example")
    await chat.get_by_role("button", name="Skip this question").click()
    await chat.get_by_role("button", name="Skip this question").click()
    await chat.get_by_role("button", name="Yes").click()
    status = chat.get_by_role("status").filter(has_text="in line")
    await expect(status).to_contain_text("You're number 2 in line.")
    # The newest line stays in view while the status line and the footer change the log's height.
    gap = "() => { const l = document.getElementById('lc-log'); return l.scrollHeight - l.scrollTop - l.clientHeight; }"
    assert await page.evaluate(gap) < 2
    await expect(chat.get_by_text("Thanks! You're in line; a recruiter will be with you shortly.")).to_be_in_viewport()
    await shot(page, "quickchat-job-page-390-queue")
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390

    async with httpx.AsyncClient(base_url=demo_server.base_url, headers=await staff_headers(demo_server)) as api:
        r = await api.post(f"/api/v1/live-chats/{first.json()['chat_id']}/take")
        assert r.status_code == 200, r.text
    await expect(status).to_contain_text("You're next in line.")
