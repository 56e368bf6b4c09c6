"""Server-rendered pages. Every form posts to an endpoint that calls the same action as the API."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

import web.convertors  # noqa: F401 -- registers the {x:id} path convertor
from scheduling import accounts, actions, ical, outbox, queries, timefmt
from scheduling import limits as bounds
from scheduling.errors import DomainError, Invalid, NotFound
from scheduling.models import Event, OutboxMessage, Participant, User
from scheduling.rooms import window as room_window
from web import event_ops, sessions_live
from web.http import client_ip, context, csrf_token, res, session_user, status_for
from web.linkify import linkify

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


def icon(name: str, cls: str = "") -> Markup:
    """An interface icon from static/icons.svg: drawn, so it never depends on the viewer's fonts (no glyphs as icons)."""
    return Markup('<svg class="ico{}" aria-hidden="true" focusable="false"><use href="/static/icons.svg#{}"/></svg>').format(
        f" {cls}" if cls else "", name)


templates.env.globals["icon"] = icon
templates.env.filters["linkify"] = linkify  # announcements' http(s) addresses as links, the rest escaped
templates.env.globals["limits"] = bounds  # maxlength="{{ limits.EVENT_NAME }}": the forms show the limits the server checks
LOGIN_LINK_LIFETIME = dt.timedelta(minutes=30)
STATUS_LABELS = {
    "pending": "Waiting for feedback",
    "accepted": "In Scheduling",
    "confirmed": "Confirmed",
    "completed": "Completed",
    "declined": "Declined",
    "cancelled": "Cancelled",
}
HISTORY_VERBS: dict[object, str] = {
    "pending": "sent the request",
    "accepted": "accepted the request",
    ("confirmed", "accepted"): "released the time to reschedule",
    ("pending", "cancelled"): "withdrew the request",
    "confirmed": "confirmed a time",
    "declined": "declined",
    "cancelled": "cancelled",
    "completed": "marked the chat as held",
}


class Redirect(Exception):  # noqa: N818 -- control flow, not an error
    def __init__(self, url: str) -> None:
        self.url = url


def flash(request: Request, message: str, kind: str = "ok") -> None:
    # Assigned, not appended in place: the session is saved only when a key is set, so a second message would be lost.
    request.session["flash"] = [*request.session.get("flash", []), [kind, message]]


def _safe_next(value: str | None, default: str = "/") -> str:
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return default


@dataclass(frozen=True)
class JoinState:
    """Where a chat's room stands for its Join button: 'soon' (opens at `opens_at`), 'open' or 'closed'."""
    state: str
    opens_at: dt.datetime | None = None
    label: str = ""
    now: dt.datetime | None = None
    day: str = ""  # 'Tue 10 Mar' when the room opens on another day than today (in the viewer's zone)


def time_helpers(request: Request, viewer_tz: str | None, event_tz: str) -> dict[str, Any]:
    """The templates' time functions beside when/clock/stamp/local_day: every one 24-hour, naming its zone."""
    vz = timefmt.zone(viewer_tz, event_tz)

    def clock_tz(instant: dt.datetime) -> str:
        return timefmt.clock_zoned(instant, vz)

    def hours(start: dt.datetime, end: dt.datetime) -> str:
        return timefmt.hours(start, end, vz)

    def day_label(day: dt.date | dt.datetime) -> str:
        return timefmt.day(day, vz)

    def event_days(event: Event) -> str:
        """'Tue 10 – Thu 12 Mar 2026 · Europe/Berlin': the event's days in its own zone."""
        return f"{timefmt.date_range(event.starts_at, event.ends_at, timefmt.zone(event.timezone))} · {event.timezone}"

    def join_state(chat: Any, event: Event) -> JoinState:
        """By the server's clock: the room of a confirmed chat opens room_opens_minutes_before its start."""
        if chat.status != "confirmed" or chat.starts_at is None or chat.ends_at is None:
            return JoinState("closed")
        r = res(request)
        now = r.clock()
        opens, closes = room_window(chat, event, dt.timedelta(minutes=r.settings.room_grace_minutes))
        if now > closes:
            return JoinState("closed")
        other_day = opens.astimezone(vz).date() != now.astimezone(vz).date()
        return JoinState("open" if now >= opens else "soon", opens, timefmt.clock_zoned(opens, vz), now,
                         f"{opens.astimezone(vz):%a %d %b}" if other_day else "")

    return {"clock_tz": clock_tz, "hours": hours, "day_label": day_label, "event_days": event_days, "join_state": join_state}


