"""Slot arithmetic and local times: the grid people pick from, busy blocks, and daylight-saving changes."""

from __future__ import annotations

import datetime as dt
import random
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scheduling import actions, slots, timefmt
from scheduling.models import OutboxMessage, User
from scheduling.slots import Slot
from tests.factories import World, make_world

UTC = dt.UTC
SM = async_sessionmaker[AsyncSession]
BERLIN = "Europe/Berlin"
NEW_YORK = "America/New_York"


def at(hour: int, minute: int = 0, day: int = 21) -> dt.datetime:
    return dt.datetime(2026, 3, day, hour, minute, tzinfo=UTC)


def local(day: dt.date, hh: int, mm: int, tz: str) -> dt.datetime:
    return timefmt.local_to_instant(day, dt.time(hh, mm), tz)


def labels(found: list[Slot], tz: str) -> list[str]:
    return [s.start.astimezone(ZoneInfo(tz)).strftime("%H:%M") for s in found]


def starts(found: list[Slot]) -> list[dt.datetime]:
    return [s.start for s in found]


# --------------------------------------------------------------------------- grid


def test_grid_lays_slots_back_to_back_from_the_window_start() -> None:
    found = slots.grid([(at(9), at(11))], 30, 0)
    assert starts(found) == [at(9), at(9, 30), at(10), at(10, 30)]
    assert all(s.end - s.start == dt.timedelta(minutes=30) for s in found)


def test_grid_leaves_the_buffer_between_slots_and_drops_a_slot_that_does_not_fit() -> None:
    # 30 min + 10 min buffer: 09:00, 09:40, 10:20; 11:00 would end at 11:30, after the window.
    found = slots.grid([(at(9), at(11))], 30, 10)
    assert found == [Slot(at(9), at(9, 30)), Slot(at(9, 40), at(10, 10)), Slot(at(10, 20), at(10, 50))]


def test_grid_with_several_windows_is_sorted_and_each_window_has_its_own_grid() -> None:
    found = slots.grid([(at(14, 5), at(15, 5)), (at(9), at(10))], 30, 0)
    assert starts(found) == [at(9), at(9, 30), at(14, 5), at(14, 35)]


def test_a_window_shorter_than_a_slot_offers_nothing() -> None:
    assert slots.grid([(at(9), at(9, 25))], 30, 0) == []


def test_clipping_with_not_before_drops_earlier_slots_without_shifting_the_grid() -> None:
    full = slots.grid([(at(9), at(12))], 30, 15)
    # Looking at the grid at 09:50 must not move the next slot to 09:50: it stays at 10:30.
    clipped = slots.grid([(at(9), at(12))], 30, 15, not_before=at(9, 50))
    assert starts(full) == [at(9), at(9, 45), at(10, 30), at(11, 15)]
    assert starts(clipped) == [at(10, 30), at(11, 15)]
    assert set(clipped) <= set(full)


def test_a_slot_that_already_started_is_not_offered() -> None:
    clipped = slots.grid([(at(9), at(11))], 30, 0, not_before=at(9, 1))
    assert starts(clipped) == [at(9, 30), at(10), at(10, 30)]


def test_clipping_with_not_after_drops_slots_running_past_the_event_end() -> None:
    full = slots.grid([(at(9), at(12))], 30, 15)
    clipped = slots.grid([(at(9), at(12))], 30, 15, not_after=at(11, 30))
    # 11:15 would end at 11:45, after the event ends at 11:30.
    assert clipped == full[:3]
    assert starts(clipped) == [at(9), at(9, 45), at(10, 30)]


# --------------------------------------------------------------------------- free


def test_free_removes_slots_overlapping_busy_time_but_keeps_touching_ones() -> None:
    grid = slots.grid([(at(9), at(11))], 30, 0)
    busy = [(at(9, 30), at(10)), (at(10, 40), at(10, 50))]
    assert starts(slots.free(grid, busy)) == [at(9), at(10)]


