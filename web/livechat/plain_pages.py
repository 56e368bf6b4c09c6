"""QuickChat without JavaScript: the pre-chat and knockout questions as one plain form, then a chat page that refreshes
itself, with forms to write, leave a note and end. The same domain actions as the API; the chat's token lives in an
HttpOnly cookie scoped to the chat's own path, never in a URL."""

from __future__ import annotations

import secrets
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

import web.convertors  # noqa: F401 -- registers the {x:id} path convertor
from scheduling import conversations
from scheduling.conversations import Append
from scheduling.errors import Conflict, DomainError, NotFound
from scheduling.livechat import chats, desk, jobs, tickets
from scheduling.livechat import estimate as est
from scheduling.livechat.models import JobReq, LiveChat, LiveStatus
from web import pages
from web.http import client_ip, context, csrf_token, res, status_for
from web.livechat import live

L = LiveStatus
COOKIE = "fm_chat"


def _path(job_id: int, chat_id: int) -> str:
    return f"/jobs/{job_id}/chat/{chat_id}"


async def _form_ctx(session: AsyncSession, job: JobReq) -> dict[str, Any]:
    qs = await jobs.questions(session, job.id)
    return {"job": job, "questions": [{"id": q.id, "text": q.text, "choices": orjson.loads(q.choices)} for q in qs],
            "custom_fields": jobs.custom_fields(job)}


async def form_page(request: Request) -> Response:
    async with res(request).sessionmaker() as session:
        try:
            job = await jobs.public_job(session, request.path_params["job_id"])
        except NotFound as err:
            return await pages.error_page(request, 404, err.message, session=session)
        ctx = await _form_ctx(session, job)
    return pages.render(request, "livechat/plain_form.html", None, title=f"Chat about {job.title}", values={}, error="", **ctx)


def _csrf_ok(request: Request, form: FormData) -> bool:
    return secrets.compare_digest(str(form.get("csrf", "")), request.session.get("csrf", "") or "x")


async def start(request: Request) -> Response:
    r = res(request)
    job_id = request.path_params["job_id"]
    form = await request.form()
    values = {k: str(v) for k, v in form.items() if isinstance(v, str)}
    async with r.sessionmaker() as session:
        try:
            job = await jobs.public_job(session, job_id)
        except NotFound as err:
            return await pages.error_page(request, 404, err.message, session=session)
        ctx = await _form_ctx(session, job)

    def again(message: str, status: int) -> Response:
        return pages.render(request, "livechat/plain_form.html", None, status=status, title=f"Chat about {job.title}", values=values,
                            error=message, **ctx)

    if not _csrf_ok(request, form):
        return again("The form expired; please send it again.", 403)
    if not r.live_limits["start"].allow(client_ip(request)):
        return again("Too many chats started from here; try again in a few minutes.", 429)
    candidate = chats.CandidateForm(
        name=values.get("name", ""), email=values.get("email", ""), phone=values.get("phone", ""), sms_consent=values.get("sms_consent") == "yes",
        fields={f["id"]: values.get(f"field_{f['id']}", "") for f in ctx["custom_fields"]},
        answers={str(q["id"]): values[f"q_{q['id']}"] for q in ctx["questions"] if f"q_{q['id']}" in values},
        user_agent=request.headers.get("user-agent", ""), source_url=request.headers.get("referer", ""),
    )
    action_ctx = context(request)
    try:
        async with r.sessionmaker() as session, session.begin():
            started = await chats.start_job_chat(session, action_ctx, job_id, candidate)
            await conversations.store(await session.connection(), started.transcript)
            chat_id, status, queue = started.chat.id, started.chat.status, started.chat.queue
    except DomainError as err:
        return again(err.message, status_for(err))
    pub = live.Publisher(r)
    r.hub.spawn(pub.safely(pub.fill_seats(queue) if status == L.WAITING.value else pub.queue(queue)))
    if status == L.REJECTED.value:
        return pages.render(request, "livechat/plain_sorry.html", None, title=job.title, job=job, message=started.message)
    response = RedirectResponse(_path(job_id, chat_id), status_code=303)
    assert started.token is not None
    response.set_cookie(f"{COOKIE}_{chat_id}", started.token, path=_path(job_id, chat_id), httponly=True, samesite="lax",
                        secure=r.settings.secure_cookies, max_age=7 * 24 * 3600)
    return response


