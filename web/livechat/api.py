"""The live-chat JSON API (docs/livechat.md): the candidate's endpoints (a chat's own token), the staff's (API token or session + CSRF header)."""

from __future__ import annotations

import datetime as dt
import secrets
from pathlib import Path
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from scheduling import actions, conversations, timefmt
from scheduling.conversations import Append, Entry
from scheduling.errors import NotFound
from scheduling.livechat import chats, desk, export, files, followup, jobs, tickets
from scheduling.livechat import estimate as est
from scheduling.livechat import hours as hours_mod
from scheduling.livechat.models import Agent, JobReq, LiveChat, LiveStatus
from scheduling.models import Event, User
from web.api import ApiCall, BadRequest, _bearer_user, api
from web.http import client_ip, res, session_user
from web.livechat import live, uploads
from web.livechat import schemas as ls

L = LiveStatus
Result = Any


# --------------------------------------------------------------------------- who is calling


async def staff_user(call: ApiCall) -> User:
    """The caller by API token, or by session cookie with the page's CSRF token in X-CSRF-Token on writes."""
    request = call.request
    if request.headers.get("authorization"):
        user = await _bearer_user(request, call.session, call.ctx.now)
        if user is None:
            raise BadRequest("unauthenticated", "Send a valid API token: Authorization: Bearer <token>.", status=401)
        return user
    user = await session_user(request, call.session)
    if user is None:
        raise BadRequest("unauthenticated", "Sign in, or send an API token.", status=401)
    if request.method not in ("GET", "HEAD"):
        expected = request.session.get("csrf")
        if not isinstance(expected, str) or not secrets.compare_digest(request.headers.get("x-csrf-token", ""), expected):
            raise BadRequest("csrf", "The page's CSRF token is missing or stale; reload the page.", status=403)
    return user


async def candidate_chat(call: ApiCall, *, lock: bool = False) -> LiveChat:
    scheme, _, token = call.request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise BadRequest("unauthenticated", "Send the chat's token: Authorization: Bearer <token>.", status=401)
    return await chats.chat_for_token(call.session, call.path_int("chat_id"), token.strip(), lock=lock)


def limited(call: ApiCall, kind: str, key: str | None = None) -> None:
    limiter = res(call.request).live_limits[kind]
    k = key or client_ip(call.request)
    if not limiter.allow(k):
        raise BadRequest("rate_limited", f"Too many attempts from here; try again in {limiter.retry_after(k)} s.", status=429)


def publisher(call: ApiCall) -> live.Publisher:
    return live.Publisher(res(call.request))


def after(call: ApiCall, coro_fn: Any) -> None:
    call.after_commit.append(coro_fn)


async def _store(call: ApiCall, appends: list[Append]) -> list[Entry]:
    """Stores entries in the endpoint's own transaction (atomic with the change they report); publishes them after commit."""
    if not appends:
        return []
    results = await conversations.store(await call.session.connection(), appends)
    entries = [r[0] for r in results if r is not None and r[1]]
    by_chat: dict[int, list[Entry]] = {}
    for a, r in zip(appends, results, strict=True):
        if r is not None and r[1]:
            by_chat.setdefault(int(a.key.split(":")[1]), []).append(r[0])
    pub = publisher(call)
    for chat_id, items in by_chat.items():
        after(call, lambda chat_id=chat_id, items=items: pub.safely(pub.entries(chat_id, items)))
    return entries


# --------------------------------------------------------------------------- candidate


@api(auth=False)
async def chat_config(call: ApiCall) -> Result:
    job = await jobs.public_job(call.session, call.path_int("job_id"))
    now = call.ctx.now
    assigned = bool(await jobs.assignee_ids(call.session, job.id))
    hours = hours_mod.load(job.hours)
    online = (await chats.staffing(call.session, f"job:{job.id}", now)).online if assigned else 0
    is_open = hours_mod.is_open(hours, now)
    if not assigned:
        state = "unavailable"
    elif online and is_open:
        state = "open"
    else:
        state = "away" if job.when_unavailable != "none" else "unavailable"
    tz = timefmt.canonical_zone(call.request.query_params.get("tz", "")) or ""  # the browser's name, as the zone list spells it
    qs = await jobs.questions(call.session, job.id)
    body = {
        "job": {"id": job.id, "title": job.title, "company": job.company, "location": job.location, "apply_url": job.apply_url or None,
                "url": f"/jobs/{job.id}"},
        "offered": state != "unavailable", "state": state,
        "questions": [{"id": q.id, "text": q.text, "kind": q.kind, "choices": orjson.loads(q.choices)} for q in qs],
        "phone_field": job.phone_field, "custom_fields": jobs.custom_fields(job), "when_unavailable": job.when_unavailable,
        "note_after_seconds": job.note_after_seconds, "away_message": job.away_message or jobs.DEFAULT_AWAY,
        "hours": hours_mod.week_for_viewer(hours, now, tz) if hours else None,
        "hours_zone": (tz if tz and hours else (hours.tz if hours else None)),
    }
    return JSONResponse(body, headers={"Access-Control-Allow-Origin": "*", "Cache-Control": "no-store"})


