"""The one state machine of a 1-1 chat: which status may follow which."""

from __future__ import annotations

from scheduling.errors import IllegalTransition
from scheduling.models import ChatStatus

S = ChatStatus

TRANSITIONS: dict[ChatStatus, frozenset[ChatStatus]] = {
    S.PENDING: frozenset({S.ACCEPTED, S.DECLINED, S.CANCELLED}),
    S.ACCEPTED: frozenset({S.CONFIRMED, S.CANCELLED}),
    # confirmed -> accepted is a reschedule: the slot is released and a new one is picked.
    S.CONFIRMED: frozenset({S.COMPLETED, S.CANCELLED, S.ACCEPTED}),
    S.COMPLETED: frozenset(),
    S.DECLINED: frozenset(),
    S.CANCELLED: frozenset(),
}

_VERBS = {
    S.ACCEPTED: "accepted",
    S.DECLINED: "declined",
    S.CANCELLED: "cancelled",
    S.CONFIRMED: "confirmed",
    S.COMPLETED: "completed",
}


def check(current: str, target: ChatStatus, *, action: str | None = None) -> None:
    """Raise IllegalTransition when `target` may not follow `current`."""
    now = ChatStatus(current)
    if target not in TRANSITIONS[now]:
        what = action or f"be {_VERBS.get(target, target.value)}"
        raise IllegalTransition(f"This chat is {now.value}; it can't {what} now.")
