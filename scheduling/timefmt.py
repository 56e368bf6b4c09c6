"""Showing instants to people: in their own time zone, with the event's zone beside it."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from scheduling.errors import Invalid

# Instants Fairmeet accepts; outside this the calendar arithmetic of a far year can overflow.
EARLIEST = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)


def checked_instant(value: dt.datetime, label: str = "time") -> dt.datetime:
    """`value` in UTC, or Invalid when it has no offset or lies outside 2000-2099."""
    if value.tzinfo is None:
        raise Invalid(f"Give the {label} with its UTC offset (RFC 3339).", code="invalid_time")
    try:
        utc = value.astimezone(dt.UTC)
    except OverflowError:
        utc = None
    if utc is None or not (EARLIEST <= utc < LATEST):
        raise Invalid(f"The {label} must lie between the years 2000 and 2099.", code="invalid_time")
    return utc


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


def is_ambiguous(local: dt.datetime) -> bool:
    """True in the repeated hour of an autumn change, where one wall time names two instants."""
    return local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset()


def clock_range(start: dt.datetime, end: dt.datetime, tz: ZoneInfo) -> tuple[str, str]:
    """'14:00', '14:30'; with the zone's abbreviation (CEST/CET) where the wall time alone is ambiguous."""
    s, e = start.astimezone(tz), end.astimezone(tz)
    fmt = "%H:%M %Z" if is_ambiguous(s) or is_ambiguous(e) or s.utcoffset() != e.utcoffset() else "%H:%M"
    return s.strftime(fmt), e.strftime(fmt)


def span(start: dt.datetime, end: dt.datetime, viewer_tz: str | None, event_tz: str) -> str:
    """'Tue 10 Mar 2026, 14:00–14:30 (Europe/Berlin)', plus the event's time when the zones differ."""
    vz = zone(viewer_tz, event_tz)
    ez = zone(event_tz)
    a, b = clock_range(start, end, vz)
    text = f"{start.astimezone(vz).strftime('%a %d %b %Y')}, {a}–{b} ({vz.key})"
    if vz.key != ez.key:
        s = start.astimezone(ez)
        if s.utcoffset() != start.astimezone(vz).utcoffset():
            ea, eb = clock_range(start, end, ez)
            text += f" · event time {s.strftime('%a')} {ea}–{eb} ({ez.key})"
    return text


def local_to_instant(day: dt.date, clock: dt.time, tz_name: str) -> dt.datetime:
    """A wall-clock time in a zone as a UTC instant.

    A time skipped by a spring-forward change is moved forward by the gap, as calendar
    programs do; an ambiguous autumn time means its first occurrence.
    """
    if not (EARLIEST.year <= day.year < LATEST.year):
        raise Invalid("Dates must lie between the years 2000 and 2099.", code="invalid_time")
    tz = zone(tz_name)
    naive = dt.datetime.combine(day, clock)
    # fold=0 (PEP 495) reads an ambiguous time with the offset before the change (its first
    # occurrence) and a skipped time with the offset before the gap, which moves it forward.
    aware = naive.replace(tzinfo=tz, fold=0)
    return aware.astimezone(dt.UTC)
