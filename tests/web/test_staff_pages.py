"""The staff's live-chat pages without a browser: job req forms (questions, hours, fields), who may reach them, history and escaping."""

from __future__ import annotations

import datetime as dt
import html
import re
from typing import Any

import httpx
import orjson
from markupsafe import escape
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from scheduling import accounts, actions, conversations
from scheduling.db import create_sessionmaker
from scheduling.livechat import chats, jobs
from scheduling.livechat.models import JobReq
from scheduling.models import User
from tests.factories import PASSWORD, World, make_world
from tests.web.conftest import FakeClock
from tests.web.test_pages import csrf_of, sign_in


def esc(text: str) -> str:
    """Text as Jinja's autoescape writes it."""
    return str(escape(text))


HOSTILE = '<img src=x onerror="alert(1)">{{7*7}}'


def job_form(csrf: str, **overrides: str) -> dict[str, str]:
    """A filled job req form as the browser posts it: two questions, a custom field, weekday hours."""
    data = {
        "csrf": csrf, "title": "Robotics Engineer", "company": "Acme Robotics", "location": "Berlin", "description": "Build robots.\nTest them.",
        "apply_url": "https://acme.example/apply", "event_id": "", "allowed_origins": "https://jobs.acme.example\nhttps://acme.example/",
        "sorry_message": "Sorry, not this time.", "away_message": "We're out; leave a note.", "hours_on": "1", "hours_tz": "Europe/Berlin",
        "phone_field": "optional", "when_unavailable": "both", "note_after_seconds": "120",
        "field_rows": "2", "field0_label": "LinkedIn profile", "field0_id": "", "field0_required": "1", "field1_label": "", "field1_id": "",
        "question_rows": "3",
        "q0_text": "Are you allowed to work in Germany?", "q0_kind": "yes_no", "q0_yes": "Yes", "q0_choices": "", "q0_qualifying": "",
        "q1_text": "How many years of ROS?", "q1_kind": "choice", "q1_yes": "Yes", "q1_choices": "None\n1-2\n3+", "q1_qualifying": "1-2\n3+",
        "q2_text": "", "q2_kind": "yes_no", "q2_yes": "Yes", "q2_choices": "", "q2_qualifying": "",
    }
    for i in range(7):
        data[f"day{i}_from"], data[f"day{i}_to"] = "09:00", "17:00"
        if i >= 5:
            data[f"day{i}_closed"] = "1"
    data.update(overrides)
    return data


async def new_job_form(client: httpx.AsyncClient) -> str:
    page = await client.get("/live/jobs/new")
    assert page.status_code == 200, page.text
    return csrf_of(page.text)


async def add_recruiter(sm: async_sessionmaker[AsyncSession], now: dt.datetime, w: World, email: str, name: str, *, event_id: int | None = None,
                        company_id: int | None = None) -> User:
    ctx = actions.Context(now=now)
    async with sm() as s, s.begin():
        m = await actions.add_participant(s, ctx, w.admin, event_id or w.event_id, email=email, name=name, role="recruiter",
                                          company_id=company_id or w.company_id, password=PASSWORD)
        user = await s.get(User, m.user_id)
        assert user is not None
        return user


