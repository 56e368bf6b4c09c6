"""The booking hot path's SQL: one locked read of everything book/reschedule/cancel check, and one write.

`actions.book`, `actions.reschedule` and `actions.cancel` are the entry points; this module holds the
statements and the plain values they read, so actions.py keeps the rules and this file the SQL.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from sqlalchemy import BigInteger, Integer, Select, Update, bindparam, case, delete, func, insert, literal, select, union_all, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from scheduling import slots, timefmt
from scheduling.errors import Forbidden, Invalid, NotFound, QuotaExceeded, SlotTaken
from scheduling.models import (
    Availability,
    BusyBlock,
    ChatEvent,
    ChatRequest,
    Event,
    OutboxMessage,
    Participant,
    Role,
    User,
)

#
# The hot path. Each action reads what it needs in one statement (the chat row, locked, with its
# event, both people, the recruiter's availability and whether the wanted slot is already
# taken), checks everything in Python, builds the mail and invite texts, and only then takes the
# contended locks and writes: the talent's participant row (the quota update locks it), then
# the busy blocks, the chat row, its history and the outbox, in one statement on PostgreSQL.
# A loser whose slot was already taken when it looked is done after that first statement.


@dataclass
class Writes:
    """What one action writes besides the talent's counters, sent to the database together."""

    chat: dict[str, Any] = field(default_factory=dict)  # changed chat_requests columns
    history: list[dict[str, Any]] = field(default_factory=list)  # chat_events rows (from _record)
    outbox: list[dict[str, Any]] = field(default_factory=list)  # outbox rows
    blocks: list[dict[str, Any]] = field(default_factory=list)  # busy_blocks rows to insert, sorted by (user, block)
    release: bool = False  # delete the chat's busy blocks first
    talent: TalentCount | None = None  # the talent's confirmed-chat count to change first (and lock)


@dataclass(frozen=True)
class TalentCount:
    """A change of the talent's chats_booked: see lock_talent."""

    event_id: int
    talent_id: int
    delta: int
    cap: int | None = None


def set_column(chat: ChatRequest, writes: Writes | None, key: str, value: Any) -> None:
    """Changes a chat column: through the ORM (flushed at commit), or into `writes` for one Core UPDATE.

    In the second case the loaded object takes the value as already stored, so the ORM issues
    no UPDATE of its own; a rollback expires the object anyway.
    """
    if writes is None:
        setattr(chat, key, value)
    else:
        set_committed_value(chat, key, value)
        writes.chat[key] = value


@dataclass(frozen=True, slots=True)
class _Person:
    id: int
    name: str
    email: str
    timezone: str | None


@dataclass(frozen=True, slots=True)
class _EventInfo:
    id: int
    name: str
    timezone: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    slot_minutes: int
    buffer_minutes: int
    max_chats_per_talent: int | None


@dataclass
class Locked:
    """A chat locked for a booking action, with everything the action reads, as plain values.

    Plain rows rather than ORM objects: most booking attempts in a rush are losers that only
    read this and answer 409, and loading four ORM objects cost more than the statement.
    `chat` becomes the session's ORM object (attach) once the action is going to change it.
    """

    values: dict[str, Any]  # the chat_requests row
    event: _EventInfo
    talent: _Person
    recruiter: _Person
    windows: list[tuple[dt.datetime, dt.datetime]]
    talent_busy: bool  # the wanted slot's blocks are taken by another chat of the talent...
    recruiter_busy: bool  # ...or of the recruiter (committed ones; the unique index settles the rest)
    chat: ChatRequest | None = None


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)  # block numbers count 5-minute blocks from here, as in slots.blocks
_BLOCK = dt.timedelta(minutes=slots.BLOCK_MINUTES)
_TALENT = aliased(User, name="talent_user")
_RECRUITER = aliased(User, name="recruiter_user")
_RECRUITER_MEMBER = aliased(Participant, name="recruiter_member")
_CHAT_COLS = tuple(ChatRequest.__table__.c.keys())
_EVENT_COLS = tuple(f.name for f in fields(_EventInfo))
_PERSON_COLS = tuple(f.name for f in fields(_Person))


