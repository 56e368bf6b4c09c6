"""The desk's library: saved replies (personal, or shared with an event's staff) and an event's knowledge-base articles.

Who may do what (checked here, whatever the caller is: API, page or console):
- Only staff use the library: recruiters and organizers (of any event) and platform admins. Talents and strangers are
  refused (`not_staff`, 403).
- A personal reply is its owner's alone; anyone else gets not-found.
- A reply shared with an event is read by the event's recruiters and organizers; only its organizers (and admins) create,
  change or delete one. Staff of other events, and the event's talents, get not-found.
- An event's articles are managed by its organizers (and admins); its recruiters read the published ones (organizers see
  drafts too). A published article also has a public page anyone with the link may read; a draft has none.

Search is case-insensitive on the title, keywords and text (every word of the query must appear somewhere); matches in
the title rank above matches in the keywords, which rank above matches in the text. Matching is done in Python with
`str.casefold` (SQLite's lower() knows ASCII only), over a bounded number of rows: each scope holds a bounded number of
replies and articles.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from scheduling import actions
from scheduling.errors import Forbidden, Invalid, NotFound
from scheduling.livechat.desk_models import Article, SavedReply
from scheduling.models import Event, Participant, Role, User

REPLY_TITLE_MAX = 120
ARTICLE_TITLE_MAX = 200
KEYWORDS_MAX = 300
REPLY_BODY_MAX = 4000  # a chat message's limit: a reply is inserted into the composer whole
ARTICLE_BODY_MAX = 20000
QUERY_MAX = 200
MAX_PERSONAL_REPLIES = 300  # per person
MAX_SHARED_REPLIES = 300  # per event
MAX_ARTICLES = 300  # per event
SEARCH_LIMIT = 50  # results returned by a search
SCAN_LIMIT = 5000  # rows read for one search, at most
STAFF_ROLES = (Role.RECRUITER.value, Role.ORGANIZER.value)

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u2028\u2029\u0085]")
_SPACES = re.compile(r"\s+")


# --------------------------------------------------------------------------- input


@dataclass(frozen=True)
class ReplyIn:
    title: str
    body: str
    keywords: str = ""


@dataclass(frozen=True)
class ArticleIn:
    title: str
    body: str
    keywords: str = ""
    published: bool = True


def _title(value: str, what: str, limit: int) -> str:
    text = value.strip()
    if not text:
        raise Invalid(f"Title: give the {what} a title.", code="invalid_title")
    if any(ord(ch) < 32 or ord(ch) == 127 or ch in "\u0085\u2028\u2029" for ch in text):
        raise Invalid("Title: one line, without line breaks or control characters.", code="invalid_title")
    if len(text) > limit:
        raise Invalid(f"Title: at most {limit} characters (this one has {len(text)}).", code="invalid_title")
    return text


def _keywords(value: str) -> str:
    text = _SPACES.sub(" ", value).strip()
    if _CONTROL.search(text):
        raise Invalid("Keywords: one line, without control characters.", code="invalid_keywords")
    if len(text) > KEYWORDS_MAX:
        raise Invalid(f"Keywords: at most {KEYWORDS_MAX} characters (these have {len(text)}).", code="invalid_keywords")
    return text


def _body(value: str, what: str, limit: int, why: str = "") -> str:
    text = value.replace("\r\n", "\n").replace("\r", "\n").strip()
    # Trailing spaces on each line go, and more than one blank line between paragraphs becomes one.
    text = re.sub(r"[ \t]+\n", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    if not text:
        raise Invalid(f"Text: write the {what}'s text.", code="invalid_body")
    if _CONTROL.search(text):
        raise Invalid("Text: it can't contain control characters.", code="invalid_body")
    if len(text) > limit:
        raise Invalid(f"Text: at most {limit} characters{why} (this one has {len(text)}).", code="invalid_body")
    return text


def clean_query(value: str) -> str:
    text = _SPACES.sub(" ", value).strip()
    if len(text) > QUERY_MAX:
        raise Invalid(f"Search: at most {QUERY_MAX} characters.", code="invalid_query")
    if _CONTROL.search(text):
        raise Invalid("Search: no control characters.", code="invalid_query")
    return text


def paragraphs(body: str) -> list[str]:
    """A reply's pieces when it is sent in pieces: split on blank lines, each trimmed, empty ones dropped."""
    return [p.strip() for p in re.split(r"\n[ \t]*\n", body.replace("\r\n", "\n")) if p.strip()]


