"""Live-chat socket protocol, version 1: the candidate's frames and the staff console's (docs/livechat.md)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from signaling.protocol import MAX_FRAME, ConnId, ProtocolError, Seq

ChatId = Annotated[int, Field(ge=1, le=999_999_999)]
ClientId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+$")]
Text = Annotated[str, Field(min_length=1, max_length=4000)]


class _Msg(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CandidateHello(_Msg):
    type: Literal["hello"]
    v: Literal[1] = 1
    conn: ConnId
    chat: ChatId
    token: str = Field(min_length=10, max_length=200)
    last_seq: Seq | None = None


class ConsoleHello(_Msg):
    type: Literal["hello"]
    v: Literal[1] = 1
    conn: ConnId


class CandidateChat(_Msg):
    type: Literal["chat"]
    client_id: ClientId
    text: Text


class CandidateTyping(_Msg):
    type: Literal["typing"]
    active: bool


class Page(_Msg):
    type: Literal["page"]
    url: str = Field(max_length=1000)


class Resume(_Msg):
    type: Literal["resume"]
    after: Seq


class Ping(_Msg):
    type: Literal["ping"]


class Heartbeat(_Msg):
    type: Literal["heartbeat"]


class Watch(_Msg):
    type: Literal["watch"]
    chat: ChatId
    last_seq: Seq | None = None


class Unwatch(_Msg):
    type: Literal["unwatch"]
    chat: ChatId


class StaffChat(_Msg):
    type: Literal["chat"]
    chat: ChatId
    client_id: ClientId
    text: Text
    auto: bool = False  # an automatic update ("still with you"), marked as such in the transcript


class StaffTyping(_Msg):
    type: Literal["typing"]
    chat: ChatId
    active: bool


CandidateMessage = Annotated[CandidateHello | CandidateChat | CandidateTyping | Page | Resume | Ping, Field(discriminator="type")]
ConsoleMessage = Annotated[ConsoleHello | Watch | Unwatch | StaffChat | StaffTyping | Heartbeat | Ping, Field(discriminator="type")]
_candidate: TypeAdapter[Any] = TypeAdapter(CandidateMessage)
_console: TypeAdapter[Any] = TypeAdapter(ConsoleMessage)


def _parse(adapter: TypeAdapter[Any], raw: str | bytes) -> Any:
    if len(raw) > MAX_FRAME:
        raise ProtocolError("too_large", f"Frames are limited to {MAX_FRAME} bytes.")
    try:
        return adapter.validate_json(raw)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "message"
        raise ProtocolError("invalid_message", f"{where}: {first.get('msg', 'invalid')}") from None


def parse_candidate(raw: str | bytes) -> CandidateHello | CandidateChat | CandidateTyping | Page | Resume | Ping:
    result: CandidateHello | CandidateChat | CandidateTyping | Page | Resume | Ping = _parse(_candidate, raw)
    return result


def parse_console(raw: str | bytes) -> ConsoleHello | Watch | Unwatch | StaffChat | StaffTyping | Heartbeat | Ping:
    result: ConsoleHello | Watch | Unwatch | StaffChat | StaffTyping | Heartbeat | Ping = _parse(_console, raw)
    return result


def event(chat_id: int, *, seq: int, kind: str, author: dict[str, Any] | None, body: dict[str, Any], at: str, client_id: str | None) -> dict[str, Any]:
    return {"type": "event", "chat": chat_id, "seq": seq, "kind": kind, "author": author, "body": body, "at": at, "client_id": client_id}
