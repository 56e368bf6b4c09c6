"""Reliability #5, authorization coverage: every route of create_app() and every WebSocket frame type is in a table
(tests/web/authz_table.py) that says which roles get through; each route is called as every role on one world
(tests/web/authz_world.py) and must answer as the table says, and never with a 5xx. A route or frame type without an
entry fails the test, as does an entry for a route that no longer exists.

Writes are sent the way real clients send them (API token or session + X-CSRF-Token on /api, the form's csrf field on
pages) with a plausible body, and the database (and uploaded files) are put back after each one, so every call meets
the same world. A refused form post answers 303 like an accepted one; the refusal is told apart by the domain error
behind its flash message (a spy on web.pages.flash, which still runs).

Filling in a new route's entry: AUTHZ_DUMP=/tmp/authz.json writes what every role got on every route (and reports no
class mismatches); AUTHZ_ONLY=/live/ limits the calls to paths holding that text. Judge what you see against
ARCHITECTURE.md's Visibility invariant before writing it down."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import re
import shutil
import sqlite3
import sys
import time
import typing
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from starlette.routing import Mount, Route, WebSocketRoute

from scheduling.errors import DomainError
from tests.live import serve
from tests.web import authz_table as T
from tests.web import authz_world
from tests.web.authz_world import World
from web import pages
from web.app import create_app
from web.http import status_for
from web.ratelimit import RateLimiter
from web.settings import Settings


class Clock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


def app_routes(app: Any) -> set[tuple[str, str]]:
    """Every (method, path template) the app answers, WebSocket routes as ("WS", path); HEAD goes with GET."""
    found: set[tuple[str, str]] = set()

    def walk(routes: list[Any], prefix: str) -> None:
        for route in routes:
            if isinstance(route, Route):
                for method in route.methods or ():
                    if method != "HEAD":
                        found.add((method, prefix + route.path))
            elif isinstance(route, WebSocketRoute):
                found.add(("WS", prefix + route.path))
            elif isinstance(route, Mount):
                if route.routes:
                    walk(list(route.routes), prefix + route.path)
                else:  # an app of its own (static files): one GET entry for the whole mount
                    found.add(("GET", prefix + route.path + "/{path}"))

    walk(list(app.routes), "")
    return found


class Refusals:
    """Records the HTTP status the domain error behind a flash message would have had (form posts redirect either way)."""

    def __init__(self) -> None:
        self.last: int | None = None
        self.message = ""
        self.original = pages.flash

    def __call__(self, request: Any, message: str, kind: str = "ok") -> None:
        err = sys.exc_info()[1]
        if isinstance(err, DomainError):
            self.last = status_for(err)
        self.message = f"[{kind}: {message[:80]}]"
        self.original(request, message, kind)

    def install(self) -> None:
        for name, module in list(sys.modules.items()):
            if (name == "web" or name.startswith("web.")) and getattr(module, "flash", None) is self.original:
                module.flash = self  # type: ignore[attr-defined]

    def remove(self) -> None:
        for name, module in list(sys.modules.items()):
            if (name == "web" or name.startswith("web.")) and getattr(module, "flash", None) is self:
                module.flash = self.original  # type: ignore[attr-defined]


class Matrix:
    def __init__(self, app: Any, world: World, db: Path, uploads: Path, snapshot: Path, refusals: Refusals,
                 loop: asyncio.AbstractEventLoop) -> None:
        self.app, self.world, self.db, self.uploads, self.snapshot, self.refusals = app, world, db, uploads, snapshot, refusals
        self.baseline: set[asyncio.Task[Any]] = set()
        self.last_text = ""
        self.loop = loop

    def mark(self) -> None:
        """What runs for good (the log writer, the hub...): settle() waits for anything else."""
        self.baseline = set(asyncio.all_tasks(self.loop))

    async def settle(self) -> None:
        """Waits for the work a request left running after its answer (publishing, automatic assignment)."""
        for _ in range(200):
            extra = [t for t in asyncio.all_tasks() if t is not asyncio.current_task() and t not in self.baseline and not t.done()]
            if not extra:
                return
            await asyncio.wait(extra, timeout=0.05)

    async def restore(self) -> None:
        """Puts the database file and the uploads back as the world was built (after every write)."""
        await self.settle()
        await asyncio.to_thread(copy_database, self.snapshot / "db", self.db)
        shutil.rmtree(self.uploads, ignore_errors=True)
        shutil.copytree(self.snapshot / "uploads", self.uploads)

    async def call(self, method: str, path: str, entry: T.Entry, role_name: str) -> tuple[str, int, str]:
        """One request as `role_name`; (class, status, detail) with class "allowed", "denied" or "error"."""
        role = self.world.roles[role_name]
        url = T.fill(method, path, entry, self.world.ids)
        headers: dict[str, str] = {}
        kwargs: dict[str, Any] = {}
        api = path.startswith("/api/")
        if api:
            if role.token:
                headers["Authorization"] = f"Bearer {role.token}"
            if method != "GET":
                headers["X-CSRF-Token"] = role.csrf
            if entry.files:
                kwargs["files"] = {k: (n, data, mime) for k, (n, data, mime) in entry.files.items()}
                if entry.body:
                    kwargs["data"] = entry.body
            elif entry.body is not None and method != "GET":
                kwargs["json"] = T.resolve(entry.body, self.world.ids)
        elif method != "GET":
            form = {"csrf": role.csrf, **{k: str(v) for k, v in T.resolve(entry.body or {}, self.world.ids).items()}}
            if entry.files:
                kwargs["files"] = {k: (n, data, mime) for k, (n, data, mime) in entry.files.items()}
            kwargs["data"] = form
        saved = list(role.client.cookies.jar)
        self.refusals.last, self.refusals.message = None, ""
        try:
            r = await role.client.request(method, url, headers=headers, **kwargs)
            self.last_text = r.text
        finally:
            if method != "GET":
                await self.restore()
                role.client.cookies.jar.clear()
                for cookie in saved:
                    role.client.cookies.jar.set_cookie(cookie)
        return classify(r, self.refusals.last, entry), r.status_code, f"{describe(r)} {self.refusals.message}".strip()


def copy_database(source: Path, target: Path) -> None:
    """SQLite's online backup: page by page under SQLite's own locks, so the app's open connections see the copy."""
    with contextlib.closing(sqlite3.connect(source)) as src, contextlib.closing(sqlite3.connect(target, timeout=30)) as dst:
        src.backup(dst)


