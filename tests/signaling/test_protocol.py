"""Protocol v1: every frame validated against its schema; bad frames get a code and a readable message."""

from __future__ import annotations

import json

import pytest

from signaling import protocol as p


def test_valid_frames_parse_to_their_types() -> None:
    assert isinstance(p.parse('{"type":"hello","conn":"abcdefgh12","last_seq":4}'), p.Hello)
    signal = p.parse(json.dumps({"type": "signal", "to": "abcdefgh12", "data": {"description": {"type": "offer", "sdp": "v=0"}}}))
    assert isinstance(signal, p.Signal) and signal.data.description is not None
    candidate = p.parse(json.dumps({"type": "signal", "to": "abcdefgh12",
                                    "data": {"candidate": {"candidate": "candidate:1 1 udp 1 127.0.0.1 5000 typ host", "sdpMid": "0"}}}))
    assert isinstance(candidate, p.Signal)
    assert isinstance(p.parse('{"type":"chat","client_id":"x1","text":"hi"}'), p.Chat)
    assert isinstance(p.parse('{"type":"media","mic":true,"cam":false}'), p.Media)
    assert isinstance(p.parse('{"type":"resume","after":0}'), p.Resume)


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("not json", "invalid_message"),
        ('{"type":"shout"}', "invalid_message"),
        ('{"type":"hello","conn":"short"}', "invalid_message"),
        ('{"type":"hello","conn":"abcdefgh12","v":2}', "invalid_message"),
        ('{"type":"chat","client_id":"x","text":""}', "invalid_message"),
        ('{"type":"chat","client_id":"x","text":"hi","extra":1}', "invalid_message"),
        ('{"type":"signal","to":"abcdefgh12","data":{}}', "invalid_message"),
        ('{"type":"signal","to":"../../etc","data":{"restart":true}}', "invalid_message"),
        ('{"type":"resume","after":-1}', "invalid_message"),
        ("x" * (p.MAX_FRAME + 1), "too_large"),
    ],
)
def test_bad_frames_are_refused_with_a_code(frame: str, code: str) -> None:
    with pytest.raises(p.ProtocolError) as err:
        p.parse(frame)
    assert err.value.code == code and err.value.message
