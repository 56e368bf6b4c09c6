"""Job reqs: who may manage them, their chat settings and knockout questions, and their recruiters."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import orjson
from sqlalchemy import delete, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from scheduling import actions
from scheduling.errors import Conflict, Forbidden, Invalid, NotFound
from scheduling.livechat import hours as hours_mod
from scheduling.livechat.models import JobReq, JobReqAssignee, KnockoutQuestion
from scheduling.models import Company, Participant, Role, User

YES_NO = ["Yes", "No"]
_HOST = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$|^\[[0-9a-f:.]+\]$")
PHONE_FIELD = ("off", "optional", "required")
WHEN_UNAVAILABLE = ("note", "callback", "both", "none")
MAX_QUESTIONS = 10
MAX_TEXT = 4000
DEFAULT_SORRY = "Thank you for your interest. Based on your answers, this role isn't the right match right now; other openings may be."
DEFAULT_AWAY = "Our recruiters can't chat right now. Leave a note and we'll get back to you by email."


@dataclass
class Question:
    text: str
    kind: str = "yes_no"
    choices: list[str] = field(default_factory=list)
    qualifying: list[str] = field(default_factory=list)


@dataclass
class CustomField:
    id: str
    label: str
    required: bool = False


@dataclass
class JobReqSettings:
    title: str
    company: str
    location: str = ""
    description: str = ""
    apply_url: str = ""
    event_id: int | None = None
    allowed_origins: list[str] = field(default_factory=list)
    sorry_message: str = ""
    away_message: str = ""
    hours: dict[str, Any] | None = None
    phone_field: str = "optional"
    custom_fields: list[CustomField] = field(default_factory=list)
    when_unavailable: str = "note"
    note_after_seconds: int = 180


def _text(value: str, label: str, limit: int = MAX_TEXT) -> str:
    value = value.strip()
    if "\x00" in value:
        raise Invalid(f"The {label} can't contain NUL characters.", code="invalid_input")
    if len(value) > limit:
        raise Invalid(f"The {label} is limited to {limit} characters.", code="invalid_input")
    return value


def check_origin(value: str) -> str:
    """An exact web origin (scheme://host[:port]) with nothing after it: the widget is matched against it verbatim."""
    value = value.strip().rstrip("/")
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.path or parts.query or parts.fragment or parts.username:
        raise Invalid(f"{value[:80]!r} is not a site origin; write it like https://jobs.example.com", code="invalid_origin")
    try:
        port = parts.port
    except ValueError:
        raise Invalid(f"{value[:80]!r} has an invalid port.", code="invalid_origin") from None
    default = {"https": 443, "http": 80}[parts.scheme]
    host = parts.hostname.lower()
    if not _HOST.match(host):
        raise Invalid(f"{value[:80]!r} is not a site origin; write it like https://jobs.example.com", code="invalid_origin")
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != default else "")


def _check_settings(s: JobReqSettings) -> dict[str, Any]:
    if s.phone_field not in PHONE_FIELD:
        raise Invalid("The phone field is off, optional or required.", code="invalid_input")
    if s.when_unavailable not in WHEN_UNAVAILABLE:
        raise Invalid("When nobody can chat, offer a note, a callback, both, or nothing.", code="invalid_input")
    if not (30 <= s.note_after_seconds <= 3600):
        raise Invalid("Offer a note after 30 to 3600 seconds of waiting.", code="invalid_input")
    if len(s.custom_fields) > 8:
        raise Invalid("A job req asks at most 8 custom fields.", code="invalid_input")
    seen: set[str] = set()
    fields = []
    for f in s.custom_fields:
        fid = f.id.strip()
        if not fid or len(fid) > 40 or not all(c.isalnum() or c in "_-" for c in fid) or fid in seen or fid in {"name", "email", "phone"}:
            raise Invalid(f"Custom field ids are unique words of letters, digits, - and _ ({fid[:40]!r} is not).", code="invalid_input")
        seen.add(fid)
        fields.append({"id": fid, "label": actions.one_line(f.label, "field label", limit=120), "required": bool(f.required)})
    origins = sorted({check_origin(o) for o in s.allowed_origins if o.strip()})
    if len(origins) > 20:
        raise Invalid("At most 20 sites can embed the widget.", code="invalid_input")
    parsed_hours = hours_mod.parse(s.hours)
    return {
        "title": actions.one_line(s.title, "job title"),
        "company": actions.one_line(s.company, "company name"),
        "location": actions.one_line(s.location, "location", required=False),
        "description": _text(s.description, "description", 20_000),
        "apply_url": actions._check_url(s.apply_url, "apply URL"),  # noqa: SLF001 -- the same rule as company websites
        "event_id": s.event_id,
        "allowed_origins": "\n".join(origins),
        "sorry_message": _text(s.sorry_message, "sorry message"),
        "away_message": _text(s.away_message, "away message"),
        "hours": parsed_hours.to_json() if parsed_hours else "",
        "phone_field": s.phone_field,
        "custom_fields": orjson.dumps(fields).decode(),
        "when_unavailable": s.when_unavailable,
        "note_after_seconds": s.note_after_seconds,
    }


