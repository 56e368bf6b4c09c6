"""Reliability #8, backup and restore round trip: deploy/backup/backup.sh dumps a seeded PostgreSQL database and the
uploaded files exactly as the compose backup service runs it (same environment variables), deploy/backup/restore.sh
restores them into a FRESH database and a fresh uploads directory, and the real `fairmeet serve` runs on the result:
/readyz 200, every table's row count equal, every conversation's last seq equal, the uploaded file's bytes equal."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import secrets
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import func, select, text

from scheduling import conversations, profiles
from scheduling.db import Base, admin_sql, create_engine, create_sessionmaker
from scheduling.models import Conversation, ConversationEvent
from tests.conftest import PG_ADMIN_URL, _service_missing, throwaway_pg
from tests.factories import make_world
from tests.live import free_socket, stop_process, wait_until_serving

pytestmark = pytest.mark.reliability

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "deploy" / "backup"
NOW = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
CV_BYTES = b"%PDF-1.4\n" + secrets.token_bytes(20_000) + b"\n%%EOF\n"


@contextmanager
def empty_pg() -> Iterator[str]:
    """A new database with nothing in it (not migrated): where a restore goes."""
    name = f"fairmeet_restore_{uuid.uuid4().hex[:10]}"
    asyncio.run(admin_sql(PG_ADMIN_URL, f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        asyncio.run(admin_sql(PG_ADMIN_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def pg_env(url: str, tmp_path: Path) -> dict[str, str]:
    """libpq's variables, as the compose backup service sets them (PGPASSWORD_FILE like its Compose secret; the local
    server trusts, so the password is not checked, but the script reads the file as in production)."""
    parts = urlsplit(url)
    password_file = tmp_path / "postgres_password"
    password_file.write_text("unused-with-trust-auth\n")
    return {"PGHOST": parts.hostname or "127.0.0.1", "PGPORT": str(parts.port or 5432), "PGUSER": parts.username or "postgres",
            "PGDATABASE": parts.path.lstrip("/"), "PGPASSWORD_FILE": str(password_file)}


def run_script(name: str, env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    base = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    return subprocess.run(["sh", str(SCRIPTS / name), *args], env={**base, **env}, capture_output=True, text=True, check=check, timeout=120)


async def seed(url: str, uploads: Path) -> dict[str, int]:
    """Two talents, a recruiter, three conversations with messages (and so seqs), a CV file in the uploads directory."""
    engine = create_engine(url)
    sm = create_sessionmaker(engine)
    try:
        world = await make_world(sm, NOW, recruiters=1, talents=2)
        seqs = {}
        async with sm() as s, s.begin():
            for c, count in enumerate((5, 12, 1)):
                key = f"backup-test:{c}"
                for i in range(count):
                    author = (world.talents[0] if i % 2 else world.recruiters[0]).id
                    entry, _ = await conversations.append(s, key, kind="message", author_id=author, body=conversations.message_body(f"line {i} of {c}"),
                                                          now=NOW, client_id=f"c{c}-{i}")
                seqs[key] = entry.seq
        stored = secrets.token_hex(16) + ".pdf"
        cv_dir = uploads / "cv"
        cv_dir.mkdir(parents=True)
        (cv_dir / stored).write_bytes(CV_BYTES)
        async with sm() as s, s.begin():
            talent = await s.merge(world.talents[1])
            await profiles.set_cv(s, talent, world.event_id, stored=stored, name="resume.pdf", mime="application/pdf", size=len(CV_BYTES), now=NOW)
        return seqs
    finally:
        await engine.dispose()


async def snapshot(url: str) -> tuple[dict[str, int], dict[str, tuple[int, int]], list[str]]:
    """Row count of every table; each conversation's (last_seq, highest stored seq); the CV files the rows name."""
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            counts = {t.name: int((await conn.execute(select(func.count()).select_from(t))).scalar_one()) for t in Base.metadata.sorted_tables}
            counts["alembic_version"] = int((await conn.execute(text("SELECT count(*) FROM alembic_version"))).scalar_one())
            rows = await conn.execute(
                select(Conversation.key, Conversation.last_seq, func.max(ConversationEvent.seq))
                .join(ConversationEvent, ConversationEvent.conversation_id == Conversation.id).group_by(Conversation.key, Conversation.last_seq))
            seqs = {key: (int(last), int(top)) for key, last, top in rows}
            files = [f for (f,) in await conn.execute(text("SELECT cv_file FROM profiles WHERE cv_file <> ''"))]
        return counts, seqs, files
    finally:
        await engine.dispose()


