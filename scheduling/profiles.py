"""Profiles: what talents and recruiters show of themselves (headline, skills, links, a talent's CV), who may download a
CV, and searching the event's people by name, headline, skill or company.

Skills are kept as one comma-separated line, normalized on save ("Python, PostgreSQL": trimmed, one space, duplicates
dropped whatever their case), so a skill filter is one LIKE on `', ' || lower(skills) || ','` and a free-text search a
LIKE on the lowered columns: one query whatever the event's size. The CV's type is told by its content (PDF or DOCX),
never by its name; the file itself lives outside the web root under a random name (the web layer writes and removes it).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import ColumnElement, and_, func, literal, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from scheduling import actions
from scheduling.errors import Invalid, NotFound
from scheduling.livechat import files
from scheduling.models import ChatRequest, Company, Event, Participant, Profile, Role, User

MAX_SKILLS = 20
MAX_SKILL_LENGTH = 40
MAX_URL_LENGTH = 500
MAX_HEADLINE = 200
MAX_QUERY = 100
MAX_CV_BYTES = 5 * 1024 * 1024
CV_TYPES = {files.PDF: "PDF", files.DOCX: "Word (.docx)"}
LIST_LIMIT = 500  # people shown by one search; an event of hundreds fits, a runaway one is cut


class FieldInvalid(Invalid):
    """A refused value, naming the form field it came from (the page marks that field)."""

    code = "invalid_input"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


# --------------------------------------------------------------------------- checking what people type


def _no_controls(text: str) -> bool:
    return not any(ord(ch) < 32 or ord(ch) == 127 or ch in "\u0085\u2028\u2029" for ch in text)


def normalize_skills(raw: str) -> list[str]:
    """Comma-separated skills: each trimmed with single spaces, duplicates (any case) dropped, the first spelling kept."""
    out: list[str] = []
    seen: set[str] = set()
    for part in raw.replace("\n", ",").replace("\r", ",").split(","):
        skill = " ".join(part.split())
        if not skill:
            continue
        if not _no_controls(skill):
            raise FieldInvalid("skills", "Skills can't contain control characters.")
        if len(skill) > MAX_SKILL_LENGTH:
            raise FieldInvalid("skills", f"Each skill can be {MAX_SKILL_LENGTH} characters at most; “{skill[:MAX_SKILL_LENGTH]}…” is longer.")
        if skill.casefold() in seen:
            continue
        seen.add(skill.casefold())
        out.append(skill)
    if len(out) > MAX_SKILLS:
        raise FieldInvalid("skills", f"List {MAX_SKILLS} skills at most (you gave {len(out)}).")
    return out


def split_skills(stored: str) -> list[str]:
    return [s for s in (part.strip() for part in stored.split(",")) if s]


def checked_url(raw: str, field: str, label: str, *, hosts: tuple[str, ...] = ()) -> str:
    """An https link to a named host (no user name or password, no spaces); "" stays "" (the link is optional)."""
    url = raw.strip()
    if not url:
        return ""
    example = "https://www.linkedin.com/in/your-name" if hosts else "https://your-site.example"
    if len(url) > MAX_URL_LENGTH:
        raise FieldInvalid(field, f"The {label} is limited to {MAX_URL_LENGTH} characters.")
    if not _no_controls(url) or any(ch.isspace() for ch in url):
        raise FieldInvalid(field, f"The {label} can't contain spaces or control characters.")
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").rstrip(".").lower()
        port = parts.port  # a malformed port raises here
    except ValueError:
        raise FieldInvalid(field, f"The {label} isn't a valid address; use one like {example}.") from None
    if parts.scheme.lower() != "https":
        raise FieldInvalid(field, f"The {label} must start with https:// (like {example}).")
    if not host or "." not in host or parts.username is not None or parts.password is not None or port not in (None, 443):
        raise FieldInvalid(field, f"The {label} isn't a valid address; use one like {example}.")
    if _is_ip(host):
        raise FieldInvalid(field, f"The {label} must name a site, not an IP address.")
    if hosts and not any(host == h or host.endswith("." + h) for h in hosts):
        raise FieldInvalid(field, f"The {label} must be a {hosts[0]} address, like {example}.")
    return url


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def checked_headline(raw: str, label: str) -> str:
    """One line: runs of spaces and line breaks become one space; other control characters are refused."""
    headline = " ".join(raw.split())
    if not _no_controls(headline):
        raise FieldInvalid("headline", f"The {label} can't contain control characters.")
    if len(headline) > MAX_HEADLINE:
        raise FieldInvalid("headline", f"The {label} is limited to {MAX_HEADLINE} characters (you gave {len(headline)}).")
    return headline


def checked_query(raw: str) -> str:
    """A search term: one line, trimmed, at most MAX_QUERY characters."""
    q = " ".join(raw.split())
    if not _no_controls(q):
        raise Invalid("The search can't contain control characters.", code="invalid_input")
    if len(q) > MAX_QUERY:
        raise Invalid(f"Search for {MAX_QUERY} characters at most.", code="invalid_input")
    return q


def check_cv(data: bytes) -> str:
    """The CV's type by its content: PDF or DOCX; anything else (whatever its name says) is refused."""
    limit_mb = MAX_CV_BYTES // (1024 * 1024)
    if not data:
        raise FieldInvalid("cv", "Choose a PDF or Word (.docx) file to upload.")
    if len(data) > MAX_CV_BYTES:
        raise FieldInvalid("cv", f"A CV can be {limit_mb} MB at most; this file is {len(data) / (1024 * 1024):.1f} MB.")
    mime = files.sniff(data)
    if mime not in CV_TYPES:
        raise FieldInvalid("cv", "A CV must be a PDF or a Word (.docx) file. This file's content is neither, whatever its name says.")
    return mime


