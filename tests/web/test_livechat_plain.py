"""QuickChat without JavaScript: the plain form checks the same answers, the chat page works by posting forms, and the chat's
token stays in an HttpOnly cookie of that chat's path."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from scheduling.db import create_sessionmaker
from scheduling.livechat.models import LiveChat
from tests.web.conftest import FakeClock
from tests.web.test_livechat_api import _available, _job


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found
    return found.group(1)


async def test_plain_form_chat_and_end(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    w = await _job(client, engine, clock)
    await _available(client, w["rec"])
    job_id = w["job"]["id"]
    q1, q2 = w["q"]
    page = await client.get(f"/jobs/{job_id}/chat")
    assert page.status_code == 200 and "Are you allowed to work in the EU?" in page.text and 'name="field_inquiry"' in page.text
    form = {"csrf": _csrf(page.text), "name": "Pia {{7*7}}", "email": "pia@mail.example", "field_inquiry": "Backend", f"q_{q1}": "Yes"}

    r = await client.post(f"/jobs/{job_id}/chat", data=form)  # the second question is missing
    assert r.status_code == 422 and "Answer every question first" in r.text and 'value="Pia {{7*7}}"' in r.text  # typed input kept
    r = await client.post(f"/jobs/{job_id}/chat", data={**form, f"q_{q2}": "0-1"})
    assert r.status_code == 200 and "right match" in r.text  # the sorry message; no chat to open
    r = await client.post(f"/jobs/{job_id}/chat", data={**form, "csrf": "stale", f"q_{q2}": "5+"})
    assert r.status_code == 403

    r = await client.post(f"/jobs/{job_id}/chat", data={**form, f"q_{q2}": "5+"})
    assert r.status_code == 303
    location = r.headers["location"]
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and f"Path={location}" in cookie and "token" not in location
    chat = await client.get(location)
    assert chat.status_code == 200 and "number 1 in line" in chat.text and 'http-equiv="refresh"' in chat.text
    assert "Pia {{7*7}}" in chat.text and "<b>" not in chat.text

    r = await client.post(f"{location}/send", data={"csrf": _csrf(chat.text), "text": "Hello <b>there</b>", "client_id": "p1"})
    assert r.status_code == 303
    await client.post(f"{location}/send", data={"csrf": _csrf(chat.text), "text": "Hello <b>there</b>", "client_id": "p1"})  # a resubmit
    take = await client.post("/api/v1/live-chats/take-next", headers=w["rec"])
    chat_id = take.json()["id"]
    await client.post(f"/api/v1/live-chats/{chat_id}/messages", headers=w["rec"], json={"client_id": "r", "text": "Hi Pia"})
    page = await client.get(location)
    assert "Rec</strong> is chatting with you" in page.text and "Hi Pia" in page.text and "Hello &lt;b&gt;there&lt;/b&gt;" in page.text
    assert page.text.count("Hello &lt;b&gt;there&lt;/b&gt;") == 1

    # Another browser (no cookie) can't open or write to it.
    async with httpx.AsyncClient(transport=client._transport, base_url="http://testserver") as stranger:  # noqa: SLF001
        assert (await stranger.get(location)).status_code == 404
        r = await stranger.post(f"{location}/send", data={"csrf": "x", "text": "hijack"})
        assert r.status_code == 303
    r = await client.post(f"{location}/end", data={"csrf": _csrf(page.text)})
    assert r.status_code == 303
    page = await client.get(location)
    assert "This chat has ended" in page.text and "https://acme.example/apply" in page.text and 'http-equiv="refresh"' not in page.text
    async with create_sessionmaker(engine)() as s:
        assert (await s.execute(select(func.count()).select_from(LiveChat).where(LiveChat.status == "ended"))).scalar_one() == 1


async def test_plain_page_when_nobody_can_chat_takes_a_note(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    w = await _job(client, engine, clock)
    job_id = w["job"]["id"]
    q1, q2 = w["q"]
    page = await client.get(f"/jobs/{job_id}/chat")
    r = await client.post(f"/jobs/{job_id}/chat", data={"csrf": _csrf(page.text), "name": "Ola", "email": "ola@mail.example",
                                                          "field_inquiry": "x", f"q_{q1}": "Yes", f"q_{q2}": "2-4"})
    location = r.headers["location"]
    page = await client.get(location)
    assert "Nobody can chat right now" in page.text and "Leave the note" in page.text
    r = await client.post(f"{location}/note", data={"csrf": _csrf(page.text), "text": "Call me maybe"})
    page = await client.get(location)
    assert "Your note is with the recruiters" in page.text and "Call me maybe" in page.text