@contextmanager
def fairmeet_serve(url: str, uploads: Path, log: Path) -> Iterator[str]:
    """The real `fairmeet serve`, configured through FAIRMEET_* variables as the compose app services are."""
    with free_socket() as probe:
        port = probe.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "FAIRMEET_DATABASE_URL": url, "FAIRMEET_UPLOAD_DIR": str(uploads), "FAIRMEET_SECRET_KEY": "restore-test-key",
           "FAIRMEET_BASE_URL": base, "FAIRMEET_REDIS_URL": "", "PYTHONUNBUFFERED": "1"}
    with log.open("wb") as out:
        proc = subprocess.Popen([str(Path(sys.executable).with_name("fairmeet")), "serve", "--host", "127.0.0.1", "--port", str(port)],
                                env=env, stdout=out, stderr=subprocess.STDOUT, cwd=log.parent)
        try:
            wait_until_serving(base, proc, log)
            yield base
        finally:
            stop_process(proc)


def test_backup_and_restore_round_trip(tmp_path: Path) -> None:
    if not shutil.which("pg_dump") or not shutil.which("pg_restore"):
        _service_missing("pg_dump/pg_restore", FileNotFoundError("apt-get install -y postgresql-client"))
    uploads, backups, restored_uploads = tmp_path / "uploads", tmp_path / "backups", tmp_path / "restored-uploads"
    with throwaway_pg("fairmeet_backup") as source, empty_pg() as target:
        seqs = asyncio.run(seed(source, uploads))
        before = asyncio.run(snapshot(source))
        env = {**pg_env(source, tmp_path), "UPLOADS_DIR": str(uploads), "BACKUP_DIR": str(backups), "BACKUP_KEEP": "2"}
        for _ in range(3):  # three runs, two kept: the retention works
            print(run_script("backup.sh", env).stdout.strip())
        kept = sorted(backups.glob("fairmeet-*Z"))
        assert len(kept) == 2 and not list(backups.glob("*.partial"))
        latest = Path((backups / "LATEST").read_text().strip())
        assert latest == kept[-1]
        print(f"backup: database.dump {(latest / 'database.dump').stat().st_size} bytes, uploads.tar.gz {(latest / 'uploads.tar.gz').stat().st_size} bytes")

        restore_env = {**pg_env(target, tmp_path), "UPLOADS_DIR": str(restored_uploads)}
        print(run_script("restore.sh", restore_env, str(latest)).stdout.strip())
        after = asyncio.run(snapshot(target))
        assert after[0] == before[0], "row counts differ"
        assert after[1] == before[1] and {key: last for key, (last, _top) in after[1].items() if key in seqs} == seqs
        assert all(last == top for last, top in after[1].values())
        assert len(after[2]) == 1 and (restored_uploads / "cv" / after[2][0]).read_bytes() == CV_BYTES
        filled = {name: n for name, n in after[0].items() if n}
        assert filled["conversation_events"] == 18 and filled["users"] == 5 and filled["profiles"] == 1
        print(f"restored: {sum(after[0].values())} rows, {len(filled)} of {len(after[0])} tables not empty {filled}; "
              f"conversations' last seqs {sorted(seqs.values())}")

        again = run_script("restore.sh", restore_env, str(latest), check=False)  # a database with tables is refused
        assert again.returncode == 1 and "already has" in again.stderr

        with fairmeet_serve(target, restored_uploads, tmp_path / "serve.log") as base:
            ready = httpx.get(base + "/readyz", timeout=5)
            assert ready.status_code == 200, ready.text
        assert asyncio.run(snapshot(target))[1] == before[1]


def test_restore_refuses_a_damaged_backup(tmp_path: Path) -> None:
    """A backup whose dump no longer matches its checksum is refused before anything is written."""
    backup = tmp_path / "fairmeet-20260101T000000Z"
    backup.mkdir()
    (backup / "database.dump").write_bytes(b"dump")
    (backup / "uploads.tar.gz").write_bytes(b"tar")
    subprocess.run("sha256sum database.dump uploads.tar.gz > SHA256SUMS", shell=True, cwd=backup, check=True)  # noqa: S602, S607
    (backup / "database.dump").write_bytes(b"dumq")
    result = run_script("restore.sh", {"PGDATABASE": "never_touched", "UPLOADS_DIR": str(tmp_path / "u")}, str(backup), check=False)
    assert result.returncode != 0 and "FAILED" in result.stdout + result.stderr
    assert not (tmp_path / "u").exists()


def test_a_failed_backup_leaves_nothing_behind(tmp_path: Path) -> None:
    """pg_dump failing (the database out of reach) exits non-zero and removes the partial directory: no half-written
    copy of the data stays in the backup directory, and LATEST still names the last good backup."""
    backups, uploads = tmp_path / "backups", tmp_path / "uploads"
    uploads.mkdir()
    backups.mkdir()
    (backups / "LATEST").write_text("/backups/fairmeet-20260101T000000Z\n")
    env = {**pg_env(PG_ADMIN_URL.rsplit("/", 1)[0] + "/fairmeet_no_such_database", tmp_path), "UPLOADS_DIR": str(uploads), "BACKUP_DIR": str(backups)}
    result = run_script("backup.sh", env, check=False)
    assert result.returncode != 0, result.stdout
    assert sorted(p.name for p in backups.iterdir()) == ["LATEST"]
    assert (backups / "LATEST").read_text() == "/backups/fairmeet-20260101T000000Z\n"