async def _start_result(call: ApiCall, started: chats.Started, job_url: str | None) -> tuple[int, ls.StartChatOut]:
    chat = started.chat
    await _store(call, started.transcript)
    position = await chats.position(call.session, chat)
    estimate = None
    if position is not None:
        estimate = est.estimate(position, await chats.staffing(call.session, chat.queue, call.ctx.now)).as_dict()
    pub = publisher(call)
    if chat.status == L.WAITING.value:
        after(call, lambda: pub.safely(pub.fill_seats(chat.queue)))
    else:
        after(call, lambda: pub.safely(pub.queue(chat.queue)))
    status = chat.status
    return 201, ls.StartChatOut(chat_id=chat.id, token=started.token, status=status,  # type: ignore[arg-type]
                                position=position if status == "waiting" else None,
                                estimated_wait=ls.Estimate.model_validate(estimate) if estimate and status == "waiting" else None,
                                message=started.message or None, job_url=job_url)


async def _after_takes(call: ApiCall, taken: list[chats.Taken]) -> None:
    pub = publisher(call)
    for t in taken:
        await _store(call, [t.notice])
        rid, cid = t.chat.recruiter_id or 0, t.chat.id
        after(call, lambda cid=cid: pub.safely(pub.status(cid)))
        after(call, lambda rid=rid, cid=cid: pub.safely(pub.assigned(rid, cid)))


@api(auth=False)
async def start_job_chat(call: ApiCall) -> Result:
    limited(call, "start")
    body = await call.body(ls.StartChatIn)
    form = chats.CandidateForm(name=body.name, email=body.email, phone=body.phone, sms_consent=body.sms_consent, fields=body.fields,
                               answers=body.answers, start_key=body.start_key, source_url=body.source_url,
                               user_agent=call.request.headers.get("user-agent", ""))
    job_id = call.path_int("job_id")
    started = await chats.start_job_chat(call.session, call.ctx, job_id, form)
    return await _start_result(call, started, f"/jobs/{job_id}")


@api(auth=False)
async def start_event_chat(call: ApiCall) -> Result:
    user = await staff_user(call)  # any signed-in person: session + CSRF, or an API token
    limited(call, "start", f"user:{user.id}")
    body = await call.body(ls.EventChatIn)
    started = await chats.start_event_chat(call.session, call.ctx, user, call.path_int("event_id"), company_id=body.company_id,
                                           source_url=body.source_url)
    return await _start_result(call, started, None)


@api(auth=False)
async def get_chat(call: ApiCall) -> Result:
    chat = await candidate_chat(call)
    return 200, await live.candidate_view(call.session, chat, call.ctx.now)


@api(auth=False)
async def candidate_message(call: ApiCall) -> Result:
    chat = await candidate_chat(call, lock=True)
    limited(call, "message", f"chat:{chat.id}")
    body = await call.body(ls.MessageIn)
    chats.candidate_may_write(chat)
    text = conversations.message_body(body.text)
    entry, created = await _store_one(call, Append(chats.key(chat.id), "message", None, {**text, "name": chat.candidate_name, "role": "candidate"},
                                                   call.ctx.now, client_id=body.client_id))
    chat.candidate_seen_at = call.ctx.now
    if created and chat.status == L.NOTE.value:
        await tickets.candidate_replied(call.session, chat.id, call.ctx.now)  # the candidate answered a reopened ticket: open again
    return (201 if created else 200), ls.MessageOut(seq=entry.seq, created=created)


