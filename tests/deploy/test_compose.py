"""deploy/compose.yaml against the Compose Specification's JSON schema, plus the rules a production stack must keep;
the production coturn config; the Dockerfile (statically: no Docker engine runs here)."""

from __future__ import annotations

import ipaddress
import json
import re
import tomllib
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from web.settings import SECRET_FILE_SETTINGS, Settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
TURN_CONF = DEPLOY / "coturn" / "turnserver.conf"
APPS = ("app1", "app2")

# Services without a periodic health probe, and why: a one-shot's health is its exit status, which the apps wait for
# with `condition: service_completed_successfully`; probing a process that has finished tells nothing.
ONE_SHOT = {"migrate": "exits after `fairmeet db upgrade`; the apps wait for it to complete successfully",
            "restore": "run by hand (profile restore) to restore one backup, then exits; its exit status says how it went"}

# The ranges a production TURN relay must refuse as peers (ASVS 5.0 V17.1.1): "this network", private, shared
# (carrier-grade NAT), loopback, link-local, unique-local and IPv6 link-local.
MUST_DENY = ["0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.168.0.0/16",
             "::1/128", "fc00::/7", "fe80::/10"]


def compose() -> dict[str, Any]:
    data = json.loads(json.dumps(yaml.safe_load(COMPOSE.read_text())))  # YAML anchors share objects: unshare them
    assert isinstance(data, dict)
    return data


def validator() -> jsonschema.protocols.Validator:
    """The vendored schema says draft 2019-09 (by an older URI that jsonschema does not map, hence explicit)."""
    schema = json.loads((Path(__file__).parent / "compose-spec.json").read_text())
    jsonschema.Draft201909Validator.check_schema(schema)
    return jsonschema.Draft201909Validator(schema)


def services() -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = compose()["services"]
    return result


def test_compose_file_is_valid_against_the_compose_specification() -> None:
    errors = sorted(validator().iter_errors(compose()), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors)
    assert "version" not in compose(), "the Compose specification has no version key"


def test_the_schema_check_catches_a_mistake() -> None:
    """The check is not vacuous: a misspelt key and a wrong depends_on condition are reported."""
    broken = compose()
    broken["services"]["app1"]["helthcheck"] = {}
    broken["services"]["app2"]["depends_on"] = {"migrate": {"condition": "service_done"}}
    errors = list(validator().iter_errors(broken))
    assert len(errors) >= 2


def test_the_stack_has_the_services_a_production_install_needs() -> None:
    names = set(services())
    assert {"caddy", "migrate", "postgres", "redis", "coturn", "backup", *APPS} <= names
    assert services()["prometheus"]["profiles"] == ["observability"]
    caddy_upstreams = services()["caddy"]["environment"]["FAIRMEET_UPSTREAMS"].split()
    assert caddy_upstreams == [f"{app}:8000" for app in APPS]


def test_prometheus_scrapes_both_replicas_with_the_token_file() -> None:
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    [job] = [j for j in config["scrape_configs"] if j["job_name"] == "fairmeet"]
    assert job["static_configs"][0]["targets"] == services()["caddy"]["environment"]["FAIRMEET_UPSTREAMS"].split()
    assert job["authorization"]["credentials_file"] == "/run/secrets/metrics_token"
    assert "metrics_token" in services()["prometheus"]["secrets"]
    for name in APPS:
        assert services()[name]["environment"]["FAIRMEET_METRICS_TOKEN_FILE"] == "/run/secrets/metrics_token"
        assert "metrics_token" in services()[name]["secrets"]


def test_every_service_has_a_health_check() -> None:
    for name, service in services().items():
        check = service.get("healthcheck")
        if name in ONE_SHOT:
            assert check == {"disable": True}, f"{name}: {ONE_SHOT[name]}"
            assert service.get("restart") == "no"
            continue
        assert check and check.get("test") and not check.get("disable"), f"{name} has no health check"


