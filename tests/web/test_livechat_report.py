"""The live-chat desk's report through the JSON API, the page and the CSV: numbers from chats seeded with known times,
who sees whose rows (never another recruiter's numbers), the viewer's days, formula cells, bad filters."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from typing import Any

import httpx
from markupsafe import escape
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from scheduling import accounts, actions
from scheduling.db import create_sessionmaker
from scheduling.livechat.desk_models import Team, TeamMember
from scheduling.livechat.models import JobReq, LiveChat
from scheduling.models import Event, User
from tests.factories import PASSWORD, make_world
from tests.web.conftest import FakeClock, token
from tests.web.test_pages import sign_in

DAY = dt.datetime(2026, 3, 19, 10, 0, tzinfo=dt.UTC)  # yesterday, seen from the clock's 2026-03-20 08:00 UTC
FORMULA = '=HYPERLINK("https://evil.example","click")'


@dataclass
class Seeded:
    ids: dict[str, int]  # chats by name
    users: dict[str, int]
    e1: int
    e2: int
    team: int


def chat(name: str, *, event_id: int | None, recruiter: int | None, status: str = "ended", queued: float | None = 0, taken: float | None = None,
         first: float | None = None, ended: float | None = None, team: int | None = None, job: int | None = None, rating: int | None = None,
         comment: str = "", start: dt.datetime = DAY) -> LiveChat:
    """A chat whose times are seconds after `start` (None: never happened)."""

    def t(seconds: float | None) -> dt.datetime | None:
        return None if seconds is None else start + dt.timedelta(seconds=seconds)

    return LiveChat(kind="job" if job else "support", queue=f"support:{event_id}", event_id=event_id, job_req_id=job, team_id=team, status=status,
                    candidate_name=name, candidate_email=f"{name.lower()}@mail.example", recruiter_id=recruiter, queued_at=t(queued),
                    taken_at=t(taken), first_reply_at=t(first), ended_at=t(ended), rating=rating, rating_comment=comment,
                    rating_asked_at=t(ended) if rating else None, rated_at=t((ended or 0) + 5) if rating else None,
                    outcome="resolved" if status == "ended" and taken is None else ("finished" if status == "ended" else ""),
                    created_at=start, updated_at=start)


async def seed(engine: AsyncEngine, now: dt.datetime) -> Seeded:
    """Event 1 (organizer Olga; Acme's Rita 0 and Rita 1 in the Backend team; Globex's Gina) and event 2 (organizer Otto,
    recruiter Olaf, smileys), plus Manny who created a job req at event 1 and works at event 2."""
    sm = create_sessionmaker(engine)
    w = await make_world(sm, now, recruiters=2, talents=1)
    ctx = actions.Context(now=now)
    async with sm() as s, s.begin():
        admin = await s.get(User, w.admin.id)
        assert admin is not None
        globex = await actions.add_company(s, admin, w.event_id, name="Globex")
        gina = await actions.add_participant(s, ctx, admin, w.event_id, email="gina@example.test", name="Gina Globex", role="recruiter",
                                             company_id=globex.id, password=PASSWORD)
        e2 = await actions.create_event(s, ctx, admin, name="Autumn Fair", timezone="UTC", starts_at=now + dt.timedelta(days=30),
                                        ends_at=now + dt.timedelta(days=31))
        e2.live_rating_style = "smileys"
        await actions.add_participant(s, ctx, admin, e2.id, email="otto@example.test", name="Otto Organizer", role="organizer", password=PASSWORD)
        initech = await actions.add_company(s, admin, e2.id, name="Initech")
        olaf = await actions.add_participant(s, ctx, admin, e2.id, email="olaf@example.test", name="Olaf Other", role="recruiter",
                                             company_id=initech.id, password=PASSWORD)
        manny = await actions.add_participant(s, ctx, admin, e2.id, email="manny@example.test", name="Manny Manager", role="recruiter",
                                              company_id=initech.id, password=PASSWORD)
        job = JobReq(title="Robot Whisperer", company="Acme Robotics", event_id=w.event_id, created_by_id=manny.user_id, created_at=now, updated_at=now)
        team = Team(event_id=w.event_id, name="Backend", created_at=now)
        s.add_all([job, team])
        await s.flush()
        s.add_all([TeamMember(team_id=team.id, user_id=w.recruiters[0].id), TeamMember(team_id=team.id, user_id=w.recruiters[1].id)])
        r0, r1, e1 = w.recruiters[0].id, w.recruiters[1].id, w.event_id
        chats = {
            "Ann": chat("Ann", event_id=e1, recruiter=r0, team=team.id, taken=60, first=90, ended=360, rating=4, comment="Clear answers, thanks!"),
            "Ben": chat("Ben", event_id=e1, recruiter=r0, team=team.id, taken=120, first=130, ended=1320, rating=2,
                        comment='<script>alert("x")</script> too slow'),
            "Cem": chat("Cem", event_id=e1, recruiter=r1, team=team.id, job=job.id, taken=30, first=40, ended=100),
            "Dora": chat("Dora", event_id=e1, recruiter=None, team=team.id, ended=600),  # missed: resolved while waiting
            "Eve": chat("Eve", event_id=e1, recruiter=gina.user_id, taken=300, first=310, ended=400, rating=5, comment="Gina was great"),
            "Finn": chat("Finn", event_id=e1, recruiter=None, status="note", queued=None),  # a note: never queued
            "Gus": chat("Gus", event_id=e1, recruiter=None, status="rejected", queued=None),  # knockout: not counted
            "Hal": chat("Hal", event_id=e1, recruiter=r0, taken=5, first=6, ended=7, start=dt.datetime(2026, 3, 1, 10, tzinfo=dt.UTC)),  # out of range
            "Ida": chat("Ida", event_id=e2.id, recruiter=olaf.user_id, taken=10, first=20, ended=70, rating=3, comment="Olaf's secret praise"),
        }
        s.add_all(chats.values())
        await s.flush()
        users = {"admin": w.admin.id, "olga": w.organizer.id, "rita0": r0, "rita1": r1, "gina": gina.user_id, "olaf": olaf.user_id,
                 "manny": manny.user_id}
        return Seeded({k: c.id for k, c in chats.items()}, users, e1, e2.id, team.id)


def row(report: dict[str, Any], label: str) -> dict[str, Any]:
    found = [r for r in report["rows"] if r["label"] == label]
    assert len(found) == 1, (label, [r["label"] for r in report["rows"]])
    return found[0]


def times(r: dict[str, Any], name: str) -> tuple[int, float | None, float | None]:
    return r[name]["count"], r[name]["median_seconds"], r[name]["p90_seconds"]


async def report(client: httpx.AsyncClient, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    r = await client.get("/api/v1/live-report", headers=headers, params=params)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def test_numbers_per_person_team_and_event(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    s = await seed(engine, clock.now)
    admin = await token(client, "admin@example.test")

    people = await report(client, admin, group="person", tz="UTC")
    assert people["range"]["from"] == "2026-03-14" and people["range"]["to"] == "2026-03-20"  # the last 7 days by default
    assert [r["label"] for r in people["rows"]] == ["Gina Globex", "Olaf Other", "Rita Recruiter 0", "Rita Recruiter 1", "Not taken by anyone"]
    rita = row(people, "Rita Recruiter 0")
    assert (rita["id"], rita["chats"], rita["answered"], rita["not_answered"], rita["missed"]) == (s.users["rita0"], 2, 2, 0, 0)
    assert times(rita, "wait") == (2, 90.0, 114.0)  # 60 and 120 s: median 90, p90 60 + .9 * 60
    assert times(rita, "first_response") == (2, 110.0, 126.0)
    assert times(rita, "handling") == (2, 750.0, 1110.0)  # 300 and 1200 s
    assert rita["wait"]["median_text"] == "1 m 30 s" and rita["wait"]["p90_text"] == "1 m 54 s" and rita["handling"]["median_text"] == "12 m 30 s"
    assert rita["ratings"] == [{"style": "stars", "scale": 5, "average": 3.0, "count": 2}]
    nobody = row(people, "Not taken by anyone")
    assert (nobody["id"], nobody["chats"], nobody["answered"], nobody["not_answered"], nobody["missed"]) == (None, 2, 0, 2, 1)
    assert times(nobody, "wait") == (0, None, None) and nobody["wait"]["median_text"] == "—"
    assert row(people, "Olaf Other")["ratings"] == [{"style": "smileys", "scale": 3, "average": 3.0, "count": 1}]
    total = people["total"]
    assert (total["chats"], total["answered"], total["not_answered"], total["missed"]) == (7, 5, 2, 1)  # Gus rejected, Hal out of range
    assert times(total, "wait") == (5, 60.0, 228.0)  # [10, 30, 60, 120, 300]: p90 h=3.6 -> 120 + .6 * 180
    assert total["ratings"] == [{"style": "smileys", "scale": 3, "average": 3.0, "count": 1}, {"style": "stars", "scale": 5, "average": 3.67, "count": 3}]

    events = await report(client, admin, group="event", tz="UTC")
    spring = row(events, "Spring Hiring Days")
    assert (spring["id"], spring["chats"], spring["answered"], spring["not_answered"], spring["missed"]) == (s.e1, 6, 4, 2, 1)
    assert times(spring, "wait") == (4, 90.0, 246.0)  # [30, 60, 120, 300]: h=2.7 -> 120 + .7 * 180
    assert row(events, "Autumn Fair")["chats"] == 1

    teams = await report(client, admin, group="team", tz="UTC", event_id=s.e1)
    backend = row(teams, "Backend")
    assert (backend["id"], backend["chats"], backend["answered"], backend["missed"]) == (s.team, 4, 3, 1)
    assert row(teams, "No team")["chats"] == 2  # Eve and Finn
    assert "Autumn Fair" not in str(teams) and teams["total"]["chats"] == 6

    # Recent ratings: newest first, with the candidate, the scale and the comment, linking the transcript.
    recent = people["recent_ratings"]
    assert [(r["candidate"], r["rating"], r["scale"]) for r in recent] == [("Ben", 2, 5), ("Eve", 5, 5), ("Ann", 4, 5), ("Ida", 3, 3)]
    assert recent[0]["url"] == f"/live/history/{s.ids['Ben']}" and recent[2]["comment"] == "Clear answers, thanks!"
    assert recent[0]["recruiter"] == "Rita Recruiter 0" and recent[3]["style"] == "smileys"


async def test_organizers_and_job_req_managers_see_their_part_only(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    s = await seed(engine, clock.now)
    olga = await report(client, await token(client, "org@example.test"), group="person", tz="UTC")
    assert {r["label"] for r in olga["rows"]} == {"Gina Globex", "Rita Recruiter 0", "Rita Recruiter 1", "Not taken by anyone"}
    assert olga["total"]["chats"] == 6 and "Olaf" not in str(olga)
    r = await client.get("/api/v1/live-report", headers=await token(client, "org@example.test"), params={"event_id": s.e2})
    assert r.status_code == 404 and r.json()["error"]["code"] == "event_not_found"  # not hers: as unknown as a missing one

    otto = await report(client, await token(client, "otto@example.test"), group="person", tz="UTC")
    assert [x["label"] for x in otto["rows"]] == ["Olaf Other"] and "Rita" not in str(otto) and "Ann" not in str(otto)

    # Manny created one job req at event 1: he sees its chat (Cem, Rita 1's), nothing else of event 1.
    manny = await report(client, await token(client, "manny@example.test"), group="person", tz="UTC")
    assert [(x["label"], x["chats"]) for x in manny["rows"]] == [("Rita Recruiter 1", 1)]
    assert times(manny["rows"][0], "wait") == (1, 30.0, 30.0)


async def test_a_recruiter_sees_only_their_own_numbers_and_their_teams(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    s = await seed(engine, clock.now)
    rita = await token(client, "rec0@example.test")
    mine = await report(client, rita, group="person", tz="UTC")
    assert [(x["label"], x["chats"]) for x in mine["rows"]] == [("Rita Recruiter 0", 2)]
    assert [x["candidate"] for x in mine["recent_ratings"]] == ["Ben", "Ann"]
    assert "Gina" not in str(mine) and "Rita Recruiter 1" not in str(mine) and "Eve" not in str(mine)
    team = await report(client, rita, group="team", tz="UTC")
    assert [(x["label"], x["chats"], x["answered"], x["missed"]) for x in team["rows"]] == [("Backend", 4, 3, 1)]  # her team's row, whole
    assert "No team" not in str(team) and "Eve" not in str(team) and "Cem" not in str(team)  # team rows, never colleagues' chats
    by_event = await report(client, rita, group="event", tz="UTC")
    assert [(x["label"], x["chats"]) for x in by_event["rows"]] == [("Spring Hiring Days", 2)]  # her own chats at the event

    # A recruiter of another company at the same event: none of the others' rows, names, ratings or comments.
    gina = await token(client, "gina@example.test")
    for group in ("person", "team", "event"):
        seen = await report(client, gina, group=group, tz="UTC")
        text = str(seen)
        assert "Rita" not in text and "Backend" not in text and "Clear answers" not in text and "Ann" not in text, group
        assert seen["total"]["chats"] == (0 if group == "team" else 1)
    assert [x["candidate"] for x in (await report(client, gina, group="person", tz="UTC"))["recent_ratings"]] == ["Eve"]

    # Talents have no report; strangers must sign in.
    r = await client.get("/api/v1/live-report", headers=await token(client, "tal0@example.test"))
    assert r.status_code == 403 and r.json()["error"]["code"] == "not_staff"
    assert (await client.get("/api/v1/live-report")).status_code == 401
    assert s.ids


async def test_bad_filters_are_clear_4xx(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    await seed(engine, clock.now)
    admin = await token(client, "admin@example.test")
    cases = [
        ({"from": "2026-03-20", "to": "2026-03-01"}, 422, "invalid_range", "before it starts"),
        ({"from": "yesterday"}, 422, "invalid_date", "From"),
        ({"group": "company"}, 422, "invalid_group", "Group by"),
        ({"event_id": "999999"}, 404, "event_not_found", "No such event"),
        ({"event_id": "x1"}, 422, "invalid_event", "Event"),
        ({"event": "1"}, 422, "invalid_event", "event_id"),
        ({"tz": "Nowhere/Land"}, 422, "invalid_timezone", "Time zone"),
        ({"from": "2020-01-01", "to": "2026-01-01"}, 422, "invalid_range", "366"),
    ]
    for params, status, code, words in cases:
        r = await client.get("/api/v1/live-report", headers=admin, params=params)
        assert r.status_code == status and r.json()["error"]["code"] == code and words in r.json()["error"]["message"], (params, r.text)

    await sign_in(client, "admin@example.test")
    r = await client.get("/live/report", params={"from": "2026-03-20", "to": "2026-03-01", "group": "team"})
    assert r.status_code == 422 and "before it starts" in r.text
    assert 'name="from" value="2026-03-20"' in r.text and 'name="to" value="2026-03-01"' in r.text  # the typed values stay
    assert 'aria-invalid="true"' in r.text and "Download CSV" not in r.text
    r = await client.get("/live/report", params={"event": "999999"})
    assert r.status_code == 404 and "Event: pick one of your events" in r.text
    r = await client.get("/live/report.csv", params={"from": "2026-03-20", "to": "2026-03-01"})
    assert r.status_code == 422 and "before it starts" in r.text and not r.headers["content-type"].startswith("text/csv")


async def test_days_are_the_viewers(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    s = await seed(engine, clock.now)
    late = dt.datetime(2026, 3, 20, 3, 30, tzinfo=dt.UTC)  # 23:30 on the 19th in New York, the 20th in UTC
    async with create_sessionmaker(engine)() as db, db.begin():
        db.add(chat("Night Owl", event_id=s.e1, recruiter=None, status="waiting", start=late))
    admin = await token(client, "admin@example.test")
    ny = await report(client, admin, tz="America/New_York", **{"from": "2026-03-19", "to": "2026-03-19"})
    utc = await report(client, admin, tz="UTC", **{"from": "2026-03-19", "to": "2026-03-19"})
    assert ny["total"]["chats"] == utc["total"]["chats"] + 1 == 8
    assert ny["range"]["starts_at"] == "2026-03-19T04:00:00+00:00" and ny["range"]["ends_at"] == "2026-03-20T04:00:00+00:00"
    # The page and the CSV read the signed-in person's zone (sign_in sets America/New_York).
    await sign_in(client, "admin@example.test")
    r = await client.get("/live/report.csv", params={"from": "2026-03-19", "to": "2026-03-19", "group": "event"})
    [total] = [x for x in csv.reader(io.StringIO(r.text)) if x[0] == "Total"]
    assert total[2] == "8"


async def test_the_page_and_the_csv(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    s = await seed(engine, clock.now)
    async with create_sessionmaker(engine)() as db, db.begin():
        await db.execute(update(User).where(User.id == s.users["rita1"]).values(name=FORMULA))
        await db.execute(update(Team).where(Team.id == s.team).values(name="@SUM(1+1)"))
        await db.execute(update(Event).where(Event.id == s.e2).values(name="-2+3"))
    await sign_in(client, "admin@example.test")

    page = await client.get("/live/report", params={"group": "person"})
    assert page.status_code == 200
    html = page.text
    assert 'aria-current="page">Report<' in html.replace("\n", "")
    assert "Rita Recruiter 0" in html and "1 m 30 s" in html and "90%: 1 m 54 s" in html and "12 m 30 s" in html
    assert "Download CSV" in html and "/live/report.csv?from=2026-03-14&amp;to=2026-03-20&amp;group=person" in html
    assert "Recent ratings" in html and f'href="/live/history/{s.ids["Ann"]}"' in html and "Clear answers, thanks!" in html
    assert str(escape('<script>alert("x")</script> too slow')) in html and '<script>alert("x")' not in html
    assert str(escape(FORMULA)) in html
    assert "midnight to midnight in America/New_York" in html

    r = await client.get("/live/report.csv", params={"group": "person"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"] and r.headers["cache-control"] == "private, no-store"
    rows = list(csv.reader(io.StringIO(r.text)))
    header = rows[0]
    assert header[:6] == ["Group", "Name", "Chats", "Answered", "Not answered", "Missed"]
    by_name = {x[1]: dict(zip(header, x, strict=True)) for x in rows[1:]}
    rita = by_name["Rita Recruiter 0"]
    assert (rita["Chats"], rita["Answered"], rita["Wait median (s)"], rita["Wait 90th percentile (s)"]) == ("2", "2", "90", "114")
    assert (rita["First response median (s)"], rita["Handling median (s)"], rita["Handling 90th percentile (s)"]) == ("110", "750", "1110")
    assert (rita["Stars average (of 5)"], rita["Star ratings"], rita["Smileys average (of 3)"]) == ("3.0", "2", "")
    assert by_name["'" + FORMULA]["Wait median (s)"] == "30"  # the formula cell starts with an apostrophe: text, not a formula
    assert FORMULA not in [x[1] for x in rows]
    assert rows[-1][0] == "Total" and rows[-1][2] == "7"

    teams = list(csv.reader(io.StringIO((await client.get("/live/report.csv", params={"group": "team"})).text)))
    assert ["Team", "'@SUM(1+1)"] == teams[1][:2]
    events = list(csv.reader(io.StringIO((await client.get("/live/report.csv", params={"group": "event"})).text)))
    assert "'-2+3" in [x[1] for x in events]


async def test_the_page_for_a_recruiter_and_for_a_talent(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    await seed(engine, clock.now)
    await sign_in(client, "gina@example.test")
    html = (await client.get("/live/report", params={"group": "person"})).text
    assert "Gina Globex" in html and "Gina was great" in html and "Rita" not in html and "Clear answers" not in html
    assert "your own chats" in html
    r = await client.get("/live/report.csv", params={"group": "person"})
    assert "Rita" not in r.text and "Gina Globex" in r.text
    client.cookies.clear()
    await sign_in(client, "tal0@example.test")
    r = await client.get("/live/report")
    assert r.status_code == 403
    assert (await accounts_user(engine, "tal0@example.test")) is not None


async def accounts_user(engine: AsyncEngine, email: str) -> User | None:
    async with create_sessionmaker(engine)() as db:
        return await accounts.user_by_email(db, email)