def _first_block(start: dt.datetime) -> int | None:
    """The 5-minute block a wanted start falls in; None for values the action will refuse anyway."""
    try:
        start = timefmt.checked_instant(start)
    except Invalid:
        return None
    block, rest = divmod(start - _EPOCH, _BLOCK)
    return None if rest else block


def _busy_flag(user_id: Any) -> Any:
    """EXISTS: the person has a busy block of another chat inside the wanted slot (from block :first on)."""
    first = bindparam("first", type_=BigInteger)
    return (
        select(BusyBlock.id)
        .where(
            BusyBlock.user_id == user_id,
            BusyBlock.block >= first,
            BusyBlock.block < first + Event.slot_minutes // slots.BLOCK_MINUTES,
            BusyBlock.chat_request_id != ChatRequest.id,
        )
        .exists()
    )


@functools.cache
def _lock_chat_stmt(*, windows: bool, busy: bool) -> Select[Any]:
    """Built once per variant: a statement object reused keeps SQLAlchemy's cache key and compiled form.

    Columns, in order: the chat row, the event, the talent, the recruiter, [2 busy flags], [window start, end].
    """
    columns: list[Any] = [ChatRequest.__table__.c[c] for c in _CHAT_COLS]
    columns += [Event.__table__.c[c] for c in _EVENT_COLS]
    columns += [getattr(_TALENT, c) for c in _PERSON_COLS] + [getattr(_RECRUITER, c) for c in _PERSON_COLS]
    if busy:
        columns += [_busy_flag(ChatRequest.talent_id), _busy_flag(ChatRequest.recruiter_id)]
    if windows:
        columns += [Availability.starts_at, Availability.ends_at]
    stmt = (
        select(*columns)
        .join(Event, Event.id == ChatRequest.event_id)
        .join(_TALENT, _TALENT.id == ChatRequest.talent_id)
        .join(_RECRUITER, _RECRUITER.id == ChatRequest.recruiter_id)
        .where(ChatRequest.id == bindparam("chat_id"))
        .with_for_update(of=ChatRequest)
    )
    if windows:
        stmt = stmt.outerjoin(
            _RECRUITER_MEMBER, (_RECRUITER_MEMBER.event_id == ChatRequest.event_id) & (_RECRUITER_MEMBER.user_id == ChatRequest.recruiter_id)
        ).outerjoin(Availability, Availability.participant_id == _RECRUITER_MEMBER.id)
    return stmt


async def lock_chat(
    session: AsyncSession, chat_id: int, actor: User, *, start: dt.datetime | None = None, organizers: bool = False
) -> Locked:
    """Locks the chat row (FOR UPDATE, first in the lock order) and reads the rest in the same statement.

    With a wanted `start` it also reads the recruiter's availability (one row per window) and
    whether either person already has a committed busy block in that slot. Same answers as
    load_chat + _require_party: strangers get 404, organizers and admins who aren't one of
    the two people get 403, unless `organizers` lets them act on the people's behalf (cancel, reschedule).
    """
    first = _first_block(start) if start is not None else None
    stmt = _lock_chat_stmt(windows=start is not None, busy=first is not None)
    if session.new or session.dirty or session.deleted:
        await session.flush()  # what the session holds goes first, as an ORM query would autoflush it
    conn = await session.connection()
    rows = (await conn.execute(stmt, {"chat_id": chat_id, "first": first} if first is not None else {"chat_id": chat_id})).all()
    if not rows:
        raise NotFound("No such chat request.", code="chat_not_found")
    row = rows[0]
    n_chat, n_event, n_person = len(_CHAT_COLS), len(_EVENT_COLS), len(_PERSON_COLS)
    values = dict(zip(_CHAT_COLS, row[:n_chat], strict=True))
    at = n_chat
    event = _EventInfo(*row[at:at + n_event])
    at += n_event
    talent = _Person(*row[at:at + n_person])
    recruiter = _Person(*row[at + n_person:at + 2 * n_person])
    at += 2 * n_person
    if actor.id not in (talent.id, recruiter.id):
        from scheduling.actions import participation  # noqa: PLC0415 -- actions imports this module as it loads

        member = None if actor.is_admin else await participation(session, event.id, actor.id)
        if not (actor.is_admin or (member is not None and member.role == Role.ORGANIZER.value)):
            raise NotFound("No such chat request.", code="chat_not_found")
        if not organizers:
            raise Forbidden("Only the two people of this chat can do that.", code="not_a_party")
    busy = (bool(row[at]), bool(row[at + 1])) if first is not None else (False, False)
    windows = [(r[-2], r[-1]) for r in rows if r[-2] is not None] if start is not None else []
    return Locked(values, event, talent, recruiter, windows, *busy)


