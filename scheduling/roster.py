"""An event's roster, as its organizers run it: people and companies by the hundred.

CSV import (parse -> preview with per-row errors -> all rows in one transaction, or nothing), CSV export,
the people list with search, counts and pages, editing and removing people and companies, and sign-in links
for people added without a password. Rules for who may do what live here; web/organizer/roster_pages.py shows them.
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import io
import re
import secrets
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import String, Table, and_, bindparam, delete, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from scheduling import accounts, actions, limits, outbox
from scheduling.errors import Conflict, DomainError, Forbidden, Invalid, NotFound
from scheduling.livechat.desk_models import RoutingRule, Team, TeamMember
from scheduling.livechat.export import to_csv, uncell
from scheduling.livechat.models import JobReq, JobReqAssignee
from scheduling.models import (
    OPEN_STATUSES,
    BookingMode,
    ChatRequest,
    Company,
    Event,
    LoginLink,
    OutboxMessage,
    Participant,
    Role,
    User,
)

Kind = Literal["people", "companies"]
MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 5000
MAX_CELL = 8000
PAGE_SIZE = 50
NAME_LIMIT = limits.PERSON_NAME
HEADLINE_LIMIT = limits.HEADLINE
COMPANY_LIMIT = limits.COMPANY_NAME
DESCRIPTION_LIMIT = limits.COMPANY_DESCRIPTION
URL_LIMIT = limits.URL
ROLES = tuple(r.value for r in Role)
ROLE_WORDS = {"talent": "talent", "recruiter": "recruiter", "organizer": "organizer"}

# The columns of each kind, as exported, and the header spellings accepted for them (compared without case,
# spaces, dashes or underscores).
COLUMNS: dict[str, tuple[str, ...]] = {
    "people": ("name", "email", "role", "company", "headline"),
    "companies": ("name", "description", "website", "logo_url"),
}
REQUIRED: dict[str, tuple[str, ...]] = {"people": ("name", "email", "role"), "companies": ("name",)}
ALIASES: dict[str, dict[str, str]] = {
    "people": {"fullname": "name", "emailaddress": "email", "mail": "email", "companyname": "company", "employer": "company",
               "title": "headline", "tagline": "headline"},
    "companies": {"company": "name", "companyname": "name", "url": "website", "site": "website", "web": "website",
                  "logo": "logo_url", "logourl": "logo_url", "about": "description"},
}
_EMAIL = re.compile(r"^[^@\s\"(),:;<>\[\]\\]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]")


# --------------------------------------------------------------------------- parsing (pure)


@dataclass
class Row:
    """One data row of an import: its spreadsheet row number (the header is row 1), its values, what is wrong, notes."""

    number: int
    values: dict[str, str]
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    skip: bool = False


@dataclass
class Preview:
    kind: str
    rows: list[Row] = field(default_factory=list)
    file_errors: list[str] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    new_companies: list[str] = field(default_factory=list)
    digest: str = ""

    @property
    def error_count(self) -> int:
        return len(self.file_errors) + sum(1 for r in self.rows if r.errors)

    @property
    def ok(self) -> bool:
        return not self.file_errors and not any(r.errors for r in self.rows) and bool(self.rows)

    def messages(self) -> list[str]:
        """Every problem in words, file-wide first, then 'row 14: ...'."""
        return self.file_errors + [f"row {r.number}: {e}" for r in self.rows for e in r.errors]


class ImportRefused(Conflict):
    """An import whose file has errors (found at confirm time): nothing was written; the preview says why."""

    code = "import_refused"

    def __init__(self, preview: Preview, message: str | None = None) -> None:
        n = preview.error_count
        super().__init__(message or f"Nothing was imported: the file has {n} problem{'s' if n != 1 else ''}. Fix {'them' if n != 1 else 'it'} and try again.")
        self.preview = preview


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def decode(raw: bytes) -> str:
    """The file's text: UTF-8, with or without a byte order mark. Size is checked first."""
    if len(raw) > MAX_BYTES:
        raise Invalid(f"The file is {len(raw) / 1024 / 1024:.1f} MB; files are limited to {MAX_BYTES // 1024 // 1024} MB. Split it in two.",
                      code="file_too_large")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Invalid("The file is not UTF-8 text. In Excel, save it as \u201cCSV UTF-8\u201d; in other programs choose UTF-8 as the encoding.",
                      code="not_utf8") from None
    return text


def _header_key(kind: str, cell: str) -> str:
    key = re.sub(r"[\s_\-.]+", "", cell.strip().lstrip("\ufeff").lower())
    for column in COLUMNS[kind]:
        if key == column.replace("_", ""):
            return column
    return ALIASES[kind].get(key, "")


