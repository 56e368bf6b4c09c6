"""Organizers cancel or move a 1-1 chat on the two people's behalf: the same notices and invites, saying who did it;
the people, strangers and refused forms; finding 11 (the organizer's chat header keeps each person on a line of their own)."""

from __future__ import annotations

import datetime as dt
import re

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from scheduling import actions
from scheduling.db import create_sessionmaker
from scheduling.errors import Invalid
from scheduling.models import ChatEvent, ChatRequest, OutboxMessage, Participant, User
from tests.factories import World, make_world
from tests.web.conftest import FakeClock, token
from tests.web.test_dashboard import as_user
from tests.web.test_pages import csrf_of

SLOT = dt.timedelta(minutes=30)


async def _confirmed(sm: async_sessionmaker[AsyncSession], now: dt.datetime, **kw: object) -> tuple[World, int, dt.datetime]:
    w = await make_world(sm, now, **kw)  # type: ignore[arg-type]
    ctx = actions.Context(now=now, base_url="http://testserver")
    first = (now + dt.timedelta(days=1)).replace(hour=1, minute=0)
    async with sm() as s, s.begin():
        talent = await s.get(User, w.talents[0].id)
        assert talent is not None
        talent.headline = "Backend developer, Python"
        chat = await actions.send_request(s, ctx, w.talents[0], w.event_id, recruiter_id=w.recruiters[0].id)
        await actions.accept(s, ctx, w.recruiters[0], chat.id)
        await actions.book(s, ctx, w.talents[0], chat.id, first)
    return w, chat.id, first


async def _mails(sm: async_sessionmaker[AsyncSession], kind: str) -> list[OutboxMessage]:
    async with sm() as s:
        return list((await s.execute(select(OutboxMessage).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id))).scalars())


