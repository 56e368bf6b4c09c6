"""A recruiter's availability as people think of it: "every event day 09:00-12:00", or Mon-Fri, or chosen dates.

Pure functions over UTC instants and wall-clock times. A recurring window is expanded into one dated
window per day, each made an instant in the zone it was typed in (`timefmt.local_to_instant`, so a
daylight-saving change keeps 09:00 at 09:00), cut to the event's start and end, and merged with the
windows already there when they overlap or touch. Nothing here touches the database: the page stores
the result through `actions.set_recruiter_profile`, which checks it again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from scheduling import slots, timefmt
from scheduling.errors import Invalid

WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MIDNIGHT = dt.time(0, 0)


class Repeat(StrEnum):
    EVERY_DAY = "every"  # every day of the event
    WORKDAYS = "workdays"  # Monday to Friday
    WEEKDAYS = "weekdays"  # the weekdays ticked
    DATES = "dates"  # the dates ticked


@dataclass(frozen=True, order=True)
class Span:
    """One dated window, [start, end) in UTC."""

    start: dt.datetime
    end: dt.datetime

    @property
    def minutes(self) -> int:
        return int((self.end - self.start).total_seconds() // 60)


@dataclass
class Expansion:
    """What a recurring window became: the windows to add, and what happened on each day asked for."""

    added: list[Span] = field(default_factory=list)
    added_days: list[dt.date] = field(default_factory=list)
    cut_days: list[dt.date] = field(default_factory=list)  # shortened to the event's start or end
    outside_days: list[dt.date] = field(default_factory=list)  # no part of it within the event
    short_days: list[dt.date] = field(default_factory=list)  # what was left within the event holds no slot
    skipped_days: list[dt.date] = field(default_factory=list)  # the clocks skip the whole window that day


# --------------------------------------------------------------------------- days


def event_days(starts_at: dt.datetime, ends_at: dt.datetime, tz: str) -> list[dt.date]:
    """The calendar dates in `tz` that [starts_at, ends_at) touches."""
    zone = timefmt.zone(tz)
    first = starts_at.astimezone(zone).date()
    last = (ends_at - dt.timedelta(microseconds=1)).astimezone(zone).date()
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


def viewer_days(
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    event_tz: str,
    tz: str,
    *,
    slot_minutes: int,
    keep: Iterable[tuple[dt.datetime, dt.datetime]] = (),
) -> list[dt.date]:
    """The event's days as someone in `tz` sees them, so they agree with the dates the event names (in `event_tz`).

    Each day of the event in its own zone becomes the date in `tz` that holds most of it; a day whose part of the event
    can't hold one slot is left out. A west viewer of an event that starts at midnight would otherwise get an extra first
    day holding the event's first hour or so (finding: "Mon 30 Nov, 0 open" before a Tue-Thu event). Dates in `tz`
    holding part of something in `keep` (windows, booked chats) within the event stay, so nothing stored goes undrawn.
    """
    slot = dt.timedelta(minutes=slot_minutes)
    chosen: set[dt.date] = set()
    for day in event_days(starts_at, ends_at, event_tz):
        a = max(starts_at, timefmt.local_to_instant(day, MIDNIGHT, event_tz))
        b = min(ends_at, timefmt.local_to_instant(day + dt.timedelta(days=1), MIDNIGHT, event_tz))
        if b - a < slot:
            continue
        chosen.add(max(event_days(a, b, tz), key=lambda d: (_overlap(a, b, d, tz), -d.toordinal())))
    for s, e in keep:
        a, b = max(s, starts_at), min(e, ends_at)
        if b > a:
            chosen.update(event_days(a, b, tz))
    return sorted(chosen) or event_days(starts_at, ends_at, tz)


def _overlap(a: dt.datetime, b: dt.datetime, day: dt.date, tz: str) -> dt.timedelta:
    start = timefmt.local_to_instant(day, MIDNIGHT, tz)
    end = timefmt.local_to_instant(day + dt.timedelta(days=1), MIDNIGHT, tz)
    return min(b, end) - max(a, start)


def choose_days(
    days: Sequence[dt.date], repeat: Repeat, *, weekdays: Iterable[int] = (), dates: Iterable[dt.date] = ()
) -> list[dt.date]:
    """The event days a recurring window falls on. Refuses an empty choice in words."""
    if repeat is Repeat.EVERY_DAY:
        chosen = list(days)
    elif repeat is Repeat.WORKDAYS:
        chosen = [d for d in days if d.weekday() < 5]
        if not chosen:
            raise Invalid("The event has no Monday to Friday: choose other days.", code="no_days")
    elif repeat is Repeat.WEEKDAYS:
        wanted = set(weekdays)
        if not wanted:
            raise Invalid("Tick at least one weekday.", code="no_days")
        chosen = [d for d in days if d.weekday() in wanted]
        if not chosen:
            names = ", ".join(WEEKDAY_NAMES[w] for w in sorted(wanted))
            raise Invalid(f"The event has no {names}: choose other days.", code="no_days")
    else:
        wanted_dates = set(dates)
        if not wanted_dates:
            raise Invalid("Tick at least one date.", code="no_days")
        outside = sorted(wanted_dates - set(days))
        if outside:
            raise Invalid(f"{short_date(outside[0])} is not a day of the event.", code="no_days")
        chosen = [d for d in days if d in wanted_dates]
    return chosen


# --------------------------------------------------------------------------- expansion


def check_clocks(start: dt.time, end: dt.time) -> None:
    """Whole 5 minutes, and an end after the start (00:00 as the end means midnight, the end of the day)."""
    for label, value in (("start", start), ("end", end)):
        if value.second or value.microsecond or value.minute % slots.BLOCK_MINUTES:
            raise Invalid(f"The {label} time must be on whole 5 minutes, like 09:00 or 09:05.", code=f"invalid_{label}_time")
    if end != MIDNIGHT and end <= start:
        raise Invalid(f"The end time ({clock(end)}) must be later than the start time ({clock(start)}).", code="end_before_start")


def expand(
    days: Sequence[dt.date],
    start: dt.time,
    end: dt.time,
    tz: str,
    *,
    event_start: dt.datetime,
    event_end: dt.datetime,
    slot_minutes: int,
) -> Expansion:
    """One window per day, start and end read in `tz`, cut to the event; days left with no slot are reported, not added.

    Refuses a window shorter than one slot outright: it could never be booked on any day.
    """
    check_clocks(start, end)
    length = _wall_minutes(start, end)
    if length < slot_minutes:
        raise Invalid(
            f"A window must be at least {slot_minutes} minutes long, the length of one chat: "
            f"{clock(start)}–{clock(end)} is only {length} minutes.",
            code="availability_too_short",
        )
    out = Expansion()
    for day in days:
        a = timefmt.local_to_instant(day, start, tz)
        b = timefmt.local_to_instant(day + dt.timedelta(days=1) if end == MIDNIGHT else day, end, tz)
        if b <= a:  # a spring-forward change skips the whole window
            out.skipped_days.append(day)
            continue
        cut_a, cut_b = max(a, event_start), min(b, event_end)
        if cut_b <= cut_a:
            out.outside_days.append(day)
        elif cut_b - cut_a < dt.timedelta(minutes=slot_minutes):
            out.short_days.append(day)
        else:
            out.added.append(Span(cut_a, cut_b))
            out.added_days.append(day)
            if (cut_a, cut_b) != (a, b):
                out.cut_days.append(day)
    return out


def merge(spans: Iterable[Span]) -> list[Span]:
    """Sorted, with overlapping and touching windows joined into one."""
    merged: list[Span] = []
    for s in sorted(spans):
        if merged and s.start <= merged[-1].end:
            if s.end > merged[-1].end:
                merged[-1] = Span(merged[-1].start, s.end)
        else:
            merged.append(s)
    return merged


def slot_count(spans: Iterable[Span], *, slot_minutes: int, buffer_minutes: int, event_start: dt.datetime, event_end: dt.datetime) -> int:
    return len(slots.grid([(s.start, s.end) for s in spans], slot_minutes, buffer_minutes, not_before=event_start, not_after=event_end))


def check_window(span: Span, *, slot_minutes: int) -> None:
    """A stored window must hold at least one slot (finding #7: a shorter one was accepted and gave none).

    One that ends before it starts is left to the action, which says so in those words.
    """
    if span.start < span.end < span.start + dt.timedelta(minutes=slot_minutes):
        raise Invalid(
            f"Each availability window must be at least {slot_minutes} minutes long, the length of one chat; "
            f"one is only {span.minutes} minutes.",
            code="availability_too_short",
        )


# --------------------------------------------------------------------------- sets and removal


@dataclass
class Pattern:
    """Windows that share their wall-clock times in one zone: what a recurring window left behind."""

    start: str  # "09:00"
    end: str  # "12:00"
    spans: list[Span]


def patterns(spans: Iterable[Span], tz: str) -> list[Pattern]:
    """Windows grouped by their local start and end times, earliest time of day first."""
    zone = timefmt.zone(tz)
    groups: dict[tuple[str, str], list[Span]] = {}
    for s in sorted(spans):
        key = (clock(s.start.astimezone(zone).time()), clock(s.end.astimezone(zone).time()))
        groups.setdefault(key, []).append(s)
    return [Pattern(a, b, group) for (a, b), group in sorted(groups.items())]


def remove_pattern(spans: Iterable[Span], start: str, end: str, tz: str) -> tuple[list[Span], list[Span]]:
    """(kept, removed): the windows from `start` to `end` local time on any day go."""
    kept: list[Span] = []
    removed: list[Span] = []
    for p in patterns(spans, tz):
        (removed if (p.start, p.end) == (start, end) else kept).extend(p.spans)
    return sorted(kept), sorted(removed)


# --------------------------------------------------------------------------- words


def clock(value: dt.time) -> str:
    return value.strftime("%H:%M")


def short_date(day: dt.date) -> str:
    return day.strftime("%a %d %b")


def day_list(days: Sequence[dt.date]) -> str:
    """'Tue 10, Wed 11, Thu 12 Mar'; the month is named once per run of days in it."""
    if not days:
        return ""
    if len(days) > 10:
        return f"{short_date(days[0])} to {short_date(days[-1])}"
    parts: list[str] = []
    for i, d in enumerate(days):
        last_of_month = i == len(days) - 1 or (days[i + 1].year, days[i + 1].month) != (d.year, d.month)
        parts.append(d.strftime("%a %d %b") if last_of_month else d.strftime("%a %d"))
    return ", ".join(parts)


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def summary(exp: Expansion, start: dt.time, end: dt.time, *, merged: bool, new_slots: int) -> str:
    """'Added 09:00–12:00 on 3 days: Tue 10, Wed 11, Thu 12 Mar (18 new slots).' plus what was cut or left out."""
    text = f"Added {clock(start)}–{clock(end)} on {plural(len(exp.added_days), 'day')}: {day_list(exp.added_days)} ({plural(new_slots, 'new slot')})."
    if exp.cut_days:
        text += f" Cut to the event's start or end on {day_list(exp.cut_days)}."
    if merged:
        text += " Joined with the windows it overlaps or touches."
    text += _left_out(exp)
    return text


def _left_out(exp: Expansion) -> str:
    text = ""
    if exp.outside_days:
        text += f" Not added on {day_list(exp.outside_days)}: outside the event's hours."
    if exp.short_days:
        text += f" Not added on {day_list(exp.short_days)}: too short for one chat within the event's hours."
    if exp.skipped_days:
        text += f" Not added on {day_list(exp.skipped_days)}: the clocks change and skip those hours."
    return text


def nothing_added(exp: Expansion, start: dt.time, end: dt.time, *, slot_minutes: int, buffer_minutes: int) -> str:
    """Why an addition was refused when no day gained a slot."""
    if exp.added:
        gap = f" and {buffer_minutes} minutes between chats" if buffer_minutes else ""
        return (
            f"{clock(start)}–{clock(end)} adds no bookable slot: with {slot_minutes}-minute chats{gap}, "
            "the windows you already have cover it. Nothing was changed."
        )
    return f"{clock(start)}–{clock(end)} was not added.{_left_out(exp)}"


def _wall_minutes(start: dt.time, end: dt.time) -> int:
    a = start.hour * 60 + start.minute
    b = 24 * 60 if end == MIDNIGHT else end.hour * 60 + end.minute
    return b - a
