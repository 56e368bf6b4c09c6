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
           "422": "Input fails validation", "429": "Rate limited", "503": "Busy (no database connection free in time): retry after Retry-After"}


# Errors only some operations answer with, besides _ERRORS.
_UPLOAD = {"413": "The file is too large", "415": "Not a file type accepted here"}
_MORE_ERRORS: dict[tuple[str, str], dict[str, str]] = {
    ("post", "/api/v1/chats/continue"): {"410": "The continue link has expired or is not valid"},
    ("post", "/api/v1/chats/{chat_id}/resume"): _UPLOAD,
    ("post", "/api/v1/chats/{chat_id}/attachments"): _UPLOAD,
    ("post", "/api/v1/live-chats/{chat_id}/attachments"): _UPLOAD,
}

# Other successes an operation documents besides its main one: (method, path) -> (status, description).
_ALSO = {("post", "/api/v1/events/{event_id}/participants/import"): (200, "dry_run: the preview; nothing stored")}

# OpenAPI links: what a response's ids lead to (schemathesis' stateful tests follow them; so can a client generator).
# (method, path, status) -> [(name, target method, target path, parameters, request body)]
_E, _C, _J = "/api/v1/events/{event_id}", "/api/v1/chat-requests/{chat_id}", "/api/v1/job-reqs/{job_id}"
_CHAT = {"chat_id": "$response.body#/id"}
_SAME_CHAT = {"chat_id": "$request.path.chat_id"}
_IN_EVENT = {"event_id": "$request.path.event_id"}
Link = tuple[str, str, str, dict[str, str], dict[str, Any] | None]
LINKS: dict[tuple[str, str, int], list[Link]] = {
    ("post", "/api/v1/events", 201): [
        ("GetEvent", "get", _E, {"event_id": "$response.body#/id"}, None),
        ("ChangeEvent", "put", _E, {"event_id": "$response.body#/id"}, None),
        ("AddCompany", "post", f"{_E}/companies", {"event_id": "$response.body#/id"}, None),
        ("AddParticipant", "post", f"{_E}/participants", {"event_id": "$response.body#/id"}, None),
    ],
    ("post", f"{_E}/companies", 201): [
        ("ChangeCompany", "patch", f"{_E}/companies/{{company_id}}", {**_IN_EVENT, "company_id": "$response.body#/id"}, None),
        ("RemoveCompany", "delete", f"{_E}/companies/{{company_id}}", {**_IN_EVENT, "company_id": "$response.body#/id"}, None),
    ],
    ("post", f"{_E}/participants", 201): [
        ("ChangeParticipant", "patch", f"{_E}/participants/{{user_id}}", {**_IN_EVENT, "user_id": "$response.body#/user_id"}, None),
        ("RemoveParticipant", "delete", f"{_E}/participants/{{user_id}}", {**_IN_EVENT, "user_id": "$response.body#/user_id"}, None),
        ("SignInLink", "post", f"{_E}/participants/{{user_id}}/sign-in-link", {**_IN_EVENT, "user_id": "$response.body#/user_id"}, None),
        ("Profile", "get", f"{_E}/profiles/{{user_id}}", {**_IN_EVENT, "user_id": "$response.body#/user_id"}, None),
    ],
    ("get", f"{_E}/recruiters", 200): [
        ("SendRequest", "post", f"{_E}/chat-requests", _IN_EVENT, {"recruiter_id": "$response.body#/0/user_id", "message": "Hello"}),
        ("SetRecruiter", "put", f"{_E}/recruiters/{{user_id}}", {**_IN_EVENT, "user_id": "$response.body#/0/user_id"}, None),
    ],
    ("post", f"{_E}/chat-requests", 201): [
        ("GetChat", "get", _C, _CHAT, None),
        ("Accept", "post", f"{_C}/accept", _CHAT, None),
        ("Decline", "post", f"{_C}/decline", _CHAT, None),
        ("Withdraw", "post", f"{_C}/cancel", _CHAT, None),
        ("Slots", "get", f"{_C}/slots", _CHAT, None),
    ],
    ("post", f"{_C}/accept", 200): [
        ("Slots", "get", f"{_C}/slots", _CHAT, None),
        ("GetChat", "get", _C, _CHAT, None),
        ("Cancel", "post", f"{_C}/cancel", _CHAT, None),
    ],
    ("get", f"{_C}/slots", 200): [
        ("Book", "post", f"{_C}/booking", _SAME_CHAT, {"start": "$response.body#/0/start"}),
    ],
    ("post", f"{_C}/booking", 200): [
        ("GetChat", "get", _C, _CHAT, None),
        ("Invite", "get", f"{_C}/invite.ics", _CHAT, None),
        ("Reschedule", "post", f"{_C}/reschedule", _CHAT, None),
        ("Cancel", "post", f"{_C}/cancel", _CHAT, None),
        ("Outcome", "get", "/api/v1/chats/{chat_id}/outcome", _CHAT, None),
        ("Transcript", "get", "/api/v1/chats/{chat_id}/transcript", _CHAT, None),
    ],
    ("post", f"{_C}/reschedule", 200): [
        ("Slots", "get", f"{_C}/slots", _CHAT, None),
        ("GetChat", "get", _C, _CHAT, None),
    ],
    ("post", "/api/v1/job-reqs", 201): [
        ("GetJob", "get", _J, {"job_id": "$response.body#/id"}, None),
        ("ChangeJob", "put", _J, {"job_id": "$response.body#/id"}, None),
        ("ArchiveJob", "delete", _J, {"job_id": "$response.body#/id"}, None),
        ("ChatConfig", "get", f"{_J}/chat-config", {"job_id": "$response.body#/id"}, None),
        ("Assign", "post", f"{_J}/assignees", {"job_id": "$response.body#/id"}, None),
    ],
    ("post", f"{_E}/teams", 201): [
        ("ChangeTeam", "put", "/api/v1/live-teams/{team_id}", {"team_id": "$response.body#/id"}, None),
        ("RemoveTeam", "delete", "/api/v1/live-teams/{team_id}", {"team_id": "$response.body#/id"}, None),
    ],
    ("post", f"{_E}/routing-rules", 201): [
        ("RemoveRule", "delete", "/api/v1/routing-rules/{rule_id}", {"rule_id": "$response.body#/id"}, None),
    ],
}


