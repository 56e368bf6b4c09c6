"""The Starlette application: routes, middleware, and the resources its lifespan owns."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import gc
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from scheduling import actions
from scheduling.db import create_engine, create_sessionmaker
from scheduling.delivery import SmtpSender
from scheduling.logwriter import LogWriter
from scheduling.sms import SmsSender, gateway_for
from signaling.broker import Broker, MemoryBroker, RedisBroker
from signaling.hub import Hub
from web import api, calendar_pages, catchup, chat_pages, health, netcheck, pages, people_pages, profile_api, profile_pages, rooms
from web import favicon as site_icon
from web import metrics as observe
from web import requestid as request_ids
from web import signin_link_pages as link_pages
from web.framing import SameOriginFraming
from web.http import Clock, Resources, json_error, res, utcnow
from web.livechat import api as live_api
from web.livechat import attachments_api, candidate_pages, desk_api, event_pages, library_api, library_pages, plain_pages, staff_pages, ticket_api, ticket_pages
from web.livechat import followup as live_followup
from web.livechat import report_pages as live_report
from web.livechat import socket as live_socket
from web.livechat import team_pages as live_teams
from web.openapi import document
from web.organizer import announcement_pages, dashboard_pages, on_behalf_pages, roster_api, roster_pages
from web.ratelimit import RateLimiter
from web.settings import Settings

log = logging.getLogger("fairmeet")
STATIC = Path(__file__).parent / "static"
# How uvicorn serves the room sockets: websockets' sans-I/O protocol, without per-message compression. Room
# frames are small; a zlib compressor and decompressor per socket cost about 45 KiB of memory per connection
# (and CPU on every frame) for next to no saving on the wire.
# Frames above 64 KiB are refused by the protocol itself (close 1009, message too big) before the app sees them: the
# largest valid frame (an SDP offer, a chat line) is a few KiB; uvicorn's default would buffer up to 16 MiB per socket.
SERVER_OPTIONS: dict[str, Any] = {"ws": "websockets-sansio", "ws_per_message_deflate": False, "ws_max_size": 64 * 1024}


async def healthz(request: Request) -> Response:
    try:
        async with res(request).sessionmaker() as session:
            await session.execute(text("SELECT 1"))
    except Exception as err:  # noqa: BLE001 -- any database failure is "unhealthy"
        return JSONResponse({"status": "error", "database": str(err)[:200]}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok"})


async def openapi(request: Request) -> Response:
    return JSONResponse(document())


async def _every(seconds: float, job: str, fn: object) -> None:
    assert callable(fn)
    while True:
        with request_ids.job(job):  # each run (and its failure's line) logs under a request id of its own, with the job's name
            try:
                await fn()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("background job %s failed", job)
        await asyncio.sleep(seconds)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if request.url.path.startswith("/api/"):
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return json_error(exc.status_code, code, str(exc.detail))
    return await pages.error_page(request, exc.status_code, str(exc.detail))


async def server_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s", request.url.path, exc_info=exc)
    if request.url.path.startswith("/api/"):
        return json_error(500, "server_error", "Something went wrong on our side; it has been logged.")
    return await pages.error_page(request, 500, "Something went wrong on our side; it has been logged.")


_UNREACHABLE = ("too many clients", "too many connections", "connection refused", "could not connect", "database system is starting up",
                "database system is shutting down", "connection was closed", "remaining connection slots")


async def database_error(request: Request, exc: Exception) -> Response:
    """A database that can't be reached right now (no connection slots left, restarting) is a reason to come back
    shortly (503 busy); any other database error is a fault of ours (500)."""
    assert isinstance(exc, DBAPIError)
    if exc.connection_invalidated or any(s in str(exc.orig).lower() for s in _UNREACHABLE):
        return await database_busy(request, exc)
    return await server_error(request, exc)


async def database_busy(request: Request, exc: Exception) -> Response:
    """No pooled database connection came free in time: a reason to come back shortly (503), not a failure."""
    log.warning("no database connection for %s: %s", request.url.path, exc)
    message = "Fairmeet is very busy right now; please try again in a moment."
    headers = {"Retry-After": "2"}
    if request.url.path.startswith("/api/"):
        return json_error(503, "busy", message, headers=headers)
    response = pages.render(request, "error.html", None, status=503, title="Busy", message=message)
    response.headers.update(headers)
    return response


def freeze_startup_heap() -> None:
    """For a process that serves one app: what exists before serving (modules, the app, its routes) lives as
    long as the process. Moved out of the cyclic collector's sight, a full collection no longer walks it
    (~110 ms pauses at the p99 of requests and room frames otherwise). Not for test processes that build many apps."""
    gc.collect()
    gc.freeze()


def create_app(settings: Settings | None = None, *, clock: Clock = utcnow, background: bool = True) -> Starlette:
    settings = settings or Settings.from_env()
    app_metrics = observe.Metrics()  # a registry per app: create_app may run many times in one process

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # hide_parameters: a failed statement's message (logged) never carries its values, such as a chat line's text.
        engine = create_engine(settings.database_url, hide_parameters=True, **settings.pool_options())
        sessionmaker = create_sessionmaker(engine)
        broker: Broker = RedisBroker(settings.redis_url, prefix=settings.redis_prefix) if settings.redis_url else MemoryBroker()
        hub = Hub(broker, metrics=app_metrics.signaling)
        log_writer = LogWriter(engine, max_pending=settings.log_queue_limit, busy_after=settings.log_busy_after_seconds)
        log_writer.start()
        app.state.res = Resources(
            settings=settings, sessionmaker=sessionmaker, clock=clock,
            login_limiter=RateLimiter(settings.login_rate_per_minute, 60), ip_limiter=RateLimiter(60, 60), write_limiter=RateLimiter(30, 60), hub=hub,
            log_writer=log_writer,
            metrics=app_metrics,
        )
        if isinstance(broker, RedisBroker):  # frames lost while Redis was away: local connections catch up from the logs
            resources = app.state.res

            async def catch_up() -> None:
                await catchup.catch_up(resources)

            broker.on_reconnect = catch_up
        tasks: list[asyncio.Task[None]] = []
        if background or settings.desk_jobs:
            async def offers() -> None:
                await desk_api.expire_offers(app.state.res)

            async def idle() -> None:
                await desk_api.resolve_idle(app.state.res)

            tasks.append(asyncio.create_task(_every(1.0, "live offers", offers)))
            tasks.append(asyncio.create_task(_every(30.0, "live auto-resolve", idle)))
        lease = dt.timedelta(seconds=settings.outbox_lease_seconds)
        if not background and settings.mail_jobs and settings.smtp_url:  # the mail sender alone (tests/live.py --mail-jobs)
            mailer = SmtpSender(sessionmaker, settings.smtp_url, settings.mail_from, lease=lease)
            app_metrics.count_deliveries(mailer)

            async def send_mail() -> None:
                await mailer.send_due(clock())

            tasks.append(asyncio.create_task(_every(settings.mail_poll_seconds, "mail", send_mail)))
        if background:
            async def sweep() -> None:
                async with sessionmaker() as session, session.begin():
                    await actions.complete_due(session, actions.Context(now=clock()))

            tasks.append(asyncio.create_task(_every(settings.sweep_seconds, "complete", sweep)))

            async def live_queues() -> None:
                await live_socket.republish_queues(app.state.res)

            tasks.append(asyncio.create_task(_every(30.0, "live queues", live_queues)))
            if settings.smtp_url:
                sender = SmtpSender(sessionmaker, settings.smtp_url, settings.mail_from, lease=lease)
                app_metrics.count_deliveries(sender)

                async def send() -> None:
                    await sender.send_due(clock())

                tasks.append(asyncio.create_task(_every(settings.mail_poll_seconds, "mail", send)))
            if settings.sms_url:
                texts = SmsSender(sessionmaker, gateway_for(settings.sms_url))
                app_metrics.count_deliveries(texts)
                texts.lease = lease

                async def send_texts() -> None:
                    await texts.send_due(clock())

                tasks.append(asyncio.create_task(_every(settings.mail_poll_seconds, "texts", send_texts)))
        try:
            yield
        finally:
            app.state.res.draining = True
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await app.state.res.netcheck.close()
            await hub.close()
            await log_writer.close()
            await engine.dispose()

    routes = [
        Route("/healthz", healthz),
        *observe.routes,
        *health.routes,
        *site_icon.routes,
        Route("/api/openapi.json", openapi),
        *api.routes,
        *pages.routes,
        *link_pages.routes,
        *roster_pages.routes,
        *roster_api.routes,
        *chat_pages.routes,
        *dashboard_pages.routes,
        *announcement_pages.routes,
        *on_behalf_pages.routes,
        *calendar_pages.routes,
        *people_pages.routes,
        *profile_pages.routes,
        *profile_api.routes,
        *rooms.routes,
        *netcheck.routes,
        *live_api.routes,
        *desk_api.routes,
        *attachments_api.routes,
        *live_followup.routes,
        *live_socket.routes,
        *candidate_pages.routes,
        *event_pages.routes,
        *plain_pages.routes,
        *staff_pages.routes,
        *library_api.routes,
        *library_pages.routes,
        *ticket_api.routes,
        *ticket_pages.routes,
        *live_report.routes,
        *live_teams.routes,
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    middleware = [
        Middleware(SameOriginFraming),
        Middleware(SessionMiddleware, secret_key=settings.secret_key, session_cookie="fairmeet_session", same_site="lax",
                   https_only=settings.secure_cookies, max_age=14 * 24 * 3600),
    ]
    app = observe.ObservedApp(routes=routes, middleware=middleware, lifespan=lifespan, metrics=app_metrics,
                    exception_handlers={HTTPException: http_error, PoolTimeout: database_busy, DBAPIError: database_error, Exception: server_error})
    return app
