"""Working hours of a chat queue: weekly intervals in one time zone, with closed days; pure functions."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

import orjson

from scheduling import timefmt
from scheduling.errors import Invalid

DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$|^24:00$")


@dataclass(frozen=True)
class Hours:
    """`days[weekday]` holds (start, end) minutes after local midnight; an empty day is closed. None = always open."""

    tz: str
    days: tuple[tuple[tuple[int, int], ...], ...]

    def to_json(self) -> str:
        return orjson.dumps({"tz": self.tz, "days": {str(i): [[_hhmm(a), _hhmm(b)] for a, b in d] for i, d in enumerate(self.days) if d}}).decode()


def _minutes(value: str) -> int:
    if not isinstance(value, str) or not _HHMM.match(value):
        raise Invalid(f"Times are written HH:MM (24-hour); {str(value)[:10]!r} is not one.", code="invalid_hours")
    h, m = value.split(":")
    return int(h) * 60 + int(m)


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def parse(data: dict[str, Any] | None) -> Hours | None:
    """Validated hours from {"tz", "days": {"0".."6": [["09:00", "17:00"], ...]}}; None or {} means always open."""
    if not data:
        return None
    if not isinstance(data, dict):
        raise Invalid("Working hours must be an object with tz and days.", code="invalid_hours")
    tz = data.get("tz")
    if not isinstance(tz, str) or not timefmt.is_valid_zone(tz):
        raise Invalid("Working hours need a real time zone (e.g. Europe/Berlin).", code="invalid_hours")
    raw_days = data.get("days") or {}
    if not isinstance(raw_days, dict):
        raise Invalid("Working hours' days must map a weekday (0 = Monday) to intervals.", code="invalid_hours")
    days: list[list[tuple[int, int]]] = [[] for _ in range(7)]
    for key, intervals in raw_days.items():
        if str(key) not in {str(i) for i in range(7)}:
            raise Invalid("Weekdays are numbered 0 (Monday) to 6 (Sunday).", code="invalid_hours")
        if not isinstance(intervals, list) or len(intervals) > 6:
            raise Invalid("Each day has a list of at most 6 intervals.", code="invalid_hours")
        for pair in intervals:
            if not isinstance(pair, list | tuple) or len(pair) != 2:
                raise Invalid("An interval is [start, end], e.g. [\"09:00\", \"17:00\"].", code="invalid_hours")
            a, b = _minutes(pair[0]), _minutes(pair[1])
            if b <= a:
                raise Invalid(f"On {DAY_NAMES[int(key)]}, {pair[1]} is not after {pair[0]}.", code="invalid_hours")
            days[int(key)].append((a, b))
    for i, d in enumerate(days):
        d.sort()
        for (_, end), (start, _) in zip(d, d[1:], strict=False):
            if start < end:
                raise Invalid(f"On {DAY_NAMES[i]}, two intervals overlap.", code="invalid_hours")
    return Hours(tz, tuple(tuple(d) for d in days))


def load(raw: str) -> Hours | None:
    return parse(orjson.loads(raw)) if raw else None


def is_open(hours: Hours | None, now: dt.datetime) -> bool:
    if hours is None:
        return True
    local = now.astimezone(timefmt.zone(hours.tz))
    minute = local.hour * 60 + local.minute
    return any(a <= minute < b for a, b in hours.days[local.weekday()])


def intervals(hours: Hours, start_day: dt.date, days: int = 7) -> list[tuple[dt.datetime, dt.datetime]]:
    """The open intervals of `days` days from `start_day` (in the hours' zone), as UTC instants."""
    out: list[tuple[dt.datetime, dt.datetime]] = []
    for offset in range(days):
        day = start_day + dt.timedelta(days=offset)
        for a, b in hours.days[day.weekday()]:
            start = timefmt.local_to_instant(day, dt.time(a // 60, a % 60), hours.tz)
            end_day, end_min = (day + dt.timedelta(days=1), 0) if b == 24 * 60 else (day, b)
            end = timefmt.local_to_instant(end_day, dt.time(end_min // 60, end_min % 60), hours.tz)
            out.append((start, end))
    return out


def next_opening(hours: Hours | None, now: dt.datetime) -> dt.datetime | None:
    """When the queue opens next (now if open; None if it never opens)."""
    if hours is None or is_open(hours, now):
        return now
    today = now.astimezone(timefmt.zone(hours.tz)).date()
    for start, _ in intervals(hours, today - dt.timedelta(days=1), 9):
        if start > now:
            return start
    return None


def week_for_viewer(hours: Hours, now: dt.datetime, viewer_tz: str) -> list[tuple[str, str]]:
    """The coming seven days' hours as the candidate reads them, in their own zone: [("Mon 1 Dec", "09:00–17:00, 18:00–19:00"), ...]."""
    vz = timefmt.zone(viewer_tz, hours.tz)
    today = now.astimezone(timefmt.zone(hours.tz)).date()
    by_day: dict[dt.date, list[str]] = {}
    for start, end in intervals(hours, today, 7):
        s, e = start.astimezone(vz), end.astimezone(vz)
        by_day.setdefault(s.date(), []).append(f"{s:%H:%M}–{e:%H:%M}")
    first = now.astimezone(vz).date()
    return [((first + dt.timedelta(days=i)).strftime("%a %d %b"), ", ".join(by_day.get(first + dt.timedelta(days=i), [])) or "closed")
            for i in range(7)]
