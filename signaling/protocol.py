"""The signaling protocol, version 1: one validated schema per message type (docs/signaling.md)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

VERSION = 1
ConnId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{8,64}$")]
MAX_FRAME = 64 * 1024
Seq = Annotated[int, Field(ge=0, le=2**63 - 1)]  # a log position: a BIGINT, so a larger number never reaches the database


class _Msg(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --------------------------------------------------------------------------- client -> server


class Hello(_Msg):
    """First message on a socket: who this tab is and the last event it has seen (for a resume)."""

    type: Literal["hello"]
    v: Literal[1] = 1
    conn: ConnId
    last_seq: Seq | None = None


class Description(_Msg):
    type: Literal["offer", "answer", "rollback"]
    sdp: str = Field(default="", max_length=60_000)


class Candidate(_Msg):
    candidate: str = Field(max_length=2000)
    sdpMid: str | None = Field(default=None, max_length=64)  # noqa: N815 -- WebRTC's own field names
    sdpMLineIndex: int | None = Field(default=None, ge=0, le=64)  # noqa: N815
    usernameFragment: str | None = Field(default=None, max_length=256)  # noqa: N815


class SignalData(_Msg):
    description: Description | None = None
    candidate: Candidate | None = None
    restart: bool = False

    @model_validator(mode="after")
    def _carries_something(self) -> SignalData:
        if self.description is None and self.candidate is None and not self.restart:
            raise ValueError("a signal carries a description, a candidate or a restart request")
        return self


class Signal(_Msg):
    """An offer, answer or ICE candidate for one other connection in the room."""

    type: Literal["signal"]
    to: ConnId
    data: SignalData


class Chat(_Msg):
    type: Literal["chat"]
    client_id: str = Field(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+$")
    text: str = Field(min_length=1, max_length=4000)


class Typing(_Msg):
    type: Literal["typing"]
    active: bool


class Media(_Msg):
    type: Literal["media"]
    mic: bool
    cam: bool
    screen: bool = False
    blur: bool = False


class Resume(_Msg):
    """Ask for every event numbered above `after` (after a reconnect)."""

    type: Literal["resume"]
    after: Seq


class Ping(_Msg):
    type: Literal["ping"]


ClientMessage = Annotated[Hello | Signal | Chat | Typing | Media | Resume | Ping, Field(discriminator="type")]
_client = TypeAdapter(ClientMessage)


class ProtocolError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def parse(raw: str | bytes) -> Hello | Signal | Chat | Typing | Media | Resume | Ping:
    """A client frame as its typed message, or ProtocolError with a message a developer can act on."""
    if len(raw) > MAX_FRAME:
        raise ProtocolError("too_large", f"Frames are limited to {MAX_FRAME} bytes.")
    try:
        return _client.validate_json(raw)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "message"
        raise ProtocolError("invalid_message", f"{where}: {first.get('msg', 'invalid')}") from None


# --------------------------------------------------------------------------- server -> client


def person(conn: str, user_id: int, name: str, role: str) -> dict[str, Any]:
    return {"conn": conn, "user_id": user_id, "name": name, "role": role}


def welcome(*, you: dict[str, Any], peers: list[dict[str, Any]], seq: int, ice_servers: list[dict[str, Any]], room: dict[str, Any]) -> dict[str, Any]:
    return {"type": "welcome", "v": VERSION, "you": you, "peers": peers, "seq": seq, "ice_servers": ice_servers, "room": room}


def event(*, seq: int, kind: str, author: dict[str, Any] | None, body: dict[str, Any], at: str, client_id: str | None) -> dict[str, Any]:
    return {"type": "event", "seq": seq, "kind": kind, "author": author, "body": body, "at": at, "client_id": client_id}


def error(code: str, message: str, *, client_id: str | None = None) -> dict[str, Any]:
    """An error frame; `client_id` names the chat line it refers to (busy, rate_limited, too_long...)."""
    frame: dict[str, Any] = {"type": "error", "code": code, "message": message}
    if client_id is not None:
        frame["client_id"] = client_id
    return frame
