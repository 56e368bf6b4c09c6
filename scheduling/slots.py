"""Slot arithmetic: the grid of bookable slots inside availability windows, and busy blocks.

Pure functions over UTC instants. Slots are laid out in absolute time, so a window that
spans a daylight-saving change holds exactly as many slots as real minutes allow.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

BLOCK_MINUTES = 5
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True, order=True)
class Slot:
    start: dt.datetime
    end: dt.datetime

    def overlaps(self, start: dt.datetime, end: dt.datetime) -> bool:
        return self.start < end and start < self.end


def is_on_block_boundary(instant: dt.datetime) -> bool:
    delta = instant - _EPOCH
    return delta % dt.timedelta(minutes=BLOCK_MINUTES) == dt.timedelta(0)


def blocks(start: dt.datetime, end: dt.datetime) -> list[int]:
    """The numbers of the 5-minute blocks that [start, end) covers."""
    size = dt.timedelta(minutes=BLOCK_MINUTES)
    first = (start - _EPOCH) // size
    last = -(-(end - _EPOCH) // size)  # ceiling division
    return list(range(first, last))


def grid(
    windows: Iterable[tuple[dt.datetime, dt.datetime]],
    slot_minutes: int,
    buffer_minutes: int,
    *,
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
) -> list[Slot]:
    """Every slot of the grid: from each window's start, one slot every slot+buffer minutes.

    `not_before`/`not_after` clip the grid (event bounds, "only future slots") without
    shifting it, so a slot's start never depends on when the grid is looked at.
    """
    length = dt.timedelta(minutes=slot_minutes)
    step = dt.timedelta(minutes=slot_minutes + buffer_minutes)
    found: set[Slot] = set()
    for start, end in windows:
        cursor = start
        while cursor + length <= end:
            slot = Slot(cursor, cursor + length)
            if (not_before is None or slot.start >= not_before) and (not_after is None or slot.end <= not_after):
                found.add(slot)
            cursor += step
    return sorted(found)


def count_free(
    windows: Iterable[tuple[dt.datetime, dt.datetime]],
    slot_minutes: int,
    buffer_minutes: int,
    busy: Iterable[tuple[dt.datetime, dt.datetime]],
    *,
    not_before: dt.datetime,
    not_after: dt.datetime,
) -> int:
    """len(free(grid(...), busy)) without building a slot object per slot.

    The recruiter list counts open slots for hundreds of recruiters per request; this is the
    same grid in integer seconds, walked once, with the busy intervals swept alongside.
    """
    length = slot_minutes * 60
    step = (slot_minutes + buffer_minutes) * 60
    lo, hi = not_before.timestamp(), not_after.timestamp()
    busy_s = sorted((a.timestamp(), b.timestamp()) for a, b in busy)
    seen: set[float] = set()
    for w_start, w_end in windows:
        start, end = w_start.timestamp(), w_end.timestamp()
        # Skip straight to the first grid position at or after `lo`.
        k = max(0, -int(-(lo - start) // step)) if lo > start else 0
        cursor = start + k * step
        i = 0
        while cursor + length <= end and cursor + length <= hi:
            while i < len(busy_s) and busy_s[i][1] <= cursor:
                i += 1
            j, taken = i, False
            while j < len(busy_s) and busy_s[j][0] < cursor + length:
                if busy_s[j][1] > cursor:
                    taken = True
                    break
                j += 1
            if not taken:
                seen.add(cursor)
            cursor += step
    return len(seen)


def free(slots: Sequence[Slot], busy: Iterable[tuple[dt.datetime, dt.datetime]]) -> list[Slot]:
    """The slots that overlap none of the busy intervals."""
    busy_list = sorted(busy)
    return [s for s in slots if not any(s.overlaps(b_start, b_end) for b_start, b_end in busy_list)]
