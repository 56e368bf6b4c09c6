"""A per-socket frame budget over every frame a client sends, whatever its type (valid, malformed, binary).

The per-type buckets of the room and live sockets (chat, signals, typing...) say what a frame may do; this one says how
many frames a socket may send at all. Within the budget (`RATE` a second, `BURST` at once) frames are handled; beyond it
they are dropped unread (the first drop of a run is answered with a `rate_limited` error frame, so a well-behaved
client learns to slow down). A socket that keeps sending after that, more than `EXCESS_BURST` dropped frames beyond a
refill of `EXCESS_RATE` a second, is flooding: it is closed with 1008 (policy violation). Frames are read and handled one
at a time, so a line handled before the close was stored whole and nothing of a dropped one was.
"""

from __future__ import annotations

import time
from collections.abc import MutableMapping
from enum import Enum
from typing import Any

RATE = 50.0
BURST = 100.0
EXCESS_RATE = 10.0
EXCESS_BURST = 100.0
SCOPE_KEY = "fairmeet.frame_budget"
CLOSE_CODE = 1008
CLOSE_REASON = "too many frames"


class Verdict(Enum):
    OK = "ok"
    WARN = "warn"  # over budget: dropped, and the client is told once
    DROP = "drop"  # over budget again: dropped silently
    CLOSE = "close"  # flooding: close with 1008


class FrameBudget:
    __slots__ = ("at", "excess", "throttled", "tokens")

    def __init__(self) -> None:
        self.tokens, self.excess, self.at = BURST, EXCESS_BURST, time.monotonic()
        self.throttled = False

    def charge(self, now: float | None = None) -> Verdict:
        now = time.monotonic() if now is None else now
        elapsed, self.at = now - self.at, now
        self.tokens = min(BURST, self.tokens + elapsed * RATE)
        self.excess = min(EXCESS_BURST, self.excess + elapsed * EXCESS_RATE)
        if self.tokens >= 1:
            self.tokens -= 1
            self.throttled = False
            return Verdict.OK
        if self.excess < 1:
            return Verdict.CLOSE
        self.excess -= 1
        if self.throttled:
            return Verdict.DROP
        self.throttled = True
        return Verdict.WARN


def budget_of(scope: MutableMapping[str, Any]) -> FrameBudget:
    """The budget of the socket whose ASGI scope this is (one per connection, kept in its scope)."""
    budget = scope.get(SCOPE_KEY)
    if not isinstance(budget, FrameBudget):
        budget = scope[SCOPE_KEY] = FrameBudget()
    return budget
