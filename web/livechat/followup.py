"""Follow Up after a live chat, on the web: the API (email, forward, schedule; the follow-up calendar), the staff's follow-up page and
availability page, the resume a colleague was forwarded, and the candidate's public booking page behind a signed link.

The rules live in scheduling.livechat.followup; this module parses, checks who is calling, signs and reads booking links (they need the
secret key) and stores the transcript notices in the action's transaction, publishing them after commit like the rest of live chat.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Awaitable, Callable
from itertools import groupby
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

import web.convertors  # noqa: F401 -- registers the {x:id} path convertor
from scheduling import actions, clock_input, conversations, timefmt
from scheduling.conversations import Append, Entry
from scheduling.errors import DomainError, Forbidden, Invalid, NotFound
from scheduling.livechat import chats, jobs
from scheduling.livechat import followup as fu
from scheduling.livechat.models import LiveChat
from scheduling.models import User
from web.api import ApiCall, BadRequest, api, invite_response
from web.http import Resources, client_ip, context, res, session_user, status_for
from web.livechat import live
from web.livechat import schemas as ls
from web.livechat.api import _store as store_and_publish
from web.livechat.api import staff_user
from web.pages import error_page, flash, form_action, page, render
from web.settings import Settings

BOOK_SALT = "fairmeet-live-followup-book"
_SIGNED = re.compile(r"^[A-Za-z0-9_.\-]{10,500}$")
# The booking page: scripts only from Fairmeet, never framed; the link is a credential, so no referrer and no caching.
_BOOK_HEADERS = {"Content-Security-Policy": "script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
                 "Referrer-Policy": "no-referrer", "Cache-Control": "no-store", "X-Robots-Tag": "noindex"}
ACTIONS = ("email", "forward", "schedule")
DONE_TEXT = {"email": "Email sent.", "forward": "Forwarded.", "schedule": "Booking link sent."}


# --------------------------------------------------------------------------- signed booking links


def _serializer(settings: Settings, now: dt.datetime) -> URLSafeTimedSerializer:
    """Signs and checks with the app's clock rather than the system's (expiry follows the clock the rest of the app uses)."""
    stamp = int(now.timestamp())

    class AtNow(TimestampSigner):
        def get_timestamp(self) -> int:
            return stamp

    return URLSafeTimedSerializer(settings.secret_key, salt=BOOK_SALT, signer=AtNow)


def book_link(settings: Settings, now: dt.datetime, chat: LiveChat, recruiter: User) -> str:
    signed = _serializer(settings, now).dumps({"c": chat.id, "r": recruiter.id, "e": fu.email_digest(chat.candidate_email)})
    return f"{settings.base_url.rstrip('/')}/book/{signed}"


def read_link(settings: Settings, now: dt.datetime, signed: str) -> tuple[int, int, str] | None:
    """(chat id, recruiter id, address digest) of an intact, unexpired link; None otherwise."""
    if not _SIGNED.match(signed):
        return None
    try:
        data = _serializer(settings, now).loads(signed, max_age=int(fu.LINK_LIFETIME.total_seconds()))
    except (BadSignature, SignatureExpired):
        return None
    if not isinstance(data, dict):
        return None
    c, r, e = data.get("c"), data.get("r"), data.get("e")
    return (c, r, e) if isinstance(c, int) and isinstance(r, int) and isinstance(e, str) else None


def _resume_url(settings: Settings) -> Callable[[LiveChat], str]:
    return lambda chat: f"{settings.base_url.rstrip('/')}/live/shared/{chat.id}/resume"


def _ref(user: User) -> ls.PersonRefOut:
    return ls.PersonRefOut(id=user.id, name=user.name)


# --------------------------------------------------------------------------- API


def _write_limited(request: Request, user: User) -> None:
    """Follow-ups send mail and texts from the platform: a daily ceiling per person besides the per-minute limit, and a
    few per chat a day (`_chat_limited`), so an account can't turn them into a mailer (the limits are per app process)."""
    r = res(request)
    for limiter, key in ((r.write_limiter, f"followup|{user.id}"), (r.live_limits["followup_user"], f"user:{user.id}")):
        if not limiter.allow(key):
            raise BadRequest("rate_limited", f"Too many follow-ups for now; try again in {limiter.retry_after(key)} s.", status=429)