# --------------------------------------------------------------------------- who is who


async def staff_event_ids(session: AsyncSession, user: User) -> list[int] | None:
    """The events where the user is a recruiter or an organizer; None for platform admins (every event)."""
    if user.is_admin:
        return None
    return list((await session.execute(
        select(Participant.event_id).where(Participant.user_id == user.id, Participant.role.in_(STAFF_ROLES)).order_by(Participant.event_id)
    )).scalars())


async def organized_event_ids(session: AsyncSession, user: User) -> list[int] | None:
    """The events the user organizes; None for platform admins (every event)."""
    if user.is_admin:
        return None
    return list((await session.execute(
        select(Participant.event_id).where(Participant.user_id == user.id, Participant.role == Role.ORGANIZER.value).order_by(Participant.event_id)
    )).scalars())


async def _role(session: AsyncSession, event_id: int, user: User) -> str | None:
    """"organizer" or "recruiter" at the event (admins count as organizers), None for anyone else."""
    if user.is_admin:
        return Role.ORGANIZER.value
    member = await actions.participation(session, event_id, user.id)
    return member.role if member is not None and member.role in STAFF_ROLES else None


async def require_staff(session: AsyncSession, user: User) -> None:
    if user.is_admin:
        return
    found = await session.scalar(select(Participant.id).where(Participant.user_id == user.id, Participant.role.in_(STAFF_ROLES)).limit(1))
    if found is None:
        raise Forbidden("Saved replies and articles are for recruiters and organizers.", code="not_staff")


