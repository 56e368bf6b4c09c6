"""My profile (per event, for talents and recruiters): headline or role, skills, links, and a talent's CV; the CV's download.

A CV upload is read and checked (size, type by content) before the database is touched (on SQLite the first statement
takes the write lock until commit), then written outside the web root under a random name and recorded in one
transaction; a file whose transaction does not commit is removed again (`web.livechat.uploads`), and a replaced or removed
file only once the change has committed. Downloads answer 404 to anyone who may not have the CV (signed in or not), and
never render in the browser: attachment disposition, nosniff, a sandboxing policy, no caching.
"""

from __future__ import annotations

import contextlib
import secrets
from pathlib import Path
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import Route

from scheduling import profiles
from scheduling.errors import DomainError, NotFound
from scheduling.models import ChatRequest, Participant, Profile, User
from web.api import ApiCall
from web.http import context, res, session_user, status_for
from web.livechat import uploads
from web.pages import _event_ctx, _has_nul, _path_int, error_page, flash, page, render
from web.settings import Settings

DOWNLOAD_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store",
                    "Content-Security-Policy": "default-src 'none'; sandbox", "Cross-Origin-Resource-Policy": "same-origin"}
_FORM_SLACK = 64 * 1024  # multipart boundaries and the CSRF field around the file
FIELDS = ("headline", "skills", "linkedin_url", "portfolio_url")


def cv_directory(settings: Settings) -> Path:
    path = Path(settings.upload_dir) / "cv"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def cv_url(event_id: int, talent_id: int) -> str:
    return f"/events/{event_id}/talents/{talent_id}/cv"


def remove_after_commit(session: AsyncSession, path: Path | None) -> None:
    """Removes a replaced file once the transaction that let go of it has committed (never before: a rollback keeps it)."""
    if path is None:
        return

    def unlink(_session: Any) -> None:
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)

    sa_event.listen(session.sync_session, "after_commit", unlink, once=True)


def cv_response(settings: Settings, row: Profile) -> Response:
    path = cv_directory(settings) / row.cv_file
    if not row.cv_file or not path.is_file():
        raise NotFound("No such CV.", code="cv_not_found")
    return FileResponse(path, media_type=row.cv_type, filename=row.cv_name, content_disposition_type="attachment",
                        headers=dict(DOWNLOAD_HEADERS))


# --------------------------------------------------------------------------- on the chat page


async def chat_extras(session: AsyncSession, chat: ChatRequest, user: User, member: Participant | None) -> dict[str, Any]:
    """What _chat_profile.html shows: the talent's profile (with the CV link when the viewer may download it) to the
    recruiter and the organizers, the recruiter's to the talent."""
    person_id = chat.recruiter_id if user.id == chat.talent_id else chat.talent_id
    card = await profiles.card_for(session, person_id)
    is_talent = person_id == chat.talent_id
    readable = is_talent and card.has_cv and person_id in await profiles.cv_readable(session, user, member, chat.event_id, [person_id])
    return {"chat_profile": card, "chat_profile_is_talent": is_talent,
            "chat_profile_cv_url": cv_url(chat.event_id, person_id) if readable else ""}


# --------------------------------------------------------------------------- the page


async def _page_ctx(session: AsyncSession, request: Request, user: User) -> tuple[Participant, dict[str, Any]]:
    event, member, ctx = await _event_ctx(session, request, user)
    if member is None or member.role not in ("talent", "recruiter"):
        raise NotFound("Only talents and recruiters have a profile in this event; organizers are known by their name.")
    return member, {"card": await profiles.card_for(session, user.id), "nav": "me", "max_skills": profiles.MAX_SKILLS,
                    "max_skill_length": profiles.MAX_SKILL_LENGTH, "max_cv_mb": profiles.MAX_CV_BYTES // (1024 * 1024),
                    "max_headline": profiles.MAX_HEADLINE, "max_url": profiles.MAX_URL_LENGTH, "cv_url": cv_url(event.id, user.id), **ctx}


def _values(card: profiles.PersonCard) -> dict[str, str]:
    return {"headline": card.headline, "skills": ", ".join(card.skills), "linkedin_url": card.linkedin_url, "portfolio_url": card.portfolio_url}


@page
async def me_page(request: Request, session: AsyncSession, user: User) -> Response:
    _member, ctx = await _page_ctx(session, request, user)
    return render(request, "me.html", user, values=_values(ctx["card"]), error="", error_field="", **ctx)


def _csrf_ok(request: Request, sent: object) -> bool:
    return secrets.compare_digest(str(sent or ""), request.session.get("csrf", "") or "x")


async def me_save(request: Request) -> Response:
    """Saves headline, skills and links; a refusal shows the form again with what was typed and the field marked."""
    form = await request.form()
    if not _csrf_ok(request, form.get("csrf")):
        return await error_page(request, 403, "Your form expired. Go back, reload the page and try again.")
    if _has_nul(form):
        return await error_page(request, 400, "The form holds characters that can't be stored. Remove them and try again.")
    typed = {name: str(form.get(name, ""))[:10_000] for name in FIELDS}
    data = profiles.ProfileInput(**typed)
    event_id = _path_int(request, "event_id")
    async with res(request).sessionmaker() as session:
        async with session.begin():
            user = await session_user(request, session)
        if user is None:
            return RedirectResponse("/login", status_code=303)
        try:
            async with session.begin():
                await profiles.save(session, user, event_id, data, now=context(request).now)
        except DomainError as err:
            async with session.begin():
                await session.refresh(user)
                try:
                    _member, ctx = await _page_ctx(session, request, user)
                except DomainError as err2:
                    return await error_page(request, status_for(err2), err2.message, session=session)
            field = err.field if isinstance(err, profiles.FieldInvalid) else ""
            return render(request, "me.html", user, status=status_for(err), values=typed, error=err.message, error_field=field, **ctx)
    flash(request, "Profile saved.")
    return RedirectResponse(f"/events/{event_id}/me", status_code=303)