def test_free_without_busy_time_keeps_the_whole_grid() -> None:
    grid = slots.grid([(at(9), at(11))], 30, 0)
    assert slots.free(grid, []) == grid


# --------------------------------------------------------------------------- blocks


def test_blocks_cover_an_interval_with_five_minute_blocks() -> None:
    found = slots.blocks(at(10), at(10, 30))
    assert len(found) == 6
    assert found == list(range(found[0], found[0] + 6))
    epoch = dt.datetime(1970, 1, 1, tzinfo=UTC)
    assert found[0] == (at(10) - epoch) // dt.timedelta(minutes=5)


def test_blocks_round_outward_for_times_off_the_five_minute_grid() -> None:
    # 10:02-10:08 touches the 10:00 and the 10:05 block.
    assert slots.blocks(at(10, 2), at(10, 8)) == slots.blocks(at(10), at(10, 10))
    assert len(slots.blocks(at(10, 2), at(10, 8))) == 2


def test_overlapping_intervals_share_blocks_adjacent_ones_do_not() -> None:
    first = set(slots.blocks(at(10), at(10, 30)))
    overlapping = set(slots.blocks(at(10, 25), at(10, 55)))
    adjacent = set(slots.blocks(at(10, 30), at(11)))
    assert first & overlapping == set(slots.blocks(at(10, 25), at(10, 30)))
    assert first.isdisjoint(adjacent)


def test_block_boundaries() -> None:
    assert slots.is_on_block_boundary(at(9, 5))
    assert not slots.is_on_block_boundary(at(9, 7))
    assert not slots.is_on_block_boundary(at(9, 5) + dt.timedelta(seconds=1))


# --------------------------------------------------------------------------- daylight saving


SPRING = dt.date(2026, 3, 29)  # Europe/Berlin: 02:00 CET -> 03:00 CEST
AUTUMN = dt.date(2026, 10, 25)  # Europe/Berlin: 03:00 CEST -> 02:00 CET


def test_spring_forward_window_holds_only_real_hours() -> None:
    start, end = local(SPRING, 0, 0, BERLIN), local(SPRING, 5, 0, BERLIN)
    assert end - start == dt.timedelta(hours=4)
    found = slots.grid([(start, end)], 30, 0)
    assert len(found) == 8
    assert labels(found, BERLIN) == ["00:00", "00:30", "01:00", "01:30", "03:00", "03:30", "04:00", "04:30"]
    assert all(s.end - s.start == dt.timedelta(minutes=30) for s in found)
    # The 01:30 slot lasts 30 real minutes and ends at 03:00 on the wall clock; the abbreviations say why.
    assert timefmt.span(found[3].start, found[3].end, None, BERLIN) == "Sun 29 Mar 2026, 01:30 CET–03:00 CEST (Europe/Berlin)"


def test_fall_back_window_holds_the_repeated_hour() -> None:
    start, end = local(AUTUMN, 0, 0, BERLIN), local(AUTUMN, 4, 0, BERLIN)
    assert end - start == dt.timedelta(hours=5)
    found = slots.grid([(start, end)], 30, 0)
    assert len(found) == 10
    assert labels(found, BERLIN) == ["00:00", "00:30", "01:00", "01:30", "02:00", "02:30", "02:00", "02:30", "03:00", "03:30"]
    offsets = [s.start.astimezone(ZoneInfo(BERLIN)).utcoffset() for s in found]
    assert offsets[:6] == [dt.timedelta(hours=2)] * 6
    assert offsets[6:] == [dt.timedelta(hours=1)] * 4


def test_ambiguous_local_time_means_its_first_occurrence() -> None:
    instant = local(AUTUMN, 2, 30, BERLIN)
    assert instant == dt.datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 02:30 CEST, not 02:30 CET (01:30Z)
    assert instant.astimezone(ZoneInfo(BERLIN)).utcoffset() == dt.timedelta(hours=2)
    assert local(dt.date(2026, 11, 1), 1, 30, NEW_YORK) == dt.datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # 01:30 EDT