def operation_id(method: str, path: str) -> str:
    """A stable id from the method and path: `post_events_event_id_chat_requests`."""
    words = [w.strip("{}").replace("-", "_").replace(".", "_") for w in path.removeprefix("/api/v1/").split("/") if w]
    return "_".join([method, *words])


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
        op["operationId"] = operation_id(method, path)
        if status == 204:
            op["responses"]["204"] = {"description": "Done; no body"}
        elif out is None:
            media = next((m for suffix, m in _MEDIA.items() if path.endswith(suffix)), "application/json")
            schema_any: dict[str, Any] = {"type": "string"} if media != "application/json" else {"type": "object"}
            op["responses"][str(status)] = {"description": "OK", "content": {media: {"schema": schema_any}}}
        else:
            schema = {"type": "array", "items": refs[out]} if is_list else refs[out]
            op["responses"][str(status)] = {"description": "OK", "content": {"application/json": {"schema": schema}}}
        if (method, path) in _ALSO:
            also, text = _ALSO[(method, path)]
            op["responses"][str(also)] = {**op["responses"][str(status)], "description": text}
        for code, text in {**_ERRORS, **_MORE_ERRORS.get((method, path), {})}.items():
            op["responses"][code] = {"description": text, "content": {"application/json": {"schema": refs[sc.ErrorOut]}}}
        paths.setdefault(path, {})[method] = op
    for (method, path, status), links in LINKS.items():
        source = paths.get(path, {}).get(method)
        if source is None or str(status) not in source["responses"]:
            continue
        found = {}
        for name, target_method, target_path, parameters, link_body in links:
            if target_method in paths.get(target_path, {}):  # only links to operations the document has
                found[name] = {"operationId": operation_id(target_method, target_path), "parameters": parameters,
                               **({"requestBody": link_body} if link_body is not None else {})}
        if found:
            source["responses"][str(status)]["links"] = found
    return {
        "openapi": "3.1.0",
        "info": {"title": "Fairmeet API", "version": "1",
                 "description": "1-1 chats at hiring events and live text chat (docs/livechat.md). "
                 "Times are RFC 3339 with an offset; errors are {\"error\": {\"code\", \"message\"}}."},
        "paths": paths,
        "components": {"schemas": defs.get("$defs", {}), "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }
