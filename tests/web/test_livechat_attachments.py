"""Files both ways in a live chat, through the JSON API: types told by content, the 10 MB limit, who may send and who may
download (everyone else: 404), and failed uploads leaving neither a file nor a row. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import zipfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from scheduling.db import create_sessionmaker
from scheduling.errors import Conflict
from scheduling.livechat import attachments
from scheduling.livechat.desk_models import Attachment
from tests.web.conftest import FakeClock, token
from tests.web.test_api_flow import PW, setup_event
from web.app import create_app
from web.livechat import attachments_api
from web.settings import Settings

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
       b"\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99=\x1d\x00\x00\x00\x00IEND\xaeB`\x82")
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
JOB = {
    "title": "Backend Engineer", "company": "Acme", "location": "Berlin", "description": "Python and PostgreSQL.",
    "questions": [{"text": "Are you allowed to work in the EU?", "kind": "yes_no", "qualifying": ["Yes"]}],
}


def _docx() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document/>")
    return buf.getvalue()


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("readme.txt", "hello")
    return buf.getvalue()


OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504


# --------------------------------------------------------------------------- sniffing (no database)


@pytest.mark.parametrize(("data", "expected"), [
    (PDF, "application/pdf"),
    (PNG, "image/png"),
    (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "image/jpeg"),
    (b"GIF89a\x01\x00\x01\x00", "image/gif"),
    (b"RIFF\x24\x00\x00\x00WEBPVP8 ", "image/webp"),
    (_docx(), attachments.DOCX),
    (OLE2 + "WordDocument".encode("utf-16-le"), attachments.DOC),
    ("Notes: ünïcödé, tabs\tand lines\r\n".encode(), "text/plain"),
    ("\ufeffWith a BOM".encode(), "text/plain"),
    (b"2 < 3 and <b>bold</b> later on is still text", "text/plain"),
    (HTML, None),
    (b"  \n<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>", None),
    (b"<?xml version='1.0'?><x/>", None),
    (b"<a href='javascript:alert(1)'>x</a>", None),
    (b"<!-- a comment -->", None),
    (b"text with a NUL\x00 inside", None),
    (b"\xff\xfe not utf-8", None),
    (b"bell \x07 control", None),
    (OLE2, None),  # a spreadsheet or an installer: not a Word document
    (_zip(), None),
    (b"MZ\x90\x00\x03", None),
    (b"", None),
])
def test_the_type_is_told_by_content(data: bytes, expected: str | None) -> None:
    assert attachments.sniff(data) == expected


def test_names_are_cleaned_and_take_the_contents_extension() -> None:
    assert attachments.safe_name("photo.txt", attachments.PNG) == "photo.png"
    assert attachments.safe_name("../../etc/passwd", attachments.TEXT) == "passwd.txt"
    assert attachments.safe_name('C:\\Users\\me\\My "CV" <2026>.pdf', attachments.PDF) == "My _CV_ _2026.pdf"
    assert attachments.safe_name(".htaccess", attachments.TEXT) == "file.txt"
    assert attachments.safe_name("x" * 300 + ".pdf", attachments.PDF) == "x" * 80 + ".pdf"
    with pytest.raises(attachments.TooLarge):
        attachments.check(b"a" * (attachments.MAX_BYTES + 1), "big.txt")
    with pytest.raises(attachments.Unsupported):
        attachments.check(HTML, "cv.pdf")


# --------------------------------------------------------------------------- the API


@dataclass
class World:
    client: httpx.AsyncClient
    uploads: Path
    engine: AsyncEngine
    w: dict[str, Any]
    chat_id: int
    cand: dict[str, str]

    @property
    def rec(self) -> dict[str, str]:
        return self.w["rec"]

    async def rows(self) -> int:
        async with create_sessionmaker(self.engine)() as s:
            return int((await s.execute(select(func.count()).select_from(Attachment))).scalar_one())

    def files(self) -> list[Path]:
        folder = self.uploads / "attachments"
        return sorted(folder.iterdir()) if folder.exists() else []

    async def send(self, headers: dict[str, str], name: str, data: bytes, *, staff: bool = False, chat_id: int | None = None) -> httpx.Response:
        base = "live-chats" if staff else "chats"
        return await self.client.post(f"/api/v1/{base}/{chat_id or self.chat_id}/attachments", headers=headers,
                                      files={"file": (name, data, "application/octet-stream")})

    async def messages(self) -> list[dict[str, Any]]:
        r = await self.client.get(f"/api/v1/chats/{self.chat_id}/messages", headers=self.cand, params={"after": 0})
        assert r.status_code == 200, r.text
        result: list[dict[str, Any]] = r.json()["messages"]
        return result


@pytest.fixture
async def app_client(db_url: str, clock: FakeClock, tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, Path]]:
    uploads = tmp_path / "uploads"
    settings = Settings(database_url=db_url, secret_key="test-secret", base_url="http://testserver", upload_dir=str(uploads))
    app = create_app(settings, clock=clock, background=False)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
            yield c, uploads


async def _person(client: httpx.AsyncClient, w: dict[str, Any], email: str, name: str, company_id: int) -> tuple[int, dict[str, str]]:
    r = await client.post(f"/api/v1/events/{w['event_id']}/participants", headers=w["admin"],
                          json={"email": email, "name": name, "role": "recruiter", "password": PW, "company_id": company_id})
    assert r.status_code == 201, r.text
    return r.json()["user_id"], await token(client, email)


async def _start(client: httpx.AsyncClient, w: dict[str, Any], job: dict[str, Any], name: str) -> tuple[int, dict[str, str]]:
    [q] = job["questions"]
    r = await client.post(f"/api/v1/job-reqs/{job['id']}/chats",
                          json={"name": name, "email": f"{name.lower()}@mail.example", "answers": {str(q["id"]): "Yes"}})
    assert r.status_code == 201 and r.json()["status"] == "waiting", r.text
    return r.json()["chat_id"], {"Authorization": f"Bearer {r.json()['token']}"}


@pytest.fixture
async def world(engine: AsyncEngine, app_client: tuple[httpx.AsyncClient, Path], clock: FakeClock) -> World:
    """Rec (Acme) answers a job req and has taken Cara's chat; Ben waits in a chat of his own.

    The engine comes first so that it is torn down last: the app's after-commit work (e.g. filling a freed seat after a
    chat ends) is over before PostgreSQL's tables are truncated."""
    client, uploads = app_client
    w: dict[str, Any] = await setup_event(client, engine, clock.now)
    r = await client.post("/api/v1/job-reqs", headers=w["rec"], json={**JOB, "event_id": w["event_id"]})
    assert r.status_code == 201, r.text
    job = r.json()
    r = await client.post(f"/api/v1/job-reqs/{job['id']}/assignees", headers=w["rec"], json={"user_id": w["ids"]["rec@example.test"]})
    assert r.status_code == 201, r.text
    r = await client.put("/api/v1/live-agent", headers=w["rec"], json={"available": True, "capacity": 5})
    assert r.status_code == 200, r.text
    chat_id, cand = await _start(client, w, job, "Cara")
    assert (await client.post(f"/api/v1/live-chats/{chat_id}/take", headers=w["rec"])).status_code == 200
    w["job"] = job
    w["ben"] = await _start(client, w, job, "Ben")
    return World(client, uploads, engine, w, chat_id, cand)


