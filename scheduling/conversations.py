"""Conversation logs: store first, number without gaps, and replay what a client missed.

`store` writes a batch of appends, from any number of conversations, in the caller's transaction
with a handful of Core statements whatever the batch size (the group commit of `logwriter`);
`append` is the same for one entry.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from scheduling.errors import Invalid
from scheduling.models import Conversation, ConversationEvent

MAX_MESSAGE = 4000
REPLAY_LIMIT = 1000

_conv: Table = Conversation.__table__  # type: ignore[assignment]
_events: Table = ConversationEvent.__table__  # type: ignore[assignment]
_SET_LAST_SEQ = update(_conv).where(_conv.c.id == bindparam("cid")).values(last_seq=bindparam("seq"))


@dataclass(frozen=True, slots=True)
class Entry:
    seq: int
    kind: str
    author_id: int | None
    client_id: str | None
    body: dict[str, Any]
    at: dt.datetime


@dataclass(frozen=True, slots=True)
class Append:
    """One entry to store. `unless_rejoined=(conn, join_seq)` stores a presence 'left' only if the
    connection's join at `join_seq` is still its latest presence entry (it has not come back)."""

    key: str
    kind: str
    author_id: int | None
    body: dict[str, Any]
    now: dt.datetime
    client_id: str | None = None
    unless_rejoined: tuple[str, int] | None = None


# (entry, created); created is False for a retried client_id; None when `unless_rejoined` skipped it.
Stored = tuple[Entry, bool] | None


def dumps(body: dict[str, Any]) -> str:
    return orjson.dumps(body).decode()


def _entry(seq: int, kind: str, author_id: int | None, client_id: str | None, body: str, at: dt.datetime) -> Entry:
    return Entry(seq, kind, author_id, client_id, orjson.loads(body), at)


async def conversation_ids(conn: AsyncConnection, keys: Iterable[str], *, now: dt.datetime) -> dict[str, int]:
    """The ids of the conversations named `keys`, creating those that don't exist yet (a race creates each once)."""
    wanted = sorted(set(keys))
    found: dict[str, int] = dict((await conn.execute(select(_conv.c.key, _conv.c.id).where(_conv.c.key.in_(wanted)))).all())
    missing = [k for k in wanted if k not in found]
    if missing:
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        await conn.execute(
            dialect.insert(_conv).values([{"key": k, "last_seq": 0, "created_at": now} for k in missing]).on_conflict_do_nothing(index_elements=["key"])
        )
        found.update((await conn.execute(select(_conv.c.key, _conv.c.id).where(_conv.c.key.in_(missing)))).all())
    return found


