"""A chat's history as its page reads it: one line per thing someone did.

A move to a new time is two transitions in one call (confirmed -> accepted -> confirmed; the state machine stays as it
is, so both rows are written). reschedule() notes the old and the new start on the second row (`move_note`); here the
pair reads as one line: "moved the chat from Tue 01 Dec 2026, 10:00 to 11:00 CET: <reason>", in the reader's zone.
Pairs written before the times were noted still read as one line, without the times. A move that only released the
time stays one line of its own, its reason without the "reschedule: " prefix.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from scheduling import timefmt
from scheduling.models import ChatEvent, ChatStatus, User

S = ChatStatus
RESCHEDULE_PREFIX = "reschedule: "  # the note of the confirmed -> accepted row of a reschedule, before its reason
_MOVE_PREFIX = "moved from "


def move_note(old_start: dt.datetime, new_start: dt.datetime) -> str:
    """The note of the accepted -> confirmed row of a move: both starts, in UTC (ISO 8601)."""
    return f"{_MOVE_PREFIX}{old_start.astimezone(dt.UTC).isoformat()} to {new_start.astimezone(dt.UTC).isoformat()}"


def parse_move(note: str) -> tuple[dt.datetime, dt.datetime] | None:
    if not note.startswith(_MOVE_PREFIX):
        return None
    old, sep, new = note[len(_MOVE_PREFIX):].partition(" to ")
    try:
        a, b = dt.datetime.fromisoformat(old), dt.datetime.fromisoformat(new)
    except ValueError:
        return None
    if not sep or a.tzinfo is None or b.tzinfo is None:
        return None
    return a, b


def moved_text(old_start: dt.datetime, new_start: dt.datetime, tz: ZoneInfo) -> str:
    """'from Tue 01 Dec 2026, 10:00 to 11:00 CET' (one day), or both days named; the zone once when both times share it."""
    a, b = old_start.astimezone(tz), new_start.astimezone(tz)
    la, lb = timefmt.zone_label(a), timefmt.zone_label(b)
    first = a.strftime("%a %d %b %Y, %H:%M") + ("" if la == lb else f" {la}")
    second = b.strftime("%H:%M") if a.date() == b.date() else b.strftime("%a %d %b %Y, %H:%M")
    return f"from {first} to {second} {lb}"


@dataclass(frozen=True)
class Line:
    event: ChatEvent  # the row the line stands for (for a move: the first of its two rows)
    actor: User | None
    note: str  # what the person wrote, to show after the verb ("" for none)
    moved: str | None = None  # a move to a new time in one call: "from ... to ..." ("" when its times were not noted)


def _released(e: ChatEvent) -> bool:
    return e.from_status == S.CONFIRMED.value and e.to_status == S.ACCEPTED.value and e.note.startswith(RESCHEDULE_PREFIX)


def _move(a: ChatEvent, b: ChatEvent) -> tuple[ChatEvent, ChatEvent] | None:
    """The (release, confirm) rows of one move, in whichever order their ids came: on PostgreSQL the two rows are
    inserted by one statement, which does not promise the order of the ids."""
    if a.actor_id != b.actor_id or a.created_at != b.created_at:
        return None
    for release, confirm in ((a, b), (b, a)):
        if _released(release) and confirm.from_status == S.ACCEPTED.value and confirm.to_status == S.CONFIRMED.value:
            return release, confirm
    return None


def lines(rows: Sequence[tuple[ChatEvent, User | None]], tz: ZoneInfo) -> list[Line]:
    """The history rows (in order) as the lines the chat page shows, times in `tz`."""
    out: list[Line] = []
    i = 0
    while i < len(rows):
        e, actor = rows[i]
        pair = _move(e, rows[i + 1][0]) if i + 1 < len(rows) else None
        if pair is not None:
            release, confirm = pair
            times = parse_move(confirm.note)
            reason = release.note[len(RESCHEDULE_PREFIX):]
            out.append(Line(release, actor, reason, moved_text(times[0], times[1], tz) if times else ""))
            i += 2
            continue
        note = e.note[len(RESCHEDULE_PREFIX):] if _released(e) else e.note
        out.append(Line(e, actor, "" if parse_move(note) else note))
        i += 1
    return out
