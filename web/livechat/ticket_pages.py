"""The Tickets pages: the list (status tabs, mine/unassigned, search) and one ticket (transcript, contact, its subject,
status and assignee, emailing the transcript, replying by email).

Plain server-rendered pages whose forms work without JavaScript: CSRF on every form, one transaction per post, a
message after it; a refused form is shown again as typed, with the reason beside it."""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

import web.convertors  # noqa: F401 -- registers the {x:id} path convertor
from scheduling import actions, conversations
from scheduling.errors import DomainError, Invalid
from scheduling.livechat import chats, tickets
from scheduling.livechat.desk_models import Ticket
from scheduling.models import User
from web.convertors import parse_id
from web.http import context, res, session_user, status_for
from web.livechat import live
from web.livechat.staff_pages import transcript_lines
from web.livechat.ticket_api import publish_reply
from web.pages import error_page, flash, page, render

STATUS_TABS = (("open", "Open"), ("pending", "Pending"), ("solved", "Solved"), ("all", "All"))
WHO_CHIPS = (("", "Everyone's"), ("mine", "Assigned to me"), ("unassigned", "Unassigned"))
STATUS_LABELS = {"open": "Open", "pending": "Pending", "solved": "Solved"}
STATUS_HINTS = {"open": "needs an answer", "pending": "waiting for the candidate", "solved": "nothing more to do"}
# Error codes -> the field they concern, so the message names it in words.
ERROR_PLACES = {"invalid_assignee": "Assignee", "invalid_ticket_status": "Status", "empty_message": "Reply", "too_long": "Reply",
                "invalid_text": "Reply"}
OPS = ("save", "reply", "transcript")


def _path_int(request: Request, name: str) -> int:
    value = request.path_params[name]
    assert isinstance(value, int)
    return value


def _page_number(raw: str) -> int:
    return int(raw) if raw.isascii() and raw.isdigit() and 0 < len(raw) <= 5 and int(raw) > 0 else 1


def list_url(status: str, who: str, q: str, page_no: int = 1) -> str:
    params = {k: v for k, v in (("status", status), ("who", who), ("q", q)) if v}
    if page_no > 1:
        params["page"] = str(page_no)
    return "/live/tickets" + ("?" + urlencode(params) if params else "")


# --------------------------------------------------------------------------- the list


@page
async def tickets_page(request: Request, session: AsyncSession, user: User) -> Response:
    params = request.query_params
    status = params.get("status", "open")
    if status not in {k for k, _ in STATUS_TABS}:
        status = "open"
    who = params.get("who", "")
    if who not in tickets.WHO:
        who = ""
    q = params.get("q", "")
    page_no = _page_number(params.get("page", "1"))
    error = ""
    try:
        found = await tickets.listing(session, user, status="" if status == "all" else status, who=who, q=q, page=page_no)
    except Invalid as err:
        error = f"Search: {err.message}"
        found = tickets.Listing([], 0, 1, tickets.PER_PAGE, {s: 0 for s in tickets.STATUSES})
    if found.rows == [] and found.total and page_no > found.pages:  # past the last page (tickets were solved meanwhile)
        found = await tickets.listing(session, user, status="" if status == "all" else status, who=who, q=q, page=found.pages)
    counts = {**found.counts, "all": sum(found.counts.values())}
    return render(request, "livechat/staff_tickets.html", user, found=found, tab=status, who=who, q=q, error=error, counts=counts,
                  status_tabs=STATUS_TABS, who_chips=WHO_CHIPS, ticket_labels=STATUS_LABELS, url=list_url)


# --------------------------------------------------------------------------- one ticket


def _lines_of(entries: list[conversations.Entry], me: User, names: dict[int, str], candidate: str) -> list[Any]:
    """The transcript as the history page draws it; a shared file shows as its name."""
    shown = []
    for entry in entries:
        attachment = entry.body.get("attachment")
        if isinstance(attachment, dict) and not str(entry.body.get("text", "")).strip():
            entry = dataclasses.replace(entry, body={**entry.body, "text": f"[file] {attachment.get('name', '')}"})  # noqa: PLW2901
        shown.append(entry)
    return transcript_lines(shown, me, names, candidate)


def _defaults(ticket: Ticket) -> dict[str, str]:
    return {"subject": ticket.subject, "status": ticket.status, "assignee_id": str(ticket.assignee_id or ""), "text": ""}


