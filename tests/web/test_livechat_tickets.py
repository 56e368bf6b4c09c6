"""Tickets through the API and the pages: a chat the last staff member leaves (or ends) leaves a ticket; who sees it; changing
it; a reply by email reopening the chat as a thread the candidate continues from the link; emailing the transcript."""

from __future__ import annotations

import datetime as dt
import html
import re
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from scheduling.db import create_sessionmaker
from scheduling.livechat import tickets
from scheduling.livechat.desk_models import Ticket
from scheduling.livechat.models import LiveChat
from scheduling.models import OutboxMessage, User
from tests.web.conftest import FakeClock, token
from tests.web.test_api_flow import PW
from tests.web.test_livechat_api import _available, _candidate, _job
from tests.web.test_pages import csrf_of, sign_in

FIRST_QUESTION = "Is the role remote, or 100% in Berlin?"


async def _people(client: httpx.AsyncClient, w: dict[str, Any]) -> dict[str, Any]:
    """The event's organizer, and a recruiter of another company at the same event."""
    event_id = w["event_id"]
    r = await client.post(f"/api/v1/events/{event_id}/participants", headers=w["admin"],
                          json={"email": "org@example.test", "name": "Olga", "role": "organizer", "password": PW})
    assert r.status_code == 201, r.text
    org_id = r.json()["user_id"]
    r = await client.post(f"/api/v1/events/{event_id}/companies", headers=w["admin"], json={"name": "Globex", "website": "https://globex.example"})
    assert r.status_code == 201, r.text
    r = await client.post(f"/api/v1/events/{event_id}/participants", headers=w["admin"],
                          json={"email": "gus@example.test", "name": "Gus", "role": "recruiter", "company_id": r.json()["id"], "password": PW})
    assert r.status_code == 201, r.text
    return {"org": await token(client, "org@example.test"), "org_id": org_id, "gus": await token(client, "gus@example.test"),
            "gus_id": r.json()["user_id"], "rec_id": w["ids"]["rec@example.test"], "tal_id": w["ids"]["tal@example.test"]}


async def _chat(client: httpx.AsyncClient, w: dict[str, Any], name: str, line: str, **extra: Any) -> tuple[int, dict[str, str]]:
    """A job chat the recruiter has taken, with one line each."""
    assert (await client.put("/api/v1/live-agent", headers=w["rec"], json={"available": True})).status_code == 200  # online now
    r = await client.post(f"/api/v1/job-reqs/{w['job']['id']}/chats", json=_candidate(w, name, **extra))
    assert r.status_code == 201 and r.json()["status"] == "waiting", r.text
    chat_id, cand = r.json()["chat_id"], {"Authorization": f"Bearer {r.json()['token']}"}
    r = await client.post(f"/api/v1/live-chats/{chat_id}/take", headers=w["rec"])
    assert r.status_code == 200, r.text
    r = await client.post(f"/api/v1/chats/{chat_id}/messages", headers=cand, json={"client_id": f"{name}-1", "text": line})
    assert r.status_code == 201, r.text
    r = await client.post(f"/api/v1/live-chats/{chat_id}/messages", headers=w["rec"], json={"client_id": f"{name}-r1", "text": "Let me check."})
    assert r.status_code == 201, r.text
    return chat_id, cand


async def _ticket_of(client: httpx.AsyncClient, headers: dict[str, str], chat_id: int) -> dict[str, Any] | None:
    r = await client.get("/api/v1/live-tickets", headers=headers)
    assert r.status_code == 200, r.text
    return next((t for t in r.json()["tickets"] if t["chat_id"] == chat_id), None)


async def _outbox(engine: AsyncEngine, kind: str) -> list[OutboxMessage]:
    async with create_sessionmaker(engine)() as s:
        return list((await s.execute(select(OutboxMessage).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id))).scalars())


