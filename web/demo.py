"""The demo event that `make run` seeds: companies, recruiters with availability, talents, chats in every state."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scheduling import accounts, actions, profiles, timefmt
from scheduling.livechat import jobs, routing
from scheduling.livechat.models import JobReq
from scheduling.models import User

DEMO_PASSWORD = "fairmeet-demo"
ADMIN = "admin@demo.fairmeet.test"
ORGANIZER = "organizer@demo.fairmeet.test"
TZ = "Europe/Berlin"

COMPANIES = [
    ("Northwind Robotics", "Warehouse robots that work next to people.", "https://northwind.example"),
    ("Bluefin Health", "Software for clinics and their patients.", "https://bluefin.example"),
    ("Cobalt Energy", "Grid storage and the code that runs it.", "https://cobalt.example"),
]
RECRUITERS = [
    ("Rita Recruiter", "recruiter@demo.fairmeet.test", 0, "Backend engineers who like Python and PostgreSQL.", "", "selective"),
    ("Marco Silva", "marco@demo.fairmeet.test", 0, "Robotics and embedded people, juniors welcome.", "Which robot would you build first?", "selective"),
    ("Aisha Khan", "aisha@demo.fairmeet.test", 1, "Product designers and front-end developers.", "", "direct"),
    ("Jonas Weber", "jonas@demo.fairmeet.test", 1, "Data analysts with an interest in health.", "", "selective"),
    ("Lena Novak", "lena@demo.fairmeet.test", 2, "Electrical engineers and SREs.", "What draws you to energy?", "selective"),
    ("Sam Osei", "sam@demo.fairmeet.test", 2, "Graduates from any technical field.", "", "direct"),
]
TALENTS = [
    ("Tom Talent", "talent@demo.fairmeet.test", "Backend developer, 3 years of Python"),
    ("Nora Lind", "nora@demo.fairmeet.test", "UX designer moving into product"),
    ("Ravi Patel", "ravi@demo.fairmeet.test", "Electrical engineering graduate"),
    ("Eva Müller", "eva@demo.fairmeet.test", "Data analyst, SQL and R"),
    ("Kofi Mensah", "kofi@demo.fairmeet.test", "Robotics student, ROS and C++"),
]


def _demo_profiles(talents: list[User], recruiters: list[User]) -> list[tuple[User, str, str]]:
    """Roles and skills for the demo's people (Tom, the first talent, has none: the walkthrough fills his in)."""
    _tom, nora, ravi, eva, kofi = talents
    rita, marco, aisha, jonas, lena, sam = recruiters
    return [
        (nora, "", "Figma, UX research, HTML, CSS"), (ravi, "", "Electronics, PCB design, C"), (eva, "", "SQL, R, Tableau, Python"),
        (kofi, "", "ROS, C++, Python"),
        (rita, "Engineering manager, platform team", "Python, PostgreSQL, Kubernetes"), (marco, "Robotics team lead", "ROS, C++, Embedded"),
        (aisha, "Head of design", "Figma, UX research"), (jonas, "Data team lead", "SQL, Python, Statistics"),
        (lena, "SRE manager", "Linux, Kubernetes, Electrical engineering"), (sam, "Graduate recruiter", "Any technical field"),
    ]