def _chat_limited(request: Request, chat_id: int) -> None:
    limiter, key = res(request).live_limits["followup_chat"], f"chat:{chat_id}"
    if not limiter.allow(key):
        raise BadRequest("rate_limited", "This candidate has had enough mail from us today; try again tomorrow.", status=429)


def _sent_to(done: fu.Done) -> list[str]:
    return [m.to_email for m in done.sent if m.channel == "email"]


def _texted(done: fu.Done) -> bool:
    return any(m.channel == "sms" for m in done.sent)


@api(auth=False)
async def api_info(call: ApiCall) -> Any:
    user = await staff_user(call)
    chat = await fu.followup_chat(call.session, call.path_int("chat_id"), user, call.ctx.now)
    return 200, ls.FollowUpInfoOut(
        chat_id=chat.id, colleagues=[_ref(u) for u in await fu.colleagues(call.session, chat, user)],
        calendar=await _calendar_summary(call.session, user, call.ctx.now),
        candidate={"name": chat.candidate_name, "email": chat.candidate_email, "phone": chat.candidate_phone, "sms_consent": chat.sms_consent},
        resume={"name": chat.resume_name, "size": chat.resume_size} if chat.resume_file else None,
        shares=[{"user": _ref(u).model_dump(), "resume": s.resume, "transcript": s.transcript, "at": s.updated_at.isoformat()}
                for s, u in await fu.shares(call.session, chat.id)],
        page=f"/live/chats/{chat.id}/follow-up",
    )


async def _calendar_summary(session: AsyncSession, user: User, now: dt.datetime) -> dict[str, Any]:
    cal = await fu.calendar(session, user.id)
    return {"configured": cal is not None, "open_slots": len(await fu.open_slots(session, cal, now)) if cal else 0,
            "slot_minutes": cal.event.slot_minutes if cal else 30, "page": "/live/availability"}


@api(auth=False)
async def api_email(call: ApiCall) -> Any:
    user = await staff_user(call)
    body = await call.body(ls.FollowUpEmailIn)
    _write_limited(call.request, user)
    done = await fu.send_email(call.session, call.ctx, user, call.path_int("chat_id"), subject=body.subject, body=body.body, copy_me=body.copy_me)
    _chat_limited(call.request, done.chat.id)  # after the permission check (strangers can't use up a chat's allowance); raising rolls back
    await store_and_publish(call, done.notices)
    return 201, ls.FollowUpOut(chat_id=done.chat.id, action="email", sent_to=_sent_to(done))


@api(auth=False)
async def api_forward(call: ApiCall) -> Any:
    user = await staff_user(call)
    body = await call.body(ls.FollowUpForwardIn)
    _write_limited(call.request, user)
    done = await fu.forward(call.session, call.ctx, user, call.path_int("chat_id"), to_user_id=body.to_user_id, to_email=body.to_email,
                            message=body.message, include_resume=body.include_resume, include_transcript=body.include_transcript,
                            resume_url=_resume_url(res(call.request).settings))
    assert done.colleague is not None and done.share is not None
    return 201, ls.FollowUpOut(chat_id=done.chat.id, action="forward", sent_to=_sent_to(done), shared_with=_ref(done.colleague),
                               resume=done.share.resume, transcript=done.share.transcript)