def _delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def parse(kind: str, text: str) -> Preview:
    """Reads a CSV of people or companies into rows with the errors that need no database. Forgiving about the
    header (case, order, a byte order mark, comma/semicolon/tab), strict about the cells."""
    if kind not in COLUMNS:
        raise Invalid("Choose what the file holds: people or companies.", code="invalid_kind")
    if len(text.encode()) > MAX_BYTES:
        decode(text.encode())  # raises the size error
    text = text.replace("\r\n", "\n").replace("\r", "\n")  # a browser sends a form's text back with CRLF line ends
    preview = Preview(kind=kind, digest=digest(text))
    text = text.lstrip("\ufeff")
    if "\x00" in text:
        preview.file_errors.append("The file holds NUL characters; it is not a CSV text file.")
        return preview
    if not text.strip():
        preview.file_errors.append("The file is empty.")
        return preview
    first_line = text.split("\n", 1)[0]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(first_line), strict=True)
    try:
        records = list(_limited(reader))
    except csv.Error as err:
        preview.file_errors.append(f"The file is not valid CSV near row {reader.line_num}: {err}. Check its quotes.")
        return preview
    except _TooMany:
        preview.file_errors.append(f"The file has more than {MAX_ROWS:,} rows; import at most {MAX_ROWS:,} at a time.")
        return preview
    header = records[0]
    columns: list[str] = []
    for i, cell in enumerate(header):
        key = _header_key(kind, cell)
        if key and key in columns:
            preview.file_errors.append(f"The column \u201c{key}\u201d appears twice in the header.")
        elif not key and cell.strip():
            preview.ignored_columns.append(cell.strip()[:60])
        elif not key:
            preview.ignored_columns.append(f"column {i + 1} (no name)")
        columns.append(key)
    missing = [c for c in REQUIRED[kind] if c not in columns]
    if missing:
        wanted = ", ".join(COLUMNS[kind])
        preview.file_errors.append(
            f"The header has no {' or '.join(missing)} column. The first row must name the columns: {wanted}."
        )
        return preview
    for number, record in enumerate(records[1:], start=2):
        if not any(cell.strip() for cell in record):
            continue  # blank lines are ignored
        row = Row(number=number, values={c: "" for c in COLUMNS[kind]})
        if len(record) > len(columns) and any(cell.strip() for cell in record[len(columns):]):
            row.errors.append(f"has {len(record)} cells but the header names {len(columns)} columns")
        for key, cell in zip(columns, record, strict=False):
            if key:
                row.values[key] = uncell(cell.strip())  # an exported cell's guard apostrophe ("'=...") is not data
        (_check_person if kind == "people" else _check_company)(row)
        preview.rows.append(row)
    if not preview.rows:
        preview.file_errors.append("The file has a header but no rows.")
    return preview


class _TooMany(Exception):
    pass


def _limited(reader: Any) -> Any:
    csv.field_size_limit(MAX_CELL * 4)
    for i, record in enumerate(reader):
        if i > MAX_ROWS:
            raise _TooMany
        yield record


def _text_error(value: str, label: str, limit: int, *, required: bool) -> str | None:
    if required and not value:
        return f"{label} is empty"
    if _CONTROL.search(value):
        return f"{label} holds a line break or control character"
    if len(value) > limit:
        return f"{label} is {len(value)} characters long; at most {limit} are allowed"
    return None


def valid_email(value: str) -> bool:
    return len(value) <= 254 and bool(_EMAIL.match(value))


def _url_error(value: str, label: str) -> str | None:
    if not value:
        return None
    if not re.match(r"^https?://[^\s/]+\.[^\s]*$|^https?://[^\s/]+$", value, re.IGNORECASE) or _CONTROL.search(value):
        return f"{label} \u201c{value[:60]}\u201d is not a web address starting with https://"
    if len(value) > URL_LIMIT:
        return f"{label} is longer than {URL_LIMIT} characters"
    return None


