"""Files both ways in a live chat, in real Chromium: the candidate on the job's page sends a file, the recruiter who has the
chat downloads it from the console and sends one back, the candidate downloads that (with the chat's token, through a
blob: URL), and a colleague who is not in the chat gets 404 for the same address."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Download, Page, expect

from tests.e2e.conftest import NOW, LiveServer, NewContext
from tests.e2e.test_chat_flow import MARCO, RITA, no_horizontal_scroll, shot
from tests.e2e.test_quickchat_console import DESKTOP, PHONE, go_available, job_with_recruiters, no_js_errors, open_page, start_chat, transcript
from tests.live import serve
from web.settings import Settings

pytestmark = pytest.mark.e2e

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n" + b"% portfolio\n" * 100


def png(width: int, height: int) -> bytes:
    """A small RGB picture with a stripe, made by hand (signature, IHDR, IDAT, IEND)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + (bytes((240, 170, 40)) if y % 20 < 6 else bytes((70, 80, 220))) * width for y in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(rows))
            + chunk(b"IEND", b""))


PNG = png(160, 100)


@pytest.fixture
def demo_server(demo_template: tuple[Path, int], tmp_path: Path) -> Iterator[LiveServer]:
    """The demo event, with uploads stored in the test's own directory."""
    template, event_id = demo_template
    path = tmp_path / "e2e.db"
    shutil.copy(template, path)
    database_url = f"sqlite+aiosqlite:///{path}"
    uploads = str(tmp_path / "uploads")
    with serve(lambda base_url: Settings(database_url=database_url, secret_key="e2e-secret-key", base_url=base_url, upload_dir=uploads),
               lambda: NOW) as base_url:
        yield LiveServer(base_url=base_url, database_url=database_url, event_id=event_id)


async def downloaded(download: Download) -> bytes:
    path = await download.path()
    assert path is not None
    return await asyncio.to_thread(Path(path).read_bytes)


async def candidate_page(new_context: NewContext, job_id: int, chat: dict[str, Any], **options: Any) -> Page:
    """The job's page with the candidate's chat resumed from the browser's storage, as after a reload."""
    page = await (await new_context(**options)).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.js_errors = errors  # type: ignore[attr-defined]
    await page.goto(f"/jobs/{job_id}")
    saved = json.dumps({"chat": chat["chat_id"], "token": chat["token"], "page": "", "since": 0})
    await page.evaluate("([key, value]) => sessionStorage.setItem(key, value)", [f"fairmeet-chat-{job_id}", saved])
    await page.reload()
    return page


async def test_files_go_both_ways_and_a_colleague_outside_the_chat_gets_not_found(demo_server: LiveServer, new_context: NewContext) -> None:
    job_id = await job_with_recruiters(demo_server, RITA)
    rita = await open_page(new_context, RITA, **DESKTOP)
    await go_available(rita)
    chat = await start_chat(demo_server, job_id, "Nia Okafor")
    await rita.get_by_role("button", name="Take Nia Okafor").click()
    await expect(transcript(rita)).to_contain_text("Rita Recruiter joined the chat")
    files_box = rita.locator("#files-box")
    await expect(files_box).to_contain_text("No files yet.")

    # The candidate attaches a PDF from the composer (the résumé button stays beside it).
    nia = await candidate_page(new_context, job_id, chat, **PHONE)
    await expect(nia.get_by_text("Rita Recruiter joined the chat")).to_be_visible()
    await expect(nia.get_by_role("button", name=re.compile("Share your résumé"))).to_be_visible()
    async with nia.expect_file_chooser() as chooser:
        await nia.get_by_role("button", name=re.compile("^Attach a file")).click()
    await (await chooser.value).set_files({"name": "portfolio.pdf", "mimeType": "application/pdf", "buffer": PDF})
    await expect(nia.get_by_role("status").filter(has_text="Sent portfolio.pdf")).to_have_text(f"Sent portfolio.pdf ({max(1, round(len(PDF) / 1024))} KB).")
    mine = nia.locator("li.lc-me.lc-hasfile").filter(has_text="portfolio.pdf")
    await expect(mine.get_by_role("button", name=re.compile("^Download portfolio.pdf"))).to_be_visible()

    # Rita sees it in the transcript and in Files, and downloads it with her session.
    link = transcript(rita).get_by_role("link", name=re.compile(r"^Download portfolio\.pdf"))
    await expect(link).to_be_visible()
    await expect(files_box.get_by_role("link", name="portfolio.pdf")).to_be_visible()
    await expect(files_box).to_contain_text("from Nia Okafor")
    async with rita.expect_download() as info:
        await link.click()
    download = await info.value
    assert download.suggested_filename == "portfolio.pdf"
    assert await downloaded(download) == PDF

    # A file that isn't one of the allowed kinds is refused in words; nothing shows in the chat.
    async with rita.expect_file_chooser() as chooser:
        await rita.get_by_role("button", name="Attach", exact=True).click()
    await (await chooser.value).set_files({"name": "agenda.pdf", "mimeType": "application/pdf", "buffer": b"<html><script>alert(1)</script></html>"})
    await expect(rita.locator("#attach-status")).to_contain_text("agenda.pdf was not sent: This file can't be sent")

    # Rita sends an image back; the candidate sees a preview and downloads the file through a blob: URL.
    async with rita.expect_file_chooser() as chooser:
        await rita.get_by_role("button", name="Attach", exact=True).click()
    await (await chooser.value).set_files({"name": "office map.png", "mimeType": "image/png", "buffer": PNG})
    await expect(rita.locator("#attach-status")).to_have_text(f"Sent office map.png ({max(1, round(len(PNG) / 1024))} KB).")
    await expect(transcript(rita).locator(".line.me.hasfile")).to_contain_text("office map.png")
    await expect(files_box.locator("ul.filelist li")).to_have_count(2)
    line = nia.locator("li.lc-them.lc-hasfile").filter(has_text="office map.png")
    await expect(line).to_be_visible()
    await expect(line.get_by_role("img", name="Preview of office map.png")).to_be_visible()
    await expect(nia.locator("#lc-log").get_by_text("<html>")).to_have_count(0)
    await no_horizontal_scroll(nia)
    await shot(nia, "attachments-candidate-phone")
    await shot(rita, "attachments-console-desktop")
    async with nia.expect_download() as info:
        await line.get_by_role("button", name=re.compile(r"^Download office map\.png")).click()
    download = await info.value
    assert download.suggested_filename == "office map.png"
    assert await downloaded(download) == PNG
    await expect(line.get_by_role("status")).to_have_text("Downloaded.")

    # Marco works at the same event but isn't in this chat: the same addresses are not found for him.
    href = await link.get_attribute("href")
    assert href is not None and re.fullmatch(r"/api/v1/live-chats/\d+/attachments/\d+", href)
    marco = await open_page(new_context, MARCO, **DESKTOP)
    r = await marco.request.get(href)
    assert r.status == 404 and (await r.json())["error"]["code"] == "chat_not_found"
    r = await marco.request.get(href.rsplit("/", 1)[0])
    assert r.status == 404
    r = await rita.request.get(href)  # while the chat's own recruiter still gets it
    assert r.status == 200 and await r.body() == PDF
    assert r.headers["content-disposition"] == 'attachment; filename="portfolio.pdf"' and r.headers["x-content-type-options"] == "nosniff"

    no_js_errors(rita)
    no_js_errors(marco)
    errors: list[str] = nia.js_errors  # type: ignore[attr-defined]
    assert not errors, errors