async def seed(sm: async_sessionmaker[AsyncSession], *, now: dt.datetime, base_url: str) -> bool:
    """Creates the demo once; returns False when it already exists."""
    ctx = actions.Context(now=now, base_url=base_url)
    async with sm() as s, s.begin():
        if await accounts.user_by_email(s, ADMIN) is not None:
            return False
        admin = await accounts.create_user(s, email=ADMIN, name="Ada Admin", password=DEMO_PASSWORD, now=now, is_admin=True)
        admin.timezone = TZ
        today = now.astimezone(timefmt.zone(TZ)).date()
        start = timefmt.local_to_instant(today, dt.time(0, 0), TZ)
        end = timefmt.local_to_instant(today + dt.timedelta(days=3), dt.time(0, 0), TZ)
        event = await actions.create_event(
            s, ctx, admin, name="Fairmeet Demo Hiring Days", timezone=TZ, starts_at=start, ends_at=end,
            description="Three days of 1-1 chats with tech employers.", support_email="support@demo.fairmeet.test",
            fmt=actions.ChatFormat(requests_by="both", slot_minutes=20, buffer_minutes=10, max_requests_per_talent=5,
                                   max_chats_per_talent=3, room_opens_minutes_before=5),
        )
        await actions.add_participant(s, ctx, admin, event.id, email=ORGANIZER, name="Olga Organizer", role="organizer", password=DEMO_PASSWORD)
        companies = [await actions.add_company(s, admin, event.id, name=n, description=d, website=w) for n, d, w in COMPANIES]
        recruiters: list[User] = []
        for name, email, ci, ideal, question, mode in RECRUITERS:
            member = await actions.add_participant(s, ctx, admin, event.id, email=email, name=name, role="recruiter",
                                                   company_id=companies[ci].id, password=DEMO_PASSWORD)
            user = await s.get(User, member.user_id)
            assert user is not None
            windows = []
            for day in range(3):
                d = today + dt.timedelta(days=day)
                for a, b in ((dt.time(9), dt.time(12)), (dt.time(13), dt.time(17))):
                    windows.append(actions.Window(timefmt.local_to_instant(d, a, TZ), timefmt.local_to_instant(d, b, TZ)))
            await actions.set_recruiter_profile(s, admin, event.id, user.id, booking_mode=mode, custom_question=question,
                                                ideal_candidate=ideal, availability=windows)
            recruiters.append(user)
        talents: list[User] = []
        for name, email, headline in TALENTS:
            member = await actions.add_participant(s, ctx, admin, event.id, email=email, name=name, role="talent", password=DEMO_PASSWORD)
            user = await s.get(User, member.user_id)
            assert user is not None
            user.headline = headline
            talents.append(user)
        tom, nora, ravi, eva, _kofi = talents
        rita, marco, aisha, jonas, lena, _sam = recruiters
        for person, role, skills in _demo_profiles(talents, recruiters):  # what people show of themselves (Tom fills his in himself)
            await profiles.save(s, person, event.id, profiles.ProfileInput(headline=role or person.headline, skills=skills, linkedin_url="",
                                                                          portfolio_url=""), now=now)
        # A chat in every state, so each tab has something to show.
        await actions.send_request(s, ctx, tom, event.id, recruiter_id=jonas.id, message="I'd love to hear about your data team.")
        await actions.send_request(s, ctx, rita, event.id, talent_id=tom.id, message="Your Python background fits our platform team. Chat?")
        accepted = await actions.send_request(s, ctx, tom, event.id, recruiter_id=marco.id, message="Robots! I built a line follower.",
                                              answer="A robot that sorts recycling.")
        await actions.accept(s, ctx, marco, accepted.id)
        confirmed = await actions.send_request(s, ctx, tom, event.id, recruiter_id=aisha.id, message="I do front-end on the side.")
        free = await actions.open_slots_for_chat(s, confirmed, event, now=now)
        if free:
            await actions.book(s, ctx, tom, confirmed.id, free[len(free) // 3].start)
        declined = await actions.send_request(s, ctx, tom, event.id, recruiter_id=lena.id, message="Curious about SRE at Cobalt.",
                                              answer="Keeping the lights on, literally.")
        await actions.decline(s, ctx, lena, declined.id, "We are only hiring senior SREs this time, sorry!")
        await actions.send_request(s, ctx, nora, event.id, recruiter_id=rita.id, message="Hello from a designer who codes.")
        await actions.send_request(s, ctx, ravi, event.id, recruiter_id=rita.id, message="Interested in your hardware teams.")
        await actions.send_request(s, ctx, eva, event.id, recruiter_id=jonas.id, message="Health data is my passion.")
        await _job_reqs(s, ctx, admin, event.id, base_url, rita=rita, marco=marco, aisha=aisha)
        await _desk_routing(s, ctx, admin, event.id, design=[aisha, jonas], engineering=[rita, marco, lena])
    return True


async def _job_reqs(s: AsyncSession, ctx: actions.Context, admin: User, event_id: int, base_url: str, *, rita: User, marco: User,
                    aisha: User) -> None:
    """Two job postings candidates can chat about (QuickChat), with knockout questions; the demo careers page embeds the first."""
    backend = await jobs.create_job(s, ctx, admin, jobs.JobReqSettings(
        title="Backend Engineer (Python)", company="Northwind Robotics", location="Berlin or remote (EU)",
        description="Build the services that plan our robots' routes: Python, PostgreSQL, a little Rust.\n\n"
                    "You'll own features end to end, from the database to the dashboards our customers use.",
        apply_url="https://northwind.example/careers/backend", event_id=event_id, allowed_origins=[base_url],
        sorry_message="Thanks for your interest! This role needs the right to work in the EU; have a look at our other openings.",
        away_message="Our recruiters are away right now. Leave a note and we'll answer by email (and text, if you like).",
        phone_field="optional", custom_fields=[jobs.CustomField("inquiry", "What would you like to talk about?", required=False)],
        when_unavailable="both", note_after_seconds=120,
    ), [
        jobs.Question("Are you allowed to work in the EU?", "yes_no", [], ["Yes"]),
        jobs.Question("How many years have you worked with Python?", "choice", ["Less than 1", "1-3", "3 or more"], ["1-3", "3 or more"]),
    ])
    design = await jobs.create_job(s, ctx, admin, jobs.JobReqSettings(
        title="Product Designer", company="Bluefin Health", location="Hamburg", description="Design the app patients use between visits.",
        apply_url="https://bluefin.example/jobs/designer", event_id=event_id, allowed_origins=[base_url], phone_field="off",
    ), [jobs.Question("Can you share a portfolio?", "yes_no", [], ["Yes"])])
    for job, people in ((backend, (rita, marco)), (design, (aisha,))):
        for person in people:
            await jobs.assign(s, ctx, admin, job.id, person.id)


async def _desk_routing(s: AsyncSession, ctx: actions.Context, admin: User, event_id: int, *, design: list[User], engineering: list[User]) -> None:
    """Two teams, the designer job req's chats routed to the Design team, and chats offered to accept within 30 s."""
    team = await routing.save_team(s, ctx, admin, event_id, "Design", [u.id for u in design])
    await routing.save_team(s, ctx, admin, event_id, "Engineering", [u.id for u in engineering])
    designer = (await s.execute(select(JobReq.id).where(JobReq.event_id == event_id, JobReq.title == "Product Designer"))).scalar_one()
    await routing.add_rule(s, ctx, admin, event_id, routing.RuleIn(kind="job", job_req_id=designer, team_id=team.id))
    await routing.set_desk_settings(s, admin, event_id, accept_seconds=30, remind_seconds=90, resolve_minutes=15)


async def sign_in_links(sm: async_sessionmaker[AsyncSession], *, now: dt.datetime, base_url: str) -> list[tuple[str, str, str]]:
    """Fresh one-time sign-in links for the demo's organizer, recruiter and talent."""
    out = []
    async with sm() as s, s.begin():
        for label, email in (("Organizer", ORGANIZER), ("Recruiter", "recruiter@demo.fairmeet.test"), ("Talent", "talent@demo.fairmeet.test"),
                             ("Platform admin", ADMIN)):
            user = await accounts.user_by_email(s, email)
            if user is None:
                continue
            secret = await accounts.issue_login_link(s, user, now=now, lifetime=dt.timedelta(hours=12))
            out.append((label, email, f"{base_url}/login/link/{secret}"))
    return out
