"""Shared request plumbing: the app's resources, the signed-in user, errors as JSON or pages."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.responses import JSONResponse

from media.netcheck import NetcheckPeers
from scheduling import actions
from scheduling.errors import Conflict, DomainError, Forbidden, Invalid, NotFound
from scheduling.logwriter import LogWriter
from scheduling.models import User
from signaling.hub import Hub
from web import metrics
from web.ratelimit import RateLimiter
from web.settings import Settings

Clock = Callable[[], dt.datetime]


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class Resources:
    """What the lifespan creates and every request reaches through `request.app.state.res`."""

    settings: Settings
    sessionmaker: async_sessionmaker[AsyncSession]
    clock: Clock
    login_limiter: RateLimiter
    ip_limiter: RateLimiter
    write_limiter: RateLimiter
    hub: Hub
    log_writer: LogWriter  # conversation entries, stored in batches (group commit)
    netcheck: NetcheckPeers = field(default_factory=NetcheckPeers)  # network-check echo peers (web/netcheck.py)
    # Per-address limits where strangers write to live chat: starting chats, notes, uploads, lines over HTTP.
    live_limits: dict[str, RateLimiter] = field(default_factory=dict)
    live_queue_pending: set[str] = field(default_factory=set)  # queues whose frame is about to be rebuilt (coalesced)
    metrics: metrics.Metrics | None = None  # this app's Prometheus registry (web/metrics.py)
    draining: bool = False  # shutdown has begun: /readyz answers 503 so balancers stop sending work here

    def __post_init__(self) -> None:
        if not self.live_limits:
            self.live_limits = {"start": RateLimiter(self.settings.live_start_limit, 600), "note": RateLimiter(10, 3600),
                                "upload": RateLimiter(10, 600), "message": RateLimiter(60, 60),
                                "followup_chat": RateLimiter(5, 86400), "followup_user": RateLimiter(100, 86400)}


def res(request: Request) -> Resources:
    resources: Resources = request.app.state.res
    return resources


def context(request: Request) -> actions.Context:
    return context_for(res(request))


def context_for(r: Resources) -> actions.Context:
    return actions.Context(now=r.clock(), base_url=r.settings.base_url, mail_from=r.settings.mail_from_address)


def status_for(error: DomainError) -> int:
    """The HTTP status of a domain error that becomes a response (counted in fairmeet_domain_refusals_total)."""
    status = _status(error)
    metrics.refused(error, status)
    return status


def _status(error: DomainError) -> int:
    if isinstance(error, NotFound):
        return 404
    if isinstance(error, Forbidden):
        return 403
    if isinstance(error, Conflict):
        return 409
    if isinstance(error, Invalid):
        return 422
    return 400


def json_error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


async def session_user(request: Request, session: AsyncSession) -> User | None:
    uid = request.session.get("uid")
    if not isinstance(uid, int):
        return None
    user = await session.get(User, uid)
    if user is None or request.session.get("se") != user.session_epoch:
        return None
    return user


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(24)
        request.session["csrf"] = token
    return token


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


Handler = Callable[..., Awaitable[Any]]
