"""Request and response bodies of the tickets API (/api/v1/live-tickets): the record a live chat leaves when it ends."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StrictStr

from web.livechat.schemas import OPERATIONS, LiveIn
from web.schemas import Id


class PersonRef(BaseModel):
    id: int
    name: str


class TicketCandidate(BaseModel):
    name: str
    email: str
    phone: str
    sms_consent: bool


class TicketOut(BaseModel):
    id: int
    chat_id: int
    subject: str
    status: Literal["open", "pending", "solved"]
    assignee: PersonRef | None
    candidate: TicketCandidate
    kind: str  # job | booth | support
    about: str  # the job req, the booth or the event's support, in words
    job: dict[str, Any] | None  # {id, title, company}
    event: dict[str, Any] | None  # {id, name}
    chat_status: str  # ended, or note while the thread is reopened
    recruiter: PersonRef | None  # who had the chat, or answers the reopened thread
    transcript_sent_at: str | None
    created_at: str
    updated_at: str
    url: str  # the ticket's page


class TicketListOut(BaseModel):
    tickets: list[TicketOut]
    total: int
    page: int
    per_page: int
    counts: dict[str, int]  # open, pending, solved: matching the other filters


class TicketDetailOut(TicketOut):
    messages: list[dict[str, Any]]  # the transcript, as the live-chat event frames (kind message | bot | notice)
    assignees: list[PersonRef]  # whom it may be assigned to


class TicketPatchIn(LiveIn):
    """Only the fields given change; `assignee_id: null` unassigns."""

    subject: Annotated[StrictStr, Field(min_length=1, max_length=200)] | None = None
    status: Literal["open", "pending", "solved"] | None = None
    assignee_id: Id | None = None


class TicketReplyIn(LiveIn):
    text: Annotated[StrictStr, Field(min_length=1, max_length=4000)]
    client_id: Annotated[StrictStr, Field(min_length=1, max_length=64, pattern=r"^[\x21-\x7e]+$")] | None = None


class TicketReplyOut(BaseModel):
    ticket: TicketOut
    seq: int
    created: bool  # false: a retried client_id, nothing was sent again
    emailed: bool  # the candidate was emailed the reply and the continue link (at most once in 10 minutes, always on reopening)
    texted: bool


class TranscriptSentOut(BaseModel):
    ticket: TicketOut
    sent_to: str


OPERATIONS += [
    ("get", "/api/v1/live-tickets", "Tickets you may see, newest update first: ?status=open|pending|solved, ?assignee=me|none, ?q= (subject, "
     "candidate's name or email), ?page=, ?per_page= (at most 100)", None, TicketListOut, 200, False),
    ("get", "/api/v1/live-tickets/{ticket_id}", "A ticket with its transcript and whom it may be assigned to", None, TicketDetailOut, 200, False),
    ("patch", "/api/v1/live-tickets/{ticket_id}", "Change a ticket's subject, status or assignee (a colleague on the chat's job req or event; "
     "null: nobody)", TicketPatchIn, TicketOut, 200, False),
    ("post", "/api/v1/live-tickets/{ticket_id}/reply", "Reply by email: the chat reopens as a note thread you own, the candidate gets the line "
     "and a link to continue (a text too, with consent); the ticket is pending until they write back", TicketReplyIn, TicketReplyOut, 201, False),
    ("post", "/api/v1/live-tickets/{ticket_id}/transcript", "Email the chat's transcript to the candidate (once in 10 minutes)", None,
     TranscriptSentOut, 200, False),
]
