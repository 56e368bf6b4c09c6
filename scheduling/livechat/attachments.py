"""Files sent in a live chat, both ways (candidate <-> staff): the type told by content, never by name; who may send and
who may download; the row and the transcript entry that announces the file.

The bytes live outside the web root under a random name (the web layer writes them before the row, in the same request,
and removes them if the transaction does not commit). This module never touches the file system.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from scheduling.conversations import Append
from scheduling.errors import Invalid, NotFound
from scheduling.livechat import chats, files, followup
from scheduling.livechat.desk_models import Attachment
from scheduling.livechat.models import LiveChat
from scheduling.models import User

MAX_BYTES = 10 * 1024 * 1024
MAX_PER_CHAT = 200  # a chat is a conversation, not a file store

PDF, DOC, DOCX = files.PDF, files.DOC, files.DOCX
PNG, JPEG, GIF, WEBP, TEXT = "image/png", "image/jpeg", "image/gif", "image/webp", "text/plain"
EXTENSION = {PDF: ".pdf", DOC: ".doc", DOCX: ".docx", PNG: ".png", JPEG: ".jpg", GIF: ".gif", WEBP: ".webp", TEXT: ".txt"}
IMAGES = frozenset({PNG, JPEG, GIF, WEBP})
ALLOWED_WORDS = "PDF, Word (DOC, DOCX), PNG, JPEG, GIF, WebP or plain text"

_WORD_STREAM = "WordDocument".encode("utf-16-le")  # the OLE2 directory entry every Word 97-2003 file has
# What a browser's MIME sniffing would take for markup (WHATWG MIME Sniffing, "HTML" and "XML" rules, plus SVG): a
# text file that starts like this is refused, so a page can never ride in as "plain text".
_MARKUP = re.compile(
    rb"^(?:<!doctype\s+html|<html|<head|<script|<iframe|<h1|<div|<font|<table|<a|<style|<title|<b|<body|<br|<p|<!--|<\?xml|<svg"
    rb"|<math|<object|<embed|<meta|<link|<img|<form|<base)(?=[\s>/]|$)",
    re.IGNORECASE,
)


_IMAGE_MAGIC = ((b"\x89PNG\r\n\x1a\n", PNG), (b"\xff\xd8\xff", JPEG), (b"GIF87a", GIF), (b"GIF89a", GIF))


def sniff(data: bytes) -> str | None:
    """The attachment's type from its bytes; None for anything not allowed. A résumé's types are told by files.sniff;
    an OLE2 container counts as DOC only when it holds a Word stream (not a spreadsheet, an installer or a mail)."""
    if not data:
        return None
    image = next((mime for magic, mime in _IMAGE_MAGIC if data.startswith(magic)), None)
    if image is None and len(data) >= 12 and data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        image = WEBP
    if image is not None:
        return image
    office = files.sniff(data)
    if office is not None:
        return None if office == DOC and _WORD_STREAM not in data else office
    if data.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
        return None  # other archives and containers are not text, whatever they decode to
    return TEXT if _plain_text(data) else None


def _plain_text(data: bytes) -> bool:
    """UTF-8 without NUL or other C0 controls besides tab, line feed, form feed and carriage return, and no markup."""
    if b"\x00" in data:
        return False
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    if re.search(r"[\x01-\x08\x0b\x0e-\x1f\x7f]", text):
        return False
    head = text.lstrip("\ufeff \t\r\n\x0c").encode()
    return _MARKUP.match(head) is None


def safe_name(name: str, mime: str) -> str:
    """A display and download name: the given stem stripped to harmless characters, the extension from the content
    (the rule of files.safe_name, for every attachment type)."""
    stem = name.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
    if "." in stem:
        stem = stem.rsplit(".", 1)[0]
    stem = re.sub(r"[^A-Za-z0-9 _().-]+", "_", stem).strip(" ._")[:80] or "file"
    return stem + EXTENSION[mime]


@dataclass(frozen=True)
class Checked:
    mime: str
    name: str
    size: int


class TooLarge(Invalid):
    code = "too_large"


class Unsupported(Invalid):
    code = "unsupported_type"


def check(data: bytes, name: str) -> Checked:
    """What is stored for these bytes sent under this name; TooLarge, Unsupported or an empty file's Invalid otherwise."""
    if len(data) > MAX_BYTES:
        raise TooLarge(f"A file can be {MAX_BYTES // (1024 * 1024)} MB at most.")
    if not data:
        raise Invalid("The file is empty.", code="empty_file")
    mime = sniff(data)
    if mime is None:
        raise Unsupported(f"This file can't be sent: its content isn't {ALLOWED_WORDS} (the name doesn't decide, the content does).")
    return Checked(mime=mime, name=safe_name(name, mime), size=len(data))


