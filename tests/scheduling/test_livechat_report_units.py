"""The report's pure parts: percentiles against hand-computed values, durations in words, filters, one row's numbers."""

from __future__ import annotations

import datetime as dt

import pytest

from scheduling.errors import Invalid
from scheduling.livechat import reports
from scheduling.livechat.reports import Sample, duration_text, median, p90, parse_filters, percentile, summarize

T0 = dt.datetime(2026, 3, 20, 9, 0, tzinfo=dt.UTC)


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def test_no_samples_have_no_median_or_percentile() -> None:
    assert median([]) is None and p90([]) is None and percentile([], 0.0) is None


def test_one_sample_is_every_quantile_of_itself() -> None:
    assert median([42.0]) == 42.0 and p90([42.0]) == 42.0 and percentile([42.0], 0.0) == 42.0 and percentile([42.0], 1.0) == 42.0


def test_two_samples_interpolate() -> None:
    # h = (2 - 1) * p: the median is halfway, the 90th percentile 9/10 of the way from 10 to 20.
    assert median([20.0, 10.0]) == 15.0
    assert p90([10.0, 20.0]) == pytest.approx(19.0)
    assert percentile([10.0, 20.0], 0.0) == 10.0 and percentile([10.0, 20.0], 1.0) == 20.0


def test_hand_computed_values() -> None:
    # 1..10: median h = 4.5 -> 5 + .5 * (6 - 5) = 5.5; p90 h = 8.1 -> 9 + .1 * (10 - 9) = 9.1
    values = [float(v) for v in (7, 3, 10, 1, 9, 2, 8, 5, 4, 6)]
    assert median(values) == 5.5
    assert p90(values) == pytest.approx(9.1)
    # Odd count: the middle value; [30, 60, 90, 600, 1200]: p90 h = 3.6 -> 600 + .6 * 600 = 960
    assert median([600.0, 30.0, 1200.0, 90.0, 60.0]) == 90.0
    assert p90([600.0, 30.0, 1200.0, 90.0, 60.0]) == pytest.approx(960.0)
    # Equal values stay themselves.
    assert median([5.0, 5.0, 5.0]) == 5.0 and p90([5.0, 5.0, 5.0]) == 5.0


def test_percentile_refuses_p_outside_0_1() -> None:
    with pytest.raises(ValueError):
        percentile([1.0], 1.5)


@pytest.mark.parametrize(("seconds", "text"), [
    (None, "—"), (0, "0 s"), (0.4, "0 s"), (0.5, "1 s"), (42, "42 s"), (59.6, "1 m"), (102, "1 m 42 s"), (120, "2 m"),
    (3600, "1 h"), (3600 + 5 * 60 + 30, "1 h 5 m"), (2 * 86_400 + 3 * 3600, "2 d 3 h"), (-5, "0 s"),
])
def test_durations_in_words(seconds: float | None, text: str) -> None:
    assert duration_text(seconds) == text


def test_seconds_cell() -> None:
    assert reports.seconds_cell(None) == "" and reports.seconds_cell(90.0) == "90" and reports.seconds_cell(15.5) == "15.5"
    assert reports.seconds_cell(19.04) == "19"


def test_a_row_counts_answered_missed_and_times() -> None:
    samples = [
        # answered: waited 60 s, first line after 90 s, handled for 300 s; rated 4 stars
        Sample(1, 1, None, 7, "ended", at(0), at(60), at(90), at(360), rating=4),
        # answered: waited 120 s, first line 130 s, still going (no handling time yet)
        Sample(2, 1, None, 7, "active", at(0), at(120), at(130), None),
        # answered but nobody wrote yet, ended after 10 s: in wait and handling, not in first response
        Sample(3, 1, None, 7, "ended", at(0), at(30), None, at(40), rating=2),
        # missed: ended without being taken
        Sample(4, 1, None, None, "ended", at(0), None, None, at(600)),
        # resolved automatically while waiting: missed too
        Sample(5, 1, None, None, "ended", at(0), None, None, at(900)),
        # a note left while nobody was online, later answered: never queued, so not answered and not in the times
        Sample(6, 1, None, 7, "note", None, at(3000), at(3000), None),
        # still waiting
        Sample(7, 1, None, None, "waiting", at(0), None, None, None),
    ]
    row = summarize(1, "Spring Fair", samples)
    assert (row.chats, row.answered, row.not_answered, row.missed) == (7, 3, 4, 2)
    assert (row.wait.count, row.wait.median, row.wait.p90) == (3, 60.0, pytest.approx(108.0))  # [30, 60, 120]: h=1.8 -> 60 + .8*60
    assert (row.first_response.count, row.first_response.median, row.first_response.p90) == (2, 110.0, pytest.approx(126.0))
    assert (row.handling.count, row.handling.median, row.handling.p90) == (2, 155.0, pytest.approx(271.0))  # [10, 300]
    assert [(r.style, r.scale, r.average, r.count) for r in row.ratings] == [("stars", 5, 3.0, 2)]


