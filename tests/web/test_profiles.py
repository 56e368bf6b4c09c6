"""Profiles on the pages and in the API: checked fields (named in words, what was typed kept), the CV told by its content,
size-limited, replaced and removed on disk only once committed, downloaded only by those who may (everyone else: 404),
search by skill, role, company and name, and the two findings about sending requests (#8 no requests left, #12 direct
booking)."""

from __future__ import annotations

import asyncio
import io
import re
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from scheduling import actions, profiles
from scheduling.db import create_sessionmaker
from scheduling.models import Participant, Profile, User
from tests.factories import make_world
from tests.web.conftest import FakeClock, token
from tests.web.test_pages import csrf_of
from tests.web.test_pages import sign_in as first_sign_in
from web import people_pages
from web.app import create_app
from web.settings import Settings

PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 64
OLE2_DOC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64


async def sign_in(client: httpx.AsyncClient, email: str) -> None:
    """Signs in as `email`, whoever was signed in before."""
    client.cookies.clear()
    assert (await first_sign_in(client, email)).status_code == 303


def docx() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document/>")
    return buf.getvalue()


@pytest.fixture
def uploads(tmp_path: Path) -> Path:
    return tmp_path / "uploads"


@pytest.fixture
async def client(db_url: str, clock: FakeClock, engine: AsyncEngine, uploads: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The web client, with uploads in a folder of the test's own."""
    settings = Settings(database_url=db_url, secret_key="test-secret", base_url="http://testserver", upload_dir=str(uploads))
    app = create_app(settings, clock=clock, background=False)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
            yield c


async def save_profile(client: httpx.AsyncClient, event_id: int, **fields: str) -> httpx.Response:
    page = await client.get(f"/events/{event_id}/me")
    assert page.status_code == 200, page.text
    data = {"headline": "", "skills": "", "linkedin_url": "", "portfolio_url": "", **fields, "csrf": csrf_of(page.text)}
    return await client.post(f"/events/{event_id}/me", data=data)


async def upload_cv(client: httpx.AsyncClient, event_id: int, name: str, content: bytes, mime: str = "application/pdf") -> httpx.Response:
    page = await client.get(f"/events/{event_id}/me")
    return await client.post(f"/events/{event_id}/me/cv", data={"csrf": csrf_of(page.text)}, files={"cv": (name, content, mime)},
                             follow_redirects=True)


def stored_files(uploads: Path) -> list[Path]:
    folder = uploads / "cv"
    return sorted(folder.iterdir()) if folder.exists() else []


def field_value(html: str, name: str) -> str:
    found = re.search(rf'<input name="{name}"[^>]*value="([^"]*)"', html)
    assert found, name
    return found.group(1)


# --------------------------------------------------------------------------- the profile form


async def test_a_talent_saves_a_profile_with_normalized_skills(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    sm = create_sessionmaker(engine)
    w = await make_world(sm, clock.now)
    await sign_in(client, "tal0@example.test")
    page = await client.get(f"/events/{w.event_id}")
    assert f'href="/events/{w.event_id}/me"' in page.text and ">Profile</a>" in page.text
    r = await save_profile(client, w.event_id, headline="  Backend   developer ", skills=" python,  PostgreSQL ,Python,, docker  compose ",
                           linkedin_url="https://www.linkedin.com/in/tom-talent", portfolio_url="https://tom.example/work")
    assert r.status_code == 303 and r.headers["location"] == f"/events/{w.event_id}/me"
    page = await client.get(f"/events/{w.event_id}/me")
    assert "Profile saved." in page.text
    assert field_value(page.text, "skills") == "python, PostgreSQL, docker compose"
    assert field_value(page.text, "headline") == "Backend developer"
    async with sm() as s:
        row = await s.get(Profile, w.talents[0].id)
        user = await s.get(User, w.talents[0].id)
        assert row is not None and user is not None
        assert row.skills == "python, PostgreSQL, docker compose" and row.linkedin_url == "https://www.linkedin.com/in/tom-talent"
        assert row.portfolio_url == "https://tom.example/work" and user.headline == "Backend developer"


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"linkedin_url": "http://www.linkedin.com/in/tom"}, "linkedin_url", "The LinkedIn link must start with https://"),
        ({"linkedin_url": "https://linkedin.evil.example/in/tom"}, "linkedin_url", "The LinkedIn link must be a linkedin.com address"),
        ({"portfolio_url": "javascript:alert(1)"}, "portfolio_url", "The portfolio link must start with https://"),
        ({"portfolio_url": "https://user:pw@tom.example/"}, "portfolio_url", "The portfolio link isn&#39;t a valid address"),
        ({"portfolio_url": "https://127.0.0.1/"}, "portfolio_url", "The portfolio link must name a site, not an IP address"),
        ({"portfolio_url": "https://tom.example/" + "a" * 500}, "portfolio_url", "The portfolio link is limited to 500 characters"),
        ({"skills": ", ".join(f"skill{i}" for i in range(21))}, "skills", "List 20 skills at most (you gave 21)"),
        ({"skills": "Python, " + "x" * 41}, "skills", "Each skill can be 40 characters at most"),
        ({"headline": "h" * 201}, "headline", "The headline is limited to 200 characters (you gave 201)"),
    ],
)
async def test_a_refused_field_is_named_in_words_and_what_was_typed_stays(
    client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock, fields: dict[str, str], field: str, message: str
) -> None:
    sm = create_sessionmaker(engine)
    w = await make_world(sm, clock.now)
    await sign_in(client, "tal0@example.test")
    typed = {"headline": "Backend developer", "skills": "Python, SQL", "linkedin_url": "", "portfolio_url": "", **fields}
    r = await save_profile(client, w.event_id, **typed)
    assert r.status_code == 422 and message in r.text
    assert re.search(rf'<input name="{field}"[^>]*aria-invalid="true"', r.text)
    for name, value in typed.items():
        if name != field and len(value) < 300:
            assert field_value(r.text, name) == value.replace("'", "&#39;")
    async with sm() as s:
        assert await s.get(Profile, w.talents[0].id) is None  # nothing half-saved