async def test_leaving_makes_a_ticket_seen_by_its_staff_only(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    w = await _job(client, engine, clock)
    p = await _people(client, w)
    await _available(client, w["rec"])
    chat_id, _ = await _chat(client, w, "Cara", FIRST_QUESTION)
    r = await client.post(f"/api/v1/live-chats/{chat_id}/leave", headers=w["rec"], json={})
    assert r.status_code == 200, r.text
    assert r.json()["chat"]["status"] == "ended" and r.json()["chat"]["ticket"]["status"] == "open"

    mine = await _ticket_of(client, w["rec"], chat_id)
    assert mine is not None and mine["subject"] == FIRST_QUESTION and mine["status"] == "open" and mine["assignee"] is None
    assert mine["candidate"]["name"] == "Cara" and mine["job"]["title"] == "Backend Engineer" and mine["event"]["name"] == "Spring Fair"
    assert mine["recruiter"]["name"] == "Rec" and mine["chat_status"] == "ended" and mine["url"] == f"/live/tickets/{mine['id']}"
    ticket_id = mine["id"]
    assert await _ticket_of(client, p["org"], chat_id) is not None  # the event's organizer
    assert await _ticket_of(client, w["admin"], chat_id) is not None
    for stranger in (p["gus"], w["tal"]):  # a recruiter of another company at the same event; a talent
        assert await _ticket_of(client, stranger, chat_id) is None
        for method, path, body in (("GET", "", None), ("PATCH", "", {"status": "solved"}), ("POST", "/reply", {"text": "Hi"}),
                                   ("POST", "/transcript", None)):
            r = await client.request(method, f"/api/v1/live-tickets/{ticket_id}{path}", headers=stranger, json=body)
            assert r.status_code == 404 and r.json()["error"]["code"] == "ticket_not_found", (method, path, r.text)
    assert (await client.get(f"/api/v1/live-tickets/{ticket_id}")).status_code == 401
    assert (await client.get("/api/v1/live-tickets/999999", headers=w["rec"])).status_code == 404

    r = await client.get(f"/api/v1/live-tickets/{ticket_id}", headers=w["rec"])
    assert r.status_code == 200, r.text
    detail = r.json()
    texts = [(m["kind"], m["body"]["text"]) for m in detail["messages"]]
    assert ("message", FIRST_QUESTION) in texts and ("message", "Let me check.") in texts
    assert any(k == "bot" for k, _ in texts) and any(k == "notice" and "has left" in t for k, t in texts)
    assert {x["id"] for x in detail["assignees"]} >= {p["rec_id"], p["org_id"]}
    assert p["tal_id"] not in {x["id"] for x in detail["assignees"]}


async def test_change_status_and_assignee(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    w = await _job(client, engine, clock)
    p = await _people(client, w)
    await _available(client, w["rec"])
    chat_id, _ = await _chat(client, w, "Cara", FIRST_QUESTION)
    assert (await client.post(f"/api/v1/live-chats/{chat_id}/leave", headers=w["rec"], json={})).status_code == 200
    ticket = await _ticket_of(client, w["rec"], chat_id)
    assert ticket is not None
    url = f"/api/v1/live-tickets/{ticket['id']}"

    clock.now += dt.timedelta(minutes=1)
    r = await client.patch(url, headers=w["rec"], json={"status": "pending", "assignee_id": p["org_id"], "subject": "Remote work?"})
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["assignee"]["name"], r.json()["subject"]) == ("pending", "Olga", "Remote work?")
    assert r.json()["updated_at"] > ticket["updated_at"]
    for bad, code in (({"assignee_id": p["tal_id"]}, "invalid_assignee"), ({"status": "closed"}, "invalid_input"),
                      ({"subject": "   "}, "invalid_input"), ({"subject": "two\nlines"}, "invalid_input"), ({"color": "red"}, "invalid_input"),
                      ({"assignee_id": "Olga"}, "invalid_input")):
        r = await client.patch(url, headers=w["rec"], json=bad)
        assert r.status_code == 422 and r.json()["error"]["code"] == code, (bad, r.text)
    # A field left out stays; null unassigns.
    r = await client.patch(url, headers=p["org"], json={"status": "solved"})
    assert r.json()["assignee"]["name"] == "Olga" and r.json()["status"] == "solved" and r.json()["subject"] == "Remote work?"
    r = await client.patch(url, headers=w["rec"], json={"assignee_id": None})
    assert r.status_code == 200 and r.json()["assignee"] is None

    # Another company's recruiter at the event can't be given the ticket (they would read the candidate's details).
    assert (await client.get(url, headers=p["gus"])).status_code == 404
    r = await client.patch(url, headers=w["rec"], json={"assignee_id": p["gus_id"]})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_assignee"
    assert (await client.get(url, headers=p["gus"])).status_code == 404
    # The organizer can: it is on their list of tickets assigned to them.
    assert (await client.patch(url, headers=w["rec"], json={"assignee_id": p["org_id"]})).status_code == 200
    r = await client.get("/api/v1/live-tickets?assignee=me", headers=p["org"])
    assert [t["id"] for t in r.json()["tickets"]] == [ticket["id"]]


async def test_filters_search_and_pages(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    w = await _job(client, engine, clock)
    p = await _people(client, w)
    await _available(client, w["rec"], capacity=5)
    ids = {}
    for name, line in (("Ann", "100% remote?"), ("Ben", "What's the salary_range?"), ("Cid", "Visa sponsorship?")):
        chat_id, _ = await _chat(client, w, name, line)
        clock.now += dt.timedelta(minutes=1)
        if name == "Cid":  # ended with an open ticket instead of leaving
            r = await client.post(f"/api/v1/live-chats/{chat_id}/end", headers=w["rec"],
                                  json={"next_step": "Screen", "outcome": "follow_up", "ticket_status": "open", "assignee_id": p["rec_id"]})
        else:
            r = await client.post(f"/api/v1/live-chats/{chat_id}/leave", headers=w["rec"], json={})
        assert r.status_code == 200, r.text
        ids[name] = (await _ticket_of(client, w["rec"], chat_id) or {})["id"]
    clock.now += dt.timedelta(minutes=1)
    r = await client.patch(f"/api/v1/live-tickets/{ids['Ann']}", headers=w["rec"], json={"status": "solved"})
    assert r.status_code == 200

    async def names(query: str, headers: dict[str, str] | None = None) -> list[str]:
        r = await client.get(f"/api/v1/live-tickets{query}", headers=headers or w["rec"])
        assert r.status_code == 200, r.text
        return [t["candidate"]["name"] for t in r.json()["tickets"]]

    assert await names("") == ["Ann", "Cid", "Ben"]  # newest update first (Ann was just solved)
    assert await names("?status=open") == ["Cid", "Ben"]
    assert await names("?status=solved") == ["Ann"]
    assert await names("?assignee=me") == ["Cid"]
    assert await names("?assignee=none&status=open") == ["Ben"]
    assert await names("?q=VISA") == ["Cid"]
    assert await names("?q=ben") == ["Ben"]
    assert await names("?q=100%25") == ["Ann"]  # % and _ are searched for as such
    assert await names("?q=salary_") == ["Ben"]
    assert await names("?q=salar_") == []  # not "salary"
    assert await names("", p["org"]) == ["Ann", "Cid", "Ben"]
    r = await client.get("/api/v1/live-tickets?per_page=2", headers=w["rec"])
    body = r.json()
    assert (body["total"], body["page"], len(body["tickets"]), body["counts"]) == (3, 1, 2, {"open": 2, "pending": 0, "solved": 1})
    r = await client.get("/api/v1/live-tickets?per_page=2&page=2", headers=w["rec"])
    assert [t["candidate"]["name"] for t in r.json()["tickets"]] == ["Ben"]
    for bad in ("?status=closed", "?assignee=them", "?per_page=101", "?page=0", "?page=x", "?q=" + "x" * 101):
        r = await client.get(f"/api/v1/live-tickets{bad}", headers=w["rec"])
        assert r.status_code == 422, (bad, r.text)

    # The list in SQL says exactly what the per-ticket rule says, for everyone.
    async with create_sessionmaker(engine)() as s:
        for uid in (p["rec_id"], p["org_id"], p["gus_id"], p["tal_id"]):
            user = await s.get(User, uid)
            assert user is not None
            listed = {r.ticket.id for r in (await tickets.listing(s, user, per_page=100)).rows}
            expected = set()
            for t, c in await s.execute(select(Ticket, LiveChat).join(LiveChat, LiveChat.id == Ticket.live_chat_id)):
                if await tickets.may_see(s, t, c, user, clock.now):
                    expected.add(t.id)
            assert listed == expected, uid


async def test_reply_reopens_the_chat_and_the_candidate_continues(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    w = await _job(client, engine, clock, phone_field="optional")
    p = await _people(client, w)
    await _available(client, w["rec"])
    chat_id, _ = await _chat(client, w, "Cara", FIRST_QUESTION, phone="+49 30 1234567", sms_consent=True)
    assert (await client.post(f"/api/v1/live-chats/{chat_id}/leave", headers=w["rec"], json={})).status_code == 200
    ticket = await _ticket_of(client, w["rec"], chat_id)
    assert ticket is not None
    url = f"/api/v1/live-tickets/{ticket['id']}"
    clock.now += dt.timedelta(hours=2)

    # The organizer replies: the chat is a note thread again, theirs, and the candidate gets the line and the link.
    r = await client.post(f"{url}/reply", headers=p["org"], json={"text": "Hybrid: 2 days a week in Berlin.", "client_id": "org-1"})
    assert r.status_code == 201, r.text
    assert r.json()["created"] and r.json()["emailed"] and r.json()["texted"]
    assert r.json()["ticket"]["status"] == "pending" and r.json()["ticket"]["chat_status"] == "note"
    assert r.json()["ticket"]["recruiter"]["name"] == "Olga"
    chat = (await client.get(f"/api/v1/live-chats/{chat_id}", headers=p["org"])).json()
    assert chat["status"] == "note" and chat["recruiter"]["name"] == "Olga"
    [mail] = await _outbox(engine, "live_reply")
    [sms] = await _outbox(engine, "live_reply_sms")
    assert mail.to_email == "cara@mail.example" and "Hybrid: 2 days a week in Berlin." in mail.body_text and "Olga" in mail.subject
    assert sms.channel == "sms" and sms.to_phone == "+49301234567" and "/live/continue/" in sms.body_text
    link = mail.body_text.split("/live/continue/")[1].split()[0]

    # A retried client_id stores and sends nothing twice; a second reply soon after is stored but mails no one.
    r = await client.post(f"{url}/reply", headers=p["org"], json={"text": "Hybrid: 2 days a week in Berlin.", "client_id": "org-1"})
    assert r.status_code == 200 and not r.json()["created"] and not r.json()["emailed"]
    clock.now += dt.timedelta(minutes=2)
    r = await client.post(f"{url}/reply", headers=p["org"], json={"text": "And Fridays are remote for everyone."})
    assert r.status_code == 201 and r.json()["created"] and not r.json()["emailed"]
    assert len(await _outbox(engine, "live_reply")) == 1
    for bad in ({"text": ""}, {"text": "x" * 4001}, {"text": "   "}, {"text": ["hi"]}, {"text": "hi", "client_id": "has space"}):
        r = await client.post(f"{url}/reply", headers=p["org"], json=bad)
        assert r.status_code == 422, (bad, r.text)

    # The link opens the chat on any device; the candidate writes back.
    r = await client.post("/api/v1/chats/continue", json={"link": link})
    assert r.status_code == 201 and r.json()["chat_id"] == chat_id
    cand = {"Authorization": f"Bearer {r.json()['token']}"}
    view = (await client.get(f"/api/v1/chats/{chat_id}", headers=cand)).json()
    assert view["status"] == "note" and view["recruiter"]["name"] == "Olga"
    lines = [m["body"]["text"] for m in (await client.get(f"/api/v1/chats/{chat_id}/messages", headers=cand)).json()["messages"]]
    assert FIRST_QUESTION in lines and "And Fridays are remote for everyone." in lines
    clock.now += dt.timedelta(minutes=1)
    r = await client.post(f"/api/v1/chats/{chat_id}/messages", headers=cand, json={"client_id": "c-2", "text": "Sounds great, thanks!"})
    assert r.status_code == 201, r.text
    assert (await client.get(url, headers=p["org"])).json()["status"] == "open"  # the candidate's line opens the ticket again
    # The same, directly: where candidate lines arrive (API, socket, plain page), tickets.candidate_replied runs with the line.
    async with create_sessionmaker(engine)() as s, s.begin():
        assert await tickets.candidate_replied(s, chat_id, clock.now)
        assert not await tickets.candidate_replied(s, 999_999, clock.now)  # a chat without a ticket: nothing
    r = await client.get(url, headers=p["org"])
    assert r.json()["status"] == "open" and r.json()["updated_at"] == clock.now.isoformat()
    assert "Sounds great, thanks!" in [m["body"]["text"] for m in r.json()["messages"]]
    # A staff line in the thread from Chats makes it wait for the candidate again (the lead calls this from staff lines on notes).
    async with create_sessionmaker(engine)() as s, s.begin():
        assert await tickets.staff_replied(s, chat_id, clock.now)
        assert not await tickets.staff_replied(s, chat_id, clock.now)  # pending already
    assert (await client.get(url, headers=p["org"])).json()["status"] == "pending"

    # Replying again (after the 10 minutes) emails again and makes it pending; the previous owner can still read the ticket.
    clock.now += dt.timedelta(minutes=11)
    r = await client.post(f"{url}/reply", headers=p["org"], json={"text": "See you Monday!"})
    assert r.status_code == 201 and r.json()["emailed"] and r.json()["ticket"]["status"] == "pending"
    assert len(await _outbox(engine, "live_reply")) == 2
    assert (await client.get(url, headers=w["rec"])).status_code == 200  # the job req's creator manages its chats


async def test_email_the_transcript(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    w = await _job(client, engine, clock)
    await _available(client, w["rec"])
    chat_id, _ = await _chat(client, w, "Cara", FIRST_QUESTION)
    assert (await client.post(f"/api/v1/live-chats/{chat_id}/leave", headers=w["rec"], json={})).status_code == 200
    ticket = await _ticket_of(client, w["rec"], chat_id)
    assert ticket is not None and ticket["transcript_sent_at"] is None
    url = f"/api/v1/live-tickets/{ticket['id']}/transcript"
    r = await client.post(url, headers=w["rec"])
    assert r.status_code == 200, r.text
    assert r.json()["sent_to"] == "cara@mail.example" and r.json()["ticket"]["transcript_sent_at"] == clock.now.isoformat()
    [mail] = await _outbox(engine, "live_transcript")
    assert mail.to_email == "cara@mail.example"
    for line in (f"Cara: {FIRST_QUESTION}", "Rec: Let me check.", "Bot: What's your name?", "Rec has left the chat"):
        assert line in mail.body_text, (line, mail.body_text)
    assert "/live/continue/" not in mail.body_text  # the chat is closed: no link to a chat they can't write in
    r = await client.post(url, headers=w["rec"])
    assert r.status_code == 409 and r.json()["error"]["code"] == "too_soon"
    clock.now += dt.timedelta(minutes=11)
    r = await client.post(f"/api/v1/live-tickets/{ticket['id']}/reply", headers=w["rec"], json={"text": "One more thing."})
    assert r.status_code == 201
    assert (await client.post(url, headers=w["rec"])).status_code == 200
    second = (await _outbox(engine, "live_transcript"))[1]
    assert "One more thing." in second.body_text and "/live/continue/" in second.body_text  # a thread again: they can write back


async def test_pages_list_filter_change_reply_and_transcript(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    w = await _job(client, engine, clock)
    p = await _people(client, w)
    await _available(client, w["rec"])
    chat_id, _ = await _chat(client, w, "Cara", '<b>Remote?</b> {{7*7}}')
    assert (await client.post(f"/api/v1/live-chats/{chat_id}/leave", headers=w["rec"], json={})).status_code == 200
    ticket = await _ticket_of(client, w["rec"], chat_id)
    assert ticket is not None
    page_url = f"/live/tickets/{ticket['id']}"

    assert (await client.get("/live/tickets")).headers["location"].startswith("/login")
    await sign_in(client, "rec@example.test", PW)
    r = await client.get("/live/tickets")
    assert r.status_code == 200
    assert "&lt;b&gt;Remote?&lt;/b&gt; {{7*7}}" in r.text and "<b>Remote?</b>" not in r.text  # escaped, not evaluated
    assert 'aria-current="page">Tickets' in r.text.replace("\n", "") or 'href="/live/tickets" aria-current="page"' in r.text
    assert "Cara" in r.text and "Backend Engineer" in r.text and "Unassigned" in r.text
    r = await client.get("/live/tickets?status=solved")
    assert "Cara" not in r.text and "No solved tickets" in r.text
    r = await client.get("/live/tickets?status=all&who=mine")
    assert "Cara" not in r.text and "assigned to you" in r.text
    r = await client.get("/live/tickets?q=" + "x" * 150)
    assert r.status_code == 200 and "Search: Search for at most 100 characters." in r.text
    r = await client.get("/live/tickets?status=bogus&who=bogus&page=-3")
    assert r.status_code == 200 and "Cara" in r.text

    r = await client.get(page_url)
    assert r.status_code == 200
    text = r.text
    assert "Reply by email" in text and "Email the transcript" in text and "cara@mail.example" in text
    assert 'class="badge">Bot</span>' in text and "has left the chat" in text
    csrf = csrf_of(text)

    # Without the form's token nothing changes.
    r = await client.post(page_url, data={"subject": "Hacked", "status": "solved", "assignee_id": ""})
    assert r.status_code == 403
    # A wrong assignee: the form comes back as typed, saying which field is wrong.
    r = await client.post(page_url, data={"csrf": csrf, "subject": "Remote work question", "status": "pending", "assignee_id": str(p["tal_id"])})
    assert r.status_code == 422
    assert "Assignee: Assign the ticket" in html.unescape(r.text) and 'value="Remote work question"' in r.text
    assert re.search(r'<option value="pending"\s+selected', r.text)
    r = await client.post(page_url, data={"csrf": csrf, "subject": "Remote work question", "status": "pending", "assignee_id": str(p["org_id"])})
    assert r.status_code == 303 and r.headers["location"] == page_url
    r = await client.get(page_url)
    assert "Ticket saved: pending." in r.text and "<h1>Remote work question</h1>" in r.text
    assert re.search(rf'<option value="{p["org_id"]}"\s+selected>Olga', r.text)

    # An empty reply is refused with the reason beside the form; a reply goes out and reopens the chat.
    r = await client.post(f"{page_url}/reply", data={"csrf": csrf, "text": "   ", "client_id": "form-1"})
    assert r.status_code == 422 and "Reply: An empty message" in html.unescape(r.text)
    r = await client.post(f"{page_url}/reply", data={"csrf": csrf, "text": "Yes, fully remote.", "client_id": "form-1"})
    assert r.status_code == 303 and r.headers["location"] == page_url + "#reply"
    r = await client.get(page_url)
    assert "Reply sent to Cara by email" in html.unescape(r.text) and "Thread reopened: you answer" in r.text and "Yes, fully remote." in r.text
    r = await client.post(f"{page_url}/reply", data={"csrf": csrf, "text": "Yes, fully remote.", "client_id": "form-1"})  # a double submit
    assert r.status_code == 303
    assert "That reply was already sent." in (await client.get(page_url)).text
    assert len(await _outbox(engine, "live_reply")) == 1
    messages = (await client.get(f"/api/v1/live-tickets/{ticket['id']}", headers=w["rec"])).json()["messages"]
    assert sum(1 for m in messages if m["body"]["text"] == "Yes, fully remote.") == 1

    r = await client.post(f"{page_url}/transcript", data={"csrf": csrf})
    assert r.status_code == 303
    assert "Transcript emailed to cara@mail.example." in (await client.get(page_url)).text
    r = await client.post(f"{page_url}/transcript", data={"csrf": csrf})
    assert r.status_code == 409 and "minute ago" in r.text
    [mail] = await _outbox(engine, "live_transcript")
    assert "<b>Remote?</b> {{7*7}}" in mail.body_text and "Yes, fully remote." in mail.body_text

    # Someone who may not see the ticket gets a 404 page and changes nothing.
    client.cookies.clear()
    await sign_in(client, "gus@example.test", PW)
    assert (await client.get(page_url)).status_code == 404
    r = await client.get("/live/tickets?status=all")
    assert "Cara" not in r.text
    csrf = csrf_of(r.text)
    r = await client.post(page_url, data={"csrf": csrf, "subject": "Mine now", "status": "solved", "assignee_id": ""})
    assert r.status_code == 404
    async with create_sessionmaker(engine)() as s:
        stored = await s.get(Ticket, ticket["id"])
        assert stored is not None and stored.subject == "Remote work question"