def test_ratings_of_different_scales_are_never_mixed() -> None:
    samples = [Sample(1, 1, None, 7, "ended", at(0), at(1), at(2), at(3), rating=5, style="stars"),
               Sample(2, 2, None, 7, "ended", at(0), at(1), at(2), at(3), rating=3, style="smileys"),
               Sample(3, 2, None, 7, "ended", at(0), at(1), at(2), at(3), rating=2, style="smileys")]
    row = summarize(7, "Rita", samples)
    assert [(r.style, r.scale, r.average, r.count) for r in row.ratings] == [("smileys", 3, 2.5, 2), ("stars", 5, 5.0, 1)]


def test_an_empty_row() -> None:
    row = summarize(None, "All", [])
    assert (row.chats, row.answered, row.wait.median, row.ratings) == (0, 0, None, [])


def test_rows_are_sorted_by_label_with_the_keyless_row_last() -> None:
    samples = [Sample(i, None, team, None, "waiting", at(0), None, None, None) for i, team in enumerate([2, None, 1, 2])]
    rows = reports.group_rows(samples, lambda s: s.team_id, lambda k: {1: "b team", 2: "A team"}.get(k or 0, "No team"))
    assert [(r.label, r.chats) for r in rows] == [("A team", 2), ("b team", 1), ("No team", 1)]


TODAY = dt.date(2026, 3, 20)


def test_filters_default_to_the_last_seven_days() -> None:
    f = parse_filters(day_from=None, day_to=None, group=None, event=None, tz="Europe/Berlin", today=TODAY)
    assert (f.day_from, f.day_to, f.group, f.event_id) == (dt.date(2026, 3, 14), TODAY, "event", None)
    # Midnight to midnight in the viewer's zone (Berlin is UTC+1 in March before the change).
    assert f.starts_at == dt.datetime(2026, 3, 13, 23, 0, tzinfo=dt.UTC)
    assert f.ends_at == dt.datetime(2026, 3, 20, 23, 0, tzinfo=dt.UTC)
    assert f.query() == {"from": "2026-03-14", "to": "2026-03-20", "group": "event"}


def test_filters_in_another_zone_and_across_a_clock_change() -> None:
    f = parse_filters(day_from="2026-03-28", day_to="2026-03-29", group="person", event="12", tz="Europe/Berlin", today=TODAY)
    assert f.starts_at == dt.datetime(2026, 3, 27, 23, 0, tzinfo=dt.UTC)
    assert f.ends_at == dt.datetime(2026, 3, 29, 22, 0, tzinfo=dt.UTC)  # summer time from the 29th
    assert (f.group, f.event_id) == ("person", 12)


@pytest.mark.parametrize(("kwargs", "code", "words"), [
    ({"day_from": "2026-03-20", "day_to": "2026-03-01"}, "invalid_range", "before it starts"),
    ({"day_from": "20/03/2026"}, "invalid_date", "From"),
    ({"day_to": "2026-02-30"}, "invalid_date", "To"),
    ({"day_from": "1999-12-31", "day_to": "2000-01-02"}, "invalid_date", "2000"),
    ({"day_from": "2024-01-01", "day_to": "2026-03-20"}, "invalid_range", "at most 366 days"),
    ({"group": "company"}, "invalid_group", "Group by"),
    ({"event": "abc"}, "invalid_event", "Event"),
    ({"event": "1234567890"}, "invalid_event", "Event"),
    ({"tz": "Mars/Olympus"}, "invalid_timezone", "Time zone"),
])
def test_bad_filters_say_which_field(kwargs: dict[str, str], code: str, words: str) -> None:
    args: dict[str, str | None] = {"day_from": None, "day_to": None, "group": None, "event": None, "tz": "UTC"}
    args.update(kwargs)
    with pytest.raises(Invalid) as err:
        parse_filters(day_from=args["day_from"], day_to=args["day_to"], group=args["group"], event=args["event"], tz=str(args["tz"]), today=TODAY)
    assert err.value.code == code and words in err.value.message


def test_a_one_day_range_is_fine() -> None:
    f = parse_filters(day_from="2026-03-20", day_to="2026-03-20", group="team", event="", tz="UTC", today=TODAY)
    assert f.ends_at - f.starts_at == dt.timedelta(days=1)
