"""Teams, routing rules and desk settings: who may manage them (API and the /live/teams page), where a new chat goes,
and chats offered to accept in time (accept, run out, decline)."""

from __future__ import annotations

import asyncio
import datetime as dt
import html
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from markupsafe import escape
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from scheduling.db import create_sessionmaker
from scheduling.livechat.models import LiveChat
from tests.web.conftest import FakeClock, token
from tests.web.test_api_flow import PW, setup_event
from tests.web.test_livechat_api import JOB, _candidate
from tests.web.test_pages import csrf_of, sign_in
from web.app import create_app
from web.livechat.desk_api import expire_offers
from web.settings import Settings


async def _person(client: httpx.AsyncClient, w: dict[str, Any], event_id: int, email: str, role: str, **extra: Any) -> int:
    r = await client.post(f"/api/v1/events/{event_id}/participants", headers=w["admin"],
                          json={"email": email, "name": email.split("@", maxsplit=1)[0].title(), "role": role, "password": PW, **extra})
    assert r.status_code == 201, r.text
    return int(r.json()["user_id"])


async def _world(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> dict[str, Any]:
    """The API flow's event (Rec of Acme, two talents) with an organizer, a second recruiter, a job req Rec answers,
    and a second event whose organizer is a stranger here."""
    w: dict[str, Any] = await setup_event(client, engine, clock.now)
    ev = w["event_id"]
    w["ids"]["org@example.test"] = await _person(client, w, ev, "org@example.test", "organizer")
    w["ids"]["rec2@example.test"] = await _person(client, w, ev, "rec2@example.test", "recruiter", company_id=w["company_id"])
    start = dt.datetime(2026, 4, 1, 8, 0, tzinfo=dt.UTC)
    r = await client.post("/api/v1/events", headers=w["admin"], json={
        "name": "Autumn Fair", "timezone": "Europe/Berlin", "starts_at": start.isoformat(), "ends_at": (start + dt.timedelta(days=1)).isoformat(),
        "chat_format": {"requests_by": "both", "slot_minutes": 30, "buffer_minutes": 0}})
    assert r.status_code == 201, r.text
    w["other_event"] = r.json()["id"]
    w["ids"]["org2@example.test"] = await _person(client, w, w["other_event"], "org2@example.test", "organizer")
    for email in ("org@example.test", "rec2@example.test", "org2@example.test"):
        w[email.split("@")[0]] = await token(client, email)
    r = await client.post("/api/v1/job-reqs", headers=w["rec"], json={**JOB, "event_id": ev})
    assert r.status_code == 201, r.text
    w["job"] = r.json()
    w["q"] = [q["id"] for q in w["job"]["questions"]]
    r = await client.post(f"/api/v1/job-reqs/{w['job']['id']}/assignees", headers=w["rec"], json={"user_id": w["ids"]["rec@example.test"]})
    assert r.status_code == 201, r.text
    return w


async def _available(client: httpx.AsyncClient, headers: dict[str, str], *, auto: bool = False, capacity: int = 2) -> None:
    r = await client.put("/api/v1/live-agent", headers=headers, json={"available": True, "capacity": capacity, "auto_assign": auto})
    assert r.status_code == 200, r.text


async def _start(client: httpx.AsyncClient, w: dict[str, Any], name: str, answers: tuple[str, str] = ("Yes", "5+")) -> int:
    r = await client.post(f"/api/v1/job-reqs/{w['job']['id']}/chats", json=_candidate(w, name, answers=answers))
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "waiting", r.text
    return int(r.json()["chat_id"])


async def _chat(engine: AsyncEngine, chat_id: int) -> LiveChat:
    async with create_sessionmaker(engine)() as s:
        return (await s.execute(select(LiveChat).where(LiveChat.id == chat_id))).scalar_one()


async def _offered(engine: AsyncEngine, chat_id: int) -> LiveChat:
    """The chat once the offer made after its start (beside the response) is stored."""
    for _ in range(200):
        chat = await _chat(engine, chat_id)
        if chat.offered_to_id is not None:
            return chat
        await asyncio.sleep(0.02)
    raise AssertionError(f"chat {chat_id} was never offered")


def _resources(client: httpx.AsyncClient) -> Any:
    return client._transport.app.state.res  # type: ignore[attr-defined]


@pytest.fixture
async def client(engine: AsyncEngine, db_url: str, clock: FakeClock) -> AsyncIterator[httpx.AsyncClient]:
    """The shared client, made after the engine (so the app is gone before the engine's teardown empties the tables) and
    waiting for the publishing that runs beside the last responses before it shuts down."""
    app = create_app(Settings(database_url=db_url, secret_key="test-secret", base_url="http://testserver"), clock=clock, background=False)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
            yield c
        hub = app.state.res.hub
        for _ in range(100):
            if not hub._tasks:
                break
            await asyncio.wait(list(hub._tasks), timeout=0.1)


# --------------------------------------------------------------------------- the API: who manages what


async def test_only_the_events_organizers_manage_teams_rules_and_settings(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    w = await _world(client, engine, clock)
    ev, ids = w["event_id"], w["ids"]
    teams = f"/api/v1/events/{ev}/teams"
    staff = [ids["rec@example.test"], ids["org@example.test"]]

    assert (await client.post(teams, headers=w["rec"], json={"name": "Design", "member_ids": staff})).status_code == 403
    assert (await client.post(teams, headers=w["org2"], json={"name": "Design", "member_ids": []})).status_code == 404
    assert (await client.post(teams, headers=w["tal"], json={"name": "Design", "member_ids": []})).status_code == 403  # at the event, not organizing
    r = await client.post(teams, headers=w["org"], json={"name": "Design", "member_ids": staff})
    assert r.status_code == 201, r.text
    team = r.json()
    assert sorted(m["id"] for m in team["members"]) == sorted(staff)
    r = await client.post(teams, headers=w["org"], json={"name": " Design ", "member_ids": []})
    assert r.status_code == 409 and r.json()["error"]["code"] == "team_exists"
    for outsider in (ids["tal@example.test"], ids["org2@example.test"]):  # a talent; another event's organizer
        r = await client.post(teams, headers=w["org"], json={"name": "Ops", "member_ids": [outsider]})
        assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_members", r.text
        r = await client.put(f"/api/v1/live-teams/{team['id']}", headers=w["org"], json={"name": "Design", "member_ids": [outsider]})
        assert r.status_code == 422
    r = await client.put(f"/api/v1/live-teams/{team['id']}", headers=w["org"], json={"name": "Product design", "member_ids": [ids["rec2@example.test"]]})
    assert r.status_code == 200 and r.json()["name"] == "Product design" and [m["id"] for m in r.json()["members"]] == [ids["rec2@example.test"]]
    assert (await client.put(f"/api/v1/live-teams/{team['id']}", headers=w["rec"], json={"name": "Mine", "member_ids": []})).status_code in (403, 404)
    for verb in ("put", "delete"):
        kw: dict[str, Any] = {"json": {"name": "Mine", "member_ids": []}} if verb == "put" else {}
        assert (await client.request(verb, f"/api/v1/live-teams/{team['id']}", headers=w["org2"], **kw)).status_code == 404

    # The event's staff read the teams (forwarding needs them); strangers and talents don't.
    assert [t["name"] for t in (await client.get(teams, headers=w["rec"])).json()] == ["Product design"]
    assert (await client.get(teams, headers=w["org2"])).status_code == 404
    assert (await client.get(teams, headers=w["tal"])).status_code == 404

    rules = f"/api/v1/events/{ev}/routing-rules"
    rule = {"kind": "job", "job_req_id": w["job"]["id"], "team_id": team["id"]}
    assert (await client.post(rules, headers=w["rec"], json=rule)).status_code == 403
    assert (await client.post(rules, headers=w["org2"], json=rule)).status_code == 404
    assert (await client.get(rules, headers=w["rec"])).status_code == 403
    assert (await client.get(rules, headers=w["org2"])).status_code == 404
    r = await client.post(rules, headers=w["org"], json=rule)
    assert r.status_code == 201, r.text
    assert r.json()["summary"] == "Job chats about Backend Engineer go to the Product design team"
    other_team = (await client.post(f"/api/v1/events/{w['other_event']}/teams", headers=w["org2"], json={"name": "Theirs", "member_ids": []})).json()
    r = await client.post(rules, headers=w["org"], json={"team_id": other_team["id"]})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_rule"
    assert (await client.post(rules, headers=w["org"], json={"user_id": ids["tal@example.test"]})).status_code == 422
    assert (await client.post(rules, headers=w["org"], json={"team_id": team["id"], "user_id": ids["rec@example.test"]})).status_code == 422
    [listed] = (await client.get(rules, headers=w["org"])).json()
    rule_id = listed["id"]
    assert (await client.delete(f"/api/v1/routing-rules/{rule_id}", headers=w["rec"])).status_code == 403
    assert (await client.delete(f"/api/v1/routing-rules/{rule_id}", headers=w["org2"])).status_code == 404

    settings = f"/api/v1/events/{ev}/desk-settings"
    assert (await client.put(settings, headers=w["rec"], json={"accept_seconds": 30})).status_code == 403
    assert (await client.put(settings, headers=w["org2"], json={"accept_seconds": 30})).status_code == 404
    r = await client.put(settings, headers=w["org"], json={"accept_seconds": 5})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_accept_seconds"
    for bad in ({"accept_seconds": 601}, {"remind_seconds": 3601}, {"resolve_minutes": -1}, {"rating_style": "hearts"}, {"accept_seconds": "30"}):
        assert (await client.put(settings, headers=w["org"], json=bad)).status_code == 422, bad
    r = await client.put(settings, headers=w["org"], json={"accept_seconds": 0})
    assert r.status_code == 200 and r.json()["accept_seconds"] == 0
    r = await client.put(settings, headers=w["org"], json={"accept_seconds": 30, "rating_style": "smileys", "emoji_candidate": False})
    assert r.status_code == 200
    assert (await client.get(settings, headers=w["rec"])).json() == {
        "rating_style": "smileys", "emoji_staff": True, "emoji_candidate": False, "accept_seconds": 30, "remind_seconds": 90, "resolve_minutes": 15}
    assert (await client.get(settings, headers=w["tal"])).status_code == 404

    # Deleting a team takes its rules with it.
    assert (await client.delete(f"/api/v1/live-teams/{team['id']}", headers=w["org"])).status_code == 204
    assert (await client.get(rules, headers=w["org"])).json() == []


# --------------------------------------------------------------------------- where a new chat goes


async def test_a_rule_sends_job_chats_to_its_team_only_while_a_member_is_online(client: httpx.AsyncClient, engine: AsyncEngine,
                                                                                clock: FakeClock) -> None:
    w = await _world(client, engine, clock)
    rec2 = w["ids"]["rec2@example.test"]
    team = (await client.post(f"/api/v1/events/{w['event_id']}/teams", headers=w["org"], json={"name": "Design", "member_ids": [rec2]})).json()
    r = await client.post(f"/api/v1/events/{w['event_id']}/routing-rules", headers=w["org"],
                          json={"kind": "job", "job_req_id": w["job"]["id"], "team_id": team["id"]})
    assert r.status_code == 201, r.text
    await _available(client, w["rec"])

    # Nobody of the team is online: the chat stays in its job req's own queue, for Rec.
    first = await _start(client, w, "Ann")
    chat = (await client.get(f"/api/v1/live-chats/{first}", headers=w["rec"])).json()
    assert chat["queue"] == f"job:{w['job']['id']}" and chat["team"] is None
    assert (await client.get(f"/api/v1/live-chats/{first}", headers=w["rec2"])).status_code == 404

    # A member comes online: the next chat goes to the team's queue, and the member takes it.
    await _available(client, w["rec2"])
    second = await _start(client, w, "Ben")
    chat = (await client.get(f"/api/v1/live-chats/{second}", headers=w["rec2"])).json()
    assert chat["queue"] == f"team:{team['id']}" and chat["team"] == {"id": team["id"], "name": "Design"}
    assert [c["id"] for c in (await client.get("/api/v1/live-chats?status=waiting", headers=w["rec2"])).json()] == [second]
    assert (await client.post(f"/api/v1/live-chats/{second}/take", headers=w["rec2"])).status_code == 200
    assert (await client.post(f"/api/v1/live-chats/{first}/take", headers=w["rec2"])).status_code == 404  # not in the team's queue

    # A deleted team's waiting chats go back to their own queue, where the job req's recruiters take them.
    third = await _start(client, w, "Cleo")
    assert (await _chat(engine, third)).queue == f"team:{team['id']}"
    assert (await client.delete(f"/api/v1/live-teams/{team['id']}", headers=w["org"])).status_code == 204
    assert (await _chat(engine, third)).queue == f"job:{w['job']['id']}"
    assert (await client.post(f"/api/v1/live-chats/{third}/take", headers=w["rec"])).status_code == 200


async def test_a_prechat_answer_rule_sends_chats_to_a_person(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    w = await _world(client, engine, clock)
    rec2 = w["ids"]["rec2@example.test"]
    rules = f"/api/v1/events/{w['event_id']}/routing-rules"
    _, years = w["q"]
    r = await client.post(rules, headers=w["org"], json={"question_id": years, "answer": "10+", "user_id": rec2})
    assert r.status_code == 422 and "5+" in r.json()["error"]["message"]
    assert (await client.post(rules, headers=w["org"], json={"answer": "5+", "user_id": rec2})).status_code == 422
    r = await client.post(rules, headers=w["org"], json={"question_id": years, "answer": "5+", "user_id": rec2})
    assert r.status_code == 201, r.text
    assert r.json()["summary"] == "Chats answering “Years of Python?” with 5+ go to Rec2"
    await _available(client, w["rec"])
    await _available(client, w["rec2"])

    junior = await _start(client, w, "Dana", answers=("Yes", "2-4"))
    senior = await _start(client, w, "Eli", answers=("Yes", "5+"))
    assert (await _chat(engine, junior)).queue == f"job:{w['job']['id']}"
    assert (await _chat(engine, senior)).queue == f"user:{rec2}"
    assert [c["id"] for c in (await client.get("/api/v1/live-chats?status=waiting", headers=w["rec2"])).json()] == [senior]
    assert (await client.post(f"/api/v1/live-chats/{senior}/take", headers=w["rec2"])).status_code == 200


async def test_a_new_rule_goes_last_whatever_was_removed_before(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    w = await _world(client, engine, clock)
    rules = f"/api/v1/events/{w['event_id']}/routing-rules"
    made = []
    for kind in ("job", "booth", "support"):
        r = await client.post(rules, headers=w["org"], json={"kind": kind, "user_id": w["ids"]["rec@example.test"]})
        assert r.status_code == 201, r.text
        made.append(r.json()["id"])
    for rule_id in made[:2]:
        assert (await client.delete(f"/api/v1/routing-rules/{rule_id}", headers=w["org"])).status_code == 204
    r = await client.post(rules, headers=w["org"], json={"kind": "", "user_id": w["ids"]["rec2@example.test"]})
    assert r.status_code == 201
    assert [x["summary"] for x in (await client.get(rules, headers=w["org"])).json()] == ["Support chats go to Rec", "Chats go to Rec2"]


# --------------------------------------------------------------------------- offers to accept in time


async def test_chats_are_offered_to_accept_in_time_and_move_on(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    w = await _world(client, engine, clock)
    rec, rec2 = w["ids"]["rec@example.test"], w["ids"]["rec2@example.test"]
    heads = {rec: w["rec"], rec2: w["rec2"]}
    r = await client.post(f"/api/v1/job-reqs/{w['job']['id']}/assignees", headers=w["rec2"], json={"user_id": rec2})  # claims it
    assert r.status_code == 201, r.text
    r = await client.put(f"/api/v1/events/{w['event_id']}/desk-settings", headers=w["org"], json={"accept_seconds": 30})
    assert r.status_code == 200
    await _available(client, w["rec"], auto=True)
    await _available(client, w["rec2"], auto=True)

    # Offered, not given: it still waits, and only the person it's offered to may accept it.
    first = await _start(client, w, "Ann")
    chat = await _offered(engine, first)
    assert chat.status == "waiting" and chat.recruiter_id is None
    taker, other = chat.offered_to_id, ({rec, rec2} - {chat.offered_to_id}).pop()
    offers = (await client.get("/api/v1/live-offers", headers=heads[taker])).json()
    assert [(o["chat"], o["reason"]) for o in offers] == [(first, "route")]
    assert (await client.get("/api/v1/live-offers", headers=heads[other])).json() == []
    r = await client.post(f"/api/v1/live-chats/{first}/accept", headers=heads[other])
    assert r.status_code == 409 and r.json()["error"]["code"] == "offer_gone"
    assert (await client.post(f"/api/v1/live-chats/{first}/take", headers=heads[other])).status_code == 409
    r = await client.post(f"/api/v1/live-chats/{first}/accept", headers=heads[taker])
    assert r.status_code == 200, r.text
    chat = await _chat(engine, first)
    assert (chat.status, chat.recruiter_id, chat.offered_to_id) == ("active", taker, None)

    # Nobody accepts in time: once the clock passes the expiry, the offer moves to the next free person, then nowhere.
    second = await _start(client, w, "Ben")
    chat = await _offered(engine, second)
    assert chat.offered_to_id == other  # the one who has no chat yet comes first
    clock.now += dt.timedelta(seconds=31)
    r = await client.post(f"/api/v1/live-chats/{second}/accept", headers=heads[other])
    assert r.status_code == 409 and r.json()["error"]["code"] == "offer_expired"
    assert await expire_offers(_resources(client)) == 1
    chat = await _chat(engine, second)
    assert (chat.status, chat.offered_to_id) == ("waiting", taker)
    clock.now += dt.timedelta(seconds=31)
    assert await expire_offers(_resources(client)) == 1
    chat = await _chat(engine, second)
    assert (chat.status, chat.offered_to_id, chat.recruiter_id) == ("waiting", None, None)
    assert await expire_offers(_resources(client)) == 0

    # Both stay online; a new chat is offered although the earlier one is still waiting, unwanted by either.
    await _available(client, w["rec"], auto=True)
    await _available(client, w["rec2"], auto=True)
    third = await _start(client, w, "Cleo")
    chat = await _offered(engine, third)
    first_choice = chat.offered_to_id
    assert first_choice in (rec, rec2)
    assert (await _chat(engine, second)).offered_to_id is None
    # Declining moves it on just like running out of time; when nobody is left it waits for someone to take it.
    r = await client.post(f"/api/v1/live-chats/{third}/decline", headers=heads[first_choice])
    assert r.status_code == 200, r.text
    chat = await _chat(engine, third)
    assert chat.offered_to_id == ({rec, rec2} - {first_choice}).pop() and chat.status == "waiting"
    r = await client.post(f"/api/v1/live-chats/{third}/decline", headers=heads[chat.offered_to_id])
    assert r.status_code == 200
    chat = await _chat(engine, third)
    assert (chat.status, chat.offered_to_id) == ("waiting", None)
    # Still anyone's to take by hand.
    assert (await client.post(f"/api/v1/live-chats/{third}/take", headers=heads[first_choice])).status_code == 200


async def test_a_chat_routed_to_a_person_is_offered_too(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    w = await _world(client, engine, clock)
    rec2 = w["ids"]["rec2@example.test"]
    r = await client.post(f"/api/v1/events/{w['event_id']}/routing-rules", headers=w["org"], json={"job_req_id": w["job"]["id"], "user_id": rec2})
    assert r.status_code == 201
    assert (await client.put(f"/api/v1/events/{w['event_id']}/desk-settings", headers=w["org"], json={"accept_seconds": 30})).status_code == 200
    await _available(client, w["rec2"], auto=True)
    chat_id = await _start(client, w, "Fay")
    chat = await _offered(engine, chat_id)
    assert (chat.queue, chat.status, chat.offered_to_id, chat.recruiter_id) == (f"user:{rec2}", "waiting", rec2, None)
    assert (await client.post(f"/api/v1/live-chats/{chat_id}/accept", headers=w["rec2"])).status_code == 200


# --------------------------------------------------------------------------- the page


def _client(client: httpx.AsyncClient) -> httpx.AsyncClient:
    """Another browser on the same app (its own cookies)."""
    return httpx.AsyncClient(transport=client._transport, base_url="http://testserver")


async def _page(browser: httpx.AsyncClient, url: str = "/live/teams") -> tuple[str, str]:
    r = await browser.get(url)
    assert r.status_code == 200, r.text
    return r.text, csrf_of(r.text)


def _text(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


async def test_organizers_manage_teams_rules_and_settings_on_the_page(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    w = await _world(client, engine, clock)
    ev, ids = w["event_id"], w["ids"]
    rec, rec2, org = ids["rec@example.test"], ids["rec2@example.test"], ids["org@example.test"]
    await sign_in(client, "org@example.test")
    page, csrf = await _page(client)
    assert "Spring Fair" in page and 'aria-current="page">Teams &amp; routing' in page
    assert f'value="{ids["tal@example.test"]}"' not in page  # talents are never offered as members

    # Create: a bad member or a taken name shows the form again as typed, the field named.
    hostile = '<img src=x onerror="alert(1)">'
    r = await client.post(f"/live/teams/events/{ev}/teams", data={"csrf": csrf, "name": "Design", "member": [str(rec), str(ids["tal@example.test"])]})
    assert r.status_code == 422 and "Members: team members are the event" in _text(r.text) and 'value="Design"' in r.text
    r = await client.post(f"/live/teams/events/{ev}/teams", data={"csrf": csrf, "name": hostile, "member": [str(rec)]})
    assert r.status_code == 303 and r.headers["location"] == f"/live/teams?event={ev}#teams"
    r = await client.post(f"/live/teams/events/{ev}/teams", data={"csrf": csrf, "name": "Design", "member": [str(rec2), str(org)]})
    assert r.status_code == 303
    r = await client.post(f"/live/teams/events/{ev}/teams", data={"csrf": csrf, "name": "Design", "member": [str(rec)]})
    assert r.status_code == 409 and "Team name: the event already has a team of that name." in _text(r.text)
    page, _ = await _page(client)
    assert hostile not in page and str(escape(hostile)) in page
    assert "Design" in page and "Org, Rec2" in _text(page)
    teams = (await client.get(f"/api/v1/events/{ev}/teams", headers=w["org"])).json()
    design = next(t for t in teams if t["name"] == "Design")
    odd = next(t for t in teams if t["name"] != "Design")

    # Rename and change members; delete only once confirmed.
    r = await client.post(f"/live/teams/{odd['id']}", data={"csrf": csrf, "name": "Engineering", "member": [str(rec)]})
    assert r.status_code == 303
    r = await client.post(f"/live/teams/{odd['id']}/delete", data={"csrf": csrf})
    assert r.status_code == 422 and "tick “Yes, delete the Engineering team”" in _text(r.text)
    r = await client.post(f"/live/teams/{odd['id']}/delete", data={"csrf": csrf, "confirm": "yes"})
    assert r.status_code == 303
    page, _ = await _page(client)
    assert "The Engineering team is deleted" in _text(page) and f'data-team-id="{odd["id"]}"' not in page

    # A rule: the missing target is named, the other choices kept; then it reads as words.
    job = w["job"]["id"]
    r = await client.post(f"/live/teams/events/{ev}/rules", data={"csrf": csrf, "kind": "job", "job": str(job), "company": "", "prechat": "", "target": ""})
    assert r.status_code == 422 and "Send to: pick a team or a person." in _text(r.text)
    assert f'<option value="{job}" selected>' in r.text
    r = await client.post(f"/live/teams/events/{ev}/rules", data={"csrf": csrf, "kind": "job", "job": str(job), "company": "",
                                                                   "prechat": f"{w['q'][1]}:5+", "target": f"team:{design['id']}"})
    assert r.status_code == 303 and r.headers["location"].endswith("#rules")
    r = await client.post(f"/live/teams/events/{ev}/rules", data={"csrf": csrf, "kind": "", "job": "", "company": "", "prechat": f"{w['q'][1]}:0-1",
                                                                   "target": f"user:{rec}"})
    assert r.status_code == 422 and "Pre-chat answer: pick one from the list." in _text(r.text)  # a disqualifying answer never routes
    page, _ = await _page(client)
    assert "Job chats about Backend Engineer answering “Years of Python?” with 5+ go to the Design team" in _text(page)
    [rule] = (await client.get(f"/api/v1/events/{ev}/routing-rules", headers=w["org"])).json()
    assert (rule["job_req_id"], rule["question_id"], rule["answer"], rule["team_id"]) == (job, w["q"][1], "5+", design["id"])
    assert (await client.post(f"/live/teams/rules/{rule['id']}/delete", data={"csrf": csrf})).status_code == 303
    assert (await client.get(f"/api/v1/events/{ev}/routing-rules", headers=w["org"])).json() == []

    # Settings: bounds in words, the typed value kept; 0 and 30 are fine.
    form = {"csrf": csrf, "rating_style": "smileys", "emoji_staff": "1", "accept_seconds": "5", "remind_seconds": "60", "resolve_minutes": "20"}
    r = await client.post(f"/live/teams/events/{ev}/settings", data=form)
    assert r.status_code == 422 and "Seconds to accept a chat: give people at least 10 seconds" in _text(r.text)
    assert 'name="accept_seconds" value="5"' in r.text and 'name="remind_seconds" value="60"' in r.text
    r = await client.post(f"/live/teams/events/{ev}/settings", data={**form, "accept_seconds": "half a minute"})
    assert r.status_code == 422 and "Seconds to accept a chat: give a whole number" in _text(r.text)
    for seconds in ("0", "30"):
        r = await client.post(f"/live/teams/events/{ev}/settings", data={**form, "accept_seconds": seconds})
        assert r.status_code == 303, r.text
    assert (await client.get(f"/api/v1/events/{ev}/desk-settings", headers=w["org"])).json() == {
        "rating_style": "smileys", "emoji_staff": True, "emoji_candidate": False, "accept_seconds": 30, "remind_seconds": 60, "resolve_minutes": 20}
    page, _ = await _page(client)
    assert "Desk settings saved." in page and 'name="accept_seconds" value="30"' in page

    # No CSRF token, no change.
    r = await client.post(f"/live/teams/events/{ev}/teams", data={"name": "Sneaky"})
    assert r.status_code == 403
    assert "Sneaky" not in (await client.get(f"/api/v1/events/{ev}/teams", headers=w["org"])).text


async def test_recruiters_see_their_teams_and_nobody_else_gets_in(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    w = await _world(client, engine, clock)
    ev, ids = w["event_id"], w["ids"]
    r = await client.post(f"/api/v1/events/{ev}/teams", headers=w["org"], json={"name": "Design", "member_ids": [ids["rec@example.test"]]})
    team = r.json()
    r = await client.get("/live/teams")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")

    await sign_in(client, "rec@example.test")
    page, csrf = await _page(client)
    text = _text(page)
    assert "Your teams" in text and "Design" in text and "Spring Fair" in text and "The organizers of Spring Fair set up teams and routing" in text
    assert "/live/teams/events/" not in page and "Desk settings" not in page  # nothing to change
    assert (await client.get(f"/live/teams?event={w['other_event']}")).status_code == 404
    for url, data in ((f"/live/teams/events/{ev}/teams", {"name": "Mine"}), (f"/live/teams/{team['id']}", {"name": "Mine"}),
                      (f"/live/teams/{team['id']}/delete", {"confirm": "yes"}), (f"/live/teams/events/{ev}/settings", {"accept_seconds": "0"})):
        r = await client.post(url, data={"csrf": csrf, **data})
        assert r.status_code == 403, (url, r.status_code)
    assert [t["name"] for t in (await client.get(f"/api/v1/events/{ev}/teams", headers=w["org"])).json()] == ["Design"]

    async with _client(client) as other:  # another event's organizer: sees their own event only
        await sign_in(other, "org2@example.test")
        page, csrf = await _page(other)
        assert "Autumn Fair" in page and "Spring Fair" not in page
        assert (await other.get(f"/live/teams?event={ev}")).status_code == 404
        for url in (f"/live/teams/events/{ev}/teams", f"/live/teams/{team['id']}", f"/live/teams/{team['id']}/delete",
                    f"/live/teams/events/{ev}/settings", f"/live/teams/events/{ev}/rules"):
            r = await other.post(url, data={"csrf": csrf, "name": "Theirs", "confirm": "yes", "accept_seconds": "0", "rating_style": "stars",
                                            "remind_seconds": "1", "resolve_minutes": "1", "target": f"team:{team['id']}"})
            assert r.status_code == 404, (url, r.status_code)
    async with _client(client) as talent:
        await sign_in(talent, "tal@example.test")
        assert (await talent.get("/live/teams")).status_code == 404
