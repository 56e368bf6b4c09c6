"""Times of day as people type them into a 24-hour text field ("9:00", "09:00", "0900", "9.00").

The pages use text fields rather than <input type="time">, which a browser shows in its own locale's 12-hour form
("05:00 PM") next to pages that are all 24-hour. What cannot be read is refused in words that repeat what was typed.
"""

from __future__ import annotations

import datetime as dt
import re

from scheduling.errors import Invalid

_CLOCK = re.compile(r"^([01]?\d|2[0-3])[:.]?([0-5]\d)$")
HINT = "24-hour, like 14:30"
PATTERN = "([01]?[0-9]|2[0-3])[:.]?[0-5][0-9]"  # the fields' pattern attribute: the same shapes as _CLOCK
PATTERN_END = f"{PATTERN}|24[:.]?00"  # an end field, where 24:00 is the end of the day


END_OF_DAY = ("24:00", "2400", "24.00")


def is_end_of_day(raw: str) -> bool:
    """'24:00': midnight at the end of the day (parse_clock with allow_24 returns it as 00:00)."""
    return raw.strip() in END_OF_DAY


def parse_clock(raw: str, *, allow_24: bool = False) -> dt.time | None:
    """The time typed, or None. With `allow_24`, "24:00" is midnight at the end of the day (returned as 00:00)."""
    text = raw.strip()
    if allow_24 and text in END_OF_DAY:
        return dt.time(0, 0)
    found = _CLOCK.match(text)
    if not found:
        return None
    return dt.time(int(found.group(1)), int(found.group(2)))


def typed(raw: str) -> str:
    """What was typed, short enough to repeat in a message."""
    text = raw.strip()
    return text if len(text) <= 12 else text[:12] + "…"


def require_clock(raw: str, what: str, *, allow_24: bool = False, code: str = "bad_time") -> dt.time:
    """The time typed into the field named `what`, or a refusal that names the field and repeats the value."""
    value = parse_clock(raw, allow_24=allow_24)
    if value is not None:
        return value
    if not raw.strip():
        raise Invalid(f"{what}: give a time on the 24-hour clock, like 09:00 or 14:30.", code=code)
    raise Invalid(f"{what}: \u201c{typed(raw)}\u201d is not a time. Give hours and minutes on the 24-hour clock, like 09:00 or 14:30.",
                  code=code)


def hhmm(value: dt.time) -> str:
    return value.strftime("%H:%M")
