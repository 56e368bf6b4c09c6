"""The staff's pages: the Chats console, history, and job req management.

The console is a shell the browser fills (web/static/livechat/console.js) from the live-chat API and the
console socket; what it needs to draw at once (who you are, your seat, your open chats and notes) comes
with the page. History and job reqs are plain server-rendered pages whose forms work without JavaScript.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

import web.convertors  # noqa: F401 -- registers the {x:id} path convertor
from scheduling import actions, clock_input, conversations, queries, timefmt
from scheduling.errors import DomainError, Forbidden, Invalid, NotFound
from scheduling.livechat import chats, desk, jobs, routing
from scheduling.livechat import hours as hours_mod
from scheduling.livechat.desk_models import Ticket
from scheduling.livechat.models import Agent, JobReq, JobReqAssignee, LiveChat
from scheduling.models import Event, Participant, Role, User
from web.convertors import parse_id
from web.http import context, res, session_user, status_for
from web.pages import error_page, flash, form_action, page, render

WEEKDAYS = hours_mod.DAY_NAMES
FIELD_ROWS = 2  # empty custom-field rows offered below the filled ones
QUESTION_ROWS = 1  # empty question rows offered below the filled ones (JavaScript adds more)
SORTS = {"date": "Date", "next_step": "Next step", "name": "Candidate name"}
PHONE_LABELS = {"off": "Don't ask", "optional": "Optional", "required": "Required"}
UNAVAILABLE_LABELS = {"note": "Offer to leave a note", "callback": "Offer a callback", "both": "Offer a note or a callback",
                      "none": "Offer nothing (say nobody can chat)"}
# Error codes of the job req actions -> the form section they concern, so the message names it in words.
ERROR_PLACES = {"invalid_origin": "Allowed sites", "invalid_hours": "Working hours"}


def _path_int(request: Request, name: str) -> int:
    value = request.path_params[name]
    assert isinstance(value, int)
    return value


def _has_nul(form: FormData) -> bool:
    return any("\x00" in str(value) for value in form.values())


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


async def _job_titles(session: AsyncSession, ids: set[int | None]) -> dict[int, JobReq]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = (await session.execute(select(JobReq).where(JobReq.id.in_(wanted)))).scalars()
    return {j.id: j for j in rows}


# --------------------------------------------------------------------------- the console


def _chat_summary(chat: LiveChat, titles: dict[int, JobReq]) -> dict[str, Any]:
    job = titles.get(chat.job_req_id) if chat.job_req_id else None
    return {"id": chat.id, "name": chat.candidate_name, "title": job.title if job else "", "status": chat.status,
            "kind": chat.kind, "queue": chat.queue,
            "since": (chat.updated_at if chat.status == "note" else chat.taken_at or chat.created_at).isoformat()}


@page
async def console_page(request: Request, session: AsyncSession, user: User) -> Response:
    now = res(request).clock()
    staff = await jobs.is_staff(session, user)
    seat = await session.get(Agent, user.id)
    active = await chats.mine(session, user, "active", now) if staff else []
    notes = await chats.notes_waiting(session, user, now) if staff else []
    queues = await chats.serving_queues(session, user, now) if staff else []
    titles = await _job_titles(session, {c.job_req_id for c in [*active, *notes]})
    agent = {
        "available": bool(seat and seat.available), "capacity": seat.capacity if seat else 3, "auto_assign": bool(seat and seat.auto_assign),
        "notify_desktop": seat.notify_desktop if seat else True, "notify_sound": seat.notify_sound if seat else True,
        "notify_email": bool(seat and seat.notify_email), "active_chats": seat.active_chats if seat else 0,
    }
    boot = {
        "me": {"id": user.id, "name": user.name}, "agent": agent, "staff": staff, "queues": queues,
        "chats": [_chat_summary(c, titles) for c in active], "notes": [_chat_summary(c, titles) for c in notes],
        "server_now": now.isoformat(), "ws": "/ws/live/console", "api": "/api/v1",
    }
    calls = await queries.upcoming_calls(session, user.id, now)
    has_queues = any(not q.startswith("user:") for q in queues)  # every staff member has their own "sent to you" queue
    return render(request, "livechat/staff_console.html", user, boot=_json(boot), staff=staff, has_queues=has_queues, agent=agent,
                  calls=calls, now=now)


# --------------------------------------------------------------------------- history


def _sort_key(sort: str) -> Any:
    epoch = dt.datetime.min.replace(tzinfo=dt.UTC)
    if sort == "next_step":
        return lambda c: (c.next_step.casefold() or "\uffff", c.candidate_name.casefold())
    if sort == "name":
        return lambda c: (c.candidate_name.casefold(), -(c.ended_at or epoch).timestamp())
    return lambda c: c.ended_at or epoch


@page
async def history_page(request: Request, session: AsyncSession, user: User) -> Response:
    now = res(request).clock()
    sort = request.query_params.get("sort", "date")
    if sort not in SORTS:
        sort = "date"
    default_dir = "desc" if sort == "date" else "asc"
    direction = request.query_params.get("dir", default_dir)
    if direction not in ("asc", "desc"):
        direction = default_dir
    ended = await chats.mine(session, user, "ended", now)
    ended.sort(key=_sort_key(sort), reverse=direction == "desc")
    titles = await _job_titles(session, {c.job_req_id for c in ended})
    return render(request, "livechat/staff_history.html", user, chats=ended, titles=titles, sort=sort, direction=direction, sorts=SORTS,
                  answers={c.id: orjson.loads(c.answers or "[]") for c in ended})


@dataclass
class Line:
    """One transcript entry as the history page shows it."""

    seq: int
    kind: str  # message | bot | notice
    who: str  # candidate | me | staff | bot | notice
    name: str
    text: str
    at: dt.datetime
    note: bool = False
    auto: bool = False  # an automatic staff update ("still with you")


def transcript_lines(entries: list[conversations.Entry], me: User, names: dict[int, str], candidate: str) -> list[Line]:
    out = []
    for e in entries:
        if e.kind not in ("message", "bot", "notice"):
            continue
        text = str(e.body.get("text", ""))
        if e.kind == "bot" or e.body.get("bot"):
            out.append(Line(e.seq, "bot", "bot", "Bot", text, e.at))
        elif e.kind == "notice":
            out.append(Line(e.seq, "notice", "notice", "", text, e.at))
        elif e.author_id is None or e.body.get("role") == "candidate":
            out.append(Line(e.seq, "message", "candidate", str(e.body.get("name") or candidate), text, e.at, bool(e.body.get("note"))))
        else:
            who = "me" if e.author_id == me.id else "staff"
            out.append(Line(e.seq, "message", who, names.get(e.author_id) or str(e.body.get("name") or "Recruiter"), text, e.at,
                            auto=bool(e.body.get("auto"))))
    return out


@page
async def history_chat(request: Request, session: AsyncSession, user: User) -> Response:
    now = res(request).clock()
    chat = await chats.staff_chat(session, _path_int(request, "chat_id"), user, now)
    entries = await conversations.since(session, chats.key(chat.id), 0)
    author_ids = {e.author_id for e in entries if e.author_id is not None}
    if chat.recruiter_id:
        author_ids.add(chat.recruiter_id)
    names = {u.id: u.name for u in (await session.execute(select(User).where(User.id.in_(author_ids)))).scalars()} if author_ids else {}
    job = await session.get(JobReq, chat.job_req_id) if chat.job_req_id else None
    ticket = (await session.execute(select(Ticket).where(Ticket.live_chat_id == chat.id))).scalar_one_or_none()
    settings = await routing.desk_settings(session, chat.event_id)
    return render(request, "livechat/staff_history_chat.html", user, chat=chat, job=job, lines=transcript_lines(entries, user, names, chat.candidate_name),
                  recruiter=names.get(chat.recruiter_id or 0, ""), answers=orjson.loads(chat.answers or "[]"),
                  fields=orjson.loads(chat.fields or "{}"), ticket=ticket, scale=desk.RATING_SCALES[settings.rating_style])


# --------------------------------------------------------------------------- job reqs: lists


async def claimable_jobs(session: AsyncSession, user: User, exclude: set[int]) -> list[JobReq]:
    """Open job reqs of events where I recruit, not yet mine, that I may claim (my company's; any, for organizers)."""
    recruiting = select(Participant.event_id).where(Participant.user_id == user.id, Participant.role == Role.RECRUITER.value)
    rows = list((await session.execute(
        select(JobReq).where(JobReq.event_id.in_(recruiting), JobReq.archived.is_(False)).order_by(JobReq.title, JobReq.id).limit(200)
    )).scalars())
    return [j for j in rows if j.id not in exclude and await jobs.may_claim(session, j, user)]


async def _assignees(session: AsyncSession, job_ids: list[int]) -> dict[int, list[User]]:
    out: dict[int, list[User]] = {i: [] for i in job_ids}
    if job_ids:
        rows = await session.execute(
            select(JobReqAssignee.job_req_id, User).join(User, User.id == JobReqAssignee.user_id)
            .where(JobReqAssignee.job_req_id.in_(job_ids)).order_by(JobReqAssignee.id)
        )
        for job_id, u in rows:
            out[job_id].append(u)
    return out


async def _event_names(session: AsyncSession, ids: set[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {e.id: e.name for e in (await session.execute(select(Event).where(Event.id.in_(wanted)))).scalars()}


@page
async def jobs_page(request: Request, session: AsyncSession, user: User) -> Response:
    staff = await jobs.is_staff(session, user)
    mine = await jobs.visible_jobs(session, user) if staff else []
    claimable = await claimable_jobs(session, user, {j.id for j in mine}) if staff else []
    everything = [*mine, *claimable]
    organized = list((await session.execute(
        select(Event).join(Participant, Participant.event_id == Event.id)
        .where(Participant.user_id == user.id, Participant.role == Role.ORGANIZER.value).order_by(Event.starts_at.desc()).limit(20)
    )).scalars())
    return render(request, "livechat/staff_jobs.html", user, staff=staff, jobs=[j for j in mine if not j.archived],
                  archived=[j for j in mine if j.archived], claimable=claimable, organized=organized,
                  next_steps={e.id: chats.next_steps(e) for e in organized},
                  assignees=await _assignees(session, [j.id for j in everything]),
                  event_names=await _event_names(session, {j.event_id for j in everything}))


# --------------------------------------------------------------------------- job reqs: the form


@dataclass
class JobForm:
    """What the job req form shows: the saved job req, defaults, or exactly what was typed (after an error)."""

    title: str = ""
    company: str = ""
    location: str = ""
    description: str = ""
    apply_url: str = ""
    event_id: str = ""
    allowed_origins: str = ""
    sorry_message: str = ""
    away_message: str = ""
    hours_on: bool = False
    hours_tz: str = ""
    days: list[dict[str, Any]] = field(default_factory=list)  # 7 x {"from", "to", "closed"}
    phone_field: str = "optional"
    when_unavailable: str = "note"
    note_after_seconds: str = "180"
    fields: list[dict[str, Any]] = field(default_factory=list)  # {"id", "label", "required"}
    questions: list[dict[str, Any]] = field(default_factory=list)  # {"text", "kind", "choices", "yes", "qualifying"}

    def padded(self) -> JobForm:
        """With empty rows to fill in below the filled ones."""
        self.fields = [*self.fields, *({"id": "", "label": "", "required": False} for _ in range(FIELD_ROWS))]
        self.questions = [*self.questions, *(_blank_question() for _ in range(QUESTION_ROWS))]
        if len(self.days) != 7:
            self.days = [{"from": "09:00", "to": "17:00", "closed": i >= 5} for i in range(7)]
        return self


def _blank_question() -> dict[str, Any]:
    return {"text": "", "kind": "yes_no", "choices": "", "yes": "Yes", "qualifying": ""}


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _slug(label: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", label.casefold()).strip("_")[:40]


def form_from_post(form: FormData) -> JobForm:
    """The typed values, as typed; empty rows and rows marked for removal dropped (so numbers in messages match the form)."""

    def get(name: str) -> str:
        return str(form.get(name, ""))

    days = [{"from": get(f"day{i}_from").strip(), "to": get(f"day{i}_to").strip(), "closed": bool(form.get(f"day{i}_closed"))} for i in range(7)]
    fields = []
    for i in range(int(_digits(get("field_rows")) or 0)):
        row = {"id": get(f"field{i}_id").strip(), "label": get(f"field{i}_label").strip(), "required": bool(form.get(f"field{i}_required"))}
        if (row["id"] or row["label"]) and not form.get(f"field{i}_remove"):
            fields.append(row)
    questions = []
    for i in range(int(_digits(get("question_rows")) or 0)):
        q = {"text": get(f"q{i}_text").strip(), "kind": get(f"q{i}_kind") or "yes_no", "choices": get(f"q{i}_choices"),
             "yes": get(f"q{i}_yes") or "Yes", "qualifying": get(f"q{i}_qualifying")}
        if (q["text"] or _lines(q["choices"])) and not form.get(f"q{i}_remove"):
            questions.append(q)
    return JobForm(
        title=get("title"), company=get("company"), location=get("location"), description=get("description"), apply_url=get("apply_url"),
        event_id=get("event_id"), allowed_origins=get("allowed_origins"), sorry_message=get("sorry_message"), away_message=get("away_message"),
        hours_on=get("hours_on") == "1", hours_tz=get("hours_tz"), days=days, phone_field=get("phone_field") or "optional",
        when_unavailable=get("when_unavailable") or "note", note_after_seconds=get("note_after_seconds"), fields=fields, questions=questions,
    )


def _digits(raw: str) -> str:
    raw = raw.strip()
    return raw if raw.isascii() and raw.isdigit() and len(raw) <= 3 else ""


async def form_from_job(session: AsyncSession, job: JobReq) -> JobForm:
    hours = hours_mod.load(job.hours)
    days = [{"from": "09:00", "to": "17:00", "closed": i >= 5} for i in range(7)]
    if hours is not None:
        days = []
        for intervals in hours.days:
            if intervals:
                (a, _), (_, b) = intervals[0], intervals[-1]
                days.append({"from": f"{a // 60:02d}:{a % 60:02d}", "to": f"{b // 60:02d}:{b % 60:02d}", "closed": False})
            else:
                days.append({"from": "09:00", "to": "17:00", "closed": True})
    questions = []
    for q in await jobs.questions(session, job.id):
        choices: list[str] = orjson.loads(q.choices)
        qualifying: list[str] = orjson.loads(q.qualifying)
        yes = "both" if set(qualifying) == {"Yes", "No"} else (qualifying[0] if qualifying else "Yes")
        questions.append({"text": q.text, "kind": q.kind, "choices": "\n".join(choices) if q.kind == "choice" else "",
                          "yes": yes, "qualifying": "\n".join(qualifying) if q.kind == "choice" else ""})
    return JobForm(
        title=job.title, company=job.company, location=job.location, description=job.description, apply_url=job.apply_url,
        event_id=str(job.event_id or ""), allowed_origins="\n".join(jobs.origins(job)), sorry_message=job.sorry_message,
        away_message=job.away_message, hours_on=hours is not None, hours_tz=hours.tz if hours else "", days=days,
        phone_field=job.phone_field, when_unavailable=job.when_unavailable, note_after_seconds=str(job.note_after_seconds),
        fields=[{"id": f["id"], "label": f["label"], "required": bool(f["required"])} for f in jobs.custom_fields(job)], questions=questions,
    )


def settings_from(f: JobForm) -> tuple[jobs.JobReqSettings, list[jobs.Question]]:
    """The action's input from the form; what the form alone can tell is wrong is said here, naming the field."""
    event_id: int | None = None
    if f.event_id.strip():
        event_id = parse_id(f.event_id.strip())
        if event_id is None:
            raise Invalid("Event: pick one of your events from the list, or none.")
    hours: dict[str, Any] | None = None
    if f.hours_on:
        picked = timefmt.pick_zone(f.hours_tz)  # typed into the searchable picker: 'berlin' is Europe/Berlin
        if picked is None:
            raise Invalid("Working hours: pick a time zone from the list, such as Europe/Berlin.")
        f.hours_tz = picked
        days: dict[str, list[list[str]]] = {}
        for i, d in enumerate(f.days):
            if d["closed"]:
                continue
            if not d["from"] or not d["to"]:
                raise Invalid(f"Working hours: give {WEEKDAYS[i]}'s opening and closing times, or tick Closed.")
            # 24-hour text fields: 9:00 and 0900 are read as 09:00, and stored so
            opens = clock_input.require_clock(d["from"], f"Working hours, {WEEKDAYS[i]} from")
            closes = "24:00" if clock_input.is_end_of_day(d["to"]) else clock_input.hhmm(
                clock_input.require_clock(d["to"], f"Working hours, {WEEKDAYS[i]} to"))
            days[str(i)] = [[clock_input.hhmm(opens), closes]]
        if not days:
            raise Invalid("Working hours: every day is ticked Closed; open at least one day, or choose Always open.")
        hours = {"tz": f.hours_tz, "days": days}
    seconds = _digits(f.note_after_seconds) if len(f.note_after_seconds.strip()) <= 4 else ""
    if not seconds:
        raise Invalid("Offer a note after: give a whole number of seconds, like 180.")
    custom = []
    for n, row in enumerate(f.fields, 1):
        label = str(row["label"])
        if not label:
            raise Invalid(f"Custom field {n}: give it a label (what the candidate is asked).")
        custom.append(jobs.CustomField(id=str(row["id"]) or _slug(label) or f"field{n}", label=label, required=bool(row["required"])))
    questions = []
    for row in f.questions:
        if row["kind"] == "choice":
            questions.append(jobs.Question(str(row["text"]), "choice", _lines(str(row["choices"])), _lines(str(row["qualifying"]))))
        else:
            yes = str(row["yes"])
            qualifying = ["Yes", "No"] if yes == "both" else [yes]
            questions.append(jobs.Question(str(row["text"]), "yes_no" if row["kind"] == "yes_no" else str(row["kind"]), [], qualifying))
    settings = jobs.JobReqSettings(
        title=f.title, company=f.company, location=f.location, description=f.description, apply_url=f.apply_url, event_id=event_id,
        allowed_origins=_lines(f.allowed_origins), sorry_message=f.sorry_message, away_message=f.away_message, hours=hours,
        phone_field=f.phone_field, custom_fields=custom, when_unavailable=f.when_unavailable, note_after_seconds=int(seconds),
    )
    return settings, questions


def _message(err: DomainError) -> str:
    if err.code == "event_not_found":
        return "Event: pick one of your events from the list, or none."
    place = ERROR_PLACES.get(err.code)
    return f"{place}: {err.message}" if place and not err.message.startswith(place) else err.message


async def _staff_events(session: AsyncSession, user: User) -> list[Event]:
    return [e for e, role in await queries.my_events(session, user) if role != Role.TALENT.value]


async def _form_view(request: Request, session: AsyncSession, user: User, job: JobReq | None) -> dict[str, Any]:
    """Everything around the fields: events to pick, the job req's recruiters, the embed snippet."""
    view: dict[str, Any] = {"job": job, "events": await _staff_events(session, user), "zones": timefmt.all_zones(), "weekdays": WEEKDAYS,
                            "phone_labels": PHONE_LABELS, "unavailable_labels": UNAVAILABLE_LABELS}
    if job is None:
        return view
    manager = await jobs.may_manage(session, job, user)
    assigned = (await _assignees(session, [job.id]))[job.id]
    candidates: list[User] = []
    if manager and job.event_id is not None:
        taken = {u.id for u in assigned}
        candidates = [u for p, u, _c in await queries.people(session, job.event_id)
                      if p.role in (Role.RECRUITER.value, Role.ORGANIZER.value) and u.id not in taken]
    elif manager and user.id not in {u.id for u in assigned}:
        candidates = [user]
    base = res(request).settings.base_url.rstrip("/")
    view.update(manager=manager, assigned=assigned, candidates=candidates, is_assigned=user.id in {u.id for u in assigned},
                snippet=f'<script src="{base}/widget.js" data-job="{job.id}" async></script>', public_url=f"{base}/jobs/{job.id}",
                event_name=(await _event_names(session, {job.event_id})).get(job.event_id or 0, ""))
    return view


@page
async def job_new(request: Request, session: AsyncSession, user: User) -> Response:
    if not await jobs.is_staff(session, user):
        raise Forbidden("Only organizers, recruiters and admins create job reqs.")
    f = JobForm(hours_tz=user.timezone or "UTC").padded()
    return render(request, "livechat/staff_job_edit.html", user, f=f, error="", **await _form_view(request, session, user, None))


@page
async def job_edit(request: Request, session: AsyncSession, user: User) -> Response:
    job = await jobs.get_job(session, _path_int(request, "job_id"), user)
    f = (await form_from_job(session, job)).padded()
    if not f.hours_tz:
        f.hours_tz = user.timezone or "UTC"
    return render(request, "livechat/staff_job_edit.html", user, f=f, error="", **await _form_view(request, session, user, job))


async def _refused(request: Request, form: FormData) -> Response | None:
    if not secrets.compare_digest(str(form.get("csrf", "")), request.session.get("csrf", "") or "x"):
        return await error_page(request, 403, "Your form expired or came from another site. Go back, reload the page and try again.")
    if _has_nul(form):
        return await error_page(request, 400, "The form holds characters that can't be stored. Remove them and try again.")
    return None


async def job_save(request: Request) -> Response:
    """Creates (POST /live/jobs) or changes (POST /live/jobs/{id}) a job req; a refusal shows the form again as typed."""
    form = await request.form()
    refused = await _refused(request, form)
    if refused is not None:
        return refused
    job_id = request.path_params.get("job_id")
    assert job_id is None or isinstance(job_id, int)
    ctx = context(request)
    f = form_from_post(form)
    async with res(request).sessionmaker() as session:
        async with session.begin():
            user = await session_user(request, session)
        if user is None:
            return RedirectResponse("/login", status_code=303)
        try:
            async with session.begin():
                settings, questions = settings_from(f)
                if job_id is None:
                    job = await jobs.create_job(session, ctx, user, settings, questions)
                else:
                    job = await jobs.update_job(session, ctx, user, job_id, settings, questions)
                saved_id = job.id
        except DomainError as err:
            if isinstance(err, NotFound) and err.code == "job_req_not_found":
                return await error_page(request, 404, err.message)
            async with session.begin():
                await session.refresh(user)  # the rollback expired it; the page reads its name
                try:
                    current = await jobs.get_job(session, job_id, user) if job_id is not None else None
                    view = await _form_view(request, session, user, current)
                except DomainError as err2:
                    return await error_page(request, status_for(err2), err2.message, session=session)
                return render(request, "livechat/staff_job_edit.html", user, status=status_for(err), f=f.padded(), error=_message(err), **view)
    flash(request, "Job req created. Assign recruiters below so candidates can chat." if job_id is None else "Job req saved.")
    return RedirectResponse(f"/live/jobs/{saved_id}", status_code=303)


# --------------------------------------------------------------------------- job reqs: recruiters, archive


@form_action
async def job_assign(request: Request, session: AsyncSession, user: User, form: FormData, ctx: actions.Context) -> str:
    job_id = _path_int(request, "job_id")
    raw = str(form.get("user_id", "")).strip()
    target = parse_id(raw) if raw else None
    if target is None:
        raise Invalid("Pick a recruiter to assign.")
    await jobs.assign(session, ctx, user, job_id, target)
    if target == user.id:
        flash(request, "You now answer this job req's chats.")
        return "/live/jobs" if form.get("from") == "list" else f"/live/jobs/{job_id}"
    person = await session.get(User, target)
    flash(request, f"{person.name if person else 'The recruiter'} now answers this job req's chats.")
    return f"/live/jobs/{job_id}"


@form_action
async def job_unassign(request: Request, session: AsyncSession, user: User, form: FormData, ctx: actions.Context) -> str:
    job_id, target = _path_int(request, "job_id"), _path_int(request, "user_id")
    person = await session.get(User, target)
    await jobs.unassign(session, user, job_id, target)
    job = await session.get(JobReq, job_id)
    if target == user.id:
        flash(request, "You no longer answer this job req's chats.")
        visible = job is not None and await jobs.may_manage(session, job, user)
        return f"/live/jobs/{job_id}" if visible else "/live/jobs"
    flash(request, f"{person.name if person else 'The recruiter'} no longer answers this job req's chats.")
    return f"/live/jobs/{job_id}"


@form_action
async def job_archive(request: Request, session: AsyncSession, user: User, form: FormData, ctx: actions.Context) -> str:
    job = await jobs.archive_job(session, ctx, user, _path_int(request, "job_id"))
    flash(request, f"{job.title} is archived: its page and chat are closed.")
    return "/live/jobs"


@form_action
async def next_steps_save(request: Request, session: AsyncSession, user: User, form: FormData, ctx: actions.Context) -> str:
    event = await chats.set_next_steps(session, user, _path_int(request, "event_id"), str(form.get("next_steps", "")).splitlines())
    flash(request, f"Next steps for {event.name} saved.")
    return "/live/jobs#next-steps"


routes: list[BaseRoute] = [
    Route("/live/console", console_page, methods=["GET"]),
    Route("/live/history", history_page, methods=["GET"]),
    Route("/live/history/{chat_id:id}", history_chat, methods=["GET"]),
    Route("/live/jobs", jobs_page, methods=["GET"]),
    Route("/live/jobs", job_save, methods=["POST"]),
    Route("/live/jobs/new", job_new, methods=["GET"]),
    Route("/live/jobs/{job_id:id}", job_edit, methods=["GET"]),
    Route("/live/jobs/{job_id:id}", job_save, methods=["POST"]),
    Route("/live/jobs/{job_id:id}/assignees", job_assign, methods=["POST"]),
    Route("/live/jobs/{job_id:id}/assignees/{user_id:id}/remove", job_unassign, methods=["POST"]),
    Route("/live/jobs/{job_id:id}/archive", job_archive, methods=["POST"]),
    Route("/live/events/{event_id:id}/next-steps", next_steps_save, methods=["POST"]),
]
