"""Confirmed chats to hold video rooms in, seeded through the product's own actions (tests and benchmarks)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from scheduling import actions
from scheduling.db import create_engine, create_sessionmaker
from tests.factories import PASSWORD, make_world

# The seeding clock, and the start of every seeded chat: the event starts the next day at 00:00 UTC and
# recruiters are available from 01:00 to 05:00.
SEED_NOW = dt.datetime(2026, 3, 20, 8, 0, tzinfo=dt.UTC)
CHAT_START = dt.datetime(2026, 3, 21, 1, 0, tzinfo=dt.UTC)
IN_ROOM_HOURS = CHAT_START - dt.timedelta(minutes=2)  # the room opens 5 minutes before the start
SECRET = "media-test-secret"


@dataclass(frozen=True)
class Turn:
    url: str
    secret: str


@dataclass(frozen=True)
class Room:
    chat_id: int
    talent: str  # email
    recruiter: str  # email
    talent_id: int
    recruiter_id: int


@dataclass(frozen=True)
class Person:
    email: str
    id: int


@dataclass(frozen=True)
class Seeded:
    event_id: int
    rooms: list[Room]
    strangers: list[Person]  # talents of the event with no chat
    organizer: str
    password: str = PASSWORD


async def seed_rooms(database_url: str, count: int = 1, *, strangers: int = 1) -> Seeded:
    """`count` confirmed chats (talent i with recruiter i, all at CHAT_START) plus talents without a chat."""
    engine = create_engine(database_url)
    try:
        sm = create_sessionmaker(engine)
        world = await make_world(sm, SEED_NOW, recruiters=count, talents=count + strangers)
        ctx = actions.Context(now=SEED_NOW)
        rooms = []
        async with sm() as s, s.begin():
            for talent, recruiter in zip(world.talents, world.recruiters, strict=False):
                chat = await actions.send_request(s, ctx, talent, world.event_id, recruiter_id=recruiter.id)
                await actions.accept(s, ctx, recruiter, chat.id)
                await actions.book(s, ctx, talent, chat.id, CHAT_START)
                rooms.append(Room(chat.id, talent.email, recruiter.email, talent.id, recruiter.id))
        return Seeded(world.event_id, rooms, [Person(t.email, t.id) for t in world.talents[count:]], world.organizer.email)
    finally:
        await engine.dispose()