def check_questions(questions: list[Question]) -> list[Question]:
    if len(questions) > MAX_QUESTIONS:
        raise Invalid(f"A job req has at most {MAX_QUESTIONS} knockout questions.", code="invalid_question")
    out = []
    for n, q in enumerate(questions, 1):
        text = _text(q.text, f"question {n}", 500)
        if not text:
            raise Invalid(f"Question {n} has no text.", code="invalid_question")
        if q.kind == "yes_no":
            choices = YES_NO
        elif q.kind == "choice":
            choices = [actions.one_line(c, f"choice of question {n}", limit=120) for c in q.choices]
            if not (2 <= len(choices) <= 10) or len(set(choices)) != len(choices):
                raise Invalid(f"Question {n} needs 2 to 10 different choices.", code="invalid_question")
        else:
            raise Invalid(f"Question {n} is yes_no or choice.", code="invalid_question")
        qualifying = [c.strip() for c in q.qualifying]
        if not qualifying or any(c not in choices for c in qualifying):
            raise Invalid(f"Question {n}'s qualifying answers must be some of its choices.", code="invalid_question")
        out.append(Question(text, q.kind, list(choices), qualifying))
    return out


# --------------------------------------------------------------------------- who may do what


async def is_organizer(session: AsyncSession, event_id: int | None, user: User) -> bool:
    if event_id is None:
        return False
    member = await actions.participation(session, event_id, user.id)
    return member is not None and member.role == Role.ORGANIZER.value


async def may_manage(session: AsyncSession, job: JobReq, user: User) -> bool:
    """Admins, the job req's creator and the organizers of its event manage it."""
    return user.is_admin or job.created_by_id == user.id or await is_organizer(session, job.event_id, user)


async def is_staff(session: AsyncSession, user: User) -> bool:
    """Organizers and recruiters (of any event) and admins work with job reqs; talents don't."""
    if user.is_admin:
        return True
    role = (await session.execute(
        select(Participant.role).where(Participant.user_id == user.id, Participant.role.in_((Role.ORGANIZER.value, Role.RECRUITER.value))).limit(1)
    )).scalar_one_or_none()
    return role is not None


async def assignee_ids(session: AsyncSession, job_id: int) -> list[int]:
    return list((await session.execute(select(JobReqAssignee.user_id).where(JobReqAssignee.job_req_id == job_id).order_by(JobReqAssignee.id))).scalars())


async def get_job(session: AsyncSession, job_id: int, user: User) -> JobReq:
    """A job req its managers and assignees can see; others get not-found."""
    job = await session.get(JobReq, job_id)
    if job is None or not (await may_manage(session, job, user) or user.id in await assignee_ids(session, job_id)):
        raise NotFound("No such job req.", code="job_req_not_found")
    return job


async def public_job(session: AsyncSession, job_id: int) -> JobReq:
    job = await session.get(JobReq, job_id)
    if job is None or job.archived:
        raise NotFound("No such job opening.", code="job_req_not_found")
    return job


async def questions(session: AsyncSession, job_id: int) -> list[KnockoutQuestion]:
    return list((await session.execute(
        select(KnockoutQuestion).where(KnockoutQuestion.job_req_id == job_id, KnockoutQuestion.active.is_(True)).order_by(KnockoutQuestion.position)
    )).scalars())


async def visible_jobs(session: AsyncSession, user: User) -> list[JobReq]:
    """Job reqs the person works with: created by them, assigned to them, or of an event they organize (admins: all)."""
    stmt = select(JobReq).order_by(JobReq.archived, JobReq.id.desc())
    if not user.is_admin:
        organized = select(Participant.event_id).where(Participant.user_id == user.id, Participant.role == Role.ORGANIZER.value)
        assigned = select(JobReqAssignee.job_req_id).where(JobReqAssignee.user_id == user.id)
        stmt = stmt.where(or_(JobReq.created_by_id == user.id, JobReq.id.in_(assigned), JobReq.event_id.in_(organized)))
    return list((await session.execute(stmt.limit(500))).scalars())


# --------------------------------------------------------------------------- changes


async def create_job(session: AsyncSession, ctx: actions.Context, actor: User, s: JobReqSettings, qs: list[Question]) -> JobReq:
    if not await is_staff(session, actor):
        raise Forbidden("Only organizers, recruiters and admins create job reqs.", code="not_staff")
    values = _check_settings(s)
    if s.event_id is not None:
        event = await actions.get_event(session, s.event_id)
        member = await actions.require_member(session, event, actor)
        if member is not None and member.role == Role.TALENT.value:
            raise Forbidden("Talents can't post job reqs.", code="not_staff")
    job = JobReq(**values, created_by_id=actor.id, archived=False, created_at=ctx.now, updated_at=ctx.now)
    session.add(job)
    await session.flush()
    await _replace_questions(session, job, check_questions(qs))
    return job