def render(request: Request, name: str, user: User | None, status: int = 200, **ctx: Any) -> HTMLResponse:
    messages = request.session.pop("flash", []) if "flash" in request.session else []
    viewer_tz = user.timezone if user and user.timezone else None
    event: Event | None = ctx.get("event")
    event_tz = event.timezone if event else (viewer_tz or "UTC")

    def when(start: dt.datetime | None, end: dt.datetime | None) -> str:
        if start is None or end is None:
            return ""
        return timefmt.span(start, end, viewer_tz, event_tz)

    def clock(instant: dt.datetime) -> str:
        local = instant.astimezone(timefmt.zone(viewer_tz, event_tz))
        return f"{local:%H:%M} {timefmt.zone_label(local)}" if timefmt.is_ambiguous(local) else f"{local:%H:%M}"

    def stamp(instant: dt.datetime) -> str:
        return timefmt.stamp(instant, timefmt.zone(viewer_tz, event_tz))

    def local_day(instant: dt.datetime, tz: str | None = None) -> str:
        return timefmt.day(instant, timefmt.zone(tz or viewer_tz, event_tz))

    return templates.TemplateResponse(
        request, name,
        {"user": user, "csrf": csrf_token(request), "messages": messages, "when": when, "clock": clock, "local_day": local_day, "stamp": stamp,
         **time_helpers(request, viewer_tz, event_tz),
         "status_labels": STATUS_LABELS, "history_verbs": HISTORY_VERBS, "viewer_tz": timefmt.zone(viewer_tz, event_tz).key,
         "local_mailbox": res(request).settings.local_mailbox,
         **ctx},
        status_code=status,
    )


async def error_page(request: Request, status: int, message: str, *, session: AsyncSession | None = None) -> Response:
    """An error page for the signed-in person (or a stranger). Called inside an open transaction, pass its `session`:
    on SQLite a second session would wait for that transaction's write lock (BEGIN IMMEDIATE) until it timed out."""
    user = None
    if "session" in request.scope:
        if session is not None:
            user = await session_user(request, session)
        else:
            async with res(request).sessionmaker() as own:
                user = await session_user(request, own)
    titles = {404: "Not found", 403: "Not allowed", 405: "Not allowed", 409: "Conflict", 500: "Something went wrong"}
    return render(request, "error.html", user, status=status, title=titles.get(status, "Error"), message=message)


Page = Callable[[Request, AsyncSession, User], Awaitable[Response]]


def page(fn: Page) -> Callable[[Request], Awaitable[Response]]:
    """A signed-in GET page in one read transaction; strangers go to /login, domain errors show an error page."""

    async def handler(request: Request) -> Response:
        async with res(request).sessionmaker() as session:
            try:
                async with session.begin():
                    user = await session_user(request, session)
                    if user is None:
                        return RedirectResponse("/login?" + urlencode({"next": request.url.path}), status_code=303)
                    return await fn(request, session, user)
            except DomainError as err:
                return await error_page(request, status_for(err), err.message)
            except Redirect as r:
                return RedirectResponse(r.url, status_code=303)

    return handler


FormAction = Callable[[Request, AsyncSession, User, FormData, actions.Context], Awaitable[str]]