def test_apps_wait_for_the_migration_and_check_readiness() -> None:
    migrate = services()["migrate"]
    assert migrate["command"] == ["fairmeet", "db", "upgrade"]
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in APPS:
        app = services()[name]
        assert app["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert app["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert app["depends_on"]["redis"]["condition"] == "service_healthy"
        probe = " ".join(app["healthcheck"]["test"])
        assert "/readyz" in probe and "urllib" in probe and "curl" not in probe
        assert app["image"] == migrate["image"], "the migration runs the release the apps run"


def _seconds(duration: str) -> float:
    match = re.fullmatch(r"(\d+)(s|m)", duration)
    assert match, duration
    return int(match[1]) * (60 if match[2] == "m" else 1)


def test_apps_are_hardened_and_stop_gracefully() -> None:
    for name in APPS:
        app = services()[name]
        env = app["environment"]
        drain, grace = float(env["FAIRMEET_DRAIN_DELAY"]), float(env["FAIRMEET_SHUTDOWN_GRACE"])
        assert _seconds(app["stop_grace_period"]) > drain + grace, "Docker would SIGKILL a replica still draining"
        assert app["read_only"] is True and "/tmp" in app["tmpfs"]
        assert "no-new-privileges:true" in app["security_opt"]
        assert app["cap_drop"] == ["ALL"]
        assert 0 < int(app["pids_limit"]) <= 4096
    for name, service in services().items():
        assert "no-new-privileges:true" in service.get("security_opt", []), name
        assert service.get("pids_limit"), name


# --------------------------------------------------------------------------- secrets

SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|_KEY$|APIKEY|CREDENTIAL", re.IGNORECASE)
URL_WITH_PASSWORD = re.compile(r"\b[a-z][a-z0-9+.-]*://[^/\s:@]*:[^/\s@]+@")
CONFIG_SECRET = re.compile(r"(static-auth-secret|requirepass|password)\s*[= ]\s*([^\s\"'%]+)", re.IGNORECASE)
TOKEN_LIKE = re.compile(r"^(?=.*[a-z])(?=.*[A-Z])(?=.*[0-9])[A-Za-z0-9+/_=-]{24,}$")  # mixed case and digits: not a NAME


def _strings(value: Any, path: str = "") -> list[tuple[str, str]]:
    if isinstance(value, dict):
        return [item for key, v in value.items() for item in [(f"{path}/{key}", str(key)), *_strings(v, f"{path}/{key}")]]
    if isinstance(value, list):
        return [item for i, v in enumerate(value) for item in _strings(v, f"{path}/{i}")]
    return [(path, str(value))] if value is not None else []


def _literal_secrets(data: dict[str, Any]) -> list[str]:
    found = []
    for name, service in data.get("services", {}).items():
        env = service.get("environment") or {}
        items = env.items() if isinstance(env, dict) else (entry.split("=", 1) for entry in env if "=" in entry)
        for key, value in items:
            text = str(value)
            if SECRET_NAME.search(key) and not key.endswith("_FILE") and text and not re.fullmatch(r"\$\{[A-Z0-9_]+(:?[-?][^}]*)?\}", text):
                found.append(f"{name}: {key} has a literal value")
    joined = [(f"/services/{name}/{key}", " ".join(map(str, service[key]))) for name, service in data.get("services", {}).items()
              for key in ("command", "entrypoint") if isinstance(service.get(key), list)]
    for path, text in [*_strings(data), *joined]:
        if URL_WITH_PASSWORD.search(text):
            found.append(f"{path}: a URL with a password")
        for match in CONFIG_SECRET.finditer(text):
            if not match[2].startswith("$"):
                found.append(f"{path}: {match[1]} {match[2]!r}")
        if TOKEN_LIKE.fullmatch(text) and not text.startswith(("/", "./")) and not re.search(r"[./:]", text):
            found.append(f"{path}: {text[:6]}... looks like a key")
    return found


def test_no_literal_secrets_in_the_compose_file() -> None:
    assert _literal_secrets(compose()) == []
    for name, spec in compose()["secrets"].items():
        assert spec["file"].startswith("./secrets/"), f"secret {name} must be a file outside the repository"
    ignored = (ROOT / ".gitignore").read_text().splitlines()
    assert {"/deploy/.env", "/deploy/secrets/", "/deploy/backups/"} <= set(ignored)


def test_the_secret_scan_finds_planted_secrets() -> None:
    planted = compose()
    planted["services"]["app1"]["environment"]["FAIRMEET_TURN_SECRET"] = "hunter2"
    planted["services"]["app2"]["environment"]["FAIRMEET_DATABASE_URL"] = "postgresql://fairmeet:s3cret@postgres/fairmeet"
    planted["services"]["redis"]["command"] = ["redis-server", "--requirepass", "x"]
    planted["services"]["coturn"]["command"] = ["--static-auth-secret=abc"]
    planted["services"]["caddy"]["labels"] = {"k": "Zm9vYmFyYmF6cXV1eHF1dXhmb29iYXJiYXo"}
    found = _literal_secrets(planted)
    for marker in ("app1: FAIRMEET_TURN_SECRET", "app2/environment/FAIRMEET_DATABASE_URL", "redis/command", "coturn/command", "caddy/labels"):
        assert any(marker in item for item in found), marker


def test_env_example_has_placeholders_only() -> None:
    text = (DEPLOY / ".env.example").read_text()
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            assert not SECRET_NAME.search(key), f"{key}: secrets are files under deploy/secrets/, not .env entries"
            assert "example" in value or not value or value.isdigit() or value in ("fairmeet:latest", "fairmeet"), line


def test_setting_names_exist_and_files_are_read() -> None:
    """Every FAIRMEET_* variable the stack sets is one the code reads (web/settings.py and the modules beside it)."""
    source = "\n".join(p.read_text() for p in (ROOT / "web").rglob("*.py"))
    used = {key for name in ("migrate", *APPS) for key in services()[name]["environment"]}
    for key in sorted(used):
        base = key.removesuffix("_FILE")
        if key.endswith("_FILE") and base in SECRET_FILE_SETTINGS:
            continue
        assert f'"{key}"' in source, f"{key} is not read anywhere in web/"
    for name in services()["app1"]["environment"]:
        if name.endswith("_FILE") and name != "FAIRMEET_SECRET_FILE":
            assert name.removesuffix("_FILE") in SECRET_FILE_SETTINGS, name


def test_secret_files_feed_the_settings(tmp_path: Path) -> None:
    (tmp_path / "database_url").write_text("postgresql://fairmeet:pw@postgres:5432/fairmeet\n")
    (tmp_path / "turn_secret").write_text("turn-secret\n")
    (tmp_path / "smtp_url").write_text("")
    (tmp_path / "secret_key").write_text("k" * 40)
    settings = Settings.from_env({"FAIRMEET_DATABASE_URL_FILE": str(tmp_path / "database_url"), "FAIRMEET_TURN_SECRET_FILE": str(tmp_path / "turn_secret"),
                                  "FAIRMEET_SMTP_URL_FILE": str(tmp_path / "smtp_url"), "FAIRMEET_SECRET_FILE": str(tmp_path / "secret_key")})
    assert settings.database_url == "postgresql+asyncpg://fairmeet:pw@postgres:5432/fairmeet"
    assert settings.turn_secret == "turn-secret"
    assert settings.local_mailbox, "an empty smtp_url file means: mail stays in the local mailbox"
    assert settings.secret_key == "k" * 40
    direct = Settings.from_env({"FAIRMEET_TURN_SECRET": "direct", "FAIRMEET_TURN_SECRET_FILE": str(tmp_path / "turn_secret"),
                                "FAIRMEET_SECRET_KEY": "x"})
    assert direct.turn_secret == "direct", "the variable itself wins over its _FILE form"


def test_files_the_stack_mounts_are_in_the_repository() -> None:
    for name, service in services().items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("./") and source not in ("./backups",):
                assert (DEPLOY / source).exists() or source in ("./Caddyfile", "./prometheus/prometheus.yml"), f"{name}: {source}"
    caddyfile = DEPLOY / "Caddyfile"
    if caddyfile.exists():  # helper-written; its {$VAR} placeholders must all be given to the caddy service
        given = set(services()["caddy"]["environment"])
        for var in re.findall(r"\{\$([A-Z0-9_]+)(?::[^}]*)?\}", caddyfile.read_text()):
            assert var in given or re.search(rf"\{{\${var}:[^}}]+\}}", caddyfile.read_text()), f"Caddyfile needs {var}"


def test_caddy_takes_the_caddyfile_with_the_environment_compose_gives_it(tmp_path: Path) -> None:
    """Debian's caddy adapts deploy/Caddyfile with the caddy service's environment (.env.example's domain): one site
    for the domain, reverse-proxied to both replicas with /readyz as the health check, admin where the health check asks."""
    import shutil
    import subprocess

    caddy = shutil.which("caddy")
    if caddy is None:
        pytest.skip("caddy is not installed (make test installs it)")
    domain = re.search(r"^FAIRMEET_DOMAIN=(\S+)$", (DEPLOY / ".env.example").read_text(), re.MULTILINE)
    assert domain
    env = {key: str(value).replace("${FAIRMEET_DOMAIN:?set FAIRMEET_DOMAIN in .env}", domain[1])
           for key, value in services()["caddy"]["environment"].items()}
    result = subprocess.run([caddy, "adapt", "--config", str(DEPLOY / "Caddyfile"), "--adapter", "caddyfile"], env={"PATH": "/usr/bin:/bin", **env},
                            capture_output=True, text=True, timeout=30, check=True, cwd=tmp_path)
    config = json.loads(result.stdout)
    assert config["admin"]["listen"] in ("localhost:2019", "127.0.0.1:2019")
    assert "http://127.0.0.1:2019/" in " ".join(services()["caddy"]["healthcheck"]["test"])
    text = result.stdout
    assert f'"host":["{domain[1]}"]' in text
    for upstream in env["FAIRMEET_UPSTREAMS"].split():
        assert f'"dial":"{upstream}"' in text
    assert '"uri":"/readyz"' in text


# --------------------------------------------------------------------------- coturn


def turn_lines() -> list[tuple[str, str]]:
    result = []
    for raw in TURN_CONF.read_text().splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            result.append((key.strip(), value.strip()))
    return result


def denied_networks() -> list[tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, ipaddress.IPv4Address | ipaddress.IPv6Address]]:
    ranges = []
    for key, value in turn_lines():
        if key == "denied-peer-ip":
            low, _, high = value.partition("-")
            ranges.append((ipaddress.ip_address(low), ipaddress.ip_address(high or low)))
    return ranges


