"""/favicon.ico: the site icon for browsers and tools that ask for it by the old name (pages link static/favicon.svg)."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

FAVICON = Path(__file__).parent / "static" / "favicon.svg"


async def favicon(request: Request) -> Response:
    return Response(FAVICON.read_bytes(), media_type="image/svg+xml", headers={"Cache-Control": "public, max-age=86400"})


routes = [Route("/favicon.ico", favicon)]
