"""The organizer's roster pages: the Manage page (people, companies, event settings), a person's and a company's page,
CSV import (upload or paste -> preview -> all or nothing) and export, sign-in links; and creating an event.

Every form here keeps what was typed when it is refused and says which field is wrong, in words (the page is shown
again with a 4xx, not a redirect). Only the event's organizers and platform admins reach any of it; others get 404/403.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Awaitable, Callable
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlencode

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from scheduling import actions, clock_input, queries, roster, timefmt
from scheduling.errors import DomainError, Forbidden, Invalid
from scheduling.models import User
from web.convertors import parse_id
from web.http import context, res, session_user, status_for
from web.pages import _event_ctx, _has_nul, _number, _path_int, error_page, flash, page, render

MAX_FORM = roster.MAX_BYTES + 64 * 1024  # the import's text round-trips through the preview's form
ROLE_LABELS = {"talent": "Talents", "recruiter": "Recruiters", "organizer": "Organizers"}
# Page wording for errors whose API message names a field by its key.
PAGE_MESSAGES = {
    "company_required": "Company: pick the recruiter's company (every recruiter belongs to one).",
    "invalid_company": "Company: only recruiters belong to a company; choose \u201c\u2014\u201d for talents and organizers.",
    "company_not_found": "Company: that company is not in this event any more; pick another.",
}

Run = Callable[[Request, AsyncSession, User, FormData, actions.Context], Awaitable["str | Response"]]
Redisplay = Callable[[Request, AsyncSession, User, FormData, DomainError], Awaitable[Response]]


def _message(err: DomainError) -> str:
    return PAGE_MESSAGES.get(err.code, err.message)


def posted(run: Run, redisplay: Redisplay) -> Callable[[Request], Awaitable[Response]]:
    """A signed-in POST: CSRF check, one transaction, one action; a refusal shows the form again with what was typed."""

    async def handler(request: Request) -> Response:
        async with request.form(max_part_size=MAX_FORM, max_files=1) as form:  # closes an uploaded file's spool
            return await answer(request, form)

    async def answer(request: Request, form: FormData) -> Response:  # noqa: PLR0911 -- each way out is one answer
        if not secrets.compare_digest(str(form.get("csrf", "")), request.session.get("csrf", "") or "x"):
            return await error_page(request, 403, "Your form expired or came from another site. Go back, reload the page and try again.")
        if _has_nul(form):
            return await error_page(request, 400, "The form holds characters that can't be stored. Remove them and try again.")
        ctx = context(request)
        async with res(request).sessionmaker() as session:
            async with session.begin():
                user = await session_user(request, session)
            if user is None:
                return RedirectResponse("/login?" + urlencode({"next": request.url.path}), status_code=303)
            try:
                async with session.begin():
                    target = await run(request, session, user, form, ctx)
            except DomainError as err:
                async with session.begin():
                    await session.refresh(user)  # the rollback expired it; the page reads its name
                    try:
                        return await redisplay(request, session, user, form, err)
                    except DomainError as err2:
                        return await error_page(request, status_for(err2), err2.message, session=session)
        if isinstance(target, Response):
            return target
        return RedirectResponse(target, status_code=303)

    return handler


def _s(form: FormData, name: str) -> str:
    value = form.get(name, "")
    return value if isinstance(value, str) else ""


# --------------------------------------------------------------------------- event fields (new event, settings)


class _Typed:
    """What was typed into a date + time pair, shaped like the datetime _event_fields.html formats."""

    def __init__(self, day: str, time: str) -> None:
        self.day, self.time = day, time

    def date(self) -> _Typed:
        return self

    def isoformat(self) -> str:
        return self.day

    def strftime(self, fmt: str) -> str:
        return self.time


def _typed_event(form: FormData) -> dict[str, Any]:
    fields = ("name", "description", "timezone", "support_email", "requests_by", "slot_minutes", "buffer_minutes", "max_requests_per_talent",
              "max_chats_per_talent", "room_opens_minutes_before")
    return {"event_form": SimpleNamespace(**{f: _s(form, f) for f in fields}),
            "starts": _Typed(_s(form, "starts_date"), _s(form, "starts_time")), "ends": _Typed(_s(form, "ends_date"), _s(form, "ends_time"))}


def _local(form: FormData, prefix: str, label: str, tz: str) -> dt.datetime:
    try:
        day = dt.date.fromisoformat(_s(form, f"{prefix}_date"))
    except ValueError:
        raise Invalid(f"{label}: give a valid date and time.") from None
    # 24-hour, as typed into the text field: 9:00, 09:00 or 0900 (24:00 ends the day)
    clock = clock_input.require_clock(_s(form, f"{prefix}_time"), f"{label} at", allow_24=prefix == "ends")
    if prefix == "ends" and clock_input.is_end_of_day(_s(form, f"{prefix}_time")):
        day += dt.timedelta(days=1)
    return timefmt.local_to_instant(day, clock, tz)


def _whole(form: FormData, name: str, label: str, *, required: bool = False) -> int | None:
    raw = _s(form, name).strip()
    if not raw:
        if required:
            raise Invalid(f"{label}: give a whole number.")
        return None
    value = _number(raw)
    if value is None:
        raise Invalid(f"{label} must be a whole number.")
    return value


def _format_from(form: FormData) -> actions.ChatFormat:
    return actions.ChatFormat(
        requests_by=_s(form, "requests_by") or "talents",
        slot_minutes=_whole(form, "slot_minutes", "Slot length (minutes)", required=True) or 0,
        buffer_minutes=_whole(form, "buffer_minutes", "Buffer between chats (minutes)") or 0,
        max_requests_per_talent=_whole(form, "max_requests_per_talent", "Requests per talent"),
        max_chats_per_talent=_whole(form, "max_chats_per_talent", "Confirmed chats per talent"),
        room_opens_minutes_before=_whole(form, "room_opens_minutes_before", "Room opens (minutes before)") or 0,
    )


def _zone(form: FormData) -> str:
    tz = timefmt.pick_zone(_s(form, "timezone"))  # as the account page reads it: 'berlin', 'America/New York', old names
    if tz is None:
        raise Invalid("Time zone: pick the event's time zone from the list.")
    return tz


@page
async def event_new(request: Request, session: AsyncSession, user: User) -> Response:
    if not user.is_admin:
        raise Forbidden("Only platform admins can create events.")
    return render(request, "event_new.html", user, zones=timefmt.all_zones(), error="")


async def _event_create(request: Request, session: AsyncSession, user: User, form: FormData, ctx: actions.Context) -> str:
    tz = _zone(form)
    event = await actions.create_event(
        session, ctx, user, name=_s(form, "name"), timezone=tz, starts_at=_local(form, "starts", "Starts", tz),
        ends_at=_local(form, "ends", "Ends", tz), description=_s(form, "description"), support_email=_s(form, "support_email"),
        fmt=_format_from(form),
    )
    flash(request, "Event created. Add companies and people next.")
    return f"/events/{event.id}/manage"


async def _event_create_again(request: Request, session: AsyncSession, user: User, form: FormData, err: DomainError) -> Response:
    if isinstance(err, Forbidden):
        raise err
    typed = _typed_event(form)
    return render(request, "event_new.html", user, status=status_for(err), zones=timefmt.all_zones(), error=_message(err), **typed)


event_create = posted(_event_create, _event_create_again)


# --------------------------------------------------------------------------- the Manage page


def _filters(request: Request) -> dict[str, Any]:
    q = request.query_params
    role = q.get("role", "")
    return {"q": q.get("q", "")[:200], "role": role if role in roster.ROLES else "", "company": parse_id(q.get("company", "")),
            "page": _number(q.get("page", "1")) or 1}


async def _manage(request: Request, session: AsyncSession, user: User, *, status: int = 200, **extra: Any) -> Response:
    event, member, ctx = await _event_ctx(session, request, user)
    await actions.require_organizer(session, event, user)
    f = _filters(request)
    listing = await roster.people_page(session, event.id, q=f["q"], role=f["role"], company_id=f["company"], page=f["page"])
    ez = timefmt.zone(event.timezone)
    values: dict[str, Any] = {"person_form": {}, "company_form": {}, "errors": {}, "open": "", "error": "",
                              "starts": event.starts_at.astimezone(ez), "ends": event.ends_at.astimezone(ez)}
    values.update(extra)
    return render(request, "manage.html", user, status=status, companies=await queries.companies(session, event.id), listing=listing,
                  filters=f, role_labels=ROLE_LABELS, zones=timefmt.all_zones(), nav="manage", limits=roster, **values, **ctx)


@page
async def manage_page(request: Request, session: AsyncSession, user: User) -> Response:
    return await _manage(request, session, user)


async def _manage_post(request: Request, session: AsyncSession, user: User, form: FormData, ctx: actions.Context) -> str:
    event_id = _path_int(request, "event_id")
    op = _s(form, "op")
    if op == "company":
        company = await actions.add_company(session, user, event_id, name=_s(form, "name"), description=_s(form, "description"),
                                            website=_s(form, "website"), logo_url=_s(form, "logo_url"))
        flash(request, f"Company {company.name} added.")
    elif op == "participant":
        raw_company = _s(form, "company_id").strip()
        role = _s(form, "role")
        if role == "recruiter" and not raw_company:
            raise Invalid(PAGE_MESSAGES["company_required"], code="company_required")
        if role != "recruiter" and raw_company:
            raise Invalid(PAGE_MESSAGES["invalid_company"], code="invalid_company")
        company_id = parse_id(raw_company) if raw_company else None
        if raw_company and company_id is None:
            raise Invalid(PAGE_MESSAGES["company_not_found"], code="company_not_found")
        password = _s(form, "password") or None
        await actions.add_participant(session, ctx, user, event_id, email=_s(form, "email"), name=_s(form, "name"), role=role,
                                      company_id=company_id, password=password)
        flash(request, "Added." + ("" if password else " They got an email with a sign-in link."))
    elif op == "event":
        tz = _zone(form)
        await actions.update_event(session, user, event_id, name=_s(form, "name"), timezone=tz, starts_at=_local(form, "starts", "Starts", tz),
                                   ends_at=_local(form, "ends", "Ends", tz), description=_s(form, "description"),
                                   support_email=_s(form, "support_email"), fmt=_format_from(form))
        flash(request, "Event settings saved.")
    else:
        raise Invalid("Unknown form.")
    return f"/events/{event_id}/manage"


def _field_of(err: DomainError, op: str) -> str:
    field = roster.error_field(err)
    if not field and op in ("participant", "company"):
        text = err.message.lower()
        for key, words in (("email", "email"), ("headline", "headline"), ("role", "role"), ("password", "password"),
                           ("website", "website"), ("logo_url", "logo"), ("description", "description"), ("name", "name")):
            if words in text:
                return key
    return field


async def _manage_again(request: Request, session: AsyncSession, user: User, form: FormData, err: DomainError) -> Response:
    if isinstance(err, Forbidden) or err.code in ("event_not_found", "not_organizer"):
        raise err
    op = _s(form, "op")
    typed = {k: _s(form, k) for k in ("name", "email", "role", "company_id", "description", "website", "logo_url")}
    extra: dict[str, Any] = {"open": op, "error": _message(err), "errors": {_field_of(err, op) or "form": _message(err)}}
    if op == "participant":
        extra["person_form"] = typed
    elif op == "company":
        extra["company_form"] = typed
    elif op == "event":
        extra.update(_typed_event(form))
    return await _manage(request, session, user, status=status_for(err), **extra)


manage_post = posted(_manage_post, _manage_again)


# --------------------------------------------------------------------------- import and export


def _kind(raw: str) -> str:
    return raw if raw in roster.COLUMNS else "people"


@page
async def import_page(request: Request, session: AsyncSession, user: User) -> Response:
    event, member, ctx = await _event_ctx(session, request, user)
    await actions.require_organizer(session, event, user)
    return render(request, "organizer/roster_import.html", user, kind=_kind(request.query_params.get("kind", "")), text="", error="",
                  columns=roster.COLUMNS, limits=roster, nav="manage", **ctx)


async def _read_upload(form: FormData) -> str:
    """The uploaded file's text, or the pasted text; read no further than the size limit."""
    upload = form.get("file")
    if isinstance(upload, UploadFile) and upload.filename:
        raw = await upload.read(roster.MAX_BYTES + 1)
        if not raw:
            raise Invalid("File: the chosen file is empty.", code="empty_file")
        return roster.decode(raw)
    text = _s(form, "text")
    if not text.strip():
        raise Invalid("Choose a CSV file or paste its rows into the box.", code="empty_file")
    return roster.decode(text.encode())


