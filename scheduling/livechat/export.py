"""CSV for an ATS or CRM: RFC 4180 quoting, and no cell a spreadsheet would run as a formula (CWE-1236)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def cell(value: object) -> str:
    """A cell's text; one a spreadsheet would read as a formula gets a leading apostrophe (OWASP's advice)."""
    text = "" if value is None else str(value)
    if text.startswith(_FORMULA_START):
        return "'" + text
    return text


def uncell(text: str) -> str:
    """The value `cell` wrote: a file exported here and imported again keeps "-Dash" as "-Dash", not "'-Dash"."""
    if text.startswith("'") and text[1:].startswith(_FORMULA_START):
        return text[1:]
    return text


def to_csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow([cell(h) for h in header])
    for row in rows:
        writer.writerow([cell(v) for v in row])
    return out.getvalue()
