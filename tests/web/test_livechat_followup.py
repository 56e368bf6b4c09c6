"""Follow Up after a live chat: email the candidate, forward them to a colleague, a booking link that books through the 1-1 chat core."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from markupsafe import escape
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from scheduling.db import create_sessionmaker
from scheduling.livechat.models import LiveChatShare
from scheduling.models import BusyBlock, ChatRequest, OutboxMessage, Participant, User
from tests.web.conftest import FakeClock, token
from tests.web.test_api_flow import PW, setup_event
from tests.web.test_pages import csrf_of, sign_in
from web.app import create_app
from web.settings import Settings

HOSTILE = '<img src=x onerror="alert(1)">{{7*7}}'
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
JOB = {
    "title": "Backend Engineer", "company": "Acme", "location": "Berlin", "description": "Python and PostgreSQL.", "phone_field": "optional",
    "custom_fields": [{"id": "inquiry", "label": "Nature of inquiry", "required": True}],
    "questions": [{"text": "Are you allowed to work in the EU?", "kind": "yes_no", "qualifying": ["Yes"]}],
}


@pytest.fixture
async def fclient(db_url: str, clock: FakeClock, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The app with resumes kept in the test's own directory."""
    settings = Settings(database_url=db_url, secret_key="test-secret", base_url="http://testserver", upload_dir=str(tmp_path / "uploads"))
    app = create_app(settings, clock=clock, background=False)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
            yield c


