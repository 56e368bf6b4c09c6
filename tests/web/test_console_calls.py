"""The Chats console also lists the recruiter's 1-1 video chats of the next 24 hours, with the room once it runs."""

from __future__ import annotations

import datetime as dt
import re

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.web.conftest import FakeClock
from tests.web.test_api_flow import PW, setup_event


async def test_console_lists_todays_video_chats(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    w = await setup_event(client, engine, clock.now)
    ev, rec_id = w["event_id"], w["ids"]["rec@example.test"]
    r = await client.post(f"/api/v1/events/{ev}/chat-requests", headers=w["tal"], json={"recruiter_id": rec_id, "message": "Hi", "answer": "x"})
    chat = r.json()
    await client.post(f"/api/v1/chat-requests/{chat['id']}/accept", headers=w["rec"])
    r = await client.post(f"/api/v1/chat-requests/{chat['id']}/booking", headers=w["tal"], json={"start": "2026-03-21T10:30:00+01:00"})
    assert r.status_code == 200

    page = await client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf
    await client.post("/login", data={"email": "rec@example.test", "password": PW, "csrf": csrf.group(1), "next": "/"})
    console = await client.get("/live/console")
    assert "No 1-1 video chats in the next 24 hours." in console.text  # it is a day and more away
    clock.now = dt.datetime(2026, 3, 21, 8, 0, tzinfo=dt.UTC)
    console = await client.get("/live/console")
    assert "with Tal · Spring Fair" in console.text and f'href="/chats/{chat["id"]}"' in console.text and "Join now" not in console.text
    clock.now = dt.datetime(2026, 3, 21, 9, 35, tzinfo=dt.UTC)
    console = await client.get("/live/console")
    assert f'href="/chats/{chat["id"]}/room"' in console.text and "Join now" in console.text
    clock.now = dt.datetime(2026, 3, 21, 10, 5, tzinfo=dt.UTC)
    assert "No 1-1 video chats" in (await client.get("/live/console")).text  # over


async def test_organizer_sets_next_steps_on_the_job_reqs_page(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    w = await setup_event(client, engine, clock.now)
    page = await client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf
    await client.post("/login", data={"email": "admin@example.test", "password": PW, "csrf": csrf.group(1), "next": "/"})
    jobs_page = await client.get("/live/jobs")
    assert "Next steps at your events" in jobs_page.text and "Interview\nScreen\nPipeline\nNot a fit" in jobs_page.text
    token = re.search(r'name="csrf" value="([^"]+)"', jobs_page.text)
    assert token
    r = await client.post(f"/live/events/{w['event_id']}/next-steps", data={"csrf": token.group(1), "next_steps": "Offer\r\nKeep warm\r\n"})
    assert r.status_code == 303
    page = await client.get("/live/jobs")
    assert "Next steps for Spring Fair saved." in page.text and "Offer\nKeep warm" in page.text
    r = await client.post(f"/live/events/{w['event_id']}/next-steps", data={"csrf": token.group(1), "next_steps": "<script>x</script>\n" * 2})
    assert "Each next step is listed once." in (await client.get("/live/jobs")).text
