"""Finding #4: text that is too long is refused, on pages and in the API, with a message that names the field in words;
nothing is ever cut quietly. The limits live in scheduling/limits.py; the API schemas use the same numbers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from scheduling import actions, limits
from scheduling.db import create_sessionmaker
from scheduling.errors import Invalid
from scheduling.models import ChatRequest, Event, Participant, User
from tests.factories import PASSWORD, make_world
from tests.web.conftest import FakeClock, token
from tests.web.test_pages import csrf_of, sign_in

LONG_NAME = "Spring" + "x" * 4994  # 5,000 characters, no space to break at


def _event_body(**over: Any) -> dict[str, Any]:
    return {"name": "Autumn Fair", "timezone": "Europe/Berlin", "starts_at": "2026-09-01T08:00:00Z", "ends_at": "2026-09-02T16:00:00Z", **over}


async def test_actions_refuse_long_text_instead_of_cutting_it(engine: AsyncEngine, clock: FakeClock) -> None:
    sm = create_sessionmaker(engine)
    w = await make_world(sm, clock.now)
    ctx = actions.Context(now=clock.now)
    fmt = actions.ChatFormat()
    async with sm() as s, s.begin():
        event = await s.get(Event, w.event_id)
        assert event is not None
        starts, ends = event.starts_at, event.ends_at
    cases: list[tuple[Callable[[AsyncSession], Awaitable[object]], str]] = [
        (lambda s: actions.update_event(s, w.admin, w.event_id, name=LONG_NAME, timezone="Europe/Berlin", starts_at=starts, ends_at=ends,
                                        description="", support_email="", fmt=fmt), "The event name is limited to 200 characters"),
        (lambda s: actions.update_event(s, w.admin, w.event_id, name="Fair", timezone="Europe/Berlin", starts_at=starts, ends_at=ends,
                                        description="d" * 5001, support_email="", fmt=fmt),
         "The event description is limited to 5,000 characters; this one has 5,001"),
        (lambda s: actions.add_company(s, w.admin, w.event_id, name="Globex", description="d" * 5001), "The company description is limited"),
        (lambda s: actions.add_company(s, w.admin, w.event_id, name="Globex", website="https://x.example/" + "p" * 500),
         "The website is limited to 500 characters"),
        (lambda s: actions.set_recruiter_profile(s, w.recruiters[0], w.event_id, w.recruiters[0].id, booking_mode="selective",
                                                 custom_question="q" * 501, ideal_candidate="", availability=None),
         "The question to talents is limited to 500 characters"),
        (lambda s: actions.set_recruiter_profile(s, w.recruiters[0], w.event_id, w.recruiters[0].id, booking_mode="selective",
                                                 custom_question="", ideal_candidate="i" * 2001, availability=None), "is limited to 2,000"),
        (lambda s: actions.send_request(s, ctx, w.talents[0], w.event_id, recruiter_id=w.recruiters[0].id, message="m" * 2001),
         "The message is limited to 2,000 characters"),
    ]
    for run, message in cases:
        with pytest.raises(Invalid) as err:
            async with sm() as s, s.begin():
                await run(s)
        assert message in err.value.message
    # Reasons: a pending request declined with a 1,001-character note is refused, not stored cut to 1,000.
    async with sm() as s, s.begin():
        chat = await actions.send_request(s, ctx, w.talents[0], w.event_id, recruiter_id=w.recruiters[0].id, message="Hello")
    with pytest.raises(Invalid) as err:
        async with sm() as s, s.begin():
            await actions.decline(s, ctx, w.recruiters[0], chat.id, "r" * 1001)
    assert "The reason is limited to 1,000 characters" in err.value.message
    with pytest.raises(Invalid):
        async with sm() as s, s.begin():
            await actions.cancel(s, ctx, w.talents[0], chat.id, "r" * 1001)
    async with sm() as s:
        event = await s.get(Event, w.event_id)
        stored = await s.get(ChatRequest, chat.id)
        member = (await s.execute(select(Participant).where(Participant.user_id == w.recruiters[0].id))).scalar_one()
        assert event is not None and event.name == "Spring Hiring Days" and stored is not None and stored.status == "pending"
        assert member.custom_question == "" and member.ideal_candidate == "Engineers"
    # At the limit exactly is fine.
    async with sm() as s, s.begin():
        await actions.decline(s, ctx, w.recruiters[0], chat.id, "r" * limits.REASON)


async def test_the_api_refuses_long_text_and_names_the_field(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    sm = create_sessionmaker(engine)
    w = await make_world(sm, clock.now)
    admin = await token(client, "admin@example.test", PASSWORD)
    r = await client.post("/api/v1/events", json=_event_body(name=LONG_NAME), headers=admin)
    assert r.status_code == 422 and r.json()["error"]["message"] == "name: String should have at most 200 characters"
    r = await client.post("/api/v1/events", json=_event_body(description="d" * 5001), headers=admin)
    assert r.status_code == 422 and r.json()["error"]["message"].startswith("description:")
    r = await client.put(f"/api/v1/events/{w.event_id}", json=_event_body(name=LONG_NAME), headers=admin)
    assert r.status_code == 422 and r.json()["error"]["message"].startswith("name:")
    checks = [
        (f"/api/v1/events/{w.event_id}/companies", {"name": "G" * 201}, "name:"),
        (f"/api/v1/events/{w.event_id}/companies", {"name": "Globex", "description": "d" * 5001}, "description:"),
        (f"/api/v1/events/{w.event_id}/companies", {"name": "Globex", "website": "https://g.example/" + "p" * 490}, "website:"),
        (f"/api/v1/events/{w.event_id}/participants", {"email": "n@example.test", "name": "N" * 121, "role": "talent"}, "name:"),
    ]
    for url, body, field in checks:
        r = await client.post(url, json=body, headers=admin)
        assert r.status_code == 422 and r.json()["error"]["message"].startswith(field), (url, r.text)
    rec = await token(client, "rec0@example.test", PASSWORD)
    r = await client.put(f"/api/v1/events/{w.event_id}/recruiters/{w.recruiters[0].id}", json={"custom_question": "q" * 501}, headers=rec)
    assert r.status_code == 422 and r.json()["error"]["message"].startswith("custom_question:")
    r = await client.put(f"/api/v1/events/{w.event_id}/recruiters/{w.recruiters[0].id}", json={"ideal_candidate": "i" * 2001}, headers=rec)
    assert r.status_code == 422 and r.json()["error"]["message"].startswith("ideal_candidate:")
    tal = await token(client, "tal0@example.test", PASSWORD)
    r = await client.post(f"/api/v1/events/{w.event_id}/chat-requests", json={"recruiter_id": w.recruiters[0].id, "message": "m" * 2001}, headers=tal)
    assert r.status_code == 422 and r.json()["error"]["message"].startswith("message:")
    r = await client.post(f"/api/v1/events/{w.event_id}/chat-requests", json={"recruiter_id": w.recruiters[0].id, "message": "Hi"}, headers=tal)
    chat_id = r.json()["id"]
    r = await client.post(f"/api/v1/chat-requests/{chat_id}/decline", json={"reason": "r" * 1001}, headers=rec)
    assert r.status_code == 422 and r.json()["error"]["message"].startswith("reason:")
    async with sm() as s:
        assert (await s.execute(select(func.count()).select_from(Event))).scalar_one() == 1
        event = await s.get(Event, w.event_id)
        assert event is not None and event.name == "Spring Hiring Days"
        chat = await s.get(ChatRequest, chat_id)
        assert chat is not None and chat.status == "pending"


async def test_pages_refuse_long_text_in_words_and_keep_what_was_typed(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    sm = create_sessionmaker(engine)
    w = await make_world(sm, clock.now)
    # The organizer's event form: a 5,000-character name is refused, not cut to 200.
    await sign_in(client, "org@example.test")
    manage = await client.get(f"/events/{w.event_id}/manage")
    form = {"csrf": csrf_of(manage.text), "op": "event", "name": LONG_NAME, "description": "", "timezone": "Europe/Berlin",
            "starts_date": "2026-03-21", "starts_time": "01:00", "ends_date": "2026-03-23", "ends_time": "01:00", "support_email": "",
            "requests_by": "talents", "slot_minutes": "30", "buffer_minutes": "0", "room_opens_minutes_before": "5"}
    r = await client.post(f"/events/{w.event_id}/manage", data=form, follow_redirects=True)
    assert "The event name is limited to 200 characters" in r.text
    async with sm() as s:
        event = await s.get(Event, w.event_id)
        assert event is not None and event.name == "Spring Hiring Days"
    # The account's headline: refused with the field named, the page keeps the text.
    account = await client.get("/account")
    r = await client.post("/account", data={"csrf": csrf_of(account.text), "timezone": "Europe/Berlin", "headline": "h" * 201})
    assert r.status_code == 422 and "The headline is limited to 200 characters" in r.text and 'value="' + "h" * 201 + '"' in r.text
    async with sm() as s:
        org = await s.get(User, w.organizer.id)
        assert org is not None and org.headline == ""
    # A talent's request message over 2,000 characters: the form comes back with the message and says why.
    client.cookies.clear()
    await sign_in(client, "tal0@example.test")
    page = await client.get(f"/events/{w.event_id}/request/{w.recruiters[0].id}")
    r = await client.post(f"/events/{w.event_id}/request/{w.recruiters[0].id}", data={"csrf": csrf_of(page.text), "message": "m" * 2001})
    assert r.status_code == 422 and "The message is limited to 2,000 characters" in r.text and "m" * 2001 in r.text
    # A cancel reason over 1,000 characters on the chat page.
    ctx = actions.Context(now=clock.now)
    async with sm() as s, s.begin():
        chat = await actions.send_request(s, ctx, w.talents[0], w.event_id, recruiter_id=w.recruiters[0].id)
        await actions.accept(s, ctx, w.recruiters[0], chat.id)
        await actions.book(s, ctx, w.talents[0], chat.id, dt.datetime(2026, 3, 21, 1, 0, tzinfo=dt.UTC))
    page = await client.get(f"/chats/{chat.id}")
    r = await client.post(f"/chats/{chat.id}/cancel", data={"csrf": csrf_of(page.text), "reason": "r" * 1001}, follow_redirects=True)
    assert "The reason is limited to 1,000 characters" in r.text
    async with sm() as s:
        stored = await s.get(ChatRequest, chat.id)
        assert stored is not None and stored.status == "confirmed"


async def test_long_unbroken_names_wrap_in_the_header() -> None:
    """The event bar, titles and cards wrap anywhere rather than run off a phone's screen (looked at in the e2e test)."""
    from pathlib import Path

    css = (Path(__file__).parents[2] / "web" / "static" / "app.css").read_text(encoding="utf-8")
    rule = next(line for line in css.splitlines() if line.startswith(".eventtitle, .eventtitle a"))  # titles: anywhere
    assert "overflow-wrap: anywhere" in rule and "h1" in rule