async def test_only_talents_and_recruiters_have_a_profile_page(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    sm = create_sessionmaker(engine)
    w = await make_world(sm, clock.now)
    await sign_in(client, "org@example.test")
    assert (await client.get(f"/events/{w.event_id}/me")).status_code == 404
    await sign_in(client, "rec0@example.test")
    page = await client.get(f"/events/{w.event_id}/me")
    assert page.status_code == 200 and "Your role" in page.text and 'name="cv"' not in page.text
    # The recruiter's calendar (availability) is still its own page.
    assert f'href="/events/{w.event_id}/profile"' in page.text and ">Availability</a>" in page.text
    r = await upload_cv(client, w.event_id, "cv.pdf", PDF)
    assert "Only talents upload a CV." in r.text


async def test_two_first_saves_at_once_both_land(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    """The profile row is created on first save: two saves racing to create it wait for each other instead of failing."""
    sm = create_sessionmaker(engine)
    w = await make_world(sm, clock.now)
    await sign_in(client, "tal0@example.test")
    page = await client.get(f"/events/{w.event_id}/me")
    csrf = csrf_of(page.text)
    base = {"headline": "", "linkedin_url": "", "portfolio_url": "", "csrf": csrf}
    a, b = await asyncio.gather(client.post(f"/events/{w.event_id}/me", data={**base, "skills": "Python"}),
                                client.post(f"/events/{w.event_id}/me", data={**base, "skills": "Rust"}))
    assert (a.status_code, b.status_code) == (303, 303)
    async with sm() as s:
        row = await s.get(Profile, w.talents[0].id)
        assert row is not None and row.skills in ("Python", "Rust")


# --------------------------------------------------------------------------- the CV


async def test_the_cv_is_told_by_its_content(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock, uploads: Path) -> None:
    sm = create_sessionmaker(engine)
    w = await make_world(sm, clock.now)
    await sign_in(client, "tal0@example.test")
    r = await upload_cv(client, w.event_id, "cv.pdf", PNG)  # a picture named .pdf
    assert "A CV must be a PDF or a Word (.docx) file. This file&#39;s content is neither" in r.text
    r = await upload_cv(client, w.event_id, "old.doc", OLE2_DOC, "application/msword")  # old Word: not taken
    assert "content is neither" in r.text
    assert stored_files(uploads) == []
    async with sm() as s:
        assert await s.get(Profile, w.talents[0].id) is None

    r = await upload_cv(client, w.event_id, "../../My CV (2026).pdf", PDF)
    assert "CV saved: My CV (2026).pdf." in r.text and 'data-testid="my-cv"' in r.text
    [first] = stored_files(uploads)
    assert first.read_bytes() == PDF and oct(first.stat().st_mode & 0o777) == "0o600"
    # A Word file sent as "resume.pdf" is stored as what it is.
    r = await upload_cv(client, w.event_id, "resume.pdf", docx(), "application/pdf")
    assert "CV saved: resume.docx." in r.text
    [second] = stored_files(uploads)
    assert second != first  # the replaced file is gone from disk
    async with sm() as s:
        row = await s.get(Profile, w.talents[0].id)
        assert row is not None
        assert (row.cv_file, row.cv_name, row.cv_size) == (second.name, "resume.docx", len(docx()))
        assert row.cv_type == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

    page = await client.get(f"/events/{w.event_id}/me")
    r = await client.post(f"/events/{w.event_id}/me/cv/remove", data={"csrf": csrf_of(page.text)}, follow_redirects=True)
    assert "CV removed." in r.text and "No CV yet." in r.text
    assert stored_files(uploads) == []


async def test_the_cv_is_size_limited(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock, uploads: Path) -> None:
    sm = create_sessionmaker(engine)
    w = await make_world(sm, clock.now)
    await sign_in(client, "tal0@example.test")
    big = PDF + b"0" * (5 * 1024 * 1024 - len(PDF) + 1)
    r = await upload_cv(client, w.event_id, "big.pdf", big)
    assert "A CV can be 5 MB at most" in r.text
    huge = PDF + b"0" * (6 * 1024 * 1024)  # refused by its Content-Length, before the body is read
    r = await upload_cv(client, w.event_id, "huge.pdf", huge)
    assert "A CV can be 5 MB at most" in r.text
    exactly = PDF + b"0" * (5 * 1024 * 1024 - len(PDF))
    r = await upload_cv(client, w.event_id, "exact.pdf", exactly)
    assert "CV saved: exact.pdf." in r.text and "5.0 MB" in r.text
    assert len(stored_files(uploads)) == 1


async def test_a_refused_transaction_leaves_no_file(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock, uploads: Path) -> None:
    """A CV whose row can't be stored (here: the talent left the event meanwhile) leaves nothing on disk."""
    sm = create_sessionmaker(engine)
    w = await make_world(sm, clock.now)
    await sign_in(client, "tal0@example.test")
    page = await client.get(f"/events/{w.event_id}/me")
    async with sm() as s, s.begin():
        await s.execute(update(Participant).where(Participant.user_id == w.talents[0].id).values(role="recruiter"))
    r = await client.post(f"/events/{w.event_id}/me/cv", data={"csrf": csrf_of(page.text)}, files={"cv": ("cv.pdf", PDF, "application/pdf")},
                          follow_redirects=True)
    assert "Only talents upload a CV." in r.text
    assert stored_files(uploads) == []


async def test_two_uploads_at_once_leave_exactly_the_file_of_the_row(
    client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock, uploads: Path
) -> None:
    sm = create_sessionmaker(engine)
    w = await make_world(sm, clock.now)
    await sign_in(client, "tal0@example.test")
    await upload_cv(client, w.event_id, "first.pdf", PDF)
    page = await client.get(f"/events/{w.event_id}/me")
    csrf = csrf_of(page.text)
    await asyncio.gather(*(client.post(f"/events/{w.event_id}/me/cv", data={"csrf": csrf}, files={"cv": (f"cv{i}.pdf", PDF + bytes([i]), "application/pdf")})
                           for i in range(4)))
    async with sm() as s:
        row = await s.get(Profile, w.talents[0].id)
        assert row is not None
    assert [p.name for p in stored_files(uploads)] == [row.cv_file]


async def test_uploads_are_rate_limited(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock, uploads: Path) -> None:
    sm = create_sessionmaker(engine)
    w = await make_world(sm, clock.now)
    await sign_in(client, "tal0@example.test")
    page = await client.get(f"/events/{w.event_id}/me")
    csrf = csrf_of(page.text)
    for i in range(30):
        r = await client.post(f"/events/{w.event_id}/me/cv", data={"csrf": csrf}, files={"cv": ("cv.pdf", PDF + bytes([i]), "application/pdf")})
        assert r.status_code == 303
    r = await client.post(f"/events/{w.event_id}/me/cv", data={"csrf": csrf}, files={"cv": ("last.pdf", PDF, "application/pdf")},
                          follow_redirects=True)
    assert "Too many uploads in a short time" in r.text and "last.pdf" not in r.text
    assert len(stored_files(uploads)) == 1


async def test_who_may_download_a_cv(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    """The talent, a recruiter with a chat with them in the event (any status, even declined) and the event's organizers
    get the file; another recruiter, another talent and strangers get 404, as for a CV that does not exist."""
    sm = create_sessionmaker(engine)
    w = await make_world(sm, clock.now, recruiters=3, talents=2)
    ctx = actions.Context(now=clock.now)
    async with sm() as s, s.begin():
        await actions.send_request(s, ctx, w.talents[0], w.event_id, recruiter_id=w.recruiters[0].id)
        declined = await actions.send_request(s, ctx, w.talents[0], w.event_id, recruiter_id=w.recruiters[2].id)
        await actions.decline(s, ctx, w.recruiters[2], declined.id, "")
    tom = w.talents[0].id
    url = f"/events/{w.event_id}/talents/{tom}/cv"

    assert (await client.get(url)).status_code == 404  # anonymous: not even a sign-in detour
    await sign_in(client, "tal0@example.test")
    assert (await client.get(url)).status_code == 404  # no CV yet
    await upload_cv(client, w.event_id, "Tom CV.pdf", PDF)

    for email in ("tal0@example.test", "rec0@example.test", "rec2@example.test", "org@example.test", "admin@example.test"):
        await sign_in(client, email)
        r = await client.get(url)
        assert r.status_code == 200, email
        assert r.content == PDF and r.headers["content-type"] == "application/pdf"
        assert r.headers["content-disposition"].startswith("attachment;") and "Tom%20CV.pdf" in r.headers["content-disposition"]
        assert r.headers["x-content-type-options"] == "nosniff" and "sandbox" in r.headers["content-security-policy"]
        assert r.headers["cache-control"] == "private, no-store"
    for email in ("rec1@example.test", "tal1@example.test"):
        await sign_in(client, email)
        r = await client.get(url)
        assert r.status_code == 404 and "No such CV." in r.text, email
    await sign_in(client, "rec0@example.test")
    assert (await client.get(f"/events/{w.event_id}/talents/{w.talents[1].id}/cv")).status_code == 404
    assert (await client.get(f"/events/{w.event_id}/talents/{w.recruiters[1].id}/cv")).status_code == 404
    assert (await client.get(f"/events/{w.event_id + 1}/talents/{tom}/cv")).status_code == 404
    client.cookies.clear()
    assert (await client.get(url)).status_code == 404

    # The Talents page shows the CV link to those who may use it, and says why to those who may not.
    await sign_in(client, "rec0@example.test")
    page = await client.get(f"/events/{w.event_id}/talents")
    assert f'href="{url}"' in page.text
    await sign_in(client, "rec1@example.test")
    page = await client.get(f"/events/{w.event_id}/talents")
    assert f'href="{url}"' not in page.text and "CV shared once you have a 1-1 chat request together." in page.text


async def test_the_chat_page_shows_the_other_persons_profile(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    sm = create_sessionmaker(engine)
    w = await make_world(sm, clock.now)
    async with sm() as s, s.begin():
        chat = await actions.send_request(s, actions.Context(now=clock.now), w.talents[0], w.event_id, recruiter_id=w.recruiters[0].id)
    await sign_in(client, "rec0@example.test")
    await save_profile(client, w.event_id, headline="Engineering manager", skills="Kubernetes")
    page = await client.get(f"/chats/{chat.id}")
    assert 'data-testid="chat-profile"' not in page.text  # the talent has no profile yet: no empty box
    await sign_in(client, "tal0@example.test")
    await save_profile(client, w.event_id, headline="Backend developer", skills="Python, SQL", linkedin_url="https://linkedin.com/in/tom")
    await upload_cv(client, w.event_id, "cv.pdf", PDF)
    page = await client.get(f"/chats/{chat.id}")
    assert "About Rita Recruiter 0" in page.text and "<li>Kubernetes</li>" in page.text and "/cv" not in page.text
    cv = f"/events/{w.event_id}/talents/{w.talents[0].id}/cv"
    for email, title in (("rec0@example.test", "About Tom Talent 0"), ("org@example.test", "Profile of Tom Talent 0")):
        await sign_in(client, email)
        page = await client.get(f"/chats/{chat.id}")
        assert page.status_code == 200 and title in page.text, email
        assert "<li>Python</li><li>SQL</li>" in page.text and 'href="https://linkedin.com/in/tom"' in page.text
        assert f'<a class="cvlink" href="{cv}" download>' in page.text


# --------------------------------------------------------------------------- search


async def test_recruiters_find_talents_by_skill_name_and_headline(
    client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    sm = create_sessionmaker(engine)
    w = await make_world(sm, clock.now, talents=4)
    for i, (headline, skills) in enumerate([("Backend developer", "Python, PostgreSQL"), ("Data analyst", "SQL, R, python"),
                                            ("Embedded engineer", "C++, Rust"), ("Designer 100%", "Figma, UX_research")]):
        await sign_in(client, f"tal{i}@example.test")
        assert (await save_profile(client, w.event_id, headline=headline, skills=skills)).status_code == 303
    await sign_in(client, "rec0@example.test")

    async def found(query: str) -> list[str]:
        page = await client.get(f"/events/{w.event_id}/talents{query}")
        assert page.status_code == 200
        return re.findall(r'data-talent-id="\d+">\s*<div class="who">.*?<strong>([^<]+)</strong>', page.text, re.S)

    assert await found("") == ["Tom Talent 0", "Tom Talent 1", "Tom Talent 2", "Tom Talent 3"]
    assert await found("?skill=PYTHON") == ["Tom Talent 0", "Tom Talent 1"]  # a whole skill, any case
    assert await found("?skill=py") == []  # not part of a skill
    assert await found("?skill=R") == ["Tom Talent 1"]
    assert await found("?q=rust") == ["Tom Talent 2"]
    assert await found("?q=analyst") == ["Tom Talent 1"]
    assert await found("?q=python+backend") == ["Tom Talent 0"]  # every word must match
    assert await found("?q=%25") == ["Tom Talent 3"]  # % and _ are characters, not wildcards
    assert await found("?q=_") == ["Tom Talent 3"]
    assert await found("?skill=UX%25") == []
    assert await found("?q=Talent+0&skill=python") == ["Tom Talent 0"]
    page = await client.get(f"/events/{w.event_id}/talents?skill=python")
    assert "<strong>2</strong> talents match with the skill “python”" in page.text
    assert '<ul class="skills" aria-label="Skills">' in page.text and ">PostgreSQL</a></li>" in page.text
    monkeypatch.setattr(people_pages, "PAGE_SIZE", 3)  # the list comes in pages (tests/web/test_people_lists.py)
    page = await client.get(f"/events/{w.event_id}/talents")
    assert page.text.count('class="card talent"') == 3 and "Showing 1–3 of 4 talents" in page.text
    assert "Showing" not in (await client.get(f"/events/{w.event_id}/talents?skill=python")).text
    long = await client.get(f"/events/{w.event_id}/talents?q=" + "x" * 101)
    assert long.status_code == 200 and "Search for 100 characters at most." in long.text and 'value="' + "x" * 101 + '"' in long.text


async def test_talents_find_recruiters_by_role_skill_and_company(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    sm = create_sessionmaker(engine)
    w = await make_world(sm, clock.now, recruiters=3)
    for i, (role, skills) in enumerate([("Engineering manager", "Python, Kubernetes"), ("Design lead", "Figma"), ("", "")]):
        await sign_in(client, f"rec{i}@example.test")
        assert (await save_profile(client, w.event_id, headline=role, skills=skills,
                                   linkedin_url="https://linkedin.com/in/rita" if i == 0 else "")).status_code == 303
    async with sm() as s, s.begin():
        await actions.add_company(s, w.admin, w.event_id, name="Bluefin Health")
    await sign_in(client, "tal0@example.test")

    async def found(query: str) -> list[str]:
        page = await client.get(f"/events/{w.event_id}/recruiters{query}")
        assert page.status_code == 200
        return re.findall(r'data-recruiter-id="\d+">.*?<strong>([^<]+)</strong>', page.text, re.S)

    assert await found("?q=engineering+manager") == ["Rita Recruiter 0"]
    assert await found("?q=design") == ["Rita Recruiter 1"]
    assert await found("?skill=kubernetes") == ["Rita Recruiter 0"]
    assert await found("?q=acme") == ["Rita Recruiter 0", "Rita Recruiter 1", "Rita Recruiter 2"]
    assert await found("?q=bluefin") == []
    page = await client.get(f"/events/{w.event_id}/recruiters?q=manager")
    assert 'data-testid="role">Engineering manager</div>' in page.text and ">Kubernetes</a></li>" in page.text
    assert 'href="https://linkedin.com/in/rita" rel="noopener noreferrer nofollow"' in page.text
    assert "No recruiter matches your search" in (await client.get(f"/events/{w.event_id}/recruiters?q=zzz")).text


# --------------------------------------------------------------------------- findings 8 and 12


async def test_finding_8_no_requests_left_is_said_before_writing(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    sm = create_sessionmaker(engine)
    w = await make_world(sm, clock.now, recruiters=2, fmt=actions.ChatFormat(max_requests_per_talent=1))
    await sign_in(client, "tal0@example.test")
    rec1 = w.recruiters[1].id
    page = await client.get(f"/events/{w.event_id}/recruiters")
    assert f'href="/events/{w.event_id}/request/{rec1}">Request' in page.text and "You have used all" not in page.text
    form = await client.get(f"/events/{w.event_id}/request/{rec1}")
    assert '<button class="btn primary" type="submit">Send request</button>' in form.text
    async with sm() as s, s.begin():
        await actions.send_request(s, actions.Context(now=clock.now), w.talents[0], w.event_id, recruiter_id=w.recruiters[0].id)

    page = await client.get(f"/events/{w.event_id}/recruiters")
    assert "You have used all 1 request you can send in this event." in page.text
    assert '<button class="btn primary" type="button" disabled aria-describedby="quota-out">Request</button>' in page.text
    assert f'href="/events/{w.event_id}/request/{rec1}"' not in page.text
    form = await client.get(f"/events/{w.event_id}/request/{rec1}")
    assert "You have used all 1 request you can send in this event." in form.text
    assert '<button class="btn primary" type="submit" disabled aria-describedby="quota-out">Send request</button>' in form.text
    # The server still refuses a send that gets through anyway, keeping what was typed.
    r = await client.post(f"/events/{w.event_id}/request/{rec1}", data={"csrf": csrf_of(form.text), "message": "Hello there"})
    assert r.status_code == 409 and "You have used all your chat requests" in r.text and "Hello there" in r.text


async def test_finding_12_direct_booking_is_explained_before_writing(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    sm = create_sessionmaker(engine)
    w = await make_world(sm, clock.now, recruiters=2)
    async with sm() as s, s.begin():
        await s.execute(update(Participant).where(Participant.user_id == w.recruiters[0].id).values(booking_mode="direct"))
    explained = "This recruiter accepts requests at once: you pick a time right after sending."
    await sign_in(client, "tal0@example.test")
    page = await client.get(f"/events/{w.event_id}/recruiters")
    cards = dict(re.findall(r'data-recruiter-id="(\d+)">(.*?)</li>', page.text, re.S))
    assert explained in cards[str(w.recruiters[0].id)] and explained not in cards[str(w.recruiters[1].id)]
    assert explained in (await client.get(f"/events/{w.event_id}/request/{w.recruiters[0].id}")).text
    assert explained not in (await client.get(f"/events/{w.event_id}/request/{w.recruiters[1].id}")).text


# --------------------------------------------------------------------------- the API


async def test_api_search_profile_and_cv(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    sm = create_sessionmaker(engine)
    w = await make_world(sm, clock.now, recruiters=2, talents=2)
    async with sm() as s, s.begin():
        await actions.send_request(s, actions.Context(now=clock.now), w.talents[0], w.event_id, recruiter_id=w.recruiters[0].id)
    await sign_in(client, "tal0@example.test")
    await save_profile(client, w.event_id, headline="Backend developer", skills="Python, SQL", portfolio_url="https://tom.example")
    await upload_cv(client, w.event_id, "cv.pdf", PDF)
    rec0, other_rec, other_talent = [await token(client, e) for e in ("rec0@example.test", "rec1@example.test", "tal1@example.test")]
    base = f"/api/v1/events/{w.event_id}"
    tom = w.talents[0].id

    r = await client.get(f"{base}/profiles?role=talent&skill=python", headers=rec0)
    assert r.status_code == 200
    assert r.json() == [{"user_id": tom, "name": "Tom Talent 0", "role": "talent", "headline": "Backend developer", "skills": ["Python", "SQL"],
                         "linkedin_url": "", "portfolio_url": "https://tom.example", "company": None,
                         "cv": {"name": "cv.pdf", "size": len(PDF), "type": "application/pdf", "url": f"{base}/talents/{tom}/cv"}}]
    r = await client.get(f"{base}/profiles?role=talent&q=backend", headers=other_rec)
    assert r.status_code == 200 and r.json()[0]["cv"] is None
    assert (await client.get(f"{base}/talents/{tom}/cv", headers=other_rec)).json()["error"]["code"] == "cv_not_found"
    r = await client.get(f"{base}/talents/{tom}/cv", headers=rec0)
    assert r.status_code == 200 and r.content == PDF and r.headers["content-disposition"].startswith("attachment;")

    r = await client.get(f"{base}/profiles?role=talent", headers=other_talent)
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    assert (await client.get(f"{base}/profiles/{tom}", headers=other_talent)).status_code == 404
    r = await client.get(f"{base}/profiles?q=acme", headers=other_talent)  # a talent's default: recruiters
    assert r.status_code == 200 and [p["name"] for p in r.json()] == ["Rita Recruiter 0", "Rita Recruiter 1"]
    assert r.json()[0]["company"] == "Acme Robotics" and r.json()[0]["role"] == "recruiter"
    r = await client.get(f"{base}/profiles/{w.recruiters[0].id}", headers=other_talent)
    assert r.status_code == 200 and r.json()["cv"] is None
    for query, where in (("role=admin", "role"), ("q=" + "x" * 101, "q"), ("skill=a%01b", "skill")):
        r = await client.get(f"{base}/profiles?{query}", headers=other_talent)
        assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_input" and r.json()["error"]["message"].startswith(where), query
    assert (await client.get(f"{base}/profiles")).status_code == 401
    r = await client.get(f"/api/v1/events/{w.event_id + 1}/profiles", headers=other_talent)
    assert r.status_code == 404


async def test_profile_names_are_escaped(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    sm = create_sessionmaker(engine)
    w = await make_world(sm, clock.now)
    await sign_in(client, "tal0@example.test")
    await save_profile(client, w.event_id, headline="<script>alert(1)</script>", skills="<b>bold</b>")
    await sign_in(client, "rec0@example.test")
    page = await client.get(f"/events/{w.event_id}/talents")
    assert "<script>alert(1)</script>" not in page.text and "&lt;script&gt;" in page.text and "<b>bold</b>" not in page.text
    async with sm() as s:
        assert (await s.execute(select(Profile.skills))).scalar_one() == "<b>bold</b>"


async def test_statements_per_search_do_not_grow_with_the_people(db_url: str, engine: AsyncEngine, clock: FakeClock, uploads: Path) -> None:
    """The Talents and Recruiters pages read the same number of statements for 3 people as for 30 (search, profiles, CV rights)."""
    from tests.scheduling.test_recruiter_cards import StatementCounter

    sm = create_sessionmaker(engine)
    w = await make_world(sm, clock.now, recruiters=3, talents=3)
    ctx = actions.Context(now=clock.now)

    async def more(first: int, last: int) -> None:
        async with sm() as s, s.begin():
            for i in range(first, last):
                m = await actions.add_participant(s, ctx, w.organizer, w.event_id, email=f"more{i}@example.test", name=f"More Talent {i:02d}",
                                                  role="talent")
                user = await s.get(User, m.user_id)
                assert user is not None
                await profiles.save(s, user, w.event_id, profiles.ProfileInput("Developer", "Python, SQL", "", ""), now=clock.now)
                await actions.send_request(s, ctx, user, w.event_id, recruiter_id=w.recruiters[i % 3].id)
                m = await actions.add_participant(s, ctx, w.organizer, w.event_id, email=f"morerec{i}@example.test", name=f"More Rec {i:02d}",
                                                  role="recruiter", company_id=w.company_id)
                rec = await s.get(User, m.user_id)
                assert rec is not None
                await profiles.save(s, rec, w.event_id, profiles.ProfileInput("Team lead", "Python", "", ""), now=clock.now)

    await more(0, 3)
    settings = Settings(database_url=db_url, secret_key="test-secret", base_url="http://testserver", upload_dir=str(uploads))
    app = create_app(settings, clock=clock, background=False)
    async with app.router.lifespan_context(app):
        counter = StatementCounter(app.state.res.sessionmaker.kw["bind"])
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:

            async def statements(email: str, path: str) -> int:
                await sign_in(c, email)
                counter.statements.clear()
                r = await c.get(path)
                assert r.status_code == 200, r.text
                return len(counter.statements)

            paths = [("rec0@example.test", f"/events/{w.event_id}/talents?skill=python"), ("tal0@example.test", f"/events/{w.event_id}/recruiters?q=lead"),
                     ("org@example.test", f"/events/{w.event_id}/talents?q=developer")]
            small = [await statements(e, p) for e, p in paths]
            await more(3, 30)
            assert [await statements(e, p) for e, p in paths] == small