def new_file_name() -> str:
    """The random name the bytes are stored under (nothing of the sender's name)."""
    return secrets.token_hex(16)


# --------------------------------------------------------------------------- who may send, who may read


async def _count(session: AsyncSession, chat_id: int) -> int:
    return int((await session.execute(select(func.count()).select_from(Attachment).where(Attachment.live_chat_id == chat_id))).scalar_one())


async def candidate_may_send(session: AsyncSession, chat: LiveChat) -> None:
    """The candidate sends while the chat is open (waiting, taken, a note, being transferred): as chats.candidate_may_write."""
    chats.candidate_may_write(chat)
    await _room_left(session, chat)


async def staff_may_send(session: AsyncSession, chat: LiveChat, user: User, now: dt.datetime) -> None:
    """The owner or a visible member of an ongoing chat (an invisible monitor may not), or whoever answers a note:
    exactly who may write a line (chats.staff_may_write; answering a note makes it theirs)."""
    await chats.staff_may_write(session, chat, user, now)
    await _room_left(session, chat)


async def _room_left(session: AsyncSession, chat: LiveChat) -> None:
    if await _count(session, chat.id) >= MAX_PER_CHAT:
        raise Invalid(f"This chat already holds {MAX_PER_CHAT} files; send a link instead.", code="too_many_files")


async def staff_readable_chat(session: AsyncSession, chat_id: int, user: User, now: dt.datetime) -> LiveChat:
    """The chat whose files `user` may download: one they may see (chats.staff_may_see), or one forwarded to them with its
    transcript (the files are part of it). Anyone else: not found."""
    try:
        return await chats.staff_chat(session, chat_id, user, now)
    except NotFound:
        chat = await session.get(LiveChat, chat_id)
        if chat is None or not await followup.shared_with(session, chat_id, user.id, transcript=True):
            raise
        return chat


async def get(session: AsyncSession, chat: LiveChat, attachment_id: int) -> Attachment:
    """One file of this chat; another chat's file is not found, like an unknown one."""
    att = (await session.execute(select(Attachment).where(Attachment.id == attachment_id, Attachment.live_chat_id == chat.id))).scalar_one_or_none()
    if att is None:
        raise NotFound("No such file in this chat.", code="attachment_not_found")
    return att


async def for_chat(session: AsyncSession, chat_id: int) -> list[Attachment]:
    return list((await session.execute(select(Attachment).where(Attachment.live_chat_id == chat_id).order_by(Attachment.id))).scalars())


# --------------------------------------------------------------------------- storing


async def add(session: AsyncSession, chat: LiveChat, *, side: str, user: User | None, stored: str, checked: Checked,
              now: dt.datetime) -> tuple[Attachment, Append]:
    """The row for a file already written under `stored`, and the transcript entry that shows it to both sides.

    The entry is a "message" whose text is the file's name (so transcripts, exports and plain pages read well) and whose
    body carries {"attachment": {id, name, size, type}}; the caller stores it in the same transaction."""
    assert side in ("candidate", "staff")
    att = Attachment(live_chat_id=chat.id, side=side, user_id=user.id if user else None, file=stored, name=checked.name, type=checked.mime,
                     size=checked.size, created_at=now)
    session.add(att)
    await session.flush()
    chat.updated_at = now
    if side == "candidate":
        author_id, name, role = None, chat.candidate_name, "candidate"
    else:
        assert user is not None
        author_id, name, role = user.id, user.name, "recruiter"
    body = {"text": checked.name, "attachment": describe(att), "name": name, "role": role}
    return att, Append(chats.key(chat.id), "message", author_id, body, now, client_id=f"file-{att.id}")


def describe(att: Attachment) -> dict[str, object]:
    return {"id": att.id, "name": att.name, "size": att.size, "type": att.type}