async def test_files_go_both_ways_and_only_the_chats_people_get_them(world: World) -> None:
    c = world

    # The candidate sends a PNG that calls itself .txt: stored as what it is, under a random name, announced in the chat.
    r = await c.send(c.cand, "screenshot.txt", PNG)
    assert r.status_code == 201, r.text
    sent = r.json()
    assert (sent["name"], sent["type"], sent["size"], sent["side"], sent["by"]) == ("screenshot.png", "image/png", len(PNG), "candidate", "Cara")
    [stored] = c.files()
    assert stored.read_bytes() == PNG and "screenshot" not in stored.name and stored.stat().st_mode & 0o077 == 0
    line = next(m for m in await c.messages() if m["body"].get("attachment"))
    assert line["seq"] == sent["seq"] and line["kind"] == "message" and line["author"]["role"] == "candidate"
    assert line["body"]["text"] == "screenshot.png"
    assert line["body"]["attachment"] == {"id": sent["id"], "name": "screenshot.png", "size": len(PNG), "type": "image/png"}

    # The chat's recruiter sees it in the list and downloads it, never to be rendered or cached.
    r = await c.client.get(f"/api/v1/live-chats/{c.chat_id}/attachments", headers=c.rec)
    assert r.status_code == 200 and [(a["id"], a["by"], a["url"]) for a in r.json()["attachments"]] == [
        (sent["id"], "Cara", f"/api/v1/live-chats/{c.chat_id}/attachments/{sent['id']}")]
    r = await c.client.get(f"/api/v1/live-chats/{c.chat_id}/attachments/{sent['id']}", headers=c.rec)
    assert r.status_code == 200 and r.content == PNG
    assert r.headers["content-type"] == "image/png"
    assert r.headers["content-disposition"] == 'attachment; filename="screenshot.png"'
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["cache-control"] == "private, no-store"
    assert r.headers["content-security-policy"] == "default-src 'none'; sandbox"
    r = await c.client.get(sent["url"], headers=c.cand)  # the candidate's own copy, with the chat's token
    assert r.status_code == 200 and r.content == PNG

    # The recruiter sends a text file back; the candidate downloads it.
    r = await c.send(c.rec, "next steps.pdf", "Bring ID — and your questions.\n".encode(), staff=True)
    assert r.status_code == 201, r.text
    back = r.json()
    assert (back["name"], back["type"], back["side"], back["by"]) == ("next steps.txt", "text/plain", "staff", "Rec")
    r = await c.client.get(f"/api/v1/chats/{c.chat_id}/attachments/{back['id']}", headers=c.cand)
    assert r.status_code == 200 and r.text == "Bring ID — and your questions.\n"
    assert r.headers["content-type"] == "text/plain; charset=utf-8" and r.headers["content-disposition"].startswith("attachment;")
    line = next(m for m in await c.messages() if m["body"].get("attachment", {}).get("id") == back["id"])
    assert line["author"]["name"] == "Rec" and line["author"]["role"] == "recruiter"
    assert len(c.files()) == 2 and await c.rows() == 2
    r = await c.client.get(f"/api/v1/live-chats/{c.chat_id}/attachments", headers=c.rec)
    assert [(a["name"], a["side"], a["by"]) for a in r.json()["attachments"]] == [("screenshot.png", "candidate", "Cara"),
                                                                                  ("next steps.txt", "staff", "Rec")]

    # Everyone else gets 404 (unknown and invisible look the same): another chat's candidate, a recruiter of another
    # company, a talent; without credentials 401.
    ben_chat, ben = c.w["ben"]
    for url in (f"/api/v1/chats/{c.chat_id}/attachments/{sent['id']}", f"/api/v1/chats/{ben_chat}/attachments/{sent['id']}"):
        assert (await c.client.get(url, headers=ben)).status_code == 404
    r = await c.client.post(f"/api/v1/events/{c.w['event_id']}/companies", headers=c.w["admin"], json={"name": "Globex"})
    _, gil = await _person(c.client, c.w, "gil@example.test", "Gil", r.json()["id"])
    for who in (gil, c.w["tal"]):
        for path in (f"/{sent['id']}", ""):
            r = await c.client.get(f"/api/v1/live-chats/{c.chat_id}/attachments{path}", headers=who)
            assert r.status_code == 404 and r.json()["error"]["code"] == "chat_not_found", r.text
        r = await c.send(who, "x.pdf", PDF, staff=True)
        assert r.status_code == 404, r.text
    assert (await c.client.get(f"/api/v1/chats/{c.chat_id}/attachments/{sent['id']}")).status_code == 401
    assert (await c.client.get(f"/api/v1/live-chats/{c.chat_id}/attachments/{sent['id']}")).status_code == 401
    assert (await c.client.get(f"/api/v1/live-chats/{c.chat_id}/attachments/999999", headers=c.rec)).status_code == 404
    assert (await c.send(c.cand, "x.pdf", PDF, chat_id=ben_chat)).status_code == 404  # Cara's token for Ben's chat
    assert len(c.files()) == 2 and await c.rows() == 2