def test_skipped_local_time_moves_forward_by_the_gap() -> None:
    # 02:30 does not exist on 29 March in Berlin; calendar programs read it as 03:30 CEST.
    instant = local(SPRING, 2, 30, BERLIN)
    assert instant == dt.datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert instant.astimezone(ZoneInfo(BERLIN)).strftime("%H:%M") == "03:30"
    # An availability from 02:00 to 04:00 typed on that day holds one real hour, not three.
    assert local(SPRING, 4, 0, BERLIN) - local(SPRING, 2, 0, BERLIN) == dt.timedelta(hours=1)
    ny = local(dt.date(2026, 3, 8), 2, 30, NEW_YORK)
    assert ny.astimezone(ZoneInfo(NEW_YORK)).strftime("%H:%M %Z") == "03:30 EDT"


def test_ordinary_local_times_convert_with_the_zone_offset() -> None:
    assert local(dt.date(2026, 1, 15), 9, 0, BERLIN) == dt.datetime(2026, 1, 15, 8, 0, tzinfo=UTC)
    assert local(dt.date(2026, 7, 15), 9, 0, BERLIN) == dt.datetime(2026, 7, 15, 7, 0, tzinfo=UTC)
    assert local(dt.date(2026, 7, 15), 9, 0, NEW_YORK) == dt.datetime(2026, 7, 15, 13, 0, tzinfo=UTC)
    # An unknown zone falls back to UTC rather than failing.
    assert local(dt.date(2026, 7, 15), 9, 0, "Mars/Olympus") == dt.datetime(2026, 7, 15, 9, 0, tzinfo=UTC)


def test_new_york_spring_forward_and_fall_back() -> None:
    spring = dt.date(2026, 3, 8)  # 02:00 EST -> 03:00 EDT
    start, end = local(spring, 0, 0, NEW_YORK), local(spring, 4, 0, NEW_YORK)
    found = slots.grid([(start, end)], 30, 0)
    assert end - start == dt.timedelta(hours=3)
    assert labels(found, NEW_YORK) == ["00:00", "00:30", "01:00", "01:30", "03:00", "03:30"]

    autumn = dt.date(2026, 11, 1)  # 02:00 EDT -> 01:00 EST
    start, end = local(autumn, 0, 0, NEW_YORK), local(autumn, 3, 0, NEW_YORK)
    found = slots.grid([(start, end)], 60, 0)
    assert end - start == dt.timedelta(hours=4)
    assert labels(found, NEW_YORK) == ["00:00", "01:00", "01:00", "02:00"]


def test_slot_grid_with_buffer_across_a_change_stays_on_real_minutes() -> None:
    start, end = local(SPRING, 1, 0, BERLIN), local(SPRING, 4, 0, BERLIN)  # 2 real hours
    found = slots.grid([(start, end)], 25, 5)
    assert len(found) == 4
    assert [b.start - a.start for a, b in zip(found, found[1:], strict=False)] == [dt.timedelta(minutes=30)] * 3
    assert labels(found, BERLIN) == ["01:00", "01:30", "03:00", "03:30"]


# --------------------------------------------------------------------------- span


def test_span_shows_the_viewer_zone_and_the_event_time_when_offsets_differ() -> None:
    start, end = at(13), at(13, 30)
    assert timefmt.span(start, end, None, BERLIN) == "Sat 21 Mar 2026, 14:00–14:30 (Europe/Berlin)"
    assert timefmt.span(start, end, NEW_YORK, BERLIN) == (
        "Sat 21 Mar 2026, 09:00–09:30 (America/New_York) · event time Sat 14:00–14:30 (Europe/Berlin)"
    )
    # Same offset, different name: no second time.
    assert timefmt.span(start, end, "Europe/Paris", BERLIN) == "Sat 21 Mar 2026, 14:00–14:30 (Europe/Paris)"
    # An unknown viewer zone shows the event's time.
    assert timefmt.span(start, end, "Nowhere/Else", BERLIN) == "Sat 21 Mar 2026, 14:00–14:30 (Europe/Berlin)"


