"""/api/v1/chats/{id}/outcome: the recruiter's record of a 1-1 chat (notes, rating, next step, no-show), and
/api/v1/chats/{id}/transcript: the messages of its video room, as JSON."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import BaseModel, Field, StrictBool, StrictInt
from starlette.routing import Route

import web.convertors  # noqa: F401 -- registers the {x:id} path convertor
from scheduling import actions, outcomes, transcripts
from scheduling.models import ChatOutcome, User
from web import schemas as sc
from web.api import ApiCall, Result, api


class OutcomeIn(sc.In):
    # Generous here so the domain's own check (outcomes.MAX_NOTES) answers with its clear message.
    notes: Annotated[str, Field(max_length=4 * outcomes.MAX_NOTES)] = ""
    rating: StrictInt | None = None
    next_step: Annotated[str, Field(max_length=120)] = ""
    no_show: StrictBool = False


class PersonRef(BaseModel):
    id: int
    name: str


class OutcomeOut(BaseModel):
    chat_id: int
    recorded: bool
    notes: str
    rating: int | None
    next_step: str
    no_show: bool
    recorded_by: PersonRef | None
    updated_at: dt.datetime | None
    next_steps: list[str]
    can_write: bool
    taken_place: bool


async def _out(call: ApiCall, view: outcomes.OutcomeView) -> dict[str, Any]:
    o: ChatOutcome | None = view.outcome
    by = await call.session.get(User, o.recorded_by_id) if o is not None and o.recorded_by_id is not None else None
    updated: dt.datetime | None = o.updated_at if o is not None else None
    return {
        "chat_id": view.chat.id,
        "recorded": o is not None,
        "notes": o.notes if o else "",
        "rating": o.rating if o else None,
        "next_step": o.next_step if o else "",
        "no_show": o.no_show if o else False,
        "recorded_by": {"id": by.id, "name": by.name} if by else None,
        "updated_at": updated.isoformat() if updated else None,
        "next_steps": view.steps,
        "can_write": view.can_write and view.taken_place,
        "taken_place": view.taken_place,
    }


@api()
async def get_outcome(call: ApiCall) -> Result:
    view = await outcomes.view(call.session, call.user, call.path_int("chat_id"), now=call.ctx.now)
    return 200, await _out(call, view)


@api()
async def put_outcome(call: ApiCall) -> Result:
    body = await call.body(OutcomeIn)
    chat_id = call.path_int("chat_id")
    await outcomes.record(call.session, call.ctx, call.user, chat_id,
                          outcomes.OutcomeInput(notes=body.notes, rating=body.rating, next_step=body.next_step, no_show=body.no_show))
    view = await outcomes.view(call.session, call.user, chat_id, now=call.ctx.now)
    return 200, await _out(call, view)


class TranscriptLineOut(BaseModel):
    seq: int
    at: dt.datetime
    author: PersonRef | None
    role: str
    text: str


class TranscriptOut(BaseModel):
    chat_id: int
    available: bool  # false until the chat has started
    lines: list[TranscriptLineOut]
    truncated: bool


@api()
async def get_transcript(call: ApiCall) -> Result:
    """The room's messages of a chat the caller may see (its two people, organizers), once the chat has started."""
    chat = await actions.load_chat(call.session, call.path_int("chat_id"), call.user)
    found = await transcripts.transcript(call.session, chat, now=call.ctx.now)
    lines = [
        TranscriptLineOut(seq=line.seq, at=line.at, author=PersonRef(id=line.author_id, name=line.author) if line.author_id is not None else None,
                          role=line.role, text=line.text)
        for line in (found.lines if found else [])
    ]
    return 200, TranscriptOut(chat_id=chat.id, available=found is not None, lines=lines, truncated=bool(found and found.truncated))


# For web/openapi.py: (method, path, summary, request body, response body, success status, response is a list)
OPERATIONS: list[tuple[str, str, str, type[BaseModel] | None, type[BaseModel] | None, int, bool]] = [
    ("get", "/api/v1/chats/{chat_id}/outcome", "A 1-1 chat's outcome (its recruiter and the event's organizers; never the talent)",
     None, OutcomeOut, 200, False),
    ("put", "/api/v1/chats/{chat_id}/outcome", "Record a 1-1 chat's outcome once it has taken place (its recruiter): notes, rating 1-5, "
     "next step from the event's list, no-show", OutcomeIn, OutcomeOut, 200, False),
    ("get", "/api/v1/chats/{chat_id}/transcript", "The messages written in a 1-1 chat's video room, once the chat has started "
     "(its two people and the event's organizers)", None, TranscriptOut, 200, False),
]

routes = [
    Route("/api/v1/chats/{chat_id:id}/outcome", get_outcome, methods=["GET"]),
    Route("/api/v1/chats/{chat_id:id}/outcome", put_outcome, methods=["PUT"]),
    Route("/api/v1/chats/{chat_id:id}/transcript", get_transcript, methods=["GET"]),
]