def _check_person(row: Row) -> None:
    v = row.values
    for key, label, limit, required in (("name", "name", NAME_LIMIT, True), ("headline", "headline", HEADLINE_LIMIT, False),
                                        ("company", "company", COMPANY_LIMIT, False)):
        problem = _text_error(v[key], label, limit, required=required)
        if problem:
            row.errors.append(problem)
    v["email"] = v["email"].lower()
    if not v["email"]:
        row.errors.append("email is empty")
    elif not valid_email(v["email"]):
        row.errors.append(f"email \u201c{v['email'][:80]}\u201d is not a valid address")
    role = v["role"].lower()
    if role not in ROLES:
        row.errors.append(f"role \u201c{v['role'][:40]}\u201d must be talent, recruiter or organizer" if role
                          else "role is empty: write talent, recruiter or organizer")
    else:
        v["role"] = role
        if role == Role.RECRUITER.value and not v["company"]:
            row.errors.append("a recruiter needs a company")
        elif role != Role.RECRUITER.value and v["company"]:
            row.errors.append(f"only recruiters belong to a company; leave company empty for a {role}")


def _check_company(row: Row) -> None:
    v = row.values
    for key, label, limit, required in (("name", "name", COMPANY_LIMIT, True),):
        problem = _text_error(v[key], label, limit, required=required)
        if problem:
            row.errors.append(problem)
    if "\x00" in v["description"] or len(v["description"]) > DESCRIPTION_LIMIT:
        row.errors.append(f"description is longer than {DESCRIPTION_LIMIT} characters")
    for key, label in (("website", "website"), ("logo_url", "logo URL")):
        problem = _url_error(v[key], label)
        if problem:
            row.errors.append(problem)


# --------------------------------------------------------------------------- preview and import


async def _lookup_users(session: AsyncSession, emails: list[str]) -> dict[str, User]:
    """Accounts by email. On PostgreSQL one array parameter joined through unnest(): the planner hashes it or walks the
    email index, where a list of 500 bind parameters compared row by row took seconds on a table without statistics
    (benchmarks/roster_import.py --no-analyze)."""
    found: dict[str, User] = {}
    if session.get_bind().dialect.name == "postgresql":
        wanted = select(func.unnest(bindparam("emails", emails, type_=ARRAY(String)))).scalar_subquery()
        for user in (await session.execute(select(User).where(User.email.in_(wanted)))).scalars():
            found[user.email] = user
        return found
    for i in range(0, len(emails), 500):
        chunk = emails[i:i + 500]
        for user in (await session.execute(select(User).where(User.email.in_(chunk)))).scalars():
            found[user.email] = user
    return found


async def _event_companies(session: AsyncSession, event_id: int) -> dict[str, Company]:
    rows = (await session.execute(select(Company).where(Company.event_id == event_id))).scalars().all()
    return {c.name.lower(): c for c in rows}


async def _check_against_event(session: AsyncSession, event: Event, preview: Preview) -> dict[str, Any]:
    """Adds the errors only the database can tell (duplicates, people and companies already there); returns what it read."""
    if preview.file_errors:
        return {}
    companies = await _event_companies(session, event.id)
    if preview.kind == "companies":
        seen: dict[str, int] = {}
        for row in preview.rows:
            key = row.values["name"].lower()
            if not key:
                continue
            if key in seen:
                row.errors.append(f"company \u201c{row.values['name']}\u201d is also on row {seen[key]}")
            elif key in companies:
                row.errors.append(f"company \u201c{companies[key].name}\u201d is already in this event")
            else:
                seen[key] = row.number
        return {"companies": companies}
    emails = sorted({r.values["email"] for r in preview.rows if r.values["email"]})
    users = await _lookup_users(session, emails)
    ids = [u.id for u in users.values()]
    taking_part: dict[int, str] = {}
    for i in range(0, len(ids), 500):
        stmt = select(Participant.user_id, Participant.role).where(Participant.event_id == event.id, Participant.user_id.in_(ids[i:i + 500]))
        taking_part.update({uid: role for uid, role in (await session.execute(stmt)).all()})
    first_row: dict[str, int] = {}
    new_companies: dict[str, str] = {}
    new_rows: list[tuple[Row, str]] = []
    for row in preview.rows:
        email = row.values["email"]
        if email in first_row:
            row.errors.append(f"email {email} is also on row {first_row[email]}")
        elif email:
            first_row[email] = row.number
            user = users.get(email)
            if user is not None and user.id in taking_part:
                row.errors.append(f"{email} already takes part in this event (as {taking_part[user.id]})")
            elif user is not None:
                kept = f"; their name stays \u201c{user.name}\u201d" if user.name != row.values["name"] else ""
                row.notes.append(f"has a Fairmeet account already{kept}")
        company = row.values["company"]
        if company and row.values["role"] == Role.RECRUITER.value:
            key = company.lower()
            if key not in companies:
                if key not in new_companies:
                    new_companies[key] = company
                new_rows.append((row, key))
    _new_company_notes(new_rows, companies, new_companies)
    preview.new_companies = sorted(new_companies.values(), key=str.lower)
    return {"companies": companies, "users": users, "new_companies": new_companies}


