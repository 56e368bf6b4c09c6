"""The desk library's API: saved replies (/api/v1/live-replies) and articles (/api/v1/live-articles).

Staff only (API token, or session + X-CSRF-Token on writes); who may read or change what is decided in
scheduling.livechat.library. Each endpoint is one transaction."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from scheduling.livechat import library
from web.api import ApiCall, BadRequest, api
from web.convertors import parse_id
from web.http import res
from web.livechat import library_schemas as ls
from web.livechat.api import staff_user

Result = Any


def article_url(call: ApiCall, article_id: int) -> str:
    return f"{res(call.request).settings.base_url.rstrip('/')}/articles/{article_id}"


def reply_out(view: library.ReplyView) -> ls.ReplyOut:
    r = view.reply
    return ls.ReplyOut(id=r.id, title=r.title, keywords=r.keywords, body=r.body, scope="shared" if view.shared else "personal",
                       event=ls.EventRefOut(id=r.event_id, name=view.event_name or "") if r.event_id is not None else None,
                       paragraphs=library.paragraphs(r.body), can_edit=view.can_edit, updated_at=r.updated_at.isoformat())


def article_out(call: ApiCall, view: library.ArticleView) -> ls.ArticleOut:
    a = view.article
    return ls.ArticleOut(id=a.id, event=ls.EventRefOut(id=a.event_id, name=view.event_name), title=a.title, keywords=a.keywords, body=a.body,
                         published=a.published, url=article_url(call, a.id) if a.published else None, can_edit=view.can_edit,
                         updated_at=a.updated_at.isoformat())


def _query(call: ApiCall) -> str:
    q = call.request.query_params.get("q", "")
    if "\x00" in q:
        raise BadRequest("invalid_input", "q: text can't contain NUL characters.", status=422)
    return q


def _event_filter(call: ApiCall) -> int | None:
    raw = call.request.query_params.get("event_id", "")
    if not raw:
        return None
    value = parse_id(raw)
    if value is None:
        raise BadRequest("invalid_input", "event_id: give an event's id (a whole number).", status=422)
    return value


# --------------------------------------------------------------------------- saved replies


@api(auth=False)
async def list_replies(call: ApiCall) -> Result:
    user = await staff_user(call)
    return 200, [reply_out(v) for v in await library.replies(call.session, user, _query(call))]


@api(auth=False)
async def create_reply(call: ApiCall) -> Result:
    user = await staff_user(call)
    body = await call.body(ls.ReplyIn)
    reply = await library.create_reply(call.session, call.ctx, user, library.ReplyIn(body.title, body.body, body.keywords), body.event_id)
    return 201, reply_out(await library.get_reply(call.session, user, reply.id))


@api(auth=False)
async def get_reply(call: ApiCall) -> Result:
    user = await staff_user(call)
    return 200, reply_out(await library.get_reply(call.session, user, call.path_int("reply_id")))


@api(auth=False)
async def update_reply(call: ApiCall) -> Result:
    user = await staff_user(call)
    body = await call.body(ls.ReplyUpdateIn)
    reply = await library.update_reply(call.session, call.ctx, user, call.path_int("reply_id"), library.ReplyIn(body.title, body.body, body.keywords))
    return 200, reply_out(await library.get_reply(call.session, user, reply.id))


@api(auth=False)
async def delete_reply(call: ApiCall) -> Result:
    user = await staff_user(call)
    await library.delete_reply(call.session, user, call.path_int("reply_id"))
    return Response(status_code=204)


# --------------------------------------------------------------------------- articles


@api(auth=False)
async def list_articles(call: ApiCall) -> Result:
    user = await staff_user(call)
    views = await library.articles(call.session, user, _query(call), event_id=_event_filter(call))
    return 200, [article_out(call, v) for v in views]


def _article_in(body: ls.ArticleIn | ls.ArticleUpdateIn) -> library.ArticleIn:
    return library.ArticleIn(title=body.title, body=body.body, keywords=body.keywords, published=body.published)


@api(auth=False)
async def create_article(call: ApiCall) -> Result:
    user = await staff_user(call)
    body = await call.body(ls.ArticleIn)
    article = await library.create_article(call.session, call.ctx, user, body.event_id, _article_in(body))
    return 201, article_out(call, await library.get_article(call.session, user, article.id))


@api(auth=False)
async def get_article(call: ApiCall) -> Result:
    user = await staff_user(call)
    return 200, article_out(call, await library.get_article(call.session, user, call.path_int("article_id")))


@api(auth=False)
async def update_article(call: ApiCall) -> Result:
    user = await staff_user(call)
    body = await call.body(ls.ArticleUpdateIn)
    article = await library.update_article(call.session, call.ctx, user, call.path_int("article_id"), _article_in(body))
    return 200, article_out(call, await library.get_article(call.session, user, article.id))


@api(auth=False)
async def delete_article(call: ApiCall) -> Result:
    user = await staff_user(call)
    await library.delete_article(call.session, user, call.path_int("article_id"))
    return Response(status_code=204)


routes = [
    Route("/api/v1/live-replies", list_replies, methods=["GET"]),
    Route("/api/v1/live-replies", create_reply, methods=["POST"]),
    Route("/api/v1/live-replies/{reply_id:id}", get_reply, methods=["GET"]),
    Route("/api/v1/live-replies/{reply_id:id}", update_reply, methods=["PUT"]),
    Route("/api/v1/live-replies/{reply_id:id}", delete_reply, methods=["DELETE"]),
    Route("/api/v1/live-articles", list_articles, methods=["GET"]),
    Route("/api/v1/live-articles", create_article, methods=["POST"]),
    Route("/api/v1/live-articles/{article_id:id}", get_article, methods=["GET"]),
    Route("/api/v1/live-articles/{article_id:id}", update_article, methods=["PUT"]),
    Route("/api/v1/live-articles/{article_id:id}", delete_article, methods=["DELETE"]),
]
