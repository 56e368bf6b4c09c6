"""The organizer's roster: CSV import (preview, per-row errors, all or nothing, races), export, the people list,
editing and removing people and companies, sign-in links and who may have them. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import csv
import io
import re
import time

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from scheduling import accounts, actions
from scheduling.db import create_sessionmaker
from scheduling.livechat.desk_models import Team, TeamMember
from scheduling.models import BusyBlock, ChatRequest, Company, LoginLink, OutboxMessage, Participant, User
from tests.factories import PASSWORD, World, make_world
from tests.web.conftest import FakeClock
from tests.web.test_pages import csrf_of, sign_in

HEADER = "name,email,role,company,headline\n"


def people_csv(n: int, *, start: int = 0, company: str = "Acme Robotics") -> str:
    lines = [HEADER]
    for i in range(start, start + n):
        if i % 10 == 0:
            lines.append(f"Rec {i:04d},rec{i:04d}@import.test,recruiter,{company},\n")
        else:
            lines.append(f"Talent {i:04d},tal{i:04d}@import.test,talent,,\"Engineer, {i} years\"\n")
    return "".join(lines)


async def count(sm: async_sessionmaker[AsyncSession], stmt: object) -> int:
    async with sm() as s:
        return int((await s.execute(stmt)).scalar_one())  # type: ignore[call-overload]


async def participants(sm: async_sessionmaker[AsyncSession], event_id: int) -> int:
    return await count(sm, select(func.count()).select_from(Participant).where(Participant.event_id == event_id))


async def preview(client: httpx.AsyncClient, event_id: int, text: str, kind: str = "people") -> httpx.Response:
    page = await client.get(f"/events/{event_id}/manage/import?kind={kind}")
    assert page.status_code == 200
    return await client.post(f"/events/{event_id}/manage/import", data={"csrf": csrf_of(page.text), "kind": kind, "op": "preview"},
                             files={"file": ("people.csv", text.encode(), "text/csv")})


def confirm_data(html: str) -> dict[str, str]:
    digest = re.search(r'name="digest" value="([^"]+)"', html)
    text = re.search(r'<textarea name="text" hidden[^>]*>\n(.*?)</textarea>', html, re.S)
    kind = re.search(r'name="kind" value="([^"]+)"', html)
    assert digest and text and kind, "the preview offers no confirm form"
    import html as h

    return {"csrf": csrf_of(html), "op": "confirm", "kind": kind.group(1), "digest": digest.group(1), "text": h.unescape(text.group(1))}


async def organizer(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock, **kw: object) -> tuple[World, async_sessionmaker[AsyncSession]]:
    sm = create_sessionmaker(engine)
    w = await make_world(sm, clock.now, **kw)  # type: ignore[arg-type]
    r = await sign_in(client, "org@example.test")
    assert r.status_code == 303
    return w, sm


# --------------------------------------------------------------------------- import


async def test_preview_lists_every_row_with_its_errors_in_words_and_nothing_is_written(client: httpx.AsyncClient, engine: AsyncEngine,
                                                                                      clock: FakeClock) -> None:
    w, sm = await organizer(client, engine, clock)
    text = (HEADER
            + "Ann One,ann@import.test,talent,,Designer\n"          # row 2: fine
            + "Bad Mail,not-an-address,talent,,\n"                  # row 3
            + "Ann Again,ANN@import.test,talent,,\n"                # row 4: same email as row 2 (case folded)
            + "Rob Rec,rob@import.test,recruiter,,\n"               # row 5: recruiter without company
            + "Cara,cara@import.test,candidate,,\n"                 # row 6: unknown role
            + "Tom Again,tal0@example.test,talent,,\n"              # row 7: already in the event
            + "Nina New,nina@import.test,recruiter,Brand New Co,\n"  # row 8: a company to create
            + "Tina,tina@import.test,talent,Acme Robotics,\n")     # row 9: talents have no company
    before = await participants(sm, w.event_id)
    r = await preview(client, w.event_id, text)
    assert r.status_code == 422
    page = re.sub(r"<[^>]+>", "", r.text)  # the list links each row number to its row
    for message in ("row 3: email “not-an-address” is not a valid address", "row 4: email ann@import.test is also on row 2",
                    "row 5: a recruiter needs a company", "row 6: role “candidate” must be talent, recruiter or organizer",
                    "row 7: tal0@example.test already takes part in this event (as talent)",
                    "row 9: only recruiters belong to a company; leave company empty for a talent"):
        assert message in page, message
    assert "new company “Brand New Co”" in page and "6 problems to fix: nothing will be imported" in page
    assert "Import all" not in page  # no confirm while there are errors
    # Every row is listed, the good ones too.
    assert "Ann One" in page and "Nina New" in page
    # Confirming the same text anyway (a forged or stale form) writes nothing and says why.
    good = await preview(client, w.event_id, HEADER + "Ann One,ann@import.test,talent,,Designer\n")
    data = confirm_data(good.text)
    data["text"], data["digest"] = text, ""
    r = await client.post(f"/events/{w.event_id}/manage/import", data=data)
    assert r.status_code == 409 and "Nothing was imported" in r.text and 'row 3</a>: email' in r.text
    assert await participants(sm, w.event_id) == before
    assert await count(sm, select(func.count()).select_from(User).where(User.email.like("%@import.test"))) == 0


async def test_three_hundred_people_import_in_one_go_quickly(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    w, sm = await organizer(client, engine, clock)
    text = people_csv(300, company="Quartz Labs")
    t0 = time.perf_counter()
    r = await preview(client, w.event_id, text)
    t_preview = time.perf_counter() - t0
    assert r.status_code == 200, r.text[:2000]
    assert "300 people ready to import" in r.text and "Quartz Labs" in r.text
    before = await participants(sm, w.event_id)
    t0 = time.perf_counter()
    r = await client.post(f"/events/{w.event_id}/manage/import", data=confirm_data(r.text))
    t_import = time.perf_counter() - t0
    print(f"\n[{engine.dialect.name}] 300-row CSV: preview {t_preview * 1000:.0f} ms, import {t_import * 1000:.0f} ms")
    assert r.status_code == 303, r.text[:2000]
    assert t_import < 5, "a 300-row import should take well under a few seconds"
    page = await client.get(r.headers["location"])
    assert "Imported 300 people; each got an email with a sign-in link. 1 new company created." in page.text
    assert await participants(sm, w.event_id) == before + 300
    assert await count(sm, select(func.count()).select_from(OutboxMessage).where(OutboxMessage.kind == "invitation",
                                                                                 OutboxMessage.to_email.like("%@import.test"))) == 300
    assert await count(sm, select(func.count()).select_from(LoginLink).join(User, User.id == LoginLink.user_id)
                       .where(User.email.like("%@import.test"))) == 300
    async with sm() as s:
        quartz = (await s.execute(select(Company).where(Company.event_id == w.event_id, Company.name == "Quartz Labs"))).scalar_one()
        recs = (await s.execute(select(func.count()).select_from(Participant).where(Participant.company_id == quartz.id))).scalar_one()
        assert recs == 30
        mail = (await s.execute(select(OutboxMessage).where(OutboxMessage.to_email == "tal0001@import.test"))).scalar_one()
        link = re.search(r"(/login/link/[^\s?]+)", mail.body_text)
        assert link and "Spring Hiring Days" in mail.subject
    # The list tells who hasn't signed in yet; the imported person signs in with the link from their invitation.
    listed = (await client.get(f"/events/{w.event_id}/manage", params={"q": "tal0001@"})).text
    assert "Not signed in yet" in listed
    async with httpx.AsyncClient(transport=client._transport, base_url="http://testserver") as guest:  # noqa: SLF001
        landing = await guest.get(link.group(1))
        r = await guest.post(link.group(1), data={"csrf": csrf_of(landing.text), "next": f"/events/{w.event_id}"})
        assert r.status_code == 303
        assert "Talent 0001" in (await guest.get("/account")).text
    listed = (await client.get(f"/events/{w.event_id}/manage", params={"q": "tal0001@"})).text
    assert "Talent 0001" in listed and "Not signed in yet" not in listed


async def test_header_is_forgiving_cells_are_strict(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    w, sm = await organizer(client, engine, clock)
    # A byte order mark, semicolons, another order and case, an extra column, CRLF line ends, a blank line.
    text = "\ufeffE-Mail;NAME;Role;Headline;Phone\r\nzoe@import.test;Zoë Zed;Talent;Data person;123\r\n\r\nyan@import.test;Yan;ORGANIZER;;\r\n"
    r = await preview(client, w.event_id, text)
    assert r.status_code == 200 and "2 people ready to import" in r.text and "Columns not used: Phone." in r.text
    r = await client.post(f"/events/{w.event_id}/manage/import", data=confirm_data(r.text))
    assert r.status_code == 303
    async with sm() as s:
        zoe = await accounts.user_by_email(s, "zoe@import.test")
        assert zoe is not None and zoe.name == "Zoë Zed" and zoe.headline == "Data person"
        yan = await accounts.user_by_email(s, "yan@import.test")
        assert yan is not None and (await actions.participation(s, w.event_id, yan.id)).role == "organizer"  # type: ignore[union-attr]
    # Missing required columns and broken files are named.
    r = await preview(client, w.event_id, "name,mail address\nA,a@x.test\n")
    assert r.status_code == 422 and "The header has no email or role column" in r.text and "Columns not used: mail address." in r.text
    page = await client.get(f"/events/{w.event_id}/manage/import")
    r = await client.post(f"/events/{w.event_id}/manage/import", data={"csrf": csrf_of(page.text), "kind": "people", "op": "preview"},
                          files={"file": ("x.csv", "name,email,role\nJosé,j@x.test,talent\n".encode("latin-1"), "text/csv")})
    assert r.status_code == 422 and "not UTF-8" in r.text


async def test_size_and_row_limits_are_clear(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    w, sm = await organizer(client, engine, clock)
    big = HEADER + "".join(f"T {i},t{i}@x.test,talent,,\n" for i in range(5001))
    r = await preview(client, w.event_id, big)
    assert r.status_code == 422 and "more than 5,000 rows" in r.text
    huge = HEADER + ("Long Name,l@x.test,talent,," + "h" * 190 + "\n") * 11000
    assert len(huge.encode()) > 2 * 1024 * 1024
    r = await preview(client, w.event_id, huge)
    assert r.status_code == 422 and "files are limited to 2 MB" in r.text
    # Pasted text works the same as a file, and a refusal keeps what was pasted.
    page = await client.get(f"/events/{w.event_id}/manage/import")
    r = await client.post(f"/events/{w.event_id}/manage/import",
                          data={"csrf": csrf_of(page.text), "kind": "people", "op": "preview", "text": "name,email\nA,a@x.test\n"})
    assert r.status_code == 422 and "The header has no role column" in r.text
    assert "<details open><summary>Or fix the rows here</summary>" in r.text and "name,email\nA,a@x.test\n</textarea>" in r.text
    r = await client.post(f"/events/{w.event_id}/manage/import", data={"csrf": csrf_of(page.text), "kind": "people", "op": "preview", "text": ""})
    assert r.status_code == 422 and "Choose a CSV file or paste its rows" in r.text


async def test_two_organizers_importing_the_same_file_at_once(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    """One import wins; the other is told clearly and writes nothing; nobody is in the event twice."""
    w, sm = await organizer(client, engine, clock)
    text = people_csv(120)
    first = await preview(client, w.event_id, text)
    data_org = confirm_data(first.text)
    async with httpx.AsyncClient(transport=client._transport, base_url="http://testserver") as admin:  # noqa: SLF001
        await sign_in(admin, "admin@example.test")
        second = await preview(admin, w.event_id, text)
        data_admin = confirm_data(second.text)
        before = await participants(sm, w.event_id)
        results = await asyncio.gather(
            client.post(f"/events/{w.event_id}/manage/import", data=data_org),
            admin.post(f"/events/{w.event_id}/manage/import", data=data_admin),
        )
    statuses = sorted(r.status_code for r in results)
    assert statuses == [303, 409], [r.text[:500] for r in results]
    loser = next(r for r in results if r.status_code == 409)
    assert "Nothing was imported" in loser.text and ("already takes part in this event" in loser.text or "at the same moment" in loser.text)
    assert await participants(sm, w.event_id) == before + 120
    assert await count(sm, select(func.count()).select_from(User).where(User.email.like("%@import.test"))) == 120
    assert await count(sm, select(func.count()).select_from(OutboxMessage).where(OutboxMessage.to_email.like("%@import.test"))) == 120


async def test_companies_import_refuses_names_already_there_in_any_case(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    w, sm = await organizer(client, engine, clock)
    text = ("Name,Description,Website\n"
            "Bluefin Health,Clinics,https://bluefin.example\n"
            "ACME ROBOTICS,dup of the event's,\n"
            "bluefin health,dup in file,\n"
            "Cobalt,,ftp://cobalt.example\n")
    r = await preview(client, w.event_id, text, kind="companies")
    assert r.status_code == 422
    page = re.sub(r"<[^>]+>", "", r.text)
    assert "row 3: company “Acme Robotics” is already in this event" in page
    assert "row 4: company “bluefin health” is also on row 2" in page
    assert "row 5: website “ftp://cobalt.example” is not a web address starting with https://" in page
    r = await preview(client, w.event_id, "name,website\nBluefin Health,https://bluefin.example\nCobalt Energy,\n", kind="companies")
    assert r.status_code == 200 and "2 companies ready to import" in r.text
    r = await client.post(f"/events/{w.event_id}/manage/import", data=confirm_data(r.text))
    assert r.status_code == 303
    assert "Imported 2 companies." in (await client.get(r.headers["location"])).text
    assert await count(sm, select(func.count()).select_from(Company).where(Company.event_id == w.event_id)) == 3


# --------------------------------------------------------------------------- export


async def test_export_round_trips_and_neutralizes_formulas(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    w, sm = await organizer(client, engine, clock)
    async with sm() as s, s.begin():
        tom = await s.get(User, w.talents[0].id)
        assert tom is not None
        tom.headline = "=HYPERLINK(\"http://evil.example\",\"click\")"
        await actions.add_company(s, w.organizer, w.event_id, name="+Plus Corp", description="@risky", website="https://plus.example")
    r = await client.get(f"/events/{w.event_id}/manage/people.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv") and "attachment" in r.headers["content-disposition"]
    assert r.text.startswith("\ufeffname,email,role,company,headline")
    rows = list(csv.reader(io.StringIO(r.text.lstrip("\ufeff"))))
    assert ["Tom Talent 0", "tal0@example.test", "talent", "", "'=HYPERLINK(\"http://evil.example\",\"click\")"] in rows
    assert ["Rita Recruiter 0", "rec0@example.test", "recruiter", "Acme Robotics", ""] in rows
    r = await client.get(f"/events/{w.event_id}/manage/companies.csv")
    rows = list(csv.reader(io.StringIO(r.text.lstrip("\ufeff"))))
    assert rows[0] == ["name", "description", "website", "logo_url"] and ["'+Plus Corp", "'@risky", "https://plus.example", ""] in rows
    # Talents and recruiters can't export.
    async with httpx.AsyncClient(transport=client._transport, base_url="http://testserver") as tal:  # noqa: SLF001
        await sign_in(tal, "tal0@example.test")
        assert (await tal.get(f"/events/{w.event_id}/manage/people.csv")).status_code == 403


# --------------------------------------------------------------------------- the people list


async def test_people_list_searches_filters_counts_and_pages(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    w, sm = await organizer(client, engine, clock)
    async with sm() as s, s.begin():
        from scheduling import roster

        await roster.import_csv(s, actions.Context(now=clock.now), w.organizer, w.event_id, "people", people_csv(130))
    page = (await client.get(f"/events/{w.event_id}/manage")).text
    # 117 + 1 talents, 13 + 1 recruiters, 1 organizer (the admin who created it takes part as organizer too).
    assert re.search(r"Talents <span class=\"count\">118</span>", page) and re.search(r"Recruiters <span class=\"count\">14</span>", page)
    assert "Showing 1–50 of 134." in page and "Page 1 of 3" in page
    p3 = (await client.get(f"/events/{w.event_id}/manage?page=3")).text
    assert "Showing 101–134 of 134." in p3
    found = (await client.get(f"/events/{w.event_id}/manage", params={"q": "TAL0042@"})).text
    assert "Talent 0042" in found and "Showing 1–1 of 1 matching" in found
    recs = (await client.get(f"/events/{w.event_id}/manage", params={"role": "recruiter", "company": str(w.company_id)})).text
    assert "Showing 1–14 of 14." in recs and "Talent 0001" not in recs
    none = (await client.get(f"/events/{w.event_id}/manage", params={"q": "100%_"})).text
    assert "Nobody matches this search." in none


# --------------------------------------------------------------------------- findings #3 and #5


async def test_manage_forms_keep_what_was_typed_and_name_the_field(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    """Finding #3: a refused form loses nothing and says which field is wrong, in words (not company_id)."""
    w, sm = await organizer(client, engine, clock)
    page = await client.get(f"/events/{w.event_id}/manage")
    csrf = csrf_of(page.text)
    r = await client.post(f"/events/{w.event_id}/manage", data={"csrf": csrf, "op": "participant", "name": "Quinn Quartz",
                                                               "email": "quinn@quartz.example", "role": "recruiter", "company_id": ""})
    assert r.status_code == 422
    assert "company_id" not in re.sub(r'name="company_id"|aria-describedby="err-company_id"|id="err-company_id"', "", r.text)
    assert "Company: pick the recruiter&#39;s company" in r.text
    assert 'value="Quinn Quartz"' in r.text and 'value="quinn@quartz.example"' in r.text
    assert re.search(r'<option value="recruiter" selected>', r.text)
    assert 'aria-invalid="true" aria-describedby="err-company_id"' in r.text and "<details open" in r.text
    # A bad email is named as the email.
    r = await client.post(f"/events/{w.event_id}/manage", data={"csrf": csrf, "op": "participant", "name": "Quinn", "email": "quinn",
                                                               "role": "talent", "company_id": ""})
    assert r.status_code == 422 and 'aria-describedby="err-email"' in r.text and "doesn&#39;t look like an email address" in r.text
    assert 'value="Quinn"' in r.text
    # The company form.
    r = await client.post(f"/events/{w.event_id}/manage", data={"csrf": csrf, "op": "company", "name": "Zeta", "description": "About Zeta",
                                                               "website": "zeta.example"})
    assert r.status_code == 422 and "The website must start with https://" in r.text
    assert 'value="Zeta"' in r.text and "About Zeta</textarea>" in r.text and 'aria-describedby="err-website"' in r.text
    # The event settings form keeps every typed value too.
    r = await client.post(f"/events/{w.event_id}/manage", data={
        "csrf": csrf, "op": "event", "name": "Renamed Days", "description": "New text", "timezone": "Europe/Berlin",
        "starts_date": "2026-03-25", "starts_time": "09:00", "ends_date": "2026-03-24", "ends_time": "18:00", "requests_by": "both",
        "slot_minutes": "20", "buffer_minutes": "5", "max_requests_per_talent": "4", "max_chats_per_talent": "", "room_opens_minutes_before": "5"})
    assert r.status_code == 422 and "The event must end after it starts." in r.text
    assert 'value="Renamed Days"' in r.text and 'value="2026-03-24"' in r.text and 'value="20"' in r.text and 'value="4"' in r.text
    r = await client.post(f"/events/{w.event_id}/manage", data={
        "csrf": csrf, "op": "event", "name": "Renamed Days", "timezone": "Europe/Berlin", "starts_date": "2026-03-25", "starts_time": "09:00",
        "ends_date": "2026-03-26", "ends_time": "18:00", "requests_by": "both", "slot_minutes": "twenty"})
    assert r.status_code == 422 and "Slot length (minutes) must be a whole number." in r.text and 'value="twenty"' in r.text
    # Creating an event keeps what was typed as well.
    async with httpx.AsyncClient(transport=client._transport, base_url="http://testserver") as admin:  # noqa: SLF001
        await sign_in(admin, "admin@example.test")
        form = await admin.get("/events/new")
        r = await admin.post("/events", data={"csrf": csrf_of(form.text), "name": "Autumn Days", "timezone": "Nowhere/Land",
                                              "starts_date": "2026-09-01", "starts_time": "09:00", "ends_date": "2026-09-02", "ends_time": "17:00",
                                              "slot_minutes": "30"})
        assert r.status_code == 422 and "Time zone: pick the event&#39;s time zone from the list." in r.text and 'value="Autumn Days"' in r.text
        # A zone typed as a person would ('berlin') is read as the picker's own name, as on the account page.
        r = await admin.post("/events", data={"csrf": csrf_of(form.text), "name": "Autumn Days", "timezone": "berlin",
                                              "starts_date": "2026-09-01", "starts_time": "09:00", "ends_date": "2026-09-02", "ends_time": "17:00",
                                              "slot_minutes": "30", "requests_by": "both"})
        assert r.status_code == 303 and r.headers["location"].endswith("/manage")
        created = await admin.get(r.headers["location"])
        assert "Event created. Add companies and people next." in created.text and "Europe/Berlin" in created.text


