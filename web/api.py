"""The public JSON API, /api/v1: thin endpoints that parse, call one action, and answer."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

import web.convertors  # noqa: F401 -- registers the {x:id} path convertor
from scheduling import accounts, actions, availability, queries, slot_watch
from scheduling.errors import DomainError, NotFound
from scheduling.models import ChatRequest, Company, Event, User
from web import schemas as sc
from web.convertors import parse_id
from web.http import client_ip, context, json_error, res, status_for

log = logging.getLogger(__name__)
M = TypeVar("M", bound=BaseModel)
Result = tuple[int, Any] | Response
Endpoint = Callable[..., Awaitable[Any]]  # Result, or Later
MAX_BODY = 256 * 1024


class ApiCall:
    """What an endpoint gets: the open session (in a transaction), the caller, the action context."""

    def __init__(self, request: Request, session: AsyncSession, user: User | None, ctx: actions.Context) -> None:
        self.request = request
        self.session = session
        self._user = user
        self.ctx = ctx
        # Run after the transaction commits, in order (publishing to the hub); their failures are logged, not answered.
        self.after_commit: list[Callable[[], Awaitable[None]]] = []

    @property
    def user(self) -> User:
        assert self._user is not None
        return self._user

    def path_int(self, name: str) -> int:
        raw = self.request.path_params[name]
        if not isinstance(raw, int):
            raise NotFound("Not found.")
        return raw

    async def body(self, model: type[M]) -> M:
        raw = await self.request.body()
        if len(raw) > MAX_BODY:
            raise BadRequest("too_large", f"Request bodies are limited to {MAX_BODY // 1024} KiB.", status=413)
        try:
            data = json.loads(raw or b"{}")
        except RecursionError:
            raise BadRequest("invalid_json", "The body nests too deeply.") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise BadRequest("invalid_json", f"The body is not valid JSON: {err}") from None
        if not isinstance(data, dict):
            raise BadRequest("invalid_json", "The body must be a JSON object.")
        try:
            return model.model_validate(data)
        except ValidationError as err:
            first = err.errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ())) or "body"
            raise BadRequest("invalid_input", f"{where}: {first.get('msg', 'invalid')}", status=422) from None


class Later:
    """An endpoint's second half, run after its transaction has committed (e.g. a line stored by the log writer)."""

    def __init__(self, fn: Callable[[], Awaitable[Result]]) -> None:
        self.fn = fn


class BadRequest(Exception):
    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def api(*, auth: bool = True) -> Callable[[Endpoint], Callable[[Request], Awaitable[Response]]]:
    """Wraps an endpoint in one transaction; domain errors become `{"error": {code, message}}` with a 4xx."""

    def deco(fn: Endpoint) -> Callable[[Request], Awaitable[Response]]:
        @wraps(fn)
        async def handler(request: Request) -> Response:
            r = res(request)
            ctx = context(request)
            try:
                async with r.sessionmaker() as session:
                    async with session.begin():
                        user = await _bearer_user(request, session, ctx.now) if auth else None
                        if auth and user is None:
                            return json_error(401, "unauthenticated", "Send a valid API token: Authorization: Bearer <token>.",
                                              {"WWW-Authenticate": 'Bearer realm="fairmeet"'})
                        call = ApiCall(request, session, user, ctx)
                        result = await fn(call)
                if call.after_commit:
                    # Publishing happens beside the response, in order, not before it: the answer doesn't wait for the broadcast.
                    r.hub.spawn(_after_commit(request.url.path, call.after_commit))
                if isinstance(result, Later):
                    result = await result.fn()
            except DomainError as err:
                return json_error(status_for(err), err.code, err.message)
            except BadRequest as err:
                return json_error(err.status, err.code, err.message)
            if isinstance(result, Later):
                raise TypeError("a Later must not return another Later")
            if isinstance(result, Response):
                return result
            status, payload = result
            if isinstance(payload, BaseModel):
                content: Any = payload.model_dump(mode="json")
            elif isinstance(payload, list):
                content = [p.model_dump(mode="json") if isinstance(p, BaseModel) else p for p in payload]
            else:
                content = payload
            return JSONResponse(content, status_code=status)

        return handler

    return deco


async def _after_commit(path: str, jobs: list[Callable[[], Awaitable[None]]]) -> None:
    for job in jobs:
        try:
            await job()
        except Exception:
            log.exception("after-commit work of %s failed", path)


async def _bearer_user(request: Request, session: AsyncSession, now: dt.datetime) -> User | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return await accounts.user_for_api_token(session, token.strip(), now=now)


