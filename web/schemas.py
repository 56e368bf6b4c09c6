"""The JSON API's request and response bodies (pydantic); the OpenAPI document is built from them."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from scheduling import limits, timefmt
from scheduling.errors import Invalid
from web.convertors import MAX_ID


def _instant(value: dt.datetime) -> dt.datetime:
    try:
        return timefmt.checked_instant(value)
    except Invalid as err:
        raise ValueError(err.message) from None


Instant = Annotated[AwareDatetime, AfterValidator(_instant)]
Id = Annotated[int, Field(ge=1, le=MAX_ID)]


class In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=5000)

    @field_validator("*", mode="before")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        # PostgreSQL text can't hold NUL; refuse it here rather than fail in the database.
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("text can't contain NUL characters")
        return value


class TokenIn(In):
    email: str = Field(max_length=254)
    password: str = Field(max_length=1024)


class UserOut(BaseModel):
    id: int
    email: str
    name: str


class TokenOut(BaseModel):
    token: str
    user: UserOut


class ChatFormatIn(In):
    requests_by: Literal["talents", "recruiters", "both"] = "talents"
    slot_minutes: int = 30
    buffer_minutes: int = 0
    max_requests_per_talent: int | None = None
    max_chats_per_talent: int | None = None
    room_opens_minutes_before: int = 5


class EventIn(In):
    name: str = Field(min_length=1, max_length=limits.EVENT_NAME)
    description: str = Field(default="", max_length=limits.EVENT_DESCRIPTION)
    timezone: str
    starts_at: Instant
    ends_at: Instant
    support_email: str = Field(default="", max_length=limits.EMAIL)
    chat_format: ChatFormatIn = Field(default_factory=ChatFormatIn)


class EventOut(BaseModel):
    id: int
    name: str
    description: str
    timezone: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    support_email: str
    chat_format: ChatFormatIn


class CompanyIn(In):
    name: str = Field(min_length=1, max_length=limits.COMPANY_NAME)
    description: str = Field(default="", max_length=limits.COMPANY_DESCRIPTION)
    website: str = Field(default="", max_length=limits.URL)
    logo_url: str = Field(default="", max_length=limits.URL)


class CompanyOut(BaseModel):
    id: int
    event_id: int
    name: str
    description: str
    website: str
    logo_url: str


class ParticipantIn(In):
    email: str = Field(max_length=limits.EMAIL)
    name: str = Field(min_length=1, max_length=limits.PERSON_NAME)
    role: Literal["talent", "recruiter", "organizer"]
    company_id: Id | None = None
    password: str | None = Field(default=None, max_length=1024)


class ParticipantOut(BaseModel):
    user_id: int
    event_id: int
    role: str
    name: str
    email: str
    company_id: int | None
    invited_by_email: bool


class WindowIn(In):
    start: Instant
    end: Instant


class RecruiterIn(In):
    booking_mode: Literal["selective", "direct"] = "selective"
    custom_question: str = Field(default="", max_length=limits.CUSTOM_QUESTION)
    ideal_candidate: str = Field(default="", max_length=limits.IDEAL_CANDIDATE)
    availability: list[WindowIn] | None = Field(default=None, max_length=500)


class CompanyRef(BaseModel):
    id: int
    name: str


class RecruiterOut(BaseModel):
    user_id: int
    name: str
    company: CompanyRef | None
    open_slots: int
    requests_received: int
    custom_question: str
    ideal_candidate: str
    booking_mode: str


class ChatRequestIn(In):
    recruiter_id: Id | None = None
    talent_id: Id | None = None
    message: str = Field(default="", max_length=limits.MESSAGE)
    answer: str = Field(default="", max_length=limits.ANSWER)


class PersonRef(BaseModel):
    id: int
    name: str


class ChatOut(BaseModel):
    id: int
    event_id: int
    status: str
    talent: PersonRef
    recruiter: PersonRef
    company: CompanyRef | None
    sender_id: int
    message: str
    question: str
    answer: str
    start: dt.datetime | None
    end: dt.datetime | None
    reason: str
    created_at: dt.datetime
    updated_at: dt.datetime
    invite_url: str | None
    room_url: str | None


class ReasonIn(In):
    reason: str = Field(default="", max_length=limits.REASON)


class RescheduleIn(In):
    reason: str = Field(max_length=limits.REASON)
    start: Instant | None = None


class BookingIn(In):
    start: Instant


class SlotOut(BaseModel):
    start: dt.datetime
    end: dt.datetime


class MeOut(BaseModel):
    role: str
    requests_left: int | None
    chats_left: int | None
    tabs: dict[str, int]


class ErrorBody(BaseModel):
    code: str
    message: str


class ErrorOut(BaseModel):
    error: ErrorBody
