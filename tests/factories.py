"""Builders for test data, going through the same actions the product uses."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scheduling import accounts, actions
from scheduling.models import User

PASSWORD = "correct horse battery"


@dataclass
class World:
    event_id: int
    admin: User
    organizer: User
    company_id: int
    recruiters: list[User] = field(default_factory=list)
    talents: list[User] = field(default_factory=list)


async def make_world(
    sm: async_sessionmaker[AsyncSession],
    now: dt.datetime,
    *,
    recruiters: int = 1,
    talents: int = 1,
    fmt: actions.ChatFormat | None = None,
    timezone: str = "Europe/Berlin",
    starts_at: dt.datetime | None = None,
    days: int = 2,
    window: tuple[dt.timedelta, dt.timedelta] | None = (dt.timedelta(hours=1), dt.timedelta(hours=5)),
    booking_mode: str = "selective",
    question: str = "",
) -> World:
    """An event starting a day after `now`, a company, recruiters with one availability window, talents."""
    ctx = actions.Context(now=now)
    start = starts_at or (now + dt.timedelta(days=1)).replace(hour=0, minute=0)
    async with sm() as s, s.begin():
        admin = await accounts.create_user(s, email="admin@example.test", name="Ada Admin", password=PASSWORD, now=now, is_admin=True)
        event = await actions.create_event(
            s, ctx, admin, name="Spring Hiring Days", timezone=timezone, starts_at=start,
            ends_at=start + dt.timedelta(days=days), fmt=fmt or actions.ChatFormat(),
        )
        organizer = await accounts.create_user(s, email="org@example.test", name="Olga Organizer", password=PASSWORD, now=now)
        await actions.add_participant(s, ctx, admin, event.id, email=organizer.email, name=organizer.name, role="organizer", password=PASSWORD)
        company = await actions.add_company(s, admin, event.id, name="Acme Robotics", description="We build robots.", website="https://acme.example")
        world = World(event_id=event.id, admin=admin, organizer=organizer, company_id=company.id)
        for i in range(recruiters):
            m = await actions.add_participant(
                s, ctx, organizer, event.id, email=f"rec{i}@example.test", name=f"Rita Recruiter {i}", role="recruiter",
                company_id=company.id, password=PASSWORD,
            )
            user = await s.get(User, m.user_id)
            assert user is not None
            world.recruiters.append(user)
            await actions.set_recruiter_profile(
                s, user, event.id, user.id, booking_mode=booking_mode, custom_question=question, ideal_candidate="Engineers",
                availability=[actions.Window(start + window[0], start + window[1])] if window else None,
            )
        for i in range(talents):
            m = await actions.add_participant(
                s, ctx, organizer, event.id, email=f"tal{i}@example.test", name=f"Tom Talent {i}", role="talent", password=PASSWORD
            )
            user = await s.get(User, m.user_id)
            assert user is not None
            world.talents.append(user)
    return world
