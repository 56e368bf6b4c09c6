"""A note answered while the candidate is away reaches them for real: an email through an SMTP server (aiosmtpd) and a text
through an SMS gateway (Kannel with its fake SMSC), both sent by the app's own background senders; the link continues the chat."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.scheduling.test_delivery import SmtpServer, smtp  # noqa: F401 -- fixtures
from tests.scheduling.test_sms import KannelView, kannel, kannel_process  # noqa: F401 -- fixtures
from tests.web.conftest import FakeClock
from tests.web.test_livechat_api import _candidate, _job
from web.app import create_app
from web.settings import Settings

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:aiosmtpd.*")


@pytest.fixture
async def delivering_client(db_url: str, clock: FakeClock, smtp: SmtpServer, kannel: KannelView,  # noqa: F811 -- fixtures
                            tmp_path: object) -> AsyncIterator[httpx.AsyncClient]:
    smtp.start()
    settings = Settings(database_url=db_url, secret_key="test-secret", base_url="http://testserver", smtp_url=smtp.url, sms_url=kannel.url,
                        mail_poll_seconds=0.1, upload_dir=str(tmp_path))
    app = create_app(settings, clock=clock, background=True)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
            yield c


async def test_a_reply_to_a_note_arrives_by_email_and_text(delivering_client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock,
                                                           smtp: SmtpServer, kannel: KannelView) -> None:  # noqa: F811
    client = delivering_client
    w = await _job(client, engine, clock)
    start = (await client.post(f"/api/v1/job-reqs/{w['job']['id']}/chats",
                               json=_candidate(w, "Dana", phone="+44 20 7946 0018", sms_consent=True))).json()
    assert start["status"] == "away"
    cand = {"Authorization": f"Bearer {start['token']}"}
    r = await client.post(f"/api/v1/chats/{start['chat_id']}/note", headers=cand, json={"text": "Could we talk about the {{7*7}} team?"})
    assert r.status_code == 201
    r = await client.post(f"/api/v1/live-chats/{start['chat_id']}/messages", headers=w["rec"],
                          json={"client_id": "r1", "text": "Of course! <b>Tuesday</b> works."})
    assert r.status_code == 201

    for _ in range(200):  # the app's mail sender polls every 0.1 s
        if [m for m in smtp.inbox.messages() if "dana@mail.example" in m["To"]]:
            break
        await asyncio.sleep(0.1)
    [mail] = [m for m in smtp.inbox.messages() if "dana@mail.example" in m["To"]]
    body = mail.get_content()
    assert "Rec answered your note" in mail["Subject"] and "Of course! <b>Tuesday</b> works." in body
    link = re.search(r"http://testserver/live/continue/(\S+)", body)
    assert link
    texts = await asyncio.to_thread(kannel.received, 1)
    assert len(texts) == 1 and texts[0].to.endswith("442079460018") and "/live/continue/" in texts[0].text

    # The link opens the same chat, with its history, on another device.
    r = await client.post("/api/v1/chats/continue", json={"link": link.group(1)})
    assert r.status_code == 201 and r.json()["chat_id"] == start["chat_id"]
    history = (await client.get(f"/api/v1/chats/{start['chat_id']}/messages", headers={"Authorization": f"Bearer {r.json()['token']}"})).json()
    assert [m["body"]["text"] for m in history["messages"] if m["kind"] == "message"][-2:] == [
        "Could we talk about the {{7*7}} team?", "Of course! <b>Tuesday</b> works."]

    # A second reply right after doesn't send another email or text (one per 10 minutes per chat).
    await client.post(f"/api/v1/live-chats/{start['chat_id']}/messages", headers=w["rec"], json={"client_id": "r2", "text": "See you!"})
    await asyncio.sleep(0.5)
    assert len([m for m in smtp.inbox.messages() if "dana@mail.example" in m["To"]]) == 1
    assert len(await asyncio.to_thread(kannel.received, 0)) == 1
