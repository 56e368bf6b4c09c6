"""The candidate's pages without a browser: the public job page (escaping, 404s), the widget's frame policy, the loader script,
the continue page and the demo careers page."""

from __future__ import annotations

import datetime as dt
import gzip

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from scheduling import accounts, actions
from scheduling.db import create_sessionmaker
from scheduling.livechat import jobs
from tests.factories import PASSWORD
from web.livechat.candidate_pages import frame_ancestors, paragraphs

HOSTILE = "<script>alert(1)</script> {{7*7}} & \"quotes\""


async def _job(engine: AsyncEngine, now: dt.datetime, *, title: str = "Backend Engineer", description: str = "Python.\nPostgreSQL.",
               origins: tuple[str, ...] = (), archived: bool = False, apply_url: str = "https://acme.example/apply") -> int:
    async with create_sessionmaker(engine)() as s, s.begin():
        admin = await accounts.user_by_email(s, "admin@example.test")
        if admin is None:
            admin = await accounts.create_user(s, email="admin@example.test", name="Ada Admin", password=PASSWORD, now=now, is_admin=True)
        ctx = actions.Context(now=now)
        settings = jobs.JobReqSettings(title=title, company="Acme <Robots>", location="Berlin", description=description, apply_url=apply_url,
                                       allowed_origins=list(origins))
        job = await jobs.create_job(s, ctx, admin, settings, [jobs.Question("Allowed to work in the EU?", "yes_no", [], ["Yes"])])
        if archived:
            await jobs.archive_job(s, ctx, admin, job.id)
        return job.id


def _ancestors(policy: str) -> list[str]:
    [directive] = [d.strip() for d in policy.split(";") if d.strip().startswith("frame-ancestors")]
    return directive.split()[1:]


async def test_job_page_shows_the_job_and_escapes_what_staff_wrote(client: httpx.AsyncClient, engine: AsyncEngine, now: dt.datetime) -> None:
    job_id = await _job(engine, now, title=HOSTILE, description=f"First line\nsecond line\n\nNew paragraph {HOSTILE}")
    r = await client.get(f"/jobs/{job_id}")
    assert r.status_code == 200, r.text
    html = r.text
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "{{7*7}}" in html and "49" not in html  # a template expression in data stays text
    assert "Acme &lt;Robots&gt;" in html and 'href="https://acme.example/apply"' in html
    assert "First line\nsecond line</p>" in html and "<p>New paragraph" in html  # line breaks kept, blank lines make paragraphs
    # The chat panel is there, with what candidate.js starts from, escaped into attributes.
    assert 'id="lc"' in html and f'data-job="{job_id}"' in html and 'data-mode="page"' in html and "/static/livechat/candidate.js" in html
    assert 'data-title="&lt;script&gt;' in html
    assert r.headers["content-security-policy"].endswith("frame-ancestors 'self'")


async def test_unknown_and_archived_jobs_are_not_found(client: httpx.AsyncClient, engine: AsyncEngine, now: dt.datetime) -> None:
    archived = await _job(engine, now, archived=True)
    for path in ("/jobs/999999", f"/jobs/{archived}", f"/jobs/{archived}/widget", "/jobs/999999/widget"):
        r = await client.get(path)
        assert r.status_code == 404, path
        assert "No such job opening." in r.text
    assert (await client.get("/jobs/0")).status_code == 404
    assert (await client.get("/jobs/12345678901")).status_code == 404


async def test_widget_frame_may_be_embedded_only_by_the_allowed_sites(client: httpx.AsyncClient, engine: AsyncEngine, now: dt.datetime) -> None:
    job_id = await _job(engine, now, origins=("https://jobs.example.com", "http://localhost:8080/"))
    r = await client.get(f"/jobs/{job_id}/widget")
    assert r.status_code == 200
    policy = r.headers["content-security-policy"]
    assert _ancestors(policy) == ["'self'", "http://localhost:8080", "https://jobs.example.com"]
    # Exact origins: a look-alike host, another scheme, a wildcard, another port are not among them.
    for stranger in ("https://jobs.example.com.evil.net", "http://jobs.example.com", "https://*.example.com", "https://example.com",
                     "http://localhost:8081", "*"):
        assert stranger not in _ancestors(policy)
    assert "script-src 'self'" in policy and "object-src 'none'" in policy
    assert r.headers["x-content-type-options"] == "nosniff"
    assert 'data-origins="[&#34;http://localhost:8080&#34;, &#34;https://jobs.example.com&#34;]"' in r.text
    assert 'data-mode="widget"' in r.text and 'id="lc-min"' in r.text

    alone = await _job(engine, now)
    r = await client.get(f"/jobs/{alone}/widget")
    assert _ancestors(r.headers["content-security-policy"]) == ["'self'"]


