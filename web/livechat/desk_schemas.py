"""Request and response bodies of the live-chat desk's API (operations on a chat, offers, teams, routing, settings, ratings)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StrictBool, StrictInt, StrictStr

from web.livechat.schemas import OPERATIONS, LiveIn
from web.schemas import Id

Note = Annotated[StrictStr, Field(max_length=1000)]


class JoinIn(LiveIn):
    invisible: StrictBool = False


class ForwardIn(LiveIn):
    user_id: Id | None = None
    team_id: Id | None = None
    note: Note = ""


class InviteIn(LiveIn):
    user_id: Id
    note: Note = ""


class LeaveIn(LiveIn):
    subject: Annotated[StrictStr, Field(max_length=200)] = ""
    assignee_id: Id | None = None
    email_transcript: StrictBool = False


class RatingIn(LiveIn):
    score: StrictInt
    comment: Annotated[StrictStr, Field(max_length=1000)] = ""


class TakeOverIn(LiveIn):
    owner_id: Id | None = None  # the owner the caller saw: if someone else has it by now, 409 owner_changed (of two at once, one wins)


class DeskOut(BaseModel):
    """The chat as its staff see it after the operation (the same view as GET /api/v1/live-chats/{chat_id})."""

    chat: dict[str, Any]


class OfferOut(BaseModel):
    chat: int
    reason: Literal["route", "forward", "invite"]
    name: str
    label: str
    by: dict[str, Any] | None
    note: str
    expires_at: str
    offered_at: str


class ColleagueOut(BaseModel):
    id: int
    name: str
    online: bool
    free_seats: int


class TeamRefOut(BaseModel):
    id: int
    name: str
    online: int


class ColleaguesOut(BaseModel):
    people: list[ColleagueOut]
    teams: list[TeamRefOut]


class OngoingOut(BaseModel):
    id: int
    candidate: str
    owner: dict[str, Any] | None
    title: str
    label: str
    taken_at: str | None
    you: Literal["visible", "invisible"] | None


class TeamIn(LiveIn):
    name: Annotated[StrictStr, Field(min_length=1, max_length=120)]
    member_ids: list[Id] = Field(default_factory=list, max_length=200)


class TeamOut(BaseModel):
    id: int
    event_id: int
    name: str
    members: list[dict[str, Any]]


class RuleIn(LiveIn):
    kind: Literal["", "job", "booth", "support"] = ""
    job_req_id: Id | None = None
    company_id: Id | None = None
    question_id: Id | None = None
    answer: Annotated[StrictStr, Field(max_length=200)] = ""
    team_id: Id | None = None
    user_id: Id | None = None


class RuleOut(BaseModel):
    id: int
    position: int
    kind: str
    job_req_id: int | None
    company_id: int | None
    question_id: int | None
    answer: str
    team_id: int | None
    user_id: int | None
    summary: str


class DeskSettingsIn(LiveIn):
    rating_style: Literal["stars", "smileys"] | None = None
    emoji_staff: StrictBool | None = None
    emoji_candidate: StrictBool | None = None
    accept_seconds: StrictInt | None = None
    remind_seconds: StrictInt | None = None
    resolve_minutes: StrictInt | None = None


class DeskSettingsOut(BaseModel):
    rating_style: str
    emoji_staff: bool
    emoji_candidate: bool
    accept_seconds: int
    remind_seconds: int
    resolve_minutes: int


class RatedOut(BaseModel):
    score: int
    scale: int
    comment: str


OPERATIONS += [
    ("post", "/api/v1/live-chats/{chat_id}/join", "Join an ongoing chat, visibly (everyone is told) or invisibly (nobody is)", JoinIn, DeskOut, 200,
     False),
    ("post", "/api/v1/live-chats/{chat_id}/take-over", "Take an ongoing chat over: you own it, the previous owner leaves", TakeOverIn, DeskOut,
     200, False),
    ("post", "/api/v1/live-chats/{chat_id}/forward", "Forward your chat to an online colleague or a team, with a note", ForwardIn, DeskOut, 200,
     False),
    ("post", "/api/v1/live-chats/{chat_id}/invite", "Invite an online colleague into your chat (you stay)", InviteIn, DeskOut, 200, False),
    ("post", "/api/v1/live-chats/{chat_id}/leave", "Leave a chat; the last staff member leaving turns it into a ticket", LeaveIn, DeskOut, 200,
     False),
    ("post", "/api/v1/live-chats/{chat_id}/accept", "Accept a chat offered to you, or an invitation into one", None, DeskOut, 200, False),
    ("post", "/api/v1/live-chats/{chat_id}/decline", "Decline a chat offered to you, or an invitation", None, DeskOut, 200, False),
    ("post", "/api/v1/live-chats/{chat_id}/ask-rating", "Ask the candidate to rate the chat", None, DeskOut, 200, False),
    ("get", "/api/v1/live-chats/{chat_id}/colleagues", "Whom this chat can be forwarded to or who can be invited: people and teams",
     None, ColleaguesOut, 200, False),
    ("get", "/api/v1/live-chats/ongoing", "Colleagues' ongoing chats you may join", None, OngoingOut, 200, True),
    ("get", "/api/v1/live-offers", "Chats offered to you and invitations, with the time left to accept", None, OfferOut, 200, True),
    ("post", "/api/v1/chats/{chat_id}/rating", "Candidate: rate the chat once asked (stars 1-5 or smileys 1-3), with a comment", RatingIn,
     RatedOut, 200, False),
    ("get", "/api/v1/events/{event_id}/teams", "The event's teams and their members", None, TeamOut, 200, True),
    ("post", "/api/v1/events/{event_id}/teams", "Create a team (organizers)", TeamIn, TeamOut, 201, False),
    ("put", "/api/v1/live-teams/{team_id}", "Rename a team and replace its members (organizers)", TeamIn, TeamOut, 200, False),
    ("delete", "/api/v1/live-teams/{team_id}", "Remove a team and its rules (organizers)", None, None, 204, False),
    ("get", "/api/v1/events/{event_id}/routing-rules", "The event's routing rules, first match wins (organizers)", None, RuleOut, 200, True),
    ("post", "/api/v1/events/{event_id}/routing-rules", "Add a routing rule at the end (organizers)", RuleIn, RuleOut, 201, False),
    ("delete", "/api/v1/routing-rules/{rule_id}", "Remove a routing rule (organizers)", None, None, 204, False),
    ("get", "/api/v1/events/{event_id}/desk-settings", "The live-chat desk's settings at the event", None, DeskSettingsOut, 200, False),
    ("put", "/api/v1/events/{event_id}/desk-settings", "Change the desk's settings (organizers)", DeskSettingsIn, DeskSettingsOut, 200, False),
]
