"""The candidate's pages: a job req's public page, the widget's iframe and loader script, the continue page, the demo careers site.

None of them needs an account. The pages hold only the markup and a few data attributes; the chat itself runs in
static/livechat/candidate.js against the JSON API and the candidate socket (docs/livechat.md). The widget's iframe
may be framed only by the job req's allowed sites (`Content-Security-Policy: frame-ancestors`), matched exactly.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

import web.convertors  # noqa: F401 -- registers the {x:id} path convertor
from scheduling.errors import NotFound
from scheduling.livechat import jobs
from scheduling.livechat.models import JobReq
from web import pages
from web.http import res

LOADER = Path(__file__).resolve().parent.parent / "static" / "livechat" / "widget.js"
# Scripts and plugins only from Fairmeet itself, no <base> games; who may frame the page is added per response.
_PAGE_POLICY = "script-src 'self'; object-src 'none'; base-uri 'none'"
_SIGNED = re.compile(r"^[A-Za-z0-9_.\-]{10,500}$")


@functools.cache
def _loader_bytes() -> tuple[bytes, str]:
    """The loader and its ETag, read once per process (it changes only with a deploy)."""
    body = LOADER.read_bytes()
    return body, '"' + hashlib.sha256(body).hexdigest()[:20] + '"'


def frame_ancestors(origins: list[str]) -> str:
    """`frame-ancestors 'self' <origin> ...`: each allowed site exactly as stored (scheme://host[:port]), nothing else."""
    return " ".join(["frame-ancestors", "'self'", *origins])


def paragraphs(text: str) -> list[str]:
    """A description's paragraphs (split at blank lines); single line breaks stay inside and show through CSS."""
    return [p.strip("\n") for p in re.split(r"\n[ \t]*\n", text.replace("\r\n", "\n")) if p.strip()]


def _web_url(value: str) -> str:
    return value if value.startswith(("https://", "http://")) else ""


def _boot(job: JobReq, mode: str, origins: list[str] | None = None) -> dict[str, str]:
    """The data attributes candidate.js starts from (Jinja escapes them into the attributes)."""
    data = {"job": str(job.id), "mode": mode, "title": job.title, "company": job.company}
    if origins is not None:
        data["origins"] = json.dumps(origins)
    return data


async def job_page(request: Request) -> Response:
    job_id: int = request.path_params["job_id"]
    async with res(request).sessionmaker() as session:
        try:
            job = await jobs.public_job(session, job_id)
        except NotFound as err:
            return await pages.error_page(request, 404, err.message, session=session)
        response = pages.render(
            request, "livechat/job.html", None, title=job.title, job=job, description=paragraphs(job.description),
            apply_url=_web_url(job.apply_url), boot=_boot(job, "page"),
        )
    response.headers["Content-Security-Policy"] = f"{_PAGE_POLICY}; frame-ancestors 'self'"
    return response


async def widget_frame(request: Request) -> Response:
    """The chat inside the iframe that widget.js adds to a job site. The host page talks to it only through postMessage."""
    job_id: int = request.path_params["job_id"]
    async with res(request).sessionmaker() as session:
        try:
            job = await jobs.public_job(session, job_id)
        except NotFound as err:
            response = await pages.error_page(request, 404, err.message, session=session)
            response.headers["Content-Security-Policy"] = frame_ancestors([])
            return response
        allowed = jobs.origins(job)
        response = pages.render(request, "livechat/widget_frame.html", None, title=job.title, job=job, boot=_boot(job, "widget", allowed))
    response.headers["Content-Security-Policy"] = f"{_PAGE_POLICY}; {frame_ancestors(allowed)}"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cache-Control"] = "no-store"
    return response


async def loader(request: Request) -> Response:
    """widget.js: the few lines a job site includes with `<script src=".../widget.js" data-job="12" async>`."""
    body, etag = _loader_bytes()
    headers = {
        # No version in the URL (sites paste the tag once): a short cache, then a cheap revalidation by ETag.
        "Cache-Control": "public, max-age=600, stale-while-revalidate=86400",
        "ETag": etag,
        "X-Content-Type-Options": "nosniff",
        "Cross-Origin-Resource-Policy": "cross-origin",
        "Access-Control-Allow-Origin": "*",
    }
    if etag in (t.strip() for t in request.headers.get("if-none-match", "").split(",")):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="text/javascript; charset=utf-8", headers=headers)


async def continue_page(request: Request) -> Response:
    """Where the "your recruiter answered" email and text lead: the page redeems the link for a chat token and shows the whole chat."""
    signed: str = request.path_params["signed"]
    response = pages.render(request, "livechat/continue.html", None, title="Continue your chat",
                            link=signed if _SIGNED.match(signed) else "")
    response.headers["Content-Security-Policy"] = f"{_PAGE_POLICY}; frame-ancestors 'self'"
    response.headers["Referrer-Policy"] = "no-referrer"  # the link is a credential: never leak it to the next page
    response.headers["Cache-Control"] = "no-store"
    return response


async def first_open_job(session: AsyncSession) -> JobReq | None:
    stmt = select(JobReq).where(JobReq.archived.is_(False)).order_by(JobReq.id).limit(1)
    return (await session.execute(stmt)).scalar_one_or_none()


async def demo_careers(request: Request) -> Response:
    """A made-up company careers page that embeds the widget, as a real job site would (labelled as a demo)."""
    async with res(request).sessionmaker() as session:
        job = await first_open_job(session)
        response = pages.render(request, "livechat/demo_careers.html", None, title="Demo careers page", job=job,
                                description=paragraphs(job.description) if job else [],
                                embed_src=str(request.base_url).rstrip("/") + "/widget.js")
    return response


routes: list[BaseRoute] = [
    Route("/jobs/{job_id:id}", job_page, methods=["GET"]),
    Route("/jobs/{job_id:id}/widget", widget_frame, methods=["GET"]),
    Route("/widget.js", loader, methods=["GET"]),
    Route("/live/continue/{signed}", continue_page, methods=["GET"]),
    Route("/demo/careers", demo_careers, methods=["GET"]),
]