def cv_name(name: str, mime: str) -> str:
    return files.safe_name(name, mime)


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class PersonCard:
    """One person as lists and the chat page show them: who they are and what their profile says."""

    user_id: int
    name: str
    headline: str
    skills: tuple[str, ...]
    linkedin_url: str
    portfolio_url: str
    has_cv: bool
    cv_name: str
    cv_size: int
    cv_type: str

    @property
    def cv_size_label(self) -> str:
        if self.cv_size >= 1024 * 1024:
            return f"{self.cv_size / (1024 * 1024):.1f} MB"
        return f"{max(1, -(-self.cv_size // 1024))} KB"


def _card(uid: int, name: str, headline: str | None, skills: str | None, linkedin: str | None, portfolio: str | None,
          cv_file: str | None, cvname: str | None, cv_size: int | None, cv_type: str | None) -> PersonCard:
    return PersonCard(uid, name, headline or "", tuple(split_skills(skills or "")), linkedin or "", portfolio or "", bool(cv_file),
                      cvname or "", cv_size or 0, cv_type or "")


_CARD_COLUMNS = (User.id, User.name, User.headline, Profile.skills, Profile.linkedin_url, Profile.portfolio_url, Profile.cv_file,
                 Profile.cv_name, Profile.cv_size, Profile.cv_type)


async def cards_for(session: AsyncSession, user_ids: Sequence[int]) -> dict[int, PersonCard]:
    """Profiles of the given people, in one query (people without a profile row get an empty one)."""
    if not user_ids:
        return {}
    rows = await session.execute(select(*_CARD_COLUMNS).outerjoin(Profile, Profile.user_id == User.id).where(User.id.in_(set(user_ids))))
    return {row[0]: _card(*tuple(row)) for row in rows}


async def card_for(session: AsyncSession, user_id: int) -> PersonCard:
    return (await cards_for(session, [user_id]))[user_id]


def _like(term: str) -> str:
    return "%" + term.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _skill_like(skill: str) -> str:
    """Matches one whole skill in `', ' || lower(skills) || ','` (skills never hold commas)."""
    return "%, " + skill.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + ",%"


def _has_skill(skill: str) -> ColumnElement[bool]:
    padded = literal(", ") + func.lower(func.coalesce(Profile.skills, "")) + literal(",")
    return padded.like(_skill_like(skill), escape="\\")


def _matches(q: str, *columns: Any) -> ColumnElement[bool]:
    """Every word of `q` is found in one of the columns (lowered), so "python berlin" narrows rather than widens."""
    words = q.split()
    return and_(*(or_(*(func.lower(func.coalesce(c, "")).like(_like(w), escape="\\") for c in columns)) for w in words))


def _talents_where(event_id: int, q: str, skill: str) -> list[ColumnElement[bool]]:
    where = [Participant.event_id == event_id, Participant.role == Role.TALENT.value]
    if q:
        where.append(_matches(q, User.name, User.headline, Profile.skills))
    if skill:
        where.append(_has_skill(skill))
    return where