@api(auth=False)
async def api_schedule(call: ApiCall) -> Any:
    user = await staff_user(call)
    body = await call.body(ls.FollowUpScheduleIn)
    _write_limited(call.request, user)
    settings = res(call.request).settings
    done = await fu.send_schedule_link(call.session, call.ctx, user, call.path_int("chat_id"), message=body.message,
                                       link=lambda chat, rec: book_link(settings, call.ctx.now, chat, rec))
    _chat_limited(call.request, done.chat.id)
    await store_and_publish(call, done.notices)
    return 201, ls.FollowUpOut(chat_id=done.chat.id, action="schedule", sent_to=_sent_to(done), texted=_texted(done),
                               expires_at=done.expires_at.isoformat() if done.expires_at else None)


async def _calendar_out(session: AsyncSession, user: User, now: dt.datetime) -> ls.FollowUpCalendarOut:
    cal = await fu.calendar(session, user.id)
    if cal is None:
        return ls.FollowUpCalendarOut(event_id=None, timezone=user.timezone or "UTC", slot_minutes=30, availability=[], open_slots=0, upcoming=[])
    return ls.FollowUpCalendarOut(
        event_id=cal.event.id, timezone=cal.event.timezone, slot_minutes=cal.event.slot_minutes,
        availability=[{"start": w.starts_at.isoformat(), "end": w.ends_at.isoformat()} for w in await fu.windows(session, cal) if w.ends_at > now],
        open_slots=len(await fu.open_slots(session, cal, now)),
        upcoming=[{"chat_request_id": c.id, "start": c.starts_at.isoformat() if c.starts_at else None, "end": c.ends_at.isoformat() if c.ends_at else None,
                   "talent": _ref(u).model_dump()} for c, u in await fu.upcoming(session, cal, now)],
    )


@api(auth=False)
async def api_get_calendar(call: ApiCall) -> Any:
    user = await staff_user(call)
    if not await jobs.is_staff(call.session, user):
        raise Forbidden("Follow-up calendars are for recruiters and organizers.", code="not_staff")
    return 200, await _calendar_out(call.session, user, call.ctx.now)


@api(auth=False)
async def api_put_calendar(call: ApiCall) -> Any:
    user = await staff_user(call)
    body = await call.body(ls.FollowUpCalendarIn)
    await fu.set_availability(call.session, call.ctx, user, [actions.Window(w.start, w.end) for w in body.availability],
                              slot_minutes=body.slot_minutes)
    return 200, await _calendar_out(call.session, user, call.ctx.now)


# --------------------------------------------------------------------------- staff pages: the follow-up forms


async def _store_notices(session: AsyncSession, appends: list[Append]) -> list[tuple[int, list[Entry]]]:
    """Stores notices in the page's transaction; what to publish once it has committed."""
    if not appends:
        return []
    results = await conversations.store(await session.connection(), appends)
    by_chat: dict[int, list[Entry]] = {}
    for a, r in zip(appends, results, strict=True):
        if r is not None and r[1]:
            by_chat.setdefault(int(a.key.split(":")[1]), []).append(r[0])
    return list(by_chat.items())


async def _publish(r: Resources, stored: list[tuple[int, list[Entry]]]) -> None:
    pub = live.Publisher(r)
    for chat_id, entries in stored:
        await pub.safely(pub.entries(chat_id, entries))


def _path_int(request: Request, name: str) -> int:
    value = request.path_params[name]
    assert isinstance(value, int)
    return value


def _refused(request: Request, form: FormData) -> str | None:
    if not secrets.compare_digest(str(form.get("csrf", "")), request.session.get("csrf", "") or "x"):
        return "Your form expired or came from another site. Go back, reload the page and try again."
    if any("\x00" in str(v) for v in form.values()):
        return "The form holds characters that can't be stored. Remove them and try again."
    return None


def _defaults(chat: LiveChat, job_title: str) -> dict[str, str]:
    about = f" about {job_title}" if job_title else ""
    return {"subject": f"Following up on our chat{about}", "body": f"Hello {chat.candidate_name},\n\n", "to_user_id": "", "to_email": "",
            "forward_message": "", "include_resume": "1" if chat.resume_file else "", "include_transcript": "", "copy_me": "",
            "schedule_message": ""}


