"""Files both ways in a live chat (docs/livechat.md): the candidate sends and downloads with the chat's token, the chat's
staff with their session (+ X-CSRF-Token on writes) or an API token.

An upload is read and checked (size, type by content) before the database is touched (on SQLite the first statement
takes the write lock until commit, so a slow sender never holds it), then the caller is checked, the bytes are written
outside the web root under a random name, and the row and its transcript entry are stored in the endpoint's one
transaction. A file whose transaction does not commit is removed again (`web.livechat.uploads`): never a row without its
file, never a file without its row. Downloads answer 404 to anyone who may not see the chat, and never render in the
browser: attachment disposition, nosniff, a sandboxing policy, no caching.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from sqlalchemy import select
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from scheduling.errors import NotFound
from scheduling.livechat import attachments, chats, tickets
from scheduling.livechat.desk_models import Attachment
from scheduling.livechat.models import LiveChat, LiveStatus
from scheduling.models import User
from web.api import ApiCall, BadRequest, _bearer_user, api
from web.http import res
from web.livechat import attachments_schemas as asc
from web.livechat import live, uploads
from web.livechat.api import _store, after, candidate_chat, limited, publisher, staff_user

Result = Any
_FORM_SLACK = 64 * 1024  # multipart boundaries and headers around the file
_DOWNLOAD_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store",
                     "Content-Security-Policy": "default-src 'none'; sandbox", "Cross-Origin-Resource-Policy": "same-origin"}


# --------------------------------------------------------------------------- files on disk, removed unless committed


def _directory(call: ApiCall) -> Path:
    path = Path(res(call.request).settings.upload_dir) / "attachments"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def _write(call: ApiCall, data: bytes) -> str:
    """Writes the bytes under a new random name (owner-only), noted for removal unless the transaction commits."""
    return uploads.write_file(call, _directory(call), data, attachments.new_file_name())


# --------------------------------------------------------------------------- reading an upload


async def _read_upload(call: ApiCall) -> tuple[bytes, str]:
    """The multipart field `file`: its bytes (10 MB at most) and the name it was sent under."""
    request = call.request
    limit_mb = attachments.MAX_BYTES // (1024 * 1024)
    length = request.headers.get("content-length", "")
    if not length.isdigit():
        raise BadRequest("length_required", "Send the file as a multipart form (field 'file') with a Content-Length.", status=411)
    if int(length) > attachments.MAX_BYTES + _FORM_SLACK:
        raise BadRequest("too_large", f"A file can be {limit_mb} MB at most.", status=413)
    if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        raise BadRequest("invalid_input", "Send the file as the multipart form field 'file'.", status=422)
    try:
        form = await request.form(max_files=1, max_fields=2)
    except HTTPException as err:
        raise BadRequest("invalid_input", f"The form can't be read: {err.detail}", status=422) from None
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise BadRequest("invalid_input", "Send the file as the multipart form field 'file'.", status=422)
        data = await upload.read(attachments.MAX_BYTES + 1)
        name = upload.filename or "file"
    finally:
        await form.close()
    return data, name


def _checked(data: bytes, name: str) -> attachments.Checked:
    try:
        return attachments.check(data, name)
    except attachments.TooLarge as err:
        raise BadRequest(err.code, err.message, status=413) from None
    except attachments.Unsupported as err:
        raise BadRequest(err.code, err.message, status=415) from None


# Credentials are checked before a body is read, so a stranger can't make the server take in 10 MB only to be refused;
# the check runs in a short transaction of its own, because the endpoint's transaction must not hold a lock (on SQLite
# the whole database's) while a slow sender's file arrives. The endpoint checks again, in full, in its own transaction.


async def _staff_first(call: ApiCall) -> None:
    """An API token that names a person, or a signed session with the page's CSRF token (staff_user checks them in full)."""
    request = call.request
    if request.headers.get("authorization"):
        async with res(request).sessionmaker() as session, session.begin():
            if await _bearer_user(request, session, call.ctx.now) is None:
                raise BadRequest("unauthenticated", "Send a valid API token: Authorization: Bearer <token>.", status=401)
        return
    if not isinstance(request.session.get("uid"), int):
        raise BadRequest("unauthenticated", "Sign in, or send an API token.", status=401)
    expected = request.session.get("csrf")
    if not isinstance(expected, str) or not secrets.compare_digest(request.headers.get("x-csrf-token", ""), expected):
        raise BadRequest("csrf", "The page's CSRF token is missing or stale; reload the page.", status=403)


# --------------------------------------------------------------------------- output


def _out(att: Attachment, by: str, url: str, seq: int | None = None) -> asc.AttachmentOut:
    return asc.AttachmentOut(id=att.id, name=att.name, size=att.size, type=att.type, side=att.side,  # type: ignore[arg-type]
                             by=by, at=att.created_at, url=url, seq=seq)


def _download(call: ApiCall, att: Attachment) -> Response:
    path = _directory(call) / att.file
    if not path.is_file():
        raise NotFound("The file is missing.", code="attachment_not_found")
    return FileResponse(path, media_type=att.type, filename=att.name, content_disposition_type="attachment", headers=dict(_DOWNLOAD_HEADERS))


# --------------------------------------------------------------------------- candidate


@uploads.removes_uncommitted
@api(auth=False)
async def candidate_upload(call: ApiCall) -> Result:
    limited(call, "upload")
    await uploads.candidate_first(call)
    data, name = await _read_upload(call)
    checked = _checked(data, name)
    chat = await candidate_chat(call, lock=True)
    await attachments.candidate_may_send(call.session, chat)
    stored = _write(call, data)
    att, append = await attachments.add(call.session, chat, side="candidate", user=None, stored=stored, checked=checked, now=call.ctx.now)
    chat.candidate_seen_at = call.ctx.now
    if chat.status == LiveStatus.NOTE.value:
        await tickets.candidate_replied(call.session, chat.id, call.ctx.now)  # a file in a reopened ticket's thread opens it again
    entries = await _store(call, [append])
    return 201, _out(att, chat.candidate_name, f"/api/v1/chats/{chat.id}/attachments/{att.id}", entries[0].seq if entries else None)


@api(auth=False)
async def candidate_download(call: ApiCall) -> Result:
    chat = await candidate_chat(call)
    att = await attachments.get(call.session, chat, call.path_int("attachment_id"))
    return _download(call, att)


# --------------------------------------------------------------------------- staff


@uploads.removes_uncommitted
@api(auth=False)
async def staff_upload(call: ApiCall) -> Result:
    await _staff_first(call)
    data, name = await _read_upload(call)
    checked = _checked(data, name)
    user = await staff_user(call)
    chat = await chats.staff_chat(call.session, call.path_int("chat_id"), user, call.ctx.now, lock=True)
    was_note = chat.status == LiveStatus.NOTE.value
    await attachments.staff_may_send(call.session, chat, user, call.ctx.now)
    stored = _write(call, data)
    att, append = await attachments.add(call.session, chat, side="staff", user=user, stored=stored, checked=checked, now=call.ctx.now)
    entries = await _store(call, [append])
    if was_note:  # answering a note takes it off colleagues' lists, and the candidate sees who answers (as a line does)
        pub = publisher(call)
        after(call, lambda: pub.safely(pub.queue(chat.queue)))
        after(call, lambda: pub.safely(pub.status(chat.id)))
    await live.after_staff_line(call.session, res(call.request).settings, chat, user, f"{user.name} sent you a file: {att.name}", call.ctx)
    return 201, _out(att, user.name, f"/api/v1/live-chats/{chat.id}/attachments/{att.id}", entries[0].seq if entries else None)


@api(auth=False)
async def staff_list(call: ApiCall) -> Result:
    user = await staff_user(call)
    chat = await attachments.staff_readable_chat(call.session, call.path_int("chat_id"), user, call.ctx.now)
    return 200, asc.AttachmentsOut(attachments=await _listed(call, chat), max_bytes=attachments.MAX_BYTES,
                                   types=sorted(attachments.EXTENSION))


async def _listed(call: ApiCall, chat: LiveChat) -> list[asc.AttachmentOut]:
    rows = await attachments.for_chat(call.session, chat.id)
    ids = {a.user_id for a in rows if a.user_id is not None}
    names = {uid: name for uid, name in await call.session.execute(select(User.id, User.name).where(User.id.in_(ids)))} if ids else {}
    return [_out(a, chat.candidate_name if a.side == "candidate" else names.get(a.user_id or 0, "Staff"),
                 f"/api/v1/live-chats/{chat.id}/attachments/{a.id}") for a in rows]


@api(auth=False)
async def staff_download(call: ApiCall) -> Result:
    user = await staff_user(call)
    chat = await attachments.staff_readable_chat(call.session, call.path_int("chat_id"), user, call.ctx.now)
    att = await attachments.get(call.session, chat, call.path_int("attachment_id"))
    return _download(call, att)


routes = [
    Route("/api/v1/chats/{chat_id:id}/attachments", candidate_upload, methods=["POST"]),
    Route("/api/v1/chats/{chat_id:id}/attachments/{attachment_id:id}", candidate_download, methods=["GET"]),
    Route("/api/v1/live-chats/{chat_id:id}/attachments", staff_upload, methods=["POST"]),
    Route("/api/v1/live-chats/{chat_id:id}/attachments", staff_list, methods=["GET"]),
    Route("/api/v1/live-chats/{chat_id:id}/attachments/{attachment_id:id}", staff_download, methods=["GET"]),
]