async def test_an_invisible_monitor_reads_but_may_not_send_and_a_visible_member_may(world: World) -> None:
    c = world
    admin = c.w["admin"]
    r = await c.client.post(f"/api/v1/live-chats/{c.chat_id}/join", headers=admin, json={"invisible": True})
    assert r.status_code == 200, r.text
    r = await c.send(admin, "peek.pdf", PDF, staff=True)
    assert r.status_code == 409 and r.json()["error"]["code"] == "invisible", r.text
    assert c.files() == [] and await c.rows() == 0

    sent = (await c.send(c.cand, "cv.pdf", PDF)).json()
    r = await c.client.get(f"/api/v1/live-chats/{c.chat_id}/attachments/{sent['id']}", headers=admin)
    assert r.status_code == 200 and r.content == PDF  # monitoring is reading

    r = await c.client.post(f"/api/v1/live-chats/{c.chat_id}/join", headers=admin, json={"invisible": False})
    assert r.status_code == 200, r.text
    r = await c.send(admin, "agenda.txt", b"10:00 tour\n", staff=True)
    assert r.status_code == 201 and r.json()["by"] == "Ada"


async def test_refused_uploads_store_nothing(world: World) -> None:
    c = world
    # A .pdf name with HTML inside, a program, an empty file: refused by content, in words.
    r = await c.send(c.cand, "cv.pdf", HTML)
    assert r.status_code == 415 and r.json()["error"]["code"] == "unsupported_type"
    assert "PDF" in r.json()["error"]["message"] and "content" in r.json()["error"]["message"]
    assert (await c.send(c.rec, "tool.pdf", b"MZ\x90\x00" + b"\x00" * 64, staff=True)).status_code == 415
    r = await c.send(c.cand, "empty.txt", b"")
    assert r.status_code == 422 and r.json()["error"]["code"] == "empty_file"

    # Over 10 MB: refused, whether the form says so up front or only the file is one byte too long.
    r = await c.send(c.rec, "big.pdf", PDF + b"0" * (attachments.MAX_BYTES - len(PDF) + 1), staff=True)
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_large" and "10 MB" in r.json()["error"]["message"]
    r = await c.send(c.rec, "huge.pdf", PDF + b"0" * (attachments.MAX_BYTES + 100_000), staff=True)
    assert r.status_code == 413
    ok = PDF + b"0" * (attachments.MAX_BYTES - len(PDF))
    r = await c.send(c.rec, "exactly.pdf", ok, staff=True)
    assert r.status_code == 201 and r.json()["size"] == attachments.MAX_BYTES
    assert len(c.files()) == 1 and await c.rows() == 1

    # Not a form, or the wrong field: in words.
    r = await c.client.post(f"/api/v1/chats/{c.chat_id}/attachments", headers={**c.cand, "Content-Type": "application/pdf"}, content=PDF)
    assert r.status_code == 422 and "multipart" in r.json()["error"]["message"]
    r = await c.client.post(f"/api/v1/chats/{c.chat_id}/attachments", headers=c.cand, files={"upload": ("cv.pdf", PDF)})
    assert r.status_code == 422 and "'file'" in r.json()["error"]["message"]
    # The console's session without its CSRF token, and a candidate without a token, are refused before the body is read.
    r = await c.client.post(f"/api/v1/chats/{c.chat_id}/attachments", files={"file": ("cv.pdf", PDF)})
    assert r.status_code == 401
    r = await c.client.post(f"/api/v1/live-chats/{c.chat_id}/attachments", files={"file": ("cv.pdf", PDF)})
    assert r.status_code == 401

    # Credentials are checked before the body is taken in: a wrong token with a huge file is not found / unauthenticated.
    huge = PDF + b"0" * (attachments.MAX_BYTES + 1)
    r = await c.send({"Authorization": "Bearer " + "x" * 43}, "cv.pdf", huge)
    assert r.status_code == 404 and r.json()["error"]["code"] == "chat_not_found"
    r = await c.send({"Authorization": "Bearer not-an-api-token"}, "cv.pdf", huge, staff=True)
    assert r.status_code == 401

    # After the chat ends, nobody sends files into it any more (downloads still work).
    r = await c.client.post(f"/api/v1/live-chats/{c.chat_id}/end", headers=c.rec, json={"next_step": "Interview", "outcome": "finished"})
    assert r.status_code == 200, r.text
    r = await c.send(c.cand, "late.pdf", PDF)
    assert r.status_code == 409 and r.json()["error"]["code"] == "chat_closed"
    r = await c.send(c.rec, "late.pdf", PDF, staff=True)
    assert r.status_code == 409
    assert len(c.files()) == 1 and await c.rows() == 1


