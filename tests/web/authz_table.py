"""The authorization table of tests/web/test_authz_coverage.py: for every route of create_app() (method, path template)
and every WebSocket frame type, which roles get through. Every other role must be refused (401/403/404, a redirect to
sign-in, or a form post turned back by a not-found/forbidden error); nobody ever gets a 5xx.

Roles (tests/web/authz_world.py builds them): anonymous; talent (in the 1-1 chat); bystander (a talent of the same event,
in no chat); recruiter (of the event's company: in the 1-1 chat, owner of the live chat, manager of the job req);
organizer (of the event); admin (a platform admin taking part in no event); other (organizer of ANOTHER event); candidate
(the live chat's token); candidate2 (a candidate of another chat of the same job req, with that chat's token).
ARCHITECTURE.md, Visibility: people see only chats they take part in; organizers of the event and platform admins see
all of it; unknown and invisible ids both answer 404.

Adding a route? Add a line to SPEC (method, path template exactly as the app spells it, the roles that get through) and,
for a write, a plausible body to BODIES: a refused role must be refused even with a body that would otherwise work."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

ROLES = ("anonymous", "candidate", "candidate2", "other", "bystander", "talent", "recruiter", "organizer", "admin")
GROUPS: dict[str, frozenset[str]] = {
    "NONE": frozenset(),
    "ALL": frozenset(ROLES),
    "SIGNED": frozenset({"other", "bystander", "talent", "recruiter", "organizer", "admin"}),
    "EVENT": frozenset({"bystander", "talent", "recruiter", "organizer", "admin"}),  # the event's people, and admins
    "PARTY": frozenset({"talent", "recruiter", "organizer", "admin"}),  # the 1-1 chat's two, its organizers, admins
    "STAFF": frozenset({"recruiter", "organizer", "admin"}),  # the event's staff (live chat: owner, organizers, admins)
    "ORG": frozenset({"organizer", "admin"}),
}

# Roles for whom the event's ids don't exist: refused on a route naming one, the answer is 404 (never a 403 that would
# confirm the object is there), as for an unknown id.
OUTSIDERS = frozenset({"other"})


@dataclass(frozen=True)
class Entry:
    allow: frozenset[str]
    body: Any = None  # JSON (API) or form fields (pages; csrf added); "$key" values are world ids
    files: Mapping[str, tuple[str, bytes, str]] | None = None
    ids: Mapping[str, str] = field(default_factory=dict)  # path parameter -> world key, where the default is wrong
    query: str = ""
    login_redirect_ok: bool = False  # sign-in/out answer with a redirect to /login whoever asks
    skip: str = ""  # why the route isn't called (the reason is the entry)
    codes: Mapping[str, int] = field(default_factory=dict)  # exact statuses where the class alone would let a regression by
    secret: str = ""  # text of the event's objects that an allowed role outside `sees` must not find in the answer (lists)
    sees: frozenset[str] = frozenset()
    note: str = ""


def roles(spec: str) -> frozenset[str]:
    """"ORG+talent", "SIGNED-bystander": groups and role names joined by + and -."""
    out: set[str] = set()
    for sign, name in re.findall(r"([+-]?)([A-Za-z_]+)", spec):
        part = GROUPS.get(name, frozenset({name}))
        assert part <= set(ROLES), name
        out = out - part if sign == "-" else out | part
    return frozenset(out)


def _default_id(path: str, param: str) -> str:
    if param == "chat_id":
        live = path.startswith(("/api/v1/live-chats/", "/live/", "/jobs/")) or (
            path.startswith("/api/v1/chats/") and not path.endswith(("/outcome", "/transcript")))
        return "live_id" if live else "chat_id"
    if param == "user_id":
        if "/recruiters/" in path or "/request/" in path or "/assignees/" in path:
            return "recruiter_id"
        if "/api/v1/events/{event_id:id}/participants/" in path:
            return "bystander_id"
        return "talent_id"
    if param == "token":
        return "login_link" if path.startswith("/login/") else "feed"
    if param == "signed":
        return "book" if path.startswith("/book/") else "continue_signed"
    return param


def fill(method: str, path: str, entry: Entry, ids: Mapping[str, Any]) -> str:
    def one(m: re.Match[str]) -> str:
        param = m.group(1)
        if param == "op":
            return "send"
        if param == "path":
            return "app.css"
        return str(ids[entry.ids.get(param) or _default_id(path, param)])

    url = re.sub(r"\{([a-z_]+)(?::[a-z]+)?\}", one, path)
    return url + (f"?{entry.query}" if entry.query else "")


def resolve(body: Any, ids: Mapping[str, Any]) -> Any:
    if isinstance(body, str) and re.fullmatch(r"\$[a-z_]+", body):
        return ids[body[1:]]
    if isinstance(body, str):
        return re.sub(r"\$([a-z_]+)", lambda m: str(ids[m.group(1)]), body)
    if isinstance(body, dict):
        return {k: resolve(v, ids) for k, v in body.items()}
    if isinstance(body, list):
        return [resolve(v, ids) for v in body]
    return body


# method  path template  roles that get through
SPEC = """
GET    /                                                                        SIGNED
GET    /account                                                                 SIGNED
POST   /account                                                                 SIGNED
GET    /api/openapi.json                                                        ALL
GET    /api/rtc/netcheck                                                        SIGNED
POST   /api/rtc/netcheck                                                        NONE  # needs the room page's X-CSRF-Token + Origin
GET    /api/v1/chat-requests/{chat_id:id}                                       PARTY
POST   /api/v1/chat-requests/{chat_id:id}/accept                                recruiter  # only the receiver; on a confirmed chat 409 (was: 200, un-confirmed)
POST   /api/v1/chat-requests/{chat_id:id}/booking                               talent+recruiter
POST   /api/v1/chat-requests/{chat_id:id}/cancel                                PARTY
POST   /api/v1/chat-requests/{chat_id:id}/decline                               recruiter
GET    /api/v1/chat-requests/{chat_id:id}/invite.ics                            PARTY
POST   /api/v1/chat-requests/{chat_id:id}/reschedule                            PARTY
GET    /api/v1/chat-requests/{chat_id:id}/slots                                 PARTY
POST   /api/v1/chats/continue                                                   ALL
GET    /api/v1/chats/{chat_id:id}                                               candidate
POST   /api/v1/chats/{chat_id:id}/attachments                                   candidate
GET    /api/v1/chats/{chat_id:id}/attachments/{attachment_id:id}                candidate
POST   /api/v1/chats/{chat_id:id}/end                                           candidate
GET    /api/v1/chats/{chat_id:id}/messages                                      candidate
POST   /api/v1/chats/{chat_id:id}/messages                                      candidate
POST   /api/v1/chats/{chat_id:id}/note                                          candidate
GET    /api/v1/chats/{chat_id:id}/outcome                                       STAFF
PUT    /api/v1/chats/{chat_id:id}/outcome                                       recruiter
POST   /api/v1/chats/{chat_id:id}/rating                                        candidate
POST   /api/v1/chats/{chat_id:id}/resume                                        candidate
GET    /api/v1/chats/{chat_id:id}/transcript                                    PARTY
POST   /api/v1/events                                                           admin
GET    /api/v1/events/{event_id:id}                                             EVENT
PUT    /api/v1/events/{event_id:id}                                             ORG
GET    /api/v1/events/{event_id:id}/chat-requests                               EVENT
POST   /api/v1/events/{event_id:id}/chat-requests                               bystander+talent+recruiter
GET    /api/v1/events/{event_id:id}/chats/export                                ORG
GET    /api/v1/events/{event_id:id}/companies                                   EVENT
POST   /api/v1/events/{event_id:id}/companies                                   ORG
GET    /api/v1/events/{event_id:id}/companies.csv                               ORG
DELETE /api/v1/events/{event_id:id}/companies/{company_id:id}                   ORG
PATCH  /api/v1/events/{event_id:id}/companies/{company_id:id}                   ORG
GET    /api/v1/events/{event_id:id}/dashboard                                   ORG
GET    /api/v1/events/{event_id:id}/desk-settings                               STAFF
PUT    /api/v1/events/{event_id:id}/desk-settings                               ORG
POST   /api/v1/events/{event_id:id}/live-chats                                  bystander+talent
GET    /api/v1/events/{event_id:id}/live-next-steps                             EVENT
PUT    /api/v1/events/{event_id:id}/live-next-steps                             ORG
GET    /api/v1/events/{event_id:id}/me                                          EVENT
GET    /api/v1/events/{event_id:id}/participants                                ORG
POST   /api/v1/events/{event_id:id}/participants                                ORG
GET    /api/v1/events/{event_id:id}/participants.csv                            ORG
POST   /api/v1/events/{event_id:id}/participants/import                         ORG
DELETE /api/v1/events/{event_id:id}/participants/{user_id:id}                   ORG
PATCH  /api/v1/events/{event_id:id}/participants/{user_id:id}                   ORG
POST   /api/v1/events/{event_id:id}/participants/{user_id:id}/sign-in-link      ORG
GET    /api/v1/events/{event_id:id}/profiles                                    EVENT
GET    /api/v1/events/{event_id:id}/profiles/{user_id:id}                       PARTY
GET    /api/v1/events/{event_id:id}/recruiters                                  EVENT
PUT    /api/v1/events/{event_id:id}/recruiters/{user_id:id}                     STAFF
GET    /api/v1/events/{event_id:id}/routing-rules                               ORG
POST   /api/v1/events/{event_id:id}/routing-rules                               ORG
GET    /api/v1/events/{event_id:id}/talents/{user_id:id}/cv                     PARTY
GET    /api/v1/events/{event_id:id}/teams                                       STAFF
POST   /api/v1/events/{event_id:id}/teams                                       ORG
GET    /api/v1/job-reqs                                                         SIGNED
POST   /api/v1/job-reqs                                                         STAFF
DELETE /api/v1/job-reqs/{job_id:id}                                             STAFF
GET    /api/v1/job-reqs/{job_id:id}                                             STAFF
PUT    /api/v1/job-reqs/{job_id:id}                                             STAFF
POST   /api/v1/job-reqs/{job_id:id}/assignees                                   STAFF
DELETE /api/v1/job-reqs/{job_id:id}/assignees/{user_id:id}                      STAFF
GET    /api/v1/job-reqs/{job_id:id}/chat-config                                 ALL
OPTIONS /api/v1/job-reqs/{job_id:id}/chat-config                                 ALL
POST   /api/v1/job-reqs/{job_id:id}/chats                                       ALL
GET    /api/v1/live-agent                                                       SIGNED
PUT    /api/v1/live-agent                                                       SIGNED
GET    /api/v1/live-agent/follow-up-calendar                                    STAFF+other
PUT    /api/v1/live-agent/follow-up-calendar                                    STAFF+other
GET    /api/v1/live-articles                                                    STAFF+other
POST   /api/v1/live-articles                                                    ORG
DELETE /api/v1/live-articles/{article_id:id}                                    ORG
GET    /api/v1/live-articles/{article_id:id}                                    STAFF
PUT    /api/v1/live-articles/{article_id:id}                                    ORG
GET    /api/v1/live-chats                                                       SIGNED
GET    /api/v1/live-chats/export.csv                                            SIGNED
GET    /api/v1/live-chats/ongoing                                               SIGNED
POST   /api/v1/live-chats/take-next                                             SIGNED
GET    /api/v1/live-chats/{chat_id:id}                                          STAFF
PATCH  /api/v1/live-chats/{chat_id:id}                                          STAFF-organizer
POST   /api/v1/live-chats/{chat_id:id}/accept                                   STAFF
POST   /api/v1/live-chats/{chat_id:id}/ask-rating                               STAFF-organizer
GET    /api/v1/live-chats/{chat_id:id}/attachments                              STAFF
POST   /api/v1/live-chats/{chat_id:id}/attachments                              STAFF
GET    /api/v1/live-chats/{chat_id:id}/attachments/{attachment_id:id}           STAFF
GET    /api/v1/live-chats/{chat_id:id}/colleagues                               STAFF
POST   /api/v1/live-chats/{chat_id:id}/decline                                  STAFF
POST   /api/v1/live-chats/{chat_id:id}/end                                      STAFF-organizer
GET    /api/v1/live-chats/{chat_id:id}/follow-up                                STAFF-organizer
POST   /api/v1/live-chats/{chat_id:id}/follow-up/email                          STAFF-organizer
POST   /api/v1/live-chats/{chat_id:id}/follow-up/forward                        STAFF-organizer
POST   /api/v1/live-chats/{chat_id:id}/follow-up/schedule                       STAFF-organizer
POST   /api/v1/live-chats/{chat_id:id}/forward                                  STAFF
POST   /api/v1/live-chats/{chat_id:id}/invite                                   STAFF
POST   /api/v1/live-chats/{chat_id:id}/join                                     STAFF
POST   /api/v1/live-chats/{chat_id:id}/leave                                    STAFF
GET    /api/v1/live-chats/{chat_id:id}/messages                                 STAFF
POST   /api/v1/live-chats/{chat_id:id}/messages                                 STAFF
GET    /api/v1/live-chats/{chat_id:id}/resume                                   STAFF
POST   /api/v1/live-chats/{chat_id:id}/take                                     recruiter
POST   /api/v1/live-chats/{chat_id:id}/take-over                                STAFF
GET    /api/v1/live-offers                                                      SIGNED
GET    /api/v1/live-replies                                                     STAFF+other
POST   /api/v1/live-replies                                                     STAFF+other
DELETE /api/v1/live-replies/{reply_id:id}                                       recruiter
GET    /api/v1/live-replies/{reply_id:id}                                       recruiter
PUT    /api/v1/live-replies/{reply_id:id}                                       recruiter
GET    /api/v1/live-report                                                      STAFF+other
DELETE /api/v1/live-teams/{team_id:id}                                          ORG
PUT    /api/v1/live-teams/{team_id:id}                                          ORG
GET    /api/v1/live-tickets                                                     SIGNED
GET    /api/v1/live-tickets/{ticket_id:id}                                      STAFF
PATCH  /api/v1/live-tickets/{ticket_id:id}                                      STAFF
POST   /api/v1/live-tickets/{ticket_id:id}/reply                                STAFF
POST   /api/v1/live-tickets/{ticket_id:id}/transcript                           STAFF
DELETE /api/v1/routing-rules/{rule_id:id}                                       ORG
POST   /api/v1/tokens                                                           ALL
GET    /articles/{article_id:id}                                                ALL
GET    /book/{signed}                                                           ALL
POST   /book/{signed}                                                           ALL
GET    /book/{signed}/invite.ics                                                NONE  # nothing booked from it here: 404 (was a 30 s lock wait, 500)
GET    /calendar/{token}.ics                                                    ALL
GET    /chats/{chat_id:id}                                                      PARTY
POST   /chats/{chat_id:id}/accept                                               recruiter  # receiver; confirmed chat: refused (was un-confirmed)
POST   /chats/{chat_id:id}/book                                                 talent+recruiter
POST   /chats/{chat_id:id}/cancel                                               PARTY
POST   /chats/{chat_id:id}/decline                                              recruiter
GET    /chats/{chat_id:id}/invite.ics                                           PARTY
GET    /chats/{chat_id:id}/organize                                             ORG
POST   /chats/{chat_id:id}/organize/cancel                                      ORG
POST   /chats/{chat_id:id}/organize/reschedule                                  ORG
POST   /chats/{chat_id:id}/outcome                                              recruiter
POST   /chats/{chat_id:id}/reschedule                                           PARTY
POST   /chats/{chat_id:id}/resend                                               talent
GET    /chats/{chat_id:id}/room                                                 PARTY-admin  # the two and the organizers, not an outside admin
GET    /chats/{chat_id:id}/room/token                                           PARTY-admin  # as the room
GET    /demo/careers                                                            ALL
GET    /events                                                                  ALL
POST   /events                                                                  admin
GET    /events/new                                                              admin
GET    /events/{event_id:id}                                                    EVENT
GET    /events/{event_id:id}/announcements                                      ORG
POST   /events/{event_id:id}/announcements                                      ORG
POST   /events/{event_id:id}/announcements/delete                               ORG
GET    /events/{event_id:id}/booths/{company_id:id}                             bystander+talent
GET    /events/{event_id:id}/chats.csv                                          ORG
GET    /events/{event_id:id}/dashboard                                          ORG
GET    /events/{event_id:id}/manage                                             ORG
POST   /events/{event_id:id}/manage                                             ORG
GET    /events/{event_id:id}/manage/companies.csv                               ORG
GET    /events/{event_id:id}/manage/companies/{company_id:id}                   ORG
POST   /events/{event_id:id}/manage/companies/{company_id:id}                   ORG
GET    /events/{event_id:id}/manage/import                                      ORG
POST   /events/{event_id:id}/manage/import                                      ORG
GET    /events/{event_id:id}/manage/people.csv                                  ORG
GET    /events/{event_id:id}/manage/people/{user_id:id}                         ORG
POST   /events/{event_id:id}/manage/people/{user_id:id}                         ORG
GET    /events/{event_id:id}/me                                                 bystander+talent+recruiter
POST   /events/{event_id:id}/me                                                 bystander+talent+recruiter
POST   /events/{event_id:id}/me/cv                                              bystander+talent+recruiter
POST   /events/{event_id:id}/me/cv/remove                                       bystander+talent+recruiter
GET    /events/{event_id:id}/profile                                            recruiter
POST   /events/{event_id:id}/profile                                            recruiter
GET    /events/{event_id:id}/recruiters                                         EVENT
GET    /events/{event_id:id}/request/{user_id:id}                               bystander+talent
POST   /events/{event_id:id}/request/{user_id:id}                               bystander+talent
GET    /events/{event_id:id}/schedule                                           EVENT
GET    /events/{event_id:id}/support                                            EVENT
GET    /events/{event_id:id}/talents                                            STAFF
GET    /events/{event_id:id}/talents/{user_id:id}/cv                            PARTY
GET    /favicon.ico                                                             ALL
GET    /healthz                                                                 ALL
GET    /jobs/{job_id:id}                                                        ALL
GET    /jobs/{job_id:id}/chat                                                   ALL
POST   /jobs/{job_id:id}/chat                                                   ALL
GET    /jobs/{job_id:id}/chat/{chat_id:id}                                      candidate
POST   /jobs/{job_id:id}/chat/{chat_id:id}/{op:str}                             candidate
GET    /jobs/{job_id:id}/widget                                                 ALL
GET    /live/articles                                                           STAFF+other
POST   /live/articles                                                           ORG
GET    /live/articles/new                                                       ORG+other
GET    /live/articles/{article_id:id}                                           STAFF
POST   /live/articles/{article_id:id}                                           ORG
POST   /live/articles/{article_id:id}/delete                                    ORG
GET    /live/availability                                                       STAFF+other
POST   /live/availability                                                       STAFF+other
GET    /live/chats/{chat_id:id}/follow-up                                       STAFF-organizer
POST   /live/chats/{chat_id:id}/follow-up/email                                 STAFF-organizer
POST   /live/chats/{chat_id:id}/follow-up/forward                               STAFF-organizer
POST   /live/chats/{chat_id:id}/follow-up/schedule                              STAFF-organizer
GET    /live/console                                                            SIGNED
GET    /live/continue/{signed}                                                  ALL
POST   /live/events/{event_id:id}/next-steps                                    ORG
GET    /live/history                                                            SIGNED
GET    /live/history/{chat_id:id}                                               STAFF
GET    /live/jobs                                                               SIGNED
POST   /live/jobs                                                               STAFF
GET    /live/jobs/new                                                           STAFF+other
GET    /live/jobs/{job_id:id}                                                   STAFF
POST   /live/jobs/{job_id:id}                                                   STAFF
POST   /live/jobs/{job_id:id}/archive                                           STAFF
POST   /live/jobs/{job_id:id}/assignees                                         STAFF
POST   /live/jobs/{job_id:id}/assignees/{user_id:id}/remove                     STAFF
GET    /live/replies                                                            STAFF+other
POST   /live/replies                                                            STAFF+other
GET    /live/replies/new                                                        STAFF+other
GET    /live/replies/{reply_id:id}                                              recruiter
POST   /live/replies/{reply_id:id}                                              recruiter
POST   /live/replies/{reply_id:id}/delete                                       recruiter
GET    /live/report                                                             STAFF+other
GET    /live/report.csv                                                         STAFF+other
GET    /live/shared/{chat_id:id}/resume                                         STAFF
GET    /live/teams                                                              STAFF+other
POST   /live/teams/events/{event_id:id}/rules                                   ORG
POST   /live/teams/events/{event_id:id}/settings                                ORG
POST   /live/teams/events/{event_id:id}/teams                                   ORG
POST   /live/teams/rules/{rule_id:id}/delete                                    ORG
POST   /live/teams/{team_id:id}                                                 ORG
POST   /live/teams/{team_id:id}/delete                                          ORG
GET    /live/tickets                                                            SIGNED
GET    /live/tickets/{ticket_id:id}                                             STAFF
POST   /live/tickets/{ticket_id:id}                                             STAFF
POST   /live/tickets/{ticket_id:id}/reply                                       STAFF
POST   /live/tickets/{ticket_id:id}/transcript                                  STAFF
GET    /livez                                                                   ALL
GET    /login                                                                   ALL
POST   /login                                                                   ALL
POST   /login/link                                                              ALL
GET    /login/link/{token}                                                      ALL
POST   /login/link/{token}                                                      ALL
POST   /logout                                                                  ALL  # a redirect to sign-in is its answer for everyone
GET    /mailbox                                                                 SIGNED
GET    /metrics                                                                 NONE  # 404 without FAIRMEET_METRICS_TOKEN (test_metrics.py)
GET    /readyz                                                                  ALL
GET    /static/{path}                                                           ALL
GET    /widget.js                                                               ALL
WS     /ws/live                                                             NONE  # a WebSocket: WS_HANDSHAKE and WS_FRAMES below
WS     /ws/live/console                                                     NONE  # a WebSocket: WS_HANDSHAKE and WS_FRAMES below
WS     /ws/rooms/{chat_id:id}                                               NONE  # a WebSocket: WS_HANDSHAKE and WS_FRAMES below
"""

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PW = "correct horse battery"
EVENT = {"name": "Spring Fair", "timezone": "Europe/Berlin", "starts_at": "2026-03-21T08:00:00Z", "ends_at": "2026-03-23T08:00:00Z"}
JOB = {"title": "Backend Engineer", "company": "Acme", "location": "Berlin", "description": "Python.", "event_id": "$event_id"}
REPLY = {"title": "Where is our booth?", "keywords": "booth", "body": "Hall 3."}
ARTICLE = {"event_id": "$event_id", "title": "How interviews work", "keywords": "video", "body": "In your browser."}
E = "/api/v1/events/{event_id:id}"
LC = "/api/v1/live-chats/{chat_id:id}"
# Plausible bodies: what a client allowed to act would send. A refused role sends the same and must still be refused.
BODIES: dict[tuple[str, str], Any] = {
    ("POST", "/api/v1/tokens"): {"email": "by@authz.test", "password": PW},
    ("POST", "/api/v1/events"): {**EVENT, "name": "Autumn Days"},
    ("PUT", E): EVENT,
    ("POST", f"{E}/companies"): {"name": "Initech"},
    ("PATCH", f"{E}/companies/{{company_id:id}}"): {"name": "Acme"},
    ("POST", f"{E}/participants"): {"email": "new@authz.test", "name": "New Person", "role": "talent"},
    ("POST", f"{E}/participants/import"): {"csv": "email,name,role\nnew@authz.test,New Person,talent\n", "dry_run": True},
    ("PATCH", f"{E}/participants/{{user_id:id}}"): {"name": "Bystander"},
    ("POST", f"{E}/teams"): {"name": "Second desk", "member_ids": []},
    ("PUT", f"{E}/live-next-steps"): {"next_steps": ["Interview", "Not now"]},
    ("POST", f"{E}/routing-rules"): {"kind": "booth", "team_id": "$team_id"},
    ("PUT", f"{E}/desk-settings"): {},
    ("POST", f"{E}/chat-requests"): {"recruiter_id": "$recruiter_id", "message": "Hi"},
    ("PUT", f"{E}/recruiters/{{user_id:id}}"): {"booking_mode": "selective", "custom_question": "", "ideal_candidate": "Tinkerers"},
    ("POST", f"{E}/live-chats"): {"company_id": "$company_id"},
    ("POST", "/api/v1/chat-requests/{chat_id:id}/reschedule"): {"reason": "A clash"},
    ("POST", "/api/v1/chat-requests/{chat_id:id}/cancel"): {"reason": "A clash"},
    ("POST", "/api/v1/chat-requests/{chat_id:id}/booking"): {"start": "2026-03-21T11:00:00+01:00"},
    ("PUT", "/api/v1/chats/{chat_id:id}/outcome"): {"notes": "Good", "rating": 4, "next_step": "Interview", "no_show": False},
    ("POST", "/api/v1/chats/continue"): {"link": "http://testserver/live/continue/$continue_signed"},
    ("POST", "/api/v1/chats/{chat_id:id}/messages"): {"client_id": "authz-1", "text": "Hello"},
    ("POST", "/api/v1/chats/{chat_id:id}/note"): {"text": "Please call me back."},
    ("POST", "/api/v1/chats/{chat_id:id}/rating"): {"score": 5},
    ("POST", "/api/v1/chats/{chat_id:id}/end"): {},
    ("POST", "/api/v1/job-reqs"): JOB,
    ("PUT", "/api/v1/job-reqs/{job_id:id}"): JOB,
    ("POST", "/api/v1/job-reqs/{job_id:id}/assignees"): {"user_id": "$organizer_id"},
    ("POST", "/api/v1/job-reqs/{job_id:id}/chats"): {"name": "Finn", "email": "finn@mail.example", "answers": {}},
    ("PUT", "/api/v1/live-agent"): {"available": True, "capacity": 3},
    ("PUT", "/api/v1/live-agent/follow-up-calendar"): {"slot_minutes": 30, "availability": []},
    ("PATCH", LC): {"private_notes": "Strong candidate."},
    ("POST", f"{LC}/end"): {"next_step": "Interview", "outcome": "finished"},
    ("POST", f"{LC}/messages"): {"client_id": "authz-2", "text": "Hello"},
    ("POST", f"{LC}/join"): {"invisible": True},
    ("POST", f"{LC}/take-over"): {},
    ("POST", f"{LC}/forward"): {"user_id": "$organizer_id", "note": "Over to you"},
    ("POST", f"{LC}/invite"): {"user_id": "$organizer_id", "note": "Join us"},
    ("POST", f"{LC}/leave"): {},
    ("POST", f"{LC}/accept"): {},
    ("POST", f"{LC}/decline"): {},
    ("POST", f"{LC}/follow-up/email"): {"subject": "Thanks", "body": "Thanks for the chat."},
    ("POST", f"{LC}/follow-up/forward"): {"to_user_id": "$organizer_id", "message": "FYI"},
    ("POST", f"{LC}/follow-up/schedule"): {"message": "Talk more?"},
    ("POST", "/api/v1/live-replies"): REPLY,
    ("PUT", "/api/v1/live-replies/{reply_id:id}"): REPLY,
    ("POST", "/api/v1/live-articles"): ARTICLE,
    ("PUT", "/api/v1/live-articles/{article_id:id}"): {k: v for k, v in ARTICLE.items() if k != "event_id"},
    ("PUT", "/api/v1/live-teams/{team_id:id}"): {"name": "Nightowls", "member_ids": ["$recruiter_id"]},
    ("PATCH", "/api/v1/live-tickets/{ticket_id:id}"): {"status": "solved"},
    ("POST", "/api/v1/live-tickets/{ticket_id:id}/reply"): {"text": "Here is the answer."},
    ("POST", "/api/v1/live-tickets/{ticket_id:id}/transcript"): {},
    # pages: the form fields (csrf added)
    ("POST", "/login"): {"email": "by@authz.test", "password": PW, "next": "/account"},
    ("POST", "/login/link"): {"email": "by@authz.test"},
    ("POST", "/account"): {"op": "profile", "name": "Some One", "timezone": "UTC"},
    ("POST", "/events"): {"name": "Autumn Days", "timezone": "Europe/Berlin", "starts_date": "2026-05-01", "starts_time": "09:00",
                          "ends_date": "2026-05-02", "ends_time": "17:00", "requests_by": "both", "slot_minutes": "30", "buffer_minutes": "0"},
    ("POST", "/events/{event_id:id}/manage/import"): {"kind": "people", "text": "email,name,role\nnew@authz.test,New Person,talent\n"},
    ("POST", "/events/{event_id:id}/announcements/delete"): {"announcement_id": "$announcement_id"},
    ("POST", "/live/availability"): {"op": "length", "slot_minutes": "30"},
    ("POST", "/chats/{chat_id:id}/cancel"): {"reason": "A clash"},
    ("POST", "/chats/{chat_id:id}/reschedule"): {"reason": "A clash"},
    ("POST", "/chats/{chat_id:id}/book"): {"start": "2026-03-21T10:00:00+00:00"},
    ("POST", "/chats/{chat_id:id}/outcome"): {"notes": "Good", "rating": "4", "next_step": "Interview"},
    ("POST", "/chats/{chat_id:id}/organize/cancel"): {"reason": "The recruiter is ill"},
    ("POST", "/chats/{chat_id:id}/organize/reschedule"): {"reason": "A clash", "start": "2026-03-21T10:00:00+00:00"},
    ("POST", "/events/{event_id:id}/announcements"): {"audience": "all", "title": "Welcome", "body": "Doors open at 9."},
    ("POST", "/events/{event_id:id}/request/{user_id:id}"): {"message": "Hi"},
    ("POST", "/events/{event_id:id}/me"): {"headline": "Engineer", "skills": "python"},
    ("POST", "/live/jobs"): {"title": "Data Analyst", "company": "Acme", "event_id": "$event_id", "note_after_seconds": "180"},
    ("POST", "/live/jobs/{job_id:id}"): {"title": "Backend Engineer", "company": "Acme", "event_id": "$event_id", "note_after_seconds": "180"},
    ("POST", "/live/jobs/{job_id:id}/assignees"): {"user_id": "$organizer_id"},
    ("POST", "/live/replies"): REPLY,
    ("POST", "/live/replies/{reply_id:id}"): REPLY,
    ("POST", "/live/articles"): {**ARTICLE, "scope": "$event_id", "published": "1"},
    ("POST", "/live/articles/{article_id:id}"): {**ARTICLE, "scope": "$event_id", "published": "1"},
    ("POST", "/live/tickets/{ticket_id:id}"): {"status": "solved"},
    ("POST", "/live/tickets/{ticket_id:id}/reply"): {"text": "Here is the answer."},
    ("POST", "/live/teams/events/{event_id:id}/teams"): {"name": "Second desk"},
    ("POST", "/live/teams/{team_id:id}"): {"name": "Nightowls", "member_ids": "$recruiter_id"},
    ("POST", "/live/chats/{chat_id:id}/follow-up/email"): {"subject": "Thanks", "body": "Thanks for the chat."},
    ("POST", "/live/chats/{chat_id:id}/follow-up/forward"): {"to_user_id": "$organizer_id", "message": "FYI"},
    ("POST", "/live/chats/{chat_id:id}/follow-up/schedule"): {"message": "Talk more?"},
    ("POST", "/jobs/{job_id:id}/chat"): {"name": "Finn", "email": "finn@mail.example"},
    ("POST", "/jobs/{job_id:id}/chat/{chat_id:id}/{op:str}"): {"text": "Hello again", "client_id": "authz-3"},
    ("POST", "/book/{signed}"): {"start": "2026-03-25T09:00:00+00:00", "tz": "UTC"},
}
FILES: dict[tuple[str, str], Mapping[str, tuple[str, bytes, str]]] = {
    ("POST", "/api/v1/chats/{chat_id:id}/attachments"): {"file": ("notes.pdf", PDF, "application/pdf")},
    ("POST", f"{LC}/attachments"): {"file": ("notes.pdf", PDF, "application/pdf")},
    ("POST", "/api/v1/chats/{chat_id:id}/resume"): {"file": ("cv.pdf", PDF, "application/pdf")},
    ("POST", "/events/{event_id:id}/me/cv"): {"cv": ("cv.pdf", PDF, "application/pdf")},
}
# Lists and pages everyone signed in may open, filtered to what the viewer may see: (a text only the event's objects hold,
# who may find it). Cara: the live chat's candidate; Dora: the ticket's; the 1-1 chat's message; the event's team, job
# req, article; the recruiter's own saved reply.
SECRETS: dict[tuple[str, str], tuple[str, str]] = {
    ("GET", "/api/v1/live-chats"): ("Cara", "STAFF"),
    ("GET", "/api/v1/live-chats/export.csv"): ("Cara", "STAFF"),
    ("GET", "/api/v1/live-chats/ongoing"): ("Cara", "STAFF"),
    ("GET", "/live/history"): ("Cara", "STAFF"),
    ("GET", "/api/v1/live-tickets"): ("Dora", "STAFF"),
    ("GET", "/live/tickets"): ("Dora", "STAFF"),
    ("GET", "/api/v1/job-reqs"): ("Backend Engineer", "STAFF"),
    ("GET", "/live/jobs"): ("Backend Engineer", "STAFF"),
    ("GET", "/api/v1/live-articles"): ("How interviews work", "STAFF"),
    ("GET", "/live/articles"): ("How interviews work", "STAFF"),
    ("GET", "/api/v1/live-replies"): ("Where is our booth?", "recruiter"),
    ("GET", "/live/replies"): ("Where is our booth?", "recruiter"),
    ("GET", "/live/teams"): ("Nightowls", "STAFF"),
    ("GET", "/api/v1/events/{event_id:id}/chat-requests"): ("Robots are my thing", "PARTY"),
    ("GET", "/events/{event_id:id}/schedule"): ("Tilda Talwell", "PARTY"),
    ("GET", "/mailbox"): ("Talk more?", "admin"),  # the local mailbox (no SMTP): each their own mail; admins all of it
    ("GET", "/live/console"): ("Cara", "STAFF"),
    ("GET", "/api/v1/live-offers"): ("Cara", "STAFF"),
    ("GET", "/api/v1/live-report"): ("Nightowls", "STAFF"),
}
EXTRA: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/login"): {"login_redirect_ok": True},
    ("POST", "/login/link"): {"login_redirect_ok": True},
    ("POST", "/logout"): {"login_redirect_ok": True},
    ("GET", "/book/{signed}/invite.ics"): {"note": "nothing is booked from the link in this world: 404 for everyone"},
    # The chat is confirmed: accepting it again is a conflict (it used to un-confirm it, keeping its slot's busy blocks).
    ("POST", "/api/v1/chat-requests/{chat_id:id}/accept"): {"codes": {"recruiter": 409}},
}


def _routes() -> dict[tuple[str, str], Entry]:
    out: dict[tuple[str, str], Entry] = {}
    for line in SPEC.strip().splitlines():
        method, path, spec = line.split(None, 2)
        key = (method, path)
        assert key not in out, key
        allow = GROUPS["NONE"] if spec.strip() == "?" else roles(spec.split("#")[0])
        extra = dict(EXTRA.get(key, {}))
        if key in SECRETS:
            extra["secret"], extra["sees"] = SECRETS[key][0], roles(SECRETS[key][1])
        out[key] = Entry(allow, body=BODIES.get(key), files=FILES.get(key), **extra)
    return out


ROUTES = _routes()


# --------------------------------------------------------------------------- WebSockets

ROOM, CANDIDATE, CONSOLE = "/ws/rooms/{chat_id:id}", "/ws/live", "/ws/live/console"
# Who gets through each socket's handshake (the rest: refused before or at hello: 4401/4403 or an HTTP 403).
WS_HANDSHAKE: dict[str, frozenset[str]] = {
    ROOM: roles("talent+recruiter+organizer"),  # the chat's two people and the event's organizers (badge); not admins
    CANDIDATE: roles("candidate"),
    CONSOLE: roles("recruiter+organizer+admin+other"),  # staff somewhere; what they may watch is checked per chat
}


@dataclass(frozen=True)
class Frame:
    frame: Mapping[str, Any]  # "$key" values are world ids
    sender: str  # an admitted role whose frame is handled
    answer: str = ""  # the frame type that shows it was handled: "ack", "pong"... ("" : nothing but the socket stays up)
    listener: str = ""  # ...or this role's socket on the same chat receives `answer`
    refused: tuple[str, ...] = ()  # admitted roles whose same frame gets an error frame (never a crash, never delivery)
    note: str = ""


SIGNAL = {"type": "signal", "to": "$peer_conn", "data": {"candidate": {"candidate": "candidate:1 1 udp 1 192.0.2.1 9 typ host", "sdpMid": "0"}}}
# Every frame type of signaling/protocol.py (room) and signaling/livechat.py (candidate, console), keyed (socket, type).
WS_FRAMES: dict[tuple[str, str], Frame] = {
    (ROOM, "hello"): Frame({"type": "hello", "v": 1, "conn": "authz-again"}, "talent", refused=("talent",),
                           note="the first frame; a second hello is refused with an error frame"),
    (ROOM, "signal"): Frame(SIGNAL, "talent", "signal", listener="recruiter"),
    (ROOM, "chat"): Frame({"type": "chat", "client_id": "ws-room-1", "text": "Hello"}, "talent", "ack"),
    (ROOM, "typing"): Frame({"type": "typing", "active": True}, "talent", "typing", listener="recruiter"),
    (ROOM, "media"): Frame({"type": "media", "mic": True, "cam": False}, "talent", "media", listener="recruiter"),
    (ROOM, "resume"): Frame({"type": "resume", "after": 0}, "talent", "event"),
    (ROOM, "ping"): Frame({"type": "ping"}, "talent", "pong"),
    (CANDIDATE, "hello"): Frame({"type": "hello", "v": 1, "conn": "authz-again", "chat": "$live_id", "token": "$candidate_token"},
                                "candidate", refused=("candidate",), note="the first frame; a second hello is refused"),
    (CANDIDATE, "chat"): Frame({"type": "chat", "client_id": "ws-cand-1", "text": "Hello"}, "candidate", "ack"),
    (CANDIDATE, "typing"): Frame({"type": "typing", "active": True}, "candidate", "typing", listener="recruiter"),
    (CANDIDATE, "page"): Frame({"type": "page", "url": "https://jobs.acme.example/backend"}, "candidate", "page", listener="recruiter"),
    (CANDIDATE, "resume"): Frame({"type": "resume", "after": 0}, "candidate", "event"),
    (CANDIDATE, "ping"): Frame({"type": "ping"}, "candidate", "pong"),
    (CONSOLE, "hello"): Frame({"type": "hello", "v": 1, "conn": "authz-again"}, "recruiter", refused=("recruiter",),
                              note="the first frame; a second hello is refused"),
    (CONSOLE, "watch"): Frame({"type": "watch", "chat": "$live_id"}, "recruiter", "watching", refused=("other",),
                              note="another event's organizer may open the console but not watch this event's chat"),
    (CONSOLE, "unwatch"): Frame({"type": "unwatch", "chat": "$live_id"}, "recruiter"),
    (CONSOLE, "chat"): Frame({"type": "chat", "chat": "$live_id", "client_id": "ws-staff-1", "text": "Hi"}, "recruiter", "ack",
                             refused=("other", "organizer"),
                             note="the organizer is an invisible monitor of the chat (joined invisibly): reads, never writes"),
    (CONSOLE, "typing"): Frame({"type": "typing", "chat": "$live_id", "active": True}, "recruiter", "typing", listener="candidate",
                               refused=("other", "organizer"), note="a monitor's or stranger's typing is never relayed"),
    (CONSOLE, "heartbeat"): Frame({"type": "heartbeat"}, "recruiter", "pong"),
    (CONSOLE, "ping"): Frame({"type": "ping"}, "recruiter", "pong"),
}
# Frames of one socket sent on another (a candidate sending console frames...): an error frame, the socket stays up.
WS_CROSS: dict[str, tuple[str, ...]] = {
    CANDIDATE: ("watch", "unwatch", "heartbeat", "signal", "media"),
    CONSOLE: ("page", "signal", "media"),
    ROOM: ("watch", "page", "heartbeat"),
}


# --------------------------------------------------------------------------- crossed ids
# A role allowed on the route, with one id swapped for another event's (or another chat's) object: refused or a 4xx,
# never a success. (method, path, role, {param: world key}, body)
CROSSED: list[tuple[str, str, str, dict[str, str], Any]] = [
    ("GET", "/api/v1/chats/{chat_id:id}/attachments/{attachment_id:id}", "candidate", {"attachment_id": "other_attachment_id"}, None),
    ("GET", f"{LC}/attachments/{{attachment_id:id}}", "recruiter", {"attachment_id": "other_attachment_id"}, None),
    ("GET", f"{LC}/attachments/{{attachment_id:id}}", "organizer", {"attachment_id": "other_attachment_id"}, None),
    ("PATCH", f"{E}/companies/{{company_id:id}}", "organizer", {"company_id": "other_company_id"}, {"name": "Mine now"}),
    ("DELETE", f"{E}/companies/{{company_id:id}}", "organizer", {"company_id": "other_company_id"}, None),
    ("PATCH", f"{E}/participants/{{user_id:id}}", "organizer", {"user_id": "other_user_id"}, {"name": "Renamed"}),
    ("DELETE", f"{E}/participants/{{user_id:id}}", "organizer", {"user_id": "other_user_id"}, None),
    ("POST", f"{E}/participants/{{user_id:id}}/sign-in-link", "organizer", {"user_id": "other_user_id"}, None),
    ("PUT", f"{E}/recruiters/{{user_id:id}}", "organizer", {"user_id": "other_user_id"}, BODIES[("PUT", f"{E}/recruiters/{{user_id:id}}")]),
    ("GET", f"{E}/profiles/{{user_id:id}}", "organizer", {"user_id": "other_user_id"}, None),
    ("GET", f"{E}/talents/{{user_id:id}}/cv", "organizer", {"user_id": "other_user_id"}, None),
    ("GET", "/events/{event_id:id}/talents/{user_id:id}/cv", "recruiter", {"user_id": "bystander_id"}, None),
    ("GET", "/events/{event_id:id}/manage/companies/{company_id:id}", "organizer", {"company_id": "other_company_id"}, None),
    ("POST", "/events/{event_id:id}/manage/companies/{company_id:id}", "organizer", {"company_id": "other_company_id"}, {"name": "Mine now"}),
    ("GET", "/events/{event_id:id}/manage/people/{user_id:id}", "organizer", {"user_id": "other_user_id"}, None),
    ("POST", "/events/{event_id:id}/manage/people/{user_id:id}", "organizer", {"user_id": "other_user_id"}, {"name": "Renamed"}),
    ("GET", "/events/{event_id:id}/booths/{company_id:id}", "talent", {"company_id": "other_company_id"}, None),
    ("GET", "/events/{event_id:id}/request/{user_id:id}", "talent", {"user_id": "other_user_id"}, None),
    ("POST", "/events/{event_id:id}/request/{user_id:id}", "bystander", {"user_id": "other_user_id"}, {"message": "Hi"}),
    ("POST", f"{E}/chat-requests", "bystander", {}, {"recruiter_id": "$other_user_id", "message": "Hi"}),
    ("POST", "/api/v1/job-reqs/{job_id:id}/assignees", "recruiter", {}, {"user_id": "$other_user_id"}),
    ("POST", f"{E}/teams", "organizer", {}, {"name": "Mixed", "member_ids": ["$other_user_id"]}),
    ("POST", f"{LC}/forward", "recruiter", {}, {"user_id": "$other_user_id"}),
    ("POST", f"{LC}/invite", "recruiter", {}, {"user_id": "$other_user_id"}),
    ("POST", f"{LC}/follow-up/forward", "recruiter", {"chat_id": "ended_id"}, {"to_user_id": "$other_user_id", "message": "FYI"}),
    ("GET", "/jobs/{job_id:id}/chat/{chat_id:id}", "candidate", {"chat_id": "left_id"}, None),
    ("POST", "/api/v1/job-reqs", "recruiter", {}, {**JOB, "event_id": "$other_event_id"}),
    ("POST", f"{E}/routing-rules", "organizer", {}, {"kind": "booth", "user_id": "$other_user_id"}),
]