async def _read_cv(request: Request) -> tuple[bytes, str, object]:
    """The multipart form's `cv` file (up to the limit and one byte more, to tell it is too large), its name, and the CSRF field."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > profiles.MAX_CV_BYTES + _FORM_SLACK:
        raise profiles.FieldInvalid("cv", f"A CV can be {profiles.MAX_CV_BYTES // (1024 * 1024)} MB at most; this file is larger.")
    if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        raise profiles.FieldInvalid("cv", "Choose a PDF or Word (.docx) file to upload.")
    try:
        form = await request.form(max_files=1, max_fields=3)
    except HTTPException:
        raise profiles.FieldInvalid("cv", "The upload could not be read; choose the file again.") from None
    try:
        upload = form.get("cv")
        if not isinstance(upload, UploadFile):
            return b"", "", form.get("csrf")
        return await upload.read(profiles.MAX_CV_BYTES + 1), upload.filename or "cv", form.get("csrf")
    finally:
        await form.close()


@uploads.removes_uncommitted
async def cv_upload(request: Request) -> Response:
    event_id = _path_int(request, "event_id")
    back = RedirectResponse(f"/events/{event_id}/me", status_code=303)
    uid = request.session.get("uid")
    if not isinstance(uid, int):  # strangers are turned away before their body is read
        return RedirectResponse("/login", status_code=303)
    if not res(request).write_limiter.allow(f"cv|{uid}"):
        flash(request, "Too many uploads in a short time; wait a minute and try again.", "error")
        return back
    try:
        data, name, csrf = await _read_cv(request)
        if not _csrf_ok(request, csrf):
            return await error_page(request, 403, "Your form expired. Go back, reload the page and try again.")
        mime = profiles.check_cv(data)
    except DomainError as err:
        flash(request, err.message, "error")
        return back
    return await _store_cv(request, event_id, data, name, mime, back)


async def _store_cv(request: Request, event_id: int, data: bytes, name: str, mime: str, back: Response) -> Response:
    """Writes the checked CV and records it in one transaction; the file it replaces goes once that has committed."""
    directory = cv_directory(res(request).settings)
    ctx = context(request)
    async with res(request).sessionmaker() as session:
        try:
            async with session.begin():
                user = await session_user(request, session)
                if user is None:
                    return RedirectResponse("/login", status_code=303)
                stored = secrets.token_hex(16)
                row, old = await profiles.set_cv(session, user, event_id, stored=stored, name=name, mime=mime, size=len(data), now=ctx.now)
                uploads.write_file(ApiCall(request, session, user, ctx), directory, data, stored)
                remove_after_commit(session, directory / old if old else None)
                saved_name = row.cv_name
        except DomainError as err:
            if isinstance(err, NotFound):
                return await error_page(request, 404, err.message)
            flash(request, err.message, "error")
            return back
    flash(request, f"CV saved: {saved_name}. Recruiters you have a 1-1 chat with can download it.")
    return back


async def cv_remove(request: Request) -> Response:
    event_id = _path_int(request, "event_id")
    form = await request.form()
    if not _csrf_ok(request, form.get("csrf")):
        return await error_page(request, 403, "Your form expired. Go back, reload the page and try again.")
    ctx = context(request)
    async with res(request).sessionmaker() as session:
        try:
            async with session.begin():
                user = await session_user(request, session)
                if user is None:
                    return RedirectResponse("/login", status_code=303)
                old = await profiles.remove_cv(session, user, event_id, now=ctx.now)
                remove_after_commit(session, cv_directory(res(request).settings) / old if old else None)
        except DomainError as err:
            return await error_page(request, status_for(err), err.message)
    flash(request, "CV removed." if old else "There was no CV to remove.")
    return RedirectResponse(f"/events/{event_id}/me", status_code=303)


async def cv_download(request: Request) -> Response:
    """The talent's CV for whoever may have it; 404 for everyone else, signed in or not (no sign-in detour that would tell
    the URL is real)."""
    async with res(request).sessionmaker() as session:
        try:
            async with session.begin():
                user = await session_user(request, session)
                if user is None:
                    raise NotFound("No such CV.")
                row = await profiles.readable_cv(session, user, _path_int(request, "event_id"), _path_int(request, "user_id"))
                return cv_response(res(request).settings, row)
        except DomainError as err:
            return await error_page(request, status_for(err), err.message)


routes = [
    Route("/events/{event_id:id}/me", me_page, methods=["GET"]),
    Route("/events/{event_id:id}/me", me_save, methods=["POST"]),
    Route("/events/{event_id:id}/me/cv", cv_upload, methods=["POST"]),
    Route("/events/{event_id:id}/me/cv/remove", cv_remove, methods=["POST"]),
    Route("/events/{event_id:id}/talents/{user_id:id}/cv", cv_download, methods=["GET"]),
]