async def _followup_view(session: AsyncSession, request: Request, user: User, chat_id: int) -> dict[str, Any]:
    now = res(request).clock()
    chat = await fu.followup_chat(session, chat_id, user, now)
    job = await fu.job_of(session, chat)
    entries = await conversations.since(session, chats.key(chat.id), 0)
    done = [e for e in entries if e.kind == "notice" and str(e.body.get("event", "")).startswith("follow_up")]
    cal = await fu.calendar(session, user.id)
    free = await fu.open_slots(session, cal, now) if cal else []
    return {"chat": chat, "job": job, "colleagues": await fu.colleagues(session, chat, user), "shares": await fu.shares(session, chat.id),
            "done": done, "calendar": cal, "free_count": len(free), "next_free": free[0] if free else None,
            "link_days": fu.LINK_LIFETIME.days, "title": f"Follow up with {chat.candidate_name}"}


@page
async def followup_page(request: Request, session: AsyncSession, user: User) -> Response:
    view = await _followup_view(session, request, user, _path_int(request, "chat_id"))
    job = view["job"]
    return render(request, "livechat/followup_chat.html", user, f=_defaults(view["chat"], job.title if job else ""), errors={}, **view)


def _followup_post(op: str) -> Callable[[Request], Awaitable[Response]]:
    """One follow-up form: CSRF, one transaction, the action, its notices stored and published after commit.

    A refusal shows the page again with what was typed (an email is not retyped lightly) and the message beside its form."""

    async def handler(request: Request) -> Response:
        form = await request.form()
        refused = _refused(request, form)
        if refused:
            return await error_page(request, 403, refused)
        chat_id = _path_int(request, "chat_id")
        r = res(request)
        ctx = context(request)
        typed = {k: str(v) for k, v in form.items() if k != "csrf"}
        async with r.sessionmaker() as session:
            async with session.begin():
                user = await session_user(request, session)
            if user is None:
                return RedirectResponse("/login", status_code=303)
            try:
                async with session.begin():
                    try:
                        _write_limited(request, user)
                        done = await _run(op, session, ctx, r.settings, user, chat_id, form)
                        if op in ("email", "schedule"):
                            _chat_limited(request, chat_id)
                    except BadRequest as err:
                        raise Invalid(err.message, code="rate_limited") from None
                    stored = await _store_notices(session, done.notices)
            except DomainError as err:
                async with session.begin():
                    await session.refresh(user)  # the rollback expired it; the page reads its name
                    try:
                        view = await _followup_view(session, request, user, chat_id)
                    except DomainError as err2:
                        return await error_page(request, status_for(err2), err2.message, session=session)
                    job = view["job"]
                    f = {**_defaults(view["chat"], job.title if job else ""), **typed}
                    for box in ("copy_me", "include_resume", "include_transcript"):
                        f[box] = typed.get(box, "")
                    return render(request, "livechat/followup_chat.html", user, status=status_for(err), f=f, errors={op: err.message}, **view)
        await _publish(r, stored)
        text = DONE_TEXT[op]
        if op == "forward" and done.colleague is not None:
            text = f"Forwarded to {done.colleague.name}."
        elif op == "schedule" and any(m.channel == "sms" for m in done.sent):
            text = "Booking link sent by email and text message."
        flash(request, text)
        return RedirectResponse(f"/live/chats/{chat_id}/follow-up", status_code=303)

    return handler


async def _run(op: str, session: AsyncSession, ctx: actions.Context, settings: Settings, user: User, chat_id: int, form: FormData) -> fu.Done:
    def get(name: str) -> str:
        return str(form.get(name, ""))

    if op == "email":
        return await fu.send_email(session, ctx, user, chat_id, subject=get("subject"), body=get("body"), copy_me=bool(form.get("copy_me")))
    if op == "forward":
        raw = get("to_user_id").strip()
        to_user_id = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 9 else None
        if raw and to_user_id is None:
            raise Invalid("Pick a colleague from the list.", code="invalid_recipient")
        return await fu.forward(session, ctx, user, chat_id, to_user_id=to_user_id, to_email=get("to_email") if to_user_id is None else None,
                                message=get("forward_message"), include_resume=bool(form.get("include_resume")),
                                include_transcript=bool(form.get("include_transcript")), resume_url=_resume_url(settings))
    return await fu.send_schedule_link(session, ctx, user, chat_id, message=get("schedule_message"),
                                       link=lambda chat, rec: book_link(settings, ctx.now, chat, rec))