async def _store_one(call: ApiCall, append: Append) -> tuple[Entry, bool]:
    [result] = await conversations.store(await call.session.connection(), [append])
    assert result is not None
    if result[1]:
        pub = publisher(call)
        chat_id, entry = int(append.key.split(":")[1]), result[0]
        after(call, lambda: pub.safely(pub.entries(chat_id, [entry])))
    return result


def _after_seq(call: ApiCall) -> int:
    raw = call.request.query_params.get("after", "0")
    if not raw.isdigit() or len(raw) > 15:
        raise BadRequest("invalid_input", "after is a sequence number (0 or more).", status=422)
    return int(raw)


def _entry_out(chat_id: int, entry: Entry) -> dict[str, Any]:
    return live.event_frame(chat_id, entry)


@api(auth=False)
async def candidate_messages(call: ApiCall) -> Result:
    chat = await candidate_chat(call)
    chat.candidate_seen_at = call.ctx.now  # the plain (no-JavaScript) page polls this: the candidate is still here
    after_seq = _after_seq(call)
    entries = await conversations.since(call.session, chats.key(chat.id), after_seq)
    return 200, {"messages": [_entry_out(chat.id, e) for e in entries]}


@api(auth=False)
async def candidate_note(call: ApiCall) -> Result:
    chat = await candidate_chat(call, lock=True)
    limited(call, "note")
    body = await call.body(ls.NoteIn)
    was = chat.status
    append = await chats.leave_note(call.session, call.ctx, chat, body.text, callback=body.callback)
    if was == L.NOTE.value:
        await tickets.candidate_replied(call.session, chat.id, call.ctx.now)  # more on a reopened ticket's thread
    await _store(call, [append, Append(chats.key(chat.id), "bot", None, {"text": "Thanks, your note is with the recruiters. We'll answer by email"
                                                                                 + (" and text message." if chat.sms_consent else "."), "bot": True},
                                             call.ctx.now)])
    pub = publisher(call)
    after(call, lambda: pub.safely(pub.status(chat.id)))
    after(call, lambda: pub.safely(pub.queue(chat.queue)))  # out of the waiting list, into the notes to answer
    del was
    return 201, {"status": chat.status}


@api(auth=False)
async def candidate_end(call: ApiCall) -> Result:
    chat = await candidate_chat(call, lock=True)
    was = chat.status
    notice = await chats.end_by_candidate(call.session, call.ctx, chat)
    if notice is not None:
        await _store(call, [notice])
        pub = publisher(call)
        after(call, lambda: pub.safely(pub.status(chat.id)))
        if was == L.WAITING.value:
            after(call, lambda: pub.safely(pub.queue(chat.queue)))
    job = await call.session.get(JobReq, chat.job_req_id) if chat.job_req_id else None
    return 200, {"status": chat.status, "apply_url": (job.apply_url or None) if job else None}


def _upload_dir(call: ApiCall) -> Path:
    path = Path(res(call.request).settings.upload_dir)
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


@uploads.removes_uncommitted
@api(auth=False)
async def candidate_resume(call: ApiCall) -> Result:
    """The body is read and checked before the chat is locked (a slow sender holds no lock), the file is removed again
    if the transaction doesn't commit, and the résumé it replaces is removed only after the commit."""
    limited(call, "upload")
    await uploads.candidate_first(call)
    length = call.request.headers.get("content-length", "")
    if not length.isdigit() or int(length) > files.MAX_RESUME_BYTES + 64 * 1024:
        raise BadRequest("too_large", f"A resume is at most {files.MAX_RESUME_BYTES // (1024 * 1024)} MB.", status=413)
    form = await call.request.form(max_files=1, max_fields=4)
    upload = form.get("file")
    if upload is None or isinstance(upload, str):
        raise BadRequest("invalid_input", "Send the resume as the multipart field 'file'.", status=422)
    data = await upload.read(files.MAX_RESUME_BYTES + 1)
    await form.close()
    if len(data) > files.MAX_RESUME_BYTES:
        raise BadRequest("too_large", f"A resume is at most {files.MAX_RESUME_BYTES // (1024 * 1024)} MB.", status=413)
    mime = files.sniff(data)
    if mime is None:
        raise BadRequest("unsupported_type", "Upload a PDF, DOC or DOCX file.", status=415)
    name = files.safe_name(upload.filename or "resume", mime)
    chat = await candidate_chat(call, lock=True)
    if chat.status in (L.REJECTED.value,):
        raise BadRequest("chat_closed", "This chat is closed.", status=409)
    stored = uploads.write_file(call, _upload_dir(call), data)
    old = chat.resume_file
    chat.resume_file, chat.resume_name, chat.resume_type, chat.resume_size, chat.updated_at = stored, name, mime, len(data), call.ctx.now
    await _store(call, [Append(chats.key(chat.id), "notice", None, {"event": "resume", "name": chat.candidate_name, "role": "candidate",
                                                                     "text": f"{chat.candidate_name} shared a resume ({name})", "file": name},
                               call.ctx.now)])
    if old:
        replaced = _upload_dir(call) / old

        async def remove_replaced() -> None:
            replaced.unlink(missing_ok=True)

        after(call, remove_replaced)  # after the commit: a failed one keeps the old résumé and its file
    return 201, {"name": name, "size": len(data)}