def attach(session: AsyncSession, locked: Locked) -> ChatRequest:
    """The session's ORM object for the locked chat, holding the values just read, without another query."""
    if locked.chat is not None:
        return locked.chat
    chat = session.identity_map.get(identity_key(ChatRequest, locked.values["id"]))
    if isinstance(chat, ChatRequest):
        for key, value in locked.values.items():  # the locked row is the truth; an earlier read may be stale
            set_committed_value(chat, key, value)
    else:
        chat = ChatRequest(**locked.values)
        make_transient_to_detached(chat)  # as if loaded: no pending changes, nothing to INSERT
        session.add(chat)
    locked.chat = chat
    return chat


def _grid_slot(
    windows: Sequence[tuple[dt.datetime, dt.datetime]], start: dt.datetime, slot_minutes: int, buffer_minutes: int,
    *, not_before: dt.datetime, not_after: dt.datetime,
) -> slots.Slot | None:
    """The slot of slots.grid(windows, ...) that starts at `start`, if there is one, without laying out the grid."""
    length = dt.timedelta(minutes=slot_minutes)
    step = dt.timedelta(minutes=slot_minutes + buffer_minutes)
    end = start + length
    if start < not_before or end > not_after:
        return None
    for w_start, w_end in windows:
        if w_start <= start and end <= w_end and (start - w_start) % step == dt.timedelta(0):
            return slots.Slot(start, end)
    return None


def pick_slot(locked: Locked, start: dt.datetime, now: dt.datetime) -> slots.Slot:
    """Checks `start` is one of the recruiter's slots, in the future and free for both (as far as committed)."""
    start = timefmt.checked_instant(start, "start")
    event = locked.event
    slot = _grid_slot(locked.windows, start, event.slot_minutes, event.buffer_minutes, not_before=event.starts_at, not_after=event.ends_at)
    if slot is None:
        raise Invalid("That time is not one of the recruiter's slots.", code="not_a_slot")
    if slot.start <= now:
        raise Invalid("That slot has already started; pick a later one.", code="slot_in_past")
    if locked.talent_busy and not locked.recruiter_busy:
        raise SlotTaken("You already have a chat at that time; pick another slot.", code="talent_busy")
    if locked.talent_busy or locked.recruiter_busy:
        raise SlotTaken("That slot was just taken; please pick another.")
    return slot


def block_rows(chat: ChatRequest, slot: slots.Slot) -> list[dict[str, Any]]:
    """The slot's busy blocks for both people, sorted by (user, block): the lock order for blocks."""
    blocks = slots.blocks(slot.start, slot.end)
    return [{"user_id": uid, "block": b, "chat_request_id": chat.id} for uid in sorted((chat.talent_id, chat.recruiter_id)) for b in blocks]


