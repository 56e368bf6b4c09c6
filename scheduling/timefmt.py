"""Showing instants to people: in their own time zone, with the event's zone beside it."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from importlib import resources
from pathlib import Path
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
    """True for a zone the pickers offer (the same list everywhere: forms, the API, the server's checks)."""
    return bool(name) and name in _zones()


def canonical_zone(name: str | None) -> str | None:
    """A zone name as a browser may report it ('Asia/Calcutta', 'Etc/UTC', 'US/Eastern') as the picker's zone with the
    same rules ('Asia/Kolkata', 'UTC', 'America/New_York'); None when it is no zone at all."""
    if not name:
        return None
    seen = 0
    while name not in _zones() and seen < 5:  # links can chain (backward names of backward names)
        target = _links().get(name)
        if target is None:
            return None
        name, seen = target, seen + 1
    return name if name in _zones() else None


def pick_zone(typed: str) -> str | None:
    """What someone typed into a time-zone picker as the zone it names: exact, any case ('europe/berlin'), spaces for
    underscores ('America/New York'), or an old name ('Asia/Calcutta'); None when it names none of the list."""
    typed = typed.strip()
    if typed in _zones():
        return typed
    by_lower = {z.lower(): z for z in _zones()}
    key = typed.lower().replace(" ", "_")
    if key in by_lower:
        return by_lower[key]
    found = canonical_zone(typed) or canonical_zone(next((a for a in _links() if a.lower() == key), None))
    if found is None and key and "/" not in key:  # a city alone: 'Berlin', 'new york', when only one zone ends with it
        cities = [z for z in _zones() if z.lower().endswith("/" + key)]
        found = cities[0] if len(cities) == 1 else None
    return found


# Zones no one lives in, or spellings of another zone: never offered.
_NOT_PLACES = ("Etc/", "SystemV/", "posix/", "right/", "US/", "Canada/", "Brazil/", "Chile/", "Mexico/")
_CONTINENTS = ("Africa/", "America/", "Antarctica/", "Arctic/", "Asia/", "Atlantic/", "Australia/", "Europe/", "Indian/", "Pacific/")

_ZONES: frozenset[str] | None = None
_LINKS: dict[str, str] | None = None


def _tzdata_text(name: str) -> str | None:
    """A text file of the tz database: from the tzdata package (a dependency), else the system's copy."""
    try:
        return (resources.files("tzdata") / "zoneinfo" / name).read_text(encoding="utf-8")
    except (ModuleNotFoundError, OSError):
        pass
    for base in zoneinfo.TZPATH:
        try:
            return (Path(base) / name).read_text(encoding="utf-8")
        except OSError:
            continue
    return None


def _zones() -> frozenset[str]:
    """The real places of the tz database (zone.tab: one line per zone in use in each country) and UTC."""
    global _ZONES  # noqa: PLW0603 -- a read-only cache of the tz database's names
    if _ZONES is None:
        known = available_timezones()
        tab = _tzdata_text("zone.tab")
        if tab is not None:
            names = {line.split("\t")[2] for line in tab.splitlines() if line and not line.startswith("#") and line.count("\t") >= 2}
        else:  # no zone.tab anywhere: keep Area/Place names of the continents and oceans
            names = {z for z in known if z.startswith(_CONTINENTS)}
        _ZONES = frozenset({z for z in names if z in known and not z.startswith(_NOT_PLACES)} | {"UTC"})
    return _ZONES


def _links() -> dict[str, str]:
    """Old and alternative names -> the name they stand for ('L target alias' lines of tzdata.zi)."""
    global _LINKS  # noqa: PLW0603 -- a read-only cache, as above
    if _LINKS is None:
        links = {alias: "UTC" for alias in ("Etc/UTC", "Etc/UCT", "Etc/Universal", "Etc/Zulu", "Etc/GMT", "Etc/GMT+0", "Etc/GMT-0",
                                            "Etc/GMT0", "Etc/Greenwich", "GMT", "GMT+0", "GMT-0", "GMT0", "Greenwich", "UCT",
                                            "Universal", "Zulu")}
        for line in (_tzdata_text("tzdata.zi") or "").splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[0] == "L":
                links.setdefault(parts[2], parts[1])
        _LINKS = links
    return _LINKS


def all_zones() -> list[str]:
    """The zones a picker offers, sorted, UTC first."""
    return ["UTC", *sorted(_zones() - {"UTC"})]


def zone_label(local: dt.datetime) -> str:
    """The zone's short name at that moment ('CET', 'CEST', 'EDT', 'UTC'), or its offset ('UTC+05:30', 'UTC-03')
    where the tz database has no letters for it."""
    abbr = local.strftime("%Z")
    if abbr.isalpha():
        return abbr
    offset = local.utcoffset() or dt.timedelta(0)
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    hours, mins = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}" + (f":{mins:02d}" if mins else "")


