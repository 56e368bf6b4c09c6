"""docs/deploy.md, followed step by step: every command of its shell blocks is checked, in order.

What can run here runs (secret generation, the `fairmeet` CLI against a throwaway PostgreSQL database, the backup, the
restore into a fresh database, /readyz of a real server). No Docker engine runs here, so a `docker compose` command is
checked against deploy/compose.yaml (the subcommand, the services and profiles it names) and then does here what
Compose would do in the container: `exec app1 fairmeet ...` runs the real CLI with the service's settings, `exec backup
sh /scripts/backup.sh` runs the script with the service's environment (paths mapped to the volumes' host directories),
`run --rm migrate` runs the migration, `stop app1 app2` stops the server. Host commands (DNS, firewall) are checked
against the stack's ports and names. A command this test does not know makes it fail: a new step in the guide needs a
check here."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shlex
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from sqlalchemy import text

from scheduling.db import admin_sql, create_engine
from scheduling.delivery import SmtpSender
from tests.conftest import PG_ADMIN_URL, _service_missing
from tests.live import serve
from web.settings import Settings

pytestmark = pytest.mark.reliability

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "deploy.md"
COMPOSE_SUBCOMMANDS = {"build", "up", "ps", "logs", "exec", "run", "stop", "version"}


def doc_commands(text_: str) -> list[tuple[str, str]]:
    """(section, command) for each command of each ```sh block, continuation lines joined, comments dropped."""
    result: list[tuple[str, str]] = []
    section = ""
    in_block = False
    pending = ""
    for line in text_.splitlines():
        if not in_block and line.startswith("#"):
            section = line.lstrip("# ").strip()
        if line.strip().startswith("```"):
            fence = line.strip()[3:].strip()
            if not in_block:
                assert fence in ("sh", "text", "json", ""), f"{section}: a ```{fence} block; shell commands go in ```sh blocks"
            in_block = not in_block and fence == "sh"
            continue
        if in_block:
            stripped = line.strip()
            if not stripped or stripped.startswith("#"):
                continue
            pending += stripped[:-1] + " " if stripped.endswith("\\") else stripped
            if not stripped.endswith("\\"):
                result.append((section, pending))
                pending = ""
    return result