def test_slots_in_the_repeated_autumn_hour_have_distinguishable_labels() -> None:
    found = slots.grid([(local(AUTUMN, 0, 0, BERLIN), local(AUTUMN, 4, 0, BERLIN))], 30, 0)
    texts = [timefmt.span(s.start, s.end, None, BERLIN) for s in found]
    assert len(set(texts)) == len(texts)


# --------------------------------------------------------------------------- through the domain


async def _chat_slots_on(
    sessionmaker: SM, now: dt.datetime, day: dt.date, until: int, *, talent_tz: str | None = None
) -> tuple[World, int, list[Slot]]:
    """A Berlin event on `day`; the recruiter is available 00:00 to `until`:00 local; the talent's chat is accepted."""
    w = await make_world(sessionmaker, now, timezone=BERLIN, starts_at=local(day, 0, 0, BERLIN), days=1, window=None, talents=2)
    recruiter, talent = w.recruiters[0], w.talents[0]
    ctx = actions.Context(now=now)
    async with sessionmaker() as s, s.begin():
        await actions.set_recruiter_profile(
            s, recruiter, w.event_id, recruiter.id, booking_mode="selective", custom_question="", ideal_candidate="",
            availability=[actions.Window(local(day, 0, 0, BERLIN), local(day, until, 0, BERLIN))],
        )
        if talent_tz is not None:
            me = await s.get(User, talent.id)
            assert me is not None
            me.timezone = talent_tz
    async with sessionmaker() as s, s.begin():
        chat = await actions.send_request(s, ctx, talent, w.event_id, recruiter_id=recruiter.id, message="Hello")
    async with sessionmaker() as s, s.begin():
        await actions.accept(s, ctx, recruiter, chat.id)
    async with sessionmaker() as s, s.begin():
        c = await actions.load_chat(s, chat.id, talent)
        event = await actions.get_event(s, w.event_id)
        found = await actions.open_slots_for_chat(s, c, event, now=now)
    return w, chat.id, found


async def test_recruiter_slots_on_spring_forward_day(sessionmaker: SM, now: dt.datetime) -> None:
    w, chat_id, found = await _chat_slots_on(sessionmaker, now, SPRING, 5)
    assert len(found) == 8
    assert labels(found, BERLIN) == ["00:00", "00:30", "01:00", "01:30", "03:00", "03:30", "04:00", "04:30"]

    # Booking the 03:00 slot: the confirmation shows 03:00 Berlin time, the slot is 01:00 UTC.
    talent = w.talents[0]
    async with sessionmaker() as s, s.begin():
        chat = await actions.book(s, actions.Context(now=now), talent, chat_id, found[4].start)
    assert chat.starts_at == dt.datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    async with sessionmaker() as s:
        mails = (await s.execute(select(OutboxMessage).where(OutboxMessage.kind == "confirmed"))).scalars().all()
    assert {m.to_email for m in mails} == {talent.email, w.recruiters[0].email}
    for m in mails:
        assert "When: Sun 29 Mar 2026, 03:00–03:30 CEST (Europe/Berlin, the event's time zone)" in m.body_text

    # For another talent of the same recruiter, the booked 03:00 slot is no longer offered.
    other = w.talents[1]
    ctx = actions.Context(now=now)
    async with sessionmaker() as s, s.begin():
        second = await actions.send_request(s, ctx, other, w.event_id, recruiter_id=w.recruiters[0].id)
    async with sessionmaker() as s, s.begin():
        await actions.accept(s, ctx, w.recruiters[0], second.id)
    async with sessionmaker() as s:
        c = await actions.load_chat(s, second.id, other)
        event = await actions.get_event(s, w.event_id)
        left = await actions.open_slots_for_chat(s, c, event, now=now)
    assert labels(left, BERLIN) == ["00:00", "00:30", "01:00", "01:30", "03:30", "04:00", "04:30"]


