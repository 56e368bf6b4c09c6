"""An honest wait estimate for a place in a chat queue: a range, or unknown when nobody can answer."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

DEFAULT_HANDLE_SECONDS = 300.0  # a first guess of a chat's length until a queue has history of its own
MIN_HANDLE_SECONDS = 60.0


@dataclass(frozen=True)
class Staffing:
    online: int  # recruiters available with a fresh heartbeat
    seats: int  # their total capacity
    free: int  # seats not taken now
    handle_seconds: float  # typical chat length lately


@dataclass(frozen=True)
class Estimate:
    low_seconds: int | None
    high_seconds: int | None

    @property
    def known(self) -> bool:
        return self.low_seconds is not None

    def as_dict(self) -> dict[str, int | str | None]:
        return {"low_seconds": self.low_seconds, "high_seconds": self.high_seconds, "text": self.text()}

    def text(self) -> str:
        if self.low_seconds is None or self.high_seconds is None:
            return "unknown: no recruiter is online right now"
        if self.high_seconds <= 120:
            return "about a minute or two"
        return f"{_minutes(self.low_seconds)}–{_minutes(self.high_seconds)} minutes"


def _minutes(seconds: int) -> int:
    return max(1, round(seconds / 60))


def handle_time(durations: list[float]) -> float:
    """The median length of recent chats, bounded below; the default before there are any."""
    clean = [d for d in durations if d > 0 and math.isfinite(d)]
    if not clean:
        return DEFAULT_HANDLE_SECONDS
    return max(MIN_HANDLE_SECONDS, statistics.median(clean))


def estimate(position: int, staff: Staffing) -> Estimate:
    """For the candidate at `position` (1 = next): how long until a seat is theirs.

    With free seats at least the position, it is the time a recruiter takes to click (under two
    minutes). Otherwise the candidates ahead who find no free seat are served as seats come free:
    `seats` chats end every `handle` seconds on average, the earliest after half a chat.
    """
    if staff.online <= 0 or staff.seats <= 0 or position <= 0:
        return Estimate(None, None)
    handle = max(MIN_HANDLE_SECONDS, staff.handle_seconds if math.isfinite(staff.handle_seconds) else DEFAULT_HANDLE_SECONDS)
    beyond = position - max(0, staff.free)
    if beyond <= 0:
        return Estimate(15, 120)
    rounds = beyond / staff.seats
    low = max(30.0, (rounds - 0.5) * handle) if rounds > 1 else 30.0
    high = max(low + 60.0, math.ceil(rounds) * handle + 60.0)
    return Estimate(int(low), int(high))