def test_coturn_is_hardened() -> None:
    keys = dict(turn_lines())
    for flag in ("use-auth-secret", "no-cli", "no-tlsv1", "no-tlsv1_1", "fingerprint", "no-multicast-peers"):
        assert flag in keys, flag
    assert "static-auth-secret" not in keys, "the shared secret comes from the secret file, not from the repository"
    assert "allow-loopback-peers" not in keys and "cli-password" not in keys
    low, high = int(keys["min-port"]), int(keys["max-port"])
    assert 1024 < low < high <= 65535 and high - low < 1000, "a bounded relay port range"
    assert 0 < int(keys["user-quota"]) < int(keys["total-quota"])
    for network in MUST_DENY:
        net = ipaddress.ip_network(network)
        covered = any(lo.version == net.version and lo <= net.network_address and net.broadcast_address <= hi for lo, hi in denied_networks())
        assert covered, f"{network} is not denied"
    for address in ("8.8.8.8", "1.1.1.1", "2606:4700:4700::1111"):  # and the public internet is not
        ip = ipaddress.ip_address(address)
        assert not any(lo.version == ip.version and lo <= ip <= hi for lo, hi in denied_networks()), address


def test_compose_runs_coturn_with_this_config_and_the_secret_file() -> None:
    coturn = services()["coturn"]
    assert "./coturn/turnserver.conf:/etc/coturn/turnserver.conf:ro" in coturn["volumes"]
    script = " ".join(coturn["entrypoint"])
    assert "/run/secrets/turn_secret" in script and "turnserver -c /tmp/turnserver.conf" in script
    assert coturn["secrets"] == ["turn_secret"]