async def test_a_transaction_that_fails_after_the_file_is_written_leaves_no_file_and_no_row(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    c = world

    async def refuse(call: Any, appends: Any) -> Any:
        raise Conflict("The transcript is busy.", code="busy_test")

    monkeypatch.setattr(attachments_api, "_store", refuse)  # fails after the file and the row were written
    r = await c.send(c.cand, "cv.pdf", PDF)
    assert r.status_code == 409 and r.json()["error"]["code"] == "busy_test"
    assert c.files() == [] and await c.rows() == 0

    async def crash(call: Any, appends: Any) -> Any:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(attachments_api, "_store", crash)
    with pytest.raises(RuntimeError):
        await c.send(c.rec, "cv.pdf", PDF, staff=True)
    assert c.files() == [] and await c.rows() == 0

    monkeypatch.undo()
    r = await c.send(c.cand, "cv.pdf", PDF)
    assert r.status_code == 201
    assert len(c.files()) == 1 and await c.rows() == 1


async def test_a_colleague_the_chat_was_forwarded_to_with_its_transcript_may_download(world: World) -> None:
    c = world
    sent = (await c.send(c.cand, "cv.pdf", PDF)).json()
    r = await c.client.post(f"/api/v1/live-chats/{c.chat_id}/end", headers=c.rec, json={"next_step": "Interview", "outcome": "follow_up"})
    assert r.status_code == 200, r.text
    col_id, col = await _person(c.client, c.w, "col@example.test", "Colin", c.w["company_id"])
    url = f"/api/v1/live-chats/{c.chat_id}/attachments/{sent['id']}"
    assert (await c.client.get(url, headers=col)).status_code == 404
    forward = f"/api/v1/live-chats/{c.chat_id}/follow-up/forward"
    r = await c.client.post(forward, headers=c.rec, json={"to_user_id": col_id, "message": "Profile only"})
    assert r.status_code == 201, r.text
    assert (await c.client.get(url, headers=col)).status_code == 404  # without the transcript, the files weren't shared
    r = await c.client.post(forward, headers=c.rec, json={"to_user_id": col_id, "include_transcript": True})
    assert r.status_code == 201, r.text
    r = await c.client.get(url, headers=col)
    assert r.status_code == 200 and r.content == PDF
    assert (await c.send(col, "reply.pdf", PDF, staff=True)).status_code == 404  # reading, not writing