def form_action(fn: FormAction) -> Callable[[Request], Awaitable[Response]]:
    """A signed-in POST: CSRF check, one transaction, one action, then back to a page with a message.

    A domain error rolls everything back and is shown on the page the form came from.
    """

    async def handler(request: Request) -> Response:
        form = await request.form()
        back = _safe_next(str(form.get("back") or ""), request.headers.get("referer", "/").split(request.url.netloc, 1)[-1] or "/")
        if not secrets.compare_digest(str(form.get("csrf", "")), request.session.get("csrf", "") or "x"):
            return await error_page(request, 403, "Your form expired or came from another site. Go back, reload the page and try again.")
        if _has_nul(form):
            return await error_page(request, 400, "The form holds characters that can't be stored. Remove them and try again.")
        ctx = context(request)
        async with res(request).sessionmaker() as session:
            try:
                async with session.begin():
                    user = await session_user(request, session)
                    if user is None:
                        return RedirectResponse("/login", status_code=303)
                    target = await fn(request, session, user, form, ctx)
            except DomainError as err:
                flash(request, err.message, "error")
                return RedirectResponse(_safe_next(back), status_code=303)
        return RedirectResponse(_safe_next(target), status_code=303)

    return handler


def _number(raw: str) -> int | None:
    raw = raw.strip()
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 6 else None


def _int(form: FormData | dict[str, Any], name: str) -> int:
    value = _number(str(form.get(name, "")))
    if value is None:
        raise Invalid(f"Missing or invalid {name.replace('_', ' ')}.")
    return value


def _has_nul(form: FormData) -> bool:
    return any("\x00" in str(value) for value in form.values())


def _path_int(request: Request, name: str) -> int:
    value = request.path_params[name]
    assert isinstance(value, int)
    return value


# --------------------------------------------------------------------------- sign-in


async def login_page(request: Request) -> Response:
    async with res(request).sessionmaker() as session:
        user = await session_user(request, session)
    if user is not None:
        return RedirectResponse(_safe_next(request.query_params.get("next")), status_code=303)
    return render(request, "login.html", None, next=_safe_next(request.query_params.get("next")), email="", error="")


def _sign_in(request: Request, user: User) -> None:
    request.session.clear()
    request.session["uid"] = user.id
    request.session["se"] = user.session_epoch
    csrf_token(request)


async def login_post(request: Request) -> Response:
    form = await request.form()
    nxt = _safe_next(str(form.get("next", "/")))
    email = str(form.get("email", "")).strip()
    if not secrets.compare_digest(str(form.get("csrf", "")), request.session.get("csrf", "") or "x"):
        return render(request, "login.html", None, status=403, next=nxt, email=email, error="The form expired; please try again.")
    if _has_nul(form):
        return render(request, "login.html", None, status=400, next=nxt, email="", error="Email or password is wrong.")
    r = res(request)
    key = f"{client_ip(request)}|{email.lower()}"
    if not r.login_limiter.allow(key) or not r.ip_limiter.allow(client_ip(request)):
        return render(request, "login.html", None, status=429, next=nxt, email=email,
                      error=f"Too many attempts. Wait {r.login_limiter.retry_after(key)} seconds and try again.")
    async with r.sessionmaker() as session, session.begin():
        user = await accounts.authenticate(session, email, str(form.get("password", "")))
        if user is None:
            return render(request, "login.html", None, status=401, next=nxt, email=email, error="Email or password is wrong.")
        tz = timefmt.canonical_zone(str(form.get("tz", "")))
        if not user.timezone and tz:
            user.timezone = tz
    _sign_in(request, user)
    return RedirectResponse(nxt, status_code=303)