@functools.cache
def _talent_stmt(delta: int, capped: bool) -> Update:
    n = Participant.chats_booked
    given_back = case((n > 0, n - 1), else_=0)
    stmt = update(Participant).where(Participant.event_id == bindparam("p_event"), Participant.user_id == bindparam("p_talent"))
    if delta < 0:
        return stmt.values(chats_booked=given_back)
    base = n if delta > 0 else given_back
    stmt = stmt.values(chats_booked=base + 1)
    return stmt.where(base < bindparam("p_cap")) if capped else stmt


async def lock_talent(session: AsyncSession, event_id: int, talent_id: int, delta: int, *, cap: int | None = None) -> bool:
    """Locks the talent's participant row, second in the lock order, by updating their confirmed-chat count.

    delta +1 takes a confirmed chat (refused at `cap`: False), -1 gives one back, 0 does both
    (a move to a new time: the count stays, but a cap lowered meanwhile still refuses it).
    The UPDATE matches the row unless the cap refuses, so it takes the row lock whenever the
    action goes on to touch busy blocks.
    """
    capped = cap is not None and delta >= 0
    conn = await session.connection()
    result = await conn.execute(_talent_stmt(delta, capped), {"p_event": event_id, "p_talent": talent_id, "p_cap": cap})
    return result.rowcount == 1


_HISTORY_COLS = ("chat_request_id", "actor_id", "from_status", "to_status", "note", "created_at")
_OUTBOX_COLS = (
    "to_email", "to_name", "subject", "body_text", "ical", "ical_method", "kind", "status", "attempts", "last_error", "created_at",
    "next_attempt_at", "channel", "to_phone",
)


@functools.cache
def write_parts(chat_cols: tuple[str, ...], n_history: int, n_outbox: int, release: bool) -> tuple[Any, ...]:
    """The single-row statements of one Writes shape, with named parameters (see _write_params)."""
    parts: list[Any] = []
    if release:
        parts.append(delete(BusyBlock).where(BusyBlock.chat_request_id == bindparam("chat_id")))
    if chat_cols:
        parts.append(update(ChatRequest).where(ChatRequest.id == bindparam("chat_id")).values({c: bindparam(f"c_{c}") for c in chat_cols}))
    parts += [insert(ChatEvent).values({c: bindparam(f"h{i}_{c}") for c in _HISTORY_COLS}) for i in range(n_history)]
    parts += [insert(OutboxMessage).values({c: bindparam(f"m{i}_{c}") for c in _OUTBOX_COLS}) for i in range(n_outbox)]
    return tuple(parts)


@functools.cache
def _pg_write_stmt(
    chat_cols: tuple[str, ...], n_history: int, n_outbox: int, release: bool, blocks: bool, talent: tuple[int, bool] | None,
) -> Any:
    """All of one action's writes as one PostgreSQL statement, data-modifying CTEs around the busy blocks.

    With `talent` (delta, capped) the statement starts with the talent's counter UPDATE (the
    quota CTE) and the busy blocks are inserted FROM it (or deleted only if it EXISTS): no
    block is touched before that row is locked, so the lock order holds inside the one
    statement, and a refused quota inserts no block. The other CTEs touch only the chat row
    (locked already) and new history and outbox rows. The blocks come from two arrays (unnest
    keeps their order, sorted by user then block), so the statement is the same whatever the
    slot length and SQLAlchemy compiles it once. Rows back: (0, quota rows), (1, user id of
    each block inserted).
    """
    parts = list(write_parts(chat_cols, n_history, n_outbox, release))
    quota = _talent_stmt(*talent).returning(Participant.id).cte("quota") if talent is not None else None
    if release and quota is not None:
        parts[0] = parts[0].where(select(quota.c.id).exists())
    ctes = [part.cte(f"w{i}") for i, part in enumerate(parts)]
    results: list[Any] = []
    if quota is not None:
        results.append(select(literal(0), func.count()).select_from(quota))
    if blocks:
        rows = select(
            func.unnest(bindparam("block_users", type_=postgresql.ARRAY(Integer))),
            func.unnest(bindparam("block_numbers", type_=postgresql.ARRAY(BigInteger))),
            bindparam("chat_id", type_=Integer),
        )
        if quota is not None:
            rows = rows.select_from(quota)
        new = (
            pg_insert(BusyBlock).from_select(["user_id", "block", "chat_request_id"], rows)
            .on_conflict_do_nothing().returning(BusyBlock.user_id).cte("new_blocks")
        )
        results.append(select(literal(1), new.c.user_id))
    if not results:
        *rest, last = parts
        return last.add_cte(*ctes[: len(rest)])
    main: Any = results[0] if len(results) == 1 else union_all(*results)
    return main.add_cte(*ctes)


