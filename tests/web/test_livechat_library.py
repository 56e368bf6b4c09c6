"""The desk library through its API and pages, on SQLite and PostgreSQL: saved replies (personal or shared with an event's
staff) and articles (an event's knowledge base with public pages). Who may read, create, change and delete what; search;
length limits; the public page of a published article and the 404 of a draft; forms that keep what was typed."""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from scheduling import actions
from scheduling.db import create_sessionmaker
from tests.factories import PASSWORD, make_world
from tests.web.conftest import FakeClock, token
from tests.web.test_pages import csrf_of, sign_in

HOSTILE = '<script>alert(1)</script>{{7*7}}'


@dataclass
class People:
    event_id: int
    other_event_id: int
    org: dict[str, str]  # organizer of the event
    rec: dict[str, str]  # recruiter at the event
    rec2: dict[str, str]  # another recruiter at the event
    other: dict[str, str]  # recruiter at another event only
    tal: dict[str, str]  # talent at the event
    admin: dict[str, str]


async def _people(client: httpx.AsyncClient, engine: AsyncEngine, now: dt.datetime) -> People:
    sm = create_sessionmaker(engine)
    w = await make_world(sm, now, recruiters=2)
    ctx = actions.Context(now=now)
    async with sm() as s, s.begin():
        start = (now + dt.timedelta(days=3)).replace(hour=0, minute=0)
        other = await actions.create_event(s, ctx, w.admin, name="Autumn Fair", timezone="Europe/Berlin", starts_at=start,
                                           ends_at=start + dt.timedelta(days=1), fmt=actions.ChatFormat())
        company = await actions.add_company(s, w.admin, other.id, name="Bluefin")
        await actions.add_participant(s, ctx, w.admin, other.id, email="other@example.test", name="Otto Other", role="recruiter",
                                      company_id=company.id, password=PASSWORD)
    return People(event_id=w.event_id, other_event_id=other.id, org=await token(client, "org@example.test"), rec=await token(client, "rec0@example.test"),
                  rec2=await token(client, "rec1@example.test"), other=await token(client, "other@example.test"),
                  tal=await token(client, "tal0@example.test"), admin=await token(client, "admin@example.test"))


def _reply(**extra: Any) -> dict[str, Any]:
    return {"title": "Where is our booth?", "keywords": "booth, hall, map", "body": "We're in Hall 3, stand B12.\n\nLook for the blue robot.", **extra}


def _article(event_id: int, **extra: Any) -> dict[str, Any]:
    return {"event_id": event_id, "title": "How the video interviews work", "keywords": "video, interview, zoom",
            "body": "Every interview is a 1-1 video call in your browser.\n\nNo app to install.", **extra}


async def _ids(client: httpx.AsyncClient, headers: dict[str, str], path: str, **params: Any) -> list[int]:
    r = await client.get(path, headers=headers, params=params)
    assert r.status_code == 200, r.text
    return [x["id"] for x in r.json()]


# --------------------------------------------------------------------------- saved replies