# --------------------------------------------------------------------------- staff pages: availability


def _zone(user: User) -> str:
    return user.timezone if user.timezone and timefmt.is_valid_zone(user.timezone) else "UTC"


@page
async def availability_page(request: Request, session: AsyncSession, user: User) -> Response:
    if not await jobs.is_staff(session, user):
        raise Forbidden("Follow-up calendars are for recruiters and organizers.")
    now = res(request).clock()
    cal = await fu.calendar(session, user.id)
    zone = timefmt.zone(_zone(user))
    windows = [w for w in await fu.windows(session, cal) if w.ends_at > now] if cal else []
    free = await fu.open_slots(session, cal, now) if cal else []
    today = now.astimezone(zone).date()
    typed = request.session.pop("followup_add", None) or {}
    return render(request, "livechat/followup_availability.html", user, typed=typed, calendar=cal, windows=windows, zone=zone, free_count=len(free),
                  upcoming=await fu.upcoming(session, cal, now) if cal else [], slot_choices=fu.SLOT_CHOICES,
                  slot_minutes=cal.event.slot_minutes if cal else 30, today=today.isoformat(),
                  last_day=(today + dt.timedelta(days=fu.AHEAD.days - 1)).isoformat(), title="Follow-up calendar")


@form_action
async def availability_post(request: Request, session: AsyncSession, user: User, form: FormData, ctx: actions.Context) -> str:
    cal = await fu.calendar(session, user.id)
    current = [actions.Window(w.starts_at, w.ends_at) for w in await fu.windows(session, cal)] if cal else []
    zone = _zone(user)
    op = str(form.get("op", ""))
    slot_minutes = None
    if op == "add":
        # What was typed comes back into the form if it is refused (form_action goes back to the page).
        request.session["followup_add"] = {k: str(form.get(k, ""))[:12] for k in ("day", "from", "to")}
        try:
            day = dt.date.fromisoformat(str(form.get("day", "")))
        except ValueError:
            raise Invalid("Pick a day and give both times, like 09:00 and 12:00.") from None
        start_t = clock_input.require_clock(str(form.get("from", "")), "From")
        end_t = clock_input.require_clock(str(form.get("to", "")), "To", allow_24=True)
        start = timefmt.local_to_instant(day, start_t, zone)
        end = timefmt.local_to_instant(day + dt.timedelta(days=1) if end_t == dt.time(0, 0) else day, end_t, zone)
        if end <= start:
            raise Invalid("The window must end after it starts.")
        if end <= ctx.now:
            raise Invalid("That time has passed; pick a later one.")
        current.append(actions.Window(start, end))
        message = "Times added."
    elif op == "remove":
        raw = str(form.get("start", ""))
        current = [w for w in current if w.start.isoformat() != raw]
        message = "Times removed. Follow-ups already booked stay booked."
    elif op == "length":
        raw = str(form.get("slot_minutes", ""))
        if not raw.isdigit() or int(raw) not in fu.SLOT_CHOICES:
            raise Invalid("Pick a length from the list.")
        slot_minutes = int(raw)
        message = f"Follow-ups now last {slot_minutes} minutes."
    else:
        raise Invalid("Unknown form.")
    await fu.set_availability(session, ctx, user, current, slot_minutes=slot_minutes)
    request.session.pop("followup_add", None)
    flash(request, message)
    return "/live/availability"


# --------------------------------------------------------------------------- the resume a colleague was forwarded


