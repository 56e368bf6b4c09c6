"""The `fairmeet` command: serve, demo, db upgrade, users create."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import logging
import os
import sys

from scheduling import accounts, migrate
from scheduling.db import create_engine, create_sessionmaker
from scheduling.errors import DomainError
from web import logging_setup
from web.settings import Settings


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _ensure_sqlite_dir(url: str) -> None:
    if url.startswith("sqlite") and ":///" in url:
        from pathlib import Path

        path = url.split(":///", 1)[1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)


async def _demo(settings: Settings) -> None:
    from web import demo

    engine = create_engine(settings.database_url)
    sm = create_sessionmaker(engine)
    try:
        created = await demo.seed(sm, now=_now(), base_url=settings.base_url)
        links = await demo.sign_in_links(sm, now=_now(), base_url=settings.base_url)
    finally:
        await engine.dispose()
    print("Demo event " + ("created." if created else "already there."))
    print(f"\nFairmeet is at {settings.base_url}\nSign in at {settings.base_url}/login with the password '{demo.DEMO_PASSWORD}', or open a one-time link:")
    for label, email, link in links:
        print(f"  {label:<15} {email:<34} {link}")
    print(f"\nLive chat: a careers page with the chat widget at {settings.base_url}/demo/careers; "
          f"recruiters answer at {settings.base_url}/live/console")
    if settings.local_mailbox:
        print(f"\nNo SMTP configured: email is shown at {settings.base_url}/mailbox\n")


def _ask_password() -> str | None:
    """At a terminal, without --password: asked twice, not echoed (a password on the command line stays in the shell's
    history and shows in `ps`). Left empty, or with no terminal: no password (the person signs in by emailed link)."""
    if not sys.stdin.isatty():
        return None
    import getpass

    first = getpass.getpass("Password (empty: sign in by emailed link): ")
    if not first:
        return None
    if getpass.getpass("Password again: ") != first:
        raise ValueError("the two passwords differ")
    return first


async def _create_user(settings: Settings, args: argparse.Namespace) -> int:
    engine = create_engine(settings.database_url)
    sm = create_sessionmaker(engine)
    try:
        async with sm() as s, s.begin():
            user = await accounts.create_user(s, email=args.email, name=args.name, password=args.password, now=_now(), is_admin=args.admin)
    except DomainError as err:
        print(f"error: {err.message}", file=sys.stderr)
        return 2
    finally:
        await engine.dispose()
    print(f"created user {user.id} {user.email}{' (admin)' if args.admin else ''}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fairmeet", description="Fairmeet: virtual hiring events")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the web server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--uds", help="listen on this Unix socket instead of host:port (e.g. behind Caddy on one machine)")
    serve.add_argument("--forwarded-allow-ips", help="proxies whose X-Forwarded-For/-Proto are trusted "
                       "(default: $FORWARDED_ALLOW_IPS or 127.0.0.1,::1)")
    sub.add_parser("demo", help="seed the demo event (once) and print sign-in links")
    db = sub.add_parser("db", help="database commands")
    db.add_argument("action", choices=["upgrade"])
    users = sub.add_parser("users", help="user commands")
    users_sub = users.add_subparsers(dest="users_command", required=True)
    create = users_sub.add_parser("create", help="create a user")
    create.add_argument("--email", required=True)
    create.add_argument("--name", required=True)
    create.add_argument("--password", help="asked at the terminal when left out (keeps it out of the shell's history)")
    create.add_argument("--admin", action="store_true")
    args = parser.parse_args(argv)
    if args.command == "serve":
        # JSON lines with request ids (text at a terminal); FAIRMEET_LOG_FORMAT=json|text decides (web/logging_setup.py).
        logging_setup.configure()
    else:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = Settings.from_env()
    _ensure_sqlite_dir(settings.database_url)

    if args.command == "db":
        migrate.upgrade(settings.database_url)
        print("database is up to date")
        return 0
    if args.command == "demo":
        asyncio.run(_demo(settings))
        return 0
    if args.command == "users":
        if args.password is None:
            try:
                args.password = _ask_password()
            except ValueError as err:
                print(f"error: {err}", file=sys.stderr)
                return 2
        return asyncio.run(_create_user(settings, args))
    from web.app import SERVER_OPTIONS, create_app, freeze_startup_heap
    from web.serving import serve as serve_app

    app = create_app(settings)
    freeze_startup_heap()
    # SIGTERM drains: /readyz 503 for FAIRMEET_DRAIN_DELAY s, then WebSockets closed with 1012 and requests finished
    # within FAIRMEET_SHUTDOWN_GRACE s (web/serving.py).
    # On a Unix socket the peer has no address to check (only local processes with the file's permissions reach it):
    # its X-Forwarded-* are trusted unless told otherwise.
    allow = args.forwarded_allow_ips or (None if not args.uds or os.environ.get("FORWARDED_ALLOW_IPS") else "*")
    return serve_app(app, args.host, args.port, uds=args.uds, proxy_headers=True, forwarded_allow_ips=allow,
                     log_level="info", drain_delay=settings.drain_delay, grace=settings.shutdown_grace,
                     log_config=None, access_log=False, **SERVER_OPTIONS)  # logging_setup's handlers; the app writes the access log


if __name__ == "__main__":
    sys.exit(main())