async def _job(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> dict[str, Any]:
    """The Spring Fair (Ada organizes; Rec recruits for Acme), and a job req of it that Rec answers."""
    w: dict[str, Any] = await setup_event(client, engine, clock.now)
    r = await client.post("/api/v1/job-reqs", headers=w["rec"], json={**JOB, "event_id": w["event_id"]})
    assert r.status_code == 201, r.text
    job = r.json()
    r = await client.post(f"/api/v1/job-reqs/{job['id']}/assignees", headers=w["rec"], json={"user_id": w["ids"]["rec@example.test"]})
    assert r.status_code == 201, r.text
    return {**w, "job": job}


async def _available(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    r = await client.put("/api/v1/live-agent", headers=headers, json={"available": True, "capacity": 5})
    assert r.status_code == 200, r.text


def _candidate(w: dict[str, Any], name: str, **extra: Any) -> dict[str, Any]:
    [q] = w["job"]["questions"]
    return {"name": name, "email": f"{name.lower()}@mail.example", "fields": {"inquiry": "The backend role"}, "answers": {str(q["id"]): "Yes"},
            **extra}


async def _outbox(engine: AsyncEngine, *kinds: str) -> list[OutboxMessage]:
    async with create_sessionmaker(engine)() as s:
        stmt = select(OutboxMessage).order_by(OutboxMessage.id)
        if kinds:
            stmt = stmt.where(OutboxMessage.kind.in_(kinds))
        return list((await s.execute(stmt)).scalars())


async def _person(client: httpx.AsyncClient, w: dict[str, Any], email: str, name: str, role: str = "recruiter",
                  company_id: int | None = None) -> tuple[int, dict[str, str]]:
    body: dict[str, Any] = {"email": email, "name": name, "role": role, "password": PW}
    if role == "recruiter":
        body["company_id"] = company_id or w["company_id"]
    r = await client.post(f"/api/v1/events/{w['event_id']}/participants", headers=w["admin"], json=body)
    assert r.status_code == 201, r.text
    return r.json()["user_id"], await token(client, email)


async def _ended_chat(client: httpx.AsyncClient, w: dict[str, Any], name: str = "Cara", **extra: Any) -> tuple[int, dict[str, str]]:
    """A candidate's chat, taken by Rec and ended with Follow Up; (chat id, the candidate's auth header)."""
    await _available(client, w["rec"])
    r = await client.post(f"/api/v1/job-reqs/{w['job']['id']}/chats", json=_candidate(w, name, **extra))
    assert r.status_code == 201 and r.json()["status"] == "waiting", r.text
    chat_id, cand = r.json()["chat_id"], {"Authorization": f"Bearer {r.json()['token']}"}
    assert (await client.post(f"/api/v1/live-chats/{chat_id}/take", headers=w["rec"])).status_code == 200
    r = await client.post(f"/api/v1/chats/{chat_id}/messages", headers=cand, json={"client_id": "c1", "text": "I love PostgreSQL internals."})
    assert r.status_code == 201
    r = await client.post(f"/api/v1/live-chats/{chat_id}/end", headers=w["rec"], json={"next_step": "Interview", "outcome": "follow_up"})
    assert r.status_code == 200, r.text
    return chat_id, cand


# --------------------------------------------------------------------------- email


async def test_email_goes_to_the_candidate_with_a_copy_and_only_their_recruiter_may_send_it(
        fclient: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    client = fclient
    w = await _job(client, engine, clock)
    chat_id, cand = await _ended_chat(client, w)
    url = f"/api/v1/live-chats/{chat_id}/follow-up/email"
    body = f"Thanks for the chat!\n{HOSTILE}\n<script>alert(2)</script>"

    r = await client.post(url, headers=w["rec"], json={"subject": HOSTILE, "body": body, "copy_me": True})
    assert r.status_code == 201, r.text
    assert r.json() == {"chat_id": chat_id, "action": "email", "sent_to": ["cara@mail.example", "rec@example.test"], "texted": False,
                        "shared_with": None, "resume": None, "transcript": None, "expires_at": None}
    to_candidate, copy = await _outbox(engine, "live_followup_email", "live_followup_copy")
    assert (to_candidate.to_email, to_candidate.to_name, to_candidate.subject) == ("cara@mail.example", "Cara", HOSTILE)
    assert to_candidate.body_text.startswith(body) and "rec@example.test" in to_candidate.body_text  # where answers reach the recruiter
    assert copy.to_email == "rec@example.test" and copy.subject == f"Copy: {HOSTILE}" and body in copy.body_text

    # Without copy_me, one mail; a subject that would break out of its header, or an empty message, is refused.
    r = await client.post(url, headers=w["rec"], json={"subject": "Next steps", "body": "See you", "copy_me": False})
    assert r.status_code == 201 and r.json()["sent_to"] == ["cara@mail.example"]
    r = await client.post(url, headers=w["rec"], json={"subject": "Hi\r\nBcc: all@evil.example", "body": "x"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_input"
    r = await client.post(url, headers=w["rec"], json={"subject": "Hi", "body": "   "})
    assert r.status_code == 422
    r = await client.post(url, headers=w["rec"], json={"subject": ["Hi"], "body": "x"})
    assert r.status_code == 422

    # A recruiter of the same job req who didn't have the chat, a talent, a stranger: not found. No token: 401.
    other_id, other = await _person(client, w, "other@example.test", "Otto")
    assert (await client.post(f"/api/v1/job-reqs/{w['job']['id']}/assignees", headers=other, json={"user_id": other_id})).status_code == 201
    for headers in (other, w["tal"]):
        r = await client.post(url, headers=headers, json={"subject": "Hi", "body": "Hello"})
        assert r.status_code == 404 and r.json()["error"]["code"] == "chat_not_found", r.text
    assert (await client.post(url, json={"subject": "Hi", "body": "Hello"})).status_code == 401
    assert len(await _outbox(engine, "live_followup_email", "live_followup_copy")) == 3

    # The transcript (the staff's and the candidate's) records it, as text.
    lines = (await client.get(f"/api/v1/live-chats/{chat_id}/messages", headers=w["rec"])).json()["messages"]
    notices = [m["body"] for m in lines if m["kind"] == "notice" and m["body"].get("event") == "follow_up_email"]
    assert [n["text"] for n in notices] == [f"Rec emailed Cara: {HOSTILE}", "Rec emailed Cara: Next steps"]
    assert any(m["body"].get("event") == "follow_up_email" for m in (await client.get(f"/api/v1/chats/{chat_id}/messages", headers=cand)).json()["messages"])

    # The page shows it escaped, never as markup.
    await sign_in(client, "rec@example.test")
    for path in (f"/live/chats/{chat_id}/follow-up", f"/live/history/{chat_id}"):
        page = await client.get(path)
        assert page.status_code == 200, page.text
        assert str(escape(HOSTILE)) in page.text and HOSTILE not in page.text


async def test_follow_up_page_forms_send_and_keep_what_was_typed(fclient: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    client = fclient
    w = await _job(client, engine, clock)
    chat_id, _ = await _ended_chat(client, w)
    await sign_in(client, "rec@example.test")
    page = await client.get(f"/live/chats/{chat_id}/follow-up")
    assert page.status_code == 200 and "Email Cara" in page.text and "Forward to a colleague" in page.text and "Schedule a follow-up" in page.text
    csrf = csrf_of(page.text)

    r = await client.post(f"/live/chats/{chat_id}/follow-up/email", data={"subject": "Thanks", "body": "Hello Cara", "copy_me": "1"})
    assert r.status_code == 403  # no CSRF token
    r = await client.post(f"/live/chats/{chat_id}/follow-up/email", data={"csrf": csrf, "subject": "Thanks", "body": "Hello Cara", "copy_me": "1"})
    assert r.status_code == 303 and r.headers["location"] == f"/live/chats/{chat_id}/follow-up"
    assert [m.to_email for m in await _outbox(engine, "live_followup_email", "live_followup_copy")] == ["cara@mail.example", "rec@example.test"]
    page = await client.get(f"/live/chats/{chat_id}/follow-up")
    assert "Email sent." in page.text and "Rec emailed Cara: Thanks" in page.text

    # A refusal keeps the typed message, says why beside the form, and sends nothing.
    typed = "A long message I don't want to type again <b>bold</b>"
    r = await client.post(f"/live/chats/{chat_id}/follow-up/email", data={"csrf": csrf, "subject": "Bad\x0bsubject", "body": typed})
    assert r.status_code == 422 and str(escape(typed)) in r.text and "line breaks or control characters" in r.text
    r = await client.post(f"/live/chats/{chat_id}/follow-up/forward", data={"csrf": csrf, "to_email": "someone@elsewhere.example",
                                                                           "forward_message": typed})
    assert r.status_code == 422 and str(escape(typed)) in r.text and "colleagues" in r.text
    r = await client.post(f"/live/chats/{chat_id}/follow-up/schedule", data={"csrf": csrf, "schedule_message": typed})
    assert r.status_code == 409 and "no free times" in r.text and str(escape(typed)) in r.text
    assert len(await _outbox(engine, "live_followup_email", "live_followup_copy", "live_forward", "live_followup_link")) == 2

    # Someone else's chat: not found.
    client.cookies.clear()
    await _person(client, w, "other@example.test", "Otto")
    await sign_in(client, "other@example.test")
    assert (await client.get(f"/live/chats/{chat_id}/follow-up")).status_code == 404


# --------------------------------------------------------------------------- forward


async def test_forward_only_to_colleagues_who_may_then_download_the_resume(fclient: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    client = fclient
    w = await _job(client, engine, clock)
    chat_id, cand = await _ended_chat(client, w, phone="+49 30 1234567", sms_consent=True)
    r = await client.post(f"/api/v1/chats/{chat_id}/resume", headers=cand, files={"file": ("cv.pdf", PDF, "application/pdf")})
    assert r.status_code == 201
    await client.patch(f"/api/v1/live-chats/{chat_id}", headers=w["rec"], json={"private_notes": "Strong on databases."})
    col_id, _ = await _person(client, w, "col@example.test", "Colin")  # Rec's company, Acme
    r = await client.post(f"/api/v1/events/{w['event_id']}/companies", headers=w["admin"], json={"name": "Globex"})
    globex_id, _ = await _person(client, w, "gil@example.test", "Gil", company_id=r.json()["id"])

    info = (await client.get(f"/api/v1/live-chats/{chat_id}/follow-up", headers=w["rec"])).json()
    assert [c["name"] for c in info["colleagues"]] == ["Ada", "Colin"]  # the event's organizer, Rec's company; not Globex's Gil, not talents
    url = f"/api/v1/live-chats/{chat_id}/follow-up/forward"
    refused = [{"to_email": "stranger@elsewhere.example"}, {"to_email": "tal@example.test"}, {"to_user_id": w["ids"]["tal@example.test"]},
               {"to_user_id": globex_id}, {"to_email": "gil@example.test"}, {"to_user_id": w["ids"]["rec@example.test"]}, {"to_user_id": 99999}]
    for target in refused:
        r = await client.post(url, headers=w["rec"], json={**target, "message": "Have a look", "include_resume": True})
        assert r.status_code == 422 and r.json()["error"]["code"] == "not_a_colleague", (target, r.text)
    r = await client.post(url, headers=w["rec"], json={"to_user_id": col_id, "to_email": "col@example.test"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_recipient"
    assert await _outbox(engine, "live_forward") == []

    # First without the resume or the transcript: the profile only.
    r = await client.post(url, headers=w["rec"], json={"to_email": "COL@example.test", "message": f"Worth a call {HOSTILE}"})
    assert r.status_code == 201, r.text
    assert r.json()["shared_with"] == {"id": col_id, "name": "Colin"} and r.json()["resume"] is False and r.json()["transcript"] is False
    [mail] = await _outbox(engine, "live_forward")
    assert mail.to_email == "col@example.test" and "Cara" in mail.subject
    for expected in ("cara@mail.example", "+49301234567", "Are you allowed to work in the EU? Yes", "Nature of inquiry: The backend role",
                     "Strong on databases.", f"Worth a call {HOSTILE}", "Interview"):
        assert expected in mail.body_text, expected
    assert "/resume" not in mail.body_text and "PostgreSQL internals" not in mail.body_text

    client.cookies.clear()
    await sign_in(client, "col@example.test")
    assert (await client.get(f"/live/shared/{chat_id}/resume")).status_code == 404  # the resume wasn't shared

    # Then with both: the link works for Colin, signed in; a stranger and the signed-out still get nothing.
    r = await client.post(url, headers=w["rec"], json={"to_user_id": col_id, "include_resume": True, "include_transcript": True})
    assert r.status_code == 201 and r.json()["resume"] is True and r.json()["transcript"] is True
    mail = (await _outbox(engine, "live_forward"))[-1]
    link = f"http://testserver/live/shared/{chat_id}/resume"
    assert link in mail.body_text and "I love PostgreSQL internals." in mail.body_text and "TRANSCRIPT" in mail.body_text
    r = await client.get(link)
    assert r.status_code == 200 and r.content == PDF and r.headers["content-disposition"].startswith("attachment")
    assert r.headers["x-content-type-options"] == "nosniff"
    async with create_sessionmaker(engine)() as s:
        assert (await s.execute(select(func.count()).select_from(LiveChatShare))).scalar_one() == 1  # one row, widened

    client.cookies.clear()
    assert (await client.get(link)).status_code in (302, 303)  # sign in first
    await sign_in(client, "gil@example.test")
    assert (await client.get(link)).status_code == 404
    assert (await client.get(f"/api/v1/live-chats/{chat_id}/resume", headers=await token(client, "gil@example.test"))).status_code == 404
    assert (await client.get(f"/api/v1/live-chats/{chat_id}/resume", headers=w["rec"])).status_code == 200  # the chat's own staff, as before


# --------------------------------------------------------------------------- schedule


def _link(mail: OutboxMessage) -> str:
    found = re.search(r"http://testserver(/book/[A-Za-z0-9_.\-]+)", mail.body_text)
    assert found, mail.body_text
    return found.group(1)


async def _calendar(client: httpx.AsyncClient, w: dict[str, Any], *windows: tuple[str, str], slot_minutes: int = 30) -> dict[str, Any]:
    r = await client.put("/api/v1/live-agent/follow-up-calendar", headers=w["rec"],
                         json={"slot_minutes": slot_minutes, "availability": [{"start": a, "end": b} for a, b in windows]})
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_the_booking_link_books_through_the_core(fclient: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    client = fclient
    w = await _job(client, engine, clock)
    chat_id, cand = await _ended_chat(client, w, phone="+49 30 1234567", sms_consent=True)
    url = f"/api/v1/live-chats/{chat_id}/follow-up/schedule"
    r = await client.post(url, headers=w["rec"], json={"message": "Let's talk more."})
    assert r.status_code == 409 and r.json()["error"]["code"] == "no_availability"

    cal = await _calendar(client, w, ("2026-03-25T10:00:00+01:00", "2026-03-25T11:00:00+01:00"))
    assert cal["open_slots"] == 2 and cal["slot_minutes"] == 30 and cal["timezone"] == "UTC"
    r = await client.post(url, headers=w["rec"], json={"message": "Let's talk more."})
    assert r.status_code == 201 and r.json()["sent_to"] == ["cara@mail.example"] and r.json()["texted"] is True, r.text
    [mail, sms] = await _outbox(engine, "live_followup_link", "live_followup_link_sms")
    assert mail.to_email == "cara@mail.example" and "Let's talk more." in mail.body_text and "rec@example.test" in mail.body_text
    assert sms.channel == "sms" and sms.to_phone == "+49301234567"
    link = _link(mail)
    assert link in sms.body_text and "cara" not in link  # the address isn't readable from the link

    page = await client.get(link + "?tz=America/New_York")
    assert page.status_code == 200 and page.headers["referrer-policy"] == "no-referrer"
    assert "Book a follow-up chat with Rec" in page.text and "05:00–05:30" in page.text and "05:30–06:00" in page.text  # New York time (EDT)
    # The zone picker is searchable: a device's old name or a typed city finds the zone as the list spells it.
    for asked, shown in (("Asia/Calcutta", "Asia/Kolkata"), ("new york", "America/New_York")):
        other = await client.get(link, params={"tz": asked})
        assert f'list="book-tz-zones" value="{shown}"' in other.text, asked
    csrf = csrf_of(page.text)
    r = await client.post(link, data={"csrf": csrf, "start": "2026-03-25T09:00:00+00:00", "tz": "America/New_York",
                                      "browser_tz": "America/New_York"})
    assert r.status_code == 303, r.text

    sm = create_sessionmaker(engine)
    async with sm() as s:
        [booked] = (await s.execute(select(ChatRequest))).scalars().all()
        talent = (await s.execute(select(User).where(User.email == "cara@mail.example"))).scalar_one()
        assert booked.status == "confirmed" and booked.talent_id == talent.id and booked.recruiter_id == w["ids"]["rec@example.test"]
        assert booked.starts_at == dt.datetime(2026, 3, 25, 9, 0, tzinfo=dt.UTC) and booked.ends_at == dt.datetime(2026, 3, 25, 9, 30, tzinfo=dt.UTC)
        assert talent.password_hash is None and talent.timezone == "America/New_York"
        member = (await s.execute(select(Participant).where(Participant.user_id == talent.id))).scalar_one()
        assert member.role == "talent" and member.event_id == booked.event_id == cal["event_id"]
        blocks = (await s.execute(select(BusyBlock.user_id, func.count()).group_by(BusyBlock.user_id))).all()
        assert sorted(blocks) == sorted([(talent.id, 6), (w["ids"]["rec@example.test"], 6)])
    invites = [m for m in await _outbox(engine, "confirmed") if m.ical]
    assert sorted(m.to_email for m in invites) == ["cara@mail.example", "rec@example.test"]
    assert all(m.ical_method == "REQUEST" and "BEGIN:VEVENT" in (m.ical or "") for m in invites)
    [how] = await _outbox(engine, "live_followup_sign_in")
    assert how.to_email == "cara@mail.example" and "/login/link/" in how.body_text and "America/New_York" in how.body_text

    # The page now shows the booking in the candidate's zone, with the invite; the calendar and the transcript show it too.
    page = await client.get(link)
    assert page.status_code == 200 and "is booked" in page.text and "05:00–05:30" in page.text and "America/New_York" in page.text
    ics = await client.get(link + "/invite.ics")
    assert ics.status_code == 200 and ics.headers["content-type"].startswith("text/calendar") and "BEGIN:VCALENDAR" in ics.text
    cal = (await client.get("/api/v1/live-agent/follow-up-calendar", headers=w["rec"])).json()
    assert cal["open_slots"] == 1 and [u["talent"]["name"] for u in cal["upcoming"]] == ["Cara"]
    texts = [m["body"]["text"] for m in (await client.get(f"/api/v1/chats/{chat_id}/messages", headers=cand)).json()["messages"]]
    assert "Rec sent Cara a link to book a follow-up chat" in texts and any(t.startswith("Cara booked a follow-up chat") for t in texts)

    # Booking again from the same link: already booked, nothing changes.
    r = await client.post(link, data={"csrf": csrf, "start": "2026-03-25T09:30:00+00:00"})
    assert r.status_code == 409 and "is booked" in r.text
    # The one-time sign-in link opens the chat in Fairmeet (the room needs an account).
    secret = re.search(r"/login/link/([A-Za-z0-9_\-]+)", how.body_text)
    assert secret
    client.cookies.clear()
    landing = await client.get(f"/login/link/{secret.group(1)}?next=/chats/{booked.id}")
    r = await client.post(f"/login/link/{secret.group(1)}", data={"csrf": csrf_of(landing.text), "next": f"/chats/{booked.id}"})
    assert r.status_code == 303 and r.headers["location"] == f"/chats/{booked.id}"
    assert (await client.get(f"/chats/{booked.id}")).status_code == 200


async def test_two_candidates_race_for_the_last_slot(fclient: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    client = fclient
    w = await _job(client, engine, clock)
    ann, _ = await _ended_chat(client, w, "Ann")
    ben, _ = await _ended_chat(client, w, "Ben")
    await _calendar(client, w, ("2026-03-25T10:00:00+01:00", "2026-03-25T10:30:00+01:00"))
    for chat_id in (ann, ben):
        assert (await client.post(f"/api/v1/live-chats/{chat_id}/follow-up/schedule", headers=w["rec"], json={})).status_code == 201
    links = [_link(m) for m in await _outbox(engine, "live_followup_link")]
    pages = [await client.get(link) for link in links]
    assert all(p.status_code == 200 and 'name="start"' in p.text for p in pages)
    form = {"csrf": csrf_of(pages[0].text), "start": "2026-03-25T09:00:00+00:00", "tz": "UTC"}
    results = await asyncio.gather(*(client.post(link, data=form) for link in links))
    codes = sorted(r.status_code for r in results)
    assert codes == [303, 409], [r.text[:300] for r in results]
    loser = next(r for r in results if r.status_code == 409)
    assert "just taken" in loser.text and "No time is free right now" in loser.text  # the message and the fresh (empty) list
    async with create_sessionmaker(engine)() as s:
        assert (await s.execute(select(func.count()).select_from(ChatRequest).where(ChatRequest.status == "confirmed"))).scalar_one() == 1
        assert (await s.execute(select(func.count()).select_from(ChatRequest))).scalar_one() == 1  # the loser's request rolled back too
        assert (await s.execute(select(func.count()).select_from(BusyBlock))).scalar_one() == 12


async def test_booking_links_expire_and_refuse_tampering(fclient: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    client = fclient
    w = await _job(client, engine, clock)
    chat_id, _ = await _ended_chat(client, w)
    await _calendar(client, w, ("2026-04-20T10:00:00+02:00", "2026-04-20T12:00:00+02:00"))
    assert (await client.post(f"/api/v1/live-chats/{chat_id}/follow-up/schedule", headers=w["rec"], json={})).status_code == 201
    link = _link((await _outbox(engine, "live_followup_link"))[0])
    page = await client.get(link)
    assert page.status_code == 200
    csrf = csrf_of(page.text)

    tampered = link[:-3] + ("aaa" if not link.endswith("aaa") else "bbb")
    for bad in (tampered, "/book/not-a-link-at-all", "/book/" + "x" * 40):
        r = await client.get(bad)
        assert r.status_code == 410 and "Ask the recruiter for a new one" in r.text, bad
        r = await client.post(bad, data={"csrf": csrf, "start": "2026-04-20T08:00:00+00:00"})
        assert r.status_code == 410
    assert (await client.get(tampered + "/invite.ics")).status_code == 410

    r = await client.post(link, data={"csrf": csrf, "start": "2026-04-20T08:15:00+00:00"})
    assert r.status_code == 422 and "not one of the recruiter" in r.text  # off the grid: refused by the core, slots shown again
    # A changed candidate address voids the link; so does time.
    await client.patch(f"/api/v1/live-chats/{chat_id}", headers=w["rec"], json={"email": "cara.new@mail.example"})
    r = await client.get(link)
    assert r.status_code == 410 and "no longer valid" in r.text
    await client.patch(f"/api/v1/live-chats/{chat_id}", headers=w["rec"], json={"email": "cara@mail.example"})
    assert (await client.get(link)).status_code == 200
    clock.now += dt.timedelta(days=15)
    r = await client.get(link)
    assert r.status_code == 410 and "expired" in r.text
    r = await client.post(link, data={"csrf": csrf, "start": "2026-04-20T08:00:00+00:00"})
    assert r.status_code == 410
    async with create_sessionmaker(engine)() as s:
        assert (await s.execute(select(func.count()).select_from(ChatRequest))).scalar_one() == 0


async def test_availability_page_sets_times_in_the_recruiters_zone(fclient: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    client = fclient
    w = await _job(client, engine, clock)
    chat_id, _ = await _ended_chat(client, w)
    await sign_in(client, "rec@example.test")  # signs in from New York: the zone is the account's
    page = await client.get("/live/availability")
    assert page.status_code == 200 and "No times yet" in page.text and "America/New_York" in page.text
    csrf = csrf_of(page.text)
    r = await client.post("/live/availability", data={"csrf": csrf, "op": "add", "day": "2026-03-24", "from": "09:00", "to": "10:00"})
    assert r.status_code == 303
    assert "Times added." in (await client.get("/live/availability")).text
    r = await client.post("/live/availability", data={"csrf": csrf, "op": "add", "day": "2026-03-24", "from": "09:30", "to": "11:00"})
    assert r.status_code == 303
    page = await client.get("/live/availability")
    assert "must not overlap" in page.text  # the core's check, shown on the page
    r = await client.post("/live/availability", data={"csrf": csrf, "op": "length", "slot_minutes": "20"})
    assert r.status_code == 303
    cal = (await client.get("/api/v1/live-agent/follow-up-calendar", headers=w["rec"])).json()
    assert cal["availability"] == [{"start": "2026-03-24T13:00:00+00:00", "end": "2026-03-24T14:00:00+00:00"}]  # 09:00 EDT
    assert cal["slot_minutes"] == 20 and cal["open_slots"] == 3 and cal["timezone"] == "America/New_York"
    page = await client.get(f"/live/chats/{chat_id}/follow-up")
    assert "3 free times" in page.text and "Send booking link" in page.text
    r = await client.post("/live/availability", data={"csrf": csrf, "op": "remove", "start": "2026-03-24T13:00:00+00:00"})
    assert r.status_code == 303
    assert (await client.get("/api/v1/live-agent/follow-up-calendar", headers=w["rec"])).json()["open_slots"] == 0

    # Talents have no follow-up calendar.
    client.cookies.clear()
    await sign_in(client, "tal@example.test")
    assert (await client.get("/live/availability")).status_code == 403
    r = await client.put("/api/v1/live-agent/follow-up-calendar", headers=w["tal"], json={"availability": []})
    assert r.status_code == 403