@page
async def shared_resume(request: Request, session: AsyncSession, user: User) -> Response:
    """The resume of a chat forwarded to the signed-in colleague with its resume (or of a chat they may see anyway)."""
    chat = await fu.resume_chat(session, _path_int(request, "chat_id"), user, res(request).clock())
    if not chat.resume_file:
        raise NotFound("This chat has no resume.")
    path = Path(res(request).settings.upload_dir) / chat.resume_file
    if not path.is_file():
        raise NotFound("The resume file is missing.")
    return FileResponse(path, media_type=chat.resume_type, filename=chat.resume_name, content_disposition_type="attachment",
                        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store",
                                 "Content-Security-Policy": "default-src 'none'; sandbox"})


# --------------------------------------------------------------------------- the candidate's booking page


def _with_headers(response: Response) -> Response:
    response.headers.update(_BOOK_HEADERS)
    return response


def _invalid(request: Request, message: str = fu.INVALID_LINK) -> Response:
    return _with_headers(render(request, "livechat/followup_book.html", None, status=410, state="invalid", message=message,
                                title="Link not valid"))


def _viewer_zone(chosen: str, talent: User | None, inv: fu.Invitation) -> str:
    picked = timefmt.pick_zone(chosen) if chosen else None  # typed into the picker, or the device's name for it (Asia/Calcutta)
    if picked:
        return picked
    if talent is not None and talent.timezone and timefmt.is_valid_zone(talent.timezone):
        return talent.timezone
    return inv.calendar.event.timezone


async def _book_view(session: AsyncSession, request: Request, inv: fu.Invitation, signed: str, chosen: str, now: dt.datetime) -> dict[str, Any]:
    talent = await fu.candidate_account(session, inv)
    zone_name = _viewer_zone(chosen, talent, inv)
    zone = timefmt.zone(zone_name)
    request_row = await fu.booked(session, inv, talent)
    view: dict[str, Any] = {"inv": inv, "signed": signed, "zone": zone_name, "zones": timefmt.all_zones(), "viewer_tz": zone_name,
                            "title": f"Book a follow-up chat with {inv.recruiter.name}", "minutes": inv.calendar.event.slot_minutes}
    if request_row is not None and request_row.status == "confirmed" and request_row.starts_at and request_row.ends_at:
        view.update(state="booked", booking=request_row,
                    when=timefmt.span(request_row.starts_at, request_row.ends_at, zone_name, inv.calendar.event.timezone))
        return view
    free = await fu.open_slots(session, inv.calendar, now, talent_id=talent.id if talent else None)
    days = [(day, [(s, *timefmt.clock_range(s.start, s.end, zone)) for s in items])
            for day, items in groupby(free[:300], key=lambda s: s.start.astimezone(zone).date())]
    view.update(state="pick", days=days)
    return view


async def book_page(request: Request) -> Response:
    signed = str(request.path_params["signed"])
    r = res(request)
    now = r.clock()
    parsed = read_link(r.settings, now, signed)
    if parsed is None:
        return _invalid(request, "This booking link has expired or is not complete. Ask the recruiter for a new one.")
    async with r.sessionmaker() as session, session.begin():
        try:
            inv = await fu.invitation(session, *parsed)
        except NotFound as err:
            return _invalid(request, err.message)
        view = await _book_view(session, request, inv, signed, request.query_params.get("tz", ""), now)
        return _with_headers(render(request, "livechat/followup_book.html", None, error="", **view))


