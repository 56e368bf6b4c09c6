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


_US = dt.timedelta(microseconds=1)


def micros(instant: dt.datetime) -> int:
    """An aware instant as whole microseconds since the Unix epoch: exact integer arithmetic from here on."""
    return (instant - _EPOCH) // _US


def count_free(
    windows: Iterable[tuple[dt.datetime, dt.datetime]],
    slot_minutes: int,
    buffer_minutes: int,
    busy: Iterable[tuple[dt.datetime, dt.datetime]],
    *,
    not_before: dt.datetime,
    not_after: dt.datetime,
) -> int:
    """len(free(grid(...), busy)) without building a slot object per slot (see `count_free_ticks`)."""
    minute = 60_000_000
    return count_free_ticks(
        [(micros(a), micros(b)) for a, b in windows], slot_minutes * minute, (slot_minutes + buffer_minutes) * minute,
        [(micros(a), micros(b)) for a, b in busy], micros(not_before), micros(not_after),
    )


def count_free_ticks(
    windows: Iterable[tuple[int, int]], length: int, step: int, busy: Sequence[tuple[int, int]], not_before: int, not_after: int
) -> int:
    """count_free over instants as integers in any one unit (seconds, microseconds), by arithmetic rather than a walk.

    `length` is a slot's length and `step` a slot plus its buffer, in the same unit. The recruiter
    list counts open slots for hundreds of recruiters per request. A window holds the grid
    positions start + k*step, k = 0, 1, ...; those inside the window and [not_before, not_after]
    form one range of k, so their number is a division. A busy interval [bs, be) takes the
    positions p with bs - length < p < be: one more range of k per window. Availability windows
    never overlap (the action refuses it), so two windows share no position and the free count is
    the sum of the ranges' sizes less the distinct taken positions. Overlapping windows, which the
    product never stores, fall back to collecting the distinct free positions one by one.
    """
    ordered = sorted(windows)
    for i in range(1, len(ordered)):
        if ordered[i][0] < ordered[i - 1][1]:
            return _count_free_overlapping(ordered, length, step, busy, not_before, not_after)
    total = 0
    taken: set[int] = set()
    for start, end in ordered:
        k0 = -((start - not_before) // step) if not_before > start else 0  # ceiling division
        k1 = ((end if end < not_after else not_after) - length - start) // step
        if k1 < k0:
            continue
        total += k1 - k0 + 1
        first, last_end = start + k0 * step, start + k1 * step + length
        for bs, be in busy:
            if be <= first or bs >= last_end:
                continue  # misses every position of this window
            lo = max(k0, (bs - length - start) // step + 1)
            hi = min(k1, -((start - be) // step) - 1)
            taken.update(range(start + lo * step, start + hi * step + 1, step))
    return total - len(taken)


def _count_free_overlapping(
    windows: Sequence[tuple[int, int]], length: int, step: int, busy: Sequence[tuple[int, int]], not_before: int, not_after: int
) -> int:
    found: set[int] = set()
    for start, end in windows:
        cursor = start + (-((start - not_before) // step) if not_before > start else 0) * step
        while cursor + length <= end and cursor + length <= not_after:
            if not any(bs < cursor + length and cursor < be for bs, be in busy):
                found.add(cursor)
            cursor += step
    return len(found)


def free(slots: Sequence[Slot], busy: Iterable[tuple[dt.datetime, dt.datetime]]) -> list[Slot]:
    """The slots that overlap none of the busy intervals."""
    busy_list = sorted(busy)
    return [s for s in slots if not any(s.overlaps(b_start, b_end) for b_start, b_end in busy_list)]