# --------------------------------------------------------------------------- serializers


def event_out(e: Event) -> sc.EventOut:
    return sc.EventOut(
        id=e.id, name=e.name, description=e.description, timezone=e.timezone, starts_at=e.starts_at, ends_at=e.ends_at,
        support_email=e.support_email,
        chat_format=sc.ChatFormatIn(
            requests_by=e.requests_by,  # type: ignore[arg-type]
            slot_minutes=e.slot_minutes, buffer_minutes=e.buffer_minutes, max_requests_per_talent=e.max_requests_per_talent,
            max_chats_per_talent=e.max_chats_per_talent, room_opens_minutes_before=e.room_opens_minutes_before,
        ),
    )


def company_out(c: Company) -> sc.CompanyOut:
    return sc.CompanyOut(id=c.id, event_id=c.event_id, name=c.name, description=c.description, website=c.website, logo_url=c.logo_url)


def chat_out(view: queries.ChatView, base_url: str) -> sc.ChatOut:
    c = view.chat
    booked = c.status == "confirmed"
    return sc.ChatOut(
        id=c.id, event_id=c.event_id, status=c.status,
        talent=sc.PersonRef(id=view.talent.id, name=view.talent.name),
        recruiter=sc.PersonRef(id=view.recruiter.id, name=view.recruiter.name),
        company=sc.CompanyRef(id=view.company.id, name=view.company.name) if view.company else None,
        sender_id=c.sender_id, message=c.message, question=c.question, answer=c.answer,
        start=c.starts_at if c.status in ("confirmed", "completed") else None,
        end=c.ends_at if c.status in ("confirmed", "completed") else None,
        reason=c.reason, created_at=c.created_at, updated_at=c.updated_at,
        invite_url=f"{base_url}/api/v1/chat-requests/{c.id}/invite.ics" if booked else None,
        room_url=f"{base_url}/chats/{c.id}/room" if booked else None,
    )


async def _chat_result(call: ApiCall, chat: ChatRequest) -> tuple[int, sc.ChatOut]:
    view = await queries.chat_view(call.session, chat)
    return 200, chat_out(view, res(call.request).settings.base_url)


# --------------------------------------------------------------------------- endpoints


@api(auth=False)
async def create_token(call: ApiCall) -> Result:
    body = await call.body(sc.TokenIn)
    limiter = res(call.request).login_limiter
    key = f"{client_ip(call.request)}|{body.email.strip().lower()}"
    if not limiter.allow(key) or not res(call.request).ip_limiter.allow(client_ip(call.request)):
        return json_error(429, "rate_limited", "Too many sign-in attempts; wait a minute and try again.",
                          {"Retry-After": str(limiter.retry_after(key))})
    user = await accounts.authenticate(call.session, body.email, body.password)
    if user is None:
        return json_error(401, "invalid_credentials", "Email or password is wrong.")
    token = await accounts.issue_api_token(call.session, user, now=call.ctx.now)
    return 201, sc.TokenOut(token=token, user=sc.UserOut(id=user.id, email=user.email, name=user.name))


def _format(f: sc.ChatFormatIn) -> actions.ChatFormat:
    return actions.ChatFormat(**f.model_dump())


@api()
async def create_event(call: ApiCall) -> Result:
    body = await call.body(sc.EventIn)
    event = await actions.create_event(
        call.session, call.ctx, call.user, name=body.name, timezone=body.timezone, starts_at=body.starts_at, ends_at=body.ends_at,
        description=body.description, support_email=body.support_email, fmt=_format(body.chat_format),
    )
    return 201, event_out(event)


@api()
async def get_event(call: ApiCall) -> Result:
    event = await actions.get_event(call.session, call.path_int("event_id"))
    await actions.require_member(call.session, event, call.user)
    return 200, event_out(event)


@api()
async def update_event(call: ApiCall) -> Result:
    body = await call.body(sc.EventIn)
    event = await actions.update_event(
        call.session, call.user, call.path_int("event_id"), name=body.name, timezone=body.timezone, starts_at=body.starts_at,
        ends_at=body.ends_at, description=body.description, support_email=body.support_email, fmt=_format(body.chat_format),
    )
    return 200, event_out(event)


@api()
async def create_company(call: ApiCall) -> Result:
    body = await call.body(sc.CompanyIn)
    company = await actions.add_company(call.session, call.user, call.path_int("event_id"), **body.model_dump())
    return 201, company_out(company)


