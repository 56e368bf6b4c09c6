"""The roster in the JSON API (/api/v1): the people list, CSV import (dry run or all-or-nothing), export, editing and
removing people and companies, sign-in links. The same scheduling/roster.py rules as the pages; organizers and admins only."""

from __future__ import annotations

import json
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.responses import Response
from starlette.routing import Route

from scheduling import limits, roster
from scheduling.errors import Conflict
from web.api import ApiCall, BadRequest, Result, api
from web.convertors import parse_id
from web.schemas import In


class PersonOut(BaseModel):
    user_id: int
    name: str
    email: str
    role: str
    company_id: int | None
    company: str | None
    headline: str


class PeopleOut(BaseModel):
    items: list[PersonOut]
    total: int
    page: int
    pages: int
    counts: dict[str, int]


class ImportIn(In):
    model_config = ConfigDict(extra="forbid", str_max_length=roster.MAX_BYTES)
    kind: Literal["people", "companies"] = "people"
    csv: str = Field(max_length=roster.MAX_BYTES)
    dry_run: bool = False


class RowProblem(BaseModel):
    row: int
    message: str


class ImportOut(BaseModel):
    kind: str
    rows: int
    ok: bool
    file_errors: list[str]
    errors: list[RowProblem]
    new_companies: list[str]
    ignored_columns: list[str]
    imported: int


class PersonPatch(In):
    name: str = Field(min_length=1, max_length=limits.PERSON_NAME)
    headline: str = Field(default="", max_length=limits.HEADLINE)
    company_id: int | None = None


class CompanyPatch(In):
    name: str = Field(min_length=1, max_length=limits.COMPANY_NAME)
    description: str = Field(default="", max_length=limits.COMPANY_DESCRIPTION)
    website: str = Field(default="", max_length=limits.URL)
    logo_url: str = Field(default="", max_length=limits.URL)


class CompanyOut(BaseModel):
    id: int
    name: str
    description: str
    website: str
    logo_url: str


class RemovedOut(BaseModel):
    removed: str
    chats_cancelled: int


class LinkIn(In):
    deliver: Literal["email", "copy"] = "email"


class LinkOut(BaseModel):
    sent_to: str | None = None
    url: str | None = None


def _person_out(p: roster.Person) -> PersonOut:
    return PersonOut(user_id=p.user.id, name=p.user.name, email=p.user.email, role=p.member.role, company_id=p.member.company_id,
                     company=p.company.name if p.company else None, headline=p.user.headline)


def _import_out(result: roster.Preview, imported: int) -> ImportOut:
    return ImportOut(kind=result.kind, rows=len(result.rows), ok=result.ok, file_errors=result.file_errors,
                     errors=[RowProblem(row=r.number, message=e) for r in result.rows for e in r.errors],
                     new_companies=result.new_companies, ignored_columns=result.ignored_columns, imported=imported)


@api()
async def list_people(call: ApiCall) -> Result:
    event_id = call.path_int("event_id")
    await roster.require(call.session, call.user, event_id)
    q = call.request.query_params
    listing = await roster.people_page(call.session, event_id, q=q.get("q", ""), role=q.get("role", ""), company_id=parse_id(q.get("company_id", "")),
                                       page=int(q["page"]) if q.get("page", "").isdigit() and len(q["page"]) < 7 else 1)
    return 200, PeopleOut(items=[_person_out(p) for p in listing.people], total=listing.total, page=listing.page, pages=listing.pages,
                          counts=listing.counts)


async def _import_body(call: ApiCall) -> ImportIn:
    """The body, allowed up to the import's own limit (the API's usual 256 KiB is too small for a CSV of thousands)."""
    raw = await call.request.body()
    if len(raw) > roster.MAX_BYTES * 2:
        raise BadRequest("too_large", f"CSV files are limited to {roster.MAX_BYTES // 1024 // 1024} MB.", status=413)
    try:
        return ImportIn.model_validate(json.loads(raw or b"{}"))
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        raise BadRequest("invalid_json", "The body is not valid JSON.") from None
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "body"
        raise BadRequest("invalid_input", f"{where}: {first.get('msg', 'invalid')}", status=422) from None


@api()
async def import_people(call: ApiCall) -> Result:
    body = await _import_body(call)
    event_id = call.path_int("event_id")
    text = roster.decode(body.csv.encode())
    if body.dry_run:
        return 200, _import_out(await roster.preview(call.session, call.user, event_id, body.kind, text), 0)
    try:
        done = await roster.import_csv(call.session, call.ctx, call.user, event_id, body.kind, text)
    except roster.ImportRefused as err:
        problems = err.preview.messages()
        more = f"; and {len(problems) - 20} more" if len(problems) > 20 else ""
        raise Conflict(f"{err.message} {'; '.join(problems[:20])}{more}", code="import_refused") from None
    return 201, _import_out(done.preview, done.added)