def _write_params(chat: ChatRequest, writes: Writes) -> dict[str, Any]:
    params: dict[str, Any] = {"chat_id": chat.id}
    params.update({f"c_{c}": v for c, v in writes.chat.items()})
    for i, row in enumerate(writes.history):
        params.update({f"h{i}_{c}": row[c] for c in _HISTORY_COLS})
    for i, row in enumerate(writes.outbox):
        params.update({f"m{i}_{c}": row[c] for c in _OUTBOX_COLS})
    if writes.blocks:
        params["block_users"] = [r["user_id"] for r in writes.blocks]
        params["block_numbers"] = [r["block"] for r in writes.blocks]
    if writes.talent is not None:
        params.update({"p_event": writes.talent.event_id, "p_talent": writes.talent.talent_id, "p_cap": writes.talent.cap})
    return params


async def write(session: AsyncSession, chat: ChatRequest, writes: Writes) -> None:
    """Sends `writes`: one statement on PostgreSQL (data-modifying WITH), one per row on SQLite.

    The talent's counter first (QuotaExceeded when the cap refuses), then the busy blocks with
    ON CONFLICT DO NOTHING: a block that didn't go in was taken by another chat (possibly one
    committing just now: the insert waited for it), and the action fails with 409, rolling
    back everything it wrote.
    """
    conn = await session.connection()
    shape = (tuple(writes.chat), len(writes.history), len(writes.outbox), writes.release)
    talent = writes.talent
    params = _write_params(chat, writes)
    inserted: list[int] = []
    quota_ok = True
    if conn.dialect.name == "postgresql":
        assert not (writes.release and writes.blocks), "a release and new blocks of the same chat need two statements"
        capped = talent is not None and talent.cap is not None and talent.delta >= 0
        stmt = _pg_write_stmt(*shape, bool(writes.blocks), (talent.delta, capped) if talent is not None else None)
        result = await conn.execute(stmt, params)
        if talent is not None or writes.blocks:
            for kind, value in result.all():
                if kind == 0:
                    quota_ok = value == 1
                else:
                    inserted.append(value)
    else:
        if talent is not None:
            quota_ok = await lock_talent(session, talent.event_id, talent.talent_id, talent.delta, cap=talent.cap)
        parts = write_parts(*shape)
        if quota_ok and writes.release:
            await conn.execute(parts[0], params)
        for row in writes.blocks if quota_ok else []:
            new = await conn.execute(sqlite_insert(BusyBlock).values(row).on_conflict_do_nothing().returning(BusyBlock.user_id))
            inserted += new.scalars()
        for part in parts[1 if writes.release else 0:] if quota_ok else []:
            await conn.execute(part, params)
    if not quota_ok:
        assert talent is not None and talent.delta >= 0, "the talent's participant row exists (a give-back always matches it)"
        raise QuotaExceeded("The talent has reached the most confirmed chats allowed in this event.")
    if len(inserted) != len(writes.blocks):
        talent_lost = inserted.count(chat.talent_id) != sum(1 for r in writes.blocks if r["user_id"] == chat.talent_id)
        recruiter_lost = inserted.count(chat.recruiter_id) != sum(1 for r in writes.blocks if r["user_id"] == chat.recruiter_id)
        if talent_lost and not recruiter_lost:
            raise SlotTaken("You already have a chat at that time; pick another slot.", code="talent_busy")
        raise SlotTaken("That slot was just taken; please pick another.")


