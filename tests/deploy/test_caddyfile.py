"""deploy/Caddyfile is valid for Debian's Caddy (2.6) with a production environment and with the test one, and says
what production needs: health checks on /readyz, retries on another replica, /metrics closed to the outside."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.caddy import CADDYFILE, caddy_binary, caddy_env

PRODUCTION = {"FAIRMEET_DOMAIN": "fairmeet.example.org", "FAIRMEET_UPSTREAMS": "app1:8000 app2:8000"}


def _caddy(args: list[str], env: dict[str, str], tmp: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([caddy_binary(), *args, "--config", str(CADDYFILE), "--adapter", "caddyfile"], check=False, env=env,
                          cwd=tmp, capture_output=True, text=True, timeout=60)


def _find(node: Any, handler: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        if node.get("handler") == handler:
            found.append(node)
        for value in node.values():
            found += _find(value, handler)
    elif isinstance(node, list):
        for value in node:
            found += _find(value, handler)
    return found


@pytest.mark.parametrize("where", ["production", "test"])
def test_caddy_validates_the_caddyfile(where: str, tmp_path: Path) -> None:
    env = caddy_env(tmp_path, domain="https://localhost:18443", upstreams=["127.0.0.1:18001", "127.0.0.1:18002"],
                    https_port=18443, http_port=18080)
    if where == "production":
        for key in ("FAIRMEET_TLS", "FAIRMEET_CADDY_ADMIN", "FAIRMEET_HTTPS_PORT", "FAIRMEET_HTTP_PORT"):
            env.pop(key)
        env.update(PRODUCTION)
    done = _caddy(["validate"], env, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Valid configuration" in done.stdout + done.stderr


def test_the_adapted_config_balances_on_readiness_and_hides_metrics(tmp_path: Path) -> None:
    env = caddy_env(tmp_path, domain="fairmeet.example.org", upstreams=PRODUCTION["FAIRMEET_UPSTREAMS"].split(), https_port=443, http_port=80)
    for key in ("FAIRMEET_TLS", "FAIRMEET_CADDY_ADMIN"):
        env.pop(key)
    done = _caddy(["adapt"], env, tmp_path)
    assert done.returncode == 0, done.stderr
    config = json.loads(done.stdout)
    [proxy] = _find(config, "reverse_proxy")
    assert [u["dial"] for u in proxy["upstreams"]] == ["app1:8000", "app2:8000"]
    active = proxy["health_checks"]["active"]
    assert active["uri"] == "/readyz" and active["expect_status"] == 200 and active["interval"] <= 1_000_000_000
    assert proxy["health_checks"]["passive"]["fail_duration"] > 0
    assert proxy["load_balancing"]["try_duration"] > 0  # a refused connection (a draining replica) is retried on the other
    assert any(r["status_code"] == 404 for r in _find(config, "static_response"))  # /metrics*
    assert any(m.get("path") == ["/metrics*"] for m in _find_matchers(config))
    servers = config["apps"]["http"]["servers"]
    assert all(s["listen"] == [":443"] for s in servers.values())
    assert "internal" not in json.dumps(config["apps"].get("tls", {}))  # production: automatic HTTPS from a public CA
    assert config["apps"]["pki"]["certificate_authorities"]["local"]["install_trust"] is False  # never touches the trust store
    headers = _find(config, "headers")[0]["response"]["set"]
    assert "Strict-Transport-Security" in headers and headers["X-Content-Type-Options"] == ["nosniff"]


def _find_matchers(node: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "match" and isinstance(value, list):
                found += [m for m in value if isinstance(m, dict)]
            found += _find_matchers(value)
    elif isinstance(node, list):
        for value in node:
            found += _find_matchers(value)
    return found


SECRETS = {"/login/link/LINKSECRET.x-y": "LINKSECRET", "/book/BOOKSIGNED.sig/invite.ics": "BOOKSIGNED", "/calendar/CALTOKEN.ics": "CALTOKEN",
           "/live/continue/CONTSIGNED.sig": "CONTSIGNED", "/ws/rooms/5?token=ROOMTOKEN&x=1": "ROOMTOKEN"}


def test_caddy_logs_keep_no_link_secrets(tmp_path: Path) -> None:
    """Caddy's access log and its error log (which carries the request too) don't keep the secrets the app's own log
    redacts: link tokens in the path, ?token=, and the Referer that repeats a page's URL. Ordinary paths stay readable."""
    import ssl
    import threading
    import time
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    import httpx

    from tests.deploy.caddy import caddy_front

    class Stub(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if "DROP" in self.path:  # a replica dying mid-request: Caddy logs an error with the request
                self.close_connection = True
                return
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    stub = ThreadingHTTPServer(("127.0.0.1", 0), Stub)
    threading.Thread(target=stub.serve_forever, daemon=True).start()
    try:
        with caddy_front([f"127.0.0.1:{stub.server_address[1]}"], tmp_path) as front:
            with httpx.Client(verify=ssl.create_default_context(cafile=front.ca), timeout=10) as client:
                referer = {"Referer": front.url + "/login/link/REFERERSECRET"}
                for path in [*SECRETS, "/chats/12?page=2"]:
                    assert client.get(front.url + path, headers=referer).status_code == 200
                assert client.get(front.url + "/login/link/DROPSECRET", headers=referer).status_code == 502  # last: the replica counts as failed
            deadline = time.monotonic() + 10
            while log_lines(front.log).count("handled request") < len(SECRETS) + 2 and time.monotonic() < deadline:
                time.sleep(0.1)
    finally:
        stub.shutdown()
        stub.server_close()
    log = log_lines(front.log)
    errors = [line for line in log.splitlines() if "http.log.error" in line]
    assert errors and all("/login/link/[redacted]" in line for line in errors), errors
    for secret in [*SECRETS.values(), "REFERERSECRET", "DROPSECRET"]:
        assert secret not in log, secret
    assert '"uri":"/chats/12?page=2"' in log and '"uri":"/ws/rooms/5?token=[redacted]&x=1"' in log


def log_lines(path: Path) -> str:
    return path.read_text()
