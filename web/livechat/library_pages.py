"""The desk library's pages: saved replies (/live/replies) and articles (/live/articles) for staff, and an article's public
page (/articles/{id}) that staff send to candidates.

Plain server-rendered pages whose forms work without JavaScript (CSRF on every post). A refused form is shown again exactly
as typed, with the message naming the field in words and that field marked invalid. Who may do what is decided in
scheduling.livechat.library; the pages only show what it allows.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

import web.convertors  # noqa: F401 -- registers the {x:id} path convertor
from scheduling import actions
from scheduling.errors import DomainError, Forbidden, Invalid, NotFound
from scheduling.livechat import library
from scheduling.models import Event, User
from web.convertors import parse_id
from web.http import context, res, session_user, status_for
from web.pages import error_page, flash, form_action, page, render

# Error codes of the library's actions -> the form field they concern (marked aria-invalid and focused).
FIELDS = {"invalid_title": "title", "invalid_keywords": "keywords", "invalid_body": "body", "invalid_event": "scope",
          "event_not_found": "scope", "not_organizer": "scope", "invalid_query": "q"}


def _path_int(request: Request, name: str) -> int:
    value = request.path_params[name]
    assert isinstance(value, int)
    return value


async def _refused(request: Request, form: FormData) -> Response | None:
    if not secrets.compare_digest(str(form.get("csrf", "")), request.session.get("csrf", "") or "x"):
        return await error_page(request, 403, "Your form expired or came from another site. Go back, reload the page and try again.")
    if any("\x00" in str(value) for value in form.values()):
        return await error_page(request, 400, "The form holds characters that can't be stored. Remove them and try again.")
    return None


def _query(request: Request) -> str:
    return request.query_params.get("q", "").replace("\x00", "")[:library.QUERY_MAX]


def paragraphs(text: str) -> list[str]:
    return library.paragraphs(text)


def keyword_list(keywords: str) -> list[str]:
    return [k.strip() for k in re.split(r"[,;]", keywords) if k.strip()]


@dataclass
class Form:
    """What a reply or article form shows: the saved row, defaults, or exactly what was typed (after an error)."""

    title: str = ""
    keywords: str = ""
    body: str = ""
    scope: str = ""  # replies: "" (personal) or an event id; articles: the event id
    published: bool = True


def _form_from_post(form: FormData) -> Form:
    def get(name: str) -> str:
        return str(form.get(name, ""))

    return Form(title=get("title"), keywords=get("keywords"), body=get("body"), scope=get("scope").strip(), published=bool(form.get("published")))


async def _save(request: Request, kind: str, item_id: int | None) -> Response:
    """Creates or changes a reply or an article from its form; a refusal shows the form again as typed."""
    form = await request.form()
    refused = await _refused(request, form)
    if refused is not None:
        return refused
    ctx = context(request)
    f = _form_from_post(form)
    template = "livechat/staff_replies_edit.html" if kind == "reply" else "livechat/staff_articles_edit.html"
    async with res(request).sessionmaker() as session:
        async with session.begin():
            user = await session_user(request, session)
        if user is None:
            return RedirectResponse("/login", status_code=303)
        try:
            async with session.begin():
                saved_id = await _apply(session, ctx, user, kind, item_id, f)
            return _saved(request, kind, item_id is None, saved_id)
        except DomainError as err:
            refusal = err
        failure = refusal
        if not (isinstance(refusal, NotFound) and refusal.code in ("reply_not_found", "article_not_found")):
            try:
                async with session.begin():
                    await session.refresh(user)  # the rollback expired it; the page reads its name
                    view = await (_reply_view if kind == "reply" else _article_view)(session, user, item_id)
                    return render(request, template, user, status=status_for(refusal), f=f, error=refusal.message,
                                  field=FIELDS.get(refusal.code, ""), **view)
            except DomainError as err:
                failure = err
    # The error page opens a session of its own: only once this one's transaction is over (SQLite allows one writer).
    return await error_page(request, status_for(failure), failure.message)


def _saved(request: Request, kind: str, created: bool, saved_id: int) -> Response:
    if kind == "reply":
        flash(request, "Saved reply created." if created else "Saved reply saved.")
        return RedirectResponse(f"/live/replies#reply-{saved_id}", status_code=303)
    flash(request, "Article created." if created else "Article saved.")
    return RedirectResponse(f"/live/articles#article-{saved_id}", status_code=303)


async def _apply(session: AsyncSession, ctx: actions.Context, user: User, kind: str, item_id: int | None, f: Form) -> int:
    if kind == "reply":
        data = library.ReplyIn(title=f.title, body=f.body, keywords=f.keywords)
        if item_id is not None:
            return (await library.update_reply(session, ctx, user, item_id, data)).id
        event_id = None
        if f.scope:
            event_id = parse_id(f.scope)
            if event_id is None:
                raise Invalid("Shared with: pick one of your events from the list, or Only me.", code="invalid_event")
        return (await library.create_reply(session, ctx, user, data, event_id)).id
    article = library.ArticleIn(title=f.title, body=f.body, keywords=f.keywords, published=f.published)
    if item_id is not None:
        return (await library.update_article(session, ctx, user, item_id, article)).id
    event_id = parse_id(f.scope) if f.scope else None
    if event_id is None:
        raise Invalid("Event: pick the event this article is for.", code="invalid_event")
    return (await library.create_article(session, ctx, user, event_id, article)).id


# --------------------------------------------------------------------------- saved replies


async def _reply_view(session: AsyncSession, user: User, reply_id: int | None) -> dict[str, Any]:
    """Everything around a reply form's fields: the reply (when editing) and the events the caller may share with."""
    await library.require_staff(session, user)
    view: dict[str, Any] = {"reply": None, "can_edit": True, "events": await library.events_for(session, await library.organized_event_ids(session, user))}
    if reply_id is not None:
        found = await library.get_reply(session, user, reply_id)
        view.update(reply=found.reply, can_edit=found.can_edit, event_name=found.event_name)
    return view