async def _import_post(request: Request, session: AsyncSession, user: User, form: FormData, ctx: actions.Context) -> str | Response:
    event_id = _path_int(request, "event_id")
    kind = _kind(_s(form, "kind"))
    if _s(form, "op") == "confirm":
        text = roster.decode(_s(form, "text").encode())
        done = await roster.import_csv(session, ctx, user, event_id, kind, text, expect=_s(form, "digest"))
        if kind == "companies":
            flash(request, f"Imported {done.added} compan{'ies' if done.added != 1 else 'y'}.")
        else:
            parts = [f"Imported {done.added} {'people' if done.added != 1 else 'person'}; each got an email with a sign-in link."]
            if done.new_companies:
                parts.append(f"{done.new_companies} new compan{'ies' if done.new_companies != 1 else 'y'} created.")
            flash(request, " ".join(parts))
        return f"/events/{event_id}/manage"
    upload = form.get("file")
    pasted = not (isinstance(upload, UploadFile) and upload.filename)
    text = await _read_upload(form)
    event, member, ectx = await _event_ctx(session, request, user)
    result = await roster.preview(session, user, event_id, kind, text)
    return render(request, "organizer/roster_preview.html", user, status=200 if result.ok else 422, kind=kind, preview=result, text=text,
                  pasted=pasted, error="", nav="manage", **ectx)


