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
