"""The tickets API: list, read, change, reply by email (reopens the chat as a note thread), email the transcript.

Staff only (API token, or the session cookie + X-CSRF-Token on writes); a ticket the caller may not see is a 404.
Each endpoint is one transaction in `scheduling.livechat.tickets`; a reply's line is stored in it and published after commit."""

from __future__ import annotations

from typing import Any

from starlette.routing import Route

from scheduling.livechat import tickets
from web.api import ApiCall, BadRequest, api
from web.http import res
from web.livechat import live
from web.livechat import ticket_schemas as ts
from web.livechat.api import after, publisher, staff_user

Result = Any
ASSIGNEE_FILTERS = {"": "", "any": "", "me": "mine", "none": "unassigned"}


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def ticket_out(r: tickets.Row) -> ts.TicketOut:
    t, c = r.ticket, r.chat
    return ts.TicketOut(
        id=t.id, chat_id=c.id, subject=t.subject, status=t.status,  # type: ignore[arg-type]
        assignee=ts.PersonRef(id=r.assignee.id, name=r.assignee.name) if r.assignee else None,
        candidate=ts.TicketCandidate(name=c.candidate_name, email=c.candidate_email, phone=c.candidate_phone, sms_consent=c.sms_consent),
        kind=c.kind, about=r.about,
        job={"id": r.job.id, "title": r.job.title, "company": r.job.company} if r.job else None,
        event={"id": r.event.id, "name": r.event.name} if r.event else None,
        chat_status=c.status, recruiter=ts.PersonRef(id=r.owner.id, name=r.owner.name) if r.owner else None,
        transcript_sent_at=_iso(t.transcript_sent_at), created_at=t.created_at.isoformat(), updated_at=t.updated_at.isoformat(),
        url=f"/live/tickets/{t.id}",
    )


def _int_param(call: ApiCall, name: str, default: int) -> int:
    raw = call.request.query_params.get(name, "")
    if not raw:
        return default
    if not raw.isascii() or not raw.isdigit() or len(raw) > 6:
        raise BadRequest("invalid_input", f"{name} is a whole number.", status=422)
    return int(raw)


async def publish_reply(pub: live.Publisher, replied: tickets.Replied) -> None:
    """After a reply committed: the line, the chat's status (the candidate's page shows it's a thread again), the replier's
    console picks the thread up, and a note taken off colleagues' lists updates the queue."""
    chat_id = replied.chat.id
    await pub.safely(pub.entries(chat_id, [replied.entry]))
    await pub.safely(pub.status(chat_id))
    if replied.chat.recruiter_id is not None:
        await pub.safely(pub.assigned(replied.chat.recruiter_id, chat_id))
    if replied.was_unowned_note:
        await pub.safely(pub.queue(replied.chat.queue))


@api(auth=False)
async def list_tickets(call: ApiCall) -> Result:
    user = await staff_user(call)
    q = call.request.query_params
    status = q.get("status", "")
    if status in ("all", "any"):
        status = ""
    assignee = q.get("assignee", "")
    if assignee not in ASSIGNEE_FILTERS:
        raise BadRequest("invalid_filter", "assignee is me or none.", status=422)
    found = await tickets.listing(call.session, user, status=status, who=ASSIGNEE_FILTERS[assignee], q=q.get("q", ""),
                                  page=_int_param(call, "page", 1), per_page=_int_param(call, "per_page", tickets.PER_PAGE))
    return 200, ts.TicketListOut(tickets=[ticket_out(r) for r in found.rows], total=found.total, page=found.page, per_page=found.per_page,
                                 counts=found.counts)


@api(auth=False)
async def get_ticket(call: ApiCall) -> Result:
    user = await staff_user(call)
    ticket, chat = await tickets.get(call.session, user, call.path_int("ticket_id"), call.ctx.now)
    out = ticket_out(await tickets.row(call.session, ticket, chat))
    messages = [live.event_frame(chat.id, e) for e in await tickets.transcript(call.session, chat)]
    choices = [ts.PersonRef(id=u.id, name=u.name) for u in await tickets.assignee_choices(call.session, chat)]
    return 200, ts.TicketDetailOut(**out.model_dump(), messages=messages, assignees=choices)


@api(auth=False)
async def patch_ticket(call: ApiCall) -> Result:
    user = await staff_user(call)
    body = await call.body(ts.TicketPatchIn)
    assignee: int | None | Any = body.assignee_id if "assignee_id" in body.model_fields_set else tickets.KEEP
    ticket, chat = await tickets.update_ticket(call.session, call.ctx, user, call.path_int("ticket_id"), subject=body.subject, status=body.status,
                                               assignee_id=assignee)
    return 200, ticket_out(await tickets.row(call.session, ticket, chat))


@api(auth=False)
async def reply(call: ApiCall) -> Result:
    user = await staff_user(call)
    body = await call.body(ts.TicketReplyIn)
    settings = res(call.request).settings
    replied = await tickets.reply(call.session, call.ctx, user, call.path_int("ticket_id"), body.text,
                                  link=lambda chat_id: live.continue_link(settings, chat_id), client_id=body.client_id)
    if replied.created:
        pub = publisher(call)
        after(call, lambda: publish_reply(pub, replied))
    out = ticket_out(await tickets.row(call.session, replied.ticket, replied.chat))
    return (201 if replied.created else 200), ts.TicketReplyOut(ticket=out, seq=replied.entry.seq, created=replied.created,
                                                                 emailed=replied.emailed, texted=replied.texted)


@api(auth=False)
async def send_transcript(call: ApiCall) -> Result:
    user = await staff_user(call)
    settings = res(call.request).settings
    ticket, chat = await tickets.email_transcript(call.session, call.ctx, user, call.path_int("ticket_id"),
                                                  lambda chat_id: live.continue_link(settings, chat_id))
    return 200, ts.TranscriptSentOut(ticket=ticket_out(await tickets.row(call.session, ticket, chat)), sent_to=chat.candidate_email)


routes = [
    Route("/api/v1/live-tickets", list_tickets, methods=["GET"]),
    Route("/api/v1/live-tickets/{ticket_id:id}", get_ticket, methods=["GET"]),
    Route("/api/v1/live-tickets/{ticket_id:id}", patch_ticket, methods=["PATCH"]),
    Route("/api/v1/live-tickets/{ticket_id:id}/reply", reply, methods=["POST"]),
    Route("/api/v1/live-tickets/{ticket_id:id}/transcript", send_transcript, methods=["POST"]),
]