async def update_job(session: AsyncSession, ctx: actions.Context, actor: User, job_id: int, s: JobReqSettings, qs: list[Question] | None) -> JobReq:
    job = await get_job(session, job_id, actor)
    if not await may_manage(session, job, actor):
        raise Forbidden("Only the job req's owner, its event's organizers and admins can change it.", code="not_manager")
    values = _check_settings(s)
    if s.event_id != job.event_id and s.event_id is not None:
        event = await actions.get_event(session, s.event_id)
        await actions.require_member(session, event, actor)
    for key, value in values.items():
        setattr(job, key, value)
    job.updated_at = ctx.now
    if qs is not None:
        await _replace_questions(session, job, check_questions(qs))
    await session.flush()
    return job


async def archive_job(session: AsyncSession, ctx: actions.Context, actor: User, job_id: int) -> JobReq:
    job = await get_job(session, job_id, actor)
    if not await may_manage(session, job, actor):
        raise Forbidden("Only the job req's owner, its event's organizers and admins can archive it.", code="not_manager")
    job.archived, job.updated_at = True, ctx.now
    return job


async def _replace_questions(session: AsyncSession, job: JobReq, qs: list[Question]) -> None:
    """Questions that stay word for word keep their ids; others are retired (answers keep the old text anyway)."""
    current = await questions(session, job.id)
    keep: dict[tuple[str, str, str, str], KnockoutQuestion] = {
        (q.text, q.kind, q.choices, q.qualifying): q for q in current
    }
    used: set[int] = set()
    for position, q in enumerate(qs):
        key = (q.text, q.kind, orjson.dumps(q.choices).decode(), orjson.dumps(q.qualifying).decode())
        existing = keep.get(key)
        if existing is not None and existing.id not in used:
            existing.position = position
            used.add(existing.id)
            continue
        row = KnockoutQuestion(job_req_id=job.id, position=position, text=q.text, kind=q.kind, choices=key[2], qualifying=key[3], active=True)
        session.add(row)
    for old in current:
        if old.id not in used:
            old.active = False
    await session.flush()


async def assign(session: AsyncSession, ctx: actions.Context, actor: User, job_id: int, user_id: int) -> JobReq:
    """An organizer (or the owner) assigns a recruiter, or a recruiter claims the job req for themselves."""
    job = await session.get(JobReq, job_id)
    if job is None:
        raise NotFound("No such job req.", code="job_req_not_found")
    manager = await may_manage(session, job, actor)
    if not manager and not (user_id == actor.id and await _may_claim(session, job, actor)):
        raise NotFound("No such job req.", code="job_req_not_found")
    target = await session.get(User, user_id)
    if target is None or not await is_staff(session, target):
        raise Invalid("Only recruiters and organizers can answer a job req's chats.", code="not_staff")
    if job.event_id is not None and await actions.participation(session, job.event_id, user_id) is None and not target.is_admin:
        raise Invalid("That person is not part of the job req's event.", code="not_in_event")
    try:
        async with session.begin_nested():
            session.add(JobReqAssignee(job_req_id=job.id, user_id=user_id, assigned_by_id=actor.id, created_at=ctx.now))
    except IntegrityError:
        raise Conflict("That recruiter is already assigned.", code="already_assigned") from None
    return job


async def _may_claim(session: AsyncSession, job: JobReq, user: User) -> bool:
    """Who may claim a job req for themselves: the organizers of its event, and the event's recruiters of the company
    it is for (matched by name). A job req without an event is assigned by its managers only."""
    return await may_claim(session, job, user)


async def may_claim(session: AsyncSession, job: JobReq, user: User) -> bool:
    if job.event_id is None or job.archived:
        return False
    member = await actions.participation(session, job.event_id, user.id)
    if member is None:
        return False
    if member.role == Role.ORGANIZER.value:
        return True
    if member.role != Role.RECRUITER.value or member.company_id is None:
        return False
    company = await session.get(Company, member.company_id)
    return company is not None and company.name.strip().casefold() == job.company.strip().casefold()


async def unassign(session: AsyncSession, actor: User, job_id: int, user_id: int) -> None:
    job = await session.get(JobReq, job_id)
    if job is None or not (await may_manage(session, job, actor) or user_id == actor.id):
        raise NotFound("No such job req.", code="job_req_not_found")
    gone = await session.execute(delete(JobReqAssignee).where(JobReqAssignee.job_req_id == job_id, JobReqAssignee.user_id == user_id))
    if gone.rowcount == 0:  # type: ignore[attr-defined]
        raise NotFound("That recruiter is not assigned.", code="not_assigned")


def custom_fields(job: JobReq) -> list[dict[str, Any]]:
    value: list[dict[str, Any]] = orjson.loads(job.custom_fields or "[]")
    return value


def origins(job: JobReq) -> list[str]:
    return [o for o in job.allowed_origins.split("\n") if o]
