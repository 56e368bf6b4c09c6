"""The live-chat API's request and response bodies (pydantic); strings are strict: an object or array where text belongs is a 422."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StrictBool, StrictStr, field_validator

from web.schemas import Id, In, WindowIn

Short = Annotated[StrictStr, Field(max_length=500)]
Key = Annotated[StrictStr, Field(min_length=1, max_length=40)]


def _no_nul_inside(value: Any) -> Any:
    if isinstance(value, dict):
        for k, v in value.items():
            _no_nul_inside(k)
            _no_nul_inside(v)
    elif isinstance(value, list):
        for v in value:
            _no_nul_inside(v)
    elif isinstance(value, str) and "\x00" in value:
        raise ValueError("text can't contain NUL characters")
    return value


class LiveIn(In):
    @field_validator("*", mode="before")
    @classmethod
    def _no_nul_nested(cls, value: Any) -> Any:
        return _no_nul_inside(value)


class StartChatIn(LiveIn):
    name: Annotated[StrictStr, Field(max_length=120)]
    email: Annotated[StrictStr, Field(max_length=254)]
    phone: Annotated[StrictStr, Field(max_length=40)] = ""
    sms_consent: StrictBool = False
    fields: dict[Key, Short] = Field(default_factory=dict, max_length=8)
    answers: dict[Key, Short] = Field(default_factory=dict, max_length=10)
    start_key: Annotated[StrictStr, Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")] | None = None
    source_url: Annotated[StrictStr, Field(max_length=1000)] = ""


class EventChatIn(LiveIn):
    company_id: Id | None = None
    source_url: Annotated[StrictStr, Field(max_length=1000)] = ""


class Estimate(BaseModel):
    low_seconds: int | None
    high_seconds: int | None
    text: str


class StartChatOut(BaseModel):
    chat_id: int
    token: str | None
    status: Literal["waiting", "rejected", "away", "active"]
    position: int | None = None
    estimated_wait: Estimate | None = None
    message: str | None = None
    job_url: str | None = None


class MessageIn(LiveIn):
    client_id: Annotated[StrictStr, Field(min_length=1, max_length=64)]
    text: Annotated[StrictStr, Field(min_length=1, max_length=4000)]


class MessageOut(BaseModel):
    seq: int
    created: bool


class NoteIn(LiveIn):
    text: Annotated[StrictStr, Field(min_length=1, max_length=4000)]
    callback: StrictBool = False


class ContinueIn(LiveIn):
    link: Annotated[StrictStr, Field(min_length=10, max_length=500)]


class ContinueOut(BaseModel):
    chat_id: int
    token: str


class EndIn(LiveIn):
    next_step: Annotated[StrictStr, Field(min_length=1, max_length=60)]
    outcome: Literal["finished", "follow_up"]
    # The ticket the chat leaves: subject (default: the candidate's first question), status, assignee; the transcript by email.
    subject: Annotated[StrictStr, Field(max_length=200)] = ""
    ticket_status: Literal["open", "pending", "solved"] = "solved"
    assignee_id: Id | None = None
    email_transcript: StrictBool = False


class ContactIn(LiveIn):
    name: Annotated[StrictStr, Field(max_length=120)] | None = None
    email: Annotated[StrictStr, Field(max_length=254)] | None = None
    phone: Annotated[StrictStr, Field(max_length=40)] | None = None
    private_notes: Annotated[StrictStr, Field(max_length=20_000)] | None = None


class AgentIn(LiveIn):
    available: StrictBool | None = None
    capacity: Annotated[int, Field(ge=1, le=20)] | None = None
    auto_assign: StrictBool | None = None
    notify_desktop: StrictBool | None = None
    notify_sound: StrictBool | None = None
    notify_email: StrictBool | None = None


class AgentOut(BaseModel):
    available: bool
    capacity: int
    active_chats: int
    auto_assign: bool
    notify_desktop: bool
    notify_sound: bool
    notify_email: bool
    online: bool


class QuestionIn(LiveIn):
    text: Annotated[StrictStr, Field(min_length=1, max_length=500)]
    kind: Literal["yes_no", "choice"] = "yes_no"
    choices: list[Annotated[StrictStr, Field(max_length=120)]] = Field(default_factory=list, max_length=10)
    qualifying: list[Annotated[StrictStr, Field(max_length=120)]] = Field(default_factory=list, max_length=10)


class CustomFieldIn(LiveIn):
    id: Key
    label: Annotated[StrictStr, Field(max_length=120)]
    required: StrictBool = False


class HoursIn(LiveIn):
    tz: Annotated[StrictStr, Field(max_length=64)]
    days: dict[Annotated[StrictStr, Field(pattern=r"^[0-6]$")], list[list[Annotated[StrictStr, Field(max_length=5)]]]] = Field(default_factory=dict)


class JobReqIn(LiveIn):
    title: Annotated[StrictStr, Field(max_length=200)]
    company: Annotated[StrictStr, Field(max_length=200)]
    location: Annotated[StrictStr, Field(max_length=200)] = ""
    description: Annotated[StrictStr, Field(max_length=20_000)] = ""
    apply_url: Annotated[StrictStr, Field(max_length=500)] = ""
    event_id: Id | None = None
    allowed_origins: list[Annotated[StrictStr, Field(max_length=300)]] = Field(default_factory=list, max_length=20)
    sorry_message: Annotated[StrictStr, Field(max_length=4000)] = ""
    away_message: Annotated[StrictStr, Field(max_length=4000)] = ""
    hours: HoursIn | None = None
    phone_field: Literal["off", "optional", "required"] = "optional"
    custom_fields: list[CustomFieldIn] = Field(default_factory=list, max_length=8)
    when_unavailable: Literal["note", "callback", "both", "none"] = "note"
    note_after_seconds: Annotated[int, Field(ge=30, le=3600)] = 180
    questions: list[QuestionIn] = Field(default_factory=list, max_length=10)


class QuestionOut(BaseModel):
    id: int
    text: str
    kind: str
    choices: list[str]
    qualifying: list[str]


class JobReqOut(BaseModel):
    id: int
    title: str
    company: str
    location: str
    description: str
    apply_url: str
    event_id: int | None
    allowed_origins: list[str]
    sorry_message: str
    away_message: str
    hours: dict[str, Any] | None
    phone_field: str
    custom_fields: list[dict[str, Any]]
    when_unavailable: str
    note_after_seconds: int
    questions: list[QuestionOut]
    assignees: list[int]
    archived: bool
    url: str
    embed: str


class AssigneeIn(LiveIn):
    user_id: Id


class NextStepsIn(LiveIn):
    next_steps: list[Annotated[StrictStr, Field(max_length=60)]] = Field(max_length=12)


class NextStepsOut(BaseModel):
    next_steps: list[str]


class CandidateChatOut(BaseModel):
    """A chat as its candidate sees it (docs/livechat.md)."""

    model_config = {"extra": "allow"}
    id: int
    status: str
    position: int | None = None
    estimated_wait: Estimate | None = None


class LiveChatOut(BaseModel):
    """A chat as its staff see it: contact, answers, job req, pages, resume, notes (docs/livechat.md)."""

    model_config = {"extra": "allow"}
    id: int
    kind: str
    queue: str
    status: str


class MessagesOut(BaseModel):
    messages: list[dict[str, Any]]


class ChatConfigOut(BaseModel):
    model_config = {"extra": "allow"}
    offered: bool
    state: Literal["open", "away", "unavailable"]


OPERATIONS: list[tuple[str, str, str, type[BaseModel] | None, type[BaseModel] | None, int, bool]] = [
    ("get", "/api/v1/job-reqs/{job_id}/chat-config", "Public: whether chat is offered, the questions and fields to ask", None, ChatConfigOut, 200,
     False),
    ("post", "/api/v1/job-reqs/{job_id}/chats", "Public: start a chat; answers are checked before the queue", StartChatIn, StartChatOut, 201, False),
    ("post", "/api/v1/events/{event_id}/live-chats", "Join a company's booth queue or the event's support queue", EventChatIn, StartChatOut, 201,
     False),
    ("post", "/api/v1/chats/continue", "Public: redeem a continue link for a token", ContinueIn, ContinueOut, 201, False),
    ("get", "/api/v1/chats/{chat_id}", "Candidate (chat token): status, position, estimate", None, CandidateChatOut, 200, False),
    ("post", "/api/v1/chats/{chat_id}/messages", "Candidate: send a line (idempotent by client_id)", MessageIn, MessageOut, 201, False),
    ("get", "/api/v1/chats/{chat_id}/messages", "Candidate: lines after ?after=SEQ", None, MessagesOut, 200, False),
    ("post", "/api/v1/chats/{chat_id}/note", "Candidate: leave a note (or ask for a callback)", NoteIn, None, 201, False),
    ("post", "/api/v1/chats/{chat_id}/end", "Candidate: end the chat", None, None, 200, False),
    ("get", "/api/v1/job-reqs", "Job reqs the caller works with", None, JobReqOut, 200, True),
    ("post", "/api/v1/job-reqs", "Create a job req with knockout questions", JobReqIn, JobReqOut, 201, False),
    ("get", "/api/v1/job-reqs/{job_id}", "One job req", None, JobReqOut, 200, False),
    ("put", "/api/v1/job-reqs/{job_id}", "Change a job req and its questions", JobReqIn, JobReqOut, 200, False),
    ("delete", "/api/v1/job-reqs/{job_id}", "Archive a job req", None, JobReqOut, 200, False),
    ("post", "/api/v1/job-reqs/{job_id}/assignees", "Assign a recruiter (or claim it yourself)", AssigneeIn, JobReqOut, 201, False),
    ("get", "/api/v1/live-agent", "My seat at the chat desk", None, AgentOut, 200, False),
    ("put", "/api/v1/live-agent", "Set availability, chats at once, automatic assignment, alerts", AgentIn, AgentOut, 200, False),
    ("get", "/api/v1/live-chats", "The caller's chats: ?status=waiting|active|ended", None, LiveChatOut, 200, True),
    ("get", "/api/v1/live-chats/{chat_id}", "One chat with contact, answers, resume and notes", None, LiveChatOut, 200, False),
    ("patch", "/api/v1/live-chats/{chat_id}", "Edit contact details and private notes", ContactIn, LiveChatOut, 200, False),
    ("post", "/api/v1/live-chats/take-next", "Take the longest-waiting candidate", None, LiveChatOut, 200, False),
    ("post", "/api/v1/live-chats/{chat_id}/take", "Take a chat; 409 already_taken or at_capacity", None, LiveChatOut, 200, False),
    ("post", "/api/v1/live-chats/{chat_id}/messages", "Send a line", MessageIn, MessageOut, 201, False),
    ("get", "/api/v1/live-chats/{chat_id}/messages", "Lines after ?after=SEQ", None, MessagesOut, 200, False),
    ("post", "/api/v1/live-chats/{chat_id}/end", "End with a next step, Finished or Follow up", EndIn, LiveChatOut, 200, False),
    ("get", "/api/v1/live-chats/export.csv", "Ended chats as CSV", None, None, 200, False),
    ("get", "/api/v1/events/{event_id}/live-next-steps", "The event's next steps for ending live chats", None, NextStepsOut, 200, False),
    ("put", "/api/v1/events/{event_id}/live-next-steps", "Set the event's next steps (organizers; empty: the defaults)", NextStepsIn,
     NextStepsOut, 200, False),
    ("post", "/api/v1/chats/{chat_id}/resume", "Candidate: upload a resume (multipart field 'file'; PDF, DOC, DOCX by content; 5 MB)", None, None,
     201, False),
    ("get", "/api/v1/live-chats/{chat_id}/resume", "The chat's resume, as an attachment (the chat's staff only)", None, None, 200, False),
    ("delete", "/api/v1/job-reqs/{job_id}/assignees/{user_id}", "Unassign a recruiter", None, None, 204, False),
]


# --------------------------------------------------------------------------- Follow Up after a chat (web/livechat/followup.py)


class FollowUpEmailIn(LiveIn):
    subject: Annotated[StrictStr, Field(min_length=1, max_length=200)]
    body: Annotated[StrictStr, Field(min_length=1, max_length=10_000)]
    copy_me: StrictBool = False


class FollowUpForwardIn(LiveIn):
    """One of to_user_id (a colleague's account) or to_email (their account's address): forwards go to staff accounts only."""

    to_user_id: Id | None = None
    to_email: Annotated[StrictStr, Field(max_length=254)] | None = None
    message: Annotated[StrictStr, Field(max_length=4000)] = ""
    include_resume: StrictBool = False
    include_transcript: StrictBool = False


class FollowUpScheduleIn(LiveIn):
    message: Annotated[StrictStr, Field(max_length=2000)] = ""


class PersonRefOut(BaseModel):
    id: int
    name: str


class FollowUpOut(BaseModel):
    chat_id: int
    action: Literal["email", "forward", "schedule"]
    sent_to: list[str]
    texted: bool = False
    shared_with: PersonRefOut | None = None
    resume: bool | None = None
    transcript: bool | None = None
    expires_at: str | None = None  # ISO 8601


class FollowUpInfoOut(BaseModel):
    """What the follow-up forms need: the candidate, colleagues to forward to, the caller's calendar, earlier forwards."""

    chat_id: int
    candidate: dict[str, Any]
    resume: dict[str, Any] | None
    colleagues: list[PersonRefOut]
    calendar: dict[str, Any]
    shares: list[dict[str, Any]]
    page: str


class FollowUpCalendarIn(LiveIn):
    slot_minutes: Literal[15, 20, 30, 45, 60] | None = None
    availability: list[WindowIn] = Field(default_factory=list, max_length=200)


class FollowUpCalendarOut(BaseModel):
    event_id: int | None
    timezone: str
    slot_minutes: int
    availability: list[dict[str, Any]]
    open_slots: int
    upcoming: list[dict[str, Any]]


OPERATIONS += [
    ("get", "/api/v1/live-chats/{chat_id}/follow-up", "Follow up: colleagues to forward to, your calendar, earlier forwards", None, FollowUpInfoOut,
     200, False),
    ("post", "/api/v1/live-chats/{chat_id}/follow-up/email", "Follow up: email the candidate (a copy to you if asked)", FollowUpEmailIn,
     FollowUpOut, 201, False),
    ("post", "/api/v1/live-chats/{chat_id}/follow-up/forward", "Follow up: forward the candidate to a colleague (staff accounts only)",
     FollowUpForwardIn, FollowUpOut, 201, False),
    ("post", "/api/v1/live-chats/{chat_id}/follow-up/schedule", "Follow up: send the candidate a link to book a chat in your calendar",
     FollowUpScheduleIn, FollowUpOut, 201, False),
    ("get", "/api/v1/live-agent/follow-up-calendar", "My follow-up calendar: slot length and availability", None, FollowUpCalendarOut, 200,
     False),
    ("put", "/api/v1/live-agent/follow-up-calendar", "Set my follow-up calendar's availability (replaced as a whole) and slot length",
     FollowUpCalendarIn, FollowUpCalendarOut, 200, False),
]