async def test_organizer_moves_a_chat_and_both_get_the_new_invite(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    sm = create_sessionmaker(engine)
    w, chat_id, first = await _confirmed(sm, clock.now)
    await as_user(client, "org@example.test")
    chat_page = await client.get(f"/chats/{chat_id}")
    assert "Organizer actions" in chat_page.text and f'href="/chats/{chat_id}/organize#move"' in chat_page.text
    page = await client.get(f"/chats/{chat_id}/organize")
    assert page.status_code == 200 and "Move to another time" in page.text
    starts = re.findall(r'<option value="(20[^"]+)"', page.text)
    assert first.isoformat() not in starts  # the chat's own time is not offered
    new = first + SLOT
    assert new.isoformat() in starts
    # No time chosen: refused in words, nothing changed.
    r = await client.post(f"/chats/{chat_id}/organize/reschedule", data={"csrf": csrf_of(page.text), "start": "", "reason": "Clash"})
    assert r.status_code == 422 and "Choose the new time, or to release the slot." in r.text and ">Clash</textarea>" in r.text
    r = await client.post(f"/chats/{chat_id}/organize/reschedule", data={"csrf": csrf_of(page.text), "start": new.isoformat(),
                                                                        "reason": "The recruiter has a clash"})
    assert r.status_code == 303 and r.headers["location"] == f"/chats/{chat_id}"
    shown = await client.get(r.headers["location"])
    assert "Chat moved. Both people got the new invite." in shown.text
    async with sm() as s:
        chat = await s.get(ChatRequest, chat_id)
        assert chat is not None and chat.status == "confirmed" and chat.starts_at == new and chat.ical_sequence == 1
    mails = await _mails(sm, "rescheduled")
    assert sorted(m.to_email for m in mails) == ["rec0@example.test", "tal0@example.test"]
    for m in mails:
        other = "Rita Recruiter 0" if m.to_email == "tal0@example.test" else "Tom Talent 0"
        assert m.subject.startswith(f"Rescheduled: 1-1 chat with {other}, now ")
        assert f"The organizers moved your 1-1 chat with {other}" in m.body_text and "Reason: The recruiter has a clash" in m.body_text
        assert m.ical_method == "REQUEST" and m.ical is not None and "SEQUENCE:1" in m.ical and "DTSTART:20260321T013000Z" in m.ical


async def test_organizer_cancels_a_confirmed_chat_for_both(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    sm = create_sessionmaker(engine)
    w, chat_id, _first = await _confirmed(sm, clock.now)
    await as_user(client, "org@example.test")
    page = await client.get(f"/chats/{chat_id}/organize")
    # No reason: refused, nothing changed, and the page says what to do.
    r = await client.post(f"/chats/{chat_id}/organize/cancel", data={"csrf": csrf_of(page.text), "reason": "  "})
    assert r.status_code == 422 and "Tell Tom Talent 0 and Rita Recruiter 0 why the chat is cancelled: a reason is required." in r.text
    r = await client.post(f"/chats/{chat_id}/organize/cancel", data={"csrf": csrf_of(page.text), "reason": "The company left the event"})
    assert r.status_code == 303
    async with sm() as s:
        chat = await s.get(ChatRequest, chat_id)
        assert chat is not None and chat.status == "cancelled" and chat.closed_by_id == w.organizer.id
        counter = (await s.execute(select(Participant.chats_booked).where(Participant.user_id == w.talents[0].id))).scalar_one()
        assert counter == 0
    mails = await _mails(sm, "cancelled")
    assert sorted(m.to_email for m in mails) == ["rec0@example.test", "tal0@example.test"]
    for m in mails:
        assert "The organizers cancelled your 1-1 chat (" in m.body_text and m.ical_method == "CANCEL"
        assert m.subject in ("Cancelled: 1-1 chat with Rita Recruiter 0", "Cancelled: 1-1 chat with Tom Talent 0")


async def test_organizer_cancels_a_pending_request_and_the_credit_comes_back(engine: AsyncEngine, now: dt.datetime) -> None:
    sm = create_sessionmaker(engine)
    w = await make_world(sm, now, fmt=actions.ChatFormat(max_requests_per_talent=1))
    ctx = actions.Context(now=now)
    async with sm() as s, s.begin():
        chat = await actions.send_request(s, ctx, w.talents[0], w.event_id, recruiter_id=w.recruiters[0].id)
        await actions.cancel(s, ctx, w.organizer, chat.id, "Sent by mistake, says the talent")
    async with sm() as s:
        used = (await s.execute(select(Participant.requests_used).where(Participant.user_id == w.talents[0].id))).scalar_one()
    assert used == 0
    assert {m.to_email for m in await _mails(sm, "cancelled")} == {"rec0@example.test", "tal0@example.test"}
    async with sm() as s, s.begin():  # the talent can send a request again
        await actions.send_request(s, ctx, w.talents[0], w.event_id, recruiter_id=w.recruiters[0].id)


async def test_who_may_act_on_behalf(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    sm = create_sessionmaker(engine)
    w, chat_id, _first = await _confirmed(sm, clock.now, talents=2)
    # One of the two people: the organizer page is not theirs (they have their own buttons).
    await as_user(client, "tal0@example.test")
    assert (await client.get(f"/chats/{chat_id}/organize")).status_code == 403
    chat_page = await client.get(f"/chats/{chat_id}")
    assert "Organizer actions" not in chat_page.text
    r = await client.post(f"/chats/{chat_id}/organize/cancel", data={"csrf": csrf_of(chat_page.text), "reason": "x"})
    assert r.status_code == 403
    # Someone else at the event: not found, whatever the form.
    await as_user(client, "tal1@example.test")
    assert (await client.get(f"/chats/{chat_id}/organize")).status_code == 404
    home = await client.get(f"/events/{w.event_id}")
    assert (await client.post(f"/chats/{chat_id}/organize/cancel", data={"csrf": csrf_of(home.text), "reason": "x"})).status_code == 404
    async with sm() as s:
        chat = await s.get(ChatRequest, chat_id)
        assert chat is not None and chat.status == "confirmed"
    # Organizers through the API too (this used to be 403 not_a_party); the platform admin as well.
    org = await token(client, "org@example.test")
    r = await client.post(f"/api/v1/chat-requests/{chat_id}/reschedule", json={"reason": "Room trouble"}, headers=org)
    assert r.status_code == 200 and r.json()["status"] == "accepted"
    admin = await token(client, "admin@example.test")
    r = await client.post(f"/api/v1/chat-requests/{chat_id}/cancel", json={"reason": "Closing"}, headers=admin)
    assert r.status_code == 200 and r.json()["status"] == "cancelled"


async def test_refused_move_keeps_the_reason(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    sm = create_sessionmaker(engine)
    w, chat_id, first = await _confirmed(sm, clock.now, talents=2)
    await as_user(client, "org@example.test")
    page = await client.get(f"/chats/{chat_id}/organize")
    new = first + SLOT
    ctx = actions.Context(now=clock.now)
    async with sm() as s, s.begin():  # meanwhile another talent takes that slot
        other = await actions.send_request(s, ctx, w.talents[1], w.event_id, recruiter_id=w.recruiters[0].id)
        await actions.accept(s, ctx, w.recruiters[0], other.id)
        await actions.book(s, ctx, w.talents[1], other.id, new)
    r = await client.post(f"/chats/{chat_id}/organize/reschedule", data={"csrf": csrf_of(page.text), "start": new.isoformat(),
                                                                        "reason": "My carefully written reason"})
    assert r.status_code == 409 and "just taken" in r.text and "My carefully written reason" in r.text
    assert new.isoformat() not in r.text  # the taken slot is no longer offered
    # Releasing the slot instead: back to scheduling, both told.
    r = await client.post(f"/chats/{chat_id}/organize/reschedule", data={"csrf": csrf_of(r.text), "start": "release", "reason": "Later"},
                          follow_redirects=True)
    assert "The slot is released; both people were told" in r.text
    async with sm() as s:
        chat = await s.get(ChatRequest, chat_id)
        assert chat is not None and chat.status == "accepted" and chat.starts_at is None


async def test_organizer_chat_header_keeps_each_person_apart(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    """Finding 11: the organizer's view showed 'Acme Robotics · Talent · Backend developer' on one line."""
    sm = create_sessionmaker(engine)
    _w, chat_id, _first = await _confirmed(sm, clock.now)
    await as_user(client, "org@example.test")
    text = (await client.get(f"/chats/{chat_id}")).text
    assert "Acme Robotics · Talent" not in text
    talent_line = re.search(r'data-testid="talent-line">([^<]*)<', text)
    recruiter_line = re.search(r'data-testid="recruiter-line">([^<]*)<', text)
    assert talent_line and talent_line.group(1) == "Talent: Tom Talent 0 · Backend developer, Python"
    assert recruiter_line and recruiter_line.group(1) == "Recruiter: Rita Recruiter 0 · Acme Robotics"
    # The people themselves keep their one line about the other person.
    await as_user(client, "tal0@example.test")
    assert "Acme Robotics · Recruiter" in (await client.get(f"/chats/{chat_id}")).text


async def test_two_organizers_cancelling_at_once_cancel_once(engine: AsyncEngine, now: dt.datetime) -> None:
    """Two organizers (or two clicks) call off the same chat together: one wins, the other gets a conflict, mail goes once."""
    import asyncio

    import pytest

    from scheduling.errors import Conflict

    sm = create_sessionmaker(engine)
    w, chat_id, _first = await _confirmed(sm, now)

    async def cancel(who: User) -> str:
        try:
            async with sm() as s, s.begin():
                await actions.cancel(s, actions.Context(now=now), who, chat_id, "Closing early")
        except Conflict as err:
            return err.code
        return "ok"

    results = sorted(await asyncio.gather(cancel(w.organizer), cancel(w.admin)))
    assert results == ["illegal_transition", "ok"]
    assert len(await _mails(sm, "cancelled")) == 2
    async with sm() as s:
        counter = (await s.execute(select(Participant.chats_booked).where(Participant.user_id == w.talents[0].id))).scalar_one()
    assert counter == 0
    with pytest.raises(Conflict):
        async with sm() as s, s.begin():
            await actions.reschedule(s, actions.Context(now=now), w.organizer, chat_id, reason="Too late")


async def test_the_persons_own_copy_names_the_other_person(engine: AsyncEngine, now: dt.datetime) -> None:
    """The one who cancels or moves a chat got 'Cancelled: 1-1 chat with You'; their copy is about the other person now."""
    sm = create_sessionmaker(engine)
    w, chat_id, first = await _confirmed(sm, now)
    async with sm() as s, s.begin():
        await actions.reschedule(s, actions.Context(now=now), w.recruiters[0], chat_id, reason="Clash", start=first + SLOT)
    async with sm() as s, s.begin():
        await actions.cancel(s, actions.Context(now=now), w.talents[0], chat_id, reason="Got a job")
    moved = {m.to_email: m for m in await _mails(sm, "rescheduled")}
    assert moved["rec0@example.test"].subject.startswith("Rescheduled: 1-1 chat with Tom Talent 0, now ")
    assert "You moved your 1-1 chat with Tom Talent 0" in moved["rec0@example.test"].body_text
    assert moved["tal0@example.test"].subject.startswith("Rescheduled: 1-1 chat with Rita Recruiter 0, now ")
    assert "Rita Recruiter 0 rescheduled your 1-1 chat" in moved["tal0@example.test"].body_text
    gone = {m.to_email: m for m in await _mails(sm, "cancelled")}
    assert gone["tal0@example.test"].subject == "Cancelled: 1-1 chat with Rita Recruiter 0"
    assert "You cancelled your 1-1 chat (" in gone["tal0@example.test"].body_text and "with Rita Recruiter 0" in gone["tal0@example.test"].body_text
    assert gone["rec0@example.test"].subject == "Cancelled: 1-1 chat with Tom Talent 0"
    assert "Tom Talent 0 cancelled your 1-1 chat (" in gone["rec0@example.test"].body_text


async def test_no_organizer_actions_once_the_chat_has_started(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    """A chat under way can't be cancelled or moved any more, so the organizer's card doesn't offer it."""
    sm = create_sessionmaker(engine)
    _, chat_id, first = await _confirmed(sm, clock.now)
    await as_user(client, "org@example.test")
    assert "Organizer actions" in (await client.get(f"/chats/{chat_id}")).text
    clock.now = first + dt.timedelta(minutes=5)
    text = (await client.get(f"/chats/{chat_id}")).text
    assert "Organizer actions" not in text and "/organize#cancel" not in text


async def test_refused_move_names_both_people_and_marks_the_field(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    """Issue 9 round 2, item 10: an organizer has no "other person"; the message names both, and shows at the field it
    is about (aria-invalid, described by the message) as well as at the top; what was typed is kept."""
    sm = create_sessionmaker(engine)
    w, chat_id, first = await _confirmed(sm, clock.now)
    await as_user(client, "org@example.test")
    page = await client.get(f"/chats/{chat_id}/organize")
    new = (first + SLOT).isoformat()
    r = await client.post(f"/chats/{chat_id}/organize/reschedule", data={"csrf": csrf_of(page.text), "start": new, "reason": "  "})
    message = "Tell Tom Talent 0 and Rita Recruiter 0 why the chat moves: a reason is required."
    assert r.status_code == 422 and "other person" not in r.text
    assert f'<div class="flash error" role="alert" id="onbehalf-error">{message}</div>' in r.text
    assert f'<span class="field-error" id="reschedule-reason-error" data-testid="field-error">{message}</span>' in r.text
    reason = re.search(r'<textarea name="reason"[^>]*>', r.text)
    assert reason is not None and 'aria-invalid="true" aria-describedby="reschedule-reason-error" autofocus' in reason.group(0)
    assert f'<option value="{new}" selected>' in r.text  # the time chosen is kept
    assert r.text.count('aria-invalid="true"') == 1  # the cancel form's reason and the time are not marked
    # No time chosen: the time field is marked, not the reason.
    r = await client.post(f"/chats/{chat_id}/organize/reschedule", data={"csrf": csrf_of(page.text), "start": "", "reason": "Clash"})
    select_tag = re.search(r'<select name="start"[^>]*>', r.text)
    assert r.status_code == 422 and select_tag is not None and 'aria-describedby="reschedule-start-error"' in select_tag.group(0)
    assert r.text.count('aria-invalid="true"') == 1 and ">Clash</textarea>" in r.text
    # Cancel without a reason: the cancel form's reason is marked.
    r = await client.post(f"/chats/{chat_id}/organize/cancel", data={"csrf": csrf_of(page.text), "reason": ""})
    assert r.status_code == 422 and 'id="cancel-reason-error"' in r.text and 'aria-describedby="cancel-reason-error"' in r.text
    # The API names both people too (an organizer's move or cancel there goes through the same actions).
    org = await token(client, "org@example.test")
    r = await client.post(f"/api/v1/chat-requests/{chat_id}/reschedule", headers=org, json={"reason": " ", "start": new})
    assert r.status_code == 422 and r.json()["error"] == {"code": "reason_required", "message": message}
    r = await client.post(f"/api/v1/chat-requests/{chat_id}/cancel", headers=org, json={"reason": ""})
    assert r.json()["error"]["message"] == "Tell Tom Talent 0 and Rita Recruiter 0 why the chat is cancelled: a reason is required."
    # The people themselves still read "the other person".
    async with sm() as s, s.begin():
        with pytest.raises(Invalid) as err:
            await actions.reschedule(s, actions.Context(now=clock.now), w.talents[0], chat_id, reason=" ", start=first + SLOT)
    assert err.value.message == "Tell the other person why you reschedule: a reason is required."
    async with sm() as s:
        chat = await s.get(ChatRequest, chat_id)
        assert chat is not None and chat.status == "confirmed" and chat.starts_at == first


async def test_a_move_reads_as_one_line_in_the_history(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    """Issue 9 round 2, item 10: a move in one call is still two transitions (confirmed -> accepted -> confirmed), but the
    chat's history reads it as one line with both times in the reader's zone; a release stays its own line."""
    sm = create_sessionmaker(engine)
    w, chat_id, first = await _confirmed(sm, clock.now)
    await as_user(client, "org@example.test")
    page = await client.get(f"/chats/{chat_id}/organize")
    r = await client.post(f"/chats/{chat_id}/organize/reschedule", data={"csrf": csrf_of(page.text), "start": (first + SLOT).isoformat(),
                                                                        "reason": "The recruiter has a clash"})
    assert r.status_code == 303
    async with sm() as s:  # the state machine's two rows are still written
        rows = (await s.execute(select(ChatEvent.from_status, ChatEvent.to_status).where(ChatEvent.chat_request_id == chat_id)
                                .order_by(ChatEvent.id))).all()
    # (in one statement on PostgreSQL, whose ids may come in either order; the page reads them as one line either way)
    assert sorted(tuple(x) for x in rows[-2:]) == [("accepted", "confirmed"), ("confirmed", "accepted")]
    async with sm() as s, s.begin():
        organizer = await s.get(User, w.organizer.id)
        assert organizer is not None
        organizer.timezone = "Europe/Berlin"
    history = (await client.get(f"/chats/{chat_id}")).text.split("<h2>History</h2>")[1]
    # 01:00 UTC -> 01:30 UTC is 02:00 -> 02:30 in Berlin, the organizer's zone.
    assert "Olga Organizer moved the chat from Sat 21 Mar 2026, 02:00 to 02:30 CET: The recruiter has a clash</li>" in history
    assert "released the time" not in history and "reschedule:" not in history and history.count("confirmed a time") == 1
    # The talent in another zone reads the same line in theirs.
    await as_user(client, "tal0@example.test")  # signs in from New York
    history = (await client.get(f"/chats/{chat_id}")).text.split("<h2>History</h2>")[1]
    assert "Olga Organizer moved the chat from Fri 20 Mar 2026, 21:00 to 21:30 EDT: The recruiter has a clash</li>" in history
    # A release (no new time) is a line of its own, its reason without the "reschedule:" prefix.
    async with sm() as s, s.begin():
        await actions.reschedule(s, actions.Context(now=clock.now), w.talents[0], chat_id, reason="Exam that day")
    history = (await client.get(f"/chats/{chat_id}")).text.split("<h2>History</h2>")[1]
    assert "Tom Talent 0 released the time to reschedule — Exam that day</li>" in history and history.count("moved the chat") == 1