def describe(r: httpx.Response) -> str:
    where = r.headers.get("location", "")
    text = r.text[:160].replace("\n", " ") if r.headers.get("content-type", "").startswith("application/json") else ""
    alert = re.search(r'role="alert"[^>]*>([^<]{1,160})', r.text) if r.status_code >= 400 and not text else None
    text = f"[{alert.group(1).strip()}]" if alert else text
    return f"{r.status_code} {where} {text}".strip()


def classify(r: httpx.Response, refusal: int | None, entry: T.Entry) -> str:
    status = r.status_code
    if status >= 500:
        return "error"
    if status in (401, 403, 404):
        return "denied"
    if 300 <= status < 400:
        location = r.headers.get("location", "")
        if location.startswith(("/login", "http://testserver/login")) and not entry.login_redirect_ok:
            return "denied"
        if refusal in (401, 403, 404):
            return "denied"
    return "allowed"


@pytest.fixture(scope="module")
def matrix_world(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """(loop, app, world, matrix): one world for the whole module, on SQLite, through the in-process ASGI transport."""
    from scheduling import migrate

    base = tmp_path_factory.mktemp("authz")
    db = base / "fairmeet.db"
    migrate.upgrade(f"sqlite+aiosqlite:///{db}")
    uploads = base / "uploads"
    clock = Clock(authz_world.BUILT_AT)
    settings = Settings(database_url=f"sqlite+aiosqlite:///{db}", secret_key="authz-secret", base_url="http://testserver",
                        upload_dir=str(uploads), login_rate_per_minute=1_000_000, live_start_limit=1_000_000)
    app = create_app(settings, clock=clock, background=False)
    loop = asyncio.new_event_loop()
    lifespan = app.router.lifespan_context(app)
    loop.run_until_complete(lifespan.__aenter__())
    res = app.state.res
    res.ip_limiter = RateLimiter(1_000_000, 60)
    res.write_limiter = RateLimiter(1_000_000, 60)
    res.live_limits = {k: RateLimiter(1_000_000, 60) for k in res.live_limits}
    transport = httpx.ASGITransport(app=app)
    world = loop.run_until_complete(authz_world.build(transport, res.sessionmaker, settings))
    clock.now = authz_world.RUN_AT
    snapshot = base / "snapshot"
    snapshot.mkdir()

    copy_database(db, snapshot / "db")
    uploads.mkdir(exist_ok=True)
    shutil.copytree(uploads, snapshot / "uploads")
    refusals = Refusals()
    refusals.install()
    try:
        matrix = Matrix(app, world, db, uploads, snapshot, refusals, loop)
        matrix.mark()
        yield loop, app, world, matrix, settings
    finally:
        refusals.remove()

        async def close() -> None:
            for role in world.roles.values():
                await role.client.aclose()
            await lifespan.__aexit__(None, None, None)

        loop.run_until_complete(close())
        loop.close()


def test_every_route_has_an_entry_and_every_entry_a_route(matrix_world: Any) -> None:
    _, app, _, _, _ = matrix_world
    routes = app_routes(app)
    missing = sorted(routes - set(T.ROUTES))
    stale = sorted(set(T.ROUTES) - routes)
    assert not missing, ("Routes without an authorization entry; add one to tests/web/authz_table.py ROUTES saying which roles "
                         "get through (and a plausible body for writes):\n" + "\n".join(f"  {m} {p}" for m, p in missing))
    assert not stale, "Entries in tests/web/authz_table.py ROUTES for routes the app no longer has; remove them:\n" + "\n".join(
        f"  {m} {p}" for m, p in stale)


def test_every_route_answers_each_role_as_the_table_says(matrix_world: Any) -> None:
    loop, app, world, matrix, _ = matrix_world
    routes = app_routes(app)
    dump = os.environ.get("AUTHZ_DUMP")
    only = os.environ.get("AUTHZ_ONLY", "")
    failures: list[str] = []
    observed: dict[str, dict[str, str]] = {}
    checked = 0
    started = time.monotonic()

    async def run() -> None:
        nonlocal checked
        for (method, path), entry in sorted(T.ROUTES.items(), key=lambda kv: (kv[0][1], kv[0][0])):
            if method == "WS" or (method, path) not in routes or entry.skip or (only and only not in path):
                continue
            t0 = time.monotonic()
            row: dict[str, str] = {}
            # Refused roles first: a write that gets through by mistake must not change what the next role meets (it is
            # put back anyway), and a refusal must not depend on the object's state.
            for role in sorted(T.ROLES, key=lambda r: r in entry.allow):
                t1 = time.monotonic()
                got, status, detail = await matrix.call(method, path, entry, role)
                if dump and time.monotonic() - t1 > 1:
                    print(f"   slow: {time.monotonic() - t1:.1f} s {method} {path} as {role}: {detail}", flush=True)
                checked += 1
                row[role] = f"{got[0].upper()} {detail}"
                want = "allowed" if role in entry.allow else "denied"
                if role in entry.codes and status != entry.codes[role]:
                    failures.append(f"{method} {path} as {role}: expected {entry.codes[role]}, got {detail}")
                refused_with = status if status in (401, 403, 404) else matrix.refusals.last
                if got == "denied" and role in T.OUTSIDERS and "{" in path and refused_with != 404:
                    failures.append(f"{method} {path} as {role}: refused with {refused_with}, not 404 (ids outside one's events are unknown)")
                if got == "allowed" and entry.secret and role not in entry.sees and entry.secret in matrix.last_text:
                    failures.append(f"{method} {path} as {role}: the answer shows {entry.secret!r}, which only {sorted(entry.sees)} may see")
                if got == "error" or (got != want and not dump):
                    failures.append(f"{method} {path} as {role}: expected {want}, got {detail}")
            observed[f"{method} {path}"] = row
            if dump:
                print(f"{time.monotonic() - t0:6.2f} s {method} {path}", flush=True)

    loop.run_until_complete(run())
    elapsed = time.monotonic() - started
    print(f"\nauthorization matrix: {len(observed)} routes x {len(T.ROLES)} roles = {checked} calls in {elapsed:.1f} s")
    if dump:
        Path(dump).write_text(json.dumps(observed, indent=1))
    assert not failures, f"{len(failures)} answers differ from tests/web/authz_table.py:\n" + "\n".join(failures)


# --------------------------------------------------------------------------- WebSockets


def protocol_frame_types() -> dict[str, set[str]]:
    """The frame types clients may send on each socket, read from the pydantic schemas themselves."""
    from signaling import livechat as lp
    from signaling import protocol as p

    def types_of(union: Any) -> set[str]:
        found: set[str] = set()
        for model in typing.get_args(typing.get_args(union)[0]):
            found |= set(typing.get_args(model.model_fields["type"].annotation))
        return found

    return {T.ROOM: types_of(p.ClientMessage), T.CANDIDATE: types_of(lp.CandidateMessage), T.CONSOLE: types_of(lp.ConsoleMessage)}


def test_every_socket_and_frame_type_has_an_entry(matrix_world: Any) -> None:
    _, app, _, _, _ = matrix_world
    sockets = {p for m, p in app_routes(app) if m == "WS"}
    assert sockets == set(T.WS_HANDSHAKE), ("WebSocket routes and tests/web/authz_table.py WS_HANDSHAKE differ; add the new socket's "
                                            f"entry (who gets through): app {sorted(sockets)}, table {sorted(T.WS_HANDSHAKE)}")
    declared = {(socket, kind) for socket, kinds in protocol_frame_types().items() for kind in kinds}
    missing = sorted(declared - set(T.WS_FRAMES))
    stale = sorted(set(T.WS_FRAMES) - declared)
    assert not missing, "Frame types without an entry in tests/web/authz_table.py WS_FRAMES (who may send them): " + repr(missing)
    assert not stale, "WS_FRAMES names frame types the protocol no longer has: " + repr(stale)


def _session_cookie(world: World, role: str) -> str:
    for cookie in world.roles[role].client.cookies.jar:
        if cookie.name == "fairmeet_session":
            return f"fairmeet_session={cookie.value}"
    return ""


class Sockets:
    def __init__(self, base: str, world: World, settings: Settings) -> None:
        self.base, self.world, self.settings = base, world, settings
        self.ws_base = base.replace("http://", "ws://")
        self.conn_of: dict[int, str] = {}  # a socket's conn id (what a signal is addressed to)

    async def open(self, socket: str, role: str) -> tuple[Any, dict[str, Any] | None, str]:
        """(socket or None, its first frame, how it was refused); hello sent as the real clients send it."""
        from web.rooms import room_token

        ids, conn = self.world.ids, f"authz-{role}-{uuid.uuid4().hex[:8]}"
        headers = {"Cookie": _session_cookie(self.world, role)} if role in authz_world.PEOPLE else {}
        if socket == T.ROOM:
            uid = self.world.user_ids.get(role, self.world.user_ids["talent"])
            # A room token with a valid signature for this very person: the socket's own check must still refuse outsiders.
            url = f"{self.ws_base}/ws/rooms/{ids['chat_id']}?token={room_token(self.settings, uid, ids['chat_id'])}"
            hello: dict[str, Any] = {"type": "hello", "v": 1, "conn": conn}
        elif socket == T.CANDIDATE:
            url = f"{self.ws_base}/ws/live"
            token = self.world.roles[role].token or "not-a-token-at-all"  # candidate2: another chat's real token
            hello = {"type": "hello", "v": 1, "conn": conn, "chat": ids["live_id"], "token": token}
        else:
            url = f"{self.ws_base}/ws/live/console"
            hello = {"type": "hello", "v": 1, "conn": conn}
        try:
            ws = await websockets.connect(url, origin=self.base, additional_headers=headers)  # type: ignore[arg-type]
        except websockets.InvalidStatus as err:
            return None, None, f"HTTP {err.response.status_code}"
        try:
            await ws.send(json.dumps(hello))
            first = json.loads(await asyncio.wait_for(ws.recv(), 10))
        except websockets.ConnectionClosed as err:
            return None, None, f"close {err.rcvd.code if err.rcvd else '?'}"
        if first.get("type") != "welcome":
            await ws.close()
            return None, first, f"frame {first}"
        self.conn_of[id(ws)] = conn
        return ws, first, ""


async def _until_pong(ws: Any) -> list[dict[str, Any]]:
    """Sends a ping after whatever was sent; the frames that come back up to its pong (the socket is still up)."""
    await ws.send(json.dumps({"type": "ping"}))
    seen: list[dict[str, Any]] = []
    async with asyncio.timeout(10):
        while True:
            frame = json.loads(await ws.recv())
            if frame.get("type") == "pong":
                return seen
            seen.append(frame)


async def _drain(ws: Any, want: str, seconds: float) -> bool:
    try:
        async with asyncio.timeout(seconds):
            while True:
                if json.loads(await ws.recv()).get("type") == want:
                    return True
    except TimeoutError:
        return False


def test_websocket_handshakes_and_frames(matrix_world: Any) -> None:
    _, _, world, matrix, settings = matrix_world
    db = matrix.db.parent / "sockets.db"
    copy_database(matrix.snapshot / "db", db)
    make = lambda base: Settings(database_url=f"sqlite+aiosqlite:///{db}", secret_key=settings.secret_key, base_url=base,  # noqa: E731
                                 upload_dir=settings.upload_dir, login_rate_per_minute=1_000_000, live_start_limit=1_000_000)
    failures: list[str] = []
    checked = 0

    async def run(base: str) -> None:
        nonlocal checked
        s = Sockets(base, world, settings)
        async with httpx.AsyncClient(base_url=base) as http:  # the organizer reads along invisibly (a monitor)
            org = world.roles["organizer"]
            r = await http.post(f"/api/v1/live-chats/{world.ids['live_id']}/join", json={"invisible": True},
                                headers={"Authorization": f"Bearer {org.token}"})
            assert r.status_code == 200, r.text
        for socket, allowed in T.WS_HANDSHAKE.items():
            for role in T.ROLES:
                ws, _, refused = await s.open(socket, role)
                checked += 1
                if ws is not None:
                    await ws.close()
                if (ws is not None) != (role in allowed):
                    failures.append(f"{socket} handshake as {role}: expected {'accepted' if role in allowed else 'refused'}, got "
                                    f"{'accepted' if ws is not None else refused}")
                elif ws is None and not re.match(r"(HTTP 403|close 44\d\d)", refused):
                    failures.append(f"{socket} handshake as {role}: refused with {refused}, not 403/44xx")
        for (socket, kind), entry in sorted(T.WS_FRAMES.items()):
            for role in (entry.sender, *entry.refused):
                checked += 1
                got = await frame_outcome(s, socket, kind, entry, role, role in entry.refused)
                if got:
                    failures.append(f"{socket} {kind} as {role}: {got}")
        for socket, kinds in T.WS_CROSS.items():
            sender = next(e.sender for (sk, _), e in T.WS_FRAMES.items() if sk == socket)
            for kind in kinds:
                checked += 1
                ws, _, refused = await s.open(socket, sender)
                assert ws is not None, refused
                try:
                    await ws.send(json.dumps({"type": kind, "chat": world.ids["live_id"]}))
                    seen = await _until_pong(ws)
                    if not any(f.get("type") == "error" for f in seen):
                        failures.append(f"{socket}: a {kind} frame (another socket's) got no error frame: {seen}")
                except websockets.ConnectionClosed as err:
                    failures.append(f"{socket}: a {kind} frame (another socket's) closed the socket: {err}")
                finally:
                    await ws.close()

    async def frame_outcome(s: Sockets, socket: str, kind: str, entry: T.Frame, role: str, refused: bool) -> str:
        listener = None
        if entry.listener:
            # A candidate's frames are read on the console (watching the chat); the console's by the candidate's socket.
            where = T.CONSOLE if socket == T.CANDIDATE else T.CANDIDATE if socket == T.CONSOLE else socket
            listener, _, why = await s.open(where, entry.listener)
            assert listener is not None, why
            if where == T.CONSOLE:
                await listener.send(json.dumps({"type": "watch", "chat": world.ids["live_id"]}))
                assert await _drain(listener, "watching", 10)
        ws, _, why = await s.open(socket, role)
        if ws is None:
            return f"not admitted to send it ({why})"
        try:
            if socket == T.CONSOLE and kind in ("unwatch", "chat", "typing") and not refused:
                await ws.send(json.dumps({"type": "watch", "chat": world.ids["live_id"]}))
                await _until_pong(ws)
            frame = T.resolve(dict(entry.frame), {**world.ids, "peer_conn": s.conn_of.get(id(listener), "nobody-here")})
            await ws.send(json.dumps(frame))
            seen = await _until_pong(ws)
            types = [f.get("type") for f in seen]
            if refused:
                if entry.answer and not entry.listener and entry.answer in types:
                    return f"refused sender's frame was handled: {seen}"
                if kind in ("hello", "chat", "watch") and "error" not in types:
                    return f"no error frame for a refused {kind}: {seen}"
                if listener is not None and await _drain(listener, entry.answer, 0.5):
                    return f"a refused {kind} reached {entry.listener}"
                return ""
            if "error" in types:
                return f"error frame for an allowed sender: {seen}"
            if entry.answer and entry.answer != "pong" and not entry.listener and entry.answer not in types:  # a pong ended _until_pong
                return f"expected a {entry.answer} frame, got {seen}"
            if listener is not None and not await _drain(listener, entry.answer, 5):
                return f"{entry.listener} never received {entry.answer}"
            return ""
        except websockets.ConnectionClosed as err:
            return f"the socket closed ({err.rcvd.code if err.rcvd else '?'}) instead of answering"
        finally:
            await ws.close()
            if listener is not None:
                await listener.close()

    with serve(make, lambda: authz_world.RUN_AT) as base:
        asyncio.run(run(base))
    print(f"\nWebSocket matrix: {len(T.WS_HANDSHAKE)} sockets x {len(T.ROLES)} roles, {len(T.WS_FRAMES)} frame types; {checked} checks")
    assert not failures, "\n".join(failures)


def test_crossed_ids_never_succeed(matrix_world: Any) -> None:
    """An allowed role with one id swapped for another event's or another chat's object gets a refusal or a 4xx."""
    loop, _, _, matrix, _ = matrix_world
    failures: list[str] = []

    async def run() -> None:
        for method, path, role, ids, body in T.CROSSED:
            entry = T.Entry(frozenset({role}), body=body, ids=ids)
            started = time.monotonic()
            got, status, detail = await matrix.call(method, path, entry, role)
            if time.monotonic() - started > 5:
                failures.append(f"{method} {path} as {role} with {ids or body}: took {time.monotonic() - started:.0f} s ({detail})")
            success = 200 <= status < 300 or (got == "allowed" and 300 <= status < 400 and "[error" not in detail)
            if got == "error" or success:
                failures.append(f"{method} {path} as {role} with {ids or body}: {detail}")

    loop.run_until_complete(run())
    print(f"\ncrossed ids: {len(T.CROSSED)} calls")
    assert not failures, "A crossed id got through:\n" + "\n".join(failures)


def test_session_writes_need_the_csrf_token(matrix_world: Any) -> None:
    """Every write a signed-in person may make, sent by their browser's session without the CSRF token (the API without
    its X-CSRF-Token and bearer token; a form without its csrf field), is refused and changes nothing."""
    loop, _, world, matrix, _ = matrix_world
    failures: list[str] = []
    checked = 0

    async def run() -> None:
        nonlocal checked
        for (method, path), entry in sorted(T.ROUTES.items(), key=lambda kv: (kv[0][1], kv[0][0])):
            people = [r for r in T.ROLES if r in entry.allow and r in authz_world.PEOPLE]
            if method in ("GET", "WS", "OPTIONS") or not people or entry.allow >= T.GROUPS["ALL"] or entry.login_redirect_ok:
                continue
            role = world.roles[people[-1]]
            saved, token, csrf = list(role.client.cookies.jar), role.token, role.csrf
            role.token, role.csrf = "", "not-the-token"
            try:
                got, status, detail = await matrix.call(method, path, entry, role.name)
            finally:
                role.token, role.csrf = token, csrf
            checked += 1
            assert len(list(role.client.cookies.jar)) == len(saved)
            if got != "denied":
                failures.append(f"{method} {path} as {role.name} without the CSRF token: {detail}")
            if os.environ.get("AUTHZ_DUMP"):
                print(f"  {status} {method} {path} as {role.name}")

    loop.run_until_complete(run())
    print(f"\nwrites without the CSRF token: {checked} calls")
    assert not failures, "Writes that went through without the CSRF token:\n" + "\n".join(failures)