def _new_company_notes(new_rows: list[tuple[Row, str]], companies: dict[str, Company], new_companies: dict[str, str]) -> None:
    """'new company “Acme Analytcs” — did you mean “Acme Analytics”?' when the name is close to one already in the event,
    or to a new one more rows of this import spell that way (a note, not an error: a similar name may be meant)."""
    rows_per_key = Counter(key for _row, key in new_rows)
    names = {key: c.name for key, c in companies.items()}
    hints: dict[str, str | None] = {}
    for row, key in new_rows:
        if key not in hints:
            likelier = [k for k, n in rows_per_key.items() if k != key and n > rows_per_key[key]]
            close = difflib.get_close_matches(key, [*names, *likelier], n=1, cutoff=0.85)
            hints[key] = (names.get(close[0]) or new_companies[close[0]]) if close else None
        note = f"new company \u201c{new_companies[key]}\u201d"
        if hints[key]:
            note += f" \u2014 did you mean \u201c{hints[key]}\u201d?"
        row.notes.append(note)


async def require(session: AsyncSession, actor: User, event_id: int) -> Event:
    """The event, for its organizers and platform admins; 404 for strangers, 403 for its other people."""
    event = await actions.get_event(session, event_id)
    await actions.require_organizer(session, event, actor)
    return event


async def preview(session: AsyncSession, actor: User, event_id: int, kind: str, text: str) -> Preview:
    """What an import of `text` would do, row by row; writes nothing."""
    event = await actions.get_event(session, event_id)
    await actions.require_organizer(session, event, actor)
    result = parse(kind, text)
    await _check_against_event(session, event, result)
    return result


@dataclass
class Imported:
    added: int
    new_users: int
    new_companies: int
    preview: Preview = field(default_factory=lambda: Preview(kind=""))


async def import_csv(session: AsyncSession, ctx: actions.Context, actor: User, event_id: int, kind: str, text: str, *, expect: str = "") -> Imported:
    """Imports every row of `text` in the caller's transaction, or nothing: any problem raises ImportRefused.

    The event row is locked first (FOR NO KEY UPDATE: chats may still be written meanwhile), so two imports of the
    same event run one after the other and the second sees the first's people as already there. A person or company
    added another way at the same moment trips a unique index instead; that is refused the same way.
    """
    event = await actions.get_event(session, event_id)
    await actions.require_organizer(session, event, actor)
    await session.execute(select(Event.id).where(Event.id == event.id).with_for_update(key_share=True))
    result = parse(kind, text)
    if expect and expect != result.digest:
        raise Invalid("The file changed since its preview; look at the preview again.", code="preview_stale")
    found = await _check_against_event(session, event, result)
    if not result.ok:
        raise ImportRefused(result)
    try:
        async with session.begin_nested():
            done = await (_write_companies(session, event, result) if kind == "companies" else _write_people(session, ctx, event, result, found))
            done.preview = result
            return done
    except IntegrityError:
        result.file_errors.append("Someone added some of these people or companies at the same moment (another import?). "
                                  "Nothing was imported from this file; look at the preview again.")
        raise ImportRefused(result, "Nothing was imported: some of these people or companies were added at the same moment by someone else. "
                                    "Look at the preview again.") from None


async def _write_companies(session: AsyncSession, event: Event, result: Preview) -> Imported:
    rows = [{"event_id": event.id, "name": r.values["name"], "description": r.values["description"], "website": r.values["website"],
             "logo_url": r.values["logo_url"]} for r in result.rows]
    await session.execute(insert(_table(Company)), rows)
    return Imported(added=len(rows), new_users=0, new_companies=len(rows))