async def test_recruiter_slots_on_fall_back_day(sessionmaker: SM, now: dt.datetime) -> None:
    w, chat_id, found = await _chat_slots_on(sessionmaker, now, AUTUMN, 4, talent_tz=NEW_YORK)
    assert len(found) == 10
    assert labels(found, BERLIN) == ["00:00", "00:30", "01:00", "01:30", "02:00", "02:30", "02:00", "02:30", "03:00", "03:30"]
    # The second 02:00 is the CET one, an hour of real time after the first.
    assert found[6].start - found[4].start == dt.timedelta(hours=1)

    # A talent in New York books the second 02:00 (01:00 UTC = 21:00 EDT); both see their own time.
    talent, recruiter = w.talents[0], w.recruiters[0]
    async with sessionmaker() as s, s.begin():
        chat = await actions.book(s, actions.Context(now=now), talent, chat_id, found[6].start)
    assert chat.starts_at == dt.datetime(2026, 10, 25, 1, 0, tzinfo=UTC)
    async with sessionmaker() as s:
        mails = {m.to_email: m for m in (await s.execute(select(OutboxMessage).where(OutboxMessage.kind == "confirmed"))).scalars()}
    new_york_view = "When: Sat 24 Oct 2026, 21:00–21:30 EDT (America/New_York) · event time Sun 02:00 CET–02:30 CET (Europe/Berlin)"
    assert new_york_view in mails[talent.email].body_text
    assert "When: Sun 25 Oct 2026, 02:00 CET–02:30 CET (Europe/Berlin, the event's time zone)" in mails[recruiter.email].body_text


async def test_availability_typed_across_the_spring_gap_offers_only_real_slots(sessionmaker: SM, now: dt.datetime) -> None:
    """A recruiter types 02:00–04:00 on the spring-forward day (as the availability form does): one real hour."""
    w = await make_world(sessionmaker, now, timezone=BERLIN, starts_at=local(SPRING, 0, 0, BERLIN), days=1, window=None)
    recruiter, talent = w.recruiters[0], w.talents[0]
    ctx = actions.Context(now=now)
    async with sessionmaker() as s, s.begin():
        await actions.set_recruiter_profile(
            s, recruiter, w.event_id, recruiter.id, booking_mode="direct", custom_question="", ideal_candidate="",
            availability=[actions.Window(local(SPRING, 2, 0, BERLIN), local(SPRING, 4, 0, BERLIN))],
        )
    async with sessionmaker() as s, s.begin():
        chat = await actions.send_request(s, ctx, talent, w.event_id, recruiter_id=recruiter.id)
    assert chat.status == "accepted"  # direct booking
    async with sessionmaker() as s:
        event = await actions.get_event(s, w.event_id)
        found = await actions.open_slots_for_chat(s, chat, event, now=now)
    assert labels(found, BERLIN) == ["03:00", "03:30"]


def test_count_free_agrees_with_grid_and_free_on_random_calendars() -> None:
    """The recruiter list's fast count must equal the slots a talent would actually be offered."""
    rng = random.Random(20261121)
    base = dt.datetime(2026, 3, 1, tzinfo=UTC)
    for _ in range(2000):
        windows, cursor = [], base
        for _ in range(rng.randint(0, 4)):
            cursor += dt.timedelta(minutes=5 * rng.randint(0, 30))
            end = cursor + dt.timedelta(minutes=5 * rng.randint(1, 40))
            windows.append((cursor, end))
            cursor = end
        slot, buffer = 5 * rng.randint(1, 8), 5 * rng.randint(0, 3)
        busy = []
        for _ in range(rng.randint(0, 5)):
            start = base + dt.timedelta(minutes=5 * rng.randint(0, 200))
            busy.append((start, start + dt.timedelta(minutes=5 * rng.randint(1, 12))))
        lo = base + dt.timedelta(minutes=rng.randint(0, 300))
        hi = base + dt.timedelta(minutes=rng.randint(300, 900))
        offered = slots.free(slots.grid(windows, slot, buffer, not_before=lo, not_after=hi), busy)
        assert slots.count_free(windows, slot, buffer, busy, not_before=lo, not_after=hi) == len(offered)