async def _view(session: AsyncSession, request: Request, user: User, ticket_id: int) -> dict[str, Any]:
    now = res(request).clock()
    ticket, chat = await tickets.get(session, user, ticket_id, now)
    row = await tickets.row(session, ticket, chat)
    entries = await tickets.transcript(session, chat)
    author_ids = {e.author_id for e in entries if e.author_id is not None}
    names = {u.id: u.name for u in (await session.execute(select(User).where(User.id.in_(author_ids)))).scalars()} if author_ids else {}
    choices = await tickets.assignee_choices(session, chat)
    if row.assignee is not None and row.assignee.id not in {u.id for u in choices}:
        choices.append(row.assignee)  # assigned before they left the event: still shown, so saving the form keeps them
    return {
        "row": row, "ticket": ticket, "chat": chat, "lines": _lines_of(entries, user, names, chat.candidate_name), "choices": choices,
        "sees_chat": await chats.staff_may_see(session, chat, user, now), "answers": orjson.loads(chat.answers or "[]"),
        "fields": orjson.loads(chat.fields or "{}"), "ticket_labels": STATUS_LABELS, "status_hints": STATUS_HINTS,
        "mail_minutes": int(chats.MAIL_EVERY.total_seconds() // 60), "client_id": secrets.token_urlsafe(12),
        "can_reply": chat.status in ("ended", "note") and bool(chat.candidate_email),
    }


@page
async def ticket_page(request: Request, session: AsyncSession, user: User) -> Response:
    view = await _view(session, request, user, _path_int(request, "ticket_id"))
    return render(request, "livechat/staff_ticket.html", user, f=_defaults(view["ticket"]), errors={}, **view)


def _refused(request: Request, form: FormData) -> str | None:
    if not secrets.compare_digest(str(form.get("csrf", "")), request.session.get("csrf", "") or "x"):
        return "Your form expired or came from another site. Go back, reload the page and try again."
    if any("\x00" in str(v) for v in form.values()):
        return "The form holds characters that can't be stored. Remove them and try again."
    return None


def _message(err: DomainError) -> str:
    place = ERROR_PLACES.get(err.code)
    return f"{place}: {err.message}" if place and not err.message.startswith(place) else err.message


def _assignee(raw: str) -> int | None:
    raw = raw.strip()
    if not raw:
        return None
    value = parse_id(raw)
    if value is None:
        raise Invalid("Assignee: pick a colleague from the list, or nobody.", code="invalid_assignee")
    return value


Done = tuple[str, tickets.Replied | None]


async def _run(op: str, session: AsyncSession, ctx: actions.Context, request: Request, user: User, ticket_id: int, form: FormData) -> Done:
    def get(name: str) -> str:
        return str(form.get(name, ""))

    settings = res(request).settings

    def link(chat_id: int) -> str:
        return live.continue_link(settings, chat_id)

    if op == "save":
        ticket, _ = await tickets.update_ticket(session, ctx, user, ticket_id, subject=get("subject"), status=get("status"),
                                                assignee_id=_assignee(get("assignee_id")))
        return f"Ticket saved: {STATUS_LABELS.get(ticket.status, ticket.status).lower()}.", None
    if op == "transcript":
        _, chat = await tickets.email_transcript(session, ctx, user, ticket_id, link)
        return f"Transcript emailed to {chat.candidate_email}.", None
    client_id = get("client_id").strip()[:64] or None
    replied = await tickets.reply(session, ctx, user, ticket_id, get("text"), link=link, client_id=client_id)
    if not replied.created:
        return "That reply was already sent.", None
    chat = replied.chat
    if replied.emailed:
        how = "by email and text message" if replied.texted else "by email"
        text = f"Reply sent to {chat.candidate_name} {how} with a link to continue the chat. The ticket is pending until they answer."
    else:
        text = (f"Reply added. {chat.candidate_name} was emailed a few minutes ago, so no new email went out; "
                "they see it when they open the chat.")
    return text, replied


def _post(op: str) -> Callable[[Request], Awaitable[Response]]:
    """One of the ticket page's forms: CSRF, one transaction, the action; a refusal shows the page again as typed."""

    async def handler(request: Request) -> Response:
        form = await request.form()
        refused = _refused(request, form)
        if refused:
            return await error_page(request, 403, refused)
        ticket_id = _path_int(request, "ticket_id")
        r = res(request)
        ctx = context(request)
        typed = {k: str(v) for k, v in form.items() if k != "csrf"}
        gone: DomainError | None = None  # shown once the session is closed (the error page reads the database too)
        async with r.sessionmaker() as session:
            async with session.begin():
                user = await session_user(request, session)
            if user is None:
                return RedirectResponse("/login", status_code=303)
            try:
                async with session.begin():
                    text, replied = await _run(op, session, ctx, request, user, ticket_id, form)
            except DomainError as err:
                async with session.begin():
                    await session.refresh(user)  # the rollback expired it; the page reads its name
                    try:
                        view = await _view(session, request, user, ticket_id)
                    except DomainError as err2:
                        gone = err2
                    else:
                        f = _defaults(view["ticket"])
                        if op in ("save", "reply"):
                            f.update({k: v for k, v in typed.items() if k in f})
                        if op == "reply" and typed.get("client_id"):
                            view["client_id"] = typed["client_id"]  # the same line if they send it again
                        return render(request, "livechat/staff_ticket.html", user, status=status_for(err), f=f, errors={op: _message(err)},
                                      **view)
        if gone is not None:
            return await error_page(request, status_for(gone), gone.message)
        if replied is not None:
            await publish_reply(live.Publisher(r), replied)
        flash(request, text)
        return RedirectResponse(f"/live/tickets/{ticket_id}" + ("#reply" if op == "reply" else ""), status_code=303)

    return handler


routes: list[BaseRoute] = [
    Route("/live/tickets", tickets_page, methods=["GET"]),
    Route("/live/tickets/{ticket_id:id}", ticket_page, methods=["GET"]),
    Route("/live/tickets/{ticket_id:id}", _post("save"), methods=["POST"]),
    Route("/live/tickets/{ticket_id:id}/reply", _post("reply"), methods=["POST"]),
    Route("/live/tickets/{ticket_id:id}/transcript", _post("transcript"), methods=["POST"]),
]