async def store(conn: AsyncConnection, appends: Sequence[Append], *, ids: dict[str, int] | None = None, check_retries: bool = True) -> list[Stored]:
    """Numbers and inserts `appends` (in order) inside the caller's transaction; one result per append.

    The conversations' counter rows are locked in id order first (every writer on every node takes
    them in the same order, so writers wait for each other but never deadlock); the retry check and
    the numbering then see every earlier append. With `check_retries=False` the retry lookup is
    skipped and a retried client_id surfaces as an IntegrityError instead (the caller rolls back and
    stores again with the check): one round trip less on the common path.
    """
    if not appends:
        return []
    known = ids if ids is not None else {}
    if any(a.key not in known for a in appends):
        known = {**known, **await conversation_ids(conn, (a.key for a in appends if a.key not in known), now=appends[0].now)}
    conv_of = [known[a.key] for a in appends]
    locked = sorted(set(conv_of))
    last: dict[int, int] = dict(
        (await conn.execute(select(_conv.c.id, _conv.c.last_seq).where(_conv.c.id.in_(locked)).order_by(_conv.c.id).with_for_update())).all()
    )

    earlier: dict[tuple[int, int | None, str], Entry] = {}
    if check_retries:
        client_ids = {a.client_id for a in appends if a.client_id is not None}
        if client_ids:
            rows = await conn.execute(
                select(_events.c.conversation_id, _events.c.seq, _events.c.kind, _events.c.author_id, _events.c.client_id,
                       _events.c.body, _events.c.created_at)
                .where(_events.c.conversation_id.in_(locked), _events.c.client_id.in_(sorted(client_ids)))
            )
            for cid, seq, kind, author, client, body, at in rows:
                earlier[(cid, author, client)] = _entry(seq, kind, author, client, body, at)

    comebacks: dict[int, list[tuple[int, str]]] = {}  # conversation -> (seq, conn) of presence entries after a guard's join
    guarded = [(c, a.unless_rejoined[1]) for c, a in zip(conv_of, appends, strict=True) if a.unless_rejoined is not None]
    for cid, after in guarded:
        later = await conn.execute(
            select(_events.c.seq, _events.c.body).where(_events.c.conversation_id == cid, _events.c.kind == "presence", _events.c.seq > after)
        )
        comebacks.setdefault(cid, []).extend((seq, str(orjson.loads(body).get("conn", ""))) for seq, body in later)

    results: list[Stored] = []
    rows_out: list[dict[str, Any]] = []
    for cid, a in zip(conv_of, appends, strict=True):
        if a.client_id is not None:
            before = earlier.get((cid, a.author_id, a.client_id))
            if before is not None:
                results.append((before, False))
                continue
        if a.unless_rejoined is not None:
            conn_id, join_seq = a.unless_rejoined
            if any(seq > join_seq and c == conn_id for seq, c in comebacks.get(cid, ())):
                results.append(None)
                continue
        last[cid] += 1
        entry = Entry(last[cid], a.kind, a.author_id, a.client_id, a.body, a.now)
        if a.client_id is not None:
            earlier[(cid, a.author_id, a.client_id)] = entry
        if a.kind == "presence":
            comebacks.setdefault(cid, []).append((entry.seq, str(a.body.get("conn", ""))))
        rows_out.append({"conversation_id": cid, "seq": entry.seq, "kind": a.kind, "author_id": a.author_id, "client_id": a.client_id,
                         "body": dumps(a.body), "created_at": a.now})
        results.append((entry, True))
    if rows_out:
        changed = sorted({r["conversation_id"] for r in rows_out})
        # executemany of one cached statement: a CASE over the batch's ids would be compiled anew every time.
        await conn.execute(_SET_LAST_SEQ, [{"cid": cid, "seq": last[cid]} for cid in changed])
        await conn.execute(_events.insert(), rows_out)
    return results


async def append(
    session: AsyncSession, key: str, *, kind: str, author_id: int | None, body: dict[str, Any], now: dt.datetime, client_id: str | None = None
) -> tuple[Entry, bool]:
    """Stores one entry and gives it the next number; returns (entry, created).

    With a client_id seen before from the same author, nothing is stored and the first
    entry comes back with created=False: a retried send is never stored twice.
    """
    [result] = await store(await session.connection(), [Append(key, kind, author_id, body, now, client_id)])
    assert result is not None
    return result


def message_body(text: str) -> dict[str, Any]:
    text = text.strip()
    if not text:
        raise Invalid("An empty message can't be sent.", code="empty_message")
    if "\x00" in text:
        raise Invalid("Messages can't contain NUL characters.", code="invalid_text")
    if len(text) > MAX_MESSAGE:
        raise Invalid(f"Messages are limited to {MAX_MESSAGE} characters.", code="too_long")
    return {"text": text}


async def since(session: AsyncSession, key: str, after_seq: int, *, limit: int = REPLAY_LIMIT) -> list[Entry]:
    """Entries numbered above `after_seq`, oldest first."""
    rows = await session.execute(
        select(_events.c.seq, _events.c.kind, _events.c.author_id, _events.c.client_id, _events.c.body, _events.c.created_at)
        .join(_conv, _conv.c.id == _events.c.conversation_id)
        .where(_conv.c.key == key, _events.c.seq > after_seq)
        .order_by(_events.c.seq)
        .limit(limit)
    )
    return [_entry(*row) for row in rows]


async def last_seq(session: AsyncSession, key: str) -> int:
    value = (await session.execute(select(_conv.c.last_seq).where(_conv.c.key == key))).scalar_one_or_none()
    return int(value or 0)


async def roster(session: AsyncSession, key: str) -> dict[str, dict[str, Any]]:
    """Connections present now, by connection id: the last presence entry of each says joined."""
    rows = await session.execute(
        select(_events.c.seq, _events.c.body)
        .join(_conv, _conv.c.id == _events.c.conversation_id)
        .where(_conv.c.key == key, _events.c.kind == "presence")
        .order_by(_events.c.seq)
    )
    present: dict[str, dict[str, Any]] = {}
    for seq, raw in rows:
        body = orjson.loads(raw)
        if body.get("state") == "joined":
            present[body["conn"]] = {**body, "seq": seq}
        else:
            present.pop(body.get("conn", ""), None)
    return present