@page
async def replies_page(request: Request, session: AsyncSession, user: User) -> Response:
    query = _query(request)
    found = await library.replies(session, user, query, limit=library.SCAN_LIMIT)
    organized = await library.organized_event_ids(session, user)
    return render(request, "livechat/staff_replies.html", user, q=query, mine=[v for v in found if not v.shared],
                  shared=[v for v in found if v.shared], may_share=organized is None or bool(organized), paragraphs=paragraphs,
                  keyword_list=keyword_list)


@page
async def reply_new(request: Request, session: AsyncSession, user: User) -> Response:
    view = await _reply_view(session, user, None)
    scope = request.query_params.get("scope", "")
    f = Form(scope=scope if scope in {str(e.id) for e in view["events"]} else "")
    return render(request, "livechat/staff_replies_edit.html", user, f=f, error="", field="", **view)


@page
async def reply_edit(request: Request, session: AsyncSession, user: User) -> Response:
    view = await _reply_view(session, user, _path_int(request, "reply_id"))
    r = view["reply"]
    f = Form(title=r.title, keywords=r.keywords, body=r.body, scope=str(r.event_id or ""))
    return render(request, "livechat/staff_replies_edit.html", user, f=f, error="", field="", **view)


async def reply_create(request: Request) -> Response:
    return await _save(request, "reply", None)


async def reply_save(request: Request) -> Response:
    return await _save(request, "reply", _path_int(request, "reply_id"))


@form_action
async def reply_delete(request: Request, session: AsyncSession, user: User, form: FormData, ctx: actions.Context) -> str:
    reply = await library.delete_reply(session, user, _path_int(request, "reply_id"))
    flash(request, f"Saved reply “{reply.title}” deleted.")
    return "/live/replies"


# --------------------------------------------------------------------------- articles


async def _article_view(session: AsyncSession, user: User, article_id: int | None) -> dict[str, Any]:
    await library.require_staff(session, user)
    view: dict[str, Any] = {"article": None, "can_edit": True, "events": await library.events_for(session, await library.organized_event_ids(session, user))}
    if article_id is not None:
        found = await library.get_article(session, user, article_id)
        view.update(article=found.article, can_edit=found.can_edit, event_name=found.event_name)
    return view