async def _export(call: ApiCall, kind: str) -> Response:
    event_id = call.path_int("event_id")
    body = await (roster.export_people if kind == "people" else roster.export_companies)(call.session, call.user, event_id)
    return Response(body, media_type="text/csv; charset=utf-8", headers={"Content-Disposition": f'attachment; filename="event-{event_id}-{kind}.csv"'})


@api()
async def export_people(call: ApiCall) -> Result:
    return await _export(call, "people")


@api()
async def export_companies(call: ApiCall) -> Result:
    return await _export(call, "companies")


@api()
async def patch_person(call: ApiCall) -> Result:
    body = await call.body(PersonPatch)
    p = await roster.edit_person(call.session, call.user, call.path_int("event_id"), call.path_int("user_id"), name=body.name,
                                 headline=body.headline, company_id=body.company_id)
    return 200, _person_out(p)


@api()
async def delete_person(call: ApiCall) -> Result:
    removed = await roster.remove_person(call.session, call.ctx, call.user, call.path_int("event_id"), call.path_int("user_id"))
    return 200, RemovedOut(removed=removed.name, chats_cancelled=removed.cancelled)


@api()
async def sign_in_link(call: ApiCall) -> Result:
    body = await call.body(LinkIn)
    event_id, user_id = call.path_int("event_id"), call.path_int("user_id")
    if body.deliver == "copy":
        return 200, LinkOut(url=await roster.copy_link(call.session, call.ctx, call.user, event_id, user_id))
    user = await roster.send_link(call.session, call.ctx, call.user, event_id, user_id)
    return 200, LinkOut(sent_to=user.email)


@api()
async def patch_company(call: ApiCall) -> Result:
    body = await call.body(CompanyPatch)
    c = await roster.edit_company(call.session, call.user, call.path_int("event_id"), call.path_int("company_id"), name=body.name,
                                  description=body.description, website=body.website, logo_url=body.logo_url)
    return 200, CompanyOut(id=c.id, name=c.name, description=c.description, website=c.website, logo_url=c.logo_url)


@api()
async def delete_company(call: ApiCall) -> Result:
    name = await roster.remove_company(call.session, call.user, call.path_int("event_id"), call.path_int("company_id"))
    return 200, {"removed": name}


E = "/api/v1/events/{event_id}"
# (method, path, summary, request body, response body, success status, response is a list): see web/openapi.py
OPERATIONS: list[tuple[str, str, str, type[BaseModel] | None, type[BaseModel] | None, int, bool]] = [
    ("get", f"{E}/participants", "The event's people: ?q= (name, email, company, headline), ?role=, ?company_id=, ?page= (50 a page); "
     "counts per role (organizers)", None, PeopleOut, 200, False),
    ("post", f"{E}/participants/import", "Import people or companies from CSV text: all rows or none (409 import_refused names the "
     "rows); dry_run previews (organizers)", ImportIn, ImportOut, 201, False),
    ("get", f"{E}/participants.csv", "The event's people as CSV, formula cells neutralized (organizers)", None, None, 200, False),
    ("get", f"{E}/companies.csv", "The event's companies as CSV (organizers)", None, None, 200, False),
    ("patch", f"{E}/participants/{{user_id}}", "Change a person's name, headline and (recruiters) company (organizers)",
     PersonPatch, PersonOut, 200, False),
    ("delete", f"{E}/participants/{{user_id}}", "Remove a person; their open chats are cancelled with notices (organizers)",
     None, RemovedOut, 200, False),
    ("post", f"{E}/participants/{{user_id}}/sign-in-link", "Email a one-time sign-in link, or return it to copy (refused for admins "
     "and people in events the caller doesn't organize)", LinkIn, LinkOut, 200, False),
    ("patch", f"{E}/companies/{{company_id}}", "Change a company (organizers)", CompanyPatch, CompanyOut, 200, False),
    ("delete", f"{E}/companies/{{company_id}}", "Remove a company without recruiters (organizers)", None, None, 200, False),
]

routes = [
    Route("/api/v1/events/{event_id:id}/participants", list_people, methods=["GET"]),
    Route("/api/v1/events/{event_id:id}/participants/import", import_people, methods=["POST"]),
    Route("/api/v1/events/{event_id:id}/participants.csv", export_people, methods=["GET"]),
    Route("/api/v1/events/{event_id:id}/companies.csv", export_companies, methods=["GET"]),
    Route("/api/v1/events/{event_id:id}/participants/{user_id:id}", patch_person, methods=["PATCH"]),
    Route("/api/v1/events/{event_id:id}/participants/{user_id:id}", delete_person, methods=["DELETE"]),
    Route("/api/v1/events/{event_id:id}/participants/{user_id:id}/sign-in-link", sign_in_link, methods=["POST"]),
    Route("/api/v1/events/{event_id:id}/companies/{company_id:id}", patch_company, methods=["PATCH"]),
    Route("/api/v1/events/{event_id:id}/companies/{company_id:id}", delete_company, methods=["DELETE"]),
]