async def link_request(request: Request) -> Response:
    """Emails a one-time sign-in link. The answer is the same whether or not the address is known."""
    form = await request.form()
    email = str(form.get("email", "")).strip()
    if not secrets.compare_digest(str(form.get("csrf", "")), request.session.get("csrf", "") or "x"):
        return render(request, "login.html", None, status=403, next="/", email=email, error="The form expired; please try again.")
    if _has_nul(form):
        return render(request, "login.html", None, status=400, next="/", email="", error="That doesn't look like an email address.")
    r = res(request)
    if not r.login_limiter.allow(f"link|{client_ip(request)}|{email.lower()}") or not r.ip_limiter.allow(client_ip(request)):
        return render(request, "login.html", None, status=429, next="/", email=email, error="Too many links asked for; wait a minute.")
    ctx = context(request)
    async with r.sessionmaker() as session, session.begin():
        user = await accounts.user_by_email(session, email)
        if user is not None:
            secret = await accounts.issue_login_link(session, user, now=ctx.now, lifetime=LOGIN_LINK_LIFETIME)
            outbox.enqueue(session, user, "sign_in_link", outbox.sign_in_link(to=user.name, url=ctx.link(f"/login/link/{secret}")), now=ctx.now)
    flash(request, "If that address has an account, a sign-in link is on its way. It works once, for 30 minutes.")
    return RedirectResponse("/login", status_code=303)


async def logout(request: Request) -> Response:
    """Signs out everywhere: the epoch bump voids every copy of the session cookie, not just this one."""
    form = await request.form()
    ended: tuple[int, int] | None = None
    if secrets.compare_digest(str(form.get("csrf", "")), request.session.get("csrf", "") or "x"):
        async with res(request).sessionmaker() as session, session.begin():
            user = await session_user(request, session)
            if user is not None:
                user.session_epoch += 1
                ended = (user.id, user.session_epoch)
        request.session.clear()
    if ended is not None:  # committed: the person's open sockets close on every node
        await sessions_live.session_ended(request.app, *ended)
    return RedirectResponse("/login", status_code=303)


# --------------------------------------------------------------------------- home, account, mailbox


@page
async def home(request: Request, session: AsyncSession, user: User) -> Response:
    events = await queries.my_events(session, user)
    if len(events) == 1 and not user.is_admin:
        raise Redirect(f"/events/{events[0][0].id}")
    return render(request, "home.html", user, events=events)


@page
async def account(request: Request, session: AsyncSession, user: User) -> Response:
    return _account_page(request, user)


def _account_page(request: Request, user: User, status: int = 200, **typed: str) -> Response:
    feed = res(request).settings.base_url + f"/calendar/{user.calendar_token}.ics"
    return render(request, "account.html", user, status=status, zones=timefmt.all_zones(), feed_url=feed, **typed)


@form_action
async def _account_other(request: Request, session: AsyncSession, user: User, form: FormData, ctx: actions.Context) -> str:
    if form.get("op") == "password":
        current, new = str(form.get("current", "")), str(form.get("new", ""))
        if user.password_hash and not accounts.verify_password(user, current):
            raise Invalid("Your current password is wrong.")
        if len(new) < accounts.MIN_PASSWORD:
            raise Invalid(f"Passwords need at least {accounts.MIN_PASSWORD} characters.")
        user.password_hash = accounts.hash_password(new)
        user.session_epoch += 1
        request.session["se"] = user.session_epoch
        await session.flush()
        await sessions_live.session_ended(request.app, user.id, user.session_epoch)  # other devices' open sockets close too
        flash(request, "Password changed. Other devices are signed out.")
        return "/account"
    if form.get("op") == "new_feed":
        user.calendar_token = secrets.token_urlsafe(24)
        flash(request, "New calendar address made; the old one no longer works.")
        return "/account"
    raise Invalid("Unknown form.")


