"""Showing instants to people: in their own time zone, with the event's zone beside it."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones


def zone(name: str | None, fallback: str = "UTC") -> ZoneInfo:
    try:
        return ZoneInfo(name or fallback)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(fallback)


def is_valid_zone(name: str) -> bool:
    if not name or name not in _zones():
        return False
    return True


_ZONES: frozenset[str] | None = None


def _zones() -> frozenset[str]:
    global _ZONES  # noqa: PLW0603 -- a read-only cache of the tz database's names
    if _ZONES is None:
        _ZONES = frozenset(available_timezones())
    return _ZONES


def all_zones() -> list[str]:
    return sorted(_zones())


def day_time(instant: dt.datetime, tz: ZoneInfo) -> str:
    local = instant.astimezone(tz)
    return local.strftime("%a %d %b %Y, %H:%M")


def span(start: dt.datetime, end: dt.datetime, viewer_tz: str | None, event_tz: str) -> str:
    """'Tue 10 Mar 2026, 14:00–14:30 (Europe/Berlin)', plus the event's time when the zones differ."""
    vz = zone(viewer_tz, event_tz)
    ez = zone(event_tz)
    text = f"{day_time(start, vz)}–{end.astimezone(vz).strftime('%H:%M')} ({vz.key})"
    if vz.key != ez.key:
        s, e = start.astimezone(ez), end.astimezone(ez)
        if s.utcoffset() != start.astimezone(vz).utcoffset():
            text += f" · event time {s.strftime('%a %H:%M')}–{e.strftime('%H:%M')} ({ez.key})"
    return text


def local_to_instant(day: dt.date, clock: dt.time, tz_name: str) -> dt.datetime:
    """A wall-clock time in a zone as a UTC instant.

    A time skipped by a spring-forward change is moved forward by the gap, as calendar
    programs do; an ambiguous autumn time means its first occurrence.
    """
    tz = zone(tz_name)
    naive = dt.datetime.combine(day, clock)
    # fold=0 (PEP 495) reads an ambiguous time with the offset before the change (its first
    # occurrence) and a skipped time with the offset before the gap, which moves it forward.
    aware = naive.replace(tzinfo=tz, fold=0)
    return aware.astimezone(dt.UTC)