async def book_post(request: Request) -> Response:
    """Books the chosen slot; a slot taken meanwhile (or any refusal) shows the page again with the message and the slots free now."""
    signed = str(request.path_params["signed"])
    form = await request.form()
    r = res(request)
    ctx = context(request)
    chosen = str(form.get("tz", ""))
    parsed = read_link(r.settings, ctx.now, signed)
    if parsed is None:
        return _invalid(request, "This booking link has expired or is not complete. Ask the recruiter for a new one.")
    refused = _refused(request, form)
    if refused:
        return _with_headers(await error_page(request, 403, refused))
    if not r.write_limiter.allow(f"book|{client_ip(request)}"):
        return _with_headers(await error_page(request, 429, "Too many attempts in a short time; wait a minute and try again."))
    browser_tz = str(form.get("browser_tz", ""))
    async with r.sessionmaker() as session:
        try:
            async with session.begin():
                inv = await fu.invitation(session, *parsed)
                start = _instant(str(form.get("start", "")))
                done = await fu.book_followup(session, ctx, inv, start, timezone=browser_tz or chosen or None)
                stored = await _store_notices(session, done.notices)
        except DomainError as err:
            async with session.begin():
                try:
                    inv = await fu.invitation(session, *parsed)
                except NotFound as gone:
                    return _invalid(request, gone.message)
                view = await _book_view(session, request, inv, signed, chosen, ctx.now)
                return _with_headers(render(request, "livechat/followup_book.html", None, status=status_for(err), error=err.message, **view))
    await _publish(r, stored)
    flash(request, "Booked. Check your email for the confirmation and how to join.")
    picked = timefmt.pick_zone(chosen) if chosen else None
    query = "?" + urlencode({"tz": picked}) if picked else ""
    return RedirectResponse(f"/book/{signed}{query}", status_code=303)


def _instant(raw: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise Invalid("Pick a time first.", code="invalid_time") from None
    if value.tzinfo is None:
        raise Invalid("Pick a time first.", code="invalid_time")
    return timefmt.checked_instant(value, "time")


async def book_invite(request: Request) -> Response:
    """The booked follow-up's calendar invite, for the holder of the link."""
    signed = str(request.path_params["signed"])
    r = res(request)
    ctx = context(request)
    parsed = read_link(r.settings, ctx.now, signed)
    if parsed is None:
        return _invalid(request, "This booking link has expired or is not complete. Ask the recruiter for a new one.")
    async with r.sessionmaker() as session, session.begin():
        try:
            inv = await fu.invitation(session, *parsed)
        except NotFound as err:
            return _invalid(request, err.message)
        talent = await fu.candidate_account(session, inv)
        booking = await fu.booked(session, inv, talent)
        if talent is None or booking is None or booking.status != "confirmed":
            return _with_headers(await error_page(request, 404, "Nothing is booked from this link yet.", session=session))
        body, method = await actions.current_invite(session, ctx, talent, booking.id)
    response = invite_response(body, method, booking.id)
    response.headers.update({"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"})
    return response


routes: list[BaseRoute] = [
    Route("/api/v1/live-chats/{chat_id:id}/follow-up", api_info, methods=["GET"]),
    Route("/api/v1/live-chats/{chat_id:id}/follow-up/email", api_email, methods=["POST"]),
    Route("/api/v1/live-chats/{chat_id:id}/follow-up/forward", api_forward, methods=["POST"]),
    Route("/api/v1/live-chats/{chat_id:id}/follow-up/schedule", api_schedule, methods=["POST"]),
    Route("/api/v1/live-agent/follow-up-calendar", api_get_calendar, methods=["GET"]),
    Route("/api/v1/live-agent/follow-up-calendar", api_put_calendar, methods=["PUT"]),
    Route("/live/chats/{chat_id:id}/follow-up", followup_page, methods=["GET"]),
    *(Route(f"/live/chats/{{chat_id:id}}/follow-up/{op}", _followup_post(op), methods=["POST"]) for op in ACTIONS),
    Route("/live/availability", availability_page, methods=["GET"]),
    Route("/live/availability", availability_post, methods=["POST"]),
    Route("/live/shared/{chat_id:id}/resume", shared_resume, methods=["GET"]),
    Route("/book/{signed}", book_page, methods=["GET"]),
    Route("/book/{signed}", book_post, methods=["POST"]),
    Route("/book/{signed}/invite.ics", book_invite, methods=["GET"]),
]