async def _import_again(request: Request, session: AsyncSession, user: User, form: FormData, err: DomainError) -> Response:
    if isinstance(err, Forbidden) or err.code in ("event_not_found", "not_organizer"):
        raise err
    event, member, ctx = await _event_ctx(session, request, user)
    kind = _kind(_s(form, "kind"))
    if isinstance(err, roster.ImportRefused):
        return render(request, "organizer/roster_preview.html", user, status=409, kind=kind, preview=err.preview, text=_s(form, "text"),
                      pasted=False, error=err.message, nav="manage", **ctx)
    text = _s(form, "text") if len(_s(form, "text")) <= roster.MAX_BYTES else ""
    return render(request, "organizer/roster_import.html", user, status=status_for(err), kind=kind, text=text, error=err.message,
                  columns=roster.COLUMNS, limits=roster, nav="manage", **ctx)


import_post = posted(_import_post, _import_again)


def _csv_response(body: str, name: str) -> Response:
    return Response(body, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})


@page
async def export_people(request: Request, session: AsyncSession, user: User) -> Response:
    event_id = _path_int(request, "event_id")
    return _csv_response(await roster.export_people(session, user, event_id), f"event-{event_id}-people.csv")


@page
async def export_companies(request: Request, session: AsyncSession, user: User) -> Response:
    event_id = _path_int(request, "event_id")
    return _csv_response(await roster.export_companies(session, user, event_id), f"event-{event_id}-companies.csv")