@dataclass
class Ctx:
    tmp: Path
    db: str  # the database that plays "fairmeet"
    cwd: Path = field(init=False)
    compose: dict[str, Any] = field(default_factory=dict)
    env_file: dict[str, str] = field(default_factory=dict)
    server: contextlib.ExitStack | None = None
    base: str = ""
    firewall: set[str] = field(default_factory=set)
    ran: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.cwd = self.tmp

    @property
    def db_names(self) -> dict[str, str]:
        return {"fairmeet_before_restore": self.db + "_before", "fairmeet": self.db}

    def url(self, name: str | None = None) -> str:
        return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name or self.db}"

    @property
    def volumes(self) -> Path:
        return self.tmp / "volumes"

    def services(self) -> dict[str, dict[str, Any]]:
        result: dict[str, dict[str, Any]] = self.compose["services"]
        return result

    def interpolate(self, value: str) -> str:
        def one(match: re.Match[str]) -> str:
            name, op, default = match[1], match[2] or "", match[3] or ""
            got = self.env_file.get(name, "")
            if op == ":-" and not got:
                return default
            if op == ":?" and not got:
                raise AssertionError(f"${{{name}}} must be set in .env: {default}")
            return got
        return re.sub(r"\$\{([A-Z0-9_]+)(?:(:[-?])([^}]*))?\}", one, value)

    def host_path(self, service: str, path: str) -> str:
        """A path inside a service's container, as the directory or file on this machine Compose would mount there."""
        spec = self.services()[service]
        if path.startswith("/run/secrets/"):
            name = path.removeprefix("/run/secrets/")
            return str(self.cwd / self.compose["secrets"][name]["file"])
        for volume in spec.get("volumes", []):
            source, target = volume.split(":")[:2]
            if path == target or path.startswith(target + "/"):
                host = self.cwd / source if source.startswith(".") else self.volumes / source
                if not source.startswith(".") or source == "./backups":  # named volumes and the backup directory
                    host.mkdir(parents=True, exist_ok=True)
                return str(host) + path[len(target):]
        return path

    def service_env(self, service: str) -> dict[str, str]:
        """The service's environment as Compose gives it, on this machine: paths mapped, PostgreSQL the local one."""
        env = {}
        for key, raw in (self.services()[service].get("environment") or {}).items():
            value = self.interpolate(str(raw))
            env[key] = self.host_path(service, value) if value.startswith("/") else value
        if "PGHOST" in env:
            env.update(PGHOST="127.0.0.1", PGPORT="5432", PGUSER="postgres", PGDATABASE=self.db_names.get(env["PGDATABASE"], env["PGDATABASE"]))
        if any(key.startswith("FAIRMEET_") for key in env):
            env.pop("FAIRMEET_DATABASE_URL_FILE", None)
            env.pop("FAIRMEET_REDIS_URL_FILE", None)  # no Redis between replicas here: one server
            env["FAIRMEET_DATABASE_URL"] = self.url()
        return env

    def run(self, argv: list[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        base = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "FAIRMEET_"))}
        result = subprocess.run(argv, env={**base, **(env or {})}, cwd=cwd or self.cwd, capture_output=True, text=True, timeout=120, check=False,
                                stdin=subprocess.DEVNULL)  # no terminal: `users create` makes a link-only account instead of asking
        assert result.returncode == 0, f"{shlex.join(argv)} failed: {result.stdout[-1500:]} {result.stderr[-1500:]}"
        return result

    def start_server(self) -> str:
        if self.server is None:
            self.server = contextlib.ExitStack()
            settings_env = self.service_env("app1")
            settings = Settings.from_env(settings_env)
            self.base = self.server.enter_context(serve(lambda base: _with_base(settings, base), _now, name="deploy-doc"))
        return self.base

    def stop_server(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None


def _with_base(settings: Settings, base: str) -> Settings:
    settings.base_url = base
    return settings


def _now() -> Any:
    import datetime as dt

    return dt.datetime.now(dt.UTC)


# --------------------------------------------------------------------------- host commands


def check_version(ctx: Ctx, argv: list[str]) -> None:
    assert argv == ["docker", "compose", "version"]


def check_dig(ctx: Ctx, argv: list[str]) -> None:
    example = re.search(r"^FAIRMEET_DOMAIN=(\S+)$", (ROOT / "deploy" / ".env.example").read_text(), re.MULTILINE)
    assert example and argv == ["dig", "+short", example[1]]


def check_ufw(ctx: Ctx, argv: list[str]) -> None:
    if argv == ["ufw", "enable"]:
        return
    assert argv[:2] == ["ufw", "allow"] and len(argv) == 3, argv
    ctx.firewall.add(argv[2])


def firewall_needed(ctx: Ctx) -> set[str]:
    needed = {"22/tcp"}
    for port in ctx.services()["caddy"]["ports"]:
        mapping, _, proto = port.partition("/")
        needed.add(f"{mapping.split(':')[0]}/{proto or 'tcp'}")
    conf = dict(line.split("=", 1) for line in (ROOT / "deploy/coturn/turnserver.conf").read_text().splitlines() if "=" in line and not line.startswith("#"))
    needed |= {f"{conf['listening-port']}/udp", f"{conf['listening-port']}/tcp", f"{conf['min-port']}:{conf['max-port']}/udp"}
    return needed


def check_clone(ctx: Ctx, argv: list[str]) -> None:
    assert argv[:2] == ["git", "clone"] and argv[3] == "fairmeet", argv
    shutil.copytree(ROOT / "deploy", ctx.tmp / "fairmeet" / "deploy", ignore=shutil.ignore_patterns("secrets", "backups", ".env"))


def check_cd(ctx: Ctx, argv: list[str]) -> None:
    target = ctx.cwd / argv[1]
    assert target.is_dir(), argv
    ctx.cwd = target
    ctx.compose = yaml.safe_load((ctx.cwd / "compose.yaml").read_text())


def run_here(ctx: Ctx, argv: list[str]) -> None:
    ctx.run(argv)


def check_editor(ctx: Ctx, argv: list[str]) -> None:
    assert (ctx.cwd / argv[1]).is_file(), argv
    for line in (ctx.cwd / argv[1]).read_text().splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            ctx.env_file[key] = value.strip('"')


def run_shell(ctx: Ctx, command: str) -> None:
    """A line with redirections or substitutions (secret generation): run by sh, as written."""
    ctx.run(["sh", "-c", command])


def check_curl(ctx: Ctx, argv: list[str]) -> None:
    url = argv[-1]
    prefix = f"https://{ctx.env_file['FAIRMEET_DOMAIN']}"
    assert url.startswith(prefix + "/"), url
    response = httpx.get(ctx.start_server() + url.removeprefix(prefix), timeout=10)
    assert response.status_code == 200, response.text


def check_stunclient(ctx: Ctx, argv: list[str]) -> None:
    assert argv == ["turnutils_stunclient", ctx.env_file["FAIRMEET_DOMAIN"]]


def check_git_pull(ctx: Ctx, argv: list[str]) -> None:
    assert argv == ["git", "pull"]


# --------------------------------------------------------------------------- docker compose


def check_compose(ctx: Ctx, argv: list[str]) -> None:
    args = argv[2:]
    profiles = []
    while args and args[0] == "--profile":
        profiles.append(args[1])
        args = args[2:]
    all_profiles = {p for s in ctx.services().values() for p in s.get("profiles", [])}
    assert set(profiles) <= all_profiles, profiles
    sub, rest = args[0], args[1:]
    assert sub in COMPOSE_SUBCOMMANDS, f"docker compose {sub}: not a subcommand this guide uses"

    def services_in(names: list[str]) -> list[str]:
        for name in names:
            assert name in ctx.services(), f"no service {name}"
            wanted = ctx.services()[name].get("profiles")
            assert not wanted or set(wanted) & set(profiles), f"{name} needs --profile {wanted}"
        return names

    if sub == "version":
        return
    if sub in ("build", "ps", "stop"):
        names = services_in([a for a in rest if not a.startswith("-")])
        if sub == "stop" and {"app1", "app2"} <= set(names):
            ctx.stop_server()
        return
    if sub == "logs":
        flags = {"--tail": 1, "-f": 0}
        i = 0
        while i < len(rest) and rest[i].startswith("-"):
            i += 1 + flags[rest[i]]
        services_in(rest[i:])
        return
    if sub == "up":
        names = services_in([a for a in rest if not a.startswith("-")])
        assert set(a for a in rest if a.startswith("-")) <= {"-d", "--no-deps"}
        if not names or "migrate" in names or "--no-deps" not in rest and any(n in ("app1", "app2") for n in names):
            migrate(ctx)  # `up` starts migrate first (depends_on: service_completed_successfully)
        if not names or any(n in ("app1", "app2") for n in names):
            ctx.stop_server()  # recreated on the new image
            ctx.start_server()
        return
    if sub == "run":
        assert rest[0] == "--rm", rest
        name, command = rest[1], rest[2:]
        services_in([name])
        service = ctx.services()[name]
        entrypoint = service.get("entrypoint") or []
        full = [*entrypoint, *(command or service.get("command") or [])]
        exec_in(ctx, name, full)
        return
    assert sub == "exec"
    name, command = rest[0], rest[1:]
    services_in([name])
    exec_in(ctx, name, command)


def migrate(ctx: Ctx) -> None:
    assert ctx.services()["migrate"]["command"] == ["fairmeet", "db", "upgrade"]
    ctx.run([str(Path(sys.executable).with_name("fairmeet")), "db", "upgrade"], env=ctx.service_env("migrate"))


def exec_in(ctx: Ctx, service: str, command: list[str]) -> None:
    """A command inside a service's container, run here with what the container would have."""
    image = ctx.services()[service].get("image", "")
    if command[0] == "fairmeet":
        assert "FAIRMEET_IMAGE" in image, f"{service} does not run the Fairmeet image"
        ctx.run([str(Path(sys.executable).with_name("fairmeet")), *command[1:]], env=ctx.service_env(service))
        ctx.ran.append(shlex.join(command))
        return
    if command[:2] == ["python", "-c"]:
        assert "FAIRMEET_IMAGE" in image
        port = httpx.URL(ctx.start_server()).port
        code = command[2].replace("'127.0.0.1', 8000", f"'127.0.0.1', {port}")
        assert code != command[2], "the probe asks the app's port 8000 on the container's loopback"
        out = ctx.run([sys.executable, "-c", code]).stdout
        assert out.startswith("200 ") and '"ready"' in out, out
        return
    if command[0] == "sh" and command[1].startswith("/scripts/"):
        ctx.run(["sh", ctx.host_path(service, command[1]), *[ctx.host_path(service, a) if a.startswith("/") else a for a in command[2:]]],
                env=ctx.service_env(service))
        ctx.ran.append(shlex.join(command))
        return
    if command[0] in ("psql", "createdb", "dropdb") and service == "postgres":
        assert command[1:3] == ["-U", "fairmeet"], command
        names = ctx.db_names

        def local(arg: str) -> str:
            return re.sub(r"\bfairmeet(_before_restore)?\b", lambda m: names[m[0]], arg)

        ctx.run([command[0], "-h", "127.0.0.1", "-U", "postgres", *[local(a) for a in command[3:]]])
        ctx.ran.append(shlex.join(command))
        return
    raise AssertionError(f"docker compose exec {service} {shlex.join(command)}: no check for this command")


def restore_example_backup(ctx: Ctx, argv: list[str]) -> None:
    """`run --rm restore /backups/fairmeet-<time>`: the guide's example name stands for the newest backup made above."""
    backups = sorted((ctx.cwd / "backups").glob("fairmeet-*Z"))
    assert backups, "the guide restores before it made a backup"
    assert re.fullmatch(r"/backups/fairmeet-\d{8}T\d{6}Z", argv[-1]), argv
    check_compose(ctx, [*argv[:-1], "/backups/" + backups[-1].name])


# --------------------------------------------------------------------------- the walk


CHECKS: list[tuple[str, Callable[[Ctx, list[str]], None]]] = [
    (r"docker compose version", check_version),
    (r"dig \+short \S+", check_dig),
    (r"sudo ufw (allow \S+|enable)", lambda ctx, argv: check_ufw(ctx, argv[1:])),
    (r"git clone \S+ fairmeet", check_clone),
    (r"cd \S+", check_cd),
    (r"cp \.env\.example \.env", run_here),
    (r"nano \.env", check_editor),
    (r"ls backups", run_here),
    (r"git pull", check_git_pull),
    (r"curl -fsS https://\S+", check_curl),
    (r"turnutils_stunclient \S+", check_stunclient),
    (r"docker compose --profile restore run --rm restore /backups/\S+", restore_example_backup),
    (r"docker compose .*", check_compose),
]
SHELL_LINES = [  # secret generation and setup lines, run by sh as written (only these shapes)
    r"mkdir -m 700 secrets",
    r"openssl rand -hex \d+ > secrets/\w+",
    r"printf '[^']*' \"\$\(cat secrets/\w+\)\" > secrets/\w+",
    r"printf '%s' '[^']*' > secrets/smtp_url",
    r"touch secrets/\w+",
    r"chmod 644 secrets/\*",
]


def follow(ctx: Ctx, section: str, command: str) -> None:
    if any(re.fullmatch(pattern, command) for pattern in SHELL_LINES):
        run_shell(ctx, command)
        return
    argv = shlex.split(command)
    for pattern, check in CHECKS:
        if re.fullmatch(pattern, command):
            check(ctx, argv)
            return
    raise AssertionError(f"docs/deploy.md ({section}): no check for `{command}`; add one to tests/deploy/test_deploy_doc.py")


def test_the_guide_can_be_followed(tmp_path: Path) -> None:
    if not shutil.which("psql") or not shutil.which("pg_dump"):
        _service_missing("PostgreSQL client tools", FileNotFoundError("apt-get install -y postgresql-client"))
    ctx = Ctx(tmp=tmp_path, db=f"fairmeet_doc_{uuid.uuid4().hex[:8]}")
    try:
        asyncio.run(admin_sql(PG_ADMIN_URL, f'CREATE DATABASE "{ctx.db}"'))  # what the postgres image creates: empty
    except Exception as err:  # noqa: BLE001 -- no PostgreSQL here
        _service_missing("PostgreSQL", err)
    commands = doc_commands(DOC.read_text())
    try:
        for section, command in commands:
            follow(ctx, section, command)
        after_the_walk(ctx)
    finally:
        ctx.stop_server()
        for name in ctx.db_names.values():
            asyncio.run(admin_sql(PG_ADMIN_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    print(f"docs/deploy.md: {len(commands)} commands followed; ran for real: {ctx.ran}")


def after_the_walk(ctx: Ctx) -> None:
    # The firewall opens exactly what the stack listens on.
    assert ctx.firewall == firewall_needed(ctx), ctx.firewall ^ firewall_needed(ctx)
    # Every secret Compose mounts was generated, and the app reads them into working settings.
    for name, spec in ctx.compose["secrets"].items():
        assert (ctx.cwd / spec["file"]).is_file(), f"the guide never creates secrets/{name}"
    secrets_dir = ctx.cwd / "secrets"
    assert secrets_dir.stat().st_mode & 0o777 == 0o700
    env = {k: ctx.host_path("app1", v) if v.startswith("/run/secrets/") else v
           for k, v in ((k, ctx.interpolate(str(v))) for k, v in ctx.services()["app1"]["environment"].items())}
    settings = Settings.from_env(env)
    password = (secrets_dir / "postgres_password").read_text().strip()
    assert settings.database_url == f"postgresql+asyncpg://fairmeet:{password}@postgres:5432/fairmeet"
    assert settings.redis_url == f"redis://:{(secrets_dir / 'redis_password').read_text().strip()}@redis:6379/0"
    assert len(settings.secret_key) >= 64 and len(settings.turn_secret) >= 32 and settings.base_url == "https://events.example.org"
    sender = SmtpSender(None, settings.smtp_url, settings.mail_from)  # type: ignore[arg-type]
    assert (sender.host, sender.port, sender.start_tls, sender.username) == ("smtp.example.org", 587, True, "fairmeet@example.org")
    # The restore brought back the admin the guide created before its backup.
    assert any(c.startswith("fairmeet users create") for c in ctx.ran) and any("restore.sh" in c for c in ctx.ran), ctx.ran
    assert asyncio.run(_count(ctx.url(), "SELECT count(*) FROM users WHERE is_admin")) == 1


async def _count(url: str, sql: str) -> int:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return int((await conn.execute(text(sql))).scalar_one())
    finally:
        await engine.dispose()


def test_a_command_without_a_check_fails(tmp_path: Path) -> None:
    ctx = Ctx(tmp=tmp_path, db="unused")
    for command in ("curl -s https://get.docker.com | sh", "docker compose down -v", "rm -rf /var/lib/docker"):
        with pytest.raises(AssertionError):
            if command.startswith("docker compose"):
                ctx.compose = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())
            follow(ctx, "test", command)


def test_the_guide_links_what_it_relies_on() -> None:
    guide = DOC.read_text()
    assert "docs/migrations.md" in guide
    for path in re.findall(r"`((?:deploy|docs|tests)/[\w./-]+)`", guide):
        assert (ROOT / path).exists() or path in ("deploy/backups/", "deploy/secrets/") or path.startswith("deploy/prometheus/"), path