@page
async def articles_page(request: Request, session: AsyncSession, user: User) -> Response:
    query = _query(request)
    event_id = parse_id(request.query_params.get("event_id", "") or "")
    found = await library.articles(session, user, query, event_id=event_id, limit=library.SCAN_LIMIT)
    staff_events = await library.events_for(session, await library.staff_event_ids(session, user))
    organized = await library.organized_event_ids(session, user)
    by_event: dict[int, list[library.ArticleView]] = {}
    for v in found:
        by_event.setdefault(v.article.event_id, []).append(v)
    shown = [e for e in staff_events if e.id in by_event or ((organized is None or e.id in organized) and not query)]
    if event_id is not None:
        shown = [e for e in shown if e.id == event_id]
    base = res(request).settings.base_url.rstrip("/")
    return render(request, "livechat/staff_articles.html", user, q=query, event_id=event_id, events=shown, all_events=staff_events,
                  by_event=by_event, organized=organized, base=base, keyword_list=keyword_list, total=len(found))


@page
async def article_new(request: Request, session: AsyncSession, user: User) -> Response:
    view = await _article_view(session, user, None)
    scope = request.query_params.get("event_id", "")
    ids = {str(e.id) for e in view["events"]}
    if not ids:
        raise Forbidden("Only an event's organizers write its articles.", code="not_organizer")
    f = Form(scope=scope if scope in ids else (next(iter(ids)) if len(ids) == 1 else ""))
    return render(request, "livechat/staff_articles_edit.html", user, f=f, error="", field="", **view)


@page
async def article_edit(request: Request, session: AsyncSession, user: User) -> Response:
    view = await _article_view(session, user, _path_int(request, "article_id"))
    a = view["article"]
    f = Form(title=a.title, keywords=a.keywords, body=a.body, scope=str(a.event_id), published=a.published)
    base = res(request).settings.base_url.rstrip("/")
    return render(request, "livechat/staff_articles_edit.html", user, f=f, error="", field="", public_url=f"{base}/articles/{a.id}", **view)


async def article_create(request: Request) -> Response:
    return await _save(request, "article", None)


async def article_save(request: Request) -> Response:
    return await _save(request, "article", _path_int(request, "article_id"))


@form_action
async def article_delete(request: Request, session: AsyncSession, user: User, form: FormData, ctx: actions.Context) -> str:
    article = await library.delete_article(session, user, _path_int(request, "article_id"))
    flash(request, f"Article “{article.title}” deleted.")
    return "/live/articles"


# --------------------------------------------------------------------------- the public page


async def article_public(request: Request) -> Response:
    """A published article for anyone with the link (candidates get it in a chat); drafts and unknown ids are 404."""
    try:
        async with res(request).sessionmaker() as session, session.begin():
            user = await session_user(request, session)
            article, event = await library.public_article(session, _path_int(request, "article_id"))
            response = render(request, "livechat/article_public.html", user, article=article, article_event=_event_ref(event),
                              paragraphs=library.paragraphs(article.body))
    except NotFound:  # the error page opens a session of its own: after this one is closed
        return await error_page(request, 404, "This article doesn't exist or isn't published.")
    response.headers["X-Robots-Tag"] = "noindex"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _event_ref(event: Event) -> dict[str, Any]:
    return {"id": event.id, "name": event.name, "support_email": event.support_email}


routes: list[BaseRoute] = [
    Route("/live/replies", replies_page, methods=["GET"]),
    Route("/live/replies", reply_create, methods=["POST"]),
    Route("/live/replies/new", reply_new, methods=["GET"]),
    Route("/live/replies/{reply_id:id}", reply_edit, methods=["GET"]),
    Route("/live/replies/{reply_id:id}", reply_save, methods=["POST"]),
    Route("/live/replies/{reply_id:id}/delete", reply_delete, methods=["POST"]),
    Route("/live/articles", articles_page, methods=["GET"]),
    Route("/live/articles", article_create, methods=["POST"]),
    Route("/live/articles/new", article_new, methods=["GET"]),
    Route("/live/articles/{article_id:id}", article_edit, methods=["GET"]),
    Route("/live/articles/{article_id:id}", article_save, methods=["POST"]),
    Route("/live/articles/{article_id:id}/delete", article_delete, methods=["POST"]),
    Route("/articles/{article_id:id}", article_public, methods=["GET"]),
]
