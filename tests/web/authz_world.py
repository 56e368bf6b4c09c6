"""One world for the authorization matrix (tests/web/test_authz_coverage.py): two events, every role, and one of each
object the routes name (a confirmed 1-1 chat, a job req, live chats with a candidate token, a ticket, an attachment, a
team, a routing rule, a saved reply, an article, a CV, signed links), made through the API as clients make them."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from scheduling import accounts
from scheduling.livechat.models import LiveChat
from scheduling.models import Announcement, OutboxMessage, User
from web.livechat import live
from web.settings import Settings

PW = "correct horse battery"
BUILT_AT = dt.datetime(2026, 3, 20, 8, 0, tzinfo=dt.UTC)
EVENT_START = dt.datetime(2026, 3, 21, 8, 0, tzinfo=dt.UTC)
CHAT_START = "2026-03-21T10:30:00+01:00"  # the confirmed 1-1 chat: 09:30 UTC
# While the matrix runs: five minutes before the chat (its room is open), the event is on.
RUN_AT = dt.datetime(2026, 3, 21, 9, 25, tzinfo=dt.UTC)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
JOB = {
    "title": "Backend Engineer", "company": "Acme", "location": "Berlin", "description": "Python and PostgreSQL.",
    "apply_url": "https://acme.example/apply", "allowed_origins": ["https://jobs.acme.example"],
    "questions": [{"text": "Are you allowed to work in the EU?", "kind": "yes_no", "qualifying": ["Yes"]}],
}
# Signed-in roles (cookie session + API token); "anonymous" and "candidate" (a live chat's token) have no account.
NAMES = {"admin": "Ada Admin", "organizer": "Olga Orgwell", "recruiter": "Rafa Recwell", "talent": "Tilda Talwell", "bystander": "Bea Bywell",
         "other": "Otto Otherwell"}
PEOPLE = {"admin": "admin@authz.test", "organizer": "org@authz.test", "recruiter": "rec@authz.test", "talent": "tal@authz.test",
          "bystander": "by@authz.test", "other": "org2@authz.test"}


@dataclass
class Role:
    name: str
    client: httpx.AsyncClient  # its own cookie jar
    token: str = ""  # API token (staff/people) or the live chat's token (candidate)
    csrf: str = ""


@dataclass
class World:
    ids: dict[str, Any] = field(default_factory=dict)  # path parameter values by world key
    roles: dict[str, Role] = field(default_factory=dict)
    user_ids: dict[str, int] = field(default_factory=dict)


def csrf_of(text: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', text) or re.search(r'name="csrf-token" content="([^"]+)"', text)
    assert found, text[:300]
    return found.group(1)


async def _ok(r: httpx.Response, *codes: int) -> Any:
    assert r.status_code in (codes or (200, 201)), (r.request.method, r.request.url.path, r.status_code, r.text[:500])
    return r.json() if r.headers.get("content-type", "").startswith("application/json") else None


async def sign_in(client: httpx.AsyncClient, email: str) -> str:
    page = await client.get("/login")
    r = await client.post("/login", data={"email": email, "password": PW, "csrf": csrf_of(page.text), "next": "/account", "tz": "UTC"})
    assert r.status_code == 303, r.text
    return csrf_of((await client.get("/account")).text)  # signing in starts a new session with a new token


async def build(transport: httpx.AsyncBaseTransport, sm: async_sessionmaker[Any], settings: Settings) -> World:
    w = World()
    api = httpx.AsyncClient(transport=transport, base_url="http://testserver")
    # The events are made by an admin of their own (who thereby organizes them); the "admin" role is a platform admin
    # who takes part in no event, so what it gets comes from being an admin alone.
    async with sm() as s, s.begin():
        await accounts.create_user(s, email="root@authz.test", name="Rob Root", password=PW, now=BUILT_AT, is_admin=True)
        await accounts.create_user(s, email=PEOPLE["admin"], name="Ada Admin", password=PW, now=BUILT_AT, is_admin=True)

    async def token(email: str) -> str:
        return str((await _ok(await api.post("/api/v1/tokens", json={"email": email, "password": PW})))["token"])

    h: dict[str, dict[str, str]] = {}
    h["root"] = {"Authorization": f"Bearer {await token('root@authz.test')}"}
    h["admin"] = {"Authorization": f"Bearer {await token(PEOPLE['admin'])}"}

    async def event(name: str) -> int:
        body = {"name": name, "timezone": "Europe/Berlin", "starts_at": EVENT_START.isoformat(),
                "ends_at": (EVENT_START + dt.timedelta(days=2)).isoformat(),
                "chat_format": {"requests_by": "both", "slot_minutes": 30, "buffer_minutes": 0}}
        return int((await _ok(await api.post("/api/v1/events", headers=h["root"], json=body)))["id"])

    async def person(event_id: int, role_key: str, role: str, company_id: int | None = None) -> int:
        body: dict[str, Any] = {"email": PEOPLE[role_key], "name": NAMES[role_key], "role": role, "password": PW}
        if company_id:
            body["company_id"] = company_id
        out = await _ok(await api.post(f"/api/v1/events/{event_id}/participants", headers=h["root"], json=body), 201)
        return int(out["user_id"])

    ev = await event("Spring Fair")
    ev2 = await event("Autumn Fair")
    acme = int((await _ok(await api.post(f"/api/v1/events/{ev}/companies", headers=h["root"], json={"name": "Acme", "website": "https://acme.example"})))["id"])
    globex = int((await _ok(await api.post(f"/api/v1/events/{ev2}/companies", headers=h["root"], json={"name": "Globex"})))["id"])
    w.user_ids["admin"] = 1
    w.user_ids["organizer"] = await person(ev, "organizer", "organizer")
    w.user_ids["recruiter"] = await person(ev, "recruiter", "recruiter", acme)
    w.user_ids["talent"] = await person(ev, "talent", "talent")
    w.user_ids["bystander"] = await person(ev, "bystander", "talent")
    w.user_ids["other"] = await person(ev2, "other", "organizer")
    for key in ("organizer", "recruiter", "talent", "bystander", "other"):
        h[key] = {"Authorization": f"Bearer {await token(PEOPLE[key])}"}
    async with sm() as s:
        admin = (await s.execute(select(User).where(User.email == PEOPLE["admin"]))).scalar_one()
        w.user_ids["admin"] = admin.id
    rec, tal = w.user_ids["recruiter"], w.user_ids["talent"]

    # The 1-1 chat: requested by the talent, accepted, booked (confirmed).
    await _ok(await api.put(f"/api/v1/events/{ev}/recruiters/{rec}", headers=h["recruiter"], json={
        "booking_mode": "selective", "custom_question": "", "ideal_candidate": "Tinkerers",
        "availability": [{"start": "2026-03-21T10:00:00+01:00", "end": "2026-03-21T12:00:00+01:00"}]}))
    request = {"recruiter_id": rec, "message": "Robots are my thing"}
    chat = await _ok(await api.post(f"/api/v1/events/{ev}/chat-requests", headers=h["talent"], json=request), 201)
    await _ok(await api.post(f"/api/v1/chat-requests/{chat['id']}/accept", headers=h["recruiter"]))
    await _ok(await api.post(f"/api/v1/chat-requests/{chat['id']}/booking", headers=h["talent"], json={"start": CHAT_START}))

    # Live chat: a job req the recruiter manages, a chat the recruiter took (the candidate's token), one that ended with a
    # ticket, one ended with a follow-up whose booking link was sent.
    job = await _ok(await api.post("/api/v1/job-reqs", headers=h["recruiter"], json={**JOB, "event_id": ev}), 201)
    await _ok(await api.post(f"/api/v1/job-reqs/{job['id']}/assignees", headers=h["recruiter"], json={"user_id": rec}), 201)
    await _ok(await api.put("/api/v1/live-agent", headers=h["recruiter"], json={"available": True, "capacity": 5}))
    answers = {str(job["questions"][0]["id"]): "Yes"}

    async def live_chat(name: str) -> tuple[int, str]:
        out = await _ok(await api.post(f"/api/v1/job-reqs/{job['id']}/chats", json={"name": name, "email": f"{name.lower()}@mail.example",
                                                                                    "answers": answers}), 201)
        chat_id, cand = int(out["chat_id"]), str(out["token"])
        await _ok(await api.post(f"/api/v1/live-chats/{chat_id}/take", headers=h["recruiter"]))
        await _ok(await api.post(f"/api/v1/chats/{chat_id}/messages", headers={"Authorization": f"Bearer {cand}"},
                                 json={"client_id": f"{name}-1", "text": "Is the role remote?"}), 201)
        await _ok(await api.post(f"/api/v1/live-chats/{chat_id}/messages", headers=h["recruiter"], json={"client_id": f"{name}-r", "text": "Partly."}), 201)
        return chat_id, cand

    live_id, cand = await live_chat("Cara")
    up = await _ok(await api.post(f"/api/v1/chats/{live_id}/attachments", headers={"Authorization": f"Bearer {cand}"},
                                  files={"file": ("cv.pdf", PDF, "application/pdf")}), 201)
    attachment_id = int(up["id"] if "id" in up else up["attachment"]["id"])
    await _ok(await api.post(f"/api/v1/chats/{live_id}/resume", headers={"Authorization": f"Bearer {cand}"},
                             files={"file": ("resume.pdf", PDF, "application/pdf")}))
    left_id, dora = await live_chat("Dora")
    up = await _ok(await api.post(f"/api/v1/chats/{left_id}/attachments", headers={"Authorization": f"Bearer {dora}"},
                                  files={"file": ("other.pdf", PDF, "application/pdf")}), 201)
    other_attachment_id = int(up["id"] if "id" in up else up["attachment"]["id"])
    await _ok(await api.post(f"/api/v1/live-chats/{left_id}/leave", headers=h["recruiter"], json={}))
    tickets = await _ok(await api.get("/api/v1/live-tickets", headers=h["recruiter"]))
    items = tickets["tickets"] if isinstance(tickets, dict) else tickets
    ticket_id = int(items[0]["id"])
    ended_id, _ = await live_chat("Emil")
    await _ok(await api.post(f"/api/v1/live-chats/{ended_id}/end", headers=h["recruiter"], json={"next_step": "Interview", "outcome": "follow_up"}))
    await _ok(await api.put("/api/v1/live-agent/follow-up-calendar", headers=h["recruiter"], json={
        "slot_minutes": 30, "availability": [{"start": "2026-03-25T10:00:00+01:00", "end": "2026-03-25T11:00:00+01:00"}]}))
    await _ok(await api.post(f"/api/v1/live-chats/{ended_id}/follow-up/schedule", headers=h["recruiter"], json={"message": "Talk more?"}), 201)
    async with sm() as s:
        mail = (await s.execute(select(OutboxMessage).where(OutboxMessage.kind == "live_followup_link"))).scalars().first()
        assert mail is not None
        found = re.search(r"http://testserver/book/([A-Za-z0-9_.\-]+)", mail.body_text)
        assert found
        book = found.group(1)
        live_chat_row = await s.get(LiveChat, live_id)
        assert live_chat_row is not None

    # Desk and library: a team, a routing rule, a saved reply, an article.
    team = await _ok(await api.post(f"/api/v1/events/{ev}/teams", headers=h["organizer"], json={"name": "Nightowls", "member_ids": [rec]}), 201)
    rule = await _ok(await api.post(f"/api/v1/events/{ev}/routing-rules", headers=h["organizer"],
                                    json={"kind": "job", "job_req_id": job["id"], "team_id": team["id"]}), 201)
    reply = await _ok(await api.post("/api/v1/live-replies", headers=h["recruiter"], json={
        "title": "Where is our booth?", "keywords": "booth", "body": "Hall 3, stand B12."}), 201)
    article = await _ok(await api.post("/api/v1/live-articles", headers=h["organizer"], json={
        "event_id": ev, "title": "How interviews work", "keywords": "video", "body": "A video call in your browser."}), 201)

    # Signed-in browsers (one cookie jar each), the talent's CV, a sign-in link and the talent's calendar feed.
    for key in ("anonymous", *PEOPLE, "candidate", "candidate2"):
        client = httpx.AsyncClient(transport=transport, base_url="http://testserver")
        role = Role(key, client)
        if key in PEOPLE:
            role.csrf = await sign_in(client, PEOPLE[key])
            role.token = h[key]["Authorization"].split(" ", 1)[1]
        else:  # a stranger's browser still has a session (and a form token) from the sign-in page
            role.csrf = csrf_of((await client.get("/login")).text)
        if key == "candidate2":  # a candidate of another chat (Dora's, same job req), with that chat's token
            role.token = dora
        if key == "candidate":
            role.token = cand
            client.cookies.set(f"fm_chat_{live_id}", cand, domain="testserver.local", path=f"/jobs/{job['id']}/chat/{live_id}")
        w.roles[key] = role
    org = w.roles["organizer"]
    r = await org.client.post(f"/events/{ev}/announcements", data={"csrf": org.csrf, "audience": "all", "title": "Welcome",
                                                                  "body": "Doors open at nine."})
    assert r.status_code == 303, r.text
    talent = w.roles["talent"]
    r = await talent.client.post(f"/events/{ev}/me/cv", data={"csrf": talent.csrf}, files={"cv": ("cv.pdf", PDF, "application/pdf")})
    assert r.status_code == 303, r.text
    async with sm() as s, s.begin():
        by = await s.get(User, w.user_ids["bystander"])
        tal_user = await s.get(User, tal)
        assert by is not None and tal_user is not None
        link = await accounts.issue_login_link(s, by, now=BUILT_AT, lifetime=dt.timedelta(days=3))
        feed = tal_user.calendar_token
        announcement_id = (await s.execute(select(Announcement.id))).scalars().one()

    w.ids.update(
        event_id=ev, other_event_id=ev2, company_id=acme, other_company_id=globex, chat_id=int(chat["id"]), live_id=live_id,
        left_id=left_id, ended_id=ended_id, job_id=int(job["id"]), attachment_id=attachment_id, ticket_id=ticket_id,
        team_id=int(team["id"]), rule_id=int(rule["id"]), reply_id=int(reply["id"]), article_id=int(article["id"]),
        recruiter_id=rec, talent_id=tal, bystander_id=w.user_ids["bystander"], organizer_id=w.user_ids["organizer"],
        book=book, continue_signed=live.continue_link(settings, live_id).rsplit("/", 1)[1], login_link=link, feed=feed,
        candidate_token=cand, announcement_id=announcement_id, other_attachment_id=other_attachment_id,
        other_user_id=w.user_ids["other"], other_candidate_token=dora,
    )
    await api.aclose()
    return w
