"""The recruiter list, as JSON and as a page: the card schema, what the page shows, statements per request."""

from __future__ import annotations

import random
from typing import Any

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from scheduling import actions
from scheduling.db import create_sessionmaker
from scheduling.models import Company, Participant
from tests.factories import make_world
from tests.scheduling.test_recruiter_cards import StatementCounter, add_chats, add_recruiters
from tests.web.conftest import FakeClock, token
from tests.web.test_pages import sign_in
from web import schemas as sc
from web.app import create_app
from web.settings import Settings


async def test_json_cards_are_exactly_the_schema_and_the_page_shows_them(
    client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock
) -> None:
    sm = create_sessionmaker(engine)
    w = await make_world(sm, clock.now, recruiters=3, talents=1)
    rec0, rec1, rec2 = w.recruiters
    async with sm() as s, s.begin():
        chat = await actions.send_request(s, actions.Context(now=clock.now), w.talents[0], w.event_id, recruiter_id=rec0.id)
        await s.execute(update(Participant).where(Participant.user_id == rec1.id).values(company_id=None))  # company deleted
        await s.execute(update(Company).where(Company.id == w.company_id).values(logo_url="https://acme.example/logo.png"))

    r = await client.get(f"/api/v1/events/{w.event_id}/recruiters", headers=await token(client, "tal0@example.test"))
    assert r.status_code == 200
    body: list[dict[str, Any]] = r.json()
    assert body == [sc.RecruiterOut.model_validate(card).model_dump(mode="json") for card in body]
    assert all(set(card) == set(sc.RecruiterOut.model_fields) for card in body)
    by_id = {card["user_id"]: card for card in body}
    assert by_id[rec0.id]["requests_received"] == 1 and by_id[rec2.id]["requests_received"] == 0
    assert by_id[rec0.id]["company"] == {"id": w.company_id, "name": "Acme Robotics"} and by_id[rec1.id]["company"] is None
    assert {card["open_slots"] for card in body} == {8}  # 01:00-05:00 on the first day, 30-minute slots
    assert by_id[rec0.id]["ideal_candidate"] == "Engineers" and by_id[rec0.id]["booking_mode"] == "selective"

    await sign_in(client, "tal0@example.test")
    page = await client.get(f"/events/{w.event_id}/recruiters")
    assert page.status_code == 200
    html = page.text
    for rec in w.recruiters:
        assert f'data-recruiter-id="{rec.id}"' in html and rec.name in html
    assert f'href="/chats/{chat.id}">View your request' in html
    assert f'href="/events/{w.event_id}/request/{rec2.id}">Request' in html
    assert html.count('src="https://acme.example/logo.png"') == 2  # rec1 has no company: a letter instead
    assert html.count('<strong data-testid="open-slots">8</strong> open slots') == 3
    assert html.count("Would like to talk to:</span> Engineers") == 3


async def test_statements_per_request_do_not_grow_with_the_recruiters(db_url: str, engine: AsyncEngine, clock: FakeClock) -> None:
    sm = create_sessionmaker(engine)
    w = await make_world(sm, clock.now, recruiters=3, talents=2, fmt=actions.ChatFormat(requests_by="both"))
    rng = random.Random(5)
    await add_chats(sm, clock.now, w, rng)
    app = create_app(Settings(database_url=db_url, secret_key="test-secret", base_url="http://testserver"), clock=clock, background=False)
    async with app.router.lifespan_context(app):
        counter = StatementCounter(app.state.res.sessionmaker.kw["bind"])
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
            headers = await token(c, "tal0@example.test")

            async def statements(path: str) -> tuple[int, int]:
                counter.statements.clear()
                r = await c.get(path, headers=headers)
                assert r.status_code == 200, r.text
                return len(r.json()), len(counter.statements)

            path = f"/api/v1/events/{w.event_id}/recruiters"
            cards_small, small = await statements(path)
            await add_recruiters(sm, clock.now, w, 3, 30)
            await add_chats(sm, clock.now, w, rng)
            cards_large, large = await statements(path)
            assert (cards_small, cards_large) == (3, 30)
            assert small == large
            assert (await statements(f"{path}?company_id={w.company_id}"))[1] == small