async def _write_people(session: AsyncSession, ctx: actions.Context, event: Event, result: Preview, found: dict[str, Any]) -> Imported:
    # Core inserts into the tables: one executemany (or a few multi-row INSERTs) per table whatever the size. The ORM's bulk
    # insert starts a new statement whenever a row's NULL columns differ from the last one's (talents vs recruiters).
    companies: dict[str, Company] = found["companies"]
    users: dict[str, User] = found["users"]
    company_ids = {key: c.id for key, c in companies.items()}
    new_companies: dict[str, str] = found["new_companies"]
    if new_companies:
        made = await session.execute(
            insert(_table(Company)).returning(_table(Company).c.id, _table(Company).c.name),
            [{"event_id": event.id, "name": name, "description": "", "website": "", "logo_url": ""} for name in new_companies.values()],
        )
        company_ids.update({name.lower(): cid for cid, name in made.all()})
    new_people = [r for r in result.rows if r.values["email"] not in users]
    user_ids = {email: u.id for email, u in users.items()}
    names = {email: u.name for email, u in users.items()}
    if new_people:
        made = await session.execute(
            insert(_table(User)).returning(_table(User).c.id, _table(User).c.email),
            [{"email": r.values["email"], "name": r.values["name"], "password_hash": None, "is_admin": False, "timezone": None,
              "headline": r.values["headline"], "calendar_token": secrets.token_urlsafe(24), "session_epoch": 0, "created_at": ctx.now}
             for r in new_people],
        )
        user_ids.update({email: uid for uid, email in made.all()})
        names.update({r.values["email"]: r.values["name"] for r in new_people})
    # An account that exists keeps its owner's name; an empty headline takes the file's.
    for r in result.rows:
        user = users.get(r.values["email"])
        if user is not None and not user.headline and r.values["headline"]:
            await session.execute(update(User).where(User.id == user.id, User.headline == "").values(headline=r.values["headline"]))
    await session.execute(insert(_table(Participant)), [
        {"event_id": event.id, "user_id": user_ids[r.values["email"]], "role": r.values["role"],
         "company_id": company_ids[r.values["company"].lower()] if r.values["role"] == Role.RECRUITER.value else None,
         "booking_mode": BookingMode.SELECTIVE.value, "custom_question": "", "ideal_candidate": "", "requests_used": 0, "chats_booked": 0}
        for r in result.rows
    ])
    links, mails = [], []
    for r in result.rows:
        email = r.values["email"]
        secret, link = accounts.login_link_row(user_ids[email], now=ctx.now, lifetime=actions.INVITE_LINK_LIFETIME)
        links.append(link)
        to = _Addressee(names[email], email)
        mail = outbox.invitation(to=to.name, event_name=event.name, role=r.values["role"], url=ctx.link(f"/login/link/{secret}?next=/events/{event.id}"))
        mails.append(outbox.row(to, "invitation", mail, now=ctx.now))
    await session.execute(insert(_table(LoginLink)), links)
    await session.execute(insert(_table(OutboxMessage)), mails)
    return Imported(added=len(result.rows), new_users=len(new_people), new_companies=len(new_companies))