async def test_recruiter_creates_and_edits_a_job_req_with_questions(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    sm = create_sessionmaker(engine)
    await make_world(sm, clock.now)
    await sign_in(client, "rec0@example.test")
    csrf = await new_job_form(client)
    r = await client.post("/live/jobs", data=job_form(csrf))
    assert r.status_code == 303, r.text
    location = r.headers["location"]
    match = re.fullmatch(r"/live/jobs/(\d+)", location)
    assert match
    job_id = int(match.group(1))
    async with sm() as s:
        job = await s.get(JobReq, job_id)
        assert job is not None
        assert (job.title, job.company, job.location, job.phone_field, job.when_unavailable, job.note_after_seconds) == (
            "Robotics Engineer", "Acme Robotics", "Berlin", "optional", "both", 120)
        assert jobs.origins(job) == ["https://acme.example", "https://jobs.acme.example"]
        assert jobs.custom_fields(job) == [{"id": "linkedin_profile", "label": "LinkedIn profile", "required": True}]
        assert orjson.loads(job.hours) == {"tz": "Europe/Berlin", "days": {str(i): [["09:00", "17:00"]] for i in range(5)}}
        qs = await jobs.questions(s, job_id)
        assert [(q.text, q.kind, orjson.loads(q.choices), orjson.loads(q.qualifying)) for q in qs] == [
            ("Are you allowed to work in Germany?", "yes_no", ["Yes", "No"], ["Yes"]),
            ("How many years of ROS?", "choice", ["None", "1-2", "3+"], ["1-2", "3+"]),
        ]
        first_question_id = qs[0].id

    page = await client.get(location)
    assert page.status_code == 200
    text = page.text
    assert "Job req created." in text
    assert 'value="Robotics Engineer"' in text and "How many years of ROS?" in text and "LinkedIn profile" in text
    assert esc(f'<script src="http://testserver/widget.js" data-job="{job_id}" async></script>') in text
    assert f"http://testserver/jobs/{job_id}" in text
    # The creator answers nobody's chats yet: they are offered to the creator as an assignee.
    assert "Nobody yet" in text

    # Edit: a new title, the first question removed, the choice question's qualifying answers changed, Sunday opened.
    data = job_form(csrf_of(text), title="Senior Robotics Engineer", q0_remove="1", q1_qualifying="3+", day6_closed="")
    data.pop("day6_closed")
    data["day6_from"], data["day6_to"] = "10:00", "14:00"
    r = await client.post(location, data=data, follow_redirects=True)
    assert r.status_code == 200 and "Job req saved." in r.text
    async with sm() as s:
        job = await s.get(JobReq, job_id)
        assert job is not None and job.title == "Senior Robotics Engineer"
        assert orjson.loads(job.hours)["days"]["6"] == [["10:00", "14:00"]]
        qs = await jobs.questions(s, job_id)
        assert [(q.text, orjson.loads(q.qualifying)) for q in qs] == [("How many years of ROS?", ["3+"])]
        assert first_question_id not in {q.id for q in qs}

    # The list shows it.
    listing = await client.get("/live/jobs")
    assert "Senior Robotics Engineer" in listing.text and f'href="/live/jobs/{job_id}"' in listing.text


async def test_a_refused_form_keeps_what_was_typed_and_names_the_field(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    await make_world(create_sessionmaker(engine), clock.now)
    await sign_in(client, "rec0@example.test")
    csrf = await new_job_form(client)
    r = await client.post("/live/jobs", data=job_form(csrf, allowed_origins="ftp://files.example", description="My long description"))
    assert r.status_code == 422
    assert "Allowed sites:" in r.text and "ftp://files.example" in r.text
    assert "My long description" in r.text and 'value="Robotics Engineer"' in r.text and "How many years of ROS?" in r.text

    r = await client.post("/live/jobs", data=job_form(csrf, q1_choices="Only one", q1_qualifying="Only one"))
    assert r.status_code == 422 and "Question 2 needs 2 to 10 different choices." in r.text
    r = await client.post("/live/jobs", data=job_form(csrf, day2_from=""))
    assert r.status_code == 422 and "Working hours: give Wednesday&#39;s opening and closing times, or tick Closed." in r.text
    r = await client.post("/live/jobs", data=job_form(csrf, note_after_seconds="soon"))
    assert r.status_code == 422 and "Offer a note after: give a whole number of seconds" in r.text
    r = await client.post("/live/jobs", data=job_form(csrf, title=""))
    assert r.status_code == 422 and "The job title is required." in r.text
    r = await client.post("/live/jobs", data=job_form("wrong"))
    assert r.status_code == 403
    assert "Robotics" not in (await client.get("/live/jobs")).text


async def test_talents_cannot_reach_job_req_editing(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    sm = create_sessionmaker(engine)
    w = await make_world(sm, clock.now)
    async with sm() as s, s.begin():
        job = await jobs.create_job(s, actions.Context(now=clock.now), w.recruiters[0], jobs.JobReqSettings(title="Tester", company="Acme"), [])
    await sign_in(client, "tal0@example.test")
    listing = await client.get("/live/jobs")
    assert listing.status_code == 200 and "No job reqs" in listing.text and "New job req" not in listing.text
    assert (await client.get("/live/jobs/new")).status_code == 403
    assert (await client.get(f"/live/jobs/{job.id}")).status_code == 404
    csrf = csrf_of(listing.text)
    r = await client.post("/live/jobs", data=job_form(csrf))
    assert r.status_code == 403 and "Only organizers, recruiters and admins create job reqs." in r.text
    r = await client.post(f"/live/jobs/{job.id}", data=job_form(csrf, title="Hacked"))
    assert r.status_code == 404
    r = await client.post(f"/live/jobs/{job.id}/assignees", data={"csrf": csrf, "user_id": str(w.talents[0].id)}, follow_redirects=True)
    assert "No such job req." in r.text or "Only recruiters and organizers" in r.text
    async with sm() as s:
        saved = await s.get(JobReq, job.id)
        assert saved is not None and saved.title == "Tester"
        assert await jobs.assignee_ids(s, job.id) == []
    console = await client.get("/live/console")
    assert console.status_code == 200 and "No job reqs" in console.text and "data-boot" not in console.text


async def test_a_recruiter_of_another_event_cannot_see_the_job_req(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    sm = create_sessionmaker(engine)
    w = await make_world(sm, clock.now)
    ctx = actions.Context(now=clock.now)
    async with sm() as s, s.begin():
        other = await actions.create_event(s, ctx, w.admin, name="Autumn Fair", timezone="Europe/Berlin", starts_at=clock.now + dt.timedelta(days=5),
                                           ends_at=clock.now + dt.timedelta(days=6), fmt=actions.ChatFormat())
        company = await actions.add_company(s, w.admin, other.id, name="Other Co")
        job = await jobs.create_job(s, ctx, w.organizer, jobs.JobReqSettings(title="Event Job", company="Acme Robotics", event_id=w.event_id), [])
    await add_recruiter(sm, clock.now, w, "stranger@example.test", "Sam Stranger", event_id=other.id, company_id=company.id)
    await sign_in(client, "stranger@example.test")
    assert (await client.get(f"/live/jobs/{job.id}")).status_code == 404
    listing = await client.get("/live/jobs")
    assert "Event Job" not in listing.text
    r = await client.post(f"/live/jobs/{job.id}", data=job_form(csrf_of(listing.text), title="Mine now"))
    assert r.status_code == 404

    # A recruiter of the job req's own event may see it offered, and claim it.
    client.cookies.clear()
    await sign_in(client, "rec0@example.test")
    listing = await client.get("/live/jobs")
    assert "Job reqs at your events" in listing.text and "Event Job" in listing.text
    r = await client.post(f"/live/jobs/{job.id}/assignees", data={"csrf": csrf_of(listing.text), "user_id": str(w.recruiters[0].id), "from": "list"},
                          follow_redirects=True)
    assert r.status_code == 200 and "You now answer this job req&#39;s chats." in r.text
    page = await client.get(f"/live/jobs/{job.id}")
    assert page.status_code == 200 and "Stop answering" in page.text and 'name="title"' not in page.text  # an assignee, not a manager


async def test_organizer_assigns_and_unassigns_the_events_recruiters(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    sm = create_sessionmaker(engine)
    w = await make_world(sm, clock.now, recruiters=2)
    async with sm() as s, s.begin():
        job = await jobs.create_job(s, actions.Context(now=clock.now), w.organizer,
                                    jobs.JobReqSettings(title="Event Job", company="Acme Robotics", event_id=w.event_id), [])
    await sign_in(client, "org@example.test")
    page = await client.get(f"/live/jobs/{job.id}")
    assert "Rita Recruiter 1" in page.text
    r = await client.post(f"/live/jobs/{job.id}/assignees", data={"csrf": csrf_of(page.text), "user_id": str(w.recruiters[1].id)},
                          follow_redirects=True)
    assert "Rita Recruiter 1 now answers this job req&#39;s chats." in r.text
    r = await client.post(f"/live/jobs/{job.id}/assignees", data={"csrf": csrf_of(page.text), "user_id": str(w.recruiters[1].id)},
                          follow_redirects=True)
    assert "That recruiter is already assigned." in r.text
    r = await client.post(f"/live/jobs/{job.id}/assignees/{w.recruiters[1].id}/remove", data={"csrf": csrf_of(page.text)}, follow_redirects=True)
    assert "Rita Recruiter 1 no longer answers" in r.text
    async with sm() as s:
        assert await jobs.assignee_ids(s, job.id) == []
    r = await client.post(f"/live/jobs/{job.id}/archive", data={"csrf": csrf_of(page.text)}, follow_redirects=True)
    assert "is archived" in r.text and "Archived (1)" in r.text


# --------------------------------------------------------------------------- history


async def ended_chat(sm: async_sessionmaker[AsyncSession], now: dt.datetime, job_id: int, recruiter: User, name: str, next_step: str,
                     **extra: Any) -> int:
    """A chat started, taken, talked in and ended at `now`, through the domain actions (its transcript stored as the API would)."""
    ctx = actions.Context(now=now)
    async with sm() as s, s.begin():
        await chats.set_agent(s, recruiter, now, available=True, capacity=5)
        started = await chats.start_job_chat(s, ctx, job_id, chats.CandidateForm(name=name, email="cand@example.test", **extra))
        taken = await chats.take(s, ctx, recruiter, started.chat.id)
        conn = await s.connection()
        key = chats.key(started.chat.id)
        await conversations.store(conn, [*started.transcript, taken.notice,
                                         conversations.Append(key, "message", None, {"text": f"Hello, I am {name}", "name": name, "role": "candidate"},
                                                              now, client_id="c1"),
                                         conversations.Append(key, "message", recruiter.id, {"text": "Welcome!", "name": recruiter.name,
                                                                                             "role": "recruiter"}, now, client_id="r1")])
        await chats.update_contact(s, ctx, recruiter, started.chat.id, name=None, email=None, phone=None, private_notes=f"Notes on {name}")
        chat, notice, _ = await chats.end_by_staff(s, ctx, recruiter, started.chat.id, next_step=next_step, outcome="finished")
        if notice is not None:
            await conversations.store(conn, [notice])
        return chat.id


async def history_world(sm: async_sessionmaker[AsyncSession], now: dt.datetime) -> tuple[World, int]:
    w = await make_world(sm, now)
    ctx = actions.Context(now=now)
    async with sm() as s, s.begin():
        job = await jobs.create_job(s, ctx, w.recruiters[0], jobs.JobReqSettings(title="Data Engineer", company="Acme"),
                                    [jobs.Question("Do you like SQL?", "yes_no", [], ["Yes"])])
        await jobs.assign(s, ctx, w.recruiters[0], job.id, w.recruiters[0].id)
        qid = (await jobs.questions(s, job.id))[0].id
    return w, qid


async def test_history_sorts_by_date_next_step_and_name(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    sm = create_sessionmaker(engine)
    w, qid = await history_world(sm, clock.now)
    async with sm() as s:
        job_id = (await jobs.visible_jobs(s, w.recruiters[0]))[0].id
    rec = w.recruiters[0]
    made = [("Bea Brown", "Screen", 1), ("Al Adams", "Pipeline", 3), ("Cy Cole", "Interview", 2)]
    for name, step, hours in made:
        await ended_chat(sm, clock.now + dt.timedelta(hours=hours), job_id, rec, name, step, answers={str(qid): "Yes"})
    await sign_in(client, "rec0@example.test")

    def order(page: str) -> list[str]:
        return re.findall(r'<span class="hname">([^<]+)</span>', page)

    assert order((await client.get("/live/history")).text) == ["Al Adams", "Cy Cole", "Bea Brown"]  # newest first
    assert order((await client.get("/live/history?sort=date&dir=asc")).text) == ["Bea Brown", "Cy Cole", "Al Adams"]
    assert order((await client.get("/live/history?sort=name")).text) == ["Al Adams", "Bea Brown", "Cy Cole"]
    assert order((await client.get("/live/history?sort=name&dir=desc")).text) == ["Cy Cole", "Bea Brown", "Al Adams"]
    assert order((await client.get("/live/history?sort=next_step")).text) == ["Cy Cole", "Al Adams", "Bea Brown"]  # Interview, Pipeline, Screen
    page = (await client.get("/live/history?sort=bogus&dir=sideways")).text
    assert order(page) == ["Al Adams", "Cy Cole", "Bea Brown"]
    assert "Notes on Al Adams" in page and "Do you like SQL?" in page and 'href="/api/v1/live-chats/export.csv"' in page


async def test_hostile_names_and_lines_render_escaped(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    sm = create_sessionmaker(engine)
    w, qid = await history_world(sm, clock.now)
    async with sm() as s:
        job_id = (await jobs.visible_jobs(s, w.recruiters[0]))[0].id
    chat_id = await ended_chat(sm, clock.now, job_id, w.recruiters[0], HOSTILE, "Interview", answers={str(qid): "Yes"},
                               source_url='https://evil.example/"><script>alert(2)</script>')
    await sign_in(client, "rec0@example.test")
    for path in ("/live/history", f"/live/history/{chat_id}"):
        page = await client.get(path)
        assert page.status_code == 200
        assert "<img src=x" not in page.text and "<script>alert(2)" not in page.text
        assert esc(HOSTILE) in page.text  # {{7*7}} stays as typed: not evaluated, not 49
        # A standalone 49, not one inside a longer number or a random token (CSRF values are base64url).
        assert not re.search(r"(?<![\w-])49(?![\w-])", page.text.replace(esc(HOSTILE), ""))
    transcript = (await client.get(f"/live/history/{chat_id}")).text
    assert esc(f"Hello, I am {HOSTILE}") in transcript and "Welcome!" in transcript and "Rita Recruiter 0 joined the chat" in transcript
    assert 'class="line bot"' in transcript and 'class="line me"' in transcript and 'class="line candidate"' in transcript

    # The console's boot data is JSON inside an attribute: escaped there too.
    async with sm() as s, s.begin():
        started = await chats.start_job_chat(s, actions.Context(now=clock.now), job_id,
                                             chats.CandidateForm(name=HOSTILE, email="x@example.test", answers={str(qid): "Yes"}))
        await chats.take(s, actions.Context(now=clock.now), w.recruiters[0], started.chat.id)
    console = await client.get("/live/console")
    assert console.status_code == 200 and "<img src=x" not in console.text and "&lt;img src=x onerror=" in console.text
    boot = re.search(r'data-boot="([^"]+)"', console.text)
    assert boot
    data = orjson.loads(html.unescape(boot.group(1)))
    assert data["staff"] is True and [c["name"] for c in data["chats"]] == [HOSTILE]


async def test_someone_elses_transcript_is_not_found(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    sm = create_sessionmaker(engine)
    w, qid = await history_world(sm, clock.now)
    async with sm() as s:
        job_id = (await jobs.visible_jobs(s, w.recruiters[0]))[0].id
    chat_id = await ended_chat(sm, clock.now, job_id, w.recruiters[0], "Private Person", "Screen", answers={str(qid): "Yes"})
    await add_recruiter(sm, clock.now, w, "other@example.test", "Otto Other")
    await sign_in(client, "other@example.test")
    r = await client.get(f"/live/history/{chat_id}")
    assert r.status_code == 404 and "Private Person" not in r.text
    assert "Private Person" not in (await client.get("/live/history")).text


async def test_signed_in_pages_link_to_chats_and_strangers_sign_in(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock) -> None:
    await make_world(create_sessionmaker(engine), clock.now)
    for path in ("/live/console", "/live/history", "/live/jobs", "/live/jobs/new"):
        r = await client.get(path)
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
    await sign_in(client, "rec0@example.test")
    page = await client.get("/account")
    assert '<a href="/live/console">Chats</a>' in page.text
    console = await client.get("/live/console")
    assert console.status_code == 200 and 'id="take-next"' in console.text and "You don&#39;t answer any queue yet" in console.text
    async with create_sessionmaker(engine)() as s:
        assert await accounts.user_by_email(s, "rec0@example.test") is not None