async def test_personal_replies_are_their_owners_alone(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    p = await _people(client, engine, clock.now)
    r = await client.post("/api/v1/live-replies", headers=p.rec, json=_reply())
    assert r.status_code == 201, r.text
    mine = r.json()
    assert mine["scope"] == "personal" and mine["event"] is None and mine["can_edit"]
    assert mine["paragraphs"] == ["We're in Hall 3, stand B12.", "Look for the blue robot."]

    # Nobody else reads, changes or deletes it: a colleague, the organizer, another event's recruiter (all not-found).
    for who in (p.rec2, p.org, p.other):
        assert (await client.get(f"/api/v1/live-replies/{mine['id']}", headers=who)).status_code == 404
        assert (await client.put(f"/api/v1/live-replies/{mine['id']}", headers=who, json=_reply(title="Mine now"))).status_code == 404
        assert (await client.delete(f"/api/v1/live-replies/{mine['id']}", headers=who)).status_code == 404
        assert mine["id"] not in await _ids(client, who, "/api/v1/live-replies")
    assert await _ids(client, p.rec, "/api/v1/live-replies") == [mine["id"]]

    # Talents and strangers are refused.
    r = await client.get("/api/v1/live-replies", headers=p.tal)
    assert r.status_code == 403 and r.json()["error"]["code"] == "not_staff"
    assert (await client.post("/api/v1/live-replies", headers=p.tal, json=_reply())).status_code == 403
    assert (await client.get(f"/api/v1/live-replies/{mine['id']}", headers=p.tal)).status_code == 403
    assert (await client.get("/api/v1/live-replies")).status_code == 401
    assert (await client.get("/api/v1/live-replies", headers={"Authorization": "Bearer nope"})).status_code == 401

    # Its owner changes it (the scope stays personal) and deletes it.
    r = await client.put(f"/api/v1/live-replies/{mine['id']}", headers=p.rec, json={"title": "Booth", "keywords": "", "body": "Hall 3."})
    assert r.status_code == 200 and (r.json()["title"], r.json()["body"], r.json()["scope"]) == ("Booth", "Hall 3.", "personal")
    r = await client.put(f"/api/v1/live-replies/{mine['id']}", headers=p.rec, json={"title": "Booth", "body": "x", "event_id": p.event_id})
    assert r.status_code == 422  # the scope can't be changed
    assert (await client.delete(f"/api/v1/live-replies/{mine['id']}", headers=p.rec)).status_code == 204
    assert (await client.get(f"/api/v1/live-replies/{mine['id']}", headers=p.rec)).status_code == 404
    assert (await client.delete(f"/api/v1/live-replies/{mine['id']}", headers=p.rec)).status_code == 404


async def test_shared_replies_are_read_by_the_events_staff_and_changed_by_its_organizers(
        client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    p = await _people(client, engine, clock.now)
    # Only the event's organizers share replies; a recruiter of the event is refused, one of another event doesn't see it.
    r = await client.post("/api/v1/live-replies", headers=p.rec, json=_reply(event_id=p.event_id))
    assert r.status_code == 403 and r.json()["error"]["code"] == "not_organizer"
    r = await client.post("/api/v1/live-replies", headers=p.other, json=_reply(event_id=p.event_id))
    assert r.status_code == 404 and r.json()["error"]["code"] == "event_not_found"
    r = await client.post("/api/v1/live-replies", headers=p.org, json=_reply(event_id=p.other_event_id))
    assert r.status_code == 404
    r = await client.post("/api/v1/live-replies", headers=p.org, json=_reply(event_id=p.event_id))
    assert r.status_code == 201, r.text
    shared = r.json()
    assert shared["scope"] == "shared" and shared["event"] == {"id": p.event_id, "name": "Spring Hiring Days"} and shared["can_edit"]
    mine = (await client.post("/api/v1/live-replies", headers=p.rec, json=_reply(title="My own"))).json()

    # The event's recruiters read it (and can't change it); the caller's own ones come first.
    assert await _ids(client, p.rec, "/api/v1/live-replies") == [mine["id"], shared["id"]]
    assert await _ids(client, p.rec2, "/api/v1/live-replies") == [shared["id"]]
    r = await client.get(f"/api/v1/live-replies/{shared['id']}", headers=p.rec)
    assert r.status_code == 200 and r.json()["can_edit"] is False
    r = await client.put(f"/api/v1/live-replies/{shared['id']}", headers=p.rec, json=_reply(title="Changed"))
    assert r.status_code == 403 and "organizers" in r.json()["error"]["message"]
    assert (await client.delete(f"/api/v1/live-replies/{shared['id']}", headers=p.rec)).status_code == 403

    # Another event's recruiter and the event's talents get not-found (or not-staff).
    assert await _ids(client, p.other, "/api/v1/live-replies") == []
    for verb in ("get", "delete"):
        assert (await client.request(verb, f"/api/v1/live-replies/{shared['id']}", headers=p.other)).status_code == 404
    assert (await client.put(f"/api/v1/live-replies/{shared['id']}", headers=p.other, json=_reply())).status_code == 404
    assert (await client.get(f"/api/v1/live-replies/{shared['id']}", headers=p.tal)).status_code == 403

    # Platform admins act as organizers anywhere.
    r = await client.post("/api/v1/live-replies", headers=p.admin, json=_reply(title="From the platform", event_id=p.other_event_id))
    assert r.status_code == 201 and r.json()["can_edit"]
    assert [x["title"] for x in (await client.get("/api/v1/live-replies", headers=p.other)).json()] == ["From the platform"]

    # The organizer changes and deletes it; it's gone for everyone.
    r = await client.put(f"/api/v1/live-replies/{shared['id']}", headers=p.org, json=_reply(title="Finding us", body="Hall 3."))
    assert r.status_code == 200 and r.json()["title"] == "Finding us" and r.json()["scope"] == "shared"
    assert (await client.get(f"/api/v1/live-replies/{shared['id']}", headers=p.rec2)).json()["title"] == "Finding us"
    assert (await client.delete(f"/api/v1/live-replies/{shared['id']}", headers=p.org)).status_code == 204
    assert await _ids(client, p.rec2, "/api/v1/live-replies") == []


async def test_search_finds_replies_by_keyword_title_and_text(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    p = await _people(client, engine, clock.now)

    async def add(headers: dict[str, str], **body: Any) -> int:
        r = await client.post("/api/v1/live-replies", headers=headers, json=body)
        assert r.status_code == 201, r.text
        return int(r.json()["id"])

    booth = await add(p.rec, title="Booth directions", keywords="hall, map", body="We're at stand B12.")
    salary = await add(p.rec, title="Salary bands", keywords="pay, money", body="Ranges are on the job page.")
    parking = await add(p.rec, title="Parking", keywords="", body="Use the north garage.")
    garage = await add(p.rec, title="Getting here", keywords="", body="Trains every 10 minutes; parking is scarce.")
    umlaut = await add(p.rec, title="Über uns", keywords="", body="Who we are.")
    shared = await add(p.org, title="Interview process", keywords="video", body="A 1-1 video call.", event_id=p.event_id)
    await add(p.other, title="Booth at the Autumn Fair", keywords="map", body="Elsewhere.")

    async def search(q: str) -> list[int]:
        return await _ids(client, p.rec, "/api/v1/live-replies", q=q)

    assert await search("MAP") == [booth]  # a keyword, any case; another event's staff's reply isn't there
    assert await search("salary") == [salary]  # the title
    assert await search("b12") == [booth]  # the text
    assert await search("money ranges") == [salary]  # every word, anywhere
    assert await search("hall money") == []
    assert await search("parking") == [parking, garage]  # a title match ranks above a match in the text
    assert await search("ÜBER") == [umlaut]  # case-insensitive beyond ASCII
    assert await search("video") == [shared]  # shared ones of the caller's events
    assert await search("  ") == await search("")
    assert len(await search("")) == 6
    assert await _ids(client, p.other, "/api/v1/live-replies", q="booth") != []
    assert booth not in await _ids(client, p.other, "/api/v1/live-replies", q="booth")
    r = await client.get("/api/v1/live-replies", headers=p.rec, params={"q": "x" * 201})
    assert r.status_code == 422 and r.json()["error"]["message"] == "Search: at most 200 characters."


@pytest.mark.parametrize(("body", "message"), [
    ({"title": "x" * 121}, "Title: at most 120 characters (this one has 121)."),
    ({"title": "   "}, "Title: give the reply a title."),
    ({"title": "Two\nlines"}, "Title: one line, without line breaks or control characters."),
    ({"keywords": "k" * 301}, "Keywords: at most 300 characters (these have 301)."),
    ({"body": "b" * 4001}, "Text: at most 4000 characters, a chat message's limit (this one has 4001)."),
    ({"body": "\n \n"}, "Text: write the reply's text."),
    ({"body": "bell\x07"}, "Text: it can't contain control characters."),
])
async def test_reply_limits_answer_422_naming_the_field(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock,
                                                         body: dict[str, str], message: str) -> None:
    p = await _people(client, engine, clock.now)
    r = await client.post("/api/v1/live-replies", headers=p.rec, json=_reply(**body))
    assert r.status_code == 422 and r.json()["error"]["message"] == message, r.text
    assert await _ids(client, p.rec, "/api/v1/live-replies") == []


async def test_replies_refuse_hostile_input(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    p = await _people(client, engine, clock.now)
    for bad in ({"title": ["x"]}, {"body": {"$ne": 1}}, {"body": "nul\x00"}, {"extra": 1}, {"event_id": 0}, {"body": "x" * 50000}):
        r = await client.post("/api/v1/live-replies", headers=p.rec, json=_reply(**bad))
        assert r.status_code == 422, (bad, r.text)
    # Text is stored as given (it is escaped where shown): markup and template syntax come back unchanged.
    r = await client.post("/api/v1/live-replies", headers=p.rec, json=_reply(title=HOSTILE, body=HOSTILE))
    assert r.status_code == 201 and r.json()["title"] == HOSTILE and r.json()["body"] == HOSTILE


# --------------------------------------------------------------------------- articles


async def test_articles_are_written_by_organizers_and_read_by_the_events_staff(
        client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    p = await _people(client, engine, clock.now)
    r = await client.post("/api/v1/live-articles", headers=p.org, json=_article(p.event_id))
    assert r.status_code == 201, r.text
    published = r.json()
    assert published["url"] == f"http://testserver/articles/{published['id']}" and published["published"] and published["can_edit"]
    draft = (await client.post("/api/v1/live-articles", headers=p.org, json=_article(p.event_id, title="Salaries (draft)", published=False))).json()
    assert draft["url"] is None

    # Recruiters of the event are refused writing; another event's recruiter doesn't see the event; talents aren't staff.
    r = await client.post("/api/v1/live-articles", headers=p.rec, json=_article(p.event_id))
    assert r.status_code == 403 and r.json()["error"]["code"] == "not_organizer"
    assert (await client.post("/api/v1/live-articles", headers=p.other, json=_article(p.event_id))).status_code == 404
    assert (await client.post("/api/v1/live-articles", headers=p.tal, json=_article(p.event_id))).status_code == 403
    assert (await client.post("/api/v1/live-articles", json=_article(p.event_id))).status_code == 401

    # Recruiters read published ones only; organizers see drafts too.
    assert await _ids(client, p.rec, "/api/v1/live-articles") == [published["id"]]
    assert await _ids(client, p.org, "/api/v1/live-articles") == [published["id"], draft["id"]]
    assert (await client.get(f"/api/v1/live-articles/{draft['id']}", headers=p.rec)).status_code == 404
    r = await client.get(f"/api/v1/live-articles/{published['id']}", headers=p.rec)
    assert r.status_code == 200 and r.json()["can_edit"] is False
    assert await _ids(client, p.rec, "/api/v1/live-articles", q="ZOOM") == [published["id"]]  # by keyword, any case
    assert await _ids(client, p.rec, "/api/v1/live-articles", q="no app") == [published["id"]]
    assert await _ids(client, p.rec, "/api/v1/live-articles", event_id=p.event_id) == [published["id"]]
    r = await client.get("/api/v1/live-articles", headers=p.rec, params={"event_id": p.other_event_id})
    assert r.status_code == 404
    r = await client.get("/api/v1/live-articles", headers=p.rec, params={"event_id": "abc"})
    assert r.status_code == 422
    assert await _ids(client, p.other, "/api/v1/live-articles") == []
    for verb in ("get", "delete"):
        assert (await client.request(verb, f"/api/v1/live-articles/{published['id']}", headers=p.other)).status_code == 404
    assert (await client.get(f"/api/v1/live-articles/{published['id']}", headers=p.tal)).status_code == 403

    # Only organizers change and delete them.
    change = {k: v for k, v in _article(p.event_id, title="Video interviews").items() if k != "event_id"}
    r = await client.put(f"/api/v1/live-articles/{published['id']}", headers=p.rec, json=change)
    assert r.status_code == 403
    assert (await client.delete(f"/api/v1/live-articles/{published['id']}", headers=p.rec)).status_code == 403
    r = await client.put(f"/api/v1/live-articles/{published['id']}", headers=p.org, json=change)
    assert r.status_code == 200 and r.json()["title"] == "Video interviews"
    assert (await client.delete(f"/api/v1/live-articles/{draft['id']}", headers=p.org)).status_code == 204
    assert await _ids(client, p.org, "/api/v1/live-articles") == [published["id"]]

    # Limits name the field.
    r = await client.post("/api/v1/live-articles", headers=p.org, json=_article(p.event_id, body="b" * 20001))
    assert r.status_code == 422 and r.json()["error"]["message"] == "Text: at most 20000 characters (this one has 20001)."
    r = await client.post("/api/v1/live-articles", headers=p.org, json=_article(p.event_id, title="t" * 201))
    assert r.status_code == 422 and r.json()["error"]["message"] == "Title: at most 200 characters (this one has 201)."
    r = await client.post("/api/v1/live-articles", headers=p.org, json=_article(p.event_id, body="b" * 20000))
    assert r.status_code == 201


async def test_a_published_article_has_a_public_page_and_a_draft_has_none(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    p = await _people(client, engine, clock.now)
    body = f"First paragraph {HOSTILE}.\n\nSecond paragraph."
    article = (await client.post("/api/v1/live-articles", headers=p.org, json=_article(p.event_id, title=f"FAQ {HOSTILE}", body=body))).json()

    # Anyone with the link reads it, without signing in; text from staff is escaped.
    r = await client.get(f"/articles/{article['id']}")
    assert r.status_code == 200 and r.headers["x-robots-tag"] == "noindex"
    assert html.escape(f"FAQ {HOSTILE}", quote=False) in r.text.replace("&#39;", "'").replace("&#34;", '"')
    assert "<script>alert(1)</script>" not in r.text and "Spring Hiring Days" in r.text
    assert "<p>Second paragraph.</p>" in r.text

    # Unpublished: 404; published again: back.
    change = {"title": "FAQ", "body": "Text.", "keywords": "", "published": False}
    assert (await client.put(f"/api/v1/live-articles/{article['id']}", headers=p.org, json=change)).status_code == 200
    r = await client.get(f"/articles/{article['id']}")
    assert r.status_code == 404 and "FAQ" not in r.text
    assert (await client.put(f"/api/v1/live-articles/{article['id']}", headers=p.org, json={**change, "published": True})).status_code == 200
    assert (await client.get(f"/articles/{article['id']}")).status_code == 200
    assert (await client.get("/articles/999999")).status_code == 404
    assert (await client.get("/articles/abc")).status_code == 404
    assert (await client.delete(f"/api/v1/live-articles/{article['id']}", headers=p.org)).status_code == 204
    assert (await client.get(f"/articles/{article['id']}")).status_code == 404


# --------------------------------------------------------------------------- pages


async def test_reply_pages_keep_what_was_typed_and_name_the_field(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    await _people(client, engine, clock.now)
    await sign_in(client, "rec0@example.test")
    page = await client.get("/live/replies/new")
    assert page.status_code == 200 and 'aria-current="page">Saved replies' in page.text
    assert "All staff of" not in page.text  # a recruiter shares nothing: only "Only me"
    csrf = csrf_of(page.text)

    # An error shows the form again, as typed, the field marked.
    r = await client.post("/live/replies", data={"csrf": csrf, "title": "", "keywords": "hall, map", "body": f"Hall 3.\n\n{HOSTILE}", "scope": ""})
    assert r.status_code == 422
    assert "Title: give the reply a title." in r.text and 'aria-invalid="true"' in r.text
    assert html.escape(HOSTILE) in r.text and 'value="hall, map"' in r.text
    r = await client.post("/live/replies", data={"csrf": csrf, "title": "Booth", "keywords": "", "body": "Hall 3.", "scope": "1"})
    assert r.status_code == 403 and "organizers" in r.text and 'value="Booth"' in r.text
    assert (await client.post("/live/replies", data={"csrf": "forged", "title": "Booth", "body": "x"})).status_code == 403

    r = await client.post("/live/replies", data={"csrf": csrf, "title": "Booth", "keywords": "hall, map", "body": "Hall 3.\r\n\r\nStand B12."})
    assert r.status_code == 303 and r.headers["location"].startswith("/live/replies#reply-")
    reply_id = int(r.headers["location"].rsplit("-", 1)[1])
    listing = await client.get("/live/replies")
    assert "Saved reply created." in listing.text and "Stand B12." in listing.text and "<li>hall</li>" in listing.text
    assert "Booth" in (await client.get("/live/replies", params={"q": "MAP"})).text
    assert "No saved replies" not in (await client.get("/live/replies", params={"q": "nothing-like-this"})).text

    r = await client.post(f"/live/replies/{reply_id}", data={"csrf": csrf, "title": "Booth", "keywords": "", "body": "b" * 4001})
    assert r.status_code == 422 and "Text: at most 4000 characters" in r.text and "b" * 4001 in r.text
    r = await client.post(f"/live/replies/{reply_id}/delete", data={"csrf": csrf})
    assert r.status_code == 303
    assert (await client.get(f"/live/replies/{reply_id}")).status_code == 404


async def test_organizers_manage_articles_on_their_pages(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    p = await _people(client, engine, clock.now)
    await sign_in(client, "org@example.test")
    page = await client.get("/live/articles/new")
    assert page.status_code == 200
    csrf = csrf_of(page.text)
    r = await client.post("/live/articles", data={"csrf": csrf, "scope": str(p.event_id), "title": "Dress code", "body": "", "published": "1"})
    assert r.status_code == 422 and "Text: write the article&#39;s text." in r.text and 'value="Dress code"' in r.text
    r = await client.post("/live/articles", data={"csrf": csrf, "scope": str(p.other_event_id), "title": "Dress code", "body": "Casual."})
    assert r.status_code == 404
    r = await client.post("/live/articles", data={"csrf": csrf, "scope": str(p.event_id), "title": "Dress code", "body": "Casual.", "published": "1"})
    assert r.status_code == 303, r.text
    article_id = int(r.headers["location"].rsplit("-", 1)[1])
    listing = await client.get("/live/articles")
    assert "Dress code" in listing.text and f'href="/articles/{article_id}"' in listing.text
    assert (await client.get(f"/articles/{article_id}")).status_code == 200
    r = await client.post(f"/live/articles/{article_id}", data={"csrf": csrf, "title": "Dress code", "body": "Casual."})  # unticked: a draft
    assert r.status_code == 303
    assert (await client.get(f"/articles/{article_id}")).status_code == 404

    # A recruiter of the event doesn't see the draft, and can't write articles.
    client.cookies.clear()
    await sign_in(client, "rec0@example.test")
    assert (await client.get(f"/live/articles/{article_id}")).status_code == 404
    assert "Dress code" not in (await client.get("/live/articles")).text
    assert (await client.get("/live/articles/new")).status_code == 403
    client.cookies.clear()
    await sign_in(client, "tal0@example.test")
    assert (await client.get("/live/articles")).status_code == 403
    assert (await client.get("/live/replies")).status_code == 403