@api(auth=False)
async def continue_chat(call: ApiCall) -> Result:
    limited(call, "start")
    body = await call.body(ls.ContinueIn)
    chat_id = live.continue_chat_id(res(call.request).settings, body.link)
    if chat_id is None:
        raise BadRequest("link_expired", "This link has expired or is not valid. Start a new chat from the job page.", status=410)
    token = await chats.issue_key(call.session, chat_id, call.ctx.now)
    return 201, ls.ContinueOut(chat_id=chat_id, token=token)


# --------------------------------------------------------------------------- staff: job reqs


def _settings(body: ls.JobReqIn) -> jobs.JobReqSettings:
    return jobs.JobReqSettings(
        title=body.title, company=body.company, location=body.location, description=body.description, apply_url=body.apply_url,
        event_id=body.event_id, allowed_origins=body.allowed_origins, sorry_message=body.sorry_message, away_message=body.away_message,
        hours=body.hours.model_dump() if body.hours else None, phone_field=body.phone_field,
        custom_fields=[jobs.CustomField(f.id, f.label, f.required) for f in body.custom_fields], when_unavailable=body.when_unavailable,
        note_after_seconds=body.note_after_seconds,
    )


def _questions(body: ls.JobReqIn) -> list[jobs.Question]:
    return [jobs.Question(q.text, q.kind, list(q.choices), list(q.qualifying)) for q in body.questions]


async def job_out(call: ApiCall, job: JobReq) -> ls.JobReqOut:
    base = res(call.request).settings.base_url
    qs = await jobs.questions(call.session, job.id)
    return ls.JobReqOut(
        id=job.id, title=job.title, company=job.company, location=job.location, description=job.description, apply_url=job.apply_url,
        event_id=job.event_id, allowed_origins=jobs.origins(job), sorry_message=job.sorry_message, away_message=job.away_message,
        hours=orjson.loads(job.hours) if job.hours else None, phone_field=job.phone_field, custom_fields=jobs.custom_fields(job),
        when_unavailable=job.when_unavailable, note_after_seconds=job.note_after_seconds,
        questions=[ls.QuestionOut(id=q.id, text=q.text, kind=q.kind, choices=orjson.loads(q.choices), qualifying=orjson.loads(q.qualifying))
                   for q in qs],
        assignees=await jobs.assignee_ids(call.session, job.id), archived=job.archived, url=f"{base}/jobs/{job.id}",
        embed=f'<script src="{base}/widget.js" data-job="{job.id}" async></script>',
    )


@api(auth=False)
async def create_job(call: ApiCall) -> Result:
    user = await staff_user(call)
    body = await call.body(ls.JobReqIn)
    job = await jobs.create_job(call.session, call.ctx, user, _settings(body), _questions(body))
    return 201, await job_out(call, job)


@api(auth=False)
async def list_jobs(call: ApiCall) -> Result:
    user = await staff_user(call)
    return 200, [await job_out(call, j) for j in await jobs.visible_jobs(call.session, user)]


@api(auth=False)
async def get_job(call: ApiCall) -> Result:
    user = await staff_user(call)
    return 200, await job_out(call, await jobs.get_job(call.session, call.path_int("job_id"), user))


