"""The pure parts of My calendar: recurring expansion (scheduling/availability.py) and the grid's blocks (web/calendar_pages.py)."""

from __future__ import annotations

import datetime as dt

import pytest

from scheduling import availability
from scheduling.availability import Repeat, Span
from scheduling.errors import Invalid
from web.calendar_pages import pieces

UTC = dt.UTC
BERLIN = "Europe/Berlin"


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def d(day: int, month: int = 3) -> dt.date:
    return dt.date(2026, month, day)


def test_every_day_across_the_autumn_change_keeps_nine_oclock() -> None:
    # Berlin leaves summer time on Sunday 25 October 2026.
    days = availability.event_days(utc(2026, 10, 22, 22), utc(2026, 10, 27, 23), BERLIN)
    assert days == [dt.date(2026, 10, 23), dt.date(2026, 10, 24), dt.date(2026, 10, 25), dt.date(2026, 10, 26), dt.date(2026, 10, 27)]
    exp = availability.expand(days, dt.time(9), dt.time(12), BERLIN, event_start=utc(2026, 10, 22, 22), event_end=utc(2026, 10, 27, 23),
                              slot_minutes=30)
    assert [s.start for s in exp.added] == [utc(2026, 10, 23, 7), utc(2026, 10, 24, 7), utc(2026, 10, 25, 8), utc(2026, 10, 26, 8),
                                            utc(2026, 10, 27, 8)]
    assert all(s.minutes == 180 for s in exp.added)


def test_a_window_the_spring_change_skips_is_reported() -> None:
    exp = availability.expand([d(28), d(29)], dt.time(2), dt.time(3), BERLIN, event_start=utc(2026, 3, 27), event_end=utc(2026, 3, 31),
                              slot_minutes=30)
    assert exp.added_days == [d(28)] and exp.skipped_days == [d(29)]
    assert "Not added on Sun 29 Mar: the clocks change and skip those hours." in availability.summary(
        exp, dt.time(2), dt.time(3), merged=False, new_slots=2)


def test_choose_days() -> None:
    days = [d(27), d(28), d(29), d(30)]  # Fri to Mon
    assert availability.choose_days(days, Repeat.EVERY_DAY) == days
    assert availability.choose_days(days, Repeat.WORKDAYS) == [d(27), d(30)]
    assert availability.choose_days(days, Repeat.WEEKDAYS, weekdays=[5, 6]) == [d(28), d(29)]
    assert availability.choose_days(days, Repeat.DATES, dates=[d(29)]) == [d(29)]
    with pytest.raises(Invalid, match="The event has no Monday to Friday"):
        availability.choose_days([d(28), d(29)], Repeat.WORKDAYS)
    with pytest.raises(Invalid, match="The event has no Tuesday"):
        availability.choose_days(days, Repeat.WEEKDAYS, weekdays=[1])
    with pytest.raises(Invalid, match="Tue 31 Mar is not a day of the event"):
        availability.choose_days(days, Repeat.DATES, dates=[d(31)])


def test_merge_joins_overlapping_and_touching_windows_only() -> None:
    a, b, c, e = (Span(utc(2026, 3, 10, h), utc(2026, 3, 10, h + 1)) for h in (8, 9, 11, 12))
    inside = Span(utc(2026, 3, 10, 8, 15), utc(2026, 3, 10, 8, 45))
    assert availability.merge([e, c, inside, b, a]) == [Span(utc(2026, 3, 10, 8), utc(2026, 3, 10, 10)), Span(utc(2026, 3, 10, 11), utc(2026, 3, 10, 13))]


def test_patterns_and_removing_one() -> None:
    spans = [Span(utc(2026, 3, day, 8), utc(2026, 3, day, 11)) for day in (10, 11)] + [Span(utc(2026, 3, 11, 13), utc(2026, 3, 11, 15))]
    groups = availability.patterns(spans, BERLIN)
    assert [(p.start, p.end, len(p.spans)) for p in groups] == [("09:00", "12:00", 2), ("14:00", "16:00", 1)]
    kept, removed = availability.remove_pattern(spans, "09:00", "12:00", BERLIN)
    assert kept == [spans[2]] and removed == spans[:2]


def test_day_list_names_each_month_once() -> None:
    assert availability.day_list([d(10), d(11), d(12)]) == "Tue 10, Wed 11, Thu 12 Mar"
    assert availability.day_list([d(30), d(31), d(1, 4)]) == "Mon 30, Tue 31 Mar, Wed 01 Apr"
    assert availability.day_list([d(day) for day in range(1, 13)]) == "Sun 01 Mar to Thu 12 Mar"


def test_pieces_split_at_the_viewers_midnight_and_keep_the_wall_clock() -> None:
    week = [d(9), d(10), d(11)]
    # 23:00-01:00 Berlin: two pieces, the first running to the end of its day.
    assert pieces(utc(2026, 3, 9, 22), utc(2026, 3, 10, 0), week, BERLIN) == [(0, 23 * 60, 24 * 60), (1, 0, 60)]
    # The same instants for a viewer in Tokyo (UTC+9): 07:00-09:00 on the 10th.
    assert pieces(utc(2026, 3, 9, 22), utc(2026, 3, 10, 0), week, "Asia/Tokyo") == [(1, 7 * 60, 9 * 60)]
    # On the spring-forward day 01:00-04:00 on the wall clock is two real hours, drawn from 01:00 to 04:00.
    assert pieces(utc(2026, 3, 29, 0), utc(2026, 3, 29, 2), [d(29)], BERLIN) == [(0, 60, 240)]
    # Outside the week: nothing.
    assert pieces(utc(2026, 3, 20, 8), utc(2026, 3, 20, 9), week, BERLIN) == []