def _table(model: type[Any]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


@dataclass(frozen=True)
class _Addressee:
    name: str
    email: str


# --------------------------------------------------------------------------- export


async def export_people(session: AsyncSession, actor: User, event_id: int) -> str:
    event = await actions.get_event(session, event_id)
    await actions.require_organizer(session, event, actor)
    rows = (await session.execute(
        select(User.name, User.email, Participant.role, Company.name, User.headline)
        .join(Participant, Participant.user_id == User.id).outerjoin(Company, Company.id == Participant.company_id)
        .where(Participant.event_id == event.id).order_by(Participant.role, func.lower(User.name), User.id)
    )).all()
    return "\ufeff" + to_csv(COLUMNS["people"], [tuple(r) for r in rows])


async def export_companies(session: AsyncSession, actor: User, event_id: int) -> str:
    event = await actions.get_event(session, event_id)
    await actions.require_organizer(session, event, actor)
    rows = (await session.execute(
        select(Company.name, Company.description, Company.website, Company.logo_url).where(Company.event_id == event.id)
        .order_by(func.lower(Company.name))
    )).all()
    return "\ufeff" + to_csv(COLUMNS["companies"], [tuple(r) for r in rows])


# --------------------------------------------------------------------------- the people list


@dataclass
class Person:
    member: Participant
    user: User
    company: Company | None


@dataclass
class PeoplePage:
    people: list[Person]
    total: int  # matching the filter
    page: int
    pages: int
    counts: dict[str, int]  # per role, whole event
    company_counts: dict[int, int]  # recruiters per company
    waiting: set[int] = field(default_factory=set)  # people on this page with no password who never used a sign-in link


def _like(q: str) -> str:
    return "%" + q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


async def people_page(
    session: AsyncSession, event_id: int, *, q: str = "", role: str = "", company_id: int | None = None, page: int = 1, size: int = PAGE_SIZE,
) -> PeoplePage:
    """One page of the event's people matching a search (name, email, company, headline), a role and a company."""
    where = [Participant.event_id == event_id]
    if role in ROLES:
        where.append(Participant.role == role)
    if company_id is not None:
        where.append(Participant.company_id == company_id)
    q = q.strip()[:200]
    if q:
        pattern = _like(q)
        where.append(or_(func.lower(User.name).like(pattern, escape="\\"), func.lower(User.email).like(pattern, escape="\\"),
                         func.lower(Company.name).like(pattern, escape="\\"), func.lower(User.headline).like(pattern, escape="\\")))
    base = select(Participant, User, Company).join(User, User.id == Participant.user_id).outerjoin(Company, Company.id == Participant.company_id)
    total = (await session.execute(
        select(func.count()).select_from(Participant).join(User, User.id == Participant.user_id)
        .outerjoin(Company, Company.id == Participant.company_id).where(and_(*where))
    )).scalar_one()
    pages = max(1, -(-total // size))
    page = min(max(1, page), pages)
    rows = (await session.execute(
        base.where(and_(*where)).order_by(func.lower(User.name), User.id).offset((page - 1) * size).limit(size)
    )).all()
    counts = dict.fromkeys(ROLES, 0)
    for r, n in (await session.execute(select(Participant.role, func.count()).where(Participant.event_id == event_id).group_by(Participant.role))).all():
        counts[r] = n
    per_company = {cid: n for cid, n in (await session.execute(
        select(Participant.company_id, func.count()).where(Participant.event_id == event_id, Participant.company_id.is_not(None))
        .group_by(Participant.company_id)
    )).all() if cid is not None}
    people = [Person(p, u, c) for p, u, c in rows]
    return PeoplePage(people, total, page, pages, counts, per_company, await not_signed_in(session, [x.user for x in people]))


async def not_signed_in(session: AsyncSession, users: list[User]) -> set[int]:
    """Of these people, those who can't have signed in yet: no password of their own and no sign-in link ever used."""
    without = [u.id for u in users if not u.password_hash]
    if not without:
        return set()
    used = set((await session.execute(
        select(LoginLink.user_id).where(LoginLink.user_id.in_(without), LoginLink.used_at.is_not(None)).distinct()
    )).scalars())
    return set(without) - used


async def person(session: AsyncSession, actor: User, event_id: int, user_id: int) -> tuple[Event, Person]:
    """A person of the event, for its organizers; anyone else, and people not in the event, get not-found."""
    event = await actions.get_event(session, event_id)
    await actions.require_organizer(session, event, actor)
    row = (await session.execute(
        select(Participant, User, Company).join(User, User.id == Participant.user_id).outerjoin(Company, Company.id == Participant.company_id)
        .where(Participant.event_id == event.id, Participant.user_id == user_id)
    )).first()
    if row is None:
        raise NotFound("No such person in this event.", code="person_not_found")
    return event, Person(row[0], row[1], row[2])


async def company(session: AsyncSession, actor: User, event_id: int, company_id: int) -> tuple[Event, Company, list[User]]:
    """A company of the event and its recruiters, for its organizers."""
    event = await actions.get_event(session, event_id)
    await actions.require_organizer(session, event, actor)
    found = await session.get(Company, company_id)
    if found is None or found.event_id != event.id:
        raise NotFound("No such company in this event.", code="company_not_found")
    recruiters = list((await session.execute(
        select(User).join(Participant, Participant.user_id == User.id)
        .where(Participant.event_id == event.id, Participant.company_id == found.id).order_by(func.lower(User.name))
    )).scalars())
    return event, found, recruiters


async def open_chat_count(session: AsyncSession, event_id: int, user_id: int) -> Counter[str]:
    rows = (await session.execute(
        select(ChatRequest.status, func.count()).where(
            ChatRequest.event_id == event_id, ChatRequest.status.in_(OPEN_STATUSES),
            or_(ChatRequest.talent_id == user_id, ChatRequest.recruiter_id == user_id),
        ).group_by(ChatRequest.status)
    )).all()
    return Counter({s: n for s, n in rows})


# --------------------------------------------------------------------------- edit and remove


async def elsewhere(session: AsyncSession, actor: User, event_id: int, target: User) -> list[str]:
    """Where else `target` has a part that `actor` doesn't organize: other events (by name), job reqs, desk teams.

    A sign-in link (or a changed name) would let the actor act as them there, so those need the person themself.
    """
    if actor.is_admin:
        return []
    organized = select(Participant.event_id).where(Participant.user_id == actor.id, Participant.role == Role.ORGANIZER.value)
    places = list((await session.execute(
        select(Event.name).join(Participant, Participant.event_id == Event.id)
        .where(Participant.user_id == target.id, Participant.event_id != event_id, Participant.event_id.not_in(organized))
        .order_by(Event.name)
    )).scalars())
    reqs = (await session.execute(
        select(func.count()).select_from(JobReq).where(
            or_(JobReq.created_by_id == target.id, JobReq.id.in_(select(JobReqAssignee.job_req_id).where(JobReqAssignee.user_id == target.id))),
            or_(JobReq.event_id.is_(None), JobReq.event_id.not_in(organized)),
        )
    )).scalar_one()
    if reqs:
        places.append(f"{reqs} job posting{'s' if reqs != 1 else ''}")
    teams = (await session.execute(
        select(func.count()).select_from(TeamMember).join(Team, Team.id == TeamMember.team_id)
        .where(TeamMember.user_id == target.id, Team.event_id.not_in(organized))
    )).scalar_one()
    if teams:
        places.append(f"{teams} live-chat team{'s' if teams != 1 else ''}")
    return places


async def edit_person(
    session: AsyncSession, actor: User, event_id: int, user_id: int, *, name: str, headline: str, company_id: int | None,
) -> Person:
    """Changes a person's name and headline (their account's, so only while nobody else's event would see the change)
    and a recruiter's company."""
    event, p = await person(session, actor, event_id, user_id)
    name = actions.one_line(name, "name", limit=NAME_LIMIT)
    headline = actions.one_line(headline, "headline", required=False, limit=HEADLINE_LIMIT)
    if (name, headline) != (p.user.name, p.user.headline):
        if p.user.is_admin and p.user.id != actor.id:
            raise Forbidden(f"{p.user.name} is a platform admin; only they can change their name and headline.", code="person_elsewhere")
        places = await elsewhere(session, actor, event.id, p.user)
        if places:
            raise Forbidden(f"{p.user.name} also takes part in {_listing(places)}, so only they can change their name and headline "
                            "(on their Account page).", code="person_elsewhere")
        p.user.name, p.user.headline = name, headline
    if p.member.role == Role.RECRUITER.value:
        if company_id is None:
            raise Invalid("A recruiter belongs to a company: pick one.", code="company_required")
        chosen = await session.get(Company, company_id)
        if chosen is None or chosen.event_id != event.id:
            raise NotFound("That company is not in this event any more; pick another.", code="company_not_found")
        p.member.company_id, p.company = chosen.id, chosen
    elif company_id is not None:
        raise Invalid("Only recruiters belong to a company.", code="invalid_company")
    return p


def _listing(items: list[str]) -> str:
    shown = items[:3] + ([f"{len(items) - 3} more"] if len(items) > 3 else [])
    return ", ".join(shown[:-1]) + (" and " if len(shown) > 1 else "") + shown[-1]


@dataclass
class Removed:
    name: str
    cancelled: int


async def remove_person(session: AsyncSession, ctx: actions.Context, actor: User, event_id: int, user_id: int) -> Removed:
    """Takes a person out of the event. Their open chats (pending, accepted, confirmed) are cancelled first by the
    organizer on the people's behalf (actions.cancel), with the reason "<name> was removed from the event": the same
    mails and CANCEL invites as any cancel, counters given back, busy blocks released.

    Lock order as in every booking action: all the chat rows first (in id order, before any counter row), then each
    cancel takes its talent's counter row and the busy blocks; the participant row goes last.
    """
    event, p = await person(session, actor, event_id, user_id)
    if p.user.id == actor.id:
        raise Forbidden("You can't remove yourself; ask another organizer.", code="remove_self")
    chat_ids = list((await session.execute(
        select(ChatRequest.id).where(
            ChatRequest.event_id == event.id, ChatRequest.status.in_(OPEN_STATUSES),
            or_(ChatRequest.talent_id == p.user.id, ChatRequest.recruiter_id == p.user.id),
        ).order_by(ChatRequest.id).with_for_update()
    )).scalars())
    reason = f"{p.user.name} was removed from the event"
    for chat_id in chat_ids:
        try:
            await actions.cancel(session, ctx, actor, chat_id, reason)  # on the people's behalf: both are told, invites cancelled
        except Conflict as err:
            if err.code != "already_started":
                raise
            raise Conflict(f"{p.user.name} is in a 1-1 chat that has already started; remove them once it has ended.",
                           code="chat_in_progress") from None
    await session.execute(delete(Participant).where(Participant.id == p.member.id))
    session.expunge(p.member)
    # Off the event's live-chat desk too: its teams, routing rules naming them, its job postings.
    uid = p.user.id
    await session.execute(delete(TeamMember).where(TeamMember.user_id == uid, TeamMember.team_id.in_(select(Team.id).where(Team.event_id == event.id))))
    await session.execute(delete(RoutingRule).where(RoutingRule.event_id == event.id, RoutingRule.user_id == uid))
    await session.execute(delete(JobReqAssignee).where(JobReqAssignee.user_id == uid,
                                                       JobReqAssignee.job_req_id.in_(select(JobReq.id).where(JobReq.event_id == event.id))))
    return Removed(p.user.name, len(chat_ids))


async def _unique_company_name(session: AsyncSession, event_id: int, name: str, *, other_than: int | None = None) -> None:
    stmt = select(Company.name).where(Company.event_id == event_id, func.lower(Company.name) == name.lower())
    if other_than is not None:
        stmt = stmt.where(Company.id != other_than)
    existing = (await session.execute(stmt)).scalar()
    if existing is not None:
        raise Conflict(f"There is already a company called \u201c{existing}\u201d in this event.", code="company_exists")


async def edit_company(
    session: AsyncSession, actor: User, event_id: int, company_id: int, *, name: str, description: str, website: str, logo_url: str,
) -> Company:
    event, found, _ = await company(session, actor, event_id, company_id)
    name = actions.one_line(name, "company name", limit=COMPANY_LIMIT)
    description = description.strip()
    if len(description) > DESCRIPTION_LIMIT:
        raise Invalid(f"The description is limited to {DESCRIPTION_LIMIT} characters.", code="invalid_input")
    for value, label in ((website, "website"), (logo_url, "logo URL")):
        problem = _url_error(value.strip(), f"The {label}")
        if problem:
            raise Invalid(problem + ".", code="invalid_url")
    await _unique_company_name(session, event.id, name, other_than=found.id)
    found.name, found.description, found.website, found.logo_url = name, description, website.strip(), logo_url.strip()
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        raise Conflict(f"There is already a company called \u201c{name}\u201d in this event.", code="company_exists") from None
    return found


async def remove_company(session: AsyncSession, actor: User, event_id: int, company_id: int) -> str:
    """Removes a company that has no recruiters left; with recruiters, refuses and names them (remove or move them first)."""
    event, found, recruiters = await company(session, actor, event_id, company_id)
    if recruiters:
        names = _listing([u.name for u in recruiters])
        raise Conflict(f"{found.name} still has {len(recruiters)} recruiter{'s' if len(recruiters) != 1 else ''}: {names}. "
                       "Move them to another company or remove them first.", code="company_has_recruiters")
    name = found.name
    await session.delete(found)
    await session.flush()
    return name


# --------------------------------------------------------------------------- sign-in links


async def send_link(session: AsyncSession, ctx: actions.Context, actor: User, event_id: int, user_id: int) -> User:
    """Emails the person a new one-time sign-in link (the invitation again). Always allowed: it goes to them."""
    event, p = await person(session, actor, event_id, user_id)
    secret = await accounts.issue_login_link(session, p.user, now=ctx.now, lifetime=actions.INVITE_LINK_LIFETIME)
    mail = outbox.invitation(to=p.user.name, event_name=event.name, role=p.member.role, url=ctx.link(f"/login/link/{secret}?next=/events/{event.id}"))
    outbox.enqueue(session, p.user, "invitation", mail, now=ctx.now)
    return p.user


async def copy_link(session: AsyncSession, ctx: actions.Context, actor: User, event_id: int, user_id: int) -> str:
    """A new one-time sign-in link for the organizer to hand over (no SMTP, a chat, a printout).

    Refused for platform admins and for people who take part anywhere this organizer doesn't organize: whoever holds
    the link signs in as them, everywhere.
    """
    event, p = await person(session, actor, event_id, user_id)
    if p.user.is_admin and p.user.id != actor.id:
        raise Forbidden(f"{p.user.name} is a platform admin, so their sign-in link can't be copied; email it to them instead.", code="link_refused")
    places = await elsewhere(session, actor, event.id, p.user)
    if places:
        raise Forbidden(f"{p.user.name} also takes part in {_listing(places)}, which you don't organize; a copied link would let you act as them "
                        "there. Email the link to them instead.", code="link_refused")
    secret = await accounts.issue_login_link(session, p.user, now=ctx.now, lifetime=actions.INVITE_LINK_LIFETIME)
    return ctx.link(f"/login/link/{secret}?next=/events/{event.id}")


def error_field(err: DomainError) -> str:
    """The form field a domain error is about, for pages that mark it."""
    return {"company_required": "company_id", "company_not_found": "company_id", "invalid_company": "company_id", "invalid_email": "email",
            "email_taken": "email", "already_participant": "email", "invalid_role": "role", "weak_password": "password",
            "company_exists": "name", "invalid_url": "logo_url" if "logo" in err.message else "website"}.get(err.code, "")