# --------------------------------------------------------------------------- Dockerfile


def dockerfile() -> str:
    return (ROOT / "Dockerfile").read_text()


def test_the_image_carries_every_package() -> None:
    includes = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = sorted({pattern.rstrip("*").split(".")[0] for pattern in includes})
    assert packages == ["media", "scheduling", "signaling", "web"]
    for package in packages:
        assert re.search(rf"^COPY {package} \./{package}$", dockerfile(), re.MULTILINE), f"the image misses {package}/"
    assert re.search(r"^RUN pip install --no-cache-dir \.$", dockerfile(), re.MULTILINE)


def test_the_wheel_the_image_installs_carries_every_data_file(tmp_path: Path) -> None:
    """`pip install .` from what the Dockerfile copies: every template, static file (static/livechat/ too) and migration
    is in the wheel, since the image serves and migrates from the installed package, not from a checkout."""
    import shutil
    import subprocess
    import sys
    import zipfile

    copied = re.findall(r"^COPY (?!--)(\S+(?: \S+)*) \./?\S*$", dockerfile(), re.MULTILINE)
    src = tmp_path / "src"
    src.mkdir()
    for line in copied:
        for name in line.split():
            source = ROOT / name
            if source.is_dir():
                shutil.copytree(source, src / name, ignore=shutil.ignore_patterns("__pycache__", "vendor"))
            else:
                shutil.copy(source, src / name)
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "-q", "-w", str(tmp_path / "wheel")],
                           cwd=src, check=False, capture_output=True, text=True, timeout=300)
    if built.returncode and "setuptools" in built.stderr and ("No matching distribution" in built.stderr or "connection" in built.stderr.lower()):
        pytest.skip(f"no setuptools>=68 for the build (offline?): {built.stderr[-300:]}")
    assert built.returncode == 0, built.stderr[-3000:]
    [wheel] = (tmp_path / "wheel").glob("fairmeet-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    wanted = [p.relative_to(ROOT).as_posix() for top in ("web/templates", "web/static", "scheduling/migrations") for p in (ROOT / top).rglob("*")
              if p.is_file() and "__pycache__" not in p.parts and "vendor" not in p.parts]
    assert any(name.startswith("web/static/livechat/") for name in wanted)
    missing = sorted(set(wanted) - names)
    assert not missing, missing


