"""Request ids and JSON logs: X-Request-ID echoed or made (500s included), carried into a WebSocket session's lines and a
background job's, one JSON object per line from the real `fairmeet serve`, and no token, password or message text in the
log of a flow that uses them all."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import orjson
import pytest
import websockets
import websockets.sync.client
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.live import free_socket, serve, stop_process, wait_until_serving
from tests.media.helpers import IN_ROOM_HOURS, SECRET, seed_rooms
from tests.web.conftest import FakeClock
from web import logging_setup
from web.app import _every, create_app
from web.settings import Settings

VALID_ID = "edge-proxy.id_0042"
CLIENT_SIDE = ("httpx", "httpcore", "websockets.client")


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    path = tmp_path / "fairmeet.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """Every record at INFO and above, as `fairmeet serve` would write it (JSON, request ids, redaction)."""
    out = io.StringIO()
    handler = logging_setup.handler("json", out)
    handler.addFilter(lambda record: not record.name.startswith(CLIENT_SIDE))  # the test's own HTTP/WebSocket clients
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield out
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def lines(out: io.StringIO) -> list[dict[str, object]]:
    parsed = [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]
    for line in parsed:
        assert {"ts", "level", "logger", "msg", "request_id"} <= set(line), line
    return parsed


async def boom(request: Request) -> Response:
    raise RuntimeError("an unexpected failure")


@pytest.fixture
async def client(sqlite_url: str, clock: FakeClock) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(database_url=sqlite_url, secret_key="test-secret", base_url="http://testserver"), clock=clock, background=False)
    app.router.routes.append(Route("/test-boom", boom))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c


async def test_a_well_formed_request_id_is_echoed_others_are_replaced(client: httpx.AsyncClient) -> None:
    r = await client.get("/login", headers={"X-Request-ID": VALID_ID})
    assert r.status_code == 200 and r.headers["x-request-id"] == VALID_ID
    made = set()
    for bad in (None, "short", "x" * 65, "has space in it", "semi;colon-id", "ünïcode-id-1"):
        headers = {b"X-Request-ID": bad.encode()} if bad is not None else {}
        r = await client.get("/login", headers=headers)
        rid = r.headers["x-request-id"]
        assert rid != bad and 8 <= len(rid) <= 64 and rid.isalnum(), (bad, rid)
        made.add(rid)
    assert len(made) == 6  # a new one each time
    # Errors carry it too: a 404, an API error, and an unhandled exception's 500.
    for path, status in (("/no/such/page", 404), ("/api/v1/chat-requests/1", 401), ("/test-boom", 500)):
        r = await client.get(path, headers={"X-Request-ID": VALID_ID})
        assert r.status_code == status and r.headers["x-request-id"] == VALID_ID, path


async def test_log_lines_are_json_with_the_request_id_and_the_route_template(client: httpx.AsyncClient, captured: io.StringIO) -> None:
    await client.get("/chats/31337", headers={"X-Request-ID": VALID_ID})
    r = await client.get("/test-boom")
    parsed = lines(captured)
    access = [line for line in parsed if line["logger"] == "fairmeet.access"]
    first = next(line for line in access if line["request_id"] == VALID_ID)
    assert first["route"] == "/chats/{chat_id}" and first["method"] == "GET" and first["status"] in (302, 303)
    assert isinstance(first["duration_ms"], float)
    assert "/chats/31337" not in captured.getvalue()
    # The 500: its traceback line and its access line share the id the response carried.
    failure = [line for line in parsed if line["request_id"] == r.headers["x-request-id"]]
    assert any(line["level"] == "ERROR" and "an unexpected failure" in str(line.get("exc")) for line in failure)
    assert any(line["logger"] == "fairmeet.access" and line["status"] == 500 for line in failure)


async def test_each_background_job_run_has_an_id_of_its_own(captured: io.StringIO) -> None:
    runs = 0
    third = asyncio.Event()
    job_log = logging.getLogger("fairmeet.test")

    async def job() -> None:
        nonlocal runs
        runs += 1
        job_log.info("job run %d", runs)
        if runs == 2:
            raise RuntimeError("the second run fails")
        if runs == 3:
            third.set()

    task = asyncio.create_task(_every(0.01, "test sweep", job))
    async with asyncio.timeout(10):
        await third.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    parsed = [line for line in lines(captured) if line.get("job") == "test sweep"]
    ids = [line["request_id"] for line in parsed if str(line["msg"]).startswith("job run")]
    assert len(ids) >= 3 and len(set(ids)) == len(ids) and all(ids)
    failed = next(line for line in parsed if line["level"] == "ERROR")
    assert failed["request_id"] == ids[1] and "the second run fails" in str(failed["exc"])


def _login(http: httpx.Client, email: str, password: str) -> None:
    page = http.get("/login")
    csrf = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    assert http.post("/login", data={"email": email, "password": password, "csrf": csrf}).status_code == 303


async def test_a_websocket_session_logs_under_its_handshake_id_and_no_secret_reaches_the_log(sqlite_url: str, captured: io.StringIO) -> None:
    seeded = await seed_rooms(sqlite_url, 1, strangers=0)
    room = seeded.rooms[0]
    text = "the-message-text-that-must-not-be-logged"

    def settings(base: str) -> Settings:
        return Settings(database_url=sqlite_url, secret_key=SECRET, base_url=base)

    with serve(settings, lambda: IN_ROOM_HOURS) as base:
        def prepare() -> tuple[str, str]:
            with httpx.Client(base_url=base, timeout=10) as http:
                _login(http, room.talent, seeded.password)
                http.get("/login/link/a-made-up-sign-in-token-123456")  # a link token in a path
                http.get("/book/made-up.signed-booking-link")
                token = http.get(f"/chats/{room.chat_id}/room/token").json()["token"]
                return token, "; ".join(f"{k}={v}" for k, v in http.cookies.items())

        token, cookie = await asyncio.to_thread(prepare)
        url = base.replace("http://", "ws://") + f"/ws/rooms/{room.chat_id}?token={token}"
        ws_id = "ws-handshake-id-0001"
        async with websockets.connect(url, origin=base, additional_headers={"Cookie": cookie, "X-Request-ID": ws_id}) as ws:  # type: ignore[arg-type]
            assert ws.response is not None and ws.response.headers["X-Request-ID"] == ws_id
            await ws.send(json.dumps({"type": "hello", "conn": "tab-logging-1"}))
            await ws.send(json.dumps({"type": "chat", "text": text, "client_id": "line-1"}))
            async with asyncio.timeout(10):
                while orjson.loads(await ws.recv()).get("type") != "ack":
                    pass
        for _ in range(100):  # the session's last line is written as its handler returns
            if "WS /ws/rooms/{chat_id}" in captured.getvalue():
                break
            await asyncio.sleep(0.05)
    log = captured.getvalue()
    parsed = lines(captured)
    session = [line for line in parsed if line["request_id"] == ws_id]
    assert any("joined at seq" in str(line["msg"]) and line["logger"] == "web.rooms" for line in session), session
    assert any(line["logger"] == "fairmeet.access" and line["route"] == "/ws/rooms/{chat_id}" for line in session), session
    for secret in (text, token, seeded.password, "a-made-up-sign-in-token-123456", "made-up.signed-booking-link", "fairmeet_session="):
        assert secret not in log, secret
    assert "/login/link/{token}" in log and "/book/{signed}" in log


def test_redaction_scrubs_what_looks_like_a_credential() -> None:
    redact = logging_setup.redact
    assert redact("GET /login/link/abcDEF123?x=1") == "GET /login/link/[redacted]?x=1"
    assert redact("/book/eyJhbGc.xyz/invite.ics") == "/book/[redacted]/invite.ics"
    assert redact("/live/continue/SIGNED.value") == "/live/continue/[redacted]"
    assert redact("/calendar/abc123.ics") == "/calendar/[redacted]"
    assert redact("/ws/rooms/5?token=abc.def-1&x=2") == "/ws/rooms/5?token=[redacted]&x=2"
    assert redact("Authorization: Bearer sk_123abc") == "Authorization: Bearer [redacted]"
    assert redact("smtp://me:hunter2@mail.example:587") == "smtp://me:[redacted]@mail.example:587"
    assert redact('{"password": "hunter2"}') == '{"password": "[redacted]"}'
    assert redact("route /book/{signed} answered 409") == "route /book/{signed} answered 409"  # templates stay
    assert redact("close code 4008 too slow") == "close code 4008 too slow"
    # Through a logger: arguments are merged before scrubbing, tracebacks are scrubbed too.
    out = io.StringIO()
    logger = logging.getLogger("fairmeet.test.redact")
    logger.addHandler(logging_setup.handler("json", out))
    logger.propagate = False
    try:
        try:
            raise ValueError("bad smtp://me:hunter2@mail.example")
        except ValueError:
            logger.exception("sign-in at %s failed", "/login/link/tok-123456789")
    finally:
        logger.handlers.clear()
        logger.propagate = True
    assert "hunter2" not in out.getvalue() and "tok-123456789" not in out.getvalue()


def test_log_format_is_chosen_from_the_environment_or_the_terminal() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert logging_setup.choose_format({"FAIRMEET_LOG_FORMAT": "text"}, io.StringIO()) == "text"
    assert logging_setup.choose_format({"FAIRMEET_LOG_FORMAT": "JSON"}, Tty()) == "json"
    assert logging_setup.choose_format({}, Tty()) == "text"
    assert logging_setup.choose_format({}, io.StringIO()) == "json"


def test_fairmeet_serve_writes_json_lines_without_query_strings(sqlite_url: str, tmp_path: Path) -> None:
    with free_socket() as probe:
        port = probe.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "FAIRMEET_DATABASE_URL": sqlite_url, "FAIRMEET_SECRET_KEY": "cli-secret", "FAIRMEET_BASE_URL": base,
           "FAIRMEET_DRAIN_DELAY": "0", "FAIRMEET_UPLOAD_DIR": str(tmp_path / "uploads")}
    env.pop("FAIRMEET_LOG_FORMAT", None)
    err = tmp_path / "serve.log"
    with err.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "web.cli", "serve", "--port", str(port)], stdout=out, stderr=out, env=env,
                                cwd=Path(__file__).resolve().parents[2])
        try:
            wait_until_serving(base, proc, err)
            r = httpx.get(base + "/chats/7/room?token=query-secret-123456", headers={"X-Request-ID": VALID_ID}, timeout=10)
            assert r.headers["x-request-id"] == VALID_ID
            # uvicorn's own line for a WebSocket handshake names the path with its query: the token is scrubbed from it.
            with pytest.raises(websockets.InvalidStatus):
                websockets.sync.client.connect(f"ws://127.0.0.1:{port}/ws/rooms/7?token=ws-query-secret-123456", open_timeout=10)
        finally:
            stop_process(proc)
    raw = err.read_text()
    parsed = [json.loads(line) for line in raw.splitlines() if line.strip()]  # every line is JSON (uvicorn's own included)
    assert any(line["logger"].startswith("uvicorn") for line in parsed)
    line = next(line for line in parsed if line.get("request_id") == VALID_ID and line["logger"] == "fairmeet.access")
    assert line["route"] == "/chats/{chat_id}/room" and line["method"] == "GET"
    assert "query-secret-123456" not in raw and "token=[redacted]" in raw
    assert any('"WebSocket /ws/rooms/7?token=[redacted]"' in str(line["msg"]) for line in parsed)
