"""Health for a process manager or a load balancer: /livez (the process answers) and /readyz (it can serve: the
database answers at the migration head this code expects, Redis answers when configured, and it is not shutting down).

/readyz answers 503 with what failed, so a balancer stops sending work to a replica that can't do it, and turns 503
as soon as the app's shutdown begins (`Resources.draining`). Redis failing is reported as "degraded" with a 200: it is
shared by every replica, and lines still commit without it."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.websockets import WebSocket

from scheduling import migrate
from signaling.broker import RedisBroker
from web.http import res

CHECK_SECONDS = 2.0  # a check slower than this counts as failed: a balancer's probe must not hang


async def livez(request: Request) -> Response:
    return JSONResponse({"status": "live"}, headers={"Cache-Control": "no-store"})


async def readyz(request: Request) -> Response:
    r = res(request)
    checks: dict[str, Any] = {}
    if r.draining:
        checks["shutdown"] = "draining"
    try:
        async with r.sessionmaker() as session:
            version = (await asyncio.wait_for(session.execute(text("SELECT version_num FROM alembic_version")), CHECK_SECONDS)).scalar()
        checks["database"] = "ok"
        checks["migrations"] = migrate.schema_check(version)  # a newer release's expand-only schema is fine
    except Exception as err:  # noqa: BLE001 -- any failure to reach the database means not ready
        checks["database"] = f"error: {type(err).__name__}"
    broker = r.hub.broker
    if isinstance(broker, RedisBroker):
        try:
            checks["redis"] = "ok" if await asyncio.wait_for(broker.ping(), CHECK_SECONDS) else "error: no answer"
        except Exception as err:  # noqa: BLE001 -- any failure to reach Redis means not ready
            checks["redis"] = f"error: {type(err).__name__}"
    # Redis is shared by every replica: failing readiness on it would take them all out of the balancer at once and turn
    # a loss of live updates (lines still commit; clients catch up when it returns, web/catchup.py) into a full outage.
    # So a Redis failure is reported ("degraded", and the check's error) without leaving the balancer.
    ready = all(v == "ok" for k, v in checks.items() if k not in ("shutdown", "redis")) and not r.draining
    status = "not ready" if not ready else "degraded" if checks.get("redis", "ok") != "ok" else "ready"
    return JSONResponse({"status": status, "checks": checks}, status_code=200 if ready else 503, headers={"Cache-Control": "no-store"})


async def refuse_if_draining(ws: WebSocket) -> bool:
    """A WebSocket handshake reaching a replica that is shutting down is accepted and closed at once with 1012
    (service restart): the client reconnects, through the balancer, to a replica that stays. True if refused."""
    if not res(ws).draining:  # type: ignore[arg-type]
        return False
    with contextlib.suppress(Exception):
        await ws.accept()
        await ws.close(code=1012, reason="server restarting, reconnect")
    return True


routes = [
    Route("/livez", livez),
    Route("/readyz", readyz),
]