@api(auth=False)
async def update_job(call: ApiCall) -> Result:
    user = await staff_user(call)
    body = await call.body(ls.JobReqIn)
    job = await jobs.update_job(call.session, call.ctx, user, call.path_int("job_id"), _settings(body), _questions(body))
    return 200, await job_out(call, job)


@api(auth=False)
async def archive_job(call: ApiCall) -> Result:
    user = await staff_user(call)
    job = await jobs.archive_job(call.session, call.ctx, user, call.path_int("job_id"))
    return 200, await job_out(call, job)


@api(auth=False)
async def add_assignee(call: ApiCall) -> Result:
    user = await staff_user(call)
    body = await call.body(ls.AssigneeIn)
    job = await jobs.assign(call.session, call.ctx, user, call.path_int("job_id"), body.user_id)
    return 201, await job_out(call, job)


@api(auth=False)
async def remove_assignee(call: ApiCall) -> Result:
    user = await staff_user(call)
    await jobs.unassign(call.session, user, call.path_int("job_id"), call.path_int("user_id"))
    return Response(status_code=204)


# --------------------------------------------------------------------------- staff: seat and chats


def _agent_out(agent: Agent, now: dt.datetime) -> ls.AgentOut:
    online = agent.available and agent.last_seen_at is not None and agent.last_seen_at >= now - chats.ONLINE_WINDOW
    return ls.AgentOut(available=agent.available, capacity=agent.capacity, active_chats=agent.active_chats, auto_assign=agent.auto_assign,
                       notify_desktop=agent.notify_desktop, notify_sound=agent.notify_sound, notify_email=agent.notify_email, online=online)


@api(auth=False)
async def get_agent(call: ApiCall) -> Result:
    user = await staff_user(call)
    return 200, _agent_out(await chats.agent(call.session, user.id), call.ctx.now)


@api(auth=False)
async def put_agent(call: ApiCall) -> Result:
    user = await staff_user(call)
    body = await call.body(ls.AgentIn)
    agent = await chats.set_agent(call.session, user, call.ctx.now, **body.model_dump())
    queues = await chats.serving_queues(call.session, user, call.ctx.now)
    pub = publisher(call)
    for q in queues:
        after(call, lambda q=q: pub.safely(pub.fill_seats(q)))
    return 200, _agent_out(agent, call.ctx.now)


@api(auth=False)
async def list_live_chats(call: ApiCall) -> Result:
    user = await staff_user(call)
    status = call.request.query_params.get("status", "active")
    return 200, [await live.staff_view(call.session, c, user) for c in await chats.mine(call.session, user, status, call.ctx.now)]


@api(auth=False)
async def get_live_chat(call: ApiCall) -> Result:
    user = await staff_user(call)
    chat = await chats.staff_chat(call.session, call.path_int("chat_id"), user, call.ctx.now)
    return 200, await live.staff_view(call.session, chat, user)


@api(auth=False)
async def patch_live_chat(call: ApiCall) -> Result:
    user = await staff_user(call)
    body = await call.body(ls.ContactIn)
    chat = await chats.update_contact(call.session, call.ctx, user, call.path_int("chat_id"), name=body.name, email=body.email, phone=body.phone,
                                      private_notes=body.private_notes)
    return 200, await live.staff_view(call.session, chat, user)


async def _take(call: ApiCall, chat_id: int | None) -> Result:
    user = await staff_user(call)
    taken = await chats.take(call.session, call.ctx, user, chat_id)
    await _after_takes(call, [taken])
    pub = publisher(call)
    after(call, lambda: pub.safely(pub.queue(taken.chat.queue)))
    return 200, await live.staff_view(call.session, taken.chat, user)


@api(auth=False)
async def take(call: ApiCall) -> Result:
    return await _take(call, call.path_int("chat_id"))


@api(auth=False)
async def take_next(call: ApiCall) -> Result:
    return await _take(call, None)


