"""Announcements: organizers write to everyone or one role; one outbox row per recipient in the same transaction; shown
on the recipients' event pages (not on others'); refused forms keep what was typed; limits; deleting; who may."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from scheduling import actions, announcements
from scheduling.db import create_sessionmaker
from scheduling.errors import Forbidden, QuotaExceeded
from scheduling.models import Announcement, OutboxMessage
from tests.factories import make_world
from tests.web.conftest import FakeClock
from tests.web.test_dashboard import as_user
from tests.web.test_pages import csrf_of


async def _outbox(engine: AsyncEngine, kind: str = "announcement") -> list[OutboxMessage]:
    async with create_sessionmaker(engine)() as s:
        return list((await s.execute(select(OutboxMessage).where(OutboxMessage.kind == kind).order_by(OutboxMessage.to_email))).scalars())


async def test_announcement_to_talents_is_emailed_and_shown_to_talents_only(client: httpx.AsyncClient, engine: AsyncEngine,
                                                                             clock: FakeClock) -> None:
    w = await make_world(create_sessionmaker(engine), clock.now, recruiters=2, talents=3)
    await as_user(client, "org@example.test")
    page = await client.get(f"/events/{w.event_id}/announcements")
    assert page.status_code == 200 and "Write an announcement" in page.text
    r = await client.post(f"/events/{w.event_id}/announcements", data={
        "csrf": csrf_of(page.text), "audience": "talent", "title": "Doors open at 9", "body": "Bring your CV.\nSee you <soon>!"})
    assert r.status_code == 303
    listed = await client.get(r.headers["location"])
    assert "3 people were emailed" in listed.text and "Doors open at 9" in listed.text
    mails = await _outbox(engine)
    assert [m.to_email for m in mails] == ["tal0@example.test", "tal1@example.test", "tal2@example.test"]
    assert mails[0].subject == "Spring Hiring Days: Doors open at 9" and "Bring your CV." in mails[0].body_text
    assert f"http://testserver/events/{w.event_id}" in mails[0].body_text
    # Talents see it on their event pages (escaped), recruiters don't.
    await as_user(client, "tal1@example.test")
    home = (await client.get(f"/events/{w.event_id}")).text
    assert 'data-testid="announcements-banner"' in home and "Doors open at 9" in home and "See you &lt;soon&gt;!" in home
    await as_user(client, "rec0@example.test")
    assert "Doors open at 9" not in (await client.get(f"/events/{w.event_id}")).text


async def test_announcement_to_everyone_reaches_every_role_but_its_author(client: httpx.AsyncClient, engine: AsyncEngine,
                                                                          clock: FakeClock) -> None:
    w = await make_world(create_sessionmaker(engine), clock.now, recruiters=1, talents=1)
    await as_user(client, "org@example.test")
    page = await client.get(f"/events/{w.event_id}/announcements")
    await client.post(f"/events/{w.event_id}/announcements", data={"csrf": csrf_of(page.text), "audience": "all", "title": "Welcome", "body": "Hi all"})
    # The admin who created the event is an organizer too; the author (Olga) is not mailed her own announcement.
    assert [m.to_email for m in await _outbox(engine)] == ["admin@example.test", "rec0@example.test", "tal0@example.test"]
    for email in ("rec0@example.test", "tal0@example.test", "admin@example.test"):
        await as_user(client, email)
        assert "Welcome" in (await client.get(f"/events/{w.event_id}")).text, email


async def test_refused_announcement_keeps_what_was_typed(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    w = await make_world(create_sessionmaker(engine), clock.now)
    await as_user(client, "org@example.test")
    page = await client.get(f"/events/{w.event_id}/announcements")
    r = await client.post(f"/events/{w.event_id}/announcements", data={
        "csrf": csrf_of(page.text), "audience": "recruiter", "title": "", "body": "A long text I do not want to type again"})
    assert r.status_code == 422 and "The title is required." in r.text
    assert "A long text I do not want to type again" in r.text and '<option value="recruiter" selected>' in r.text
    r = await client.post(f"/events/{w.event_id}/announcements", data={
        "csrf": csrf_of(page.text), "audience": "all", "title": "Big", "body": "x" * (announcements.BODY_LIMIT + 1)})
    assert r.status_code == 422 and "The message is limited to 5000 characters" in r.text and 'value="Big"' in r.text
    r = await client.post(f"/events/{w.event_id}/announcements", data={"csrf": csrf_of(page.text), "audience": "everybody", "title": "T", "body": "B"})
    assert r.status_code == 422 and "Choose who the announcement is for" in r.text
    assert await _outbox(engine) == []
    async with create_sessionmaker(engine)() as s:
        assert (await s.execute(select(func.count()).select_from(Announcement))).scalar_one() == 0


async def test_only_organizers_announce_and_delete(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    sm = create_sessionmaker(engine)
    w = await make_world(sm, clock.now)
    ctx = actions.Context(now=clock.now)
    async with sm() as s, s.begin():
        item, sent = await announcements.post(s, ctx, w.organizer, w.event_id, audience="all", title="Lunch at 12", body="In the hall")
        assert sent == 3
        with pytest.raises(Forbidden):
            await announcements.post(s, ctx, w.talents[0], w.event_id, audience="all", title="Spam", body="Spam")
    await as_user(client, "tal0@example.test")
    assert (await client.get(f"/events/{w.event_id}/announcements")).status_code == 403
    home = await client.get(f"/events/{w.event_id}")
    r = await client.post(f"/events/{w.event_id}/announcements/delete", data={"csrf": csrf_of(home.text), "announcement_id": str(item.id)},
                          follow_redirects=True)
    assert "Only the event" in r.text
    await as_user(client, "org@example.test")
    page = await client.get(f"/events/{w.event_id}/announcements")
    r = await client.post(f"/events/{w.event_id}/announcements/delete", data={"csrf": csrf_of(page.text), "announcement_id": str(item.id)},
                          follow_redirects=True)
    assert "removed from the event pages" in r.text and "No announcements yet." in r.text
    await as_user(client, "tal0@example.test")
    assert "Lunch at 12" not in (await client.get(f"/events/{w.event_id}")).text


async def test_announcements_are_rate_limited_per_event(engine: AsyncEngine, now: dt.datetime) -> None:
    sm = create_sessionmaker(engine)
    w = await make_world(sm, now, talents=0, recruiters=0)
    async with sm() as s, s.begin():
        for i in range(announcements.POSTS_PER_HOUR):
            await announcements.post(s, actions.Context(now=now), w.organizer, w.event_id, audience="all", title=f"N{i}", body="b")
    async with sm() as s, s.begin():
        with pytest.raises(QuotaExceeded):
            await announcements.post(s, actions.Context(now=now + dt.timedelta(minutes=59)), w.organizer, w.event_id, audience="all",
                                     title="One more", body="b")
    async with sm() as s, s.begin():
        await announcements.post(s, actions.Context(now=now + dt.timedelta(minutes=61)), w.organizer, w.event_id, audience="all",
                                 title="Next hour", body="b")
        shown = await announcements.for_viewer(s, w.event_id, "talent")
    assert [a.title for a in shown] == ["Next hour", "N9", "N8"]