@api()
async def list_companies(call: ApiCall) -> Result:
    event = await actions.get_event(call.session, call.path_int("event_id"))
    await actions.require_member(call.session, event, call.user)
    return 200, [company_out(c) for c in await queries.companies(call.session, event.id)]


@api()
async def create_participant(call: ApiCall) -> Result:
    body = await call.body(sc.ParticipantIn)
    member = await actions.add_participant(
        call.session, call.ctx, call.user, call.path_int("event_id"), email=body.email, name=body.name, role=body.role,
        company_id=body.company_id, password=body.password,
    )
    user = await call.session.get(User, member.user_id)
    assert user is not None
    return 201, sc.ParticipantOut(
        user_id=user.id, event_id=member.event_id, role=member.role, name=user.name, email=user.email, company_id=member.company_id,
        invited_by_email=body.password is None,
    )


@api()
async def put_recruiter(call: ApiCall) -> Result:
    body = await call.body(sc.RecruiterIn)
    windows = None if body.availability is None else [actions.Window(w.start, w.end) for w in body.availability]
    event_id, user_id = call.path_int("event_id"), call.path_int("user_id")
    await actions.set_recruiter_profile(
        call.session, call.user, event_id, user_id, booking_mode=body.booking_mode, custom_question=body.custom_question,
        ideal_candidate=body.ideal_candidate, availability=windows, ctx=call.ctx,
    )
    await call.session.flush()
    event = await actions.get_event(call.session, event_id)
    for w in windows or ():  # finding 7: a window shorter than one chat gives no slot; refused (all rolled back) as on the page
        availability.check_window(availability.Span(w.start, w.end), slot_minutes=event.slot_minutes)
    [card] = await queries.recruiter_cards(call.session, event, now=call.ctx.now, only=[user_id])
    return 200, recruiter_out(card)


def recruiter_out(card: queries.RecruiterCard) -> dict[str, Any]:
    """The JSON of sc.RecruiterOut, built directly: the list has hundreds of cards and a model per card costs more than the
    query (tests/web/test_recruiter_list.py checks that this is exactly what the model would dump)."""
    return {
        "user_id": card.user_id, "name": card.name,
        "company": None if card.company_id is None else {"id": card.company_id, "name": card.company_name},
        "open_slots": card.open_slots, "requests_received": card.requests_received, "custom_question": card.custom_question,
        "ideal_candidate": card.ideal_candidate, "booking_mode": card.booking_mode,
    }


@api()
async def list_recruiters(call: ApiCall) -> Result:
    event = await actions.get_event(call.session, call.path_int("event_id"))
    await actions.require_member(call.session, event, call.user)
    raw = call.request.query_params.get("company_id")
    company_id = None
    if raw:
        company_id = parse_id(raw)
        if company_id is None:
            raise BadRequest("invalid_input", "company_id must be a company's id.", status=422)
    cards = await queries.recruiter_cards(call.session, event, now=call.ctx.now, company_id=company_id)
    # Hundreds of cards: orjson encodes them several times faster than the json module JSONResponse uses.
    return Response(orjson.dumps([recruiter_out(c) for c in cards]), media_type="application/json")


@api()
async def me_in_event(call: ApiCall) -> Result:
    event = await actions.get_event(call.session, call.path_int("event_id"))
    member = await actions.require_member(call.session, event, call.user)
    q = queries.quota(event, member)
    tabs = await queries.tab_counts(call.session, event.id, call.user, member)
    return 200, sc.MeOut(role=member.role if member else "admin", requests_left=q.requests_left if q else None,
                         chats_left=q.chats_left if q else None, tabs=tabs)


@api()
async def create_chat_request(call: ApiCall) -> Result:
    body = await call.body(sc.ChatRequestIn)
    limiter = res(call.request).write_limiter
    if not limiter.allow(f"chatreq|{call.user.id}"):
        return json_error(429, "rate_limited", "Too many requests in a short time; wait a minute.")
    chat = await actions.send_request(
        call.session, call.ctx, call.user, call.path_int("event_id"), recruiter_id=body.recruiter_id, talent_id=body.talent_id,
        message=body.message, answer=body.answer,
    )
    status, out = await _chat_result(call, chat)
    return 201, out


@api()
async def list_chat_requests(call: ApiCall) -> Result:
    event = await actions.get_event(call.session, call.path_int("event_id"))
    member = await actions.require_member(call.session, event, call.user)
    status = call.request.query_params.get("status")
    valid = {"pending", "accepted", "confirmed", "completed", "declined", "cancelled"}
    if status and status not in valid:
        raise BadRequest("invalid_input", f"status must be one of {', '.join(sorted(valid))}.", status=422)
    views = await queries.chats(call.session, event.id, call.user, member, statuses=[status] if status else None)
    base = res(call.request).settings.base_url
    return 200, [chat_out(v, base) for v in views]