# --------------------------------------------------------------------------- one person


async def _person_page(request: Request, session: AsyncSession, user: User, *, status: int = 200, **extra: Any) -> Response:
    event, member, ctx = await _event_ctx(session, request, user)
    _, p = await roster.person(session, user, event.id, _path_int(request, "user_id"))
    chats = await roster.open_chat_count(session, event.id, p.user.id)
    elsewhere = await roster.elsewhere(session, user, event.id, p.user)
    extra.setdefault("typed", {})
    extra.setdefault("errors", {})
    extra.setdefault("link", "")
    waiting = p.user.id in await roster.not_signed_in(session, [p.user])
    response = render(request, "organizer/roster_person.html", user, status=status, p=p, companies=await queries.companies(session, event.id),
                      open_chats=chats, elsewhere=elsewhere, waiting=waiting, nav="manage", **extra, **ctx)
    response.headers["Cache-Control"] = "no-store"
    return response


@page
async def person_page(request: Request, session: AsyncSession, user: User) -> Response:
    return await _person_page(request, session, user)


async def _person_post(request: Request, session: AsyncSession, user: User, form: FormData, ctx: actions.Context) -> str | Response:
    event_id, user_id = _path_int(request, "event_id"), _path_int(request, "user_id")
    op = _s(form, "op")
    back = f"/events/{event_id}/manage/people/{user_id}"
    if op == "edit":
        raw = _s(form, "company_id").strip()
        company_id = parse_id(raw) if raw else None
        if raw and company_id is None:
            raise Invalid(PAGE_MESSAGES["company_not_found"], code="company_not_found")
        p = await roster.edit_person(session, user, event_id, user_id, name=_s(form, "name"), headline=_s(form, "headline"), company_id=company_id)
        flash(request, f"Saved {p.user.name}.")
        return back
    if op == "remove":
        removed = await roster.remove_person(session, ctx, user, event_id, user_id)
        note = f" {removed.cancelled} open chat{'s were' if removed.cancelled != 1 else ' was'} cancelled; both people were told." if removed.cancelled else ""
        flash(request, f"{removed.name} was removed from the event.{note}")
        return f"/events/{event_id}/manage"
    if op == "resend":
        if not res(request).write_limiter.allow(f"signin-link|{user.id}"):
            raise Invalid("Too many sign-in links in a short time; wait a minute.")
        sent = await roster.send_link(session, ctx, user, event_id, user_id)
        flash(request, f"A new sign-in link is on its way to {sent.email}. It works once, for 7 days.")
        return back
    if op == "copy":
        if not res(request).write_limiter.allow(f"signin-link|{user.id}"):
            raise Invalid("Too many sign-in links in a short time; wait a minute.")
        link = await roster.copy_link(session, ctx, user, event_id, user_id)
        # Shown on this answer only (never put in the session cookie): the link signs in as them until used.
        return await _person_page(request, session, user, link=link)
    raise Invalid("Unknown form.")


