"""`fairmeet users create` without --password asks for it at a terminal (twice, not echoed), so the first admin's password
never sits in the shell's history or in `ps` (docs/deploy.md, "The first admin")."""

from __future__ import annotations

import fcntl
import os
import select
import sqlite3
import subprocess
import sys
import termios
import time
from pathlib import Path

from argon2 import PasswordHasher

FAIRMEET = Path(sys.executable).parent / "fairmeet"


def _env(tmp_path: Path) -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if not k.startswith("FAIRMEET_")},
            "FAIRMEET_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'f.db'}", "FAIRMEET_SECRET_KEY": "cli-test"}


def _at_a_terminal(argv: list[str], env: dict[str, str], answers: list[str]) -> tuple[int, str]:
    """Runs `argv` with a pseudo-terminal as its controlling terminal, typing each answer after the next prompt."""
    master, slave = os.openpty()

    def controlling_tty() -> None:
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True,
                            preexec_fn=controlling_tty)  # noqa: PLW1509 -- the child needs the terminal before it runs
    os.close(slave)
    seen = b""
    deadline = time.monotonic() + 60

    def read() -> bool:
        nonlocal seen
        if select.select([master], [], [], 0.2)[0]:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # the child closed the terminal
                return False
            seen += chunk
            return bool(chunk)
        return proc.poll() is None

    try:
        for i, answer in enumerate(answers):
            # Typed only once its prompt is out: getpass flushes what was typed before it turned echo off.
            while seen.count(b"assword") <= i and time.monotonic() < deadline and read():
                pass
            time.sleep(0.2)
            os.write(master, answer.encode() + b"\n")
        while time.monotonic() < deadline and read():
            pass
        return proc.wait(timeout=30), seen.decode(errors="replace")
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _hash(tmp_path: Path, email: str) -> str | None:
    with sqlite3.connect(tmp_path / "f.db") as db:
        row = db.execute("SELECT password_hash FROM users WHERE email = ?", (email,)).fetchone()
    assert row is not None
    return row[0]  # type: ignore[no-any-return]


def test_users_create_asks_for_the_password_at_a_terminal(tmp_path: Path) -> None:
    env = _env(tmp_path)
    subprocess.run([str(FAIRMEET), "db", "upgrade"], env=env, check=True, capture_output=True, timeout=120)
    code, out = _at_a_terminal([str(FAIRMEET), "users", "create", "--admin", "--email", "admin@example.org", "--name", "Admin"], env,
                               ["a long passphrase", "a long passphrase"])
    assert code == 0, out
    assert "a long passphrase" not in out, "not echoed"
    stored = _hash(tmp_path, "admin@example.org")
    assert stored and PasswordHasher().verify(stored, "a long passphrase")

    code, out = _at_a_terminal([str(FAIRMEET), "users", "create", "--email", "b@example.org", "--name", "B"], env, ["one passphrase", "another one"])
    assert code == 2 and "differ" in out, out


def test_users_create_without_a_terminal_makes_a_link_only_account(tmp_path: Path) -> None:
    env = _env(tmp_path)
    subprocess.run([str(FAIRMEET), "db", "upgrade"], env=env, check=True, capture_output=True, timeout=120)
    done = subprocess.run([str(FAIRMEET), "users", "create", "--email", "c@example.org", "--name", "C"], env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert _hash(tmp_path, "c@example.org") is None
