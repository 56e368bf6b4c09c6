"""The recruiter's "My calendar" (/events/{id}/profile): a week/day grid of availability and booked chats, recurring
windows added and removed (scheduling/availability.py), and the booking settings.

Everything on the page is in one zone, the viewer's (the one the footer names); when the event runs in another zone the
add form offers both. A refused form is shown again with what was typed and the field named in words.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from scheduling import actions, availability, clock_input, queries, slots, timefmt
from scheduling.availability import Repeat, Span
from scheduling.errors import DomainError, Forbidden, Invalid, NotFound
from scheduling.models import Event, Participant, User
from web.http import context, res, session_user, status_for
from web.pages import _event_ctx, _has_nul, _path_int, error_page, flash, page, render

WEEK = 7
ROW_MINUTES = 5  # one grid row; windows and chats are multiples of 5 minutes
DAY_MINUTES = 24 * 60
DEFAULT_HOURS = (8, 18)  # the grid shows at least 08:00-18:00, more when something lies outside

# Which field a refusal is about, by its error code: the message is shown next to it.
FIELD_OF = {
    "bad_from": "from", "invalid_start_time": "from", "bad_to": "to", "invalid_end_time": "to", "end_before_start": "to",
    "availability_too_short": "to", "no_days": "days", "nothing_added": "to", "invalid_booking_mode": "booking_mode",
}


# --------------------------------------------------------------------------- the grid


@dataclass
class Block:
    """Something drawn on the grid: an availability window, a booked chat, or hours outside the event."""

    col: int  # the day's column within the week, from 0
    top: int  # minutes after local midnight
    bottom: int
    kind: str  # "window" | "chat" | "closed"
    label: str = ""
    detail: str = ""
    href: str | None = None
    selected: bool = False

    def rows(self, first_hour: int) -> tuple[int, int]:
        """Grid rows (1-based; row 1 holds the day names) for the block's top and bottom."""
        base = first_hour * 60
        return 2 + (self.top - base) // ROW_MINUTES, 2 + -(-(self.bottom - base) // ROW_MINUTES)


@dataclass
class Column:
    day: dt.date
    open_slots: int
    booked: int
    selected: bool


@dataclass
class WeekGrid:
    columns: list[Column]
    blocks: list[Block]
    first_hour: int
    last_hour: int
    index: int  # which week of the event, from 0
    count: int
    prev_day: dt.date | None
    next_day: dt.date | None
    selected: dt.date
    hours: list[int] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return (self.last_hour - self.first_hour) * 60 // ROW_MINUTES


def pieces(start: dt.datetime, end: dt.datetime, days: list[dt.date], tz: str) -> list[tuple[int, int, int]]:
    """(column, top, bottom) in wall-clock minutes for each day of `days` that [start, end) touches; split at midnight."""
    zone = timefmt.zone(tz)
    out = []
    for col, day in enumerate(days):
        day_start = timefmt.local_to_instant(day, dt.time(0), tz)
        day_end = timefmt.local_to_instant(day + dt.timedelta(days=1), dt.time(0), tz)
        a, b = max(start, day_start), min(end, day_end)
        if b <= a:
            continue
        la, lb = a.astimezone(zone), b.astimezone(zone)
        top = la.hour * 60 + la.minute
        bottom = DAY_MINUTES if b == day_end else lb.hour * 60 + lb.minute
        out.append((col, top, max(bottom, top + ROW_MINUTES)))  # an autumn hour can run the wall clock backwards
    return out


