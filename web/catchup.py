"""Catching up after the broker lost frames (Redis was away for a while).

Entries are stored before they are published, so nothing is lost from the logs, but frames published while Redis was
unreachable never reached anyone (not even the connections on the node that stored them). Once the broker is back, each
local connection of a room or live chat gets the newest entry of its conversation again: a client that missed anything
sees a number above its last one, notices the gap and asks for a replay (`resume`), as it does for any gap; a client
that missed nothing ignores it (it has that seq already). No protocol change, and one query for every local room.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import Table, select

from scheduling.conversations import Entry, _entry
from scheduling.models import Conversation, ConversationEvent
from signaling.hub import Hub, encode

log = logging.getLogger(__name__)


def _frame(key: str, entry: Entry) -> dict[str, Any] | None:
    from web import rooms  # noqa: PLC0415 -- web.rooms imports much of web; only needed once Redis comes back
    from web.livechat import live  # noqa: PLC0415

    kind, _, ident = key.partition(":")
    if not ident.isdigit():
        return None
    if kind == "chat":
        return rooms._event_frame(entry)  # noqa: SLF001 -- the room's own event frame, as a replay sends it
    if kind == "live":
        return live.event_frame(int(ident), entry)
    return None


async def newest_entries(res: Any, keys: list[str]) -> dict[str, Entry]:
    """The newest entry of each conversation named in `keys` (those that have one)."""
    if not keys:
        return {}
    events: Table = ConversationEvent.__table__  # type: ignore[assignment]
    convs: Table = Conversation.__table__  # type: ignore[assignment]
    async with res.sessionmaker() as session:
        rows = await session.execute(
            select(convs.c.key, events.c.seq, events.c.kind, events.c.author_id, events.c.client_id, events.c.body, events.c.created_at)
            .join(convs, convs.c.id == events.c.conversation_id)
            .where(convs.c.key.in_(keys), events.c.seq == convs.c.last_seq)
        )
        return {key: _entry(*rest) for key, *rest in rows}


async def catch_up(res: Any) -> int:
    """Sends every local room connection its conversation's newest entry; returns how many frames went out."""
    hub: Hub = res.hub
    keys = sorted(k for k in hub.rooms if k.startswith(("chat:", "live:")))
    newest = await newest_entries(res, keys)
    sent = 0
    for key, entry in newest.items():
        message = _frame(key, entry)
        if message is None:
            continue
        frame = encode(message)
        for conn in list(hub.rooms.get(key, {}).values()):
            conn.send(frame)
            sent += 1
    log.info("after the broker came back: %d connections in %d conversations told the newest seq", sent, len(newest))
    return sent

