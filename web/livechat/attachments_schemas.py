"""Response bodies of the live-chat attachments API (files both ways in a chat) and their entries in the OpenAPI document.

Uploads are multipart forms (field `file`), so they have no JSON request body; downloads answer with the file itself."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel

from web.livechat.schemas import OPERATIONS


class AttachmentOut(BaseModel):
    """A file in a chat. `type` is what its content is (never what its name claims); `url` downloads it with the same
    credential the caller used (the chat's token for the candidate, the staff's session or API token)."""

    id: int
    name: str
    size: int
    type: str
    side: Literal["candidate", "staff"]
    by: str
    at: dt.datetime
    url: str
    seq: int | None = None


class AttachmentsOut(BaseModel):
    attachments: list[AttachmentOut]
    max_bytes: int
    types: list[str]


_TYPES = "PDF, DOC, DOCX, PNG, JPEG, GIF, WebP or UTF-8 text, told by content; 10 MB at most"

OPERATIONS += [
    ("post", "/api/v1/chats/{chat_id}/attachments",
     f"Candidate: send a file in the chat (multipart field 'file'; {_TYPES}); 413 too large, 415 another type", None, AttachmentOut, 201, False),
    ("get", "/api/v1/chats/{chat_id}/attachments/{attachment_id}", "Candidate: download a file of the chat (as an attachment)", None, None, 200,
     False),
    ("post", "/api/v1/live-chats/{chat_id}/attachments",
     f"Send a file in a chat you own or joined visibly (multipart field 'file'; {_TYPES})", None, AttachmentOut, 201, False),
    ("get", "/api/v1/live-chats/{chat_id}/attachments", "The chat's files, oldest first (the chat's staff)", None, AttachmentsOut, 200, False),
    ("get", "/api/v1/live-chats/{chat_id}/attachments/{attachment_id}", "Download a file of the chat (the chat's staff; as an attachment)", None,
     None, 200, False),
]
