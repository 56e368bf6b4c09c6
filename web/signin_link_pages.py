"""One-time sign-in links (/login/link/{token}): the landing page, which only shows a Continue button (mail scanners that
open links must not spend them), and its post, which spends the link and signs the person in.

The landing greets the link's person by first name only while the link is valid (whoever holds a valid link is that
person); a spent or expired link names no one and offers the sign-in page's email-link form at once.
"""

from __future__ import annotations

import secrets

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from scheduling import accounts, timefmt
from web.http import context, res, session_user
from web.pages import _safe_next, _sign_in, render

SPENT = "This sign-in link has expired or was already used."


def first_name(name: str) -> str:
    return name.split(maxsplit=1)[0] if name.strip() else ""


async def _landing(request: Request, token: str, nxt: str, *, status: int = 200, error: str = "") -> Response:
    async with res(request).sessionmaker() as session:
        viewer = await session_user(request, session)
        holder = await accounts.link_holder(session, token, now=context(request).now)
        if holder is None:
            return render(request, "link.html", viewer, status=410, token=token, next=nxt, spent=True, message=SPENT)
        return render(request, "link.html", viewer, status=status, token=token, next=nxt, spent=False, error=error,
                      holder_name=first_name(holder.name), other=viewer is not None and viewer.id != holder.id)


async def link_landing(request: Request) -> Response:
    return await _landing(request, str(request.path_params["token"]), _safe_next(request.query_params.get("next")))


async def link_redeem(request: Request) -> Response:
    form = await request.form()
    token = str(request.path_params["token"])
    nxt = _safe_next(str(form.get("next", "/")))
    if not secrets.compare_digest(str(form.get("csrf", "")), request.session.get("csrf", "") or "x"):
        return await _landing(request, token, nxt, status=403, error="The page had expired; press Continue again.")
    ctx = context(request)
    async with res(request).sessionmaker() as session, session.begin():
        user = await accounts.redeem_login_link(session, token, now=ctx.now)
        if user is not None:
            tz = timefmt.canonical_zone(str(form.get("tz", "")))
            if not user.timezone and tz:
                user.timezone = tz
        viewer = await session_user(request, session) if user is None else None
    if user is None:
        return render(request, "link.html", viewer, status=410, token=token, next=nxt, spent=True, message=SPENT)
    _sign_in(request, user)
    return RedirectResponse(nxt, status_code=303)


routes = [
    Route("/login/link/{token}", link_landing, methods=["GET"]),
    Route("/login/link/{token}", link_redeem, methods=["POST"]),
]