@api()
async def get_chat_request(call: ApiCall) -> Result:
    chat = await actions.load_chat(call.session, call.path_int("chat_id"), call.user)
    return await _chat_result(call, chat)


@api()
async def accept(call: ApiCall) -> Result:
    return await _chat_result(call, await actions.accept(call.session, call.ctx, call.user, call.path_int("chat_id")))


@api()
async def decline(call: ApiCall) -> Result:
    body = await call.body(sc.ReasonIn)
    return await _chat_result(call, await actions.decline(call.session, call.ctx, call.user, call.path_int("chat_id"), body.reason))


@api()
async def cancel(call: ApiCall) -> Result:
    body = await call.body(sc.ReasonIn)
    return await _chat_result(call, await actions.cancel(call.session, call.ctx, call.user, call.path_int("chat_id"), body.reason))


@api()
async def reschedule(call: ApiCall) -> Result:
    body = await call.body(sc.RescheduleIn)
    chat = await actions.reschedule(call.session, call.ctx, call.user, call.path_int("chat_id"), reason=body.reason, start=body.start)
    return await _chat_result(call, chat)


@api()
async def list_slots(call: ApiCall) -> Result:
    chat = await actions.load_chat(call.session, call.path_int("chat_id"), call.user)
    event = await actions.get_event(call.session, chat.event_id)
    if chat.status != "accepted":
        return 200, []
    free = await actions.open_slots_for_chat(call.session, chat, event, now=call.ctx.now)
    await slot_watch.looked_for_slots(call.session, chat, call.user, len(free), call.ctx.now)  # none free: the talent is told when one opens
    return 200, [sc.SlotOut(start=s.start, end=s.end) for s in free]


@api()
async def book(call: ApiCall) -> Result:
    body = await call.body(sc.BookingIn)
    return await _chat_result(call, await actions.book(call.session, call.ctx, call.user, call.path_int("chat_id"), body.start))


def invite_response(body: str, method: str, chat_id: int) -> Response:
    return Response(body, media_type=f"text/calendar; method={method}; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="fairmeet-chat-{chat_id}.ics"'})


@api()
async def get_invite(call: ApiCall) -> Result:
    chat_id = call.path_int("chat_id")
    body, method = await actions.current_invite(call.session, call.ctx, call.user, chat_id)
    return invite_response(body, method, chat_id)


routes = [
    Route("/api/v1/tokens", create_token, methods=["POST"]),
    Route("/api/v1/events", create_event, methods=["POST"]),
    Route("/api/v1/events/{event_id:id}", get_event, methods=["GET"]),
    Route("/api/v1/events/{event_id:id}", update_event, methods=["PUT"]),
    Route("/api/v1/events/{event_id:id}/me", me_in_event, methods=["GET"]),
    Route("/api/v1/events/{event_id:id}/companies", create_company, methods=["POST"]),
    Route("/api/v1/events/{event_id:id}/companies", list_companies, methods=["GET"]),
    Route("/api/v1/events/{event_id:id}/participants", create_participant, methods=["POST"]),
    Route("/api/v1/events/{event_id:id}/recruiters", list_recruiters, methods=["GET"]),
    Route("/api/v1/events/{event_id:id}/recruiters/{user_id:id}", put_recruiter, methods=["PUT"]),
    Route("/api/v1/events/{event_id:id}/chat-requests", create_chat_request, methods=["POST"]),
    Route("/api/v1/events/{event_id:id}/chat-requests", list_chat_requests, methods=["GET"]),
    Route("/api/v1/chat-requests/{chat_id:id}", get_chat_request, methods=["GET"]),
    Route("/api/v1/chat-requests/{chat_id:id}/accept", accept, methods=["POST"]),
    Route("/api/v1/chat-requests/{chat_id:id}/decline", decline, methods=["POST"]),
    Route("/api/v1/chat-requests/{chat_id:id}/cancel", cancel, methods=["POST"]),
    Route("/api/v1/chat-requests/{chat_id:id}/reschedule", reschedule, methods=["POST"]),
    Route("/api/v1/chat-requests/{chat_id:id}/slots", list_slots, methods=["GET"]),
    Route("/api/v1/chat-requests/{chat_id:id}/booking", book, methods=["POST"]),
    Route("/api/v1/chat-requests/{chat_id:id}/invite.ics", get_invite, methods=["GET"]),
]
