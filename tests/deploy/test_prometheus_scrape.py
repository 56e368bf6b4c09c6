"""A real Prometheus (Debian's) scrapes two real `fairmeet serve` processes with deploy/prometheus/prometheus.yml, rendered
for this machine (targets on free ports, the token in a file, a 1 s interval): both targets come up through the bearer
token, and fairmeet_http_requests_total is queryable by route template. Without the token a target is down (401)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.conftest import _service_missing
from tests.live import free_socket, stop_process, wait_until_serving

pytestmark = pytest.mark.reliability
ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "deploy" / "prometheus" / "prometheus.yml"
PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
TOKEN = "scrape-test-token-0123456789abcdef"


def _port() -> int:
    with free_socket() as probe:
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def fairmeet_serve(database_url: str, tmp: Path, name: str) -> Iterator[str]:
    port = _port()
    base = f"http://127.0.0.1:{port}"
    token_file = tmp / "app_metrics_token"
    token_file.write_text(TOKEN + "\n")
    env = {**os.environ, "FAIRMEET_DATABASE_URL": database_url, "FAIRMEET_SECRET_KEY": "scrape-secret", "FAIRMEET_BASE_URL": base,
           "FAIRMEET_METRICS_TOKEN_FILE": str(token_file), "FAIRMEET_DRAIN_DELAY": "0", "FAIRMEET_UPLOAD_DIR": str(tmp / "uploads")}
    env.pop("FAIRMEET_METRICS_TOKEN", None)
    log = tmp / f"{name}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "web.cli", "serve", "--port", str(port)], stdout=out, stderr=out, env=env, cwd=ROOT)
        try:
            wait_until_serving(base, proc, log)
            yield base
        finally:
            stop_process(proc)


def render(targets: list[str], token_file: Path, out: Path) -> dict[str, Any]:
    """The shipped config with this machine's targets, token file and a short interval; everything else as shipped."""
    config: dict[str, Any] = yaml.safe_load(CONFIG.read_text())
    config["global"]["scrape_interval"] = "1s"
    config["global"]["scrape_timeout"] = "1s"
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    app = jobs["fairmeet"]
    app["static_configs"][0]["targets"] = targets
    app["authorization"]["credentials_file"] = str(token_file)
    config["scrape_configs"] = [app]
    out.write_text(yaml.safe_dump(config))
    return config


def test_the_shipped_config_scrapes_both_replicas_with_the_compose_secret() -> None:
    config = yaml.safe_load(CONFIG.read_text())
    [app] = [job for job in config["scrape_configs"] if job["job_name"] == "fairmeet"]
    assert app["metrics_path"] == "/metrics"
    assert app["authorization"] == {"type": "Bearer", "credentials_file": "/run/secrets/metrics_token"}
    assert app["static_configs"][0]["targets"] == ["app1:8000", "app2:8000"]
    compose = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())
    assert {"app1", "app2"} <= set(compose["services"])
    assert "metrics_token" in compose["services"]["prometheus"]["secrets"]


@contextmanager
def prometheus(config: Path, tmp: Path) -> Iterator[str]:
    if not Path(PROMETHEUS).exists():
        _service_missing("Prometheus (/usr/bin/prometheus)", FileNotFoundError("apt-get install -y prometheus"))
    port = _port()
    base = f"http://127.0.0.1:{port}"
    log = tmp / "prometheus.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={tmp / 'tsdb'}",
                                 f"--web.listen-address=127.0.0.1:{port}", "--storage.tsdb.retention.time=1h"],
                                stdout=out, stderr=out, cwd=tmp)
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if httpx.get(base + "/-/ready", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("prometheus did not start: " + log.read_text()[-2000:])
                time.sleep(0.2)
            yield base
        finally:
            stop_process(proc)


def targets(base: str) -> list[dict[str, Any]]:
    data = httpx.get(base + "/api/v1/targets", timeout=5).json()
    assert data["status"] == "success"
    active: list[dict[str, Any]] = data["data"]["activeTargets"]
    return active


def query(base: str, expr: str) -> list[dict[str, Any]]:
    data = httpx.get(base + "/api/v1/query", params={"query": expr}, timeout=5).json()
    assert data["status"] == "success", data
    result: list[dict[str, Any]] = data["data"]["result"]
    return result


def test_prometheus_scrapes_both_replicas_through_the_token(sqlite_template: Path, tmp_path: Path) -> None:
    db = tmp_path / "fairmeet.db"
    shutil.copy(sqlite_template, db)
    url = f"sqlite+aiosqlite:///{db}"
    token_file = tmp_path / "prometheus_token"
    token_file.write_text(TOKEN)
    with ExitStack() as stack:
        apps = [stack.enter_context(fairmeet_serve(url, tmp_path, name)) for name in ("app1", "app2")]
        for app in apps:
            assert httpx.get(app + "/login", timeout=10).status_code == 200
            assert httpx.get(app + "/metrics", timeout=10).status_code == 401
        hosts = [a.removeprefix("http://") for a in apps]
        config = tmp_path / "prometheus.yml"
        render(hosts, token_file, config)
        check = subprocess.run([str(Path(PROMETHEUS).with_name("promtool")), "check", "config", str(config)], capture_output=True, text=True,
                               check=False)
        assert check.returncode == 0 or not Path(PROMETHEUS).with_name("promtool").exists(), check.stdout + check.stderr
        base = stack.enter_context(prometheus(config, tmp_path))
        started = time.monotonic()
        deadline = started + 30
        while True:
            found = targets(base)
            if len(found) == 2 and all(t["health"] == "up" for t in found):
                break
            assert time.monotonic() < deadline, found
            time.sleep(0.25)
        print(f"\nboth targets up {time.monotonic() - started:.1f} s after Prometheus was ready")
        assert sorted(t["labels"]["instance"] for t in found) == sorted(hosts)
        assert all(t["labels"]["job"] == "fairmeet" and t["labels"]["service"] == "fairmeet" for t in found)
        while True:
            series = query(base, 'fairmeet_http_requests_total{route="/login",method="GET",status="200"}')
            if len(series) == 2:
                break
            assert time.monotonic() < deadline, series
            time.sleep(0.25)
        assert {s["metric"]["instance"] for s in series} == set(hosts)
        assert all(float(s["value"][1]) >= 1 for s in series)
        # Scrapes are requests too, counted under the route template; raw paths never appear as labels.
        routes = {s["metric"]["route"] for s in query(base, "fairmeet_http_requests_total")}
        assert "/metrics" in routes and "/login" in routes
        assert query(base, "fairmeet_build_info") and query(base, "fairmeet_draining == 0")

        # A wrong token: the target goes down with 401.
        token_file.write_text("not-the-token")
        deadline = time.monotonic() + 30
        while True:
            found = targets(base)
            if all(t["health"] == "down" for t in found):
                break
            assert time.monotonic() < deadline, found
            time.sleep(0.25)
        assert all("401" in t["lastError"] for t in found), [t["lastError"] for t in found]