async def test_two_companies_with_one_name_are_refused(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    """Finding #5: 'ACME robotics' beside 'Acme Robotics' is refused clearly: on the page, in the API, and in a race."""
    w, sm = await organizer(client, engine, clock)
    page = await client.get(f"/events/{w.event_id}/manage")
    r = await client.post(f"/events/{w.event_id}/manage", data={"csrf": csrf_of(page.text), "op": "company", "name": "ACME robotics"})
    assert r.status_code == 409 and "There is already a company called" in r.text and 'value="ACME robotics"' in r.text
    api = await client.post("/api/v1/tokens", json={"email": "org@example.test", "password": PASSWORD})
    headers = {"Authorization": f"Bearer {api.json()['token']}"}
    r = await client.post(f"/api/v1/events/{w.event_id}/companies", json={"name": "acme ROBOTICS"}, headers=headers)
    assert r.status_code == 409 and r.json()["error"]["code"] == "company_exists"
    # Two at once: neither sees the other's row before it commits; the unique index decides, and the loser gets the same answer.
    gate = asyncio.Event()

    async def add(name: str, hold: bool) -> str:
        try:
            async with sm() as s, s.begin():
                org = await s.get(User, w.organizer.id)
                assert org is not None
                await actions.add_company(s, org, w.event_id, name=name)
                if hold:
                    gate.set()
                    await asyncio.sleep(0.3)
            return "ok"
        except actions.Conflict as err:
            return err.code

    async def second() -> str:
        await gate.wait()
        return await add("bluefin HEALTH", False)

    results = await asyncio.gather(add("Bluefin Health", True), second())
    assert sorted(results) == ["company_exists", "ok"]
    assert await count(sm, select(func.count()).select_from(Company).where(Company.event_id == w.event_id)) == 2


# --------------------------------------------------------------------------- edit and remove


async def test_edit_person_and_company(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    w, sm = await organizer(client, engine, clock)
    rita = w.recruiters[0]
    async with sm() as s, s.begin():
        other = await actions.add_company(s, w.organizer, w.event_id, name="Bluefin Health")
    url = f"/events/{w.event_id}/manage/people/{rita.id}"
    page = await client.get(url)
    assert page.status_code == 200 and "Rita Recruiter 0" in page.text
    r = await client.post(url, data={"csrf": csrf_of(page.text), "op": "edit", "name": "Rita R. Smith", "headline": "Hiring for robots",
                                     "company_id": str(other.id)}, follow_redirects=True)
    assert "Saved Rita R. Smith." in r.text
    async with sm() as s:
        m = await actions.participation(s, w.event_id, rita.id)
        u = await s.get(User, rita.id)
        assert m is not None and m.company_id == other.id and u is not None and u.headline == "Hiring for robots"
    # A refusal keeps the typed values.
    r = await client.post(url, data={"csrf": csrf_of(page.text), "op": "edit", "name": "", "headline": "Kept headline", "company_id": ""})
    assert r.status_code == 422 and "The name is required." in r.text and 'value="Kept headline"' in r.text
    curl = f"/events/{w.event_id}/manage/companies/{other.id}"
    page = await client.get(curl)
    assert "Rita R. Smith" in page.text
    r = await client.post(curl, data={"csrf": csrf_of(page.text), "op": "edit", "name": "acme robotics", "description": "Health",
                                      "website": "https://bluefin.example", "logo_url": ""})
    assert r.status_code == 409 and "There is already a company called “Acme Robotics”" in r.text and 'value="acme robotics"' in r.text
    r = await client.post(curl, data={"csrf": csrf_of(page.text), "op": "edit", "name": "Bluefin", "description": "Health",
                                      "website": "https://bluefin.example", "logo_url": "https://bluefin.example/logo.png"}, follow_redirects=True)
    assert "Saved Bluefin." in r.text


async def test_removing_a_company_is_refused_while_it_has_recruiters(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    w, sm = await organizer(client, engine, clock, recruiters=2)
    url = f"/events/{w.event_id}/manage/companies/{w.company_id}"
    page = await client.get(url)
    r = await client.post(url, data={"csrf": csrf_of(page.text), "op": "remove"})
    assert r.status_code == 409 and "Acme Robotics still has 2 recruiters: Rita Recruiter 0 and Rita Recruiter 1." in r.text
    async with sm() as s, s.begin():
        empty = await actions.add_company(s, w.organizer, w.event_id, name="Empty Co")
    page = await client.get(f"/events/{w.event_id}/manage/companies/{empty.id}")
    r = await client.post(f"/events/{w.event_id}/manage/companies/{empty.id}", data={"csrf": csrf_of(page.text), "op": "remove"},
                          follow_redirects=True)
    assert "Company Empty Co was removed." in r.text
    assert await count(sm, select(func.count()).select_from(Company).where(Company.event_id == w.event_id)) == 1


async def test_removing_a_recruiter_cancels_their_open_chats_with_notices(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    w, sm = await organizer(client, engine, clock, talents=4)
    rita = w.recruiters[0]
    ctx = actions.Context(now=clock.now)
    async with sm() as s, s.begin():
        pending = await actions.send_request(s, ctx, w.talents[0], w.event_id, recruiter_id=rita.id)
        accepted = await actions.send_request(s, ctx, w.talents[1], w.event_id, recruiter_id=rita.id)
        await actions.accept(s, ctx, rita, accepted.id)
        confirmed = await actions.send_request(s, ctx, w.talents[2], w.event_id, recruiter_id=rita.id)
        await actions.accept(s, ctx, rita, confirmed.id)
        slots = await actions.open_slots_for_chat(s, confirmed, await actions.get_event(s, w.event_id), now=clock.now)
        await actions.book(s, ctx, w.talents[2], confirmed.id, slots[0].start)
        declined = await actions.send_request(s, ctx, w.talents[3], w.event_id, recruiter_id=rita.id)
        await actions.decline(s, ctx, rita, declined.id)
        team = Team(event_id=w.event_id, name="Acme desk", created_at=clock.now)
        s.add(team)
        await s.flush()
        s.add(TeamMember(team_id=team.id, user_id=rita.id))
    url = f"/events/{w.event_id}/manage/people/{rita.id}"
    page = await client.get(url)
    assert "Their 3 open 1-1 chats" in page.text
    r = await client.post(url, data={"csrf": csrf_of(page.text), "op": "remove"}, follow_redirects=True)
    assert "Rita Recruiter 0 was removed from the event. 3 open chats were cancelled; both people were told." in r.text
    async with sm() as s:
        assert await actions.participation(s, w.event_id, rita.id) is None
        for chat_id, was in ((pending.id, "pending"), (accepted.id, "accepted"), (confirmed.id, "confirmed")):
            chat = await s.get(ChatRequest, chat_id)
            assert chat is not None and chat.status == "cancelled", was
            assert chat.reason == "Rita Recruiter 0 was removed from the event" and chat.closed_by_id == w.organizer.id
        assert (await s.get(ChatRequest, declined.id)).status == "declined"  # type: ignore[union-attr]
        assert (await s.execute(select(func.count()).select_from(BusyBlock))).scalar_one() == 0
        mails = (await s.execute(select(OutboxMessage).where(OutboxMessage.kind == "cancelled"))).scalars().all()
        by_to = {m.to_email: m for m in mails}
        for t in w.talents[:3]:
            assert t.email in by_to and "Rita Recruiter 0 was removed from the event" in by_to[t.email].body_text
        cancel_invite = by_to["tal2@example.test"]
        assert cancel_invite.ical_method == "CANCEL" and cancel_invite.ical and "METHOD:CANCEL" in cancel_invite.ical
        assert (await s.execute(select(func.count()).select_from(TeamMember))).scalar_one() == 0  # off the event's desk too
        # The pending request's credit is given back to its talent.
        tom = await actions.participation(s, w.event_id, w.talents[0].id)
        assert tom is not None and tom.requests_used == 0
    assert (await client.get(url)).status_code == 404


async def test_organizer_cannot_remove_themself_and_others_cannot_manage(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    w, sm = await organizer(client, engine, clock)
    url = f"/events/{w.event_id}/manage/people/{w.organizer.id}"
    page = await client.get(url)
    assert "You can't remove yourself; another organizer can." in page.text
    r = await client.post(url, data={"csrf": csrf_of(page.text), "op": "remove"})
    assert r.status_code == 403 and "You can&#39;t remove yourself; ask another organizer." in r.text
    async with httpx.AsyncClient(transport=client._transport, base_url="http://testserver") as rec:  # noqa: SLF001
        await sign_in(rec, "rec0@example.test")
        assert (await rec.get(f"/events/{w.event_id}/manage")).status_code == 403
        assert (await rec.get(f"/events/{w.event_id}/manage/people/{w.talents[0].id}")).status_code == 403
        r = await rec.post(f"/events/{w.event_id}/manage/people/{w.talents[0].id}",
                           data={"csrf": csrf_of((await rec.get("/account")).text), "op": "copy"})
        assert r.status_code == 403 and "/login/link/" not in r.text
    # Someone of another event is not found from this one.
    async with sm() as s, s.begin():
        admin = await s.get(User, w.admin.id)
        assert admin is not None
        other = await actions.create_event(s, actions.Context(now=clock.now), admin, name="Other Days", timezone="UTC",
                                           starts_at=clock.now.replace(day=25), ends_at=clock.now.replace(day=26))
        m = await actions.add_participant(s, actions.Context(now=clock.now), admin, other.id, email="far@away.test", name="Far Away",
                                          role="talent", password=PASSWORD)
    assert (await client.get(f"/events/{w.event_id}/manage/people/{m.user_id}")).status_code == 404
    assert (await client.get(f"/events/{other.id}/manage")).status_code == 404


# --------------------------------------------------------------------------- sign-in links


async def test_sign_in_links_can_be_copied_only_for_people_who_are_nowhere_else(client: httpx.AsyncClient, engine: AsyncEngine,
                                                                                clock: FakeClock) -> None:
    w, sm = await organizer(client, engine, clock, talents=2)
    ctx = actions.Context(now=clock.now)
    async with sm() as s, s.begin():
        admin = await s.get(User, w.admin.id)
        assert admin is not None
        other = await actions.create_event(s, ctx, admin, name="Winter Fair", timezone="UTC", starts_at=clock.now.replace(day=25),
                                           ends_at=clock.now.replace(day=26))
        await actions.add_participant(s, ctx, admin, other.id, email="tal1@example.test", name="Tom Talent 1", role="talent")
        # The admin takes part in this event too (as its creator: organizer).
    tal0, tal1 = w.talents
    # A talent only in this event: the link is shown, once, and signs in as them.
    url = f"/events/{w.event_id}/manage/people/{tal0.id}"
    page = await client.get(url)
    r = await client.post(url, data={"csrf": csrf_of(page.text), "op": "copy"})
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    link = re.search(r'id="signin-link" readonly value="(http://testserver(/login/link/[^"?]+)[^"]*)"', r.text)
    assert link, r.text[:3000]
    async with httpx.AsyncClient(transport=client._transport, base_url="http://testserver") as guest:  # noqa: SLF001
        landing = await guest.get(link.group(2))
        signed = await guest.post(link.group(2), data={"csrf": csrf_of(landing.text), "next": "/account"})
        assert signed.status_code == 303 and "Tom Talent 0" in (await guest.get("/account")).text
    # Someone who also takes part in an event this organizer doesn't organize: refused, with the reason.
    url1 = f"/events/{w.event_id}/manage/people/{tal1.id}"
    page = await client.get(url1)
    assert "Show a link to copy" not in page.text and "also takes part in Winter Fair" in page.text
    r = await client.post(url1, data={"csrf": csrf_of(page.text), "op": "copy"})
    assert r.status_code == 403 and "also takes part in Winter Fair, which you don&#39;t organize" in r.text and "/login/link/" not in r.text
    # ...and their name, which the other event shows, is theirs to change.
    r = await client.post(url1, data={"csrf": csrf_of(page.text), "op": "edit", "name": "Renamed", "headline": ""})
    assert r.status_code == 403 and "only they can change their name" in r.text
    # A platform admin: refused too.
    urla = f"/events/{w.event_id}/manage/people/{w.admin.id}"
    page = await client.get(urla)
    r = await client.post(urla, data={"csrf": csrf_of(page.text), "op": "copy"})
    assert r.status_code == 403 and "is a platform admin" in r.text and "/login/link/" not in r.text
    # Emailing the link goes to the person themself, so it is allowed for all of them.
    for uid, email in ((tal1.id, "tal1@example.test"), (w.admin.id, "admin@example.test")):
        page = await client.get(f"/events/{w.event_id}/manage/people/{uid}")
        r = await client.post(f"/events/{w.event_id}/manage/people/{uid}", data={"csrf": csrf_of(page.text), "op": "resend"},
                              follow_redirects=True)
        assert f"A new sign-in link is on its way to {email}." in r.text
    async with sm() as s:
        sent = (await s.execute(select(OutboxMessage.to_email).where(OutboxMessage.kind == "invitation"))).scalars().all()
        assert "tal1@example.test" in sent and "admin@example.test" in sent
    # The organizer of both events may copy it.
    async with sm() as s, s.begin():
        admin = await s.get(User, w.admin.id)
        assert admin is not None
        await actions.add_participant(s, ctx, admin, other.id, email="org@example.test", name="Olga Organizer", role="organizer")
    page = await client.get(url1)
    r = await client.post(url1, data={"csrf": csrf_of(page.text), "op": "copy"})
    assert r.status_code == 200 and 'id="signin-link"' in r.text


async def test_a_recruiter_on_a_job_posting_outside_the_event_gets_no_copied_link(client: httpx.AsyncClient, engine: AsyncEngine,
                                                                                   clock: FakeClock) -> None:
    """Job postings without an event (QuickChat) and live-chat teams of other events count as 'elsewhere' too."""
    from scheduling.livechat.models import JobReq, JobReqAssignee

    w, sm = await organizer(client, engine, clock, recruiters=2)
    rec0, rec1 = w.recruiters
    async with sm() as s, s.begin():
        job = JobReq(title="Backend engineer", company="Acme Robotics", event_id=None, created_by_id=w.admin.id, created_at=clock.now,
                     updated_at=clock.now)
        s.add(job)
        await s.flush()
        s.add(JobReqAssignee(job_req_id=job.id, user_id=rec0.id, created_at=clock.now))
        admin = await s.get(User, w.admin.id)
        assert admin is not None
        other = await actions.create_event(s, actions.Context(now=clock.now), admin, name="Booth Day", timezone="UTC",
                                           starts_at=clock.now.replace(day=25), ends_at=clock.now.replace(day=26))
        team = Team(event_id=other.id, name="Support", created_at=clock.now)
        s.add(team)
        await s.flush()
        s.add(TeamMember(team_id=team.id, user_id=rec1.id))
    for rec, place in ((rec0, "1 job posting"), (rec1, "1 live-chat team")):
        url = f"/events/{w.event_id}/manage/people/{rec.id}"
        page = await client.get(url)
        r = await client.post(url, data={"csrf": csrf_of(page.text), "op": "copy"})
        assert r.status_code == 403 and f"also takes part in {place}" in r.text and "/login/link/" not in r.text