async def _person_again(request: Request, session: AsyncSession, user: User, form: FormData, err: DomainError) -> Response:
    if err.code in ("event_not_found", "not_organizer", "person_not_found"):
        raise err
    op = _s(form, "op")
    typed = {k: _s(form, k) for k in ("name", "headline", "company_id")} if op == "edit" else {}
    field = roster.error_field(err) or ("name" if op == "edit" and "name" in err.message.lower() else
                                        "headline" if op == "edit" and "headline" in err.message.lower() else op)
    return await _person_page(request, session, user, status=status_for(err), typed=typed, errors={field: _message(err)}, error=_message(err))


person_post = posted(_person_post, _person_again)


# --------------------------------------------------------------------------- one company


async def _company_page(request: Request, session: AsyncSession, user: User, *, status: int = 200, **extra: Any) -> Response:
    event, member, ctx = await _event_ctx(session, request, user)
    _, company, recruiters = await roster.company(session, user, event.id, _path_int(request, "company_id"))
    extra.setdefault("typed", {})
    extra.setdefault("errors", {})
    return render(request, "organizer/roster_company.html", user, status=status, company=company, recruiters=recruiters, nav="manage",
                  **extra, **ctx)


@page
async def company_page(request: Request, session: AsyncSession, user: User) -> Response:
    return await _company_page(request, session, user)


async def _company_post(request: Request, session: AsyncSession, user: User, form: FormData, ctx: actions.Context) -> str:
    event_id, company_id = _path_int(request, "event_id"), _path_int(request, "company_id")
    op = _s(form, "op")
    if op == "edit":
        company = await roster.edit_company(session, user, event_id, company_id, name=_s(form, "name"), description=_s(form, "description"),
                                            website=_s(form, "website"), logo_url=_s(form, "logo_url"))
        flash(request, f"Saved {company.name}.")
        return f"/events/{event_id}/manage/companies/{company_id}"
    if op == "remove":
        name = await roster.remove_company(session, user, event_id, company_id)
        flash(request, f"Company {name} was removed.")
        return f"/events/{event_id}/manage"
    raise Invalid("Unknown form.")


async def _company_again(request: Request, session: AsyncSession, user: User, form: FormData, err: DomainError) -> Response:
    if err.code in ("event_not_found", "not_organizer", "company_not_found"):
        raise err
    op = _s(form, "op")
    typed = {k: _s(form, k) for k in ("name", "description", "website", "logo_url")} if op == "edit" else {}
    field = roster.error_field(err) if op == "edit" else "remove"
    if op == "edit" and not field:
        text = err.message.lower()
        field = next((k for k, w in (("description", "description"), ("logo_url", "logo"), ("website", "website"), ("name", "name")) if w in text), "form")
    return await _company_page(request, session, user, status=status_for(err), typed=typed, errors={field: _message(err)}, error=_message(err))


company_post = posted(_company_post, _company_again)


async def events_index(request: Request) -> Response:
    """GET /events (a natural address to type; the form posts there): the list of one's events is the home page."""
    return RedirectResponse("/", status_code=303)


routes = [
    Route("/events/new", event_new, methods=["GET"]),
    Route("/events", events_index, methods=["GET"]),
    Route("/events", event_create, methods=["POST"]),
    Route("/events/{event_id:id}/manage", manage_page, methods=["GET"]),
    Route("/events/{event_id:id}/manage", manage_post, methods=["POST"]),
    Route("/events/{event_id:id}/manage/import", import_page, methods=["GET"]),
    Route("/events/{event_id:id}/manage/import", import_post, methods=["POST"]),
    Route("/events/{event_id:id}/manage/people.csv", export_people, methods=["GET"]),
    Route("/events/{event_id:id}/manage/companies.csv", export_companies, methods=["GET"]),
    Route("/events/{event_id:id}/manage/people/{user_id:id}", person_page, methods=["GET"]),
    Route("/events/{event_id:id}/manage/people/{user_id:id}", person_post, methods=["POST"]),
    Route("/events/{event_id:id}/manage/companies/{company_id:id}", company_page, methods=["GET"]),
    Route("/events/{event_id:id}/manage/companies/{company_id:id}", company_post, methods=["POST"]),
]