def test_the_image_carries_the_background_effect_files() -> None:
    makefile = (ROOT / "Makefile").read_text()
    pinned = re.search(r"^SEGMENTATION := (\S+)$", makefile, re.MULTILINE)
    assert pinned
    assert f"ARG SEGMENTATION={pinned[1]}\n" in dockerfile(), "the image must install the Makefile's pinned version"
    make_files = sorted(re.findall(r"selfie_segmentation/(\*\.\w+|package\.json)", makefile))
    docker_files = sorted(re.findall(r"\./(\*\.\w+)|(package\.json) /vendor", dockerfile()))
    assert make_files == sorted(a or b for a, b in docker_files), "the same files as the Makefile copies"
    assert "/opt/fairmeet/lib/python3.11/site-packages/web/static/vendor/selfie_segmentation" in dockerfile()
    assert "FROM python:3.11-slim AS build" in dockerfile() and "web/static/vendor" in (ROOT / ".dockerignore").read_text()


def test_the_image_runs_as_a_user_and_checks_readiness() -> None:
    text = dockerfile()
    final = text.rsplit("\nFROM ", 1)[1]
    user = re.search(r"^USER (\S+)$", final, re.MULTILINE)
    assert user and user[1] not in ("root", "0")
    assert "HEALTHCHECK" in final and "/readyz" in final.split("HEALTHCHECK", 1)[1]
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert {".git", ".venv", "deploy/secrets", "deploy/.env"} <= set(ignored)


@pytest.mark.parametrize("name", ["backup.sh", "restore.sh"])
def test_backup_scripts_are_posix_sh(name: str) -> None:
    import subprocess

    subprocess.run(["sh", "-n", str(DEPLOY / "backup" / name)], check=True)
    assert (DEPLOY / "backup" / name).stat().st_mode & 0o111


def test_a_shell_that_stays_pid_1_runs_under_init() -> None:
    """A `sh -c` script that does not `exec` its program stays PID 1, and PID 1 ignores SIGTERM unless it handles it: Docker
    would wait out the stop timeout and SIGKILL it (mid-backup). Such services run under Docker's init."""
    for name, service in services().items():
        argv = [*(service.get("entrypoint") or []), *(service.get("command") or [])]
        if argv[:2] == ["sh", "-c"] and "exec " not in argv[2]:
            assert service.get("init") is True, f"{name}: its shell is PID 1"


def test_an_empty_secret_key_file_is_refused(tmp_path: Path) -> None:
    """secrets/secret_key created empty (a `touch` instead of `openssl rand`) must not sign sessions and links with ""."""
    (tmp_path / "secret_key").write_text("\n")
    with pytest.raises(ValueError, match="is empty"):
        Settings.from_env({"FAIRMEET_SECRET_FILE": str(tmp_path / "secret_key")})
    made = Settings.from_env({"FAIRMEET_SECRET_FILE": str(tmp_path / "new" / "secret_key")})
    assert len(made.secret_key) >= 64 and (tmp_path / "new" / "secret_key").read_text() == made.secret_key