@api(auth=False)
async def staff_message(call: ApiCall) -> Result:
    user = await staff_user(call)
    body = await call.body(ls.MessageIn)
    chat = await chats.staff_chat(call.session, call.path_int("chat_id"), user, call.ctx.now, lock=True)
    await chats.staff_may_write(call.session, chat, user, call.ctx.now)
    if chat.status == L.NOTE.value:  # answering a note takes it off colleagues' lists, and the candidate sees who answers
        pub = publisher(call)
        after(call, lambda: pub.safely(pub.queue(chat.queue)))
        after(call, lambda: pub.safely(pub.status(chat.id)))
    text = conversations.message_body(body.text)
    entry, created = await _store_one(call, Append(chats.key(chat.id), "message", user.id, {**text, "name": user.name, "role": "recruiter"},
                                                   call.ctx.now, client_id=body.client_id))
    if created:
        await live.after_staff_line(call.session, res(call.request).settings, chat, user, text["text"], call.ctx)
    return (201 if created else 200), ls.MessageOut(seq=entry.seq, created=created)


@api(auth=False)
async def staff_messages(call: ApiCall) -> Result:
    user = await staff_user(call)
    chat = await chats.staff_chat(call.session, call.path_int("chat_id"), user, call.ctx.now)
    entries = await conversations.since(call.session, chats.key(chat.id), _after_seq(call))
    return 200, {"messages": [_entry_out(chat.id, e) for e in entries]}


@api(auth=False)
async def end_chat(call: ApiCall) -> Result:
    user = await staff_user(call)
    body = await call.body(ls.EndIn)
    chat, notice, was = await chats.end_by_staff(call.session, call.ctx, user, call.path_int("chat_id"), next_step=body.next_step, outcome=body.outcome)
    if notice is not None:
        await _store(call, [notice])
    settings = res(call.request).settings
    await desk.end_with_ticket(call.session, call.ctx, user, chat, subject=body.subject, status=body.ticket_status, assignee_id=body.assignee_id,
                               email_transcript=body.email_transcript, continue_link=live.continue_link(settings, chat.id))
    pub = publisher(call)
    after(call, lambda: pub.safely(pub.status(chat.id)))
    if was == L.ACTIVE.value:
        after(call, lambda: pub.safely(pub.fill_seats(chat.queue)))
    return 200, await live.staff_view(call.session, chat, user)


@api(auth=False)
async def resume_file(call: ApiCall) -> Result:
    user = await staff_user(call)
    chat = await followup.resume_chat(call.session, call.path_int("chat_id"), user, call.ctx.now)  # the chat's staff, or a colleague it was forwarded to
    if not chat.resume_file:
        raise NotFound("No resume in this chat.", code="no_resume")
    path = _upload_dir(call) / chat.resume_file
    if not path.is_file():
        raise NotFound("The resume file is missing.", code="no_resume")
    return FileResponse(path, media_type=chat.resume_type, filename=chat.resume_name, content_disposition_type="attachment",
                        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store",
                                 "Content-Security-Policy": "default-src 'none'; sandbox"})


@api(auth=False)
async def get_next_steps(call: ApiCall) -> Result:
    user = await staff_user(call)
    event = await actions.get_event(call.session, call.path_int("event_id"))
    await actions.require_member(call.session, event, user)
    return 200, ls.NextStepsOut(next_steps=chats.next_steps(event))


@api(auth=False)
async def put_next_steps(call: ApiCall) -> Result:
    user = await staff_user(call)
    body = await call.body(ls.NextStepsIn)
    event = await chats.set_next_steps(call.session, user, call.path_int("event_id"), body.next_steps)
    return 200, ls.NextStepsOut(next_steps=chats.next_steps(event))


CSV_HEADER = ("Chat", "Started", "Ended", "Candidate", "Email", "Phone", "Texts OK", "Job req", "Company", "Event", "Next step", "Outcome",
              "Recruiter", "Knockout answers", "Other answers", "Came from", "Notes", "Resume", "Transcript")