def clock(instant: dt.datetime, tz: ZoneInfo) -> str:
    """'14:00': a time of day, 24-hour, for lists whose heading or page names the zone."""
    return instant.astimezone(tz).strftime("%H:%M")


def clock_zoned(instant: dt.datetime, tz: ZoneInfo) -> str:
    """'14:00 CET': a time of day naming its zone."""
    local = instant.astimezone(tz)
    return f"{local.strftime('%H:%M')} {zone_label(local)}"


def hours(start: dt.datetime, end: dt.datetime, tz: ZoneInfo) -> str:
    """'14:00–14:30 CET': a stretch of one day naming its zone once (each end names its own around a clock change)."""
    a, b = clock_range(start, end, tz)
    return f"{a}–{b}" if " " in b else f"{a}–{b} {zone_label(end.astimezone(tz))}"


def day(instant: dt.datetime | dt.date, tz: ZoneInfo | None = None) -> str:
    """'Tue 10 Mar 2026': the day an instant falls on in a zone (or a plain date)."""
    if isinstance(instant, dt.datetime):
        instant = instant.astimezone(tz or dt.UTC).date()
    return instant.strftime("%a %d %b %Y")


def stamp(instant: dt.datetime, tz: ZoneInfo) -> str:
    """'Tue 10 Mar 2026, 14:00 CET': one moment, naming its zone (page stamps, email subjects)."""
    local = instant.astimezone(tz)
    return f"{local.strftime('%a %d %b %Y, %H:%M')} {zone_label(local)}"


def date_range(start: dt.datetime, end: dt.datetime, tz: ZoneInfo) -> str:
    """'Tue 10 – Thu 12 Mar 2026' (the days an event covers in a zone; an end at midnight ends the day before)."""
    first = start.astimezone(tz).date()
    last = max(first, (end - dt.timedelta(microseconds=1)).astimezone(tz).date())
    if first == last:
        return last.strftime("%a %d %b %Y")
    if (first.year, first.month) == (last.year, last.month):
        head = first.strftime("%a %d")
    elif first.year == last.year:
        head = first.strftime("%a %d %b")
    else:
        head = first.strftime("%a %d %b %Y")
    return f"{head} – {last.strftime('%a %d %b %Y')}"


def day_time(instant: dt.datetime, tz: ZoneInfo) -> str:
    local = instant.astimezone(tz)
    return local.strftime("%a %d %b %Y, %H:%M")


def is_ambiguous(local: dt.datetime) -> bool:
    """True in the repeated hour of an autumn change, where one wall time names two instants."""
    return local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset()


def clock_range(start: dt.datetime, end: dt.datetime, tz: ZoneInfo) -> tuple[str, str]:
    """'14:00', '14:30'; with the zone's abbreviation (CEST/CET) where the wall time alone is ambiguous."""
    s, e = start.astimezone(tz), end.astimezone(tz)
    if is_ambiguous(s) or is_ambiguous(e) or s.utcoffset() != e.utcoffset():
        return f"{s:%H:%M} {zone_label(s)}", f"{e:%H:%M} {zone_label(e)}"
    return f"{s:%H:%M}", f"{e:%H:%M}"


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
