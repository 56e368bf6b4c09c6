"""The 1-1 chat lifecycle through the public JSON API, as an integration would drive it."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from scheduling.db import create_sessionmaker
from scheduling.models import ChatRequest, OutboxMessage
from tests.web.conftest import FakeClock, token

PW = "correct horse battery"


async def setup_event(client: httpx.AsyncClient, engine: AsyncEngine, now: dt.datetime, **fmt: object) -> dict[str, object]:
    """Admin (made directly, as the CLI does), then everything else through the API."""
    from scheduling import accounts

    async with create_sessionmaker(engine)() as s, s.begin():
        await accounts.create_user(s, email="admin@example.test", name="Ada", password=PW, now=now, is_admin=True)
    admin = await token(client, "admin@example.test")
    start = dt.datetime(2026, 3, 21, 8, 0, tzinfo=dt.UTC)
    r = await client.post("/api/v1/events", headers=admin, json={
        "name": "Spring Fair", "timezone": "Europe/Berlin", "starts_at": start.isoformat(), "ends_at": (start + dt.timedelta(days=2)).isoformat(),
        "chat_format": {"requests_by": "both", "slot_minutes": 30, "buffer_minutes": 0, **fmt},
    })
    assert r.status_code == 201, r.text
    event_id = r.json()["id"]
    r = await client.post(f"/api/v1/events/{event_id}/companies", headers=admin, json={"name": "Acme", "website": "https://acme.example"})
    assert r.status_code == 201
    company_id = r.json()["id"]
    ids = {}
    for email, role in (("rec@example.test", "recruiter"), ("tal@example.test", "talent"), ("tal2@example.test", "talent")):
        body = {"email": email, "name": email.split("@")[0].title(), "role": role, "password": PW}
        if role == "recruiter":
            body["company_id"] = company_id
        r = await client.post(f"/api/v1/events/{event_id}/participants", headers=admin, json=body)
        assert r.status_code == 201, r.text
        ids[email] = r.json()["user_id"]
    rec = await token(client, "rec@example.test")
    r = await client.put(f"/api/v1/events/{event_id}/recruiters/{ids['rec@example.test']}", headers=rec, json={
        "booking_mode": "selective", "custom_question": "Why us?", "ideal_candidate": "Tinkerers",
        "availability": [{"start": "2026-03-21T10:00:00+01:00", "end": "2026-03-21T12:00:00+01:00"}],
    })
    assert r.status_code == 200, r.text
    assert r.json()["open_slots"] == 4
    return {"event_id": event_id, "company_id": company_id, "ids": ids, "admin": admin, "rec": rec,
            "tal": await token(client, "tal@example.test"), "tal2": await token(client, "tal2@example.test")}


async def test_full_lifecycle(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    w = await setup_event(client, engine, clock.now, max_requests_per_talent=3)
    ev, rec_id = w["event_id"], w["ids"]["rec@example.test"]  # type: ignore[index]

    r = await client.get(f"/api/v1/events/{ev}/recruiters", headers=w["tal"], params={"company_id": w["company_id"]})
    assert r.status_code == 200
    [card] = r.json()
    assert card["user_id"] == rec_id and card["company"]["name"] == "Acme" and card["open_slots"] == 4
    assert card["custom_question"] == "Why us?" and card["booking_mode"] == "selective" and card["requests_received"] == 0

    r = await client.post(f"/api/v1/events/{ev}/chat-requests", headers=w["tal"], json={"recruiter_id": rec_id, "message": "Hi"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "answer_required"
    r = await client.post(f"/api/v1/events/{ev}/chat-requests", headers=w["tal"], json={"recruiter_id": rec_id, "message": "Hi", "answer": "Robots"})
    assert r.status_code == 201, r.text
    chat = r.json()
    assert chat["status"] == "pending" and chat["answer"] == "Robots" and chat["question"] == "Why us?"
    me = (await client.get(f"/api/v1/events/{ev}/me", headers=w["tal"])).json()
    assert me["requests_left"] == 2 and me["tabs"]["requests"] == 1

    r = await client.get(f"/api/v1/events/{ev}/chat-requests", headers=w["rec"], params={"status": "pending"})
    assert [c["id"] for c in r.json()] == [chat["id"]]
    # The sender can't accept their own request; the receiver can.
    r = await client.post(f"/api/v1/chat-requests/{chat['id']}/accept", headers=w["tal"])
    assert r.status_code == 403 and r.json()["error"]["code"] == "not_receiver"
    r = await client.post(f"/api/v1/chat-requests/{chat['id']}/accept", headers=w["rec"])
    assert r.status_code == 200 and r.json()["status"] == "accepted"

    slots = (await client.get(f"/api/v1/chat-requests/{chat['id']}/slots", headers=w["tal"])).json()
    assert [s["start"] for s in slots] == ["2026-03-21T09:00:00Z", "2026-03-21T09:30:00Z", "2026-03-21T10:00:00Z", "2026-03-21T10:30:00Z"]
    r = await client.post(f"/api/v1/chat-requests/{chat['id']}/booking", headers=w["tal"], json={"start": "2026-03-21T10:30:00+01:00"})
    assert r.status_code == 200, r.text
    booked = r.json()
    assert booked["status"] == "confirmed" and booked["start"] == "2026-03-21T09:30:00Z" and booked["end"] == "2026-03-21T10:00:00Z"
    assert booked["invite_url"].endswith(f"/api/v1/chat-requests/{chat['id']}/invite.ics")

    ics = await client.get(f"/api/v1/chat-requests/{chat['id']}/invite.ics", headers=w["rec"])
    assert ics.status_code == 200 and ics.headers["content-type"].startswith("text/calendar; method=REQUEST")
    assert "DTSTART:20260321T093000Z" in ics.text

    # The recruiter's open slots drop by the booked one.
    [card] = (await client.get(f"/api/v1/events/{ev}/recruiters", headers=w["tal"])).json()
    assert card["open_slots"] == 3 and card["requests_received"] == 1

    r = await client.post(f"/api/v1/chat-requests/{chat['id']}/reschedule", headers=w["rec"], json={"reason": "Clash", "start": "2026-03-21T09:00:00Z"})
    assert r.status_code == 200 and r.json()["status"] == "confirmed" and r.json()["start"] == "2026-03-21T09:00:00Z"
    r = await client.post(f"/api/v1/chat-requests/{chat['id']}/reschedule", headers=w["tal"], json={"reason": "Sick"})
    assert r.status_code == 200 and r.json()["status"] == "accepted" and r.json()["start"] is None
    r = await client.post(f"/api/v1/chat-requests/{chat['id']}/booking", headers=w["tal"], json={"start": "2026-03-21T10:00:00Z"})
    assert r.status_code == 200
    r = await client.post(f"/api/v1/chat-requests/{chat['id']}/cancel", headers=w["tal"], json={})
    assert r.status_code == 422 and r.json()["error"]["code"] == "reason_required"
    r = await client.post(f"/api/v1/chat-requests/{chat['id']}/cancel", headers=w["tal"], json={"reason": "Got a job"})
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    r = await client.post(f"/api/v1/chat-requests/{chat['id']}/accept", headers=w["rec"])
    assert r.status_code == 409 and r.json()["error"]["code"] == "illegal_transition"
    ics = await client.get(f"/api/v1/chat-requests/{chat['id']}/invite.ics", headers=w["tal"])
    assert ics.headers["content-type"].startswith("text/calendar; method=CANCEL") and "STATUS:CANCELLED" in ics.text

    async with create_sessionmaker(engine)() as s:
        kinds = (await s.execute(select(OutboxMessage.kind, func.count()).group_by(OutboxMessage.kind))).all()
    assert dict(kinds) == {"request_received": 1, "request_accepted": 1, "confirmed": 4, "rescheduled": 4, "cancelled": 2}


async def test_direct_booking_mode_accepts_at_once(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    w = await setup_event(client, engine, clock.now)
    ev, rec_id = w["event_id"], w["ids"]["rec@example.test"]  # type: ignore[index]
    r = await client.put(f"/api/v1/events/{ev}/recruiters/{rec_id}", headers=w["rec"], json={"booking_mode": "direct"})
    assert r.status_code == 200 and r.json()["booking_mode"] == "direct" and r.json()["open_slots"] == 4
    r = await client.post(f"/api/v1/events/{ev}/chat-requests", headers=w["tal"], json={"recruiter_id": rec_id, "message": "Hi"})
    assert r.status_code == 201 and r.json()["status"] == "accepted"
    assert len((await client.get(f"/api/v1/chat-requests/{r.json()['id']}/slots", headers=w["tal"])).json()) == 4


async def test_slot_taken_between_listing_and_confirming_is_409(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    w = await setup_event(client, engine, clock.now)
    ev, rec_id = w["event_id"], w["ids"]["rec@example.test"]  # type: ignore[index]
    chats = []
    for who in ("tal", "tal2"):
        r = await client.post(f"/api/v1/events/{ev}/chat-requests", headers=w[who], json={"recruiter_id": rec_id, "answer": "x"})
        chats.append(r.json()["id"])
        await client.post(f"/api/v1/chat-requests/{chats[-1]}/accept", headers=w["rec"])
    s1 = (await client.get(f"/api/v1/chat-requests/{chats[0]}/slots", headers=w["tal"])).json()
    s2 = (await client.get(f"/api/v1/chat-requests/{chats[1]}/slots", headers=w["tal2"])).json()
    assert s1 == s2
    assert (await client.post(f"/api/v1/chat-requests/{chats[0]}/booking", headers=w["tal"], json={"start": s1[0]["start"]})).status_code == 200
    r = await client.post(f"/api/v1/chat-requests/{chats[1]}/booking", headers=w["tal2"], json={"start": s2[0]["start"]})
    assert r.status_code == 409 and r.json()["error"]["code"] == "slot_taken" and "pick another" in r.json()["error"]["message"]
    # Nothing half-written: the loser's chat is still waiting to be scheduled and can take another slot.
    assert (await client.get(f"/api/v1/chat-requests/{chats[1]}", headers=w["tal2"])).json()["status"] == "accepted"
    assert (await client.post(f"/api/v1/chat-requests/{chats[1]}/booking", headers=w["tal2"], json={"start": s2[1]["start"]})).status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("post", "/api/v1/events/{ev}/chat-requests", b"{not json", 400, "invalid_json"),
        ("post", "/api/v1/events/{ev}/chat-requests", b"[1]", 400, "invalid_json"),
        ("post", "/api/v1/events/{ev}/chat-requests", {"recruiter_id": "abc"}, 422, "invalid_input"),
        ("post", "/api/v1/events/{ev}/chat-requests", {"recruiter_id": 999999, "answer": "x"}, 404, "recruiter_not_found"),
        ("post", "/api/v1/events/{ev}/chat-requests", {"recruiter_id": 1, "surprise": True}, 422, "invalid_input"),
        ("post", "/api/v1/events/999999/chat-requests", {"recruiter_id": 1}, 404, "event_not_found"),
        ("get", "/api/v1/chat-requests/999999", None, 404, "chat_not_found"),
        ("post", "/api/v1/events/{ev}/companies", {"name": "Evil"}, 403, "not_organizer"),
        ("post", "/api/v1/events", {"name": "x", "timezone": "UTC", "starts_at": "2026-01-01T00:00:00Z", "ends_at": "2026-01-02T00:00:00Z"},
         403, "not_admin"),
        ("get", "/api/v1/nothing-here", None, 404, "not_found"),
    ],
)
async def test_bad_input_gets_json_4xx(
    client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock, method: str, path: str, body: object, status: int, code: str
) -> None:
    w = await setup_event(client, engine, clock.now)
    url = path.format(ev=w["event_id"])
    kwargs: dict[str, object] = {"headers": w["tal"]}
    if isinstance(body, bytes):
        kwargs["content"] = body
    elif body is not None:
        kwargs["json"] = body
    r = await client.request(method, url, **kwargs)  # type: ignore[arg-type]
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == code and r.json()["error"]["message"]


async def test_times_outside_availability_and_bad_windows_are_refused(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    w = await setup_event(client, engine, clock.now)
    ev, rec_id = w["event_id"], w["ids"]["rec@example.test"]  # type: ignore[index]
    r = await client.post(f"/api/v1/events/{ev}/chat-requests", headers=w["tal"], json={"recruiter_id": rec_id, "answer": "x"})
    chat_id = r.json()["id"]
    await client.post(f"/api/v1/chat-requests/{chat_id}/accept", headers=w["rec"])
    for start, code in (("2026-03-21T15:00:00Z", "not_a_slot"), ("2026-03-21T09:10:00Z", "not_a_slot")):
        r = await client.post(f"/api/v1/chat-requests/{chat_id}/booking", headers=w["tal"], json={"start": start})
        assert r.status_code == 422 and r.json()["error"]["code"] == code
    r = await client.post(f"/api/v1/chat-requests/{chat_id}/booking", headers=w["tal"], json={"start": "2026-03-21T09:00:00"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_input"
    for windows, code in (
        ([{"start": "2026-03-25T10:00:00Z", "end": "2026-03-25T11:00:00Z"}], "availability_outside_event"),
        ([{"start": "2026-03-21T10:00:00Z", "end": "2026-03-21T09:00:00Z"}], "invalid_availability"),
        ([{"start": "2026-03-21T10:00:00Z", "end": "2026-03-21T11:00:00Z"}, {"start": "2026-03-21T10:30:00Z", "end": "2026-03-21T12:00:00Z"}],
         "invalid_availability"),
        ([{"start": "2026-03-21T10:02:00Z", "end": "2026-03-21T11:00:00Z"}], "invalid_availability"),
    ):
        r = await client.put(f"/api/v1/events/{ev}/recruiters/{rec_id}", headers=w["rec"], json={"availability": windows})
        assert r.status_code == 422 and r.json()["error"]["code"] == code, r.text
    # A refused change leaves the old availability intact.
    [card] = (await client.get(f"/api/v1/events/{ev}/recruiters", headers=w["tal"])).json()
    assert card["open_slots"] == 4
    # Another recruiter can't change this recruiter's calendar.
    r = await client.put(f"/api/v1/events/{ev}/recruiters/{rec_id}", headers=w["tal"], json={"availability": []})
    assert r.status_code == 403


async def test_auth_errors(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    w = await setup_event(client, engine, clock.now)
    r = await client.get(f"/api/v1/events/{w['event_id']}/recruiters")
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthenticated" and "Bearer" in r.headers["www-authenticate"]
    r = await client.get(f"/api/v1/events/{w['event_id']}/recruiters", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401
    r = await client.post("/api/v1/tokens", json={"email": "tal@example.test", "password": "wrong password"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_credentials"
    for _ in range(12):
        r = await client.post("/api/v1/tokens", json={"email": "victim@example.test", "password": "guess"})
    assert r.status_code == 429 and r.json()["error"]["code"] == "rate_limited" and int(r.headers["retry-after"]) > 0


async def test_strangers_see_nothing(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    w = await setup_event(client, engine, clock.now)
    ev, rec_id = w["event_id"], w["ids"]["rec@example.test"]  # type: ignore[index]
    r = await client.post(f"/api/v1/events/{ev}/chat-requests", headers=w["tal"], json={"recruiter_id": rec_id, "answer": "x"})
    chat_id = r.json()["id"]
    # tal2 is in the event but not in this chat: not-found, and no way to act on it.
    for method, path in (("get", f"/api/v1/chat-requests/{chat_id}"), ("post", f"/api/v1/chat-requests/{chat_id}/accept"),
                         ("get", f"/api/v1/chat-requests/{chat_id}/slots"), ("post", f"/api/v1/chat-requests/{chat_id}/cancel")):
        r = await client.request(method, path, headers=w["tal2"])
        assert r.status_code == 404, (path, r.text)
    assert (await client.get(f"/api/v1/events/{ev}/chat-requests", headers=w["tal2"])).json() == []
    # The organizer (admin here) sees it.
    assert (await client.get(f"/api/v1/chat-requests/{chat_id}", headers=w["admin"])).status_code == 200
    async with create_sessionmaker(engine)() as s:
        assert (await s.execute(select(ChatRequest.status))).scalars().all() == ["pending"]


async def test_openapi_document_lists_every_endpoint(client: httpx.AsyncClient) -> None:
    doc = (await client.get("/api/openapi.json")).json()
    assert doc["openapi"].startswith("3.1")
    for path in ("/api/v1/tokens", "/api/v1/events", "/api/v1/events/{event_id}/recruiters", "/api/v1/chat-requests/{chat_id}/booking"):
        assert path in doc["paths"]
    booking = doc["paths"]["/api/v1/chat-requests/{chat_id}/booking"]["post"]
    assert "409" in booking["responses"] and booking["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/BookingIn")
    assert "ChatOut" in doc["components"]["schemas"]


async def test_openapi_covers_every_api_route(client: httpx.AsyncClient) -> None:
    """A new /api/v1 route without an entry in the OpenAPI document fails here."""
    from starlette.routing import Route

    from web.app import create_app
    from web.settings import Settings

    doc = (await client.get("/api/openapi.json")).json()
    documented = {(m, p) for p, ops in doc["paths"].items() for m in ops}
    app = create_app(Settings(secret_key="x"), background=False)
    for route in app.routes:
        if isinstance(route, Route) and route.path.startswith("/api/v1/"):
            path = route.path.replace(":id}", "}")
            for method in route.methods or ():
                if method not in ("HEAD", "OPTIONS"):
                    assert (method.lower(), path) in documented, (method, path)


async def test_healthz(client: httpx.AsyncClient) -> None:
    r = await client.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok", "database": "ok"}


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("get", "/api/v1/events/99999999999999999999", None, 404, "not_found"),
        ("get", "/api/v1/chat-requests/3000000000/slots", None, 404, "not_found"),
        ("post", "/api/v1/events/{ev}/chat-requests", {"recruiter_id": 99999999999999999999}, 422, "invalid_input"),
        ("get", "/api/v1/events/{ev}/recruiters?company_id=%C2%B2", None, 422, "invalid_input"),
        ("post", "/api/v1/tokens", {"email": "a\u0000@x.test", "password": "x"}, 422, "invalid_input"),
        ("post", "/api/v1/events/{ev}/chat-requests", b"[" * 100000 + b"]" * 100000, 400, "invalid_json"),
    ],
)
async def test_hostile_input_is_a_clear_4xx(
    client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock, method: str, path: str, body: object, status: int, code: str
) -> None:
    w = await setup_event(client, engine, clock.now)
    kwargs: dict[str, object] = {"headers": w["tal"]}
    if isinstance(body, bytes):
        kwargs["content"] = body
    elif body is not None:
        kwargs["json"] = body
    r = await client.request(method, path.format(ev=w["event_id"]), **kwargs)  # type: ignore[arg-type]
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == code


async def test_far_dates_are_refused_and_break_nothing(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    w = await setup_event(client, engine, clock.now)
    r = await client.put(f"/api/v1/events/{w['event_id']}", headers=w["admin"], json={
        "name": "B", "timezone": "Pacific/Kiritimati", "starts_at": "9999-12-31T11:00:00Z", "ends_at": "9999-12-31T12:00:00Z"})
    assert r.status_code == 422 and "2000 and 2099" in r.json()["error"]["message"]
    r = await client.post(f"/api/v1/events/{w['event_id']}/chat-requests", headers=w["tal"],
                          json={"recruiter_id": w["ids"]["rec@example.test"], "answer": "x"})  # type: ignore[index]
    r = await client.post(f"/api/v1/chat-requests/{r.json()['id']}/booking", headers=w["tal"], json={"start": "0001-01-01T00:00:00+01:00"})
    assert r.status_code == 422
    assert (await client.get(f"/api/v1/events/{w['event_id']}", headers=w["admin"])).json()["name"] == "Spring Fair"


async def test_a_chat_that_started_cant_be_cancelled_or_moved(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    w = await setup_event(client, engine, clock.now, max_chats_per_talent=1)
    r = await client.post(f"/api/v1/events/{w['event_id']}/chat-requests", headers=w["tal"],
                          json={"recruiter_id": w["ids"]["rec@example.test"], "answer": "x"})  # type: ignore[index]
    chat_id = r.json()["id"]
    await client.post(f"/api/v1/chat-requests/{chat_id}/accept", headers=w["rec"])
    await client.post(f"/api/v1/chat-requests/{chat_id}/booking", headers=w["tal"], json={"start": "2026-03-21T09:00:00Z"})
    clock.now = dt.datetime(2026, 3, 21, 9, 10, tzinfo=dt.UTC)
    for action, body in (("cancel", {"reason": "late"}), ("reschedule", {"reason": "late"})):
        r = await client.post(f"/api/v1/chat-requests/{chat_id}/{action}", headers=w["tal"], json=body)
        assert r.status_code == 409 and r.json()["error"]["code"] == "already_started"
    me = (await client.get(f"/api/v1/events/{w['event_id']}/me", headers=w["tal"])).json()
    assert me["chats_left"] == 0
