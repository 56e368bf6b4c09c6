"""The OpenAPI 3.1 document of /api/v1, built from the pydantic schemas the endpoints use."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from web import chat_api
from web import schemas as sc
from web.livechat import schemas as live
from web.organizer import dashboard_pages, roster_api

# (method, path, summary, request body, response body, success status, response is a list)
OPERATIONS: list[tuple[str, str, str, type[BaseModel] | None, type[BaseModel] | None, int, bool]] = [
    ("post", "/api/v1/tokens", "Sign in with email and password; returns a bearer token", sc.TokenIn, sc.TokenOut, 201, False),
    ("post", "/api/v1/events", "Create an event (platform admins)", sc.EventIn, sc.EventOut, 201, False),
    ("get", "/api/v1/events/{event_id}", "An event and its 1-1 chat format", None, sc.EventOut, 200, False),
    ("put", "/api/v1/events/{event_id}", "Change an event and its chat format (organizers)", sc.EventIn, sc.EventOut, 200, False),
    ("get", "/api/v1/events/{event_id}/me", "The caller's role, chats left and tab counts", None, sc.MeOut, 200, False),
    ("post", "/api/v1/events/{event_id}/companies", "Add a company (organizers)", sc.CompanyIn, sc.CompanyOut, 201, False),
    ("get", "/api/v1/events/{event_id}/companies", "The event's companies", None, sc.CompanyOut, 200, True),
    ("post", "/api/v1/events/{event_id}/participants", "Add a recruiter, talent or organizer; without a password they get an invite email",
     sc.ParticipantIn, sc.ParticipantOut, 201, False),
    ("get", "/api/v1/events/{event_id}/recruiters", "Recruiters with open slots and requests received; filter with ?company_id=",
     None, sc.RecruiterOut, 200, True),
    ("put", "/api/v1/events/{event_id}/recruiters/{user_id}", "Set a recruiter's booking mode, question and availability",
     sc.RecruiterIn, sc.RecruiterOut, 200, False),
    ("post", "/api/v1/events/{event_id}/chat-requests", "Send a 1-1 chat request", sc.ChatRequestIn, sc.ChatOut, 201, False),
    ("get", "/api/v1/events/{event_id}/chat-requests", "The caller's chats; filter with ?status=", None, sc.ChatOut, 200, True),
    ("get", "/api/v1/chat-requests/{chat_id}", "One chat", None, sc.ChatOut, 200, False),
    ("post", "/api/v1/chat-requests/{chat_id}/accept", "Accept a request (its receiver)", None, sc.ChatOut, 200, False),
    ("post", "/api/v1/chat-requests/{chat_id}/decline", "Decline a request (its receiver)", sc.ReasonIn, sc.ChatOut, 200, False),
    ("post", "/api/v1/chat-requests/{chat_id}/cancel", "Withdraw a request or cancel a chat; a reason is required once confirmed",
     sc.ReasonIn, sc.ChatOut, 200, False),
    ("post", "/api/v1/chat-requests/{chat_id}/reschedule", "Release a confirmed chat's slot, or move it to `start`",
     sc.RescheduleIn, sc.ChatOut, 200, False),
    ("get", "/api/v1/chat-requests/{chat_id}/slots", "Slots free for both people", None, sc.SlotOut, 200, True),
    ("post", "/api/v1/chat-requests/{chat_id}/booking", "Confirm the chat at a slot; 409 slot_taken when someone was faster",
     sc.BookingIn, sc.ChatOut, 200, False),
    ("get", "/api/v1/chat-requests/{chat_id}/invite.ics", "The chat's iCalendar invite", None, None, 200, False),
]

_ERRORS = {"400": "Malformed JSON", "401": "No or bad token", "403": "Not allowed for the caller's role",
           "404": "Unknown id (or not visible to the caller)", "409": "State conflict: illegal transition, slot taken, quota used up",
           "422": "Input fails validation", "429": "Rate limited"}


_PUBLIC = {"/api/v1/tokens", "/api/v1/job-reqs/{job_id}/chat-config", "/api/v1/job-reqs/{job_id}/chats", "/api/v1/chats/continue"}
_MEDIA = {".ics": "text/calendar", ".csv": "text/csv"}


def document() -> dict[str, Any]:
    operations = OPERATIONS + live.OPERATIONS + chat_api.OPERATIONS + list(dashboard_pages.OPERATIONS) + roster_api.OPERATIONS
    models = {m for op in operations for m in (op[3], op[4]) if m is not None} | {sc.ErrorOut}
    keyed, defs = models_json_schema([(m, "validation") for m in sorted(models, key=lambda m: m.__name__)],
                                     ref_template="#/components/schemas/{model}")
    refs = {m: schema for (m, _), schema in keyed.items()}
    paths: dict[str, dict[str, Any]] = {}
    for method, path, summary, body, out, status, is_list in operations:
        op: dict[str, Any] = {"summary": summary, "responses": {}}
        params = [p.strip("{}") for p in path.split("/") if p.startswith("{")]
        if params:
            op["parameters"] = [{"name": p, "in": "path", "required": True, "schema": {"type": "integer"}} for p in params]
        if path not in _PUBLIC:
            op["security"] = [{"bearer": []}]
        if body is not None:
            op["requestBody"] = {"required": True, "content": {"application/json": {"schema": refs[body]}}}
        if out is None:
            media = next((m for suffix, m in _MEDIA.items() if path.endswith(suffix)), "application/json")
            schema_any: dict[str, Any] = {"type": "string"} if media != "application/json" else {"type": "object"}
            op["responses"][str(status)] = {"description": "OK", "content": {media: {"schema": schema_any}}}
        else:
            schema = {"type": "array", "items": refs[out]} if is_list else refs[out]
            op["responses"][str(status)] = {"description": "OK", "content": {"application/json": {"schema": schema}}}
        for code, text in _ERRORS.items():
            op["responses"][code] = {"description": text, "content": {"application/json": {"schema": refs[sc.ErrorOut]}}}
        paths.setdefault(path, {})[method] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "Fairmeet API", "version": "1",
                 "description": "1-1 chats at hiring events and live text chat (docs/livechat.md). "
                 "Times are RFC 3339 with an offset; errors are {\"error\": {\"code\", \"message\"}}."},
        "paths": paths,
        "components": {"schemas": defs.get("$defs", {}), "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }
