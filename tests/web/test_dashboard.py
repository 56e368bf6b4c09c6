"""The organizer's dashboard and the chats export: figures per company and recruiter, withdrawn kept apart from
declined, no-shows from the outcomes, slots used vs offered, who may see it, a fixed number of queries."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass

import httpx
from sqlalchemy import event as sa_event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from scheduling import actions, dashboard
from scheduling.db import create_sessionmaker
from scheduling.models import ChatOutcome, Event
from tests.factories import PASSWORD, World, make_world
from tests.web.conftest import FakeClock, token
from tests.web.test_pages import sign_in

SLOT = dt.timedelta(minutes=30)


async def as_user(client: httpx.AsyncClient, email: str) -> None:
    client.cookies.clear()
    await sign_in(client, email)


@dataclass
class Chats:
    pending: int
    confirmed: int
    declined: int
    withdrawn: int
    cancelled: int
    completed: int


async def _setup(sm: async_sessionmaker[AsyncSession], now: dt.datetime) -> tuple[World, Chats, dt.datetime]:
    """Two recruiters of one company, three talents, a chat in every category; one completed chat marked no-show."""
    w = await make_world(sm, now, recruiters=2, talents=3)
    ctx = actions.Context(now=now)
    t0, t1, t2 = w.talents
    r0, r1 = w.recruiters
    first = (now + dt.timedelta(days=1)).replace(hour=1, minute=0)  # the recruiters' first slot (UTC)
    async with sm() as s, s.begin():
        pending = await actions.send_request(s, ctx, t0, w.event_id, recruiter_id=r0.id, message="=HYPERLINK(\"http://evil\")")
        confirmed = await actions.send_request(s, ctx, t1, w.event_id, recruiter_id=r0.id, message="Hello")
        await actions.accept(s, ctx, r0, confirmed.id)
        await actions.book(s, ctx, t1, confirmed.id, first + SLOT)
        declined = await actions.send_request(s, ctx, t2, w.event_id, recruiter_id=r0.id)
        await actions.decline(s, ctx, r0, declined.id, "Not this time")
        withdrawn = await actions.send_request(s, ctx, t0, w.event_id, recruiter_id=r1.id)
        await actions.cancel(s, ctx, t0, withdrawn.id)
        cancelled = await actions.send_request(s, ctx, t1, w.event_id, recruiter_id=r1.id)
        await actions.accept(s, ctx, r1, cancelled.id)
        await actions.cancel(s, ctx, r1, cancelled.id, "Fell ill")
        completed = await actions.send_request(s, ctx, t2, w.event_id, recruiter_id=r1.id)
        await actions.accept(s, ctx, r1, completed.id)
        await actions.book(s, ctx, t2, completed.id, first)
    later = first + SLOT + dt.timedelta(minutes=1)  # the completed chat is over, the confirmed one has started
    async with sm() as s, s.begin():
        assert await actions.complete_due(s, actions.Context(now=first + SLOT)) == 1
        s.add(ChatOutcome(chat_request_id=completed.id, notes="Did not come", rating=None, next_step="", no_show=True,
                          recorded_by_id=r1.id, updated_at=later))
    return w, Chats(pending.id, confirmed.id, declined.id, withdrawn.id, cancelled.id, completed.id), later


async def test_dashboard_counts_every_category_apart(engine: AsyncEngine, now: dt.datetime) -> None:
    sm = create_sessionmaker(engine)
    w, _chats, later = await _setup(sm, now)
    async with sm() as s:
        event = await s.get(Event, w.event_id)
        assert event is not None
        board = await dashboard.event_dashboard(s, event, now=later)
    t = board.total
    assert t.by_category == {"pending": 1, "accepted": 0, "confirmed": 1, "completed": 1, "declined": 1, "withdrawn": 1, "cancelled": 1}
    assert t.requests == 6 and t.sent_by_talents == 6 and t.sent_by_recruiters == 0
    # Answered: 3 accepted and kept (confirmed, completed, accepted-then-cancelled) + 1 declined; pending and withdrawn aren't answers.
    assert t.accepted_ever == 3 and t.answered == 4 and t.acceptance_rate == 0.75
    assert t.no_show == 1 and t.held == 0
    # 8 slots of 30 minutes per recruiter (01:00-05:00 UTC); two are taken by chats; at 01:31 six of each are still ahead.
    assert t.slots_offered == 16 and t.slots_used == 2 and t.slots_open == 12
    r0, r1 = board.recruiters
    assert (r0.figures.requests, r0.figures.by_category["declined"], r0.figures.by_category["withdrawn"]) == (3, 1, 0)
    assert (r1.figures.requests, r1.figures.by_category["withdrawn"], r1.figures.by_category["cancelled"], r1.figures.no_show) == (3, 1, 1, 1)
    [company] = board.companies
    assert company.name == "Acme Robotics" and company.recruiters == 2 and company.figures.requests == 6
    # Talents without a confirmed or completed chat: only Tom Talent 0 (t1 and t2 have one).
    assert [p.name for p in board.talents_without_chat] == ["Tom Talent 0"] and board.talents_without_chat[0].open_requests == 1
    assert board.talents == 3 and board.talents_without_request == 0


async def test_dashboard_runs_a_fixed_number_of_queries(engine: AsyncEngine, now: dt.datetime) -> None:
    sm = create_sessionmaker(engine)
    w = await make_world(sm, now, recruiters=3, talents=12)
    ctx = actions.Context(now=now)
    statements: list[str] = []

    def count(conn: object, cursor: object, statement: str, *args: object) -> None:
        statements.append(statement)

    async def measure() -> int:
        statements.clear()
        async with sm() as s:
            event = await s.get(Event, w.event_id)
            assert event is not None
            statements.clear()
            sa_event.listen(engine.sync_engine, "before_cursor_execute", count)
            try:
                await dashboard.event_dashboard(s, event, now=now)
                await dashboard.export_rows(s, event)
            finally:
                sa_event.remove(engine.sync_engine, "before_cursor_execute", count)
        return len(statements)

    small = await measure()
    async with sm() as s, s.begin():
        for i, talent in enumerate(w.talents):
            chat = await actions.send_request(s, ctx, talent, w.event_id, recruiter_id=w.recruiters[i % 3].id)
            if i % 2:
                await actions.accept(s, ctx, w.recruiters[i % 3], chat.id)
            if i % 4 == 1:
                await actions.cancel(s, ctx, talent, chat.id)
    assert await measure() == small <= 8


async def test_dashboard_page_and_access(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    w, _chats, _later = await _setup(create_sessionmaker(engine), clock.now)
    await as_user(client, "tal0@example.test")
    assert (await client.get(f"/events/{w.event_id}/dashboard")).status_code == 403
    assert (await client.get(f"/events/{w.event_id}/chats.csv")).status_code == 403
    assert "/dashboard" not in (await client.get(f"/events/{w.event_id}")).text  # no nav link for talents
    assert (await client.get(f"/events/{w.event_id + 1}/dashboard")).status_code == 404
    await as_user(client, "org@example.test")
    page = await client.get(f"/events/{w.event_id}/dashboard")
    assert page.status_code == 200
    text = page.text
    assert f'href="/events/{w.event_id}/dashboard" aria-current="page"' in text
    assert 'data-testid="count-withdrawn">1<' in text and 'data-testid="count-declined">1<' in text and 'data-testid="count-cancelled">1<' in text
    assert "75%" in text and "Acme Robotics" in text and "Rita Recruiter 1" in text
    assert "1 no-show" in text and "2<span class=\"tile-of\"> / 16</span>" in text
    # The platform admin sees it too.
    await as_user(client, "admin@example.test")
    assert (await client.get(f"/events/{w.event_id}/dashboard")).status_code == 200


async def test_chats_csv_keeps_withdrawn_apart_and_neutralizes_formulas(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    w, chats, _later = await _setup(create_sessionmaker(engine), clock.now)
    await as_user(client, "org@example.test")
    r = await client.get(f"/events/{w.event_id}/chats.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert 'attachment; filename="Spring-Hiring-Days-chats.csv"' == r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text.lstrip("\ufeff"))))
    by_id = {int(row["Chat"]): row for row in rows}
    assert {by_id[c]["Status code"] for c in (chats.declined, chats.withdrawn, chats.cancelled)} == {"declined", "withdrawn", "cancelled"}
    assert by_id[chats.withdrawn]["Status code"] == "withdrawn" and by_id[chats.cancelled]["Status code"] == "cancelled"
    assert by_id[chats.pending]["Message"] == "'=HYPERLINK(\"http://evil\")"
    # Times in the event's zone (Berlin, UTC+1 in March), and the zone named.
    done = by_id[chats.completed]
    assert (done["Starts"], done["Ends"], done["Time zone"]) == ("2026-03-21 02:00", "2026-03-21 02:30", "Europe/Berlin")
    assert (done["No-show"], done["Outcome notes"], done["Company"]) == ("yes", "Did not come", "Acme Robotics")
    assert by_id[chats.cancelled]["Reason"] == "Fell ill" and by_id[chats.cancelled]["Closed by"] == "Rita Recruiter 1"


async def test_export_and_dashboard_api(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    w, chats, _later = await _setup(create_sessionmaker(engine), clock.now)
    talent = await token(client, "tal0@example.test")
    assert (await client.get(f"/api/v1/events/{w.event_id}/chats/export", headers=talent)).json()["error"]["code"] == "not_organizer"
    org = await token(client, "org@example.test")
    r = await client.get(f"/api/v1/events/{w.event_id}/chats/export", headers=org)
    assert r.status_code == 200 and r.json()["time_zone"] == "Europe/Berlin"
    statuses = {c["chat_id"]: c["status"] for c in r.json()["chats"]}
    assert statuses[chats.withdrawn] == "withdrawn" and statuses[chats.declined] == "declined"
    board = (await client.get(f"/api/v1/events/{w.event_id}/dashboard", headers=org)).json()
    assert board["total"]["withdrawn"] == 1 and board["total"]["acceptance_rate"] == 0.75 and board["total"]["no_show"] == 1
    assert [r["name"] for r in board["recruiters"]] == ["Rita Recruiter 0", "Rita Recruiter 1"]


async def test_chats_of_a_removed_recruiter_still_count(engine: AsyncEngine, now: dt.datetime) -> None:
    """A recruiter removed from the event (their participant row gone) keeps their chats in the figures, under their name."""
    from sqlalchemy import delete

    from scheduling.models import Participant

    sm = create_sessionmaker(engine)
    w, _chats, later = await _setup(sm, now)
    async with sm() as s, s.begin():
        await s.execute(delete(Participant).where(Participant.user_id == w.recruiters[1].id))
    async with sm() as s:
        event = await s.get(Event, w.event_id)
        assert event is not None
        board = await dashboard.event_dashboard(s, event, now=later)
        rows = await dashboard.export_rows(s, event)
    assert [r.name for r in board.recruiters] == ["Rita Recruiter 0", "Rita Recruiter 1"]
    gone = board.recruiters[1]
    assert gone.company_name == "" and gone.figures.requests == 3 and gone.figures.slots_offered == 0
    assert board.total.requests == 6 and [c.name for c in board.companies] == ["Acme Robotics", "No company"]
    assert {r.company for r in rows if r.recruiter == "Rita Recruiter 1"} == {""}


async def test_chats_csv_status_in_the_pages_words(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    """The CSV's Status column reads as the dashboard does ("Waiting for feedback", "In Scheduling", as on the chat pages); the codes stay in
    their own column, and the JSON export keeps the codes."""
    sm = create_sessionmaker(engine)
    w, chats, _later = await _setup(sm, clock.now)
    async with sm() as s, s.begin():  # one chat in scheduling (accepted, no time yet)
        talent = w.talents[2]
        scheduling = await actions.send_request(s, actions.Context(now=clock.now), talent, w.event_id, recruiter_id=w.recruiters[0].id)
        await actions.accept(s, actions.Context(now=clock.now), w.recruiters[0], scheduling.id)
    await as_user(client, "org@example.test")
    r = await client.get(f"/events/{w.event_id}/chats.csv")
    rows = list(csv.DictReader(io.StringIO(r.text.lstrip("\ufeff"))))
    assert list(rows[0])[:3] == ["Chat", "Status", "Status code"]
    words = {int(row["Chat"]): (row["Status"], row["Status code"]) for row in rows}
    assert words[chats.pending] == ("Waiting for feedback", "pending")
    assert words[scheduling.id] == ("In Scheduling", "accepted")
    assert words[chats.confirmed] == ("Confirmed", "confirmed") and words[chats.completed] == ("Completed", "completed")
    assert words[chats.declined] == ("Declined", "declined") and words[chats.withdrawn] == ("Withdrawn", "withdrawn")
    assert words[chats.cancelled] == ("Cancelled", "cancelled")
    page = (await client.get(f"/events/{w.event_id}/dashboard")).text
    for label, _code in words.values():  # the same words as the dashboard's
        assert f">{label}</span>" in page
    org = await token(client, "org@example.test")
    exported = (await client.get(f"/api/v1/events/{w.event_id}/chats/export", headers=org)).json()["chats"]
    assert {c["chat_id"]: c["status"] for c in exported}[scheduling.id] == "accepted"


async def test_dashboard_at_scale_lists_the_first_talents_and_folds_recruiters(
    client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock
) -> None:
    """With many talents without a chat the dashboard lists the first 20 with a link to all of them; with more than 12
    recruiters they are folded under their company (the link opens every company); names link to the person's page."""
    sm = create_sessionmaker(engine)
    w = await make_world(sm, clock.now, recruiters=13, talents=25)
    async with sm() as s, s.begin():
        other = await actions.add_company(s, w.admin, w.event_id, name="Bluefin Health", description="", website="")
        await actions.add_participant(s, actions.Context(now=clock.now), w.organizer, w.event_id, email="rae@example.test",
                                      name="Rae Bluefin", role="recruiter", company_id=other.id, password=PASSWORD)
    await as_user(client, "org@example.test")
    url = f"/events/{w.event_id}/dashboard"
    text = (await client.get(url)).text
    assert text.count('class="nochat-name"') == 20
    assert "25 of 25 talents" in text and 'href="?talents=all#no-chat"' in text and "Show all 25 talents without a chat" in text
    first = w.talents[0]
    assert f'href="/events/{w.event_id}/manage/people/{first.id}">{first.name}</a>' in text
    # Recruiters: one group per company, in the companies' order, folded at this size.
    groups = text.split('data-testid="recruiter-group"')[1:]
    assert len(groups) == 2 and "Acme Robotics" in groups[0] and "Bluefin Health" in groups[1]
    assert all(not g.startswith(" open") for g in groups)
    assert "13 recruiters · 0 requests" in groups[0] and "Rae Bluefin" in groups[1] and "Rita Recruiter 12" in groups[0]
    assert 'href="?recruiters=all#by-recruiter"' in text
    everything = (await client.get(url, params={"talents": "all", "recruiters": "all"})).text
    assert everything.count('class="nochat-name"') == 25 and "Show all 25" not in everything
    assert all(g.startswith(" open") for g in everything.split('data-testid="recruiter-group"')[1:])
    # Each link keeps the other part as it is.
    assert 'href="?talents=all#by-recruiter">Fold the companies' in everything and 'href="?recruiters=all#no-chat">Show the first 20' in everything
    only_talents = (await client.get(url, params={"talents": "all"})).text
    assert 'href="?recruiters=all&amp;talents=all#by-recruiter">Open every company' in only_talents


async def test_dashboard_small_event_shows_every_recruiter_unfolded(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    w, _chats, _later = await _setup(create_sessionmaker(engine), clock.now)
    await as_user(client, "org@example.test")
    text = (await client.get(f"/events/{w.event_id}/dashboard")).text
    assert 'data-testid="recruiter-group" open' in text and "Open every company" not in text
    assert text.count('class="nochat-name"') == 1 and "Show all" not in text