async def talent_cards(session: AsyncSession, event_id: int, *, q: str = "", skill: str = "", offset: int = 0,
                       limit: int | None = None) -> list[PersonCard]:
    """The event's talents with their profiles, narrowed by a text search (name, headline, skills) and a skill, in one query;
    `offset` and `limit` (at most LIST_LIMIT) give one page of them, by name."""
    stmt = (
        select(*_CARD_COLUMNS)
        .select_from(Participant)
        .join(User, User.id == Participant.user_id)
        .outerjoin(Profile, Profile.user_id == User.id)
        .where(*_talents_where(event_id, q, skill))
        .order_by(User.name, User.id)
        .offset(max(0, offset))
        .limit(min(LIST_LIMIT, limit) if limit is not None else LIST_LIMIT)
    )
    return [_card(*tuple(row)) for row in await session.execute(stmt)]


async def talent_count(session: AsyncSession, event_id: int, *, q: str = "", skill: str = "") -> int:
    """How many talents `talent_cards` finds with the same search, all pages together (one COUNT)."""
    stmt = (
        select(func.count())
        .select_from(Participant)
        .join(User, User.id == Participant.user_id)
        .outerjoin(Profile, Profile.user_id == User.id)
        .where(*_talents_where(event_id, q, skill))
    )
    return int((await session.execute(stmt)).scalar_one())


async def recruiter_ids_matching(session: AsyncSession, event_id: int, *, q: str = "", skill: str = "") -> list[int]:
    """Recruiters whose name, role (headline), skills or company match `q`, and who list `skill`: one query."""
    stmt = (
        select(Participant.user_id)
        .join(User, User.id == Participant.user_id)
        .outerjoin(Profile, Profile.user_id == User.id)
        .outerjoin(Company, Company.id == Participant.company_id)
        .where(Participant.event_id == event_id, Participant.role == Role.RECRUITER.value)
    )
    if q:
        stmt = stmt.where(_matches(q, User.name, User.headline, Profile.skills, Company.name))
    if skill:
        stmt = stmt.where(_has_skill(skill))
    return list((await session.execute(stmt)).scalars().all())


async def event_skills(session: AsyncSession, event_id: int, role: str, *, limit: int = 40) -> list[str]:
    """The skills the event's people of a role list, most listed first (for suggestions and quick filters)."""
    rows = await session.execute(
        select(Profile.skills)
        .join(Participant, Participant.user_id == Profile.user_id)
        .where(Participant.event_id == event_id, Participant.role == role, Profile.skills != "")
    )
    counts: dict[str, int] = {}
    spelling: dict[str, str] = {}
    for (stored,) in rows:
        for skill in split_skills(stored):
            key = skill.casefold()
            counts[key] = counts.get(key, 0) + 1
            spelling.setdefault(key, skill)
    return [spelling[k] for k in sorted(counts, key=lambda k: (-counts[k], k))[:limit]]


# --------------------------------------------------------------------------- who may see a CV


async def cv_readable(session: AsyncSession, viewer: User, viewer_member: Participant | None, event_id: int,
                      talent_ids: Sequence[int]) -> set[int]:
    """Which of the event's talents' CVs the viewer may download: their own; every talent's for the event's organizers and
    platform admins; a recruiter's, those of talents they have a 1-1 chat with in the event (any status). One query."""
    ids = set(talent_ids)
    if not ids:
        return set()
    allowed = {viewer.id} & ids
    if viewer.is_admin or (viewer_member is not None and viewer_member.role == Role.ORGANIZER.value):
        return ids
    if viewer_member is not None and viewer_member.role == Role.RECRUITER.value:
        rows = await session.execute(
            select(ChatRequest.talent_id).distinct()
            .where(ChatRequest.event_id == event_id, ChatRequest.recruiter_id == viewer.id, ChatRequest.talent_id.in_(ids))
        )
        allowed |= set(rows.scalars().all())
    return allowed


async def readable_cv(session: AsyncSession, viewer: User, event_id: int, talent_id: int) -> Profile:
    """The talent's profile with a CV, when the viewer may download it (see `cv_readable`); NotFound for anyone else, the
    same answer as for an unknown event, person or missing CV, so nothing leaks."""
    missing = NotFound("No such CV.", code="cv_not_found")
    event = await session.get(Event, event_id)
    if event is None:
        raise missing
    talent = await actions.participation(session, event_id, talent_id)
    if talent is None or talent.role != Role.TALENT.value:
        raise missing
    member = await actions.participation(session, event_id, viewer.id)
    if member is None and not viewer.is_admin:
        raise missing
    if talent_id not in await cv_readable(session, viewer, member, event_id, [talent_id]):
        raise missing
    row = await session.get(Profile, talent_id)
    if row is None or not row.cv_file:
        raise missing
    return row