async def account_post(request: Request) -> Response:
    """Time zone and headline; a refusal shows the page again with what was typed and what is wrong, in words."""
    form = await request.form()
    if form.get("op") in ("password", "new_feed"):
        return await _account_other(request)
    if not secrets.compare_digest(str(form.get("csrf", "")), request.session.get("csrf", "") or "x"):
        return await error_page(request, 403, "Your form expired or came from another site. Go back, reload the page and try again.")
    typed_tz, typed_headline = str(form.get("timezone", "")).strip(), str(form.get("headline", ""))
    async with res(request).sessionmaker() as session:
        try:
            async with session.begin():
                user = await session_user(request, session)
                if user is None:
                    return RedirectResponse("/login", status_code=303)
                tz = timefmt.pick_zone(typed_tz)
                if tz is None:
                    raise Invalid(f"Time zone: {typed_tz[:64]!r} is not one we know. Pick one from the list, such as Europe/Berlin."
                                  if typed_tz else "Time zone: pick one from the list, such as Europe/Berlin.")
                headline = actions.one_line(typed_headline, "headline", required=False, limit=bounds.HEADLINE)
                user.timezone, user.headline = tz, headline
        except DomainError as err:
            async with session.begin():
                user = await session_user(request, session)
                if user is None:
                    return RedirectResponse("/login", status_code=303)
                flash(request, err.message, "error")
                return _account_page(request, user, status=status_for(err), typed_tz=typed_tz[:200], typed_headline=typed_headline)
    flash(request, f"Saved. Times now show in {tz}.")
    return RedirectResponse("/account", status_code=303)


async def calendar_feed(request: Request) -> Response:
    token = str(request.path_params["token"])
    ctx = context(request)
    async with res(request).sessionmaker() as session:
        user = (await session.execute(select(User).where(User.calendar_token == token))).scalar_one_or_none()
        if user is None:
            return Response("Unknown calendar", status_code=404, media_type="text/plain")
        chats = await queries.confirmed_for_user(session, user.id)
        invites = [actions.invite_for(ctx, c, c.talent, c.recruiter, c.event) for c in chats]
    body = ical.feed(f"Fairmeet: {user.name}", invites, stamp=ctx.now)
    return Response(body, media_type="text/calendar; charset=utf-8")


@page
async def mailbox(request: Request, session: AsyncSession, user: User) -> Response:
    if not res(request).settings.local_mailbox:
        raise NotFound("Mail is delivered by SMTP on this server; look in your own mailbox.")
    stmt = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(200)
    if not user.is_admin:
        stmt = stmt.where(OutboxMessage.to_email == user.email)
    messages = (await session.execute(stmt)).scalars().all()
    return render(request, "mailbox.html", user, mails=messages)


# --------------------------------------------------------------------------- events


async def _event_ctx(session: AsyncSession, request: Request, user: User) -> tuple[Event, Participant | None, dict[str, Any]]:
    event = await actions.get_event(session, _path_int(request, "event_id"))
    member = await actions.require_member(session, event, user)
    role = member.role if member else "admin"
    return event, member, {"event": event, "member": member, "role": role, "quota": queries.quota(event, member),
                           **await event_ops.event_extras(session, event.id, role)}


@page
async def schedule_page(request: Request, session: AsyncSession, user: User) -> Response:
    event, member, ctx = await _event_ctx(session, request, user)
    views = await queries.chats(session, event.id, user, None if (member and member.role == "organizer") else member, statuses=("confirmed", "completed"))
    if member is not None and member.role == "organizer":
        views = [v for v in views if user.id in (v.talent.id, v.recruiter.id)]
    tz = timefmt.zone(user.timezone, event.timezone)
    days = [(day, list(items)) for day, items in groupby(views, key=lambda v: v.chat.starts_at.astimezone(tz).date() if v.chat.starts_at else None)]
    return render(request, "schedule.html", user, days=days, nav="schedule", **ctx)


def _quote(value: str) -> str:
    return quote(value, safe="")


routes = [
    Route("/", home),
    Route("/login", login_page, methods=["GET"]),
    Route("/login", login_post, methods=["POST"]),
    Route("/login/link", link_request, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
    Route("/account", account, methods=["GET"]),
    Route("/account", account_post, methods=["POST"]),
    Route("/calendar/{token}.ics", calendar_feed),
    Route("/mailbox", mailbox),
    Route("/events/{event_id:id}/schedule", schedule_page),
]
