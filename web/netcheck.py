"""/api/rtc/netcheck: before a chat, the browser checks that WebRTC gets through its network, and which way.

GET gives the routes to try (each a name, iceServers with this user's TURN credentials, and an
iceTransportPolicy). POST {"type": "offer", "sdp": ...} (a data channel only, candidates gathered)
answers with an echo peer of the server (media/netcheck.py): the browser sends pings on the data
channel and times the echoes. Signed-in users only; POST also needs our Origin (as the room's
socket does) and is rate-limited per user.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from media.netcheck import MAX_SDP, NetcheckError, NetcheckPeers
from media.turn import ice_servers
from web.http import json_error, res, session_user
from web.rooms import origin_allowed

MAX_BODY = MAX_SDP + 4096
NO_STORE = {"Cache-Control": "no-store"}


class Offer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["offer"]
    sdp: str = Field(min_length=1, max_length=MAX_SDP)
    route: str | None = Field(default=None, max_length=32)  # which of the routes the browser is trying (informational)


async def netcheck(request: Request) -> Response:
    r = res(request)
    settings = r.settings
    if request.method == "POST" and not origin_allowed(request, settings):
        return json_error(403, "origin_not_allowed", "Network checks start from Fairmeet's own pages.")
    async with r.sessionmaker() as session:
        user = await session_user(request, session)
    if user is None:
        return json_error(401, "unauthenticated", "Sign in to check your connection.")
    servers = ice_servers(user_id=user.id, stun_urls=settings.stun_urls, turn_urls=settings.turn_urls, turn_secret=settings.turn_secret)
    if request.method == "GET":
        return JSONResponse({"routes": r.netcheck.routes(servers), "expires_in": r.netcheck.lifetime}, headers=NO_STORE)
    return await _answer(request, r.netcheck, user.id, servers)


async def _answer(request: Request, peers: NetcheckPeers, user_id: int, servers: list[dict[str, Any]]) -> Response:
    if int(request.headers.get("content-length") or 0) > MAX_BODY:
        return json_error(413, "too_large", "An offer is limited to 60,000 characters.")
    body = await request.body()
    if len(body) > MAX_BODY:
        return json_error(413, "too_large", "An offer is limited to 60,000 characters.")
    try:
        offer = Offer.model_validate_json(body)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "body"
        return json_error(422, "invalid_offer", f"{where}: {first.get('msg', 'invalid')}")
    try:
        answer = await peers.answer(user_id, offer.sdp, servers)
    except NetcheckError as err:
        headers = {"Retry-After": str(err.retry_after)} if err.retry_after else None
        return json_error(err.status, err.code, err.message, headers)
    return JSONResponse(answer, headers=NO_STORE)


routes = [Route("/api/rtc/netcheck", netcheck, methods=["GET", "POST"])]
