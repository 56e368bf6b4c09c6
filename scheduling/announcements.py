"""Announcements: organizers write to everyone at an event or to one role; shown on the recipients' pages and emailed.

The mail goes through the outbox, one row per recipient, written in one statement in the same transaction as the
announcement, so either both exist or neither does. An event takes at most POSTS_PER_HOUR announcements an hour
(counted in the database, so it holds across app processes).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from scheduling import actions, outbox
from scheduling.errors import Invalid, NotFound, QuotaExceeded
from scheduling.models import Announcement, OutboxMessage, Participant, User

AUDIENCES = {"all": "Everyone", "talent": "Talents", "recruiter": "Recruiters", "organizer": "Organizers"}
TITLE_LIMIT = 200
BODY_LIMIT = 5000
POSTS_PER_HOUR = 10
SHOWN = 3  # the latest few shown on an event page


def _checked(audience: str, title: str, body: str) -> tuple[str, str, str]:
    if audience not in AUDIENCES:
        raise Invalid("Choose who the announcement is for: everyone, talents, recruiters or organizers.", code="invalid_audience")
    title = actions.one_line(title, "title", limit=TITLE_LIMIT)
    body = body.strip().replace("\r\n", "\n")
    if not body:
        raise Invalid("The message is required.", code="invalid_input")
    if len(body) > BODY_LIMIT:
        raise Invalid(f"The message is limited to {BODY_LIMIT} characters (it has {len(body)}).", code="too_long")
    return audience, title, body


def mail(*, to: str, event_name: str, title: str, body: str, url: str) -> outbox.Mail:
    text = f"Hello {to},\n\nThe organizers of {event_name} write:\n\n{title}\n\n{body}\n\nThe event: {url}"
    return outbox.Mail(f"{event_name}: {title}", text + f"\n\n-- \nFairmeet · {event_name}\n")


async def recipients(session: AsyncSession, event_id: int, audience: str) -> list[User]:
    stmt = select(User).join(Participant, Participant.user_id == User.id).where(Participant.event_id == event_id).order_by(User.id)
    if audience != "all":
        stmt = stmt.where(Participant.role == audience)
    return list((await session.execute(stmt)).scalars().all())


async def post(
    session: AsyncSession, ctx: actions.Context, actor: User, event_id: int, *, audience: str, title: str, body: str
) -> tuple[Announcement, int]:
    """Stores the announcement and emails its audience (the author excepted); returns it and how many were emailed."""
    event = await actions.get_event(session, event_id)
    await actions.require_organizer(session, event, actor)
    audience, title, body = _checked(audience, title, body)
    recent = (
        await session.execute(
            select(func.count()).select_from(Announcement)
            .where(Announcement.event_id == event.id, Announcement.created_at > ctx.now - dt.timedelta(hours=1))
        )
    ).scalar_one()
    if recent >= POSTS_PER_HOUR:
        raise QuotaExceeded(f"An event can send at most {POSTS_PER_HOUR} announcements an hour; wait a little and send it then.",
                            code="too_many_announcements")
    item = Announcement(event_id=event.id, audience=audience, title=title, body=body, author_id=actor.id, created_at=ctx.now)
    session.add(item)
    await session.flush()
    url = ctx.link(f"/events/{event.id}")
    rows = [
        outbox.row(person, "announcement", mail(to=person.name, event_name=event.name, title=title, body=body, url=url), now=ctx.now)
        for person in await recipients(session, event.id, audience) if person.id != actor.id
    ]
    if rows:
        await session.execute(insert(OutboxMessage), rows)
    return item, len(rows)


def audiences_for(role: str) -> tuple[str, ...]:
    """The audiences a viewer of `role` reads: everyone's and their role's; admins without a role read the organizers'."""
    return ("all", "organizer" if role == "admin" else role)


async def for_viewer(session: AsyncSession, event_id: int, role: str, *, limit: int = SHOWN) -> list[Announcement]:
    """The latest few announcements a viewer of `role` sees on the event's pages, newest first."""
    stmt = (
        select(Announcement)
        .where(Announcement.event_id == event_id, Announcement.audience.in_(audiences_for(role)))
        .order_by(Announcement.created_at.desc(), Announcement.id.desc())
        .limit(limit)
    )
    return list((await session.execute(stmt)).scalars().all())


async def listing(session: AsyncSession, actor: User, event_id: int) -> list[tuple[Announcement, str | None, int]]:
    """Every announcement of the event for its organizers, newest first, with the author's name and the audience's size now."""
    event = await actions.get_event(session, event_id)
    await actions.require_organizer(session, event, actor)
    rows = (
        await session.execute(
            select(Announcement, User.name)
            .outerjoin(User, User.id == Announcement.author_id)
            .where(Announcement.event_id == event.id)
            .order_by(Announcement.created_at.desc(), Announcement.id.desc())
        )
    ).all()
    sizes = dict(
        (await session.execute(
            select(Participant.role, func.count()).where(Participant.event_id == event.id).group_by(Participant.role)
        )).all()
    )
    total = sum(sizes.values())
    return [(a, name, total if a.audience == "all" else sizes.get(a.audience, 0)) for a, name in rows]


async def remove(session: AsyncSession, actor: User, event_id: int, announcement_id: int) -> Announcement:
    """Deletes an announcement from the pages (mail already sent stays sent)."""
    event = await actions.get_event(session, event_id)
    await actions.require_organizer(session, event, actor)
    item = await session.get(Announcement, announcement_id)
    if item is None or item.event_id != event.id:
        raise NotFound("No such announcement.", code="announcement_not_found")
    await session.execute(delete(Announcement).where(Announcement.id == item.id))
    return item