def test_frame_ancestors_lists_exactly_what_it_is_given() -> None:
    assert frame_ancestors([]) == "frame-ancestors 'self'"
    assert frame_ancestors(["https://a.example", "https://b.example:8443"]) == "frame-ancestors 'self' https://a.example https://b.example:8443"
    assert paragraphs("a\r\nb\n \nc\n\n\n") == ["a\nb", "c"]


async def test_loader_script_is_javascript_small_and_cacheable(client: httpx.AsyncClient) -> None:
    r = await client.get("/widget.js")
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/javascript; charset=utf-8"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "max-age=" in r.headers["cache-control"] and r.headers.get("etag")
    assert "data-job" in r.text and "postMessage" in r.text and '"*"' not in r.text  # never posts to any origin
    again = await client.get("/widget.js", headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304
    raw = r.content
    packed = len(gzip.compress(raw, 9))
    print(f"\nwidget.js: {len(raw)} bytes, {packed} bytes gzipped")
    assert len(raw) < 8 * 1024 and packed < 3 * 1024


async def test_continue_page_holds_the_link_for_the_script_only(client: httpx.AsyncClient) -> None:
    signed = "eyJjIjoxfQ.aBcD12.xyz_-signature"
    r = await client.get(f"/live/continue/{signed}")
    assert r.status_code == 200
    assert f'data-link="{signed}"' in r.text and 'data-mode="continue"' in r.text
    assert r.headers["referrer-policy"] == "no-referrer" and r.headers["cache-control"] == "no-store"
    r = await client.get("/live/continue/%3Cscript%3E")
    assert r.status_code == 200 and "This link is not complete" in r.text and "<script>" not in r.text.split("<body", 1)[1]


async def test_demo_careers_embeds_the_first_open_job(client: httpx.AsyncClient, engine: AsyncEngine, now: dt.datetime) -> None:
    r = await client.get("/demo/careers")
    assert r.status_code == 200 and "No open positions right now" in r.text and "/widget.js" not in r.text.split("<main", 1)[1].split("<details")[0]
    archived = await _job(engine, now, title="Old role", archived=True)
    first = await _job(engine, now, title="Robot Whisperer")
    await _job(engine, now, title="Later role")
    r = await client.get("/demo/careers")
    assert first > archived
    assert "Robot Whisperer" in r.text and "Old role" not in r.text and "Later role" not in r.text
    assert f'<script src="/widget.js" data-job="{first}" async></script>' in r.text
    assert "Demo." in r.text


async def test_pages_are_framed_by_fairmeet_only_and_the_widget_by_its_sites(client: httpx.AsyncClient) -> None:
    for path in ("/login", "/live/console", "/jobs/1/chat", "/healthz"):
        r = await client.get(path)
        assert r.headers.get("content-security-policy", "").endswith("frame-ancestors 'self'"), path


async def test_not_found_pages_answer_at_once_for_a_signed_in_person(client: httpx.AsyncClient, engine: AsyncEngine, now: dt.datetime) -> None:
    """The error page reads who is signed in inside the request's own transaction: on SQLite a second session used to
    wait for that transaction's write lock and answer a 500 after 30 s."""
    from tests.web.test_pages import sign_in

    archived = await _job(engine, now, archived=True)
    r = await sign_in(client, "admin@example.test")
    assert r.status_code in (200, 303), r.text
    for path in ("/jobs/999999", f"/jobs/{archived}/widget", "/jobs/999999/chat", "/jobs/999999/chat/1"):
        r = await client.get(path, timeout=10)
        assert r.status_code == 404, (path, r.status_code)
        assert "Ada Admin" in r.text or "/jobs/" in path and "widget" in path  # the page knows who is signed in (the widget frame has no header)
