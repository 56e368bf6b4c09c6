"""The room's per-connection token bucket: a burst, then refusals until it refills."""

from __future__ import annotations

import time

import pytest

from web.ratelimit import Bucket


def test_a_burst_then_refusals_then_refill(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [100.0]
    monkeypatch.setattr(time, "monotonic", lambda: now[0])
    bucket = Bucket(20, 10)  # 20 lines per 10 s
    assert all(bucket.allow() for _ in range(20))
    assert not bucket.allow()
    now[0] += 0.5  # refills at 2 a second: one more line
    assert bucket.allow() and not bucket.allow()
    now[0] += 60  # never more than the burst
    assert sum(bucket.allow() for _ in range(30)) == 20