async def event_names(session: AsyncSession, ids: Iterable[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {e.id: e.name for e in (await session.execute(select(Event).where(Event.id.in_(wanted)))).scalars()}


async def events_for(session: AsyncSession, ids: list[int] | None) -> list[Event]:
    """Events by id (None: every event, for admins), soonest last-started first."""
    stmt = select(Event).order_by(Event.starts_at.desc(), Event.id)
    if ids is not None:
        if not ids:
            return []
        stmt = stmt.where(Event.id.in_(ids))
    return list((await session.execute(stmt.limit(200))).scalars())


# --------------------------------------------------------------------------- search


Row = TypeVar("Row", SavedReply, Article)


def _norm(text: str) -> str:
    return _SPACES.sub(" ", text.casefold())


def rank(rows: Sequence[Row], query: str, limit: int = SEARCH_LIMIT) -> list[Row]:
    """The rows matching every word of `query` (case-insensitive), best first: title, then keywords, then text."""
    words = _norm(query).split()
    if not words:
        return list(rows)[:limit]
    scored = []
    for n, row in enumerate(rows):
        title, keywords, body = _norm(row.title), _norm(row.keywords), _norm(row.body)
        score = 0
        for word in words:
            if word in title:
                score += 4
            elif word in keywords:
                score += 2
            elif word in body:
                score += 1
            else:
                break
        else:
            phrase = " ".join(words)
            if len(words) > 1 and phrase in title:
                score += 4
            scored.append((-score, n, row))
    scored.sort(key=lambda t: (t[0], t[1]))
    return [row for _, _, row in scored[:limit]]


# --------------------------------------------------------------------------- saved replies


@dataclass(frozen=True)
class ReplyView:
    reply: SavedReply
    event_name: str | None  # shared: the event's name
    can_edit: bool

    @property
    def shared(self) -> bool:
        return self.reply.event_id is not None


async def _reply_views(session: AsyncSession, user: User, rows: list[SavedReply]) -> list[ReplyView]:
    names = await event_names(session, (r.event_id for r in rows))
    organized = await organized_event_ids(session, user)
    out = []
    for r in rows:
        if r.event_id is None:
            out.append(ReplyView(r, None, r.owner_id == user.id))
        else:
            out.append(ReplyView(r, names.get(r.event_id, ""), organized is None or r.event_id in organized))
    return out


async def replies(session: AsyncSession, user: User, query: str = "", *, limit: int = SEARCH_LIMIT) -> list[ReplyView]:
    """The caller's personal replies and the shared ones of events where they are staff; searched when `query` is given.

    Without a query: personal ones first, then shared ones by event, each by title."""
    await require_staff(session, user)
    query = clean_query(query)
    events = await staff_event_ids(session, user)
    scope = SavedReply.owner_id == user.id
    if events is None:
        scope = or_(scope, SavedReply.event_id.is_not(None))
    elif events:
        scope = or_(scope, SavedReply.event_id.in_(events))
    rows = list((await session.execute(
        select(SavedReply).where(scope).order_by(SavedReply.event_id.is_not(None), SavedReply.event_id, func.lower(SavedReply.title), SavedReply.id)
        .limit(SCAN_LIMIT)
    )).scalars())
    return await _reply_views(session, user, rank(rows, query, limit))


async def _readable_reply(session: AsyncSession, user: User, reply_id: int, *, lock: bool = False) -> tuple[SavedReply, str | None]:
    """The reply and the caller's role in its event ("organizer", "recruiter"; None for a personal one); not-found otherwise."""
    await require_staff(session, user)
    reply = await session.get(SavedReply, reply_id, with_for_update=lock)
    if reply is None:
        raise NotFound("No such saved reply.", code="reply_not_found")
    if reply.event_id is None:
        if reply.owner_id != user.id:
            raise NotFound("No such saved reply.", code="reply_not_found")
        return reply, None
    role = await _role(session, reply.event_id, user)
    if role is None:
        raise NotFound("No such saved reply.", code="reply_not_found")
    return reply, role


async def get_reply(session: AsyncSession, user: User, reply_id: int) -> ReplyView:
    reply, _ = await _readable_reply(session, user, reply_id)
    [view] = await _reply_views(session, user, [reply])
    return view


async def _editable_reply(session: AsyncSession, user: User, reply_id: int) -> SavedReply:
    reply, role = await _readable_reply(session, user, reply_id, lock=True)
    if reply.event_id is not None and role != Role.ORGANIZER.value:
        raise Forbidden("Only the event's organizers can change its shared replies; save a personal copy instead.", code="not_organizer")
    return reply


def _reply_fields(data: ReplyIn) -> tuple[str, str, str]:
    return (_title(data.title, "reply", REPLY_TITLE_MAX), _keywords(data.keywords),
            _body(data.body, "reply", REPLY_BODY_MAX, ", a chat message's limit"))


async def create_reply(session: AsyncSession, ctx: actions.Context, user: User, data: ReplyIn, event_id: int | None = None) -> SavedReply:
    """A personal reply (no event), or one shared with the event's staff (its organizers only)."""
    await require_staff(session, user)
    if event_id is not None:
        event = await session.get(Event, event_id)
        role = await _role(session, event_id, user) if event is not None else None
        if role is None:
            raise NotFound("No such event.", code="event_not_found")
        if role != Role.ORGANIZER.value:
            raise Forbidden("Only the event's organizers share replies with its staff; save it as your own instead.", code="not_organizer")
    title, keywords, body = _reply_fields(data)
    if event_id is None:
        count = await session.scalar(select(func.count()).select_from(SavedReply).where(SavedReply.owner_id == user.id))
        if (count or 0) >= MAX_PERSONAL_REPLIES:
            raise Invalid(f"You have {MAX_PERSONAL_REPLIES} saved replies, the most one person keeps; delete some first.", code="too_many_replies")
    else:
        count = await session.scalar(select(func.count()).select_from(SavedReply).where(SavedReply.event_id == event_id))
        if (count or 0) >= MAX_SHARED_REPLIES:
            raise Invalid(f"The event has {MAX_SHARED_REPLIES} shared replies, the most it keeps; delete some first.", code="too_many_replies")
    reply = SavedReply(owner_id=user.id if event_id is None else None, event_id=event_id, title=title, keywords=keywords, body=body,
                       created_by_id=user.id, created_at=ctx.now, updated_at=ctx.now)
    session.add(reply)
    await session.flush()
    return reply


async def update_reply(session: AsyncSession, ctx: actions.Context, user: User, reply_id: int, data: ReplyIn) -> SavedReply:
    """Changes a reply's title, keywords and text (its owner; for a shared one, the event's organizers). Its scope stays."""
    reply = await _editable_reply(session, user, reply_id)
    reply.title, reply.keywords, reply.body = _reply_fields(data)
    reply.updated_at = ctx.now
    await session.flush()
    return reply


async def delete_reply(session: AsyncSession, user: User, reply_id: int) -> SavedReply:
    reply = await _editable_reply(session, user, reply_id)
    await session.delete(reply)
    await session.flush()
    return reply


# --------------------------------------------------------------------------- articles


@dataclass(frozen=True)
class ArticleView:
    article: Article
    event_name: str
    can_edit: bool


async def _article_views(session: AsyncSession, user: User, rows: list[Article]) -> list[ArticleView]:
    names = await event_names(session, (a.event_id for a in rows))
    organized = await organized_event_ids(session, user)
    return [ArticleView(a, names.get(a.event_id, ""), organized is None or a.event_id in organized) for a in rows]


async def articles(session: AsyncSession, user: User, query: str = "", *, event_id: int | None = None,
                   limit: int = SEARCH_LIMIT) -> list[ArticleView]:
    """Articles of the events where the caller is staff (or of one of them): published ones, and drafts too at events they
    organize; searched when `query` is given. Without a query: by event, then title."""
    await require_staff(session, user)
    query = clean_query(query)
    events = await staff_event_ids(session, user)
    organized = await organized_event_ids(session, user)
    stmt = select(Article)
    if event_id is not None:
        if await session.get(Event, event_id) is None or await _role(session, event_id, user) is None:
            raise NotFound("No such event.", code="event_not_found")
        stmt = stmt.where(Article.event_id == event_id)
    elif events is not None:
        if not events:
            return []
        stmt = stmt.where(Article.event_id.in_(events))
    if organized is not None:
        stmt = stmt.where(Article.published.is_(True) | Article.event_id.in_(organized or [0]))
    rows = list((await session.execute(stmt.order_by(Article.event_id, func.lower(Article.title), Article.id).limit(SCAN_LIMIT))).scalars())
    return await _article_views(session, user, rank(rows, query, limit))


async def _readable_article(session: AsyncSession, user: User, article_id: int, *, lock: bool = False) -> tuple[Article, str]:
    await require_staff(session, user)
    article = await session.get(Article, article_id, with_for_update=lock)
    role = await _role(session, article.event_id, user) if article is not None else None
    if article is None or role is None or (not article.published and role != Role.ORGANIZER.value):
        raise NotFound("No such article.", code="article_not_found")
    return article, role


async def get_article(session: AsyncSession, user: User, article_id: int) -> ArticleView:
    article, _ = await _readable_article(session, user, article_id)
    [view] = await _article_views(session, user, [article])
    return view


async def _editable_article(session: AsyncSession, user: User, article_id: int) -> Article:
    article, role = await _readable_article(session, user, article_id, lock=True)
    if role != Role.ORGANIZER.value:
        raise Forbidden("Only the event's organizers change its articles.", code="not_organizer")
    return article


def _article_fields(data: ArticleIn) -> tuple[str, str, str]:
    return _title(data.title, "article", ARTICLE_TITLE_MAX), _keywords(data.keywords), _body(data.body, "article", ARTICLE_BODY_MAX)


async def create_article(session: AsyncSession, ctx: actions.Context, user: User, event_id: int, data: ArticleIn) -> Article:
    await require_staff(session, user)
    event = await session.get(Event, event_id)
    role = await _role(session, event_id, user) if event is not None else None
    if role is None:
        raise NotFound("No such event.", code="event_not_found")
    if role != Role.ORGANIZER.value:
        raise Forbidden("Only the event's organizers write its articles.", code="not_organizer")
    title, keywords, body = _article_fields(data)
    count = await session.scalar(select(func.count()).select_from(Article).where(Article.event_id == event_id))
    if (count or 0) >= MAX_ARTICLES:
        raise Invalid(f"The event has {MAX_ARTICLES} articles, the most it keeps; delete some first.", code="too_many_articles")
    article = Article(event_id=event_id, title=title, keywords=keywords, body=body, published=bool(data.published), created_by_id=user.id,
                      created_at=ctx.now, updated_at=ctx.now)
    session.add(article)
    await session.flush()
    return article


async def update_article(session: AsyncSession, ctx: actions.Context, user: User, article_id: int, data: ArticleIn) -> Article:
    article = await _editable_article(session, user, article_id)
    article.title, article.keywords, article.body = _article_fields(data)
    article.published = bool(data.published)
    article.updated_at = ctx.now
    await session.flush()
    return article


async def delete_article(session: AsyncSession, user: User, article_id: int) -> Article:
    article = await _editable_article(session, user, article_id)
    await session.delete(article)
    await session.flush()
    return article


async def public_article(session: AsyncSession, article_id: int) -> tuple[Article, Event]:
    """A published article and its event, for anyone with the link; a draft or an unknown id is not-found."""
    article = await session.get(Article, article_id)
    event = await session.get(Event, article.event_id) if article is not None else None
    if article is None or event is None or not article.published:
        raise NotFound("No such article.", code="article_not_found")
    return article, event