def week_grid(
    days: list[dt.date], selected: dt.date, tz: str, *, event: Event, windows: list[Span], chats: list[queries.ChatView],
    open_slots: list[slots.Slot],
) -> WeekGrid:
    """The week holding `selected`: one column per event day in it, windows and chats as blocks, hours outside shaded."""
    zone = timefmt.zone(tz)
    index = next((i for i, d in enumerate(days) if d == selected), 0) // WEEK
    week = days[index * WEEK:(index + 1) * WEEK]
    blocks: list[Block] = []
    for w in windows:
        wa, wb = timefmt.clock_range(w.start, w.end, zone)
        blocks += [Block(c, t, btm, "window", "Available", f"{wa}–{wb}") for c, t, btm in pieces(w.start, w.end, week, tz)]
    for v in chats:
        chat = v.chat
        if chat.starts_at is None or chat.ends_at is None:
            continue
        ca, cb = timefmt.clock_range(chat.starts_at, chat.ends_at, zone)
        blocks += [Block(c, t, btm, "chat", v.talent.name, f"{ca}–{cb}", f"/chats/{chat.id}") for c, t, btm in pieces(chat.starts_at, chat.ends_at, week, tz)]
    shown = [(b.top, b.bottom) for b in blocks]
    first_hour = min([DEFAULT_HOURS[0], *(t // 60 for t, _ in shown)])
    last_hour = max([DEFAULT_HOURS[1], *(-(-btm // 60) for _, btm in shown)])
    # Hours of the first and last day outside the event, within the hours drawn.
    first_day = timefmt.local_to_instant(week[0], dt.time(0), tz)
    last_day_end = timefmt.local_to_instant(week[-1] + dt.timedelta(days=1), dt.time(0), tz)
    for a, b in ((first_day, event.starts_at), (event.ends_at, last_day_end)):
        for c, top, bottom in pieces(a, b, week, tz):
            t, btm = max(top, first_hour * 60), min(bottom, last_hour * 60)
            if btm > t:
                blocks.append(Block(c, t, btm, "closed", "Outside the event"))
    columns = []
    for col, day in enumerate(week):
        blocks_of_day = [blk for blk in blocks if blk.col == col]
        for blk in blocks_of_day:
            blk.selected = day == selected
        columns.append(Column(
            day=day, open_slots=sum(1 for s in open_slots if s.start.astimezone(zone).date() == day),
            booked=sum(1 for blk in blocks_of_day if blk.kind == "chat"), selected=day == selected,
        ))
    count = -(-len(days) // WEEK)
    return WeekGrid(
        columns=columns, blocks=blocks, first_hour=first_hour, last_hour=last_hour, index=index, count=count,
        prev_day=days[(index - 1) * WEEK] if index > 0 else None,
        next_day=days[(index + 1) * WEEK] if index + 1 < count else None,
        selected=selected, hours=list(range(first_hour, last_hour)),
    )


# --------------------------------------------------------------------------- page


def _page_zone(user: User, event: Event) -> str:
    """The viewer's zone, as the footer names it (render() computes it the same way)."""
    return timefmt.zone(user.timezone, event.timezone).key


def _calendar_days(event: Event, tz: str, keep: list[Span] | None = None) -> list[dt.date]:
    """The event's days in `tz`, as many as the event header names (see availability.viewer_days), plus any day that
    holds one of `keep` (the recruiter's windows and chats), so nothing stored goes undrawn."""
    return availability.viewer_days(event.starts_at, event.ends_at, event.timezone, tz, slot_minutes=event.slot_minutes,
                                    keep=[(s.start, s.end) for s in keep or ()])


def _default_form() -> dict[str, Any]:
    return {"from": "09:00", "to": "12:00", "repeat": Repeat.EVERY_DAY.value, "weekdays": [], "dates": [], "zone": ""}


async def _calendar_ctx(
    session: AsyncSession, request: Request, user: User, *, form: dict[str, Any] | None = None, error: str = "", error_field: str = "",
    settings: dict[str, str] | None = None,
) -> dict[str, Any]:
    event, member, ctx = await _event_ctx(session, request, user)
    if member is None or member.role != "recruiter":
        raise Forbidden("Only recruiters set availability.")
    tz = _page_zone(user, event)
    rows = await queries.availability(session, member)
    windows = [Span(w.starts_at, w.ends_at) for w in rows]
    now = res(request).clock()
    chats = await queries.chats(session, event.id, user, member, statuses=("confirmed", "completed"))
    chats = [v for v in chats if v.chat.recruiter_id == user.id]
    held = windows + [Span(v.chat.starts_at, v.chat.ends_at) for v in chats if v.chat.starts_at and v.chat.ends_at]
    days = _calendar_days(event, tz, held)
    selected = _selected_day(request.query_params.get("day", ""), days, now.astimezone(timefmt.zone(tz)).date())
    all_slots = slots.grid([(w.start, w.end) for w in windows], event.slot_minutes, event.buffer_minutes,
                           not_before=event.starts_at, not_after=event.ends_at)
    busy = await actions.busy_intervals(session, [user.id])
    open_slots = [s for s in slots.free(all_slots, busy) if s.start >= now]
    grid = week_grid(days, selected, tz, event=event, windows=windows, chats=chats, open_slots=open_slots)
    input_days = sorted(set(days) | set(_calendar_days(event, event.timezone)))
    weekdays_in_event = sorted({d.weekday() for d in input_days})
    values = form or _default_form()
    return {
        **ctx, "nav": "profile", "tz": tz, "event_zone_differs": tz != timefmt.zone(event.timezone).key,
        "windows": windows, "patterns": availability.patterns(windows, tz), "slot_count": len(all_slots), "open_count": len(open_slots),
        "grid": grid, "local_range": _range_label([c.day for c in grid.columns]), "days": days, "input_days": input_days,
        "every_day_count": len(_calendar_days(event, tz)),  # what "Every day of the event" adds to (the page's days, less kept extras)
        "weekdays_in_event": weekdays_in_event,
        "weekday_names": availability.WEEKDAY_NAMES, "has_weekend": any(w >= 5 for w in weekdays_in_event),
        "form": values, "error": error, "error_field": error_field,
        "settings": settings or {"booking_mode": member.booking_mode, "ideal_candidate": member.ideal_candidate,
                                 "custom_question": member.custom_question},
        "zone_of": lambda instant: instant.astimezone(timefmt.zone(tz)),
    }


def _range_label(days: list[dt.date]) -> str:
    """'Mon 07 – Wed 09 Jan 2030', or one day's name."""
    first, last = days[0], days[-1]
    if first == last:
        return first.strftime("%a %d %b %Y")
    left = first.strftime("%a %d" if (first.year, first.month) == (last.year, last.month) else "%a %d %b" if first.year == last.year else "%a %d %b %Y")
    return f"{left} – {last.strftime('%a %d %b %Y')}"


def _selected_day(raw: str, days: list[dt.date], today: dt.date) -> dt.date:
    try:
        wanted = dt.date.fromisoformat(raw) if raw else None
    except ValueError:
        wanted = None
    if wanted in days:
        assert wanted is not None
        return wanted
    return today if today in days else days[0]


@page
async def calendar_page(request: Request, session: AsyncSession, user: User) -> Response:
    return render(request, "profile.html", user, **await _calendar_ctx(session, request, user))


# --------------------------------------------------------------------------- changes


@dataclass
class Done:
    message: str
    day: dt.date | None = None  # the grid's day to show afterwards


def _clock(form: FormData, name: str, label: str) -> dt.time:
    """A 24-hour time as typed: 9:00, 09:00 or 0900 (and 24:00 for an end at midnight)."""
    raw = str(form.get(name, ""))
    value = clock_input.parse_clock(raw, allow_24=name == "to")
    if value is None:
        said = f" \u201c{clock_input.typed(raw)}\u201d is not one; times are 24-hour, like 14:30." if raw.strip() else ""
        raise Invalid(f"Give the {label} time as hours and minutes, like 09:00.{said}", code=f"bad_{name}")
    return value


def _add_form(form: FormData, tz: str, event: Event) -> dict[str, Any]:
    """The add form's values as typed, for showing them again."""
    zone = str(form.get("zone", ""))
    return {
        "from": str(form.get("from", ""))[:12], "to": str(form.get("to", ""))[:12], "repeat": str(form.get("repeat", Repeat.EVERY_DAY.value)),
        "weekdays": [str(v) for v in form.getlist("weekday")][:7], "dates": [str(v) for v in form.getlist("date")][:400],
        "zone": zone if zone in (tz, event.timezone) else "",
    }


async def _add(
    session: AsyncSession, ctx: actions.Context, event: Event, member: Participant, user: User, form: FormData, tz: str
) -> Done:
    zone = str(form.get("zone", "")) or tz
    if zone not in (tz, event.timezone):
        zone = tz
    start, end = _clock(form, "from", "start"), _clock(form, "to", "end")
    try:
        repeat = Repeat(str(form.get("repeat", Repeat.EVERY_DAY.value)))
    except ValueError:
        repeat = Repeat.EVERY_DAY
    weekdays = {int(str(v)) for v in form.getlist("weekday") if str(v) in {"0", "1", "2", "3", "4", "5", "6"}}
    dates: set[dt.date] = set()
    for v in form.getlist("date")[:400]:
        try:
            dates.add(dt.date.fromisoformat(str(v)))
        except ValueError:
            raise Invalid("One of the ticked dates is not a date; reload the page and try again.", code="no_days") from None
    existing = [Span(w.starts_at, w.ends_at) for w in await queries.availability(session, member)]
    days = _calendar_days(event, zone)
    if repeat is Repeat.DATES:  # the dates ticked are the page's: its days in the viewer's zone, and the event's own
        days = sorted(set(days) | set(_calendar_days(event, tz, existing)) | set(_calendar_days(event, event.timezone)))
    chosen = availability.choose_days(days, repeat, weekdays=weekdays, dates=dates)
    exp = availability.expand(chosen, start, end, zone, event_start=event.starts_at, event_end=event.ends_at, slot_minutes=event.slot_minutes)
    def count(spans: list[Span]) -> int:
        return availability.slot_count(spans, slot_minutes=event.slot_minutes, buffer_minutes=event.buffer_minutes,
                                       event_start=event.starts_at, event_end=event.ends_at)

    before = count(existing)
    merged = availability.merge(existing + exp.added)
    after = count(merged)
    if not exp.added or after <= before:
        raise Invalid(availability.nothing_added(exp, start, end, slot_minutes=event.slot_minutes, buffer_minutes=event.buffer_minutes),
                      code="nothing_added")
    await _store(session, ctx, user, event, member, merged)
    message = availability.summary(exp, start, end, merged=len(merged) < len(existing) + len(exp.added), new_slots=after - before)
    if zone != tz:
        message += f" (Times read in {zone}.)"
    return Done(message, exp.added[0].start.astimezone(timefmt.zone(tz)).date())


async def _store(session: AsyncSession, ctx: actions.Context, user: User, event: Event, member: Participant, spans: list[Span]) -> None:
    """Through the one action that stores availability: its checks, and (with ctx) the talents waiting for a slot are told."""
    await actions.set_recruiter_profile(
        session, user, event.id, user.id, booking_mode=member.booking_mode, custom_question=member.custom_question,
        ideal_candidate=member.ideal_candidate, availability=[actions.Window(s.start, s.end) for s in spans], ctx=ctx,
    )


def _instant(raw: str) -> dt.datetime | None:
    try:
        value = dt.datetime.fromisoformat(raw)
    except ValueError:
        return None
    return value.astimezone(dt.UTC) if value.tzinfo else None


async def _remove(
    session: AsyncSession, ctx: actions.Context, event: Event, member: Participant, user: User, form: FormData, tz: str
) -> Done:
    existing = [Span(w.starts_at, w.ends_at) for w in await queries.availability(session, member)]
    start, end = _instant(str(form.get("start", ""))), _instant(str(form.get("end", "")))
    gone = Span(start, end) if start and end else None
    if gone is None or gone not in existing:
        raise Invalid("That window was already removed or changed. Here is your calendar as it is now.", code="window_not_found")
    await _store(session, ctx, user, event, member, [s for s in existing if s != gone])
    a, b = timefmt.clock_range(gone.start, gone.end, timefmt.zone(tz))
    day = gone.start.astimezone(timefmt.zone(tz)).date()
    return Done(f"Removed {a}–{b} on {availability.short_date(day)}. Chats already booked in it stay booked.", day)


async def _remove_set(
    session: AsyncSession, ctx: actions.Context, event: Event, member: Participant, user: User, form: FormData, tz: str
) -> Done:
    existing = [Span(w.starts_at, w.ends_at) for w in await queries.availability(session, member)]
    start, end = str(form.get("from", ""))[:5], str(form.get("to", ""))[:5]
    kept, removed = availability.remove_pattern(existing, start, end, tz)
    if not removed:
        raise Invalid("Those windows were already removed or changed. Here is your calendar as it is now.", code="window_not_found")
    await _store(session, ctx, user, event, member, kept)
    days = [s.start.astimezone(timefmt.zone(tz)).date() for s in removed]
    return Done(f"Removed {start}–{end} on {availability.plural(len(days), 'day')}: {availability.day_list(days)}. "
                "Chats already booked in them stay booked.")


async def _settings(
    session: AsyncSession, ctx: actions.Context, event: Event, member: Participant, user: User, form: FormData, tz: str
) -> Done:
    await actions.set_recruiter_profile(
        session, user, event.id, user.id, booking_mode=str(form.get("booking_mode", member.booking_mode)),
        custom_question=str(form.get("custom_question", "")), ideal_candidate=str(form.get("ideal_candidate", "")), availability=None,
    )
    return Done("Settings saved.")


OPS = {"add": _add, "remove": _remove, "remove_set": _remove_set, "settings": _settings}


async def calendar_post(request: Request) -> Response:  # noqa: PLR0911 -- one early answer per way a form can fail
    """One change to the calendar in one transaction. Refused additions and settings are shown again as typed."""
    form = await request.form()
    if not secrets.compare_digest(str(form.get("csrf", "")), request.session.get("csrf", "") or "x"):
        return await error_page(request, 403, "Your form expired or came from another site. Go back, reload the page and try again.")
    if _has_nul(form):
        return await error_page(request, 400, "The form holds characters that can't be stored. Remove them and try again.")
    event_id = _path_int(request, "event_id")
    op = str(form.get("op", "settings"))
    run = OPS.get(op, _settings)
    back = f"/events/{event_id}/profile"
    async with res(request).sessionmaker() as session:
        async with session.begin():
            user = await session_user(request, session)
        if user is None:
            return RedirectResponse("/login", status_code=303)
        try:
            async with session.begin():
                event = await actions.get_event(session, event_id)
                # Locked first: two additions at once (two tabs, a double click) each read the windows and write them
                # back whole, so the second must see what the first stored.
                member = await actions.participation(session, event.id, user.id, lock=True)
                if member is None or member.role != "recruiter":
                    if member is None and not user.is_admin:
                        raise NotFound("No such event.", code="event_not_found")
                    raise Forbidden("Only recruiters set availability.")
                done = await run(session, context(request), event, member, user, form, _page_zone(user, event))
        except DomainError as err:
            if isinstance(err, (NotFound, Forbidden)):
                return await error_page(request, status_for(err), err.message)
            if op not in ("add", "settings"):
                flash(request, err.message, "error")
                return RedirectResponse(back, status_code=303)
            async with session.begin():
                await session.refresh(user)  # the rollback expired it; the page below reads its name and zone
                try:
                    event = await actions.get_event(session, event_id)
                    tz = _page_zone(user, event)
                    ctx = await _calendar_ctx(
                        session, request, user, error=err.message, error_field=FIELD_OF.get(err.code, "") or ("settings" if op == "settings" else ""),
                        form=_add_form(form, tz, event) if op == "add" else None,
                        settings={k: str(form.get(k, ""))[:20000] for k in ("booking_mode", "ideal_candidate", "custom_question")}
                        if op == "settings" else None,
                    )
                except DomainError as err2:
                    return await error_page(request, status_for(err2), err2.message, session=session)
            ctx["error_op"] = op
            return render(request, "profile.html", user, status=status_for(err), **ctx)
    flash(request, done.message)
    return RedirectResponse(back + (f"?day={done.day.isoformat()}" if done.day else ""), status_code=303)


routes = [
    Route("/events/{event_id:id}/profile", calendar_page, methods=["GET"]),
    Route("/events/{event_id:id}/profile", calendar_post, methods=["POST"]),
]
