"""Profiles in /api/v1: search the event's talents (recruiters, organizers) or recruiters (everyone at the event), read one
profile, download a talent's CV. The same rules as the pages: unknown and invisible people answer 404."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from starlette.routing import Route

from scheduling import actions, profiles, queries
from scheduling.errors import Forbidden, Invalid
from scheduling.models import Role
from web.api import ApiCall, BadRequest, api
from web.http import res
from web.openapi import OPERATIONS
from web.profile_pages import cv_response

Result = Any


class CvOut(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    size: int
    type: str
    url: Annotated[str, Field(description="Download with the same token (Content-Disposition: attachment)")]


class ProfileOut(BaseModel):
    """A person of the event as others see them. `cv` is present only when the caller may download it."""

    model_config = ConfigDict(extra="forbid")
    user_id: int
    name: str
    role: Literal["talent", "recruiter", "organizer"]
    headline: str
    skills: list[str]
    linkedin_url: str
    portfolio_url: str
    company: str | None
    cv: CvOut | None


OPERATIONS.extend([
    ("get", "/api/v1/events/{event_id}/profiles",
     "Search people: ?role=talent (recruiters, organizers) or recruiter, ?q= words in name, headline, skills (and company), ?skill= one skill",
     None, ProfileOut, 200, True),
    ("get", "/api/v1/events/{event_id}/profiles/{user_id}", "One person's profile (talents' only to recruiters, organizers and themselves)",
     None, ProfileOut, 200, False),
    ("get", "/api/v1/events/{event_id}/talents/{user_id}/cv",
     "A talent's CV (the talent, recruiters with a 1-1 chat with them in the event, organizers); 404 for anyone else", None, None, 200, False),
])


def _out(event_id: int, card: profiles.PersonCard, role: str, company: str | None, cv_ok: bool) -> dict[str, Any]:
    cv = None
    if cv_ok and card.has_cv:
        cv = {"name": card.cv_name, "size": card.cv_size, "type": card.cv_type, "url": f"/api/v1/events/{event_id}/talents/{card.user_id}/cv"}
    return {"user_id": card.user_id, "name": card.name, "role": role, "headline": card.headline, "skills": list(card.skills),
            "linkedin_url": card.linkedin_url, "portfolio_url": card.portfolio_url, "company": company, "cv": cv}


def _query(call: ApiCall, name: str) -> str:
    try:
        return profiles.checked_query(call.request.query_params.get(name, ""))
    except Invalid as err:
        raise BadRequest("invalid_input", f"{name}: {err.message}", status=422) from None


@api()
async def search(call: ApiCall) -> Result:
    event = await actions.get_event(call.session, call.path_int("event_id"))
    member = await actions.require_member(call.session, event, call.user)
    mine = member.role if member else "admin"
    role = call.request.query_params.get("role") or ("recruiter" if mine == Role.TALENT.value else "talent")
    if role not in ("talent", "recruiter"):
        raise BadRequest("invalid_input", "role: give talent or recruiter.", status=422)
    q, skill = _query(call, "q"), _query(call, "skill")
    if role == "talent":
        if mine not in ("recruiter", "organizer", "admin"):
            raise Forbidden("Only recruiters and organizers search talents.", code="forbidden")
        cards = await profiles.talent_cards(call.session, event.id, q=q, skill=skill)
        ok = await profiles.cv_readable(call.session, call.user, member, event.id, [c.user_id for c in cards if c.has_cv])
        return 200, [_out(event.id, c, "talent", None, c.user_id in ok) for c in cards]
    ids = await profiles.recruiter_ids_matching(call.session, event.id, q=q, skill=skill)
    found = await profiles.cards_for(call.session, ids)
    companies = await queries.recruiter_companies(call.session, event.id, ids)
    ordered = sorted(found.values(), key=lambda c: (c.name, c.user_id))
    return 200, [_out(event.id, c, "recruiter", companies[c.user_id].name if c.user_id in companies else None, False) for c in ordered]


@api()
async def one(call: ApiCall) -> Result:
    event = await actions.get_event(call.session, call.path_int("event_id"))
    member = await actions.require_member(call.session, event, call.user)
    user_id = call.path_int("user_id")
    other = await profiles.may_see_profile(call.session, call.user, member, event.id, user_id)
    card = await profiles.card_for(call.session, user_id)
    company = (await queries.recruiter_companies(call.session, event.id, [user_id])).get(user_id)
    ok = other.role == Role.TALENT.value and user_id in await profiles.cv_readable(call.session, call.user, member, event.id, [user_id])
    return 200, _out(event.id, card, other.role, company.name if company else None, ok)


@api()
async def cv(call: ApiCall) -> Result:
    row = await profiles.readable_cv(call.session, call.user, call.path_int("event_id"), call.path_int("user_id"))
    return cv_response(res(call.request).settings, row)


routes = [
    Route("/api/v1/events/{event_id:id}/profiles", search, methods=["GET"]),
    Route("/api/v1/events/{event_id:id}/profiles/{user_id:id}", one, methods=["GET"]),
    Route("/api/v1/events/{event_id:id}/talents/{user_id:id}/cv", cv, methods=["GET"]),
]
