"""Request and response bodies of the desk library's API: saved replies and articles (documented in the OpenAPI document).

String bounds here are generous caps against huge bodies; the real limits (title 120/200, keywords 300, text 4000/20000
characters) are checked by scheduling.livechat.library, whose 422 names the field and the limit in words."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, StrictBool, StrictStr

from web.livechat.schemas import OPERATIONS, LiveIn
from web.schemas import Id

Title = Annotated[StrictStr, Field(max_length=1000)]
Keywords = Annotated[StrictStr, Field(max_length=2000)]
Body = Annotated[StrictStr, Field(max_length=40000)]


class ReplyIn(LiveIn):
    title: Title
    keywords: Keywords = ""
    body: Body
    event_id: Id | None = None  # shared with this event's staff (its organizers only); none: personal


class ReplyUpdateIn(LiveIn):
    title: Title
    keywords: Keywords = ""
    body: Body


class EventRefOut(BaseModel):
    id: int
    name: str


class ReplyOut(BaseModel):
    id: int
    title: str
    keywords: str
    body: str
    scope: str  # personal | shared
    event: EventRefOut | None
    paragraphs: list[str]  # the pieces "Send in pieces" sends, in order
    can_edit: bool
    updated_at: str


class ArticleIn(LiveIn):
    event_id: Id
    title: Title
    keywords: Keywords = ""
    body: Body
    published: StrictBool = True


class ArticleUpdateIn(LiveIn):
    title: Title
    keywords: Keywords = ""
    body: Body
    published: StrictBool = True


class ArticleOut(BaseModel):
    id: int
    event: EventRefOut
    title: str
    keywords: str
    body: str
    published: bool
    url: str | None  # the public page of a published article
    can_edit: bool
    updated_at: str


OPERATIONS += [
    ("get", "/api/v1/live-replies", "Your saved replies and the ones shared at events where you are staff; ?q= searches title, keywords and "
     "text (case-insensitive)", None, ReplyOut, 200, True),
    ("post", "/api/v1/live-replies", "Save a reply: personal, or shared with an event's staff (`event_id`, organizers)", ReplyIn, ReplyOut, 201, False),
    ("get", "/api/v1/live-replies/{reply_id}", "One saved reply", None, ReplyOut, 200, False),
    ("put", "/api/v1/live-replies/{reply_id}", "Change a saved reply (yours; a shared one: the event's organizers)", ReplyUpdateIn, ReplyOut, 200,
     False),
    ("delete", "/api/v1/live-replies/{reply_id}", "Delete a saved reply (yours; a shared one: the event's organizers)", None, None, 204, False),
    ("get", "/api/v1/live-articles", "Articles of events where you are staff (drafts at events you organize); ?q= searches, ?event_id= narrows",
     None, ArticleOut, 200, True),
    ("post", "/api/v1/live-articles", "Write an article for an event's knowledge base (organizers)", ArticleIn, ArticleOut, 201, False),
    ("get", "/api/v1/live-articles/{article_id}", "One article", None, ArticleOut, 200, False),
    ("put", "/api/v1/live-articles/{article_id}", "Change an article (organizers)", ArticleUpdateIn, ArticleOut, 200, False),
    ("delete", "/api/v1/live-articles/{article_id}", "Delete an article (organizers)", None, None, 204, False),
]
