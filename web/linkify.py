"""Plain text with its http(s) addresses as links, for texts people write for others (announcements).

Every piece of the text is escaped; only addresses starting with http:// or https:// become links (so no javascript: or
data: link can be made), opened in a new tab without the opener or referrer. Punctuation that ends a sentence ('see
https://x.example/a.') stays outside the link, and so does a closing parenthesis the address did not open.
"""

from __future__ import annotations

import re

from markupsafe import Markup, escape

URL = re.compile(r"\bhttps?://[^\s<>\"'`]+", re.IGNORECASE)
TRAILING = ".,;:!?'\"*_"
LINK = Markup('<a href="{0}" rel="noopener noreferrer" target="_blank">{1}</a>')


def _trim(url: str) -> str:
    while url:
        last = url[-1]
        if last in TRAILING or (last == ")" and url.count(")") > url.count("(")):
            url = url[:-1]
        else:
            break
    return url


def linkify(text: object) -> Markup:
    """`text` escaped, with its http(s) URLs as links (a Jinja filter: {{ a.body|linkify }})."""
    source = str(text or "")
    out: list[str] = []
    pos = 0
    for found in URL.finditer(source):
        url = _trim(found.group(0))
        if len(url) <= len("https://") or url.endswith("://"):
            continue
        out.append(escape(source[pos:found.start()]))
        out.append(LINK.format(url, url))
        pos = found.start() + len(url)
    out.append(escape(source[pos:]))
    return Markup("").join(out)
