"""A chat's history as its page reads it (issue 9 round 2, item 10): a move in one call reads as one line, whichever
order its two rows' ids came in; pairs written before the times were noted read as one line without them."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from scheduling import chat_history
from scheduling.models import ChatEvent, User

AT = dt.datetime(2026, 3, 21, 9, 0, tzinfo=dt.UTC)
OLD = dt.datetime(2026, 3, 24, 9, 0, tzinfo=dt.UTC)
NEW = dt.datetime(2026, 3, 24, 10, 0, tzinfo=dt.UTC)
BERLIN = ZoneInfo("Europe/Berlin")
OLGA = User(id=7, email="org@example.test", name="Olga")


def _row(i: int, a: str | None, b: str, note: str = "", actor: int = 7, at: dt.datetime = AT) -> tuple[ChatEvent, User | None]:
    return ChatEvent(id=i, chat_request_id=1, actor_id=actor, from_status=a, to_status=b, note=note, created_at=at), OLGA


def test_a_move_is_one_line_in_either_order() -> None:
    release = _row(3, "confirmed", "accepted", "reschedule: Clash")
    confirm = _row(4, "accepted", "confirmed", chat_history.move_note(OLD, NEW))
    head = [_row(1, None, "pending"), _row(2, "pending", "accepted")]
    for pair in ([release, confirm], [confirm, release]):
        lines = chat_history.lines([*head, *pair], BERLIN)
        assert len(lines) == 3
        assert lines[2].moved == "from Tue 24 Mar 2026, 10:00 to 11:00 CET" and lines[2].note == "Clash"
        assert lines[2].event.to_status == "accepted"


def test_days_and_zones_named_where_they_differ() -> None:
    assert chat_history.moved_text(OLD, NEW + dt.timedelta(days=1), BERLIN) == "from Tue 24 Mar 2026, 10:00 to Wed 25 Mar 2026, 11:00 CET"
    # Across the spring change (29 Mar 2026 in Berlin) each time names its own zone.
    later = dt.datetime(2026, 3, 30, 9, 0, tzinfo=dt.UTC)
    assert chat_history.moved_text(OLD, later, BERLIN) == "from Tue 24 Mar 2026, 10:00 CET to Mon 30 Mar 2026, 11:00 CEST"


def test_release_alone_and_older_pairs() -> None:
    release = _row(3, "confirmed", "accepted", "reschedule: Exam")
    [line] = chat_history.lines([release], BERLIN)
    assert line.moved is None and line.note == "Exam"
    # A pair written before moves noted their times: one line, no times.
    old_pair = [release, _row(4, "accepted", "confirmed")]
    [line] = chat_history.lines(old_pair, BERLIN)
    assert line.moved == "" and line.note == "Exam"
    # Two rows of different moments or people are not a move.
    apart = [release, _row(4, "accepted", "confirmed", at=AT + dt.timedelta(minutes=5))]
    assert [x.moved for x in chat_history.lines(apart, BERLIN)] == [None, None]
    other = [release, _row(4, "accepted", "confirmed", actor=8)]
    assert [x.moved for x in chat_history.lines(other, BERLIN)] == [None, None]


def test_parse_move_refuses_garbage() -> None:
    assert chat_history.parse_move("moved from yesterday to today") is None
    assert chat_history.parse_move("moved from 2026-03-24T09:00:00 to 2026-03-24T10:00:00") is None  # no zone
    assert chat_history.parse_move(chat_history.move_note(OLD, NEW)) == (OLD, NEW)