async def _chat(session: AsyncSession, request: Request) -> LiveChat:
    chat_id = request.path_params["chat_id"]
    chat = await chats.chat_for_token(session, chat_id, request.cookies.get(f"{COOKIE}_{chat_id}", ""))
    if chat.job_req_id != request.path_params["job_id"]:
        raise NotFound("No such chat.", code="chat_not_found")
    return chat


async def chat_page(request: Request) -> Response:
    r = res(request)
    async with r.sessionmaker() as session:
        try:
            chat = await _chat(session, request)
        except NotFound:
            return await pages.error_page(request, 404, "This chat can't be opened here: it belongs to another browser, or it has ended.", session=session)
        job = await session.get(JobReq, chat.job_req_id)
        view = await live.candidate_view(session, chat, r.clock())
        entries = await conversations.since(session, chats.key(chat.id), 0)
        if chat.status in (L.WAITING.value, L.ACTIVE.value, L.TRANSFER.value):
            await desk.seen(session, chat.id, r.clock())  # the page refreshes itself: the candidate is still here
            await session.commit()
    csrf_token(request)
    refresh = chat.status in (L.WAITING.value, L.ACTIVE.value, L.NOTE.value, L.TRANSFER.value)
    estimate = view["estimated_wait"]["text"] if view.get("estimated_wait") else None
    return pages.render(request, "livechat/plain_chat.html", None, title=f"Chat: {job.title if job else 'job'}", job=job, chat=chat, view=view,
                        entries=entries, refresh=refresh, estimate=estimate, path=_path(chat.job_req_id or 0, chat.id),
                        unknown=est.Estimate(None, None).text())


async def act(request: Request) -> Response:
    """A line, a note or the end, posted from the plain chat page."""
    r = res(request)
    form = await request.form()
    op = request.path_params["op"]
    path = _path(request.path_params["job_id"], request.path_params["chat_id"])
    if not _csrf_ok(request, form):
        pages.flash(request, "The form expired; please send it again.", "error")
        return RedirectResponse(path, status_code=303)
    ctx = context(request)
    publish: list[Any] = []
    try:
        async with r.sessionmaker() as session, session.begin():
            chat = await _chat(session, request)
            was = chat.status
            if op == "send":
                if not r.live_limits["message"].allow(f"chat:{chat.id}"):
                    raise Conflict("You're sending messages too fast; wait a moment.", code="rate_limited")
                chats.candidate_may_write(chat)
                body = {**conversations.message_body(str(form.get("text", ""))), "name": chat.candidate_name, "role": "candidate"}
                appends = [Append(chats.key(chat.id), "message", None, body, ctx.now, client_id=str(form.get("client_id", ""))[:64] or None)]
                if chat.status == L.NOTE.value:
                    await tickets.candidate_replied(session, chat.id, ctx.now)  # a reopened ticket is open again
            elif op == "note":
                if not r.live_limits["note"].allow(client_ip(request)):
                    raise Conflict("Too many notes from here; try again later.", code="rate_limited")
                appends = [await chats.leave_note(session, ctx, chat, str(form.get("text", "")), callback=form.get("callback") == "yes")]
                if was == L.NOTE.value:
                    await tickets.candidate_replied(session, chat.id, ctx.now)
                publish.append(("queue", chat.queue))
            elif op == "end":
                notice = await chats.end_by_candidate(session, ctx, chat)
                appends = [notice] if notice else []
                if was == L.WAITING.value:
                    publish.append(("queue", chat.queue))
            else:
                raise NotFound("No such action.")
            stored = await conversations.store(await session.connection(), appends)
            entries = [s[0] for s in stored if s is not None and s[1]]
            if was != chat.status:
                publish.append(("status", chat.id))
    except DomainError as err:
        pages.flash(request, err.message, "error")
        return RedirectResponse(path, status_code=303)
    pub = live.Publisher(r)
    await pub.safely(pub.entries(chat.id, entries))
    for kind, value in publish:
        await pub.safely(pub.queue(value) if kind == "queue" else pub.status(value))
    return RedirectResponse(path + "#latest", status_code=303)


routes = [
    Route("/jobs/{job_id:id}/chat", form_page, methods=["GET"]),
    Route("/jobs/{job_id:id}/chat", start, methods=["POST"]),
    Route("/jobs/{job_id:id}/chat/{chat_id:id}", chat_page, methods=["GET"]),
    Route("/jobs/{job_id:id}/chat/{chat_id:id}/{op:str}", act, methods=["POST"]),
]
