"""Resumes: the file type told by content, never by name (PDF, DOC, DOCX), and a file name safe to echo."""

from __future__ import annotations

import io
import re
import zipfile

MAX_RESUME_BYTES = 5 * 1024 * 1024
PDF = "application/pdf"
DOC = "application/msword"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def sniff(data: bytes) -> str | None:
    """The resume's type from its first bytes (and, for DOCX, its parts); None for anything else."""
    if data.startswith(b"%PDF-"):
        return PDF
    if data.startswith(_OLE2):
        return DOC
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                names = set(archive.namelist())
        except (zipfile.BadZipFile, ValueError):
            return None
        if "[Content_Types].xml" in names and "word/document.xml" in names:
            return DOCX
    return None


EXTENSION = {PDF: ".pdf", DOC: ".doc", DOCX: ".docx"}


def safe_name(name: str, mime: str) -> str:
    """A display and download name: the given stem stripped to harmless characters, the extension from the content."""
    stem = name.rsplit("/", 1)[-1].rsplit("\\", 1)[-1].rsplit(".", 1)[0]
    stem = re.sub(r"[^A-Za-z0-9 _().-]+", "_", stem).strip(" ._")[:80] or "resume"
    return stem + EXTENSION[mime]
