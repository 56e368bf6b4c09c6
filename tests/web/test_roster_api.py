"""The roster in the JSON API: same rules as the pages, errors as {"error": {code, message}}. SQLite and PostgreSQL."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from scheduling import actions
from scheduling.db import create_sessionmaker
from scheduling.models import ChatRequest, Participant, User
from tests.factories import make_world
from tests.web.conftest import FakeClock, token
from tests.web.test_roster import people_csv


async def test_people_import_edit_remove_and_links_through_the_api(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    sm = create_sessionmaker(engine)
    w = await make_world(sm, clock.now, talents=2)
    org = await token(client, "org@example.test")
    tal = await token(client, "tal0@example.test")
    base = f"/api/v1/events/{w.event_id}"

    # Only organizers (and admins) see the list; strangers of another event get 404 like unknown ids.
    assert (await client.get(f"{base}/participants", headers=tal)).status_code == 403
    assert (await client.get("/api/v1/events/999999/participants", headers=org)).status_code == 404
    r = await client.get(f"{base}/participants", params={"role": "talent"}, headers=org)
    assert r.status_code == 200 and r.json()["total"] == 2 and r.json()["counts"]["recruiter"] == 1

    # A file with a bad row: the dry run lists it; the import refuses all of it, naming the row.
    bad = people_csv(40) + "Broken,broken-address,talent,,\n"
    r = await client.post(f"{base}/participants/import", json={"csv": bad, "dry_run": True}, headers=org)
    assert r.status_code == 200 and not r.json()["ok"] and r.json()["errors"] == [{"row": 42, "message": "email “broken-address” is not a valid address"}]
    r = await client.post(f"{base}/participants/import", json={"csv": bad}, headers=org)
    assert r.status_code == 409 and r.json()["error"]["code"] == "import_refused" and "row 42: email" in r.json()["error"]["message"]
    async with sm() as s:
        assert (await s.execute(select(func.count()).select_from(Participant).where(Participant.event_id == w.event_id))).scalar_one() == 5
    r = await client.post(f"{base}/participants/import", json={"csv": people_csv(40)}, headers=org)
    assert r.status_code == 201 and r.json()["imported"] == 40 and r.json()["new_companies"] == []
    r = await client.get(f"{base}/participants", params={"q": "tal0007@"}, headers=org)
    person = r.json()["items"][0]
    assert r.json()["total"] == 1 and person["name"] == "Talent 0007" and person["headline"] == "Engineer, 7 years"
    r = await client.post(f"{base}/participants/import", json={"csv": "x" * 300_000, "kind": "people", "dry_run": True}, headers=org)
    assert r.status_code == 200 and r.json()["file_errors"]  # bodies bigger than the API's usual 256 KiB are read

    # Edit, then a sign-in link to copy (the person is nowhere else) and one refused for the platform admin.
    r = await client.patch(f"{base}/participants/{person['user_id']}", json={"name": "Tala Seven", "headline": "SRE"}, headers=org)
    assert r.status_code == 200 and r.json()["name"] == "Tala Seven"
    r = await client.patch(f"{base}/participants/{person['user_id']}", json={"name": "Tala", "company_id": w.company_id}, headers=org)
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_company"
    r = await client.post(f"{base}/participants/{person['user_id']}/sign-in-link", json={"deliver": "copy"}, headers=org)
    assert r.status_code == 200 and r.json()["url"].startswith("http://testserver/login/link/")
    r = await client.post(f"{base}/participants/{w.admin.id}/sign-in-link", json={"deliver": "copy"}, headers=org)
    assert r.status_code == 403 and r.json()["error"]["code"] == "link_refused"
    r = await client.post(f"{base}/participants/{w.admin.id}/sign-in-link", json={}, headers=org)
    assert r.status_code == 200 and r.json()["sent_to"] == "admin@example.test"

    # Remove a recruiter with a pending request: the request is cancelled and the person is gone.
    ctx = actions.Context(now=clock.now)
    async with sm() as s, s.begin():
        chat = await actions.send_request(s, ctx, w.talents[0], w.event_id, recruiter_id=w.recruiters[0].id)
    r = await client.delete(f"{base}/participants/{w.recruiters[0].id}", headers=org)
    assert r.status_code == 200 and r.json() == {"removed": "Rita Recruiter 0", "chats_cancelled": 1}
    async with sm() as s:
        assert (await s.get(ChatRequest, chat.id)).status == "cancelled"  # type: ignore[union-attr]
        assert await s.get(User, w.recruiters[0].id) is not None  # the account stays
    assert (await client.delete(f"{base}/participants/{w.recruiters[0].id}", headers=org)).status_code == 404

    # Companies: one name per event whatever the case; removal refused while recruiters remain.
    r = await client.post(f"{base}/companies", json={"name": "Bluefin"}, headers=org)
    blue = r.json()["id"]
    r = await client.patch(f"{base}/companies/{blue}", json={"name": "ACME ROBOTICS"}, headers=org)
    assert r.status_code == 409 and r.json()["error"]["code"] == "company_exists"
    r = await client.delete(f"{base}/companies/{w.company_id}", headers=org)
    assert r.status_code == 409 and r.json()["error"]["code"] == "company_has_recruiters" and "Rec 0000" in r.json()["error"]["message"]
    assert (await client.delete(f"{base}/companies/{blue}", headers=org)).json() == {"removed": "Bluefin"}
    r = await client.get(f"{base}/participants.csv", headers=org)
    assert r.status_code == 200 and "Tala Seven,tal0007@import.test,talent,,SRE" in r.text