@api(auth=False)
async def export_csv(call: ApiCall) -> Result:
    user = await staff_user(call)
    rows = []
    for chat in await chats.mine(call.session, user, "ended", call.ctx.now):
        job = await call.session.get(JobReq, chat.job_req_id) if chat.job_req_id else None
        event = await call.session.get(Event, chat.event_id) if chat.event_id else None
        entries = await conversations.since(call.session, chats.key(chat.id), 0)
        transcript = "\n".join(f"[{e.at:%Y-%m-%d %H:%M} UTC] {_who(e)}: {e.body.get('text', '')}" for e in entries)
        answers = "; ".join(f"{a['question']} {a['answer']}" for a in orjson.loads(chat.answers or "[]"))
        others = "; ".join(f"{v['label']}: {v['value']}" for v in orjson.loads(chat.fields or "{}").values())
        rows.append((chat.id, _utc(chat.created_at), _utc(chat.ended_at), chat.candidate_name, chat.candidate_email, chat.candidate_phone,
                     "yes" if chat.sms_consent else "no", job.title if job else "", job.company if job else "", event.name if event else "",
                     chat.next_step, chat.outcome, user.name, answers, others, chat.source_url, chat.private_notes, chat.resume_name, transcript))
    body = export.to_csv(CSV_HEADER, rows)
    return Response(body, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="fairmeet-live-chats.csv"', "Cache-Control": "private, no-store"})


def _who(entry: Entry) -> str:
    if entry.kind == "bot":
        return "Bot"
    if entry.kind == "notice":
        return "Notice"
    return str(entry.body.get("name") or "?")


def _utc(value: dt.datetime | None) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC") if value else ""


async def preflight(request: Request) -> Response:
    """The widget loader reads a job req's chat configuration from any site (a GET without credentials)."""
    return Response(status_code=204, headers={"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Methods": "GET",
                                              "Access-Control-Max-Age": "600"})


routes = [
    Route("/api/v1/job-reqs/{job_id:id}/chat-config", chat_config, methods=["GET"]),
    Route("/api/v1/job-reqs/{job_id:id}/chat-config", preflight, methods=["OPTIONS"]),
    Route("/api/v1/job-reqs/{job_id:id}/chats", start_job_chat, methods=["POST"]),
    Route("/api/v1/events/{event_id:id}/live-chats", start_event_chat, methods=["POST"]),
    Route("/api/v1/chats/continue", continue_chat, methods=["POST"]),
    Route("/api/v1/chats/{chat_id:id}", get_chat, methods=["GET"]),
    Route("/api/v1/chats/{chat_id:id}/messages", candidate_message, methods=["POST"]),
    Route("/api/v1/chats/{chat_id:id}/messages", candidate_messages, methods=["GET"]),
    Route("/api/v1/chats/{chat_id:id}/note", candidate_note, methods=["POST"]),
    Route("/api/v1/chats/{chat_id:id}/resume", candidate_resume, methods=["POST"]),
    Route("/api/v1/chats/{chat_id:id}/end", candidate_end, methods=["POST"]),
    Route("/api/v1/job-reqs", create_job, methods=["POST"]),
    Route("/api/v1/job-reqs", list_jobs, methods=["GET"]),
    Route("/api/v1/job-reqs/{job_id:id}", get_job, methods=["GET"]),
    Route("/api/v1/job-reqs/{job_id:id}", update_job, methods=["PUT"]),
    Route("/api/v1/job-reqs/{job_id:id}", archive_job, methods=["DELETE"]),
    Route("/api/v1/job-reqs/{job_id:id}/assignees", add_assignee, methods=["POST"]),
    Route("/api/v1/job-reqs/{job_id:id}/assignees/{user_id:id}", remove_assignee, methods=["DELETE"]),
    Route("/api/v1/live-agent", get_agent, methods=["GET"]),
    Route("/api/v1/live-agent", put_agent, methods=["PUT"]),
    Route("/api/v1/live-chats", list_live_chats, methods=["GET"]),
    Route("/api/v1/live-chats/export.csv", export_csv, methods=["GET"]),
    Route("/api/v1/live-chats/take-next", take_next, methods=["POST"]),
    Route("/api/v1/live-chats/{chat_id:id}", get_live_chat, methods=["GET"]),
    Route("/api/v1/live-chats/{chat_id:id}", patch_live_chat, methods=["PATCH"]),
    Route("/api/v1/live-chats/{chat_id:id}/take", take, methods=["POST"]),
    Route("/api/v1/live-chats/{chat_id:id}/messages", staff_message, methods=["POST"]),
    Route("/api/v1/live-chats/{chat_id:id}/messages", staff_messages, methods=["GET"]),
    Route("/api/v1/live-chats/{chat_id:id}/end", end_chat, methods=["POST"]),
    Route("/api/v1/live-chats/{chat_id:id}/resume", resume_file, methods=["GET"]),
    Route("/api/v1/events/{event_id:id}/live-next-steps", get_next_steps, methods=["GET"]),
    Route("/api/v1/events/{event_id:id}/live-next-steps", put_next_steps, methods=["PUT"]),
]
