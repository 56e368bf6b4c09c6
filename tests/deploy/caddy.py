"""The production topology in tests: N real `fairmeet serve` replicas (PostgreSQL + Redis) behind Caddy.

`caddy_front(upstreams, tmp)` runs Debian's Caddy with deploy/Caddyfile itself (no second, hand-written config): the
environment makes the site https://localhost:PORT on free ports (HTTP redirects on another free port, never 80/443),
Caddy's local CA (`FAIRMEET_TLS=internal`; its storage under `tmp` through XDG_DATA_HOME/HOME, never installed into
the machine's trust store) and no admin endpoint. `Front.ca` is the local CA's root certificate: clients trust it
(httpx/websockets through SSL_CERT_FILE, Chromium with ignore_https_errors).

`cluster_database()` makes a throwaway PostgreSQL database migrated with `fairmeet db upgrade`; `replica(env, log)`
runs `.venv/bin/fairmeet serve --host 127.0.0.1 --port P` with FAIRMEET_* settings until the block ends (SIGTERM: it
drains as in production, web/serving.py).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import ssl
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from scheduling.db import admin_sql
from tests.conftest import PG_ADMIN_URL, _service_missing
from tests.live import free_socket, stop_process

ROOT = Path(__file__).resolve().parents[2]
CADDYFILE = ROOT / "deploy" / "Caddyfile"
FAIRMEET = Path(sys.executable).parent / "fairmeet"


def caddy_binary() -> str:
    path = shutil.which("caddy")
    if path is None:
        if os.environ.get("FAIRMEET_REQUIRE_SERVICES") == "1":
            pytest.fail("caddy is not installed (FAIRMEET_REQUIRE_SERVICES=1 makes this an error)")
        pytest.skip("caddy is not installed")
    return path


def free_port() -> int:
    with free_socket() as probe:
        port: int = probe.getsockname()[1]
    return port


def caddy_env(tmp: Path, *, domain: str, upstreams: list[str], https_port: int, http_port: int) -> dict[str, str]:
    """The environment deploy/Caddyfile reads, for a local test site; Caddy's state stays under `tmp`."""
    for sub in ("data", "config"):
        (tmp / sub).mkdir(parents=True, exist_ok=True)
    return {**os.environ, "FAIRMEET_DOMAIN": domain, "FAIRMEET_UPSTREAMS": " ".join(upstreams), "FAIRMEET_TLS": "internal",
            "FAIRMEET_CADDY_ADMIN": "off", "FAIRMEET_HTTPS_PORT": str(https_port), "FAIRMEET_HTTP_PORT": str(http_port),
            "XDG_DATA_HOME": str(tmp / "data"), "XDG_CONFIG_HOME": str(tmp / "config"), "HOME": str(tmp)}


@dataclass
class Front:
    url: str  # https://localhost:PORT
    ca: Path  # the local CA's root certificate
    proc: subprocess.Popen[bytes]
    log: Path


@contextmanager
def caddy_front(upstreams: list[str], tmp: Path, *, https_port: int | None = None) -> Iterator[Front]:
    """Caddy with deploy/Caddyfile in front of `upstreams` (host:port) until the block ends. `https_port`: the site's
    port (free unless given: the replicas' FAIRMEET_BASE_URL must name it before Caddy starts)."""
    binary = caddy_binary()
    https_port, http_port = https_port or free_port(), free_port()
    url = f"https://localhost:{https_port}"
    env = caddy_env(tmp, domain=url, upstreams=upstreams, https_port=https_port, http_port=http_port)
    log = tmp / "caddy.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([binary, "run", "--config", str(CADDYFILE), "--adapter", "caddyfile"], env=env, cwd=tmp,
                                stdout=out, stderr=subprocess.STDOUT)
    ca = tmp / "data" / "caddy" / "pki" / "authorities" / "local" / "root.crt"
    try:
        deadline = time.monotonic() + 20
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"caddy did not start: {log.read_text()[-3000:]}")
            if ca.exists():
                try:
                    if httpx.get(url + "/livez", verify=ssl.create_default_context(cafile=ca), timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
            time.sleep(0.1)
        yield Front(url=url, ca=ca, proc=proc, log=log)
    finally:
        stop_process(proc)


@contextmanager
def cluster_database() -> Iterator[str]:
    """A PostgreSQL database of its own, migrated by the real `fairmeet db upgrade`; dropped afterwards."""
    name = f"fairmeet_topo_{uuid.uuid4().hex[:10]}"
    try:
        asyncio.run(admin_sql(PG_ADMIN_URL, f'CREATE DATABASE "{name}"'))
    except Exception as err:  # noqa: BLE001 -- any connection failure means "no PostgreSQL here"
        _service_missing("PostgreSQL", err)
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        subprocess.run([str(FAIRMEET), "db", "upgrade"], env={**os.environ, "FAIRMEET_DATABASE_URL": url, "FAIRMEET_SECRET_KEY": "x"},
                       cwd=ROOT, check=True, capture_output=True, timeout=120)
        yield url
    finally:
        asyncio.run(admin_sql(PG_ADMIN_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@dataclass
class Replica:
    url: str  # http://127.0.0.1:PORT, straight to this replica (health probes); clients go through the proxy
    upstream: str  # 127.0.0.1:PORT
    proc: subprocess.Popen[bytes]
    log: Path


def replica_env(*, database_url: str, redis_url: str, redis_prefix: str, base_url: str, secret: str = "topology-secret",
                **extra: str) -> dict[str, str]:
    """FAIRMEET_* settings of one replica: every replica gets the same (database, Redis prefix, secret, public URL)."""
    env = {**os.environ, "FAIRMEET_DATABASE_URL": database_url, "FAIRMEET_SECRET_KEY": secret, "FAIRMEET_BASE_URL": base_url,
           "FAIRMEET_REDIS_URL": redis_url, "FAIRMEET_REDIS_PREFIX": redis_prefix, "PYTHONUNBUFFERED": "1"}
    env.update(extra)
    return env


@contextmanager
def replica(env: dict[str, str], log: Path, *, port: int | None = None) -> Iterator[Replica]:
    """`fairmeet serve --host 127.0.0.1 --port P` until the block ends; yields once /readyz answers 200."""
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    with log.open("wb") as out:
        proc = subprocess.Popen([str(FAIRMEET), "serve", "--host", "127.0.0.1", "--port", str(port)], env=env, cwd=ROOT,
                                stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"fairmeet serve did not start: {log.read_text()[-3000:]}")
            time.sleep(0.1)
        yield Replica(url=url, upstream=f"127.0.0.1:{port}", proc=proc, log=log)
    finally:
        if proc.poll() is None:
            stop_process(proc)