async def may_see_profile(session: AsyncSession, viewer: User, viewer_member: Participant | None, event_id: int, user_id: int) -> Participant:
    """A person of the event whose profile the viewer may see: recruiters' by every member; talents' by themselves, the
    event's recruiters and organizers (and platform admins). NotFound otherwise."""
    other = await actions.participation(session, event_id, user_id)
    if other is None or (viewer_member is None and not viewer.is_admin):
        raise NotFound("No such person in this event.", code="not_found")
    if other.role == Role.TALENT.value and viewer.id != user_id and not viewer.is_admin and (
        viewer_member is None or viewer_member.role not in (Role.RECRUITER.value, Role.ORGANIZER.value)
    ):
        raise NotFound("No such person in this event.", code="not_found")
    if other.role == Role.ORGANIZER.value and viewer.id != user_id and not viewer.is_admin and (
        viewer_member is None or viewer_member.role != Role.ORGANIZER.value
    ):
        raise NotFound("No such person in this event.", code="not_found")
    return other


# --------------------------------------------------------------------------- writing


async def _locked(session: AsyncSession, user_id: int, now: dt.datetime) -> Profile:
    """The person's profile row, created if missing and locked for this transaction (two saves at once wait for each other;
    on SQLite the transaction already holds the write lock)."""
    values = {"user_id": user_id, "skills": "", "linkedin_url": "", "portfolio_url": "", "cv_file": "", "cv_name": "", "cv_type": "",
              "cv_size": 0, "updated_at": now}
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    await session.execute(dialect.insert(Profile).values(values).on_conflict_do_nothing(index_elements=["user_id"]))
    row = (await session.execute(select(Profile).where(Profile.user_id == user_id).with_for_update()
                                 .execution_options(populate_existing=True))).scalar_one()
    return row


@dataclass(frozen=True)
class ProfileInput:
    headline: str
    skills: str
    linkedin_url: str
    portfolio_url: str


async def _profile_member(session: AsyncSession, user: User, event_id: int) -> Participant:
    event = await actions.get_event(session, event_id)
    member = await actions.require_member(session, event, user)
    if member is None or member.role not in (Role.TALENT.value, Role.RECRUITER.value):
        raise NotFound("Only talents and recruiters have a profile in this event.", code="not_found")
    return member


async def save(session: AsyncSession, user: User, event_id: int, data: ProfileInput, *, now: dt.datetime) -> Profile:
    """Checks every field (a refusal names the field, in words) and saves headline, skills and links in one go."""
    member = await _profile_member(session, user, event_id)
    label = "headline" if member.role == Role.TALENT.value else "role"
    headline = checked_headline(data.headline, label)
    skills = normalize_skills(data.skills)
    linkedin = checked_url(data.linkedin_url, "linkedin_url", "LinkedIn link", hosts=("linkedin.com",))
    portfolio = checked_url(data.portfolio_url, "portfolio_url", "portfolio link")
    row = await _locked(session, user.id, now)
    user.headline = headline
    row.skills = ", ".join(skills)
    row.linkedin_url, row.portfolio_url, row.updated_at = linkedin, portfolio, now
    return row


async def set_cv(session: AsyncSession, user: User, event_id: int, *, stored: str, name: str, mime: str, size: int,
                 now: dt.datetime) -> tuple[Profile, str]:
    """Records a stored CV (talents only); returns the profile and the file it replaces ("" if none), to remove after commit."""
    member = await _profile_member(session, user, event_id)
    if member.role != Role.TALENT.value:
        raise Invalid("Only talents upload a CV.", code="invalid_input")
    row = await _locked(session, user.id, now)
    old = row.cv_file
    row.cv_file, row.cv_name, row.cv_type, row.cv_size, row.updated_at = stored, cv_name(name, mime), mime, size, now
    return row, old


async def remove_cv(session: AsyncSession, user: User, event_id: int, *, now: dt.datetime) -> str:
    """Forgets the talent's CV; returns its stored file ("" if there was none), to remove after commit."""
    await _profile_member(session, user, event_id)
    row = await _locked(session, user.id, now)
    old = row.cv_file
    row.cv_file, row.cv_name, row.cv_type, row.cv_size, row.updated_at = "", "", "", 0, now
    return old

