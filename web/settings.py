"""Settings, read from FAIRMEET_* environment variables with embedded defaults."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_DB = "sqlite+aiosqlite:///var/fairmeet.db"


def _secret_from_file(path: Path) -> str:
    """A per-installation secret kept beside the SQLite file, so restarts keep sessions valid."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        value = path.read_text().strip()
        if not value:  # an empty key would sign sessions and links with "": anyone could make them
            raise ValueError(f"{path} is empty: put a long random key in it (docs/deploy.md) or remove it to have one made")
        return value
    value = secrets.token_urlsafe(48)
    path.write_text(value)
    path.chmod(0o600)
    return value


# Settings that may hold a password or key can be given as a file instead (Docker/Compose secrets): FAIRMEET_X_FILE names
# a file whose content (surrounding whitespace stripped) is FAIRMEET_X, unless FAIRMEET_X itself is set.
SECRET_FILE_SETTINGS = ("FAIRMEET_DATABASE_URL", "FAIRMEET_REDIS_URL", "FAIRMEET_TURN_SECRET", "FAIRMEET_SMTP_URL", "FAIRMEET_SMS_URL",
                        "FAIRMEET_METRICS_TOKEN")


def _read_secret_files(env: dict[str, str]) -> None:
    for name in SECRET_FILE_SETTINGS:
        path = env.get(name + "_FILE")
        if path and not env.get(name):
            env[name] = Path(path).read_text().strip()


def _int_or_none(value: str | None) -> int | None:
    return int(value) if value else None


def _list(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


@dataclass
class Settings:
    database_url: str = DEFAULT_DB
    secret_key: str = field(default="", repr=False)
    base_url: str = "http://127.0.0.1:8000"
    smtp_url: str = ""
    mail_from: str = "Fairmeet <noreply@fairmeet.local>"
    sweep_seconds: float = 30.0
    mail_poll_seconds: float = 2.0
    outbox_lease_seconds: float = 600.0  # a claimed outbox row whose sender died is sent again after this (scheduling/delivery.py)
    mail_jobs: bool = False  # run the outbox senders even without the other background jobs (tests/live.py --mail-jobs)
    secure_cookies: bool = False
    login_rate_per_minute: int = 10
    redis_url: str = ""
    redis_prefix: str = "fairmeet:"
    stun_urls: list[str] = field(default_factory=list)
    turn_urls: list[str] = field(default_factory=list)
    turn_secret: str = field(default="", repr=False)
    room_grace_minutes: int = 15
    reconnect_grace_seconds: float = 5.0
    room_token_seconds: int = 120
    # PostgreSQL connection pool (None: scheduling.db's defaults). Conversation entries use one connection at a
    # time whatever the load (group commit), so the pool is for page, API and handshake work.
    db_pool_size: int | None = None
    db_max_overflow: int | None = None
    db_pool_timeout: float | None = None
    desk_jobs: bool = False  # run the live-chat desk's timers (offer time-outs, auto-resolve) even without the other background jobs
    log_queue_limit: int = 2000  # conversation entries waiting to be stored; beyond that a line waits for room...
    log_busy_after_seconds: float = 5.0  # ...this long at most, then it is refused with "busy" (the client sends it again)
    live_start_limit: int = 10  # live chats one address may start (and continue links it may redeem) per 10 minutes
    upload_dir: str = "var/uploads"  # resumes, outside the web root; served only to a chat's staff
    sms_url: str = field(default="", repr=False)  # Kannel sendsms URL or smpp://; without it texts show on /mailbox
    metrics_token: str = field(default="", repr=False)  # /metrics wants "Authorization: Bearer <this>"; empty: no /metrics (404)
    drain_delay: float = 2.0  # after SIGTERM: /readyz says 503 and serving goes on this long, so the proxy takes us out first
    shutdown_grace: float = 20.0  # ...then requests in flight get this long to finish (WebSockets are closed with 1012)

    def pool_options(self) -> dict[str, float]:
        options = {"pool_size": self.db_pool_size, "max_overflow": self.db_max_overflow, "pool_timeout": self.db_pool_timeout}
        return {k: v for k, v in options.items() if v is not None}

    @property
    def local_mailbox(self) -> bool:
        """Without SMTP, mail stays in the outbox and is read on the /mailbox page."""
        return not self.smtp_url

    @property
    def mail_from_address(self) -> str:
        value = self.mail_from
        if "<" in value and value.endswith(">"):
            return value[value.index("<") + 1 : -1]
        return value

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        _read_secret_files(env)
        database_url = env.get("FAIRMEET_DATABASE_URL", DEFAULT_DB)
        if database_url.startswith("postgresql://"):
            database_url = "postgresql+asyncpg://" + database_url.removeprefix("postgresql://")
        secret = env.get("FAIRMEET_SECRET_KEY", "")
        if not secret:
            secret = _secret_from_file(Path(env.get("FAIRMEET_SECRET_FILE", "var/secret_key")))
        base_url = env.get("FAIRMEET_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
        return cls(
            database_url=database_url,
            secret_key=secret,
            base_url=base_url,
            smtp_url=env.get("FAIRMEET_SMTP_URL", ""),
            mail_from=env.get("FAIRMEET_MAIL_FROM", "Fairmeet <noreply@fairmeet.local>"),
            secure_cookies=base_url.startswith("https://"),
            redis_url=env.get("FAIRMEET_REDIS_URL", ""),
            redis_prefix=env.get("FAIRMEET_REDIS_PREFIX", "fairmeet:"),
            stun_urls=_list(env.get("FAIRMEET_STUN_URLS", "")),
            turn_urls=_list(env.get("FAIRMEET_TURN_URLS", "")),
            turn_secret=env.get("FAIRMEET_TURN_SECRET", ""),
            room_grace_minutes=int(env.get("FAIRMEET_ROOM_GRACE_MINUTES", "15")),
            db_pool_size=_int_or_none(env.get("FAIRMEET_DB_POOL_SIZE")),
            db_max_overflow=_int_or_none(env.get("FAIRMEET_DB_MAX_OVERFLOW")),
            log_queue_limit=int(env.get("FAIRMEET_LOG_QUEUE_LIMIT", "2000")),
            desk_jobs=env.get("FAIRMEET_DESK_JOBS", "") == "1",
            log_busy_after_seconds=float(env.get("FAIRMEET_LOG_BUSY_AFTER_SECONDS", "5")),
            upload_dir=env.get("FAIRMEET_UPLOAD_DIR", "var/uploads"),
            sms_url=env.get("FAIRMEET_SMS_URL", ""),
            metrics_token=env.get("FAIRMEET_METRICS_TOKEN", "").strip(),  # or FAIRMEET_METRICS_TOKEN_FILE
            outbox_lease_seconds=float(env.get("FAIRMEET_OUTBOX_LEASE_SECONDS", "600")),
            drain_delay=float(env.get("FAIRMEET_DRAIN_DELAY", "2")),
            shutdown_grace=float(env.get("FAIRMEET_SHUTDOWN_GRACE", "20")),
        )
